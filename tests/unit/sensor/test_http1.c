// SPDX-License-Identifier: BSD-2-Clause
/*
 * Tests of the HTTP/1 parser. Every scripted case runs with each feed whole,
 * one byte at a time, and cut in two at every point of every feed, and all
 * runs must give the same exchanges and the same counters (run_opts).
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

/* scripts list only the fields a step needs */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "apisonar/sensor/events.h"
#include "apisonar/sensor/proto/http1.h"

#define EG AS_DIR_EGRESS
#define IN AS_DIR_INGRESS
#define SPLIT_STATS struct http1_stats
#include "split_testlib.h"

struct cfg {
	const struct http1_opts *opts;
	bool midstream;
};

static void *h1_open(const void *cfg, struct http1_stats *st, split_cb cb, void *ctx)
{
	const struct cfg *cf = cfg;
	struct http1_conn *c = http1_conn_new(cf->opts, st, cb, ctx);

	if (c && cf->midstream)
		http1_conn_set_midstream(c);
	return c;
}

static int h1_feed(void *c, int dir, const void *p, size_t n, uint64_t ts)
{
	return http1_conn_feed(c, dir, p, n, ts);
}

static void h1_gap(void *c, int dir, uint64_t missing, uint64_t ts)
{
	http1_conn_gap(c, dir, missing, ts);
}

static void h1_close(void *c, uint64_t ts)
{
	http1_conn_close(c, ts);
}

static void h1_free(void *c)
{
	http1_conn_free(c);
}

static const struct split_parser h1_parser = {h1_open, h1_feed, h1_gap, h1_close, h1_free};

/* Bytes fed, summed over the runs of one script, beyond which its split
 * points are sampled: every point of every feed in scripts up to 4 KiB (all
 * but five); in the five large ones (100 keep-alive exchanges, 1000
 * pipelined requests, heads and bodies of 39-200 KB) an even sample of
 * 80-1800 points, so that the suite stays fast. */
#define SPLIT_BUDGET (16u << 20)

/* The parser's result must be a function of the byte stream alone
 * (split_testlib.h). */
static struct out *run_opts(const struct http1_opts *opts, const struct step *steps, size_t n,
			    bool midstream)
{
	struct cfg cf = {opts, midstream};

	return run_split(&h1_parser, &cf, steps, n, SPLIT_BUDGET);
}

#define RUN(steps) run_opts(NULL, steps, sizeof(steps) / sizeof(steps[0]), false)
#define RUN_O(o, steps) run_opts(o, steps, sizeof(steps) / sizeof(steps[0]), false)
#define RUN_MID(steps) run_opts(NULL, steps, sizeof(steps) / sizeof(steps[0]), true)

static void assert_body(const struct as_message *m, const char *s)
{
	assert_int_equal(m->body_len, strlen(s));
	assert_memory_equal(m->body, s, strlen(s));
}

static uint64_t amb_total(const struct http1_stats *st)
{
	uint64_t t = 0;
	int i;

	for (i = 0; i < HTTP1_AMB_NR; i++)
		t += st->ambiguous[i];
	return t;
}

/* ---- basics ------------------------------------------------------------- */

static void test_server_get(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /users/1?x=2 HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n", 0, 1000},
	    {FEED, EG,
	     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	     "Content-Length: 7\r\n\r\n{\"a\":1}",
	     0, 1500},
	};
	struct out *o = RUN(s);
	struct as_exchange *x;

	(void)state;
	assert_int_equal(o->n, 1);
	x = o->x[0];
	assert_string_equal(x->method, "GET");
	assert_string_equal(x->target, "/users/1?x=2");
	assert_int_equal(x->req_version, 11);
	assert_int_equal(x->req.n_headers, 3);
	assert_string_equal(x->req.headers[1].name, "X-A");
	assert_string_equal(x->req.headers[1].value, "1");
	assert_string_equal(x->req.headers[2].name, "x-a");
	assert_string_equal(x->req.headers[2].value, "2");
	assert_string_equal(as_msg_header(&x->req, "HOST"), "a");
	assert_int_equal(x->req.body_len, 0);
	assert_int_equal(x->status, 200);
	assert_string_equal(x->reason, "OK");
	assert_int_equal(x->resp_version, 11);
	assert_body(&x->resp, "{\"a\":1}");
	assert_int_equal(x->resp.body_true_len, 7);
	assert_int_equal(x->role, AS_ROLE_SERVER);
	assert_int_equal(x->req_time_ns, 1000);
	assert_int_equal(x->resp_time_ns, 1500);
	assert_int_equal(x->latency_ns, 500);
	assert_int_equal(x->flags, 0);
	assert_int_equal(o->st.requests, 1);
	assert_int_equal(o->st.responses, 1);
	assert_int_equal(o->st.exchanges, 1);
	assert_int_equal(o->st.parse_errors, 0);
	out_free(o);
}

static void test_client_role_and_wall_offset(void **state)
{
	static const struct step s[] = {
	    {FEED, EG, "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel", 0, 100},
	    {FEED, EG, "lo", 0, 200},
	    {FEED, IN, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 0, 900},
	};
	struct http1_opts op = {.wall_offset_ns = 1000000};
	struct out *o = RUN_O(&op, s);
	struct as_exchange *x;

	(void)state;
	assert_int_equal(o->n, 1);
	x = o->x[0];
	assert_int_equal(x->role, AS_ROLE_CLIENT);
	assert_string_equal(x->method, "POST");
	assert_body(&x->req, "hello");
	assert_int_equal(x->status, 201);
	assert_string_equal(x->reason, "Created");
	assert_int_equal(x->resp.body_len, 0);
	assert_int_equal(x->req_time_ns, 1000100);
	assert_int_equal(x->resp_time_ns, 1000900);
	assert_int_equal(x->latency_ns, 700);
	out_free(o);
}

static void test_http10_close_delimited(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET / HTTP/1.0\r\n\r\n", 0, 1},
	    {FEED, EG, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nbody ", 0, 2},
	    {FEED, EG, "goes on", 0, 3},
	    {CLOSE, 0, NULL, 0, 4},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->req_version, 10);
	assert_int_equal(o->x[0]->resp_version, 10);
	assert_body(&o->x[0]->resp, "body goes on");
	assert_int_equal(o->x[0]->flags, 0);
	assert_int_equal(o->st.no_response, 0);
	out_free(o);
}

