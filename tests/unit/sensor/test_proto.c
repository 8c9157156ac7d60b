// SPDX-License-Identifier: BSD-2-Clause
/*
 * Tests of the protocol dispatch (proto.h), above all the h2c handover: an
 * HTTP/1.1 request with `Upgrade: h2c` answered `101` goes on as HTTP/2 on
 * the same connection, the upgrade request being stream 1. Every script
 * runs whole, byte by byte and cut in two at every point of every feed
 * (split_testlib.h), so the cut at the 101 boundary never changes what
 * comes out.
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

#include "apisonar/sensor/proto/proto.h"

/* Both parsers' counters, compared as one. */
struct both_stats {
	struct http1_stats h1;
	struct http2_stats h2;
};

#define SPLIT_STATS struct both_stats
#define SPLIT_MAX_OUT 64
#include "h2_script.h"

#define UPGRADE_HEAD                                                                               \
	"Host: api.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"                \
	"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
#define SWITCHING "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

struct cfg {
	bool http2;
	int client_dir;
	bool midstream;
};

/* The conn and the config it points at, made and freed together. */
struct wrap {
	struct proto_cfg cfg;
	struct proto_conn *p;
};

static void *pc_open(const void *cfg, struct both_stats *st, split_cb cb, void *ctx)
{
	const struct cfg *cf = cfg;
	struct wrap *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->cfg.http1_stats = &st->h1;
	w->cfg.http2_stats = &st->h2;
	w->p = proto_conn_new(&w->cfg, cf->http2, cf->client_dir, cf->midstream, cb, ctx);
	if (!w->p) {
		free(w);
		return NULL;
	}
	return w;
}

static int pc_feed(void *c, int dir, const void *p, size_t n, uint64_t ts)
{
	return proto_conn_feed(((struct wrap *)c)->p, dir, p, n, ts);
}

static void pc_gap(void *c, int dir, uint64_t missing, uint64_t ts)
{
	proto_conn_gap(((struct wrap *)c)->p, dir, missing, ts);
}

static void pc_close(void *c, uint64_t ts)
{
	proto_conn_close(((struct wrap *)c)->p, ts);
}

static void pc_free(void *c)
{
	struct wrap *w = c;

	proto_conn_free(w->p);
	free(w);
}

static const struct split_parser proto_parser = {pc_open, pc_feed, pc_gap, pc_close, pc_free};

static struct out *run(const struct script *sc)
{
	struct cfg cf = {false, -1, false};

	return run_split(&proto_parser, &cf, sc->s, sc->n, 0);
}

static void text(struct script *sc, int dir, const char *s)
{
	put(sc, dir, s, strlen(s));
}

static void assert_body(const struct as_message *m, const char *want)
{
	assert_int_equal(m->body_len, strlen(want));
	assert_memory_equal(m->body, want, strlen(want));
}

/* The server's side of an upgrade as nghttpd writes it: the 101, its
 * SETTINGS and the response to stream 1 in one write. */
static void server_switch(struct script *sc, int srv, const char *body)
{
	char len[24];

	snprintf(len, sizeof(len), "%zu", strlen(body));
	text(sc, srv, SWITCHING);
	frame(sc, srv, T_SETTINGS, 0, 0, "\x00\x03\x00\x00\x00\x64", 6);
	headers(sc, srv, 1, 0, ":status", "200", "content-length", len, NULL);
	data(sc, srv, 1, ES, body);
}

static void client_preface(struct script *sc, int cli)
{
	put(sc, cli, PREFACE, 24);
	frame(sc, cli, T_SETTINGS, 0, 0, NULL, 0);
	frame(sc, cli, T_SETTINGS, 1, 0, NULL, 0);
}

/* ---- the handover ------------------------------------------------------- */

