// SPDX-License-Identifier: BSD-2-Clause
/* The catalog: merging is associative and commutative and equals adding
 * every exchange; documents are validated; caps cut deterministically;
 * literals that vary are learned as parameters; output is deterministic. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/util/util.h"
#include "anon_testlib.h"

#define NX 40

/* A small, varied traffic set: ids, names, auth, bodies, nulls, statuses. */
static struct as_exchange *mk(int i)
{
	static const char *const names[] = { "alice", "bob", "carol", "dave", "erin", "frank",
					     "grace", "heidi", "ivan", "judy", "mallory", "oscar" };
	const char *jh[] = { "Host: shop.example", "Content-Type: application/json",
			     "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", NULL };
	const char *rh[] = { "Content-Type: application/json", NULL };
	char target[128], body[256], rbody[256];
	struct as_exchange *x;

	switch (i % 4) {
	case 0:
		snprintf(target, sizeof(target), "/orders/%d?limit=%d", 1000 + i, i);
		snprintf(rbody, sizeof(rbody), "{\"id\":%d,\"note\":%s,\"items\":[{\"sku\":\"s%d\"}]}",
			 i, i % 8 ? "\"x\"" : "null", i);
		x = tx_new("GET", target, jh, NULL, 200, rh, rbody);
		break;
	case 1:
		snprintf(body, sizeof(body), "{\"qty\":%d,\"price\":%d.5}", i, i);
		x = tx_new("POST", "/orders", jh, body, i % 3 ? 201 : 400, rh, "{\"ok\":true}");
		break;
	case 2:
		snprintf(target, sizeof(target), "/users/%s", names[(i / 4) % 12]);
		x = tx_new("GET", target, jh, NULL, 200, rh, "{\"name\":\"n\"}");
		break;
	default:
		snprintf(target, sizeof(target), "/health");
		x = tx_new("GET", target, NULL, NULL, 200, NULL, "ok");
		break;
	}
	x->req_time_ns += (uint64_t)i * 1000000000ull;
	x->latency_ns = (uint64_t)(i + 1) * 100000;
	return x;
}

static char *doc_text(const struct catalog *c)
{
	cJSON *d = catalog_to_metadata(c);
	char *s = cJSON_PrintUnformatted(d);

	cJSON_Delete(d);
	return s;
}

static struct catalog *from_range(int a, int b, const struct catalog_limits *lim)
{
	struct catalog *c = catalog_new(lim);
	int i;

	for (i = a; i < b; i++) {
		struct as_exchange *x = mk(i);

		assert_int_equal(catalog_add_exchange(c, x), 0);
		as_exchange_free(x);
	}
	return c;
}

static void merge_into(struct catalog *dst, const struct catalog *src)
{
	char err[128];
	cJSON *d = catalog_to_metadata(src);

	assert_int_equal(catalog_merge_metadata(dst, d, err, sizeof(err)), 0);
	cJSON_Delete(d);
}

static void test_merge_commutes_and_equals_direct(void **state)
{
	struct catalog *all = from_range(0, NX, NULL);
	struct catalog *a = from_range(0, 17, NULL), *b = from_range(17, 29, NULL);
	struct catalog *cc = from_range(29, NX, NULL);
	struct catalog *ab = catalog_new(NULL), *ba = catalog_new(NULL), *grouped = catalog_new(NULL);
	struct catalog *bc = catalog_new(NULL);
	char *s_all, *s_ab, *s_ba, *s_gr;

	(void)state;
	merge_into(ab, a);
	merge_into(ab, b);
	merge_into(ab, cc);
	merge_into(ba, cc);
	merge_into(ba, b);
	merge_into(ba, a);
	/* (b + c) first, then a: a different grouping. */
	merge_into(bc, b);
	merge_into(bc, cc);
	merge_into(grouped, bc);
	merge_into(grouped, a);
	s_all = doc_text(all);
	s_ab = doc_text(ab);
	s_ba = doc_text(ba);
	s_gr = doc_text(grouped);
	assert_string_equal(s_ab, s_all);
	assert_string_equal(s_ba, s_all);
	assert_string_equal(s_gr, s_all);
	/* The learned template is there, and the names are not. */
	assert_non_null(strstr(s_all, "\"GET /users/{userId}\""));
	assert_null(strstr(s_all, "alice"));
	assert_null(strstr(s_all, "mallory"));
	free(s_all);
	free(s_ab);
	free(s_ba);
	free(s_gr);
	catalog_free(all);
	catalog_free(a);
	catalog_free(b);
	catalog_free(cc);
	catalog_free(ab);
	catalog_free(ba);
	catalog_free(bc);
	catalog_free(grouped);
}

