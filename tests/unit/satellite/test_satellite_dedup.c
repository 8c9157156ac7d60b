// SPDX-License-Identifier: BSD-2-Clause
/* The bounded batch-id set: membership, order, eviction of the oldest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/satellite/satellite.h"

static void mkid(char out[BATCH_ID_LEN + 1], uint32_t n)
{
	snprintf(out, BATCH_ID_LEN + 1, "%08x-0000-4000-8000-%012x", n * 2654435761u, n);
}

static void test_add_and_has(void **state)
{
	struct sat_dedup *d = sat_dedup_new(8);
	char a[BATCH_ID_LEN + 1], b[BATCH_ID_LEN + 1];

	(void)state;
	mkid(a, 1);
	mkid(b, 2);
	assert_int_equal(sat_dedup_has(d, a), 0);
	assert_int_equal(sat_dedup_add(d, a), 1);
	assert_int_equal(sat_dedup_add(d, a), 0);
	assert_int_equal(sat_dedup_has(d, a), 1);
	assert_int_equal(sat_dedup_has(d, b), 0);
	assert_int_equal(sat_dedup_count(d), 1);
	assert_string_equal(sat_dedup_at(d, 0), a);
	assert_null(sat_dedup_at(d, 1));
	sat_dedup_free(d);
}

static void test_oldest_goes_first(void **state)
{
	struct sat_dedup *d = sat_dedup_new(3);
	char id[5][BATCH_ID_LEN + 1];
	uint32_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		mkid(id[i], i + 10);
		assert_int_equal(sat_dedup_add(d, id[i]), 1);
	}
	assert_int_equal(sat_dedup_count(d), 3);
	assert_int_equal(sat_dedup_has(d, id[0]), 0);
	assert_int_equal(sat_dedup_has(d, id[1]), 0);
	for (i = 2; i < 5; i++) {
		assert_int_equal(sat_dedup_has(d, id[i]), 1);
		assert_string_equal(sat_dedup_at(d, i - 2), id[i]);
	}
	sat_dedup_free(d);
}

/* Many evictions through a small table exercise the backward-shift
 * deletion: exactly the last cap ids must be members. */
static void test_many_evictions_keep_exactly_the_last(void **state)
{
	const uint32_t cap = 1000, total = 50000;
	struct sat_dedup *d = sat_dedup_new(cap);
	char id[BATCH_ID_LEN + 1];
	uint32_t i, members = 0;

	(void)state;
	for (i = 0; i < total; i++) {
		mkid(id, i);
		assert_int_equal(sat_dedup_add(d, id), 1);
	}
	assert_int_equal(sat_dedup_count(d), cap);
	for (i = 0; i < total; i++) {
		mkid(id, i);
		if (sat_dedup_has(d, id)) {
			members++;
			assert_true(i >= total - cap);
		} else {
			assert_true(i < total - cap);
		}
	}
	assert_int_equal(members, cap);
	mkid(id, total - cap);
	assert_string_equal(sat_dedup_at(d, 0), id);
	sat_dedup_free(d);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	assert_null(sat_dedup_new(0));
	assert_null(sat_dedup_new(SAT_DEDUP_MAX_CAP + 1));
	assert_int_equal(sat_dedup_has(NULL, "x"), 0);
	assert_int_equal(sat_dedup_add(NULL, "x"), 0);
	assert_int_equal(sat_dedup_count(NULL), 0);
	sat_dedup_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_and_has),
		cmocka_unit_test(test_oldest_goes_first),
		cmocka_unit_test(test_many_evictions_keep_exactly_the_last),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
