// SPDX-License-Identifier: BSD-2-Clause
/* The declared catalog inside the metadata catalog (docs/declared.md):
 * marks and their merge laws, declared names and literals kept by the
 * templating, the OpenAPI source mark, drift reading only what was
 * observed, the last guard passing a declared batch. */
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

#include "anon_testlib.h"
#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/declared_merge.h"
#include "apisonar/catalog/drift.h"
#include "apisonar/catalog/spec.h"
#include "apisonar/transport/batch.h"

static const char *const spec_doc =
    "openapi: 3.0.3\n"
    "info: {title: t, version: '1'}\n"
    "servers: [{url: 'http://t.example'}]\n"
    "paths:\n"
    "  /users/{login}:\n"
    "    get:\n"
    "      parameters:\n"
    "        - {name: login, in: path, required: true, schema: {type: string}}\n"
    "        - {name: fields, in: query, required: true, schema: {type: string}}\n"
    "        - {name: sort, in: query, schema: {type: string}}\n"
    "      responses:\n"
    "        '200':\n"
    "          description: ok\n"
    "          content:\n"
    "            application/json:\n"
    "              schema:\n"
    "                type: object\n"
    "                required: [name]\n"
    "                properties: {name: {type: string}, age: {type: integer}}\n"
    "        '404': {description: missing}\n"
    "        default: {description: other}\n"
    "  /users/zara:\n"
    "    get:\n"
    "      responses: {'200': {description: board}}\n"
    "  /orders:\n"
    "    get:\n"
    "      security: [{key: []}]\n"
    "      responses: {'200': {description: list}}\n"
    "components:\n"
    "  securitySchemes:\n"
    "    key: {type: apiKey, in: header, name: X-Api-Key}\n";

static const char *const names[] = {"alice", "bob",   "carol", "dave", "erin",	  "frank",
				    "grace", "heidi", "ivan",  "judy", "mallory", "oscar"};

/* The declared catalog of spec_doc and its metadata form. */
static cJSON *declared_catalog(void)
{
	cJSON *tree = NULL, *cat = NULL;
	struct spec_report rep = {0};
	char err[256];

	assert_int_equal(spec_parse(spec_doc, strlen(spec_doc), &tree, err, sizeof(err)), 0);
	assert_int_equal(spec_scrub(tree, &rep), 0);
	assert_int_equal(spec_declare(tree, NULL, &rep, &cat, err, sizeof(err)), 0);
	spec_report_free(&rep);
	cJSON_Delete(tree);
	return cat;
}

static void add(struct catalog *c, const char *target, const char *rbody)
{
	const char *h[] = {"Host: t.example", NULL};
	const char *rh[] = {"Content-Type: application/json", NULL};
	struct as_exchange *x = tx_new("GET", target, h, NULL, 200, rh, rbody);

	assert_int_equal(catalog_add_exchange(c, x), 0);
	as_exchange_free(x);
}

/* Traffic: twelve users by name, each twice, and zara twice. */
static struct catalog *observed_after(const cJSON *first)
{
	struct catalog *c = catalog_new(NULL);
	char t[64];
	size_t i;

	if (first)
		assert_int_equal(catalog_merge_metadata(c, first, NULL, 0), 0);
	for (i = 0; i < 24; i++) {
		snprintf(t, sizeof(t), "/users/%s", names[i % 12]);
		add(c, t, "{\"name\":\"n\"}");
	}
	/* a thirteenth name, which the document declares as a literal */
	add(c, "/users/zara", "{\"name\":\"n\"}");
	add(c, "/users/zara", "{\"name\":\"n\"}");
	return c;
}

static struct catalog *observed(void)
{
	return observed_after(NULL);
}

static void merge_doc(struct catalog *c, const cJSON *doc)
{
	char err[256] = "";
	int rc = catalog_merge_metadata(c, doc, err, sizeof(err));

	if (rc)
		fail_msg("merge: %s", err);
}

