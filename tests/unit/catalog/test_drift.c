// SPDX-License-Identifier: BSD-2-Clause
/* Drift: every kind of finding planted once, and nothing else reported. */
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

#include "apisonar/catalog/drift.h"
#include "apisonar/catalog/spec.h"

static const char *const declared_doc =
	"openapi: 3.0.3\n"
	"info: {title: Shop, version: '1'}\n"
	"servers: [{url: 'https://shop.example'}]\n"
	"components:\n"
	"  securitySchemes:\n"
	"    bearer: {type: http, scheme: bearer}\n"
	"  schemas:\n"
	"    User:\n"
	"      type: object\n"
	"      properties:\n"
	"        id: {type: integer}\n"
	"        email: {type: string, x-apisonar-sensitive: email}\n"
	"        age: {type: integer}\n"
	"security: [{bearer: []}]\n"
	"paths:\n"
	"  /users/{userId}:\n"
	"    get:\n"
	"      parameters:\n"
	"        - {name: userId, in: path, required: true, schema: {type: integer}}\n"
	"        - {name: fields, in: query, schema: {type: string}}\n"
	"      responses:\n"
	"        '200':\n"
	"          description: ok\n"
	"          content: {application/json: {schema: {$ref: '#/components/schemas/User'}}}\n"
	"        '404': {description: missing}\n"
	"  /users:\n"
	"    post:\n"
	"      requestBody:\n"
	"        content: {application/json: {schema: {$ref: '#/components/schemas/User'}}}\n"
	"      responses: {'201': {description: made}}\n"
	"  /health:\n"
	"    get:\n"
	"      security: []\n"
	"      responses: {'200': {description: ok}}\n"
	"  /reports/{id}.csv:\n"
	"    get:\n"
	"      responses: {'200': {description: ok, content: {text/csv: {}}}}\n"
	"  /legacy:\n"
	"    get:\n"
	"      responses: {'200': {description: ok}}\n";

/* An observed catalog as `apisonar anonymize` writes it (the members drift
 * reads). /users/me meets /users/{userId} as a router would send it. */
static const char *const observed_doc =
	"{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"shop.example\":{\"endpoints\":{"
	"\"GET /users/{user}\":{\"method\":\"GET\",\"path\":\"/users/{user}\",\"count\":10,"
	"\"last_seen\":\"2026-12-01T00:00:00.000Z\","
	"\"auth\":{\"bearer_jwt\":10},"
	"\"parameters\":{\"path\":{\"user\":{\"n\":10,\"types\":[\"string\"],\"formats\":[\"uuid\"]}},"
	"\"query\":{\"fields\":{\"n\":3,\"types\":[\"string\"]},\"debug\":{\"n\":1,\"types\":[\"boolean\"]}},"
	"\"header\":{\"x-request-id\":{\"n\":10,\"types\":[\"string\"]}}},"
	"\"responses\":{\"200\":{\"count\":9,\"bodies\":{\"application/json\":{\"count\":9,\"schema\":{"
	"\"n\":9,\"types\":[\"object\"],\"objects\":9,\"properties\":{"
	"\"id\":{\"n\":9,\"types\":[\"integer\"]},"
	"\"email\":{\"n\":9,\"types\":[\"string\"],\"sensitive\":[\"email\"]},"
	"\"age\":{\"n\":9,\"types\":[\"string\"]},"
	"\"phone\":{\"n\":9,\"types\":[\"string\"],\"sensitive\":[\"phone\"]}}}}}},"
	"\"500\":{\"count\":1}}},"
	"\"GET /users/me\":{\"method\":\"GET\",\"path\":\"/users/me\",\"count\":4,"
	"\"last_seen\":\"2026-11-30T00:00:00.000Z\","
	"\"auth\":{\"bearer\":1},\"responses\":{\"200\":{\"count\":4}}},"
	"\"POST /users\":{\"method\":\"POST\",\"path\":\"/users\",\"count\":2,"
	"\"auth\":{\"bearer\":2,\"cookie:sid\":1},"
	"\"request\":{\"bodies\":{\"application/xml\":{\"count\":2}}},"
	"\"responses\":{\"201\":{\"count\":2}}},"
	"\"GET /health\":{\"method\":\"GET\",\"path\":\"/health\",\"count\":5,"
	"\"responses\":{\"200\":{\"count\":5}}},"
	"\"GET /reports/{id}.csv\":{\"method\":\"GET\",\"path\":\"/reports/{id}.csv\",\"count\":1,"
	"\"responses\":{\"200\":{\"count\":1,\"bodies\":{\"text/csv\":{\"count\":1}}}}},"
	"\"DELETE /admin/{id}\":{\"method\":\"DELETE\",\"path\":\"/admin/{id}\",\"count\":1,"
	"\"responses\":{\"204\":{\"count\":1}}}}}}}";