static void test_chunked_with_trailers_and_ext(void **state)
{
	static const struct step s[] = {
	    {FEED, IN,
	     "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "3\r\nabc\r\n0\r\n\r\n",
	     0, 10},
	    {FEED, EG,
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	     "4;name=v\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n"
	     "Expires: never\r\nX-T: 1\r\n\r\n",
	     0, 20},
	};
	struct out *o = RUN(s);
	struct as_exchange *x;

	(void)state;
	assert_int_equal(o->n, 1);
	x = o->x[0];
	assert_body(&x->req, "abc");
	assert_body(&x->resp, "wikipedia in\r\n\r\nchunks.");
	assert_int_equal(x->resp.body_true_len, 23);
	assert_int_equal(o->st.parse_errors, 0);
	/* trailers are checked, not added */
	assert_int_equal(x->resp.n_headers, 1);
	assert_null(as_msg_header(&x->resp, "Expires"));
	assert_int_equal(o->st.ambiguous[HTTP1_AMB_CHUNK_EXT], 1);
	assert_int_equal(x->flags, 0);
	out_free(o);
}

static void test_bodyless_by_rule(void **state)
{
	static const struct step s[] = {
	    {FEED, IN,
	     "HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\nGET /m HTTP/1.1\r\n\r\n"
	     "DELETE /d HTTP/1.1\r\n\r\n",
	     0, 10},
	    {FEED, EG,
	     "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
	     "HTTP/1.1 204 No Content\r\n\r\n"
	     "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
	     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	     0, 20},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 4);
	assert_string_equal(o->x[0]->method, "HEAD");
	assert_int_equal(o->x[0]->status, 200);
	assert_int_equal(o->x[0]->resp.body_true_len, 0);
	assert_string_equal(o->x[1]->target, "/n");
	assert_int_equal(o->x[1]->status, 204);
	assert_string_equal(o->x[2]->target, "/m");
	assert_int_equal(o->x[2]->status, 304);
	assert_int_equal(o->x[2]->resp.body_true_len, 0);
	assert_string_equal(o->x[3]->method, "DELETE");
	assert_body(&o->x[3]->resp, "ok");
	out_free(o);
}

static void test_100_continue(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n", 0,
	     10},
	    {FEED, EG, "HTTP/1.1 100 Continue\r\n\r\n", 0, 20},
	    {FEED, IN, "data", 0, 30},
	    {FEED, EG,
	     "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 40},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->status, 200);
	assert_string_equal(o->x[0]->reason, "OK");
	assert_int_equal(o->x[0]->resp.n_headers, 1);
	assert_body(&o->x[0]->req, "data");
	assert_int_equal(o->x[0]->resp_time_ns, 40);
	assert_int_equal(o->x[0]->latency_ns, 10);
	assert_int_equal(o->st.responses, 1);
	out_free(o);
}

static void test_pipelining_fifo(void **state)
{
	static const struct step s[] = {
	    {FEED, IN,
	     "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nPOST /3 HTTP/1.1\r\n"
	     "Content-Length: 1\r\n\r\nz",
	     0, 10},
	    {FEED, EG,
	     "HTTP/1.1 200 A\r\nContent-Length: 1\r\n\r\n1HTTP/1.1 201 B\r\n"
	     "Content-Length: 1\r\n\r\n2",
	     0, 20},
	    {FEED, EG, "HTTP/1.1 202 C\r\nContent-Length: 1\r\n\r\n3", 0, 30},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 3);
	assert_string_equal(o->x[0]->target, "/1");
	assert_string_equal(o->x[0]->reason, "A");
	assert_body(&o->x[0]->resp, "1");
	assert_string_equal(o->x[1]->target, "/2");
	assert_int_equal(o->x[1]->status, 201);
	assert_string_equal(o->x[2]->target, "/3");
	assert_body(&o->x[2]->req, "z");
	assert_int_equal(o->x[2]->status, 202);
	assert_int_equal(o->x[2]->resp_time_ns, 30);
	out_free(o);
}

static void test_keepalive_many(void **state)
{
	struct step s[200];
	struct out *o;
	char reqs[100][64];
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(reqs[i], sizeof(reqs[i]), "GET /item/%zu HTTP/1.1\r\nHost: h\r\n\r\n", i);
		s[2 * i] = (struct step){FEED, IN, reqs[i], 0, 100 * i + 1};
		s[2 * i + 1] = (struct step){
		    FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, 100 * i + 50};
	}
	o = run_opts(NULL, s, 200, false);
	assert_int_equal(o->n, 100);
	for (i = 0; i < 100; i++) {
		char want[32];

		snprintf(want, sizeof(want), "/item/%zu", i);
		assert_string_equal(o->x[i]->target, want);
		assert_int_equal(o->x[i]->latency_ns, 49);
		assert_body(&o->x[i]->resp, "{}");
	}
	out_free(o);
}

static void test_response_before_request(void **state)
{
	static const struct step s[] = {
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 0, 50},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", 0, 70},
	    {FEED, IN, "HEAD /x HTTP/1.1\r\n\r\n", 0, 40},
	    {FEED, IN, "GET /y HTTP/1.1\r\n\r\n", 0, 60},
	};
	struct out *o = RUN(s);

	(void)state;
	/* the first response is framed only once its request is known: HEAD,
	 * so its Content-Length announces no body */
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/x");
	assert_int_equal(o->x[0]->status, 200);
	assert_int_equal(o->x[0]->resp.body_true_len, 0);
	assert_int_equal(o->x[0]->resp_time_ns, 50);
	assert_int_equal(o->x[0]->latency_ns, 10);
	assert_string_equal(o->x[1]->target, "/y");
	assert_body(&o->x[1]->resp, "hi");
	assert_int_equal(o->x[1]->resp_time_ns, 70);
	assert_int_equal(o->x[0]->role, AS_ROLE_SERVER);
	assert_int_equal(o->st.parse_errors, 0);
	out_free(o);
}

static void test_response_before_request_get(void **state)
{
	static const struct step s[] = {
	    {FEED, EG, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop", 0, 50},
	    {FEED, IN, "GET /x HTTP/1.1\r\n\r\n", 0, 40},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/x");
	assert_int_equal(o->x[0]->status, 404);
	assert_body(&o->x[0]->resp, "nop");
	assert_int_equal(o->x[0]->resp_time_ns, 50);
	assert_int_equal(o->x[0]->latency_ns, 10);
	assert_int_equal(o->x[0]->role, AS_ROLE_SERVER);
	out_free(o);
}

static void test_upgrade_101(void **state)
{
	static const struct step s[] = {
	    {FEED, IN,
	     "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	     "\x81\x05hello",
	     0, 10},
	    {FEED, EG, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi",
	     0, 20},
	    {FEED, IN, "more frames", 0, 30},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->status, 101);
	assert_int_equal(o->x[0]->flags, AS_X_UPGRADE);
	assert_int_equal(o->st.upgrades, 1);
	assert_int_equal(o->st.parse_errors, 0);
	assert_int_equal(o->last_rc, -EPROTO);
	out_free(o);
}

static void test_upgrade_refused_goes_on(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 0,
	     10},
	    {FEED, EG,
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	     0, 20},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[1]->target, "/b");
	assert_int_equal(o->st.upgrades, 0);
	assert_int_equal(o->last_rc, 0);
	out_free(o);
}

