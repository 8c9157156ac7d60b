// SPDX-License-Identifier: BSD-2-Clause
/*
 * Test plans from catalog metadata (include/apisonar/tester/tester.h,
 * docs/testing.md). A plan holds what the catalog holds: templates,
 * parameter names with their types and formats, auth kinds, statuses,
 * media types, field names, sensitive classes. Never a value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/tester/tester.h"
#include "apisonar/util/util.h"

const char *const tester_kinds[TESTER_N_KINDS] = { "schema",	   "auth-required",
						   "auth-invalid",   "bola",
						   "method",	   "input-type",
						   "input-oversize", "sensitive" };

static const char *const try_methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE" };

/* An HTTP method word as the catalog writes it. */
static bool method_ok(const char *m)
{
	return m[0] && strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(m) && strlen(m) <= 16;
}

static bool safe_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

static const cJSON *first_type(const cJSON *node)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(node, "types"), 0);
}

/* {"name": {"type", "format", "required"}} for one parameter location. */
static cJSON *inputs_of(const cJSON *map, double count)
{
	cJSON *out = cJSON_CreateObject();
	const cJSON *it;

	cJSON_ArrayForEach(it, map) {
		cJSON *p = cJSON_AddObjectToObject(out, it->string);
		const cJSON *t = first_type(it);
		const cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(it, "formats"), 0);
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "n");

		cJSON_AddStringToObject(p, "type", cJSON_IsString(t) ? t->valuestring : "string");
		if (cJSON_IsString(f) && strcmp(f->valuestring, "text") != 0)
			cJSON_AddStringToObject(p, "format", f->valuestring);
		cJSON_AddBoolToObject(p, "required", cJSON_IsNumber(n) && n->valuedouble >= count);
	}
	return out;
}

/* The last segment is a parameter: "/orders/{id}" -> collection "/orders",
 * the parameter "id". */
static bool item_of_collection(const char *path, char *coll, size_t collen, char *param,
			       size_t paramlen)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? strlen(slash) : 0;

	if (!slash || slash == path || n < 3 || slash[1] != '{' || slash[n - 1] != '}')
		return false;
	snprintf(coll, collen, "%.*s", (int)(slash - path), path);
	snprintf(param, paramlen, "%.*s", (int)(n - 3), slash + 2);
	return true;
}

/* The field of a collection's items that holds their ids: "id", else the
 * first field whose name ends in "id"/"Id"/"_id". */
static const char *id_field(const cJSON *coll_ep)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(coll_ep, "responses"), "200");
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(r, "bodies"), "application/json"),
		"schema");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
	const cJSON *props, *it;

	if (!items) {
		/* {"data": [...]} or {"items": [...]}: the first array member. */
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s, "properties"))
			if (cJSON_GetObjectItemCaseSensitive(it, "items")) {
				items = cJSON_GetObjectItemCaseSensitive(it, "items");
				break;
			}
	}
	props = cJSON_GetObjectItemCaseSensitive(items, "properties");
	if (cJSON_GetObjectItemCaseSensitive(props, "id"))
		return "id";
	cJSON_ArrayForEach(it, props) {
		size_t n = strlen(it->string);

		if (n >= 2 && (strcmp(it->string + n - 2, "id") == 0 ||
			       strcmp(it->string + n - 2, "Id") == 0))
			return it->string;
	}
	return NULL;
}

/* Sensitive classes anywhere in a schema node, into a set. */
static void classes_of(const cJSON *node, cJSON *set, int depth)
{
	const cJSON *it;

	if (!node || depth > 24)
		return;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(node, "sensitive")) {
		const cJSON *x;
		bool have = false;

		cJSON_ArrayForEach(x, set)
			if (strcmp(x->valuestring, it->valuestring) == 0)
				have = true;
		if (!have)
			cJSON_AddItemToArray(set, cJSON_CreateString(it->valuestring));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(node, "properties"))
		classes_of(it, set, depth + 1);
	classes_of(cJSON_GetObjectItemCaseSensitive(node, "items"), set, depth + 1);
	classes_of(cJSON_GetObjectItemCaseSensitive(node, "additional"), set, depth + 1);
}

static cJSON *test_new(cJSON *tests, const char *kind, const char *method, const char *path,
		       const char *variant)
{
	cJSON *t = cJSON_CreateObject();
	char id[2300];

	snprintf(id, sizeof(id), "%s %s %s%s%s", kind, method, path, variant ? " " : "",
		 variant ? variant : "");
	cJSON_AddStringToObject(t, "id", id);
	cJSON_AddStringToObject(t, "kind", kind);
	cJSON_AddStringToObject(t, "method", method);
	cJSON_AddStringToObject(t, "path", path);
	cJSON_AddItemToArray(tests, t);
	return t;
}

