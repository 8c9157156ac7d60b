// SPDX-License-Identifier: BSD-2-Clause
/*
 * The protocol of one connection, and the h2c handover (proto.h). The
 * HTTP/1 parser stops at a 101 that answers `Upgrade: h2c`, keeps the
 * request and holds what follows the switch; here the HTTP/2 parser is
 * made with the client's direction HTTP/1 learnt, stream 1 is opened with
 * that request, and the held bytes are fed to it in the order they came.
 * See docs/http2.md.
 */
#include <errno.h>
#include <stdlib.h>

#include "apisonar/sensor/proto/proto.h"

struct proto_conn {
	const struct proto_cfg *cfg;
	struct http1_conn *h1; /* one of h1 and h2 is set */
	struct http2_conn *h2;
	proto_exchange_cb cb;
	void *ctx;
	bool upgraded; /* h2 came from an h2c upgrade */
};

static void h1_out(void *ctx, struct as_exchange *x)
{
	struct proto_conn *p = ctx;

	p->cb(p->ctx, x);
}

static struct http2_conn *h2_new(struct proto_conn *p, int client_dir)
{
	return http2_conn_new(p->cfg->http2, p->cfg->http2_stats, client_dir, h1_out, p);
}

struct proto_conn *proto_conn_new(const struct proto_cfg *cfg, bool http2, int client_dir,
				  bool midstream, proto_exchange_cb cb, void *ctx)
{
	struct proto_conn *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = cfg;
	p->cb = cb;
	p->ctx = ctx;
	if (http2) {
		/* Mid-stream, the role came from the first bytes seen, not
		 * from accept or connect: the parser finds the client. */
		p->h2 = h2_new(p, midstream ? -1 : client_dir);
		if (p->h2 && midstream)
			http2_conn_set_midstream(p->h2);
	} else {
		p->h1 = http1_conn_new(cfg->http1, cfg->http1_stats, h1_out, p);
		if (p->h1 && midstream)
			http1_conn_set_midstream(p->h1);
	}
	if (!p->h1 && !p->h2) {
		free(p);
		return NULL;
	}
	return p;
}

void proto_conn_free(struct proto_conn *p)
{
	if (!p)
		return;
	http1_conn_free(p->h1);
	http2_conn_free(p->h2);
	free(p);
}

static void rest_out(void *ctx, int dir, const void *data, size_t len, uint64_t missing,
		     uint64_t ts)
{
	struct http2_conn *h2 = ctx;

	if (data)
		http2_conn_feed(h2, dir, data, len, ts);
	else
		http2_conn_gap(h2, dir, missing, ts);
}

/* After an HTTP/1 call: when it ended in an h2c switch, HTTP/2 takes the
 * conn over, with what HTTP/1 held. */
static void maybe_switch(struct proto_conn *p)
{
	struct as_exchange *req;
	uint64_t start, end;
	int req_dir;

	if (!http1_conn_dead(p->h1))
		return;
	req = http1_conn_take_h2c(p->h1, &req_dir, &start, &end);
	if (!req)
		return;
	p->h2 = h2_new(p, req_dir);
	if (!p->h2) {
		as_exchange_free(req);
		return; /* out of memory: the conn stays given up */
	}
	if (http2_conn_upgrade(p->h2, req, start, end)) {
		http2_conn_free(p->h2);
		p->h2 = NULL;
		return;
	}
	p->upgraded = true;
	http1_conn_rest(p->h1, rest_out, p->h2);
	http1_conn_free(p->h1);
	p->h1 = NULL;
}

int proto_conn_feed(struct proto_conn *p, int dir, const void *data, size_t len, uint64_t ts_ns)
{
	int rc;

	if (p->h2)
		return http2_conn_feed(p->h2, dir, data, len, ts_ns);
	rc = http1_conn_feed(p->h1, dir, data, len, ts_ns);
	if (rc == -EPROTO) {
		maybe_switch(p);
		if (p->h2)
			rc = http2_conn_dead(p->h2) ? -EPROTO : 0;
	}
	return rc;
}

void proto_conn_gap(struct proto_conn *p, int dir, uint64_t missing, uint64_t ts_ns)
{
	if (p->h2) {
		http2_conn_gap(p->h2, dir, missing, ts_ns);
		return;
	}
	http1_conn_gap(p->h1, dir, missing, ts_ns);
	maybe_switch(p); /* a gap lets held bytes go on, up to a 101 maybe */
}

void proto_conn_close(struct proto_conn *p, uint64_t ts_ns)
{
	if (p->h2)
		http2_conn_close(p->h2, ts_ns);
	else
		http1_conn_close(p->h1, ts_ns);
}

uint64_t proto_conn_restart(struct proto_conn *p)
{
	return p->h1 ? http1_conn_restart(p->h1) : 0;
}

int proto_conn_whole(const struct proto_conn *p)
{
	return p->h1 ? http1_conn_pipelined(p->h1) : p->upgraded;
}

int proto_conn_http2(const struct proto_conn *p)
{
	return p->h2 != NULL;
}
