// SPDX-License-Identifier: BSD-2-Clause
/* The satellite's request checks that need no socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "satellite/satellite.c"

static void test_batch_id_ok(void **state)
{
	(void)state;
	assert_true(batch_id_ok("0a1b2c3d-4e5f-4a6b-8c7d-0123456789ab"));
	assert_true(batch_id_ok("0A1B2C3D-4E5F-4A6B-8C7D-0123456789AB"));
	assert_false(batch_id_ok("0a1b2c3d-4e5f-4a6b-8c7d-0123456789a"));   /* short */
	assert_false(batch_id_ok("0a1b2c3d-4e5f-4a6b-8c7d-0123456789abc")); /* long */
	assert_false(batch_id_ok("0a1b2c3d-4e5f-4a6b-8c7d-0123456789a/"));
	assert_false(batch_id_ok("../../../../etc/passwd-aaaaaaaaaaaaaaaa"));
	assert_false(batch_id_ok("0a1b2c3d04e5f-4a6b-8c7d-0123456789ab"));
	assert_false(batch_id_ok(""));
}

static void test_media_type_is(void **state)
{
	(void)state;
	assert_true(media_type_is("application/json", "application/json"));
	assert_true(media_type_is("Application/JSON; charset=utf-8", "application/json"));
	assert_true(media_type_is(" gzip", "gzip"));
	assert_false(media_type_is("application/jsonx", "application/json"));
	assert_false(media_type_is("text/plain", "application/json"));
	assert_false(media_type_is("gzip, br", "gzip"));
	assert_false(media_type_is(NULL, "gzip"));
}

static void test_classify_decode(void **state)
{
	static const unsigned char gz[] = { 0x1f, 0x8b, 8, 0 };

	(void)state;
	assert_int_equal(classify_decode("{}", 2, "whatever"), R_BAD_GZIP);
	assert_int_equal(classify_decode(gz, sizeof(gz), "invalid gzip data"), R_BAD_GZIP);
	assert_int_equal(classify_decode(gz, sizeof(gz), "invalid JSON"), R_BAD_JSON);
	assert_int_equal(classify_decode(gz, sizeof(gz), "unsupported schema version"),
			 R_BAD_SCHEMA);
	assert_int_equal(classify_decode(gz, sizeof(gz), "batch_id missing"), R_BAD_BATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_id_ok),
		cmocka_unit_test(test_media_type_is),
		cmocka_unit_test(test_classify_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
