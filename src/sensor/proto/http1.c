// SPDX-License-Identifier: BSD-2-Clause
/*
 * Incremental HTTP/1.x parser and request/response pairing for one TCP
 * connection. Written for apisonar; see include/apisonar/sensor/proto/http1.h and
 * docs/http1.md.
 *
 * Shape: each direction is a small state machine that consumes the caller's
 * bytes in place (zero-copy); only a partial line (start line, header line,
 * chunk-size line) is copied into a per-direction line buffer, and bytes
 * that cannot be parsed yet (a response whose request has not been seen, or
 * bytes after an Upgrade/CONNECT request before its answer) are held in a
 * bounded per-direction buffer and replayed later. Requests wait in a FIFO
 * queue for their responses.
 *
 * No decision may depend on how the caller cut a stream into feeds (an
 * attacker can choose the segmentation): the role peek takes "HTTP/" byte by
 * byte, the hold overflows only when full and stuck, lines are capped by
 * their bytes, and bytes waiting in both directions are parsed oldest first
 * by the call that brought them, so that a direction's bytes are taken at
 * the same points relative to the other direction's events whether they
 * came in one feed or in many. tests/unit/sensor/test_http1.c cuts every
 * script at every point; fuzz_http1 checks the same property.
 *
 * Pairing is FIFO while the two directions are known to be aligned (this is
 * exact, pipelining included). A loss on the request side that framing
 * cannot absorb (gap, garbage, ambiguity) puts a barrier after the requests
 * already queued: they keep FIFO pairing, but how many requests were lost is
 * unknown, so past the barrier the conn is "unaligned". A loss on the
 * response side, or a mid-stream start, makes it unaligned at once.
 *
 * Unaligned, a response is paired again only under the one assumption we
 * make, that the client waits for each response before sending the next
 * request: a response pairs with the last waiting request that began before
 * it (a response never precedes its request), older ones are emitted alone.
 * A conn that has shown pipelining (a request sent before the answer to an
 * earlier one began, or a new request while a lost one was still
 * unanswered) never pairs again after a loss: requests are emitted alone and
 * responses dropped, counted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apisonar/sensor/events.h"
#include "apisonar/sensor/proto/http1.h"

/* Timestamp marks kept for held bytes; past this, later marks merge into the
 * last one (their times become slightly early). */
#define H1_HOLD_MAX_SEGS 4096
/* Queue slots allocated first; doubles up to max_pending. */
#define H1_QUEUE_MIN 4

enum h1_state {
	ST_START,      /* between messages */
	ST_HEAD,       /* start line and header lines */
	ST_BODY_CL,    /* `remaining` body bytes */
	ST_CHUNK_SIZE, /* a chunk-size line */
	ST_CHUNK_DATA, /* `remaining` bytes of chunk data */
	ST_CHUNK_CRLF, /* the CRLF after chunk data */
	ST_TRAILER,    /* trailer lines up to the empty line */
	ST_BODY_CLOSE, /* response body ended by close */
	ST_RESYNC,     /* looking for a message start line by line */
	ST_FOUND,      /* the line buffer holds a start line found by resync */
	ST_WAIT,       /* request dir after Upgrade/CONNECT: wait for the answer */
};

/* Which exchange the response being parsed belongs to. */
enum h1_rx {
	RX_NONE,
	RX_REAL,    /* the head of the queue */
	RX_SCRATCH, /* nobody's: parsed for framing, dropped, counted */
	RX_GHOST,   /* the answer to a request dropped by pending_overflow */
};

/* Bytes held for later with the time they were fed, or a gap to apply in
 * stream order. */
struct h1_seg {
	size_t len;
	uint64_t ts;
	uint64_t seq; /* the feed or gap call it came from (c->seq): arrival order */
	uint64_t gap; /* nonzero: a gap of this many bytes, len is 0 */
};

struct h1_pend {
	struct as_exchange *x;
	uint64_t req_start, req_end, resp_start; /* monotonic */
	uint64_t ghosts_before; /* overflow-dropped requests just before this one */
	bool req_done, resp_done, resp_lost;
	bool resp_started; /* its final response head was parsed (not an upgrade) */
	bool is_head, is_connect, wants_upgrade;
	bool wants_h2c; /* Upgrade: h2c with HTTP2-Settings (RFC 7540 section 3.2) */
};

struct h1_dir {
	enum h1_state st;
	/* partial line, cap max_header_bytes */
	char *line;
	size_t line_len, line_cap;
	bool skip_line; /* resync: discarding an over-long line up to its LF */
	bool quiet;	/* resync at a mid-stream start: not counted */
	/* role peek: how many bytes of "HTTP/" the first message began with,
	 * consumed while the role was unknown, and the time of the first */
	unsigned peek;
	uint64_t peek_ts;
	bool stuck; /* waits for the other direction: tried again after its next event */
	/* bytes not yet parsed, cap c->hold_max */
	unsigned char *hold;
	size_t hold_off, hold_len, hold_cap;
	struct h1_seg *segs;
	size_t seg_off, n_segs, segs_cap;
	/* the caller's bytes of the feed in progress, after the held ones */
	const unsigned char *fresh;
	size_t fresh_len;
	uint64_t fresh_ts, fresh_seq;
	/* the message being parsed */
	struct as_exchange *cx; /* exchange being filled, NULL when dropped */
	struct as_message *cm;	/* where headers and body go, NULL when dropped */
	bool first_line;
	bool seen_message; /* a head completed on this dir */
	size_t head_bytes;
	uint64_t remaining;
	uint64_t msg_start; /* monotonic ts of the first byte */
	uint64_t found_ts;  /* ts of the start line resync found */
	uint64_t cl;
	bool have_cl, have_te, te_chunked, has_upgrade;
	bool up_h2c, h2_settings; /* an Upgrade token h2c; an HTTP2-Settings field */
	int version, status;
	bool in_body; /* head complete, body not */
};

struct http1_conn {
	struct http1_opts o;
	struct http1_stats *st;
	struct http1_stats own_stats;
	http1_exchange_cb cb;
	void *ctx;
	size_t hold_max;
	struct h1_dir d[2];
	int req_dir; /* -1 until the first message tells */
	bool dead, midstream;
	bool aligned;	 /* FIFO pairing is exact (up to the barrier) */
	bool barrier_on; /* a request-side loss after the first `barrier` entries */
	size_t barrier;
	bool pipelined_seen;	  /* a request was sent before an earlier answer began */
	bool no_pair;		  /* pipelining and a loss: never pair again */
	uint64_t lost_req_ts;	  /* start of a request lost part-way (0: none) */
	uint64_t resp_after_loss; /* start of the first response after it (0: none) */
	uint64_t last_resp_start; /* start of the last response paired */
	/* requests waiting, a ring */
	struct h1_pend *q;
	size_t q_head, q_len, q_cap;
	uint64_t trailing_ghosts; /* overflow-dropped requests after the tail */
	bool req_in_tail;	  /* the request being parsed is the queue tail */
	bool req_ghost;		  /* the request being parsed was overflow-dropped */
	enum h1_rx rx;
	/* Scheduling, so that results never depend on how the bytes were cut
	 * into feeds: bytes not yet parsed are taken oldest first (by the call
	 * that brought them), and an event on one direction (a request queued
	 * or done, a response decided or done, a loss, the role learnt) stops
	 * it when the other direction has older bytes that may now go on. */
	uint64_t seq;	  /* feed and gap calls so far */
	uint64_t cur_seq; /* the call whose bytes are being parsed; UINT64_MAX: none */
	uint64_t events;  /* pokes so far: a step that made one made progress */
	bool yield;
	/* An h2c upgrade was answered 101: the request, kept for HTTP/2's
	 * stream 1, and the bytes after the switch (held) wait for
	 * http1_conn_take_h2c() and http1_conn_rest(). */
	struct as_exchange *h2c;
	uint64_t h2c_req_start, h2c_req_end;
};

static const char *const amb_names[HTTP1_AMB_NR] = {
    [HTTP1_AMB_CL_AND_TE] = "cl_and_te",
    [HTTP1_AMB_DUP_CL] = "dup_cl",
    [HTTP1_AMB_OBS_FOLD] = "obs_fold",
    [HTTP1_AMB_BARE_EOL] = "bare_eol",
    [HTTP1_AMB_SPACE_BEFORE_COLON] = "space_before_colon",
    [HTTP1_AMB_CHUNK_JUNK] = "chunk_junk",
    [HTTP1_AMB_CHUNK_TOO_LONG] = "chunk_too_long",
    [HTTP1_AMB_CHUNK_EXT] = "chunk_ext",
    [HTTP1_AMB_HEADERS_TOO_BIG] = "headers_too_big",
};

