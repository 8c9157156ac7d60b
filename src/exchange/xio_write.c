// SPDX-License-Identifier: BSD-2-Clause
/*
 * Exchange file writer: text lines for a terminal, JSON lines, or a HAR 1.2
 * document streamed entry by entry (one small cJSON tree per exchange, so a
 * long capture does not grow in memory). docs/exchange-format.md has the
 * formats. Values appear only when the writer was made with show_values.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apisonar/exchange/xio.h"
#include "apisonar/util/util.h"

struct xio_writer {
	FILE *out;	     /* not owned */
	enum xio_format fmt; /* TEXT, JSONL or HAR */
	bool show_values;    /* print header values, bodies, query values */
	bool har_started;    /* the HAR preamble is out */
	uint64_t entries;    /* exchanges written */
};

struct xio_writer *xio_writer_new(FILE *out, enum xio_format fmt, bool show_values)
{
	struct xio_writer *w;

	if (!out || (fmt != XIO_TEXT && fmt != XIO_JSONL && fmt != XIO_HAR))
		return NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->out = out;
	w->fmt = fmt;
	w->show_values = show_values;
	return w;
}

/* ---- text ---------------------------------------------------------------- */

/* Writes bytes for a terminal: printable ASCII as is, everything else (and
 * the backslash, and spaces when asked) as \xHH, so a hostile value cannot
 * drive the terminal or fake a line. */
static void text_escaped(FILE *f, const unsigned char *s, size_t len, bool escape_space)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c != '\\' && c >= 0x20 && c < 0x7f && !(escape_space && c == ' '))
			continue;
		/* Plain bytes go out in runs, not one call per byte. */
		fwrite(s + run, 1, i - run, f);
		run = i + 1;
		if (c == '\\')
			fputs("\\\\", f);
		else
			fprintf(f, "\\x%02x", c);
	}
	fwrite(s + run, 1, len - run, f);
}

static void text_str(FILE *f, const char *s, bool escape_space)
{
	if (!s)
		s = "";
	text_escaped(f, (const unsigned char *)s, strlen(s), escape_space);
}

/* addr:port, [addr]:port for IPv6, ?:port when unknown. */
static void text_endpoint(FILE *f, const char *addr, uint16_t port)
{
	if (!addr[0])
		fprintf(f, "?:%u", port);
	else if (strchr(addr, ':'))
		fprintf(f, "[%s]:%u", addr, port);
	else
		fprintf(f, "%s:%u", addr, port);
}

/* Latency the way a person reads it: 850us, 1.2ms, 3.4s (truncated, no
 * rounding, so the text is exact and stable in tests). */
static void text_latency(FILE *f, uint64_t ns)
{
	if (ns < 1000000u)
		fprintf(f, "%lluus", (unsigned long long)(ns / 1000u));
	else if (ns < 10000000000ull)
		fprintf(f, "%llu.%llums", (unsigned long long)(ns / 1000000u),
			(unsigned long long)(ns / 100000u % 10u));
	else
		fprintf(f, "%llu.%llus", (unsigned long long)(ns / 1000000000u),
			(unsigned long long)(ns / 100000000u % 10u));
}

/* The body as indented lines behind a marker ("  > "). */
static void text_body(FILE *f, const char *mark, const struct as_message *m)
{
	size_t i = 0;

	if (m->body_len == 0 && m->body_true_len == 0)
		return;
	fprintf(f, "  %s\n", mark);
	while (i < m->body_len) {
		const unsigned char *nl = memchr(m->body + i, '\n', m->body_len - i);
		size_t end = nl ? (size_t)(nl - m->body) : m->body_len;
		size_t stop = end;

		if (nl && stop > i && m->body[stop - 1] == '\r')
			stop--;
		fprintf(f, "  %s ", mark);
		text_escaped(f, m->body + i, stop - i, false);
		fputc('\n', f);
		i = nl ? end + 1 : end;
	}
	if (m->body_truncated || m->body_len < m->body_true_len)
		fprintf(f, "  %s [body truncated: %zu of %llu bytes shown]\n", mark, m->body_len,
			(unsigned long long)m->body_true_len);
}

