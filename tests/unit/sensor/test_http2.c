// SPDX-License-Identifier: BSD-2-Clause
/*
 * Tests of the HTTP/2 parser. Scripts are built frame by frame (header
 * blocks encoded by libnghttp2's HPACK deflater, one per direction, so the
 * dynamic table is used across requests); every script runs with each feed
 * whole, one byte at a time, and cut in two at every point of every feed,
 * and all runs must give the same exchanges and counters.
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

#include <nghttp2/nghttp2.h>

#include "apisonar/sensor/events.h"
#include "apisonar/sensor/proto/http2.h"

#define SPLIT_STATS struct http2_stats
#define SPLIT_MAX_OUT 64
#include "h2_script.h"

/* ---- running ------------------------------------------------------------ */

struct cfg {
	struct http2_opts o;
	int client_dir;
	bool midstream;
};

static void *h2_open(const void *cfg, struct http2_stats *st, split_cb cb, void *ctx)
{
	const struct cfg *cf = cfg;
	struct http2_conn *c = http2_conn_new(&cf->o, st, cf->client_dir, cb, ctx);

	if (c && cf->midstream)
		http2_conn_set_midstream(c);
	return c;
}

static int h2_feed(void *c, int dir, const void *p, size_t n, uint64_t ts)
{
	return http2_conn_feed(c, dir, p, n, ts);
}

static void h2_gap(void *c, int dir, uint64_t missing, uint64_t ts)
{
	http2_conn_gap(c, dir, missing, ts);
}

static void h2_close(void *c, uint64_t ts)
{
	http2_conn_close(c, ts);
}

static void h2_free(void *c)
{
	http2_conn_free(c);
}

static const struct split_parser h2_parser = {h2_open, h2_feed, h2_gap, h2_close, h2_free};

/* Whole, byte by byte, and every two-part cut of every feed must agree. */
static struct out *run_cfg(const struct cfg *cf, const struct script *sc)
{
	return run_split(&h2_parser, cf, sc->s, sc->n, 0);
}

static struct out *run(const struct script *sc)
{
	struct cfg cf = {.client_dir = -1};

	return run_cfg(&cf, sc);
}

static const char *hdr(const struct as_message *m, const char *name)
{
	return as_msg_header(m, name);
}

static void assert_body(const struct as_message *m, const char *want)
{
	assert_int_equal(m->body_len, strlen(want));
	assert_memory_equal(m->body, want, strlen(want));
}

static void assert_stopped(const struct out *o, enum http2_drop why)
{
	int i;

	assert_int_equal(o->st.conns_stopped, 1);
	assert_int_equal(o->last_rc, -EPROTO);
	for (i = 0; i < HTTP2_DROP_NR; i++)
		if (i != (int)why && i != HTTP2_DROP_ABANDONED && i != HTTP2_DROP_UNKNOWN_STREAM)
			assert_int_equal(o->st.drops[i], 0);
	assert_int_equal(o->st.drops[why], 1);
}

/* ---- the frame types ---------------------------------------------------- */

static void test_get(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	preface(sc);
	tick(sc, 10);
	get(sc, 1, "/users/7?x=1");
	tick(sc, 500);
	ok(sc, 1, "hello");
	tick(sc, 10);
	sc_op(sc, CLOSE, 0, 0);
	o = run(sc);
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->method, "GET");
	assert_string_equal(o->x[0]->target, "/users/7?x=1");
	assert_string_equal(hdr(&o->x[0]->req, "host"), "api.test");
	assert_string_equal(hdr(&o->x[0]->req, "user-agent"), "t/1");
	assert_null(hdr(&o->x[0]->req, ":scheme"));
	assert_int_equal(o->x[0]->req.n_headers, 2);
	assert_int_equal(o->x[0]->status, 200);
	assert_string_equal(hdr(&o->x[0]->resp, "content-type"), "text/plain");
	assert_body(&o->x[0]->resp, "hello");
	assert_int_equal(o->x[0]->req_version, 20);
	assert_int_equal(o->x[0]->resp_version, 20);
	assert_int_equal(o->x[0]->role, AS_ROLE_SERVER);
	assert_int_equal(o->x[0]->flags, 0);
	assert_int_equal(o->x[0]->req_time_ns, 1010);
	assert_int_equal(o->x[0]->resp_time_ns, 1510);
	assert_int_equal(o->x[0]->latency_ns, 500);
	assert_int_equal(o->st.conns, 1);
	assert_int_equal(o->st.streams, 1);
	assert_int_equal(o->st.exchanges, 1);
	assert_int_equal(o->st.frames[HTTP2_FT_SETTINGS], 3);
	assert_int_equal(o->st.frames[HTTP2_FT_HEADERS], 2);
	assert_int_equal(o->st.frames[HTTP2_FT_DATA], 1);
	assert_int_equal(o->st.conns_stopped, 0);
	out_free(o);
	sc_free(sc);
}

