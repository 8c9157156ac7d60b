/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Metadata batches: what leaves a host. A batch is a catalog document
 * (schema apisonar.metadata/v1, see catalog.h) with an envelope: a random
 * batch id the receiver de-duplicates on, the sensor's identity and
 * version, and the time window it covers. On the wire and in the spool it
 * is gzip-compressed JSON.
 */
#ifndef APISONAR_BATCH_H
#define APISONAR_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define BATCH_ID_LEN 36                      /* UUIDv4 text, without NUL */
#define BATCH_MAX_DECODED (64u * 1024 * 1024) /* inflated size we accept */

struct batch_sensor {
	const char *id;      /* host or node name, or a configured sensor id */
	const char *version; /* APISONAR_VERSION */
};

/* What a spooled record carries. The spool keeps it in the file header and
 * the uploader posts each kind to its own path of the endpoint. */
enum batch_kind {
	BATCH_KIND_METADATA = 0,     /* a catalog batch: POST /v1/batches */
	BATCH_KIND_TEST_RESULTS = 1, /* apisonar.testresults/v1 (docs/testing.md): POST /v1/test-results */
	BATCH_KIND__COUNT,
};

struct batch_meta {
	char id[BATCH_ID_LEN + 1];
	uint8_t kind; /* enum batch_kind; 0 (a catalog batch) unless set */
	char sensor_id[128];
	char sensor_version[32];
	uint64_t window_start_ns; /* wall clock */
	uint64_t window_end_ns;
	uint32_t services;
	uint32_t endpoints;
	size_t json_len; /* bytes before compression */
};

/* A fresh UUIDv4 from OpenSSL's RNG. Returns 0 or -EIO. */
int batch_uuid4(char out[BATCH_ID_LEN + 1]) __attribute__((warn_unused_result));

/* Wraps a metadata document into a batch, runs the last guard (detect_scan
 * over the serialized JSON) and gzips it. Returns 0; -EPERM when the guard
 * refused the batch (nothing is returned, the caller counts and logs it
 * without the match); another negative errno on failure. *out is owned by
 * the caller. */
int batch_encode(const cJSON *metadata, const struct batch_sensor *sensor, uint64_t window_start_ns,
		 uint64_t window_end_ns, unsigned char **out, size_t *out_len,
		 struct batch_meta *meta) __attribute__((warn_unused_result));

/* The same under a given batch id (BATCH_ID_LEN bytes, checked by the
 * caller), for a batch made from raw exchanges that arrived under that id:
 * the id stays the idempotency key. NULL id = a fresh one. */
int batch_encode_as(const cJSON *metadata, const struct batch_sensor *sensor, const char *id,
		    uint64_t window_start_ns, uint64_t window_end_ns, unsigned char **out,
		    size_t *out_len, struct batch_meta *meta) __attribute__((warn_unused_result));

/* gzip (level 6) of len bytes into a new buffer. Returns 0, -ENOMEM or
 * -EIO. */
int batch_gzip(const void *in, size_t len, unsigned char **out, size_t *out_len)
	__attribute__((warn_unused_result));

/* Inflates (at most max_decoded bytes), parses and validates a batch. On
 * success *doc is the metadata document with its envelope (caller frees)
 * and meta is filled. On failure returns -EINVAL (or -E2BIG past
 * max_decoded, -ENOMEM) and writes a reason into err that never holds a
 * byte of the input. */
int batch_decode(const void *gz, size_t len, size_t max_decoded, cJSON **doc,
		 struct batch_meta *meta, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
