// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the HTTP/1 parser.
 *
 * Input: one options byte (bit 0: small limits, bit 1: mid-stream), then
 * records of a control byte (bit 0: direction; bits 1-2: 0 or 1 feed, 2 gap,
 * 3 close; bits 3-7: s, where to cut the feed in the third run) and a
 * length byte (n + 1 bytes fed, or n + 1 bytes missing); a feed's bytes
 * follow.
 *
 * Every input runs three times: each feed whole; one byte at a time; and cut
 * where the input says (s = 0: whole, 1-15: pieces of s bytes, 16-31: two
 * pieces, cut at (s - 15) / 17 of its length; an empty feed after each
 * piece). All three runs must give the same exchanges (method, target,
 * status, reason, versions, role, flags, times, every header name and value,
 * bodies) and every counter: the parser's result must not depend on how the
 * stream was cut into feeds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/proto/http1.h"

#define FZ_MAX_OUT 256

enum fz_split { FZ_WHOLE, FZ_BYTES, FZ_CHOSEN };

struct fz_out {
	struct http1_stats st;
	size_t n;
	uint64_t sig[FZ_MAX_OUT];
	uint64_t rc; /* digest of what feed returned after each record */
	size_t max_body;
};

/* A digest of the fields that must not depend on chunking. */
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

static void fz_cb(void *ctx, struct as_exchange *x)
{
	struct fz_out *o = ctx;
	uint64_t h = 0;

	if (!x->method || !x->target || !x->method[0] || !x->target[0])
		abort();
	if (x->status && (x->status < 100 || x->status > 999 || !x->reason))
		abort();
	if (!x->status && !(x->flags & AS_X_NO_RESPONSE))
		abort();
	if (x->role != AS_ROLE_SERVER && x->role != AS_ROLE_CLIENT)
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

/* The length of the next piece of a feed of len bytes, `done` of them fed. */
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

static void fz_run(const uint8_t *data, size_t size, enum fz_split how, struct fz_out *o)
{
	struct http1_opts opts = {0};
	struct http1_conn *c;
	size_t i = 1, j, k;
	uint64_t ts = 1;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	if (data[0] & 1) {
		opts.max_body = 16;
		opts.max_header_bytes = 128;
		opts.max_pending = 2;
	}
	o->max_body = opts.max_body ? opts.max_body : AS_MAX_BODY_DEFAULT;
	c = http1_conn_new(&opts, &o->st, fz_cb, o);
	if (!c)
		return;
	if (data[0] & 2)
		http1_conn_set_midstream(c);
	while (i < size) {
		uint8_t ctl = data[i++];
		int dir = ctl & 1, op = (ctl >> 1) & 3;
		size_t len = (i < size ? data[i++] : 0) + 1;

		ts += 10;
		if (op == 2) {
			http1_conn_gap(c, dir, len, ts);
			continue;
		}
		if (op == 3) {
			http1_conn_close(c, ts);
			if (http1_conn_feed(c, dir, "x", 1, ts) != -EPROTO)
				abort();
			continue;
		}
		if (len > size - i)
			len = size - i;
		for (j = 0; j < len; j += k) {
			k = fz_piece(how, ctl >> 3, len, j);
			rc = http1_conn_feed(c, dir, data + i + j, k, ts);
			if (how == FZ_CHOSEN) /* an empty feed is no call at all */
				(void)http1_conn_feed(c, dir, data + i + j + k, 0, ts);
		}
		o->rc = fz_mix(o->rc, (uint64_t)-rc); /* after the record's last byte */
		i += len;
	}
	http1_conn_close(c, ts + 1);
	http1_conn_free(c);
}

/* struct http1_stats in order, as 64-bit words. */
static const char *const fz_names[] = {
    "requests",
    "responses",
    "exchanges",
    "parse_errors",
    "resyncs",
    "gaps",
    "upgrades",
    "unpaired_responses",
    "no_response",
    "truncated_bodies",
    "pending_overflow",
    "amb:cl_and_te",
    "amb:dup_cl",
    "amb:obs_fold",
    "amb:bare_eol",
    "amb:space_before_colon",
    "amb:chunk_junk",
    "amb:chunk_too_long",
    "amb:chunk_ext",
    "amb:headers_too_big",
    "http2",
    "unpaired_requests",
    "partial_dropped",
    "hold_overflow",
    "restarts",
    "restart_dropped",
    "h2c",
};

/* Says which counter differs before aborting: the input alone then tells a
 * developer where to look. */
static void fz_compare(const struct fz_out *a, const struct fz_out *b, const char *what)
{
	const uint64_t *x = (const uint64_t *)&a->st, *y = (const uint64_t *)&b->st;
	size_t k;

	if (!memcmp(&a->st, &b->st, sizeof(a->st)) && a->n == b->n && a->rc == b->rc) {
		for (k = 0; k < a->n && k < FZ_MAX_OUT; k++)
			if (a->sig[k] != b->sig[k])
				break;
		if (k == a->n || k == FZ_MAX_OUT)
			return;
		fprintf(stderr, "fuzz_http1: whole vs %s: exchange %zu differs\n", what, k);
		abort();
	}
	for (k = 0; k < sizeof(a->st) / sizeof(*x); k++)
		if (x[k] != y[k])
			fprintf(stderr, "fuzz_http1: whole vs %s: %s %llu != %llu\n", what,
				k < sizeof(fz_names) / sizeof(*fz_names) ? fz_names[k] : "?",
				(unsigned long long)x[k], (unsigned long long)y[k]);
	fprintf(stderr, "fuzz_http1: whole vs %s: %zu vs %zu exchanges, rc %s\n", what, a->n, b->n,
		a->rc == b->rc ? "same" : "differs");
	abort();
}

_Static_assert(sizeof(fz_names) / sizeof(*fz_names) * sizeof(uint64_t) ==
		   sizeof(struct http1_stats),
	       "fz_names lists every counter");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_out a, b;

	if (!size)
		return 0;
	fz_run(data, size, FZ_WHOLE, &a);
	fz_run(data, size, FZ_BYTES, &b);
	fz_compare(&a, &b, "bytewise");
	fz_run(data, size, FZ_CHOSEN, &b);
	fz_compare(&a, &b, "chosen cuts");
	return 0;
}
