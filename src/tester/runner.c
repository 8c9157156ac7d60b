// SPDX-License-Identifier: BSD-2-Clause
/*
 * The test runner (include/apisonar/tester/tester.h, docs/testing.md):
 * one request per test over libcurl's multi interface, up to --concurrency
 * at once and --rate a second, the credentials of the local file, results
 * stripped before anything keeps them. Collections are listed (as both
 * identities for object-level tests) before any test; requests that change
 * state go alone; each result has its place in plan order from the start,
 * so the order in which answers come back never shows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "apisonar/catalog/detect.h"
#include "apisonar/tester/tester.h"
#include "apisonar/transport/batch.h"
#include "apisonar/util/util.h"

#define RUN_MAX_IDS 16    /* object ids remembered per collection and identity */
#define RUN_MAX_ID_LEN 128
#define RUN_MAX_HARVEST 64
#define RUN_MAX_INFLIGHT 64 /* --concurrency's bound (cmd_test.c) */
#define RUN_URL_CAP 24576   /* a test's URL, with an oversized parameter */
#define RUN_INVALID_TOKEN "apisonar-invalid-credential-0000000000"
#define RUN_CONFUSED "apisonar'\"<>{}[]"

/* Object ids of one collection as one identity sees it: memory only. */
struct harvest {
	char coll[1100];
	int ident;
	char ids[RUN_MAX_IDS][RUN_MAX_ID_LEN];
	int n;
};

struct resp {
	long status;
	char *body;
	size_t len;
	size_t total;
	char media[128];
	cJSON *headers; /* name -> value, as received */
	double ms;
};

/* One request to make: a collection listed as an identity (h set) before
 * the tests, or a test's request (t and res set). */
struct job {
	struct harvest *h;
	const char *field; /* a collection's: the items' id field */
	const cJSON *t;
	cJSON *res;        /* the test's result, in plan order already */
	const char *method;
	char *url;         /* RUN_URL_CAP bytes; wiped and freed when the job ends */
	int ident;         /* an identity index, AS_NONE or AS_INVALID */
	bool alone;        /* changes state: nothing else on the wire meanwhile */
};

/* One request on the wire: its easy handle (kept for the next), the
 * header lines holding a credential, what comes back. */
struct xfer {
	CURL *easy;
	struct curl_slist *h; /* wiped when the transfer ends */
	char url[RUN_URL_CAP + 3 * TESTER_MAX_SECRET + 256]; /* with a query credential, escaped; wiped likewise */
	struct resp r;
	char errbuf[CURL_ERROR_SIZE];
	struct job *job;      /* NULL: the slot is free */
};

struct run {
	const struct tester_creds *c;
	const struct tester_run_opts *o;
	CURL *curl;   /* for curl_easy_escape */
	CURLM *multi; /* every transfer, up to o->concurrency at once */
	struct xfer x[RUN_MAX_INFLIGHT];
	int as, other;
	const char *secrets[2 * TESTER_MAX_IDENTITIES];
	size_t n_secrets;
	char basic_pairs[TESTER_MAX_IDENTITIES][2 * TESTER_MAX_SECRET];
	struct harvest h[RUN_MAX_HARVEST];
	int n_h;
	uint64_t next_ns; /* the rate limit's next slot */
	unsigned done, total; /* tests, for the progress line */
	struct tester_summary *sum;
};

/* ---- HTTP ---------------------------------------------------------------------- */

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = sz * n, take;

	r->total += len;
	take = r->len + len > TESTER_MAX_BODY ? TESTER_MAX_BODY - r->len : len;
	if (take) {
		memcpy(r->body + r->len, p, take);
		r->len += take;
		r->body[r->len] = '\0';
	}
	return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t len = sz * n, k, e = len;
	char name[128], *colon = memchr(p, ':', len);

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new response (after a 100 Continue): start over. */
		cJSON_Delete(r->headers);
		r->headers = cJSON_CreateObject();
		return len;
	}
	if (!colon || (size_t)(colon - p) >= sizeof(name) || !r->headers)
		return len;
	for (k = 0; p + k < colon; k++)
		name[k] = (char)((p[k] >= 'A' && p[k] <= 'Z') ? p[k] + 32 : p[k]);
	name[k] = '\0';
	colon++;
	while (colon < p + len && (*colon == ' ' || *colon == '\t'))
		colon++;
	while (e > 0 && (p[e - 1] == '\r' || p[e - 1] == '\n'))
		e--;
	if (colon <= p + e && !cJSON_GetObjectItemCaseSensitive(r->headers, name)) {
		char *v = strndup(colon, (size_t)(p + e - colon));

		if (v) {
			cJSON_AddStringToObject(r->headers, name, v);
			free(v);
		}
	}
	return len;
}

enum who { AS_NONE = -1, AS_INVALID = -2 };

