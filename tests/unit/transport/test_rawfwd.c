// SPDX-License-Identifier: BSD-2-Clause
/* Raw-forward's in-memory queue: sealing, drop-oldest when full, the
 * fences at start, and the drop at a stop with an unreachable satellite. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h> /* after stdarg.h, setjmp.h, stddef.h */

#include "apisonar/transport/rawfwd.h"
#include "apisonar/util/util.h"

/* Port 1 on loopback: nothing listens, every send fails at once. */
#define NOWHERE "https://127.0.0.1:1"

/* Adds n exchanges GET target -> 200 (each made and freed here). */
static void add_exchanges(struct rawfwd *r, int n, const char *target)
{
	int i;

	for (i = 0; i < n; i++) {
		struct as_exchange *x = as_exchange_new();

		assert_non_null(x);
		assert_int_equal(as_strset(&x->method, "GET", 3), 0);
		assert_int_equal(as_strset(&x->target, target, strlen(target)), 0);
		x->req_version = 11;
		x->status = 200;
		assert_int_equal(rawfwd_add(r, x), 0);
		as_exchange_free(x);
	}
}

/* Only readable files are checked at start; their content matters only to
 * a TLS handshake, which never happens here. */
static char cert_path[64];

static int setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(cert_path, sizeof(cert_path), "/tmp/apisonar-test-rawfwd-%d.pem", (int)getpid());
	f = fopen(cert_path, "w");
	if (!f)
		return -1;
	fputs("not a certificate\n", f);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cert_path);
	return 0;
}

static void opts(struct uploader_opts *o, char *audit, size_t n)
{
	memset(o, 0, sizeof(*o));
	o->endpoint = NOWHERE;
	o->client_cert = cert_path;
	o->client_key = cert_path;
	snprintf(audit, n, "/tmp/apisonar-test-rawfwd-%d.log", (int)getpid());
	unlink(audit);
	o->audit_log = audit;
}

static void test_needs_client_cert(void **state)
{
	struct uploader_opts o;
	struct rawfwd *r = (struct rawfwd *)1;
	char audit[64];

	(void)state;
	opts(&o, audit, sizeof(audit));
	o.client_cert = NULL;
	o.client_key = NULL;
	assert_int_equal(rawfwd_start(&o, NULL, &r), -EINVAL);
	assert_null(r);
}

static void test_queue_drops_oldest(void **state)
{
	struct rawfwd_limits lim = { .max_batch_bytes = 1, .max_batches = 2 };
	struct rawfwd_stats st;
	struct uploader_opts o;
	struct rawfwd *r = NULL;
	char audit[64];

	(void)state;
	opts(&o, audit, sizeof(audit));
	assert_int_equal(rawfwd_start(&o, &lim, &r), 0);
	/* Every exchange fills a batch of 1 byte: five sealed batches. */
	add_exchanges(r, 5, "/users/1");
	rawfwd_seal(r); /* nothing open: no sixth batch */
	rawfwd_get_stats(r, &st);
	assert_int_equal(st.exchanges, 5);
	assert_int_equal(st.batches_sealed, 5);
	assert_int_equal(st.dropped_full, 3);
	assert_int_equal(st.exchanges_dropped, 3);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.delivered, 0);
	assert_true(st.queued_bytes > 0);
	rawfwd_stop(r, now_mono_ns()); /* the satellite never answers: dropped */
	unlink(audit);
}

static void test_seal_groups_exchanges(void **state)
{
	struct rawfwd_stats st;
	struct uploader_opts o;
	struct rawfwd *r = NULL;
	char audit[64];

	(void)state;
	opts(&o, audit, sizeof(audit));
	assert_int_equal(rawfwd_start(&o, NULL, &r), 0);
	add_exchanges(r, 10, "/items/7");
	rawfwd_get_stats(r, &st);
	assert_int_equal(st.batches_sealed, 0); /* 4 MiB per batch by default */
	rawfwd_seal(r);
	rawfwd_seal(r);
	rawfwd_get_stats(r, &st);
	assert_int_equal(st.exchanges, 10);
	assert_int_equal(st.batches_sealed, 1);
	assert_int_equal(st.queued, 1);
	rawfwd_stop(r, now_mono_ns());
	rawfwd_stop(NULL, 0);
	unlink(audit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs_client_cert),
		cmocka_unit_test(test_queue_drops_oldest),
		cmocka_unit_test(test_seal_groups_exchanges),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
