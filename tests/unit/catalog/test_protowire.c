// SPDX-License-Identifier: BSD-2-Clause
/*
 * Tests of the protobuf walker and the gRPC part of the anonymizer and
 * catalog: shapes without a schema (field numbers, wire types, nesting,
 * repeated fields, detector classes of strings), gRPC framing and gzip,
 * the endpoint's grpc member, literal paths that are never templated, the
 * OpenAPI mark, and no value anywhere.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka needs the headers above first */
#include <cmocka.h>

#include <zlib.h>

#include "anon_testlib.h"
#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/protowire.h"

static const struct anon_limits lim = {.max_fields = 64, .max_depth = 8};

struct buf {
	unsigned char b[4096];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	if (n)
		memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void varint(struct buf *b, uint64_t v)
{
	unsigned char c;

	do {
		c = v & 0x7f;
		v >>= 7;
		if (v)
			c |= 0x80;
		put(b, &c, 1);
	} while (v);
}

static void f_varint(struct buf *b, uint32_t num, uint64_t v)
{
	varint(b, (uint64_t)num << 3);
	varint(b, v);
}

static void f_len(struct buf *b, uint32_t num, const void *p, size_t n)
{
	varint(b, (uint64_t)num << 3 | 2);
	varint(b, n);
	put(b, p, n);
}

static void f_str(struct buf *b, uint32_t num, const char *s)
{
	f_len(b, num, s, strlen(s));
}

static void grpc_frame(struct buf *b, int compressed, const unsigned char *m, size_t n)
{
	unsigned char h[5] = {(unsigned char)compressed, (unsigned char)(n >> 24),
			      (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};

	put(b, h, 5);
	put(b, m, n);
}

/* A user message: name (a canary e-mail), id, a nested address, two tags,
 * a fixed32, a fixed64 and raw bytes. */
static void user_message(struct buf *m)
{
	struct buf addr = {.n = 0};

	f_str(m, 1, "canary.alice@example.com");
	f_varint(m, 2, 4242);
	f_str(&addr, 1, "CANARYSTREET 1");
	f_varint(&addr, 2, 75001);
	f_len(m, 3, addr.b, addr.n);
	f_str(m, 4, "vip");
	f_str(m, 4, "beta");
	varint(m, 5 << 3 | 5);
	put(m, "\x01\x02\x03\x04", 4);
	varint(m, 6 << 3 | 1);
	put(m, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	f_len(m, 7, "\xff\xfe\x00", 3); /* neither text nor a message */
}

static void test_is_message(void **state)
{
	(void)state;
	assert_true(pw_is_message((const unsigned char *)"", 0));
	assert_true(pw_is_message((const unsigned char *)"\x08\x96\x01", 3));
	assert_false(pw_is_message((const unsigned char *)"\x08\x96", 2)); /* varint cut */
	assert_false(pw_is_message((const unsigned char *)"\x00\x01", 2)); /* field 0 */
	assert_false(pw_is_message((const unsigned char *)"\x0a\x05"
							  "abc",
				   5));					       /* length beyond */
	assert_false(pw_is_message((const unsigned char *)"\x0b\x0c", 2));     /* group */
	assert_false(pw_is_message((const unsigned char *)"\x0e\x00", 2));     /* wire type 6 */
	assert_false(pw_is_message((const unsigned char *)"\x0d\x01\x02", 3)); /* fixed32 cut */
	assert_false(pw_is_message((const unsigned char *)"\x09\x01", 2));     /* fixed64 cut */
	assert_false(pw_is_message(
	    (const unsigned char *)"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11));
	assert_true(pw_is_message(
	    (const unsigned char *)"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11));
	assert_false(pw_is_message(
	    (const unsigned char *)"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12));
	/* field number 2^29 - 1 is the largest */
	assert_true(pw_is_message((const unsigned char *)"\xf8\xff\xff\xff\x0f\x00", 6));
	assert_false(pw_is_message((const unsigned char *)"\x80\x80\x80\x80\x20\x00", 6));
}

static void test_message_shape(void **state)
{
	struct anon_counters cnt = {0};
	struct buf m = {.n = 0};
	cJSON *node = cJSON_CreateObject();
	char *s;

	(void)state;
	user_message(&m);
	assert_int_equal(pw_message_infer(node, m.b, m.n, 1, &lim, &cnt), 0);
	assert_int_equal(
	    pw_message_infer(node, (const unsigned char *)"\x0a\x05", 2, 1, &lim, &cnt), -EINVAL);
	s = cJSON_PrintUnformatted(node);
	assert_null(strstr(s, "canary"));
	assert_null(strstr(s, "CANARY"));
	assert_null(strstr(s, "4242"));
	assert_null(strstr(s, "vip"));
	assert_string_equal(
	    s,
	    "{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{"
	    "\"1\":{\"n\":1,\"wire\":[\"len\"],\"types\":[\"string\"],\"formats\":[\"email\"],"
	    "\"sensitive\":[\"email\"]},"
	    "\"2\":{\"n\":1,\"wire\":[\"varint\"],\"types\":[\"integer\"]},"
	    "\"3\":{\"n\":1,\"wire\":[\"len\"],\"types\":[\"object\"],\"objects\":1,"
	    "\"properties\":{\"1\":{\"n\":1,\"wire\":[\"len\"],\"types\":[\"string\"],"
	    "\"formats\":[\"text\"]},\"2\":{\"n\":1,\"wire\":[\"varint\"],"
	    "\"types\":[\"integer\"]}}},"
	    "\"4\":{\"n\":1,\"types\":[\"array\"],\"items\":{\"n\":2,\"wire\":[\"len\"],"
	    "\"types\":[\"string\"],\"formats\":[\"text\"]}},"
	    "\"5\":{\"n\":1,\"wire\":[\"fixed32\"],\"types\":[\"number\"]},"
	    "\"6\":{\"n\":1,\"wire\":[\"fixed64\"],\"types\":[\"number\"]},"
	    "\"7\":{\"n\":1,\"wire\":[\"len\"],\"types\":[\"string\"],\"formats\":[\"binary\"]}}}");
	free(s);
	cJSON_Delete(node);
}

/* Nesting stops at the depth limit, counted. */
static void test_depth_limit(void **state)
{
	struct anon_limits l2 = {.max_fields = 64, .max_depth = 2};
	struct anon_counters cnt = {0};
	struct buf in = {.n = 0}, mid = {.n = 0}, out = {.n = 0};
	cJSON *node = cJSON_CreateObject();
	char *s;

	(void)state;
	f_varint(&in, 1, 1);
	f_len(&mid, 1, in.b, in.n);
	f_len(&out, 1, mid.b, mid.n);
	assert_int_equal(pw_message_infer(node, out.b, out.n, 1, &l2, &cnt), 0);
	s = cJSON_PrintUnformatted(node);
	assert_string_equal(s, "{\"n\":1,\"types\":[\"object\"],\"objects\":1,\"properties\":{"
			       "\"1\":{\"n\":1,\"wire\":[\"len\"],\"types\":[\"object\"],"
			       "\"objects\":1}}}");
	assert_int_equal(cnt.limit_depth, 1);
	free(s);
	cJSON_Delete(node);
}

static size_t gzip(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
	z_stream z = {0};

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)in;
	z.avail_in = (unsigned)n;
	z.next_out = out;
	z.avail_out = (unsigned)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	deflateEnd(&z);
	return cap - z.avail_out;
}

static void test_grpc_framing(void **state)
{
	struct anon_counters cnt = {0};
	struct buf m = {.n = 0}, body = {.n = 0};
	unsigned char z[1024];
	size_t zl;
	int partial;
	cJSON *node = cJSON_CreateObject();
	const cJSON *p;

	(void)state;
	user_message(&m);
	grpc_frame(&body, 0, m.b, m.n);
	zl = gzip(m.b, m.n, z, sizeof(z));
	grpc_frame(&body, 1, z, zl);
	grpc_frame(&body, 0, NULL, 0); /* an empty message */
	assert_int_equal(pw_grpc_messages(node, body.b, body.n, "gzip", &lim, &cnt, &partial), 3);
	assert_int_equal(partial, 0);
	assert_int_equal(cJSON_GetObjectItem(node, "n")->valuedouble, 3);
	p = cJSON_GetObjectItem(cJSON_GetObjectItem(node, "properties"), "1");
	assert_int_equal(cJSON_GetObjectItem(p, "n")->valuedouble, 2);
	assert_int_equal(cnt.body_undecoded, 0);
	/* cut: two complete messages, the rest partial */
	assert_int_equal(pw_grpc_messages(NULL, body.b, 5 + m.n + 3, "gzip", &lim, &cnt, &partial),
			 1);
	assert_int_equal(partial, 1);
	assert_int_equal(pw_grpc_messages(NULL, body.b, 5 + m.n + 7, "gzip", &lim, &cnt, &partial),
			 1);
	assert_int_equal(partial, 1);
	/* compressed without an encoding, a bad flag, bad gzip */
	assert_int_equal(pw_grpc_messages(NULL, body.b, body.n, NULL, &lim, &cnt, &partial),
			 -EINVAL);
	assert_int_equal(pw_grpc_messages(NULL, body.b, body.n, "identity", &lim, &cnt, &partial),
			 -EINVAL);
	assert_int_equal(pw_grpc_messages(NULL, (const unsigned char *)"\x02\x00\x00\x00\x00", 5,
					  NULL, &lim, &cnt, &partial),
			 -EINVAL);
	assert_int_equal(pw_grpc_messages(NULL, (const unsigned char *)"\x01\x00\x00\x00\x02zz", 7,
					  "gzip", &lim, &cnt, &partial),
			 -EINVAL);
	/* snappy: counted, shape unknown */
	cnt.body_undecoded = 0;
	assert_int_equal(pw_grpc_messages(node, (const unsigned char *)"\x01\x00\x00\x00\x02zz", 7,
					  "snappy", &lim, &cnt, &partial),
			 1);
	assert_int_equal(cnt.body_undecoded, 1);
	/* not protobuf inside (grpc+json): counted as a message, no shape */
	assert_int_equal(pw_grpc_messages(node, (const unsigned char *)"\x00\x00\x00\x00\x02{}", 7,
					  NULL, &lim, &cnt, &partial),
			 1);
	assert_int_equal(cnt.body_undecoded, 2);
	cJSON_Delete(node);
}

/* A gRPC exchange as HTTP/2 gives it: POST, the method path, trailers in
 * the response headers. */
static struct as_exchange *grpc_x(const char *path, int nreq, int nresp, const char *status)
{
	const char *rh[] = {"host: shop:50051", "content-type: application/grpc", "te: trailers",
			    "grpc-accept-encoding: gzip", NULL};
	char st[32];
	const char *ph[] = {"content-type: application/grpc", st,
			    "grpc-message: CANARY message text", NULL};
	struct as_exchange *x;
	struct buf m = {.n = 0}, body = {.n = 0};
	int i;

	snprintf(st, sizeof(st), "grpc-status: %s", status);
	x = tx_new("POST", path, rh, NULL, 200, ph, NULL);
	user_message(&m);
	for (i = 0; i < nreq; i++)
		grpc_frame(&body, 0, m.b, m.n);
	assert_int_equal(as_msg_append_body(&x->req, body.b, body.n, 1 << 20), 0);
	body.n = 0;
	for (i = 0; i < nresp; i++)
		grpc_frame(&body, 0, (const unsigned char *)"\x08\x01", 2);
	assert_int_equal(as_msg_append_body(&x->resp, body.b, body.n, 1 << 20), 0);
	x->req_version = x->resp_version = 20;
	return x;
}

static void test_observe_grpc(void **state)
{
	struct anon_counters cnt = {0};
	struct as_exchange *x = grpc_x("/shop.v1.Users/Get", 1, 1, "0");
	cJSON *obs = NULL, *ep, *g;
	char *s;

	(void)state;
	assert_int_equal(anon_observe(x, &lim, &cnt, &obs), 0);
	s = cJSON_PrintUnformatted(obs);
	assert_null(strstr(s, "CANARY"));
	assert_null(strstr(s, "canary"));
	assert_null(strstr(s, "grpc-status"));
	ep = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(obs, "services"), "shop:50051"),
		"endpoints"),
	    "POST /shop.v1.Users/Get");
	assert_non_null(ep);
	assert_string_equal(cJSON_GetObjectItem(ep, "path")->valuestring, "/shop.v1.Users/Get");
	g = cJSON_GetObjectItem(ep, "grpc");
	free(s);
	s = cJSON_PrintUnformatted(g);
	assert_string_equal(s, "{\"calls\":{\"unary\":1},\"request_messages\":{\"min\":1,\"max\":1,"
			       "\"sum\":1},\"response_messages\":{\"min\":1,\"max\":1,\"sum\":1},"
			       "\"status\":{\"0\":1}}");
	free(s);
	assert_non_null(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(ep, "request"), "bodies"),
		    "application/grpc"),
		"schema"),
	    "properties"));
	cJSON_Delete(obs);
	as_exchange_free(x);
}

/* 12 methods of one service and calls of every kind: the paths stay
 * literals (never {id}), counts add, the OpenAPI export marks them. */
static void test_catalog_grpc(void **state)
{
	static const char *const methods[] = {"Get",	"List",	  "Create", "Update",
					      "Delete", "Search", "Watch",  "Upload",
					      "Chat",	"Ping",	  "Export", "Import"};
	struct catalog_limits cl;
	struct catalog *c;
	cJSON *doc, *eps, *ep, *api;
	char path[64], *s;
	size_t i;

	(void)state;
	memset(&cl, 0, sizeof(cl));
	c = catalog_new(&cl);
	assert_non_null(c);
	for (i = 0; i < 12; i++) {
		struct as_exchange *x;

		snprintf(path, sizeof(path), "/shop.v1.Users/%s", methods[i]);
		x = grpc_x(path, 1, 1, "0");
		assert_int_equal(catalog_add_exchange(c, x), 0);
		as_exchange_free(x);
	}
	{
		struct as_exchange *xs[] = {grpc_x("/shop.v1.Users/Watch", 1, 5, "0"),
					    grpc_x("/shop.v1.Users/Upload", 3, 1, "0"),
					    grpc_x("/shop.v1.Users/Chat", 4, 2, "0"),
					    grpc_x("/shop.v1.Users/Get", 1, 0, "5")};

		for (i = 0; i < 4; i++) {
			assert_int_equal(catalog_add_exchange(c, xs[i]), 0);
			as_exchange_free(xs[i]);
		}
	}
	doc = catalog_to_metadata(c);
	s = cJSON_PrintUnformatted(doc);
	assert_null(strstr(s, "CANARY"));
	assert_null(strstr(s, "canary"));
	assert_null(strstr(s, "{"
			      "id}"));
	free(s);
	eps = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "services"), "shop:50051"), "endpoints");
	assert_int_equal(cJSON_GetArraySize(eps), 12);
	ep = cJSON_GetObjectItem(eps, "POST /shop.v1.Users/Get");
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(ep, "grpc"));
	assert_string_equal(s, "{\"calls\":{\"unary\":2},\"request_messages\":{\"max\":1,\"min\":1,"
			       "\"sum\":2},\"response_messages\":{\"max\":1,\"min\":0,\"sum\":1},"
			       "\"status\":{\"0\":1,\"5\":1}}");
	free(s);
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(eps, "POST /shop.v1.Users/Watch"), "grpc"),
	    "calls"));
	assert_string_equal(s, "{\"server_streaming\":1,\"unary\":1}");
	free(s);
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(eps, "POST /shop.v1.Users/Upload"), "grpc"),
	    "calls"));
	assert_string_equal(s, "{\"client_streaming\":1,\"unary\":1}");
	free(s);
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(eps, "POST /shop.v1.Users/Chat"), "grpc"),
	    "calls"));
	assert_string_equal(s, "{\"bidi_streaming\":1,\"unary\":1}");
	free(s);
	/* the document merges back into a catalog unchanged */
	{
		struct catalog *c2 = catalog_new(&cl);
		char err[256];
		cJSON *doc2;
		char *a, *b;

		assert_int_equal(catalog_merge_metadata(c2, doc, err, sizeof(err)), 0);
		doc2 = catalog_to_metadata(c2);
		a = cJSON_PrintUnformatted(doc);
		b = cJSON_PrintUnformatted(doc2);
		assert_string_equal(a, b);
		free(a);
		free(b);
		cJSON_Delete(doc2);
		catalog_free(c2);
	}
	api = openapi_from_service(
	    "shop:50051", cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "services"), "shop:50051"));
	s = cJSON_PrintUnformatted(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(api, "paths"), "/shop.v1.Users/Watch"),
		"post"),
	    "x-apisonar-grpc"));
	assert_non_null(s);
	assert_non_null(strstr(s, "\"service\":\"shop.v1.Users\""));
	assert_non_null(strstr(s, "\"method\":\"Watch\""));
	assert_non_null(strstr(s, "\"server_streaming\":1"));
	free(s);
	s = cJSON_PrintUnformatted(api);
	assert_non_null(strstr(s, "\"x-apisonar-wire\":[\"varint\"]"));
	assert_null(strstr(s, "CANARY"));
	free(s);
	cJSON_Delete(api);
	cJSON_Delete(doc);
	catalog_free(c);
}

/* Not gRPC: a path of the same shape with JSON is templated as usual, and
 * grpc-web is not taken for gRPC. */
static void test_not_grpc(void **state)
{
	struct anon_counters cnt = {0};
	const char *rh[] = {"host: h", "content-type: application/grpc-web", NULL};
	struct as_exchange *x =
	    tx_new("POST", "/a.B/C", rh, "\x00\x00\x00\x00\x00", 200, NULL, NULL);
	cJSON *obs = NULL;
	char *s;

	(void)state;
	assert_int_equal(anon_observe(x, &lim, &cnt, &obs), 0);
	s = cJSON_PrintUnformatted(obs);
	assert_null(strstr(s, "\"grpc\""));
	free(s);
	cJSON_Delete(obs);
	as_exchange_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_is_message),	 cmocka_unit_test(test_message_shape),
	    cmocka_unit_test(test_depth_limit),	 cmocka_unit_test(test_grpc_framing),
	    cmocka_unit_test(test_observe_grpc), cmocka_unit_test(test_catalog_grpc),
	    cmocka_unit_test(test_not_grpc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
