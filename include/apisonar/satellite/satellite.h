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
};

/* Runs until SIGTERM/SIGINT. Returns 0 after a clean stop, 1 when start-up
 * failed (the reason is logged). */
int sat_run(const struct sat_config *cfg);

#endif