static void test_connect(void **state)
{
	static const struct step s[] = {
	    {FEED, EG, "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\x16\x03\x01", 0, 10},
	    {FEED, IN, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03", 0, 20},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->method, "CONNECT");
	assert_string_equal(o->x[0]->target, "h:443");
	assert_int_equal(o->x[0]->role, AS_ROLE_CLIENT);
	assert_int_equal(o->x[0]->flags, AS_X_UPGRADE);
	assert_int_equal(o->st.upgrades, 1);
	assert_int_equal(o->st.parse_errors, 0);
	out_free(o);
}

static void test_http2_preface(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 0, 10},
	    {FEED, EG, "\0\0\0\4\0\0\0\0\0", 9, 20},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 0);
	assert_int_equal(o->st.http2, 1);
	assert_int_equal(o->last_rc, -EPROTO);
	out_free(o);
}

static void test_not_http_gives_up(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n", 0, 10},
	    {FEED, IN, "GET / HTTP/1.1\r\n\r\n", 0, 20},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 0);
	assert_int_equal(o->st.parse_errors, 1);
	assert_int_equal(o->last_rc, -EPROTO);
	out_free(o);
}

/* Garbage in the middle: the request side resyncs; the response to the lost
 * request and the rest pair only where timing proves it. */
static void test_garbage_resync_no_wrong_pairing(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /1 HTTP/1.1\r\n\r\n", 0, 10},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na", 0, 20},
	    {FEED, IN, "G@RBAGE\x01\r\nmore junk\r\n", 0, 30},
	    {FEED, EG, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 0, 40},
	    {FEED, IN, "GET /3 HTTP/1.1\r\n\r\n", 0, 50},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc", 0, 60},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/1");
	assert_int_equal(o->x[0]->status, 200);
	assert_string_equal(o->x[1]->target, "/3");
	assert_int_equal(o->x[1]->status, 200);
	assert_body(&o->x[1]->resp, "c");
	assert_int_equal(o->st.parse_errors, 1);
	assert_int_equal(o->st.resyncs, 1);
	assert_int_equal(o->st.unpaired_responses, 1); /* the 400 */
	out_free(o);
}

/* ---- ambiguity: one test per rule --------------------------------------- */

/* The ambiguous request is dropped; the next one is still parsed, and the
 * answer to the dropped one is not paired with anything. When the ambiguity
 * is in the body (chunked framing), the head was complete and the request is
 * kept, cut, and still paired with its answer (FIFO is intact up to it). */
static void amb_case_k(const char *bad_req, enum http1_ambiguity a, bool head_kept)
{
	struct step s[] = {
	    {FEED, IN, bad_req, 0, 10},
	    {FEED, EG, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 0, 20},
	    {FEED, IN, "GET /next HTTP/1.1\r\n\r\n", 0, 30},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, 40},
	};
	/* a good first exchange makes the conn HTTP/1 before the bad one */
	struct step all[6] = {
	    {FEED, IN, "GET /first HTTP/1.1\r\n\r\n", 0, 1},
	    {FEED, EG, "HTTP/1.1 204 No Content\r\n\r\n", 0, 2},
	};
	struct out *o;
	size_t i;

	memcpy(all + 2, s, sizeof(s));
	o = run_opts(NULL, all, 6, false);
	assert_int_equal(o->st.ambiguous[a], 1);
	assert_int_equal(amb_total(&o->st), 1);
	assert_int_equal(o->st.resyncs, 1);
	assert_int_equal(o->st.parse_errors, 0);
	assert_int_equal(o->n, head_kept ? 3 : 2);
	assert_string_equal(o->x[0]->target, "/first");
	if (head_kept) {
		assert_string_equal(o->x[1]->target, "/a");
		assert_int_equal(o->x[1]->status, 400);
		assert_int_equal(o->x[1]->flags, AS_X_REQ_GAP | AS_X_REQ_TRUNCATED);
	}
	i = o->n - 1;
	assert_string_equal(o->x[i]->target, "/next");
	assert_int_equal(o->x[i]->status, 200);
	assert_int_equal(o->x[i]->flags, 0);
	assert_body(&o->x[i]->resp, "ok");
	if (!head_kept) {
		for (i = 0; i < o->n; i++)
			assert_int_not_equal(o->x[i]->status, 400);
	}
	assert_int_equal(o->st.unpaired_responses, head_kept ? 0 : 1);
	out_free(o);
}

static void amb_case(const char *bad_req, enum http1_ambiguity a)
{
	amb_case_k(bad_req, a, false);
}

static void test_amb_cl_and_te(void **state)
{
	(void)state;
	amb_case("POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "0\r\n\r\n",
		 HTTP1_AMB_CL_AND_TE);
}

