// SPDX-License-Identifier: BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/sensor/proto/proto.h"
#include "apisonar/sensor/sensor.h"
#include "apisonar/util/util.h"

/* How often the tracker's timers run, at most. */
#define TICK_NS (100ull * 1000 * 1000)
/* How long an exchange of a connection whose other end is tracked too
 * waits for its twin (mirror.h). Both come from one ring buffer, so the
 * twin is normally a few milliseconds behind; a hole in a stream is
 * waited for 200 ms. */
/* Bytes of headers counted on top of the body limit in one call's copy. */
#define SENSOR_HEAD_ROOM (16u * 1024)
#define MIRROR_HOLD_NS (1000ull * 1000 * 1000)

struct sensor {
	struct loader *loader;
	struct tls_attach *tls; /* NULL with --tls off */
	struct ring_buffer *ring;
	struct conntrack *ct;
	struct mirror *mirror; /* NULL unless both ends count once (run) */
	struct http1_stats http;
	struct http1_opts http_opts;
	struct http2_stats http2;
	struct http2_opts http2_opts;
	struct proto_cfg proto; /* points at the four above */
	sensor_exchange_cb cb;
	void *ctx;
	uint64_t records;
	uint64_t last_tick;
	bool sampling; /* a capture budget is set */
	bool tallies;
	uint64_t unsampled_weighted, unsampled_tallied, unsampled_untallied, whole_conns;
	uint64_t twin_only_dropped;
};

/* Per connection: its parser and what the exchanges need to say where
 * they happened. */
struct sconn {
	struct sensor *s;
	struct proto_conn *proto; /* HTTP/1 or HTTP/2 (from the start, or after an h2c upgrade) */
	uint32_t pid;
	char comm[AS_COMM_LEN];
	char laddr[AS_ADDR_LEN], raddr[AS_ADDR_LEN];
	uint16_t lport, rport;
	bool tls; /* plaintext from the SSL uprobes */
	struct mirror_pair *pair; /* its place among connections seen from both ends */
	int side;                 /* MIRROR_SERVER or MIRROR_CLIENT */
	/* The capture budget */
	uint64_t conn_id;
	uint64_t unsampled; /* exchanges skipped since the last one handed on */
	bool whole;         /* the kernel was told never to split it */
	char *last_method, *last_target, *last_host; /* of the last one (tallies) */
	enum as_role last_role;
};

void sensor_opts_default(struct sensor_opts *o)
{
	memset(o, 0, sizeof(*o));
	loader_opts_default(&o->loader);
	ct_limits_default(&o->ct);
	o->http.max_body = AS_MAX_BODY_DEFAULT;
	o->http.max_header_bytes = 32 * 1024;
	o->http.max_pending = 64;
}

/* IPv4-mapped IPv6 addresses (a dual-stack listener) print as IPv4. */
static void fmt_addr(uint16_t family, const uint8_t a[16], char *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (family == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0)
		inet_ntop(AF_INET, a + 12, out, AS_ADDR_LEN);
	else if (family == AF_INET6)
		inet_ntop(AF_INET6, a, out, AS_ADDR_LEN);
	else
		inet_ntop(AF_INET, a, out, AS_ADDR_LEN);
}

/* The client's end of a local connection whose server end is tracked too,
 * under a budget: the two ends are sampled independently, so only the
 * server's end counts (its weights and tallies). */
static bool twin_only(const struct sconn *c)
{
	return c->s->sampling && c->pair && c->side == MIRROR_CLIENT &&
	       mirror_side_seen(c->pair, MIRROR_SERVER);
}

/* What the mirror hands on: a client's view whose twin never came is
 * dropped when the server's end counts it (the server skipped it). */
static void mirror_out(void *ctx, struct as_exchange *x)
{
	struct sensor *s = ctx;

	if (x->flags & AS_X_TWIN_ONLY) {
		s->twin_only_dropped++;
		as_exchange_free(x);
		return;
	}
	s->cb(s->ctx, x);
}

static void dup_or_null(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? strdup(src) : NULL;
}

/* What a tally at the end of the connection repeats (in memory only). */
static void remember_last(struct sconn *c, const struct as_exchange *x)
{
	if (!x->method || !x->target)
		return;
	dup_or_null(&c->last_method, x->method);
	dup_or_null(&c->last_target, x->target);
	dup_or_null(&c->last_host, as_msg_header(&x->req, "host"));
	c->last_role = x->role;
}

