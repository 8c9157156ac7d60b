/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sensitive-data detectors. They look at a value (or a field name) and say
 * which class of sensitive data it is; they never copy what they look at.
 * Used by the anonymizer (per field) and by the last guard before a batch
 * is spooled (a scan of the serialized text).
 */
#ifndef APISONAR_DETECT_H
#define APISONAR_DETECT_H

#include <stddef.h>

enum detect_class {
	DC_NONE = 0,
	DC_EMAIL,
	DC_PHONE,
	DC_CARD,        /* payment card, Luhn-valid */
	DC_IBAN,        /* mod-97 valid */
	DC_SSN,         /* US social security number */
	DC_IPV4,
	DC_IPV6,
	DC_JWT,
	DC_TOKEN,       /* bearer / opaque API token, high entropy */
	DC_AWS_KEY,
	DC_GITHUB_TOKEN,
	DC_STRIPE_KEY,
	DC_SLACK_TOKEN,
	DC_PRIVATE_KEY, /* PEM private key block */
	DC_PASSWORD,    /* by field name */
	DC_SECRET,      /* by field name */
	DC_PERSON_NAME, /* by field name */
	DC_ADDRESS,     /* postal address, by field name */
	DC_DOB,         /* date of birth, by field name */
	DC__COUNT,
};

/* Stable lowercase name used in metadata and OpenAPI ("email", "card"...). */
const char *detect_class_name(enum detect_class c);

/* Class of a whole value (a query value, a JSON string, a path segment). */
enum detect_class detect_value(const char *s, size_t n);

/* Class implied by a field or parameter name ("password", "email", "dob"). */
enum detect_class detect_name(const char *s, size_t n);

/* Scans free text (a serialized batch) for values of any class embedded in
 * it. Returns how many matches were found and, when first is not NULL, the
 * class of the first one. Never returns or copies the match. */
size_t detect_scan(const char *buf, size_t n, enum detect_class *first);

/* The bit of a class in a detect_scan_ex() mask. */
#define DETECT_CLASS_BIT(c) (1u << (c))

/* What detect_scan() looks for: every value class except DC_IPV4 and
 * DC_IPV6 (a service may be named by its server address) and the classes
 * only a field name can imply (password, secret, person name, address,
 * date of birth). */
#define DETECT_SCAN_DEFAULT_MASK                                                    \
	(((1u << DC__COUNT) - 1) &                                                  \
	 ~(DETECT_CLASS_BIT(DC_NONE) | DETECT_CLASS_BIT(DC_IPV4) |                  \
	   DETECT_CLASS_BIT(DC_IPV6) | DETECT_CLASS_BIT(DC_PASSWORD) |              \
	   DETECT_CLASS_BIT(DC_SECRET) | DETECT_CLASS_BIT(DC_PERSON_NAME) |         \
	   DETECT_CLASS_BIT(DC_ADDRESS) | DETECT_CLASS_BIT(DC_DOB)))

/* detect_scan() limited to the classes whose DETECT_CLASS_BIT is set in
 * class_mask. A value whose class is outside the mask is not counted and
 * does not make the scan look for another class in the same bytes. */
size_t detect_scan_ex(const char *buf, size_t n, unsigned int class_mask,
		      enum detect_class *first);

/* The shape of a value, for schema formats and for telling a path segment
 * or object key that is a value from a word. */
enum detect_format {
	DF_NONE = 0,  /* plain text */
	DF_BOOL,      /* true / false */
	DF_INTEGER,   /* -?[0-9]+ */
	DF_NUMBER,    /* decimal or exponent */
	DF_UUID,
	DF_HEX,       /* >= 8 hex chars in one case, not all digits ("deadbeef") */
	DF_BASE64,    /* base64 / base64url-looking id or blob, >= 16 chars */
	DF_DATE,      /* 2026-11-24 */
	DF_DATETIME,  /* RFC 3339 */
	DF_TIME,      /* 12:00:01 */
	DF_EMAIL,
	DF_URI,       /* scheme://... */
	DF_IPV4,
	DF_IPV6,
	DF_HOSTNAME,  /* dotted DNS name with a letter TLD */
	DF__COUNT,
};

/* Stable lowercase name as used in JSON Schema "format" where one exists
 * ("date-time", "email", "uuid", "uri", "ipv4", "ipv6", "hostname",
 * "byte" for DF_BASE64; "integer", "number", "hex", "boolean" otherwise,
 * "" for DF_NONE). */
const char *detect_format_name(enum detect_format f);

enum detect_format detect_format(const char *s, size_t n);

/* True when a path segment or object key is a value rather than a word:
 * a number, UUID, hex or base64 id, date, email, a detector match, or a
 * high-entropy token. "users", "v1", "api", "orders_2024" stay words. */
int detect_is_value_like(const char *s, size_t n);

/* detect_value() and detect_format() of the same value in one pass over
 * it; fmt may be NULL. */
enum detect_class detect_value_format(const char *s, size_t n, enum detect_format *fmt);

#endif
