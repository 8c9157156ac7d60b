// SPDX-License-Identifier: BSD-2-Clause
/*
 * Raw ingest (POST /v1/exchanges): the satellite side of raw-forward mode.
 * A sensor that does not anonymize sends gzip'd JSON lines of exchanges,
 * values included; here they become a metadata document at once, in
 * memory, and only that document goes on (journal, catalog, upstream). The
 * raw bytes are wiped when done; no value is journaled, logged or kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/exchange/xio.h"
#include "apisonar/satellite/satellite.h"

int sat_raw_to_metadata(const void *gz, size_t len, size_t max_decoded, cJSON **doc,
			struct sat_raw_stats *st, char *err, size_t errlen)
{
	struct catalog_limits lim = { 0 };
	struct xio_read_stats rs;
	struct xio_reader *r = NULL;
	struct catalog *cat = NULL;
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	FILE *f = NULL;
	int rc;

	*doc = NULL;
	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	rc = anon_inflate(gz, len, max_decoded, &raw, &raw_len);
	if (rc == -E2BIG) {
		snprintf(err, errlen, "exchanges inflate past %zu bytes", max_decoded);
		return rc;
	}
	if (rc) {
		snprintf(err, errlen, "body is not valid gzip");
		return -EINVAL;
	}
	rc = -ENOMEM;
	cat = catalog_new(&lim);
	f = raw_len ? fmemopen(raw, raw_len, "r") : NULL;
	r = f ? xio_reader_new(f, XIO_JSONL) : NULL;
	if (!cat || (raw_len && !r)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		struct as_exchange *x = NULL;
		int n;

		if (!r)
			break;
		n = xio_read(r, &x);
		if (n < 0) {
			snprintf(err, errlen, "exchanges: %s", xio_reader_error(r));
			rc = -EINVAL;
			goto out;
		}
		if (n == 0)
			break;
		if (catalog_add_exchange(cat, x) == 0)
			st->merged++;
		else
			st->skipped++;
		as_exchange_free(x);
	}
	if (r) {
		xio_reader_stats(r, &rs);
		st->malformed = rs.skipped_malformed + rs.skipped_too_big + rs.skipped_no_request;
	}
	if (st->merged == 0) {
		snprintf(err, errlen, "no usable exchange in the body (%llu malformed, %llu skipped)",
			 (unsigned long long)st->malformed, (unsigned long long)st->skipped);
		rc = -EINVAL;
		goto out;
	}
	*doc = catalog_to_metadata(cat);
	rc = *doc ? 0 : -ENOMEM;
	if (rc)
		snprintf(err, errlen, "out of memory");
out:
	xio_reader_free(r);
	if (f)
		fclose(f);
	catalog_free(cat);
	if (raw) {
		OPENSSL_cleanse(raw, raw_len);
		free(raw);
	}
	return rc;
}