/* The header lines (or the query parameter) that carry an identity's
 * credential. ident: an identity index, AS_NONE or AS_INVALID (the kind of
 * identity R->as with a made-up credential). */
static void add_credential(struct run *R, struct xfer *x, int ident)
{
	char line[2 * TESTER_MAX_SECRET + 64];
	const struct tester_identity *id;
	const char *secret;

	if (ident < 0 && ident != AS_INVALID)
		return;
	id = &R->c->id[ident >= 0 ? ident : R->as];
	secret = ident >= 0 ? id->secret : RUN_INVALID_TOKEN;
	switch (id->kind) {
	case TA_BEARER:
		snprintf(line, sizeof(line), "Authorization: Bearer %s", secret);
		x->h = curl_slist_append(x->h, line);
		break;
	case TA_HEADER:
		snprintf(line, sizeof(line), "%s: %s", id->param, secret);
		x->h = curl_slist_append(x->h, line);
		break;
	case TA_COOKIE:
		snprintf(line, sizeof(line), "Cookie: %s=%s", id->param, secret);
		x->h = curl_slist_append(x->h, line);
		break;
	case TA_BASIC: {
		char pair[TESTER_MAX_SECRET + 256], enc[(TESTER_MAX_SECRET + 256) / 3 * 4 + 8];

		snprintf(pair, sizeof(pair), "%s:%s", id->param, secret);
		EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)pair, (int)strlen(pair));
		snprintf(line, sizeof(line), "Authorization: Basic %s", enc);
		x->h = curl_slist_append(x->h, line);
		OPENSSL_cleanse(pair, sizeof(pair));
		OPENSSL_cleanse(enc, sizeof(enc));
		break;
	}
	case TA_QUERY: {
		char *e = curl_easy_escape(R->curl, secret, 0);
		size_t n = strlen(x->url);

		snprintf(x->url + n, sizeof(x->url) - n, "%c%s=%s", strchr(x->url, '?') ? '&' : '?',
			 id->param, e ? e : "");
		curl_free(e);
		break;
	}
	}
	OPENSSL_cleanse(line, sizeof(line));
}

/* Sets up a free slot's easy handle for job j and adds it to the multi
 * handle. The caller has waited for the rate limit. */
static int xfer_start(struct run *R, struct xfer *x, struct job *j)
{
	CURL *c;

	if (!x->easy)
		x->easy = curl_easy_init();
	memset(&x->r, 0, sizeof(x->r));
	x->r.body = calloc(1, TESTER_MAX_BODY + 1);
	x->r.headers = cJSON_CreateObject();
	if (!x->easy || !x->r.body || !x->r.headers)
		return -ENOMEM;
	c = x->easy;
	snprintf(x->url, sizeof(x->url), "%s", j->url);
	add_credential(R, x, j->ident);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, x->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (R->o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, R->o->ca_file);
	if (R->o->client_cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, R->o->client_cert);
	if (R->o->client_key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, R->o->client_key);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "apisonar-test/" APISONAR_VERSION);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, j->method);
	if (strcmp(j->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (strcmp(j->method, "POST") == 0 || strcmp(j->method, "PUT") == 0 ||
	    strcmp(j->method, "PATCH") == 0) {
		x->h = curl_slist_append(x->h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x->r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x->r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	x->errbuf[0] = '\0';
	x->job = j;
	if (curl_multi_add_handle(R->multi, c) != CURLM_OK) {
		x->job = NULL;
		return -EIO;
	}
	return 0;
}

/* What came back, once the transfer ended (cc); the credential's header
 * lines and the URL are wiped. 0 or -EIO when no response came. */
static int xfer_end(struct run *R, struct xfer *x, CURLcode cc)
{
	struct curl_slist *l;
	char *ct = NULL;
	double t = 0;

	if (x->job)
		curl_multi_remove_handle(R->multi, x->easy);
	if (x->easy)
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, NULL);
	for (l = x->h; l; l = l->next)
		OPENSSL_cleanse(l->data, strlen(l->data));
	curl_slist_free_all(x->h);
	x->h = NULL;
	OPENSSL_cleanse(x->url, sizeof(x->url));
	if (!x->job)
		return -ENOMEM; /* never on the wire */
	R->sum->requests++;
	if (cc != CURLE_OK)
		return -EIO;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->r.status);
	curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &t);
	x->r.ms = t * 1000.0;
	if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) {
		size_t i;

		for (i = 0; ct[i] && ct[i] != ';' && ct[i] != ' ' && i + 1 < sizeof(x->r.media); i++)
			x->r.media[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] + 32 : ct[i]);
		x->r.media[i] = '\0';
	}
	return 0;
}

static void resp_free(struct resp *r)
{
	if (r->body)
		OPENSSL_cleanse(r->body, r->len);
	free(r->body);
	cJSON_Delete(r->headers);
	memset(r, 0, sizeof(*r));
}

/* ---- request building ----------------------------------------------------------- */