/* Metric names must never change once shipped. */
const char *http1_ambiguity_name(enum http1_ambiguity a)
{
	if ((unsigned)a >= HTTP1_AMB_NR)
		return "unknown";
	return amb_names[a];
}

/* ---- small helpers ------------------------------------------------------ */

/* RFC 9110 tchar (alphanumerics and !#$%&'*+-.^_`|~) as a bitmap: header
 * names are checked byte by byte on the hot path. */
static const uint64_t tchar_map[2] = {0x03ff6cfa00000000ull, 0x57ffffffc7fffffeull};

static bool is_tchar(unsigned char ch)
{
	return ch < 128 && (tchar_map[ch >> 6] >> (ch & 63)) & 1;
}

/* Method names and header names are non-empty tokens. */
static bool span_is_token(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Header names and codings compare case-insensitively. */
static bool ieq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* Whole decimal, no sign, no overflow past 2^63. */
static int parse_dec(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!n || n > 19)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -ERANGE;
	*out = v;
	return 0;
}

/* The queue is a ring; i counts from its head. */
static struct h1_pend *q_at(struct http1_conn *c, size_t i)
{
	return &c->q[(c->q_head + i) % c->q_cap];
}

/* The oldest waiting request: the one the next response answers. */
static struct h1_pend *q_first(struct http1_conn *c)
{
	return c->q_len ? q_at(c, 0) : NULL;
}

/* The newest: the one whose body may still be arriving. */
static struct h1_pend *q_tail(struct http1_conn *c)
{
	return c->q_len ? q_at(c, c->q_len - 1) : NULL;
}

/* Grows the ring (doubling, linearised) up to max_pending. */
static int q_reserve(struct http1_conn *c)
{
	struct h1_pend *n;
	size_t want, i;

	if (c->q_len < c->q_cap)
		return 0;
	if (c->q_cap >= c->o.max_pending)
		return -E2BIG;
	want = c->q_cap ? c->q_cap * 2 : H1_QUEUE_MIN;
	if (want > c->o.max_pending)
		want = c->o.max_pending;
	n = calloc(want, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < c->q_len; i++)
		n[i] = *q_at(c, i);
	free(c->q);
	c->q = n;
	c->q_cap = want;
	c->q_head = 0;
	return 0;
}

/* Drops the head; the barrier, counted in entries, moves with it. */
static void q_pop(struct http1_conn *c)
{
	c->q_head = (c->q_head + 1) % c->q_cap;
	c->q_len--;
	if (c->barrier_on && c->barrier)
		c->barrier--;
}

/* The call that brought dir's oldest unparsed bytes; UINT64_MAX: none. */
static uint64_t dir_next_seq(const struct http1_conn *c, int dir)
{
	const struct h1_dir *d = &c->d[dir];

	if (d->n_segs)
		return d->segs[d->seg_off].seq;
	return d->fresh_len ? d->fresh_seq : UINT64_MAX;
}

/* Direction dir changed something the other one may be waiting on: the
 * other may go on, and goes first when its bytes are older. */
static void poke(struct http1_conn *c, int dir)
{
	if (dir < 0)
		return;
	c->events++;
	c->d[1 - dir].stuck = false;
	if (dir_next_seq(c, 1 - dir) < c->cur_seq)
		c->yield = true;
}

/* ---- emitting ----------------------------------------------------------- */

static uint64_t wall(const struct http1_conn *c, uint64_t mono)
{
	return (uint64_t)((int64_t)mono + c->o.wall_offset_ns);
}

/* Hands one finished (or abandoned) entry to the callback. */
static void emit(struct http1_conn *c, struct h1_pend *e)
{
	struct as_exchange *x = e->x;

	e->x = NULL;
	if (!x)
		return;
	x->role = c->req_dir == AS_DIR_INGRESS ? AS_ROLE_SERVER : AS_ROLE_CLIENT;
	x->req_time_ns = wall(c, e->req_start);
	if (e->resp_done && x->status) {
		x->resp_time_ns = wall(c, e->resp_start);
		x->latency_ns = e->resp_start > e->req_end ? e->resp_start - e->req_end : 0;
	} else {
		x->status = 0;
		free(x->reason);
		x->reason = NULL;
		x->resp_version = 0;
		as_msg_clear(&x->resp);
		x->flags |= AS_X_NO_RESPONSE;
	}
	if (c->midstream)
		x->flags |= AS_X_MIDSTREAM;
	if (x->req.body_truncated) {
		x->flags |= AS_X_REQ_TRUNCATED;
		c->st->truncated_bodies++;
	}
	if (x->resp.body_truncated) {
		x->flags |= AS_X_RESP_TRUNCATED;
		c->st->truncated_bodies++;
	}
	c->st->exchanges++;
	if (c->cb)
		c->cb(c->ctx, x);
	else
		as_exchange_free(x);
}

/* Emits, in order, every head entry whose request is complete and whose
 * response is complete or known lost. */
static void try_emit(struct http1_conn *c)
{
	struct h1_pend *e;

	for (e = q_first(c); e && e->req_done && (e->resp_done || e->resp_lost || c->no_pair);
	     e = q_first(c)) {
		if (!e->resp_done)
			c->st->unpaired_requests++;
		emit(c, e);
		q_pop(c);
	}
}

/* Emits waiting requests alone; `why` counts them. Only complete requests:
 * a request still being parsed stays. */
static void flush_requests(struct http1_conn *c, size_t n, uint64_t *why)
{
	struct h1_pend *e;

	for (e = q_first(c); n && e && e->req_done; e = q_first(c), n--) {
		(*why)++;
		emit(c, e);
		q_pop(c);
	}
}

/* Gives the conn up: nothing more is parsed; complete requests still waiting
 * are emitted alone. */
static void conn_give_up(struct http1_conn *c)
{
	int i;

	if (c->dead)
		return;
	c->dead = true;
	flush_requests(c, c->q_len, &c->st->no_response);
	for (i = 0; i < 2; i++) {
		if (c->d[i].cx && i == c->req_dir && !c->req_in_tail)
			as_exchange_free(c->d[i].cx);
		c->d[i].cx = NULL;
		c->d[i].cm = NULL;
	}
}

/* ---- losses ------------------------------------------------------------- */

/* Forgets the message in progress on d (its exchange is owned elsewhere). */
static void dir_reset_msg(struct h1_dir *d)
{
	d->cx = NULL;
	d->cm = NULL;
	d->in_body = false;
	d->line_len = 0;
	d->skip_line = false;
	d->peek = 0;
}

/* Direction `dir` lost its place: drop the message in progress (a request
 * whose head was queued is kept, marked as cut), forget the alignment of the
 * two directions, and look for the next message start. */
static void dir_lose(struct http1_conn *c, int dir, bool garbage)
{
	struct h1_dir *d = &c->d[dir];
	bool ghosts = c->trailing_ghosts != 0;
	struct h1_pend *e;
	size_t i;

	poke(c, dir);
	for (i = 0; i < c->q_len; i++)
		ghosts = ghosts || q_at(c, i)->ghosts_before;
	if (garbage)
		c->st->parse_errors++;
	if (dir == c->req_dir) {
		if (c->req_in_tail) {
			e = q_tail(c);
			e->req_done = true;
			e->x->flags |= AS_X_REQ_GAP;
			e->x->req.body_truncated = true;
			c->req_in_tail = false;
		} else if (d->cx || d->st == ST_HEAD || d->peek) {
			/* a request began and was lost: its answer will come */
			as_exchange_free(d->cx);
			c->st->partial_dropped++;
			c->lost_req_ts = d->peek ? d->peek_ts : d->msg_start;
			c->resp_after_loss = 0;
		}
		c->req_ghost = false;
		/* requests queued so far keep FIFO pairing; past them, unknown */
		if (c->aligned && !ghosts && !c->barrier_on) {
			c->barrier_on = true;
			c->barrier = c->q_len;
		} else if (ghosts) {
			c->aligned = false;
			c->barrier_on = false;
		}
	} else if (c->rx != RX_NONE) {
		if (c->rx == RX_REAL) {
			/* a response whose head was complete is kept, cut */
			e = q_first(c);
			e->x->flags |= AS_X_RESP_GAP;
			if (d->in_body) {
				e->resp_done = true;
				e->x->resp.body_truncated = true;
			} else {
				e->resp_lost = true;
			}
		}
		c->rx = RX_NONE;
		if (c->req_dir >= 0 && c->d[c->req_dir].st == ST_WAIT)
			c->d[c->req_dir].st = ST_START;
	}
	if (dir != c->req_dir) {
		c->aligned = false;
		c->barrier_on = false;
	}
	dir_reset_msg(d);
	d->st = ST_RESYNC;
	c->trailing_ghosts = 0;
	for (i = 0; i < c->q_len; i++)
		q_at(c, i)->ghosts_before = 0;
	try_emit(c);
}

