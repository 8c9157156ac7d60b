// SPDX-License-Identifier: BSD-2-Clause
/*
 * Exchange file reader: JSON lines (line by line, each line capped) and HAR
 * 1.2 (the whole document, capped, parsed with cJSON, entries handed out and
 * freed one at a time). Rebuilds struct as_exchange exactly from what
 * xio_write.c writes, and as well as it can from browsers' HAR files.
 *
 * A bad record is skipped and counted. Error text is fixed strings and
 * numbers only: never a byte of the input, which holds captured values.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apisonar/exchange/xio.h"
#include "apisonar/util/util.h"

#define XIO_CHUNK (64 * 1024) /* bytes read from the stream at a time */

/* What became of one record (besides 0: an exchange). */
enum rec_result {
	REC_MALFORMED = 1,
	REC_TOO_BIG,
	REC_NO_REQUEST,
};

struct xio_reader {
	FILE *in;	     /* not owned */
	enum xio_format fmt; /* AUTO until sniffed, then JSONL or HAR */
	size_t max_line;     /* JSONL: longest record, XIO_MAX_LINE by default */
	size_t max_har;	     /* HAR: largest document, XIO_MAX_HAR by default */

	unsigned char *chunk; /* read-ahead buffer of XIO_CHUNK bytes */
	size_t pos, end;      /* unread bytes are chunk[pos..end) */
	bool eof;

	char *line; /* current JSONL record, NUL-terminated */
	size_t line_len, line_cap;
	bool line_too_long; /* discarding the rest of an over-long line */

	bool har_loaded; /* the document is parsed */
	cJSON *entries;	 /* HAR: entries not handed out yet */

	int fatal;     /* 0, or the negative errno of a fatal error */
	char err[128]; /* fixed text and numbers only */
	struct xio_read_stats st;
};

struct xio_reader *xio_reader_new(FILE *in, enum xio_format fmt)
{
	struct xio_reader *r;

	if (!in || (fmt != XIO_AUTO && fmt != XIO_JSONL && fmt != XIO_HAR))
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->chunk = malloc(XIO_CHUNK);
	if (!r->chunk) {
		free(r);
		return NULL;
	}
	r->in = in;
	r->fmt = fmt;
	r->max_line = XIO_MAX_LINE;
	r->max_har = XIO_MAX_HAR;
	return r;
}

void xio_reader_set_limits(struct xio_reader *r, size_t max_line, size_t max_har)
{
	if (max_line && max_line < XIO_MAX_LINE)
		r->max_line = max_line;
	if (max_har && max_har < XIO_MAX_HAR)
		r->max_har = max_har;
}

void xio_reader_free(struct xio_reader *r)
{
	if (!r)
		return;
	cJSON_Delete(r->entries);
	free(r->line);
	free(r->chunk);
	free(r);
}

void xio_reader_stats(const struct xio_reader *r, struct xio_read_stats *st)
{
	*st = r->st;
}

const char *xio_reader_error(const struct xio_reader *r)
{
	return r->err;
}

enum xio_format xio_reader_format(const struct xio_reader *r)
{
	return r->fmt;
}

/* Records a fatal error; fmt must never be given input bytes. */
__attribute__((format(printf, 3, 4))) static int fail(struct xio_reader *r, int err,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->fatal = err;
	return err;
}

/* Refills the read-ahead buffer when it is empty. 0, or a fatal error. */
static int fill(struct xio_reader *r)
{
	size_t n;

	if (r->pos < r->end || r->eof)
		return 0;
	n = fread(r->chunk, 1, XIO_CHUNK, r->in);
	r->pos = 0;
	r->end = n;
	if (n == 0) {
		if (ferror(r->in))
			return fail(r, -EIO, "read error on the input");
		r->eof = true;
	}
	return 0;
}

/* AUTO: '{' then the key "log" (after an optional BOM and whitespace) is a
 * HAR document; anything else JSON lines. Looks at the first chunk only. */
static int sniff(struct xio_reader *r)
{
	const unsigned char *p, *e;
	int err = fill(r);

	if (err)
		return err;
	p = r->chunk + r->pos;
	e = r->chunk + r->end;
	r->fmt = XIO_JSONL;
	if (e - p >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		p += 3;
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p == e || *p != '{')
		return 0;
	p++;
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (e - p >= 5 && memcmp(p, "\"log\"", 5) == 0)
		r->fmt = XIO_HAR;
	return 0;
}