static void text_headers(FILE *f, const char *mark, const struct as_message *m)
{
	size_t i;

	for (i = 0; i < m->n_headers; i++) {
		fprintf(f, "  %s ", mark);
		text_str(f, m->headers[i].name, false);
		fputs(": ", f);
		text_str(f, m->headers[i].value, false);
		fputc('\n', f);
	}
}

/* One line per exchange (and the values below it with show_values). */
static int write_text(struct xio_writer *w, const struct as_exchange *x)
{
	FILE *f = w->out;
	time_t sec = (time_t)(x->req_time_ns / 1000000000u);
	unsigned ms = (unsigned)(x->req_time_ns % 1000000000u / 1000000u);
	char *target = NULL;
	char ver[16];
	struct tm tm;

	if (!localtime_r(&sec, &tm))
		memset(&tm, 0, sizeof(tm));
	target = w->show_values ? strdup(x->target ? x->target : "")
				: xio_mask_target(x->target ? x->target : "");
	if (!target)
		return -ENOMEM;
	fprintf(f, "%02d:%02d:%02d.%03u ", tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	text_escaped(f, (const unsigned char *)x->comm, strnlen(x->comm, AS_COMM_LEN), false);
	fprintf(f, "[%u] %s ", x->pid, as_role_name(x->role));
	text_endpoint(f, x->local_addr, x->local_port);
	fputs(x->role == AS_ROLE_SERVER ? " <- " : x->role == AS_ROLE_CLIENT ? " -> " : " -- ", f);
	text_endpoint(f, x->remote_addr, x->remote_port);
	if (x->tls)
		fputs(" tls", f);
	fputc(' ', f);
	text_str(f, x->method, true);
	fputc(' ', f);
	text_str(f, target, true);
	if (x->status > 0) {
		fprintf(f, " -> %d ", x->status);
		text_latency(f, x->latency_ns);
		fprintf(f, " %lluB\n", (unsigned long long)x->resp.body_true_len);
	} else {
		fputs(" -> -\n", f);
	}
	if (w->show_values) {
		fputs("  > ", f);
		text_str(f, x->method, true);
		fputc(' ', f);
		text_str(f, target, true);
		xio_format_version(x->req_version, ver, sizeof(ver));
		fprintf(f, " %s\n", ver);
		text_headers(f, ">", &x->req);
		text_body(f, ">", &x->req);
		if (x->status > 0) {
			xio_format_version(x->resp_version, ver, sizeof(ver));
			fprintf(f, "  < %s %d ", ver, x->status);
			text_str(f, x->reason, false);
			fputc('\n', f);
			text_headers(f, "<", &x->resp);
			text_body(f, "<", &x->resp);
		}
	}
	free(target);
	return 0;
}

/* ---- JSON building ------------------------------------------------------- */

/* Adds item under key (or to an array when key is NULL); remembers a
 * failure in *oom so callers check once at the end. */
static cJSON *jadd(bool *oom, cJSON *parent, const char *key, cJSON *item)
{
	if (!item) {
		*oom = true;
		return NULL;
	}
	if (key ? !cJSON_AddItemToObject(parent, key, item) : !cJSON_AddItemToArray(parent, item)) {
		cJSON_Delete(item);
		*oom = true;
		return NULL;
	}
	return item;
}

/* A JSON string for bytes that are valid UTF-8, else {"base64": "..."}, so
 * the JSONL file is valid UTF-8 and still byte-exact. */
static cJSON *jbytes(const void *s, size_t len)
{
	cJSON *o, *v;
	char *tmp;

	if (!s)
		return cJSON_CreateString("");
	if (xio_utf8_ok(s, len)) {
		tmp = malloc(len + 1);
		if (!tmp)
			return NULL;
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		v = cJSON_CreateString(tmp);
		free(tmp);
		return v;
	}
	tmp = xio_base64_encode(s, len);
	if (!tmp)
		return NULL;
	o = cJSON_CreateObject();
	v = cJSON_CreateString(tmp);
	free(tmp);
	if (!o || !v || !cJSON_AddItemToObject(o, "base64", v)) {
		cJSON_Delete(o);
		cJSON_Delete(v);
		return NULL;
	}
	return o;
}

static cJSON *jstr_bytes(const char *s)
{
	return jbytes(s, s ? strlen(s) : 0);
}

/* A JSON string that is always a string (HAR has no room for anything
 * else): invalid UTF-8 bytes become U+FFFD. */
static cJSON *jtext(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i = 0, o = 0;
	cJSON *v;
	char *buf;

	if (!s)
		return cJSON_CreateString("");
	buf = malloc(len * 3 + 1);
	if (!buf)
		return NULL;
	while (i < len) {
		size_t n = 1;

		if (s[i] >= 0x80) {
			/* Longest valid sequence at i, if any. */
			for (n = 2; n <= 4 && i + n <= len; n++)
				if (xio_utf8_ok(s + i, n))
					break;
			if (n > 4 || i + n > len) {
				memcpy(buf + o, "\xef\xbf\xbd", 3);
				o += 3;
				i++;
				continue;
			}
		} else if (s[i] == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(buf + o, s + i, n);
		o += n;
		i += n;
	}
	buf[o] = '\0';
	v = cJSON_CreateString(buf);
	free(buf);
	return v;
}

static cJSON *jtext_str(const char *s)
{
	return jtext(s, s ? strlen(s) : 0);
}

static void jendpoint(bool *oom, cJSON *parent, const char *key, const char *addr, uint16_t port,
		      bool har)
{
	cJSON *o = jadd(oom, parent, key, cJSON_CreateObject());

	if (!o)
		return;
	jadd(oom, o, "addr", har ? jtext_str(addr) : jstr_bytes(addr));
	jadd(oom, o, "port", cJSON_CreateNumber(port));
}

static void jflags(bool *oom, cJSON *parent, uint32_t flags)
{
	cJSON *a = jadd(oom, parent, "flags", cJSON_CreateArray());
	uint32_t bit;

	if (!a)
		return;
	for (bit = 1; bit; bit <<= 1) {
		const char *name = (flags & bit) ? xio_flag_name(bit) : NULL;

		if (name)
			jadd(oom, a, NULL, cJSON_CreateString(name));
	}
}

/* Prints the tree compactly and ends the line (JSONL) or not (HAR). */
static int jprint(FILE *f, cJSON *root)
{
	char *s = cJSON_PrintUnformatted(root);

	if (!s)
		return -ENOMEM;
	fputs(s, f);
	free(s);
	return 0;
}

/* ---- JSONL --------------------------------------------------------------- */

static void jsonl_message(bool *oom, cJSON *o, const struct as_message *m, bool values)
{
	cJSON *hs = jadd(oom, o, "headers", cJSON_CreateArray());
	size_t i;

	for (i = 0; hs && i < m->n_headers; i++) {
		cJSON *pair;

		if (!values) {
			jadd(oom, hs, NULL, jstr_bytes(m->headers[i].name));
			continue;
		}
		pair = jadd(oom, hs, NULL, cJSON_CreateArray());
		if (!pair)
			break;
		jadd(oom, pair, NULL, jstr_bytes(m->headers[i].name));
		jadd(oom, pair, NULL, jstr_bytes(m->headers[i].value));
	}
	if (values) {
		bool utf8 = xio_utf8_ok(m->body, m->body_len);

		if (utf8) {
			jadd(oom, o, "body", jbytes(m->body ? (void *)m->body : "", m->body_len));
		} else {
			char *b64 = xio_base64_encode(m->body, m->body_len);

			jadd(oom, o, "body", b64 ? cJSON_CreateString(b64) : NULL);
			free(b64);
		}
		jadd(oom, o, "body_encoding", cJSON_CreateString(utf8 ? "utf8" : "base64"));
	}
	jadd(oom, o, "body_size", cJSON_CreateNumber((double)m->body_true_len));
	jadd(oom, o, "body_truncated", cJSON_CreateBool(m->body_truncated));
}

/* The Kubernetes identity the daemon found, when it found one (raw-forward
 * carries it to the satellite). Names only: written with or without
 * values. */
static void jidentity(bool *oom, cJSON *root, const struct as_identity *id)
{
	const char *const keys[] = { "namespace", "kind", "workload", "container" };
	const char *const vals[] = { id->ns, id->kind, id->workload, id->container };
	cJSON *o = NULL;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!vals[i])
			continue;
		if (!o)
			o = jadd(oom, root, "identity", cJSON_CreateObject());
		if (o)
			jadd(oom, o, keys[i], cJSON_CreateString(vals[i]));
	}
}

