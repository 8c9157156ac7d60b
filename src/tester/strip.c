// SPDX-License-Identifier: BSD-2-Clause
/*
 * What a test result may keep (docs/testing.md, "Results"): every supplied
 * credential removed wherever it shows, in every encoding a server may
 * echo it in; tokens the server issued (JWTs) withheld; anything a
 * detector matches withheld by class. The last guard then scans the whole
 * result.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "apisonar/catalog/detect.h"
#include "apisonar/tester/strip.h"

#define STRIP_MARK "<credential>"

/* Replaces every occurrence of needle in *s; returns how many. */
static size_t replace_all(char **s, const char *needle, size_t nl, const char *rep)
{
	size_t count = 0, rl = strlen(rep), out_len = 0;
	char *src = *s, *p, *out, *o;

	if (!nl || !src)
		return 0;
	for (p = src; (p = memmem(p, strlen(p), needle, nl)); p += nl)
		count++;
	if (!count)
		return 0;
	out_len = strlen(src) + count * rl + 1;
	out = malloc(out_len);
	if (!out) {
		/* Better nothing than a credential. */
		src[0] = '\0';
		return count;
	}
	o = out;
	for (p = src;;) {
		char *q = memmem(p, strlen(p), needle, nl);

		if (!q) {
			memcpy(o, p, strlen(p) + 1);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, rep, rl);
		o += rl;
		p = q + nl;
	}
	free(src);
	*s = out;
	return count;
}

static void b64(const unsigned char *in, size_t n, char *out, size_t outlen, bool url, bool pad)
{
	size_t i, k;

	if (4 * ((n + 2) / 3) + 1 > outlen) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	k = strlen(out);
	if (!pad)
		while (k && out[k - 1] == '=')
			out[--k] = '\0';
	if (url)
		for (i = 0; i < k; i++)
			out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
}

static void hexenc(const unsigned char *in, size_t n, char *out, size_t outlen, bool upper)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *d = upper ? up : lo;
	size_t i;

	if (2 * n + 1 > outlen) {
		out[0] = '\0';
		return;
	}
	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void urlenc(const char *in, char *out, size_t outlen, bool upper)
{
	static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
	const char *d = upper ? up : lo;
	size_t o = 0;

	for (; *in && o + 4 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = d[c >> 4];
			out[o++] = d[c & 15];
		}
	}
	out[o] = '\0';
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '-' || c == '_' || c == '=';
}

/* Replaces every base64 run that contains core, the whole run: its edges
 * carry bits of the secret too. */
static size_t replace_b64_runs(char **s, const char *core, size_t cl)
{
	size_t count = 0, from = 0;
	char *p;

	if (cl < 8)
		return 0;
	/* From past the last mark: a mark never matches again. */
	while (*s && from <= strlen(*s) &&
	       (p = memmem(*s + from, strlen(*s + from), core, cl))) {
		char *a = p, *b = p + cl, *out;
		size_t head, tail_len;

		while (a > *s && b64_char(a[-1]))
			a--;
		while (b64_char(*b))
			b++;
		head = (size_t)(a - *s);
		tail_len = strlen(b);
		out = malloc(head + strlen(STRIP_MARK) + tail_len + 1);
		if (!out) {
			(*s)[0] = '\0';
			return count + 1;
		}
		memcpy(out, *s, head);
		memcpy(out + head, STRIP_MARK, strlen(STRIP_MARK));
		memcpy(out + head + strlen(STRIP_MARK), b, tail_len + 1);
		free(*s);
		*s = out;
		from = head + strlen(STRIP_MARK);
		count++;
	}
	return count;
}

/* A secret base64-encoded inside a longer string ("Bearer <token>",
 * "user:password") starts at any offset modulo 3: for each, the part of
 * the encoding that only the secret's bytes decide. */
static size_t strip_b64_inside(char **s, const char *secret, size_t n)
{
	static unsigned char buf[STRIP_MAX_SECRET + 3];
	static char enc[4 * STRIP_MAX_SECRET + 16];
	size_t count = 0, k;

	if (n > STRIP_MAX_SECRET)
		return 0;
	for (k = 0; k < 3; k++) {
		size_t skip = k ? 4 : 0, whole = 4 * ((k + n) / 3), cl;
		int url;

		memset(buf, 0, k);
		memcpy(buf + k, secret, n);
		for (url = 0; url < 2; url++) {
			b64(buf, k + n, enc, sizeof(enc), url, false);
			if (whole <= skip)
				continue;
			cl = whole - skip;
			enc[whole] = '\0';
			count += replace_b64_runs(s, enc + skip, cl);
		}
	}
	return count;
}

/* Every form of one secret: raw, URL-encoded (both hex cases), base64
 * (padded, unpadded, URL-safe, and inside a longer encoded string), hex
 * (both cases). */
static size_t strip_one(char **s, const char *secret)
{
	static char enc[4 * STRIP_MAX_SECRET + 16];
	size_t n = strlen(secret), count = 0;
	int v;

	count += replace_all(s, secret, n, STRIP_MARK);
	for (v = 0; v < 2; v++) {
		urlenc(secret, enc, sizeof(enc), v);
		count += replace_all(s, enc, strlen(enc), STRIP_MARK);
		hexenc((const unsigned char *)secret, n, enc, sizeof(enc), v);
		count += replace_all(s, enc, strlen(enc), STRIP_MARK);
	}
	b64((const unsigned char *)secret, n, enc, sizeof(enc), false, true);
	count += replace_all(s, enc, strlen(enc), STRIP_MARK);
	b64((const unsigned char *)secret, n, enc, sizeof(enc), false, false);
	count += replace_all(s, enc, strlen(enc), STRIP_MARK);
	b64((const unsigned char *)secret, n, enc, sizeof(enc), true, false);
	count += replace_all(s, enc, strlen(enc), STRIP_MARK);
	count += strip_b64_inside(s, secret, n);
	return count;
}

size_t strip_secrets(char **s, const char *const *secrets, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		if (secrets[i] && secrets[i][0])
			count += strip_one(s, secrets[i]);
	return count;
}

static bool b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '=';
}

size_t strip_jwts(char **s)
{
	size_t count = 0;
	char *p;

	if (!*s)
		return 0;
	for (p = *s; (p = strstr(p, "eyJ"));) {
		char *q = p;
		int dots = 0;

		for (;;) {
			while (b64url_char(*q))
				q++;
			if (*q == '.' && dots < 2 && b64url_char(q[1])) {
				dots++;
				q++;
				continue;
			}
			break;
		}
		if (dots >= 1 && q - p >= 16) {
			size_t off = (size_t)(p - *s);
			char keep = *q;
			char *tok;

			*q = '\0';
			tok = strdup(p);
			*q = keep;
			if (!tok) {
				(*s)[0] = '\0';
				return count + 1;
			}
			count += replace_all(s, tok, strlen(tok), "<jwt>");
			free(tok);
			p = *s + off + 5;
			continue;
		}
		p += 3;
	}
	return count;
}

int strip_withheld(const char *s, char *why, size_t whylen)
{
	enum detect_class c = detect_value(s, strlen(s));

	if (c == DC_NONE && !detect_scan(s, strlen(s), &c))
		return 0;
	snprintf(why, whylen, "<withheld: %s>", detect_class_name(c));
	return 1;
}
