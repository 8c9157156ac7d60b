// SPDX-License-Identifier: BSD-2-Clause
/*
 * NATS JetStream over libnats (the protocol is libnats's, never ours).
 *
 * Secrets: a token file is read at each connect into a buffer wiped after
 * libnats has copied it; a creds file is handed to libnats by name. No log
 * line or error message holds either: errors name the file or the
 * option, and libnats's own last-error text (which carries server and
 * OpenSSL reasons, never credentials) is cut to a short line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "apisonar/transport/nats.h"
#include "apisonar/util/util.h"

struct nats_conn {
	natsConnection *nc;
	jsCtx *js;
	uint32_t timeout_ms;
};

/* ---- options ------------------------------------------------------------ */

int nats_opt_parse(struct nats_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case NATS_OPT_TRANSPORT:
		if (transport_parse_kind(arg, &o->transport) != 0) {
			fprintf(stderr, "apisonar: --transport wants https or nats\n");
			return -EINVAL;
		}
		return 0;
	case NATS_OPT_URL:
		o->url = arg;
		return 0;
	case NATS_OPT_CREDS:
		o->creds_file = arg;
		return 0;
	case NATS_OPT_TOKEN_FILE:
		o->token_file = arg;
		return 0;
	case NATS_OPT_CA:
		o->ca_file = arg;
		return 0;
	case NATS_OPT_CLIENT_CERT:
		o->client_cert = arg;
		return 0;
	case NATS_OPT_CLIENT_KEY:
		o->client_key = arg;
		return 0;
	case NATS_OPT_CLUSTER:
		if (!arg[0] || strlen(arg) > NATS_TOKEN_MAX) {
			fprintf(stderr, "apisonar: --cluster must be 1..%d bytes\n", NATS_TOKEN_MAX);
			return -EINVAL;
		}
		o->cluster = arg;
		return 0;
	default:
		return 1;
	}
}

int nats_url_parse(const char *url, char *host, size_t hostlen, int *tls)
{
	const char *p, *end, *colon;
	size_t n;

	if (!url)
		return -EINVAL;
	if (strncmp(url, "nats://", 7) == 0) {
		*tls = 0;
		p = url + 7;
	} else if (strncmp(url, "tls://", 6) == 0) {
		*tls = 1;
		p = url + 6;
	} else {
		return -EINVAL;
	}
	/* One server, no user info (credentials belong in files), no path. */
	if (strpbrk(p, "@/,?# \t"))
		return -EINVAL;
	end = p + strlen(p);
	if (*p == '[') {
		const char *rb = strchr(p, ']');

		if (!rb || (rb[1] != ':' && rb[1] != '\0'))
			return -EINVAL;
		n = (size_t)(rb - p - 1);
		if (n == 0 || n >= hostlen)
			return -EINVAL;
		memcpy(host, p + 1, n);
		host[n] = '\0';
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = strchr(p, ':');
		n = colon ? (size_t)(colon - p) : (size_t)(end - p);
		if (n == 0 || n >= hostlen)
			return -EINVAL;
		memcpy(host, p, n);
		host[n] = '\0';
	}
	if (colon) {
		uint64_t port;

		if (parse_u64(colon + 1, 1, 65535, &port) != 0)
			return -EINVAL;
	}
	return 0;
}

int nats_opts_check(const struct nats_opts *o, char *err, size_t errlen)
{
	char host[256];
	int tls;

	if (!o->url) {
		snprintf(err, errlen, "the NATS transport needs --nats-url URL");
		return -EINVAL;
	}
	if (nats_url_parse(o->url, host, sizeof(host), &tls) != 0) {
		snprintf(err, errlen,
			 "--nats-url wants nats://HOST:PORT or tls://HOST:PORT (one server, no "
			 "user or password in it: use --nats-creds or --nats-token-file)");
		return -EINVAL;
	}
	if (o->creds_file && o->token_file) {
		snprintf(err, errlen, "--nats-creds and --nats-token-file exclude each other");
		return -EINVAL;
	}
	if (!!o->client_cert != !!o->client_key) {
		snprintf(err, errlen, "--nats-client-cert and --nats-client-key go together");
		return -EINVAL;
	}
	return 0;
}

