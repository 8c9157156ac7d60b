/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One connection's parser, whichever protocol it speaks: HTTP/1 (http1.h)
 * or HTTP/2 (http2.h), as the kernel's inference said, and the handover
 * from one to the other when an HTTP/1.1 connection upgrades to h2c
 * (RFC 7540 section 3.2): at the 101 the upgrade request becomes HTTP/2's
 * stream 1 and the bytes after the switch, in both directions, go to the
 * HTTP/2 parser as they were fed. The result does not depend on how the
 * bytes were cut into feeds, across the switch too.
 */
#ifndef APISONAR_PROTO_H
#define APISONAR_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apisonar/exchange/exchange.h"
#include "apisonar/sensor/proto/http1.h"
#include "apisonar/sensor/proto/http2.h"

/* The parsers' options and counters; the caller owns them, they outlive
 * every conn made with them. */
struct proto_cfg {
	const struct http1_opts *http1;
	struct http1_stats *http1_stats;
	const struct http2_opts *http2;
	struct http2_stats *http2_stats;
};

/* The callback owns x; it runs inside feed/gap/close. */
typedef void (*proto_exchange_cb)(void *ctx, struct as_exchange *x);

struct proto_conn;

/* http2: the first bytes were HTTP/2's (client_dir: AS_DIR_* of the
 * requests, or -1 unknown); otherwise HTTP/1. midstream: the conn was
 * seen after it opened. NULL on -ENOMEM. */
struct proto_conn *proto_conn_new(const struct proto_cfg *cfg, bool http2, int client_dir,
				  bool midstream, proto_exchange_cb cb, void *ctx);

/* NULL-safe; frees what is in progress without emitting. */
void proto_conn_free(struct proto_conn *p);

/* As http1_conn_feed / http2_conn_feed: 0, or -EPROTO once given up. */
int proto_conn_feed(struct proto_conn *p, int dir, const void *data, size_t len, uint64_t ts_ns);
void proto_conn_gap(struct proto_conn *p, int dir, uint64_t missing, uint64_t ts_ns);
void proto_conn_close(struct proto_conn *p, uint64_t ts_ns);

/* The capture budget skipped whole exchanges (HTTP/1 only; HTTP/2 has no
 * budget): http1_conn_restart(), 0 for HTTP/2. */
uint64_t proto_conn_restart(struct proto_conn *p);

/* Whether the kernel's budget must leave the conn whole: HTTP/1 that has
 * shown pipelining (its reads may end inside the next request), or HTTP/2
 * after an h2c upgrade (it has no request boundaries the kernel knows). */
int proto_conn_whole(const struct proto_conn *p);

/* 1 once HTTP/2 parses it (from the start, or after an h2c upgrade). */
int proto_conn_http2(const struct proto_conn *p);

#endif
