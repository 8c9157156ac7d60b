// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTP/2 (RFC 9113) for a passive observer: both directions of one
 * connection, fed in order, frame by frame, with HPACK through libnghttp2.
 *
 * Each direction is a byte-level state machine (preface, frame head,
 * payload held whole, or DATA streamed with its padding), so the result is
 * the same whatever the cut of the feeds. Header blocks are inflated as
 * their fragments arrive (HEADERS or PUSH_PROMISE, then CONTINUATION): every
 * block is inflated, even one whose stream is not kept, or the dynamic
 * table would drift. See docs/http2.md.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "apisonar/sensor/events.h"
#include "apisonar/sensor/proto/http2.h"

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define H2_HEAD_LEN 9

#define F_END_STREAM 0x01
#define F_ACK 0x01
#define F_END_HEADERS 0x04
#define F_PADDED 0x08
#define F_PRIORITY 0x20

#define SET_HEADER_TABLE_SIZE 1
/* The largest dynamic table a peer may make us keep (its SETTINGS can ask
 * for more; blocks that then use more fail to decode, counted). */
#define H2_MAX_TABLE (64u * 1024)
#define H2_DEFAULT_TABLE 4096u
/* Bytes of an upgrade's HTTP2-Settings decoded (a few settings of 6). */
#define H2_MAX_UPGRADE_SETTINGS 96

enum rx {
	RX_START,   /* nothing of this direction seen yet */
	RX_PREFACE, /* matching the client preface */
	RX_HEAD,    /* collecting a frame head */
	RX_PAYLOAD, /* collecting a non-DATA payload whole */
	RX_PADLEN,  /* DATA: the pad length byte */
	RX_DATA,    /* DATA: body bytes */
	RX_SKIP,    /* padding of DATA, or an unknown frame's payload */
};

/* What the header block being inflated is for. */
enum blk {
	BLK_NONE,
	BLK_REQ, /* request head of a stream */
	BLK_REQ_TRAILERS,
	BLK_RESP, /* response head (or an informational one) */
	BLK_RESP_TRAILERS,
	BLK_PUSH,    /* the request of a promised stream */
	BLK_DISCARD, /* inflated for the table's sake only */
};

struct h2_stream {
	uint32_t id;
	struct as_exchange *x;
	bool req_head, req_end;	  /* request head complete; END_STREAM seen */
	bool resp_head, resp_end; /* final response head complete; END_STREAM seen */
	bool dropped;		  /* over a limit or malformed: never emitted */
	uint64_t req_start, req_end_ts, resp_start;
};

struct h2_dir {
	enum rx rx;
	size_t pre_got;
	unsigned char head[H2_HEAD_LEN];
	size_t head_got;
	/* the frame in progress */
	uint32_t len, sid;
	uint8_t type, flags;
	unsigned char *buf;
	size_t buf_cap, buf_got;
	uint32_t data_left, skip_left;
	bool skip_is_data; /* the skip is DATA's padding: the frame ends after it */
	/* the header block in progress */
	uint32_t blk_sid; /* 0: none; CONTINUATION expected on it while open */
	enum blk blk;
	bool blk_open;	     /* END_HEADERS not seen yet */
	bool blk_end_stream; /* END_STREAM of the HEADERS that opened it */
	bool blk_info;	     /* a 1xx head: its fields are skipped */
	bool blk_status;     /* :status seen in a response block */
	size_t blk_size;     /* RFC 9113 header list size so far */
	size_t table_max;    /* the inflater's table limit */
	nghttp2_hd_inflater *inf;
	uint64_t ts;
};

struct http2_conn {
	struct http2_opts o;
	struct http2_stats own_stats, *st;
	http2_exchange_cb cb;
	void *ctx;
	int client_dir; /* -1 unknown */
	bool midstream, dead;
	struct h2_dir d[2];
	struct h2_stream **streams; /* creation order; o.max_streams slots */
	size_t n_streams;
	uint32_t last_client_sid; /* highest stream the client opened */
};

static const char *const frame_names[HTTP2_FT_NR] = {
    "data", "headers", "priority",	"rst_stream",	"settings", "push_promise",
    "ping", "goaway",  "window_update", "continuation", "other",
};

