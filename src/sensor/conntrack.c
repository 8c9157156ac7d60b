// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/conntrack.h"

/* Bookkeeping cost charged per held segment, so that a flood of empty
 * records is bounded like a flood of full ones. */
#define SEG_OVERHEAD 64

struct seg {
	struct seg *next;
	uint64_t pos;
	uint64_t len;     /* bytes the syscall moved */
	uint32_t copied;  /* bytes in data */
	uint64_t ts_ns;   /* event time */
	uint64_t arrived; /* now_ns when held */
	unsigned char data[];
};

struct stream {
	uint64_t next;     /* position of the next byte to pass on */
	struct seg *held;  /* out-of-order segments, sorted by pos */
	uint64_t held_bytes;
};

struct ct_conn {
	uint64_t id;
	struct ct_conn *hnext;         /* hash chain */
	struct ct_conn *prev, *next;   /* LRU list: head is least recent */
	uint64_t last_ns;
	void *sink_state;
	struct stream dir[2];
};

struct conntrack {
	struct ct_limits lim;
	struct ct_sink sink;
	struct ct_conn **buckets;
	size_t nbuckets; /* power of two */
	struct ct_conn *lru_head, *lru_tail;
	uint32_t active;
	uint64_t held_bytes; /* all connections */
	struct ct_stats st;
};

void ct_limits_default(struct ct_limits *l)
{
	l->max_conns = 16384;
	l->max_pending_bytes = 64ull << 20;
	l->reorder_wait_ns = 200ull * 1000 * 1000;
	l->idle_ns = 300ull * 1000 * 1000 * 1000;
}

struct conntrack *ct_new(const struct ct_limits *lim, const struct ct_sink *sink)
{
	struct conntrack *ct = calloc(1, sizeof(*ct));
	size_t n = 64;

	if (!ct)
		return NULL;
	if (lim)
		ct->lim = *lim;
	else
		ct_limits_default(&ct->lim);
	if (!ct->lim.max_conns)
		ct->lim.max_conns = 1;
	ct->sink = *sink;
	while (n < (size_t)ct->lim.max_conns * 2)
		n *= 2;
	ct->buckets = calloc(n, sizeof(*ct->buckets));
	if (!ct->buckets) {
		free(ct);
		return NULL;
	}
	ct->nbuckets = n;
	return ct;
}

static size_t bucket_of(const struct conntrack *ct, uint64_t id)
{
	/* Ids are sequential: multiply to spread them over the buckets. */
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & (ct->nbuckets - 1);
}

static struct ct_conn *lookup(struct conntrack *ct, uint64_t id)
{
	struct ct_conn *c;

