/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The delivery interface the spool drainer calls: take the oldest sealed
 * batch from the spool, hand it to a backend, remove it only when the
 * backend says it is acknowledged. HTTPS (uploader.c) and NATS JetStream
 * (nats.c) implement it; a Kafka backend (librdkafka) would be a third
 * struct transport_ops and nothing else.
 */
#ifndef APISONAR_TRANSPORT_H
#define APISONAR_TRANSPORT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "apisonar/transport/batch.h"
#include "apisonar/transport/spool.h"
#include "apisonar/transport/uploader.h"

/* What `transport = ...` and `--transport` name. */
enum transport_kind {
	TRANSPORT_HTTPS = 0,
	TRANSPORT_NATS,
};

/* "https" or "nats" into *out; -EINVAL for anything else. */
int transport_parse_kind(const char *s, enum transport_kind *out) __attribute__((warn_unused_result));

struct transport_ops {
	const char *name; /* "https", "nats": for log lines */
	/* One delivery attempt of one batch; fills res (verdict, kind). Returns
	 * 0 when an answer was reached, a negative errno when the attempt could
	 * not be made (then the batch stays, as for UPLOAD_RETRY). */
	int (*send)(void *ctx, const void *gz, size_t len, const struct batch_meta *m,
		    struct upload_result *res);
	/* Optional: makes what the backend records (an audit log) durable
	 * before the drainer reports or idles. */
	void (*sync)(void *ctx);
	void (*stats)(const void *ctx, struct uploader_stats *out);
};

struct transport {
	const struct transport_ops *ops;
	void *ctx;
	uint64_t backoff_base_ms; /* 0 = UPLOADER_BACKOFF_BASE_MS */
	uint64_t backoff_cap_ms;  /* 0 = UPLOADER_BACKOFF_CAP_MS */
};

/* Fills *out for a backend: ops over ctx (the caller's), with its backoff
 * (0 = the uploader's defaults). */
void transport_init(struct transport *out, const struct transport_ops *ops, void *ctx,
		    uint64_t backoff_base_ms, uint64_t backoff_cap_ms);

/* uploader_drain() for any backend: the same modes, return values and log
 * lines (see uploader.h). */
int transport_drain(const struct transport *t, struct spool *sp, enum uploader_drain_mode mode,
		    volatile sig_atomic_t *stop) __attribute__((warn_unused_result));

/* ---- the audit log, the same for every backend (docs/transport.md) ---- */

/* A local record of every delivery attempt: JSON lines appended to one
 * file, ids, counts, sizes, a digest and the outcome; never content. */
struct transport_audit {
	const char *path; /* for log lines; not owned */
	int fd;		  /* -1: no audit log */
	int dirty;	  /* a result line written since the last fdatasync */
};

/* Opens path for appending (created 0600), or with path NULL sets up no
 * audit log (every call below then does nothing). Returns 0, or a negative
 * errno after a logged line. */
int transport_audit_open(struct transport_audit *a, const char *path)
	__attribute__((warn_unused_result));

/* Makes the last result line durable (the next attempt line would too). */
void transport_audit_sync(struct transport_audit *a);

/* Syncs and closes; safe on one that is not open. */
void transport_audit_close(struct transport_audit *a);

#define TRANSPORT_ATTEMPT_ID_LEN 16 /* hex digits */
#define TRANSPORT_DIGEST_LEN 64	    /* hex digits of a SHA-256 */

/* One delivery attempt of one batch, as its two audit lines tell it. */
struct transport_attempt {
	char id[TRANSPORT_ATTEMPT_ID_LEN + 1]; /* pairs the attempt and result lines */
	char sha256[TRANSPORT_DIGEST_LEN + 1]; /* of the bytes sent */
	const char *endpoint;		       /* a URL, or a NATS URL and subject */
	const char *transport;		       /* "nats": a member of its own; NULL for
						* HTTPS, whose results carry http_status */
	int raw;			       /* raw exchanges: no digest on record */
	const struct batch_meta *m;	       /* the batch (id, counts); the caller's */
	size_t len;			       /* bytes sent */
	uint64_t t0_ns;			       /* monotonic, once the attempt line stood */
};

/* Starts an attempt to send len bytes at gz: a fresh attempt id, the
 * digest, and the "attempt" line, written and fdatasync'd before anything
 * leaves, so a crash at any later moment leaves the attempt on record. A
 * raw batch (exchanges with their values) is recorded without a digest: a
 * digest of values is a hash of credentials, which never leaves nor stays.
 * Returns 0, or a negative errno when the line could not be made durable:
 * then the attempt must not be made. */
int transport_attempt_begin(struct transport_audit *a, struct transport_attempt *at,
			    const char *endpoint, const char *transport, int raw, const void *gz,
			    size_t len, const struct batch_meta *m)
	__attribute__((warn_unused_result));

/* The "result" line of the attempt: durable with the next attempt line,
 * transport_audit_sync() or transport_audit_close() (a crash can lose a
 * result, never an attempt). A failure to write it is logged only. */
void transport_attempt_end(struct transport_audit *a, const struct transport_attempt *at,
			   const struct upload_result *r);

#endif
