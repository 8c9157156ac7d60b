/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the protocol parser fuzz targets share: a digest of every exchange
 * field that must not depend on how the input was cut into feeds, the
 * cuts themselves, and the comparison of two runs that says which counter
 * differs before aborting (the input alone then tells a developer where to
 * look).
 */
#ifndef FUZZ_EXCHANGE_H
#define FUZZ_EXCHANGE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/exchange/exchange.h"

#define FZ_MAX_OUT 256

enum fz_split { FZ_WHOLE, FZ_BYTES, FZ_CHOSEN };

/* One run's exchanges, as digests, and what feed returned. */
struct fz_sigs {
	size_t n;
	uint64_t sig[FZ_MAX_OUT];
	uint64_t rc; /* digest of what feed returned after each record */
	size_t max_body;
};

static uint64_t fz_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

static uint64_t fz_str(uint64_t h, const char *s)
{
	if (!s)
		return fz_mix(h, 1);
	while (*s)
		h = fz_mix(h, (unsigned char)*s++);
	return fz_mix(h, 2);
}

static uint64_t fz_msg(uint64_t h, const struct as_message *m, size_t cap)
{
	size_t i;

	if (m->body_len > cap || m->body_len > m->body_true_len)
		abort();
	if (m->body_len < m->body_true_len && !m->body_truncated)
		abort();
	h = fz_mix(h, m->n_headers);
	for (i = 0; i < m->n_headers; i++) {
		h = fz_str(h, m->headers[i].name);
		h = fz_str(h, m->headers[i].value);
	}
	h = fz_mix(h, m->body_len);
	for (i = 0; i < m->body_len; i++)
		h = fz_mix(h, m->body[i]);
	h = fz_mix(h, m->body_true_len);
	return fz_mix(h, m->body_truncated);
}

/* Adds x (every field, header and body byte) to the run; frees x. */
static void fz_add(struct fz_sigs *o, struct as_exchange *x)
{
	uint64_t h = 0;

	if (x->role != AS_ROLE_SERVER && x->role != AS_ROLE_CLIENT)
		abort();
	if (!x->status && !(x->flags & AS_X_NO_RESPONSE))
		abort();
	h = fz_str(h, x->method);
	h = fz_str(h, x->target);
	h = fz_str(h, x->reason);
	h = fz_mix(h, (uint64_t)x->status);
	h = fz_mix(h, (uint64_t)x->req_version);
	h = fz_mix(h, (uint64_t)x->resp_version);
	h = fz_mix(h, (uint64_t)x->role);
	h = fz_mix(h, x->flags);
	h = fz_mix(h, x->req_time_ns);
	h = fz_mix(h, x->resp_time_ns);
	h = fz_mix(h, x->latency_ns);
	h = fz_msg(h, &x->req, o->max_body);
	h = fz_msg(h, &x->resp, o->max_body);
	if (o->n < FZ_MAX_OUT)
		o->sig[o->n] = h;
	o->n++;
	as_exchange_free(x);
}

/* The length of the next piece of a feed of len bytes, `done` of them
 * fed: whole; one byte; or as the record's s says (0: whole, 1-15: pieces
 * of s bytes, 16-31: two pieces, cut at (s - 15) / 17 of its length). */
static size_t fz_piece(enum fz_split how, unsigned s, size_t len, size_t done)
{
	size_t cut;

	if (how == FZ_BYTES)
		return 1;
	if (how == FZ_WHOLE || !s)
		return len - done;
	if (s < 16)
		return s < len - done ? s : len - done;
	cut = len * (s - 15) / 17;
	return done < cut ? cut - done : len - done;
}

/* Two runs of one input must agree on the counters (st_size bytes of
 * 64-bit words, named by names[] as far as it goes), the exchanges and the
 * feed results; otherwise says what differs and aborts. */
static void fz_check(const char *target, const char *what, const struct fz_sigs *a,
		     const struct fz_sigs *b, const void *sta, const void *stb, size_t st_size,
		     const char *const *names, size_t n_names)
{
	const uint64_t *x = sta, *y = stb;
	size_t k;

	if (!memcmp(sta, stb, st_size) && a->n == b->n && a->rc == b->rc) {
		for (k = 0; k < a->n && k < FZ_MAX_OUT; k++)
			if (a->sig[k] != b->sig[k])
				break;
		if (k == a->n || k == FZ_MAX_OUT)
			return;
		fprintf(stderr, "%s: whole vs %s: exchange %zu differs\n", target, what, k);
		abort();
	}
	for (k = 0; k < st_size / sizeof(*x); k++)
		if (x[k] != y[k])
			fprintf(stderr, "%s: whole vs %s: %s (word %zu) %llu != %llu\n", target,
				what, k < n_names ? names[k] : "?", k, (unsigned long long)x[k],
				(unsigned long long)y[k]);
	fprintf(stderr, "%s: whole vs %s: %zu vs %zu exchanges, rc %s\n", target, what, a->n, b->n,
		a->rc == b->rc ? "same" : "differs");
	abort();
}

#endif