/* Ambiguous framing is never guessed: counted, and the message dropped. */
static void ambiguous(struct http1_conn *c, int dir, enum http1_ambiguity a)
{
	c->st->ambiguous[a]++;
	dir_lose(c, dir, false);
}

/* A parse error: the first message of a fresh conn that is not HTTP/1 gives
 * the conn up; later ones resync that direction. */
static void garbage(struct http1_conn *c, int dir)
{
	if (!c->d[dir].seen_message && !c->midstream) {
		c->st->parse_errors++;
		if (dir == c->req_dir && c->d[dir].cx) {
			as_exchange_free(c->d[dir].cx);
			c->d[dir].cx = NULL;
		}
		conn_give_up(c);
		return;
	}
	dir_lose(c, dir, true);
}

/* ---- message boundaries ------------------------------------------------- */

/* Gives up pairing on this conn for good: complete waiting requests go out
 * alone now, later ones as they complete. */
static void stop_pairing(struct http1_conn *c)
{
	c->no_pair = true;
	c->pipelined_seen = true;
	try_emit(c);
}

/* Decides which exchange the response starting at `ts` belongs to. Returns
 * false when it must wait for a request. */
static bool resp_begin(struct http1_conn *c, uint64_t ts)
{
	struct h1_pend *e = q_first(c), *cand;
	size_t k;

	if (c->barrier_on && !c->barrier) {
		/* the requests known before a request-side loss are answered */
		c->barrier_on = false;
		c->aligned = false;
	}
	if (c->no_pair)
		goto drop;
	if (e && (e->resp_done || e->resp_lost) && !e->ghosts_before)
		return false; /* its answer is known or gone: wait for its request to end */
	if (c->aligned) {
		if (!e) {
			if (!c->trailing_ghosts)
				return false;
			c->rx = RX_GHOST;
			return true;
		}
		if (e->ghosts_before) {
			c->rx = RX_GHOST;
			return true;
		}
		if (c->q_len > 1 && q_at(c, 1)->req_start < ts)
			c->pipelined_seen = true; /* the next request did not wait */
		c->last_resp_start = ts;
		c->rx = RX_REAL;
		return true;
	}
	if (!e)
		return false;
	if (c->lost_req_ts && ts > c->lost_req_ts && !c->resp_after_loss)
		c->resp_after_loss = ts;
	/* A response begins after its request began: the candidates are the
	 * waiting requests that began before it. */
	for (k = 0; k < c->q_len && q_at(c, k)->req_start <= ts; k++)
		;
	if (!k)
		goto drop;
	if (c->pipelined_seen) {
		stop_pairing(c);
		goto drop;
	}
	cand = q_at(c, k - 1);
	if (c->lost_req_ts && cand->req_start >= c->lost_req_ts &&
	    !(c->resp_after_loss && c->resp_after_loss < cand->req_start)) {
		/* it was sent while a lost request was still unanswered */
		stop_pairing(c);
		goto drop;
	}
	if (k > 1)
		flush_requests(c, k - 1, &c->st->unpaired_requests);
	c->aligned = true;
	c->lost_req_ts = 0;
	c->last_resp_start = ts;
	c->rx = RX_REAL;
	return true;
drop:
	c->rx = RX_SCRATCH; /* counted once its head shows a final response */
	return true;
}

/* A message starts on dir: reset the framing facts, pick its exchange. */
static void dir_begin(struct http1_conn *c, int dir, uint64_t ts)
{
	struct h1_dir *d = &c->d[dir];

	d->msg_start = ts;
	d->first_line = true;
	d->head_bytes = 0;
	d->have_cl = d->have_te = d->te_chunked = false;
	d->has_upgrade = false;
	d->up_h2c = d->h2_settings = false;
	d->cl = 0;
	d->version = d->status = 0;
	d->in_body = false;
	d->cx = NULL;
	d->cm = NULL;
	if (dir == c->req_dir) {
		d->cx = as_exchange_new();
		if (d->cx)
			d->cm = &d->cx->req;
	} else if (c->rx == RX_REAL) {
		d->cx = q_first(c)->x;
		d->cm = &d->cx->resp;
	}
	d->st = ST_HEAD;
}

/* The request in progress is complete. */
static void req_done(struct http1_conn *c, uint64_t ts)
{
	struct h1_dir *d = &c->d[c->req_dir];
	struct h1_pend *e;

	poke(c, c->req_dir);
	dir_reset_msg(d);
	d->st = ST_START;
	if (c->req_ghost) {
		c->req_ghost = false;
		return;
	}
	if (!c->req_in_tail)
		return;
	c->req_in_tail = false;
	e = q_tail(c);
	e->req_done = true;
	e->req_end = ts;
	if ((e->is_connect || e->wants_upgrade) && !e->resp_started && !e->resp_lost)
		d->st = ST_WAIT;
	try_emit(c);
}

/* The response in progress is complete. */
static void resp_done(struct http1_conn *c, uint64_t ts)
{
	struct h1_dir *d = &c->d[1 - c->req_dir];
	struct h1_pend *e = q_first(c);

	poke(c, 1 - c->req_dir);
	dir_reset_msg(d);
	d->st = ST_START;
	if (c->rx == RX_GHOST) {
		if (e && e->ghosts_before)
			e->ghosts_before--;
		else if (c->trailing_ghosts)
			c->trailing_ghosts--;
	} else if (c->rx == RX_REAL) {
		e->resp_done = true;
	}
	c->rx = RX_NONE;
	if (c->d[c->req_dir].st == ST_WAIT)
		c->d[c->req_dir].st = ST_START;
	try_emit(c);
}

/* The request head is complete: queue it, or drop it past max_pending
 * (counted; the queue keeps its place so pairing stays exact). */
static int req_head_done(struct http1_conn *c, struct h1_dir *d)
{
	struct as_exchange *x = d->cx;
	struct h1_pend *e;
	bool is_head = !strcmp(x->method, "HEAD");
	bool is_connect = !strcmp(x->method, "CONNECT");
	int err;

	poke(c, c->req_dir);
	c->st->requests++;
	err = q_reserve(c);
	if (err == -E2BIG) {
		c->st->pending_overflow++;
		as_exchange_free(x);
		d->cx = NULL;
		d->cm = NULL;
		c->pipelined_seen = true;
		if (c->aligned && !c->barrier_on && !is_head && !is_connect && !d->has_upgrade)
			c->trailing_ghosts++; /* its answer is skipped in turn */
		else
			c->aligned = false;
		c->req_ghost = true;
		return 0;
	}
	if (err)
		return err;
	if (d->msg_start < c->last_resp_start)
		c->pipelined_seen = true; /* sent before an earlier answer began */
	e = q_at(c, c->q_len);
	memset(e, 0, sizeof(*e));
	e->x = x;
	e->req_start = d->msg_start;
	e->ghosts_before = c->trailing_ghosts;
	c->trailing_ghosts = 0;
	e->is_head = is_head;
	e->is_connect = is_connect;
	e->wants_upgrade = d->has_upgrade;
	e->wants_h2c = d->up_h2c && d->h2_settings;
	c->q_len++;
	c->req_in_tail = true;
	d->cx = NULL; /* the queue owns it; cm still points into it */
	return 0;
}

/* ---- head lines --------------------------------------------------------- */