static void test_amb_dup_cl(void **state)
{
	(void)state;
	amb_case("POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		 HTTP1_AMB_DUP_CL);
}

static void test_amb_obs_fold(void **state)
{
	(void)state;
	amb_case("GET /a HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n", HTTP1_AMB_OBS_FOLD);
}

static void test_amb_bare_lf(void **state)
{
	(void)state;
	amb_case("GET /a HTTP/1.1\nX-A: 1\n\n", HTTP1_AMB_BARE_EOL);
}

static void test_amb_bare_cr(void **state)
{
	(void)state;
	amb_case("GET /a HTTP/1.1\r\nX-A: 1\rX-B: 2\r\n\r\n", HTTP1_AMB_BARE_EOL);
}

static void test_amb_space_before_colon(void **state)
{
	(void)state;
	amb_case("GET /a HTTP/1.1\r\nX-A : 1\r\n\r\n", HTTP1_AMB_SPACE_BEFORE_COLON);
}

static void test_amb_chunk_junk(void **state)
{
	(void)state;
	amb_case_k("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n123x\r\n",
		   HTTP1_AMB_CHUNK_JUNK, true);
}

static void test_amb_chunk_too_long(void **state)
{
	(void)state;
	amb_case_k("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		   "00000000000000001\r\nx\r\n0\r\n\r\n",
		   HTTP1_AMB_CHUNK_TOO_LONG, true);
}

static void test_amb_headers_too_big(void **state)
{
	char *big = malloc(40000);
	size_t n;

	(void)state;
	n = (size_t)snprintf(big, 100, "GET /a HTTP/1.1\r\nX-Big: ");
	memset(big + n, 'a', 39000);
	memcpy(big + n + 39000, "\r\n\r\n", 5);
	amb_case(big, HTTP1_AMB_HEADERS_TOO_BIG);
	free(big);
}

/* Accepted and flagged: the body is right and the exchange is emitted. */
static void test_amb_chunk_ext_accepted(void **state)
{
	static const struct step s[] = {
	    {FEED, IN,
	     "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "2 ; a=b\r\nhi\r\n0;last\r\n\r\n",
	     0, 10},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 20},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_body(&o->x[0]->req, "hi");
	assert_int_equal(o->st.ambiguous[HTTP1_AMB_CHUNK_EXT], 2);
	assert_int_equal(amb_total(&o->st), 2);
	out_free(o);
}

static void test_same_cl_twice_is_fine(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "POST /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nhi", 0,
	     10},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 20},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_body(&o->x[0]->req, "hi");
	assert_int_equal(amb_total(&o->st), 0);
	out_free(o);
}

/* ---- gaps --------------------------------------------------------------- */

static void test_gap_in_body_absorbed(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nab", 0, 10},
	    {GAP, IN, NULL, 0, 11, 5},
	    {FEED, IN, "xyz", 0, 12},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12", 0, 20},
	    {GAP, EG, NULL, 0, 21, 4},
	    {FEED, EG, "78\r\n0\r\n\r\n", 0, 22},
	    {FEED, IN, "GET /b HTTP/1.1\r\n\r\n", 0, 30},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 40},
	};
	struct out *o = RUN(s);
	struct as_exchange *x;

	(void)state;
	assert_int_equal(o->n, 2);
	x = o->x[0];
	assert_body(&x->req, "abxyz");
	assert_int_equal(x->req.body_true_len, 10);
	assert_true(x->req.body_truncated);
	assert_body(&x->resp, "1278");
	assert_int_equal(x->resp.body_true_len, 8);
	assert_int_equal(x->flags,
			 AS_X_REQ_GAP | AS_X_RESP_GAP | AS_X_REQ_TRUNCATED | AS_X_RESP_TRUNCATED);
	assert_string_equal(o->x[1]->target, "/b");
	assert_int_equal(o->x[1]->flags, 0);
	assert_int_equal(o->st.gaps, 2);
	assert_int_equal(o->st.resyncs, 0);
	assert_int_equal(o->st.truncated_bodies, 2);
	out_free(o);
}

/* A gap cuts /a's head. The client waited for /a's answer before sending
 * /b, so /b pairs with the next response. */
static void test_gap_in_headers_resyncs(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /a HTTP/1.1\r\nHost: x\r\n", 0, 10},
	    {GAP, IN, NULL, 0, 11, 100},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA", 0, 12},
	    {FEED, IN, "ost: y\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 0, 13},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB", 0, 20},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->st.gaps, 1);
	assert_int_equal(o->st.resyncs, 1);
	assert_int_equal(o->st.partial_dropped, 1);
	assert_int_equal(o->st.unpaired_responses, 1); /* A: /a was lost */
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/b");
	assert_body(&o->x[0]->resp, "B");
	assert_int_equal(o->x[0]->req_time_ns, 13);
	out_free(o);
}

/* The same gap, but /b was sent before /a was answered: the next response
 * answers /a, not /b. The conn pipelines, so it is never paired again. */
static void test_gap_in_headers_pipelined_never_guessed(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /a HTTP/1.1\r\nHost: x\r\n", 0, 10},
	    {GAP, IN, NULL, 0, 11, 100},
	    {FEED, IN, "ost: y\r\n\r\nGET /b HTTP/1.1\r\n\r\n", 0, 12},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA", 0, 20},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB", 0, 25},
	    {FEED, IN, "GET /c HTTP/1.1\r\n\r\n", 0, 30},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nC", 0, 40},
	};
	struct out *o = RUN(s);
	size_t i;

	(void)state;
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/b");
	assert_string_equal(o->x[1]->target, "/c");
	for (i = 0; i < o->n; i++) {
		assert_int_equal(o->x[i]->status, 0);
		assert_int_equal(o->x[i]->flags, AS_X_NO_RESPONSE);
	}
	assert_int_equal(o->st.unpaired_responses, 3);
	assert_int_equal(o->st.unpaired_requests, 2);
	out_free(o);
}

/* A whole response lost between messages: the request it answered goes out
 * alone, and the next exchange pairs (this client waits for answers). */
static void test_gap_loses_whole_response(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /a HTTP/1.1\r\n\r\n", 0, 10},
	    {GAP, EG, NULL, 0, 15, 100},
	    {FEED, IN, "GET /b HTTP/1.1\r\n\r\n", 0, 20},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB", 0, 30},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/a");
	assert_int_equal(o->x[0]->flags, AS_X_NO_RESPONSE);
	assert_string_equal(o->x[1]->target, "/b");
	assert_body(&o->x[1]->resp, "B");
	assert_int_equal(o->st.unpaired_requests, 1);
	assert_int_equal(o->st.unpaired_responses, 0);
	out_free(o);
}

/* The same loss on a conn that pipelined earlier: B could answer /a or /b,
 * so nothing is paired after the loss. */
static void test_gap_after_pipelining_never_pairs(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /p1 HTTP/1.1\r\n\r\nGET /p2 HTTP/1.1\r\n\r\n", 0, 1},
	    {FEED, EG, "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 0, 5},
	    {FEED, IN, "GET /a HTTP/1.1\r\n\r\n", 0, 10},
	    {GAP, EG, NULL, 0, 15, 100},
	    {FEED, IN, "GET /b HTTP/1.1\r\n\r\n", 0, 20},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB", 0, 30},
	    {CLOSE, 0, NULL, 0, 40},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 4);
	assert_int_equal(o->x[0]->status, 204);
	assert_int_equal(o->x[1]->status, 204);
	assert_string_equal(o->x[2]->target, "/a");
	assert_int_equal(o->x[2]->status, 0);
	assert_string_equal(o->x[3]->target, "/b");
	assert_int_equal(o->x[3]->status, 0);
	assert_int_equal(o->st.unpaired_responses, 1);
	assert_int_equal(o->st.unpaired_requests, 2);
	out_free(o);
}