static void test_merge_own_document_roundtrip(void **state)
{
	struct catalog *c = from_range(0, NX, NULL), *d = catalog_new(NULL);
	char *s1, *s2;

	(void)state;
	merge_into(d, c);
	s1 = doc_text(c);
	s2 = doc_text(d);
	assert_string_equal(s1, s2);
	free(s1);
	free(s2);
	catalog_free(c);
	catalog_free(d);
}

static void test_counts_times_latency(void **state)
{
	struct catalog *c = from_range(0, NX, NULL);
	cJSON *d = catalog_to_metadata(c);
	cJSON *ep = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(d, "services"), "shop.example"),
			"endpoints"),
		"GET /orders/{orderId}");
	cJSON *lat, *q;
	struct catalog_stats st;

	(void)state;
	assert_non_null(ep);
	assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(ep, "count")->valuedouble, 10);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(ep, "first_seen")->valuestring,
			    "2025-11-24T16:00:00.000Z");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(ep, "last_seen")->valuestring,
			    "2025-11-24T16:00:36.000Z");
	lat = cJSON_GetObjectItemCaseSensitive(ep, "latency");
	/* latencies 0.1, 0.5, ..., 3.7 ms: p50 is the 5th (1.7 ms) bucket's top */
	assert_true(cJSON_GetObjectItemCaseSensitive(lat, "p50_ms")->valuedouble >= 1.7);
	assert_true(cJSON_GetObjectItemCaseSensitive(lat, "p50_ms")->valuedouble < 1.9);
	assert_true(cJSON_GetObjectItemCaseSensitive(lat, "p99_ms")->valuedouble >= 3.7);
	assert_true(cJSON_GetObjectItemCaseSensitive(lat, "p99_ms")->valuedouble < 4.1);
	/* limit is present every time: required */
	q = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ep, "parameters"),
						 "query"),
		"limit");
	assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(q, "n")->valuedouble, 10);
	catalog_get_stats(c, &st);
	assert_int_equal(st.exchanges, NX);
	assert_int_equal(st.services, 2);
	assert_int_equal(st.endpoints, 4);
	assert_int_equal(st.limit_endpoints, 0);
	cJSON_Delete(d);
	catalog_free(c);
}

