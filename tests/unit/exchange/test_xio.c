// SPDX-License-Identifier: BSD-2-Clause
/*
 * Exchange files: exact text and JSONL output, JSONL and HAR round trips,
 * binary bodies, a browser-style HAR, hostile inputs and format sniffing.
 * Also leaves HAR files in /tmp/apisonar-xio-har-*.har for
 * tests/e2e/test_xio_har_validator to check with har-validator.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* cmocka needs the headers above first. */
#include <cmocka.h>

#include "apisonar/exchange/exchange.h"
#include "apisonar/exchange/xio.h"
#include "apisonar/util/util.h"

/* 2023-11-14T22:13:21.234567Z */
#define T0 1700000001234567000ull

static const char *const secrets[] = {
    "secret-q",	       "tok-SECRET", "cookie-SECRET", "setcookie-SECRET",
    "bob@example.com", "pw-SECRET",  "/login-done",
};

static void hdr(struct as_message *m, const char *n, const char *v)
{
	assert_int_equal(as_msg_add_header(m, n, strlen(n), v, strlen(v)), 0);
}

static void body(struct as_message *m, const void *b, size_t len)
{
	assert_int_equal(as_msg_append_body(m, b, len, AS_MAX_BODY_DEFAULT), 0);
}

/* A server-side GET with a JSON answer and values worth hiding. */
static struct as_exchange *mk_get(void)
{
	struct as_exchange *x = as_exchange_new();
	static const char rb[] = "{\"email\":\"bob@example.com\"}";

	assert_non_null(x);
	x->req_time_ns = T0;
	x->resp_time_ns = T0 + 2000000;
	x->latency_ns = 1234567;
	x->pid = 812;
	snprintf(x->comm, sizeof(x->comm), "nginx");
	x->role = AS_ROLE_SERVER;
	snprintf(x->local_addr, sizeof(x->local_addr), "127.0.0.1");
	x->local_port = 8080;
	snprintf(x->remote_addr, sizeof(x->remote_addr), "127.0.0.1");
	x->remote_port = 50122;
	assert_int_equal(as_strset(&x->method, "GET", 3), 0);
	assert_int_equal(as_strset(&x->target, "/users/1?q=secret-q&page=2", 26), 0);
	x->req_version = 11;
	hdr(&x->req, "Host", "api.local:8080");
	hdr(&x->req, "Authorization", "Bearer tok-SECRET");
	hdr(&x->req, "Cookie", "sid=cookie-SECRET; theme=dark");
	x->status = 200;
	assert_int_equal(as_strset(&x->reason, "OK", 2), 0);
	x->resp_version = 11;
	hdr(&x->resp, "Content-Type", "application/json; charset=utf-8");
	hdr(&x->resp, "Set-Cookie", "s=setcookie-SECRET; Path=/");
	body(&x->resp, rb, strlen(rb));
	return x;
}

static const unsigned char bin[] = {0x00, 0xff, 0x10, 'a', 0xc3, 0x28, '\n', 0x80};

/* A client-side TLS POST with a binary, truncated body and no answer. */
static struct as_exchange *mk_post(void)
{
	struct as_exchange *x = as_exchange_new();

	assert_non_null(x);
	x->req_time_ns = T0 + 5000;
	x->pid = 99;
	snprintf(x->comm, sizeof(x->comm), "curl");
	x->role = AS_ROLE_CLIENT;
	x->tls = true;
	snprintf(x->local_addr, sizeof(x->local_addr), "::1");
	x->local_port = 40000;
	snprintf(x->remote_addr, sizeof(x->remote_addr), "::1");
	x->remote_port = 443;
	assert_int_equal(as_strset(&x->method, "POST", 4), 0);
	assert_int_equal(as_strset(&x->target, "/upload", 7), 0);
	x->req_version = 10;
	hdr(&x->req, "Content-Type", "application/octet-stream");
	hdr(&x->req, "X-Dup", "1");
	hdr(&x->req, "x-dup", "2");
	assert_int_equal(as_msg_append_body(&x->req, bin, sizeof(bin), sizeof(bin)), 0);
	assert_int_equal(as_msg_append_body(&x->req, "more", 4, sizeof(bin)), 0);
	x->flags = AS_X_NO_RESPONSE | AS_X_REQ_TRUNCATED | AS_X_MIDSTREAM;
	return x;
}

/* A server-side POST whose values include a form body and a redirect. */
static struct as_exchange *mk_login(void)
{
	struct as_exchange *x = as_exchange_new();
	static const char b[] = "user=bob%40example.com&pass=pw-SECRET";

	assert_non_null(x);
	x->req_time_ns = T0 + 7000000;
	x->resp_time_ns = T0 + 9000000;
	x->latency_ns = 25;
	x->pid = 812;
	snprintf(x->comm, sizeof(x->comm), "nginx");
	x->role = AS_ROLE_SERVER;
	snprintf(x->local_addr, sizeof(x->local_addr), "10.0.0.5");
	x->local_port = 80;
	snprintf(x->remote_addr, sizeof(x->remote_addr), "10.0.0.9");
	x->remote_port = 33000;
	assert_int_equal(as_strset(&x->method, "POST", 4), 0);
	assert_int_equal(as_strset(&x->target, "/login?next=/login-done", 23), 0);
	x->req_version = 11;
	hdr(&x->req, "Content-Type", "application/x-www-form-urlencoded");
	body(&x->req, b, strlen(b));
	x->status = 302;
	assert_int_equal(as_strset(&x->reason, "Found", 5), 0);
	x->resp_version = 11;
	hdr(&x->resp, "Location", "/login-done");
	return x;
}