/* "METHOD target HTTP/1.x"; -EPROTONOSUPPORT for the HTTP/2 preface. */
static int parse_request_line(struct http1_conn *c, struct h1_dir *d, const char *l, size_t n)
{
	const char *sp1, *sp2, *ver;
	size_t i, tl;

	sp1 = memchr(l, ' ', n);
	if (!sp1)
		return -EINVAL;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l));
	if (!sp2)
		return -EINVAL;
	ver = sp2 + 1;
	if ((size_t)(l + n - ver) != 8)
		return -EINVAL;
	if (sp1 - l == 3 && !memcmp(l, "PRI", 3) && sp2 - sp1 == 2 && sp1[1] == '*' &&
	    !memcmp(ver, "HTTP/2.0", 8))
		return -EPROTONOSUPPORT;
	if (memcmp(ver, "HTTP/1.", 7) || (ver[7] != '0' && ver[7] != '1'))
		return -EINVAL;
	if (!span_is_token(l, (size_t)(sp1 - l)))
		return -EINVAL;
	tl = (size_t)(sp2 - sp1 - 1);
	if (!tl)
		return -EINVAL;
	for (i = 0; i < tl; i++) {
		unsigned char ch = (unsigned char)sp1[1 + i];

		if (ch <= 0x20 || ch == 0x7f)
			return -EINVAL;
	}
	d->version = ver[7] == '1' ? 11 : 10;
	if (d->cx) {
		if (as_strset(&d->cx->method, l, (size_t)(sp1 - l)) ||
		    as_strset(&d->cx->target, sp1 + 1, tl))
			return -ENOMEM;
		d->cx->req_version = d->version;
	}
	return 0;
}

/* "HTTP/1.x NNN reason"; a missing reason is allowed. */
static int parse_status_line(struct h1_dir *d, const char *l, size_t n)
{
	size_t i;

	if (n < 12 || memcmp(l, "HTTP/1.", 7) || (l[7] != '0' && l[7] != '1') || l[8] != ' ')
		return -EINVAL;
	if (l[9] < '1' || l[9] > '9')
		return -EINVAL; /* 1xx to 9xx: a code below 100 is not a status */
	for (i = 10; i < 12; i++)
		if (l[i] < '0' || l[i] > '9')
			return -EINVAL;
	if (n > 12 && l[12] != ' ')
		return -EINVAL;
	for (i = 13; i < n; i++)
		if (((unsigned char)l[i] < 0x20 && l[i] != '\t') || l[i] == 0x7f)
			return -EINVAL;
	d->version = l[7] == '1' ? 11 : 10;
	d->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (d->cx) {
		d->cx->resp_version = d->version;
		d->cx->status = d->status;
		if (as_strset(&d->cx->reason, n > 13 ? l + 13 : "", n > 13 ? n - 13 : 0))
			return -ENOMEM;
	}
	return 0;
}

/* Content-Length, possibly a list of identical values ("5, 5"). */
static int note_cl(struct h1_dir *d, const char *v, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t s, e;
		uint64_t x;

		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (parse_dec(v + s, e - s, &x))
			return -EINVAL;
		if (d->have_cl && d->cl != x)
			return -EEXIST;
		d->have_cl = true;
		d->cl = x;
		if (i < n)
			i++; /* the comma */
		if (i == n && v[n - 1] == ',')
			return -EINVAL;
	}
	return d->have_cl ? 0 : -EINVAL;
}

/* Transfer-Encoding: chunked only when it is the last coding. */
static void note_te(struct h1_dir *d, const char *v, size_t n)
{
	const char *comma = memrchr(v, ',', n);
	const char *s = comma ? comma + 1 : v;
	size_t len = (size_t)(v + n - s);

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	d->have_te = true;
	d->te_chunked = ieq(s, len, "chunked");
}

/* Whether a comma-separated list (Upgrade, Connection) has the token. */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e > s && ieq(v + s, e - s, tok))
			return true;
	}
	return false;
}

enum { LINE_OK = 0, LINE_END, LINE_GARBAGE, LINE_AMB, LINE_NOMEM };

/* Checks a line's ending and content: CRLF only, no bare CR, no NUL.
 * *n becomes the content length. */
static int line_check(const char *l, size_t *n, enum http1_ambiguity *amb)
{
	size_t len = *n;

	if (len < 2 || l[len - 2] != '\r') {
		*amb = HTTP1_AMB_BARE_EOL;
		return LINE_AMB;
	}
	len -= 2;
	if (memchr(l, '\r', len)) {
		*amb = HTTP1_AMB_BARE_EOL;
		return LINE_AMB;
	}
	if (memchr(l, '\0', len))
		return LINE_GARBAGE;
	*n = len;
	return LINE_OK;
}

/* One header (or trailer) line, CRLF removed. Stored only when store. */
static int header_line(struct h1_dir *d, const char *l, size_t n, bool store,
		       enum http1_ambiguity *amb)
{
	const char *colon, *v, *ve;
	size_t nl, i;

	if (l[0] == ' ' || l[0] == '\t') {
		*amb = HTTP1_AMB_OBS_FOLD;
		return LINE_AMB;
	}
	colon = memchr(l, ':', n);
	if (!colon || colon == l)
		return LINE_GARBAGE;
	nl = (size_t)(colon - l);
	if (l[nl - 1] == ' ' || l[nl - 1] == '\t') {
		*amb = HTTP1_AMB_SPACE_BEFORE_COLON;
		return LINE_AMB;
	}
	if (!span_is_token(l, nl)) {
		if (memchr(l, '\r', nl)) {
			*amb = HTTP1_AMB_BARE_EOL;
			return LINE_AMB;
		}
		return LINE_GARBAGE;
	}
	v = colon + 1;
	ve = l + n;
	while (v < ve && (*v == ' ' || *v == '\t'))
		v++;
	while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
		ve--;
	for (i = 0; i < (size_t)(ve - v); i++) {
		unsigned char ch = (unsigned char)v[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			if (ch != '\r')
				return LINE_GARBAGE;
			*amb = HTTP1_AMB_BARE_EOL;
			return LINE_AMB;
		}
	}
	if (!store)
		return LINE_OK;
	if (ieq(l, nl, "content-length")) {
		int r = note_cl(d, v, (size_t)(ve - v));

		if (r == -EEXIST) {
			*amb = HTTP1_AMB_DUP_CL;
			return LINE_AMB;
		}
		if (r)
			return LINE_GARBAGE;
	} else if (ieq(l, nl, "transfer-encoding")) {
		note_te(d, v, (size_t)(ve - v));
	} else if (ieq(l, nl, "upgrade")) {
		d->has_upgrade = true;
		if (has_token(v, (size_t)(ve - v), "h2c"))
			d->up_h2c = true;
	} else if (ieq(l, nl, "http2-settings")) {
		d->h2_settings = true;
	}
	if (d->cm) {
		int r = as_msg_add_header(d->cm, l, nl, v, (size_t)(ve - v));

		if (r == -E2BIG) {
			*amb = HTTP1_AMB_HEADERS_TOO_BIG;
			return LINE_AMB;
		}
		if (r)
			return LINE_NOMEM;
	}
	return LINE_OK;
}

/* The 101 answered an h2c upgrade whose request is complete: the request
 * leaves the queue for HTTP/2's stream 1 (its response comes as frames),
 * and what follows the switch in each direction is held, whole, for the
 * caller to hand to the HTTP/2 parser. */
static void h2c_switch(struct http1_conn *c, struct h1_pend *e)
{
	struct as_exchange *x = e->x;

	e->x = NULL;
	x->status = 0;
	free(x->reason);
	x->reason = NULL;
	x->resp_version = 0;
	as_msg_clear(&x->resp);
	c->h2c = x;
	c->h2c_req_start = e->req_start;
	c->h2c_req_end = e->req_end;
	c->hold_max = SIZE_MAX; /* nothing is parsed here any more: keep it all */
	q_pop(c);
	c->st->h2c++;
}