static int write_jsonl(struct xio_writer *w, const struct as_exchange *x)
{
	cJSON *root = cJSON_CreateObject(), *req, *resp;
	char tbuf[40], ver[16];
	bool oom = false;
	char *target;
	int err;

	if (!root)
		return -ENOMEM;
	time_format_rfc3339(x->req_time_ns, 6, tbuf, sizeof(tbuf));
	jadd(&oom, root, "time", cJSON_CreateString(tbuf));
	jadd(&oom, root, "pid", cJSON_CreateNumber(x->pid));
	jadd(&oom, root, "comm", jbytes(x->comm, strnlen(x->comm, AS_COMM_LEN)));
	jadd(&oom, root, "role", cJSON_CreateString(as_role_name(x->role)));
	jadd(&oom, root, "tls", cJSON_CreateBool(x->tls));
	jendpoint(&oom, root, "local", x->local_addr, x->local_port, false);
	jendpoint(&oom, root, "remote", x->remote_addr, x->remote_port, false);
	jadd(&oom, root, "latency_ms", cJSON_CreateNumber((double)x->latency_ns / 1e6));
	jflags(&oom, root, x->flags);
	jadd(&oom, root, "values", cJSON_CreateBool(w->show_values));
	jidentity(&oom, root, &x->identity);

	req = jadd(&oom, root, "request", cJSON_CreateObject());
	if (req) {
		jadd(&oom, req, "method", jstr_bytes(x->method));
		target = w->show_values ? NULL : xio_mask_target(x->target ? x->target : "");
		if (!w->show_values && !target)
			oom = true;
		jadd(&oom, req, "target", jstr_bytes(w->show_values ? x->target : target));
		free(target);
		xio_format_version(x->req_version, ver, sizeof(ver));
		jadd(&oom, req, "version", cJSON_CreateString(ver));
		jsonl_message(&oom, req, &x->req, w->show_values);
	}
	if (x->status > 0) {
		resp = jadd(&oom, root, "response", cJSON_CreateObject());
		if (resp) {
			if (x->resp_time_ns) {
				time_format_rfc3339(x->resp_time_ns, 6, tbuf, sizeof(tbuf));
				jadd(&oom, resp, "time", cJSON_CreateString(tbuf));
			}
			jadd(&oom, resp, "status", cJSON_CreateNumber(x->status));
			if (x->reason)
				jadd(&oom, resp, "reason", jstr_bytes(x->reason));
			xio_format_version(x->resp_version, ver, sizeof(ver));
			jadd(&oom, resp, "version", cJSON_CreateString(ver));
			jsonl_message(&oom, resp, &x->resp, w->show_values);
		}
	} else {
		jadd(&oom, root, "response", cJSON_CreateNull());
	}
	err = oom ? -ENOMEM : jprint(w->out, root);
	if (!err)
		fputc('\n', w->out);
	cJSON_Delete(root);
	return err;
}

