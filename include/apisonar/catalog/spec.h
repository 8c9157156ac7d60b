/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Declared APIs: OpenAPI 3.0 / 3.1 and Swagger 2.0 documents, JSON or YAML.
 *
 *   spec_parse()    bytes -> a cJSON tree (YAML through libyaml), bounded
 *   spec_scrub()    every value of the document checked with the traffic
 *                   detectors; findings by JSON pointer and class, never
 *                   by value
 *   spec_declare()  the tree -> a declared catalog: the shape of an
 *                   apisonar.metadata/v1 document (services, endpoints,
 *                   parameters, bodies, statuses, auth kinds) with
 *                   "declared": true, local $refs followed, cycles cut
 *
 * The document itself is never copied to any output. Only names that pass
 * the anonymizer's checks reach the declared catalog: a name that a
 * detector matches is left out and reported like a scrubbed value.
 */
#ifndef APISONAR_CATALOG_SPEC_H
#define APISONAR_CATALOG_SPEC_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "apisonar/catalog/detect.h"

#define SPEC_MAX_BYTES (64u << 20) /* largest document read */
#define SPEC_MAX_NODES 4000000u    /* nodes built, aliases expanded included */
#define SPEC_MAX_DEPTH 256         /* nesting of the document itself */
#define SPEC_MAX_SCHEMA_DEPTH 24   /* schema nesting followed (refs included) */
#define SPEC_MAX_POINTER 256       /* bytes of a reported JSON pointer */
#define SPEC_MAX_FINDINGS 1000     /* findings kept; more are only counted */

/* Parses a JSON or YAML document (YAML through libyaml; JSON first when
 * the first non-blank byte is '{' or '[', then YAML's flow form). YAML anchors and aliases are
 * expanded within SPEC_MAX_NODES; a second document in the stream is
 * ignored. Returns 0 with *out, or -EINVAL / -E2BIG / -ENOMEM with a
 * message in err that names a line and column, never a byte of the input. */
int spec_parse(const char *buf, size_t len, cJSON **out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

struct spec_finding {
	char pointer[SPEC_MAX_POINTER]; /* "/paths/~1users/get/parameters/0/example" */
	enum detect_class cls;
};

struct spec_report {
	struct spec_finding *findings;
	size_t n;       /* kept */
	size_t total;   /* found (n or more) */
};

/* Checks every string of the document (values, and keys that become
 * names: paths, parameter and property names) with the detectors. Pointer
 * components that could themselves be values are written as "*". Returns
 * 0 or -ENOMEM; the report is the caller's (spec_report_free). */
int spec_scrub(const cJSON *doc, struct spec_report *rep) __attribute__((warn_unused_result));

void spec_report_free(struct spec_report *rep);

struct spec_declare_opts {
	const char *service;   /* NULL: the host of the first server URL */
	const char *base_path; /* NULL: the path of the first server URL */
};

/* The declared catalog of one document, merged into *catalog (created when
 * NULL): {"services": {name: {"endpoints": {"GET /users/{id}": {...}}}}}.
 * Remote $refs are refused (-EINVAL, "remote $ref at <pointer>"), cyclic
 * ones cut where they close. Returns 0 or -errno with a message in err. */
int spec_declare(const cJSON *doc, const struct spec_declare_opts *o, struct spec_report *rep,
		 cJSON **catalog, char *err, size_t errlen) __attribute__((warn_unused_result));

/* spec_parse(), spec_scrub() and spec_declare() of one file. err names
 * the file and the position, never a byte of it. */
int spec_declare_file(const char *path, const struct spec_declare_opts *o,
		      struct spec_report *rep, cJSON **catalog, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Endpoints in a declared catalog, over all services. */
int spec_count_endpoints(const cJSON *catalog);

/* "METHOD /template" with every parameter written "{}": the key under
 * which declared and observed endpoints are compared (/users/{id} and
 * /users/{userId} are one endpoint). */
int spec_template_key(const char *method, const char *path, char *out, size_t outlen);

#endif
