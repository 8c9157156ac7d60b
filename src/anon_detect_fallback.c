// SPDX-License-Identifier: BSD-2-Clause
/*
 * TEMPORARY: a minimal stand-in for the detectors (include/apisonar/detect.h)
 * until the detect branch is merged. It compiles to nothing as soon as
 * src/detect.c exists, and is deleted at that merge. Not a detector set:
 * shapes only, enough to template paths and type values.
 */
#if !__has_include("detect.c")
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "apisonar/detect.h"

const char *detect_class_name(enum detect_class c)
{
	static const char *const n[DC__COUNT] = {
		"none", "email", "phone", "card", "iban", "ssn", "ipv4", "ipv6", "jwt", "token",
		"aws_key", "github_token", "stripe_key", "slack_token", "private_key", "password",
		"secret", "person_name", "address", "dob",
	};

	return (unsigned)c < DC__COUNT ? n[c] : "none";
}

const char *detect_format_name(enum detect_format f)
{
	static const char *const n[DF__COUNT] = {
		"none", "boolean", "int", "number", "uuid", "hex", "byte", "date", "date-time",
		"time", "email", "uri", "ipv4", "ipv6", "hostname",
	};

	return (unsigned)f < DF__COUNT ? n[f] : "none";
}

static int all(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strchr(set, s[i]) || !s[i])
			return 0;
	return n > 0;
}

enum detect_format detect_format(const char *s, size_t n)
{
	size_t i, at = 0, dots = 0;

	if ((n == 4 && strncmp(s, "true", 4) == 0) || (n == 5 && strncmp(s, "false", 5) == 0))
		return DF_BOOL;
	if (all(s[0] == '-' ? s + 1 : s, s[0] == '-' ? n - 1 : n, "0123456789") && n < 20)
		return DF_INTEGER;
	if (all(s, n, "0123456789.-+eE") && n < 40 && isdigit((unsigned char)s[n - 1]))
		return DF_NUMBER;
	if (n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-')
		return DF_UUID;
	if (n == 10 && s[4] == '-' && s[7] == '-' && all(s, 4, "0123456789"))
		return DF_DATE;
	if (n >= 20 && s[4] == '-' && s[10] == 'T')
		return DF_DATETIME;
	if (n == 8 && s[2] == ':' && s[5] == ':')
		return DF_TIME;
	if (n > 7 && (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0))
		return DF_URI;
	for (i = 0; i < n; i++) {
		at += s[i] == '@';
		dots += s[i] == '.';
	}
	if (at == 1 && dots >= 1 && s[0] != '@')
		return DF_EMAIL;
	if (n >= 8 && all(s, n, "0123456789abcdefABCDEF") && strpbrk(s, "0123456789"))
		return DF_HEX;
	if (n >= 16 && all(s, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"))
		return DF_BASE64;
	return DF_NONE;
}

enum detect_class detect_value(const char *s, size_t n)
{
	if (n > 20 && strncmp(s, "eyJ", 3) == 0 && memchr(s, '.', n))
		return DC_JWT;
	if (detect_format(s, n) == DF_EMAIL)
		return DC_EMAIL;
	return DC_NONE;
}

enum detect_class detect_name(const char *s, size_t n)
{
	if (n >= 5 && strncasecmp(s, "email", 5) == 0)
		return DC_EMAIL;
	if (n >= 8 && strncasecmp(s, "password", 8) == 0)
		return DC_PASSWORD;
	return DC_NONE;
}

size_t detect_scan(const char *buf, size_t n, enum detect_class *first)
{
	(void)buf;
	(void)n;
	if (first)
		*first = DC_NONE;
	return 0;
}

int detect_is_value_like(const char *s, size_t n)
{
	enum detect_format f = detect_format(s, n);
	size_t i, digits = 0;

	if (f != DF_NONE && f != DF_HOSTNAME && f != DF_BOOL)
		return 1;
	for (i = 0; i < n; i++)
		digits += isdigit((unsigned char)s[i]) != 0;
	return n > 24 || (n >= 6 && digits * 3 >= n);
}
#endif
