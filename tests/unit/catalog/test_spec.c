// SPDX-License-Identifier: BSD-2-Clause
/* OpenAPI import: parsing (JSON, YAML), $refs, scrubbing, the declared
 * catalog, Swagger 2.0. */
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

#include "apisonar/catalog/spec.h"

/* The declared catalog of one document as compact JSON (caller frees). */
static char *declare_text(const char *doc, const struct spec_declare_opts *o,
			  struct spec_report *rep, int *rc_out)
{
	cJSON *tree = NULL, *cat = NULL;
	char err[256] = "";
	char *s = NULL;
	int rc;

	rc = spec_parse(doc, strlen(doc), &tree, err, sizeof(err));
	if (!rc)
		rc = spec_scrub(tree, rep);
	if (!rc)
		rc = spec_declare(tree, o, rep, &cat, err, sizeof(err));
	if (!rc)
		s = cJSON_PrintUnformatted(cat);
	*rc_out = rc;
	cJSON_Delete(tree);
	cJSON_Delete(cat);
	return s;
}

static const char *const yaml_doc =
	"openapi: 3.1.0\n"
	"info: {title: Users, version: '1'}\n"
	"servers: [{url: 'https://api.example.com/v2'}]\n"
	"paths:\n"
	"  /users/{userId}:\n"
	"    parameters:\n"
	"      - {name: userId, in: path, required: true, schema: {type: integer}}\n"
	"    get:\n"
	"      parameters:\n"
	"        - {name: fields, in: query, schema: {type: string}}\n"
	"        - {name: X-Trace, in: header, schema: {type: string}}\n"
	"      responses:\n"
	"        '200':\n"
	"          description: ok\n"
	"          content:\n"
	"            application/json; charset=utf-8:\n"
	"              schema: {$ref: '#/components/schemas/User'}\n"
	"        404: {description: missing}\n"
	"components:\n"
	"  schemas:\n"
	"    User:\n"
	"      type: object\n"
	"      required: [id]\n"
	"      properties:\n"
	"        id: {type: integer, format: int64}\n"
	"        email: {type: [string, 'null'], x-apisonar-sensitive: email}\n";

static const char *const json_doc =
	"{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"Users\",\"version\":\"1\"},"
	"\"servers\":[{\"url\":\"https://api.example.com/v2\"}],"
	"\"paths\":{\"/users/{userId}\":{\"parameters\":[{\"name\":\"userId\",\"in\":\"path\","
	"\"required\":true,\"schema\":{\"type\":\"integer\"}}],\"get\":{\"parameters\":["
	"{\"name\":\"fields\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
	"{\"name\":\"X-Trace\",\"in\":\"header\",\"schema\":{\"type\":\"string\"}}],"
	"\"responses\":{\"200\":{\"description\":\"ok\",\"content\":{"
	"\"application/json; charset=utf-8\":{\"schema\":{\"$ref\":\"#/components/schemas/User\"}}}},"
	"\"404\":{\"description\":\"missing\"}}}}},"
	"\"components\":{\"schemas\":{\"User\":{\"type\":\"object\",\"required\":[\"id\"],"
	"\"properties\":{\"id\":{\"type\":\"integer\",\"format\":\"int64\"},"
	"\"email\":{\"type\":[\"string\",\"null\"],\"x-apisonar-sensitive\":\"email\"}}}}}}";

static void test_yaml_and_json_give_one_catalog(void **state)
{
	struct spec_report r1 = { 0 }, r2 = { 0 };
	int rc1, rc2;
	char *a = declare_text(yaml_doc, NULL, &r1, &rc1);
	char *b = declare_text(json_doc, NULL, &r2, &rc2);

	(void)state;
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, 0);
	assert_string_equal(a, b);
	assert_int_equal(r1.total, 0);
	assert_string_equal(
		a, "{\"schema\":\"apisonar.declared/v1\",\"services\":{\"api.example.com\":{"
		   "\"endpoints\":{\"GET /v2/users/{userId}\":{\"method\":\"GET\",\"path\":"
		   "\"/v2/users/{userId}\",\"declared\":true,\"parameters\":{\"path\":{\"userId\":{"
		   "\"types\":[\"integer\"],\"required\":true}},\"query\":{\"fields\":{\"types\":"
		   "[\"string\"]}},\"header\":{\"x-trace\":{\"types\":[\"string\"]}}},"
		   "\"responses\":{\"200\":{\"bodies\":{\"application/json\":{\"schema\":{"
		   "\"types\":[\"object\"],\"properties\":{\"id\":{\"types\":[\"integer\"],"
		   "\"formats\":[\"int64\"],\"required\":true},\"email\":{\"types\":[\"null\","
		   "\"string\"],\"sensitive\":[\"email\"]}}}}}},\"404\":{}}}}}}}");
	free(a);
	free(b);
	spec_report_free(&r1);
	spec_report_free(&r2);
}

