/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The connection tracker: turns kernel events into ordered byte streams,
 * one pair per connection. Events of one direction may arrive out of
 * order (several threads, several CPUs); each carries its byte position,
 * so data is placed by position, holes are waited for briefly and then
 * declared gaps, truncated copies become gaps of known size. Idle
 * connections are collected; the number of connections and the bytes held
 * out of order are capped, and every eviction is counted.
 *
 * What consumes the streams is a sink (the HTTP parser in the sensor, a
 * recorder in tests).
 */
#ifndef APISONAR_CONNTRACK_H
#define APISONAR_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "apisonar/sensor/events.h"

/* What is known of a connection when its first event arrives. */
struct ct_info {
	uint64_t conn_id;
	uint32_t pid;
	char comm[AS_COMM_LEN_K];
	uint16_t family;
	uint16_t lport, rport;
	uint8_t laddr[16], raddr[16];
	uint8_t flags; /* AS_F_* of the first event */
	uint64_t cgroup_id;
};

struct ct_sink {
	/* A new connection; returns the sink's state for it (NULL: ignore). */
	void *(*open)(void *ctx, const struct ct_info *info);
	/* In-order bytes of one direction. */
	void (*data)(void *conn, int dir, const void *buf, size_t len, uint64_t ts_ns);
	/* `missing` bytes of one direction will never come. */
	void (*gap)(void *conn, int dir, uint64_t missing, uint64_t ts_ns);
	/* The connection ended (closed, idle, or evicted); free its state. */
	void (*close)(void *conn, uint64_t ts_ns);
	void *ctx;
	/* The capture budget skipped `exchanges` whole exchanges: both
	 * directions now stand at the first byte of the next captured one
	 * (or at the end of the connection). May be NULL. */
	void (*skip)(void *conn, uint64_t exchanges, uint64_t ts_ns);
};

struct ct_limits {
	uint32_t max_conns;        /* tracked at once; the least recent is evicted */
	uint64_t max_pending_bytes; /* held out of order, all connections */
	uint64_t reorder_wait_ns;  /* how long a hole is waited for */
	uint64_t idle_ns;          /* a connection without events this long is closed */
};

struct ct_stats {
	uint64_t events;
	uint64_t bytes;
	uint64_t conns_opened;
	uint64_t conns_closed;      /* by a close event */
	uint64_t conns_idle;        /* collected after idle_ns */
	uint64_t conns_evicted;     /* pushed out by max_conns */
	uint64_t reordered;         /* events that arrived ahead of a hole */
	uint64_t gaps;              /* holes given up on */
	uint64_t gap_bytes;
	uint64_t truncated_bytes;   /* bytes the kernel did not copy */
	uint64_t pending_overflow;  /* holes given up early: max_pending_bytes */
	uint64_t stale;             /* data older than what was already passed on */
	uint64_t bad_events;        /* malformed records */
	uint64_t skips;             /* AS_EV_SKIP notices */
	uint64_t skipped_bytes;     /* bytes the budget did not copy */
	uint64_t skipped_exchanges; /* exchanges in those ranges (kernel count) */
};

void ct_limits_default(struct ct_limits *l);

struct conntrack;

struct conntrack *ct_new(const struct ct_limits *lim, const struct ct_sink *sink);
/* Closes every connection through the sink, then frees. */
void ct_free(struct conntrack *ct);

/* One ring buffer record (struct as_event + payload). now_ns is the
 * monotonic clock used for the reorder wait; tests pass their own. */
int ct_event(struct conntrack *ct, const void *rec, size_t size, uint64_t now_ns);

/* Gives up on holes older than the reorder wait and collects idle
 * connections. Call it every few hundred milliseconds. */
void ct_tick(struct conntrack *ct, uint64_t now_ns);

const struct ct_stats *ct_stats(const struct conntrack *ct);
uint32_t ct_active(const struct conntrack *ct);

#endif
