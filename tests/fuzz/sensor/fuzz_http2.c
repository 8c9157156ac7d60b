// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the HTTP/2 parser.
 *
 * Input: one options byte (bit 0: small limits, bit 1: mid-stream, bits
 * 2-3: the client's direction: 0 unknown, 1 egress, 2 ingress), then
 * records of a control byte (bit 0: direction; bits 1-2: 0 or 1 feed, 2
 * gap, 3 close; bits 3-7: s, where to cut the feed in the third run) and a
 * length byte (n + 1 bytes fed, or n + 1 bytes missing); a feed's bytes
 * follow. The seeds (tests/fuzz/corpus/fuzz_http2/, made by
 * tests/fuzz/sensor/fuzz_http2_seeds.py) are real conversations.
 *
 * Every input runs three times: each feed whole; one byte at a time; and cut
 * where the input says (as fuzz_http1). All three runs must give the same
 * exchanges (every field, header and body byte) and every counter.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/events.h"
#include "apisonar/sensor/proto/http2.h"
#include "fuzz_exchange.h"

struct fz_out {
	struct http2_stats st;
	struct fz_sigs x;
};

static void fz_cb(void *ctx, struct as_exchange *x)
{
	struct fz_out *o = ctx;

	if (!x->method || !x->target || !x->method[0])
		abort();
	if (x->status && (x->status < 200 || x->status > 999))
		abort();
	if (x->req_version != 20 || (x->status && x->resp_version != 20))
		abort();
	fz_add(&o->x, x);
}

static void fz_run(const uint8_t *data, size_t size, enum fz_split how, struct fz_out *o)
{
	struct http2_opts opts = {0};
	struct http2_conn *c;
	size_t i = 1, j, k;
	uint64_t ts = 1;
	int rc = 0, client = (data[0] >> 2) & 3;

	memset(o, 0, sizeof(*o));
	if (data[0] & 1) {
		opts.max_body = 16;
		opts.max_header_list = 256;
		opts.max_streams = 2;
		opts.max_frame = 128;
	}
	o->x.max_body = opts.max_body ? opts.max_body : AS_MAX_BODY_DEFAULT;
	c = http2_conn_new(&opts, &o->st,
			   client == 1	 ? AS_DIR_EGRESS
			   : client == 2 ? AS_DIR_INGRESS
					 : -1,
			   fz_cb, o);
	if (!c)
		return;
	if (data[0] & 2)
		http2_conn_set_midstream(c);
	while (i < size) {
		uint8_t ctl = data[i++];
		int dir = ctl & 1, op = (ctl >> 1) & 3;
		size_t len = (i < size ? data[i++] : 0) + 1;

		ts += 10;
		if (op == 2) {
			http2_conn_gap(c, dir, len, ts);
			continue;
		}
		if (op == 3) {
			http2_conn_close(c, ts);
			if (http2_conn_feed(c, dir, "x", 1, ts) != -EPROTO)
				abort();
			continue;
		}
		if (len > size - i)
			len = size - i;
		for (j = 0; j < len; j += k) {
			k = fz_piece(how, ctl >> 3, len, j);
			rc = http2_conn_feed(c, dir, data + i + j, k, ts);
			if (how == FZ_CHOSEN)
				(void)http2_conn_feed(c, dir, data + i + j + k, 0, ts);
		}
		o->x.rc = fz_mix(o->x.rc, (uint64_t)-rc);
		i += len;
	}
	http2_conn_close(c, ts + 1);
	http2_conn_free(c);
}

static void fz_compare(const struct fz_out *a, const struct fz_out *b, const char *what)
{
	fz_check("fuzz_http2", what, &a->x, &b->x, &a->st, &b->st, sizeof(a->st), NULL, 0);
}

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