/* A gap behind held response bytes applies in stream order, inside the
 * body, once the request lets the response be framed. */
static void test_gap_behind_held_bytes(void **state)
{
	static const struct step s[] = {
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", 0, 20},
	    {GAP, EG, NULL, 0, 21, 5},
	    {FEED, EG, "xyz", 0, 22},
	    {FEED, IN, "GET / HTTP/1.1\r\n\r\n", 0, 10},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_body(&o->x[0]->resp, "abxyz");
	assert_int_equal(o->x[0]->resp.body_true_len, 10);
	assert_int_equal(o->x[0]->flags, AS_X_RESP_GAP | AS_X_RESP_TRUNCATED);
	assert_int_equal(o->x[0]->resp_time_ns, 20);
	assert_int_equal(o->st.gaps, 1);
	assert_int_equal(o->st.resyncs, 0);
	out_free(o);
}

/* A junk body runs straight into the next request: resync finds it. */
static void test_resync_inside_line(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /0 HTTP/1.1\r\n\r\n", 0, 1},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 2},
	    {FEED, IN,
	     "POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy"
	     "GET /b HTTP/1.1\r\n\r\n",
	     0, 10},
	    {FEED, EG, "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n", 0, 11},
	    {FEED, EG, "xxHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB", 0, 20},
	    {CLOSE, 0, NULL, 0, 30},
	};
	struct out *o = RUN(s);

	(void)state;
	/* /b is found after the junk; it was sent before /a was answered, so
	 * the 400 (which answers /a) is not given to it, nor anything after */
	assert_int_equal(o->st.ambiguous[HTTP1_AMB_DUP_CL], 1);
	assert_int_equal(o->st.resyncs, 2);
	assert_int_equal(o->st.parse_errors, 1); /* "xx" before the status line */
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/0");
	assert_int_equal(o->x[0]->status, 200);
	assert_string_equal(o->x[1]->target, "/b");
	assert_int_equal(o->x[1]->status, 0);
	assert_int_equal(o->st.unpaired_responses, 2);
	assert_int_equal(o->st.responses, 3);
	out_free(o);
}

/* The gap runs past the end of the response body: the response is kept, cut
 * (its true length is the announced one), and the response side resyncs; the
 * next response pairs with the request that began before it. */
static void test_gap_past_body_end_resyncs(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /a HTTP/1.1\r\n\r\n", 0, 10},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", 0, 20},
	    {GAP, EG, NULL, 0, 21, 50},
	    {FEED, EG, "tail of something\r\n", 0, 22},
	    {FEED, IN, "GET /b HTTP/1.1\r\n\r\n", 0, 30},
	    {FEED, EG, "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n", 0, 40},
	    {CLOSE, 0, NULL, 0, 50},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 2);
	assert_int_equal(o->x[0]->status, 200);
	assert_body(&o->x[0]->resp, "ab");
	assert_int_equal(o->x[0]->resp.body_true_len, 4);
	assert_int_equal(o->x[0]->flags, AS_X_RESP_GAP | AS_X_RESP_TRUNCATED);
	assert_string_equal(o->x[1]->target, "/b");
	assert_int_equal(o->x[1]->status, 404);
	assert_int_equal(o->x[1]->flags, 0);
	assert_int_equal(o->st.resyncs, 1);
	assert_int_equal(o->st.unpaired_requests, 0);
	out_free(o);
}

/* A gap in a response head loses that response; the request it answered
 * goes out alone and the next response pairs by time. */
static void test_gap_in_response_head(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /a HTTP/1.1\r\n\r\n", 0, 10},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Le", 0, 20},
	    {GAP, EG, NULL, 0, 21, 30},
	    {FEED, IN, "GET /b HTTP/1.1\r\n\r\n", 0, 30},
	    {FEED, EG, "HTTP/1.1 201 B\r\nContent-Length: 1\r\n\r\nb", 0, 40},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/a");
	assert_int_equal(o->x[0]->status, 0);
	assert_int_equal(o->x[0]->flags, AS_X_RESP_GAP | AS_X_NO_RESPONSE);
	assert_string_equal(o->x[1]->target, "/b");
	assert_int_equal(o->x[1]->status, 201);
	assert_body(&o->x[1]->resp, "b");
	assert_int_equal(o->st.unpaired_requests, 1);
	assert_int_equal(o->st.partial_dropped, 0);
	out_free(o);
}

/* HTTP/1.1 without Content-Length or chunked: the body runs to the close. */
static void test_close_delimited_11(void **state)
{
	static const struct step s[] = {
	    {FEED, EG, "GET /s HTTP/1.1\r\nHost: h\r\n\r\n", 0, 10},
	    {FEED, IN, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstream", 0, 20},
	    {FEED, IN, "ing", 0, 30},
	    {CLOSE, 0, NULL, 0, 40},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->role, AS_ROLE_CLIENT);
	assert_body(&o->x[0]->resp, "streaming");
	assert_int_equal(o->x[0]->flags, 0);
	out_free(o);
}

/* A server that answers before the request body is in: paired, latency 0. */
static void test_early_response(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "POST /up HTTP/1.1\r\nContent-Length: 6\r\n\r\nabc", 0, 10},
	    {FEED, EG, "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n", 0, 20},
	    {FEED, IN, "def", 0, 30},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->status, 413);
	assert_body(&o->x[0]->req, "abcdef");
	assert_int_equal(o->x[0]->latency_ns, 0);
	assert_int_equal(o->x[0]->resp_time_ns, 20);
	out_free(o);
}

/* A lower max_header_bytes is honoured, and a head just under it passes. */
static void test_small_header_limit(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /a HTTP/1.1\r\nX: 12345\r\n\r\n", 0, 10},
	    {FEED, EG, "HTTP/1.1 200 OK\r\n\r\n", 0, 20},
	    {FEED, IN, "GET /b HTTP/1.1\r\nX: 123456\r\n\r\n", 0, 30},
	    {CLOSE, 0, NULL, 0, 40},
	};
	struct http1_opts op = {.max_header_bytes = 29};
	struct out *o = RUN_O(&op, s);

	(void)state;
	/* /a: 17 + 10 + 2 = 29 bytes, the limit; /b: 30, over it */
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/a");
	assert_body(&o->x[0]->resp, "");
	assert_int_equal(o->st.ambiguous[HTTP1_AMB_HEADERS_TOO_BIG], 1);
	out_free(o);
}