/* The client side: the observed process writes the requests. */
static void test_client_role(void **state)
{
	struct script *sc = sc_new();
	struct cfg cf = {.client_dir = EG};
	struct out *o;

	/* swap: CLI is IN in the helpers; write the client's bytes as EG */
	put(sc, EG, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	frame(sc, EG, T_SETTINGS, 0, 0, NULL, 0);
	headers(sc, EG, 1, ES, ":method", "DELETE", ":path", "/x", ":authority", "h", NULL);
	headers(sc, IN, 1, ES, ":status", "204", NULL);
	o = run_cfg(&cf, sc);
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->role, AS_ROLE_CLIENT);
	assert_int_equal(o->x[0]->status, 204);
	assert_int_equal(o->x[0]->resp.body_len, 0);
	out_free(o);
	/* the same bytes with the role unknown: the preface tells */
	cf.client_dir = -1;
	o = run_cfg(&cf, sc);
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->role, AS_ROLE_CLIENT);
	out_free(o);
	sc_free(sc);
}

static void test_post_padding_trailers(void **state)
{
	struct script *sc = sc_new();
	unsigned char b[256];
	struct out *o;
	size_t n;

	preface(sc);
	/* HEADERS with padding and the priority flag */
	b[0] = 3;
	memcpy(b + 1, "\x80\x00\x00\x03\x10", 5);
	n = enc(sc, CLI, b + 6, sizeof(b) - 10, ":method", "POST", ":path", "/orders", ":authority",
		"api.test", "content-type", "application/json", NULL);
	memset(b + 6 + n, 0, 3);
	frame(sc, CLI, T_HEADERS, EH | PAD | PRIO, 1, b, 6 + n + 3);
	/* DATA padded, then plain, then an empty one with END_STREAM */
	b[0] = 4;
	memcpy(b + 1, "{\"a\":", 5);
	memset(b + 6, 0, 4);
	frame(sc, CLI, T_DATA, PAD, 1, b, 10);
	data(sc, CLI, 1, 0, "1}");
	frame(sc, CLI, T_DATA, ES, 1, NULL, 0);
	headers(sc, SRV, 1, 0, ":status", "201", NULL);
	data(sc, SRV, 1, 0, "done");
	headers(sc, SRV, 1, ES, "x-checksum", "abc", NULL);
	o = run(sc);
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->method, "POST");
	assert_body(&o->x[0]->req, "{\"a\":1}");
	assert_int_equal(o->x[0]->req.body_true_len, 7);
	assert_string_equal(hdr(&o->x[0]->req, "content-type"), "application/json");
	assert_int_equal(o->x[0]->status, 201);
	assert_body(&o->x[0]->resp, "done");
	assert_string_equal(hdr(&o->x[0]->resp, "x-checksum"), "abc");
	assert_int_equal(o->st.frames[HTTP2_FT_DATA], 4);
	out_free(o);
	sc_free(sc);
}

static void test_continuation(void **state)
{
	struct script *sc = sc_new();
	unsigned char b[512];
	struct out *o;
	size_t n;

	preface(sc);
	n = enc(sc, CLI, b, sizeof(b), ":method", "GET", ":path", "/long", ":authority", "a.test",
		"x-one", "11111111111111111111", "x-two", "22222222222222222222", NULL);
	frame(sc, CLI, T_HEADERS, ES, 1, b, 10);
	frame(sc, CLI, T_CONT, 0, 1, b + 10, 10);
	frame(sc, CLI, T_CONT, EH, 1, b + 20, n - 20);
	ok(sc, 1, "x");
	o = run(sc);
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/long");
	assert_string_equal(hdr(&o->x[0]->req, "x-two"), "22222222222222222222");
	assert_int_equal(o->st.frames[HTTP2_FT_CONTINUATION], 2);
	out_free(o);
	sc_free(sc);
}