static void add_inputs(cJSON *t, const cJSON *ep)
{
	const cJSON *pm = cJSON_GetObjectItemCaseSensitive(ep, "parameters");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(ep, "count");
	double count = cJSON_IsNumber(n) ? n->valuedouble : 0;
	cJSON *in = cJSON_AddObjectToObject(t, "inputs");

	cJSON_AddItemToObject(in, "path",
			      inputs_of(cJSON_GetObjectItemCaseSensitive(pm, "path"), count));
	cJSON_AddItemToObject(in, "query",
			      inputs_of(cJSON_GetObjectItemCaseSensitive(pm, "query"), count));
}

static cJSON *status_list(cJSON *expect, const char *const *codes, int n)
{
	cJSON *a = cJSON_AddArrayToObject(expect, "status");
	int i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(codes[i]));
	return a;
}

/* The smallest method the catalog has for a path. */
static const char *smallest_method(const cJSON *eps, const char *path)
{
	const char *best = "~";
	const cJSON *it;

	cJSON_ArrayForEach(it, eps) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "method");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path");

		if (cJSON_IsString(m) && cJSON_IsString(p) && strcmp(p->valuestring, path) == 0 &&
		    strcmp(m->valuestring, best) < 0)
			best = m->valuestring;
	}
	return best;
}

static void endpoint_tests(cJSON *tests, const cJSON *eps, const cJSON *ep)
{
	const char *m = cJSON_GetObjectItemCaseSensitive(ep, "method")->valuestring;
	const char *p = cJSON_GetObjectItemCaseSensitive(ep, "path")->valuestring;
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(ep, "auth");
	const cJSON *resps = cJSON_GetObjectItemCaseSensitive(ep, "responses");
	const cJSON *it, *q;
	bool has_auth = cJSON_GetArraySize(auth) > 0;
	char coll[1100], param[256], key[1200];
	cJSON *t, *e, *a;
	size_t i;

	/* Schema conformance: what the catalog saw succeed, again. */
	t = test_new(tests, "schema", m, p, NULL);
	add_inputs(t, ep);
	if (!safe_method(m))
		cJSON_AddTrueToObject(t, "writes");
	e = cJSON_AddObjectToObject(t, "expect");
	a = cJSON_AddArrayToObject(e, "status");
	cJSON_ArrayForEach(it, resps) {
		const cJSON *b;

		if (it->string[0] != '2')
			continue;
		cJSON_AddItemToArray(a, cJSON_CreateString(it->string));
		cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(it, "bodies")) {
			const cJSON *s = cJSON_GetObjectItemCaseSensitive(b, "schema");
			cJSON *fields;

			if (!cJSON_GetObjectItemCaseSensitive(e, "media"))
				cJSON_AddArrayToObject(e, "media");
			cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(e, "media"),
					     cJSON_CreateString(b->string));
			if (!s || cJSON_GetObjectItemCaseSensitive(e, "types"))
				continue;
			cJSON_AddItemToObject(e, "types",
					      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s, "types"), 1));
			fields = cJSON_AddObjectToObject(e, "fields");
			cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "properties"))
				cJSON_AddItemToObject(fields, q->string,
						      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(q, "types"), 1));
		}
	}
	if (!a->child)
		cJSON_AddItemToArray(a, cJSON_CreateString("2XX"));

	if (has_auth) {
		static const char *const refused[] = { "401", "403" };
		static const char *const variants[] = { "auth-required", "auth-invalid" };
		size_t v;

		/* One auth kind is enough to know the endpoint wants one. */
		for (v = 0; v < 2; v++) {
			t = test_new(tests, variants[v], m, p, NULL);
			add_inputs(t, ep);
			if (!safe_method(m))
				cJSON_AddTrueToObject(t, "writes");
			cJSON_AddItemToArray(cJSON_AddArrayToObject(t, "auth"),
					     cJSON_CreateString(auth->child->string));
			status_list(cJSON_AddObjectToObject(t, "expect"), refused, 2);
		}
	}

	if (has_auth && strcmp(m, "GET") == 0 &&
	    item_of_collection(p, coll, sizeof(coll), param, sizeof(param))) {
		const cJSON *ce;
		const char *idf;

		snprintf(key, sizeof(key), "GET %s", coll);
		ce = cJSON_GetObjectItemCaseSensitive(eps, key);
		idf = ce ? id_field(ce) : NULL;
		if (idf) {
			static const char *const refused[] = { "401", "403", "404" };

			t = test_new(tests, "bola", m, p, NULL);
			add_inputs(t, ep);
			cJSON_AddStringToObject(t, "collection", coll);
			cJSON_AddStringToObject(t, "id_field", idf);
			cJSON_AddStringToObject(t, "id_param", param);
			status_list(cJSON_AddObjectToObject(t, "expect"), refused, 3);
		}
	}

	/* Methods the catalog never saw on this path, tried once per path
	 * (from the endpoint with the smallest method). */
	if (strcmp(m, smallest_method(eps, p)) == 0) {
		for (i = 0; i < sizeof(try_methods) / sizeof(try_methods[0]); i++) {
			static const char *const any4xx[] = { "4XX" };

			snprintf(key, sizeof(key), "%s %s", try_methods[i], p);
			if (cJSON_GetObjectItemCaseSensitive(eps, key))
				continue;
			t = test_new(tests, "method", try_methods[i], p, NULL);
			add_inputs(t, ep);
			if (!safe_method(try_methods[i]))
				cJSON_AddTrueToObject(t, "writes");
			status_list(cJSON_AddObjectToObject(t, "expect"), any4xx, 1);
		}
	}

	/* Type-confused and oversized query parameters. */
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(
				      cJSON_GetObjectItemCaseSensitive(ep, "parameters"), "query")) {
		const cJSON *ty = first_type(q);
		static const char *const below5xx[] = { "1XX", "2XX", "3XX", "4XX" };

		if (cJSON_IsString(ty) && strcmp(ty->valuestring, "string") != 0) {
			t = test_new(tests, "input-type", m, p, q->string);
			add_inputs(t, ep);
			cJSON_AddStringToObject(t, "param", q->string);
			if (!safe_method(m))
				cJSON_AddTrueToObject(t, "writes");
			status_list(cJSON_AddObjectToObject(t, "expect"), below5xx, 4);
		}
		t = test_new(tests, "input-oversize", m, p, q->string);
		add_inputs(t, ep);
		cJSON_AddStringToObject(t, "param", q->string);
		if (!safe_method(m))
			cJSON_AddTrueToObject(t, "writes");
		status_list(cJSON_AddObjectToObject(t, "expect"), below5xx, 4);
	}

	/* Sensitive data where the catalog has none: the classes it knows. */
	if (strcmp(m, "GET") == 0) {
		cJSON *known;

		t = test_new(tests, "sensitive", m, p, NULL);
		add_inputs(t, ep);
		e = cJSON_AddObjectToObject(t, "expect");
		known = cJSON_AddArrayToObject(e, "sensitive");
		cJSON_ArrayForEach(it, resps) {
			const cJSON *b;

			cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(it, "bodies"))
				classes_of(cJSON_GetObjectItemCaseSensitive(b, "schema"), known, 0);
		}
	}
}

