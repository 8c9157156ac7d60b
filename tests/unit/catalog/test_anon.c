// SPDX-License-Identifier: BSD-2-Clause
/* The anonymizer: templating, schema inference, forms, encodings, auth,
 * and above all that no value reaches an observation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <zlib.h>

#include "apisonar/catalog/anon.h"
#include "anon_testlib.h"

static const struct anon_limits lim = { .max_fields = 64, .max_depth = 8 };

/* Templates path and returns the template (static buffer). */
static const char *tmpl(const char *path)
{
	static char out[1024];

	if (anon_template_path(path, strlen(path), out, sizeof(out), NULL))
		return "<error>";
	return out;
}

/* A long run of capitals before lowercase letters: the capital-prefix
 * test looks at each start once (it recursed into itself, which took
 * minutes from 60 capitals on: a hostile path could stall the sensor). */
static void test_value_shape_capital_run_linear(void **state)
{
	char s[520];

	(void)state;
	memset(s, 'A', 500);
	memcpy(s + 500, "bcdefgh", 8);
	assert_false(anon_value_shaped(s, strlen(s)) < 0);
	assert_true(anon_value_shaped("CANARYNIGOqwHlSYED", 18));
	assert_false(anon_value_shaped("HTTPSConnectionPool", 19));
}

static void test_template_words_and_ids(void **state)
{
	(void)state;
	assert_string_equal(tmpl("/api/v1/items"), "/api/v1/items");
	assert_string_equal(tmpl("/users/123"), "/users/{userId}");
	assert_string_equal(tmpl("/users/550e8400-e29b-41d4-a716-446655440000/orders/42"),
			    "/users/{userId}/orders/{orderId}");
	assert_string_equal(tmpl("/categories/73"), "/categories/{categoryId}");
	/* One digit is left to the catalog, which sees whether it is a
	 * version (/search/2/...) or an id (test_catalog.c). */
	assert_string_equal(tmpl("/categories/7"), "/categories/7");
	/* a word with capitals in a run inside it names nothing */
	assert_string_equal(tmpl("/routes/niOANiSP/4242"), "/routes/niOANiSP/{id}");
	assert_string_equal(tmpl("/ResourceTypes/4242"), "/ResourceTypes/{ResourceTypeId}");
	/* Two parameters of one template never share a name. */
	assert_string_equal(tmpl("/123/456"), "/{id}/{id2}");
	assert_string_equal(tmpl("/"), "/");
	assert_string_equal(tmpl("//a//b/"), "/a/b");
	assert_string_equal(tmpl("/files/2026-11-24"), "/files/{fileId}");
	assert_string_equal(tmpl("/objects/deadbeefcafe0123"), "/objects/{objectId}");
}

static void test_template_values_in_segments(void **state)
{
	(void)state;
	/* Emails, tokens, percent-escapes, non-UTF-8 bytes are values. */
	assert_string_equal(tmpl("/users/bob@example.com/profile"), "/users/{userId}/profile");
	assert_string_equal(
		tmpl("/sessions/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlX2hlcmU"),
		"/sessions/{sessionId}");
	assert_string_equal(tmpl("/search/hello%20world"), "/search/{searchId}");
	assert_string_equal(tmpl("/tags/caf\xc3\xa9/x"), "/tags/{tagId}/x");
	assert_string_equal(tmpl("/tags/\xff\xfe"), "/tags/{tagId}");
	/* an id glued to a prefix */
	assert_string_equal(tmpl("/users/u4111111111111111"), "/users/{userId}");
	assert_string_equal(tmpl("/orders/order-123456/lines"), "/orders/{orderId}/lines");
	assert_string_equal(tmpl("/reports/2024q1"), "/reports/2024q1");
}