static const char *const drop_names[HTTP2_DROP_NR] = {
    "bad_frame", "hpack",     "frame_size",	"gap",	     "nomem", "streams", "header_list",
    "body",	 "abandoned", "unknown_stream", "malformed",
};

const char *http2_frame_name(enum http2_frame_type t)
{
	return (unsigned)t < HTTP2_FT_NR ? frame_names[t] : "unknown";
}

const char *http2_drop_name(enum http2_drop d)
{
	return (unsigned)d < HTTP2_DROP_NR ? drop_names[d] : "unknown";
}

static uint64_t wall(const struct http2_conn *c, uint64_t mono)
{
	return (uint64_t)((int64_t)mono + c->o.wall_offset_ns);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- streams ------------------------------------------------------------ */

static struct h2_stream *stream_find(struct http2_conn *c, uint32_t id)
{
	size_t i;

	for (i = 0; i < c->n_streams; i++)
		if (c->streams[i]->id == id)
			return c->streams[i];
	return NULL;
}

static void stream_remove(struct http2_conn *c, struct h2_stream *s)
{
	size_t i;

	for (i = 0; i < c->n_streams; i++) {
		if (c->streams[i] == s) {
			memmove(&c->streams[i], &c->streams[i + 1],
				(c->n_streams - i - 1) * sizeof(*c->streams));
			c->n_streams--;
			break;
		}
	}
	as_exchange_free(s->x);
	free(s);
}

/* A new stream, or NULL (over the cap: counted; out of memory: stops). */
static void conn_stop(struct http2_conn *c, enum http2_drop why);

static struct h2_stream *stream_open(struct http2_conn *c, uint32_t id)
{
	struct h2_stream *s;

	if (c->n_streams >= c->o.max_streams) {
		c->st->drops[HTTP2_DROP_STREAMS]++;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s)
		s->x = as_exchange_new();
	if (!s || !s->x) {
		free(s);
		conn_stop(c, HTTP2_DROP_NOMEM);
		return NULL;
	}
	s->id = id;
	s->x->req_version = 20;
	c->streams[c->n_streams++] = s;
	c->st->streams++;
	return s;
}

/* Hands a stream's exchange on (unless dropped) and forgets the stream. */
static void stream_emit(struct http2_conn *c, struct h2_stream *s, uint32_t flags)
{
	struct as_exchange *x = s->x;
	uint64_t from;

	if (s->dropped || !s->req_head) {
		stream_remove(c, s);
		return;
	}
	s->x = NULL;
	x->role = c->client_dir == AS_DIR_INGRESS ? AS_ROLE_SERVER : AS_ROLE_CLIENT;
	x->req_time_ns = wall(c, s->req_start);
	if (s->resp_head) {
		x->resp_version = 20;
		x->resp_time_ns = wall(c, s->resp_start);
		from = s->req_end ? s->req_end_ts : s->req_start;
		x->latency_ns = s->resp_start > from ? s->resp_start - from : 0;
	} else {
		x->status = 0;
		as_msg_clear(&x->resp);
		flags |= AS_X_NO_RESPONSE;
		c->st->no_response++;
	}
	if (c->midstream)
		flags |= AS_X_MIDSTREAM;
	if (x->req.body_truncated) {
		flags |= AS_X_REQ_TRUNCATED;
		c->st->drops[HTTP2_DROP_BODY]++;
	}
	if (x->resp.body_truncated) {
		flags |= AS_X_RESP_TRUNCATED;
		c->st->drops[HTTP2_DROP_BODY]++;
	}
	x->flags |= flags;
	stream_remove(c, s);
	c->st->exchanges++;
	if (c->cb)
		c->cb(c->ctx, x);
	else
		as_exchange_free(x);
}

static void stream_maybe_done(struct http2_conn *c, struct h2_stream *s)
{
	if (s->req_end && s->resp_end)
		stream_emit(c, s, 0);
}

/* Stops parsing for good: counted once, the streams in progress dropped. */
static void conn_stop(struct http2_conn *c, enum http2_drop why)
{
	if (c->dead)
		return;
	c->dead = true;
	c->st->drops[why]++;
	c->st->conns_stopped++;
	while (c->n_streams) {
		c->st->drops[HTTP2_DROP_ABANDONED]++;
		stream_remove(c, c->streams[c->n_streams - 1]);
	}
}

/* ---- header blocks ------------------------------------------------------ */

static int parse_status(const uint8_t *v, size_t n)
{
	if (n != 3 || v[0] < '1' || v[0] > '9' || v[1] < '0' || v[1] > '9' || v[2] < '0' ||
	    v[2] > '9')
		return -1;
	return (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
}

static void stream_malformed(struct http2_conn *c, struct h2_stream *s)
{
	if (!s->dropped)
		c->st->drops[HTTP2_DROP_MALFORMED]++;
	s->dropped = true;
}

/* One decoded field of the block in progress. */
static void on_field(struct http2_conn *c, struct h2_dir *d, const nghttp2_nv *nv)
{
	struct h2_stream *s;
	struct as_message *m;
	int r = 0;

	if (d->blk == BLK_DISCARD || d->blk == BLK_NONE || d->blk_info)
		return;
	s = stream_find(c, d->blk_sid);
	if (!s || s->dropped)
		return;
	d->blk_size += nv->namelen + nv->valuelen + 32;
	if (d->blk_size > c->o.max_header_list) {
		c->st->drops[HTTP2_DROP_HEADER_LIST]++;
		s->dropped = true;
		return;
	}
	if (memchr(nv->name, 0, nv->namelen) || memchr(nv->value, 0, nv->valuelen) ||
	    !nv->namelen) {
		stream_malformed(c, s);
		return;
	}
	m = (d->blk == BLK_REQ || d->blk == BLK_REQ_TRAILERS || d->blk == BLK_PUSH) ? &s->x->req
										    : &s->x->resp;
	if (nv->name[0] == ':') {
		const char *n = (const char *)nv->name, *v = (const char *)nv->value;
		size_t nl = nv->namelen, vl = nv->valuelen;

		if (d->blk == BLK_REQ_TRAILERS || d->blk == BLK_RESP_TRAILERS) {
			stream_malformed(c, s);
			return;
		}
		if (d->blk == BLK_RESP) {
			int st =
			    nl == 7 && !memcmp(n, ":status", 7) ? parse_status(nv->value, vl) : 0;

			if (st < 0 || (st == 0 && nl == 7 && !memcmp(n, ":status", 7))) {
				stream_malformed(c, s);
			} else if (st >= 100 && st < 200) {
				d->blk_info = true; /* 1xx: the final head follows */
			} else if (st) {
				s->x->status = st;
				d->blk_status = true;
			}
			return;
		}
		if (nl == 7 && !memcmp(n, ":method", 7))
			r = as_strset(&s->x->method, v, vl);
		else if (nl == 5 && !memcmp(n, ":path", 5))
			r = as_strset(&s->x->target, v, vl);
		else if (nl == 10 && !memcmp(n, ":authority", 10))
			r = as_msg_add_header(m, "host", 4, v, vl);
		/* :scheme, :protocol: nothing downstream reads them */
	} else {
		r = as_msg_add_header(m, (const char *)nv->name, nv->namelen,
				      (const char *)nv->value, nv->valuelen);
	}
	if (r == -E2BIG) {
		c->st->drops[HTTP2_DROP_HEADER_LIST]++;
		s->dropped = true;
	} else if (r) {
		conn_stop(c, HTTP2_DROP_NOMEM);
	}
}

/* Inflates one fragment; final with the fragment that ends the block. */
static int inflate(struct http2_conn *c, struct h2_dir *d, const uint8_t *in, size_t n, bool final)
{
	for (;;) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(d->inf, &nv, &fl, (uint8_t *)in, n, final);

		if (rv < 0 || (size_t)rv > n) {
			conn_stop(c, HTTP2_DROP_HPACK);
			return -1;
		}
		if (rv) { /* in may be NULL for an empty fragment */
			in += rv;
			n -= (size_t)rv;
		}
		if (fl & NGHTTP2_HD_INFLATE_EMIT) {
			on_field(c, d, &nv);
			if (c->dead)
				return -1;
		}
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(d->inf);
			return 0;
		}
		if (!(fl & NGHTTP2_HD_INFLATE_EMIT) && (n == 0 || rv == 0)) {
			if (final) {
				/* all input taken and still not final: broken */
				conn_stop(c, HTTP2_DROP_HPACK);
				return -1;
			}
			return 0;
		}
	}
}