static char *report(enum drift_format fmt, const struct drift_opts *o, int *n)
{
	cJSON *tree = NULL, *dcat = NULL, *ocat = cJSON_Parse(observed_doc);
	struct spec_report rep = { 0 };
	struct drift_result res;
	char err[256], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int paired;

	assert_non_null(ocat);
	assert_int_equal(spec_parse(declared_doc, strlen(declared_doc), &tree, err, sizeof(err)), 0);
	assert_int_equal(spec_declare(tree, NULL, &rep, &dcat, err, sizeof(err)), 0);
	assert_int_equal(drift_compare(dcat, ocat, o, &res, &paired), 0);
	assert_int_equal(paired, 0);
	*n = (int)res.n;
	assert_int_equal(drift_write(f, &res, fmt), 0);
	fclose(f);
	drift_result_free(&res);
	spec_report_free(&rep);
	cJSON_Delete(tree);
	cJSON_Delete(dcat);
	cJSON_Delete(ocat);
	return buf;
}

static void test_every_kind_once(void **state)
{
	int n;
	char *text = report(DRIFT_TEXT, NULL, &n);

	(void)state;
	assert_string_equal(
		text,
		"shop.example\n"
		"  DELETE /admin/{id}: shadow-endpoint: observed, not declared\n"
		"  GET /legacy: zombie-endpoint: declared, never observed\n"
		"  GET /reports/{id}.csv: missing-auth: auth required (1 of 1 requests without auth)\n"
		"  POST /users: undeclared-media-type: request media type application/xml\n"
		"  POST /users: undeclared-auth: auth cookie:sid\n"
		"  GET /users/{userId}: undeclared-parameter: header parameter 'x-request-id'\n"
		"  GET /users/{userId}: undeclared-parameter: query parameter 'debug'\n"
		"  GET /users/{userId}: undeclared-status: status 500\n"
		"  GET /users/{userId}: unseen-status: status 404\n"
		"  GET /users/{userId}: undeclared-field: response 200 'phone'\n"
		"  GET /users/{userId}: type-mismatch: path 'userId' (declared integer, observed string)\n"
		"  GET /users/{userId}: type-mismatch: response 200 'age' (declared integer, observed "
		"string)\n"
		"  GET /users/{userId}: undeclared-sensitive: response 200 'phone' (phone)\n"
		"  GET /users/{userId}: missing-auth: auth required (3 of 4 requests without auth)\n"
		"\n"
		"14 findings in 1 service (5 declared, 6 observed endpoints): 1 shadow-endpoint, "
		"1 zombie-endpoint, 2 undeclared-parameter, 1 undeclared-status, 1 unseen-status, "
		"1 undeclared-media-type, 1 undeclared-field, 2 type-mismatch, 1 undeclared-sensitive, "
		"1 undeclared-auth, 2 missing-auth\n");
	assert_int_equal(n, 14);
	free(text);
}

/* A phone that the document does not declare is reported with the field
 * path, never with a value; the JSON form carries the same findings. */
static void test_json_and_markdown(void **state)
{
	int n;
	char *js = report(DRIFT_JSON, NULL, &n);
	char *md;
	cJSON *doc = cJSON_Parse(js), *f0;

	(void)state;
	assert_non_null(doc);
	assert_string_equal(cJSON_GetObjectItem(doc, "schema")->valuestring, "apisonar.drift/v1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "findings")), 14);
	f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "findings"), 0);
	assert_string_equal(cJSON_GetObjectItem(f0, "kind")->valuestring, "shadow-endpoint");
	assert_string_equal(cJSON_GetObjectItem(f0, "path")->valuestring, "/admin/{id}");
	assert_int_equal(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "summary"), "by_kind"),
				 "missing-auth")
				 ->valueint,
			 2);
	cJSON_Delete(doc);
	free(js);
	md = report(DRIFT_MARKDOWN, NULL, &n);
	assert_non_null(strstr(md, "## shop.example\n\n| endpoint | kind | finding |\n|---|---|---|\n"
				   "| `DELETE /admin/{id}` | shadow-endpoint | observed, not declared |\n"));
	free(md);
}

static void test_zombie_window(void **state)
{
	struct drift_opts o = { .zombie_window_s = 86400 };
	int n;
	char *text;

	(void)state;
	/* 2026-12-03: /users/{userId} was last seen two days before. */
	o.now_ns = 1796256000ull * 1000000000ull;
	text = report(DRIFT_TEXT, &o, &n);
	assert_non_null(strstr(text, "  GET /users/{userId}: zombie-endpoint: declared, not observed "
				     "within the window\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_once),
		cmocka_unit_test(test_json_and_markdown),
		cmocka_unit_test(test_zombie_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
