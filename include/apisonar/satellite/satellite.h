/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `apisonar satellite`: the HTTPS ingest service for many sensors. It takes
 * batches (batch.h) on POST /v1/batches, merges them into one catalog
 * (catalog.h), writes that catalog to a directory and, optionally, forwards
 * it upstream. See docs/satellite.md.
 *
 * The pure parts (rate limiter, dedup set) are separate so unit tests can
 * drive them with a fake clock.
 */
#ifndef APISONAR_SATELLITE_H
#define APISONAR_SATELLITE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "apisonar/transport/batch.h"
#include "apisonar/transport/nats.h"
#include "apisonar/transport/uploader.h"

/* ---- per-sensor token bucket ------------------------------------------- */

#define SAT_RL_MAX_KEY 127        /* sensor key bytes kept (longer keys are cut) */
#define SAT_RL_MAX_SENSORS 100000 /* hard cap on the table size */

struct sat_ratelim;

/* per_min tokens are added per minute, up to burst (>= 1); at most
 * max_sensors buckets are kept, the least recently used goes first. */
struct sat_ratelim *sat_rl_new(uint32_t per_min, uint32_t burst, uint32_t max_sensors);
void sat_rl_free(struct sat_ratelim *rl);

/* Takes one token for key at now_ns (monotonic). Returns 1 when allowed,
 * 0 when limited, and then *retry_after_s (>= 1) says when a token will be
 * there. */
int sat_rl_take(struct sat_ratelim *rl, const char *key, uint64_t now_ns,
		uint32_t *retry_after_s) __attribute__((warn_unused_result));

/* Buckets in use and buckets evicted to make room. */
uint32_t sat_rl_size(const struct sat_ratelim *rl);
uint64_t sat_rl_evictions(const struct sat_ratelim *rl);

/* ---- bounded set of batch ids seen ------------------------------------- */

#define SAT_DEDUP_MAX_CAP (4u * 1024 * 1024)

struct sat_dedup;

/* A set of at most cap ids; past cap the oldest id is forgotten. */
struct sat_dedup *sat_dedup_new(uint32_t cap);
void sat_dedup_free(struct sat_dedup *d);

/* 1 when id is in the set, else 0. */
int sat_dedup_has(const struct sat_dedup *d, const char *id);

/* Adds id (no-op if present). Returns 1 when added, 0 when present. */
int sat_dedup_add(struct sat_dedup *d, const char *id);

uint32_t sat_dedup_count(const struct sat_dedup *d);

/* The i-th id from the oldest (i < count), for persisting in order. */
const char *sat_dedup_at(const struct sat_dedup *d, uint32_t i);

/* ---- forwarding upstream: a spool drained by the uploader in a thread ---- */

struct sat_forward;

struct sat_fwd_stats {
	uint64_t delivered;   /* batches upstream answered 2xx to */
	uint64_t retries;     /* attempts to retry later (network, 5xx, 429, 401/403) */
	uint64_t rejected;    /* permanent 4xx: quarantined */
	uint64_t errors;      /* local failures (spool, memory) */
	uint64_t spool_files; /* batches waiting */
	uint64_t spool_bytes;
	uint64_t spool_dropped; /* oldest dropped because the spool was full */
};

/* Builds the uploader (checks the options, reads the token), opens the
 * spool in spool_dir with the options' keys and starts the sender thread.
 * Returns 0 or a negative errno (the reason is logged). */
int sat_fwd_start(const struct uploader_opts *o, const char *spool_dir, struct sat_forward **out)
	__attribute__((warn_unused_result));

/* Spools one batch (durably) for the sender thread. */
int sat_fwd_put(struct sat_forward *f, const void *gz, size_t len, const struct batch_meta *m)
	__attribute__((warn_unused_result));

void sat_fwd_get_stats(struct sat_forward *f, struct sat_fwd_stats *out);

/* Stops the thread (an attempt in flight finishes or times out) and frees
 * everything. NULL-safe. */
void sat_fwd_stop(struct sat_forward *f);

/* ---- raw ingest (POST /v1/exchanges, raw-forward mode) ------------------ */

struct sat_raw_stats {
	uint64_t merged;    /* exchanges anonymized into the document */
	uint64_t skipped;   /* exchanges the anonymizer refused */
	uint64_t malformed; /* JSON lines that were not an exchange */
};

/* Inflates gzip'd JSON lines of exchanges (docs/exchange-format.md, at most
 * max_decoded bytes), anonymizes them into a new metadata document (*doc,
 * caller frees) and wipes the raw bytes. Returns 0; -E2BIG past
 * max_decoded; -EINVAL for bad gzip, a fatal reader error or no usable
 * exchange at all; -ENOMEM. err never holds a byte of the input. */