/* The block's last fragment was inflated. */
static void block_done(struct http2_conn *c, struct h2_dir *d, int dir)
{
	struct h2_stream *s = stream_find(c, d->blk_sid);
	bool client = dir == c->client_dir;

	d->blk_open = false;
	if (s) {
		switch (d->blk) {
		case BLK_REQ:
			s->req_head = true;
			s->req_start = d->ts;
			if (!s->dropped &&
			    (!s->x->method || !s->x->method[0] ||
			     (s->x->target ? !s->x->target[0] : strcmp(s->x->method, "CONNECT"))))
				stream_malformed(c, s);
			if (!s->dropped && !s->x->target && as_strset(&s->x->target, "/", 1))
				conn_stop(c, HTTP2_DROP_NOMEM);
			break;
		case BLK_PUSH:
			s->req_head = true;
			s->req_end = true;
			s->req_start = s->req_end_ts = d->ts;
			if (!s->dropped && (!s->x->method || !s->x->method[0] || !s->x->target ||
					    !s->x->target[0]))
				stream_malformed(c, s);
			break;
		case BLK_RESP:
			if (d->blk_status && !s->dropped) {
				s->resp_head = true;
				s->resp_start = d->ts;
			} else if (!d->blk_info) {
				stream_malformed(c, s); /* no :status */
			}
			break;
		default:
			break;
		}
		if (c->dead)
			return;
		if (d->blk_end_stream && d->blk != BLK_PUSH) {
			if (client) {
				s->req_end = true;
				s->req_end_ts = d->ts;
			} else {
				s->resp_end = true;
			}
		}
		stream_maybe_done(c, s);
	}
	d->blk = BLK_NONE;
	d->blk_sid = 0;
}

