// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the HTTP/1 parser.
 *
 * Input: one options byte (bit 0: small limits, bit 1: mid-stream), then
 * records of a control byte (bit 0: direction; bits 1-2: 0 or 1 feed, 2 gap,
 * 3 close) and a length byte (n + 1 bytes fed, or n + 1 bytes missing); a
 * feed's bytes follow.
 *
 * Every input runs twice, each feed whole and then one byte at a time, and
 * both runs must give the same exchanges and counters: the parser's result
 * must not depend on how the stream was cut.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/proto/http1.h"

#define FZ_MAX_OUT 256

struct fz_out {
	struct http1_stats st;
	size_t n;
	uint64_t sig[FZ_MAX_OUT];
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
	for (i = 0; i < m->n_headers; i++) {
		h = fz_str(h, m->headers[i].name);
		h = fz_str(h, m->headers[i].value);
	}
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

static void fz_run(const uint8_t *data, size_t size, int bytewise, struct fz_out *o)
{
	struct http1_opts opts = {0};
	struct http1_conn *c;
	size_t i = 1, j;
	uint64_t ts = 1;

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
		if (!bytewise) {
			(void)http1_conn_feed(c, dir, data + i, len, ts);
		} else {
			for (j = 0; j < len; j++)
				(void)http1_conn_feed(c, dir, data + i + j, 1, ts);
		}
		i += len;
	}
	http1_conn_close(c, ts + 1);
	http1_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_out a, b;
	size_t k;

	if (!size)
		return 0;
	fz_run(data, size, 0, &a);
	fz_run(data, size, 1, &b);
	if (a.n != b.n || memcmp(&a.st, &b.st, sizeof(a.st)))
		abort();
	for (k = 0; k < a.n && k < FZ_MAX_OUT; k++)
		if (a.sig[k] != b.sig[k])
			abort();
	return 0;
}