static char *text_of(const struct catalog *c)
{
	cJSON *d = catalog_to_metadata(c);
	char *s = cJSON_PrintUnformatted(d);

	cJSON_Delete(d);
	return s;
}

static const cJSON *endpoint(const cJSON *md, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(md, "services"),
						 "t.example"),
		"endpoints"),
	    key);
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	assert_true(cJSON_IsNumber(n));
	return n->valuedouble;
}

/* The declared catalog as metadata: counts 0, marks, required, and what
 * the metadata cannot hold (default, 2XX) left out. */
static void test_declared_to_metadata(void **state)
{
	cJSON *decl = declared_catalog(), *md = declared_to_metadata(decl);
	const cJSON *ep, *q;

	(void)state;
	ep = endpoint(md, "GET /users/{login}");
	assert_non_null(ep);
	assert_true(num(ep, "count") == 0 && num(ep, "declared") == 1);
	q = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ep, "parameters"),
					     "query"),
	    "fields");
	assert_true(num(q, "n") == 0 && num(q, "declared") == 1 && num(q, "required") == 1);
	q = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ep, "parameters"),
					     "query"),
	    "sort");
	assert_null(cJSON_GetObjectItemCaseSensitive(q, "required"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(ep, "responses"), "404"));
	assert_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(ep, "responses"), "default"));
	assert_true(num(cJSON_GetObjectItemCaseSensitive(endpoint(md, "GET /orders"), "auth"),
			"apikey_header:x-api-key") == 0);
	assert_string_equal(declared_source(ep, "count"), "declared");
	cJSON_Delete(md);
	cJSON_Delete(decl);
}

/* Marks merge as a max and counts of 0 add nothing: declared before,
 * after or twice, the same bytes. */
static void test_marks_merge_laws(void **state)
{
	cJSON *decl = declared_catalog(), *md = declared_to_metadata(decl), *obs;
	struct catalog *o = observed(), *a = catalog_new(NULL), *b = catalog_new(NULL),
		       *c = catalog_new(NULL), *g = catalog_new(NULL);
	char *sa, *sb, *sc, *sg;

	(void)state;
	obs = catalog_to_metadata(o);
	merge_doc(a, obs); /* observed, then declared */
	merge_doc(a, md);
	merge_doc(b, md); /* declared, then observed */
	merge_doc(b, obs);
	merge_doc(c, md); /* declared twice around the observed */
	merge_doc(c, obs);
	merge_doc(c, md);
	/* grouping: the declared merged into a catalog merged whole */
	{
		struct catalog *inner = catalog_new(NULL);
		cJSON *id;

		merge_doc(inner, md);
		merge_doc(inner, obs);
		id = catalog_to_metadata(inner);
		merge_doc(g, id);
		merge_doc(g, md);
		cJSON_Delete(id);
		catalog_free(inner);
	}
	sa = text_of(a);
	sb = text_of(b);
	sc = text_of(c);
	sg = text_of(g);
	assert_string_equal(sa, sb);
	assert_string_equal(sa, sc);
	assert_string_equal(sa, sg);
	free(sa);
	free(sb);
	free(sc);
	free(sg);
	cJSON_Delete(obs);
	catalog_free(o);
	catalog_free(a);
	catalog_free(b);
	catalog_free(c);
	catalog_free(g);
	cJSON_Delete(md);
	cJSON_Delete(decl);
}

/* Observed /users/alice... meet the declared /users/{login}: the
 * declared name wins over the generated one, the declared literal
 * /users/zara (a value without the document) is not folded into the
 * parameter once the declaration is in the catalog,
 * and declared-only endpoints stay with count 0. */
