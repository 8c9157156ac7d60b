// SPDX-License-Identifier: BSD-2-Clause
/*
 * The satellite server: libevent's evhttp over OpenSSL bufferevents.
 *
 * Durability: an accepted batch is first written to DIR/journal/<id>.gz
 * (fsync) and only then merged and acknowledged. Every flush writes
 * DIR/satellite-state.json (the catalog and the ids merged into it, in one
 * atomic file), then the readable outputs (metadata.json, openapi/), then
 * empties the journal. A restart loads the state and replays journal
 * entries whose id the state does not hold: each batch is merged exactly
 * once whatever moment the process died at.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cjson/cJSON.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/satellite/satellite.h"
#include "apisonar/transport/batch.h"
#include "apisonar/util/util.h"

#define SAT_TOKEN_FILE_MAX 4096
#define SAT_STATE_FILE_MAX (512u * 1024 * 1024)
#define SAT_MAX_HEADERS_SIZE 16384
#define SAT_STATE_FORMAT "apisonar.satellite-state/v1"
#define SAT_RL_SENSORS 4096
#define SAT_LISTEN_BACKLOG 1024

/* Why a request was refused; the label set of rejected_total is exactly
 * this list, so no value from a request ever becomes a label. */
enum sat_reason {
	R_UNAUTHORIZED,
	R_FORBIDDEN,
	R_TOO_LARGE,
	R_MEDIA_TYPE,
	R_BAD_GZIP,
	R_BAD_JSON,
	R_BAD_SCHEMA,
	R_BAD_BATCH,
	R_RATE_LIMITED,
	R_MERGE,
	R_STORAGE,
	R_GUARD,
	R__COUNT
};

static const char *const reason_names[R__COUNT] = {
	"unauthorized", "forbidden",     "too_large",    "unsupported_media_type",
	"invalid_gzip", "invalid_json",  "invalid_schema", "invalid_batch",
	"rate_limited", "merge_failed",  "storage_error", "refused_by_guard",
};

struct sat_metrics {
	uint64_t accepted;
	uint64_t duplicate;
	uint64_t rejected[R__COUNT];
	uint64_t bytes_accepted; /* compressed request bodies of accepted batches */
	uint64_t bytes_decoded;  /* their JSON size */
	uint64_t conns_total;
	uint64_t conns_refused;  /* over --max-conns */
	uint64_t conns_cut;      /* request deadline reached */
	uint64_t requests;
	uint64_t flushes;
	uint64_t flush_errors;
	uint64_t replayed;       /* journal entries merged at start */
	uint64_t fwd_spooled;    /* deltas handed to the forwarding spool */
	uint64_t fwd_refused;    /* deltas the last guard refused (dropped) */
	uint64_t fwd_errors;     /* deltas not spooled this time (kept for the next) */
	uint64_t raw_exchanges;  /* raw exchanges anonymized (POST /v1/exchanges) */
	uint64_t raw_skipped;    /* raw lines that were not a usable exchange */
	uint64_t plans;          /* test plans served */
	uint64_t results[3];     /* test results: stored, duplicate, refused */
	/* NATS replica (--nats) */
	uint64_t nats_merged;
	uint64_t nats_duplicate;
	uint64_t nats_refused;
	uint64_t nats_acks;
	uint64_t nats_terms;
	uint64_t nats_naks;
	uint64_t nats_redeliveries; /* messages seen with a delivery count over 1 */
	uint64_t nats_merge_ns;     /* time from fetch hand-over to ack, summed */
	uint64_t nats_merge_count;
};

struct sat_server {
	const struct sat_config *cfg;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct evhttp *mhttp;                /* the plain metrics listener (NULL: none) */
	struct evhttp_bound_socket *mbound;
	SSL_CTX *ssl_ctx;
	unsigned char token_digest[SHA256_DIGEST_LENGTH];
	int have_token;
	struct catalog *cat;
	struct sat_dedup *dedup;
	struct sat_ratelim *rl;
	struct catalog *delta;   /* merged since the last forward (NULL: no forwarding) */
	uint64_t delta_start_ns; /* wall clock of its first merge */
	int delta_dirty;
	struct sat_forward *fwd;
	struct event *flush_ev;
	struct event *sig_ev[2];
	char journal_dir[PATH_MAX];
	char state_path[PATH_MAX];
	int dirty;     /* merged since the last flush */
	int stopping;
	int fatal;     /* stop without a flush: a restart replays the journal */
	struct sat_nats *nats;
	struct nats_conn *edge;  /* --nats-edge: HTTPS batches go to the stream */
	struct event *nats_ev;
	int kv_dirty;  /* the catalog bucket misses the last flush */
	uint32_t conns; /* open connections */
	struct sat_metrics m;
};

/* Per connection, hung on the SSL object so it lives exactly as long as
 * the connection (OpenSSL calls conn_ex_free when libevent frees it). */
struct sat_conn {
	struct sat_server *s;
	struct bufferevent *bev;
	struct event *deadline; /* cuts a connection that is too slow to send a request */
};

static int g_conn_idx = -1;

/* ---- connections ---------------------------------------------------------- */

/* OpenSSL frees the SSL when libevent frees the connection: the one place
 * that sees every connection end, whatever ended it. */
static void conn_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			 void *argp)
{
	struct sat_conn *c = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!c)
		return;
	if (c->deadline)
		event_free(c->deadline);
	if (c->s->conns > 0)
		c->s->conns--;
	free(c);
}

/* Closing the socket under evhttp makes it see EOF and free the connection
 * through its own path, so nothing is freed twice. */
static void conn_cut(struct sat_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static void conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sat_conn *c = arg;

	(void)fd;
	(void)what;
	c->s->m.conns_cut++;
	conn_cut(c);
}

static void conn_refuse_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_cut(arg);
}

static void conn_arm(struct sat_conn *c, uint32_t seconds)
{
	struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };

	if (c && c->deadline)
		evtimer_add(c->deadline, &tv);
}

/* evhttp asks for each accepted connection's bufferevent here: TLS on
 * every connection, a request deadline, and the connection count. There
 * is no safe fallback when this fails (evhttp would then speak plaintext),
 * so running out of memory here ends the process. */
static struct bufferevent *conn_new_bev(struct event_base *base, void *arg)
{
	struct sat_server *s = arg;
	struct sat_conn *c = calloc(1, sizeof(*c));
	SSL *ssl = SSL_new(s->ssl_ctx);
	int over = s->conns >= s->cfg->max_conns;

	if (!c || !ssl) {
		log_error("satellite: out of memory for a new connection");
		abort();
	}
	c->s = s;
	c->bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(base, over ? conn_refuse_cb : conn_deadline_cb, c);
	if (!c->bev || !c->deadline) {
		log_error("satellite: out of memory for a new connection");
		abort();
	}
	SSL_set_ex_data(ssl, g_conn_idx, c);
	s->conns++;
	s->m.conns_total++;
	if (over) {
		/* The fd is set after we return; cut it on the next loop turn. */
		s->m.conns_refused++;
		conn_arm(c, 0);
	} else {
		conn_arm(c, s->cfg->request_timeout);
	}
	return c->bev;
}

static struct sat_conn *req_conn(struct evhttp_request *req, SSL **ssl_out)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;

	if (ssl_out)
		*ssl_out = ssl;
	return ssl ? SSL_get_ex_data(ssl, g_conn_idx) : NULL;
}

/* ---- replies -------------------------------------------------------------- */

static void reply_text(struct evhttp_request *req, int code, const char *phrase,
		       const char *ctype, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	if (b && body)
		evbuffer_add(b, body, strlen(body));
	evhttp_send_reply(req, code, phrase, b);
	evbuffer_free(b);
}

/* {"status":...,"batch_id":...,"reason":...}; reason is always our own
 * text (batch_decode and catalog promise it holds no input byte). */
static void reply_json(struct evhttp_request *req, int code, const char *phrase,
		       const char *status, const char *batch_id, const char *reason)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (o) {
		cJSON_AddStringToObject(o, "status", status);
		if (batch_id)
			cJSON_AddStringToObject(o, "batch_id", batch_id);
		if (reason)
			cJSON_AddStringToObject(o, "reason", reason);
		s = cJSON_PrintUnformatted(o);
	}
	reply_text(req, code, phrase, "application/json", s ? s : "{\"status\":\"error\"}");
	free(s);
	cJSON_Delete(o);
}

static void reject(struct sat_server *s, struct evhttp_request *req, enum sat_reason r, int code,
		   const char *phrase, const char *reason)
{
	s->m.rejected[r]++;
	reply_json(req, code, phrase, "rejected", NULL, reason);
}

/* A refusal of GET /metrics on the ingest port: answered as a post's
 * would be, but not counted among the batches refused. */
