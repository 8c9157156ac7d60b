/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The API catalog: what the anonymizer learned from exchanges, merged per
 * service -> endpoint (method + path template) -> parameters, bodies,
 * responses, auth kinds, counts and latency. It holds no value, by its
 * types: only names, types, formats, sensitive-data classes and counts.
 *
 * Used in-process by `apisonar anonymize`, `apisonar run` (exchanges in)
 * and `apisonar satellite` (metadata documents from batches in). Merging is
 * associative and commutative, so the order and grouping of merges never
 * change the result.
 */
#ifndef APISONAR_CATALOG_H
#define APISONAR_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "apisonar/exchange/exchange.h"

#define CATALOG_SCHEMA "apisonar.metadata/v1"

/* Caps that bound memory whatever the input; 0 in a field means default. */
struct catalog_limits {
	uint32_t max_services;
	uint32_t max_endpoints; /* per service */
	uint32_t max_fields;    /* per schema object */
	uint32_t max_depth;     /* JSON nesting kept */
};

/* What was cut or skipped, for the summary and /metrics. */
struct catalog_stats {
	uint64_t exchanges;       /* exchanges merged */
	uint64_t skipped;         /* exchanges refused (see the log) */
	uint64_t services;
	uint64_t endpoints;
	uint64_t fields;
	uint64_t sensitive_fields;
	uint64_t limit_services;  /* observations cut by each cap */
	uint64_t limit_endpoints;
	uint64_t limit_fields;
	uint64_t limit_depth;
};

struct catalog;

struct catalog *catalog_new(const struct catalog_limits *lim);
void catalog_free(struct catalog *c);

/* Anonymizes one exchange and merges what it learned. The exchange is only
 * read; no byte of a value is kept. Returns 0, or a negative errno when the
 * exchange was skipped (counted in stats). */
int catalog_add_exchange(struct catalog *c, const struct as_exchange *x);

/* Merges a metadata document (what catalog_to_metadata() makes, e.g. from a
 * batch). Validates it first; on error writes a reason that holds no value
 * from the document into err and returns -EINVAL. */
int catalog_merge_metadata(struct catalog *c, const cJSON *doc, char *err, size_t errlen);

/* The native catalog document (schema apisonar.metadata/v1); the caller
 * owns it. Deterministic: same merges, same bytes. */
cJSON *catalog_to_metadata(const struct catalog *c);

/* The catalog as merged, without the output's decisions (templating on
 * thin evidence, maps folded at output): for a catalog that is merged
 * again (a satellite's state, its deltas upstream, a replica's entry in the
 * cluster bucket), so that merging by any grouping gives the bytes one
 * catalog of every batch gives. Only ever holds what the merged documents
 * held. The caller owns it. */
cJSON *catalog_to_metadata_raw(const struct catalog *c);

/* Writes DIR/metadata.json and DIR/openapi/<service>.json, each atomically
 * (temp file, fsync, rename). Returns 0 or a negative errno. */
int catalog_write_dir(const struct catalog *c, const char *dir);

void catalog_get_stats(const struct catalog *c, struct catalog_stats *out);

/* The OpenAPI 3.1 document of one service of a metadata document (a member
 * of "services", as catalog_to_metadata() makes it); the caller owns it.
 * Sensitive classes, counts and latency ride in x-apisonar-* extensions. */
cJSON *openapi_from_service(const char *name, const cJSON *service);

/* The names a metadata document may hold, as catalog_merge_metadata()
 * validates them, for the modules that build documents from outside input
 * (declared_merge.c): 1 when s is a JSON type name, a format ("text",
 * "binary" or a detector's), a sensitive-data class, a 3-digit status code,
 * a content type ("type/subtype" in the catalog's characters, or "none"). */
int catalog_valid_type(const char *s);
int catalog_valid_format(const char *s);
int catalog_valid_class(const char *s);
int catalog_valid_status(const char *s);
int catalog_valid_ctype(const char *s);

#endif