	for (c = ct->buckets[bucket_of(ct, id)]; c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

static void lru_unlink(struct conntrack *ct, struct ct_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		ct->lru_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		ct->lru_tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_append(struct conntrack *ct, struct ct_conn *c)
{
	c->prev = ct->lru_tail;
	c->next = NULL;
	if (ct->lru_tail)
		ct->lru_tail->next = c;
	else
		ct->lru_head = c;
	ct->lru_tail = c;
}

static void free_held(struct conntrack *ct, struct stream *s)
{
	struct seg *g, *n;

	for (g = s->held; g; g = n) {
		n = g->next;
		free(g);
	}
	ct->held_bytes -= s->held_bytes;
	s->held = NULL;
	s->held_bytes = 0;
}

/* Passes one segment on: its bytes, then the part the kernel did not copy
 * as a gap. */
static void pass_on(struct conntrack *ct, struct ct_conn *c, int d, uint64_t pos, uint64_t len,
		    const unsigned char *data, uint32_t copied, uint64_t ts)
{
	struct stream *s = &c->dir[d];
	uint64_t skip = s->next - pos; /* overlap with what was passed on */

	if (skip >= len)
		return;
	if (skip < copied) {
		if (c->sink_state)
			ct->sink.data(c->sink_state, d, data + skip, copied - skip, ts);
		if (len > copied) {
			ct->st.truncated_bytes += len - copied;
			if (c->sink_state)
				ct->sink.gap(c->sink_state, d, len - copied, ts);
		}
	} else {
		ct->st.truncated_bytes += len - skip;
		if (c->sink_state)
			ct->sink.gap(c->sink_state, d, len - skip, ts);
	}
	s->next = pos + len;
}

/* Passes on every held segment that is now next in line. */
static void drain(struct conntrack *ct, struct ct_conn *c, int d)
{
	struct stream *s = &c->dir[d];
	struct seg *g;

	while ((g = s->held) && g->pos <= s->next) {
		s->held = g->next;
		s->held_bytes -= g->copied + SEG_OVERHEAD;
		ct->held_bytes -= g->copied + SEG_OVERHEAD;
		pass_on(ct, c, d, g->pos, g->len, g->data, g->copied, g->ts_ns);
		free(g);
	}
}

/* Stops waiting for the hole before the first held segment. */
static void give_up_hole(struct conntrack *ct, struct ct_conn *c, int d)
{
	struct stream *s = &c->dir[d];
	uint64_t missing;

	if (!s->held)
		return;
	missing = s->held->pos - s->next;
	ct->st.gaps++;
	ct->st.gap_bytes += missing;
	if (c->sink_state)
		ct->sink.gap(c->sink_state, d, missing, s->held->ts_ns);
	s->next = s->held->pos;
	drain(ct, c, d);
}

static void conn_end(struct conntrack *ct, struct ct_conn *c, uint64_t ts)
{
	struct ct_conn **pp;
	int d;

	for (d = 0; d < 2; d++) {
		while (c->dir[d].held)
			give_up_hole(ct, c, d);
	}
	if (c->sink_state)
		ct->sink.close(c->sink_state, ts);
	for (d = 0; d < 2; d++)
		free_held(ct, &c->dir[d]);
	for (pp = &ct->buckets[bucket_of(ct, c->id)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	lru_unlink(ct, c);
	ct->active--;
	free(c);
}

static struct ct_conn *conn_open(struct conntrack *ct, const struct as_event *ev)
{
	struct ct_info info = { 0 };
	struct ct_conn *c;
	size_t b;

	if (ct->active >= ct->lim.max_conns && ct->lru_head) {
		ct->st.conns_evicted++;
		conn_end(ct, ct->lru_head, ev->ts_ns);
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = ev->conn_id;
	info.conn_id = ev->conn_id;
	info.pid = ev->tgid;
	memcpy(info.comm, ev->comm, sizeof(info.comm));
	info.comm[sizeof(info.comm) - 1] = '\0';
	info.family = ev->family;
	info.lport = ev->lport;
	info.rport = ev->rport;
	memcpy(info.laddr, ev->laddr, sizeof(info.laddr));
	memcpy(info.raddr, ev->raddr, sizeof(info.raddr));
	info.flags = ev->flags;
	info.cgroup_id = ev->cgroup_id;
	c->sink_state = ct->sink.open ? ct->sink.open(ct->sink.ctx, &info) : NULL;
	b = bucket_of(ct, c->id);
	c->hnext = ct->buckets[b];
	ct->buckets[b] = c;
	lru_append(ct, c);
	ct->active++;
	ct->st.conns_opened++;
	return c;
}

/* Holds an early segment in position order. */
static int hold(struct conntrack *ct, struct ct_conn *c, int d, const struct as_event *ev,
		const unsigned char *data, uint64_t now)
{
	struct stream *s = &c->dir[d];
	struct seg *g, **pp;

	g = malloc(sizeof(*g) + ev->copied);
	if (!g)
		return -ENOMEM;
	g->pos = ev->pos;
	g->len = ev->len;
	g->copied = ev->copied;
	g->ts_ns = ev->ts_ns;
	g->arrived = now;
	memcpy(g->data, data, ev->copied);
	for (pp = &s->held; *pp && (*pp)->pos <= g->pos; pp = &(*pp)->next)
		;
	g->next = *pp;
	*pp = g;
	s->held_bytes += g->copied + SEG_OVERHEAD;
	ct->held_bytes += g->copied + SEG_OVERHEAD;
	ct->st.reordered++;
	return 0;
}

/* Copies a skip notice out of the record (which need not be aligned);
 * true when its ranges are backwards. */
static bool sk_bad(const unsigned char *data, struct as_skip *sk)
{
	memcpy(sk, data, sizeof(*sk));
	return sk->from[0] > sk->to[0] || sk->from[1] > sk->to[1];
}

/* An AS_EV_SKIP notice: per direction, what came before `from` and is
 * still missing is a loss (a gap); [from, to) was skipped on purpose and
 * is passed over without a gap, so the sink restarts clean at `to`. */
static void skip_range(struct conntrack *ct, struct ct_conn *c, const struct as_skip *sk,
		       uint64_t ts)
{
	int d;

	for (d = 0; d < 2; d++) {
		struct stream *s = &c->dir[d];

		while (s->held && s->held->pos < sk->to[d])
			give_up_hole(ct, c, d);
		if (s->next < sk->from[d]) {
			ct->st.gaps++;
			ct->st.gap_bytes += sk->from[d] - s->next;
			if (c->sink_state)
				ct->sink.gap(c->sink_state, d, sk->from[d] - s->next, ts);
			s->next = sk->from[d];
		}
		if (s->next < sk->to[d]) {
			ct->st.skipped_bytes += sk->to[d] - s->next;
			s->next = sk->to[d];
		}
	}
	ct->st.skips++;
	ct->st.skipped_exchanges += sk->exchanges;
	if (c->sink_state && ct->sink.skip)
		ct->sink.skip(c->sink_state, sk->exchanges, ts);
	for (d = 0; d < 2; d++)
		drain(ct, c, d);
}

int ct_event(struct conntrack *ct, const void *rec, size_t size, uint64_t now)
{
	const struct as_event *ev = rec;
	const unsigned char *data = (const unsigned char *)rec + sizeof(*ev);
	struct ct_conn *c;
	int d;

	if (size < sizeof(*ev) || (ev->type == AS_EV_DATA && size < sizeof(*ev) + ev->copied) ||
	    ev->copied > ev->len || ev->dir > 1) {
		ct->st.bad_events++;
		return -EINVAL;
	}
	ct->st.events++;
	c = lookup(ct, ev->conn_id);
	if (ev->type == AS_EV_CLOSE) {
		if (c) {
			ct->st.conns_closed++;
			conn_end(ct, c, ev->ts_ns);
		}
		return 0;
	}
	if (ev->type == AS_EV_SKIP) {
		struct as_skip sk;

		if (ev->copied != sizeof(sk) || size < sizeof(*ev) + sizeof(sk) ||
		    sk_bad(data, &sk)) {
			ct->st.bad_events++;
			return -EINVAL;
		}
		if (!c)
			c = conn_open(ct, ev);
		if (!c)
			return -ENOMEM;
		c->last_ns = now;
		lru_unlink(ct, c);
		lru_append(ct, c);
		skip_range(ct, c, &sk, ev->ts_ns);
		return 0;
	}
	if (ev->type != AS_EV_DATA) {
		ct->st.bad_events++;
		return -EINVAL;
	}
	if (!c) {
		c = conn_open(ct, ev);
		if (!c)
			return -ENOMEM;
	}
	c->last_ns = now;
	lru_unlink(ct, c);
	lru_append(ct, c);
	ct->st.bytes += ev->len;

	d = ev->dir;
	if (ev->pos + ev->len <= c->dir[d].next) {
		ct->st.stale++;
		return 0;
	}
	if (ev->pos <= c->dir[d].next) {
		pass_on(ct, c, d, ev->pos, ev->len, data, ev->copied, ev->ts_ns);
		drain(ct, c, d);
		return 0;
	}
	if (hold(ct, c, d, ev, data, now))
		return -ENOMEM;
	/* Over the cap: stop waiting, on this connection first. */
	while (ct->held_bytes > ct->lim.max_pending_bytes && c->dir[d].held) {
		ct->st.pending_overflow++;
		give_up_hole(ct, c, d);
	}
	return 0;
}

void ct_tick(struct conntrack *ct, uint64_t now)
{
	struct ct_conn *c, *next;
	int d;

	for (c = ct->lru_head; c; c = next) {
		next = c->next;
		if (c->last_ns + ct->lim.idle_ns <= now) {
			ct->st.conns_idle++;
			conn_end(ct, c, now);
			continue;
		}
		if (!ct->held_bytes)
			break; /* the rest are more recent and hold nothing */
		for (d = 0; d < 2; d++)
			while (c->dir[d].held &&
			       c->dir[d].held->arrived + ct->lim.reorder_wait_ns <= now)
				give_up_hole(ct, c, d);
	}
}

void ct_free(struct conntrack *ct)
{
	if (!ct)
		return;
	while (ct->lru_head)
		conn_end(ct, ct->lru_head, 0);
	free(ct->buckets);
	free(ct);
}

const struct ct_stats *ct_stats(const struct conntrack *ct)
{
	return &ct->st;
}

uint32_t ct_active(const struct conntrack *ct)
{
	return ct->active;
}
