// SPDX-License-Identifier: BSD-2-Clause
/* The connection tracker: ordering by position, gaps, truncation, GC and
 * caps, checked through a sink that records what it is told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/sensor/conntrack.h"

#define MS 1000000ull

/* What a sink saw for one connection, as text: "d0:abc g0:3 d1:xy C". */
struct rconn {
	uint64_t id;
	char log[4096];
	size_t len;
	int closed;
};

struct recorder {
	struct rconn conns[64];
	int n;
	int freed;
};

static void logf_(struct rconn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->log + c->len, sizeof(c->log) - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len += (size_t)n;
}

static void *r_open(void *ctx, const struct ct_info *info)
{
	struct recorder *r = ctx;
	struct rconn *c = &r->conns[r->n++];

	c->id = info->conn_id;
	return c;
}

static void r_data(void *conn, int dir, const void *buf, size_t len, uint64_t ts)
{
	logf_(conn, "d%d:%.*s ", dir, (int)len, (const char *)buf);
}

static void r_gap(void *conn, int dir, uint64_t missing, uint64_t ts)
{
	logf_(conn, "g%d:%llu ", dir, (unsigned long long)missing);
}

static void r_close(void *conn, uint64_t ts)
{
	struct rconn *c = conn;

	logf_(c, "C");
	c->closed++;
}

struct fixture {
	struct recorder rec;
	struct conntrack *ct;
	struct ct_limits lim;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ct_sink sink = { r_open, r_data, r_gap, r_close, NULL };

	ct_limits_default(&f->lim);
	f->lim.max_conns = 4;
	f->lim.max_pending_bytes = 1024;
	f->lim.reorder_wait_ns = 100 * MS;
	f->lim.idle_ns = 1000 * MS;
	sink.ctx = &f->rec;
	f->ct = ct_new(&f->lim, &sink);
	*state = f;
	return f->ct ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ct_free(f->ct);
	free(f);
	return 0;
}

/* Feeds one data event: `copied` bytes of s, claiming `len` moved. */
static int feed(struct fixture *f, uint64_t id, int dir, uint64_t pos, const char *s,
		uint32_t len, uint64_t now)
{
	unsigned char buf[sizeof(struct as_event) + 256];
	struct as_event *ev = (struct as_event *)buf;
	uint32_t copied = (uint32_t)strlen(s);

	memset(ev, 0, sizeof(*ev));
	ev->type = AS_EV_DATA;
	ev->conn_id = id;
	ev->dir = (uint8_t)dir;
	ev->pos = pos;
	ev->len = len ? len : copied;
	ev->copied = copied;
	ev->ts_ns = now;
	ev->tgid = 42;
	memcpy(buf + sizeof(*ev), s, copied);
	return ct_event(f->ct, buf, sizeof(*ev) + copied, now);
}

static void close_ev(struct fixture *f, uint64_t id, uint64_t now)
{
	struct as_event ev = { .type = AS_EV_CLOSE, .conn_id = id, .ts_ns = now };

	assert_int_equal(ct_event(f->ct, &ev, sizeof(ev), now), 0);
}

static void test_in_order(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(feed(f, 1, 1, 0, "GET ", 0, 1), 0);
	assert_int_equal(feed(f, 1, 1, 4, "/ HTTP", 0, 2), 0);
	assert_int_equal(feed(f, 1, 0, 0, "HTTP/1.1", 0, 3), 0);
	close_ev(f, 1, 4);
	assert_int_equal(f->rec.n, 1);
	assert_string_equal(f->rec.conns[0].log, "d1:GET  d1:/ HTTP d0:HTTP/1.1 C");
	assert_int_equal(ct_active(f->ct), 0);
	assert_int_equal(ct_stats(f->ct)->conns_closed, 1);
}

static void test_reorder(void **state)
{
	struct fixture *f = *state;

	feed(f, 1, 1, 6, "ghi", 0, 1);
	feed(f, 1, 1, 3, "def", 0, 2);
	assert_int_equal(f->rec.conns[0].len, 0); /* nothing passed on yet */
	feed(f, 1, 1, 0, "abc", 0, 3);
	assert_string_equal(f->rec.conns[0].log, "d1:abc d1:def d1:ghi ");
	assert_int_equal(ct_stats(f->ct)->reordered, 2);
	assert_int_equal(ct_stats(f->ct)->gaps, 0);
}

static void test_truncated_copy_is_a_gap(void **state)
{
	struct fixture *f = *state;

	feed(f, 1, 0, 0, "head", 100, 1); /* 4 of 100 bytes copied */
	feed(f, 1, 0, 100, "next", 0, 2);
	assert_string_equal(f->rec.conns[0].log, "d0:head g0:96 d0:next ");
	assert_int_equal(ct_stats(f->ct)->truncated_bytes, 96);
}