/* The exchanges skipped after the last one captured, as one tally. */
static void send_tally(struct sconn *c)
{
	struct sensor *s = c->s;
	struct as_exchange *x;

	if (!c->unsampled || twin_only(c)) {
		c->unsampled = 0;
		return;
	}
	if (!s->tallies || !c->last_method || !c->last_target || !(x = as_exchange_new())) {
		s->unsampled_untallied += c->unsampled;
		c->unsampled = 0;
		return;
	}
	if (as_strset(&x->method, c->last_method, strlen(c->last_method)) ||
	    as_strset(&x->target, c->last_target, strlen(c->last_target)) ||
	    (c->last_host && as_msg_add_header(&x->req, "Host", 4, c->last_host,
					       strlen(c->last_host)))) {
		as_exchange_free(x);
		s->unsampled_untallied += c->unsampled;
		c->unsampled = 0;
		return;
	}
	x->role = c->last_role;
	x->pid = c->pid;
	memcpy(x->comm, c->comm, sizeof(x->comm));
	memcpy(x->local_addr, c->laddr, sizeof(x->local_addr));
	memcpy(x->remote_addr, c->raddr, sizeof(x->remote_addr));
	x->local_port = c->lport;
	x->remote_port = c->rport;
	x->tls = c->tls;
	x->flags = AS_X_SAMPLED | AS_X_TALLY;
	x->weight = c->unsampled;
	s->unsampled_tallied += c->unsampled;
	c->unsampled = 0;
	/* Straight on: the mirror pairs real exchanges, a tally has no twin. */
	s->cb(s->ctx, x);
}

static void on_exchange(void *ctx, struct as_exchange *x)
{
	struct sconn *c = ctx;

	x->pid = c->pid;
	memcpy(x->comm, c->comm, sizeof(x->comm));
	memcpy(x->local_addr, c->laddr, sizeof(x->local_addr));
	memcpy(x->remote_addr, c->raddr, sizeof(x->remote_addr));
	x->local_port = c->lport;
	x->remote_port = c->rport;
	x->tls = c->tls;
	if (twin_only(c)) {
		/* Sampled at both ends: the server's end counts the exchanges;
		 * this view only completes its twin when both ends copied it. */
		x->flags |= AS_X_TWIN_ONLY;
		c->unsampled = 0;
	} else if (c->s->sampling || c->unsampled) {
		x->flags |= AS_X_SAMPLED;
		x->weight = 1 + c->unsampled;
		c->s->unsampled_weighted += c->unsampled;
		c->unsampled = 0;
		if (c->s->tallies)
			remember_last(c, x);
	}
	if (c->pair)
		mirror_exchange(c->s->mirror, c->pair, c->side, x, now_mono_ns());
	else
		c->s->cb(c->s->ctx, x);
}

/* An IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4
 * client) as the IPv4 address the other end sees. */
static void mirror_addr(uint16_t family, const uint8_t in[16], uint16_t *fam, uint8_t out[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(out, 0, 16);
	if (family == AF_INET6 && memcmp(in, mapped, sizeof(mapped)) == 0) {
		*fam = AF_INET;
		memcpy(out, in + 12, 4);
	} else {
		*fam = family;
		memcpy(out, in, family == AF_INET ? 4 : 16);
	}
}

/* Whether a connection's peer is on this host: loopback, or the address
 * the connection comes from (Linux picks a local destination as the
 * source). */
static bool peer_local(const struct ct_info *info)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t one6[16] = { [15] = 1 };
	const uint8_t *r = info->raddr;

	if (memcmp(info->laddr, info->raddr, 16) == 0)
		return true;
	if (info->family == AF_INET)
		return r[0] == 127;
	return memcmp(r, one6, 16) == 0 || (memcmp(r, mapped, 12) == 0 && r[12] == 127);
}