static void test_validation(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"schema\":\"apisonar.metadata/v2\",\"services\":{}}",
		"{\"schema\":\"apisonar.metadata/v1\",\"services\":{},\"extra\":1}",
		"{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{\"endpoints\":{"
		"\"GET /a\":{\"method\":\"GET\",\"path\":\"/b\",\"count\":1}}}}}",
		"{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{\"endpoints\":{"
		"\"GET /a\":{\"method\":\"GET\",\"path\":\"/a\",\"count\":-1}}}}}",
		"{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{\"endpoints\":{"
		"\"GET /a\":{\"method\":\"GET\",\"path\":\"/a\",\"first_seen\":\"SECRETVALUE\"}}}}}",
		"{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{\"endpoints\":{"
		"\"GET /a\":{\"method\":\"GET\",\"path\":\"/a\",\"parameters\":{\"query\":{\"q\":{"
		"\"types\":[\"string\"],\"example\":\"SECRETVALUE\"}}}}}}}}",
		"{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{\"endpoints\":{"
		"\"GET /a\":{\"method\":\"GET\",\"path\":\"/a\",\"parameters\":{\"query\":{\"q\":{"
		"\"types\":[\"SECRETVALUE\"]}}}}}}}}",
		"{\"schema\":\"apisonar.metadata/v1\",\"window\":{\"start\":\"yesterday\"}}",
		"{\"schema\":\"apisonar.metadata/v1\",\"sensor\":{\"id\":\"a\",\"x\":\"b\"}}",
		NULL,
	};
	const char *good = "{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"b-1\","
			   "\"sensor\":{\"id\":\"node-1\",\"version\":\"0.1.0\"},"
			   "\"window\":{\"start\":\"2026-11-24T00:00:00Z\",\"end\":\"2026-11-24T00:01:00.5+01:00\"},"
			   "\"services\":{\"s\":{\"endpoints\":{\"GET /a\":{\"method\":\"GET\","
			   "\"path\":\"/a\",\"count\":2}}}}}";
	struct catalog *c = catalog_new(NULL);
	char err[128];
	size_t i;
	char *s;

	(void)state;
	for (i = 0; bad[i]; i++) {
		cJSON *d = cJSON_Parse(bad[i]);

		assert_non_null(d);
		err[0] = '\0';
		assert_int_equal(catalog_merge_metadata(c, d, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
		assert_null(strstr(err, "SECRET"));
		cJSON_Delete(d);
	}
	/* Nothing of a refused document was merged. */
	s = doc_text(c);
	assert_string_equal(s, "{\"schema\":\"apisonar.metadata/v1\",\"services\":{}}");
	free(s);
	{
		cJSON *d = cJSON_Parse(good);

		assert_int_equal(catalog_merge_metadata(c, d, err, sizeof(err)), 0);
		cJSON_Delete(d);
	}
	s = doc_text(c);
	/* Envelope keys are not kept. */
	assert_string_equal(s, "{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{"
			       "\"endpoints\":{\"GET /a\":{\"count\":2,\"method\":\"GET\","
			       "\"path\":\"/a\"}}}}}");
	free(s);
	catalog_free(c);
}

static void test_endpoint_cap_keeps_smallest(void **state)
{
	struct catalog_limits lim = { .max_endpoints = 2 };
	struct catalog *c = catalog_new(&lim), *d = catalog_new(&lim);
	static const char *const paths[] = { "/c", "/a", "/d", "/b" };
	struct catalog_stats st;
	char *s1, *s2;
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct as_exchange *x = tx_new("GET", paths[i], NULL, NULL, 200, NULL, NULL);

		assert_int_equal(catalog_add_exchange(c, x), 0);
		as_exchange_free(x);
	}
	for (i = 3; i >= 0; i--) {
		struct as_exchange *x = tx_new("GET", paths[i], NULL, NULL, 200, NULL, NULL);

		assert_int_equal(catalog_add_exchange(d, x), 0);
		as_exchange_free(x);
	}
	catalog_get_stats(c, &st);
	assert_int_equal(st.endpoints, 2);
	assert_true(st.limit_endpoints >= 2);
	s1 = doc_text(c);
	s2 = doc_text(d);
	assert_string_equal(s1, s2);
	assert_non_null(strstr(s1, "\"GET /a\""));
	assert_non_null(strstr(s1, "\"GET /b\""));
	free(s1);
	free(s2);
	catalog_free(c);
	catalog_free(d);
}

static void test_learned_merges_into_existing_param(void **state)
{
	struct catalog *c = catalog_new(NULL);
	char target[64];
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct as_exchange *x;

		snprintf(target, sizeof(target), "/users/%d", 100 + i);
		x = tx_new("GET", target, NULL, NULL, 200, NULL, NULL);
		assert_int_equal(catalog_add_exchange(c, x), 0);
		as_exchange_free(x);
	}
	for (i = 0; i < 12; i++) {
		struct as_exchange *x;

		snprintf(target, sizeof(target), "/users/name%c%c", 'a' + i, 'k' + i);
		x = tx_new("GET", target, NULL, NULL, 200, NULL, NULL);
		assert_int_equal(catalog_add_exchange(c, x), 0);
		as_exchange_free(x);
	}
	/* Another method learns the same position under the same name. */
	for (i = 0; i < 12; i++) {
		struct as_exchange *x;

		snprintf(target, sizeof(target), "/users/other%c%c", 'a' + i, 'k' + i);
		x = tx_new("DELETE", target, NULL, NULL, 204, NULL, NULL);
		assert_int_equal(catalog_add_exchange(c, x), 0);
		as_exchange_free(x);
	}
	s = doc_text(c);
	assert_non_null(strstr(s, "\"DELETE /users/{userId}\":{\"count\":12"));
	assert_non_null(strstr(s, "\"GET /users/{userId}\":{\"count\":15"));
	assert_null(strstr(s, "nameak"));
	assert_non_null(strstr(s, "\"types\":[\"integer\",\"string\"]"));
	free(s);
	catalog_free(c);
}

