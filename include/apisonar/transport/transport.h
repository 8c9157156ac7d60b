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

/* uploader_drain() for any backend: the same modes, return values and log
 * lines (see uploader.h). */
int transport_drain(const struct transport *t, struct spool *sp, enum uploader_drain_mode mode,
		    volatile sig_atomic_t *stop) __attribute__((warn_unused_result));

#endif