/* The empty line ended a head: choose the body framing. */
static int head_end(struct http1_conn *c, int dir, uint64_t ts, enum http1_ambiguity *amb)
{
	struct h1_dir *d = &c->d[dir];
	struct h1_pend *e;
	bool is_head = false, is_connect = false;

	if (d->have_cl && d->have_te) {
		*amb = HTTP1_AMB_CL_AND_TE;
		return LINE_AMB;
	}
	d->seen_message = true;
	if (dir == c->req_dir) {
		if (d->have_te && !d->te_chunked)
			return LINE_GARBAGE; /* a request body must be framed */
		if (req_head_done(c, d))
			return LINE_NOMEM;
		if (d->te_chunked) {
			d->st = ST_CHUNK_SIZE;
		} else if (d->have_cl && d->cl) {
			d->st = ST_BODY_CL;
			d->remaining = d->cl;
		} else {
			req_done(c, ts);
			return LINE_OK;
		}
		d->in_body = true;
		return LINE_OK;
	}

	/* a response */
	poke(c, dir);
	e = q_first(c);
	if (c->rx == RX_REAL) {
		is_head = e->is_head;
		is_connect = e->is_connect;
	}
	if (d->status >= 100 && d->status < 200 && d->status != 101) {
		/* interim: skipped, the final response pairs */
		if (d->cx) {
			d->cx->status = 0;
			free(d->cx->reason);
			d->cx->reason = NULL;
			as_msg_clear(&d->cx->resp);
		}
		dir_reset_msg(d);
		d->st = ST_START;
		c->rx = RX_NONE;
		return LINE_OK;
	}
	c->st->responses++;
	if (c->rx == RX_SCRATCH)
		c->st->unpaired_responses++;
	if (c->rx == RX_REAL) {
		e->resp_start = d->msg_start;
		e->resp_started = true;
	}
	if (d->status == 101 || (is_connect && d->status >= 200 && d->status < 300)) {
		c->st->upgrades++;
		if (c->rx == RX_REAL && d->status == 101 && e->wants_h2c && d->up_h2c &&
		    e->req_done) {
			h2c_switch(c, e);
			dir_reset_msg(d);
			c->rx = RX_NONE;
			conn_give_up(c);
			return LINE_OK;
		}
		if (c->rx == RX_REAL) {
			e->x->flags |= AS_X_UPGRADE;
			e->resp_done = true;
			if (!e->req_done) {
				e->req_done = true;
				e->req_end = ts;
				c->req_in_tail = false;
				dir_reset_msg(&c->d[c->req_dir]);
			}
			try_emit(c);
		}
		dir_reset_msg(d);
		c->rx = RX_NONE;
		conn_give_up(c);
		return LINE_OK;
	}
	/* not an upgrade: a request side waiting for this answer goes on */
	if (c->d[c->req_dir].st == ST_WAIT)
		c->d[c->req_dir].st = ST_START;
	if (is_head || d->status == 204 || d->status == 304) {
		resp_done(c, ts);
	} else if (d->te_chunked) {
		d->st = ST_CHUNK_SIZE;
		d->in_body = true;
	} else if (d->have_cl && !d->have_te) {
		if (d->cl) {
			d->st = ST_BODY_CL;
			d->remaining = d->cl;
			d->in_body = true;
		} else {
			resp_done(c, ts);
		}
	} else {
		d->st = ST_BODY_CLOSE;
		d->in_body = true;
	}
	return LINE_OK;
}

static int start_line_find(const char *l, size_t n, size_t *off);
static int line_keep(struct h1_dir *d, const char *l, size_t ll);

/* One complete line (LF included) of a head. */
static int head_line(struct http1_conn *c, int dir, const char *l, size_t n, uint64_t ts,
		     enum http1_ambiguity *amb)
{
	struct h1_dir *d = &c->d[dir];
	size_t whole = n, off;
	int r;

	d->head_bytes += n;
	if (d->head_bytes > c->o.max_header_bytes) {
		*amb = HTTP1_AMB_HEADERS_TOO_BIG;
		return LINE_AMB;
	}
	if (n < 2 || l[n - 2] != '\r') {
		*amb = HTTP1_AMB_BARE_EOL;
		return LINE_AMB;
	}
	if (d->first_line || n == 2) {
		/* header lines check their own bytes (header_line), once */
		r = line_check(l, &n, amb);
		if (r)
			return r;
	} else {
		n -= 2;
	}
	if (d->first_line) {
		d->first_line = false;
		if (dir == c->req_dir) {
			if (!d->cx)
				return LINE_NOMEM;
			r = parse_request_line(c, d, l, n);
			if (r == -EPROTONOSUPPORT) {
				c->st->http2++;
				as_exchange_free(d->cx);
				d->cx = NULL;
				conn_give_up(c);
				return LINE_OK;
			}
		} else {
			r = parse_status_line(d, l, n);
		}
		if (r == -ENOMEM)
			return LINE_NOMEM;
		if (r && start_line_find(l, whole, &off) == (dir == c->req_dir ? 0 : 1) && off &&
		    (d->seen_message || c->midstream)) {
			/* junk ran into a start line: resync right there */
			garbage(c, dir);
			if (c->dead || line_keep(d, l + off, whole - off))
				return LINE_NOMEM;
			c->st->resyncs++;
			d->found_ts = d->msg_start;
			d->st = ST_FOUND;
			return LINE_END;
		}
		return r ? LINE_GARBAGE : LINE_OK;
	}
	if (!n)
		return head_end(c, dir, ts, amb);
	return header_line(d, l, n, true, amb);
}

/* A chunk-size line: 1-16 hex digits, then optional extensions (flagged). */
static int chunk_size_line(struct http1_conn *c, struct h1_dir *d, const char *l, size_t n,
			   enum http1_ambiguity *amb)
{
	uint64_t v = 0;
	size_t i;
	int r = line_check(l, &n, amb);

	if (r)
		return r;
	for (i = 0; i < n; i++) {
		char ch = l[i];
		unsigned dg;

		if (ch >= '0' && ch <= '9')
			dg = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			dg = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			dg = (unsigned)(ch - 'A' + 10);
		else
			break;
		if (i == 16) {
			*amb = HTTP1_AMB_CHUNK_TOO_LONG;
			return LINE_AMB;
		}
		v = v << 4 | dg;
	}
	if (!i) {
		*amb = HTTP1_AMB_CHUNK_JUNK;
		return LINE_AMB;
	}
	if (i < n) {
		size_t j = i;

		while (j < n && (l[j] == ' ' || l[j] == '\t'))
			j++;
		if (j == n || l[j] != ';') {
			*amb = HTTP1_AMB_CHUNK_JUNK;
			return LINE_AMB;
		}
		c->st->ambiguous[HTTP1_AMB_CHUNK_EXT]++;
	}
	d->remaining = v;
	return LINE_OK;
}

/* ---- line input --------------------------------------------------------- */

/* Takes bytes up to and including the next LF. Returns 1 with the complete
 * line (pointing into p when it is whole there, else into the line buffer),
 * 0 when p ran out (bytes kept), -E2BIG when the line would pass cap (the
 * bytes up to the cap are consumed and forgotten), -ENOMEM. */
static int get_line(struct h1_dir *d, const unsigned char *p, size_t n, size_t *i, size_t cap,
		    const char **l, size_t *ll)
{
	const unsigned char *s = p + *i;
	const unsigned char *nl = memchr(s, '\n', n - *i);
	size_t take = nl ? (size_t)(nl - s) + 1 : n - *i;

	if (d->line_len + take > cap) {
		/* consume exactly up to the cap, however the bytes were cut */
		*i += cap > d->line_len ? cap - d->line_len : 0;
		return -E2BIG;
	}
	if (!d->line_len && nl) {
		*l = (const char *)s;
		*ll = take;
		*i += take;
		return 1;
	}
	if (d->line_len + take > d->line_cap) {
		size_t want = d->line_cap ? d->line_cap : 256;
		char *b;

		while (want < d->line_len + take)
			want *= 2;
		if (want > cap)
			want = cap;
		b = realloc(d->line, want);
		if (!b)
			return -ENOMEM;
		d->line = b;
		d->line_cap = want;
	}
	memcpy(d->line + d->line_len, s, take);
	d->line_len += take;
	*i += take;
	if (!nl)
		return 0;
	*l = d->line;
	*ll = d->line_len;
	return 1;
}

/* Copies a line that get_line handed back in place into the line buffer. */
static int line_keep(struct h1_dir *d, const char *l, size_t ll)
{
	/* l may point into the line buffer itself: then ll <= line_cap */
	if (ll > d->line_cap) {
		char *b = realloc(d->line, ll);

		if (!b)
			return -ENOMEM;
		d->line = b;
		d->line_cap = ll;
	}
	memmove(d->line, l, ll);
	d->line_len = ll;
	return 0;
}

/* Is this line (LF included) a request line or status line? Returns the
 * direction kind it proves (0 request, 1 response) or -1. */
static int start_line_kind(const char *l, size_t n)
{
	size_t i;

	if (n >= 2 && l[n - 2] == '\r')
		n -= 2;
	else
		return -1;
	if (n >= 12 && !memcmp(l, "HTTP/1.", 7) && (l[7] == '0' || l[7] == '1') && l[8] == ' ' &&
	    l[9] >= '1' && l[9] <= '5' && l[10] >= '0' && l[10] <= '9' && l[11] >= '0' &&
	    l[11] <= '9' && (n == 12 || l[12] == ' '))
		return 1;
	for (i = 0; i < n && i < 24 && ((l[i] >= 'A' && l[i] <= 'Z') || l[i] == '-'); i++)
		;
	if (!i || i == n || l[i] != ' ')
		return -1;
	if (n < i + 11 || memcmp(l + n - 9, " HTTP/1.", 8) || (l[n - 1] != '0' && l[n - 1] != '1'))
		return -1;
	if (memchr(l + i + 1, ' ', n - 9 - i - 1))
		return -1;
	return 0;
}