void nats_opts_usage(FILE *f)
{
	fprintf(f,
		"NATS JetStream (docs/nats.md):\n"
		"  --nats-url URL          nats://HOST:PORT, or tls://HOST:PORT for TLS (TLS 1.2+,\n"
		"                          server certificate and host name always verified)\n"
		"  --nats-creds FILE       user JWT and nkey seed (.creds file)\n"
		"  --nats-token-file FILE  a token, one line (never logged)\n"
		"  --nats-ca FILE          CA bundle for the server's certificate (turns TLS on)\n"
		"  --nats-client-cert FILE, --nats-client-key FILE\n"
		"                          client certificate for the server (turns TLS on)\n");
}

/* ---- pure helpers ----------------------------------------------------- */

size_t nats_subject_token(const char *in, char *out, size_t outlen)
{
	size_t i, n = 0;

	if (outlen == 0)
		return 0;
	for (i = 0; in && in[i] && n < NATS_TOKEN_MAX && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '_' || c == '-';

		out[n++] = ok ? (char)c : '_';
	}
	if (n == 0 && outlen > 1)
		out[n++] = '_';
	out[n] = '\0';
	return n;
}

int nats_batch_subject(const char *cluster, const char *sensor, char *out, size_t outlen)
{
	char c[NATS_TOKEN_MAX + 1], s[NATS_TOKEN_MAX + 1];
	int r;

	nats_subject_token(cluster ? cluster : NATS_DEFAULT_CLUSTER, c, sizeof(c));
	nats_subject_token(sensor, s, sizeof(s));
	r = snprintf(out, outlen, "%s.%s.%s", NATS_SUBJECT_PREFIX, c, s);
	return r < 0 || (size_t)r >= outlen ? -ENAMETOOLONG : 0;
}

const char *nats_status_kind(natsStatus s)
{
	switch (s) {
	case NATS_OK:
		return "ok";
	case NATS_TIMEOUT:
		return "timeout";
	case NATS_NO_RESPONDERS:
		return "no_stream";
	case NATS_SSL_ERROR:
	case NATS_SECURE_CONNECTION_WANTED:
	case NATS_SECURE_CONNECTION_REQUIRED:
		return "tls";
	case NATS_CONNECTION_AUTH_FAILED:
	case NATS_NOT_PERMITTED:
		return "auth";
	case NATS_NO_SERVER:
	case NATS_IO_ERROR:
	case NATS_CONNECTION_CLOSED:
	case NATS_CONNECTION_DISCONNECTED:
	case NATS_STALE_CONNECTION:
	case NATS_NOT_YET_CONNECTED:
		return "connection";
	case NATS_MAX_PAYLOAD:
		return "too_large";
	case NATS_NO_MEMORY:
		return "no_memory";
	case NATS_NOT_FOUND:
		return "not_found";
	default:
		return "error";
	}
}

/* ---- the connection ----------------------------------------------------- */

/* libnats's detail of the last failure, on one short line. */
static void last_error(natsStatus s, char *err, size_t errlen, const char *what)
{
	natsStatus ls;
	const char *txt = nats_GetLastError(&ls);
	char line[200];
	size_t i;

	snprintf(line, sizeof(line), "%s", txt && txt[0] ? txt : natsStatus_GetText(s));
	for (i = 0; line[i]; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	snprintf(err, errlen, "%s: %s (%s)", what, line, nats_status_kind(s));
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)closure;
	if (natsConnection_IsClosed(nc))
		return; /* our own close */
	log_warn("nats: disconnected from the server; reconnecting");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	(void)closure;
	log_info("nats: reconnected");
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
			   void *closure)
{
	(void)nc;
	(void)sub;
	(void)closure;
	log_warn("nats: asynchronous error: %s", nats_status_kind(err));
}

/* Reads a one-line token into a buffer the caller wipes. */
static int read_secret(const char *file, char **out)
{
	char *buf = NULL;
	size_t len;
	int rc = read_file_all(file, NATS_SECRET_MAX, &buf, &len);

	if (rc)
		return rc;
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (len == 0 || memchr(buf, '\n', len) || memchr(buf, '\0', len)) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	return 0;
}