/* A value of a declared type and format: no real data, ever. */
static const char *sample(const cJSON *in)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "type");
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(in, "format");
	const char *ty = cJSON_IsString(t) ? t->valuestring : "string";
	const char *fo = cJSON_IsString(f) ? f->valuestring : "";

	if (strcmp(ty, "integer") == 0)
		return "1";
	if (strcmp(ty, "number") == 0)
		return "1.5";
	if (strcmp(ty, "boolean") == 0)
		return "true";
	if (strcmp(fo, "uuid") == 0)
		return "00000000-0000-4000-8000-000000000001";
	if (strcmp(fo, "date") == 0)
		return "2026-01-01";
	if (strcmp(fo, "date-time") == 0)
		return "2026-01-01T00:00:00Z";
	return "apisonar";
}

static const struct harvest *harvest_find(const struct run *R, const char *coll, int ident)
{
	int i;

	for (i = 0; i < R->n_h; i++)
		if (R->h[i].ident == ident && strcmp(R->h[i].coll, coll) == 0)
			return &R->h[i];
	return NULL;
}

/* The URL of a test: the target, the template with its path parameters
 * filled (an id the identity listed when there is one), the required
 * query parameters; param (when set) gets value instead. */
static void build_url(struct run *R, const cJSON *t, const char *id_value, const char *param,
		      const char *value, char *out, size_t outlen)
{
	const char *p = cJSON_GetObjectItemCaseSensitive(t, "path")->valuestring;
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(t, "inputs");
	const cJSON *pin = cJSON_GetObjectItemCaseSensitive(in, "path");
	const cJSON *q;
	size_t o = (size_t)snprintf(out, outlen, "%s", R->o->target);
	char sep = '?';

	while (o > 0 && out[o - 1] == '/')
		out[--o] = '\0';
	while (*p && o + 1 < outlen) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			char name[256];
			const char *v;
			char *esc;

			if (!e)
				break;
			snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
			v = id_value && !strchr(e + 1, '{') ? id_value :
							      sample(cJSON_GetObjectItemCaseSensitive(pin, name));
			esc = curl_easy_escape(R->curl, v, 0);
			o += (size_t)snprintf(out + o, outlen - o, "%s", esc ? esc : "");
			curl_free(esc);
			p = e + 1;
			continue;
		}
		out[o++] = *p++;
		out[o] = '\0';
	}
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(in, "query")) {
		bool target = param && strcmp(q->string, param) == 0;
		char *esc;

		if (!target && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "required")))
			continue;
		esc = curl_easy_escape(R->curl, target ? value : sample(q), 0);
		if (o < outlen)
			o += (size_t)snprintf(out + o, outlen - o, "%c%s=%s", sep, q->string,
					      esc ? esc : "");
		curl_free(esc);
		sep = '&';
	}
	if (o >= outlen)
		out[outlen - 1] = '\0';
}

/* ---- results ------------------------------------------------------------------------ */

/* A string a result may keep: credentials, JWTs and detector matches out. */
static char *keepable(struct run *R, const char *s, size_t n)
{
	char *k = strndup(s, n), why[64];

	if (!k)
		return NULL;
	/* JWTs first: one may carry a credential in its payload. */
	R->sum->withheld += (unsigned)strip_jwts(&k);
	strip_secrets(&k, R->secrets, R->n_secrets);
	if (k && strip_withheld(k, why, sizeof(why))) {
		free(k);
		R->sum->withheld++;
		return strdup(why);
	}
	return k;
}

/* The request as the result records it: the template, query names only. */
static void result_request(cJSON *res, const cJSON *t, const char *who, const char *param)
{
	cJSON *rq = cJSON_AddObjectToObject(res, "request");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(t, "inputs"), *q;
	cJSON *qs;

	cJSON_AddStringToObject(rq, "identity", who);
	qs = cJSON_AddArrayToObject(rq, "query");
	cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(in, "query"))
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "required")) ||
		    (param && strcmp(param, q->string) == 0))
			cJSON_AddItemToArray(qs, cJSON_CreateString(q->string));
}

static void result_response(struct run *R, cJSON *res, const struct resp *r)
{
	cJSON *rs = cJSON_AddObjectToObject(res, "response"), *hs;
	const cJSON *it;
	char *b;

	cJSON_AddNumberToObject(rs, "status", (double)r->status);
	if (r->media[0])
		cJSON_AddStringToObject(rs, "media", r->media);
	hs = cJSON_AddObjectToObject(rs, "headers");
	cJSON_ArrayForEach(it, r->headers) {
		char *v;

		if (strcmp(it->string, "set-cookie") == 0 || strcmp(it->string, "authorization") == 0 ||
		    strcmp(it->string, "cookie") == 0) {
			cJSON_AddStringToObject(hs, it->string, "<withheld: cookie>");
			continue;
		}
		v = keepable(R, it->valuestring, strlen(it->valuestring));
		if (v) {
			char name[160];

			snprintf(name, sizeof(name), "%s", it->string);
			/* A header named by a credential (it happens) goes too. */
			{
				char *nm = strdup(name);

				if (nm && strip_secrets(&nm, R->secrets, R->n_secrets) == 0)
					cJSON_AddStringToObject(hs, name, v);
				free(nm);
			}
			free(v);
		}
	}
	b = keepable(R, r->body, r->len < TESTER_KEEP_BODY ? r->len : TESTER_KEEP_BODY);
	if (b)
		cJSON_AddStringToObject(rs, "body", b);
	free(b);
	cJSON_AddNumberToObject(rs, "body_size", (double)r->total);
	cJSON_AddNumberToObject(res, "duration_ms", (double)(long)(r->ms * 1000) / 1000.0);
}

