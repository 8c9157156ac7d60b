// SPDX-License-Identifier: BSD-2-Clause
/* The capture budget: the token bucket's arithmetic (the header the kernel
 * programs use), and the restart of the HTTP/1 parser at an exchange
 * boundary after a skipped range, through the connection tracker. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/sensor/budget.h"
#include "apisonar/sensor/conntrack.h"
#include "apisonar/sensor/proto/http1.h"

#define SEC 1000000000ull

/* ---- the bucket ----------------------------------------------------------- */

static void test_bucket_starts_full_then_refills(void **state)
{
	struct as_bucket b = { 0 };
	uint64_t t = 5 * SEC;
	int i, got = 0;

	(void)state;
	/* 2 exchanges/s (2000 milli), burst 3: three at once, then none. */
	for (i = 0; i < 10; i++)
		got += as_bucket_take(&b, t, 2000, 3);
	assert_int_equal(got, 3);
	/* Half a second later one more, a quarter of a second later none. */
	assert_int_equal(as_bucket_take(&b, t + SEC / 2, 2000, 3), 1);
	assert_int_equal(as_bucket_take(&b, t + SEC / 2 + SEC / 4, 2000, 3), 0);
	/* The credit of that quarter second was kept: another quarter gives one. */
	assert_int_equal(as_bucket_take(&b, t + SEC, 2000, 3), 1);
	assert_int_equal(as_bucket_take(&b, t + SEC, 2000, 3), 0);
}

static void test_bucket_caps_at_burst(void **state)
{
	struct as_bucket b = { 0 };
	int i, got = 0;

	(void)state;
	assert_int_equal(as_bucket_take(&b, SEC, 1000, 2), 1);
	assert_int_equal(as_bucket_take(&b, SEC, 1000, 2), 1);
	assert_int_equal(as_bucket_take(&b, SEC, 1000, 2), 0);
	/* An hour idle refills to the burst, not to 3600 exchanges. */
	for (i = 0; i < 10; i++)
		got += as_bucket_take(&b, SEC + 3600 * SEC, 1000, 2);
	assert_int_equal(got, 2);
}

static void test_bucket_exact_rate_over_time(void **state)
{
	struct as_bucket b = { 0 };
	uint64_t t, step = SEC / 1000; /* a request every millisecond */
	int got = 0;

	(void)state;
	/* 0.5 exchanges/s (500 milli), burst 1, for 100 s of 1000 req/s:
	 * 1 at start + 50 refills. */
	for (t = SEC; t <= 101 * SEC; t += step)
		got += as_bucket_take(&b, t, 500, 1);
	assert_int_equal(got, 51);
}

static void test_bucket_extremes(void **state)
{
	struct as_bucket b = { 0 };

	(void)state;
	/* Rate and burst past their caps are clamped, never overflow. */
	assert_int_equal(as_bucket_take(&b, SEC, UINT64_MAX, UINT64_MAX), 1);
	assert_true(b.credit <= AS_BUDGET_MAX_BURST * AS_BUDGET_COST);
	assert_int_equal(as_bucket_take(&b, UINT64_MAX, UINT64_MAX, UINT64_MAX), 1);
	/* Time going backwards (another CPU's clock read) takes from credit only. */
	b.credit = 0;
	b.last_ns = 10 * SEC;
	assert_int_equal(as_bucket_take(&b, 9 * SEC, 1000, 1), 0);
	assert_int_equal(b.last_ns, 10 * SEC);
	/* Burst 0 means 1. */
	memset(&b, 0, sizeof(b));
	assert_int_equal(as_bucket_take(&b, SEC, 1000, 0), 1);
	assert_int_equal(as_bucket_take(&b, SEC, 1000, 0), 0);
}

static void test_rate_split(void **state)
{
	(void)state;
	assert_int_equal(as_budget_rate_milli(0, 4), 0);        /* unlimited stays so */
	assert_int_equal(as_budget_rate_milli(200, 2), 100000); /* 100/s per CPU */
	assert_int_equal(as_budget_rate_milli(1, 3), 334);      /* rounded up: sum >= 1/s */
	assert_int_equal(as_budget_rate_milli(5, 0), 5000);     /* 0 CPUs counts as 1 */
	assert_int_equal(as_budget_rate_milli(2000000, 1), AS_BUDGET_MAX_MILLI);
}