/* Finds a start line in a resync line: at its start, or after junk (a body
 * we could not frame runs into the next message). Past junk only the
 * standard methods are trusted. Returns the kind (0 request, 1 response) and
 * sets *off, or -1. */
static int start_line_find(const char *l, size_t n, size_t *off)
{
	static const char *const methods[] = {"GET",	 "HEAD",    "POST",  "PUT",  "DELETE",
					      "CONNECT", "OPTIONS", "TRACE", "PATCH"};
	const char *h, *sp;
	size_t o, end, run, k;

	*off = 0;
	if (start_line_kind(l, n) >= 0)
		return start_line_kind(l, n);
	if (n < 14 || l[n - 2] != '\r')
		return -1;
	for (h = memmem(l, n, "HTTP/1.", 7); h;
	     h = memmem(h + 1, n - (size_t)(h + 1 - l), "HTTP/1.", 7)) {
		o = (size_t)(h - l);
		if (start_line_kind(h, n - o) == 1) {
			*off = o;
			return 1;
		}
	}
	/* "<junk>METHOD /target HTTP/1.x\r\n" */
	end = n - 11;
	if (memcmp(l + end, " HTTP/1.", 8))
		return -1;
	sp = memrchr(l, ' ', end);
	if (!sp)
		return -1;
	o = (size_t)(sp - l);
	for (run = 0; run < o && l[o - run - 1] >= 'A' && l[o - run - 1] <= 'Z'; run++)
		;
	for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
		size_t ml = strlen(methods[k]);

		if (ml <= run && !memcmp(l + o - ml, methods[k], ml) &&
		    start_line_kind(l + o - ml, n - (o - ml)) == 0) {
			*off = o - ml;
			return 0;
		}
	}
	return -1;
}

/* ---- the state machine -------------------------------------------------- */

/* Handles the result of a line handler. Returns false when the caller must
 * stop (the direction lost its place or the conn is dead). */
static bool line_result(struct http1_conn *c, int dir, int r, enum http1_ambiguity amb)
{
	switch (r) {
	case LINE_OK:
	case LINE_END:
		return !c->dead;
	case LINE_AMB:
		ambiguous(c, dir, amb);
		return false;
	case LINE_GARBAGE:
		garbage(c, dir);
		return false;
	default:
		conn_give_up(c);
		return false;
	}
}

/* Body bytes for the message in progress. */
static void body_bytes(struct http1_conn *c, struct h1_dir *d, const unsigned char *p, size_t n)
{
	if (d->cm && as_msg_append_body(d->cm, p, n, c->o.max_body))
		conn_give_up(c);
}

/* The message in progress on dir is complete. */
static void msg_done(struct http1_conn *c, int dir, uint64_t ts)
{
	if (dir == c->req_dir)
		req_done(c, ts);
	else
		resp_done(c, ts);
}

/* Consumes what it can of p[0..n). Returns the bytes consumed; fewer than n
 * only when the direction must wait (or the conn died). */
static size_t dir_process(struct http1_conn *c, int dir, const unsigned char *p, size_t n,
			  uint64_t ts)
{
	struct h1_dir *d = &c->d[dir];
	size_t i = 0, take, cap = c->o.max_header_bytes;
	enum http1_ambiguity amb = HTTP1_AMB_NR;
	uint64_t start_ts;
	const char *l;
	size_t ll;
	int r;

	while (i < n && !c->dead && !c->yield) {
		switch (d->st) {
		case ST_START:
			if (!d->peek && (p[i] == '\r' || p[i] == '\n')) {
				i++;
				break;
			}
			if (c->req_dir < 0) {
				/* "HTTP/" makes a response: the bytes are taken one
				 * by one, so the decision falls on the same byte
				 * however the stream was cut */
				if (!d->peek)
					d->peek_ts = ts;
				while (i < n && d->peek < 5 && p[i] == "HTTP/"[d->peek]) {
					d->peek++;
					i++;
				}
				if (d->peek < 5 && i == n)
					break; /* cannot tell yet */
				c->req_dir = d->peek == 5 ? 1 - dir : dir;
				poke(c, dir);
				break;
			}
			start_ts = d->peek ? d->peek_ts : ts;
			if (dir != c->req_dir && !resp_begin(c, start_ts))
				return i;
			dir_begin(c, dir, start_ts);
			if (d->peek) {
				/* the peeked bytes begin the first line */
				if (line_keep(d, "HTTP/", d->peek)) {
					conn_give_up(c);
					break;
				}
				d->peek = 0;
			}
			break;
		case ST_HEAD:
		case ST_TRAILER:
		case ST_CHUNK_SIZE:
		case ST_CHUNK_CRLF:
			if (d->st == ST_HEAD || d->st == ST_TRAILER)
				cap = c->o.max_header_bytes - d->head_bytes;
			else
				cap = c->o.max_header_bytes;
			r = get_line(d, p, n, &i, cap, &l, &ll);
			if (r == -E2BIG) {
				if (d->st == ST_CHUNK_SIZE)
					amb = HTTP1_AMB_CHUNK_TOO_LONG;
				else if (d->st == ST_CHUNK_CRLF)
					amb = HTTP1_AMB_CHUNK_JUNK;
				else
					amb = HTTP1_AMB_HEADERS_TOO_BIG;
				line_result(c, dir, LINE_AMB, amb);
				break;
			}
			if (r < 0) {
				conn_give_up(c);
				break;
			}
			if (!r)
				break;
			d->line_len = 0; /* the line is used before the buffer is touched again */
			if (d->st == ST_HEAD) {
				r = head_line(c, dir, l, ll, ts, &amb);
			} else if (d->st == ST_TRAILER) {
				d->head_bytes += ll;
				r = line_check(l, &ll, &amb);
				if (d->head_bytes > c->o.max_header_bytes) {
					amb = HTTP1_AMB_HEADERS_TOO_BIG;
					r = LINE_AMB;
				} else if (r == LINE_OK && ll)
					r = header_line(d, l, ll, false, &amb);
				else if (r == LINE_OK)
					msg_done(c, dir, ts);
			} else if (d->st == ST_CHUNK_SIZE) {
				r = chunk_size_line(c, d, l, ll, &amb);
				if (r == LINE_OK && d->remaining) {
					d->st = ST_CHUNK_DATA;
				} else if (r == LINE_OK) {
					d->st = ST_TRAILER;
					d->head_bytes = 0;
				}
			} else {
				r = line_check(l, &ll, &amb);
				if (r == LINE_OK && ll)
					r = LINE_GARBAGE;
				if (r == LINE_OK)
					d->st = ST_CHUNK_SIZE;
			}
			line_result(c, dir, r, amb);
			break;
		case ST_BODY_CL:
		case ST_CHUNK_DATA:
			take = n - i;
			if (take > d->remaining)
				take = (size_t)d->remaining;
			body_bytes(c, d, p + i, take);
			i += take;
			d->remaining -= take;
			if (d->remaining)
				break;
			if (d->st == ST_CHUNK_DATA)
				d->st = ST_CHUNK_CRLF;
			else
				msg_done(c, dir, ts);
			break;
		case ST_BODY_CLOSE:
			body_bytes(c, d, p + i, n - i);
			i = n;
			break;
		case ST_RESYNC:
			if (d->skip_line) {
				const unsigned char *nl = memchr(p + i, '\n', n - i);

				if (!nl)
					return n;
				i = (size_t)(nl - p) + 1;
				d->skip_line = false;
				break;
			}
			r = get_line(d, p, n, &i, c->o.max_header_bytes, &l, &ll);
			if (r == -E2BIG || r == -ENOMEM) {
				d->line_len = 0;
				d->skip_line = true;
				break;
			}
			if (!r)
				break;
			r = start_line_find(l, ll, &take);
			if (r < 0 || (c->req_dir >= 0 && r != (dir == c->req_dir ? 0 : 1))) {
				d->line_len = 0;
				break;
			}
			if (c->req_dir < 0) {
				c->req_dir = r == 0 ? dir : 1 - dir;
				poke(c, dir);
			}
			/* keep the line: ST_FOUND parses it once it may */
			if ((l != d->line || take) && line_keep(d, l + take, ll - take)) {
				conn_give_up(c);
				break;
			}
			if (d->quiet)
				d->quiet = false;
			else
				c->st->resyncs++;
			d->found_ts = ts;
			d->st = ST_FOUND;
			break;
		case ST_FOUND:
			if (dir != c->req_dir && !resp_begin(c, d->found_ts))
				return i;
			dir_begin(c, dir, d->found_ts);
			ll = d->line_len;
			d->line_len = 0;
			r = head_line(c, dir, d->line, ll, ts, &amb);
			line_result(c, dir, r, amb);
			break;
		case ST_WAIT:
			return i;
		}
	}
	return i;
}