/* Issue 12, classes 1, 3, 4, 5: what one segment's shape can tell. */
static void test_template_shapes_suffixes_names(void **state)
{
	(void)state;
	/* short random base62 ids with few or no digits */
	assert_string_equal(tmpl("/tags/Qm3xVbTz"), "/tags/{tagId}");
	assert_string_equal(tmpl("/tags/aZkPqLmWx"), "/tags/{tagId}");
	assert_string_equal(tmpl("/links/xkqzvbmntr"), "/links/{linkId}");
	/* prefixed ids */
	assert_string_equal(tmpl("/users/usr_8f3k"), "/users/{userId}");
	assert_string_equal(tmpl("/orders/ord-a1b2c3"), "/orders/{orderId}");
	/* words stay, camelCase and words with a digit too */
	assert_string_equal(tmpl("/pet/findByStatus"), "/pet/findByStatus");
	assert_string_equal(tmpl("/api/getUserById"), "/api/getUserById");
	assert_string_equal(tmpl("/auth/OAuth2Token"), "/auth/OAuth2Token");
	assert_string_equal(tmpl("/v2/oauth2/authorize"), "/v2/oauth2/authorize");
	assert_string_equal(tmpl("/docs/openapi.json"), "/docs/openapi.json");
	/* a value with a suffix: the suffix splits from the value */
	assert_string_equal(tmpl("/posts/123.json"), "/posts/{postId}.json");
	assert_string_equal(tmpl("/u/Qm3xVbTz.xml"), "/u/{uId}.xml");
	assert_string_equal(tmpl("/files/2026-11-24.csv"), "/files/{fileId}.csv");
	/* a whole value keeps no part of itself ("bob@example.com") */
	assert_string_equal(tmpl("/users/bob@example.com"), "/users/{userId}");
	/* credentials anywhere inside a segment, suffix or not */
	assert_string_equal(tmpl("/keys/sk_live_4eC39HqLyjWDarjtT1zdp7dc.json"),
			    "/keys/{keyId}.json");
	assert_string_equal(tmpl("/t/ghp_1234567890abcdefghijklmnopqrstuvwxyz.json"),
			    "/t/{tId}.json");
	assert_string_equal(tmpl("/k/AKIAIOSFODNN7EXAMPLE.xml"), "/k/{kId}.xml");
	/* names come from safe words only: a literal with digits before a
	 * value names nothing */
	assert_string_equal(tmpl("/jdoe_42/123"), "/jdoe_42/{id}");
	assert_string_equal(tmpl("/v1/123"), "/v1/{id}");
}

static void test_value_shapes_in_names(void **state)
{
	(void)state;
	assert_false(anon_name_ok("ghp_1234567890abcdefghijklmnopqrstuvwxyz", 40));
	assert_false(anon_name_ok("usr_8f3k", 8));
	assert_false(anon_name_ok("Qm3xVbTz", 8));
	assert_true(anon_name_ok("createdAt", 9));
	assert_true(anon_name_ok("sha256sum", 9));
	assert_true(anon_safe_word("users", 5));
	assert_true(anon_safe_word("api-keys", 8));
	assert_false(anon_safe_word("jdoe_42", 7));
	assert_false(anon_safe_word("Qm3xVbTz", 8));
	assert_int_equal(anon_suffix("42.json", 7), 2);
	assert_int_equal(anon_suffix("v1.2", 4), 4);
	assert_int_equal(anon_suffix("a@b.com", 7), 7);
	assert_int_equal(anon_suffix(".json", 5), 5);
}

static void test_template_params_named_uniquely(void **state)
{
	cJSON *p = cJSON_CreateObject();
	char out[256];
	char *s;

	(void)state;
	assert_int_equal(anon_template_path("/a/10/20", 8, out, sizeof(out), p), 0);
	assert_string_equal(out, "/a/{aId}/{id}");
	assert_int_equal(anon_template_path("/90/80", 6, out, sizeof(out), p), 0);
	/* p already holds id: the next ones get numbers. */
	assert_string_equal(out, "/{id2}/{id3}");
	s = cJSON_PrintUnformatted(p);
	assert_string_equal(s, "{\"aId\":{\"n\":1,\"types\":[\"integer\"]},"
			       "\"id\":{\"n\":1,\"types\":[\"integer\"]},"
			       "\"id2\":{\"n\":1,\"types\":[\"integer\"]},"
			       "\"id3\":{\"n\":1,\"types\":[\"integer\"]}}");
	free(s);
	cJSON_Delete(p);
}

