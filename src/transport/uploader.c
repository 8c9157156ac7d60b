// SPDX-License-Identifier: BSD-2-Clause
/*
 * HTTPS delivery of spooled batches with libcurl. One easy handle per
 * uploader so the TLS connection is reused between batches.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "apisonar/transport/transport.h"
#include "apisonar/transport/uploader.h"
#include "apisonar/util/util.h"

#define UPLOADER_URL_CAP 2048
#define UPLOADER_PIN_LEN 44	   /* base64 of 32 bytes */
#define UPLOADER_HDR_VALUE_CAP 128 /* Retry-After value kept */

struct uploader {
	struct uploader_opts o;
	char url[UPLOADER_URL_CAP];
	char raw_url[UPLOADER_URL_CAP]; /* <endpoint>/v1/exchanges (raw-forward) */
	char results_url[UPLOADER_URL_CAP]; /* <endpoint>/v1/test-results (BATCH_KIND_TEST_RESULTS) */
	char pins[UPLOADER_MAX_PINS * (UPLOADER_PIN_LEN + 9) + 1]; /* "sha256//x;..." */
	CURL *curl;
	struct transport_audit audit;
	char retry_after[UPLOADER_HDR_VALUE_CAP]; /* of the last response */
	char errbuf[CURL_ERROR_SIZE];		  /* curl's detail of a failure */
	struct uploader_stats st;
};

/* Checks a pin is 44 base64 characters (a SHA-256 digest). */
static int pin_ok(const char *p)
{
	size_t i, n = strlen(p);

	if (n != UPLOADER_PIN_LEN || p[43] != '=')
		return 0;
	for (i = 0; i < 43; i++) {
		if (!isalnum((unsigned char)p[i]) && p[i] != '+' && p[i] != '/')
			return 0;
	}
	return 1;
}

int uploader_opt_parse(struct uploader_opts *o, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case UPLOADER_OPT_ENDPOINT:
		o->endpoint = arg;
		return 0;
	case UPLOADER_OPT_TOKEN_FILE:
		o->token_file = arg;
		return 0;
	case UPLOADER_OPT_CA_FILE:
		o->ca_file = arg;
		return 0;
	case UPLOADER_OPT_PIN_SHA256:
		if (strncmp(arg, "sha256//", 8) == 0)
			arg += 8;
		if (!pin_ok(arg)) {
			fprintf(stderr, "apisonar: --pin-sha256 wants the base64 SHA-256 of a "
					"public key (44 characters ending in '=')\n");
			return -EINVAL;
		}
		if (o->n_pins >= UPLOADER_MAX_PINS) {
			fprintf(stderr, "apisonar: at most %d --pin-sha256\n", UPLOADER_MAX_PINS);
			return -EINVAL;
		}
		o->pins[o->n_pins++] = arg;
		return 0;
	case UPLOADER_OPT_CLIENT_CERT:
		o->client_cert = arg;
		return 0;
	case UPLOADER_OPT_CLIENT_KEY:
		o->client_key = arg;
		return 0;
	case UPLOADER_OPT_SPOOL_KEY_FILE:
		if (o->n_spool_key_files >= SPOOL_MAX_KEYS) {
			fprintf(stderr, "apisonar: at most %d --spool-key-file\n", SPOOL_MAX_KEYS);
			return -EINVAL;
		}
		o->spool_key_files[o->n_spool_key_files++] = arg;
		return 0;
	case UPLOADER_OPT_AUDIT_LOG:
		o->audit_log = arg;
		return 0;
	case UPLOADER_OPT_MAX_SPOOL_BYTES:
		if (parse_u64(arg, 4096, 1ull << 42, &v)) {
			fprintf(stderr, "apisonar: --max-spool-bytes wants 4096..2^42\n");
			return -EINVAL;
		}
		o->spool_limits.max_bytes = v;
		return 0;
	case UPLOADER_OPT_MAX_SPOOL_FILES:
		if (parse_u64(arg, 1, 1000000, &v)) {
			fprintf(stderr, "apisonar: --max-spool-files wants 1..1000000\n");
			return -EINVAL;
		}
		o->spool_limits.max_files = (uint32_t)v;
		return 0;
	case UPLOADER_OPT_MAX_RATE:
		if (parse_u64(arg, 1024, 1ull << 40, &v)) {
			fprintf(stderr,
				"apisonar: --max-rate wants bytes per second, 1024..2^40\n");
			return -EINVAL;
		}
		o->max_rate = v;
		return 0;
	default:
		return 1;
	}
}