/* A header block opens on stream sid; until told otherwise it is inflated
 * for the table's sake only. */
static void block_open(struct h2_dir *d, uint32_t sid, bool end_stream)
{
	d->blk_sid = sid;
	d->blk_open = true;
	d->blk_end_stream = end_stream;
	d->blk_info = false;
	d->blk_status = false;
	d->blk_size = 0;
	d->blk = BLK_DISCARD;
}

/* Decides what a new header block on stream sid from dir is for. */
static void block_begin(struct http2_conn *c, struct h2_dir *d, int dir, uint32_t sid,
			bool end_stream)
{
	struct h2_stream *s;

	block_open(d, sid, end_stream);
	if (c->client_dir < 0 && (sid & 1) && !stream_find(c, sid))
		c->client_dir = dir; /* mid-stream: who opens odd streams is the client */
	s = stream_find(c, sid);
	if (dir == c->client_dir) {
		if (s) {
			d->blk = s->req_head ? BLK_REQ_TRAILERS : BLK_DISCARD;
			return;
		}
		if (!(sid & 1) || sid <= c->last_client_sid) {
			c->st->drops[HTTP2_DROP_UNKNOWN_STREAM]++;
			return;
		}
		c->last_client_sid = sid;
		s = stream_open(c, sid);
		if (s)
			d->blk = BLK_REQ;
		return;
	}
	if (!s) {
		c->st->drops[HTTP2_DROP_UNKNOWN_STREAM]++;
		return;
	}
	d->blk = s->resp_head ? BLK_RESP_TRAILERS : BLK_RESP;
}

/* ---- frames ------------------------------------------------------------- */

/* A fragment of a header block: inflated, and the block ended with it. */
static void fragment(struct http2_conn *c, struct h2_dir *d, int dir, const uint8_t *p, size_t n)
{
	bool final = (d->flags & F_END_HEADERS) != 0;

	if (inflate(c, d, p, n, final))
		return;
	if (final)
		block_done(c, d, dir);
}

/* Strips a HEADERS or PUSH_PROMISE payload to its fragment: the pad
 * length, then `fixed` bytes (priority, promised stream id) at *fix, the
 * padding at the end. -1 (the conn stopped) when they do not fit. */