/* Adds one exchange to c. */
static void add(struct catalog *c, const char *method, const char *target, const char *rbody)
{
	const char *h[] = { "Host: t.example", NULL };
	const char *rh[] = { "Content-Type: application/json", NULL };
	struct as_exchange *x = tx_new(method, target, h, NULL, 200, rh, rbody);

	assert_int_equal(catalog_add_exchange(c, x), 0);
	as_exchange_free(x);
}

/* Issue 12, class 2: sibling resources and settings names requested many
 * times stay literal, however many siblings there are. */
static void test_template_siblings_stay_literal(void **state)
{
	static const char *const res[] = { "orders", "invoices", "refunds", "customers",
					   "products", "coupons", "payouts", "disputes",
					   "webhooks", "events", "charges", "plans" };
	static const char *const set[] = { "general", "security", "billing", "members",
					   "integrations", "hooks", "notifications", "branches",
					   "labels", "milestones", "access-tokens", "badges" };
	struct catalog *c = catalog_new(NULL);
	char t[128], b[128];
	char *s;
	int i, k;

	(void)state;
	for (i = 0; i < 12; i++)
		for (k = 0; k < 3 + i % 4; k++) {
			snprintf(b, sizeof(b), "{\"%s_total\":%d}", res[i], k);
			snprintf(t, sizeof(t), "/%s", res[i]);
			add(c, "GET", t, b);
			snprintf(b, sizeof(b), "{\"%s_on\":true}", set[i]);
			snprintf(t, sizeof(t), "/projects/%d/settings/%s", 100 + k, set[i]);
			add(c, "GET", t, b);
		}
	s = doc_text(c);
	assert_non_null(strstr(s, "\"GET /orders\""));
	assert_non_null(strstr(s, "\"GET /plans\""));
	assert_non_null(strstr(s, "\"GET /projects/{projectId}/settings/general\""));
	assert_non_null(strstr(s, "\"GET /projects/{projectId}/settings/access-tokens\""));
	assert_null(strstr(s, "\"GET /{id}\""));
	assert_null(strstr(s, "settings/{"));
	free(s);
	catalog_free(c);
}

/* Issue 12, classes 1 and 4: readable values (usernames, slugs, words
 * with a number glued on) become the parameter of their position, also
 * beside a second variable position; a literal beside them that does
 * its own thing (/users/me) stays; names never come from a value. */
static void test_template_readable_values(void **state)
{
	static const char *const users[] = { "jane-doe", "orders77", "jdoe_42", "mike",
					     "alice.smith", "bob", "carol-lee", "dave9",
					     "erin", "frank-miller", "grace", "heidi_7" };
	struct catalog *c = catalog_new(NULL);
	char t[128];
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 12; i++) {
		snprintf(t, sizeof(t), "/users/%s", users[i]);
		add(c, "GET", t, "{\"login\":\"x\",\"bio\":\"y\"}");
		snprintf(t, sizeof(t), "/users/%s/repos/%s-%d", users[(i * 5) % 12],
			 i % 2 ? "river" : "maple", i);
		add(c, "GET", t, "{\"name\":\"x\",\"stars\":1}");
	}
	for (i = 0; i < 20; i++)
		add(c, "GET", "/users/me", "{\"login\":\"x\",\"plan\":\"p\",\"email\":\"e\"}");
	s = doc_text(c);
	assert_non_null(strstr(s, "\"GET /users/{userId}\""));
	assert_non_null(strstr(s, "\"GET /users/{userId}/repos/{repoId}\""));
	assert_non_null(strstr(s, "\"GET /users/me\""));
	for (i = 0; i < 12; i++) {
		if (strstr(s, users[i]))
			print_message("kept: %s in %s\n", users[i], s);
		assert_null(strstr(s, users[i]));
	}
	assert_null(strstr(s, "river-"));
	assert_null(strstr(s, "maple-"));
	free(s);
	catalog_free(c);
}

/* Issue 12, classes 1 and 3: a one-off literal beside an existing
 * parameter folds into it (/tags/{tagId} and /tags/kitten); values with a
 * suffix keep the suffix (/u/{uId}.json); a literal's extension that no
 * sibling shares is part of the value (alice.smith). */
