/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * NATS JetStream through libnats: the publishing side of the transport
 * (spooled batches to the stream, the batch id as Nats-Msg-Id so the
 * server drops duplicates, removed from the spool only after the publish
 * acknowledgement) and the pieces the satellite and `apisonar catalog`
 * share: the connection (TLS verified, CA, client certificate, creds or
 * token file, never printed), the stream, the work-queue consumer and the
 * key-value buckets. docs/nats.md has the names, retention and limits.
 */
#ifndef APISONAR_NATS_H
#define APISONAR_NATS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <nats/nats.h>

#include "apisonar/transport/batch.h"
#include "apisonar/transport/transport.h"
#include "apisonar/transport/uploader.h"

#define NATS_STREAM_NAME "APISONAR_BATCHES"
#define NATS_SUBJECT_PREFIX "apisonar.batches"
#define NATS_STREAM_SUBJECTS NATS_SUBJECT_PREFIX ".>"
#define NATS_CONSUMER_NAME "apisonar-satellites"
#define NATS_KV_CATALOG "apisonar-catalog"    /* replica id -> its merged catalog (a batch) */
#define NATS_KV_CLAIMS "apisonar-batch-ids"   /* batch id -> the replica that merged it */
#define NATS_TOKEN_MAX 64                     /* bytes of one subject token we keep */
#define NATS_SUBJECT_MAX 160
#define NATS_SECRET_MAX 4096                  /* bytes read from a token file */
#define NATS_DEFAULT_TIMEOUT_MS 5000
#define NATS_DEFAULT_CLUSTER "default"

/* Stream defaults (docs/nats.md). */
#define NATS_STREAM_MAX_BYTES (1024ll * 1024 * 1024)
#define NATS_STREAM_MAX_AGE_S (7ll * 24 * 3600)
#define NATS_STREAM_DUP_WINDOW_S (10ll * 60)
#define NATS_STREAM_MAX_MSG (8 * 1024 * 1024)
#define NATS_CLAIMS_TTL_S (8ll * 24 * 3600) /* longer than the stream keeps a batch */

/* getopt_long codes (outside the ASCII range and the uploader's). */
enum {
	NATS_OPT_TRANSPORT = 0x1200,
	NATS_OPT_URL,
	NATS_OPT_CREDS,
	NATS_OPT_TOKEN_FILE,
	NATS_OPT_CA,
	NATS_OPT_CLIENT_CERT,
	NATS_OPT_CLIENT_KEY,
	NATS_OPT_CLUSTER,
	NATS_OPT__END,
};

/* The NATS options of every subcommand that talks to the server (upload,
 * satellite, catalog); --transport only where a choice exists. */
/* clang-format off */
#define NATS_CONN_LONG_OPTIONS                                                          \
	{ "nats-url", required_argument, NULL, NATS_OPT_URL },                          \
	{ "nats-creds", required_argument, NULL, NATS_OPT_CREDS },                      \
	{ "nats-token-file", required_argument, NULL, NATS_OPT_TOKEN_FILE },            \
	{ "nats-ca", required_argument, NULL, NATS_OPT_CA },                            \
	{ "nats-client-cert", required_argument, NULL, NATS_OPT_CLIENT_CERT },          \
	{ "nats-client-key", required_argument, NULL, NATS_OPT_CLIENT_KEY }
#define NATS_LONG_OPTIONS                                                               \
	{ "transport", required_argument, NULL, NATS_OPT_TRANSPORT },                   \
	{ "cluster", required_argument, NULL, NATS_OPT_CLUSTER },                       \
	NATS_CONN_LONG_OPTIONS
/* clang-format on */

/* Settings; strings are not owned. */
struct nats_opts {
	enum transport_kind transport; /* --transport; HTTPS unless told */
	const char *url;               /* nats://host:port or tls://host:port */
	const char *creds_file;        /* user JWT + nkey seed (.creds) */
	const char *token_file;        /* one line */
	const char *ca_file;           /* CA bundle for the server's certificate */
	const char *client_cert;
	const char *client_key;
	const char *cluster;           /* subject token; NULL = NATS_DEFAULT_CLUSTER */
	uint32_t timeout_ms;           /* connect and publish ack; 0 = default */
	const char *audit_log;         /* publisher: JSON lines as the uploader's; NULL = none */
};

/* Handles one getopt code: 0 handled, 1 not a NATS option, -EINVAL after a
 * message on stderr (never quoting a value of a file option). */
