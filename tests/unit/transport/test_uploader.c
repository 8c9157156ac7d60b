// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after stdarg.h, setjmp.h, stddef.h */

#include "transport/uploader.c"

#define PIN "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static void test_retry_after_seconds(void **state)
{
	uint64_t s = 99;

	(void)state;
	assert_int_equal(uploader_parse_retry_after("0", 1000, &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(uploader_parse_retry_after("120", 1000, &s), 0);
	assert_int_equal(s, 120);
	assert_int_equal(uploader_parse_retry_after(" 7\r\n", 1000, &s), 0);
	assert_int_equal(s, 7);
	assert_int_equal(uploader_parse_retry_after("86400", 1000, &s), 0);
	assert_int_equal(s, UPLOADER_RETRY_AFTER_MAX_S);
	assert_int_equal(uploader_parse_retry_after("99999999999999999999999", 1000, &s), 0);
	assert_int_equal(s, UPLOADER_RETRY_AFTER_MAX_S);
	assert_int_equal(uploader_parse_retry_after("-5", 1000, &s), -EINVAL);
	assert_int_equal(uploader_parse_retry_after("1.5", 1000, &s), -EINVAL);
	assert_int_equal(uploader_parse_retry_after("", 1000, &s), -EINVAL);
	assert_int_equal(uploader_parse_retry_after("soon", 1000, &s), -EINVAL);
	assert_int_equal(uploader_parse_retry_after(NULL, 1000, &s), -EINVAL);
}

static void test_retry_after_dates(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	const time_t t0 = 784111777;
	uint64_t s = 99;

	(void)state;
	assert_int_equal(uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t0 - 30, &s),
			 0);
	assert_int_equal(s, 30);
	assert_int_equal(uploader_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t0 - 5, &s),
			 0);
	assert_int_equal(s, 5);
	assert_int_equal(uploader_parse_retry_after("Sun Nov  6 08:49:37 1994", t0 - 1, &s), 0);
	assert_int_equal(s, 1);
	/* In the past: retry now. */
	assert_int_equal(uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t0 + 100, &s),
			 0);
	assert_int_equal(s, 0);
	/* Far future: capped. */
	assert_int_equal(
	    uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t0 - 100000, &s), 0);
	assert_int_equal(s, UPLOADER_RETRY_AFTER_MAX_S);
	assert_int_equal(uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 CET", t0, &s),
			 -EINVAL);
	assert_int_equal(uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT x", t0, &s),
			 -EINVAL);
}

static void test_backoff_full_jitter(void **state)
{
	(void)state;
	/* The ceiling doubles from base and stops at cap. */
	assert_int_equal(uploader_backoff_ms(0, 1000, 300000, UINT64_MAX), UINT64_MAX % 1001);
	assert_int_equal(uploader_backoff_ms(0, 1000, 300000, 1000), 1000);
	assert_int_equal(uploader_backoff_ms(0, 1000, 300000, 1001), 0);
	assert_int_equal(uploader_backoff_ms(1, 1000, 300000, 2000), 2000);
	assert_int_equal(uploader_backoff_ms(3, 1000, 300000, 8000), 8000);
	assert_int_equal(uploader_backoff_ms(3, 1000, 300000, 8001), 0);
	assert_int_equal(uploader_backoff_ms(8, 1000, 300000, 256000), 256000);
	assert_int_equal(uploader_backoff_ms(9, 1000, 300000, 300000), 300000);
	assert_int_equal(uploader_backoff_ms(9, 1000, 300000, 300001), 0);
	assert_int_equal(uploader_backoff_ms(62, 1000, 300000, 300000), 300000);
	assert_int_equal(uploader_backoff_ms(63, 1000, 300000, 300000), 300000);
	assert_int_equal(uploader_backoff_ms(1000, 1000, 300000, 299999), 299999);
	assert_int_equal(uploader_backoff_ms(5, 0, 300000, 12345), 0);
}