int uploader_opts_check(const struct uploader_opts *o)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL, *pass = NULL, *query = NULL, *frag = NULL;
	int err = -EINVAL;

	if (!o->endpoint || !*o->endpoint) {
		fprintf(stderr, "apisonar: --endpoint URL is required\n");
		return -EINVAL;
	}
	if (strlen(o->endpoint) > UPLOADER_URL_CAP - 32) {
		fprintf(stderr, "apisonar: --endpoint is too long\n");
		return -EINVAL;
	}
	if (strncasecmp(o->endpoint, "https://", 8) != 0) {
		fprintf(stderr, "apisonar: --endpoint must be an https:// URL: plain http and "
				"other schemes are refused\n");
		return -EINVAL;
	}
	u = curl_url();
	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, o->endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
		fprintf(stderr, "apisonar: --endpoint is not a valid URL\n");
		goto cleanup;
	}
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	if (strcasecmp(scheme, "https") != 0) {
		fprintf(stderr, "apisonar: --endpoint must be an https:// URL\n");
		goto cleanup;
	}
	if (user || pass) {
		fprintf(stderr,
			"apisonar: --endpoint must not carry credentials: use --token-file\n");
		goto cleanup;
	}
	if (query || frag) {
		fprintf(stderr, "apisonar: --endpoint must not have a query or fragment\n");
		goto cleanup;
	}
	if (o->client_key && !o->client_cert) {
		fprintf(stderr, "apisonar: --client-key needs --client-cert\n");
		goto cleanup;
	}
	err = 0;
cleanup:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(pass);
	curl_free(query);
	curl_free(frag);
	curl_url_cleanup(u);
	return err;
}

void uploader_opts_usage(FILE *f)
{
	fprintf(
	    f,
	    "upload options:\n"
	    "  --endpoint URL         https://host[:port][/prefix]; batches go to URL/v1/batches\n"
	    "  --token-file F         bearer token (one line), read at each attempt\n"
	    "  --ca-file F            trust these CAs instead of the system store\n"
	    "  --pin-sha256 B64       accept only this server public key (repeatable)\n"
	    "  --client-cert F        client certificate (PEM) for mutual TLS\n"
	    "  --client-key F         its private key (PEM)\n"
	    "  --spool-key-file F     spool key, 32 raw bytes or 64 hex digits (repeatable:\n"
	    "                         all read, the last one writes); default: $%s\n"
	    "  --audit-log F          append a JSON line before and after each upload attempt\n"
	    "  --max-spool-bytes N    spool size bound (default %llu)\n"
	    "  --max-spool-files N    spool file count bound (default %u)\n"
	    "  --max-rate N           upload bandwidth cap in bytes/s\n",
	    SPOOL_KEY_ENV, (unsigned long long)SPOOL_DEFAULT_MAX_BYTES, SPOOL_DEFAULT_MAX_FILES);
}

int uploader_load_spool_keys(const struct uploader_opts *o, struct spool_keys **out)
{
	struct spool_keys *k = spool_keys_new();
	unsigned i;
	int err = 0;

	if (!k)
		return -ENOMEM;
	for (i = 0; i < o->n_spool_key_files; i++) {
		err = spool_keys_add_file(k, o->spool_key_files[i]);
		if (err == -EINVAL) {
			log_error("spool key file %s: want 32 raw bytes or 64 hex digits",
				  o->spool_key_files[i]);
			goto cleanup;
		}
		if (err) {
			log_error("spool key file %s: %s", o->spool_key_files[i], strerror(-err));
			goto cleanup;
		}
	}
	if (o->n_spool_key_files == 0) {
		err = spool_keys_add_env(k, SPOOL_KEY_ENV);
		if (err == -ENOENT) {
			log_error("no spool key: give --spool-key-file or set %s", SPOOL_KEY_ENV);
			goto cleanup;
		}
		if (err) {
			log_error("%s: want 64 hex digits", SPOOL_KEY_ENV);
			goto cleanup;
		}
	}
	*out = k;
	return 0;
cleanup:
	spool_keys_free(k);
	return err;
}