/* ---- the same bytes, cut differently (issue 13) ------------------------ */

/* fuzz_http1's small limits: options byte bit 0 */
static const struct http1_opts fz_small = {
    .max_body = 16, .max_header_bytes = 128, .max_pending = 2};

/* The four inputs fuzz_http1 aborted on (tests/fuzz/corpus/fuzz_http1/repro_*),
 * as scripts: records of the fuzzer, one step each, timed as it times them. */
/* crash-3da3a94bccd828ce291d13bc6a7b84b9b3ff4924: options byte 0x25 */
static const struct step repro_role_peek[] = {
    {FEED, EG, "H", 1, 11},
    {FEED, EG,
     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
     "\xff$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$$"
     "$$$$$$$$$\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
     "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
     "\xff\xff\xff\xff\xff\xff\x43\x30\r\n\r\n\x01\x01",
     206, 21},
    {CLOSE, 0, NULL, 0, 22},
};

/* crash-727a721d49c5ad77dd4da6966b7e00decea37101: options byte 0x25 */
static const struct step repro_upgrade_chunked[] = {
    {FEED, EG, "H", 1, 11},
    {GAP, IN, NULL, 0, 21, 206},
    {GAP, IN, NULL, 0, 31, 206},
    {GAP, IN, NULL, 0, 41, 206},
    {GAP, IN, NULL, 0, 51, 206},
    {FEED, EG,
     "\xcd\xcd\x82\xcd\xcd\xcd\xcd\xcd\xcd\xcd\xcd\xcd\xd2\xcdTTP/1.\x00"
     "\x00%HT\x00\x01\x46POST /u HTTP/1.1\r\nTransfer-Encoding: chunkTP/1.1"
     "\r\nUpgrade: webs\xff\xff\xff\xffocket\r\n\r\n\x00\x1cHTTP/1.1 10TP/d"
     "y\x01\x00\x09\x00\xb8\x00\x31 Switchin\x9f\red\r\n\r\n3;e=1\r\nabch\r"
     "\n0",
     160, 61},
    {CLOSE, 0, NULL, 0, 62},
};

/* crash-89bee74c71f28c25bfe1562139ca97f297a04132: options byte 0x25 */
static const struct step repro_headers_too_big[] = {
    {FEED, EG, "H", 1, 11},
    {GAP, IN, NULL, 0, 21, 1},
    {GAP, IN, NULL, 0, 31, 206},
    {GAP, IN, NULL, 0, 41, 85},
    {FEED, EG,
     "P/0.\x00\x00%HTTP/1.2________________________________________________"
     "_______________________________________________________\x00\x00\x00"
     "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
     "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00__ 200 OKCt:\ron\net-"
     "Length: 9\xea\n\r\n\x01\x13HEAD / hHTT\xb2\x62ody\x01\x00\x09\x00\x00"
     "\x00\x00\x00\xb8\x00",
     210, 51},
    {CLOSE, 0, NULL, 0, 52},
};

/* b90d6881acd793673d46c38a206f154f0f8f4d57: options byte 0x25 */
static const struct step repro_older_bytes_first[] = {
    {FEED, IN, "H", 1, 11},
    {GAP, IN, NULL, 0, 21, 206},
    {FEED, IN, "\x00\x00%HTTP1\xae 2HTTP/aT\x01", 19, 31},
    {FEED, IN,
     "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nPUT \xd8\xcc\xdf\xb7"
     "\xab\xab\xaf\xd0\x31.1\r\nColtent-Length: 20\r\n\r\n0123",
     81, 41},
    {GAP, IN, NULL, 0, 51, 10},
    {FEED, IN, "456789GET /4 HTTP/1.1\r\n\r\n", 25, 61},
    {FEED, EG, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2 No\xcd\x00\xcd/", 42, 71},
    {CLOSE, 0, NULL, 0, 72},
};

#define RUN_FZ(steps) run_opts(&fz_small, steps, sizeof(steps) / sizeof(steps[0]), false)

/* "H" then a long line: the role peek waited on one byte, and the next feed
 * was held whole and overflowed the hold, where byte by byte it was parsed;
 * now the over-long first line is headers-too-big however it is cut. */
static void test_repro_role_peek_hold(void **state)
{
	struct out *o = RUN_FZ(repro_role_peek);

	(void)state;
	assert_int_equal(o->st.hold_overflow, 0);
	assert_int_equal(o->st.ambiguous[HTTP1_AMB_HEADERS_TOO_BIG], 1);
	assert_int_equal(o->st.parse_errors, 0);
	out_free(o);
}

/* The same cause, seen as a chunked Upgrade request with a 101 after it:
 * the first message is garbage and gives the conn up in every cut, with no
 * hold overflow counted first. */
static void test_repro_upgrade_chunked_hold(void **state)
{
	struct out *o = RUN_FZ(repro_upgrade_chunked);

	(void)state;
	assert_int_equal(o->st.hold_overflow, 0);
	assert_int_equal(o->st.parse_errors, 1);
	assert_int_equal(o->st.upgrades, 0);
	assert_int_equal(o->n, 0);
	out_free(o);
}

/* The header-size limit: headers-too-big in every cut, never a parse error
 * from a hold overflow in one and the limit in another. */
static void test_repro_headers_too_big_hold(void **state)
{
	struct out *o = RUN_FZ(repro_headers_too_big);

	(void)state;
	assert_int_equal(o->st.hold_overflow, 0);
	assert_int_equal(o->st.parse_errors, 0);
	assert_int_equal(o->st.ambiguous[HTTP1_AMB_HEADERS_TOO_BIG], 1);
	assert_int_equal(o->st.partial_dropped, 1);
	out_free(o);
}

/* Found by the stronger fuzz_http1 (three cuts): requests that waited for
 * the role were parsed before the response that told it when the response
 * came in one feed, interleaved with it when it came byte by byte, so the
 * third request overflowed max_pending in one run only. Bytes are now
 * parsed oldest first: the three requests came first, the third is over
 * the cap of two in every cut. */
static void test_repro_older_bytes_first(void **state)
{
	struct out *o = RUN_FZ(repro_older_bytes_first);

	(void)state;
	assert_int_equal(o->st.requests, 3);
	assert_int_equal(o->st.pending_overflow, 1);
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->target, "/1");
	assert_string_equal(o->x[1]->target, "/2");
	out_free(o);
}

/* The role peek takes its bytes one by one: a request beginning with "H"
 * fed alone, then more than the hold can take, is parsed, not held. */