static void test_upgrade_server_side(void **state)
{
	struct script *sc = sc_new();
	struct out *o;
	struct as_exchange *x;

	(void)state;
	text(sc, CLI, "GET /up?x=1 HTTP/1.1\r\n" UPGRADE_HEAD "\r\n");
	tick(sc, 500);
	server_switch(sc, SRV, "hello");
	tick(sc, 500);
	client_preface(sc, CLI);
	headers(sc, CLI, 3, ES, ":method", "GET", ":scheme", "http", ":path", "/two", ":authority",
		"api.test", NULL);
	tick(sc, 500);
	frame(sc, SRV, T_SETTINGS, 1, 0, NULL, 0);
	headers(sc, SRV, 3, 0, ":status", "404", NULL);
	data(sc, SRV, 3, ES, "xy");
	tick(sc, 10);
	sc_op(sc, CLOSE, 0, 0);
	o = run(sc);

	assert_int_equal(o->n, 2);
	x = o->x[0];
	assert_string_equal(x->method, "GET");
	assert_string_equal(x->target, "/up?x=1");
	assert_int_equal(x->req_version, 11);
	assert_int_equal(x->resp_version, 20);
	assert_int_equal(x->status, 200);
	assert_null(x->reason);
	assert_string_equal(as_msg_header(&x->req, "host"), "api.test");
	assert_string_equal(as_msg_header(&x->req, "upgrade"), "h2c");
	assert_string_equal(as_msg_header(&x->resp, "content-length"), "5");
	assert_null(as_msg_header(&x->resp, "connection")); /* the 101's, not kept */
	assert_body(&x->resp, "hello");
	assert_int_equal(x->role, AS_ROLE_SERVER);
	assert_int_equal(x->flags, 0);
	assert_int_equal(x->req_time_ns, 1000);
	assert_int_equal(x->resp_time_ns, 1500);
	assert_int_equal(x->latency_ns, 500);
	x = o->x[1];
	assert_string_equal(x->method, "GET");
	assert_string_equal(x->target, "/two");
	assert_int_equal(x->req_version, 20);
	assert_int_equal(x->status, 404);
	assert_body(&x->resp, "xy");
	assert_int_equal(x->flags, 0);
	assert_int_equal(o->st.h1.upgrades, 1);
	assert_int_equal(o->st.h1.h2c, 1);
	assert_int_equal(o->st.h1.exchanges, 0);
	assert_int_equal(o->st.h2.conns, 1);
	assert_int_equal(o->st.h2.streams, 2);
	assert_int_equal(o->st.h2.exchanges, 2);
	assert_int_equal(o->st.h2.conns_stopped, 0);
	assert_int_equal(o->last_rc, 0);
	out_free(o);
	sc_free(sc);
}

/* The client's view, with its preface written right behind the request
 * (before the 101 came: held by HTTP/1 and handed over in order) and a
 * request body framed by Content-Length. */
static void test_upgrade_client_side_early_preface(void **state)
{
	struct script *sc = sc_new();
	struct out *o;
	struct as_exchange *x;

	(void)state;
	text(sc, EG, "POST /items HTTP/1.1\r\n" UPGRADE_HEAD "Content-Length: 4\r\n\r\nabcd");
	client_preface(sc, EG);
	tick(sc, 100);
	server_switch(sc, IN, "{\"id\":1}");
	tick(sc, 100);
	headers(sc, EG, 3, 0, ":method", "PUT", ":scheme", "http", ":path", "/items/1",
		":authority", "api.test", NULL);
	data(sc, EG, 3, ES, "efg");
	tick(sc, 100);
	headers(sc, IN, 3, ES, ":status", "204", NULL);
	o = run(sc);

	assert_int_equal(o->n, 2);
	x = o->x[0];
	assert_string_equal(x->method, "POST");
	assert_string_equal(x->target, "/items");
	assert_body(&x->req, "abcd");
	assert_int_equal(x->status, 200);
	assert_body(&x->resp, "{\"id\":1}");
	assert_int_equal(x->role, AS_ROLE_CLIENT);
	x = o->x[1];
	assert_string_equal(x->method, "PUT");
	assert_body(&x->req, "efg");
	assert_int_equal(x->status, 204);
	assert_int_equal(o->last_rc, 0);
	assert_int_equal(o->st.h1.h2c, 1);
	out_free(o);
	sc_free(sc);
}

/* The server sends its 101 and frames in pieces, the client its preface
 * later: the same exchange (and an open stream emitted at close). */
static void test_upgrade_pieces_and_close(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	(void)state;
	text(sc, CLI, "GET / HTTP/1.1\r\n" UPGRADE_HEAD "\r\n");
	tick(sc, 10);
	text(sc, SRV, SWITCHING);
	tick(sc, 10);
	frame(sc, SRV, T_SETTINGS, 0, 0, NULL, 0);
	tick(sc, 10);
	client_preface(sc, CLI);
	tick(sc, 10);
	headers(sc, SRV, 1, 0, ":status", "200", NULL);
	tick(sc, 10);
	data(sc, SRV, 1, 0, "part");
	tick(sc, 10);
	sc_op(sc, CLOSE, 0, 0);
	o = run(sc);
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/");
	assert_int_equal(o->x[0]->status, 200);
	assert_body(&o->x[0]->resp, "part");
	assert_int_equal(o->x[0]->flags, AS_X_RESP_GAP);
	out_free(o);
	sc_free(sc);
}

/* A gap after the switch is HTTP/2's: its parsing stops, counted. */
static void test_upgrade_then_gap(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	(void)state;
	text(sc, CLI, "GET / HTTP/1.1\r\n" UPGRADE_HEAD "\r\n");
	tick(sc, 10);
	text(sc, SRV, SWITCHING);
	sc_op(sc, GAP, SRV, 100);
	tick(sc, 10);
	frame(sc, SRV, T_SETTINGS, 0, 0, NULL, 0);
	o = run(sc);
	assert_int_equal(o->n, 0);
	assert_int_equal(o->st.h1.h2c, 1);
	assert_int_equal(o->st.h2.conns_stopped, 1);
	assert_int_equal(o->st.h2.drops[HTTP2_DROP_GAP], 1);
	assert_int_equal(o->st.h2.drops[HTTP2_DROP_ABANDONED], 1);
	out_free(o);
	sc_free(sc);
}

/* What is not an h2c switch stays as before: HTTP/1 stops at the 101, the
 * exchange flagged upgrade; a refused upgrade goes on as HTTP/1. */