int nats_conn_open(const struct nats_opts *o, const char *name, struct nats_conn **out,
		   char *err, size_t errlen)
{
	struct nats_conn *c = calloc(1, sizeof(*c));
	natsOptions *no = NULL;
	jsOptions jo;
	char host[256], *tok = NULL;
	natsStatus s;
	int tls = 0, rc = -EIO;

	*out = NULL;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : NATS_DEFAULT_TIMEOUT_MS;
	if (nats_url_parse(o->url, host, sizeof(host), &tls) != 0) {
		snprintf(err, errlen, "--nats-url is not nats://HOST:PORT or tls://HOST:PORT");
		rc = -EINVAL;
		goto fail;
	}
	if (natsOptions_Create(&no) != NATS_OK) {
		snprintf(err, errlen, "cannot set up libnats");
		goto fail;
	}
	s = natsOptions_SetURL(no, o->url);
	if (s == NATS_OK)
		s = natsOptions_SetName(no, name ? name : "apisonar");
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, c->timeout_ms);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(no, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(no, 500);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectJitter(no, 250, 1000);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(no, 5000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(no, 2);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(no, on_disconnected, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(no, on_reconnected, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(no, on_async_error, NULL);
	if (s != NATS_OK) {
		last_error(s, err, errlen, "cannot set up the connection options");
		goto fail;
	}
	if (tls || o->ca_file || o->client_cert) {
		s = natsOptions_SetSecure(no, true);
		if (s == NATS_OK)
			s = natsOptions_SetExpectedHostname(no, host);
		if (s != NATS_OK) {
			last_error(s, err, errlen, "cannot set up TLS");
			goto fail;
		}
		if (o->ca_file) {
			s = natsOptions_LoadCATrustedCertificates(no, o->ca_file);
			if (s != NATS_OK) {
				snprintf(err, errlen, "cannot load the CA file %s", o->ca_file);
				rc = -EINVAL;
				goto fail;
			}
		}
		if (o->client_cert) {
			s = natsOptions_LoadCertificatesChain(no, o->client_cert, o->client_key);
			if (s != NATS_OK) {
				snprintf(err, errlen, "cannot load the client certificate %s or key %s",
					 o->client_cert, o->client_key);
				rc = -EINVAL;
				goto fail;
			}
		}
	}
	if (o->creds_file) {
		if (access(o->creds_file, R_OK) != 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot read the creds file %s: %s", o->creds_file,
				 strerror(errno));
			goto fail;
		}
		s = natsOptions_SetUserCredentialsFromFiles(no, o->creds_file, NULL);
		if (s != NATS_OK) {
			snprintf(err, errlen, "cannot use the creds file %s", o->creds_file);
			rc = -EINVAL;
			goto fail;
		}
	}
	if (o->token_file) {
		rc = read_secret(o->token_file, &tok);
		if (rc) {
			snprintf(err, errlen, "cannot read the token file %s: %s", o->token_file,
				 rc == -EINVAL ? "it must hold one non-empty line" : strerror(-rc));
			goto fail;
		}
		s = natsOptions_SetToken(no, tok);
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
		tok = NULL;
		if (s != NATS_OK) {
			snprintf(err, errlen, "cannot use the token file %s", o->token_file);
			rc = -EINVAL;
			goto fail;
		}
	}
	s = natsConnection_Connect(&c->nc, no);
	if (s != NATS_OK) {
		last_error(s, err, errlen, "cannot connect to the NATS server");
		rc = s == NATS_SSL_ERROR ? -EPROTO : s == NATS_CONNECTION_AUTH_FAILED ? -EACCES
											: -ECONNREFUSED;
		goto fail;
	}
	jsOptions_Init(&jo);
	jo.Wait = c->timeout_ms;
	s = natsConnection_JetStream(&c->js, c->nc, &jo);
	if (s != NATS_OK) {
		last_error(s, err, errlen, "cannot open a JetStream context");
		goto fail;
	}
	natsOptions_Destroy(no);
	*out = c;
	return 0;
fail:
	natsOptions_Destroy(no);
	nats_conn_close(c);
	return rc;
}

void nats_conn_close(struct nats_conn *c)
{
	if (!c)
		return;
	jsCtx_Destroy(c->js);
	if (c->nc) {
		natsConnection_Close(c->nc);
		natsConnection_Destroy(c->nc);
	}
	free(c);
}

natsConnection *nats_conn_nc(struct nats_conn *c)
{
	return c ? c->nc : NULL;
}

jsCtx *nats_conn_js(struct nats_conn *c)
{
	return c ? c->js : NULL;
}

int nats_conn_connected(struct nats_conn *c)
{
	return c && c->nc && natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* ---- stream, consumer, buckets --------------------------------------------- */

int nats_ensure_stream(struct nats_conn *c, int32_t max_msg, char *err, size_t errlen)
{
	static const char *subjects[] = { NATS_STREAM_SUBJECTS };
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsErrCode je = 0;
	natsStatus s;

	s = js_GetStreamInfo(&si, c->js, NATS_STREAM_NAME, NULL, &je);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s != NATS_NOT_FOUND && je != JSStreamNotFoundErr) {
		last_error(s, err, errlen, "cannot look up the stream " NATS_STREAM_NAME);
		return -EIO;
	}
	jsStreamConfig_Init(&cfg);
	cfg.Name = NATS_STREAM_NAME;
	cfg.Description = "apisonar metadata batches (docs/nats.md)";
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	/* Work queue: a batch is kept until one satellite acknowledges it. */
	cfg.Retention = js_WorkQueuePolicy;
	cfg.Storage = js_FileStorage;
	cfg.MaxBytes = NATS_STREAM_MAX_BYTES;
	cfg.MaxAge = NATS_STREAM_MAX_AGE_S * 1000000000ll;
	cfg.MaxMsgSize = max_msg ? max_msg : NATS_STREAM_MAX_MSG;
	/* Full: refuse new batches; the sensors keep them in their spools. */
	cfg.Discard = js_DiscardNew;
	cfg.Duplicates = NATS_STREAM_DUP_WINDOW_S * 1000000000ll;
	je = 0;
	s = js_AddStream(&si, c->js, &cfg, NULL, &je);
	if (s == NATS_OK) {
		log_info("nats: created the stream %s (work queue, subjects %s)", NATS_STREAM_NAME,
			 NATS_STREAM_SUBJECTS);
		jsStreamInfo_Destroy(si);
		return 0;
	}
	/* Another replica created it first. */
	if (je == JSStreamNameExistErr &&
	    js_GetStreamInfo(&si, c->js, NATS_STREAM_NAME, NULL, NULL) == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	last_error(s, err, errlen, "cannot create the stream " NATS_STREAM_NAME);
	return -EIO;
}

int nats_ensure_consumer(struct nats_conn *c, int64_t ack_wait_s, char *err, size_t errlen)
{
	jsConsumerInfo *ci = NULL;
	jsConsumerConfig cc;
	jsErrCode je = 0;
	natsStatus s;

	s = js_GetConsumerInfo(&ci, c->js, NATS_STREAM_NAME, NATS_CONSUMER_NAME, NULL, &je);
	if (s == NATS_OK) {
		jsConsumerInfo_Destroy(ci);
		return 0;
	}
	if (s != NATS_NOT_FOUND && je != JSConsumerNotFoundErr) {
		last_error(s, err, errlen, "cannot look up the consumer " NATS_CONSUMER_NAME);
		return -EIO;
	}
	jsConsumerConfig_Init(&cc);
	cc.Durable = NATS_CONSUMER_NAME;
	cc.Description = "apisonar satellites share this work queue (docs/nats.md)";
	cc.AckPolicy = js_AckExplicit;
	cc.DeliverPolicy = js_DeliverAll;
	cc.AckWait = ack_wait_s * 1000000000ll;
	/* Never given up on: a batch that cannot be merged is terminated by
	 * the satellite that looked at it, so only crashes redeliver. */
	cc.MaxDeliver = -1;
	cc.MaxAckPending = 1000;
	je = 0;
	s = js_AddConsumer(&ci, c->js, NATS_STREAM_NAME, &cc, NULL, &je);
	if (s == NATS_OK) {
		log_info("nats: created the durable pull consumer %s", NATS_CONSUMER_NAME);
		jsConsumerInfo_Destroy(ci);
		return 0;
	}
	if (js_GetConsumerInfo(&ci, c->js, NATS_STREAM_NAME, NATS_CONSUMER_NAME, NULL, NULL) ==
	    NATS_OK) {
		jsConsumerInfo_Destroy(ci);
		return 0;
	}
	last_error(s, err, errlen, "cannot create the consumer " NATS_CONSUMER_NAME);
	return -EIO;
}

int nats_kv_open(struct nats_conn *c, const char *bucket, int create, int64_t ttl_s,
		 kvStore **out, char *err, size_t errlen)
{
	kvConfig kc;
	natsStatus s;
	char what[128];

	*out = NULL;
	s = js_KeyValue(out, c->js, bucket);
	if (s == NATS_OK)
		return 0;
	if (!create) {
		snprintf(what, sizeof(what), "cannot open the key-value bucket %s", bucket);
		last_error(s, err, errlen, what);
		return s == NATS_NOT_FOUND ? -ENOENT : -EIO;
	}
	kvConfig_Init(&kc);
	kc.Bucket = bucket;
	kc.History = 1;
	kc.StorageType = js_FileStorage;
	kc.TTL = ttl_s * 1000000000ll; /* nanoseconds: libnats passes it on as the max age */
	s = js_CreateKeyValue(out, c->js, &kc);
	if (s == NATS_OK)
		return 0;
	if (js_KeyValue(out, c->js, bucket) == NATS_OK)
		return 0;
	snprintf(what, sizeof(what), "cannot create the key-value bucket %s", bucket);
	last_error(s, err, errlen, what);
	return -EIO;
}

/* ---- the publisher ------------------------------------------------------------ */

struct nats_pub {
	struct nats_opts o;
	char subject[NATS_SUBJECT_MAX];
	struct nats_conn *c;
	struct uploader_stats st;
	struct transport_audit audit;
};

struct nats_pub *nats_pub_new(const struct nats_opts *o, const char *sensor_id, int *err)
{
	struct nats_pub *p;
	char why[256];
	char *tok = NULL;
	int rc;

	*err = 0;
	if (nats_opts_check(o, why, sizeof(why)) != 0) {
		log_error("%s", why);
		*err = -EINVAL;
		return NULL;
	}
	if (o->token_file) {
		rc = read_secret(o->token_file, &tok);
		if (rc) {
			log_error("cannot read the token file %s: %s", o->token_file,
				  rc == -EINVAL ? "it must hold one non-empty line" : strerror(-rc));
			*err = rc;
			return NULL;
		}
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	if (o->creds_file && access(o->creds_file, R_OK) != 0) {
		*err = -errno;
		log_error("cannot read the creds file %s: %s", o->creds_file, strerror(errno));
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->o = *o;
	rc = transport_audit_open(&p->audit, o->audit_log);
	if (rc) {
		*err = rc;
		free(p);
		return NULL;
	}
	if (nats_batch_subject(o->cluster, sensor_id, p->subject, sizeof(p->subject)) != 0) {
		transport_audit_close(&p->audit);
		free(p);
		*err = -ENAMETOOLONG;
		return NULL;
	}
	return p;
}

void nats_pub_free(struct nats_pub *p)
{
	if (!p)
		return;
	nats_conn_close(p->c);
	transport_audit_close(&p->audit);
	free(p);
}

int nats_publish_batch(struct nats_conn *c, const char *subject, const void *gz, size_t len,
		       const char *id, int *duplicate, const char **kind)
{
	natsMsg *msg = NULL;
	jsPubOptions po;
	jsPubAck *pa = NULL;
	jsErrCode je = 0;
	natsStatus s;
	char err[320];

	*duplicate = 0;
	*kind = "error";
	if (len > (size_t)natsConnection_GetMaxPayload(c->nc)) {
		*kind = "too_large";
		return -E2BIG;
	}
	s = natsMsg_Create(&msg, subject, NULL, (const char *)gz, (int)len);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(msg, "Nats-Msg-Id", id);
	if (s != NATS_OK) {
		natsMsg_Destroy(msg);
		*kind = "no_memory";
		return -ENOMEM;
	}
	jsPubOptions_Init(&po);
	po.MaxWait = c->timeout_ms;
	po.ExpectStream = NATS_STREAM_NAME;
	s = js_PublishMsg(&pa, c->js, msg, &po, &je);
	natsMsg_Destroy(msg);
	if (s == NATS_OK) {
		*duplicate = pa && pa->Duplicate;
		*kind = *duplicate ? "duplicate" : "delivered";
		jsPubAck_Destroy(pa);
		return 0;
	}
	if (s == NATS_MAX_PAYLOAD || je == JSStreamMessageExceedsMaximumErr) {
		*kind = "too_large";
		return -E2BIG;
	}
	if (s == NATS_NO_RESPONDERS) {
		*kind = "no_stream";
	} else if (s == NATS_TIMEOUT) {
		*kind = "timeout";
	} else {
		*kind = je ? "stream_error" : "error";
		last_error(s, err, sizeof(err), "publish");
		log_warn("nats: %s", err);
	}
	return -EAGAIN;
}

static int pub_send(struct nats_pub *p, const void *gz, size_t len, const struct batch_meta *m,
		    struct upload_result *res);

int nats_pub_send(struct nats_pub *p, const void *gz, size_t len, const struct batch_meta *m,
		  struct upload_result *res)
{
	char where[NATS_SUBJECT_MAX + 300];
	struct transport_attempt at;
	int rc;

	snprintf(where, sizeof(where), "%s %s", p->o.url, p->subject);
	if (transport_attempt_begin(&p->audit, &at, where, "nats", 0, gz, len, m) != 0) {
		/* Not recorded, not sent: the batch stays, as after a network error. */
		memset(res, 0, sizeof(*res));
		res->verdict = UPLOAD_RETRY;
		res->kind = "audit_log";
		return 0;
	}
	rc = pub_send(p, gz, len, m, res);
	if (rc == 0)
		transport_attempt_end(&p->audit, &at, res);
	return rc;
}

static int pub_send(struct nats_pub *p, const void *gz, size_t len, const struct batch_meta *m,
		    struct upload_result *res)
{
	const char *kind = NULL;
	char err[320];
	int dup = 0, rc;

	memset(res, 0, sizeof(*res));
	res->verdict = UPLOAD_RETRY;
	if (!p->c) {
		rc = nats_conn_open(&p->o, "apisonar sensor", &p->c, err, sizeof(err));
		if (rc) {
			log_warn("nats: %s", err);
			res->kind = rc == -EPROTO ? "nats_tls"
				    : rc == -EACCES ? "nats_auth"
						    : "nats_connect";
			p->st.retries++;
			return 0;
		}
		log_info("nats: connected; publishing to %s", p->subject);
	}
	rc = nats_publish_batch(p->c, p->subject, gz, len, m->id, &dup, &kind);
	if (rc == -ENOMEM)
		return rc;
	if (rc == 0) {
		res->verdict = UPLOAD_DELIVERED;
		res->kind = dup ? "duplicate" : "delivered";
		p->st.delivered++;
		p->st.bytes_sent += len;
		return 0;
	}
	if (rc == -E2BIG) {
		res->verdict = UPLOAD_REJECTED;
		res->kind = "nats_too_large";
		log_error("batch %s (%zu bytes) is larger than the NATS server or stream takes; set "
			  "aside", m->id, len);
		p->st.rejected++;
		return 0;
	}
	res->kind = strcmp(kind, "no_stream") == 0 ? "nats_no_stream"
		    : strcmp(kind, "timeout") == 0 ? "nats_timeout"
						  : "nats_error";
	/* A closed connection does not come back by itself. */
	if (natsConnection_IsClosed(p->c->nc)) {
		nats_conn_close(p->c);
		p->c = NULL;
	}
	p->st.retries++;
	return 0;
}

void nats_pub_get_stats(const struct nats_pub *p, struct uploader_stats *out)
{
	if (!p) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = p->st;
}

static int tr_send(void *ctx, const void *gz, size_t len, const struct batch_meta *m,
		   struct upload_result *res)
{
	return nats_pub_send(ctx, gz, len, m, res);
}

static void tr_stats(const void *ctx, struct uploader_stats *out)
{
	nats_pub_get_stats(ctx, out);
}

static const struct transport_ops nats_ops = {
	.name = "nats",
	.send = tr_send,
	.sync = NULL,
	.stats = tr_stats,
};

void nats_pub_transport(struct nats_pub *p, struct transport *out)
{
	/* libnats reconnects on its own; our backoff only spaces the publish
	 * attempts, so it stays short. */
	transport_init(out, &nats_ops, p, 250, 30000);
}