/* ---- JSON field helpers -------------------------------------------------- */

/* An optional non-negative integer no larger than max. 0 when absent (and
 * *out untouched), REC_MALFORMED on a wrong type or value. */
static int get_uint(const cJSON *o, const char *key, uint64_t max, uint64_t *out)
{
	const cJSON *v = json_get(o, key);
	double d;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v))
		return REC_MALFORMED;
	d = v->valuedouble;
	if (!isfinite(d) || d < 0 || d > (double)max || d != (double)(uint64_t)d)
		return REC_MALFORMED;
	*out = (uint64_t)d;
	return 0;
}

/* An optional string; NULL in *out when absent. */
static int get_str(const cJSON *o, const char *key, const char **out)
{
	const cJSON *v = json_get(o, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return REC_MALFORMED;
	*out = v->valuestring;
	return 0;
}

static int get_bool(const cJSON *o, const char *key, bool *out)
{
	const cJSON *v = json_get(o, key);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v))
		return REC_MALFORMED;
	*out = cJSON_IsTrue(v);
	return 0;
}

/* Milliseconds (a number >= 0) into nanoseconds; absent is 0. Negative
 * values (HAR's -1, "not known") count as absent. */
static int get_ms(const cJSON *o, const char *key, uint64_t *ns)
{
	const cJSON *v = json_get(o, key);
	double d;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v))
		return REC_MALFORMED;
	d = v->valuedouble;
	if (!isfinite(d) || d > 1e12) /* about 31 years */
		return REC_MALFORMED;
	if (d >= 0)
		*ns = (uint64_t)(d * 1e6 + 0.5); /* no libm in the link */
	return 0;
}

/* A JSONL byte string: a JSON string, or {"base64": "..."} for bytes that
 * are not UTF-8. NUL-terminated copy in *out. */
static int get_bytes(const cJSON *v, unsigned char **out, size_t *len)
{
	const cJSON *b;
	int err;

	if (cJSON_IsString(v) && v->valuestring) {
		*len = strlen(v->valuestring);
		*out = (unsigned char *)strdup(v->valuestring);
		return *out ? 0 : -ENOMEM;
	}
	if (!cJSON_IsObject(v))
		return REC_MALFORMED;
	b = json_get(v, "base64");
	if (!cJSON_IsString(b) || !b->valuestring)
		return REC_MALFORMED;
	err = xio_base64_decode(b->valuestring, strlen(b->valuestring), out, len);
	if (err == -EINVAL)
		return REC_MALFORMED;
	return err;
}

/* A byte string that must hold no NUL (names, values, method, target),
 * set into *dst. */
static int get_cstr(const cJSON *v, char **dst)
{
	unsigned char *b = NULL;
	size_t len = 0;
	int err = get_bytes(v, &b, &len);

	if (err)
		return err;
	if (memchr(b, 0, len)) {
		free(b);
		return REC_MALFORMED;
	}
	free(*dst);
	*dst = (char *)b;
	return 0;
}

/* Copies s into a fixed char array of size cap, or REC_MALFORMED when it
 * does not fit. */
static int set_fixed(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap || memchr(s, 0, len))
		return REC_MALFORMED;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* The same byte string as get_cstr, without a copy when it is a plain JSON
 * string (the common case: header names and values are copied once more by
 * as_msg_add_header anyway). *s points into v or into *owned, which the
 * caller frees (NULL when nothing was allocated). */
static int get_cview(const cJSON *v, const char **s, size_t *len, unsigned char **owned)
{
	unsigned char *b = NULL;
	int err;

	*owned = NULL;
	if (cJSON_IsString(v) && v->valuestring) {
		/* A cJSON string holds no NUL: nothing to refuse. */
		*s = v->valuestring;
		*len = strlen(v->valuestring);
		return 0;
	}
	err = get_bytes(v, &b, len);
	if (err)
		return err;
	if (memchr(b, 0, *len)) {
		free(b);
		return REC_MALFORMED;
	}
	*owned = b;
	*s = (const char *)b;
	return 0;
}

static int get_role(const cJSON *o, enum as_role *role)
{
	const char *s;
	int err = get_str(o, "role", &s);

	if (err || !s)
		return err;
	if (strcmp(s, "server") == 0)
		*role = AS_ROLE_SERVER;
	else if (strcmp(s, "client") == 0)
		*role = AS_ROLE_CLIENT;
	else
		*role = AS_ROLE_UNKNOWN;
	return 0;
}