static void test_template_one_off_and_suffix(void **state)
{
	static const char *const users[] = { "jane", "mike", "bob", "erin", "zoe", "ivan",
					     "judy", "oscar", "peggy", "trent" };
	struct catalog *c = catalog_new(NULL);
	char t[128];
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		snprintf(t, sizeof(t), "/tags/%d", 1000 + i);
		add(c, "GET", t, "{\"count\":1}");
		snprintf(t, sizeof(t), "/u/%s.json", users[i]);
		add(c, "GET", t, "{\"user\":{}}");
		snprintf(t, sizeof(t), "/posts/%d.json", i);
		add(c, "GET", t, "{\"post\":{}}");
	}
	add(c, "GET", "/tags/kitten", "{\"count\":1}");
	add(c, "GET", "/people/alice.smith", "{\"a\":1}");
	add(c, "GET", "/people/bob.jones", "{\"a\":1}");
	add(c, "GET", "/people/carol.lee", "{\"a\":1}");
	s = doc_text(c);
	assert_non_null(strstr(s, "\"GET /tags/{tagId}\":{\"count\":11"));
	assert_non_null(strstr(s, "\"GET /u/{uId}.json\""));
	assert_non_null(strstr(s, "\"GET /posts/{postId}.json\""));
	if (!strstr(s, "\"GET /people/{peopleId}\""))
		print_message("%s\n", s);
	assert_non_null(strstr(s, "\"GET /people/{peopleId}\""));
	assert_null(strstr(s, "kitten"));
	assert_null(strstr(s, "smith"));
	assert_null(strstr(s, "jane"));
	free(s);
	catalog_free(c);
}

/* Issue 12: one digit is a version when resources of their own follow it
 * (/search/2/...) and an id otherwise; one resource in several formats
 * has a format parameter, one format alone stays a literal suffix. */
static void test_template_versions_and_formats(void **state)
{
	static const char *const res[] = { "geocode", "poi", "nearby", "reverse" };
	static const char *const fmt[] = { "json", "xml", "jsonp" };
	struct catalog *c = catalog_new(NULL);
	char t[128], b[64];
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 12; i++) {
		snprintf(t, sizeof(t), "/search/2/%s/%d.%s", res[i % 4], 5000 + 37 * i, fmt[i % 3]);
		snprintf(b, sizeof(b), "{\"%s_results\":[]}", res[i % 4]);
		add(c, "GET", t, b);
		snprintf(t, sizeof(t), "/search/2/filter.%s", fmt[i % 3]);
		add(c, "GET", t, "{\"results\":[]}");
		add(c, "GET", "/feeds/latest.atom", "{\"feed\":1}");
		snprintf(t, sizeof(t), "/feeds/latest/page-%d.atom", 2 + i * 7);
		add(c, "GET", t, "{\"feed\":1}");
	}
	add(c, "GET", "/categories/7", "{\"name\":\"x\"}");
	add(c, "GET", "/categories/7/items", "{\"items\":[]}");
	s = doc_text(c);
	if (!strstr(s, "\"GET /search/2/geocode/{geocodeId}.{format}\""))
		print_message("%s\n", s);
	assert_non_null(strstr(s, "\"GET /search/2/geocode/{geocodeId}.{format}\""));
	assert_non_null(strstr(s, "\"GET /search/2/filter.{format}\""));
	assert_non_null(strstr(s, "\"GET /feeds/latest.atom\""));
	assert_non_null(strstr(s, "\"GET /feeds/latest/page-{page}.atom\""));
	assert_non_null(strstr(s, "\"GET /categories/{categoryId}\""));
	assert_non_null(strstr(s, "\"GET /categories/{categoryId}/items\""));
	assert_null(strstr(s, "/categories/7"));
	assert_null(strstr(s, "filter.json"));
	free(s);
	catalog_free(c);
}

/* Issue 12 (channel4's shape): every endpoint answers the same feed, so
 * shapes tell nothing. Numbered pages keep their word whatever the number
 * (page-{page}); a value in two roles (/categories/{c}.atom and
 * /categories/{c}/title.atom) is a parameter in both; resource names in
 * two roles at the root stay (/atoz.atom and /atoz/...), also when a
 * learned root value pattern is about (it takes values without a format
 * only). */