/* Everything one writer produces for the given exchanges. */
static char *write_all(enum xio_format fmt, bool values, struct as_exchange **xs, size_t n)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	struct xio_writer *w;

	assert_non_null(f);
	w = xio_writer_new(f, fmt, values);
	assert_non_null(w);
	for (i = 0; i < n; i++)
		assert_int_equal(xio_write(w, xs[i]), 0);
	assert_int_equal(xio_writer_close(w), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_no_secret(const char *out)
{
	size_t i;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		if (strstr(out, secrets[i])) {
			print_error("value \"%s\" leaked into:\n%s\n", secrets[i], out);
			fail();
		}
}

static struct xio_reader *reader_on(const char *data, size_t len, enum xio_format fmt, FILE **f)
{
	struct xio_reader *r;

	*f = fmemopen((void *)data, len, "r");
	assert_non_null(*f);
	r = xio_reader_new(*f, fmt);
	assert_non_null(r);
	return r;
}

static void assert_str_eq0(const char *a, const char *b)
{
	assert_string_equal(a ? a : "", b ? b : "");
}

static void assert_msg_equal(const struct as_message *a, const struct as_message *b)
{
	size_t i;

	assert_int_equal(a->n_headers, b->n_headers);
	for (i = 0; i < a->n_headers; i++) {
		assert_string_equal(a->headers[i].name, b->headers[i].name);
		assert_string_equal(a->headers[i].value, b->headers[i].value);
	}
	assert_int_equal(a->body_len, b->body_len);
	if (a->body_len)
		assert_memory_equal(a->body, b->body, a->body_len);
	assert_int_equal(a->body_true_len, b->body_true_len);
	assert_int_equal(a->body_truncated, b->body_truncated);
}

/* Every field of two exchanges (times are written to the microsecond; the
 * fixtures are microsecond-aligned). */
static void assert_opt_str_equal(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_exchange_equal(const struct as_exchange *a, const struct as_exchange *b)
{
	assert_opt_str_equal(a->identity.ns, b->identity.ns);
	assert_opt_str_equal(a->identity.kind, b->identity.kind);
	assert_opt_str_equal(a->identity.workload, b->identity.workload);
	assert_opt_str_equal(a->identity.container, b->identity.container);
	assert_int_equal(a->req_time_ns, b->req_time_ns);
	assert_int_equal(a->resp_time_ns, b->resp_time_ns);
	assert_int_equal(a->latency_ns, b->latency_ns);
	assert_int_equal(a->pid, b->pid);
	assert_string_equal(a->comm, b->comm);
	assert_int_equal(a->role, b->role);
	assert_int_equal(a->tls, b->tls);
	assert_string_equal(a->local_addr, b->local_addr);
	assert_int_equal(a->local_port, b->local_port);
	assert_string_equal(a->remote_addr, b->remote_addr);
	assert_int_equal(a->remote_port, b->remote_port);
	assert_string_equal(a->method, b->method);
	assert_string_equal(a->target, b->target);
	assert_int_equal(a->req_version, b->req_version);
	assert_msg_equal(&a->req, &b->req);
	assert_int_equal(a->status, b->status);
	assert_str_eq0(a->reason, b->reason);
	assert_int_equal(a->resp_version, b->resp_version);
	assert_msg_equal(&a->resp, &b->resp);
	assert_int_equal(a->flags, b->flags);
}

static int setup_tz(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/* ---- helpers --------------------------------------------------------------- */

static void test_format_parse(void **state)
{
	enum xio_format f = XIO_TEXT;

	(void)state;
	assert_int_equal(xio_format_parse("har", &f), 0);
	assert_int_equal(f, XIO_HAR);
	assert_int_equal(xio_format_parse("jsonl", &f), 0);
	assert_int_equal(f, XIO_JSONL);
	assert_int_equal(xio_format_parse("text", &f), 0);
	assert_int_equal(f, XIO_TEXT);
	assert_int_equal(xio_format_parse("auto", &f), 0);
	assert_int_equal(f, XIO_AUTO);
	assert_int_equal(xio_format_parse("HAR", &f), -EINVAL);
	assert_int_equal(xio_format_parse("", &f), -EINVAL);
	assert_int_equal(xio_format_parse(NULL, &f), -EINVAL);
	assert_int_equal(f, XIO_AUTO);
	assert_string_equal(xio_format_name(XIO_JSONL), "jsonl");
	assert_null(xio_writer_new(stdout, XIO_AUTO, false));
	assert_null(xio_reader_new(stdin, XIO_TEXT));
}

static void test_helpers(void **state)
{
	unsigned char *out = NULL;
	size_t len = 0;
	char *s, buf[40];
	uint64_t ns = 0;

	(void)state;
	s = xio_base64_encode(bin, sizeof(bin));
	assert_string_equal(s, "AP8QYcMoCoA=");
	assert_int_equal(xio_base64_decode(s, strlen(s), &out, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(out, bin, sizeof(bin));
	free(out);
	free(s);
	assert_int_equal(xio_base64_decode("AP8QYcMoCoA", 11, &out, &len), 0);
	assert_int_equal(len, sizeof(bin));
	free(out);
	assert_int_equal(xio_base64_decode("AP8*", 4, &out, &len), -EINVAL);
	assert_int_equal(xio_base64_decode("A", 1, &out, &len), -EINVAL);
	assert_int_equal(xio_base64_decode("AB==", 4, &out, &len), -EINVAL); /* stray bits */

	assert_true(xio_utf8_ok((const unsigned char *)"h\xc3\xa9 \xe2\x82\xac", 7));
	assert_false(xio_utf8_ok((const unsigned char *)"\xc0\xaf", 2));     /* overlong */
	assert_false(xio_utf8_ok((const unsigned char *)"\xed\xa0\x80", 3)); /* surrogate */
	assert_false(xio_utf8_ok((const unsigned char *)"a\0b", 3));
	assert_false(xio_utf8_ok((const unsigned char *)"\xe2\x82", 2));

	s = xio_mask_target("/s?q=abc&page=2&flag&&x=");
	assert_string_equal(s, "/s?q=*&page=*&*&&x=*");
	free(s);
	s = xio_mask_target("/plain");
	assert_string_equal(s, "/plain");
	free(s);

	time_format_rfc3339(T0, 6, buf, sizeof(buf));
	assert_string_equal(buf, "2023-11-14T22:13:21.234567Z");
	assert_int_equal(time_parse_rfc3339(buf, &ns), 0);
	assert_int_equal(ns, T0);
	assert_int_equal(time_parse_rfc3339("2023-11-14T23:13:21.234567891+01:00", &ns), 0);
	assert_int_equal(ns, T0 + 891);
	assert_int_equal(time_parse_rfc3339("2023-11-14T22:13:21Z", &ns), 0);
	assert_int_equal(ns, 1700000001000000000ull);
	assert_int_equal(time_parse_rfc3339("2023-11-14 22:13:21", &ns), -EINVAL);
	assert_int_equal(time_parse_rfc3339("1969-12-31T23:59:59Z", &ns), -ERANGE);
	assert_int_equal(time_parse_rfc3339("2023-13-14T22:13:21Z", &ns), -EINVAL);

	assert_int_equal(xio_parse_version("HTTP/1.1"), 11);
	assert_int_equal(xio_parse_version("HTTP/1.0"), 10);
	assert_int_equal(xio_parse_version("h2"), 20);
	assert_int_equal(xio_parse_version("HTTP/2"), 20);
	assert_int_equal(xio_parse_version(""), 0);
	assert_int_equal(xio_parse_version("SPDY"), -1);
	assert_int_equal(xio_flag_bit("resp_gap"), AS_X_RESP_GAP);
	assert_string_equal(xio_flag_name(AS_X_UPGRADE), "upgrade");
	assert_int_equal(xio_flag_bit("nope"), 0);
}

/* ---- text -------------------------------------------------------------- */

static void test_text_lines(void **state)
{
	struct as_exchange *xs[3] = {mk_get(), mk_post(), mk_login()};
	char *out;

	(void)state;
	out = write_all(XIO_TEXT, false, xs, 3);
	assert_string_equal(
	    out, "22:13:21.234 nginx[812] server 127.0.0.1:8080 <- 127.0.0.1:50122 "
		 "GET /users/1?q=*&page=* -> 200 1.2ms 27B\n"
		 "22:13:21.234 curl[99] client [::1]:40000 -> [::1]:443 tls POST /upload -> -\n"
		 "22:13:21.241 nginx[812] server 10.0.0.5:80 <- 10.0.0.9:33000 "
		 "POST /login?next=* -> 302 0us 0B\n");
	assert_no_secret(out);
	free(out);
	as_exchange_free(xs[0]);
	as_exchange_free(xs[1]);
	as_exchange_free(xs[2]);
}

static void test_text_values(void **state)
{
	struct as_exchange *xs[2] = {mk_get(), mk_post()};
	char *out;

	(void)state;
	out = write_all(XIO_TEXT, true, xs, 2);
	assert_string_equal(
	    out, "22:13:21.234 nginx[812] server 127.0.0.1:8080 <- 127.0.0.1:50122 "
		 "GET /users/1?q=secret-q&page=2 -> 200 1.2ms 27B\n"
		 "  > GET /users/1?q=secret-q&page=2 HTTP/1.1\n"
		 "  > Host: api.local:8080\n"
		 "  > Authorization: Bearer tok-SECRET\n"
		 "  > Cookie: sid=cookie-SECRET; theme=dark\n"
		 "  < HTTP/1.1 200 OK\n"
		 "  < Content-Type: application/json; charset=utf-8\n"
		 "  < Set-Cookie: s=setcookie-SECRET; Path=/\n"
		 "  <\n"
		 "  < {\"email\":\"bob@example.com\"}\n"
		 "22:13:21.234 curl[99] client [::1]:40000 -> [::1]:443 tls POST /upload -> -\n"
		 "  > POST /upload HTTP/1.0\n"
		 "  > Content-Type: application/octet-stream\n"
		 "  > X-Dup: 1\n"
		 "  > x-dup: 2\n"
		 "  >\n"
		 "  > \\x00\\xff\\x10a\\xc3(\n"
		 "  > \\x80\n"
		 "  > [body truncated: 8 of 12 bytes shown]\n");
	free(out);
	as_exchange_free(xs[0]);
	as_exchange_free(xs[1]);
}

/* A hostile value cannot put a raw control byte on the terminal. */
static void test_text_escapes(void **state)
{
	struct as_exchange *x = mk_get();
	char *out;

	(void)state;
	assert_int_equal(as_strset(&x->target, "/a b\x1b[2J", 8), 0);
	snprintf(x->comm, sizeof(x->comm), "we\\ird\x07");
	x->latency_ns = 12345678901ull;
	x->role = AS_ROLE_UNKNOWN;
	x->local_addr[0] = '\0';
	out = write_all(XIO_TEXT, false, &x, 1);
	assert_string_equal(out,
			    "22:13:21.234 we\\\\ird\\x07[812] unknown ?:8080 -- 127.0.0.1:50122 "
			    "GET /a\\x20b\\x1b[2J -> 200 12.3s 27B\n");
	free(out);
	as_exchange_free(x);
}

/* ---- JSONL --------------------------------------------------------------- */

static void test_jsonl_lines(void **state)
{
	struct as_exchange *xs[2] = {mk_get(), mk_post()};
	char *out;

	(void)state;
	out = write_all(XIO_JSONL, false, xs, 2);
	assert_string_equal(
	    out,
	    "{\"time\":\"2023-11-14T22:13:21.234567Z\",\"pid\":812,\"comm\":\"nginx\",\"role\":"
	    "\"server\","
	    "\"tls\":false,\"local\":{\"addr\":\"127.0.0.1\",\"port\":8080},"
	    "\"remote\":{\"addr\":\"127.0.0.1\",\"port\":50122},\"latency_ms\":1.234567,\"flags\":["
	    "],"
	    "\"values\":false,\"request\":{\"method\":\"GET\",\"target\":\"/users/1?q=*&page=*\","
	    "\"version\":\"HTTP/1.1\",\"headers\":[\"Host\",\"Authorization\",\"Cookie\"],"
	    "\"body_size\":0,\"body_truncated\":false},\"response\":{"
	    "\"time\":\"2023-11-14T22:13:21.236567Z\",\"status\":200,\"reason\":\"OK\","
	    "\"version\":\"HTTP/1.1\",\"headers\":[\"Content-Type\",\"Set-Cookie\"],"
	    "\"body_size\":27,\"body_truncated\":false}}\n"
	    "{\"time\":\"2023-11-14T22:13:21.234572Z\",\"pid\":99,\"comm\":\"curl\",\"role\":"
	    "\"client\","
	    "\"tls\":true,\"local\":{\"addr\":\"::1\",\"port\":40000},"
	    "\"remote\":{\"addr\":\"::1\",\"port\":443},\"latency_ms\":0,"
	    "\"flags\":[\"no_response\",\"req_truncated\",\"midstream\"],\"values\":false,"
	    "\"request\":{\"method\":\"POST\",\"target\":\"/upload\",\"version\":\"HTTP/1.0\","
	    "\"headers\":[\"Content-Type\",\"X-Dup\",\"x-dup\"],\"body_size\":12,"
	    "\"body_truncated\":true},\"response\":null}\n");
	assert_no_secret(out);
	free(out);
	as_exchange_free(xs[0]);
	as_exchange_free(xs[1]);
}

static void test_jsonl_values(void **state)
{
	struct as_exchange *xs[2] = {mk_get(), mk_post()};
	char *out;

	(void)state;
	assert_int_equal(as_msg_add_header(&xs[1]->req, "X-Bin", 5, "\xff\xfe", 2), 0);
	out = write_all(XIO_JSONL, true, xs, 2);
	assert_string_equal(
	    out,
	    "{\"time\":\"2023-11-14T22:13:21.234567Z\",\"pid\":812,\"comm\":\"nginx\",\"role\":"
	    "\"server\","
	    "\"tls\":false,\"local\":{\"addr\":\"127.0.0.1\",\"port\":8080},"
	    "\"remote\":{\"addr\":\"127.0.0.1\",\"port\":50122},\"latency_ms\":1.234567,\"flags\":["
	    "],"
	    "\"values\":true,\"request\":{\"method\":\"GET\",\"target\":\"/users/"
	    "1?q=secret-q&page=2\","
	    "\"version\":\"HTTP/1.1\",\"headers\":[[\"Host\",\"api.local:8080\"],"
	    "[\"Authorization\",\"Bearer tok-SECRET\"],[\"Cookie\",\"sid=cookie-SECRET; "
	    "theme=dark\"]],"
	    "\"body\":\"\",\"body_encoding\":\"utf8\",\"body_size\":0,\"body_truncated\":false},"
	    "\"response\":{\"time\":\"2023-11-14T22:13:21.236567Z\",\"status\":200,\"reason\":"
	    "\"OK\","
	    "\"version\":\"HTTP/1.1\",\"headers\":[[\"Content-Type\",\"application/json; "
	    "charset=utf-8\"],"
	    "[\"Set-Cookie\",\"s=setcookie-SECRET; Path=/\"]],"
	    "\"body\":\"{\\\"email\\\":\\\"bob@example.com\\\"}\",\"body_encoding\":\"utf8\","
	    "\"body_size\":27,\"body_truncated\":false}}\n"
	    "{\"time\":\"2023-11-14T22:13:21.234572Z\",\"pid\":99,\"comm\":\"curl\",\"role\":"
	    "\"client\","
	    "\"tls\":true,\"local\":{\"addr\":\"::1\",\"port\":40000},"
	    "\"remote\":{\"addr\":\"::1\",\"port\":443},\"latency_ms\":0,"
	    "\"flags\":[\"no_response\",\"req_truncated\",\"midstream\"],\"values\":true,"
	    "\"request\":{\"method\":\"POST\",\"target\":\"/upload\",\"version\":\"HTTP/1.0\","
	    "\"headers\":[[\"Content-Type\",\"application/octet-stream\"],[\"X-Dup\",\"1\"],"
	    "[\"x-dup\",\"2\"],[\"X-Bin\",{\"base64\":\"//4=\"}]],\"body\":\"AP8QYcMoCoA=\","
	    "\"body_encoding\":\"base64\",\"body_size\":12,\"body_truncated\":true},"
	    "\"response\":null}\n");
	free(out);
	as_exchange_free(xs[0]);
	as_exchange_free(xs[1]);
}

/* Writes with values, reads back, compares every field. */
static void roundtrip(enum xio_format fmt, struct as_exchange **xs, size_t n)
{
	char *out = write_all(fmt, true, xs, n);
	struct xio_read_stats st;
	struct as_exchange *y;
	struct xio_reader *r;
	size_t i;
	FILE *f;

	r = reader_on(out, strlen(out), XIO_AUTO, &f);
	for (i = 0; i < n; i++) {
		assert_int_equal(xio_read(r, &y), 1);
		assert_exchange_equal(xs[i], y);
		as_exchange_free(y);
	}
	assert_int_equal(xio_read(r, &y), 0);
	assert_null(y);
	assert_int_equal(xio_reader_format(r), fmt);
	xio_reader_stats(r, &st);
	assert_int_equal(st.read, n);
	assert_int_equal(st.skipped_malformed + st.skipped_too_big + st.skipped_no_request, 0);
	assert_string_equal(xio_reader_error(r), "");
	xio_reader_free(r);
	fclose(f);
	free(out);
}

static void test_jsonl_roundtrip(void **state)
{
	struct as_exchange *xs[4] = {mk_get(), mk_post(), mk_login(), mk_get()};
	unsigned char all[256];
	int i;

	(void)state;
	/* Bytes JSON cannot hold as text, everywhere a string goes. */
	assert_int_equal(as_msg_add_header(&xs[1]->req, "X-Bin", 5, "\xff\xfe\x01", 3), 0);
	assert_int_equal(as_msg_add_header(&xs[1]->req, "N\xe9", 2, "\"\\\t", 3), 0);
	assert_int_equal(as_strset(&xs[1]->target, "/\xff?a=\x01", 6), 0);
	snprintf(xs[1]->comm, sizeof(xs[1]->comm), "\xfe\xedproc");
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	body(&xs[3]->resp, all, sizeof(all));
	xs[3]->resp.body_truncated = true;
	xs[3]->resp.body_true_len = 1u << 30;
	xs[3]->latency_ns = 987654321012ull;
	xs[3]->req_version = 0;
	free(xs[3]->reason);
	xs[3]->reason = NULL;
	/* The Kubernetes identity rides along (raw-forward), whole or in part. */
	assert_int_equal(as_strset(&xs[2]->identity.ns, "shop", 4), 0);
	assert_int_equal(as_strset(&xs[2]->identity.kind, "Deployment", 10), 0);
	assert_int_equal(as_strset(&xs[2]->identity.workload, "web", 3), 0);
	assert_int_equal(as_strset(&xs[2]->identity.container, "nginx", 5), 0);
	assert_int_equal(as_strset(&xs[0]->identity.ns, "default", 7), 0);
	roundtrip(XIO_JSONL, xs, 4);
	for (i = 0; i < 4; i++)
		as_exchange_free(xs[i]);
}

/* ---- HAR ----------------------------------------------------------------- */

/* Saves a HAR document where the e2e validator finds it. */
static void save_har(const char *name, const char *doc)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/apisonar-xio-har-%s.har", name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(doc, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_har_roundtrip(void **state)
{
	struct as_exchange *xs[4] = {mk_get(), mk_post(), mk_login(), mk_get()};
	unsigned char all[256];
	char *out;
	int i;

	(void)state;
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	body(&xs[3]->resp, all, sizeof(all));
	xs[3]->resp.body_true_len = 5000;
	xs[3]->resp.body_truncated = true;
	xs[3]->flags |= AS_X_RESP_TRUNCATED | AS_X_RESP_GAP;
	/* Targets a url cannot carry as they are. */
	assert_int_equal(as_strset(&xs[3]->target, "/a b/%zz/\"q\"?x=1#y", 18), 0);
	assert_int_equal(as_strset(&xs[2]->target, "http://proxy.example/x?y=1", 26), 0);
	roundtrip(XIO_HAR, xs, 4);

	out = write_all(XIO_HAR, true, xs, 4);
	save_har("values", out);
	/* The request url takes the Host header; the absolute target stays. */
	assert_non_null(strstr(out, "\"url\":\"http://api.local:8080/users/1?q=secret-q&page=2\""));
	assert_non_null(strstr(out, "\"url\":\"https://[::1]/upload\""));
	assert_non_null(
	    strstr(out, "\"url\":\"http://api.local:8080/a%20b/%25zz/%22q%22?x=1%23y\""));
	assert_non_null(strstr(out, "\"postData\":{\"mimeType\":\"application/octet-stream\","
				    "\"text\":\"AP8QYcMoCoA=\",\"encoding\":\"base64\"}"));
	assert_non_null(strstr(out, "\"cookies\":[{\"name\":\"sid\",\"value\":\"cookie-SECRET\"},"
				    "{\"name\":\"theme\",\"value\":\"dark\"}]"));
	assert_non_null(strstr(out, "\"queryString\":[{\"name\":\"q\",\"value\":\"secret-q\"},"
				    "{\"name\":\"page\",\"value\":\"2\"}]"));
	assert_non_null(strstr(out, "\"redirectURL\":\"/login-done\""));
	assert_non_null(strstr(out, "\"serverIPAddress\":\"10.0.0.5\""));
	assert_non_null(
	    strstr(out, "\"creator\":{\"name\":\"apisonar\",\"version\":\"" APISONAR_VERSION));
	free(out);

	out = write_all(XIO_HAR, false, xs, 4);
	save_har("novalues", out);
	assert_no_secret(out);
	assert_non_null(strstr(out, "\"url\":\"http://api.local:8080/users/1?q=*&page=*\""));
	assert_non_null(strstr(out, "{\"name\":\"Authorization\",\"value\":\"\"}"));
	assert_non_null(strstr(out, "\"mimeType\":\"application/json\",\"text\":\"\""));
	free(out);

	out = write_all(XIO_HAR, false, xs, 0);
	save_har("empty", out);
	assert_string_equal(out, "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"apisonar\","
				 "\"version\":\"" APISONAR_VERSION "\"},\"entries\":[\n]}}\n");
	free(out);
	for (i = 0; i < 4; i++)
		as_exchange_free(xs[i]);
}

/* A HAR cannot carry raw bytes in a header: they become U+FFFD, and the
 * document stays valid UTF-8. */
static void test_har_non_utf8_header(void **state)
{
	struct as_exchange *x = mk_get(), *y;
	struct xio_reader *r;
	char *out;
	FILE *f;

	(void)state;
	assert_int_equal(as_msg_add_header(&x->req, "X-Bin", 5,
					   "a\xff"
					   "b",
					   3),
			 0);
	out = write_all(XIO_HAR, true, &x, 1);
	save_har("nonutf8", out);
	assert_non_null(strstr(out, "{\"name\":\"X-Bin\",\"value\":\"a\xef\xbf\xbd"
				    "b\"}"));
	assert_true(xio_utf8_ok((unsigned char *)out, strlen(out)));
	r = reader_on(out, strlen(out), XIO_HAR, &f);
	assert_int_equal(xio_read(r, &y), 1);
	assert_string_equal(as_msg_header(&y->req, "X-Bin"), "a\xef\xbf\xbd"
							     "b");
	as_exchange_free(y);
	xio_reader_free(r);
	fclose(f);
	free(out);
	as_exchange_free(x);
}

/* The shape Chrome and Firefox export: pages, HTTP/2 pseudo-headers, -1
 * for what they do not know, base64 content, optional fields left out. */
static const char browser_har[] =
    "\xef\xbb\xbf{\n"
    "  \"log\": {\n"
    "    \"version\": \"1.2\",\n"
    "    \"creator\": {\"name\": \"WebInspector\", \"version\": \"537.36\"},\n"
    "    \"pages\": [{\"startedDateTime\": \"2024-03-01T10:00:00.000Z\", \"id\": \"page_1\","
    "                 \"title\": \"x\", \"pageTimings\": {}}],\n"
    "    \"entries\": [\n"
    "      {\"_initiator\": {\"type\": \"script\"}, \"pageref\": \"page_1\",\n"
    "       \"startedDateTime\": \"2024-03-01T11:00:00.250+01:00\", \"time\": 42.5,\n"
    "       \"request\": {\"method\": \"GET\",\n"
    "         \"url\": \"https://shop.example.com/api/items?id=5&sort=asc#frag\",\n"
    "         \"httpVersion\": \"h2\",\n"
    "         \"headers\": [{\"name\": \":authority\", \"value\": \"shop.example.com\"},\n"
    "                     {\"name\": \"accept\", \"value\": \"application/json\"}],\n"
    "         \"queryString\": [{\"name\": \"id\", \"value\": \"5\"}], \"cookies\": [],\n"
    "         \"headersSize\": -1, \"bodySize\": 0},\n"
    "       \"response\": {\"status\": 200, \"statusText\": \"\", \"httpVersion\": \"h2\",\n"
    "         \"headers\": [{\"name\": \"content-type\", \"value\": \"image/png\"}],\n"
    "         \"cookies\": [], \"content\": {\"size\": 4, \"mimeType\": \"image/png\",\n"
    "         \"text\": \"iVBORw==\", \"encoding\": \"base64\"}, \"redirectURL\": \"\",\n"
    "         \"headersSize\": -1, \"bodySize\": -1, \"_transferSize\": 300},\n"
    "       \"cache\": {}, \"timings\": {\"blocked\": 1.5, \"dns\": -1, \"ssl\": -1, \"connect\": "
    "-1,\n"
    "         \"send\": 0.5, \"wait\": 40.25, \"receive\": 0.25},\n"
    "       \"serverIPAddress\": \"[2606:4700::6810:85e5]\", \"connection\": \"443\"},\n"
    "      {\"startedDateTime\": \"2024-03-01T10:00:01.000Z\", \"time\": 10,\n"
    "       \"request\": {\"method\": \"POST\", \"url\": \"http://localhost:3000/login\",\n"
    "         \"httpVersion\": \"HTTP/1.1\",\n"
    "         \"headers\": [{\"name\": \"Host\", \"value\": \"localhost:3000\"},\n"
    "                     {\"name\": \"Content-Type\", \"value\": \"application/json\"}],\n"
    "         \"queryString\": [], \"cookies\": [], \"headersSize\": 120, \"bodySize\": 17,\n"
    "         \"postData\": {\"mimeType\": \"application/json\", \"text\": "
    "\"{\\\"u\\\":\\\"\xc3\xa9\\\"}\"}},\n"
    "       \"response\": {\"status\": 201, \"statusText\": \"Created\", \"httpVersion\": "
    "\"HTTP/1.1\",\n"
    "         \"headers\": [], \"cookies\": [], \"content\": {\"size\": 100, \"mimeType\": "
    "\"text/plain\"},\n"
    "         \"redirectURL\": \"\", \"headersSize\": -1, \"bodySize\": 100},\n"
    "       \"cache\": {}, \"timings\": {\"send\": 1, \"wait\": 2, \"receive\": 3}},\n"
    "      {\"startedDateTime\": \"2024-03-01T10:00:02Z\", \"time\": 0,\n"
    "       \"request\": {\"method\": \"GET\", \"url\": \"http://[::1]:8080\", \"httpVersion\": "
    "\"\",\n"
    "         \"headers\": [], \"queryString\": [], \"cookies\": [], \"headersSize\": -1, "
    "\"bodySize\": -1},\n"
    "       \"response\": {\"status\": 0, \"statusText\": \"\", \"httpVersion\": \"\", "
    "\"headers\": [],\n"
    "         \"cookies\": [], \"content\": {\"size\": 0, \"mimeType\": \"x-unknown\"},\n"
    "         \"redirectURL\": \"\", \"headersSize\": -1, \"bodySize\": -1, \"_error\": "
    "\"net::ERR_FAILED\"},\n"
    "       \"cache\": {}, \"timings\": {\"send\": 0, \"wait\": -1, \"receive\": -1}}\n"
    "    ]\n"
    "  }\n"
    "}\n";

static void test_har_browser(void **state)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G'};
	struct xio_read_stats st;
	struct as_exchange *x;
	struct xio_reader *r;
	FILE *f;

	(void)state;
	r = reader_on(browser_har, strlen(browser_har), XIO_AUTO, &f);

	assert_int_equal(xio_read(r, &x), 1);
	assert_int_equal(xio_reader_format(r), XIO_HAR);
	assert_int_equal(x->req_time_ns, 1709287200250000000ull);
	assert_int_equal(x->latency_ns, 40250000);
	assert_int_equal(x->resp_time_ns, 1709287200250000000ull + 40750000);
	assert_string_equal(x->method, "GET");
	assert_string_equal(x->target, "/api/items?id=5&sort=asc");
	assert_int_equal(x->req_version, 20);
	assert_true(x->tls);
	assert_string_equal(x->remote_addr, "2606:4700::6810:85e5");
	assert_int_equal(x->remote_port, 443);
	assert_int_equal(x->role, AS_ROLE_UNKNOWN);
	assert_int_equal(x->req.n_headers, 2); /* :authority stands for Host */
	assert_null(as_msg_header(&x->req, "Host"));
	assert_int_equal(x->status, 200);
	assert_string_equal(x->reason, "");
	assert_int_equal(x->resp.body_len, 4);
	assert_memory_equal(x->resp.body, png, 4);
	assert_int_equal(x->resp.body_true_len, 4);
	assert_false(x->resp.body_truncated);
	assert_int_equal(x->flags, 0);
	as_exchange_free(x);

	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->target, "/login");
	assert_false(x->tls);
	assert_int_equal(x->remote_port, 3000);
	assert_string_equal(x->remote_addr, "");
	assert_int_equal(x->req.body_len, 10);
	assert_memory_equal(x->req.body, "{\"u\":\"\xc3\xa9\"}", 10);
	assert_int_equal(x->req.body_true_len, 17);
	assert_true(x->req.body_truncated);
	assert_int_equal(x->status, 201);
	assert_string_equal(x->reason, "Created");
	assert_int_equal(x->resp.body_len, 0);
	assert_int_equal(x->resp.body_true_len, 100);
	assert_true(x->resp.body_truncated);
	assert_int_equal(x->flags, AS_X_REQ_TRUNCATED | AS_X_RESP_TRUNCATED);
	assert_int_equal(x->req.n_headers, 2);
	as_exchange_free(x);

	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->target, "/");
	assert_int_equal(x->req_version, 0);
	assert_int_equal(x->status, 0);
	assert_null(x->reason);
	assert_int_equal(x->flags, AS_X_NO_RESPONSE);
	assert_int_equal(x->remote_port, 8080);
	assert_string_equal(as_msg_header(&x->req, "Host"), "[::1]");
	as_exchange_free(x);

	assert_int_equal(xio_read(r, &x), 0);
	xio_reader_stats(r, &st);
	assert_int_equal(st.read, 3);
	assert_int_equal(st.skipped_malformed, 0);
	xio_reader_free(r);
	fclose(f);
}

/* ---- hostile input ------------------------------------------------------- */

static void test_jsonl_malformed(void **state)
{
	static const char in[] =
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/ok1\"}}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/secret-q\n"	       /* truncated */
	    "{\"time\":5,\"request\":{\"method\":\"GET\",\"target\":\"/\"}}\n" /* wrong type */
	    "{\"pid\":1,\"comm\":\"tok-SECRET\"}\n"			       /* no request */
	    "{\"request\":null}\n"					       /* no request */
	    "[1,2]\n"
	    "\n   \r\n"							       /* blank */
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/\"}} tok-SECRET\n" /* garbage */
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/\",\"headers\":[[\"a\"]]}}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/\",\"body\":\"abc\",\"body_size\":2}}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/\",\"body\":\"**\","
	    "\"body_encoding\":\"base64\"}}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":{\"base64\":\"AA==\"}}}\n" /* NUL */
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/\"},\"local\":{\"port\":70000}}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/\"},\"response\":{\"status\":0}}\n"
	    "{\"request\":{\"method\":\"\",\"target\":\"/\"}}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/\",\"version\":\"HTTP/x\"}}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/\"},\"latency_ms\":\"1\"}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/"
	    "\"},\"comm\":\"a-very-long-process-name\","
	    "\"flags\":[\"no_response\",\"from_the_future\"]}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/ok2\"}}";
	struct xio_read_stats st;
	struct as_exchange *x;
	struct xio_reader *r;
	FILE *f;

	(void)state;
	r = reader_on(in, sizeof(in) - 1, XIO_JSONL, &f);
	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->target, "/ok1");
	assert_int_equal(x->status, 0);
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->comm, "a-very-long-pro");
	assert_int_equal(strlen(x->comm), AS_COMM_LEN - 1);
	assert_int_equal(x->flags, AS_X_NO_RESPONSE);
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->target, "/ok2");
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 0);
	xio_reader_stats(r, &st);
	assert_int_equal(st.read, 3);
	assert_int_equal(st.skipped_no_request, 2);
	assert_int_equal(st.skipped_malformed, 13);
	assert_int_equal(st.skipped_too_big, 0);
	assert_string_equal(xio_reader_error(r), "");
	xio_reader_free(r);
	fclose(f);
}