/* Joins a connection to its pair: the same key from both of its ends. */
static void mirror_join(struct sensor *s, struct sconn *c, const struct ct_info *info)
{
	struct mirror_key k;
	uint16_t f1, f2;
	bool server = (info->flags & AS_F_ACCEPTED) != 0;

	if (!s->mirror || !(info->flags & (AS_F_ACCEPTED | AS_F_CONNECTED)))
		return;
	memset(&k, 0, sizeof(k));
	mirror_addr(info->family, server ? info->laddr : info->raddr, &f1, k.saddr);
	mirror_addr(info->family, server ? info->raddr : info->laddr, &f2, k.caddr);
	if (f1 != f2)
		return;
	k.family = f1;
	k.sport = server ? info->lport : info->rport;
	k.cport = server ? info->rport : info->lport;
	c->side = server ? MIRROR_SERVER : MIRROR_CLIENT;
	c->pair = mirror_open(s->mirror, &k, c->side, peer_local(info));
}

static void *sink_open(void *ctx, const struct ct_info *info)
{
	struct sensor *s = ctx;
	struct sconn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->s = s;
	c->proto = proto_conn_new(&s->proto, (info->flags & AS_F_HTTP2) != 0,
				  (info->flags & AS_F_ACCEPTED)	   ? AS_DIR_INGRESS
				  : (info->flags & AS_F_CONNECTED) ? AS_DIR_EGRESS
								   : -1,
				  (info->flags & AS_F_MIDSTREAM) != 0, on_exchange, c);
	if (!c->proto) {
		free(c);
		return NULL;
	}
	c->pid = info->pid;
	memcpy(c->comm, info->comm, sizeof(c->comm));
	fmt_addr(info->family, info->laddr, c->laddr);
	fmt_addr(info->family, info->raddr, c->raddr);
	c->lport = info->lport;
	c->rport = info->rport;
	c->tls = (info->flags & AS_F_TLS) != 0;
	c->conn_id = info->conn_id;
	mirror_join(s, c, info);
	return c;
}

static void sink_data(void *conn, int dir, const void *buf, size_t len, uint64_t ts)
{
	struct sconn *c = conn;

	proto_conn_feed(c->proto, dir, buf, len, ts);
	/* A client that pipelines defeats the kernel's exchange boundaries
	 * (a read may end inside the next request), and HTTP/2 after an h2c
	 * upgrade has none: copy it whole. */
	if (c->s->sampling && !c->whole && proto_conn_whole(c->proto)) {
		c->whole = true;
		if (loader_budget_whole(c->s->loader, c->conn_id) == 0)
			c->s->whole_conns++;
	}
}

static void sink_skip(void *conn, uint64_t exchanges, uint64_t ts)
{
	struct sconn *c = conn;

	(void)ts;
	/* Requests cut off from their skipped answers count as skipped too
	 * (HTTP/2 connections have no budget: no skips). */
	c->unsampled += exchanges + proto_conn_restart(c->proto);
}

static void sink_gap(void *conn, int dir, uint64_t missing, uint64_t ts)
{
	struct sconn *c = conn;

	proto_conn_gap(c->proto, dir, missing, ts);
}

static void sink_close(void *conn, uint64_t ts)
{
	struct sconn *c = conn;

	proto_conn_close(c->proto, ts);
	send_tally(c);
	mirror_close(c->s->mirror, c->pair, c->side);
	proto_conn_free(c->proto);
	free(c->last_method);
	free(c->last_target);
	free(c->last_host);
	free(c);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct sensor *s = ctx;

	s->records++;
	ct_event(s->ct, data, size, now_mono_ns());
	return 0;
}

