// SPDX-License-Identifier: BSD-2-Clause
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/mirror.h"

#define MIRROR_BUCKETS 4096 /* a power of two */

struct held {
	struct held *next;
	struct as_exchange *x;
	uint64_t deadline_ns;
};

struct mirror_pair {
	struct mirror_key k;
	struct mirror_pair *hnext;        /* hash chain */
	struct mirror_pair *wprev, *wnext; /* the waiting list: pairs holding exchanges */
	bool waiting;
	bool open[2];                     /* that end is tracked now */
	bool local;                       /* the peer is on this host: wait for it */
	bool closed[2];                   /* that end was open and ended */
	struct held *head[2], *tail[2];   /* exchanges of that end waiting for a twin */
};

struct mirror {
	uint64_t hold_ns;
	mirror_emit_fn emit;
	void *ctx;
	struct mirror_pair *buckets[MIRROR_BUCKETS];
	struct mirror_pair *waiting;
	struct mirror_stats st;
};

static size_t key_hash(const struct mirror_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29)) & (MIRROR_BUCKETS - 1);
}

struct mirror *mirror_new(uint64_t hold_ns, mirror_emit_fn emit, void *ctx)
{
	struct mirror *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->hold_ns = hold_ns;
	m->emit = emit;
	m->ctx = ctx;
	return m;
}

static void wait_add(struct mirror *m, struct mirror_pair *p)
{
	if (p->waiting)
		return;
	p->waiting = true;
	p->wprev = NULL;
	p->wnext = m->waiting;
	if (m->waiting)
		m->waiting->wprev = p;
	m->waiting = p;
}

static void wait_del(struct mirror *m, struct mirror_pair *p)
{
	if (!p->waiting)
		return;
	if (p->wprev)
		p->wprev->wnext = p->wnext;
	else
		m->waiting = p->wnext;
	if (p->wnext)
		p->wnext->wprev = p->wprev;
	p->waiting = false;
}

static struct as_exchange *pop(struct mirror *m, struct mirror_pair *p, int side)
{
	struct held *h = p->head[side];
	struct as_exchange *x;

	if (!h)
		return NULL;
	p->head[side] = h->next;
	if (!h->next)
		p->tail[side] = NULL;
	x = h->x;
	free(h);
	m->st.held--;
	return x;
}

/* On the waiting list exactly while it holds an exchange. */
static void wait_update(struct mirror *m, struct mirror_pair *p)
{
	if (p->head[0] || p->head[1])
		wait_add(m, p);
	else
		wait_del(m, p);
}

/* Removes a pair whose ends are both gone and that holds nothing. */
static void maybe_free(struct mirror *m, struct mirror_pair *p)
{
	struct mirror_pair **pp;

	if (p->open[0] || p->open[1] || p->head[0] || p->head[1])
		return;
	wait_del(m, p);
	for (pp = &m->buckets[key_hash(&p->k)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	}
	free(p);
}

/* Everything one end holds goes on alone. */
static void release(struct mirror *m, struct mirror_pair *p, int side)
{
	struct as_exchange *x;

	while ((x = pop(m, p, side)) != NULL) {
		m->st.alone++;
		m->emit(m->ctx, x);
	}
}

void mirror_free(struct mirror *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < MIRROR_BUCKETS; i++) {
		while (m->buckets[i]) {
			struct mirror_pair *p = m->buckets[i];

			release(m, p, MIRROR_SERVER);
			release(m, p, MIRROR_CLIENT);
			m->buckets[i] = p->hnext;
			free(p);
		}
	}
	free(m);
}

struct mirror_pair *mirror_open(struct mirror *m, const struct mirror_key *k, int side,
				bool local)
{
	size_t b = key_hash(k);
	struct mirror_pair *p;

	for (p = m->buckets[b]; p; p = p->hnext)
		if (memcmp(&p->k, k, sizeof(*k)) == 0)
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		p->k = *k;
		p->hnext = m->buckets[b];
		m->buckets[b] = p;
	}
	p->open[side & 1] = true;
	p->local = p->local || local;
	return p;
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Twins: the same request, seen from both ends. */
static bool twins(const struct as_exchange *a, const struct as_exchange *b)
{
	return same_str(a->method, b->method) && same_str(a->target, b->target);
}

