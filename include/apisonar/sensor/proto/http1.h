/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Incremental HTTP/1.0 and HTTP/1.1 parser for the two byte streams of one
 * TCP connection, with request/response pairing.
 *
 * Each direction is fed in order; the two directions may be fed in any
 * order relative to each other. Complete exchanges come out through a
 * callback that owns them. Memory per connection is bounded by the options
 * (partial header bytes, held response bytes, bodies being built, the
 * pipelined-request queue). See docs/http1.md for the rules.
 */
#ifndef APISONAR_HTTP1_H
#define APISONAR_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "apisonar/exchange/exchange.h"

/* Framing that two implementations could read differently: flagged,
 * counted and never guessed. */
enum http1_ambiguity {
	HTTP1_AMB_CL_AND_TE, /* Content-Length together with Transfer-Encoding */
	HTTP1_AMB_DUP_CL,    /* Content-Length repeated with different values */
	HTTP1_AMB_OBS_FOLD,  /* header line continued with leading whitespace */
	HTTP1_AMB_BARE_EOL,  /* bare CR or bare LF as line end */
	HTTP1_AMB_SPACE_BEFORE_COLON,
	HTTP1_AMB_CHUNK_JUNK,	  /* "123x" */
	HTTP1_AMB_CHUNK_TOO_LONG, /* > 16 hex digits */
	HTTP1_AMB_CHUNK_EXT,	  /* accepted, flagged */
	HTTP1_AMB_HEADERS_TOO_BIG,
	HTTP1_AMB_NR
};

/* "cl_and_te", ... stable names for metrics; "unknown" out of range. */
const char *http1_ambiguity_name(enum http1_ambiguity a);

/* Counters, added to by every conn that points at it; the caller owns it. */
struct http1_stats {
	uint64_t requests, responses, exchanges; /* heads parsed; callbacks made */
	uint64_t parse_errors; /* garbage: that direction resynced or the conn was dropped */
	uint64_t resyncs;  /* parsing picked up again at a message start after an error or gap */
	uint64_t gaps;	   /* gap notifications received */
	uint64_t upgrades; /* 101 or CONNECT 2xx: parsing of that conn stopped */
	uint64_t unpaired_responses; /* a response with no request to pair with: dropped */
	uint64_t no_response;	     /* requests emitted at close without a response */
	uint64_t truncated_bodies;   /* messages emitted with body_truncated (cap, gap or close) */
	uint64_t pending_overflow;   /* pipelined requests beyond the cap: dropped */
	uint64_t ambiguous[HTTP1_AMB_NR];
	uint64_t http2; /* "PRI * HTTP/2.0" preface seen: conn not parsed */
	/* added beyond the brief */
	uint64_t
	    unpaired_requests; /* requests emitted alone: their response was lost or unpairable */
	uint64_t
	    partial_dropped;	/* messages cut by close or a loss before their head was complete */
	uint64_t hold_overflow; /* bytes held for later (response before request) over the cap */
	uint64_t restarts;	  /* http1_conn_restart() calls (capture budget skips) */
	uint64_t restart_dropped; /* exchanges cut by a restart: half of them was skipped */
	uint64_t h2c; /* upgrades to h2c (RFC 7540 section 3.2): handed to HTTP/2 */
};

struct http1_opts {
	size_t max_body;	 /* body bytes kept per message (default AS_MAX_BODY_DEFAULT) */
	size_t max_header_bytes; /* start line + headers (default 32 KiB) */
	size_t max_pending;	 /* pipelined requests waiting for responses (default 64) */
	int64_t wall_offset_ns;	 /* added to the monotonic ts of feed() to fill req/resp_time_ns */
};

#define HTTP1_DEFAULT_MAX_HEADER_BYTES (32 * 1024)
#define HTTP1_DEFAULT_MAX_PENDING 64

/* The callback owns x. It runs inside feed/gap/close and must not call back
 * into the same conn. */
typedef void (*http1_exchange_cb)(void *ctx, struct as_exchange *x);

struct http1_conn;

/* o NULL = defaults; stats NULL = counted privately. NULL on -ENOMEM. */
struct http1_conn *http1_conn_new(const struct http1_opts *o, struct http1_stats *stats,
				  http1_exchange_cb cb, void *ctx);

/* NULL-safe; frees pending state without emitting. */
void http1_conn_free(struct http1_conn *c);

/* dir: AS_DIR_EGRESS (0) or AS_DIR_INGRESS (1). Returns 0, or -EPROTO once
 * the conn is given up (not HTTP/1, upgraded, closed or hopeless), after
 * which feeding is a no-op. */
int http1_conn_feed(struct http1_conn *c, int dir, const void *data, size_t len, uint64_t ts_ns);

/* `missing` bytes of direction dir were lost. Absorbed inside a body of
 * known length (or a close-delimited body); anywhere else the message in
 * progress is dropped and that direction resyncs. */
void http1_conn_gap(struct http1_conn *c, int dir, uint64_t missing, uint64_t ts_ns);

/* The connection ended: finishes a close-delimited response body, emits
 * requests still waiting with AS_X_NO_RESPONSE. Feeding afterwards is a
 * no-op. */
void http1_conn_close(struct http1_conn *c, uint64_t ts_ns);

/* The conn was seen mid-stream: flag AS_X_MIDSTREAM and resync to the first
 * message start without counting an error. Call before the first feed. */
void http1_conn_set_midstream(struct http1_conn *c);

/* Both directions now stand at the first byte of a new exchange (the
 * kernel's capture budget skipped whole exchanges before it): whatever is
 * in progress is dropped, parsing starts again clean at the next byte,
 * aligned, with the role already learnt. Returns the exchanges dropped
 * (requests waiting for an answer that was skipped). */
uint64_t http1_conn_restart(struct http1_conn *c);

/* Whether the conn has shown pipelining (a request sent before the answer
 * to an earlier one began). */
int http1_conn_pipelined(const struct http1_conn *c);

/* 1 once the conn was given up or closed. */
int http1_conn_dead(const struct http1_conn *c);

/* h2c by upgrade (RFC 7540 section 3.2): once a request with `Upgrade: h2c`
 * and `HTTP2-Settings` was answered `101` with `Upgrade: h2c`, the conn is
 * dead (feed returns -EPROTO) and this returns the upgrade request (the
 * caller owns it; it becomes HTTP/2's stream 1), the direction that carried
 * it and its start and end (monotonic); NULL otherwise (and the second
 * time). Then http1_conn_rest() gives the bytes that followed the switch. */
struct as_exchange *http1_conn_take_h2c(struct http1_conn *c, int *req_dir, uint64_t *req_start,
					uint64_t *req_end);

/* Bytes (data, len) or a gap (data NULL, `missing` bytes) of dir. */
typedef void (*http1_rest_cb)(void *ctx, int dir, const void *data, size_t len, uint64_t missing,
			      uint64_t ts_ns);

/* Hands on, once, what was fed but not parsed (after an h2c switch: the
 * client preface, the server's first frames), both directions in the order
 * of the calls that brought them, so the next parser sees them as it would
 * have been fed them. */
void http1_conn_rest(struct http1_conn *c, http1_rest_cb cb, void *ctx);

#endif