/* ---- held bytes --------------------------------------------------------- */

/* The held bytes would pass the cap: forget them; the direction loses its
 * place and looks for the next message start. */
static void hold_drop(struct http1_conn *c, int dir)
{
	struct h1_dir *d = &c->d[dir];

	c->st->hold_overflow++;
	d->hold_off = d->hold_len = 0;
	d->seg_off = d->n_segs = 0;
	d->stuck = false;
	dir_lose(c, dir, true);
}

/* Appends bytes (or a gap when data is NULL) to dir's hold. Over the cap the
 * hold is dropped and the direction loses its place. */
static void hold_append(struct http1_conn *c, int dir, const void *data, size_t len, uint64_t ts,
			uint64_t seq, uint64_t gap)
{
	struct h1_dir *d = &c->d[dir];
	struct h1_seg *s;

	if (data && d->hold_len + len > c->hold_max)
		goto overflow;
	if (data && d->hold_off + d->hold_len + len > d->hold_cap) {
		if (d->hold_off) {
			memmove(d->hold, d->hold + d->hold_off, d->hold_len);
			d->hold_off = 0;
		}
		if (d->hold_len + len > d->hold_cap) {
			size_t want = d->hold_cap ? d->hold_cap : 1024;
			unsigned char *b;

			while (want < d->hold_len + len)
				want *= 2;
			b = realloc(d->hold, want);
			if (!b)
				goto nomem;
			d->hold = b;
			d->hold_cap = want;
		}
	}
	if (data) {
		memcpy(d->hold + d->hold_off + d->hold_len, data, len);
		d->hold_len += len;
	}
	if (d->seg_off + d->n_segs == d->segs_cap && d->seg_off) {
		memmove(d->segs, d->segs + d->seg_off, d->n_segs * sizeof(*s));
		d->seg_off = 0;
	}
	/* A feed right after the one held last, at the same time, extends its
	 * mark: a stream cut into many feeds holds as few marks as whole. */
	s = d->n_segs ? &d->segs[d->seg_off + d->n_segs - 1] : NULL;
	if (data && s && !s->gap &&
	    ((s->ts == ts && s->seq + 1 >= seq) || d->n_segs >= H1_HOLD_MAX_SEGS)) {
		s->len += len;
		s->seq = seq;
		return;
	}
	if (!data && d->n_segs >= H1_HOLD_MAX_SEGS)
		goto overflow;
	if (d->n_segs == d->segs_cap) {
		size_t want = d->segs_cap ? d->segs_cap * 2 : 8;
		struct h1_seg *b = realloc(d->segs, want * sizeof(*b));

		if (!b)
			goto nomem;
		d->segs = b;
		d->segs_cap = want;
	}
	s = &d->segs[d->seg_off + d->n_segs++];
	s->len = data ? len : 0;
	s->ts = ts;
	s->seq = seq;
	s->gap = data ? 0 : gap;
	return;
overflow:
	hold_drop(c, dir);
	return;
nomem:
	conn_give_up(c);
}

static void apply_gap(struct http1_conn *c, int dir, uint64_t missing, uint64_t ts);

/* Parses dir's oldest unparsed bytes (a held mark, else the feed in
 * progress) until they run out, the direction must wait, or an event lets
 * older bytes of the other direction go first. Returns true when it made
 * progress: bytes taken, a gap applied, or an event. */
static bool step(struct http1_conn *c, int dir)
{
	struct h1_dir *d = &c->d[dir];
	uint64_t events = c->events;
	size_t used;

	c->yield = false;
	if (d->n_segs) {
		struct h1_seg *s = &d->segs[d->seg_off];

		c->cur_seq = s->seq;
		if (s->gap) {
			uint64_t g = s->gap, gts = s->ts;

			d->seg_off++;
			d->n_segs--;
			apply_gap(c, dir, g, gts);
			used = 1;
		} else {
			used = dir_process(c, dir, d->hold + d->hold_off, s->len, s->ts);
			d->hold_off += used;
			d->hold_len -= used;
			s->len -= used;
			if (!s->len) {
				d->seg_off++;
				d->n_segs--;
			}
		}
		if (!d->n_segs)
			d->seg_off = d->hold_off = d->hold_len = 0;
	} else {
		c->cur_seq = d->fresh_seq;
		used = dir_process(c, dir, d->fresh, d->fresh_len, d->fresh_ts);
		d->fresh += used;
		d->fresh_len -= used;
	}
	c->cur_seq = UINT64_MAX;
	if (!used && events == c->events && !c->yield) {
		d->stuck = true; /* until the other direction does something */
		return false;
	}
	return true;
}

/* Lets each direction go as far as the other allows, oldest bytes first:
 * the order in which bytes are parsed depends on the order of the calls
 * that brought them, never on how many bytes each call brought. */
static void pump(struct http1_conn *c)
{
	while (!c->dead) {
		uint64_t s0 = dir_next_seq(c, 0), s1 = dir_next_seq(c, 1);
		int first = s1 < s0 ? 1 : 0, k, dir;
		bool progress = false;

		for (k = 0; k < 2 && !progress && !c->dead; k++) {
			dir = k ? 1 - first : first;
			if (dir_next_seq(c, dir) != UINT64_MAX && !c->d[dir].stuck)
				progress = step(c, dir);
		}
		if (!progress)
			break;
	}
	c->yield = false;
}

/* ---- public ------------------------------------------------------------- */

static void conn_init(struct http1_conn *c, const struct http1_opts *o, struct http1_stats *stats,
		      http1_exchange_cb cb, void *ctx)
{
	memset(c, 0, sizeof(*c));
	if (o)
		c->o = *o;
	if (!c->o.max_body)
		c->o.max_body = AS_MAX_BODY_DEFAULT;
	if (!c->o.max_header_bytes)
		c->o.max_header_bytes = HTTP1_DEFAULT_MAX_HEADER_BYTES;
	if (!c->o.max_pending)
		c->o.max_pending = HTTP1_DEFAULT_MAX_PENDING;
	c->hold_max = c->o.max_header_bytes + c->o.max_body;
	c->st = stats ? stats : &c->own_stats;
	c->cb = cb;
	c->ctx = ctx;
	c->req_dir = -1;
	c->aligned = true;
	c->cur_seq = UINT64_MAX;
}

struct http1_conn *http1_conn_new(const struct http1_opts *o, struct http1_stats *stats,
				  http1_exchange_cb cb, void *ctx)
{
	struct http1_conn *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	conn_init(c, o, stats, cb, ctx);
	return c;
}

static void conn_release(struct http1_conn *c)
{
	size_t i;
	int k;

	for (i = 0; i < c->q_len; i++)
		as_exchange_free(q_at(c, i)->x);
	free(c->q);
	for (k = 0; k < 2; k++) {
		if (c->d[k].cx && k == c->req_dir && !c->req_in_tail)
			as_exchange_free(c->d[k].cx);
		free(c->d[k].line);
		free(c->d[k].hold);
		free(c->d[k].segs);
	}
	as_exchange_free(c->h2c);
}

/* Waiting requests are freed, not emitted: close() is the way to emit. */
void http1_conn_free(struct http1_conn *c)
{
	if (!c)
		return;
	conn_release(c);
	free(c);
}

uint64_t http1_conn_restart(struct http1_conn *c)
{
	struct http1_opts o;
	struct http1_stats *st;
	http1_exchange_cb cb;
	void *ctx;
	uint64_t cut = 0;
	int req_dir, k;

	if (c->dead)
		return 0;
	c->st->restarts++;
	/* Requests still waiting for an answer, and a request being parsed
	 * that is not queued yet: their other half was in the skipped range. */
	cut = c->q_len;
	if (c->req_dir >= 0 && c->d[c->req_dir].cx && !c->req_in_tail)
		cut++;
	for (k = 0; k < 2; k++)
		if (c->d[k].st != ST_START || c->d[k].n_segs)
			break;
	if (!cut && k == 2)
		return 0; /* at a boundary already: nothing to drop */
	o = c->o;
	st = c->st == &c->own_stats ? NULL : c->st;
	cb = c->cb;
	ctx = c->ctx;
	req_dir = c->req_dir;
	c->st->restart_dropped += cut;
	{
		struct http1_stats own = c->own_stats;

		conn_release(c);
		conn_init(c, &o, st, cb, ctx);
		c->own_stats = own;
	}
	c->req_dir = req_dir;
	return cut;
}

