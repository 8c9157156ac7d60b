// SPDX-License-Identifier: BSD-2-Clause
/* The test runner's pure parts: stripping, the credentials reader, plans. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/tester/strip.h"
#include "apisonar/tester/tester.h"

static char *strip(const char *in, const char *secret, size_t *n)
{
	char *s = strdup(in);
	const char *secrets[1] = { secret };

	*n = strip_secrets(&s, secrets, 1);
	return s;
}

static void test_strip_every_encoding(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "a tok3n-Secret/x+1 b", "a <credential> b" },
		{ "q=tok3n-Secret%2Fx%2B1&r", "q=<credential>&r" },
		{ "q=tok3n-Secret%2fx%2b1&r", "q=<credential>&r" },
		{ "hex 746f6b336e2d5365637265742f782b31!", "hex <credential>!" },
		{ "HEX 746F6B336E2D5365637265742F782B31!", "HEX <credential>!" },
		/* base64 of the secret alone, and inside "Bearer <secret>". */
		{ "b64 dG9rM24tU2VjcmV0L3grMQ==;", "b64 <credential>;" },
		{ "b64 dG9rM24tU2VjcmV0L3grMQ;", "b64 <credential>;" },
		{ "hdr QmVhcmVyIHRvazNuLVNlY3JldC94KzE= end", "hdr <credential> end" },
		{ "nothing here", "nothing here" },
	};
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = strip(cases[i].in, "tok3n-Secret/x+1", &n);

		assert_string_equal(s, cases[i].out);
		assert_true((n > 0) == (strcmp(cases[i].in, cases[i].out) != 0));
		free(s);
	}
}

static void test_strip_jwts_and_withheld(void **state)
{
	char *s = strdup("x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnc2lnc2lnc2ln y eyJ z");
	char why[64];

	(void)state;
	assert_int_equal(strip_jwts(&s), 1);
	assert_string_equal(s, "x <jwt> y eyJ z");
	free(s);
	assert_int_equal(strip_withheld("reach me at jane.doe@example.org", why, sizeof(why)), 1);
	assert_string_equal(why, "<withheld: email>");
	assert_int_equal(strip_withheld("[{\"id\": 1}]", why, sizeof(why)), 0);
}

