// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for sat_raw_to_metadata (POST /v1/exchanges): arbitrary
 * bytes as the gzip body, and the same bytes gzipped, so that the JSON
 * lines reader and the anonymizer see mutated exchanges. A small inflate
 * cap keeps bombs cheap.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/satellite/satellite.h"
#include "apisonar/transport/batch.h"

#define FUZZ_CAP (1u << 20)

static void convert(const void *buf, size_t len)
{
	struct sat_raw_stats st;
	cJSON *doc = NULL;
	char err[256];
	int rc = sat_raw_to_metadata(buf, len, FUZZ_CAP, &doc, &st, err, sizeof(err));

	if (rc == 0) {
		if (!doc || st.merged == 0)
			abort();
		cJSON_Delete(doc);
	} else if (doc || err[0] == '\0') {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *gz = NULL;
	size_t n = 0;

	convert(data, size);
	if (size > FUZZ_CAP)
		return 0;
	if (batch_gzip(data, size, &gz, &n) == 0)
		convert(gz, n);
	free(gz);
	return 0;
}