static void test_not_h2c(void **state)
{
	static const char *const reqs[] = {
	    /* websocket */
	    "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	    /* h2c without HTTP2-Settings (RFC 7540 3.2.1: not an upgrade) */
	    "GET /a HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
	};
	static const char *const resps[] = {
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00",
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04\x00"
	    "\x00\x00\x00\x00",
	};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct script *sc = sc_new();
		struct out *o;

		text(sc, CLI, reqs[i]);
		tick(sc, 10);
		put(sc, SRV, resps[i], strlen(resps[i]) + (i ? 9 : 0));
		o = run(sc);
		assert_int_equal(o->n, 1);
		assert_int_equal(o->x[0]->status, 101);
		assert_int_equal(o->x[0]->flags, AS_X_UPGRADE);
		assert_int_equal(o->st.h1.upgrades, 1);
		assert_int_equal(o->st.h1.h2c, 0);
		assert_int_equal(o->st.h2.conns, 0);
		assert_int_equal(o->last_rc, -EPROTO);
		out_free(o);
		sc_free(sc);
	}
}

/* A server that does not speak h2c answers the request over HTTP/1.1
 * (RFC 7540 3.2) and the connection stays HTTP/1; a 101 to something else
 * than h2c is not a switch to HTTP/2 either. */
static void test_upgrade_refused(void **state)
{
	struct script *sc = sc_new();
	struct out *o;

	(void)state;
	text(sc, CLI, "GET /a HTTP/1.1\r\n" UPGRADE_HEAD "\r\n");
	tick(sc, 10);
	text(sc, SRV, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	tick(sc, 10);
	text(sc, CLI, "GET /b HTTP/1.1\r\n" UPGRADE_HEAD "\r\n");
	tick(sc, 10);
	text(sc, SRV, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
	o = run(sc);
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/a");
	assert_int_equal(o->x[0]->status, 200);
	assert_int_equal(o->x[0]->flags, 0);
	assert_int_equal(o->x[1]->status, 101);
	assert_int_equal(o->x[1]->flags, AS_X_UPGRADE);
	assert_int_equal(o->st.h1.h2c, 0);
	assert_int_equal(o->st.h2.conns, 0);
	out_free(o);
	sc_free(sc);
}

/* The client's HTTP2-Settings count as its first SETTINGS: a header table
 * of 8192 lets the server's encoder keep more than the default 4096. */
static void test_upgrade_settings_table(void **state)
{
	struct script *sc = sc_new();
	char big[1500];
	struct out *o;

	(void)state;
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	nghttp2_hd_deflate_del(sc->def[SRV]);
	assert_int_equal(nghttp2_hd_deflate_new(&sc->def[SRV], 8192), 0);
	assert_int_equal(nghttp2_hd_deflate_change_table_size(sc->def[SRV], 8192), 0);
	/* SETTINGS_HEADER_TABLE_SIZE = 8192: 00 01 00 00 20 00 */
	text(sc, CLI,
	     "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
	     "Upgrade: h2c\r\nHTTP2-Settings: AAEAACAA\r\n\r\n");
	tick(sc, 10);
	text(sc, SRV, SWITCHING);
	frame(sc, SRV, T_SETTINGS, 0, 0, NULL, 0);
	headers(sc, SRV, 1, ES, ":status", "200", "x-a", big, "x-b", big, NULL);
	tick(sc, 10);
	client_preface(sc, CLI);
	headers(sc, CLI, 3, ES, ":method", "GET", ":scheme", "http", ":path", "/2", ":authority",
		"a", NULL);
	tick(sc, 10);
	headers(sc, SRV, 3, ES, ":status", "200", "x-a", big, "x-b", big, NULL);
	o = run(sc);
	assert_int_equal(o->n, 2);
	assert_string_equal(as_msg_header(&o->x[1]->resp, "x-b"), big);
	assert_int_equal(o->st.h2.conns_stopped, 0);
	out_free(o);
	sc_free(sc);
}

/* The dispatch itself: HTTP/2 from the first bytes, and the NULL-safe
 * free. */
static void test_dispatch(void **state)
{
	struct script *sc = sc_new();
	struct cfg cf = {true, CLI, false};
	struct out *o;

	(void)state;
	preface(sc);
	get(sc, 1, "/p");
	ok(sc, 1, "z");
	o = run_split(&proto_parser, &cf, sc->s, sc->n, 0);
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/p");
	assert_int_equal(o->st.h2.conns, 1);
	assert_int_equal(o->st.h1.requests, 0);
	out_free(o);
	sc_free(sc);
	proto_conn_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_upgrade_server_side),
	    cmocka_unit_test(test_upgrade_client_side_early_preface),
	    cmocka_unit_test(test_upgrade_pieces_and_close),
	    cmocka_unit_test(test_upgrade_then_gap),
	    cmocka_unit_test(test_not_h2c),
	    cmocka_unit_test(test_upgrade_refused),
	    cmocka_unit_test(test_upgrade_settings_table),
	    cmocka_unit_test(test_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