/* ---- HAR ----------------------------------------------------------------- */

/* Bytes allowed unescaped in a HAR url after the authority: RFC 3986
 * unreserved, sub-delims, ':', '@', '/', '?' (and '%' when it starts a
 * valid escape). */
static bool url_char_ok(const char *s)
{
	unsigned char c = (unsigned char)s[0];

	if (isalnum(c) && c < 0x80)
		return true;
	if (strchr("-._~!$&'()*+,;=:@/?", c) && c)
		return true;
	return c == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2]);
}

/* A Host header value we can put in a URL as is (no path, no userinfo, no
 * spaces); anything else falls back to the server address. */
static bool host_ok(const char *h)
{
	size_t i;

	if (!h || !h[0] || strlen(h) > 255)
		return false;
	for (i = 0; h[i]; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!(c < 0x80 && (isalnum(c) || strchr(".-_:[]", c))))
			return false;
	}
	return true;
}

/* The server side of the connection, whichever end it is. */
static void server_end(const struct as_exchange *x, const char **addr, uint16_t *port)
{
	if (x->role == AS_ROLE_SERVER) {
		*addr = x->local_addr;
		*port = x->local_port;
	} else {
		*addr = x->remote_addr;
		*port = x->remote_port;
	}
}

/* The absolute url HAR wants; *exact is false when the reader could not
 * get the target back from it byte for byte (then _apisonar.target has it).
 * The buffer is sized from the target (3 bytes per escaped byte) and the
 * bounded host. */
