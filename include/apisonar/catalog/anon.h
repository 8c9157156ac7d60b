/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The anonymizer: one exchange in, one observation out. An observation is a
 * metadata document (schema apisonar.metadata/v1, docs/metadata.md) that
 * describes exactly one exchange: the service, one endpoint with its
 * template, parameter names, schemas, auth kinds, status, sizes and latency.
 * It is built only from names, types, formats, classes and counts; a value
 * is read to learn its shape and class, then dropped.
 *
 * The catalog merges observations with the same merge it uses for metadata
 * documents from other sensors, which is what makes "add every exchange"
 * and "merge the documents of several sensors" give the same catalog.
 *
 * This header also carries the small document helpers the anonymizer and
 * the catalog share (sets, counts, capped maps).
 */
#ifndef APISONAR_ANON_H
#define APISONAR_ANON_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "apisonar/exchange/exchange.h"

#define ANON_MAX_SEGMENTS 32        /* path segments templated; more = skipped */
#define ANON_MAX_NAME 128           /* longest name kept (field, param, header) */
#define ANON_MAX_INFLATE (1u << 20) /* decoded bytes of a gzip/deflate body */
#define ANON_MAX_ARRAY_ITEMS 256    /* array elements looked at per array */
#define ANON_MAX_FORM_FIELDS 256    /* form / multipart fields looked at */
#define ANON_MAX_PARAM_NAME 64      /* longest path parameter name made */

/* Caps the anonymizer applies while building one observation. */
struct anon_limits {
	uint32_t max_fields; /* keys kept per object / parameter location */
	uint32_t max_depth;  /* schema nesting kept */
};

/* What the anonymizer cut while building observations. */
struct anon_counters {
	uint64_t limit_fields;
	uint64_t limit_depth;
	uint64_t dropped_names;  /* names that looked like values, not kept */
	uint64_t body_undecoded; /* bodies recorded by size only (bad gzip, cap) */
};

/* Builds the observation of one exchange. Returns 0 and a new document in
 * *obs (caller frees), or a negative errno: -EINVAL when the exchange has no
 * usable method or target, -ENOMEM. */
int anon_observe(const struct as_exchange *x, const struct anon_limits *lim,
		 struct anon_counters *cnt, cJSON **obs) __attribute__((warn_unused_result));

/* Templates a request path (no query). Writes the template into out (at most
 * outlen bytes, NUL-terminated) and, for each parameter it made, adds a path
 * parameter node to params (an object keyed by name; may be NULL). Returns 0
 * or -EINVAL (too many segments, not a path, too long). */
int anon_template_path(const char *path, size_t len, char *out, size_t outlen, cJSON *params)
	__attribute__((warn_unused_result));

/* True when a segment, key or name has the shape of a value: a number,
 * UUID, hex, base64, date, e-mail, a long digit run, a prefixed id
 * ("usr_8f3k"), a random base62 run ("Qm3xVbTz"), or a detector match
 * anywhere inside it (a credential followed by ".json"). */
int anon_value_shaped(const char *s, size_t n);

/* A safe word: letters with inner '-' or '_', 1 to 40 bytes, not value
 * shaped. Only safe words give parameter names. */
int anon_safe_word(const char *s, size_t n);

/* Where the suffix of a segment starts ("42.json" -> 2: a dot, a lowercase
 * letter, then up to 3 lowercase letters or digits, or a format extension
 * of anon_format_ext() after any stem), or n when there is none. */
size_t anon_suffix(const char *s, size_t n);

/* A version-like number ("2", "2.0", "1.12"): kept by the templating of
 * one path, decided by the catalog (a version when resources follow it). */
int anon_version_number(const char *s, size_t n);

/* A file format extension without its dot ("json", "xml", "jsonp",
 * "atom", "pbf"): one of a fixed list. A segment's format is a suffix
 * whatever its stem, and a position with several formats of one stem is
 * a format parameter (".{format}"). */