static void test_declared_names_and_literals(void **state)
{
	cJSON *decl = declared_catalog(), *md = declared_to_metadata(decl), *out, *plain;
	struct catalog *c = observed();
	const cJSON *ep, *p, *svc;
	char *s;

	(void)state;
	/* without the declaration the catalog names the parameter itself */
	plain = catalog_to_metadata(c);
	s = cJSON_PrintUnformatted(plain);
	assert_null(strstr(s, "{login}"));
	assert_non_null(strstr(s, "\"GET /users/{userId}\""));
	assert_null(strstr(s, "/users/zara")); /* a value, without the document */
	assert_non_null(strstr(s, "\"GET /users/{"));
	free(s);
	cJSON_Delete(plain);

	catalog_free(c);
	/* the declaration read first, then the same traffic */
	c = observed_after(md);
	out = catalog_to_metadata(c);
	ep = endpoint(out, "GET /users/{login}");
	assert_non_null(ep);
	assert_true(num(ep, "count") == 24 && num(ep, "declared") == 1);
	assert_string_equal(declared_source(ep, "count"), "both");
	p = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ep, "parameters"),
					     "path"),
	    "login");
	assert_true(num(p, "n") == 24 && num(p, "declared") == 1);
	ep = endpoint(out, "GET /users/zara");
	assert_non_null(ep);
	assert_true(num(ep, "count") == 2 && num(ep, "declared") == 1);
	ep = endpoint(out, "GET /orders");
	assert_non_null(ep);
	assert_true(num(ep, "count") == 0);
	/* no other endpoint: no observed name left beside the declared one */
	svc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(out, "services"),
					       "t.example");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(svc, "endpoints")), 3);
	cJSON_Delete(out);
	catalog_free(c);
	cJSON_Delete(md);
	cJSON_Delete(decl);
}

/* An endpoint another sensor named /users/{id} merges into the declared
 * /users/{login}, its parameter renamed with what it learned. */
static void test_other_name_adopts_declared(void **state)
{
	static const char *const other =
	    "{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"t.example\":{\"endpoints\":{"
	    "\"GET /users/{id}\":{\"method\":\"GET\",\"path\":\"/users/{id}\",\"count\":5,"
	    "\"parameters\":{\"path\":{\"id\":{\"n\":5,\"types\":[\"string\"],\"formats\":["
	    "\"text\"]}}}}}}}}";
	cJSON *decl = declared_catalog(), *md = declared_to_metadata(decl),
	      *od = cJSON_Parse(other);
	struct catalog *c = catalog_new(NULL);
	cJSON *out;
	const cJSON *ep, *p;

	(void)state;
	merge_doc(c, od);
	merge_doc(c, md);
	out = catalog_to_metadata(c);
	assert_null(endpoint(out, "GET /users/{id}"));
	ep = endpoint(out, "GET /users/{login}");
	assert_non_null(ep);
	assert_true(num(ep, "count") == 5);
	p = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ep, "parameters"),
					     "path"),
	    "login");
	assert_true(num(p, "n") == 5 && num(p, "declared") == 1);
	assert_null(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ep, "parameters"),
					     "path"),
	    "id"));
	cJSON_Delete(out);
	cJSON_Delete(od);
	catalog_free(c);
	cJSON_Delete(md);
	cJSON_Delete(decl);
}

static const cJSON *op_of(const cJSON *oa, const char *path, const char *m)
{
	return cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(oa, "paths"), path),
	    m);
}

static const cJSON *param_of(const cJSON *op, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(
	    it,
	    cJSON_GetObjectItemCaseSensitive(
		op,
		"parameters")) if (strcmp(cJSON_GetObjectItemCaseSensitive(it, "name")->valuestring,
					  name) == 0) return it;
	return NULL;
}

/* OpenAPI: a declared-only endpoint is there with count 0 and its source
 * mark; declared required flags carry over; observed-only endpoints say
 * observed. */