static uint64_t key_of(const char *s)
{
	size_t n = strlen(s);

	return as_request_key((const uint8_t *)s, (uint32_t)(n > AS_NOVEL_BYTES ? AS_NOVEL_BYTES : n));
}

static void test_request_key(void **state)
{
	(void)state;
	/* Method and path; the query, the version and ids do not count. */
	assert_true(key_of("GET /users/42 HTTP/1.1\r\n") == key_of("GET /users/43 HTTP/1.1\r\n"));
	assert_true(key_of("GET /users/42/orders HTTP/1.1") == key_of("GET /users/7/x HTTP/1.1"));
	assert_true(key_of("GET /a?x=1 HTTP/1.1") == key_of("GET /a?y=2 HTTP/1.0"));
	assert_true(key_of("GET /a HTTP/1.1") == key_of("GET /a HTTP/1.0"));
	assert_true(key_of("GET /a#f HTTP/1.1") == key_of("GET /a HTTP/1.1"));
	/* a digit inside a segment is part of the name */
	assert_true(key_of("GET /v1/items HTTP/1.1") != key_of("GET /v2/items HTTP/1.1"));
	assert_true(key_of("GET /a HTTP/1.1") != key_of("POST /a HTTP/1.1"));
	assert_true(key_of("GET /rare1k HTTP/1.1") != key_of("GET /rare10k HTTP/1.1"));
	assert_true(key_of("GET /api/list HTTP/1.1") != key_of("GET /api/info HTTP/1.1"));
	/* only the first AS_NOVEL_BYTES bytes are read */
#define LONG_PATH "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	assert_true(key_of(LONG_PATH "/x HTTP/1.1") == key_of(LONG_PATH "/y HTTP/1.1"));
	assert_true(as_request_key((const uint8_t *)"GET /a", 0) ==
		    as_request_key((const uint8_t *)"POST /b", 0));
}

/* ---- the restart -------------------------------------------------------- */

#define MAXX 16

struct rig {
	struct conntrack *ct;
	struct http1_stats st;
	struct as_exchange *x[MAXX];
	int n;
	uint64_t skipped, restart_cut;
	struct http1_conn *h;
};

static void on_x(void *ctx, struct as_exchange *x)
{
	struct rig *r = ctx;

	if (r->n < MAXX)
		r->x[r->n++] = x;
	else
		as_exchange_free(x);
}

static void *s_open(void *ctx, const struct ct_info *info)
{
	struct rig *r = ctx;

	(void)info;
	r->h = http1_conn_new(NULL, &r->st, on_x, r);
	return r;
}

static void s_data(void *conn, int dir, const void *buf, size_t len, uint64_t ts)
{
	struct rig *r = conn;

	http1_conn_feed(r->h, dir, buf, len, ts);
}

static void s_gap(void *conn, int dir, uint64_t missing, uint64_t ts)
{
	struct rig *r = conn;

	http1_conn_gap(r->h, dir, missing, ts);
}

static void s_skip(void *conn, uint64_t exchanges, uint64_t ts)
{
	struct rig *r = conn;

	(void)ts;
	r->skipped += exchanges;
	r->restart_cut += http1_conn_restart(r->h);
}

static void s_close(void *conn, uint64_t ts)
{
	struct rig *r = conn;

	http1_conn_close(r->h, ts);
	http1_conn_free(r->h);
	r->h = NULL;
}

static struct rig *rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct ct_sink sink = { s_open, s_data, s_gap, s_close, NULL, s_skip };

	assert_non_null(r);
	sink.ctx = r;
	r->ct = ct_new(NULL, &sink);
	assert_non_null(r->ct);
	return r;
}

static void rig_free(struct rig *r)
{
	int i;

	ct_free(r->ct);
	for (i = 0; i < r->n; i++)
		as_exchange_free(r->x[i]);
	free(r);
}