/* Lets the caller forget a conn that will never parse again. */
int http1_conn_pipelined(const struct http1_conn *c)
{
	return c->pipelined_seen;
}

int http1_conn_dead(const struct http1_conn *c)
{
	return c->dead;
}

struct as_exchange *http1_conn_take_h2c(struct http1_conn *c, int *req_dir, uint64_t *req_start,
					uint64_t *req_end)
{
	struct as_exchange *x = c->h2c;

	if (!x)
		return NULL;
	c->h2c = NULL;
	*req_dir = c->req_dir;
	*req_start = c->h2c_req_start;
	*req_end = c->h2c_req_end;
	return x;
}

/* The held marks of both directions in the order of the calls that brought
 * them (seq), as the HTTP/2 parser would have been fed them. */
void http1_conn_rest(struct http1_conn *c, http1_rest_cb cb, void *ctx)
{
	for (;;) {
		uint64_t s0 = c->d[0].n_segs ? c->d[0].segs[c->d[0].seg_off].seq : UINT64_MAX;
		uint64_t s1 = c->d[1].n_segs ? c->d[1].segs[c->d[1].seg_off].seq : UINT64_MAX;
		int dir = s1 < s0 ? 1 : 0;
		struct h1_dir *d = &c->d[dir];
		struct h1_seg *s;

		if (s0 == UINT64_MAX && s1 == UINT64_MAX)
			break;
		s = &d->segs[d->seg_off];
		cb(ctx, dir, s->gap ? NULL : d->hold + d->hold_off, s->len, s->gap, s->ts);
		d->hold_off += s->len;
		d->hold_len -= s->len;
		d->seg_off++;
		d->n_segs--;
	}
}

/* The first bytes may be mid-message: both directions start by resyncing,
 * quietly, and pairing starts unaligned. */
void http1_conn_set_midstream(struct http1_conn *c)
{
	int k;

	c->midstream = true;
	c->aligned = false;
	for (k = 0; k < 2; k++) {
		if (c->d[k].st == ST_START && !c->d[k].seen_message) {
			c->d[k].st = ST_RESYNC;
			c->d[k].quiet = true;
		}
	}
}

/* Bytes of one direction, in order. They are parsed in place when that
 * direction can go on, held (bounded) when it must wait for the other. */
int http1_conn_feed(struct http1_conn *c, int dir, const void *data, size_t len, uint64_t ts_ns)
{
	struct h1_dir *d;
	size_t room, take;

	if (c->dead)
		return -EPROTO;
	if (dir != AS_DIR_EGRESS && dir != AS_DIR_INGRESS)
		return -EINVAL;
	if (!len)
		return 0; /* not a call that counts: cuts may add empty feeds */
	d = &c->d[dir];
	d->fresh = data;
	d->fresh_len = len;
	d->fresh_ts = ts_ns;
	d->fresh_seq = ++c->seq;
	d->stuck = false;
	while (d->fresh_len && !c->dead) {
		pump(c);
		if (!d->fresh_len || c->dead)
			break;
		/* This direction must wait: keep what fits under the cap. Only
		 * a hold that is full and stuck overflows, so the cap applies
		 * to the stream, not to the size of this feed. */
		room = c->hold_max > d->hold_len ? c->hold_max - d->hold_len : 0;
		take = d->fresh_len < room ? d->fresh_len : room;
		if (take) {
			hold_append(c, dir, d->fresh, take, ts_ns, d->fresh_seq, 0);
			d->fresh += take;
			d->fresh_len -= take;
		}
		if (d->fresh_len && !c->dead)
			hold_drop(c, dir); /* the rest is parsed after the loss */
	}
	if (c->h2c && d->fresh_len) {
		size_t before = d->hold_len;

		/* the rest of this feed follows the switch: kept for HTTP/2 */
		hold_append(c, dir, d->fresh, d->fresh_len, ts_ns, d->fresh_seq, 0);
		if (d->hold_len != before + d->fresh_len) {
			as_exchange_free(c->h2c); /* out of memory: no handover */
			c->h2c = NULL;
		}
	}
	d->fresh = NULL;
	d->fresh_len = 0;
	return c->dead ? -EPROTO : 0;
}

/* A gap reached the parser in stream order. */
static void apply_gap(struct http1_conn *c, int dir, uint64_t missing, uint64_t ts)
{
	struct h1_dir *d = &c->d[dir];
	uint32_t flag = dir == c->req_dir ? AS_X_REQ_GAP : AS_X_RESP_GAP;

	if (!missing)
		return;
	if ((d->st == ST_BODY_CL || d->st == ST_CHUNK_DATA) && missing <= d->remaining) {
		d->remaining -= missing;
		if (d->cm) {
			struct as_exchange *x = dir == c->req_dir ? q_tail(c)->x : q_first(c)->x;

			d->cm->body_true_len += missing;
			d->cm->body_truncated = true;
			x->flags |= flag;
		}
		if (!d->remaining) {
			if (d->st == ST_CHUNK_DATA)
				d->st = ST_CHUNK_CRLF;
			else
				msg_done(c, dir, ts);
		}
		return;
	}
	if ((d->st == ST_BODY_CL || d->st == ST_CHUNK_DATA) && d->cm) {
		/* the gap runs past the end of what the framing announced */
		d->cm->body_true_len += d->remaining;
		d->cm->body_truncated = true;
	}
	if (d->st == ST_BODY_CLOSE) {
		if (d->cm) {
			d->cm->body_true_len += missing;
			d->cm->body_truncated = true;
			q_first(c)->x->flags |= flag;
		}
		return;
	}
	if (d->st == ST_RESYNC) {
		d->line_len = 0;
		d->skip_line = false;
		return;
	}
	dir_lose(c, dir, false);
}

/* A gap applies in stream order: behind bytes still held, it waits its turn. */
void http1_conn_gap(struct http1_conn *c, int dir, uint64_t missing, uint64_t ts_ns)
{
	struct h1_dir *d;

	if (c->dead || (dir != AS_DIR_EGRESS && dir != AS_DIR_INGRESS))
		return;
	c->st->gaps++;
	d = &c->d[dir];
	c->seq++;
	if (d->n_segs || (c->req_dir < 0 && d->st == ST_START)) {
		/* behind held bytes, or before we know what this dir is */
		if (c->req_dir < 0 && !d->n_segs) {
			d->st = ST_RESYNC;
			d->peek = 0;
			c->aligned = false;
			return;
		}
		hold_append(c, dir, NULL, 0, ts_ns, c->seq, missing);
		return;
	}
	apply_gap(c, dir, missing, ts_ns);
	if (!c->dead)
		pump(c);
}

/* The end: a close-delimited body is complete, a framed one is cut, and
 * every complete request still waiting goes out without a response. */
void http1_conn_close(struct http1_conn *c, uint64_t ts_ns)
{
	struct h1_pend *e;
	struct h1_dir *d;
	int rd;

	if (c->dead)
		return;
	rd = c->req_dir;
	if (rd >= 0) {
		d = &c->d[1 - rd];
		if (d->n_segs)
			c->st->unpaired_responses++;
		if (c->rx == RX_REAL && d->in_body) {
			e = q_first(c);
			if (d->st != ST_BODY_CLOSE) {
				e->x->resp.body_truncated = true;
				e->x->flags |= AS_X_RESP_GAP;
			}
			resp_done(c, ts_ns);
		} else if (c->rx == RX_REAL) {
			q_first(c)->resp_lost = true;
			c->st->partial_dropped++;
			c->rx = RX_NONE;
		}
		d = &c->d[rd];
		if (c->req_in_tail) {
			e = q_tail(c);
			e->req_done = true;
			e->req_end = ts_ns;
			e->x->req.body_truncated = true;
			e->x->flags |= AS_X_REQ_GAP;
			c->req_in_tail = false;
		} else if (d->cx) {
			as_exchange_free(d->cx);
			d->cx = NULL;
			c->st->partial_dropped++;
		}
		dir_reset_msg(d);
		try_emit(c);
	}
	flush_requests(c, c->q_len, &c->st->no_response);
	c->dead = true;
}