int tester_plan(const cJSON *catalog, const struct tester_plan_opts *o, cJSON **plan,
		char *err, size_t errlen)
{
	const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(catalog, "services");
	const cJSON *svc = NULL, *ep, *eps;
	const char *name;
	cJSON *p, *tests;

	if (o && o->service) {
		svc = cJSON_GetObjectItemCaseSensitive(svcs, o->service);
		name = o->service;
	} else if (cJSON_GetArraySize(svcs) == 1) {
		svc = svcs->child;
		name = svc->string;
	} else {
		snprintf(err, errlen, "the catalog has %d services: name one with --service",
			 cJSON_GetArraySize(svcs));
		return -ENOENT;
	}
	if (!svc) {
		snprintf(err, errlen, "service %s is not in the catalog", name);
		return -ENOENT;
	}
	p = cJSON_CreateObject();
	if (!p)
		return -ENOMEM;
	cJSON_AddStringToObject(p, "schema", "apisonar.testplan/v1");
	cJSON_AddStringToObject(p, "service", name);
	tests = cJSON_AddArrayToObject(p, "tests");
	eps = cJSON_GetObjectItemCaseSensitive(svc, "endpoints");
	cJSON_ArrayForEach(ep, eps) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(ep, "method");
		const cJSON *pa = cJSON_GetObjectItemCaseSensitive(ep, "path");

		/* A catalog from elsewhere may hold anything: only what a plan
		 * may hold (tester_plan_check) becomes a test. */
		if (!cJSON_IsString(m) || !cJSON_IsString(pa) || !method_ok(m->valuestring) ||
		    pa->valuestring[0] != '/')
			continue;
		endpoint_tests(tests, eps, ep);
	}
	*plan = p;
	return 0;
}

int tester_plan_check(const cJSON *plan, char *err, size_t errlen)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(plan, "schema");
	const cJSON *t;
	int i = 0;

	if (!cJSON_IsString(s) || strcmp(s->valuestring, "apisonar.testplan/v1") != 0) {
		snprintf(err, errlen, "not an apisonar.testplan/v1 document");
		return -EINVAL;
	}
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(plan, "service"))) {
		snprintf(err, errlen, "the plan names no service");
		return -EINVAL;
	}
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(plan, "tests")) {
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "kind");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(t, "method");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(t, "path");
		size_t j;
		bool known = false;

		for (j = 0; cJSON_IsString(k) && j < TESTER_N_KINDS; j++)
			if (strcmp(k->valuestring, tester_kinds[j]) == 0)
				known = true;
		if (!known || !cJSON_IsString(m) || !cJSON_IsString(p) || p->valuestring[0] != '/' ||
		    !method_ok(m->valuestring) ||
		    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "id"))) {
			snprintf(err, errlen, "test %d: %s", i,
				 !known ? "unknown kind" : "needs an id, a method and a path");
			return -EINVAL;
		}
		i++;
	}
	return 0;
}
