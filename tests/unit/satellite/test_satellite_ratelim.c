// SPDX-License-Identifier: BSD-2-Clause
/* The per-sensor token bucket, driven by a fake monotonic clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/satellite/satellite.h"

#define SEC 1000000000ull

static void test_burst_then_limited(void **state)
{
	struct sat_ratelim *rl = sat_rl_new(60, 3, 16); /* one a second, three at once */
	uint32_t ra = 0;

	(void)state;
	assert_non_null(rl);
	assert_int_equal(sat_rl_take(rl, "node-a", 100 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "node-a", 100 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "node-a", 100 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "node-a", 100 * SEC, &ra), 0);
	assert_int_equal(ra, 1);
	/* Half a second later still nothing; one second later one token. */
	assert_int_equal(sat_rl_take(rl, "node-a", 100 * SEC + SEC / 2, &ra), 0);
	assert_int_equal(ra, 1);
	assert_int_equal(sat_rl_take(rl, "node-a", 101 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "node-a", 101 * SEC, &ra), 0);
	/* Idle long enough refills to the burst, never beyond it. */
	assert_int_equal(sat_rl_take(rl, "node-a", 1000 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "node-a", 1000 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "node-a", 1000 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "node-a", 1000 * SEC, &ra), 0);
	sat_rl_free(rl);
}

static void test_retry_after_rounds_up(void **state)
{
	struct sat_ratelim *rl = sat_rl_new(2, 1, 4); /* one every 30 s */
	uint32_t ra = 0;

	(void)state;
	assert_int_equal(sat_rl_take(rl, "n", 5 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "n", 5 * SEC, &ra), 0);
	assert_int_equal(ra, 30);
	assert_int_equal(sat_rl_take(rl, "n", 5 * SEC + 1, &ra), 0);
	assert_int_equal(ra, 30); /* 29.999... rounds up */
	assert_int_equal(sat_rl_take(rl, "n", 34 * SEC + 1, &ra), 0);
	assert_int_equal(ra, 1);
	assert_int_equal(sat_rl_take(rl, "n", 35 * SEC, &ra), 1);
	sat_rl_free(rl);
}

static void test_sensors_are_independent(void **state)
{
	struct sat_ratelim *rl = sat_rl_new(1, 1, 8);
	uint32_t ra;

	(void)state;
	assert_int_equal(sat_rl_take(rl, "a", SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "a", SEC, &ra), 0);
	assert_int_equal(sat_rl_take(rl, "b", SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "ab", SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "", SEC, &ra), 1);
	assert_int_equal(sat_rl_size(rl), 4);
	sat_rl_free(rl);
}

static void test_table_is_bounded_lru(void **state)
{
	struct sat_ratelim *rl = sat_rl_new(1, 1, 2);
	uint32_t ra;

	(void)state;
	assert_int_equal(sat_rl_take(rl, "a", 1 * SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, "b", 2 * SEC, &ra), 1);
	/* "c" evicts "a" (least recently used) whose bucket was not full. */
	assert_int_equal(sat_rl_take(rl, "c", 3 * SEC, &ra), 1);
	assert_int_equal(sat_rl_size(rl), 2);
	assert_int_equal(sat_rl_evictions(rl), 1);
	/* "b" was kept and is still limited; "a" came back fresh. */
	assert_int_equal(sat_rl_take(rl, "b", 4 * SEC, &ra), 0);
	assert_int_equal(sat_rl_take(rl, "a", 5 * SEC, &ra), 1);
	assert_int_equal(sat_rl_size(rl), 2);
	/* Evicting a bucket whose time has passed is not counted. */
	assert_int_equal(sat_rl_take(rl, "d", 500 * SEC, &ra), 1);
	assert_int_equal(sat_rl_evictions(rl), 2);
	sat_rl_free(rl);
}

static void test_long_keys_are_cut_consistently(void **state)
{
	struct sat_ratelim *rl = sat_rl_new(1, 1, 4);
	char k1[300], k2[300];
	uint32_t ra;

	(void)state;
	memset(k1, 'x', sizeof(k1) - 1);
	k1[sizeof(k1) - 1] = '\0';
	memcpy(k2, k1, sizeof(k2));
	k2[250] = 'y'; /* differs only past the kept prefix */
	assert_int_equal(sat_rl_take(rl, k1, SEC, &ra), 1);
	assert_int_equal(sat_rl_take(rl, k2, SEC, &ra), 0);
	assert_int_equal(sat_rl_size(rl), 1);
	sat_rl_free(rl);
}

static void test_bad_arguments(void **state)
{
	uint32_t ra;

	(void)state;
	assert_null(sat_rl_new(0, 1, 4));
	assert_null(sat_rl_new(1, 1, 0));
	assert_null(sat_rl_new(1, 1, SAT_RL_MAX_SENSORS + 1));
	assert_int_equal(sat_rl_take(NULL, "a", 0, &ra), 1); /* no limiter, no limit */
	sat_rl_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_limited),
		cmocka_unit_test(test_retry_after_rounds_up),
		cmocka_unit_test(test_sensors_are_independent),
		cmocka_unit_test(test_table_is_bounded_lru),
		cmocka_unit_test(test_long_keys_are_cut_consistently),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