int uploader_parse_retry_after(const char *v, time_t now, uint64_t *secs)
{
	static const char *const fmts[] = {
	    "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
	    "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
	    "%a %b %e %H:%M:%S %Y",	 /* asctime */
	};
	char buf[UPLOADER_HDR_VALUE_CAP];
	size_t n, i;
	uint64_t s;

	if (!v)
		return -EINVAL;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 &&
	       (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (strspn(buf, "0123456789") == n) {
		if (n > 19 || parse_u64(buf, 0, UINT64_MAX, &s))
			s = UPLOADER_RETRY_AFTER_MAX_S;
		*secs = s < UPLOADER_RETRY_AFTER_MAX_S ? s : UPLOADER_RETRY_AFTER_MAX_S;
		return 0;
	}
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm;
		const char *end;
		time_t t;

		memset(&tm, 0, sizeof(tm));
		end = strptime(buf, fmts[i], &tm);
		if (!end || *end)
			continue;
		t = timegm(&tm);
		if (t == (time_t)-1)
			continue;
		s = t > now ? (uint64_t)(t - now) : 0;
		*secs = s < UPLOADER_RETRY_AFTER_MAX_S ? s : UPLOADER_RETRY_AFTER_MAX_S;
		return 0;
	}
	return -EINVAL;
}

uint64_t uploader_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd)
{
	uint64_t ceil_ms;

	if (base_ms == 0 || cap_ms == 0)
		return 0;
	if (attempt >= 63 || base_ms > (cap_ms >> attempt))
		ceil_ms = cap_ms;
	else
		ceil_ms = base_ms << attempt;
	if (ceil_ms > cap_ms)
		ceil_ms = cap_ms;
	return rnd % (ceil_ms + 1);
}

enum upload_verdict uploader_classify(long st)
{
	if (st >= 200 && st < 300)
		return UPLOAD_DELIVERED;
	/* Timeouts, throttling and auth are about the connection or our own
	 * configuration, not the batch: keep it. */
	if (st == 408 || st == 429 || st == 401 || st == 403)
		return UPLOAD_RETRY;
	if (st >= 400 && st < 500)
		return UPLOAD_REJECTED;
	return UPLOAD_RETRY;
}

/* A static name for a failed transfer, for the log and the audit line. */
static const char *curl_kind(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return "http";
	case CURLE_COULDNT_RESOLVE_HOST:
		return "resolve";
	case CURLE_COULDNT_CONNECT:
		return "connect";
	case CURLE_OPERATION_TIMEDOUT:
		return "timeout";
	case CURLE_PEER_FAILED_VERIFICATION:
		return "tls_verify";
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return "tls_pin";
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return "tls_local_cert";
	case CURLE_SSL_CONNECT_ERROR:
		return "tls_handshake";
	case CURLE_UNSUPPORTED_PROTOCOL:
		return "protocol";
	default:
		return "network";
	}
}

/* Reads the bearer token: one line, trailing newline trimmed. Errors name
 * the file and never show a byte of it. */
static int read_token(const char *path, char **out)
{
	char *buf = NULL;
	size_t len = 0, i;
	int err;

	err = read_file_all(path, UPLOADER_TOKEN_CAP, &buf, &len);
	if (err == -EFBIG) {
		log_error("token file %s is larger than %d bytes", path, UPLOADER_TOKEN_CAP);
		return -EINVAL;
	}
	if (err) {
		log_error("cannot read token file %s: %s", path, strerror(-err));
		return err;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0) {
		log_error("token file %s is empty", path);
		err = -EINVAL;
		goto cleanup;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x21 || c > 0x7e) {
			log_error("token file %s holds spaces, control or non-ASCII characters",
				  path);
			err = -EINVAL;
			goto cleanup;
		}
	}
	*out = buf;
	return 0;
cleanup:
	OPENSSL_cleanse(buf, len);
	free(buf);
	return err;
}

struct uploader *uploader_new(const struct uploader_opts *o, int *errp)
{
	struct uploader *u;
	char *tok = NULL;
	size_t n, off = 0;
	unsigned i;
	int err;