static bool status_ok(const cJSON *expect, long status)
{
	const cJSON *it;
	char code[8];

	snprintf(code, sizeof(code), "%ld", status);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(expect, "status")) {
		if (strcmp(it->valuestring, code) == 0)
			return true;
		if (strlen(it->valuestring) == 3 && strcmp(it->valuestring + 1, "XX") == 0 &&
		    it->valuestring[0] == code[0])
			return true;
	}
	return false;
}

/* Sensitive classes a body carries, each once. */
static void body_classes(const char *s, size_t n, cJSON *out)
{
	unsigned int mask = DETECT_SCAN_DEFAULT_MASK;
	enum detect_class c;
	int k;

	for (k = 0; k < DC__COUNT && detect_scan_ex(s, n, mask, &c); k++) {
		cJSON_AddItemToArray(out, cJSON_CreateString(detect_class_name(c)));
		mask &= ~DETECT_CLASS_BIT(c);
	}
}

static bool in_set(const cJSON *set, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, set)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

/* The schema test's verdict: the status, media type and top-level types
 * the catalog saw succeed. NULL when it conforms. */
static const char *schema_verdict(const cJSON *expect, const struct resp *r, char *buf,
				  size_t buflen)
{
	const cJSON *media = cJSON_GetObjectItemCaseSensitive(expect, "media");
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(expect, "fields"), *f;
	cJSON *body;

	if (!status_ok(expect, r->status)) {
		snprintf(buf, buflen, "status %ld, the catalog saw only other successes", r->status);
		return buf;
	}
	if (cJSON_GetArraySize(media) && !in_set(media, r->media[0] ? r->media : "none")) {
		snprintf(buf, buflen, "media type %s, the catalog saw others", r->media[0] ? r->media : "none");
		return buf;
	}
	if (!fields || strcmp(r->media, "application/json") != 0)
		return NULL;
	body = cJSON_ParseWithLength(r->body, r->len);
	if (!body) {
		snprintf(buf, buflen, "the JSON body does not parse");
		return buf;
	}
	cJSON_ArrayForEach(f, fields) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, f->string);
		const char *ty;

		if (!v)
			continue;
		ty = cJSON_IsString(v) ? "string" :
		     cJSON_IsBool(v)   ? "boolean" :
		     cJSON_IsNull(v)   ? "null" :
		     cJSON_IsArray(v)  ? "array" :
		     cJSON_IsObject(v) ? "object" :
		     v->valuedouble == (double)(long long)v->valuedouble ? "integer" :
								    "number";
		if (!in_set(f, ty) && !(strcmp(ty, "integer") == 0 && in_set(f, "number"))) {
			snprintf(buf, buflen, "field '%s' is %s, the catalog saw another type",
				 f->string, ty);
			cJSON_Delete(body);
			return buf;
		}
	}
	cJSON_Delete(body);
	return NULL;
}

/* ---- object ids (memory only) --------------------------------------------------------- */

static void ids_from(const cJSON *v, const char *field, struct harvest *h, int depth)
{
	const cJSON *it;

	if (!v || depth > 3)
		return;
	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(it, v) {
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, field);

			if (h->n >= RUN_MAX_IDS)
				return;
			if (cJSON_IsString(id) && strlen(id->valuestring) < RUN_MAX_ID_LEN)
				snprintf(h->ids[h->n++], RUN_MAX_ID_LEN, "%s", id->valuestring);
			else if (cJSON_IsNumber(id))
				snprintf(h->ids[h->n++], RUN_MAX_ID_LEN, "%.0f", id->valuedouble);
		}
		return;
	}
	cJSON_ArrayForEach(it, v)
		if (cJSON_IsArray(it)) {
			ids_from(it, field, h, depth + 1);
			return;
		}
}

/* ---- one test ------------------------------------------------------------------------------ */

static const char *ident_name(const struct run *R, int ident)
{
	return ident >= 0 ? R->c->id[ident].name : ident == AS_NONE ? "none" : "invalid";
}