static void test_openapi_source_and_required(void **state)
{
	cJSON *decl = declared_catalog(), *md = declared_to_metadata(decl), *out, *oa;
	struct catalog *c = observed();
	const cJSON *op, *r, *sch;

	(void)state;
	add(c, "/health", "{\"ok\":true}");
	merge_doc(c, md);
	out = catalog_to_metadata(c);
	oa = openapi_from_service(
	    "t.example", cJSON_GetObjectItemCaseSensitive(
			     cJSON_GetObjectItemCaseSensitive(out, "services"), "t.example"));
	op = op_of(oa, "/orders", "get");
	assert_non_null(op);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(op, "x-apisonar-source")->valuestring,
			    "declared");
	assert_true(num(op, "x-apisonar-count") == 0);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(op, "security"));
	op = op_of(oa, "/users/{login}", "get");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(op, "x-apisonar-source")->valuestring,
			    "both");
	assert_true(
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(param_of(op, "fields"), "required")));
	assert_true(
	    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(param_of(op, "sort"), "required")));
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(param_of(op, "fields"), "x-apisonar-source")
		->valuestring,
	    "declared");
	assert_string_equal(
	    cJSON_GetObjectItemCaseSensitive(param_of(op, "login"), "x-apisonar-source")
		->valuestring,
	    "both");
	r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(op, "responses"),
					     "404");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "x-apisonar-source")->valuestring,
			    "declared");
	r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(op, "responses"),
					     "200");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "x-apisonar-source")->valuestring,
			    "both");
	sch = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "content"),
						 "application/json"),
		"schema"),
	    "required");
	assert_int_equal(cJSON_GetArraySize(sch), 1);
	assert_string_equal(sch->child->valuestring, "name");
	op = op_of(oa, "/health", "get");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(op, "x-apisonar-source")->valuestring,
			    "observed");
	cJSON_Delete(oa);
	cJSON_Delete(out);
	catalog_free(c);
	cJSON_Delete(md);
	cJSON_Delete(decl);
}

static char *drift_json(const cJSON *decl, const cJSON *obs)
{
	struct drift_result r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(drift_compare(decl, obs, NULL, &r, NULL), 0);
	assert_int_equal(drift_write(f, &r, DRIFT_JSON), 0);
	fclose(f);
	drift_result_free(&r);
	return buf;
}

/* The drift report of a catalog holding the declared API is the report
 * of its traffic alone: declared, unobserved parts are not observations. */
static void test_drift_reads_observed_part(void **state)
{
	cJSON *decl = declared_catalog(), *md = declared_to_metadata(decl), *plain, *with;
	struct catalog *c = observed();
	char *a, *b;

	(void)state;
	plain = catalog_to_metadata(c);
	merge_doc(c, md);
	with = catalog_to_metadata(c);
	a = drift_json(decl, plain);
	b = drift_json(decl, with);
	assert_string_equal(a, b);
	assert_non_null(strstr(a, "\"zombie-endpoint\""));
	assert_non_null(strstr(a, "\"unseen-status\""));
	free(a);
	free(b);
	cJSON_Delete(plain);
	cJSON_Delete(with);
	catalog_free(c);
	cJSON_Delete(md);
	cJSON_Delete(decl);
}

/* A batch holding the declared API passes the last guard. */
static void test_declared_batch_passes_guard(void **state)
{
	cJSON *decl = declared_catalog(), *md = declared_to_metadata(decl), *doc;
	struct batch_sensor sensor = {.id = "unit", .version = "0"};
	struct catalog *c = observed();
	struct batch_meta meta;
	unsigned char *gz = NULL;
	size_t len = 0;

	(void)state;
	merge_doc(c, md);
	doc = catalog_to_metadata(c);
	assert_int_equal(batch_encode(doc, &sensor, 1, 2, &gz, &len, &meta), 0);
	assert_true(len > 0);
	assert_int_equal(meta.endpoints, 3);
	free(gz);
	cJSON_Delete(doc);
	catalog_free(c);
	cJSON_Delete(md);
	cJSON_Delete(decl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_declared_to_metadata),
	    cmocka_unit_test(test_marks_merge_laws),
	    cmocka_unit_test(test_declared_names_and_literals),
	    cmocka_unit_test(test_other_name_adopts_declared),
	    cmocka_unit_test(test_openapi_source_and_required),
	    cmocka_unit_test(test_drift_reads_observed_part),
	    cmocka_unit_test(test_declared_batch_passes_guard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