	err = uploader_opts_check(o);
	if (err)
		goto fail;
	if (o->token_file) {
		err = read_token(o->token_file, &tok);
		if (err)
			goto fail;
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	if (o->ca_file && access(o->ca_file, R_OK) < 0) {
		err = -errno;
		log_error("cannot read CA file %s: %s", o->ca_file, strerror(errno));
		goto fail;
	}
	if (o->client_cert && access(o->client_cert, R_OK) < 0) {
		err = -errno;
		log_error("cannot read client certificate %s: %s", o->client_cert, strerror(errno));
		goto fail;
	}
	if (o->client_key && access(o->client_key, R_OK) < 0) {
		err = -errno;
		log_error("cannot read client key %s: %s", o->client_key, strerror(errno));
		goto fail;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		err = -ENOMEM;
		goto fail;
	}
	u->o = *o;
	u->audit.fd = -1;
	n = strlen(o->endpoint);
	while (n > 8 && o->endpoint[n - 1] == '/')
		n--;
	snprintf(u->url, sizeof(u->url), "%.*s/v1/batches", (int)n, o->endpoint);
	snprintf(u->raw_url, sizeof(u->raw_url), "%.*s/v1/exchanges", (int)n, o->endpoint);
	snprintf(u->results_url, sizeof(u->results_url), "%.*s/v1/test-results", (int)n,
		 o->endpoint);
	for (i = 0; i < o->n_pins; i++) {
		int w = snprintf(u->pins + off, sizeof(u->pins) - off, "%ssha256//%s", i ? ";" : "",
				 o->pins[i]);

		off += (size_t)w;
	}
	err = transport_audit_open(&u->audit, o->audit_log);
	if (err)
		goto fail_free;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err = -EIO;
		goto fail_free;
	}
	u->curl = curl_easy_init();
	if (!u->curl) {
		curl_global_cleanup();
		err = -ENOMEM;
		goto fail_free;
	}
	return u;
fail_free:
	transport_audit_close(&u->audit);
	free(u);
fail:
	if (errp)
		*errp = err;
	return NULL;
}

void uploader_free(struct uploader *u)
{
	if (!u)
		return;
	if (u->curl) {
		curl_easy_cleanup(u->curl);
		curl_global_cleanup();
	}
	transport_audit_close(&u->audit);
	free(u);
}

/* Keeps the Retry-After value; every other response header is ignored. */
static size_t on_header(char *b, size_t size, size_t nitems, void *ud)
{
	struct uploader *u = ud;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";

	if (n > sizeof(name) - 1 && strncasecmp(b, name, sizeof(name) - 1) == 0) {
		size_t vlen = n - (sizeof(name) - 1);

		if (vlen >= sizeof(u->retry_after))
			vlen = sizeof(u->retry_after) - 1;
		memcpy(u->retry_after, b + sizeof(name) - 1, vlen);
		u->retry_after[vlen] = '\0';
	}
	return n;
}

/* The response body is not used (nor logged): discard it. */
static size_t on_body(char *b, size_t size, size_t nmemb, void *ud)
{
	(void)b;
	(void)ud;
	return size * nmemb;
}

/* One POST of gzip'd bytes to url, audited before and after (raw
 * exchanges, ctype not JSON, without a digest: transport_attempt_begin). */
static int post(struct uploader *u, const char *url, const char *ctype, const void *gz,
		size_t len, const struct batch_meta *m, struct upload_result *res)
{
	int raw = strcmp(ctype, "application/json") != 0;

	char hdr[UPLOADER_TOKEN_CAP + 32];
	struct transport_attempt at;
	struct curl_slist *h = NULL, *t;
	char *tok = NULL;
	CURL *c = u->curl;
	CURLcode cc;
	size_t i;
	int err = 0;

	memset(res, 0, sizeof(*res));
	if (u->o.token_file) {
		err = read_token(u->o.token_file, &tok);
		if (err)
			return err;
	}
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
	t = curl_slist_append(h, hdr);
	if (!t)
		goto nomem;
	h = t;
	static const char *const fixed[] = {
	    "Content-Encoding: gzip",
	    "Expect:",
	};
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		t = curl_slist_append(h, fixed[i]);
		if (!t)
			goto nomem;
		h = t;
	}
	snprintf(hdr, sizeof(hdr), "Idempotency-Key: %s", m->id);
	t = curl_slist_append(h, hdr);
	if (!t)
		goto nomem;
	h = t;
	snprintf(hdr, sizeof(hdr), "X-Apisonar-Batch-Id: %s", m->id);
	t = curl_slist_append(h, hdr);
	if (!t)
		goto nomem;
	h = t;
	if (tok) {
		snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
		t = curl_slist_append(h, hdr);
		OPENSSL_cleanse(hdr, sizeof(hdr));
		if (!t)
			goto nomem;
		h = t;
	}

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (u->o.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, u->o.ca_file);
	if (u->pins[0])
		curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, u->pins);
	if (u->o.client_cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, u->o.client_cert);
	if (u->o.client_key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, u->o.client_key);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(u->o.timeout_s ? u->o.timeout_s : 300));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "apisonar/" APISONAR_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, gz);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	if (u->o.max_rate)
		curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)u->o.max_rate);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, u);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, u);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, u->errbuf);
	u->retry_after[0] = '\0';
	u->errbuf[0] = '\0';

	/* No attempt leaves unrecorded: when the attempt line cannot be made
	 * durable the batch stays in the spool, as after a network error. */
	err = transport_attempt_begin(&u->audit, &at, url, NULL, raw, gz, len, m);
	if (err) {
		log_error("upload of batch %s not attempted: the audit log %s cannot record it",
			  m->id, u->audit.path);
		res->verdict = UPLOAD_RETRY;
		res->kind = "audit_log";
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
		goto cleanup;
	}
	cc = curl_easy_perform(c);
	/* The token lives in the header list only; wipe it before freeing. */
	for (t = h; t; t = t->next)
		OPENSSL_cleanse(t->data, strlen(t->data));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	h = NULL;

	res->curl_code = (int)cc;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->http_status);
		res->verdict = uploader_classify(res->http_status);
		res->kind = res->verdict == UPLOAD_DELIVERED ? "delivered" : "http_status";
		if (u->retry_after[0] && uploader_parse_retry_after(u->retry_after, time(NULL),
								    &res->retry_after_s) == 0)
			res->has_retry_after = 1;
	} else {
		res->verdict = UPLOAD_RETRY;
		res->kind = curl_kind(cc);
		log_warn("upload of batch %s to %s: %s: %s", m->id, url, curl_easy_strerror(cc),
			 u->errbuf[0] ? u->errbuf : "no detail");
	}
	switch (res->verdict) {
	case UPLOAD_DELIVERED:
		u->st.delivered++;
		u->st.bytes_sent += len;
		break;
	case UPLOAD_REJECTED:
		u->st.rejected++;
		break;
	default:
		u->st.retries++;
		break;
	}
	/* A failed result line is logged; the attempt line already stands. */
	transport_attempt_end(&u->audit, &at, res);
	goto cleanup;