/* Lines over the cap are skipped and counted, with the default cap and a
 * lowered one, and the reader goes on with the next line. */
/* A malformed identity skips the record, like any other bad field. */
static void test_jsonl_identity_malformed(void **state)
{
	static const char in[] =
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/a\"},\"identity\":[\"web\"]}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/b\"},\"identity\":{\"namespace\":7}}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/c\"},\"identity\":null}\n"
	    "{\"request\":{\"method\":\"GET\",\"target\":\"/d\"},"
	    "\"identity\":{\"workload\":\"api\",\"extra\":1}}\n";
	struct xio_read_stats st;
	struct as_exchange *x;
	struct xio_reader *r;
	FILE *f;

	(void)state;
	r = reader_on(in, sizeof(in) - 1, XIO_JSONL, &f);
	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->target, "/c");
	assert_null(x->identity.workload);
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->target, "/d");
	assert_string_equal(x->identity.workload, "api");
	assert_null(x->identity.ns);
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 0);
	xio_reader_stats(r, &st);
	assert_int_equal(st.skipped_malformed, 2);
	xio_reader_free(r);
	fclose(f);
}

static void test_jsonl_huge_line(void **state)
{
	static const char ok[] = "{\"request\":{\"method\":\"GET\",\"target\":\"/after\"}}\n";
	size_t big = XIO_MAX_LINE + 10, len = big + 1 + sizeof(ok) - 1, i;
	struct xio_read_stats st;
	struct as_exchange *x;
	struct xio_reader *r;
	char *in = malloc(len + 1);
	FILE *f;

	(void)state;
	assert_non_null(in);
	memset(in, 'x', big);
	in[0] = '{';
	in[big] = '\n';
	memcpy(in + big + 1, ok, sizeof(ok));
	r = reader_on(in, len, XIO_AUTO, &f);
	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->target, "/after");
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 0);
	xio_reader_stats(r, &st);
	assert_int_equal(st.skipped_too_big, 1);
	assert_int_equal(st.read, 1);
	xio_reader_free(r);
	fclose(f);

	/* Lowered cap: the record fits in 60 bytes, not in 40; and too many
	 * headers is "too big" as well. */
	i = (size_t)snprintf(
	    in, len, "%s%s{\"request\":{\"method\":\"GET\",\"target\":\"/\",\"headers\":[", ok, ok);
	for (int h = 0; h <= AS_MAX_HEADERS; h++)
		i += (size_t)snprintf(in + i, len - i, "%s\"h\"", h ? "," : "");
	i += (size_t)snprintf(in + i, len - i, "]}}\n");
	r = reader_on(in, i, XIO_JSONL, &f);
	assert_int_equal(xio_read(r, &x), 1);
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 1);
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 0);
	xio_reader_stats(r, &st);
	assert_int_equal(st.skipped_too_big, 1);
	xio_reader_free(r);
	fclose(f);

	r = reader_on(in, i, XIO_JSONL, &f);
	xio_reader_set_limits(r, 60, 0);
	assert_int_equal(xio_read(r, &x), 1);
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 1);
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 0);
	xio_reader_stats(r, &st);
	assert_int_equal(st.skipped_too_big, 1);
	xio_reader_free(r);
	fclose(f);

	r = reader_on(in, i, XIO_JSONL, &f);
	xio_reader_set_limits(r, 40, 0);
	assert_int_equal(xio_read(r, &x), 0);
	xio_reader_stats(r, &st);
	assert_int_equal(st.skipped_too_big, 3);
	xio_reader_free(r);
	fclose(f);
	free(in);
}