static int unpad(struct http2_conn *c, struct h2_dir *d, const uint8_t **p, size_t *n,
		 size_t fixed, const uint8_t **fix)
{
	size_t pad = 0;

	if (d->flags & F_PADDED) {
		if (*n < 1)
			goto bad;
		pad = (*p)[0];
		(*p)++;
		(*n)--;
	}
	if (*n < fixed || pad > *n - fixed)
		goto bad;
	*fix = *p;
	*p += fixed;
	*n -= fixed + pad;
	return 0;
bad:
	conn_stop(c, HTTP2_DROP_BAD_FRAME);
	return -1;
}

static void on_headers(struct http2_conn *c, struct h2_dir *d, int dir, const uint8_t *p, size_t n)
{
	const uint8_t *prio;

	if (unpad(c, d, &p, &n, d->flags & F_PRIORITY ? 5 : 0, &prio))
		return;
	block_begin(c, d, dir, d->sid, (d->flags & F_END_STREAM) != 0);
	if (c->dead)
		return;
	fragment(c, d, dir, p, n);
}

static void on_push_promise(struct http2_conn *c, struct h2_dir *d, int dir, const uint8_t *p,
			    size_t n)
{
	const uint8_t *fix;
	uint32_t promised;
	struct h2_stream *s;

	if (dir == c->client_dir) {
		conn_stop(c, HTTP2_DROP_BAD_FRAME); /* only servers push */
		return;
	}
	if (unpad(c, d, &p, &n, 4, &fix))
		return;
	promised = be32(fix) & 0x7fffffffu;
	if (promised == 0 || (promised & 1)) {
		conn_stop(c, HTTP2_DROP_BAD_FRAME);
		return;
	}
	block_open(d, promised, false);
	if (c->client_dir < 0)
		c->client_dir = 1 - dir;
	if (!stream_find(c, promised)) {
		s = stream_open(c, promised);
		if (c->dead)
			return;
		if (s)
			d->blk = BLK_PUSH;
	}
	fragment(c, d, dir, p, n);
}

static void on_rst_stream(struct http2_conn *c, struct h2_dir *d)
{
	struct h2_stream *s = stream_find(c, d->sid);

	if (!s)
		return; /* already complete on our side, or never seen */
	c->st->resets++;
	stream_emit(c, s, AS_X_RESET);
}

/* A peer's table limit binds the encoder of the other direction. Only
 * raised: a smaller limit takes effect through an update in the block. */
static void on_settings(struct http2_conn *c, int dir, const uint8_t *p, size_t n)
{
	struct h2_dir *other = &c->d[1 - dir];
	size_t i;

	for (i = 0; i + 6 <= n; i += 6) {
		uint16_t id = (uint16_t)(p[i] << 8 | p[i + 1]);
		uint32_t v = be32(p + i + 2);

		if (id != SET_HEADER_TABLE_SIZE)
			continue;
		if (v > H2_MAX_TABLE)
			v = H2_MAX_TABLE;
		if (v > other->table_max) {
			if (nghttp2_hd_inflate_change_table_size(other->inf, v)) {
				conn_stop(c, HTTP2_DROP_NOMEM);
				return;
			}
			other->table_max = v;
		}
	}
}

/* A whole non-DATA frame. */
static void on_frame(struct http2_conn *c, struct h2_dir *d, int dir)
{
	const uint8_t *p = d->buf;
	size_t n = d->len;

	switch (d->type) {
	case NGHTTP2_HEADERS:
		on_headers(c, d, dir, p, n);
		break;
	case NGHTTP2_CONTINUATION:
		fragment(c, d, dir, p, n);
		break;
	case NGHTTP2_PUSH_PROMISE:
		on_push_promise(c, d, dir, p, n);
		break;
	case NGHTTP2_RST_STREAM:
		on_rst_stream(c, d);
		break;
	case NGHTTP2_SETTINGS:
		if (!(d->flags & F_ACK))
			on_settings(c, dir, p, n);
		break;
	default: /* PRIORITY, PING, GOAWAY, WINDOW_UPDATE: counted only */
		break;
	}
}

static void data_bytes(struct http2_conn *c, struct h2_dir *d, int dir, const uint8_t *p, size_t n)
{
	struct h2_stream *s = stream_find(c, d->sid);
	struct as_message *m;

	if (!s || s->dropped)
		return;
	if (dir == c->client_dir) {
		if (!s->req_head || s->req_end)
			return;
		m = &s->x->req;
	} else {
		if (!s->resp_head || s->resp_end)
			return;
		m = &s->x->resp;
	}
	if (as_msg_append_body(m, p, n, c->o.max_body))
		conn_stop(c, HTTP2_DROP_NOMEM);
}

