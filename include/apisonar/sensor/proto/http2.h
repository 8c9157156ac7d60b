/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Incremental HTTP/2 parser (RFC 9113) for the two byte streams of one TCP
 * connection (h2c with prior knowledge, or h2 plaintext inside TLS).
 *
 * Frames are parsed here; header blocks are decoded by libnghttp2's HPACK
 * inflater (one per direction), never by hand. Every stream that completes
 * comes out as one struct as_exchange, the type HTTP/1 emits, so everything
 * downstream works unchanged: :method, :path (target), :authority (as a
 * `host` header), :status, the other headers, the bodies (DATA frames
 * reassembled, padding removed), trailers appended to the message's
 * headers, versions 20.
 *
 * The result does not depend on how the bytes of a direction are cut into
 * feeds. A frame that breaks the framing rules, a header block that does
 * not decode (a connection joined mid-stream: the dynamic table is
 * unknown), or a gap stops the parsing of that connection: counted, the
 * streams in progress dropped, never guessed. See docs/http2.md.
 */
#ifndef APISONAR_HTTP2_H
#define APISONAR_HTTP2_H

#include <stddef.h>
#include <stdint.h>

#include "apisonar/exchange/exchange.h"

/* Frame types counted apart; everything else is HTTP2_FT_OTHER. */
enum http2_frame_type {
	HTTP2_FT_DATA = 0,
	HTTP2_FT_HEADERS,
	HTTP2_FT_PRIORITY,
	HTTP2_FT_RST_STREAM,
	HTTP2_FT_SETTINGS,
	HTTP2_FT_PUSH_PROMISE,
	HTTP2_FT_PING,
	HTTP2_FT_GOAWAY,
	HTTP2_FT_WINDOW_UPDATE,
	HTTP2_FT_CONTINUATION,
	HTTP2_FT_OTHER, /* unknown types: skipped, as RFC 9113 says */
	HTTP2_FT_NR
};

/* What was dropped, and why. The first five stop the connection's parsing. */
enum http2_drop {
	HTTP2_DROP_BAD_FRAME,	   /* framing broken (bad length, stream 0 rules, CONTINUATION
				    * order, padding, no preface): conn stopped */
	HTTP2_DROP_HPACK,	   /* a header block libnghttp2 could not decode: conn stopped */
	HTTP2_DROP_FRAME_SIZE,	   /* a non-DATA frame over max_frame: conn stopped */
	HTTP2_DROP_GAP,		   /* bytes lost in a direction: conn stopped */
	HTTP2_DROP_NOMEM,	   /* out of memory: conn stopped */
	HTTP2_DROP_STREAMS,	   /* streams over max_streams at once: not tracked */
	HTTP2_DROP_HEADER_LIST,	   /* header list over max_header_list: exchange dropped */
	HTTP2_DROP_BODY,	   /* messages whose body went over max_body: cut (kept) */
	HTTP2_DROP_ABANDONED,	   /* streams in progress when the conn's parsing stopped */
	HTTP2_DROP_UNKNOWN_STREAM, /* frames of streams never opened (mid-stream join) */
	HTTP2_DROP_MALFORMED,	   /* a message against RFC 9113 section 8 (no :method, bad
				    * :status, NUL in a field): exchange dropped */
	HTTP2_DROP_NR
};

/* "data", "headers", ... and "bad_frame", "hpack", ...: stable names for
 * metrics; "unknown" out of range. */
const char *http2_frame_name(enum http2_frame_type t);
const char *http2_drop_name(enum http2_drop d);

/* Counters, added to by every conn that points at it; the caller owns it. */
struct http2_stats {
	uint64_t conns;		/* connections handed to the parser */
	uint64_t conns_stopped; /* of them, parsing stopped early (drops 0-4) */
	uint64_t frames[HTTP2_FT_NR];
	uint64_t streams;     /* opened: request HEADERS or PUSH_PROMISE */
	uint64_t exchanges;   /* callbacks made */
	uint64_t resets;      /* streams ended by RST_STREAM (emitted, flagged reset) */
	uint64_t no_response; /* emitted at close or GOAWAY without a response */
	uint64_t drops[HTTP2_DROP_NR];
};

struct http2_opts {
	size_t max_body;	/* body bytes kept per message (default AS_MAX_BODY_DEFAULT) */
	size_t max_header_list; /* decoded header list, RFC 9113 size (default 64 KiB) */
	size_t max_streams;	/* streams tracked at once per conn (default 128) */
	size_t max_frame;	/* payload of a non-DATA frame held whole (default 64 KiB) */
	int64_t wall_offset_ns; /* added to the monotonic ts of feed() for req/resp_time_ns */
};

#define HTTP2_DEFAULT_MAX_HEADER_LIST (64 * 1024)
#define HTTP2_DEFAULT_MAX_STREAMS 128
#define HTTP2_DEFAULT_MAX_FRAME (64 * 1024)

typedef void (*http2_exchange_cb)(void *ctx, struct as_exchange *x);

struct http2_conn;

/* client_dir: the direction (AS_DIR_*) that carries the requests, or -1
 * when unknown (then the direction that starts with the client preface is
 * the client's; mid-stream, the one that opens an odd stream). o NULL =
 * defaults; stats NULL = counted privately. NULL on -ENOMEM. */
struct http2_conn *http2_conn_new(const struct http2_opts *o, struct http2_stats *stats,
				  int client_dir, http2_exchange_cb cb, void *ctx);

/* NULL-safe; frees streams in progress without emitting. */
void http2_conn_free(struct http2_conn *c);

/* The conn was seen mid-stream: no preface is expected, the exchanges are
 * flagged AS_X_MIDSTREAM, and a header block that refers to the unknown
 * part of the dynamic table stops the parsing. Call before the first feed. */
void http2_conn_set_midstream(struct http2_conn *c);

/* h2c by upgrade (RFC 7540 section 3.2): the HTTP/1.1 request `req` that
 * asked for it (taken, freed on error) becomes stream 1, its request
 * complete, so the response that comes in HTTP/2 frames on stream 1 pairs
 * with it; its HTTP2-Settings apply as the client's first SETTINGS. The
 * client's direction then starts with the preface, the server's with its
 * SETTINGS. Call before the first feed, with client_dir known. 0, -EINVAL
 * (midstream, client unknown, already fed) or -ENOMEM. */
int http2_conn_upgrade(struct http2_conn *c, struct as_exchange *req, uint64_t req_start,
		       uint64_t req_end);

/* Returns 0, or -EPROTO once the conn's parsing stopped (feeding is then a
 * no-op). */
int http2_conn_feed(struct http2_conn *c, int dir, const void *data, size_t len, uint64_t ts_ns);

/* `missing` bytes of dir were lost: HPACK state and framing are gone, so
 * the conn's parsing stops (counted). */
void http2_conn_gap(struct http2_conn *c, int dir, uint64_t missing, uint64_t ts_ns);

/* The connection ended: streams whose request was seen are emitted
 * (AS_X_NO_RESPONSE without a response head, AS_X_RESP_GAP when the
 * response had not ended); the rest are dropped. */
void http2_conn_close(struct http2_conn *c, uint64_t ts_ns);

/* 1 once the conn's parsing stopped or it was closed. */
int http2_conn_dead(const struct http2_conn *c);

#endif