static void progress(struct run *R)
{
	R->done++;
	if (!R->o->progress)
		return;
	fprintf(R->o->progress, "\r%u/%u tests, %u findings, %u requests", R->done, R->total,
		R->sum->findings, R->sum->requests);
	fflush(R->o->progress);
}

static void outcome(struct run *R, cJSON *res, const char *what, const char *text)
{
	cJSON_AddStringToObject(res, "outcome", what);
	if (text)
		cJSON_AddStringToObject(res, strcmp(what, "finding") == 0 ? "finding" : "reason", text);
	if (strcmp(what, "pass") == 0)
		R->sum->passed++;
	else if (strcmp(what, "finding") == 0)
		R->sum->findings++;
	else if (strcmp(what, "skipped") == 0)
		R->sum->skipped++;
	else
		R->sum->errors++;
	progress(R);
}

/* The id an item request uses: for the object-level test, an object the
 * other identity lists and the ordinary one does not; else one the
 * ordinary identity listed. Both lists were made before any test ran.
 * NULL for bola when there is none. */
static const char *pick_id(struct run *R, const cJSON *t, const char *kind, const char *path)
{
	const struct harvest *mine, *theirs;
	char coll[1100];
	int i, j;

	if (strcmp(kind, "bola") != 0) {
		const char *slash = strrchr(path, '/');

		snprintf(coll, sizeof(coll), "%.*s", slash ? (int)(slash - path) : 0, path);
		mine = harvest_find(R, coll, R->as);
		return mine && mine->n ? mine->ids[0] : NULL;
	}
	snprintf(coll, sizeof(coll), "%s",
		 cJSON_GetObjectItemCaseSensitive(t, "collection")->valuestring);
	theirs = harvest_find(R, coll, R->other);
	mine = harvest_find(R, coll, R->as);
	for (i = 0; theirs && i < theirs->n; i++) {
		bool shared = false;

		for (j = 0; mine && j < mine->n; j++)
			if (strcmp(mine->ids[j], theirs->ids[i]) == 0)
				shared = true;
		if (!shared)
			return theirs->ids[i];
	}
	return NULL;
}

/* Everything a test decides before its request: skips, the dry run, the
 * identity, the URL. Returns 1 with j filled when a request is to be
 * made, 0 when the outcome is already in res. */
static int test_prepare(struct run *R, const cJSON *t, cJSON *res, struct job *j)
{
	const char *kind = cJSON_GetObjectItemCaseSensitive(t, "kind")->valuestring;
	const char *method = cJSON_GetObjectItemCaseSensitive(t, "method")->valuestring;
	const char *path = cJSON_GetObjectItemCaseSensitive(t, "path")->valuestring;
	const cJSON *pj = cJSON_GetObjectItemCaseSensitive(t, "param");
	const char *param = cJSON_IsString(pj) ? pj->valuestring : NULL;
	const char *value = NULL, *id_value = NULL;
	char *big = NULL;
	int ident = R->as;

	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "writes")) && !R->o->allow_writes) {
		outcome(R, res, "skipped", "changes state: run with --allow-writes");
		return 0;
	}
	if (strcmp(kind, "auth-required") == 0)
		ident = AS_NONE;
	else if (strcmp(kind, "auth-invalid") == 0)
		ident = AS_INVALID;
	if (ident == AS_INVALID && R->c->n == 0) {
		outcome(R, res, "skipped", "needs an identity in the credentials file");
		return 0;
	}
	if (R->o->dry_run) {
		result_request(res, t, ident_name(R, ident), param);
		fprintf(R->o->dry, "%s %s%s [%s]%s%s\n", method, R->o->target, path,
			ident_name(R, ident), param ? " " : "", param ? kind : "");
		outcome(R, res, "skipped", "dry run");
		return 0;
	}
	if (strcmp(kind, "bola") == 0 && R->other < 0) {
		outcome(R, res, "skipped", "needs two identities in the credentials file");
		return 0;
	}
	id_value = pick_id(R, t, kind, path);
	if (strcmp(kind, "bola") == 0 && !id_value) {
		outcome(R, res, "skipped", "the other identity lists no object of its own");
		return 0;
	}
	if (strcmp(kind, "input-type") == 0) {
		value = RUN_CONFUSED;
	} else if (strcmp(kind, "input-oversize") == 0) {
		big = malloc(TESTER_OVERSIZE + 1);
		if (big) {
			memset(big, 'A', TESTER_OVERSIZE);
			big[TESTER_OVERSIZE] = '\0';
		}
		value = big;
	}
	j->url = malloc(RUN_URL_CAP);
	if (!j->url || (strcmp(kind, "input-oversize") == 0 && !big)) {
		free(j->url);
		free(big);
		j->url = NULL;
		outcome(R, res, "error", "out of memory");
		return 0;
	}
	build_url(R, t, id_value, param, value, j->url, RUN_URL_CAP);
	free(big);
	result_request(res, t, ident_name(R, ident), param);
	j->t = t;
	j->res = res;
	j->method = method;
	j->ident = ident;
	/* State changes happen alone, between the same requests whatever the
	 * concurrency: results stay those of a run one at a time. */
	j->alone = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "writes")) ||
		   (strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS"));
	return 1;
}