static void test_har_malformed(void **state)
{
	static const char trunc[] = "{\"log\":{\"entries\":[{\"request\":{\"url\":\"tok-SECRET";
	static const char noentries[] =
	    "{\"log\":{\"version\":\"1.2\",\"creator\":\"tok-SECRET\"}}";
	static const char bad_entries[] =
	    "{\"log\":{\"entries\":["
	    "5,"
	    "{\"startedDateTime\":\"2024-01-01T00:00:00Z\"},"
	    "{\"request\":{\"method\":\"GET\"}},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"tok-SECRET\"}},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":{}}},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"http://a/"
	    "\",\"headers\":[{\"value\":\"v\"}]}},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"http://a/"
	    "\"},\"response\":{\"status\":\"200\"}},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"http://a/"
	    "\"},\"startedDateTime\":\"yesterday\"},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\",\"postData\":{\"text\":\"!\","
	    "\"encoding\":\"base64\"}}},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"http://a/\"},\"_apisonar\":{\"pid\":-1}},"
	    "{\"request\":{\"method\":\"GET\",\"url\":\"http://a:99999/ok\"}}"
	    "]}}";
	struct xio_read_stats st;
	struct as_exchange *x;
	struct xio_reader *r;
	FILE *f;

	(void)state;
	r = reader_on(trunc, strlen(trunc), XIO_AUTO, &f);
	assert_int_equal(xio_read(r, &x), -EINVAL);
	assert_null(x);
	assert_string_equal(xio_reader_error(r), "HAR input is not valid JSON (error at byte 38)");
	assert_int_equal(xio_read(r, &x), -EINVAL); /* stays failed */
	xio_reader_free(r);
	fclose(f);

	r = reader_on(noentries, strlen(noentries), XIO_HAR, &f);
	assert_int_equal(xio_read(r, &x), -EINVAL);
	assert_string_equal(xio_reader_error(r), "not a HAR document: no log.entries array");
	xio_reader_free(r);
	fclose(f);

	r = reader_on(bad_entries, strlen(bad_entries), XIO_AUTO, &f);
	assert_int_equal(xio_read(r, &x), 1);
	assert_string_equal(x->target, "/ok");
	assert_int_equal(x->remote_port, 80); /* a bad port is ignored */
	as_exchange_free(x);
	assert_int_equal(xio_read(r, &x), 0);
	xio_reader_stats(r, &st);
	assert_int_equal(st.read, 1);
	assert_int_equal(st.skipped_no_request, 1);
	assert_int_equal(st.skipped_malformed, 9);
	xio_reader_free(r);
	fclose(f);

	/* A HAR document over the (lowered) cap is refused whole. */
	r = reader_on(bad_entries, strlen(bad_entries), XIO_HAR, &f);
	xio_reader_set_limits(r, 0, 100);
	assert_int_equal(xio_read(r, &x), -EFBIG);
	assert_string_equal(xio_reader_error(r), "HAR input is larger than the 100 byte limit");
	xio_reader_free(r);
	fclose(f);

	/* JSON lines given as HAR are not a HAR document. */
	r = reader_on("{\"a\":1}\n{\"b\":2}\n", 16, XIO_HAR, &f);
	assert_int_equal(xio_read(r, &x), -EINVAL);
	assert_null(strstr(xio_reader_error(r), "\"a\""));
	xio_reader_free(r);
	fclose(f);
}