static void test_ref_cycles_are_cut(void **state)
{
	static const char *doc =
		"openapi: 3.0.0\n"
		"paths:\n"
		"  /nodes:\n"
		"    post:\n"
		"      requestBody:\n"
		"        content:\n"
		"          application/json: {schema: {$ref: '#/components/schemas/A'}}\n"
		"      responses: {'201': {description: made}}\n"
		"components:\n"
		"  schemas:\n"
		"    A: {type: object, properties: {b: {$ref: '#/components/schemas/B'}}}\n"
		"    B: {type: object, properties: {a: {$ref: '#/components/schemas/A'},\n"
		"        self: {$ref: '#/components/schemas/B'}, name: {type: string}}}\n";
	struct spec_report rep = { 0 };
	int rc;
	char *s = declare_text(doc, NULL, &rep, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "\"properties\":{\"b\":{\"types\":[\"object\"],\"properties\":"
				  "{\"a\":{},\"self\":{},\"name\":{\"types\":[\"string\"]}}}}"));
	free(s);
	spec_report_free(&rep);
}

static void test_remote_and_dangling_refs_refused(void **state)
{
	static const char *remote =
		"{\"openapi\":\"3.0.0\",\"paths\":{\"/a\":{\"get\":{\"responses\":{\"200\":{"
		"\"$ref\":\"https://example.com/common.yaml#/Ok\"}}}}}}";
	static const char *dangling =
		"{\"openapi\":\"3.0.0\",\"paths\":{\"/a\":{\"get\":{\"responses\":{\"200\":{"
		"\"$ref\":\"#/components/responses/Nope\"}}}}}}";
	cJSON *tree = NULL, *cat = NULL;
	struct spec_report rep = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(spec_parse(remote, strlen(remote), &tree, err, sizeof(err)), 0);
	assert_int_equal(spec_declare(tree, NULL, &rep, &cat, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "remote $ref at /paths/~1a/get/responses/200/$ref refused: apisonar "
				 "fetches nothing; bundle the document into one file first");
	assert_null(strstr(err, "example.com"));
	cJSON_Delete(tree);
	assert_int_equal(spec_parse(dangling, strlen(dangling), &tree, err, sizeof(err)), 0);
	assert_int_equal(spec_declare(tree, NULL, &rep, &cat, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "$ref at /paths/~1a/get/responses/200/$ref names nothing in the "
				 "document");
	cJSON_Delete(tree);
	cJSON_Delete(cat);
	spec_report_free(&rep);
}

/* Secrets planted in every place a document carries values: each is
 * reported by pointer and class, none reaches the catalog, the report or
 * an error message. */
static void test_scrub_every_position(void **state)
{
	static const char *const secrets[] = {
		"sk_live_4eC39HqLyjWDarjtT1zdp7dc", "AKIAIOSFODNN7EXAMPLE", "4111111111111111",
		"hunter2pass", "jane.doe@example.org",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
		"dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
	};
	static const char *doc =
		"openapi: 3.0.3\n"
		"info: {title: Shop, version: '1', contact: {email: jane.doe@example.org}}\n"
		"servers:\n"
		"  - url: https://admin:hunter2pass@api.shop.example/v1\n"
		"paths:\n"
		"  /orders/{orderId}:\n"
		"    get:\n"
		"      parameters:\n"
		"        - {name: orderId, in: path, required: true,\n"
		"           schema: {type: integer, example: 4111111111111111}}\n"
		"        - {name: sk_live_4eC39HqLyjWDarjtT1zdp7dc, in: query}\n"
		"        - {name: verbose, in: query, schema: {type: boolean,\n"
		"           default: AKIAIOSFODNN7EXAMPLE}}\n"
		"      x-internal: {owner: jane.doe@example.org}\n"
		"      responses:\n"
		"        '200':\n"
		"          description: ok\n"
		"          content:\n"
		"            application/json:\n"
		"              schema:\n"
		"                type: object\n"
		"                properties:\n"
		"                  status: {type: string, enum: [open, AKIAIOSFODNN7EXAMPLE]}\n"
		"                  AKIAIOSFODNN7EXAMPLE: {type: string}\n"
		"              examples:\n"
		"                one: {value: {token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
		"dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'}}\n"
		"components:\n"
		"  securitySchemes:\n"
		"    key: {type: apiKey, in: header, name: X-Api-Key,\n"
		"          description: 'try sk_live_4eC39HqLyjWDarjtT1zdp7dc'}\n"
		"security: [{key: []}]\n";
	static const struct {
		const char *pointer, *cls;
	} want[] = {
		{ "/info/contact/email", "email" },
		{ "/servers/0/url", "password" },
		{ "/paths/~1orders~1{orderId}/get/parameters/0/schema/example", "card" },
		{ "/paths/~1orders~1{orderId}/get/parameters/1/name", "stripe_key" },
		{ "/paths/~1orders~1{orderId}/get/parameters/2/schema/default", "aws_key" },
		{ "/paths/~1orders~1{orderId}/get/x-internal/owner", "email" },
		{ "/paths/~1orders~1{orderId}/get/responses/200/content/application~1json/schema/"
		  "properties/status/enum/1",
		  "aws_key" },
		{ "/paths/~1orders~1{orderId}/get/responses/200/content/application~1json/schema/"
		  "properties/*",
		  "aws_key" },
		{ "/paths/~1orders~1{orderId}/get/responses/200/content/application~1json/examples/one/"
		  "value/token",
		  "jwt" },
		{ "/components/securitySchemes/key/description", "stripe_key" },
	};
	struct spec_report rep = { 0 };
	size_t i, j;
	int rc;
	char *s = declare_text(doc, NULL, &rep, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;

		for (j = 0; j < rep.n; j++)
			if (strcmp(rep.findings[j].pointer, want[i].pointer) == 0 &&
			    strcmp(detect_class_name(rep.findings[j].cls), want[i].cls) == 0)
				found = true;
		if (!found)
			fail_msg("no %s finding at %s", want[i].cls, want[i].pointer);
	}
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		assert_null(strstr(s, secrets[i]));
		for (j = 0; j < rep.n; j++)
			assert_null(strstr(rep.findings[j].pointer, secrets[i]));
	}
	/* What is not a value stays: the endpoint, the declared names. */
	assert_non_null(strstr(s, "\"GET /v1/orders/{orderId}\""));
	assert_non_null(strstr(s, "\"verbose\""));
	assert_non_null(strstr(s, "\"auth\":[\"apikey_header:x-api-key\"],\"auth_required\":true"));
	assert_non_null(strstr(s, "\"api.shop.example\""));
	free(s);
	spec_report_free(&rep);
}

static void test_swagger2(void **state)
{
	static const char *doc =
		"swagger: '2.0'\n"
		"host: legacy.example.com\n"
		"basePath: /api/\n"
		"consumes: [application/json]\n"
		"securityDefinitions:\n"
		"  basic: {type: basic}\n"
		"  key: {type: apiKey, in: query, name: api_key}\n"
		"paths:\n"
		"  /pets:\n"
		"    post:\n"
		"      security: [{key: []}, {}]\n"
		"      parameters:\n"
		"        - {name: body, in: body, schema: {$ref: '#/definitions/Pet'}}\n"
		"      responses: {'201': {description: made, schema: {$ref: '#/definitions/Pet'}}}\n"
		"  /pets/{id}/photo:\n"
		"    put:\n"
		"      security: [{basic: []}]\n"
		"      consumes: [multipart/form-data]\n"
		"      parameters:\n"
		"        - {name: id, in: path, type: integer}\n"
		"        - {name: file, in: formData, type: file, required: true}\n"
		"      responses: {default: {description: any}}\n"
		"definitions:\n"
		"  Pet: {properties: {name: {type: string}}}\n";
	struct spec_report rep = { 0 };
	int rc;
	char *s = declare_text(doc, NULL, &rep, &rc);

	(void)state;
	assert_int_equal(rc, 0);
	assert_non_null(strstr(s, "\"legacy.example.com\""));
	assert_non_null(strstr(
		s, "\"POST /api/pets\":{\"method\":\"POST\",\"path\":\"/api/pets\",\"declared\":true,"
		   "\"request\":{\"bodies\":{\"application/json\":{\"schema\":{\"types\":[\"object\"],"
		   "\"properties\":{\"name\":{\"types\":[\"string\"]}}}}}},\"responses\":{\"201\":{"
		   "\"bodies\":{\"application/json\":{\"schema\":{\"types\":[\"object\"],"
		   "\"properties\":{\"name\":{\"types\":[\"string\"]}}}}}}},\"auth\":["
		   "\"apikey_query:api_key\"]}"));
	assert_non_null(strstr(s, "\"request\":{\"bodies\":{\"multipart/form-data\":{\"schema\":{"
				  "\"types\":[\"object\"],\"properties\":{\"file\":{\"required\":true}}"
				  "}}}},\"responses\":{\"default\":{}},\"auth\":[\"basic\"],"
				  "\"auth_required\":true}"));
	free(s);
	spec_report_free(&rep);
}

static void test_yaml_limits_and_errors(void **state)
{
	static const char *laughs =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		"f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
		"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
	static const char *merge = "base: &base {type: string, format: uuid}\n"
				   "id: {<<: *base, format: int64}\n";
	cJSON *t = NULL;
	char err[256];

	(void)state;
	assert_int_equal(spec_parse(laughs, strlen(laughs), &t, err, sizeof(err)), -E2BIG);
	assert_null(t);
	assert_string_equal(err, "YAML: more nodes than apisonar reads (aliases expanded) at line 7, "
				 "column 16");
	assert_int_equal(spec_parse("a: 1\na: 2\n", 10, &t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "YAML: a duplicate mapping key at line 2, column 1");
	assert_int_equal(spec_parse("a: [1, 2\n", 9, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "YAML: "));
	assert_int_equal(spec_parse("{\"a\": [1,}", 10, &t, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "JSON: malformed near line 1, column 10");
	assert_int_equal(spec_parse("a: *nope\n", 9, &t, err, sizeof(err)), -EINVAL);
	assert_int_equal(spec_parse(merge, strlen(merge), &t, err, sizeof(err)), 0);
	{
		char *s = cJSON_PrintUnformatted(t);

		assert_string_equal(s, "{\"base\":{\"type\":\"string\",\"format\":\"uuid\"},"
				       "\"id\":{\"format\":\"int64\",\"type\":\"string\"}}");
		free(s);
	}
	cJSON_Delete(t);
	/* Plain scalars: YAML 1.2 core types; quoted ones and 1.1 words stay strings. */
	{
		static const char *sc = "[~, true, 12, -1.5e3, 'true', NO, yes, 0x1F]";

		assert_int_equal(spec_parse(sc, strlen(sc), &t, err, sizeof(err)), 0);
	}
	{
		char *s = cJSON_PrintUnformatted(t);

		assert_string_equal(s, "[null,true,12,-1500,\"true\",\"NO\",\"yes\",\"0x1F\"]");
		free(s);
	}
	cJSON_Delete(t);
}

static void test_not_openapi(void **state)
{
	cJSON *t = NULL, *cat = NULL;
	struct spec_report rep = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(spec_parse("openapi: 4.0.0\n", 15, &t, err, sizeof(err)), 0);
	assert_int_equal(spec_declare(t, NULL, &rep, &cat, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "OpenAPI version 4.0.0 is not supported (3.0, 3.1, Swagger 2.0)");
	cJSON_Delete(t);
	assert_int_equal(spec_parse("title: x\n", 9, &t, err, sizeof(err)), 0);
	assert_int_equal(spec_declare(t, NULL, &rep, &cat, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "not an OpenAPI document: no \"openapi\" (3.0, 3.1) or \"swagger\" "
				 "(2.0) version");
	cJSON_Delete(t);
	assert_null(cat);
}

static void test_template_key(void **state)
{
	char k[128];

	(void)state;
	assert_int_equal(spec_template_key("get", "/users/{userId}/posts/{id}.json", k, sizeof(k)), 0);
	assert_string_equal(k, "GET /users/{}/posts/{}.json");
	assert_int_equal(spec_template_key("GET", "/a/{open", k, sizeof(k)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_and_json_give_one_catalog),
		cmocka_unit_test(test_ref_cycles_are_cut),
		cmocka_unit_test(test_remote_and_dangling_refs_refused),
		cmocka_unit_test(test_scrub_every_position),
		cmocka_unit_test(test_swagger2),
		cmocka_unit_test(test_yaml_limits_and_errors),
		cmocka_unit_test(test_not_openapi),
		cmocka_unit_test(test_template_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