static void refuse_read(struct sat_server *s, struct evhttp_request *req, enum sat_reason r,
			int code, const char *phrase, const char *reason)
{
	(void)s;
	(void)r;
	reply_json(req, code, phrase, "rejected", NULL, reason);
}

typedef void (*refuse_fn)(struct sat_server *, struct evhttp_request *, enum sat_reason, int,
			  const char *, const char *);

/* ---- auth ------------------------------------------------------------------ */

/* Compares digests, so neither the token's bytes nor its length leak
 * through timing. */
static int token_matches(const struct sat_server *s, const char *tok, size_t len)
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	if (!EVP_Digest(tok, len, d, NULL, EVP_sha256(), NULL))
		return 0;
	return CRYPTO_memcmp(d, s->token_digest, sizeof(d)) == 0;
}

/* 0 when the request may go on; otherwise the refusal was sent through
 * refuse (reject for posts, which counts it; refuse_read for /metrics).
 * cn gets the client certificate's common name (mTLS), else "". */
static int check_auth_with(struct sat_server *s, struct evhttp_request *req, SSL *ssl, char *cn,
			   size_t cnlen, refuse_fn refuse)
{
	cn[0] = '\0';
	if (s->cfg->client_ca) {
		X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;

		if (!peer || SSL_get_verify_result(ssl) != X509_V_OK) {
			X509_free(peer);
			refuse(s, req, R_UNAUTHORIZED, 401, "Unauthorized",
			       "a verified client certificate is required");
			return -1;
		}
		if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
					      (int)cnlen) < 0)
			cn[0] = '\0';
		X509_free(peer);
	}
	if (s->have_token) {
		const char *h = evhttp_find_header(evhttp_request_get_input_headers(req),
						   "Authorization");

		if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
					  "WWW-Authenticate", "Bearer realm=\"apisonar\"");
			refuse(s, req, R_UNAUTHORIZED, 401, "Unauthorized",
			       "a bearer token is required");
			return -1;
		}
		h += 7;
		while (*h == ' ')
			h++;
		if (!token_matches(s, h, strlen(h))) {
			refuse(s, req, R_FORBIDDEN, 403, "Forbidden", "token not accepted");
			return -1;
		}
	}
	return 0;
}

static int check_auth(struct sat_server *s, struct evhttp_request *req, SSL *ssl, char *cn,
		      size_t cnlen)
{
	return check_auth_with(s, req, ssl, cn, cnlen, reject);
}

/* "application/json" optionally followed by parameters. */
static int media_type_is(const char *v, const char *want)
{
	size_t n = strlen(want);

	if (!v)
		return 0;
	while (*v == ' ')
		v++;
	return strncasecmp(v, want, n) == 0 && (v[n] == '\0' || v[n] == ';' || v[n] == ' ');
}

/* Maps batch_decode's reason onto a fixed label (its text never becomes
 * a label). */
static enum sat_reason classify_decode(const void *body, size_t len, const char *err)
{
	const unsigned char *b = body;

	if (len < 2 || b[0] != 0x1f || b[1] != 0x8b || strcasestr(err, "gzip") ||
	    strcasestr(err, "inflate") || strcasestr(err, "compress"))
		return R_BAD_GZIP;
	if (strcasestr(err, "schema"))
		return R_BAD_SCHEMA;
	if (strcasestr(err, "json"))
		return R_BAD_JSON;
	return R_BAD_BATCH;
}

/* UUID text only: it becomes a file name in the journal. */
#define batch_id_ok sat_batch_id_ok

static int journal_path(const struct sat_server *s, const char *id, char *out, size_t n)
{
	int r = snprintf(out, n, "%s/%s.gz", s->journal_dir, id);

	return r < 0 || (size_t)r >= n ? -ENAMETOOLONG : 0;
}

/* What goes upstream is what arrived since the last forward, not the
 * whole catalog again: upstream adds counts, so each batch's content must
 * reach it once. */
static void delta_merge(struct sat_server *s, const cJSON *doc)
{
	char err[256];

	if (!s->delta)
		return;
	if (catalog_merge_metadata(s->delta, doc, err, sizeof(err)) != 0) {
		s->m.fwd_errors++;
		log_warn("satellite: a batch merged into the catalog but not into the forward delta: %s",
			 err);
		return;
	}
	if (!s->delta_dirty)
		s->delta_start_ns = now_wall_ns();
	s->delta_dirty = 1;
}

/* Duplicate and rate checks of a batch about to be merged. Returns 0 when
 * it may go on; otherwise the reply was sent. */
static int admit(struct sat_server *s, struct evhttp_request *req, const struct batch_meta *m,
		 const char *cn)
{
	char retry[16];
	uint32_t retry_s = 0;

	if (sat_dedup_has(s->dedup, m->id)) {
		s->m.duplicate++;
		reply_json(req, 200, "OK", "duplicate", m->id, NULL);
		return -1;
	}
	if (s->rl && !sat_rl_take(s->rl, cn[0] ? cn : m->sensor_id, now_mono_ns(), &retry_s)) {
		snprintf(retry, sizeof(retry), "%u", retry_s);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", retry);
		reject(s, req, R_RATE_LIMITED, 429, "Too Many Requests",
		       "rate limit for this sensor reached");
		return -1;
	}
	return 0;
}

/* Journals the batch (gz, as it will be replayed), merges doc and answers
 * 202: once we say 2xx the sender drops its copy. */
static void commit(struct sat_server *s, struct evhttp_request *req, const cJSON *doc,
		   const struct batch_meta *m, const void *gz, size_t len)
{
	char err[256], path[PATH_MAX];
	int rc;

	rc = journal_path(s, m->id, path, sizeof(path));
	if (rc == 0)
		rc = write_file_atomic(path, gz, len, 0600);
	if (rc != 0) {
		log_error("satellite: cannot journal a batch: %s", strerror(-rc));
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
		reject(s, req, R_STORAGE, 503, "Service Unavailable", "cannot store the batch");
		return;
	}
	err[0] = '\0';
	rc = catalog_merge_metadata(s->cat, doc, err, sizeof(err));
	if (rc != 0) {
		unlink(path);
		reject(s, req, rc == -EINVAL ? R_BAD_BATCH : R_MERGE, rc == -EINVAL ? 400 : 503,
		       rc == -EINVAL ? "Bad Request" : "Service Unavailable",
		       err[0] ? err : "batch could not be merged");
		return;
	}
	delta_merge(s, doc);
	sat_dedup_add(s->dedup, m->id);
	s->dirty = 1;
	s->m.accepted++;
	s->m.bytes_accepted += len;
	s->m.bytes_decoded += m->json_len;
	reply_json(req, 202, "Accepted", "accepted", m->id, NULL);
}

/* ---- POST /v1/batches -------------------------------------------------------- */

/* The gzip'd body of a POST in ctype, after the size check. Returns 0 with
 * *data and *len set; otherwise the reply was sent. */
static int take_body(struct sat_server *s, struct evhttp_request *req, const char *ctype,
		     const void **data, size_t *len)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	char why[96];

	*len = evbuffer_get_length(body);
	if (!media_type_is(evhttp_find_header(in, "Content-Type"), ctype) ||
	    !media_type_is(evhttp_find_header(in, "Content-Encoding"), "gzip")) {
		snprintf(why, sizeof(why), "send Content-Type: %s with Content-Encoding: gzip",
			 ctype);
		reject(s, req, R_MEDIA_TYPE, 415, "Unsupported Media Type", why);
		return -1;
	}
	if (*len > s->cfg->max_body) {
		reject(s, req, R_TOO_LARGE, 413, "Payload Too Large", "body over the size limit");
		return -1;
	}
	*data = evbuffer_pullup(body, -1);
	if (!*data && *len) {
		reject(s, req, R_STORAGE, 503, "Service Unavailable", "out of memory");
		return -1;
	}
	return 0;
}

/* An edge: the batch goes to the stream under the sender's subject and
 * is answered 2xx only on the stream's ack (JetStream holds it durably
 * from then on; a replica merges it). The stream de-duplicates on the
 * batch id; our dedup set answers a re-send that comes later. */
static void edge_publish(struct sat_server *s, struct evhttp_request *req,
			 const struct batch_meta *m, const void *gz, size_t len)
{
	char subject[NATS_SUBJECT_MAX];
	const char *kind = NULL;
	int dup = 0, rc;

	rc = nats_batch_subject(s->cfg->nats->cluster, m->sensor_id, subject, sizeof(subject));
	if (rc == 0)
		rc = nats_publish_batch(s->edge, subject, gz, len, m->id, &dup, &kind);
	if (rc == -E2BIG) {
		reject(s, req, R_TOO_LARGE, 413, "Payload Too Large",
		       "batch larger than the stream takes");
		return;
	}
	if (rc != 0) {
		log_warn("satellite: batch %s not published to the stream (%s); the sender retries",
			 m->id, kind ? kind : "error");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "5");
		reject(s, req, R_STORAGE, 503, "Service Unavailable", "cannot store the batch");
		return;
	}
	sat_dedup_add(s->dedup, m->id);
	s->dirty = 1;
	if (dup) {
		s->m.duplicate++;
		reply_json(req, 200, "OK", "duplicate", m->id, NULL);
		return;
	}
	s->m.accepted++;
	s->m.bytes_accepted += len;
	s->m.bytes_decoded += m->json_len;
	reply_json(req, 202, "Accepted", "accepted", m->id, NULL);
}