/* Stream positions per direction, as the kernel keeps them. */
static uint64_t pos[2];

static void data(struct rig *r, int dir, const char *s, uint64_t ts)
{
	unsigned char buf[sizeof(struct as_event) + 512];
	struct as_event *ev = (struct as_event *)buf;
	size_t n = strlen(s);

	memset(ev, 0, sizeof(*ev));
	ev->type = AS_EV_DATA;
	ev->conn_id = 9;
	ev->dir = (uint8_t)dir;
	ev->pos = pos[dir];
	ev->len = ev->copied = (uint32_t)n;
	ev->ts_ns = ts;
	ev->flags = AS_F_ACCEPTED;
	memcpy(buf + sizeof(*ev), s, n);
	assert_int_equal(ct_event(r->ct, buf, sizeof(*ev) + n, ts), 0);
	pos[dir] += n;
}

/* Bytes the kernel saw and did not copy: only the positions move. */
static void skipped(int dir, const char *s)
{
	pos[dir] += strlen(s);
}

static void skip_notice(struct rig *r, const uint64_t from[2], uint64_t exchanges, uint64_t ts)
{
	unsigned char buf[sizeof(struct as_event) + sizeof(struct as_skip)];
	struct as_event *ev = (struct as_event *)buf;
	struct as_skip sk;

	memset(ev, 0, sizeof(*ev));
	ev->type = AS_EV_SKIP;
	ev->conn_id = 9;
	ev->len = ev->copied = sizeof(sk);
	ev->ts_ns = ts;
	ev->flags = AS_F_ACCEPTED;
	sk.from[0] = from[0];
	sk.from[1] = from[1];
	sk.to[0] = pos[0];
	sk.to[1] = pos[1];
	sk.exchanges = exchanges;
	memcpy(buf + sizeof(*ev), &sk, sizeof(sk));
	assert_int_equal(ct_event(r->ct, buf, sizeof(buf), ts), 0);
}

#define REQ(p) "GET " p " HTTP/1.1\r\nHost: h\r\n\r\n"
#define RESP(b) "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n" b