static void test_template_feeds_pages_two_roles(void **state)
{
	static const char *const cat[] = { "maple-river", "zebra-stone-2020", "winter50",
					   "delta-summer", "pixel-harbor", "orders-forest" };
	static const char *const brand[] = { "cedar77", "harbor-maple-stone", "stone-cedar-2021",
					     "tiger-ember", "blue-pixel-2019", "summer-quartz" };
	struct catalog *c = catalog_new(NULL);
	char t[128];
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 60; i++) {
		snprintf(t, sizeof(t), "/categories/%08x%08x", 0x9e3779b9u * (unsigned)i, 77u * (unsigned)i);
		add(c, "GET", t, "{\"feed\":1}");
		snprintf(t, sizeof(t), "/categories/%s/title/page-%d.atom", cat[i % 6],
			 i % 3 ? 100 + 97 * i : 2 + i % 5);
		add(c, "GET", t, "{\"feed\":1}");
	}
	for (i = 0; i < 6; i++) {
		snprintf(t, sizeof(t), "/categories/%s.atom", cat[i]);
		add(c, "GET", t, "{\"feed\":1}");
		snprintf(t, sizeof(t), "/%s/epg.atom", brand[i]);
		add(c, "GET", t, "{\"feed\":1}");
		snprintf(t, sizeof(t), "/CANARYa%dZk9QxTpLm/epg.atom", i);
		add(c, "GET", t, "{\"feed\":1}");
	}
	add(c, "GET", "/atoz.atom", "{\"feed\":1}");
	add(c, "GET", "/atoz.atom", "{\"feed\":1}");
	add(c, "GET", "/atoz/a.atom", "{\"feed\":1}");
	add(c, "GET", "/atoz/b/page-2.atom", "{\"feed\":1}");
	for (i = 0; i < 30; i++)
		add(c, "GET", "/categories.atom", "{\"feed\":1}");
	s = doc_text(c);
	assert_non_null(s);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "%s\n", s);
	assert_non_null(strstr(s, "\"GET /categories/{categoryId}/title/page-{page}.atom\":{\"count\":60"));
	assert_non_null(strstr(s, "\"GET /categories/{categoryId}.atom\":{\"count\":6"));
	assert_non_null(strstr(s, "\"GET /atoz.atom\""));
	assert_non_null(strstr(s, "\"GET /categories.atom\""));
	assert_non_null(strstr(s, "\"GET /{id}/epg.atom\":{\"count\":12"));
	for (i = 0; i < 6; i++) {
		assert_null(strstr(s, cat[i]));
		assert_null(strstr(s, brand[i]));
	}
	free(s);
	catalog_free(c);
}

/* Batches whose objects hold two of five keys at random, merged by one
 * catalog and by groups whose merged catalogs are merged again (replicas,
 * a tree of satellites): the same bytes at output when the groups pass on
 * what they merged (catalog_to_metadata_raw), whatever the grouping. The
 * output's decisions (maps folded, templates on thin evidence) are taken
 * once, on the whole. */
static void test_merge_groups_raw_equals_direct(void **state)
{
	static const char *const keys[] = { "alpha", "bravo", "charlie", "delta", "echo" };
	enum { NB = 36 };
	cJSON *docs[NB];
	struct catalog *direct = catalog_new(NULL);
	char err[128];
	int i, g, round;
	unsigned r = 12345;

	(void)state;
	for (i = 0; i < NB; i++) {
		struct catalog *one = catalog_new(NULL);
		char body[256];
		int k1, k2, x;

		for (x = 0; x < 1 + i % 4; x++) {
			r = r * 1103515245u + 12345u;
			k1 = (int)((r >> 16) % 5);
			r = r * 1103515245u + 12345u;
			k2 = (int)((r >> 16) % 4);
			k2 = k2 >= k1 ? k2 + 1 : k2;
			snprintf(body, sizeof(body), "{\"%s\":{\"n\":1},\"%s\":{\"n\":2}}",
				 keys[k1], keys[k2]);
			add(one, "GET", "/stats", body);
		}
		docs[i] = catalog_to_metadata(one); /* what a sensor's batch holds */
		catalog_free(one);
		assert_int_equal(catalog_merge_metadata(direct, docs[i], err, sizeof(err)), 0);
	}
	{
		char *want = doc_text(direct);

		for (round = 0; round < 20; round++) {
			struct catalog *grp[3], *top = catalog_new(NULL);
			char *got;

			for (g = 0; g < 3; g++)
				grp[g] = catalog_new(NULL);
			for (i = 0; i < NB; i++) {
				r = r * 1103515245u + 12345u;
				assert_int_equal(catalog_merge_metadata(grp[(r >> 16) % 3], docs[i], err,
									sizeof(err)),
						 0);
			}
			for (g = 0; g < 3; g++) {
				cJSON *raw = catalog_to_metadata_raw(grp[g]);

				assert_int_equal(catalog_merge_metadata(top, raw, err, sizeof(err)), 0);
				cJSON_Delete(raw);
				catalog_free(grp[g]);
			}
			got = doc_text(top);
			assert_string_equal(got, want);
			free(got);
			catalog_free(top);
		}
		free(want);
	}
	for (i = 0; i < NB; i++)
		cJSON_Delete(docs[i]);
	catalog_free(direct);
}