/* A DATA frame's last byte (padding included) went by. */
static void data_end(struct http2_conn *c, struct h2_dir *d, int dir)
{
	struct h2_stream *s = stream_find(c, d->sid);

	if (!s) {
		c->st->drops[HTTP2_DROP_UNKNOWN_STREAM]++;
		return;
	}
	if (!(d->flags & F_END_STREAM))
		return;
	if (dir == c->client_dir) {
		if (s->req_end)
			return;
		s->req_end = true;
		s->req_end_ts = d->ts;
	} else {
		s->resp_end = true;
	}
	stream_maybe_done(c, s);
}

static void frame_next(struct h2_dir *d)
{
	d->rx = RX_HEAD;
	d->head_got = 0;
	d->buf_got = 0;
}

/* Checks the head of a frame against the rules that need no payload. */
static int head_ok(const struct h2_dir *d)
{
	uint32_t len = d->len, sid = d->sid;

	switch (d->type) {
	case NGHTTP2_DATA:
	case NGHTTP2_HEADERS:
	case NGHTTP2_CONTINUATION:
	case NGHTTP2_PUSH_PROMISE:
		return sid != 0;
	case NGHTTP2_PRIORITY:
		return sid != 0 && len == 5;
	case NGHTTP2_RST_STREAM:
		return sid != 0 && len == 4;
	case NGHTTP2_SETTINGS:
		return sid == 0 && len % 6 == 0 && (!(d->flags & F_ACK) || len == 0);
	case NGHTTP2_PING:
		return sid == 0 && len == 8;
	case NGHTTP2_GOAWAY:
		return sid == 0 && len >= 8;
	case NGHTTP2_WINDOW_UPDATE:
		return len == 4;
	default:
		return 1;
	}
}

static void on_head(struct http2_conn *c, struct h2_dir *d, int dir)
{
	const unsigned char *h = d->head;

	d->len = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
	d->type = h[3];
	d->flags = h[4];
	d->sid = be32(h + 5) & 0x7fffffffu;
	c->st->frames[d->type < HTTP2_FT_OTHER ? d->type : HTTP2_FT_OTHER]++;
	/* Inside a header block only its CONTINUATION frames may come, and a
	 * CONTINUATION never comes outside one. */
	if ((d->blk_open && (d->type != NGHTTP2_CONTINUATION || d->sid != d->blk_sid)) ||
	    (!d->blk_open && d->type == NGHTTP2_CONTINUATION) || !head_ok(d)) {
		conn_stop(c, HTTP2_DROP_BAD_FRAME);
		return;
	}
	if (d->type == NGHTTP2_DATA) {
		if (d->flags & F_PADDED) {
			if (d->len < 1) {
				conn_stop(c, HTTP2_DROP_BAD_FRAME);
				return;
			}
			d->rx = RX_PADLEN;
			return;
		}
		d->data_left = d->len;
		d->skip_left = 0;
		d->rx = RX_DATA;
		if (!d->len) {
			data_end(c, d, dir);
			frame_next(d);
		}
		return;
	}
	if (d->type > NGHTTP2_CONTINUATION) {
		/* unknown types are ignored (RFC 9113 section 4.1) */
		d->skip_left = d->len;
		d->skip_is_data = false;
		d->rx = RX_SKIP;
		if (!d->len)
			frame_next(d);
		return;
	}
	if (d->len > c->o.max_frame) {
		conn_stop(c, HTTP2_DROP_FRAME_SIZE);
		return;
	}
	if (d->len > d->buf_cap) {
		unsigned char *b = realloc(d->buf, d->len);

		if (!b) {
			conn_stop(c, HTTP2_DROP_NOMEM);
			return;
		}
		d->buf = b;
		d->buf_cap = d->len;
	}
	d->buf_got = 0;
	d->rx = RX_PAYLOAD;
	if (!d->len) {
		on_frame(c, d, dir);
		frame_next(d);
	}
}

/* ---- feeding ------------------------------------------------------------ */