static void test_auto_detect(void **state)
{
	static const char har_ws[] = "\r\n  {  \n \"log\" : {\"entries\": []}}";
	static const char jsonl[] = "  {\"request\":{\"method\":\"GET\",\"target\":\"/\"}}\n";
	static const char logkey_later[] = "{\"time\":\"x\",\"log\":1}\n";
	struct as_exchange *x;
	struct xio_reader *r;
	FILE *f;

	(void)state;
	r = reader_on(har_ws, strlen(har_ws), XIO_AUTO, &f);
	assert_int_equal(xio_read(r, &x), 0);
	assert_int_equal(xio_reader_format(r), XIO_HAR);
	xio_reader_free(r);
	fclose(f);

	r = reader_on(jsonl, strlen(jsonl), XIO_AUTO, &f);
	assert_int_equal(xio_read(r, &x), 1);
	as_exchange_free(x);
	assert_int_equal(xio_reader_format(r), XIO_JSONL);
	xio_reader_free(r);
	fclose(f);

	r = reader_on(logkey_later, strlen(logkey_later), XIO_AUTO, &f);
	assert_int_equal(xio_read(r, &x), 0);
	assert_int_equal(xio_reader_format(r), XIO_JSONL);
	xio_reader_free(r);
	fclose(f);

	/* Empty input: JSON lines, nothing in them. */
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	r = xio_reader_new(f, XIO_AUTO);
	assert_int_equal(xio_read(r, &x), 0);
	assert_int_equal(xio_reader_format(r), XIO_JSONL);
	xio_reader_free(r);
	fclose(f);
	xio_reader_free(NULL);
	assert_int_equal(xio_writer_close(NULL), 0);
}