static char *har_url(const struct as_exchange *x, const char *target, bool *exact)
{
	const char *host = as_msg_header(&x->req, "Host"), *addr;
	const char *scheme = x->tls ? "https" : "http";
	size_t tlen = strlen(target), cap, o = 0, i;
	uint16_t port;
	char *url;
	int n;

	server_end(x, &addr, &port);
	cap = 32 + 256 + AS_ADDR_LEN + tlen * 3;
	url = malloc(cap);
	if (!url)
		return NULL;
	*exact = true;
	if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
		/* Absolute form (proxies): the url is the target. */
		*exact = false;
	} else {
		if (host_ok(host))
			n = snprintf(url, cap, "%s://%s", scheme, host);
		else if (!addr[0])
			n = snprintf(url, cap, "%s://unknown.invalid", scheme);
		else if (strchr(addr, ':'))
			n = snprintf(url, cap, "%s://[%s]", scheme, addr);
		else
			n = snprintf(url, cap, "%s://%s", scheme, addr);
		o = (size_t)n;
		if (!host_ok(host) && port != (x->tls ? 443 : 80))
			o += (size_t)snprintf(url + o, cap - o, ":%u", port);
		if (target[0] != '/') {
			/* "*" or authority form: no path to show. */
			url[o++] = '/';
			*exact = false;
			tlen = 0;
		}
	}
	for (i = 0; i < tlen; i++) {
		if (url_char_ok(target + i)) {
			url[o++] = target[i];
		} else {
			o += (size_t)snprintf(url + o, cap - o, "%%%02X", (unsigned char)target[i]);
			*exact = false;
		}
	}
	url[o] = '\0';
	return url;
}

/* Name/value objects for a HAR list; value is "" without show_values. */
static void har_nv(bool *oom, cJSON *arr, const char *name, size_t nlen, const char *value,
		   size_t vlen, bool values)
{
	cJSON *o = jadd(oom, arr, NULL, cJSON_CreateObject());

	if (!o)
		return;
	jadd(oom, o, "name", jtext(name, nlen));
	jadd(oom, o, "value", values ? jtext(value, vlen) : cJSON_CreateString(""));
}

static void har_headers(bool *oom, cJSON *parent, const struct as_message *m, bool values)
{
	cJSON *a = jadd(oom, parent, "headers", cJSON_CreateArray());
	size_t i;

	for (i = 0; a && i < m->n_headers; i++)
		har_nv(oom, a, m->headers[i].name, strlen(m->headers[i].name), m->headers[i].value,
		       strlen(m->headers[i].value), values);
}

/* Cookies from Cookie headers (request) or Set-Cookie headers (response). */
static void har_cookies(bool *oom, cJSON *parent, const struct as_message *m, bool response,
			bool values)
{
	cJSON *a = jadd(oom, parent, "cookies", cJSON_CreateArray());
	size_t i;

	for (i = 0; a && i < m->n_headers; i++) {
		const char *p = m->headers[i].value;

		if (strcasecmp(m->headers[i].name, response ? "Set-Cookie" : "Cookie") != 0)
			continue;
		while (*p) {
			size_t len = strcspn(p, ";");
			const char *eq;

			while (len && (*p == ' ' || *p == '\t')) {
				p++;
				len--;
			}
			eq = memchr(p, '=', len);
			if (eq && eq > p)
				har_nv(oom, a, p, (size_t)(eq - p), eq + 1,
				       len - (size_t)(eq - p) - 1, values);
			if (response || !p[len])
				break;
			p += len + 1;
		}
	}
}

static void har_query(bool *oom, cJSON *parent, const char *target, bool values)
{
	cJSON *a = jadd(oom, parent, "queryString", cJSON_CreateArray());
	const char *p = strchr(target, '?');

	if (!a || !p)
		return;
	p++;
	while (*p) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);

		if (len)
			har_nv(oom, a, p, eq ? (size_t)(eq - p) : len, eq ? eq + 1 : "",
			       eq ? len - (size_t)(eq - p) - 1 : 0, values);
		if (!p[len])
			break;
		p += len + 1;
	}
}