/* PRIORITY, PING, WINDOW_UPDATE, GOAWAY, SETTINGS ACK and an unknown type
 * are counted and change nothing. */
static void test_control_frames(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	preface(sc);
	frame(sc, SRV, T_SETTINGS, 1, 0, NULL, 0);
	frame(sc, CLI, T_PRIORITY, 0, 3, "\x00\x00\x00\x01\x20", 5);
	frame(sc, CLI, T_PING, 0, 0, "12345678", 8);
	frame(sc, SRV, T_PING, 1, 0, "12345678", 8);
	frame(sc, CLI, T_WU, 0, 0, "\x00\x01\x00\x00", 4);
	frame(sc, CLI, 0x0a, 0, 0, "altsvc", 6); /* ALTSVC: unknown here */
	frame(sc, CLI, 0xfe, 0, 5, NULL, 0);
	get(sc, 1, "/a");
	frame(sc, SRV, T_WU, 0, 1, "\x00\x00\x10\x00", 4);
	ok(sc, 1, "A");
	frame(sc, SRV, T_GOAWAY, 0, 0,
	      "\x00\x00\x00\x01\x00\x00\x00\x00"
	      "debug",
	      13);
	o = run(sc);
	assert_int_equal(o->n, 1);
	assert_body(&o->x[0]->resp, "A");
	assert_int_equal(o->st.frames[HTTP2_FT_PRIORITY], 1);
	assert_int_equal(o->st.frames[HTTP2_FT_PING], 2);
	assert_int_equal(o->st.frames[HTTP2_FT_WINDOW_UPDATE], 2);
	assert_int_equal(o->st.frames[HTTP2_FT_GOAWAY], 1);
	assert_int_equal(o->st.frames[HTTP2_FT_OTHER], 2);
	assert_int_equal(o->st.frames[HTTP2_FT_SETTINGS], 4);
	assert_int_equal(o->st.conns_stopped, 0);
	out_free(o);
	sc_free(sc);
}

/* Three streams at once, answered in reverse order, over 2 connections'
 * worth of dynamic table reuse. */
static void test_concurrent_streams(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	preface(sc);
	get(sc, 1, "/s/1");
	get(sc, 3, "/s/3");
	get(sc, 5, "/s/5");
	headers(sc, SRV, 5, 0, ":status", "200", NULL);
	headers(sc, SRV, 3, 0, ":status", "404", NULL);
	data(sc, SRV, 5, 0, "five-");
	headers(sc, SRV, 1, 0, ":status", "200", NULL);
	data(sc, SRV, 3, ES, "three");
	data(sc, SRV, 1, ES, "one");
	data(sc, SRV, 5, ES, "done");
	o = run(sc);
	assert_int_equal(o->n, 3);
	assert_string_equal(o->x[0]->target, "/s/3");
	assert_int_equal(o->x[0]->status, 404);
	assert_body(&o->x[0]->resp, "three");
	assert_string_equal(o->x[1]->target, "/s/1");
	assert_body(&o->x[1]->resp, "one");
	assert_string_equal(o->x[2]->target, "/s/5");
	assert_body(&o->x[2]->resp, "five-done");
	assert_string_equal(hdr(&o->x[2]->req, "host"), "api.test");
	assert_int_equal(o->st.streams, 3);
	out_free(o);
	sc_free(sc);
}

