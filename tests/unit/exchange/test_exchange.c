// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "apisonar/exchange/exchange.h"
#include "apisonar/util/util.h"

static void test_headers_grow_and_lookup(void **state)
{
	struct as_exchange *x = as_exchange_new();
	char name[16];
	int i;

	(void)state;
	for (i = 0; i < AS_MAX_HEADERS; i++) {
		int n = snprintf(name, sizeof(name), "X-H%d", i);

		assert_int_equal(as_msg_add_header(&x->req, name, (size_t)n, "v", 1), 0);
	}
	assert_int_equal(as_msg_add_header(&x->req, "One-Too-Many", 12, "v", 1), -E2BIG);
	assert_int_equal(x->req.n_headers, AS_MAX_HEADERS);
	assert_string_equal(as_msg_header(&x->req, "x-h100"), "v");
	assert_null(as_msg_header(&x->req, "x-h128"));
	as_exchange_free(x);
}

static void test_body_cap_keeps_true_length(void **state)
{
	struct as_message m = { 0 };

	(void)state;
	assert_int_equal(as_msg_append_body(&m, "hello", 5, 8), 0);
	assert_int_equal(as_msg_append_body(&m, "world", 5, 8), 0);
	assert_int_equal(m.body_len, 8);
	assert_int_equal(m.body_true_len, 10);
	assert_true(m.body_truncated);
	assert_memory_equal(m.body, "hellowor", 8);
	as_msg_clear(&m);
	assert_null(m.body);
}