/* A full disk is an error the caller sees, for every format: at the latest
 * when the writer is closed (writes are buffered). */
static void test_write_error(void **state)
{
	struct as_exchange *x = mk_get();
	struct xio_writer *w;
	int fmt;

	(void)state;
	for (fmt = XIO_TEXT; fmt <= XIO_HAR; fmt++) {
		FILE *f = fopen("/dev/full", "w");

		assert_non_null(f);
		w = xio_writer_new(f, (enum xio_format)fmt, true);
		assert_non_null(w);
		assert_int_equal(xio_write(w, x), 0);
		assert_int_equal(xio_writer_close(w), -EIO);
		fclose(f);
	}
	as_exchange_free(x);
}

/* HAR entries go out as they are written (once the caller flushes), not
 * at close. */
static void test_har_streams(void **state)
{
	struct as_exchange *x = mk_get();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct xio_writer *w = xio_writer_new(f, XIO_HAR, false);

	(void)state;
	assert_non_null(w);
	assert_int_equal(xio_write(w, x), 0);
	assert_int_equal(fflush(f), 0);
	assert_non_null(strstr(buf, "\"entries\":[\n{\"startedDateTime\""));
	assert_int_equal(xio_write(w, x), 0);
	assert_int_equal(fflush(f), 0);
	assert_non_null(strstr(buf, "}},\n{\"startedDateTime\""));
	assert_null(strstr(buf, "]}}"));
	assert_int_equal(xio_writer_close(w), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strcmp(buf + strlen(buf) - 5, "\n]}}\n"), 0);
	free(buf);
	as_exchange_free(x);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_helpers),
		cmocka_unit_test(test_text_lines),
		cmocka_unit_test(test_text_values),
		cmocka_unit_test(test_text_escapes),
		cmocka_unit_test(test_jsonl_lines),
		cmocka_unit_test(test_jsonl_values),
		cmocka_unit_test(test_jsonl_roundtrip),
		cmocka_unit_test(test_har_roundtrip),
		cmocka_unit_test(test_har_non_utf8_header),
		cmocka_unit_test(test_har_browser),
		cmocka_unit_test(test_jsonl_malformed),
		cmocka_unit_test(test_jsonl_identity_malformed),
		cmocka_unit_test(test_jsonl_huge_line),
		cmocka_unit_test(test_har_malformed),
		cmocka_unit_test(test_auto_detect),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_har_streams),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, setup_tz, NULL);
}