/* Consumes what it can of p; returns bytes taken (the conn may be dead). */
static size_t step(struct http2_conn *c, int dir, const uint8_t *p, size_t n)
{
	struct h2_dir *d = &c->d[dir];
	size_t take;

	switch (d->rx) {
	case RX_START:
		if (!c->midstream && (dir == c->client_dir || (c->client_dir < 0 && p[0] == 'P'))) {
			d->rx = RX_PREFACE;
		} else if (!c->midstream && c->client_dir < 0) {
			c->client_dir = 1 - dir; /* the server speaks first */
			d->rx = RX_HEAD;
		} else {
			d->rx = RX_HEAD;
		}
		return 0;
	case RX_PREFACE:
		take = H2_PREFACE_LEN - d->pre_got;
		if (take > n)
			take = n;
		if (memcmp(p, &H2_PREFACE[d->pre_got], take)) {
			conn_stop(c, HTTP2_DROP_BAD_FRAME);
			return take;
		}
		d->pre_got += take;
		if (d->pre_got == H2_PREFACE_LEN) {
			c->client_dir = dir;
			frame_next(d);
		}
		return take;
	case RX_HEAD:
		take = H2_HEAD_LEN - d->head_got;
		if (take > n)
			take = n;
		memcpy(d->head + d->head_got, p, take);
		d->head_got += take;
		if (d->head_got == H2_HEAD_LEN)
			on_head(c, d, dir);
		return take;
	case RX_PAYLOAD:
		take = d->len - d->buf_got;
		if (take > n)
			take = n;
		memcpy(d->buf + d->buf_got, p, take);
		d->buf_got += take;
		if (d->buf_got == d->len) {
			on_frame(c, d, dir);
			frame_next(d);
		}
		return take;
	case RX_PADLEN:
		if (p[0] > d->len - 1) {
			conn_stop(c, HTTP2_DROP_BAD_FRAME);
			return 1;
		}
		d->skip_left = p[0];
		d->data_left = d->len - 1 - p[0];
		d->rx = RX_DATA;
		if (!d->data_left && !d->skip_left) {
			data_end(c, d, dir);
			frame_next(d);
		} else if (!d->data_left) {
			d->skip_is_data = true;
			d->rx = RX_SKIP;
		}
		return 1;
	case RX_DATA:
		take = d->data_left;
		if (take > n)
			take = n;
		data_bytes(c, d, dir, p, take);
		d->data_left -= (uint32_t)take;
		if (!d->data_left && !c->dead) {
			if (d->skip_left) {
				d->skip_is_data = true;
				d->rx = RX_SKIP;
			} else {
				data_end(c, d, dir);
				frame_next(d);
			}
		}
		return take;
	case RX_SKIP:
		take = d->skip_left;
		if (take > n)
			take = n;
		d->skip_left -= (uint32_t)take;
		if (!d->skip_left) {
			if (d->skip_is_data)
				data_end(c, d, dir);
			d->skip_is_data = false;
			frame_next(d);
		}
		return take;
	}
	return n;
}

struct http2_conn *http2_conn_new(const struct http2_opts *o, struct http2_stats *stats,
				  int client_dir, http2_exchange_cb cb, void *ctx)
{
	struct http2_conn *c = calloc(1, sizeof(*c));
	int k;

	if (!c)
		return NULL;
	if (o)
		c->o = *o;
	if (!c->o.max_body)
		c->o.max_body = AS_MAX_BODY_DEFAULT;
	if (!c->o.max_header_list)
		c->o.max_header_list = HTTP2_DEFAULT_MAX_HEADER_LIST;
	if (!c->o.max_streams)
		c->o.max_streams = HTTP2_DEFAULT_MAX_STREAMS;
	if (!c->o.max_frame)
		c->o.max_frame = HTTP2_DEFAULT_MAX_FRAME;
	c->st = stats ? stats : &c->own_stats;
	c->cb = cb;
	c->ctx = ctx;
	c->client_dir =
	    client_dir == AS_DIR_EGRESS || client_dir == AS_DIR_INGRESS ? client_dir : -1;
	c->streams = calloc(c->o.max_streams, sizeof(*c->streams));
	if (!c->streams) {
		free(c);
		return NULL;
	}
	for (k = 0; k < 2; k++) {
		c->d[k].table_max = H2_DEFAULT_TABLE;
		if (nghttp2_hd_inflate_new(&c->d[k].inf)) {
			http2_conn_free(c);
			return NULL;
		}
	}
	c->st->conns++;
	return c;
}