static void test_rst_stream_mid_body(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	preface(sc);
	get(sc, 1, "/big");
	headers(sc, SRV, 1, 0, ":status", "200", NULL);
	data(sc, SRV, 1, 0, "part");
	frame(sc, CLI, T_RST, 0, 1, "\x00\x00\x00\x08", 4);
	data(sc, SRV, 1, 0, "late"); /* in flight: ignored */
	get(sc, 3, "/next");
	ok(sc, 3, "n");
	get(sc, 5, "/never");
	frame(sc, SRV, T_RST, 0, 5, "\x00\x00\x00\x07", 4);
	frame(sc, SRV, T_RST, 0, 99, "\x00\x00\x00\x07", 4); /* unknown: nothing */
	o = run(sc);
	assert_int_equal(o->n, 3);
	assert_string_equal(o->x[0]->target, "/big");
	assert_int_equal(o->x[0]->status, 200);
	assert_body(&o->x[0]->resp, "part");
	assert_int_equal(o->x[0]->flags, AS_X_RESET);
	assert_string_equal(o->x[1]->target, "/next");
	assert_int_equal(o->x[1]->flags, 0);
	assert_string_equal(o->x[2]->target, "/never");
	assert_int_equal(o->x[2]->flags, AS_X_RESET | AS_X_NO_RESPONSE);
	assert_int_equal(o->st.resets, 2);
	assert_int_equal(o->st.frames[HTTP2_FT_RST_STREAM], 3);
	assert_int_equal(o->st.drops[HTTP2_DROP_UNKNOWN_STREAM], 1); /* the late DATA */
	out_free(o);
	sc_free(sc);
}

static void test_push_promise(void **state)
{
	struct script *sc = sc_new();
	unsigned char b[256];
	struct out *o;
	size_t n;

	preface(sc);
	get(sc, 1, "/index.html");
	memcpy(b, "\x00\x00\x00\x02", 4);
	n = enc(sc, SRV, b + 4, sizeof(b) - 4, ":method", "GET", ":path", "/style.css",
		":authority", "api.test", ":scheme", "http", NULL);
	frame(sc, SRV, T_PUSH, EH, 1, b, 4 + n);
	ok(sc, 1, "<html>");
	headers(sc, SRV, 2, 0, ":status", "200", "content-type", "text/css", NULL);
	data(sc, SRV, 2, ES, "body{}");
	o = run(sc);
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/index.html");
	assert_string_equal(o->x[1]->target, "/style.css");
	assert_string_equal(hdr(&o->x[1]->resp, "content-type"), "text/css");
	assert_body(&o->x[1]->resp, "body{}");
	assert_int_equal(o->st.frames[HTTP2_FT_PUSH_PROMISE], 1);
	assert_int_equal(o->st.streams, 2);
	out_free(o);
	sc_free(sc);
}

static void test_informational(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	preface(sc);
	headers(sc, CLI, 1, 0, ":method", "PUT", ":path", "/f", ":authority", "a", "expect",
		"100-continue", NULL);
	headers(sc, SRV, 1, 0, ":status", "100", "x-info", "1", NULL);
	data(sc, CLI, 1, ES, "file");
	headers(sc, SRV, 1, ES, ":status", "200", "x-final", "1", NULL);
	o = run(sc);
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->status, 200);
	assert_null(hdr(&o->x[0]->resp, "x-info"));
	assert_string_equal(hdr(&o->x[0]->resp, "x-final"), "1");
	assert_body(&o->x[0]->req, "file");
	out_free(o);
	sc_free(sc);
}

/* A server whose SETTINGS raise the table limit: the client's encoder may
 * then use the bigger table. */