static void test_role_peek_then_big_feed(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "H", 0, 10},
	    {FEED, IN,
	     "EAD /h HTTP/1.1\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 100\r\n\r\n"
	     "0123456789012345678901234567890123456789012345678901234567890123456789"
	     "012345678901234567890123456789",
	     0, 20},
	    {FEED, EG,
	     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
	     "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
	     0, 30},
	    {CLOSE, 0, NULL, 0, 40},
	};
	struct out *o = RUN_O(&fz_small, s);

	(void)state;
	assert_int_equal(o->st.hold_overflow, 0);
	assert_int_equal(o->st.parse_errors, 0);
	assert_int_equal(o->n, 2);
	assert_string_equal(o->x[0]->method, "HEAD");
	assert_int_equal(o->x[0]->status, 200);
	assert_int_equal(o->x[0]->req_time_ns, 10);
	assert_string_equal(o->x[1]->target, "/p");
	assert_int_equal(o->x[1]->status, 201);
	assert_int_equal(o->x[1]->req.body_true_len, 100);
	assert_int_equal(o->x[1]->req.body_len, 16);
	out_free(o);
}

/* A response held before its request, then more of it than the hold takes
 * in one feed: it overflows at the same byte as when fed byte by byte. */
static void test_hold_overflow_same_byte(void **state)
{
	static const struct step s[] = {
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n", 0, 10},
	    {FEED, EG,
	     "0123456789012345678901234567890123456789012345678901234567890123456789"
	     "0123456789012345678901234567890123456789012345678901234567890123456789"
	     "012345678901234567890123456789012345678901234567890123456789",
	     0, 20},
	    {FEED, IN, "GET / HTTP/1.1\r\n\r\n", 0, 30},
	    {CLOSE, 0, NULL, 0, 40},
	};
	struct out *o = RUN_O(&fz_small, s);

	(void)state;
	assert_int_equal(o->st.hold_overflow, 1);
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->status, 0);
	out_free(o);
}

/* ---- mid-stream, close ------------------------------------------------- */

static void test_midstream(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "dy of an earlier request\r\nContent-Length: 3\r\n\r\nabc", 0, 10},
	    {FEED, EG, "gment\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nX", 0, 15},
	    {FEED, IN, "GET /a HTTP/1.1\r\n\r\n", 0, 20},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nY", 0, 30},
	};
	struct out *o = RUN_MID(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_string_equal(o->x[0]->target, "/a");
	assert_body(&o->x[0]->resp, "Y");
	assert_int_equal(o->x[0]->flags, AS_X_MIDSTREAM);
	assert_int_equal(o->x[0]->role, AS_ROLE_SERVER);
	assert_int_equal(o->st.parse_errors, 0);
	assert_int_equal(o->st.resyncs, 0);
	assert_int_equal(o->st.unpaired_responses, 1);
	out_free(o);
}

static void test_close_emits_waiting(void **state)
{
	static const struct step s[] = {
	    {FEED, IN,
	     "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\n"
	     "Content-Length: 10\r\n\r\nabc",
	     0, 10},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 x\r\n", 0, 20},
	    {CLOSE, 0, NULL, 0, 30},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 3);
	assert_int_equal(o->x[0]->status, 200);
	assert_int_equal(o->x[1]->status, 0);
	assert_null(o->x[1]->reason);
	assert_int_equal(o->x[1]->flags, AS_X_NO_RESPONSE);
	assert_string_equal(o->x[2]->target, "/c");
	assert_body(&o->x[2]->req, "abc");
	assert_int_equal(o->x[2]->flags, AS_X_NO_RESPONSE | AS_X_REQ_GAP | AS_X_REQ_TRUNCATED);
	assert_int_equal(o->st.no_response, 1);
	assert_int_equal(o->st.partial_dropped, 1);
	out_free(o);
}

/* ---- hostile ------------------------------------------------------------ */

static void test_body_cap(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", 0, 10},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 20},
	};
	struct http1_opts op = {.max_body = 4};
	struct out *o = RUN_O(&op, s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_body(&o->x[0]->req, "0123");
	assert_int_equal(o->x[0]->req.body_true_len, 10);
	assert_int_equal(o->x[0]->flags, AS_X_REQ_TRUNCATED);
	assert_int_equal(o->st.truncated_bodies, 1);
	out_free(o);
}