/* Incremental: an endpoint first kept literal re-merges under its
 * template when evidence grows, in one catalog and across merged
 * documents, counts added, the same bytes either way. */
static void test_template_revised_and_merged(void **state)
{
	static const char *const names[] = { "nova", "atlas", "bravo", "cedar", "ember",
					     "falcon", "garnet", "harbor", "maple", "pixel" };
	struct catalog *a = catalog_new(NULL), *b = catalog_new(NULL), *all = catalog_new(NULL);
	struct catalog *ab = catalog_new(NULL), *ba = catalog_new(NULL);
	char t[128];
	char *s_all, *s_ab, *s_ba, *s_a;
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		struct catalog *part = i < 2 ? a : b;

		snprintf(t, sizeof(t), "/boards/%s", names[i]);
		add(part, "GET", t, "{\"title\":\"x\"}");
		add(all, "GET", t, "{\"title\":\"x\"}");
	}
	/* a alone saw two boards: thin evidence, a parameter in its output */
	s_a = doc_text(a);
	assert_non_null(strstr(s_a, "\"GET /boards/{boardId}\""));
	assert_null(strstr(s_a, "nova"));
	merge_into(ab, a);
	merge_into(ab, b);
	merge_into(ba, b);
	merge_into(ba, a);
	s_all = doc_text(all);
	s_ab = doc_text(ab);
	s_ba = doc_text(ba);
	assert_string_equal(s_ab, s_all);
	assert_string_equal(s_ba, s_all);
	assert_non_null(strstr(s_all, "\"GET /boards/{boardId}\":{\"count\":10"));
	free(s_a);
	free(s_all);
	free(s_ab);
	free(s_ba);
	catalog_free(a);
	catalog_free(b);
	catalog_free(all);
	catalog_free(ab);
	catalog_free(ba);
}

/* Bodies: a map keyed by ids becomes additionalProperties from the
 * evidence of every object merged, not hundreds of properties named by
 * values. */
static void test_body_map_keyed_by_ids(void **state)
{
	static const char *const keys[] = { "alice", "bob", "carol", "dave", "erin", "frank",
					    "grace", "heidi", "ivan", "judy", "oscar", "peggy" };
	struct catalog *c = catalog_new(NULL);
	char b[256];
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 12; i++) {
		snprintf(b, sizeof(b), "{\"total\":1,\"members\":{\"%s\":{\"role\":\"r\"}}}", keys[i]);
		add(c, "GET", "/teams", b);
	}
	s = doc_text(c);
	assert_non_null(strstr(s, "\"total\""));
	assert_non_null(strstr(s, "\"additional\""));
	for (i = 0; i < 12; i++)
		assert_null(strstr(s, keys[i]));
	free(s);
	catalog_free(c);
}

/* Map members carry a hash of their key: a member made by other code
 * (no hash) is still found, and gets one; caps still keep the smallest. */