/* The verdict of a test from its response (rc 0) or its failure. */
static void test_finish(struct run *R, struct job *j, int rc, const struct resp *r,
			const char *errtext)
{
	const cJSON *t = j->t;
	const char *kind = cJSON_GetObjectItemCaseSensitive(t, "kind")->valuestring;
	const cJSON *expect = cJSON_GetObjectItemCaseSensitive(t, "expect");
	cJSON *res = j->res;
	char text[512];

	if (rc) {
		snprintf(text, sizeof(text), "request failed: %s", errtext[0] ? errtext : "error");
		outcome(R, res, "error", text);
		return;
	}
	result_response(R, res, r);
	if (strcmp(kind, "auth-required") == 0 || strcmp(kind, "auth-invalid") == 0) {
		if (r->status / 100 == 2 || r->status / 100 == 3) {
			snprintf(text, sizeof(text), "answered %ld %s", r->status,
				 j->ident == AS_NONE ? "without credentials" : "to an invalid credential");
			outcome(R, res, "finding", text);
		} else {
			outcome(R, res, "pass", NULL);
		}
	} else if (strcmp(kind, "bola") == 0) {
		if (r->status / 100 == 2) {
			snprintf(text, sizeof(text),
				 "identity %s read an object that only identity %s lists (status %ld)",
				 R->c->id[R->as].name, R->c->id[R->other].name, r->status);
			outcome(R, res, "finding", text);
		} else {
			outcome(R, res, "pass", NULL);
		}
	} else if (strcmp(kind, "method") == 0 || strncmp(kind, "input-", 6) == 0) {
		if (r->status >= 500 || (strcmp(kind, "method") == 0 && r->status / 100 == 2)) {
			snprintf(text, sizeof(text), "%s answered %ld",
				 strcmp(kind, "method") == 0 ? "an unlisted method" :
				 strcmp(kind, "input-type") == 0 ? "a type-confused parameter" :
								   "an oversized parameter",
				 r->status);
			outcome(R, res, "finding", text);
		} else {
			outcome(R, res, "pass", NULL);
		}
	} else if (strcmp(kind, "schema") == 0) {
		const char *v = schema_verdict(expect, r, text, sizeof(text));

		outcome(R, res, v ? "finding" : "pass", v);
	} else if (strcmp(kind, "sensitive") == 0) {
		cJSON *found = cJSON_CreateArray(), *it;
		const cJSON *known = cJSON_GetObjectItemCaseSensitive(expect, "sensitive");
		size_t o = 0;

		body_classes(r->body, r->len, found);
		text[0] = '\0';
		cJSON_ArrayForEach(it, found)
			if (!in_set(known, it->valuestring))
				o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%s", o ? ", " : "",
						      it->valuestring);
		if (o) {
			char msg[600];

			snprintf(msg, sizeof(msg), "the response carries %s, which the catalog never saw here",
				 text);
			outcome(R, res, "finding", msg);
		} else {
			outcome(R, res, "pass", NULL);
		}
		cJSON_Delete(found);
	} else {
		outcome(R, res, "error", "unknown kind");
	}
}

/* A listed collection keeps the ids of its items (memory only). */
static void harvest_finish(struct job *j, int rc, const struct resp *r)
{
	cJSON *body;

	if (rc || r->status / 100 != 2)
		return;
	body = cJSON_ParseWithLength(r->body, r->len);
	ids_from(body, j->field, j->h, 0);
	cJSON_Delete(body);
}

static void job_finish(struct run *R, struct job *j, int rc, const struct resp *r,
		       const char *errtext)
{
	if (j->h)
		harvest_finish(j, rc, r);
	else
		test_finish(R, j, rc, r, errtext);
	if (j->url) {
		OPENSSL_cleanse(j->url, strlen(j->url));
		free(j->url);
		j->url = NULL;
	}
}

/* A collection to list as ident before the tests, once. */
static void harvest_add(struct run *R, struct job *jobs, size_t *n, const char *coll,
			const char *field, int ident)
{
	struct harvest *h;

	if (ident < 0 || harvest_find(R, coll, ident) || R->n_h >= RUN_MAX_HARVEST)
		return;
	h = &R->h[R->n_h++];
	memset(h, 0, sizeof(*h));
	snprintf(h->coll, sizeof(h->coll), "%s", coll);
	h->ident = ident;
	memset(&jobs[*n], 0, sizeof(jobs[*n]));
	jobs[*n].url = malloc(RUN_URL_CAP);
	if (!jobs[*n].url)
		return; /* not listed: its item tests use samples */
	snprintf(jobs[*n].url, RUN_URL_CAP, "%s%s", R->o->target, coll);
	jobs[*n].h = h;
	jobs[*n].field = field;
	jobs[*n].method = "GET";
	jobs[*n].ident = ident;
	(*n)++;
}