static void handle_post_batch(struct sat_server *s, struct evhttp_request *req, SSL *ssl)
{
	char cn[128], err[256];
	struct batch_meta meta;
	cJSON *doc = NULL;
	const void *data = NULL;
	size_t len = 0;
	int rc;

	if (check_auth(s, req, ssl, cn, sizeof(cn)) != 0)
		return;
	if (take_body(s, req, "application/json", &data, &len) != 0)
		return;
	err[0] = '\0';
	rc = batch_decode(data, len, BATCH_MAX_DECODED, &doc, &meta, err, sizeof(err));
	if (rc == -E2BIG) {
		reject(s, req, R_TOO_LARGE, 413, "Payload Too Large",
		       "batch inflates past the decoded size limit");
		return;
	}
	if (rc == -ENOMEM) {
		reject(s, req, R_STORAGE, 503, "Service Unavailable", "out of memory");
		return;
	}
	if (rc != 0) {
		reject(s, req, classify_decode(data, len, err), 400, "Bad Request",
		       err[0] ? err : "invalid batch");
		return;
	}
	if (!batch_id_ok(meta.id)) {
		reject(s, req, R_BAD_BATCH, 400, "Bad Request", "batch id is not a UUID");
		goto out;
	}
	if (admit(s, req, &meta, cn) == 0) {
		if (s->edge)
			edge_publish(s, req, &meta, data, len);
		else
			commit(s, req, doc, &meta, data, len);
	}
out:
	cJSON_Delete(doc);
}

/* ---- batches from NATS JetStream (--nats) ------------------------------------ */

/* The claim, retried while the server gives no answer (a restart of it
 * takes seconds). No answer for SAT_CLAIM_WAIT_S: give up as if crashed. */
#define SAT_CLAIM_WAIT_S 30

static int claim_batch(struct sat_server *s, const char *id)
{
	uint64_t until = now_mono_ns() + SAT_CLAIM_WAIT_S * 1000000000ull;
	int rc;

	for (;;) {
		rc = sat_nats_claim(s->nats, id);
		if (rc != -EAGAIN || now_mono_ns() >= until)
			return rc;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000000 };

		nanosleep(&ts, NULL);
	}
}

static void nats_refuse(struct sat_server *s, natsMsg *msg, enum sat_reason r)
{
	s->m.rejected[r]++;
	s->m.nats_refused++;
	/* Terminated: never redelivered, never merged. */
	if (natsMsg_Term(msg, NULL) == NATS_OK)
		s->m.nats_terms++;
	log_warn("satellite: a message of the stream was refused (%s)", reason_names[r]);
}

static void nats_ack(struct sat_server *s, natsMsg *msg)
{
	if (natsMsg_Ack(msg, NULL) == NATS_OK)
		s->m.nats_acks++;
}

/* One message: checked, journaled, claimed, merged, then acknowledged;
 * the same durability as a POST (the journal is fsync'd before the merge,
 * the ack follows it). Returns -1 when the replica must stop (no answer
 * to a claim: the journal entry stays for the restart to settle). */
static int nats_handle(struct sat_server *s, natsMsg *msg)
{
	const char *data = natsMsg_GetData(msg), *hid = NULL;
	size_t len = (size_t)natsMsg_GetDataLength(msg);
	char err[256], path[PATH_MAX];
	jsMsgMetaData *md = NULL;
	struct batch_meta meta;
	cJSON *doc = NULL;
	int rc;

	if (natsMsg_GetMetaData(&md, msg) == NATS_OK && md) {
		if (md->NumDelivered > 1)
			s->m.nats_redeliveries++;
		jsMsgMetaData_Destroy(md);
	}
	if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &hid) != NATS_OK)
		hid = NULL;
	rc = sat_nats_check(data, len, hid, s->cfg->max_body, &doc, &meta, err, sizeof(err));
	if (rc == -E2BIG) {
		nats_refuse(s, msg, R_TOO_LARGE);
		return 0;
	}
	if (rc == -ENOMEM) {
		if (natsMsg_NakWithDelay(msg, 1000, NULL) == NATS_OK)
			s->m.nats_naks++;
		return 0;
	}
	if (rc == -EBADMSG) {
		nats_refuse(s, msg, R_BAD_BATCH);
		return 0;
	}
	if (rc != 0) {
		nats_refuse(s, msg, classify_decode(data, len, err));
		return 0;
	}
	if (sat_dedup_has(s->dedup, meta.id)) {
		s->m.duplicate++;
		s->m.nats_duplicate++;
		nats_ack(s, msg);
		goto out;
	}
	rc = journal_path(s, meta.id, path, sizeof(path));
	if (rc == 0)
		rc = write_file_atomic(path, data, len, 0600);
	if (rc != 0) {
		log_error("satellite: cannot journal a batch: %s", strerror(-rc));
		s->m.rejected[R_STORAGE]++;
		if (natsMsg_NakWithDelay(msg, 5000, NULL) == NATS_OK)
			s->m.nats_naks++;
		goto out;
	}
	rc = claim_batch(s, meta.id);
	if (rc < 0) {
		log_error("satellite: no answer from the NATS server to the claim of batch %s for "
			  "%d s: stopping (a restart settles the journal)", meta.id, SAT_CLAIM_WAIT_S);
		cJSON_Delete(doc);
		return -1;
	}
	if (rc == 0) {
		/* Another replica merged it: a replay. */
		unlink(path);
		s->m.duplicate++;
		s->m.nats_duplicate++;
		nats_ack(s, msg);
		log_info("satellite: batch %s was merged by another replica; acknowledged as a "
			 "duplicate", meta.id);
		goto out;
	}
	err[0] = '\0';
	rc = catalog_merge_metadata(s->cat, doc, err, sizeof(err));
	if (rc != 0) {
		unlink(path);
		nats_refuse(s, msg, rc == -EINVAL ? R_BAD_BATCH : R_MERGE);
		goto out;
	}
	delta_merge(s, doc);
	sat_dedup_add(s->dedup, meta.id);
	s->dirty = 1;
	s->m.accepted++;
	s->m.nats_merged++;
	s->m.bytes_accepted += len;
	s->m.bytes_decoded += meta.json_len;
	nats_ack(s, msg);
out:
	cJSON_Delete(doc);
	return 0;
}

static void on_nats_ready(evutil_socket_t fd, short what, void *arg)
{
	struct sat_server *s = arg;
	natsMsgList list;
	uint64_t t0;
	int i;

	(void)fd;
	(void)what;
	if (!sat_nats_take(s->nats, &list))
		return;
	for (i = 0; i < list.Count; i++) {
		t0 = now_mono_ns();
		if (!s->fatal && nats_handle(s, list.Msgs[i]) != 0) {
			s->fatal = 1;
			event_base_loopbreak(s->base);
		}
		s->m.nats_merge_ns += now_mono_ns() - t0;
		s->m.nats_merge_count++;
	}
	natsMsgList_Destroy(&list);
	if (!s->fatal)
		sat_nats_done(s->nats);
}

/* This replica's whole catalog into the catalog bucket, as a batch under
 * its replica id: `apisonar catalog --nats` merges every replica's. */
static void publish_catalog(struct sat_server *s)
{
	struct batch_sensor bs = { .id = s->cfg->replica_id, .version = APISONAR_VERSION };
	struct batch_meta meta;
	unsigned char *gz = NULL;
	size_t len = 0;
	cJSON *doc;
	int rc;

	if (!s->nats)
		return;
	doc = catalog_to_metadata_raw(s->cat);
	rc = doc ? batch_encode(doc, &bs, 0, now_wall_ns(), &gz, &len, &meta) : -ENOMEM;
	cJSON_Delete(doc);
	if (rc == 0)
		rc = sat_nats_publish_catalog(s->nats, gz, len);
	else
		log_error("satellite: cannot make a batch of the catalog for the bucket: %s",
			  strerror(-rc));
	free(gz);
	s->kv_dirty = rc != 0;
}

/* ---- POST /v1/exchanges (raw-forward mode) ------------------------------------ */

/* Raw exchanges from a sensor that does not anonymize. Only with
 * --raw-ingest, which needs --client-ca: every request here came over a
 * verified client certificate. The exchanges become a metadata batch under
 * the sender's batch id at once; from then on it is an ordinary batch
 * (journal, dedup, merge, forward) and no value is kept. */