static void test_nul_and_bad_cl(void **state)
{
	static const struct step s[] = {
	    {FEED, IN, "GET /ok HTTP/1.1\r\n\r\n", 0, 1},
	    {FEED, EG, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 2},
	    {FEED, IN, "GET /n HTTP/1.1\r\nX: a\0b\r\n\r\n", 27, 10},
	    {FEED, IN, "POST /m HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 0, 20},
	    {FEED, IN, "POST /o HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0,
	     30},
	    {FEED, IN, "POST /p HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", 0, 40},
	    {CLOSE, 0, NULL, 0, 50},
	};
	struct out *o = RUN(s);

	(void)state;
	assert_int_equal(o->n, 1);
	assert_int_equal(o->st.parse_errors, 4);
	assert_int_equal(o->st.resyncs, 3);
	assert_int_equal(o->st.partial_dropped, 4);
	out_free(o);
}

static void test_huge_header_alone(void **state)
{
	size_t n = 100000, i;
	char *big = malloc(n + 1);
	struct step s[1];
	struct out *o;

	(void)state;
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	for (i = 19; i < n; i++)
		big[i] = 'q';
	big[n] = '\0';
	s[0] = (struct step){FEED, IN, big, 0, 1};
	o = run_opts(NULL, s, 1, false);
	/* first message of the conn: not HTTP/1 we can use; given up */
	assert_int_equal(o->n, 0);
	assert_int_equal(o->st.ambiguous[HTTP1_AMB_HEADERS_TOO_BIG], 1);
	out_free(o);
	free(big);
}

static void test_pipeline_1000_overflow(void **state)
{
	size_t i, rl = strlen("GET /p HTTP/1.1\r\n\r\n");
	size_t sl = strlen("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
	char *reqs = malloc(1000 * rl + 1), *resps = malloc(1000 * sl + 1);
	struct step s[4];
	struct out *o;

	(void)state;
	for (i = 0; i < 1000; i++) {
		memcpy(reqs + i * rl, "GET /p HTTP/1.1\r\n\r\n", rl);
		memcpy(resps + i * sl, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", sl);
	}
	reqs[1000 * rl] = resps[1000 * sl] = '\0';
	s[0] = (struct step){FEED, IN, reqs, 0, 1};
	s[1] = (struct step){FEED, EG, resps, 0, 2};
	s[2] = (struct step){FEED, IN, "GET /last HTTP/1.1\r\n\r\n", 0, 3};
	s[3] = (struct step){FEED, EG, "HTTP/1.1 201 Last\r\nContent-Length: 0\r\n\r\n", 0, 4};
	o = run_opts(NULL, s, 4, false);
	assert_int_equal(o->st.requests, 1001);
	assert_int_equal(o->st.pending_overflow, 936);
	/* the first 64 pair, the answers to the 936 dropped are skipped in
	 * turn, and the next request still gets its own answer */
	assert_int_equal(o->n, 65);
	assert_int_equal(o->x[63]->status, 200);
	assert_string_equal(o->x[64]->target, "/last");
	assert_int_equal(o->x[64]->status, 201);
	assert_string_equal(o->x[64]->reason, "Last");
	assert_int_equal(o->st.responses, 1001);
	assert_int_equal(o->st.unpaired_responses, 0);
	out_free(o);
	free(reqs);
	free(resps);
}

static void test_hold_overflow(void **state)
{
	size_t n = 200000;
	char *big = malloc(n + 1);
	struct step s[3];
	struct out *o;
	int k;

	(void)state;
	k = snprintf(big, 100, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
	memset(big + k, 'b', n - (size_t)k);
	big[n] = '\0';
	s[0] = (struct step){FEED, EG, big, 0, 1};
	s[1] = (struct step){FEED, IN, "GET / HTTP/1.1\r\n\r\n", 0, 2};
	s[2] = (struct step){CLOSE, 0, NULL, 0, 3};
	o = run_opts(NULL, s, 3, false);
	assert_int_equal(o->st.hold_overflow, 1);
	assert_int_equal(o->n, 1);
	assert_int_equal(o->x[0]->status, 0);
	out_free(o);
	free(big);
}

/* No callback and no stats: exchanges are freed, nothing leaks (ASan). */
static void test_no_callback_no_stats(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct http1_conn *c = http1_conn_new(NULL, NULL, NULL, NULL);

	(void)state;
	assert_non_null(c);
	assert_int_equal(http1_conn_feed(c, IN, req, sizeof(req) - 1, 1), 0);
	assert_int_equal(http1_conn_feed(c, EG, resp, sizeof(resp) - 1, 2), 0);
	assert_int_equal(http1_conn_feed(c, 7, resp, 1, 3), -EINVAL);
	assert_int_equal(http1_conn_dead(c), 0);
	http1_conn_close(c, 4);
	assert_int_equal(http1_conn_dead(c), 1);
	assert_int_equal(http1_conn_feed(c, IN, req, sizeof(req) - 1, 5), -EPROTO);
	http1_conn_free(c);
}

static void test_names_and_null(void **state)
{
	(void)state;
	assert_string_equal(http1_ambiguity_name(HTTP1_AMB_CL_AND_TE), "cl_and_te");
	assert_string_equal(http1_ambiguity_name(HTTP1_AMB_HEADERS_TOO_BIG), "headers_too_big");
	assert_string_equal(http1_ambiguity_name(HTTP1_AMB_NR), "unknown");
	http1_conn_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_get),
	    cmocka_unit_test(test_client_role_and_wall_offset),
	    cmocka_unit_test(test_http10_close_delimited),
	    cmocka_unit_test(test_chunked_with_trailers_and_ext),
	    cmocka_unit_test(test_bodyless_by_rule),
	    cmocka_unit_test(test_100_continue),
	    cmocka_unit_test(test_pipelining_fifo),
	    cmocka_unit_test(test_keepalive_many),
	    cmocka_unit_test(test_response_before_request),
	    cmocka_unit_test(test_response_before_request_get),
	    cmocka_unit_test(test_upgrade_101),
	    cmocka_unit_test(test_upgrade_refused_goes_on),
	    cmocka_unit_test(test_connect),
	    cmocka_unit_test(test_http2_preface),
	    cmocka_unit_test(test_not_http_gives_up),
	    cmocka_unit_test(test_garbage_resync_no_wrong_pairing),
	    cmocka_unit_test(test_amb_cl_and_te),
	    cmocka_unit_test(test_amb_dup_cl),
	    cmocka_unit_test(test_amb_obs_fold),
	    cmocka_unit_test(test_amb_bare_lf),
	    cmocka_unit_test(test_amb_bare_cr),
	    cmocka_unit_test(test_amb_space_before_colon),
	    cmocka_unit_test(test_amb_chunk_junk),
	    cmocka_unit_test(test_amb_chunk_too_long),
	    cmocka_unit_test(test_amb_headers_too_big),
	    cmocka_unit_test(test_amb_chunk_ext_accepted),
	    cmocka_unit_test(test_same_cl_twice_is_fine),
	    cmocka_unit_test(test_gap_in_body_absorbed),
	    cmocka_unit_test(test_gap_in_headers_resyncs),
	    cmocka_unit_test(test_gap_in_headers_pipelined_never_guessed),
	    cmocka_unit_test(test_resync_inside_line),
	    cmocka_unit_test(test_gap_loses_whole_response),
	    cmocka_unit_test(test_gap_after_pipelining_never_pairs),
	    cmocka_unit_test(test_gap_behind_held_bytes),
	    cmocka_unit_test(test_gap_past_body_end_resyncs),
	    cmocka_unit_test(test_gap_in_response_head),
	    cmocka_unit_test(test_close_delimited_11),
	    cmocka_unit_test(test_early_response),
	    cmocka_unit_test(test_small_header_limit),
	    cmocka_unit_test(test_repro_role_peek_hold),
	    cmocka_unit_test(test_repro_upgrade_chunked_hold),
	    cmocka_unit_test(test_repro_headers_too_big_hold),
	    cmocka_unit_test(test_repro_older_bytes_first),
	    cmocka_unit_test(test_role_peek_then_big_feed),
	    cmocka_unit_test(test_hold_overflow_same_byte),
	    cmocka_unit_test(test_midstream),
	    cmocka_unit_test(test_close_emits_waiting),
	    cmocka_unit_test(test_body_cap),
	    cmocka_unit_test(test_nul_and_bad_cl),
	    cmocka_unit_test(test_huge_header_alone),
	    cmocka_unit_test(test_pipeline_1000_overflow),
	    cmocka_unit_test(test_hold_overflow),
	    cmocka_unit_test(test_no_callback_no_stats),
	    cmocka_unit_test(test_names_and_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
