// SPDX-License-Identifier: BSD-2-Clause
/*
 * The userspace half of the sensor under hostile records: the input is cut
 * into ring buffer records (header fields from the input, payload from the
 * input) fed to the tracker, whose sink is the real HTTP/1 parser. Catches
 * crashes, leaks and unbounded growth in the tracker and in the parser's
 * handling of gaps, reordering and closes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/conntrack.h"
#include "apisonar/sensor/proto/http1.h"

static struct http1_stats stats;

static void on_exchange(void *ctx, struct as_exchange *x)
{
	(void)ctx;
	as_exchange_free(x);
}

static void *s_open(void *ctx, const struct ct_info *info)
{
	struct http1_opts o = { .max_body = 1024, .max_header_bytes = 2048, .max_pending = 8 };

	(void)ctx;
	if (info->flags & AS_F_MIDSTREAM)
		return NULL; /* also exercise connections without sink state */
	return http1_conn_new(&o, &stats, on_exchange, NULL);
}

static void s_data(void *c, int dir, const void *buf, size_t len, uint64_t ts)
{
	http1_conn_feed(c, dir, buf, len, ts);
}

static void s_gap(void *c, int dir, uint64_t missing, uint64_t ts)
{
	http1_conn_gap(c, dir, missing, ts);
}

static void s_close(void *c, uint64_t ts)
{
	http1_conn_close(c, ts);
	http1_conn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ct_sink sink = { s_open, s_data, s_gap, s_close, NULL };
	struct ct_limits lim = { .max_conns = 4, .max_pending_bytes = 4096,
				 .reorder_wait_ns = 10, .idle_ns = 1000 };
	unsigned char rec[sizeof(struct as_event) + 512];
	struct as_event *ev = (struct as_event *)rec;
	struct conntrack *ct = ct_new(&lim, &sink);
	uint64_t now = 0;

	if (!ct)
		return 0;
	/* Each record: 6 control bytes, then up to 63 payload bytes. */
	while (size >= 6) {
		uint8_t ctl = data[0], n = data[1] & 63;

		memset(ev, 0, sizeof(*ev));
		ev->type = (ctl & 7) == 7 ? AS_EV_CLOSE : AS_EV_DATA;
		ev->conn_id = 1 + ((ctl >> 3) & 3);
		ev->dir = (ctl >> 5) & 1;
		ev->flags = (ctl & 0x40) ? AS_F_MIDSTREAM : 0;
		ev->pos = (uint64_t)data[2] | (uint64_t)data[3] << 8;
		ev->len = n + (data[4] & 0x0f);
		now += data[5];
		ev->ts_ns = now;
		data += 6;
		size -= 6;
		if (n > size)
			n = (uint8_t)size;
		ev->copied = n;
		if (ev->len < n)
			ev->len = n;
		memcpy(rec + sizeof(*ev), data, n);
		data += n;
		size -= n;
		ct_event(ct, rec, sizeof(*ev) + n, now);
		if (ctl & 0x80)
			ct_tick(ct, now);
	}
	ct_free(ct);
	return 0;
}