static void test_restart_after_skipped_range(void **state)
{
	struct rig *r = rig_new();
	uint64_t from[2];

	(void)state;
	memset(pos, 0, sizeof(pos));
	data(r, AS_DIR_INGRESS, REQ("/one"), 1);
	data(r, AS_DIR_EGRESS, RESP("one"), 2);
	/* Two exchanges skipped whole, one with its response in two writes. */
	from[0] = pos[0];
	from[1] = pos[1];
	skipped(AS_DIR_INGRESS, REQ("/two"));
	skipped(AS_DIR_EGRESS, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
	skipped(AS_DIR_EGRESS, "two");
	skipped(AS_DIR_INGRESS, REQ("/three"));
	skipped(AS_DIR_EGRESS, RESP("thr"));
	skip_notice(r, from, 2, 3);
	data(r, AS_DIR_INGRESS, REQ("/four"), 4);
	data(r, AS_DIR_EGRESS, RESP("fou"), 5);

	assert_int_equal(r->n, 2);
	assert_string_equal(r->x[0]->target, "/one");
	assert_memory_equal(r->x[0]->resp.body, "one", 3);
	assert_string_equal(r->x[1]->target, "/four");
	assert_int_equal(r->x[1]->status, 200);
	assert_memory_equal(r->x[1]->resp.body, "fou", 3);
	assert_int_equal(r->x[1]->resp.body_true_len, 3);
	assert_int_equal(r->x[1]->flags, 0);
	assert_int_equal(r->skipped, 2);
	assert_int_equal(r->restart_cut, 0);
	/* no loss, no guessing */
	assert_int_equal(ct_stats(r->ct)->gaps, 0);
	assert_int_equal(ct_stats(r->ct)->skipped_exchanges, 2);
	assert_int_equal(ct_stats(r->ct)->skipped_bytes,
			 strlen(REQ("/two")) + strlen(REQ("/three")) + 2 * strlen(RESP("xyz")));
	assert_int_equal(r->st.gaps, 0);
	assert_int_equal(r->st.resyncs, 0);
	assert_int_equal(r->st.parse_errors, 0);
	assert_int_equal(r->st.unpaired_responses, 0);
	assert_int_equal(r->st.restarts, 1);
	rig_free(r);
}

/* A captured request whose answer fell in the skipped range (the server
 * read it, then the next exchange started before it wrote): dropped at the
 * restart and counted, never paired with a later response. */
static void test_restart_drops_a_request_cut_off(void **state)
{
	struct rig *r = rig_new();
	uint64_t from[2];

	(void)state;
	memset(pos, 0, sizeof(pos));
	data(r, AS_DIR_INGRESS, REQ("/one"), 1);
	from[0] = pos[0];
	from[1] = pos[1];
	skipped(AS_DIR_EGRESS, RESP("one"));
	skipped(AS_DIR_INGRESS, REQ("/two"));
	skipped(AS_DIR_EGRESS, RESP("two"));
	skip_notice(r, from, 1, 2);
	data(r, AS_DIR_INGRESS, REQ("/three"), 3);
	data(r, AS_DIR_EGRESS, RESP("thr"), 4);

	assert_int_equal(r->n, 1);
	assert_string_equal(r->x[0]->target, "/three");
	assert_memory_equal(r->x[0]->resp.body, "thr", 3);
	assert_int_equal(r->restart_cut, 1);
	assert_int_equal(r->st.restart_dropped, 1);
	assert_int_equal(r->st.unpaired_responses, 0);
	rig_free(r);
}

/* Bytes lost before the skipped range (a full ring buffer) stay a gap; the
 * range itself is not one. */
static void test_loss_before_range_is_a_gap(void **state)
{
	struct rig *r = rig_new();
	uint64_t from[2];

	(void)state;
	memset(pos, 0, sizeof(pos));
	data(r, AS_DIR_INGRESS, REQ("/one"), 1);
	pos[AS_DIR_EGRESS] += 10; /* lost, not skipped */
	from[0] = pos[0];
	from[1] = pos[1];
	skipped(AS_DIR_INGRESS, REQ("/two"));
	skipped(AS_DIR_EGRESS, RESP("two"));
	skip_notice(r, from, 1, 2);
	data(r, AS_DIR_INGRESS, REQ("/three"), 3);
	data(r, AS_DIR_EGRESS, RESP("thr"), 4);

	assert_int_equal(ct_stats(r->ct)->gaps, 1);
	assert_int_equal(ct_stats(r->ct)->gap_bytes, 10);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->x[0]->target, "/three");
	rig_free(r);
}

static void test_bad_skip_notice(void **state)
{
	struct rig *r = rig_new();
	unsigned char buf[sizeof(struct as_event) + sizeof(struct as_skip)];
	struct as_event *ev = (struct as_event *)buf;
	struct as_skip sk = { .from = { 5, 0 }, .to = { 4, 0 }, .exchanges = 1 };

	(void)state;
	memset(ev, 0, sizeof(*ev));
	ev->type = AS_EV_SKIP;
	ev->conn_id = 3;
	ev->len = ev->copied = sizeof(sk);
	memcpy(buf + sizeof(*ev), &sk, sizeof(sk));
	assert_int_equal(ct_event(r->ct, buf, sizeof(buf), 1), -EINVAL); /* backwards */
	assert_int_equal(ct_event(r->ct, buf, sizeof(buf) - 1, 1), -EINVAL); /* short */
	assert_int_equal(ct_stats(r->ct)->bad_events, 2);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_starts_full_then_refills),
		cmocka_unit_test(test_bucket_caps_at_burst),
		cmocka_unit_test(test_bucket_exact_rate_over_time),
		cmocka_unit_test(test_bucket_extremes),
		cmocka_unit_test(test_rate_split),
		cmocka_unit_test(test_request_key),
		cmocka_unit_test(test_restart_after_skipped_range),
		cmocka_unit_test(test_restart_drops_a_request_cut_off),
		cmocka_unit_test(test_loss_before_range_is_a_gap),
		cmocka_unit_test(test_bad_skip_notice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