nomem:
	err = -ENOMEM;
cleanup:
	for (t = h; t; t = t->next)
		OPENSSL_cleanse(t->data, strlen(t->data));
	curl_slist_free_all(h);
	if (tok) {
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	return err;
}

int uploader_send(struct uploader *u, const void *gz, size_t len, const struct batch_meta *m,
		  struct upload_result *res)
{
	const char *url = m->kind == BATCH_KIND_TEST_RESULTS ? u->results_url : u->url;

	return post(u, url, "application/json", gz, len, m, res);
}

int uploader_send_raw(struct uploader *u, const void *gz, size_t len, const char *id,
		      uint32_t exchanges, size_t json_len, struct upload_result *res)
{
	struct batch_meta m;

	memset(&m, 0, sizeof(m));
	snprintf(m.id, sizeof(m.id), "%s", id);
	m.endpoints = exchanges;
	m.json_len = json_len;
	return post(u, u->raw_url, UPLOADER_RAW_CTYPE, gz, len, &m, res);
}

void uploader_get_stats(const struct uploader *u, struct uploader_stats *out)
{
	if (!u) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = u->st;
}

uint64_t uploader_retry_delay_ms(unsigned *attempt, const struct upload_result *r,
				 uint64_t base_ms, uint64_t cap_ms)
{
	uint64_t delay = uploader_backoff_ms(*attempt, base_ms ? base_ms : UPLOADER_BACKOFF_BASE_MS,
					     cap_ms ? cap_ms : UPLOADER_BACKOFF_CAP_MS, rand_u64());

	if (*attempt < 63)
		(*attempt)++;
	if (r->has_retry_after && r->retry_after_s * 1000 > delay)
		delay = r->retry_after_s * 1000;
	return delay;
}

static int tr_send(void *ctx, const void *gz, size_t len, const struct batch_meta *m,
		   struct upload_result *res)
{
	return uploader_send(ctx, gz, len, m, res);
}

static void tr_sync(void *ctx)
{
	struct uploader *u = ctx;

	transport_audit_sync(&u->audit);
}

static void tr_stats(const void *ctx, struct uploader_stats *out)
{
	uploader_get_stats(ctx, out);
}

static const struct transport_ops https_ops = {
	.name = "https",
	.send = tr_send,
	.sync = tr_sync,
	.stats = tr_stats,
};

void uploader_transport(struct uploader *u, struct transport *out)
{
	transport_init(out, &https_ops, u, u->o.backoff_base_ms, u->o.backoff_cap_ms);
}

int uploader_drain(struct uploader *u, struct spool *sp, enum uploader_drain_mode mode,
		   volatile sig_atomic_t *stop)
{
	struct transport t;

	uploader_transport(u, &t);
	return transport_drain(&t, sp, mode, stop);
}