void http2_conn_free(struct http2_conn *c)
{
	int k;

	if (!c)
		return;
	while (c->n_streams)
		stream_remove(c, c->streams[c->n_streams - 1]);
	free(c->streams);
	for (k = 0; k < 2; k++) {
		nghttp2_hd_inflate_del(c->d[k].inf);
		free(c->d[k].buf);
	}
	free(c);
}

void http2_conn_set_midstream(struct http2_conn *c)
{
	c->midstream = true;
}

/* base64url without padding (RFC 7540 section 3.2.1) into out; the
 * decoded length, or -1 when v is not that or does not fit. */
static ssize_t b64url(const char *v, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0;

	for (; *v && *v != '='; v++) {
		int k;

		if (*v >= 'A' && *v <= 'Z')
			k = *v - 'A';
		else if (*v >= 'a' && *v <= 'z')
			k = *v - 'a' + 26;
		else if (*v >= '0' && *v <= '9')
			k = *v - '0' + 52;
		else if (*v == '-')
			k = 62;
		else if (*v == '_')
			k = 63;
		else
			return -1;
		acc = acc << 6 | (uint32_t)k;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return (ssize_t)n;
}

int http2_conn_upgrade(struct http2_conn *c, struct as_exchange *req, uint64_t req_start,
		       uint64_t req_end)
{
	struct h2_stream *s;
	const char *set;
	uint8_t buf[H2_MAX_UPGRADE_SETTINGS];
	ssize_t n;

	if (c->client_dir < 0 || c->midstream || c->dead || c->n_streams || c->d[0].rx != RX_START ||
	    c->d[1].rx != RX_START) {
		as_exchange_free(req);
		return -EINVAL;
	}
	s = stream_open(c, 1);
	if (!s) {
		as_exchange_free(req);
		return -ENOMEM;
	}
	as_exchange_free(s->x);
	s->x = req;
	s->req_head = s->req_end = true;
	s->req_start = req_start;
	s->req_end_ts = req_end;
	c->last_client_sid = 1;
	/* The client's SETTINGS, base64url in the request: what they say of
	 * the table binds the server's encoder, as a SETTINGS frame would. A
	 * value that does not decode is ignored (a server refuses it). */
	set = as_msg_header(&req->req, "http2-settings");
	n = set ? b64url(set, buf, sizeof(buf)) : -1;
	if (n > 0 && n % 6 == 0)
		on_settings(c, c->client_dir, buf, (size_t)n);
	return c->dead ? -ENOMEM : 0;
}

int http2_conn_feed(struct http2_conn *c, int dir, const void *data, size_t len, uint64_t ts_ns)
{
	const uint8_t *p = data;

	if (c->dead)
		return -EPROTO;
	if (dir != AS_DIR_EGRESS && dir != AS_DIR_INGRESS)
		return -EINVAL;
	c->d[dir].ts = ts_ns;
	while (len && !c->dead) {
		size_t k = step(c, dir, p, len);

		p += k;
		len -= k;
	}
	return c->dead ? -EPROTO : 0;
}

void http2_conn_gap(struct http2_conn *c, int dir, uint64_t missing, uint64_t ts_ns)
{
	if (!missing)
		return;
	conn_stop(c, HTTP2_DROP_GAP);
}

void http2_conn_close(struct http2_conn *c, uint64_t ts_ns)
{
	if (c->dead)
		return;
	c->dead = true;
	while (c->n_streams) {
		struct h2_stream *s = c->streams[0];
		uint32_t flags = 0;

		if (!s->req_head || s->dropped) {
			c->st->drops[HTTP2_DROP_ABANDONED]++;
			stream_remove(c, s);
			continue;
		}
		if (!s->req_end)
			flags |= AS_X_REQ_GAP;
		if (s->resp_head && !s->resp_end)
			flags |= AS_X_RESP_GAP;
		stream_emit(c, s, flags);
	}
}

int http2_conn_dead(const struct http2_conn *c)
{
	return c->dead;
}
