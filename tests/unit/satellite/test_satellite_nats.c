// SPDX-License-Identifier: BSD-2-Clause
/* What a replica accepts from the stream: sat_nats_check() on good,
 * hostile and oversized messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/satellite/satellite.h"
#include "apisonar/transport/batch.h"

#define DOC                                                                                    \
	"{\"schema\":\"apisonar.metadata/v1\",\"services\":[{\"name\":\"shop\",\"endpoints\":[" \
	"{\"method\":\"GET\",\"path\":\"/users/{id}\"}]}]}"

struct fx {
	unsigned char *gz;
	size_t len;
	struct batch_meta m;
};

static int setup(void **state)
{
	struct batch_sensor bs = { .id = "node-1", .version = "t" };
	struct fx *f = calloc(1, sizeof(*f));
	cJSON *doc = cJSON_Parse(DOC);

	if (!f || !doc || batch_encode(doc, &bs, 1, 2, &f->gz, &f->len, &f->m) != 0)
		return -1;
	cJSON_Delete(doc);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->gz);
	free(f);
	return 0;
}

static void test_good(void **state)
{
	struct fx *f = *state;
	struct batch_meta m;
	cJSON *doc = NULL;
	char err[128];

	assert_int_equal(sat_nats_check(f->gz, f->len, f->m.id, 1 << 20, &doc, &m, err, sizeof(err)),
			 0);
	assert_non_null(doc);
	assert_string_equal(m.id, f->m.id);
	assert_string_equal(m.sensor_id, "node-1");
	cJSON_Delete(doc);
	/* without the header (a publisher that did not set it): the body's id counts */
	assert_int_equal(sat_nats_check(f->gz, f->len, NULL, 1 << 20, &doc, &m, err, sizeof(err)), 0);
	cJSON_Delete(doc);
	/* exactly at the limit */
	assert_int_equal(sat_nats_check(f->gz, f->len, NULL, f->len, &doc, &m, err, sizeof(err)), 0);
	cJSON_Delete(doc);
}

static void test_header_must_match(void **state)
{
	struct fx *f = *state;
	struct batch_meta m;
	cJSON *doc = (cJSON *)1;
	char err[128];

	assert_int_equal(sat_nats_check(f->gz, f->len, "11111111-2222-4333-8444-555555555555",
					1 << 20, &doc, &m, err, sizeof(err)),
			 -EBADMSG);
	assert_null(doc);
	assert_string_equal(err, "Nats-Msg-Id differs from the batch id");
	assert_int_equal(sat_nats_check(f->gz, f->len, "", 1 << 20, &doc, &m, err, sizeof(err)),
			 -EBADMSG);
}

static void test_too_large(void **state)
{
	struct fx *f = *state;
	struct batch_meta m;
	cJSON *doc = NULL;
	unsigned char *bomb = NULL, *zeros;
	size_t blen = 0, zn = BATCH_MAX_DECODED + 4096;
	char err[128];

	assert_int_equal(sat_nats_check(f->gz, f->len, NULL, f->len - 1, &doc, &m, err, sizeof(err)),
			 -E2BIG);
	assert_null(doc);
	/* a gzip bomb: small on the wire, past the inflate limit */
	zeros = calloc(1, zn);
	assert_non_null(zeros);
	assert_int_equal(batch_gzip(zeros, zn, &bomb, &blen), 0);
	free(zeros);
	assert_true(blen < 1 << 20);
	assert_int_equal(sat_nats_check(bomb, blen, NULL, 1 << 20, &doc, &m, err, sizeof(err)),
			 -E2BIG);
	assert_null(doc);
	free(bomb);
}

static void test_not_a_batch(void **state)
{
	static const char *const docs[] = {
		"not json at all",
		"{\"schema\":\"apisonar.metadata/v2\",\"services\":[]}",
		"{\"schema\":\"apisonar.metadata/v1\"}",
		"[]",
	};
	struct batch_meta m;
	cJSON *doc = NULL;
	unsigned char *gz = NULL;
	size_t n = 0, i;
	char err[128];

	(void)state;
	/* not gzip */
	assert_int_equal(sat_nats_check("hello", 5, NULL, 1 << 20, &doc, &m, err, sizeof(err)),
			 -EINVAL);
	assert_null(doc);
	assert_int_equal(sat_nats_check("", 0, NULL, 1 << 20, &doc, &m, err, sizeof(err)), -EINVAL);
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		assert_int_equal(batch_gzip(docs[i], strlen(docs[i]), &gz, &n), 0);
		assert_int_not_equal(sat_nats_check(gz, n, NULL, 1 << 20, &doc, &m, err, sizeof(err)),
				     0);
		assert_null(doc);
		/* the reason never quotes the input */
		assert_null(strstr(err, "hello"));
		assert_null(strstr(err, "not json at all"));
		free(gz);
	}
	/* truncated gzip, fed one length at a time */
	{
		struct fx *f = *state;

		for (i = 0; i + 1 < f->len; i++) {
			assert_int_not_equal(
			    sat_nats_check(f->gz, i, NULL, 1 << 20, &doc, &m, err, sizeof(err)), 0);
			assert_null(doc);
		}
	}
}

static void test_batch_id_ok(void **state)
{
	(void)state;
	assert_true(sat_batch_id_ok("11111111-2222-4333-8444-555555555555"));
	assert_true(sat_batch_id_ok("ABCDEF01-2222-4333-8444-555555555555"));
	assert_false(sat_batch_id_ok("11111111-2222-4333-8444-55555555555"));
	assert_false(sat_batch_id_ok("11111111-2222-4333-8444-5555555555555"));
	assert_false(sat_batch_id_ok("11111111_2222-4333-8444-555555555555"));
	assert_false(sat_batch_id_ok("../../../../2222-4333-8444-555555555555"));
	assert_false(sat_batch_id_ok("1111111g-2222-4333-8444-555555555555"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_must_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_batch, setup, teardown),
		cmocka_unit_test(test_batch_id_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