static void test_map_hash_index(void **state)
{
	cJSON *map = cJSON_CreateObject(), *a, *b, *c;
	int cut = 0;

	(void)state;
	a = cJSON_AddObjectToObject(map, "GET /a"); /* no hash */
	b = doc_map_get(map, "GET /b", 3, &cut);
	assert_non_null(b);
	assert_int_not_equal(b->valueint, 0);
	assert_ptr_equal(doc_map_find(map, "GET /a"), a);
	assert_int_not_equal(a->valueint, 0);
	assert_ptr_equal(doc_map_get(map, "GET /a", 3, &cut), a);
	assert_ptr_equal(doc_map_find(map, "GET /b"), b);
	assert_null(doc_map_find(map, "GET /c"));
	c = doc_map_get(map, "GET /c", 3, &cut);
	assert_non_null(c);
	assert_int_equal(cut, 0);
	/* Full: a larger key is cut, a smaller one evicts the largest. */
	assert_null(doc_map_get(map, "GET /d", 3, &cut));
	assert_int_equal(cut, 1);
	assert_non_null(doc_map_get(map, "GET /0", 3, &cut));
	assert_null(doc_map_find(map, "GET /c"));
	assert_ptr_equal(doc_map_find(map, "GET /a"), a);
	assert_int_equal(cJSON_GetArraySize(map), 3);
	cJSON_Delete(map);
}

static void test_write_dir_deterministic(void **state)
{
	struct catalog *c = from_range(0, NX, NULL);
	char dir[] = "/tmp/apisonar-test-catalog-XXXXXX";
	char path[256];
	char *a = NULL, *b = NULL;
	size_t al, bl;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(catalog_write_dir(c, dir), 0);
	snprintf(path, sizeof(path), "%s/metadata.json", dir);
	assert_int_equal(read_file_all(path, 1 << 24, &a, &al), 0);
	assert_int_equal(catalog_write_dir(c, dir), 0);
	assert_int_equal(read_file_all(path, 1 << 24, &b, &bl), 0);
	assert_int_equal(al, bl);
	assert_memory_equal(a, b, al);
	free(a);
	free(b);
	snprintf(path, sizeof(path), "%s/openapi/shop.example.json", dir);
	assert_int_equal(read_file_all(path, 1 << 24, &a, &al), 0);
	assert_non_null(strstr(a, "\"openapi\":\t\"3.1.0\""));
	assert_non_null(strstr(a, "\"bearerFormat\":\t\"JWT\""));
	free(a);
	snprintf(path, sizeof(path), "%s/openapi/10.0.0.1_8080.json", dir);
	assert_int_equal(access(path, R_OK), 0);
	catalog_free(c);
}

static void test_openapi_required_and_nullable(void **state)
{
	struct catalog *c = from_range(0, NX, NULL);
	cJSON *d = catalog_to_metadata(c);
	cJSON *svc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "services"),
						      "shop.example");
	cJSON *api = openapi_from_service("shop.example", svc);
	cJSON *schema;
	char *s;

	(void)state;
	schema = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(
					cJSON_GetObjectItemCaseSensitive(
						cJSON_GetObjectItemCaseSensitive(
							cJSON_GetObjectItemCaseSensitive(
								cJSON_GetObjectItemCaseSensitive(
									api, "paths"),
								"/orders/{orderId}"),
							"get"),
						"responses"),
					"200"),
				"content"),
			"application/json"),
		"schema");
	s = cJSON_PrintUnformatted(schema);
	assert_string_equal(s, "{\"type\":\"object\",\"properties\":{"
			       "\"id\":{\"type\":\"integer\"},"
			       "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
			       "\"properties\":{\"sku\":{\"type\":\"string\"}},\"required\":[\"sku\"]}},"
			       "\"note\":{\"type\":[\"null\",\"string\"]}},"
			       "\"required\":[\"id\",\"items\",\"note\"]}");
	free(s);
	cJSON_Delete(api);
	cJSON_Delete(d);
	catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_commutes_and_equals_direct),
		cmocka_unit_test(test_merge_own_document_roundtrip),
		cmocka_unit_test(test_counts_times_latency),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_endpoint_cap_keeps_smallest),
		cmocka_unit_test(test_learned_merges_into_existing_param),
		cmocka_unit_test(test_template_siblings_stay_literal),
		cmocka_unit_test(test_template_readable_values),
		cmocka_unit_test(test_template_one_off_and_suffix),
		cmocka_unit_test(test_template_versions_and_formats),
		cmocka_unit_test(test_template_feeds_pages_two_roles),
		cmocka_unit_test(test_merge_groups_raw_equals_direct),
		cmocka_unit_test(test_template_revised_and_merged),
		cmocka_unit_test(test_body_map_keyed_by_ids),
		cmocka_unit_test(test_map_hash_index),
		cmocka_unit_test(test_write_dir_deterministic),
		cmocka_unit_test(test_openapi_required_and_nullable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