static void test_creds_parse(void **state)
{
	static const char *good =
		"{\"identities\": {\"a\": {\"bearer\": \"T1\"}, \"b\": {\"header\": {\"name\": "
		"\"X-Key\", \"value\": \"K2\"}}, \"c\": {\"query\": {\"name\": \"api_key\", \"value\": "
		"\"Q3\"}}, \"d\": {\"cookie\": {\"name\": \"sid\", \"value\": \"C4\"}}, \"e\": "
		"{\"basic\": {\"user\": \"u\", \"password\": \"P5\"}}, \"f\": {\"command\": "
		"\"/bin/echo T6\"}}}";
	static const char *bad = "{\"identities\": {\"a\": {\"header\": {\"name\": \"X\"}}}}";
	struct tester_creds c;
	char err[256];

	(void)state;
	assert_int_equal(tester_creds_parse("f", good, strlen(good), &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 6);
	assert_int_equal(c.id[1].kind, TA_HEADER);
	assert_string_equal(c.id[1].param, "X-Key");
	assert_string_equal(c.id[4].param, "u");
	assert_string_equal(c.id[4].secret, "P5");
	assert_int_equal(c.id[5].kind, TA_BEARER);
	assert_string_equal(c.id[5].secret, "T6");
	tester_creds_wipe(&c);
	assert_int_equal(c.n, 0);
	assert_int_equal(tester_creds_parse("f", bad, strlen(bad), &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "f: identity a: needs \"name\" and \"value\" (value at most 4095 bytes)");
	assert_int_equal(tester_creds_parse("f", "[]", 2, &c, err, sizeof(err)), -EINVAL);
}

static void test_plan_from_catalog(void **state)
{
	static const char *cat =
		"{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{\"endpoints\":{"
		"\"GET /items\":{\"method\":\"GET\",\"path\":\"/items\",\"count\":2,\"auth\":{\"bearer\":2},"
		"\"responses\":{\"200\":{\"count\":2,\"bodies\":{\"application/json\":{\"schema\":{"
		"\"types\":[\"array\"],\"items\":{\"types\":[\"object\"],\"properties\":{\"id\":{}}}}}}}}},"
		"\"GET /items/{item}\":{\"method\":\"GET\",\"path\":\"/items/{item}\",\"count\":2,"
		"\"auth\":{\"bearer\":2},\"parameters\":{\"query\":{\"n\":{\"n\":2,\"types\":[\"integer\"]}}}}}}}}";
	cJSON *c = cJSON_Parse(cat), *plan = NULL, *t;
	char err[256];
	int n = 0, bola = 0, writes = 0;

	(void)state;
	assert_int_equal(tester_plan(c, NULL, &plan, err, sizeof(err)), 0);
	assert_int_equal(tester_plan_check(plan, err, sizeof(err)), 0);
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(plan, "tests")) {
		n++;
		bola += strcmp(cJSON_GetObjectItem(t, "kind")->valuestring, "bola") == 0;
		writes += cJSON_IsTrue(cJSON_GetObjectItem(t, "writes"));
	}
	/* Per endpoint: schema, auth-required, auth-invalid, sensitive, 4 methods;
	 * the item also bola, input-type and input-oversize for n. */
	assert_int_equal(n, 19);
	assert_int_equal(bola, 1);
	assert_int_equal(writes, 8);
	cJSON_Delete(plan);
	cJSON_Delete(c);
}

/* Results as a spool record: the test-results kind, the results id as the
 * idempotency key, the gzip of exactly the compact JSON; a document a
 * detector matches is refused. */
static void test_results_encode(void **state)
{
	static const char doc[] = "{\"schema\":\"apisonar.testresults/v1\","
				  "\"id\":\"0b9e2a4c-1f3d-4e5a-9b7c-6d8e0f1a2b3c\","
				  "\"service\":\"shop.test\",\"results\":[{\"id\":\"a\"},{\"id\":\"b\"}]}";
	cJSON *r = cJSON_Parse(doc), *bad;
	unsigned char *gz = NULL, *json = NULL;
	struct batch_meta m;
	size_t len = 0, jl = 0;

	(void)state;
	assert_int_equal(tester_results_encode(r, 10, 20, &gz, &len, &m), 0);
	assert_int_equal(m.kind, BATCH_KIND_TEST_RESULTS);
	assert_string_equal(m.id, "0b9e2a4c-1f3d-4e5a-9b7c-6d8e0f1a2b3c");
	assert_int_equal(m.endpoints, 2);
	assert_int_equal(m.json_len, strlen(doc));
	assert_int_equal(m.window_start_ns, 10);
	assert_int_equal(m.window_end_ns, 20);
	assert_int_equal(anon_inflate(gz, len, 1 << 20, &json, &jl), 0);
	assert_int_equal(jl, strlen(doc));
	assert_memory_equal(json, doc, jl);
	free(json);
	free(gz);
	gz = NULL;
	bad = cJSON_Duplicate(r, 1);
	cJSON_AddStringToObject(bad, "note", "mail jane.doe@example.org");
	assert_int_equal(tester_results_encode(bad, 10, 20, &gz, &len, &m), -EPERM);
	assert_null(gz);
	cJSON_DeleteItemFromObject(bad, "id");
	assert_int_equal(tester_results_encode(bad, 10, 20, &gz, &len, &m), -EINVAL);
	cJSON_Delete(bad);
	cJSON_Delete(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strip_every_encoding),
		cmocka_unit_test(test_strip_jwts_and_withheld),
		cmocka_unit_test(test_creds_parse),
		cmocka_unit_test(test_plan_from_catalog),
		cmocka_unit_test(test_results_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
