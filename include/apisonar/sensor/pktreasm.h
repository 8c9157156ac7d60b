/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TCP stream reassembly for the packet-level capture prototype
 * (bpf/pktcap.bpf.c): segments come out of the ring buffer in the order
 * the kernel wrote them, which is not always sequence order (two CPUs,
 * retransmissions), so each direction of a flow is put back in order here
 * before the HTTP/1 parser sees it.
 *
 * One struct pkt_reasm per direction. Bytes are handed on in order through
 * the data callback; bytes that never came (a record lost to a full ring
 * buffer) are reported through the gap callback once the held segments
 * pass the cap, or at the end. Sequence numbers wrap (32-bit arithmetic).
 */
#ifndef APISONAR_PKTREASM_H
#define APISONAR_PKTREASM_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of out-of-order segments one direction holds at most, by default. */
#define PKT_REASM_MAX_HELD (256 * 1024)

struct pkt_reasm_stats {
	uint64_t segments;	 /* segments given to pkt_reasm_add() */
	uint64_t bytes;		 /* bytes handed on in order */
	uint64_t out_of_order;	 /* segments held because an earlier one was missing */
	uint64_t dup_bytes;	 /* bytes already handed on (retransmitted, overlapping) */
	uint64_t gaps;		 /* holes given up on */
	uint64_t gap_bytes;	 /* their bytes */
	uint64_t held_overflow;	 /* holes given up on because the held bytes passed the cap */
};

typedef void (*pkt_reasm_data_cb)(void *ctx, const uint8_t *data, size_t len);
typedef void (*pkt_reasm_gap_cb)(void *ctx, uint64_t missing);

struct pkt_held; /* one held segment */

struct pkt_reasm {
	uint32_t next;		/* sequence number of the next byte to hand on */
	int started;		/* next is known */
	struct pkt_held *held;	/* out-of-order segments, by sequence number */
	size_t held_bytes;
	size_t max_held;	/* cap of held_bytes */
	pkt_reasm_data_cb on_data;
	pkt_reasm_gap_cb on_gap;
	void *ctx;
	struct pkt_reasm_stats *stats; /* added to; the caller owns it */
};

/* isn_known: the stream starts at isn (the first payload byte's sequence
 * number, from the handshake); otherwise at the first segment added.
 * max_held 0 = PKT_REASM_MAX_HELD. */
void pkt_reasm_init(struct pkt_reasm *r, uint32_t isn, int isn_known, size_t max_held,
		    struct pkt_reasm_stats *stats, pkt_reasm_data_cb on_data,
		    pkt_reasm_gap_cb on_gap, void *ctx);

/* Adds len bytes at sequence number seq. Returns 0, or -ENOMEM when a
 * segment could not be held (it is then counted as a gap later). */
int pkt_reasm_add(struct pkt_reasm *r, uint32_t seq, const void *data, size_t len)
    __attribute__((warn_unused_result));

/* The stream ended: hands on what is held, reporting the holes before
 * each piece as gaps. */
void pkt_reasm_finish(struct pkt_reasm *r);

/* Frees what is held without handing it on; NULL-safe. */
void pkt_reasm_free(struct pkt_reasm *r);

#endif
