/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the protocol parser tests share: a script of steps (feeds, gaps, a
 * close) run against a parser with each feed whole, one byte at a time,
 * and cut in two at every point of every feed; all runs must give the same
 * exchanges (every field, header and body byte) and the same counters, for
 * the project holds that results never depend on how bytes were cut.
 *
 * Before including it, define SPLIT_STATS as the parser's counters type
 * (compared bytewise; it must have no padding), and SPLIT_MAX_OUT if 2048
 * exchanges per run is not right. cmocka must be included first.
 */
#ifndef SPLIT_TESTLIB_H
#define SPLIT_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/exchange/exchange.h"

#ifndef SPLIT_STATS
#error "define SPLIT_STATS before including split_testlib.h"
#endif
#ifndef SPLIT_MAX_OUT
#define SPLIT_MAX_OUT 2048
#endif

enum step_kind { FEED, GAP, CLOSE };

struct step {
	enum step_kind kind;
	int dir;
	const char *data; /* NUL-terminated unless len is set */
	size_t len;
	uint64_t ts;
	uint64_t missing; /* GAP */
};

struct out {
	struct as_exchange *x[SPLIT_MAX_OUT];
	size_t n;
	SPLIT_STATS st;
	int last_rc; /* what the last feed returned */
};

typedef void (*split_cb)(void *ctx, struct as_exchange *x);

/* The parser under test: open makes a conn from the test's own config,
 * counting into *st and handing exchanges to cb(ctx). */
struct split_parser {
	void *(*open)(const void *cfg, SPLIT_STATS *st, split_cb cb, void *ctx);
	int (*feed)(void *c, int dir, const void *data, size_t len, uint64_t ts);
	void (*gap)(void *c, int dir, uint64_t missing, uint64_t ts);
	void (*close)(void *c, uint64_t ts);
	void (*free)(void *c);
};

static void collect(void *ctx, struct as_exchange *x)
{
	struct out *o = ctx;

	if (o->n < SPLIT_MAX_OUT)
		o->x[o->n++] = x;
	else
		as_exchange_free(x);
}

static void out_free(struct out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		as_exchange_free(o->x[i]);
	free(o);
}

static size_t step_len(const struct step *s)
{
	return s->len ? s->len : (s->data ? strlen(s->data) : 0);
}

/* How run_once cuts the feeds: whole, one byte at a time, or step `at_step`
 * in two at byte `at`, with an empty feed between (the other steps whole). */
enum cut { CUT_WHOLE, CUT_BYTES, CUT_TWO };

static struct out *run_once(const struct split_parser *p, const void *cfg, const struct step *steps,
			    size_t n, enum cut cut, size_t at_step, size_t at)
{
	struct out *o = calloc(1, sizeof(*o));
	void *c;
	size_t i, j;

	assert_non_null(o);
	c = p->open(cfg, &o->st, collect, o);
	assert_non_null(c);
	for (i = 0; i < n; i++) {
		const struct step *s = &steps[i];
		size_t len = step_len(s);

		switch (s->kind) {
		case FEED:
			if (cut == CUT_BYTES) {
				for (j = 0; j < len; j++)
					o->last_rc = p->feed(c, s->dir, s->data + j, 1, s->ts);
			} else if (cut == CUT_TWO && i == at_step) {
				(void)p->feed(c, s->dir, s->data, at, s->ts);
				(void)p->feed(c, s->dir, s->data + at, 0, s->ts);
				o->last_rc = p->feed(c, s->dir, s->data + at, len - at, s->ts);
			} else {
				o->last_rc = p->feed(c, s->dir, s->data, len, s->ts);
			}
			break;
		case GAP:
			p->gap(c, s->dir, s->missing, s->ts);
			break;
		case CLOSE:
			p->close(c, s->ts);
			break;
		}
	}
	p->free(c);
	return o;
}

static bool str_same(const char *a, const char *b)
{
	return (!a || !b) ? a == b : !strcmp(a, b);
}

static bool msg_same(const struct as_message *a, const struct as_message *b)
{
	size_t i;

	if (a->n_headers != b->n_headers || a->body_len != b->body_len ||
	    a->body_true_len != b->body_true_len || a->body_truncated != b->body_truncated)
		return false;
	for (i = 0; i < a->n_headers; i++)
		if (!str_same(a->headers[i].name, b->headers[i].name) ||
		    !str_same(a->headers[i].value, b->headers[i].value))
			return false;
	return !a->body_len || !memcmp(a->body, b->body, a->body_len);
}

/* What differs between two runs, or NULL. */
static const char *out_diff(const struct out *a, const struct out *b)
{
	size_t i;

	if (memcmp(&a->st, &b->st, sizeof(a->st)))
		return "counters";
	if (a->n != b->n)
		return "number of exchanges";
	if (a->last_rc != b->last_rc)
		return "feed result";
	for (i = 0; i < a->n; i++) {
		const struct as_exchange *x = a->x[i], *y = b->x[i];

		if (!str_same(x->method, y->method) || !str_same(x->target, y->target) ||
		    !str_same(x->reason, y->reason) || x->status != y->status ||
		    x->req_version != y->req_version || x->resp_version != y->resp_version)
			return "start lines";
		if (x->flags != y->flags || x->role != y->role)
			return "flags or role";
		if (x->req_time_ns != y->req_time_ns || x->resp_time_ns != y->resp_time_ns ||
		    x->latency_ns != y->latency_ns)
			return "times";
		if (!msg_same(&x->req, &y->req) || !msg_same(&x->resp, &y->resp))
			return "headers or bodies";
	}
	return NULL;
}

/* The script fed whole is compared with the script fed one byte at a time
 * and with every two-part cut of every feed; past `budget` bytes fed over
 * all the runs (0: no limit), the cut points are an even sample. Returns
 * the whole run for the caller's assertions. */
static struct out *run_split(const struct split_parser *p, const void *cfg,
			     const struct step *steps, size_t n, size_t budget)
{
	struct out *a = run_once(p, cfg, steps, n, CUT_WHOLE, 0, 0);
	struct out *b = run_once(p, cfg, steps, n, CUT_BYTES, 0, 0);
	const char *why = out_diff(a, b);
	size_t i, at, len, bytes = 0, points = 0, stride = 1, g = 0;

	if (why)
		fail_msg("fed byte by byte: %s differ", why);
	out_free(b);
	for (i = 0; i < n; i++) {
		if (steps[i].kind == FEED && step_len(&steps[i])) {
			bytes += step_len(&steps[i]);
			points += step_len(&steps[i]) - 1;
		}
	}
	if (budget && bytes && points > budget / bytes)
		stride = points / (budget / bytes + 1) + 1;
	for (i = 0; i < n; i++) {
		if (steps[i].kind != FEED)
			continue;
		len = step_len(&steps[i]);
		for (at = 1; at < len; at++, g++) {
			if (g % stride)
				continue;
			b = run_once(p, cfg, steps, n, CUT_TWO, i, at);
			why = out_diff(a, b);
			if (why)
				fail_msg("step %zu cut at %zu of %zu: %s differ", i, at, len, why);
			out_free(b);
		}
	}
	return a;
}

#endif