int sat_raw_to_metadata(const void *gz, size_t len, size_t max_decoded, cJSON **doc,
			struct sat_raw_stats *st, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* ---- API security tests (satellite_tests.c) ----------------------------- */

struct catalog;

/* The test plan of one service of the merged catalog as JSON (*json,
 * caller frees). -ENOENT when the catalog has no such service. */
int sat_tests_plan(const struct catalog *cat, const char *service, char **json, char *err,
		   size_t errlen) __attribute__((warn_unused_result));

/* Stores a results document (apisonar.testresults/v1) under
 * DIR/test-results/<id>.json, once per id. Returns 1 stored, 0 already
 * stored (a re-send), -EINVAL not such a document, -EPERM refused by the
 * last guard, else -errno; err is our own text. id gets the document's id
 * once it is known. */
int sat_tests_store(const char *dir, const char *json, size_t len, char id[BATCH_ID_LEN + 1],
		    char *err, size_t errlen) __attribute__((warn_unused_result));

/* ---- replicas on NATS JetStream (satellite_nats.c, docs/nats.md) -------- */

#define SAT_REPLICA_MAX 64

/* 1 when id is UUID text (it becomes a file name in the journal). */
int sat_batch_id_ok(const char *id);

/* Checks one message of the stream: at most max_body bytes, a valid batch
 * (batch_decode), a UUID id, and a Nats-Msg-Id header (hdr_id, NULL when
 * absent) equal to that id. Returns 0 with *doc (caller frees) and m set;
 * -E2BIG (too large, also when it inflates past BATCH_MAX_DECODED),
 * -EBADMSG (id rules), or batch_decode's error with err set (never a byte
 * of the input). */
int sat_nats_check(const void *data, size_t len, const char *hdr_id, size_t max_body, cJSON **doc,
		   struct batch_meta *m, char *err, size_t errlen) __attribute__((warn_unused_result));

struct sat_nats_config {
	const struct nats_opts *opts;
	const char *replica_id; /* unique per replica: the claim value and the catalog key */
	uint32_t ack_wait_s;    /* of the consumer, when this replica creates it */
	int32_t max_msg;        /* of the stream, when this replica creates it */
};

struct sat_nats_stats {
	uint64_t pending;     /* consumer: messages not yet delivered */
	uint64_t ack_pending; /* consumer: delivered, not acknowledged */
	uint64_t redelivered; /* consumer: delivered more than once, not acknowledged */
	int info_ok;          /* the figures above were read at least once */
	int connected;
	uint64_t fetched;
	uint64_t fetch_errors;
	uint64_t catalog_published;
	uint64_t catalog_errors;
};

struct sat_nats;

/* Connects (trying for a minute while the server is away, or until *stop),
 * creates the stream, the consumer and the two buckets when missing, binds
 * to the consumer. Returns 0 or a negative errno (logged). */
int sat_nats_start(const struct sat_nats_config *cfg, volatile int *stop, struct sat_nats **out)
	__attribute__((warn_unused_result));

/* Starts the fetch thread; sat_nats_fd() becomes readable when a list of
 * messages is ready; sat_nats_take() hands it over (1, or 0 when none),
 * sat_nats_done() lets the thread fetch the next. */
int sat_nats_run(struct sat_nats *n) __attribute__((warn_unused_result));
int sat_nats_fd(const struct sat_nats *n);
int sat_nats_take(struct sat_nats *n, natsMsgList *out);
void sat_nats_done(struct sat_nats *n);

/* Claims batch id for this replica: 1 ours (now or from before a
 * restart), 0 another replica's, -EAGAIN no answer from the server. */
int sat_nats_claim(struct sat_nats *n, const char *id) __attribute__((warn_unused_result));

/* Puts this replica's whole catalog (a batch, gz) under its id in the
 * catalog bucket. */
int sat_nats_publish_catalog(struct sat_nats *n, const void *gz, size_t len);

void sat_nats_get_stats(struct sat_nats *n, struct sat_nats_stats *out);

/* Stops the thread; fetched messages not acknowledged are redelivered by
 * the server. NULL-safe. */
void sat_nats_stop(struct sat_nats *n);

/* ---- the server --------------------------------------------------------- */

struct sat_config {
	const char *listen_addr; /* numeric IPv4/IPv6 address */
	uint16_t listen_port;
	const char *tls_cert;
	const char *tls_key;
	const char *client_ca;  /* NULL: no client certificates */
	const char *token_file; /* NULL: no bearer token */
	const char *out_dir;
	uint64_t max_body;        /* compressed bytes per request */
	uint32_t max_conns;       /* open connections */
	uint32_t rate_per_min;    /* batches per sensor per minute, 0 = unlimited */
	uint32_t rate_burst;      /* bucket size, 0 = rate_per_min */
	uint32_t flush_interval;  /* seconds */
	uint32_t idle_timeout;    /* seconds without a byte */
	uint32_t request_timeout; /* seconds from connect (or last reply) to full request */
	uint32_t dedup_cap;       /* batch ids remembered */
	const struct uploader_opts *upstream; /* NULL: no forwarding */
	const char *sensor_id;    /* identity in forwarded batches */
	int raw_ingest;           /* accept POST /v1/exchanges (needs client_ca) */
	const char *metrics_addr; /* plain HTTP /metrics and /healthz listener; NULL: none */
	uint16_t metrics_port;    /* 0: a free port (logged) */
	const struct nats_opts *nats; /* consume from JetStream as a replica; NULL: no */
	const char *replica_id;   /* with nats */
	uint32_t nats_ack_wait;   /* seconds, with nats */
	int nats_edge;            /* with nats and listen_addr: publish accepted HTTPS batches to
				   * the stream instead of merging them (an edge); no consumer */
};

/* Runs until SIGTERM/SIGINT. Returns 0 after a clean stop, 1 when start-up
 * failed (the reason is logged). */
int sat_run(const struct sat_config *cfg);

#endif