/* The Content-Type, or only its media type without show_values (a content
 * type is metadata; its parameters, like a multipart boundary, are not). */
static cJSON *har_mime(const struct as_message *m, bool values)
{
	const char *ct = as_msg_header(m, "Content-Type");

	if (!ct)
		return cJSON_CreateString("");
	if (values)
		return jtext_str(ct);
	return jtext(ct, strcspn(ct, "; \t"));
}

/* The body text: plain when valid UTF-8, base64 with "encoding" else; ""
 * without show_values. */
static void har_body(bool *oom, cJSON *o, const struct as_message *m, bool values)
{
	char *b64;

	if (!values) {
		jadd(oom, o, "text", cJSON_CreateString(""));
		return;
	}
	if (xio_utf8_ok(m->body, m->body_len)) {
		jadd(oom, o, "text", jbytes(m->body ? (void *)m->body : "", m->body_len));
		return;
	}
	b64 = xio_base64_encode(m->body, m->body_len);
	jadd(oom, o, "text", b64 ? cJSON_CreateString(b64) : NULL);
	free(b64);
	jadd(oom, o, "encoding", cJSON_CreateString("base64"));
}

static cJSON *har_entry(struct xio_writer *w, const struct as_exchange *x)
{
	bool v = w->show_values, oom = false, exact = true;
	cJSON *e = cJSON_CreateObject(), *req, *resp, *o, *ext;
	const char *target = x->target ? x->target : "/";
	char tbuf[40], ver[16], *masked = NULL, *url;
	double ms = (double)x->latency_ns / 1e6;
	unsigned char ip[16];
	const char *saddr;
	uint16_t sport;

	if (!e)
		return NULL;
	if (!v) {
		masked = xio_mask_target(target);
		if (!masked) {
			cJSON_Delete(e);
			return NULL;
		}
		target = masked;
	}
	time_format_rfc3339(x->req_time_ns, 6, tbuf, sizeof(tbuf));
	jadd(&oom, e, "startedDateTime", cJSON_CreateString(tbuf));
	jadd(&oom, e, "time", cJSON_CreateNumber(ms));

	req = jadd(&oom, e, "request", cJSON_CreateObject());
	if (req) {
		jadd(&oom, req, "method", jtext_str(x->method));
		url = har_url(x, target, &exact);
		jadd(&oom, req, "url", url ? cJSON_CreateString(url) : NULL);
		free(url);
		xio_format_version(x->req_version, ver, sizeof(ver));
		jadd(&oom, req, "httpVersion", cJSON_CreateString(ver));
		har_cookies(&oom, req, &x->req, false, v);
		har_headers(&oom, req, &x->req, v);
		har_query(&oom, req, target, v);
		if (x->req.body_len || x->req.body_true_len) {
			o = jadd(&oom, req, "postData", cJSON_CreateObject());
			if (o) {
				jadd(&oom, o, "mimeType", har_mime(&x->req, v));
				har_body(&oom, o, &x->req, v);
			}
		}
		jadd(&oom, req, "headersSize", cJSON_CreateNumber(-1));
		jadd(&oom, req, "bodySize", cJSON_CreateNumber((double)x->req.body_true_len));
	}

	resp = jadd(&oom, e, "response", cJSON_CreateObject());
	if (resp) {
		bool has = x->status > 0;
		const char *loc = has && v ? as_msg_header(&x->resp, "Location") : NULL;

		jadd(&oom, resp, "status", cJSON_CreateNumber(has ? x->status : 0));
		jadd(&oom, resp, "statusText", jtext_str(has ? x->reason : ""));
		xio_format_version(has ? x->resp_version : 0, ver, sizeof(ver));
		jadd(&oom, resp, "httpVersion", cJSON_CreateString(ver));
		if (has) {
			har_cookies(&oom, resp, &x->resp, true, v);
			har_headers(&oom, resp, &x->resp, v);
		} else {
			jadd(&oom, resp, "cookies", cJSON_CreateArray());
			jadd(&oom, resp, "headers", cJSON_CreateArray());
		}
		o = jadd(&oom, resp, "content", cJSON_CreateObject());
		if (o) {
			jadd(&oom, o, "size",
			     cJSON_CreateNumber(has ? (double)x->resp.body_true_len : 0));
			jadd(&oom, o, "mimeType",
			     has ? har_mime(&x->resp, v) : cJSON_CreateString(""));
			if (has)
				har_body(&oom, o, &x->resp, v);
		}
		jadd(&oom, resp, "redirectURL", jtext_str(loc ? loc : ""));
		jadd(&oom, resp, "headersSize", cJSON_CreateNumber(-1));
		jadd(&oom, resp, "bodySize",
		     cJSON_CreateNumber(has ? (double)x->resp.body_true_len : -1));
	}

	jadd(&oom, e, "cache", cJSON_CreateObject());
	o = jadd(&oom, e, "timings", cJSON_CreateObject());
	if (o) {
		jadd(&oom, o, "send", cJSON_CreateNumber(0));
		jadd(&oom, o, "wait", cJSON_CreateNumber(ms));
		jadd(&oom, o, "receive", cJSON_CreateNumber(0));
	}
	server_end(x, &saddr, &sport);
	if (inet_pton(AF_INET, saddr, ip) == 1 || inet_pton(AF_INET6, saddr, ip) == 1)
		jadd(&oom, e, "serverIPAddress", cJSON_CreateString(saddr));

	ext = jadd(&oom, e, "_apisonar", cJSON_CreateObject());
	if (ext) {
		jadd(&oom, ext, "pid", cJSON_CreateNumber(x->pid));
		jadd(&oom, ext, "comm", jtext(x->comm, strnlen(x->comm, AS_COMM_LEN)));
		jadd(&oom, ext, "role", cJSON_CreateString(as_role_name(x->role)));
		jadd(&oom, ext, "tls", cJSON_CreateBool(x->tls));
		jendpoint(&oom, ext, "local", x->local_addr, x->local_port, true);
		jendpoint(&oom, ext, "remote", x->remote_addr, x->remote_port, true);
		jflags(&oom, ext, x->flags);
		jadd(&oom, ext, "values", cJSON_CreateBool(v));
		if (x->resp_time_ns) {
			time_format_rfc3339(x->resp_time_ns, 6, tbuf, sizeof(tbuf));
			jadd(&oom, ext, "response_time", cJSON_CreateString(tbuf));
		}
		/* The url cannot carry this target byte for byte. */
		if (!exact)
			jadd(&oom, ext, "target", jstr_bytes(target));
	}
	free(masked);
	if (oom) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

/* The document up to the entries array; printed once, before the first
 * entry or at close. */
static void har_preamble(struct xio_writer *w)
{
	if (w->har_started)
		return;
	fprintf(
	    w->out,
	    "{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"apisonar\",\"version\":\"%s\"},"
	    "\"entries\":[",
	    APISONAR_VERSION);
	w->har_started = true;
}

static int write_har(struct xio_writer *w, const struct as_exchange *x)
{
	cJSON *e = har_entry(w, x);
	char *s;

	if (!e)
		return -ENOMEM;
	s = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	/* Nothing is printed for an entry that failed, so the separators of
	 * the next ones stay right. */
	if (!s)
		return -ENOMEM;
	har_preamble(w);
	fputs(w->entries ? ",\n" : "\n", w->out);
	fputs(s, w->out);
	free(s);
	return 0;
}

int xio_write(struct xio_writer *w, const struct as_exchange *x)
{
	int err;

	if (!w || !x)
		return -EINVAL;
	switch (w->fmt) {
	case XIO_TEXT:
		err = write_text(w, x);
		break;
	case XIO_JSONL:
		err = write_jsonl(w, x);
		break;
	case XIO_HAR:
		err = write_har(w, x);
		break;
	default:
		return -EINVAL;
	}
	if (err)
		return err;
	w->entries++;
	/* No flush per exchange: at line rate that is a write(2) per exchange.
	 * The caller flushes when it is idle (capture: every poll round). */
	if (ferror(w->out))
		return -EIO;
	return 0;
}

int xio_writer_close(struct xio_writer *w)
{
	int err = 0;

	if (!w)
		return 0;
	if (w->fmt == XIO_HAR) {
		har_preamble(w);
		fputs("\n]}}\n", w->out);
	}
	if (fflush(w->out) != 0 || ferror(w->out))
		err = -EIO;
	free(w);
	return err;
}