static void test_template_errors(void **state)
{
	char out[64], big[200];
	size_t i;

	(void)state;
	assert_int_equal(anon_template_path("users", 5, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(anon_template_path("", 0, out, sizeof(out), NULL), -EINVAL);
	for (i = 0; i < 33 * 2; i += 2) {
		big[i] = '/';
		big[i + 1] = 'a';
	}
	assert_int_equal(anon_template_path(big, 66, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(anon_template_path(big, 20, out, 8, NULL), -EINVAL);
}

static void test_singular(void **state)
{
	char out[32];

	(void)state;
	anon_singular("users", 5, out, sizeof(out));
	assert_string_equal(out, "user");
	anon_singular("categories", 10, out, sizeof(out));
	assert_string_equal(out, "category");
	anon_singular("addresses", 9, out, sizeof(out));
	assert_string_equal(out, "address");
	anon_singular("status", 6, out, sizeof(out));
	assert_string_equal(out, "statu");
	anon_singular("api-keys", 8, out, sizeof(out));
	assert_string_equal(out, "api_key");
	anon_singular("v1", 2, out, sizeof(out));
	assert_string_equal(out, "v1");
	anon_singular("2fa", 3, out, sizeof(out));
	assert_string_equal(out, "");
}

/* Infers the schema of each JSON text into one node; returns it printed. */
static char *infer(const char *const *docs)
{
	cJSON *node = cJSON_CreateObject();
	struct anon_counters cnt = { 0 };
	char *s;
	size_t i;

	for (i = 0; docs[i]; i++) {
		cJSON *v = cJSON_Parse(docs[i]);

		assert_non_null(v);
		anon_schema_infer(node, v, 1, &lim, &cnt);
		cJSON_Delete(v);
	}
	s = cJSON_PrintUnformatted(node);
	cJSON_Delete(node);
	return s;
}

static void test_schema_types_nested(void **state)
{
	const char *docs[] = { "{\"id\":1,\"price\":2.5,\"ok\":true,\"user\":{\"mail\":\"a@b.co\"}}",
			       NULL };
	char *s = infer(docs);

	(void)state;
	assert_string_equal(
		s, "{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{"
		   "\"id\":{\"n\":1,\"types\":[\"integer\"]},"
		   "\"price\":{\"n\":1,\"types\":[\"number\"]},"
		   "\"ok\":{\"n\":1,\"types\":[\"boolean\"]},"
		   "\"user\":{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{"
		   "\"mail\":{\"n\":1,\"types\":[\"string\"],\"formats\":[\"email\"],"
		   "\"sensitive\":[\"email\"]}}}}}");
	free(s);
}

static void test_schema_sometimes_null_and_mixed_arrays(void **state)
{
	const char *docs[] = { "{\"a\":null,\"arr\":[1,\"x\",null,{\"k\":true}]}", "{\"a\":\"s\"}",
			       "{\"b\":1}", NULL };
	char *s = infer(docs);

	(void)state;
	/* a: present twice of three (not required), null or string; arr items
	 * merge all element shapes. */
	assert_string_equal(
		s, "{\"n\":3,\"types\":[\"object\"],\"objects\":3,\"properties\":{"
		   "\"a\":{\"n\":2,\"types\":[\"null\",\"string\"],\"formats\":[\"text\"]},"
		   "\"arr\":{\"n\":1,\"types\":[\"array\"],\"items\":{\"n\":4,"
		   "\"types\":[\"integer\",\"null\",\"object\",\"string\"],\"formats\":[\"text\"],"
		   "\"objects\":1,\"properties\":{\"k\":{\"n\":1,\"types\":[\"boolean\"]}}}},"
		   "\"b\":{\"n\":1,\"types\":[\"integer\"]}}}");
	free(s);
}

static void test_schema_dynamic_keys(void **state)
{
	const char *docs[] = { "{\"users\":{\"550e8400-e29b-41d4-a716-446655440000\":{\"age\":3},"
			       "\"6ba7b810-9dad-11d1-80b4-00c04fd430c8\":{\"age\":4}}}",
			       NULL };
	char *s = infer(docs);

	(void)state;
	assert_null(strstr(s, "550e8400"));
	assert_string_equal(
		s, "{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{\"users\":{"
		   "\"n\":1,\"types\":[\"object\"],\"objects\":1,\"additional\":{\"n\":2,"
		   "\"types\":[\"object\"],\"objects\":2,\"properties\":{\"age\":{\"n\":2,"
		   "\"types\":[\"integer\"]}}}}}}");
	free(s);
}

static void test_name_rules(void **state)
{
	(void)state;
	assert_true(anon_name_ok("firstName", 9));
	assert_true(anon_name_ok("@type", 5));
	assert_true(anon_name_ok("x-api-version", 13));
	assert_false(anon_name_ok("Jane Doe", 8));
	assert_false(anon_name_ok("jane@doe.example", 16));
	assert_false(anon_name_ok("550e8400-e29b-41d4-a716-446655440000", 36));
	assert_false(anon_name_ok("b\xff", 2));
	assert_false(anon_name_ok("a\x01", 2));
	assert_false(anon_name_ok("", 0));
}

static void test_schema_many_keys_of_one_shape(void **state)
{
	char doc[4096];
	const char *docs[] = { doc, NULL };
	size_t o;
	int i;
	char *s;

	(void)state;
	/* 30 word-like keys, each holding a record: a map, not 30 fields. */
	o = (size_t)snprintf(doc, sizeof(doc), "{\"byUser\":{");
	for (i = 0; i < 30; i++)
		o += (size_t)snprintf(doc + o, sizeof(doc) - o, "%s\"user%c%c\":{\"age\":%d}",
				      i ? "," : "", 'a' + i % 26, 'a' + i / 26, i);
	snprintf(doc + o, sizeof(doc) - o, "}}");
	s = infer(docs);
	assert_string_equal(
		s, "{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{\"byUser\":{"
		   "\"n\":1,\"types\":[\"object\"],\"objects\":1,\"additional\":{\"n\":30,"
		   "\"types\":[\"object\"],\"objects\":30,\"properties\":{\"age\":{\"n\":30,"
		   "\"types\":[\"integer\"]}}}}}}");
	free(s);
}

static void test_schema_depth_and_field_caps(void **state)
{
	struct anon_limits small = { .max_fields = 2, .max_depth = 2 };
	struct anon_counters cnt = { 0 };
	cJSON *node = cJSON_CreateObject();
	cJSON *v = cJSON_Parse("{\"c\":1,\"a\":{\"deep\":{\"x\":1}},\"b\":2}");
	char *s;

	(void)state;
	anon_schema_infer(node, v, 1, &small, &cnt);
	s = cJSON_PrintUnformatted(node);
	/* Keeps the two smallest names (a, b), and a's children stop at depth 2. */
	assert_string_equal(s, "{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{"
			       "\"a\":{\"n\":1,\"types\":[\"object\"],\"objects\":1},"
			       "\"b\":{\"n\":1,\"types\":[\"integer\"]}}}");
	assert_int_equal(cnt.limit_fields, 1);
	assert_int_equal(cnt.limit_depth, 1);
	free(s);
	cJSON_Delete(v);
	cJSON_Delete(node);
}

static void test_form(void **state)
{
	struct anon_counters cnt = { 0 };
	cJSON *node = cJSON_CreateObject();
	const char *body = "qty=3&mail=bob%40example.com&flag&password=hunter2&%ZZ=1";
	char *s;

	(void)state;
	anon_form_infer(node, body, strlen(body), &lim, &cnt);
	s = cJSON_PrintUnformatted(node);
	assert_null(strstr(s, "hunter2"));
	assert_null(strstr(s, "example"));
	assert_string_equal(s, "{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{"
			       "\"qty\":{\"n\":1,\"types\":[\"integer\"]},"
			       "\"mail\":{\"n\":1,\"types\":[\"string\"],\"formats\":[\"email\"],"
			       "\"sensitive\":[\"email\"]},"
			       "\"flag\":{\"n\":1,\"types\":[\"string\"],\"formats\":[\"text\"]},"
			       "\"password\":{\"n\":1,\"types\":[\"string\"],\"formats\":[\"text\"],"
			       "\"sensitive\":[\"password\"]},"
			       "\"%ZZ\":{\"n\":1,\"types\":[\"integer\"]}}}");
	free(s);
	cJSON_Delete(node);
}

static void test_multipart(void **state)
{
	struct anon_counters cnt = { 0 };
	cJSON *node = cJSON_CreateObject();
	const char *body = "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n"
			   "secret title\r\n"
			   "--XyZ\r\nContent-Disposition: form-data; name=\"count\"\r\n\r\n12\r\n"
			   "--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; "
			   "filename=\"alice-passport.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
			   "%PDF-1.4 binary\r\n--XyZ--\r\n";
	char *s;

	(void)state;
	assert_int_equal(anon_multipart_infer(node, "multipart/form-data; boundary=XyZ",
					      (const unsigned char *)body, strlen(body), &lim, &cnt),
			 0);
	s = cJSON_PrintUnformatted(node);
	assert_null(strstr(s, "alice"));
	assert_null(strstr(s, "secret"));
	assert_string_equal(s, "{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{"
			       "\"title\":{\"n\":1,\"types\":[\"string\"],\"formats\":[\"text\"]},"
			       "\"count\":{\"n\":1,\"types\":[\"integer\"]},"
			       "\"doc\":{\"n\":1,\"types\":[\"string\"],\"formats\":[\"binary\"]}}}");
	free(s);
	assert_int_equal(anon_multipart_infer(node, "multipart/form-data", (const unsigned char *)"x",
					      1, &lim, &cnt),
			 -EINVAL);
	assert_int_equal(anon_multipart_infer(node, "text/plain; boundary=a",
					      (const unsigned char *)"x", 1, &lim, &cnt),
			 -EINVAL);
	cJSON_Delete(node);
}

/* gzip-compresses src with zlib. */
static unsigned char *gz(const void *src, size_t len, size_t *out_len)
{
	z_stream z = { 0 };
	size_t cap = compressBound(len) + 64;
	unsigned char *out = malloc(cap);

	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)src;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

static void test_inflate_and_bomb(void **state)
{
	const char *text = "{\"a\":1}";
	unsigned char *g, *out = NULL, *zeros;
	size_t gl, ol;

	(void)state;
	g = gz(text, strlen(text), &gl);
	assert_int_equal(anon_inflate(g, gl, 1024, &out, &ol), 0);
	assert_int_equal(ol, strlen(text));
	assert_memory_equal(out, text, ol);
	free(out);
	free(g);
	/* 64 MiB of zeros compress to ~64 KiB: stopped at the cap. */
	zeros = calloc(1, 64u << 20);
	g = gz(zeros, 64u << 20, &gl);
	free(zeros);
	assert_true(gl < (1u << 20));
	out = NULL;
	assert_int_equal(anon_inflate(g, gl, ANON_MAX_INFLATE, &out, &ol), -E2BIG);
	assert_null(out);
	free(g);
	assert_int_equal(anon_inflate((const unsigned char *)"garbage!", 8, 1024, &out, &ol),
			 -EINVAL);
}

/* Observes one exchange and returns the observation printed. */
static char *observe(struct as_exchange *x)
{
	struct anon_counters cnt = { 0 };
	cJSON *obs = NULL;
	char *s;

	assert_int_equal(anon_observe(x, &lim, &cnt, &obs), 0);
	s = cJSON_PrintUnformatted(obs);
	cJSON_Delete(obs);
	as_exchange_free(x);
	return s;
}

static void test_observe_auth_and_params(void **state)
{
	const char *rh[] = { "Host: API.Example.com", "Authorization: Basic YWxpY2U6czNjcjN0",
			     "X-API-Key: k_live_CANARY123", "X-Request-Id: 42",
			     "Cookie: sid=CANARYSID; lang=en", NULL };
	char *s = observe(tx_new("get", "/v1/orders?page=2&token=CANARYTOK", rh, NULL, 204, NULL,
				 NULL));
	char *k;

	(void)state;
	assert_null(strstr(s, "CANARY"));
	assert_null(strstr(s, "YWxp"));
	assert_string_equal(
		s, "{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"api.example.com\":{"
		   "\"processes\":[\"api\"],\"endpoints\":{\"GET /v1/orders\":{\"method\":\"GET\","
		   "\"path\":\"/v1/orders\",\"count\":1,\"first_seen\":\"2025-11-24T16:00:00.000Z\","
		   "\"last_seen\":\"2025-11-24T16:00:00.000Z\",\"parameters\":{"
		   "\"query\":{\"page\":{\"n\":1,\"types\":[\"integer\"]},"
		   "\"token\":{\"n\":1,\"types\":[\"string\"],\"formats\":[\"text\"],"
		   "\"sensitive\":[\"token\"]}},"
		   "\"header\":{\"x-request-id\":{\"n\":1,\"types\":[\"integer\"]}},"
		   "\"cookie\":{\"lang\":{\"n\":1,\"types\":[\"string\"],\"formats\":[\"text\"]}}},"
		   "\"auth\":{\"basic\":1,\"apikey_header:x-api-key\":1,"
		   "\"cookie:sid\":1},"
		   "\"request\":{\"size\":{\"min\":0,\"max\":0,\"sum\":0}},"
		   "\"responses\":{\"204\":{\"count\":1,\"size\":{\"min\":0,\"max\":0,\"sum\":0}}},"
		   "\"latency\":{\"count\":1,\"buckets\":[[88,1]]}}}}}}");
	/* A query parameter named like a key ("token") stays a parameter
	 * (name only); it is also an API key scheme when its value looks
	 * like a credential. */
	k = observe(tx_new("GET", "/v1/orders?token=q8Zk3LmP0xVb7TnWr2Yd", rh, NULL, 204, NULL,
			   NULL));
	assert_null(strstr(k, "q8Zk3"));
	assert_non_null(strstr(k, "\"query\":{\"token\":{"));
	assert_non_null(strstr(k, "\"apikey_query:token\":1"));
	free(k);
	free(s);
}

static void test_observe_bearer_kinds(void **state)
{
	const char *jwt[] = { "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
			      NULL };
	const char *opaque[] = { "Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543", NULL };
	const char *digest[] = { "Authorization: Digest username=\"x\"", NULL };
	char *s;

	(void)state;
	s = observe(tx_new("GET", "/a", jwt, NULL, 0, NULL, NULL));
	assert_non_null(strstr(s, "\"auth\":{\"bearer_jwt\":1}"));
	assert_null(strstr(s, "eyJ"));
	free(s);
	s = observe(tx_new("GET", "/a", opaque, NULL, 0, NULL, NULL));
	assert_non_null(strstr(s, "\"auth\":{\"bearer\":1}"));
	assert_null(strstr(s, "8f14e4"));
	free(s);
	s = observe(tx_new("GET", "/a", digest, NULL, 0, NULL, NULL));
	assert_non_null(strstr(s, "\"auth\":{\"http_digest\":1}"));
	free(s);
}

static void test_observe_service_fallback_and_bad(void **state)
{
	const char *bad_host[] = { "Host: evil host/../x", NULL };
	struct as_exchange *x;
	struct anon_counters cnt = { 0 };
	cJSON *obs = NULL;
	char *s;

	(void)state;
	s = observe(tx_new("GET", "/a", bad_host, NULL, 0, NULL, NULL));
	assert_non_null(strstr(s, "\"services\":{\"10.0.0.1:8080\""));
	assert_null(strstr(s, "evil"));
	free(s);
	{
		const char *card_host[] = { "Host: u4111111111111111.example.com", NULL };
		const char *ip_host[] = { "Host: 192.168.1.5:8080", NULL };

		s = observe(tx_new("GET", "/a", card_host, NULL, 0, NULL, NULL));
		assert_non_null(strstr(s, "\"services\":{\"10.0.0.1:8080\""));
		free(s);
		s = observe(tx_new("GET", "/a", ip_host, NULL, 0, NULL, NULL));
		assert_non_null(strstr(s, "\"services\":{\"192.168.1.5:8080\""));
		free(s);
	}
	/* absolute-form target */
	s = observe(tx_new("GET", "http://h.example/x/15?q=1", NULL, NULL, 0, NULL, NULL));
	assert_non_null(strstr(s, "\"GET /x/{xId}\""));
	assert_null(strstr(s, "h.example"));
	free(s);
	x = tx_new("G ET", "/a", NULL, NULL, 0, NULL, NULL);
	assert_int_equal(anon_observe(x, &lim, &cnt, &obs), -EINVAL);
	as_exchange_free(x);
	x = tx_new("GET", "*", NULL, NULL, 0, NULL, NULL);
	assert_int_equal(anon_observe(x, &lim, &cnt, &obs), -EINVAL);
	as_exchange_free(x);
	assert_null(obs);
}

static void test_observe_bodies(void **state)
{
	const char *json_wrong_ct[] = { "Content-Type: text/plain; charset=utf-8", NULL };
	const char *form[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	const char *resp[] = { "Content-Type: application/json", "Set-Cookie: sid=CANARY; Path=/",
			       "Location: /orders/CANARYLOC", NULL };
	char *s;

	(void)state;
	/* JSON sent as text/plain: still inferred, recorded under text/plain. */
	s = observe(tx_new("POST", "/notes", json_wrong_ct, "{\"body\":\"CANARY note\"}", 201, resp,
			   "{\"id\":\"CANARY\"}"));
	assert_null(strstr(s, "CANARY"));
	assert_non_null(strstr(s, "\"bodies\":{\"text/plain\":{\"count\":1,\"size\":{\"min\":22,"
				  "\"max\":22,\"sum\":22},\"schema\":{\"n\":1,\"types\":[\"object\"]"));
	assert_non_null(strstr(s, "\"cookies\":{\"sid\""));
	assert_non_null(strstr(s, "\"headers\":{\"location\""));
	free(s);
	s = observe(tx_new("POST", "/login", form, "user=CANARY&password=CANARYPW", 302, NULL, NULL));
	assert_null(strstr(s, "CANARY"));
	assert_non_null(strstr(s, "\"password\":{\"n\":1,\"types\":[\"string\"],\"formats\":"
				  "[\"text\"],\"sensitive\":[\"password\"]}"));
	free(s);
}

static void test_observe_gzip_body(void **state)
{
	const char *rh[] = { "Content-Type: application/json", "Content-Encoding: gzip", NULL };
	const char *text = "{\"total\":7}";
	struct as_exchange *x = tx_new("GET", "/stats", NULL, NULL, 200, rh, NULL);
	unsigned char *g;
	size_t gl;
	char *s;

	(void)state;
	g = gz(text, strlen(text), &gl);
	assert_int_equal(as_msg_append_body(&x->resp, g, gl, 1 << 20), 0);
	free(g);
	s = observe(x);
	assert_non_null(strstr(s, "\"properties\":{\"total\":{\"n\":1,\"types\":[\"integer\"]}}"));
	free(s);
}

static void test_observe_non_utf8_json_key(void **state)
{
	const char *ct[] = { "Content-Type: application/json", NULL };
	char *s = observe(tx_new("POST", "/k", ct, "{\"ok\":1,\"b\xff\xfe\":2}", 0, NULL, NULL));

	(void)state;
	assert_null(strstr(s, "\xff"));
	assert_non_null(strstr(s, "\"additional\":{\"n\":1,\"types\":[\"integer\"]}"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_words_and_ids),
		cmocka_unit_test(test_value_shape_capital_run_linear),
		cmocka_unit_test(test_template_values_in_segments),
		cmocka_unit_test(test_template_params_named_uniquely),
		cmocka_unit_test(test_template_shapes_suffixes_names),
		cmocka_unit_test(test_value_shapes_in_names),
		cmocka_unit_test(test_template_errors),
		cmocka_unit_test(test_singular),
		cmocka_unit_test(test_schema_types_nested),
		cmocka_unit_test(test_schema_sometimes_null_and_mixed_arrays),
		cmocka_unit_test(test_schema_dynamic_keys),
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test(test_schema_many_keys_of_one_shape),
		cmocka_unit_test(test_schema_depth_and_field_caps),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_multipart),
		cmocka_unit_test(test_inflate_and_bomb),
		cmocka_unit_test(test_observe_auth_and_params),
		cmocka_unit_test(test_observe_bearer_kinds),
		cmocka_unit_test(test_observe_service_fallback_and_bad),
		cmocka_unit_test(test_observe_bodies),
		cmocka_unit_test(test_observe_gzip_body),
		cmocka_unit_test(test_observe_non_utf8_json_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
