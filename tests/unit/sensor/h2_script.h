/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Writing HTTP/2 conversations for the parser tests, frame by frame:
 * header blocks are encoded by libnghttp2's HPACK deflater, one per
 * direction, so the dynamic table is used across requests as a real peer
 * would. The steps are split_testlib.h's (SPLIT_STATS must be defined
 * first). The observed process is the server unless a test says otherwise:
 * CLI is the direction it reads requests from.
 */
#ifndef H2_SCRIPT_H
#define H2_SCRIPT_H

#include <stdarg.h>

#include <nghttp2/nghttp2.h>

#include "apisonar/sensor/events.h"
#include "split_testlib.h"

#define EG AS_DIR_EGRESS
#define IN AS_DIR_INGRESS
#define CLI IN /* the observed process is the server: it reads requests */
#define SRV EG
#define MAX_STEPS 64

#define T_DATA 0
#define T_HEADERS 1
#define T_PRIORITY 2
#define T_RST 3
#define T_SETTINGS 4
#define T_PUSH 5
#define T_PING 6
#define T_GOAWAY 7
#define T_WU 8
#define T_CONT 9

#define ES 0x01
#define EH 0x04
#define PAD 0x08
#define PRIO 0x20

/* A script being written: the open feed of each direction grows until
 * the other direction (or a gap, a close, a new ts) starts a new step. */
struct script {
	struct step s[MAX_STEPS];
	char *own[MAX_STEPS]; /* the bytes of s[i].data */
	size_t n;
	uint64_t ts;
	nghttp2_hd_deflater *def[2];
};

static inline struct script *sc_new(void)
{
	struct script *sc = calloc(1, sizeof(*sc));

	assert_non_null(sc);
	assert_int_equal(nghttp2_hd_deflate_new(&sc->def[0], 4096), 0);
	assert_int_equal(nghttp2_hd_deflate_new(&sc->def[1], 4096), 0);
	sc->ts = 1000;
	return sc;
}

static inline void sc_free(struct script *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		free(sc->own[i]);
	nghttp2_hd_deflate_del(sc->def[0]);
	nghttp2_hd_deflate_del(sc->def[1]);
	free(sc);
}

/* Appends bytes to dir's feed, opening a new step when needed. */
static inline void put(struct script *sc, int dir, const void *p, size_t n)
{
	struct step *st = sc->n ? &sc->s[sc->n - 1] : NULL;

	if (!st || st->kind != FEED || st->dir != dir || st->ts != sc->ts) {
		assert_true(sc->n < MAX_STEPS);
		st = &sc->s[sc->n++];
		st->kind = FEED;
		st->dir = dir;
		st->ts = sc->ts;
	}
	sc->own[st - sc->s] = realloc(sc->own[st - sc->s], st->len + n + 1);
	assert_non_null(sc->own[st - sc->s]);
	memcpy(sc->own[st - sc->s] + st->len, p, n);
	st->len += n;
	sc->own[st - sc->s][st->len] = 0;
	st->data = sc->own[st - sc->s];
}

/* Later bytes get a later time (and a new step). */
static inline void tick(struct script *sc, uint64_t ns)
{
	sc->ts += ns;
}

static inline void sc_op(struct script *sc, enum step_kind k, int dir, size_t missing)
{
	struct step *st = &sc->s[sc->n++];

	st->kind = k;
	st->dir = dir;
	st->missing = missing;
	st->ts = sc->ts;
}

static inline void frame(struct script *sc, int dir, int type, int flags, uint32_t sid, const void *p,
		  size_t n)
{
	unsigned char h[9] = {
	    (unsigned char)(n >> 16),	(unsigned char)(n >> 8),   (unsigned char)n,
	    (unsigned char)type,	(unsigned char)flags,	   (unsigned char)(sid >> 24),
	    (unsigned char)(sid >> 16), (unsigned char)(sid >> 8), (unsigned char)sid};

	put(sc, dir, h, 9);
	if (n)
		put(sc, dir, p, n);
}

static inline void preface(struct script *sc)
{
	put(sc, CLI, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	frame(sc, CLI, T_SETTINGS, 0, 0, NULL, 0);
	frame(sc, SRV, T_SETTINGS, 0, 0, "\x00\x03\x00\x00\x00\x64", 6);
	frame(sc, CLI, T_SETTINGS, 1, 0, NULL, 0);
}

/* Encodes "name", "value", ..., NULL with dir's deflater into out. */
static inline size_t block(struct script *sc, int dir, unsigned char *out, size_t cap, va_list ap)
{
	nghttp2_nv nv[32];
	size_t n = 0;
	const char *name;
	ssize_t r;

	while ((name = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);

		assert_true(n < 32);
		nv[n].name = (uint8_t *)name;
		nv[n].namelen = strlen(name);
		nv[n].value = (uint8_t *)value;
		nv[n].valuelen = strlen(value);
		nv[n].flags = NGHTTP2_NV_FLAG_NONE;
		n++;
	}
	r = nghttp2_hd_deflate_hd(sc->def[dir], out, cap, nv, n);
	assert_true(r >= 0);
	return (size_t)r;
}

static inline size_t enc(struct script *sc, int dir, unsigned char *out, size_t cap, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, cap);
	n = block(sc, dir, out, cap, ap);
	va_end(ap);
	return n;
}

/* One HEADERS frame (END_HEADERS) with the fields that follow flags. */
static inline void headers(struct script *sc, int dir, uint32_t sid, int flags, ...)
{
	unsigned char b[4096];
	va_list ap;
	size_t n;

	va_start(ap, flags);
	n = block(sc, dir, b, sizeof(b), ap);
	va_end(ap);
	frame(sc, dir, T_HEADERS, flags | EH, sid, b, n);
}

static inline void data(struct script *sc, int dir, uint32_t sid, int flags, const char *s)
{
	frame(sc, dir, T_DATA, flags, sid, s, strlen(s));
}

static inline void get(struct script *sc, uint32_t sid, const char *path)
{
	headers(sc, CLI, sid, ES, ":method", "GET", ":scheme", "http", ":path", path, ":authority",
		"api.test", "user-agent", "t/1", NULL);
}

static inline void ok(struct script *sc, uint32_t sid, const char *body)
{
	headers(sc, SRV, sid, 0, ":status", "200", "content-type", "text/plain", NULL);
	data(sc, SRV, sid, ES, body);
}

#endif