static void test_backoff_spread(void **state)
{
	uint64_t min = UINT64_MAX, max = 0, r = 88172645463325252ull;
	int i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		uint64_t d;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		d = uploader_backoff_ms(4, 100, 60000, r);
		assert_true(d <= 1600);
		if (d < min)
			min = d;
		if (d > max)
			max = d;
	}
	assert_true(min < 50);
	assert_true(max > 1550);
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(uploader_classify(200), UPLOAD_DELIVERED);
	assert_int_equal(uploader_classify(201), UPLOAD_DELIVERED);
	assert_int_equal(uploader_classify(204), UPLOAD_DELIVERED);
	assert_int_equal(uploader_classify(0), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(408), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(429), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(401), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(403), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(500), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(503), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(302), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(400), UPLOAD_REJECTED);
	assert_int_equal(uploader_classify(413), UPLOAD_REJECTED);
	assert_int_equal(uploader_classify(422), UPLOAD_REJECTED);
}

static void test_opts(void **state)
{
	struct uploader_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(uploader_opt_parse(&o, 'x', "1"), 1);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, PIN), 0);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, "sha256//" PIN), 0);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, "short="), -EINVAL);
	assert_int_equal(o.n_pins, 2);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_RATE, "10"), -EINVAL);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_RATE, "65536"), 0);
	assert_int_equal(o.max_rate, 65536);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_SPOOL_FILES, "0"), -EINVAL);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_SPOOL_FILES, "50"), 0);
	assert_int_equal(o.spool_limits.max_files, 50);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_SPOOL_BYTES, "1M"), -EINVAL);

	assert_int_equal(uploader_opts_check(&o), -EINVAL); /* no endpoint */
	o.endpoint = "http://example.com";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "ftp://example.com";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "https://user:pw@example.com";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "https://example.com/?a=b";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "https://";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "HTTPS://example.com:8443/ingest/";
	assert_int_equal(uploader_opts_check(&o), 0);
	o.client_key = "k.pem";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.client_cert = "c.pem";
	assert_int_equal(uploader_opts_check(&o), 0);
}

static void test_new_builds_url_and_pins(void **state)
{
	struct uploader_opts o;
	struct uploader *u;
	int err = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.endpoint = "https://127.0.0.1:8443/ingest//";
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, PIN), 0);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, PIN), 0);
	u = uploader_new(&o, &err);
	assert_non_null(u);
	assert_string_equal(u->url, "https://127.0.0.1:8443/ingest/v1/batches");
	assert_string_equal(u->pins, "sha256//" PIN ";sha256//" PIN);
	uploader_free(u);
	uploader_free(NULL);
}

static void test_token_file_errors(void **state)
{
	char dir[] = "/tmp/apisonar-up-XXXXXX", path[128], *tok = NULL;
	struct uploader_opts o;
	FILE *fp;
	int err = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&o, 0, sizeof(o));
	o.endpoint = "https://127.0.0.1:1";
	snprintf(path, sizeof(path), "%s/missing", dir);
	o.token_file = path;
	assert_null(uploader_new(&o, &err));
	assert_int_equal(err, -ENOENT);

	snprintf(path, sizeof(path), "%s/tok", dir);
	fp = fopen(path, "w");
	fputs("s3cr3t-t0ken\n", fp);
	fclose(fp);
	assert_int_equal(read_token(path, &tok), 0);
	assert_string_equal(tok, "s3cr3t-t0ken");
	free(tok);

	fp = fopen(path, "w");
	fputs("two words\n", fp);
	fclose(fp);
	assert_int_equal(read_token(path, &tok), -EINVAL);
	fp = fopen(path, "w");
	fputs("\n", fp);
	fclose(fp);
	assert_int_equal(read_token(path, &tok), -EINVAL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_after_seconds),
	    cmocka_unit_test(test_retry_after_dates),
	    cmocka_unit_test(test_backoff_full_jitter),
	    cmocka_unit_test(test_backoff_spread),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_opts),
	    cmocka_unit_test(test_new_builds_url_and_pins),
	    cmocka_unit_test(test_token_file_errors),
	};

	log_setup(LOG_ERROR + 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