/* Every collection an item test needs, as the ordinary identity, and for
 * object-level tests as the other identity too: B's objects are known
 * before A asks for any of them. */
static size_t plan_harvests(struct run *R, const cJSON *plan, struct job *jobs)
{
	const cJSON *t;
	size_t n = 0;

	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(plan, "tests")) {
		const cJSON *coll = cJSON_GetObjectItemCaseSensitive(t, "collection");
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(t, "id_field");
		const char *kind = cJSON_GetObjectItemCaseSensitive(t, "kind")->valuestring;

		if (!cJSON_IsString(coll) || !cJSON_IsString(f))
			continue;
		harvest_add(R, jobs, &n, coll->valuestring, f->valuestring, R->as);
		if (strcmp(kind, "bola") == 0)
			harvest_add(R, jobs, &n, coll->valuestring, f->valuestring, R->other);
	}
	return n;
}

/* ---- the wire: up to --concurrency requests at once, at --rate ---------------------------- */

static struct xfer *free_slot(struct run *R)
{
	unsigned i;

	for (i = 0; i < R->o->concurrency && i < RUN_MAX_INFLIGHT; i++)
		if (!R->x[i].job)
			return &R->x[i];
	return NULL;
}

/* Starts job j now, or finishes it as an error when it cannot start. */
static void start_or_fail(struct run *R, struct job *j, unsigned *inflight)
{
	struct xfer *x = free_slot(R);
	struct resp none = { 0 };
	int rc;

	if (!x) { /* inflight < concurrency: cannot happen */
		job_finish(R, j, -EBUSY, &none, "no free transfer");
		return;
	}
	rc = xfer_start(R, x, j);
	if (rc == 0) {
		(*inflight)++;
		return;
	}
	(void)xfer_end(R, x, CURLE_OK);
	job_finish(R, j, rc, &x->r, rc == -ENOMEM ? "out of memory" : "cannot start");
	resp_free(&x->r);
}

/* Runs jobs, handing each to job_finish as it completes (any order: what
 * a job writes is its own). Each start waits for the rate limit's slot;
 * a job that changes state waits for the wire to be empty and keeps it
 * to itself until it ends. */
static void run_jobs(struct run *R, struct job *jobs, size_t n)
{
	uint64_t gap = (uint64_t)(1e9 / R->o->rate);
	unsigned inflight = 0;
	size_t next = 0;
	bool alone = false;

	while (next < n || inflight > 0) {
		uint64_t now = now_mono_ns();
		long wait_ms = 1000;
		int running = 0, left = 0, ended = 0;
		CURLMsg *msg;

		while (next < n && !alone && inflight < R->o->concurrency &&
		       !(jobs[next].alone && inflight > 0)) {
			if (R->next_ns > now) {
				wait_ms = (long)((R->next_ns - now) / 1000000u) + 1;
				break;
			}
			R->next_ns = now + gap;
			alone = jobs[next].alone;
			start_or_fail(R, &jobs[next++], &inflight);
			if (alone && inflight == 0)
				alone = false; /* it failed to start */
		}
		curl_multi_perform(R->multi, &running);
		while ((msg = curl_multi_info_read(R->multi, &left))) {
			struct xfer *x = NULL;
			struct job *j;
			int rc;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			j = x->job;
			rc = xfer_end(R, x, msg->data.result);
			x->job = NULL;
			job_finish(R, j, rc, &x->r, x->errbuf);
			resp_free(&x->r);
			if (j->alone)
				alone = false;
			inflight--;
			ended++;
		}
		if (!ended && (next < n || inflight > 0))
			curl_multi_poll(R->multi, NULL, 0, (int)wait_ms, NULL);
	}
}

static int ident_index(const struct tester_creds *c, const char *name)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->id[i].name, name) == 0)
			return i;
	return -1;
}

/* The identities of ordinary and object-level requests, and every secret
 * the results must not carry. */
static int run_identities(struct run *R, const struct tester_creds *c,
			  const struct tester_run_opts *o, char *err, size_t errlen)
{
	int i;

	R->as = c->n ? 0 : -1;
	R->other = c->n > 1 ? 1 : -1;
	if (o->as) {
		R->as = ident_index(c, o->as);
		if (R->as < 0) {
			snprintf(err, errlen, "--as %s: no such identity in the credentials file",
				 o->as);
			return -EINVAL;
		}
	}
	if (o->other) {
		R->other = ident_index(c, o->other);
		if (R->other < 0) {
			snprintf(err, errlen, "--other %s: no such identity in the credentials file",
				 o->other);
			return -EINVAL;
		}
	} else if (R->other == R->as) {
		R->other = c->n > 1 ? (R->as == 0 ? 1 : 0) : -1;
	}
	for (i = 0; i < c->n; i++) {
		R->secrets[R->n_secrets++] = c->id[i].secret;
		if (c->id[i].kind == TA_BASIC) {
			snprintf(R->basic_pairs[i], sizeof(R->basic_pairs[i]), "%s:%s", c->id[i].param,
				 c->id[i].secret);
			R->secrets[R->n_secrets++] = R->basic_pairs[i];
		}
	}
	return 0;
}