static void handle_post_exchanges(struct sat_server *s, struct evhttp_request *req, SSL *ssl)
{
	const char *id = evhttp_find_header(evhttp_request_get_input_headers(req),
					    "X-Apisonar-Batch-Id");
	struct batch_sensor bs = { .version = APISONAR_VERSION };
	struct sat_raw_stats rst;
	struct batch_meta meta;
	unsigned char *gz = NULL;
	size_t len = 0, gz_len = 0;
	const void *data = NULL;
	char cn[128], err[256];
	cJSON *doc = NULL;
	uint64_t now;
	int rc;

	if (!s->cfg->raw_ingest) {
		reply_json(req, 404, "Not Found", "error", NULL,
			   "raw ingest is off: start the satellite with --raw-ingest");
		return;
	}
	if (check_auth(s, req, ssl, cn, sizeof(cn)) != 0)
		return;
	if (take_body(s, req, "application/x-ndjson", &data, &len) != 0)
		return;
	if (!id || !batch_id_ok(id)) {
		reject(s, req, R_BAD_BATCH, 400, "Bad Request",
		       "X-Apisonar-Batch-Id must be a UUID");
		return;
	}
	memset(&meta, 0, sizeof(meta));
	snprintf(meta.id, sizeof(meta.id), "%s", id);
	snprintf(meta.sensor_id, sizeof(meta.sensor_id), "%s", cn[0] ? cn : "raw-forward");
	if (admit(s, req, &meta, cn) != 0)
		return;
	rc = sat_raw_to_metadata(data, len, BATCH_MAX_DECODED, &doc, &rst, err, sizeof(err));
	s->m.raw_exchanges += rst.merged;
	s->m.raw_skipped += rst.skipped + rst.malformed;
	if (rc == -E2BIG) {
		reject(s, req, R_TOO_LARGE, 413, "Payload Too Large", err);
		return;
	}
	if (rc != 0) {
		reject(s, req, rc == -ENOMEM ? R_STORAGE : R_BAD_BATCH, rc == -ENOMEM ? 503 : 400,
		       rc == -ENOMEM ? "Service Unavailable" : "Bad Request", err);
		return;
	}
	bs.id = meta.sensor_id;
	now = now_wall_ns();
	rc = batch_encode_as(doc, &bs, meta.id, now, now, &gz, &gz_len, &meta);
	if (rc == -EPERM) {
		/* What the anonymizer missed stops here too. */
		reject(s, req, R_GUARD, 422, "Unprocessable Content",
		       "the last guard found a value-like string in the anonymized batch");
	} else if (rc != 0) {
		reject(s, req, rc == -ENOMEM ? R_STORAGE : R_BAD_BATCH, rc == -ENOMEM ? 503 : 400,
		       rc == -ENOMEM ? "Service Unavailable" : "Bad Request",
		       "the anonymized batch could not be encoded");
	} else {
		commit(s, req, doc, &meta, gz, gz_len);
	}
	free(gz);
	cJSON_Delete(doc);
}

/* ---- API security tests ----------------------------------------------------- */

/* GET /v1/test-plans/{service}: the plan of one service, made from the
 * merged catalog now (docs/testing.md). */
static void handle_get_plan(struct sat_server *s, struct evhttp_request *req, SSL *ssl,
			    const char *path)
{
	char cn[128], err[256], *svc, *json = NULL;
	int rc;

	if (check_auth_with(s, req, ssl, cn, sizeof(cn), refuse_read) != 0)
		return;
	svc = evhttp_uridecode(path + strlen("/v1/test-plans/"), 0, NULL);
	if (!svc || !svc[0] || strchr(svc, '/')) {
		free(svc);
		reply_json(req, 404, "Not Found", "error", NULL, "GET /v1/test-plans/{service}");
		return;
	}
	rc = sat_tests_plan(s->cat, svc, &json, err, sizeof(err));
	free(svc);
	if (rc == -ENOENT) {
		reply_json(req, 404, "Not Found", "error", NULL, "no such service in the catalog");
	} else if (rc) {
		reply_json(req, 503, "Service Unavailable", "error", NULL, "out of memory");
	} else {
		s->m.plans++;
		reply_text(req, 200, "OK", "application/json", json);
	}
	free(json);
}

/* POST /v1/test-results: gzip'd JSON, stored once per id. */
static void handle_post_results(struct sat_server *s, struct evhttp_request *req, SSL *ssl)
{
	char cn[128], err[256], id[BATCH_ID_LEN + 1];
	unsigned char *json = NULL;
	const void *data = NULL;
	size_t len = 0, jl = 0;
	int rc;

	if (check_auth(s, req, ssl, cn, sizeof(cn)) != 0)
		return;
	if (take_body(s, req, "application/json", &data, &len) != 0)
		return;
	rc = anon_inflate(data, len, BATCH_MAX_DECODED, &json, &jl);
	if (rc) {
		s->m.results[2]++;
		reject(s, req, rc == -E2BIG ? R_TOO_LARGE : R_BAD_GZIP, rc == -E2BIG ? 413 : 400,
		       rc == -E2BIG ? "Payload Too Large" : "Bad Request",
		       rc == -E2BIG ? "results over the decoded size limit" : "the body is not gzip");
		return;
	}
	rc = sat_tests_store(s->cfg->out_dir, (const char *)json, jl, id, err, sizeof(err));
	free(json);
	if (rc == 1 || rc == 0) {
		s->m.results[rc == 1 ? 0 : 1]++;
		reply_json(req, rc == 1 ? 202 : 200, rc == 1 ? "Accepted" : "OK",
			   rc == 1 ? "accepted" : "duplicate", id, NULL);
		return;
	}
	s->m.results[2]++;
	if (rc == -EPERM)
		reject(s, req, R_GUARD, 422, "Unprocessable Content", err);
	else if (rc == -EINVAL)
		reject(s, req, R_BAD_SCHEMA, 400, "Bad Request", err);
	else
		reject(s, req, R_STORAGE, 503, "Service Unavailable", "storage error");
}

/* ---- GET /metrics ------------------------------------------------------------- */

