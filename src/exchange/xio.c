// SPDX-License-Identifier: BSD-2-Clause
/*
 * Helpers shared by the exchange file writer (xio_write.c) and reader
 * (xio_read.c): format names, UTF-8 checks, base64, query masking, flag
 * names, times and HTTP versions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apisonar/exchange/xio.h"

/* The public names of the formats, in enum order. */
static const char *const format_names[] = {"auto", "text", "jsonl", "har"};

int xio_format_parse(const char *s, enum xio_format *out)
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum xio_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *xio_format_name(enum xio_format f)
{
	if ((unsigned)f < sizeof(format_names) / sizeof(format_names[0]))
		return format_names[f];
	return "?";
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF) and no
 * NUL, because cJSON strings end at the first NUL. */
bool xio_utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Own encoder: small, and keeps bodies byte-exact through JSON. */
char *xio_base64_encode(const unsigned char *s, size_t len)
{
	size_t olen, i, o = 0;
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	olen = (len + 2) / 3 * 4;
	out = malloc(olen + 1);
	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

/* Value of one base64 character, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict decoder: a stray byte is an error, not something to skip, so a
 * damaged record is counted instead of silently changed. */
int xio_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf;
	uint32_t acc = 0;
	size_t i, o = 0, bits = 0, pad = 0;

	while (pad < 2 && len > 0 && s[len - 1] == '=') {
		len--;
		pad++;
	}
	if (len % 4 == 1 || (pad && (len + pad) % 4 != 0))
		return -EINVAL;
	buf = malloc(len / 4 * 3 + 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		int v = b64_value((unsigned char)s[i]);

		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero in canonical base64. */
	if (acc != 0) {
		free(buf);
		return -EINVAL;
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
}

char *xio_mask_target(const char *target)
{
	const char *q = strchr(target, '?');
	size_t cap, o = 0;
	const char *p;
	char *out;

	if (!q)
		return strdup(target);
	/* Each parameter shrinks to at most its name plus "=*". */
	cap = strlen(target) + 2 * (strlen(q) + 1) + 1;
	out = malloc(cap);
	if (!out)
		return NULL;
	memcpy(out, target, (size_t)(q - target) + 1);
	o = (size_t)(q - target) + 1;
	p = q + 1;
	for (;;) {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));

		if (eq) {
			memcpy(out + o, p, (size_t)(eq - p));
			o += (size_t)(eq - p);
			out[o++] = '=';
			out[o++] = '*';
		} else if (end > p) {
			out[o++] = '*';
		}
		if (!amp)
			break;
		out[o++] = '&';
		p = amp + 1;
	}
	out[o] = '\0';
	return out;
}

/* Bit and name of every enum as_xflags value. */
static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
    {AS_X_NO_RESPONSE, "no_response"},
    {AS_X_REQ_TRUNCATED, "req_truncated"},
    {AS_X_RESP_TRUNCATED, "resp_truncated"},
    {AS_X_REQ_GAP, "req_gap"},
    {AS_X_RESP_GAP, "resp_gap"},
    {AS_X_MIDSTREAM, "midstream"},
    {AS_X_UPGRADE, "upgrade"},
    {AS_X_RESET, "reset"},
    {AS_X_SAMPLED, "sampled"},
};

const char *xio_flag_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (flag_names[i].bit == bit)
			return flag_names[i].name;
	return NULL;
}

uint32_t xio_flag_bit(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (strcmp(flag_names[i].name, name) == 0)
			return flag_names[i].bit;
	return 0;
}

void xio_format_version(int v, char *buf, size_t size)
{
	if (v <= 0 || v > 99)
		snprintf(buf, size, "%s", "");
	else
		snprintf(buf, size, "HTTP/%d.%d", v / 10, v % 10);
}

int xio_parse_version(const char *s)
{
	if (s[0] == '\0')
		return 0;
	if (strcmp(s, "h2") == 0 || strcmp(s, "h2c") == 0)
		return 20;
	if (strcmp(s, "h3") == 0)
		return 30;
	if (strncasecmp(s, "HTTP/", 5) == 0 && s[5] >= '0' && s[5] <= '9') {
		if (s[6] == '\0')
			return (s[5] - '0') * 10; /* "HTTP/2" */
		if (s[6] == '.' && s[7] >= '0' && s[7] <= '9' && s[8] == '\0')
			return (s[5] - '0') * 10 + (s[7] - '0');
	}
	return -1;
}