int anon_format_ext(const char *e, size_t n);

/* The parameter name for a value after the literal prev (NULL when there is
 * none or it is a parameter): singular(prev) + "Id" when prev is a safe
 * word, else "id"; numbered (id2, userId2) while used(arg, name) says it is
 * taken. Shared by the anonymizer and the catalog. */
void anon_param_name(const char *prev, size_t prevlen, int (*used)(void *, const char *),
		     void *arg, char *out, size_t outlen);

/* Makes a parameter name from the literal segment before a value: "users"
 * -> "user", "categories" -> "category"; "" when nothing usable. */
void anon_singular(const char *seg, size_t n, char *out, size_t outlen);

/* True when a name (JSON key, parameter, header, cookie, form field) may be
 * kept: valid UTF-8, printable, at most ANON_MAX_NAME bytes, not a value. */
int anon_name_ok(const char *s, size_t n);

/* Infers a schema node from a JSON value into node (merging with what is
 * there). name_class is the sensitive class implied by the field's name. */
void anon_schema_infer(cJSON *node, const cJSON *v, int depth, const struct anon_limits *lim,
		       struct anon_counters *cnt);

/* Adds the fields of an application/x-www-form-urlencoded body into an
 * object schema node. */
void anon_form_infer(cJSON *node, const char *body, size_t len, const struct anon_limits *lim,
		     struct anon_counters *cnt);

/* Adds the fields of a multipart/form-data body into an object schema node;
 * file parts become strings of format binary. ctype is the Content-Type
 * header (for the boundary). Returns 0 or -EINVAL when it is not multipart. */
int anon_multipart_infer(cJSON *node, const char *ctype, const unsigned char *body, size_t len,
			 const struct anon_limits *lim, struct anon_counters *cnt);

/* Inflates a gzip, zlib or raw deflate body into at most cap bytes. Returns
 * 0 and a new buffer, -E2BIG past cap, -EINVAL on a bad stream. */
int anon_inflate(const unsigned char *in, size_t len, size_t cap, unsigned char **out,
		 size_t *out_len) __attribute__((warn_unused_result));

/* ---- document helpers shared with the catalog ---------------------------- */

/* Adds v to the numeric member name of obj (created at 0). */
void doc_count_add(cJSON *obj, const char *name, double v);

/* Inserts s into the sorted string array member name of obj (created; name
 * must have static storage),
 * keeping at most cap smallest strings. Returns 1 if something was cut. */
int doc_set_add(cJSON *obj, const char *name, const char *s, size_t cap);

/* The member key of map, created as an empty object when absent. When map
 * already holds cap members, keeps the cap lexicographically smallest keys
 * (evicting the largest) and returns NULL when key itself is cut; *cut is
 * set to 1 whenever something was cut. */
cJSON *doc_map_get(cJSON *map, const char *key, size_t cap, int *cut);

/* The member key of a map made with doc_map_get, or NULL: the same answer
 * as a lookup by name, faster on large maps (see catalog_doc.c). */
cJSON *doc_map_find(const cJSON *map, const char *key);

/* Valid UTF-8 with no control character. */
int doc_utf8_ok(const unsigned char *s, size_t n);

/* Object member, created empty when absent. */
cJSON *doc_obj(cJSON *obj, const char *name);

/* The same for a name (and, for doc_set_add_static, an element) with
 * static storage: kept by reference, not copied. */
cJSON *doc_objk(cJSON *obj, const char *name);
void doc_countk(cJSON *obj, const char *name, double v);
int doc_set_add_static(cJSON *obj, const char *name, const char *s, size_t cap);

/* Sketch bucket of a latency in ns: fixed log buckets, 8 per doubling of
 * microseconds, bucket 0 under 1 us. */
#define DOC_LAT_BUCKETS 256
unsigned doc_lat_bucket(uint64_t ns);
/* Upper bound of a bucket in milliseconds. */
double doc_lat_upper_ms(unsigned b);

#endif