static void handle_metrics(struct sat_server *s, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	struct catalog_stats st;
	int i;

	if (!b) {
		reply_text(req, 503, "Service Unavailable", "text/plain", "out of memory\n");
		return;
	}
	catalog_get_stats(s->cat, &st);
#define P(...) evbuffer_add_printf(b, __VA_ARGS__)
	P("# HELP apisonar_satellite_batches_total Batches answered, by result.\n"
	  "# TYPE apisonar_satellite_batches_total counter\n");
	P("apisonar_satellite_batches_total{result=\"accepted\"} %llu\n",
	  (unsigned long long)s->m.accepted);
	P("apisonar_satellite_batches_total{result=\"duplicate\"} %llu\n",
	  (unsigned long long)s->m.duplicate);
	P("# HELP apisonar_satellite_batches_rejected_total Requests to /v1/batches and /v1/exchanges refused, by reason.\n"
	  "# TYPE apisonar_satellite_batches_rejected_total counter\n");
	for (i = 0; i < R__COUNT; i++)
		P("apisonar_satellite_batches_rejected_total{reason=\"%s\"} %llu\n",
		  reason_names[i], (unsigned long long)s->m.rejected[i]);
	P("# HELP apisonar_satellite_rate_limited_total Batches refused by the per-sensor rate limit.\n"
	  "# TYPE apisonar_satellite_rate_limited_total counter\n"
	  "apisonar_satellite_rate_limited_total %llu\n",
	  (unsigned long long)s->m.rejected[R_RATE_LIMITED]);
	P("# HELP apisonar_satellite_received_bytes_total Bytes of accepted batches.\n"
	  "# TYPE apisonar_satellite_received_bytes_total counter\n"
	  "apisonar_satellite_received_bytes_total{encoding=\"gzip\"} %llu\n"
	  "apisonar_satellite_received_bytes_total{encoding=\"identity\"} %llu\n",
	  (unsigned long long)s->m.bytes_accepted, (unsigned long long)s->m.bytes_decoded);
	if (s->cfg->raw_ingest)
		P("# HELP apisonar_satellite_raw_exchanges_total Raw exchanges (raw-forward mode) anonymized, or skipped as unusable.\n"
		  "# TYPE apisonar_satellite_raw_exchanges_total counter\n"
		  "apisonar_satellite_raw_exchanges_total{result=\"anonymized\"} %llu\n"
		  "apisonar_satellite_raw_exchanges_total{result=\"skipped\"} %llu\n",
		  (unsigned long long)s->m.raw_exchanges, (unsigned long long)s->m.raw_skipped);
	P("# HELP apisonar_satellite_test_plans_total Test plans served (GET /v1/test-plans).\n"
	  "# TYPE apisonar_satellite_test_plans_total counter\n"
	  "apisonar_satellite_test_plans_total %llu\n", (unsigned long long)s->m.plans);
	P("# HELP apisonar_satellite_test_results_total Test results posted, by outcome.\n"
	  "# TYPE apisonar_satellite_test_results_total counter\n"
	  "apisonar_satellite_test_results_total{result=\"stored\"} %llu\n"
	  "apisonar_satellite_test_results_total{result=\"duplicate\"} %llu\n"
	  "apisonar_satellite_test_results_total{result=\"refused\"} %llu\n",
	  (unsigned long long)s->m.results[0], (unsigned long long)s->m.results[1],
	  (unsigned long long)s->m.results[2]);
	P("# HELP apisonar_satellite_connections Open client connections.\n"
	  "# TYPE apisonar_satellite_connections gauge\n"
	  "apisonar_satellite_connections %u\n", s->conns);
	P("# HELP apisonar_satellite_connections_total Connections accepted, refused over the limit, cut at the request deadline.\n"
	  "# TYPE apisonar_satellite_connections_total counter\n"
	  "apisonar_satellite_connections_total{result=\"accepted\"} %llu\n"
	  "apisonar_satellite_connections_total{result=\"refused\"} %llu\n"
	  "apisonar_satellite_connections_total{result=\"timed_out\"} %llu\n",
	  (unsigned long long)s->m.conns_total, (unsigned long long)s->m.conns_refused,
	  (unsigned long long)s->m.conns_cut);
	P("# HELP apisonar_satellite_requests_total HTTP requests that reached the router.\n"
	  "# TYPE apisonar_satellite_requests_total counter\n"
	  "apisonar_satellite_requests_total %llu\n", (unsigned long long)s->m.requests);
	P("# HELP apisonar_satellite_dedup_ids Batch ids remembered for de-duplication.\n"
	  "# TYPE apisonar_satellite_dedup_ids gauge\n"
	  "apisonar_satellite_dedup_ids %u\n", sat_dedup_count(s->dedup));
	P("# HELP apisonar_satellite_rate_limit_sensors Sensors with a rate-limit bucket.\n"
	  "# TYPE apisonar_satellite_rate_limit_sensors gauge\n"
	  "apisonar_satellite_rate_limit_sensors %u\n", sat_rl_size(s->rl));
	P("# HELP apisonar_satellite_catalog_services Services in the merged catalog.\n"
	  "# TYPE apisonar_satellite_catalog_services gauge\n"
	  "apisonar_satellite_catalog_services %llu\n", (unsigned long long)st.services);
	P("# HELP apisonar_satellite_catalog_endpoints Endpoints in the merged catalog.\n"
	  "# TYPE apisonar_satellite_catalog_endpoints gauge\n"
	  "apisonar_satellite_catalog_endpoints %llu\n", (unsigned long long)st.endpoints);
	P("# HELP apisonar_satellite_flushes_total Catalog writes to the output directory.\n"
	  "# TYPE apisonar_satellite_flushes_total counter\n"
	  "apisonar_satellite_flushes_total{result=\"ok\"} %llu\n"
	  "apisonar_satellite_flushes_total{result=\"error\"} %llu\n",
	  (unsigned long long)s->m.flushes, (unsigned long long)s->m.flush_errors);
	P("# HELP apisonar_satellite_journal_replayed_total Journaled batches merged at start-up.\n"
	  "# TYPE apisonar_satellite_journal_replayed_total counter\n"
	  "apisonar_satellite_journal_replayed_total %llu\n", (unsigned long long)s->m.replayed);
	if (s->fwd) {
		struct sat_fwd_stats fs;

		sat_fwd_get_stats(s->fwd, &fs);
		P("# HELP apisonar_satellite_forward_batches_total Batches of merged deltas forwarded upstream, by outcome.\n"
		  "# TYPE apisonar_satellite_forward_batches_total counter\n");
		P("apisonar_satellite_forward_batches_total{result=\"spooled\"} %llu\n",
		  (unsigned long long)s->m.fwd_spooled);
		P("apisonar_satellite_forward_batches_total{result=\"delivered\"} %llu\n",
		  (unsigned long long)fs.delivered);
		P("apisonar_satellite_forward_batches_total{result=\"retry\"} %llu\n",
		  (unsigned long long)fs.retries);
		P("apisonar_satellite_forward_batches_total{result=\"rejected\"} %llu\n",
		  (unsigned long long)fs.rejected);
		P("apisonar_satellite_forward_batches_total{result=\"refused_by_guard\"} %llu\n",
		  (unsigned long long)s->m.fwd_refused);
		P("apisonar_satellite_forward_batches_total{result=\"error\"} %llu\n",
		  (unsigned long long)(s->m.fwd_errors + fs.errors));
		P("# HELP apisonar_satellite_forward_spool_batches Batches waiting in the forwarding spool.\n"
		  "# TYPE apisonar_satellite_forward_spool_batches gauge\n"
		  "apisonar_satellite_forward_spool_batches %llu\n",
		  (unsigned long long)fs.spool_files);
		P("# HELP apisonar_satellite_forward_spool_bytes Bytes in the forwarding spool.\n"
		  "# TYPE apisonar_satellite_forward_spool_bytes gauge\n"
		  "apisonar_satellite_forward_spool_bytes %llu\n",
		  (unsigned long long)fs.spool_bytes);
		P("# HELP apisonar_satellite_forward_spool_dropped_total Oldest batches dropped because the spool was full.\n"
		  "# TYPE apisonar_satellite_forward_spool_dropped_total counter\n"
		  "apisonar_satellite_forward_spool_dropped_total %llu\n",
		  (unsigned long long)fs.spool_dropped);
	}
	if (s->nats) {
		struct sat_nats_stats ns;

		sat_nats_get_stats(s->nats, &ns);
		P("# HELP apisonar_satellite_nats_messages_total Messages of the stream handled by this replica, by result.\n"
		  "# TYPE apisonar_satellite_nats_messages_total counter\n"
		  "apisonar_satellite_nats_messages_total{result=\"merged\"} %llu\n"
		  "apisonar_satellite_nats_messages_total{result=\"duplicate\"} %llu\n"
		  "apisonar_satellite_nats_messages_total{result=\"refused\"} %llu\n",
		  (unsigned long long)s->m.nats_merged, (unsigned long long)s->m.nats_duplicate,
		  (unsigned long long)s->m.nats_refused);
		P("# HELP apisonar_satellite_nats_acks_total Acknowledgements sent, by kind (term: refused, never redelivered; nak: redeliver later).\n"
		  "# TYPE apisonar_satellite_nats_acks_total counter\n"
		  "apisonar_satellite_nats_acks_total{kind=\"ack\"} %llu\n"
		  "apisonar_satellite_nats_acks_total{kind=\"term\"} %llu\n"
		  "apisonar_satellite_nats_acks_total{kind=\"nak\"} %llu\n",
		  (unsigned long long)s->m.nats_acks, (unsigned long long)s->m.nats_terms,
		  (unsigned long long)s->m.nats_naks);
		P("# HELP apisonar_satellite_nats_redeliveries_total Messages this replica got that had been delivered before.\n"
		  "# TYPE apisonar_satellite_nats_redeliveries_total counter\n"
		  "apisonar_satellite_nats_redeliveries_total %llu\n",
		  (unsigned long long)s->m.nats_redeliveries);
		P("# HELP apisonar_satellite_nats_merge_seconds Time from a message's hand-over to its acknowledgement (check, journal, claim, merge).\n"
		  "# TYPE apisonar_satellite_nats_merge_seconds summary\n"
		  "apisonar_satellite_nats_merge_seconds_sum %.6f\n"
		  "apisonar_satellite_nats_merge_seconds_count %llu\n",
		  (double)s->m.nats_merge_ns / 1e9, (unsigned long long)s->m.nats_merge_count);
		P("# HELP apisonar_satellite_nats_consumer_pending Messages of the shared consumer not yet delivered to any replica (lag).\n"
		  "# TYPE apisonar_satellite_nats_consumer_pending gauge\n"
		  "apisonar_satellite_nats_consumer_pending %llu\n",
		  (unsigned long long)ns.pending);
		P("# HELP apisonar_satellite_nats_consumer_ack_pending Messages delivered to a replica and not yet acknowledged.\n"
		  "# TYPE apisonar_satellite_nats_consumer_ack_pending gauge\n"
		  "apisonar_satellite_nats_consumer_ack_pending %llu\n",
		  (unsigned long long)ns.ack_pending);
		P("# HELP apisonar_satellite_nats_consumer_redelivered Messages delivered more than once and not yet acknowledged.\n"
		  "# TYPE apisonar_satellite_nats_consumer_redelivered gauge\n"
		  "apisonar_satellite_nats_consumer_redelivered %llu\n",
		  (unsigned long long)ns.redelivered);
		P("# HELP apisonar_satellite_nats_connected 1 while connected to the NATS server.\n"
		  "# TYPE apisonar_satellite_nats_connected gauge\n"
		  "apisonar_satellite_nats_connected %d\n", ns.connected ? 1 : 0);
		P("# HELP apisonar_satellite_nats_fetch_errors_total Fetches from the consumer that failed (not timeouts).\n"
		  "# TYPE apisonar_satellite_nats_fetch_errors_total counter\n"
		  "apisonar_satellite_nats_fetch_errors_total %llu\n",
		  (unsigned long long)ns.fetch_errors);
		P("# HELP apisonar_satellite_nats_catalog_published_total Catalog puts to the bucket, by result.\n"
		  "# TYPE apisonar_satellite_nats_catalog_published_total counter\n"
		  "apisonar_satellite_nats_catalog_published_total{result=\"ok\"} %llu\n"
		  "apisonar_satellite_nats_catalog_published_total{result=\"error\"} %llu\n",
		  (unsigned long long)ns.catalog_published, (unsigned long long)ns.catalog_errors);
	}
#undef P
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* ---- router ------------------------------------------------------------------- */

static void method_not_allowed(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	reply_json(req, 405, "Method Not Allowed", "error", NULL, "method not allowed");
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct sat_server *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	SSL *ssl = NULL;
	struct sat_conn *c = req_conn(req, &ssl);

	if (c)
		evtimer_del(c->deadline);
	s->m.requests++;
	if (!path) {
		reply_json(req, 404, "Not Found", "error", NULL, "not found");
	} else if (strcmp(path, "/v1/batches") == 0) {
		if (m == EVHTTP_REQ_POST)
			handle_post_batch(s, req, ssl);
		else
			method_not_allowed(req, "POST");
	} else if (strcmp(path, "/v1/exchanges") == 0) {
		if (m == EVHTTP_REQ_POST)
			handle_post_exchanges(s, req, ssl);
		else
			method_not_allowed(req, "POST");
	} else if (strncmp(path, "/v1/test-plans/", 15) == 0) {
		if (m == EVHTTP_REQ_GET)
			handle_get_plan(s, req, ssl, path);
		else
			method_not_allowed(req, "GET");
	} else if (strcmp(path, "/v1/test-results") == 0) {
		if (m == EVHTTP_REQ_POST)
			handle_post_results(s, req, ssl);
		else
			method_not_allowed(req, "POST");
	} else if (strcmp(path, "/healthz") == 0) {
		if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
			reply_text(req, 200, "OK", "text/plain", "ok\n");
		else
			method_not_allowed(req, "GET, HEAD");
	} else if (strcmp(path, "/metrics") == 0) {
		/* On the ingest port only for a client that could post: the
		 * open reader is the metrics listener (--metrics-port). */
		char cn[128];

		if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
			method_not_allowed(req, "GET, HEAD");
		else if (check_auth_with(s, req, ssl, cn, sizeof(cn), refuse_read) == 0)
			handle_metrics(s, req);
	} else {
		reply_json(req, 404, "Not Found", "error", NULL, "not found");
	}
	/* The next request on a kept-alive connection gets a fresh deadline. */
	conn_arm(c, s->cfg->request_timeout);
}

/* The metrics listener: plain HTTP, no token, GET /metrics and /healthz
 * only. It is meant for a scraper and probes on the same host or pod
 * (loopback by default); everything else is 404, and it never sees a
 * batch. */
static void on_metrics_request(struct evhttp_request *req, void *arg)
{
	struct sat_server *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	int get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;

	if (path && strcmp(path, "/metrics") == 0) {
		if (get)
			handle_metrics(s, req);
		else
			method_not_allowed(req, "GET, HEAD");
	} else if (path && strcmp(path, "/healthz") == 0) {
		if (get)
			reply_text(req, 200, "OK", "text/plain", "ok\n");
		else
			method_not_allowed(req, "GET, HEAD");
	} else {
		reply_json(req, 404, "Not Found", "error", NULL, "not found");
	}
}

/* ---- state, journal, flush ------------------------------------------------------ */

static int delta_reset(struct sat_server *s)
{
	struct catalog_limits lim = { 0 };
	struct catalog *n = catalog_new(&lim);

	if (!n)
		return -ENOMEM;
	catalog_free(s->delta);
	s->delta = n;
	s->delta_dirty = 0;
	return 0;
}

/* Turns the delta into a batch in the forwarding spool. Runs before the
 * state is written: a crash in between sends the delta again later under
 * a new id (at least once), never loses it. */
static void forward_delta(struct sat_server *s)
{
	struct batch_sensor bs = { .id = s->cfg->sensor_id, .version = APISONAR_VERSION };
	struct batch_meta meta;
	unsigned char *gz = NULL;
	size_t len = 0;
	cJSON *doc;
	int rc;

	if (!s->fwd || !s->delta_dirty)
		return;
	doc = catalog_to_metadata_raw(s->delta);
	rc = doc ? batch_encode(doc, &bs, s->delta_start_ns, now_wall_ns(), &gz, &len, &meta)
		 : -ENOMEM;
	cJSON_Delete(doc);
	if (rc == -EPERM) {
		/* The guard will refuse it every time: drop it, counted. */
		s->m.fwd_refused++;
		log_error("satellite: the last guard refused the forward delta; dropped");
		if (delta_reset(s) != 0)
			s->m.fwd_errors++;
		return;
	}
	if (rc == 0)
		rc = sat_fwd_put(s->fwd, gz, len, &meta);
	free(gz);
	if (rc != 0) {
		s->m.fwd_errors++;
		log_error("satellite: cannot spool the forward delta (kept for the next flush): %s",
			  strerror(-rc));
		return;
	}
	s->m.fwd_spooled++;
	if (delta_reset(s) != 0)
		s->m.fwd_errors++;
}

/* Writes the catalog and the ids merged into it as one atomic file, then
 * the readable outputs, then drops the journal it covers. */
static int sat_flush(struct sat_server *s)
{
	cJSON *st = cJSON_CreateObject(), *ids = NULL, *cat = catalog_to_metadata_raw(s->cat);
	char *txt = NULL, path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	uint32_t i;
	int rc = -ENOMEM;

	if (!st || !cat)
		goto out;
	forward_delta(s);
	cJSON_AddStringToObject(st, "format", SAT_STATE_FORMAT);
	ids = cJSON_AddArrayToObject(st, "batch_ids");
	if (!ids)
		goto out;
	for (i = 0; i < sat_dedup_count(s->dedup); i++)
		cJSON_AddItemToArray(ids, cJSON_CreateString(sat_dedup_at(s->dedup, i)));
	cJSON_AddItemToObject(st, "catalog", cat);
	cat = NULL;
	txt = cJSON_PrintUnformatted(st);
	if (!txt)
		goto out;
	rc = write_file_atomic(s->state_path, txt, strlen(txt), 0600);
	if (rc != 0) {
		log_error("satellite: cannot write %s: %s", s->state_path, strerror(-rc));
		goto out;
	}
	rc = catalog_write_dir(s->cat, s->cfg->out_dir);
	if (rc != 0) {
		log_error("satellite: cannot write the catalog to %s: %s", s->cfg->out_dir,
			  strerror(-rc));
		goto out;
	}
	dir = opendir(s->journal_dir);
	while (dir && (de = readdir(dir))) {
		size_t n = strlen(de->d_name);

		if (n != BATCH_ID_LEN + 3 || strcmp(de->d_name + BATCH_ID_LEN, ".gz") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", s->journal_dir, de->d_name) <
		    (int)sizeof(path))
			unlink(path);
	}
	if (dir)
		closedir(dir);
	s->dirty = 0;
	publish_catalog(s);
out:
	if (rc == 0)
		s->m.flushes++;
	else
		s->m.flush_errors++;
	free(txt);
	cJSON_Delete(cat);
	cJSON_Delete(st);
	return rc;
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sat_server *s = arg;

	(void)fd;
	(void)what;
	if (s->dirty || s->delta_dirty)
		(void)sat_flush(s);
	else if (s->kv_dirty)
		publish_catalog(s);
}

/* Loads DIR/satellite-state.json, or else a plain DIR/metadata.json (a
 * catalog made elsewhere, or by a satellite without state). */
static int load_state(struct sat_server *s)
{
	char path[PATH_MAX], err[256], *buf = NULL;
	const cJSON *cat, *ids, *id;
	cJSON *st = NULL;
	size_t len;
	int rc, legacy = 0;

	rc = read_file_all(s->state_path, SAT_STATE_FILE_MAX, &buf, &len);
	if (rc == -ENOENT) {
		if (snprintf(path, sizeof(path), "%s/metadata.json", s->cfg->out_dir) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		rc = read_file_all(path, SAT_STATE_FILE_MAX, &buf, &len);
		if (rc == -ENOENT) {
			/* On a first start this is expected; after a lost volume it
			 * is the one sign of what was lost: say it. */
			log_warn("satellite: no saved state in %s: starting with an empty catalog "
				 "and no batch ids (right on a first start; otherwise the state "
				 "was lost: what it held is gone, and a batch sent again is merged "
				 "again)", s->cfg->out_dir);
			return 0;
		}
		legacy = 1;
	}
	if (rc != 0) {
		log_error("satellite: cannot read the saved catalog in %s: %s", s->cfg->out_dir,
			  strerror(-rc));
		return rc;
	}
	st = cJSON_ParseWithLength(buf, len);
	free(buf);
	cat = legacy ? st : cJSON_GetObjectItemCaseSensitive(st, "catalog");
	if (!st || !cat) {
		log_error("satellite: the saved catalog in %s is not valid JSON", s->cfg->out_dir);
		cJSON_Delete(st);
		return -EINVAL;
	}
	err[0] = '\0';
	rc = catalog_merge_metadata(s->cat, cat, err, sizeof(err));
	if (rc != 0) {
		log_error("satellite: the saved catalog in %s was refused: %s", s->cfg->out_dir,
			  err);
		cJSON_Delete(st);
		return rc;
	}
	ids = cJSON_GetObjectItemCaseSensitive(st, "batch_ids");
	cJSON_ArrayForEach(id, ids)
		if (cJSON_IsString(id) && batch_id_ok(id->valuestring))
			sat_dedup_add(s->dedup, id->valuestring);
	log_info("satellite: loaded the saved catalog (%u batch ids)", sat_dedup_count(s->dedup));
	cJSON_Delete(st);
	return 0;
}

/* Merges journaled batches the saved state does not cover yet (the
 * process stopped between acknowledging them and the next flush). */
static int replay_journal(struct sat_server *s)
{
	char path[PATH_MAX], err[256], id[BATCH_ID_LEN + 1], *buf;
	struct batch_meta meta;
	struct dirent *de;
	size_t len;
	cJSON *doc;
	DIR *dir = opendir(s->journal_dir);
	int rc;

	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		/* A journal entry whose write a crash cut short: its batch was
		 * never acknowledged (the 2xx follows the rename), so the sensor
		 * sends it again. Without this they pile up, one per crash. */
		if (strlen(de->d_name) > BATCH_ID_LEN + 3 &&
		    strncmp(de->d_name + BATCH_ID_LEN, ".gz.tmp.", 8) == 0) {
			if (snprintf(path, sizeof(path), "%s/%s", s->journal_dir, de->d_name) <
			    (int)sizeof(path))
				unlink(path);
			continue;
		}
		if (strlen(de->d_name) != BATCH_ID_LEN + 3 ||
		    strcmp(de->d_name + BATCH_ID_LEN, ".gz") != 0)
			continue;
		memcpy(id, de->d_name, BATCH_ID_LEN);
		id[BATCH_ID_LEN] = '\0';
		if (snprintf(path, sizeof(path), "%s/%s", s->journal_dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (sat_dedup_has(s->dedup, id))
			continue; /* merged before the last flush; flush removes it */
		if (s->nats) {
			/* Journaled, then the process died: merge it only if the
			 * claim is ours (another replica may have taken the
			 * redelivered message meanwhile). */
			rc = claim_batch(s, id);
			if (rc < 0) {
				log_error("satellite: no answer from the NATS server to the claim of "
					  "journaled batch %s", id);
				closedir(dir);
				return -EIO;
			}
			if (rc == 0) {
				unlink(path);
				log_info("satellite: journaled batch %s was merged by another replica; "
					 "dropped here", id);
				continue;
			}
		}
		buf = NULL;
		doc = NULL;
		rc = read_file_all(path, s->cfg->max_body, &buf, &len);
		if (rc == 0)
			rc = batch_decode(buf, len, BATCH_MAX_DECODED, &doc, &meta, err,
					  sizeof(err));
		if (rc == 0 && strcmp(meta.id, id) != 0)
			rc = -EINVAL;
		if (rc == 0)
			rc = catalog_merge_metadata(s->cat, doc, err, sizeof(err));
		if (rc == 0)
			delta_merge(s, doc);
		free(buf);
		cJSON_Delete(doc);
		if (rc != 0) {
			/* Never acknowledged (a write cut by the crash): the sender
			 * still has it and will retry. The next flush removes it. */
			log_warn("satellite: journal entry %s cannot be merged (%s); skipped",
				 de->d_name, strerror(-rc));
			continue;
		}
		sat_dedup_add(s->dedup, id);
		s->m.replayed++;
		s->dirty = 1;
	}
	closedir(dir);
	if (s->m.replayed)
		log_info("satellite: replayed %llu journaled batches",
			 (unsigned long long)s->m.replayed);
	return 0;
}

/* ---- start and stop ---------------------------------------------------------------- */

static void log_ssl_error(const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	log_error("satellite: %s %s: %s", what, file, e ? buf : "unknown error");
	ERR_clear_error();
}

static SSL_CTX *make_ssl_ctx(const struct sat_config *cfg)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		log_ssl_error("cannot load the certificate", cfg->tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		log_ssl_error("cannot load the private key", cfg->tls_key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_ssl_error("the private key does not match the certificate", cfg->tls_key);
		goto fail;
	}
	if (cfg->client_ca) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca);

		if (!names || SSL_CTX_load_verify_locations(ctx, cfg->client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			log_ssl_error("cannot load the client CA", cfg->client_ca);
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static int load_token(struct sat_server *s, const char *file)
{
	char *buf = NULL;
	size_t len;
	int rc = read_file_all(file, SAT_TOKEN_FILE_MAX, &buf, &len);

	if (rc != 0) {
		log_error("satellite: cannot read the token file %s: %s", file, strerror(-rc));
		return rc;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		len--;
	if (len == 0 || memchr(buf, '\n', len)) {
		log_error("satellite: the token file %s must hold one non-empty line", file);
		OPENSSL_cleanse(buf, len);
		free(buf);
		return -EINVAL;
	}
	rc = EVP_Digest(buf, len, s->token_digest, NULL, EVP_sha256(), NULL) ? 0 : -EIO;
	OPENSSL_cleanse(buf, len);
	free(buf);
	s->have_token = rc == 0;
	return rc;
}

/* Stop accepting, flush, leave the loop; connections still open are
 * dropped when evhttp is freed. */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sat_server *s = arg;

	(void)what;
	if (s->stopping)
		return;
	s->stopping = 1;
	log_info("satellite: signal %d, stopping", (int)sig);
	if (s->bound) {
		evhttp_del_accept_socket(s->http, s->bound);
		s->bound = NULL;
	}
	if (s->dirty || s->delta_dirty)
		(void)sat_flush(s);
	event_base_loopbreak(s->base);
}

/* Our own listening socket: a backlog deep enough for a burst of sensors
 * reconnecting at once (evhttp_bind_socket's is 128), close-on-exec,
 * non-blocking. Returns the fd or a negative errno. */
static int listen_socket(const char *addr, uint16_t port)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char portstr[8];
	int fd, one = 1, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(addr, portstr, &hints, &ai);
	if (rc != 0)
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SAT_LISTEN_BACKLOG) != 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	rc = fd;
out:
	freeaddrinfo(ai);
	return rc;
}

/* The address and port a listening socket got (port 0 picks one). */
static void bound_name(struct evhttp_bound_socket *b, char *host, size_t hostlen, int *port)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	snprintf(host, hostlen, "?");
	*port = 0;
	if (getsockname(evhttp_bound_socket_get_fd(b), (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &a->sin6_addr, host, (socklen_t)hostlen);
			*port = ntohs(a->sin6_port);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &a->sin_addr, host, (socklen_t)hostlen);
			*port = ntohs(a->sin_port);
		}
	}
}

static void log_listening(struct sat_server *s)
{
	char host[INET6_ADDRSTRLEN];
	int port;

	/* The metrics line first: "listening on" is the last word of start-up. */
	if (s->mbound) {
		bound_name(s->mbound, host, sizeof(host), &port);
		log_info("satellite: metrics on %s port %d (plain HTTP, no token: /metrics, "
			 "/healthz)", host, port);
	}
	if (!s->bound) {
		log_info("satellite: consuming from NATS (no HTTPS listener)");
		return;
	}
	bound_name(s->bound, host, sizeof(host), &port);
	log_info("satellite: listening on %s port %d", host, port);
	if (s->cfg->raw_ingest)
		log_warn("satellite: raw ingest is on: sensors in raw-forward mode send exchanges "
			 "with their values to POST /v1/exchanges (mTLS); they are anonymized in "
			 "memory and never stored");
}

/* The metrics listener on its own evhttp (plain sockets: no bevcb), with
 * small limits: it takes no body and short headers. */
static int start_metrics(struct sat_server *s)
{
	const struct sat_config *cfg = s->cfg;
	int rc;

	s->mhttp = evhttp_new(s->base);
	if (!s->mhttp) {
		log_error("satellite: cannot set up the metrics listener");
		return -ENOMEM;
	}
	evhttp_set_gencb(s->mhttp, on_metrics_request, s);
	evhttp_set_max_body_size(s->mhttp, 0);
	evhttp_set_max_headers_size(s->mhttp, 8192);
	evhttp_set_timeout(s->mhttp, (int)cfg->idle_timeout);
	evhttp_set_allowed_methods(s->mhttp, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	rc = listen_socket(cfg->metrics_addr, cfg->metrics_port);
	if (rc < 0) {
		log_error("satellite: cannot listen for metrics on %s port %u: %s",
			  cfg->metrics_addr, cfg->metrics_port,
			  rc == -EINVAL ? "not a numeric address" : strerror(-rc));
		return rc;
	}
	s->mbound = evhttp_accept_socket_with_handle(s->mhttp, rc);
	if (!s->mbound) {
		close(rc);
		log_error("satellite: cannot accept metrics connections on %s port %u",
			  cfg->metrics_addr, cfg->metrics_port);
		return -EIO;
	}
	return 0;
}

int sat_run(const struct sat_config *cfg)
{
	struct sat_server *s = calloc(1, sizeof(*s));
	struct catalog_limits lim = { 0 };
	struct timeval tv;
	int rc, ret = 1;

	if (!s)
		return 1;
	s->cfg = cfg;
	signal(SIGPIPE, SIG_IGN);
	if (g_conn_idx < 0)
		g_conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_ex_free);
	if (snprintf(s->journal_dir, sizeof(s->journal_dir), "%s/journal", cfg->out_dir) >=
		    (int)sizeof(s->journal_dir) ||
	    snprintf(s->state_path, sizeof(s->state_path), "%s/satellite-state.json",
		     cfg->out_dir) >= (int)sizeof(s->state_path)) {
		log_error("satellite: --out-dir is too long");
		goto out;
	}
	if (cfg->token_file && load_token(s, cfg->token_file) != 0)
		goto out;
	if (cfg->listen_addr) {
		s->ssl_ctx = make_ssl_ctx(cfg);
		if (!s->ssl_ctx)
			goto out;
	}
	rc = mkdir_p(s->journal_dir, 0700);
	if (rc != 0) {
		log_error("satellite: cannot create %s: %s", s->journal_dir, strerror(-rc));
		goto out;
	}
	s->cat = catalog_new(&lim);
	s->dedup = sat_dedup_new(cfg->dedup_cap);
	if (cfg->rate_per_min)
		s->rl = sat_rl_new(cfg->rate_per_min,
				   cfg->rate_burst ? cfg->rate_burst : cfg->rate_per_min,
				   SAT_RL_SENSORS);
	if (!s->cat || !s->dedup || (cfg->rate_per_min && !s->rl)) {
		log_error("satellite: out of memory");
		goto out;
	}
	if (cfg->upstream) {
		char spool_dir[PATH_MAX];

		if (snprintf(spool_dir, sizeof(spool_dir), "%s/spool", cfg->out_dir) >=
			    (int)sizeof(spool_dir) ||
		    delta_reset(s) != 0 || sat_fwd_start(cfg->upstream, spool_dir, &s->fwd) != 0)
			goto out;
	}
	if (cfg->nats && cfg->nats_edge) {
		char err[320];

		if (nats_conn_open(cfg->nats, "apisonar satellite edge", &s->edge, err,
				   sizeof(err)) != 0 ||
		    nats_ensure_stream(s->edge, (int32_t)(cfg->max_body < NATS_STREAM_MAX_MSG
							  ? NATS_STREAM_MAX_MSG
							  : cfg->max_body),
				       err, sizeof(err)) != 0) {
			log_error("satellite: %s", err);
			goto out;
		}
		log_info("satellite: an edge: accepted batches are published to the stream %s",
			 NATS_STREAM_NAME);
	} else if (cfg->nats) {
		struct sat_nats_config nc = {
			.opts = cfg->nats,
			.replica_id = cfg->replica_id,
			.ack_wait_s = cfg->nats_ack_wait,
			.max_msg = (int32_t)(cfg->max_body < NATS_STREAM_MAX_MSG ? NATS_STREAM_MAX_MSG
										   : cfg->max_body),
		};

		if (sat_nats_start(&nc, NULL, &s->nats) != 0)
			goto out;
	}
	if (load_state(s) != 0 || replay_journal(s) != 0)
		goto out;
	if ((s->dirty || s->delta_dirty) && sat_flush(s) != 0)
		goto out;
	/* Whatever the bucket held for us may be older than the state. */
	publish_catalog(s);

	s->base = event_base_new();
	if (!s->base) {
		log_error("satellite: cannot set up the event loop");
		goto out;
	}
	if (!cfg->listen_addr)
		goto no_listener;
	s->http = evhttp_new(s->base);
	if (!s->http) {
		log_error("satellite: cannot set up the event loop");
		goto out;
	}
	evhttp_set_bevcb(s->http, conn_new_bev, s);
	evhttp_set_gencb(s->http, on_request, s);
	evhttp_set_max_body_size(s->http, (ev_ssize_t)cfg->max_body);
	evhttp_set_max_headers_size(s->http, SAT_MAX_HEADERS_SIZE);
	evhttp_set_timeout(s->http, (int)cfg->idle_timeout);
	/* Read and discard an oversized body before closing, so the client
	 * can read its 413 instead of meeting a reset (bounded by the request
	 * deadline). */
	evhttp_set_flags(s->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	rc = listen_socket(cfg->listen_addr, cfg->listen_port);
	if (rc < 0) {
		log_error("satellite: cannot listen on %s port %u: %s", cfg->listen_addr,
			  cfg->listen_port, rc == -EINVAL ? "not a numeric address" : strerror(-rc));
		goto out;
	}
	s->bound = evhttp_accept_socket_with_handle(s->http, rc);
	if (!s->bound) {
		close(rc);
		log_error("satellite: cannot accept on %s port %u", cfg->listen_addr,
			  cfg->listen_port);
		goto out;
	}
no_listener:
	if (cfg->metrics_addr && start_metrics(s) != 0)
		goto out;
	if (s->nats) {
		s->nats_ev = event_new(s->base, sat_nats_fd(s->nats), EV_READ | EV_PERSIST,
				       on_nats_ready, s);
		if (!s->nats_ev || event_add(s->nats_ev, NULL) != 0 || sat_nats_run(s->nats) != 0) {
			log_error("satellite: cannot start fetching from NATS");
			goto out;
		}
	}
	log_listening(s);
	s->flush_ev = event_new(s->base, -1, EV_PERSIST, on_flush_timer, s);
	s->sig_ev[0] = evsignal_new(s->base, SIGTERM, on_signal, s);
	s->sig_ev[1] = evsignal_new(s->base, SIGINT, on_signal, s);
	if (!s->flush_ev || !s->sig_ev[0] || !s->sig_ev[1]) {
		log_error("satellite: cannot set up timers");
		goto out;
	}
	tv.tv_sec = cfg->flush_interval;
	tv.tv_usec = 0;
	event_add(s->flush_ev, &tv);
	event_add(s->sig_ev[0], NULL);
	event_add(s->sig_ev[1], NULL);

	if (event_base_dispatch(s->base) < 0) {
		log_error("satellite: the event loop failed");
		goto out;
	}
	if (s->fatal)
		goto out;
	if ((s->dirty || s->delta_dirty) && sat_flush(s) != 0)
		goto out;
	log_info("satellite: stopped: %llu batches accepted, %llu duplicates",
		 (unsigned long long)s->m.accepted, (unsigned long long)s->m.duplicate);
	ret = 0;
out:
	if (s->http)
		evhttp_free(s->http); /* frees every connection while the base lives */
	if (s->mhttp)
		evhttp_free(s->mhttp);
	if (s->flush_ev)
		event_free(s->flush_ev);
	/* The fetch thread first: it may be waiting on the loop. */
	sat_nats_stop(s->nats);
	nats_conn_close(s->edge);
	if (s->nats_ev)
		event_free(s->nats_ev);
	if (s->sig_ev[0])
		event_free(s->sig_ev[0]);
	if (s->sig_ev[1])
		event_free(s->sig_ev[1]);
	if (s->base)
		event_base_free(s->base);
	sat_fwd_stop(s->fwd); /* batches left in the spool go at the next start */
	SSL_CTX_free(s->ssl_ctx);
	sat_rl_free(s->rl);
	catalog_free(s->delta);
	sat_dedup_free(s->dedup);
	catalog_free(s->cat);
	OPENSSL_cleanse(s->token_digest, sizeof(s->token_digest));
	free(s);
	return ret;
}