/* {addr, port} into a fixed address buffer and a port. */
static int get_endpoint(const cJSON *o, const char *key, char *addr, uint16_t *port)
{
	const cJSON *v = json_get(o, key);
	unsigned char *b = NULL;
	const char *a;
	uint64_t p = 0;
	size_t len = 0;
	int err;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return REC_MALFORMED;
	err = get_uint(v, "port", 65535, &p);
	if (err)
		return err;
	*port = (uint16_t)p;
	v = json_get(v, "addr");
	if (!v || cJSON_IsNull(v))
		return 0;
	err = get_cview(v, &a, &len, &b);
	if (err)
		return err;
	err = set_fixed(addr, AS_ADDR_LEN, a, len);
	free(b);
	return err;
}

static int get_comm(const cJSON *o, char *comm)
{
	const cJSON *v = json_get(o, "comm");
	unsigned char *b = NULL;
	const char *c;
	size_t len = 0;
	int err;

	if (!v || cJSON_IsNull(v))
		return 0;
	/* A plain string is read in place; a base64 form is decoded (a NUL
	 * past the cut below is allowed, as it always was). */
	if (cJSON_IsString(v) && v->valuestring) {
		c = v->valuestring;
		len = strlen(c);
	} else {
		err = get_bytes(v, &b, &len);
		if (err)
			return err;
		c = (const char *)b;
	}
	/* The kernel keeps 15 bytes; a longer name is cut, not refused. */
	if (len >= AS_COMM_LEN)
		len = AS_COMM_LEN - 1;
	err = set_fixed(comm, AS_COMM_LEN, c, len);
	free(b);
	return err;
}

/* The process's Kubernetes identity ("identity": namespace, kind,
 * workload, container; each optional), as the daemon found it: names, no
 * values. The anonymizer checks them before it uses any. */
#define XIO_MAX_IDENTITY 253
static int get_identity(const cJSON *o, struct as_identity *id)
{
	static const char *const keys[] = { "namespace", "kind", "workload", "container" };
	char **dst[] = { &id->ns, &id->kind, &id->workload, &id->container };
	const cJSON *v = json_get(o, "identity");
	size_t i;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return REC_MALFORMED;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *s;
		int err = get_str(v, keys[i], &s);

		if (err)
			return err;
		if (!s)
			continue;
		if (strlen(s) > XIO_MAX_IDENTITY)
			return REC_MALFORMED;
		if (as_strset(dst[i], s, strlen(s)))
			return -ENOMEM;
	}
	return 0;
}