/* Moves other's body of one message into base when it holds more of it,
 * with that message's truncation and gap flags. */
static void take_body(struct as_exchange *base, struct as_message *bm, struct as_exchange *other,
		      struct as_message *om, uint32_t flag_bits)
{
	struct as_message tmp;

	if (om->body_len <= bm->body_len)
		return;
	tmp = *bm;
	bm->body = om->body;
	bm->body_len = om->body_len;
	bm->body_true_len = om->body_true_len;
	bm->body_truncated = om->body_truncated;
	om->body = tmp.body;
	om->body_len = tmp.body_len;
	om->body_true_len = tmp.body_true_len;
	om->body_truncated = tmp.body_truncated;
	base->flags = (base->flags & ~flag_bits) | (other->flags & flag_bits);
}

/* One exchange from two views: the server's, with the fuller bodies. */
static struct as_exchange *merge(struct as_exchange *server, struct as_exchange *client)
{
	take_body(server, &server->req, client, &client->req, AS_X_REQ_TRUNCATED | AS_X_REQ_GAP);
	if (server->status == client->status)
		take_body(server, &server->resp, client, &client->resp,
			  AS_X_RESP_TRUNCATED | AS_X_RESP_GAP);
	as_exchange_free(client);
	return server;
}

void mirror_exchange(struct mirror *m, struct mirror_pair *p, int side, struct as_exchange *x,
		     uint64_t now_ns)
{
	int other = !(side & 1);
	struct as_exchange *t;
	struct held *h;

	if (!p) {
		m->emit(m->ctx, x);
		return;
	}
	side &= 1;
	while ((t = pop(m, p, other)) != NULL) {
		if (twins(t, x)) {
			m->st.merged++;
			m->emit(m->ctx, side == MIRROR_SERVER ? merge(x, t) : merge(t, x));
			wait_update(m, p);
			return;
		}
		/* Its twin was lost on this end: it goes on alone. */
		m->st.alone++;
		m->emit(m->ctx, t);
	}
	wait_update(m, p);
	/* The other end gone, or never to be seen: no twin will come. */
	if (!p->open[other] && !(p->local && !p->closed[other])) {
		m->emit(m->ctx, x);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		m->emit(m->ctx, x);
		return;
	}
	h->x = x;
	h->deadline_ns = now_ns + m->hold_ns;
	if (p->tail[side])
		p->tail[side]->next = h;
	else
		p->head[side] = h;
	p->tail[side] = h;
	m->st.held++;
	wait_add(m, p);
}

void mirror_close(struct mirror *m, struct mirror_pair *p, int side)
{
	if (!p)
		return;
	side &= 1;
	p->open[side] = false;
	p->closed[side] = true;
	release(m, p, !side);
	wait_update(m, p);
	maybe_free(m, p);
}

void mirror_tick(struct mirror *m, uint64_t now_ns)
{
	struct mirror_pair *p = m->waiting, *next;
	int s;

	for (; p; p = next) {
		next = p->wnext;
		for (s = 0; s < 2; s++) {
			while (p->head[s] && p->head[s]->deadline_ns <= now_ns) {
				m->st.alone++;
				m->emit(m->ctx, pop(m, p, s));
			}
		}
		wait_update(m, p);
		maybe_free(m, p);
	}
}

void mirror_get_stats(const struct mirror *m, struct mirror_stats *out)
{
	if (m)
		*out = m->st;
	else
		memset(out, 0, sizeof(*out));
}

bool mirror_side_seen(const struct mirror_pair *p, int side)
{
	return p && (p->open[side & 1] || p->closed[side & 1]);
}
