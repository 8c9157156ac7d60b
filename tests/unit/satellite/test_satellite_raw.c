// SPDX-License-Identifier: BSD-2-Clause
/* Raw ingest: gzip'd JSON lines of exchanges -> one metadata document. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after stdarg.h, setjmp.h, stddef.h */

#include "apisonar/satellite/satellite.h"
#include "apisonar/transport/batch.h"

/* One exchange with values: a bearer token, an email in the query, a
 * password in the body. */
#define LINE(id)                                                                                   \
	"{\"time\":\"2024-01-02T03:04:05.000000Z\",\"pid\":1,\"comm\":\"api\",\"role\":\"server\","  \
	"\"tls\":false,\"local\":{\"addr\":\"10.0.0.1\",\"port\":8080},\"remote\":{\"addr\":"       \
	"\"10.0.0.2\",\"port\":4000},\"latency_ms\":2,\"flags\":[],\"values\":true,\"request\":{"   \
	"\"method\":\"POST\",\"target\":\"/users/" id "/login?email=zed.canary%40example.org\","    \
	"\"version\":\"HTTP/1.1\",\"headers\":[[\"Host\",\"api.internal\"],[\"Authorization\","     \
	"\"Bearer SecretTok3nQq8Vx5Wm2\"],[\"Content-Type\",\"application/json\"]],\"body\":"      \
	"\"{\\\"password\\\":\\\"Hunter2Canary!\\\"}\",\"body_encoding\":\"utf8\",\"body_size\":29," \
	"\"body_truncated\":false},\"response\":{\"status\":204,\"version\":\"HTTP/1.1\","           \
	"\"headers\":[],\"body_size\":0,\"body_truncated\":false}}\n"

static int convert(const char *text, size_t cap, cJSON **doc, struct sat_raw_stats *st,
		   char *err, size_t errlen)
{
	unsigned char *gz = NULL;
	size_t n = 0;
	int rc;

	assert_int_equal(batch_gzip(text, strlen(text), &gz, &n), 0);
	rc = sat_raw_to_metadata(gz, n, cap, doc, st, err, errlen);
	free(gz);
	return rc;
}

static void test_raw_to_metadata(void **state)
{
	const char *text = LINE("1042") "not json at all\n" LINE("77");
	struct sat_raw_stats st;
	cJSON *doc = NULL, *ep;
	char err[256], *out;

	(void)state;
	assert_int_equal(convert(text, 1u << 20, &doc, &st, err, sizeof(err)), 0);
	assert_int_equal(st.merged, 2);
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.skipped, 0);
	ep = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(doc, "services"), "api.internal"),
			"endpoints"),
		"POST /users/{userId}/login");
	assert_non_null(ep);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(ep, "count")->valueint, 2);
	out = cJSON_PrintUnformatted(doc);
	assert_non_null(out);
	assert_null(strstr(out, "SecretTok3n"));
	assert_null(strstr(out, "zed.canary"));
	assert_null(strstr(out, "Hunter2"));
	assert_null(strstr(out, "1042"));
	free(out);
	cJSON_Delete(doc);
}

static void test_raw_refusals(void **state)
{
	struct sat_raw_stats st;
	cJSON *doc = NULL;
	char err[256];

	(void)state;
	/* Not gzip at all. */
	assert_int_equal(sat_raw_to_metadata("plain", 5, 1u << 20, &doc, &st, err, sizeof(err)),
			 -EINVAL);
	assert_null(doc);
	assert_string_equal(err, "body is not valid gzip");
	/* Nothing usable inside. */
	assert_int_equal(convert("{}\n[1]\n", 1u << 20, &doc, &st, err, sizeof(err)), -EINVAL);
	assert_null(doc);
	assert_int_equal(st.malformed, 2);
	assert_non_null(strstr(err, "no usable exchange"));
	assert_int_equal(convert("", 1u << 20, &doc, &st, err, sizeof(err)), -EINVAL);
	/* Past the inflate cap: refused before any parsing. */
	assert_int_equal(convert(LINE("1") LINE("2"), 100, &doc, &st, err, sizeof(err)), -E2BIG);
	assert_null(doc);
	assert_int_equal(st.merged, 0);
	assert_null(strstr(err, "api.internal"));
}

/* The Kubernetes identity a raw-forward sensor found names the service on
 * the satellite, as it would have on the node. */
static void test_raw_identity_names_service(void **state)
{
	char line[4096], *out;
	const char *one = LINE("9");
	struct sat_raw_stats st;
	cJSON *doc = NULL, *svcs;
	size_t n = strlen(one);
	char err[256];

	(void)state;
	/* The same record with an identity member before the final brace. */
	assert_true(n + 100 < sizeof(line));
	memcpy(line, one, n - 2);
	snprintf(line + n - 2, sizeof(line) - (n - 2),
		 ",\"identity\":{\"namespace\":\"shop\",\"kind\":\"Deployment\","
		 "\"workload\":\"web\",\"container\":\"nginx\"}}\n");
	assert_int_equal(convert(line, 1u << 20, &doc, &st, err, sizeof(err)), 0);
	svcs = cJSON_GetObjectItemCaseSensitive(doc, "services");
	assert_non_null(cJSON_GetObjectItemCaseSensitive(svcs, "web.shop"));
	assert_null(cJSON_GetObjectItemCaseSensitive(svcs, "api.internal"));
	out = cJSON_PrintUnformatted(doc);
	assert_non_null(strstr(out, "\"kubernetes\""));
	free(out);
	cJSON_Delete(doc);
}

static void test_encode_as_keeps_id(void **state)
{
	const char *id = "0b9e2a4c-1f3d-4e5a-9b7c-6d8e0f1a2b3c";
	struct batch_sensor bs = { .id = "sensor-a", .version = "1" };
	struct batch_meta m, m2;
	struct sat_raw_stats st;
	unsigned char *gz = NULL;
	cJSON *doc = NULL, *back = NULL;
	size_t n = 0;
	char err[256];

	(void)state;
	assert_int_equal(convert(LINE("5"), 1u << 20, &doc, &st, err, sizeof(err)), 0);
	assert_int_equal(batch_encode_as(doc, &bs, id, 1, 2, &gz, &n, &m), 0);
	assert_string_equal(m.id, id);
	assert_int_equal(batch_decode(gz, n, 0, &back, &m2, err, sizeof(err)), 0);
	assert_string_equal(m2.id, id);
	assert_string_equal(m2.sensor_id, "sensor-a");
	assert_int_equal(batch_encode_as(doc, &bs, "short", 1, 2, &gz, &n, &m), -EINVAL);
	free(gz);
	cJSON_Delete(back);
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_to_metadata),
		cmocka_unit_test(test_raw_refusals),
		cmocka_unit_test(test_raw_identity_names_service),
		cmocka_unit_test(test_encode_as_keeps_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