static int get_flags(const cJSON *o, uint32_t *flags)
{
	const cJSON *a = json_get(o, "flags"), *it;

	if (!a || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return REC_MALFORMED;
	cJSON_ArrayForEach(it, a)
	{
		if (!cJSON_IsString(it) || !it->valuestring)
			return REC_MALFORMED;
		/* Names from a newer writer are ignored. */
		*flags |= xio_flag_bit(it->valuestring);
	}
	return 0;
}

static int get_time(const cJSON *o, const char *key, uint64_t *ns)
{
	const char *s;
	int err = get_str(o, key, &s);

	if (err || !s)
		return err;
	return time_parse_rfc3339(s, ns) ? REC_MALFORMED : 0;
}

static int get_version(const cJSON *o, const char *key, int *ver, bool strict)
{
	const char *s;
	int err = get_str(o, key, &s), v;

	if (err || !s)
		return err;
	v = xio_parse_version(s);
	if (v < 0) {
		if (strict)
			return REC_MALFORMED;
		v = 0;
	}
	*ver = v;
	return 0;
}

/* Adds one header; too many is REC_TOO_BIG. */
static int add_header(struct as_message *m, const char *n, size_t nlen, const char *v, size_t vlen)
{
	int err = as_msg_add_header(m, n, nlen, v, vlen);

	if (err == -E2BIG)
		return REC_TOO_BIG;
	return err;
}

/* Sets the body (taking b) and its true length; a body_size smaller than
 * the body is malformed. */
static void set_body(struct as_message *m, unsigned char *b, size_t len)
{
	free(m->body);
	if (len == 0) {
		free(b);
		b = NULL;
	}
	m->body = b;
	m->body_len = len;
	m->body_true_len = len;
}

static int set_true_len(struct as_message *m, uint64_t size, bool truncated)
{
	if (size < m->body_len)
		return REC_MALFORMED;
	m->body_true_len = size;
	m->body_truncated = truncated || m->body_len < size;
	return 0;
}

/* ---- JSONL --------------------------------------------------------------- */

static int jsonl_headers(const cJSON *o, struct as_message *m)
{
	const cJSON *a = json_get(o, "headers"), *it;
	int err = 0;

	if (!a || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return REC_MALFORMED;
	cJSON_ArrayForEach(it, a)
	{
		unsigned char *nown = NULL, *vown = NULL;
		const char *name = NULL, *value = "";
		size_t nlen = 0, vlen = 0;

		if (cJSON_IsArray(it)) {
			if (!it->child || !it->child->next || it->child->next->next)
				return REC_MALFORMED;
			err = get_cview(it->child, &name, &nlen, &nown);
			if (!err)
				err = get_cview(it->child->next, &value, &vlen, &vown);
		} else {
			/* A file written without values: names only. */
			err = get_cview(it, &name, &nlen, &nown);
		}
		if (!err)
			err = add_header(m, name, nlen, value, vlen);
		free(nown);
		free(vown);
		if (err)
			return err;
	}
	return 0;
}

static int jsonl_message(const cJSON *o, struct as_message *m)
{
	const cJSON *body = json_get(o, "body");
	uint64_t size = UINT64_MAX;
	bool truncated = false;
	const char *enc;
	int err;

	err = jsonl_headers(o, m);
	if (!err)
		err = get_str(o, "body_encoding", &enc);
	if (err)
		return err;
	if (body && !cJSON_IsNull(body)) {
		unsigned char *b = NULL;
		size_t len = 0;

		if (enc && strcmp(enc, "base64") == 0) {
			if (!cJSON_IsString(body) || !body->valuestring)
				return REC_MALFORMED;
			err = xio_base64_decode(body->valuestring, strlen(body->valuestring), &b,
						&len);
			if (err == -EINVAL)
				return REC_MALFORMED;
		} else if (!enc || strcmp(enc, "utf8") == 0) {
			err = get_bytes(body, &b, &len);
		} else {
			return REC_MALFORMED;
		}
		if (err)
			return err;
		set_body(m, b, len);
	}
	err = get_uint(o, "body_size", (uint64_t)1 << 53, &size);
	if (!err)
		err = get_bool(o, "body_truncated", &truncated);
	if (err)
		return err;
	return set_true_len(m, size == UINT64_MAX ? m->body_len : size, truncated);
}

/* One JSONL record into x. */
static int jsonl_record(const cJSON *o, struct as_exchange *x)
{
	const cJSON *req, *resp;
	uint64_t pid = 0, status = 0;
	int err;

	if (!cJSON_IsObject(o))
		return REC_MALFORMED;
	req = json_get(o, "request");
	if (!req || cJSON_IsNull(req))
		return REC_NO_REQUEST;
	if (!cJSON_IsObject(req))
		return REC_MALFORMED;

	err = get_time(o, "time", &x->req_time_ns);
	if (!err)
		err = get_uint(o, "pid", UINT32_MAX, &pid);
	if (!err)
		err = get_comm(o, x->comm);
	if (!err)
		err = get_role(o, &x->role);
	if (!err)
		err = get_bool(o, "tls", &x->tls);
	if (!err)
		err = get_endpoint(o, "local", x->local_addr, &x->local_port);
	if (!err)
		err = get_endpoint(o, "remote", x->remote_addr, &x->remote_port);
	if (!err)
		err = get_ms(o, "latency_ms", &x->latency_ns);
	if (!err)
		err = get_flags(o, &x->flags);
	if (!err)
		err = get_identity(o, &x->identity);
	if (err)
		return err;
	x->pid = (uint32_t)pid;

	if (!json_get(req, "method") || !json_get(req, "target"))
		return REC_MALFORMED;
	err = get_cstr(json_get(req, "method"), &x->method);
	if (!err)
		err = get_cstr(json_get(req, "target"), &x->target);
	if (!err)
		err = get_version(req, "version", &x->req_version, true);
	if (!err)
		err = jsonl_message(req, &x->req);
	if (err)
		return err;
	if (!x->method[0])
		return REC_MALFORMED;

	resp = json_get(o, "response");
	if (!resp || cJSON_IsNull(resp))
		return 0;
	if (!cJSON_IsObject(resp))
		return REC_MALFORMED;
	err = get_uint(resp, "status", 999, &status);
	if (!err && status == 0)
		err = REC_MALFORMED;
	if (!err)
		err = get_time(resp, "time", &x->resp_time_ns);
	if (!err && json_get(resp, "reason") && !cJSON_IsNull(json_get(resp, "reason")))
		err = get_cstr(json_get(resp, "reason"), &x->reason);
	if (!err)
		err = get_version(resp, "version", &x->resp_version, true);
	if (!err)
		err = jsonl_message(resp, &x->resp);
	x->status = (int)status;
	return err;
}

/* The next line into r->line. 1: a line; 2: an over-long line was
 * skipped; 0: end of input; < 0: fatal. */
static int next_line(struct xio_reader *r)
{
	int err;

	r->line_len = 0;
	r->line_too_long = false;
	for (;;) {
		const unsigned char *p, *nl;
		size_t take;

		err = fill(r);
		if (err)
			return err;
		if (r->pos == r->end) {
			/* A last line without a newline still counts. */
			if (r->line_too_long)
				return 2;
			return r->line_len ? 1 : 0;
		}
		p = r->chunk + r->pos;
		nl = memchr(p, '\n', r->end - r->pos);
		take = nl ? (size_t)(nl - p) : r->end - r->pos;
		r->pos += take + (nl ? 1 : 0);
		if (!r->line_too_long) {
			if (take > r->max_line - r->line_len) {
				r->line_too_long = true;
				r->line_len = 0;
			} else {
				if (r->line_len + take + 1 > r->line_cap) {
					size_t want = r->line_cap ? r->line_cap : 4096;
					char *l;

					while (want < r->line_len + take + 1)
						want *= 2;
					if (want > r->max_line + 1)
						want = r->max_line + 1;
					l = realloc(r->line, want);
					if (!l)
						return fail(r, -ENOMEM, "out of memory");
					r->line = l;
					r->line_cap = want;
				}
				memcpy(r->line + r->line_len, p, take);
				r->line_len += take;
				r->line[r->line_len] = '\0';
			}
		}
		if (nl)
			return r->line_too_long ? 2 : 1;
	}
}

static bool blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

/* Counts a skipped record; passes fatal errors through. */
static int count_skip(struct xio_reader *r, int err)
{
	if (err == REC_TOO_BIG)
		r->st.skipped_too_big++;
	else if (err == REC_NO_REQUEST)
		r->st.skipped_no_request++;
	else if (err > 0)
		r->st.skipped_malformed++;
	else
		return fail(r, err, "out of memory");
	return 0;
}

/* Frees a record: dropped with the arena back to mark when it was built
 * there (JSONL), else deleted node by node. */
static void drop_record(cJSON *rec, const struct json_arena_mark *mark)
{
	if (!mark || !json_arena_release(mark))
		cJSON_Delete(rec);
}

/* Turns one parsed record into an exchange with parse (jsonl_record or
 * har_record), consuming rec (see drop_record for mark). Returns 1 with
 * *out set, 0 when the record was skipped and counted, or a fatal negative
 * errno. */
static int take_record(struct xio_reader *r, cJSON *rec,
		       int (*parse)(const cJSON *rec, struct as_exchange *x),
		       const struct json_arena_mark *mark, struct as_exchange **out)
{
	struct as_exchange *x = as_exchange_new();
	int err;

	if (!x) {
		drop_record(rec, mark);
		return fail(r, -ENOMEM, "out of memory");
	}
	err = parse(rec, x);
	drop_record(rec, mark);
	if (err) {
		as_exchange_free(x);
		return count_skip(r, err);
	}
	r->st.read++;
	*out = x;
	return 1;
}

static int read_jsonl(struct xio_reader *r, struct as_exchange **out)
{
	for (;;) {
		struct json_arena_mark mark;
		cJSON *o;
		int rc, armed;

		rc = next_line(r);
		if (rc <= 0)
			return rc;
		if (rc == 2) {
			r->st.skipped_too_big++;
			continue;
		}
		if (blank(r->line, r->line_len))
			continue;
		/* The NUL test keeps cJSON from stopping early at one. The
		 * record's tree lives only until take_record drops it: it
		 * comes from the thread's cJSON arena, not from malloc. */
		json_arena_mark(&mark);
		armed = json_arena_arm(1);
		o = NULL;
		if (!memchr(r->line, 0, r->line_len)) {
			o = json_parse_fast(r->line, r->line_len, 1);
			if (!o)
				o = cJSON_ParseWithLengthOpts(r->line, r->line_len + 1, NULL, true);
		}
		if (!o) {
			json_arena_arm(armed);
			r->st.skipped_malformed++;
			continue;
		}
		rc = take_record(r, o, jsonl_record, &mark, out);
		json_arena_arm(armed);
		if (rc != 0)
			return rc;
	}
}

/* ---- HAR ----------------------------------------------------------------- */

/* Reads the whole document (what sniffing already read first), parses it,
 * and keeps only the entries array. */
static int har_load(struct xio_reader *r)
{
	size_t len = 0, cap = 0;
	cJSON *doc = NULL, *log, *entries;
	const char *end = NULL;
	char *buf = NULL;
	int err = 0;

	r->har_loaded = true;
	for (;;) {
		size_t n;

		err = fill(r);
		if (err)
			goto cleanup;
		n = r->end - r->pos;
		if (n == 0)
			break;
		if (n > r->max_har - len) {
			err = fail(r, -EFBIG, "HAR input is larger than the %zu byte limit",
				   r->max_har);
			goto cleanup;
		}
		if (len + n + 1 > cap) {
			size_t want = cap ? cap * 2 : XIO_CHUNK + 1;
			char *b;

			while (want < len + n + 1)
				want *= 2;
			if (want > r->max_har + 1)
				want = r->max_har + 1;
			b = realloc(buf, want);
			if (!b) {
				err = fail(r, -ENOMEM, "out of memory reading the HAR input");
				goto cleanup;
			}
			buf = b;
			cap = want;
		}
		memcpy(buf + len, r->chunk + r->pos, n);
		len += n;
		r->pos = r->end;
	}
	if (!buf || memchr(buf, 0, len)) {
		err = fail(r, -EINVAL, "HAR input is empty or holds a NUL byte");
		goto cleanup;
	}
	buf[len] = '\0';
	doc = cJSON_ParseWithLengthOpts(buf, len + 1, &end, true);
	if (!doc) {
		size_t at = end && end >= buf && end <= buf + len ? (size_t)(end - buf) : len;

		err = fail(r, -EINVAL, "HAR input is not valid JSON (error at byte %zu)", at);
		goto cleanup;
	}
	log = json_get(doc, "log");
	entries = cJSON_IsObject(log) ? json_get(log, "entries") : NULL;
	if (!cJSON_IsArray(entries)) {
		err = fail(r, -EINVAL, "not a HAR document: no log.entries array");
		goto cleanup;
	}
	r->entries = cJSON_DetachItemViaPointer(log, entries);
cleanup:
	cJSON_Delete(doc);
	free(buf);
	return err;
}

/* HAR [{name, value}] into headers. */
static int har_headers(const cJSON *o, struct as_message *m)
{
	const cJSON *a = json_get(o, "headers"), *it;

	if (!a || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsArray(a))
		return REC_MALFORMED;
	cJSON_ArrayForEach(it, a)
	{
		const char *n, *v;
		int err;

		if (!cJSON_IsObject(it))
			return REC_MALFORMED;
		err = get_str(it, "name", &n);
		if (!err)
			err = get_str(it, "value", &v);
		if (err)
			return err;
		if (!n)
			return REC_MALFORMED;
		err = add_header(m, n, strlen(n), v ? v : "", v ? strlen(v) : 0);
		if (err)
			return err;
	}
	return 0;
}

/* postData or content: text, plain or base64 per "encoding", and the true
 * size from size_key (never less than the text). */
static int har_body(const cJSON *o, struct as_message *m, const cJSON *size_from,
		    const char *size_key)
{
	const char *text, *enc;
	const cJSON *sz;
	int err;

	if (!o || cJSON_IsNull(o))
		return 0;
	if (!cJSON_IsObject(o))
		return REC_MALFORMED;
	err = get_str(o, "text", &text);
	if (!err)
		err = get_str(o, "encoding", &enc);
	if (err)
		return err;
	if (text) {
		unsigned char *b = NULL;
		size_t len = 0;

		if (enc && strcmp(enc, "base64") == 0) {
			err = xio_base64_decode(text, strlen(text), &b, &len);
			if (err == -EINVAL)
				return REC_MALFORMED;
			if (err)
				return err;
		} else {
			len = strlen(text);
			b = (unsigned char *)strdup(text);
			if (!b)
				return -ENOMEM;
		}
		set_body(m, b, len);
	}
	/* Browsers write -1 or leave sizes out when they do not know. */
	sz = json_get(size_from, size_key);
	if (cJSON_IsNumber(sz) && isfinite(sz->valuedouble) && sz->valuedouble >= 0 &&
	    sz->valuedouble <= (double)((uint64_t)1 << 53) &&
	    (uint64_t)sz->valuedouble >= m->body_len)
		return set_true_len(m, (uint64_t)sz->valuedouble, false);
	return set_true_len(m, m->body_len, false);
}

/* Splits a HAR url into the target (path and query, no fragment), whether
 * it is https, and the authority's host and port. */
static int url_split(const char *url, bool *https, const char **host, size_t *host_len,
		     uint16_t *port, char **target)
{
	const char *sep = strstr(url, "://"), *auth, *path, *at, *colon, *frag;
	size_t alen, plen;
	char *t;

	*https = false;
	*host = "";
	*host_len = 0;
	*port = 0;
	if (!sep) {
		if (url[0] != '/')
			return REC_MALFORMED;
		path = url;
	} else {
		*https = (size_t)(sep - url) == 5 && strncasecmp(url, "https", 5) == 0;
		*port = *https ? 443 : 80;
		auth = sep + 3;
		alen = strcspn(auth, "/?#");
		path = auth + alen;
		at = memchr(auth, '@', alen);
		if (at) {
			alen -= (size_t)(at + 1 - auth);
			auth = at + 1;
		}
		*host = auth;
		*host_len = alen;
		/* The port is after the last ':' unless that is inside [v6]. */
		colon = NULL;
		for (at = auth; at < auth + alen; at++) {
			if (*at == ':')
				colon = at;
			else if (*at == ']')
				colon = NULL;
		}
		if (colon) {
			uint32_t p = 0;
			const char *d;

			for (d = colon + 1; d < auth + alen && *d >= '0' && *d <= '9' && p <= 65535;
			     d++)
				p = p * 10 + (uint32_t)(*d - '0');
			if (d == auth + alen && d > colon + 1 && p <= 65535)
				*port = (uint16_t)p;
			*host_len = (size_t)(colon - auth);
		}
	}
	frag = strchr(path, '#');
	plen = frag ? (size_t)(frag - path) : strlen(path);
	t = malloc(plen + 2);
	if (!t)
		return -ENOMEM;
	if (plen == 0 || path[0] != '/') {
		t[0] = '/';
		memcpy(t + 1, path, plen);
		t[plen + 1] = '\0';
	} else {
		memcpy(t, path, plen);
		t[plen] = '\0';
	}
	*target = t;
	return 0;
}

/* The _apisonar extension: exact values of what HAR has no field for. */
static int har_ext(const cJSON *ext, struct as_exchange *x)
{
	uint64_t pid = 0;
	int err;

	if (!cJSON_IsObject(ext))
		return REC_MALFORMED;
	err = get_uint(ext, "pid", UINT32_MAX, &pid);
	if (!err)
		err = get_comm(ext, x->comm);
	if (!err)
		err = get_role(ext, &x->role);
	if (!err)
		err = get_bool(ext, "tls", &x->tls);
	if (!err)
		err = get_endpoint(ext, "local", x->local_addr, &x->local_port);
	if (!err)
		err = get_endpoint(ext, "remote", x->remote_addr, &x->remote_port);
	if (!err)
		err = get_flags(ext, &x->flags);
	if (!err)
		err = get_time(ext, "response_time", &x->resp_time_ns);
	if (!err && json_get(ext, "target"))
		err = get_cstr(json_get(ext, "target"), &x->target);
	x->pid = (uint32_t)pid;
	return err;
}

/* Addresses as a HAR from elsewhere gives them: serverIPAddress (maybe in
 * brackets) and the url's port. */
static void har_foreign_addr(const cJSON *e, struct as_exchange *x, uint16_t port)
{
	const cJSON *ip = json_get(e, "serverIPAddress");
	const char *s;
	size_t len;

	x->remote_port = port;
	if (!cJSON_IsString(ip) || !ip->valuestring)
		return;
	s = ip->valuestring;
	len = strlen(s);
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
	}
	if (set_fixed(x->remote_addr, AS_ADDR_LEN, s, len))
		x->remote_addr[0] = '\0';
}

static int har_record(const cJSON *e, struct as_exchange *x)
{
	const cJSON *req, *resp, *ext, *timings;
	const char *method, *url, *host;
	uint64_t wait = 0, send = 0, status = 0;
	char *target = NULL;
	size_t host_len;
	uint16_t port;
	bool https;
	int err;

	if (!cJSON_IsObject(e))
		return REC_MALFORMED;
	req = json_get(e, "request");
	if (!req || cJSON_IsNull(req))
		return REC_NO_REQUEST;
	if (!cJSON_IsObject(req))
		return REC_MALFORMED;
	err = get_time(e, "startedDateTime", &x->req_time_ns);
	if (!err)
		err = get_str(req, "method", &method);
	if (!err)
		err = get_str(req, "url", &url);
	if (err)
		return err;
	if (!method || !method[0] || !url)
		return REC_MALFORMED;
	err = as_strset(&x->method, method, strlen(method));
	if (!err)
		err = url_split(url, &https, &host, &host_len, &port, &target);
	if (err)
		return err;
	x->target = target;
	err = get_version(req, "httpVersion", &x->req_version, false);
	if (!err)
		err = har_headers(req, &x->req);
	if (!err)
		err = har_body(json_get(req, "postData"), &x->req, req, "bodySize");
	if (err)
		return err;

	timings = json_get(e, "timings");
	if (timings && !cJSON_IsObject(timings))
		return REC_MALFORMED;
	err = get_ms(timings, "wait", &wait);
	if (!err)
		err = get_ms(timings, "send", &send);
	if (err)
		return err;
	x->latency_ns = wait;

	resp = json_get(e, "response");
	if (resp && !cJSON_IsNull(resp)) {
		const char *reason;

		if (!cJSON_IsObject(resp))
			return REC_MALFORMED;
		/* Browsers write 0 (or -1) for a request that got no answer. */
		{
			const cJSON *st = json_get(resp, "status");

			if (cJSON_IsNumber(st) && st->valuedouble < 0)
				status = 0;
			else
				err = get_uint(resp, "status", 999, &status);
		}
		if (err)
			return err;
		if (status > 0) {
			x->status = (int)status;
			err = get_str(resp, "statusText", &reason);
			if (!err && reason)
				err = as_strset(&x->reason, reason, strlen(reason));
			if (!err)
				err = get_version(resp, "httpVersion", &x->resp_version, false);
			if (!err)
				err = har_headers(resp, &x->resp);
			if (!err) {
				const cJSON *c = json_get(resp, "content");

				err = har_body(c, &x->resp, c, "size");
			}
			if (err)
				return err;
		}
	}

	ext = json_get(e, "_apisonar");
	if (ext && !cJSON_IsNull(ext)) {
		err = har_ext(ext, x);
		/* No response, no response time (as in a JSONL record). */
		if (x->status == 0)
			x->resp_time_ns = 0;
		return err;
	}

	/* A HAR from a browser or another tool. */
	x->tls = https;
	har_foreign_addr(e, x, port);
	if (x->status == 0)
		x->flags |= AS_X_NO_RESPONSE;
	else if (x->req_time_ns && send + wait <= UINT64_MAX - x->req_time_ns)
		x->resp_time_ns = x->req_time_ns + send + wait;
	if (x->req.body_len < x->req.body_true_len)
		x->flags |= AS_X_REQ_TRUNCATED;
	if (x->resp.body_len < x->resp.body_true_len)
		x->flags |= AS_X_RESP_TRUNCATED;
	/* HTTP/2 entries have no Host header; the url has the authority. */
	if (host_len && !as_msg_header(&x->req, "Host") && !as_msg_header(&x->req, ":authority"))
		return add_header(&x->req, "Host", 4, host, host_len);
	return 0;
}

static int read_har(struct xio_reader *r, struct as_exchange **out)
{
	int err;

	if (!r->har_loaded) {
		err = har_load(r);
		if (err)
			return err;
	}
	for (;;) {
		cJSON *e = cJSON_DetachItemFromArray(r->entries, 0);

		if (!e)
			return 0;
		err = take_record(r, e, har_record, NULL, out);
		if (err != 0)
			return err;
	}
}

int xio_read(struct xio_reader *r, struct as_exchange **out)
{
	int err;

	*out = NULL;
	if (r->fatal)
		return r->fatal;
	if (r->fmt == XIO_AUTO) {
		err = sniff(r);
		if (err)
			return err;
	}
	if (r->fmt == XIO_HAR)
		return read_har(r, out);
	return read_jsonl(r, out);
}