struct sensor *sensor_new(const struct sensor_opts *o, sensor_exchange_cb cb, void *ctx, char *err,
			  size_t errlen)
{
	struct ct_sink sink = {
		.open = sink_open,
		.data = sink_data,
		.gap = sink_gap,
		.skip = sink_skip,
		.close = sink_close,
	};
	struct sensor *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cb = cb;
	s->ctx = ctx;
	s->sampling = o->loader.filters.budget != 0;
	s->tallies = o->tallies;
	s->http_opts = o->http;
	s->http_opts.wall_offset_ns = (int64_t)(now_wall_ns() - now_mono_ns());
	s->http2_opts = o->http2;
	if (!s->http2_opts.max_body)
		s->http2_opts.max_body = o->http.max_body;
	s->http2_opts.wall_offset_ns = s->http_opts.wall_offset_ns;
	s->proto.http1 = &s->http_opts;
	s->proto.http1_stats = &s->http;
	s->proto.http2 = &s->http2_opts;
	s->proto.http2_stats = &s->http2;
	sink.ctx = s;
	/* Only with both roles can both ends be seen. */
	if (o->one_per_connection &&
	    (o->loader.filters.role_mask == 3 || o->loader.filters.role_mask == 0)) {
		s->mirror = mirror_new(MIRROR_HOLD_NS, mirror_out, s);
		if (!s->mirror) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	s->ct = ct_new(&o->ct, &sink);
	if (!s->ct) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	{
		/* One call's copy reaches the body limit, with room for the
		 * headers written with the body. */
		struct loader_opts lo = o->loader;

		if (!lo.max_call_copy)
			lo.max_call_copy = (uint32_t)(o->http.max_body > (64u << 20)
							      ? (64u << 20)
							      : o->http.max_body + SENSOR_HEAD_ROOM);
		s->loader = loader_open(&lo, err, errlen);
	}
	if (!s->loader)
		goto fail;
	if (o->loader.filters.tls_mode != AS_TLS_OFF) {
		int rc;

		s->tls = tls_attach_new(loader_object(s->loader));
		if (!s->tls) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		rc = tls_attach_scan(s->tls);
		if (rc < 0) {
			snprintf(err, errlen, "cannot scan /proc for TLS libraries: %s",
				 strerror(-rc));
			goto fail;
		}
	}
	s->ring = loader_ring(s->loader, on_record, s);
	if (!s->ring) {
		snprintf(err, errlen, "cannot set up the ring buffer reader: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	sensor_free(s);
	return NULL;
}

void sensor_free(struct sensor *s)
{
	if (!s)
		return;
	/* Detach first, then hand on what the tracker still holds. */
	if (s->ring)
		ring_buffer__consume(s->ring);
	ring_buffer__free(s->ring);
	tls_attach_free(s->tls);
	loader_close(s->loader);
	ct_free(s->ct);
	mirror_free(s->mirror); /* after the tracker: closing its connections may hand on twins */
	free(s);
}

int sensor_poll(struct sensor *s, int timeout_ms)
{
	uint64_t before = s->records, now;
	int rc;

	rc = ring_buffer__poll(s->ring, timeout_ms);
	/* The kernel side wakes us only past a fill level (BPF_RB_NO_WAKEUP
	 * otherwise): drain whatever is there after each wait. */
	if (rc >= 0 || rc == -EINTR)
		ring_buffer__consume(s->ring);
	now = now_mono_ns();
	if (now - s->last_tick >= TICK_NS) {
		ct_tick(s->ct, now);
		if (s->mirror)
			mirror_tick(s->mirror, now);
		s->last_tick = now;
	}
	tls_attach_tick(s->tls, now);
	if (rc < 0 && rc != -EINTR)
		return rc;
	return rc == -EINTR ? -EINTR : (int)(s->records - before);
}

int sensor_preflight(char *err, size_t errlen)
{
	return loader_preflight(err, errlen);
}

int sensor_exclude_listener(struct sensor *s, const struct sockaddr *sa)
{
	return loader_exclude_listener(s->loader, sa);
}

int sensor_set_filters(struct sensor *s, const struct loader_filters *f)
{
	int rc = loader_set_filters(s->loader, f);

	if (!rc)
		s->sampling = f->budget != 0;
	return rc;
}

void sensor_get_stats(struct sensor *s, struct sensor_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (loader_counters(s->loader, out->kernel))
		memset(out->kernel, 0, sizeof(out->kernel));
	out->ct = *ct_stats(s->ct);
	out->http = s->http;
	out->http2 = s->http2;
	out->active_conns = ct_active(s->ct);
	out->records = s->records;
	mirror_get_stats(s->mirror, &out->mirror);
	tls_attach_get_stats(s->tls, &out->tls);
	out->unsampled_weighted = s->unsampled_weighted;
	out->unsampled_tallied = s->unsampled_tallied;
	out->unsampled_untallied = s->unsampled_untallied;
	out->whole_conns = s->whole_conns;
	out->twin_only_dropped = s->twin_only_dropped;
}

void sensor_log_tls(struct sensor *s)
{
	tls_attach_log(s->tls);
}

const struct tls_attach *sensor_tls(const struct sensor *s)
{
	return s->tls;
}
