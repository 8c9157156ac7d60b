/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Raw-forward mode of `apisonar run` (off by default): for users who want
 * anonymization off the node, the sensor sends the exchanges themselves,
 * values included, to a satellite (POST /v1/exchanges), which anonymizes
 * them there. It is the one path on which values leave the process, so it
 * is fenced in:
 *
 *   - mTLS only: the caller refuses to start it without a client
 *     certificate, and the satellite refuses raw exchanges without a
 *     verified one;
 *   - never on disk: batches wait in a bounded queue in memory (no spool,
 *     no journal); when the satellite is away longer than the queue lasts,
 *     the oldest batch is dropped and counted;
 *   - audited without a digest (a hash of values is a hash of credentials).
 *
 * A batch is gzip'd JSON lines in the `capture --format jsonl --show-values`
 * format (docs/exchange-format.md), under a UUID that is the idempotency
 * key, sealed when it reaches max_batch_bytes or at each flush.
 */
#ifndef APISONAR_RAWFWD_H
#define APISONAR_RAWFWD_H

#include <stddef.h>
#include <stdint.h>

#include "apisonar/exchange/exchange.h"
#include "apisonar/transport/uploader.h"

#define RAWFWD_BATCH_BYTES_DEFAULT (4u * 1024 * 1024) /* JSONL bytes per batch */
#define RAWFWD_MAX_BATCHES_DEFAULT 16u                 /* sealed batches held */
#define RAWFWD_MAX_BATCHES 1024u

struct rawfwd_limits {
	size_t max_batch_bytes; /* 0 = default */
	unsigned max_batches;   /* 0 = default, at most RAWFWD_MAX_BATCHES */
};

struct rawfwd_stats {
	uint64_t exchanges;         /* exchanges put into a batch */
	uint64_t exchanges_dropped; /* in dropped batches, or not encodable */
	uint64_t batches_sealed;
	uint64_t delivered;
	uint64_t retries;           /* attempts to try again later */
	uint64_t rejected;          /* permanent 4xx: dropped (never kept on disk) */
	uint64_t dropped_full;      /* oldest batch dropped: the queue was full */
	uint64_t dropped_at_stop;   /* still queued when the stop deadline passed */
	uint64_t errors;            /* local failures (memory, gzip) */
	uint64_t bytes_sent;        /* gzip bytes delivered */
	uint64_t queued;            /* batches waiting now */
	uint64_t queued_bytes;
};

struct rawfwd;

/* Builds the uploader (checks the options: a client certificate is
 * required) and starts the sender thread. Returns 0 or a negative errno
 * (the reason is logged). */
int rawfwd_start(const struct uploader_opts *o, const struct rawfwd_limits *lim,
		 struct rawfwd **out) __attribute__((warn_unused_result));

/* Adds one exchange (read only; the caller still owns it) to the open
 * batch, sealing it first when it is full. Never waits on the network.
 * Returns 0 or a negative errno (counted). */
int rawfwd_add(struct rawfwd *r, const struct as_exchange *x);

/* Seals the open batch (if it holds anything) for the sender. */
void rawfwd_seal(struct rawfwd *r);

void rawfwd_get_stats(struct rawfwd *r, struct rawfwd_stats *out);

/* Seals, lets the sender deliver until deadline_ns (monotonic), then drops
 * what is left (counted, logged) and frees everything. NULL-safe. */
void rawfwd_stop(struct rawfwd *r, uint64_t deadline_ns);

#endif