static void test_hole_given_up_after_wait(void **state)
{
	struct fixture *f = *state;

	feed(f, 1, 1, 0, "ab", 0, 0);
	feed(f, 1, 1, 10, "kl", 0, 10 * MS);
	ct_tick(f->ct, 50 * MS);
	assert_string_equal(f->rec.conns[0].log, "d1:ab ");
	ct_tick(f->ct, 111 * MS);
	assert_string_equal(f->rec.conns[0].log, "d1:ab g1:8 d1:kl ");
	assert_int_equal(ct_stats(f->ct)->gaps, 1);
	assert_int_equal(ct_stats(f->ct)->gap_bytes, 8);
	/* The late bytes are stale now. */
	feed(f, 1, 1, 2, "cdefghij", 0, 120 * MS);
	assert_int_equal(ct_stats(f->ct)->stale, 1);
	assert_string_equal(f->rec.conns[0].log, "d1:ab g1:8 d1:kl ");
}

static void test_overlap_is_trimmed(void **state)
{
	struct fixture *f = *state;

	feed(f, 1, 0, 0, "abcd", 0, 1);
	feed(f, 1, 0, 2, "cdef", 0, 2);
	assert_string_equal(f->rec.conns[0].log, "d0:abcd d0:ef ");
}

static void test_pending_cap(void **state)
{
	struct fixture *f = *state;
	char big[201];
	int i;

	memset(big, 'x', 200);
	big[200] = '\0';
	/* A hole at 0 that never fills; 6 segments of 200 bytes exceed 1 KiB. */
	for (i = 0; i < 6; i++)
		feed(f, 1, 0, 10 + (uint64_t)i * 200, big, 0, 1);
	assert_int_equal(ct_stats(f->ct)->pending_overflow, 1);
	assert_int_equal(strncmp(f->rec.conns[0].log, "g0:10 d0:xxx", 12), 0);
}

static void test_conn_cap_evicts_least_recent(void **state)
{
	struct fixture *f = *state;
	uint64_t id;

	for (id = 1; id <= 4; id++)
		feed(f, id, 0, 0, "x", 0, id);
	feed(f, 1, 0, 1, "y", 0, 5); /* 1 is now the most recent */
	feed(f, 5, 0, 0, "z", 0, 6); /* evicts 2 */
	assert_int_equal(ct_active(f->ct), 4);
	assert_int_equal(ct_stats(f->ct)->conns_evicted, 1);
	assert_int_equal(f->rec.conns[1].id, 2);
	assert_int_equal(f->rec.conns[1].closed, 1);
	assert_int_equal(f->rec.conns[0].closed, 0);
}

static void test_idle_gc(void **state)
{
	struct fixture *f = *state;

	feed(f, 1, 0, 0, "a", 0, 0);
	feed(f, 2, 0, 0, "b", 0, 900 * MS);
	ct_tick(f->ct, 1500 * MS);
	assert_int_equal(ct_stats(f->ct)->conns_idle, 1);
	assert_int_equal(f->rec.conns[0].closed, 1);
	assert_int_equal(f->rec.conns[1].closed, 0);
	assert_int_equal(ct_active(f->ct), 1);
}

static void test_bad_records(void **state)
{
	struct fixture *f = *state;
	unsigned char buf[sizeof(struct as_event) + 4] = { 0 };
	struct as_event *ev = (struct as_event *)buf;

	assert_int_equal(ct_event(f->ct, buf, 3, 0), -22);
	ev->type = AS_EV_DATA;
	ev->copied = 100; /* more than the record holds */
	ev->len = 100;
	assert_int_equal(ct_event(f->ct, buf, sizeof(buf), 0), -22);
	ev->copied = 4;
	ev->len = 2; /* copied more than moved */
	assert_int_equal(ct_event(f->ct, buf, sizeof(buf), 0), -22);
	ev->type = 99;
	ev->len = 4;
	assert_int_equal(ct_event(f->ct, buf, sizeof(buf), 0), -22);
	assert_int_equal(ct_stats(f->ct)->bad_events, 4);
	assert_int_equal(ct_active(f->ct), 0);
}

static void test_close_flushes_holes(void **state)
{
	struct fixture *f = *state;

	feed(f, 7, 1, 5, "late", 0, 1);
	close_ev(f, 7, 2);
	assert_string_equal(f->rec.conns[0].log, "g1:5 d1:late C");
	close_ev(f, 7, 3); /* unknown now: ignored */
	assert_int_equal(ct_stats(f->ct)->conns_closed, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_copy_is_a_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hole_given_up_after_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_is_trimmed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_cap_evicts_least_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_gc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_flushes_holes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