int nats_opt_parse(struct nats_opts *o, int opt, const char *arg) __attribute__((warn_unused_result));

/* The combination: a URL of scheme nats:// or tls:// with a host and no
 * credentials in it, creds and token file not both, cert and key
 * together. Returns 0 or -EINVAL with err set (naming the option). */
int nats_opts_check(const struct nats_opts *o, char *err, size_t errlen)
	__attribute__((warn_unused_result));

void nats_opts_usage(FILE *f);

/* ---- pure helpers (unit tested) ---- */

/* One subject token from a name (a sensor id, a cluster): bytes outside
 * [A-Za-z0-9_-] become '_' (dots, wildcards and spaces would change the
 * subject's shape), cut at NATS_TOKEN_MAX; empty gives "_". Returns the
 * length written. */
size_t nats_subject_token(const char *in, char *out, size_t outlen);

/* "apisonar.batches.<cluster>.<sensor>". Returns 0 or -ENAMETOOLONG. */
int nats_batch_subject(const char *cluster, const char *sensor, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/* Splits nats://[host]:port or tls://host:port. *tls is 1 for tls://.
 * Returns 0 or -EINVAL (no host, other scheme, user info, a path, a list). */
int nats_url_parse(const char *url, char *host, size_t hostlen, int *tls)
	__attribute__((warn_unused_result));

/* A fixed word for a libnats status, for logs and metrics. */
const char *nats_status_kind(natsStatus s);

/* ---- the connection ---- */

struct nats_conn;

/* Connects (TLS when the URL says tls:// or a CA or client certificate is
 * given: peer and host name verified), with reconnects forever, 0.5 s apart
 * plus jitter. name is the connection name the server shows. On failure
 * err says why without any credential. */
int nats_conn_open(const struct nats_opts *o, const char *name, struct nats_conn **out,
		   char *err, size_t errlen) __attribute__((warn_unused_result));
void nats_conn_close(struct nats_conn *c);
natsConnection *nats_conn_nc(struct nats_conn *c);
jsCtx *nats_conn_js(struct nats_conn *c);
int nats_conn_connected(struct nats_conn *c);

/* The stream (retention work queue, file storage, the limits above,
 * duplicates window) and the durable pull consumer, created when missing;
 * existing ones (made by an operator) are used as they are. max_msg 0 =
 * NATS_STREAM_MAX_MSG. */
int nats_ensure_stream(struct nats_conn *c, int32_t max_msg, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int nats_ensure_consumer(struct nats_conn *c, int64_t ack_wait_s, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Opens a key-value bucket, creating it (history 1, file storage, ttl_s 0 =
 * none) when create is set and it is missing. */
int nats_kv_open(struct nats_conn *c, const char *bucket, int create, int64_t ttl_s,
		 kvStore **out, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Publishes one batch to subject with Nats-Msg-Id = id and waits for the
 * stream's ack: 0 (then *duplicate says whether the stream had it
 * already), -E2BIG (over the server's max payload or the stream's max
 * message size: never taken), -EAGAIN (no ack: no stream, a timeout, the
 * server away); *kind gets a fixed word for logs. */
int nats_publish_batch(struct nats_conn *c, const char *subject, const void *gz, size_t len,
		       const char *id, int *duplicate, const char **kind)
	__attribute__((warn_unused_result));

/* ---- the publisher: a transport ---- */

struct nats_pub;

/* Checks options and files (a token file is read now and at every
 * connect); connects lazily, at the first send. sensor_id names the
 * subject. NULL with *err on failure (logged). */
struct nats_pub *nats_pub_new(const struct nats_opts *o, const char *sensor_id, int *err);
void nats_pub_free(struct nats_pub *p);

/* One publish of one batch with Nats-Msg-Id = its id, waiting for the
 * stream's acknowledgement: UPLOAD_DELIVERED on the ack (a duplicate the
 * server dropped too), UPLOAD_REJECTED when the server will never take it
 * (larger than its max payload), UPLOAD_RETRY otherwise. */
int nats_pub_send(struct nats_pub *p, const void *gz, size_t len, const struct batch_meta *m,
		  struct upload_result *res) __attribute__((warn_unused_result));

void nats_pub_get_stats(const struct nats_pub *p, struct uploader_stats *out);
void nats_pub_transport(struct nats_pub *p, struct transport *out);

#endif