/* A result per test, in plan order, each filled when its request ends:
 * the order of completion never shows. */
static int run_tests(struct run *R, const cJSON *plan, cJSON *arr)
{
	const cJSON *t;
	struct job *jobs = calloc((size_t)R->total + 1, sizeof(*jobs));
	size_t n = 0;

	if (!jobs)
		return -ENOMEM;
	cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(plan, "tests")) {
		cJSON *res = cJSON_CreateObject();

		if (!res) {
			free(jobs);
			return -ENOMEM;
		}
		cJSON_AddStringToObject(res, "id", cJSON_GetObjectItemCaseSensitive(t, "id")->valuestring);
		cJSON_AddStringToObject(res, "kind", cJSON_GetObjectItemCaseSensitive(t, "kind")->valuestring);
		cJSON_AddStringToObject(res, "method",
					cJSON_GetObjectItemCaseSensitive(t, "method")->valuestring);
		cJSON_AddStringToObject(res, "path", cJSON_GetObjectItemCaseSensitive(t, "path")->valuestring);
		cJSON_AddItemToArray(arr, res);
		R->sum->tests++;
		if (test_prepare(R, t, res, &jobs[n]))
			n++;
	}
	run_jobs(R, jobs, n);
	free(jobs);
	return 0;
}

/* The last guard: nothing a detector matches, no credential. */
static int last_guard(struct run *R, const cJSON *doc, char *err, size_t errlen)
{
	char *text = cJSON_PrintUnformatted(doc), *copy;
	enum detect_class first;
	size_t hits;

	if (!text)
		return -ENOMEM;
	copy = strdup(text);
	hits = copy ? strip_secrets(&copy, R->secrets, R->n_secrets) : 1;
	free(copy);
	if (hits || detect_scan(text, strlen(text), &first)) {
		snprintf(err, errlen, "the results failed the last guard (%s); nothing was written",
			 hits ? "a credential" : detect_class_name(first));
		free(text);
		return -EPERM;
	}
	free(text);
	return 0;
}

int tester_run(const cJSON *plan, const struct tester_creds *c, const struct tester_run_opts *o,
	       cJSON **results, struct tester_summary *sum, char *err, size_t errlen)
{
	struct run *R = calloc(1, sizeof(*R));
	struct job harvests[RUN_MAX_HARVEST];
	cJSON *doc = NULL, *arr;
	char id[BATCH_ID_LEN + 1];
	unsigned i;
	int rc;

	memset(sum, 0, sizeof(*sum));
	if (!R)
		return -ENOMEM;
	R->c = c;
	R->o = o;
	R->sum = sum;
	rc = run_identities(R, c, o, err, errlen);
	if (rc)
		goto out;
	R->curl = curl_easy_init();
	R->multi = curl_multi_init();
	doc = cJSON_CreateObject();
	if (!R->curl || !R->multi || !doc) {
		rc = -ENOMEM;
		goto out;
	}
	cJSON_AddStringToObject(doc, "schema", "apisonar.testresults/v1");
	/* The satellite stores results once per id; the spool and the
	 * uploader's idempotency key are the same id. */
	if (batch_uuid4(id)) {
		rc = -EIO;
		goto out;
	}
	cJSON_AddStringToObject(doc, "id", id);
	cJSON_AddStringToObject(doc, "service",
				cJSON_GetObjectItemCaseSensitive(plan, "service")->valuestring);
	arr = cJSON_AddArrayToObject(doc, "results");
	R->total = (unsigned)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(plan, "tests"));
	/* Collections are listed first, so item tests (and object-level ones,
	 * which need the other identity's objects) can use ids. */
	if (!o->dry_run)
		run_jobs(R, harvests, plan_harvests(R, plan, harvests));
	rc = run_tests(R, plan, arr);
	if (o->progress)
		fputc('\n', o->progress);
	if (!rc)
		rc = last_guard(R, doc, err, errlen);
	if (!rc) {
		*results = doc;
		doc = NULL;
	} else if (rc == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	}
out:
	cJSON_Delete(doc);
	for (i = 0; i < RUN_MAX_INFLIGHT; i++)
		if (R->x[i].easy)
			curl_easy_cleanup(R->x[i].easy);
	if (R->multi)
		curl_multi_cleanup(R->multi);
	if (R->curl)
		curl_easy_cleanup(R->curl);
	OPENSSL_cleanse(R, sizeof(*R));
	free(R);
	return rc;
}
