// SPDX-License-Identifier: BSD-2-Clause
/* TCP reassembly for the packet-level prototype: see pktreasm.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/pktreasm.h"

struct pkt_held {
	struct pkt_held *next;
	uint32_t seq;
	size_t len;
	uint8_t data[];
};

void pkt_reasm_init(struct pkt_reasm *r, uint32_t isn, int isn_known, size_t max_held,
		    struct pkt_reasm_stats *stats, pkt_reasm_data_cb on_data,
		    pkt_reasm_gap_cb on_gap, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->next = isn;
	r->started = isn_known;
	r->max_held = max_held ? max_held : PKT_REASM_MAX_HELD;
	r->stats = stats;
	r->on_data = on_data;
	r->on_gap = on_gap;
	r->ctx = ctx;
}

/* Hands on the part of [seq, seq + len) at or after r->next, which must
 * not be after it. */
static void reasm_deliver(struct pkt_reasm *r, uint32_t seq, const uint8_t *data, size_t len)
{
	uint32_t skip = r->next - seq;

	if (skip >= len) {
		r->stats->dup_bytes += len;
		return;
	}
	r->stats->dup_bytes += skip;
	data += skip;
	len -= skip;
	r->on_data(r->ctx, data, len);
	r->stats->bytes += len;
	r->next += (uint32_t)len;
}

/* Hands on the held segments that have become contiguous. */
static void reasm_drain(struct pkt_reasm *r)
{
	while (r->held && (int32_t)(r->held->seq - r->next) <= 0) {
		struct pkt_held *h = r->held;

		r->held = h->next;
		r->held_bytes -= h->len;
		reasm_deliver(r, h->seq, h->data, h->len);
		free(h);
	}
}

/* Gives up on the hole before the first held segment. */
static void reasm_skip_hole(struct pkt_reasm *r)
{
	uint32_t missing = r->held->seq - r->next;

	r->stats->gaps++;
	r->stats->gap_bytes += missing;
	if (r->on_gap)
		r->on_gap(r->ctx, missing);
	r->next = r->held->seq;
	reasm_drain(r);
}

int pkt_reasm_add(struct pkt_reasm *r, uint32_t seq, const void *data, size_t len)
{
	struct pkt_held *h, **pp;

	if (len == 0)
		return 0;
	r->stats->segments++;
	if (!r->started) {
		r->next = seq;
		r->started = 1;
	}
	if ((int32_t)(seq - r->next) <= 0) {
		reasm_deliver(r, seq, data, len);
		reasm_drain(r);
		return 0;
	}
	r->stats->out_of_order++;
	h = malloc(sizeof(*h) + len);
	if (!h)
		return -ENOMEM;
	h->seq = seq;
	h->len = len;
	memcpy(h->data, data, len);
	pp = &r->held;
	while (*pp && (int32_t)((*pp)->seq - seq) <= 0)
		pp = &(*pp)->next;
	h->next = *pp;
	*pp = h;
	r->held_bytes += len;
	while (r->held && r->held_bytes > r->max_held) {
		r->stats->held_overflow++;
		reasm_skip_hole(r);
	}
	return 0;
}

void pkt_reasm_finish(struct pkt_reasm *r)
{
	while (r->held)
		reasm_skip_hole(r);
}

void pkt_reasm_free(struct pkt_reasm *r)
{
	if (!r)
		return;
	while (r->held) {
		struct pkt_held *h = r->held;

		r->held = h->next;
		free(h);
	}
	r->held_bytes = 0;
}
