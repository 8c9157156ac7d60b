// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the HTTP/1 parser.
 *
 * Input: one options byte (bit 0: small limits, bit 1: mid-stream, bit 2:
 * through proto.h, so that an h2c upgrade goes on in the HTTP/2 parser), then
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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/proto/http1.h"
#include "apisonar/sensor/proto/proto.h"
#include "fuzz_exchange.h"

struct fz_out {
	struct http1_stats st;
	struct http2_stats st2; /* after an h2c upgrade (bit 2) */
	struct fz_sigs x;
};

static void fz_cb(void *ctx, struct as_exchange *x)
{
	struct fz_out *o = ctx;

	if (!x->method || !x->target || !x->method[0] || !x->target[0])
		abort();
	/* HTTP/2 responses (after an h2c upgrade) have no reason phrase */
	if (x->status &&
	    (x->status < 100 || x->status > 999 || (!x->reason && x->resp_version != 20)))
		abort();
	fz_add(&o->x, x);
}

/* One conn, HTTP/1 alone or behind the dispatch. */
struct fz_conn {
	struct http1_conn *h1;
	struct proto_conn *p;
	struct proto_cfg cfg;
};

static int fz_feed(struct fz_conn *c, int dir, const void *d, size_t n, uint64_t ts)
{
	return c->p ? proto_conn_feed(c->p, dir, d, n, ts) : http1_conn_feed(c->h1, dir, d, n, ts);
}

static void fz_gap(struct fz_conn *c, int dir, uint64_t n, uint64_t ts)
{
	if (c->p)
		proto_conn_gap(c->p, dir, n, ts);
	else
		http1_conn_gap(c->h1, dir, n, ts);
}

static void fz_close(struct fz_conn *c, uint64_t ts)
{
	if (c->p)
		proto_conn_close(c->p, ts);
	else
		http1_conn_close(c->h1, ts);
}

static void fz_run(const uint8_t *data, size_t size, enum fz_split how, struct fz_out *o)
{
	struct http1_opts opts = {0};
	struct http2_opts o2 = {0}; /* the HTTP/2 parser is made in a feed: lives as long as c */
	struct fz_conn c = {0};
	size_t i = 1, j, k;
	uint64_t ts = 1;
	int rc = 0;

	memset(o, 0, sizeof(*o));
	if (data[0] & 1) {
		opts.max_body = 16;
		opts.max_header_bytes = 128;
		opts.max_pending = 2;
	}
	o->x.max_body = opts.max_body ? opts.max_body : AS_MAX_BODY_DEFAULT;
	if (data[0] & 4) {
		o2.max_body = opts.max_body;
		c.cfg.http1 = &opts;
		c.cfg.http1_stats = &o->st;
		c.cfg.http2 = &o2;
		c.cfg.http2_stats = &o->st2;
		c.p = proto_conn_new(&c.cfg, false, -1, (data[0] & 2) != 0, fz_cb, o);
		if (!c.p)
			return;
	} else {
		c.h1 = http1_conn_new(&opts, &o->st, fz_cb, o);
		if (!c.h1)
			return;
		if (data[0] & 2)
			http1_conn_set_midstream(c.h1);
	}
	while (i < size) {
		uint8_t ctl = data[i++];
		int dir = ctl & 1, op = (ctl >> 1) & 3;
		size_t len = (i < size ? data[i++] : 0) + 1;

		ts += 10;
		if (op == 2) {
			fz_gap(&c, dir, len, ts);
			continue;
		}
		if (op == 3) {
			fz_close(&c, ts);
			if (fz_feed(&c, dir, "x", 1, ts) != -EPROTO)
				abort();
			continue;
		}
		if (len > size - i)
			len = size - i;
		for (j = 0; j < len; j += k) {
			k = fz_piece(how, ctl >> 3, len, j);
			rc = fz_feed(&c, dir, data + i + j, k, ts);
			if (how == FZ_CHOSEN) /* an empty feed is no call at all */
				(void)fz_feed(&c, dir, data + i + j + k, 0, ts);
		}
		o->x.rc = fz_mix(o->x.rc, (uint64_t)-rc); /* after the record's last byte */
		i += len;
	}
	fz_close(&c, ts + 1);
	http1_conn_free(c.h1);
	proto_conn_free(c.p);
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
    /* then struct http2_stats (bit 2), unnamed */
};

static void fz_compare(const struct fz_out *a, const struct fz_out *b, const char *what)
{
	fz_check("fuzz_http1", what, &a->x, &b->x, &a->st, &b->st, sizeof(a->st) + sizeof(a->st2),
		 fz_names, sizeof(fz_names) / sizeof(*fz_names));
}

_Static_assert(sizeof(fz_names) / sizeof(*fz_names) * sizeof(uint64_t) ==
		   sizeof(struct http1_stats),
	       "fz_names lists every counter");
_Static_assert(offsetof(struct fz_out, st2) == sizeof(struct http1_stats),
	       "the counters are compared as one run of words");

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