static void test_parse_u64(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(parse_u64("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(v, 42);
}

static void test_atomic_write_and_read(void **state)
{
	char dir[] = "/tmp/apisonar-test-XXXXXX", path[256], sub[256];
	char *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/a/b/c", dir);
	assert_int_equal(mkdir_p(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/f.json", sub);
	assert_int_equal(write_file_atomic(path, "{}\n", 3, 0600), 0);
	assert_int_equal(read_file_all(path, 100, &buf, &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "{}\n");
	free(buf);
	assert_int_equal(read_file_all(path, 2, &buf, &len), -EFBIG);
	assert_int_equal(read_file_all("/proc/self/apisonar-no-such-file", 2, &buf, &len), -ENOENT);
}

/* The per-second cache must not leak a fraction or width from one call
 * into the next, and cuts like snprintf. */
static void test_time_format(void **state)
{
	char b[40];

	(void)state;
	time_format_rfc3339(1764000000123456789ull, 3, b, sizeof(b));
	assert_string_equal(b, "2025-11-24T16:00:00.123Z");
	time_format_rfc3339(1764000000000456789ull, 9, b, sizeof(b));
	assert_string_equal(b, "2025-11-24T16:00:00.000456789Z");
	time_format_rfc3339(1764000000999999999ull, 1, b, sizeof(b));
	assert_string_equal(b, "2025-11-24T16:00:00.9Z");
	time_format_rfc3339(1764000001000000000ull, 0, b, sizeof(b));
	assert_string_equal(b, "2025-11-24T16:00:01.000000000Z");
	time_format_rfc3339(1764000001000000000ull, 3, b, 12);
	assert_string_equal(b, "2025-11-24T");
	time_format_rfc3339(0, 3, b, sizeof(b));
	assert_string_equal(b, "1970-01-01T00:00:00.000Z");
}

/* json_get answers what cJSON's own lookup answers, duplicates included. */
static void test_json_get(void **state)
{
	cJSON *o = cJSON_Parse("{\"body\":1,\"body_size\":2,\"b\":3,\"body\":4}");
	cJSON *a = cJSON_Parse("[1,2]");

	(void)state;
	assert_non_null(o);
	assert_ptr_equal(json_get(o, "body"), cJSON_GetObjectItemCaseSensitive(o, "body"));
	assert_int_equal(json_get(o, "body")->valueint, 1);
	assert_int_equal(json_get(o, "body_size")->valueint, 2);
	assert_int_equal(json_get(o, "b")->valueint, 3);
	assert_null(json_get(o, "Body"));
	assert_null(json_get(o, ""));
	assert_null(json_get(o, NULL));
	assert_null(json_get(NULL, "body"));
	assert_null(json_get(a, "body"));
	cJSON_Delete(a);
	cJSON_Delete(o);
}

/* Armed, trees come from the arena and its memory is reused once every
 * tree is gone; trees made before arming, and trees too big for the
 * arena, are ordinary malloc memory and free as such. */
static void test_json_arena(void **state)
{
	cJSON *before, *t1, *t2, *t3, *big;
	char *s;
	int prev;

	(void)state;
	before = cJSON_Parse("{\"a\":[1,2,3]}");
	prev = json_arena_arm(1);
	assert_int_equal(prev, 0);
	t1 = cJSON_Parse("{\"x\":\"y\"}");
	assert_non_null(t1);
	t2 = cJSON_Parse("[true]");
	cJSON_Delete(t1);
	t3 = cJSON_Parse("{\"x\":\"y\"}");
	/* t2 still lives: t3 cannot take t1's place. */
	assert_ptr_not_equal(t3, t1);
	cJSON_Delete(t2);
	cJSON_Delete(t3);
	t2 = cJSON_Parse("{\"x\":\"y\"}");
	assert_ptr_equal(t2, t1); /* all freed: the arena started over */
	cJSON_Delete(before);     /* malloc memory freed while armed */
	s = malloc(JSON_ARENA_CAP + 16);
	assert_non_null(s);
	memset(s, 'a', JSON_ARENA_CAP + 15);
	s[0] = '"';
	s[JSON_ARENA_CAP + 14] = '"';
	s[JSON_ARENA_CAP + 15] = '\0';
	big = cJSON_Parse(s); /* its string does not fit: malloc */
	assert_non_null(big);
	assert_int_equal(strlen(big->valuestring), JSON_ARENA_CAP + 13);
	assert_int_equal(json_arena_arm(prev), 1);
	cJSON_Delete(big); /* unarmed: both kinds still free right */
	cJSON_Delete(t2);
	t1 = cJSON_CreateObject(); /* unarmed: malloc, printable and free()able */
	assert_non_null(t1);
	s[0] = '\0';
	free(s);
	s = cJSON_PrintUnformatted(t1);
	assert_string_equal(s, "{}");
	free(s);
	cJSON_Delete(t1);
}

/* Release drops what was built since the mark, once; a tree that spilled
 * to malloc is refused and deleted the usual way. */
static void test_json_arena_release(void **state)
{
	struct json_arena_mark m;
	cJSON *t, *again, *big;
	char *s;
	int prev;

	(void)state;
	prev = json_arena_arm(1);
	json_arena_mark(&m);
	t = cJSON_Parse("{\"a\":{\"b\":[1,2,\"c\"]}}");
	assert_non_null(t);
	assert_int_equal(json_arena_release(&m), 1);
	again = cJSON_Parse("{\"a\":1}");
	assert_ptr_equal(again, t); /* the same memory, handed out again */
	cJSON_Delete(again);
	s = malloc(JSON_ARENA_CAP + 8);
	assert_non_null(s);
	memset(s, 'a', JSON_ARENA_CAP + 7);
	s[0] = '"';
	s[JSON_ARENA_CAP + 6] = '"';
	s[JSON_ARENA_CAP + 7] = '\0';
	json_arena_mark(&m);
	big = cJSON_Parse(s);
	assert_non_null(big);
	assert_int_equal(json_arena_release(&m), 0);
	cJSON_Delete(big);
	free(s);
	json_arena_arm(prev);
}

/* The fast parser gives cJSON's tree, declines what it does not do alike,
 * and its strings live as long as the root. */
static void test_json_parse_fast(void **state)
{
	static const char rec[] = " {\"a\":[1,-0,2.5e3,true,false,null],\"s\":\"x\\\"y\\\\z\\n\",\"o\":{}} ";
	cJSON *f = json_parse_fast(rec, sizeof(rec) - 1, 1), *c = cJSON_Parse(rec);
	char *pf, *pc;

	(void)state;
	assert_non_null(f);
	assert_non_null(c);
	pf = cJSON_PrintUnformatted(f);
	pc = cJSON_PrintUnformatted(c);
	assert_string_equal(pf, pc);
	assert_string_equal(json_get(f, "s")->valuestring, "x\"y\\z\n");
	assert_true(cJSON_IsTrue(cJSON_GetArrayItem(json_get(f, "a"), 3)));
	assert_int_equal(cJSON_GetArrayItem(json_get(f, "a"), 3)->valueint, 1);
	free(pf);
	free(pc);
	cJSON_Delete(f);
	cJSON_Delete(c);
	assert_null(json_parse_fast("{\"a\":\"\\u00e9\"}", 14, 1));  /* \\u: cJSON's */
	assert_null(json_parse_fast("{\"a\":01}", 8, 1));            /* not strict */
	assert_null(json_parse_fast("{\"a\":1} x", 9, 1));          /* trailing */
	f = json_parse_fast("{\"a\":1} x", 9, 0);                    /* allowed */
	assert_non_null(f);
	cJSON_Delete(f);
	assert_null(json_parse_fast("\"top\"", 5, 1));               /* scalar root */
	assert_null(json_parse_fast("[1,]", 4, 1));
	assert_null(json_parse_fast("{\"a\" 1}", 7, 1));
	assert_null(json_parse_fast("", 0, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_grow_and_lookup),
		cmocka_unit_test(test_body_cap_keeps_true_length),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_atomic_write_and_read),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_json_get),
		cmocka_unit_test(test_json_arena),
		cmocka_unit_test(test_json_arena_release),
		cmocka_unit_test(test_json_parse_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