static void test_settings_table_size(void **state)
{
	struct script *sc = sc_new();
	struct out *o;
	char big[3000];
	int i;

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	put(sc, CLI, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	frame(sc, CLI, T_SETTINGS, 0, 0, NULL, 0);
	frame(sc, SRV, T_SETTINGS, 0, 0, "\x00\x01\x00\x00\x40\x00", 6); /* 16 KiB */
	assert_int_equal(nghttp2_hd_deflate_change_table_size(sc->def[CLI], 16384), 0);
	for (i = 0; i < 4; i++) {
		headers(sc, CLI, 1 + 2 * i, ES, ":method", "GET", ":path", "/t", ":authority", "a",
			"x-big", big, NULL);
		headers(sc, SRV, 1 + 2 * i, ES, ":status", "200", NULL);
	}
	o = run(sc);
	assert_int_equal(o->n, 4);
	assert_string_equal(hdr(&o->x[3]->req, "x-big"), big);
	assert_int_equal(o->st.conns_stopped, 0);
	out_free(o);
	sc_free(sc);
}

/* ---- limits ------------------------------------------------------------- */

static void test_limits(void **state)
{
	struct script *sc = sc_new();
	struct cfg cf = {.client_dir = -1};
	struct out *o;

	cf.o.max_streams = 2;
	cf.o.max_body = 4;
	cf.o.max_header_list = 300;
	preface(sc);
	get(sc, 1, "/a");
	get(sc, 3, "/b");
	get(sc, 5, "/c"); /* third at once: not tracked */
	ok(sc, 1, "123456789");
	ok(sc, 3, "ok");
	ok(sc, 5, "lost");
	headers(sc, CLI, 7, ES, ":method", "GET", ":path", "/d", "x-pad",
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789012345678901234567890123456789",
		NULL);
	get(sc, 9, "/e");
	headers(sc, SRV, 9, ES, ":status", "200", "x-big",
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789012345678901234567890123456789"
		"0123456789012345678901234567890123456789012345678901234567890123456789",
		NULL);
	o = run_cfg(&cf, sc);
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/a");
	assert_int_equal(o->x[0]->resp.body_len, 4);
	assert_int_equal(o->x[0]->resp.body_true_len, 9);
	assert_true(o->x[0]->resp.body_truncated);
	assert_int_equal(o->x[0]->flags, AS_X_RESP_TRUNCATED);
	assert_string_equal(o->x[1]->target, "/b");
	assert_int_equal(o->st.drops[HTTP2_DROP_STREAMS], 1);
	assert_int_equal(o->st.drops[HTTP2_DROP_HEADER_LIST], 2); /* /d's request, /e's response */
	assert_int_equal(o->st.drops[HTTP2_DROP_BODY], 1);
	/* /c's response and DATA: a stream never tracked */
	assert_int_equal(o->st.drops[HTTP2_DROP_UNKNOWN_STREAM], 2);
	assert_int_equal(o->st.conns_stopped, 0);
	out_free(o);
	sc_free(sc);
}

/* ---- ends and mid-stream joins ------------------------------------------ */

static void test_close_open_streams(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	preface(sc);
	get(sc, 1, "/unanswered");
	get(sc, 3, "/half");
	headers(sc, SRV, 3, 0, ":status", "200", NULL);
	data(sc, SRV, 3, 0, "ha");
	headers(sc, CLI, 5, 0, ":method", "POST", ":path", "/upload", NULL);
	data(sc, CLI, 5, 0, "chunk");
	sc_op(sc, CLOSE, 0, 0);
	o = run(sc);
	assert_int_equal(o->n, 3);
	assert_string_equal(o->x[0]->target, "/unanswered");
	assert_int_equal(o->x[0]->flags, AS_X_NO_RESPONSE);
	assert_int_equal(o->x[0]->status, 0);
	assert_string_equal(o->x[1]->target, "/half");
	assert_int_equal(o->x[1]->flags, AS_X_RESP_GAP);
	assert_body(&o->x[1]->resp, "ha");
	assert_string_equal(o->x[2]->target, "/upload");
	assert_int_equal(o->x[2]->flags, AS_X_REQ_GAP | AS_X_NO_RESPONSE);
	assert_int_equal(o->st.no_response, 2);
	assert_int_equal(o->last_rc, 0);
	out_free(o);
	sc_free(sc);
}

/* Joined mid-stream: no preface; literal fields decode, a reference to the
 * unknown dynamic table stops the parsing, never guessed. */
static void test_midstream(void **state)
{
	struct script *sc = sc_new();
	struct cfg cf = {.client_dir = -1, .midstream = true};
	unsigned char warm[256];
	struct out *o;

	/* fill the client's table before the capture starts */
	(void)enc(sc, CLI, warm, sizeof(warm), ":method", "GET", ":path", "/seen-before",
		  ":authority", "api.test", "user-agent", "t/1", NULL);
	frame(sc, SRV, T_SETTINGS, 0, 0, NULL, 0);
	headers(sc, CLI, 41, ES, ":method", "GET", ":path", "/fresh", NULL); /* static only */
	headers(sc, SRV, 41, ES, ":status", "200", NULL);
	data(sc, SRV, 39, ES, "older stream"); /* opened before we came */
	get(sc, 43, "/seen-before");	       /* indexed from the unknown table */
	ok(sc, 43, "never");
	o = run_cfg(&cf, sc);
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/fresh");
	assert_int_equal(o->x[0]->flags, AS_X_MIDSTREAM);
	assert_int_equal(o->x[0]->role, AS_ROLE_SERVER);
	assert_stopped(o, HTTP2_DROP_HPACK);
	assert_int_equal(o->st.drops[HTTP2_DROP_UNKNOWN_STREAM], 1);
	assert_int_equal(o->st.drops[HTTP2_DROP_ABANDONED], 1);
	out_free(o);
	sc_free(sc);
}

static void test_gap(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	preface(sc);
	get(sc, 1, "/a");
	ok(sc, 1, "x");
	get(sc, 3, "/b");
	sc_op(sc, GAP, SRV, 100);
	ok(sc, 3, "y");
	o = run(sc);
	assert_int_equal(o->n, 1);
	assert_stopped(o, HTTP2_DROP_GAP);
	assert_int_equal(o->st.drops[HTTP2_DROP_ABANDONED], 1);
	out_free(o);
	sc_free(sc);
}

/* ---- bad frames: each stops the conn, counted, after what was complete -- */

typedef void (*badfn)(struct script *sc);

static void bad_data_stream0(struct script *sc)
{
	frame(sc, CLI, T_DATA, 0, 0, "x", 1);
}
static void bad_headers_stream0(struct script *sc)
{
	frame(sc, CLI, T_HEADERS, EH, 0, "\x82", 1);
}
static void bad_settings_len(struct script *sc)
{
	frame(sc, SRV, T_SETTINGS, 0, 0, "12345", 5);
}
static void bad_settings_stream(struct script *sc)
{
	frame(sc, SRV, T_SETTINGS, 0, 1, NULL, 0);
}
static void bad_settings_ack(struct script *sc)
{
	frame(sc, SRV, T_SETTINGS, 1, 0, "123456", 6);
}
static void bad_ping_len(struct script *sc)
{
	frame(sc, CLI, T_PING, 0, 0, "1234567", 7);
}
static void bad_ping_stream(struct script *sc)
{
	frame(sc, CLI, T_PING, 0, 1, "12345678", 8);
}
static void bad_rst_len(struct script *sc)
{
	frame(sc, CLI, T_RST, 0, 1, "123", 3);
}
static void bad_rst_stream0(struct script *sc)
{
	frame(sc, CLI, T_RST, 0, 0, "1234", 4);
}
static void bad_wu_len(struct script *sc)
{
	frame(sc, CLI, T_WU, 0, 0, "123", 3);
}
static void bad_prio_len(struct script *sc)
{
	frame(sc, CLI, T_PRIORITY, 0, 3, "1234", 4);
}
static void bad_prio_stream0(struct script *sc)
{
	frame(sc, CLI, T_PRIORITY, 0, 0, "12345", 5);
}
static void bad_goaway_len(struct script *sc)
{
	frame(sc, SRV, T_GOAWAY, 0, 0, "1234", 4);
}
static void bad_goaway_stream(struct script *sc)
{
	frame(sc, SRV, T_GOAWAY, 0, 1, "12345678", 8);
}
static void bad_cont_alone(struct script *sc)
{
	frame(sc, CLI, T_CONT, EH, 3, "\x82", 1);
}
static void bad_push_from_client(struct script *sc)
{
	frame(sc, CLI, T_PUSH, EH, 1, "\x00\x00\x00\x02\x82", 5);
}
static void bad_push_odd(struct script *sc)
{
	frame(sc, SRV, T_PUSH, EH, 1, "\x00\x00\x00\x03\x82", 5);
}
static void bad_push_short(struct script *sc)
{
	frame(sc, SRV, T_PUSH, EH, 1, "\x00\x00\x02", 3);
}
static void bad_push_stream0(struct script *sc)
{
	frame(sc, SRV, T_PUSH, EH, 0, "\x00\x00\x00\x02", 4);
}
static void bad_data_pad(struct script *sc)
{
	frame(sc, CLI, T_DATA, PAD, 3, "\x05zz", 3);
}
static void bad_data_pad_empty(struct script *sc)
{
	frame(sc, CLI, T_DATA, PAD, 3, NULL, 0);
}
static void bad_headers_pad(struct script *sc)
{
	frame(sc, CLI, T_HEADERS, EH | PAD, 3, "\x09\x82", 2);
}
static void bad_headers_pad_empty(struct script *sc)
{
	frame(sc, CLI, T_HEADERS, EH | PAD, 3, NULL, 0);
}
static void bad_headers_prio(struct script *sc)
{
	frame(sc, CLI, T_HEADERS, EH | PRIO, 3, "\x00\x00", 2);
}
static void bad_push_pad(struct script *sc)
{
	frame(sc, SRV, T_PUSH, EH | PAD, 1, "\x09\x00\x00\x00\x02", 5);
}
static void bad_push_pad_empty(struct script *sc)
{
	frame(sc, SRV, T_PUSH, EH | PAD, 1, NULL, 0);
}

static void bad_interleaved(struct script *sc)
{
	unsigned char b[64];
	size_t n = enc(sc, CLI, b, sizeof(b), ":method", "GET", ":path", "/i", NULL);

	frame(sc, CLI, T_HEADERS, ES, 3, b, n); /* no END_HEADERS */
	frame(sc, CLI, T_PING, 0, 0, "12345678", 8);
}

static void bad_cont_other_stream(struct script *sc)
{
	unsigned char b[64];
	size_t n = enc(sc, CLI, b, sizeof(b), ":method", "GET", ":path", "/i", NULL);

	frame(sc, CLI, T_HEADERS, ES, 3, b, 2);
	frame(sc, CLI, T_CONT, EH, 5, b + 2, n - 2);
}

static void bad_preface(struct script *sc)
{
	(void)sc;
}

static void run_bad(badfn fn, enum http2_drop why, bool bad_start)
{
	struct script *sc = sc_new();
	struct out *o;

	if (bad_start) {
		put(sc, CLI, "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", 24);
	} else {
		preface(sc);
		get(sc, 1, "/done");
		ok(sc, 1, "done");
		fn(sc);
	}
	get(sc, 7, "/after");
	ok(sc, 7, "never");
	o = run(sc);
	assert_int_equal(o->n, bad_start ? 0 : 1);
	assert_stopped(o, why);
	out_free(o);
	sc_free(sc);
}

static void test_bad_frames(void **state)
{
	static const badfn fns[] = {
	    bad_data_stream0,	bad_headers_stream0, bad_settings_len,	    bad_settings_stream,
	    bad_settings_ack,	bad_ping_len,	     bad_ping_stream,	    bad_rst_len,
	    bad_rst_stream0,	bad_wu_len,	     bad_prio_len,	    bad_prio_stream0,
	    bad_goaway_len,	bad_goaway_stream,   bad_cont_alone,	    bad_push_from_client,
	    bad_push_odd,	bad_push_short,	     bad_push_stream0,	    bad_data_pad,
	    bad_data_pad_empty, bad_headers_pad,     bad_headers_pad_empty, bad_headers_prio,
	    bad_push_pad,	bad_push_pad_empty,  bad_interleaved,	    bad_cont_other_stream,
	};
	size_t i;

	for (i = 0; i < sizeof(fns) / sizeof(*fns); i++)
		run_bad(fns[i], HTTP2_DROP_BAD_FRAME, false);
	run_bad(bad_preface, HTTP2_DROP_BAD_FRAME, true);
}

/* The client's direction known from accept() must start with the preface. */
static void test_no_preface(void **state)
{
	struct script *sc = sc_new();
	struct cfg cf = {.client_dir = CLI};
	struct out *o;

	frame(sc, CLI, T_SETTINGS, 0, 0, NULL, 0);
	o = run_cfg(&cf, sc);
	assert_int_equal(o->n, 0);
	assert_stopped(o, HTTP2_DROP_BAD_FRAME);
	out_free(o);
	sc_free(sc);
}

static void test_hpack_garbage(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	preface(sc);
	get(sc, 1, "/ok");
	frame(sc, CLI, T_HEADERS, EH | ES, 3, "\xff\xff\xff\xff\xff\xff\xff", 7);
	o = run(sc);
	assert_int_equal(o->n, 0);
	assert_stopped(o, HTTP2_DROP_HPACK);
	/* /ok, unanswered, and stream 3, opened before its block failed */
	assert_int_equal(o->st.drops[HTTP2_DROP_ABANDONED], 2);
	out_free(o);
	sc_free(sc);
}

static void test_frame_too_big(void **state)
{
	struct script *sc = sc_new();
	struct cfg cf = {.client_dir = -1};
	static unsigned char big[2000];
	struct out *o;

	cf.o.max_frame = 1024;
	preface(sc);
	frame(sc, CLI, T_GOAWAY, 0, 0, big, sizeof(big));
	o = run_cfg(&cf, sc);
	assert_stopped(o, HTTP2_DROP_FRAME_SIZE);
	out_free(o);
	sc_free(sc);
}

/* Messages against RFC 9113 section 8: dropped, the conn goes on. */
static void test_malformed(void **state)
{
	struct script *sc = sc_new();
	unsigned char b[64];
	struct out *o;
	size_t n;

	preface(sc);
	headers(sc, CLI, 1, ES, ":path", "/no-method", NULL);
	headers(sc, SRV, 1, ES, ":status", "200", NULL);
	get(sc, 3, "/no-status");
	headers(sc, SRV, 3, ES, "server", "x", NULL);
	get(sc, 5, "/bad-status");
	headers(sc, SRV, 5, ES, ":status", "2x0", NULL);
	get(sc, 7, "/pseudo-in-trailers");
	headers(sc, SRV, 7, 0, ":status", "200", NULL);
	headers(sc, SRV, 7, ES, ":status", "200", NULL);
	n = enc(sc, CLI, b, sizeof(b), ":method", "GET", ":path", "/nul", "x-v", "a", NULL);
	b[n - 1] = 0; /* the literal value "a" becomes a NUL */
	frame(sc, CLI, T_HEADERS, EH | ES, 9, b, n);
	headers(sc, SRV, 9, ES, ":status", "200", NULL);
	get(sc, 11, "/fine");
	headers(sc, SRV, 11, ES, ":status", "200", NULL);
	o = run(sc);
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/fine");
	assert_int_equal(o->st.drops[HTTP2_DROP_MALFORMED], 5);
	assert_int_equal(o->st.conns_stopped, 0);
	out_free(o);
	sc_free(sc);
}

static void test_names(void **state)
{
	struct http2_conn *c;

	assert_string_equal(http2_frame_name(HTTP2_FT_DATA), "data");
	assert_string_equal(http2_frame_name(HTTP2_FT_CONTINUATION), "continuation");
	assert_string_equal(http2_frame_name(HTTP2_FT_NR), "unknown");
	assert_string_equal(http2_drop_name(HTTP2_DROP_HPACK), "hpack");
	assert_string_equal(http2_drop_name(HTTP2_DROP_MALFORMED), "malformed");
	assert_string_equal(http2_drop_name(HTTP2_DROP_NR), "unknown");
	http2_conn_free(NULL);
	c = http2_conn_new(NULL, NULL, -1, NULL, NULL);
	assert_non_null(c);
	assert_int_equal(http2_conn_feed(c, 2, "x", 1, 0), -EINVAL);
	assert_int_equal(http2_conn_feed(c, IN, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, 0), 0);
	assert_int_equal(http2_conn_dead(c), 0);
	http2_conn_close(c, 1);
	assert_int_equal(http2_conn_dead(c), 1);
	assert_int_equal(http2_conn_feed(c, IN, "x", 1, 0), -EPROTO);
	http2_conn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get),
	    cmocka_unit_test(test_client_role),
	    cmocka_unit_test(test_post_padding_trailers),
	    cmocka_unit_test(test_continuation),
	    cmocka_unit_test(test_control_frames),
	    cmocka_unit_test(test_concurrent_streams),
	    cmocka_unit_test(test_rst_stream_mid_body),
	    cmocka_unit_test(test_push_promise),
	    cmocka_unit_test(test_informational),
	    cmocka_unit_test(test_settings_table_size),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_close_open_streams),
	    cmocka_unit_test(test_midstream),
	    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_bad_frames),
	    cmocka_unit_test(test_no_preface),
	    cmocka_unit_test(test_hpack_garbage),
	    cmocka_unit_test(test_frame_too_big),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
