/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The declared catalog inside the metadata catalog (docs/declared.md):
 * a declared catalog (spec_declare(), apisonar.declared/v1) becomes an
 * apisonar.metadata/v1 document whose endpoints, parameters, body fields,
 * headers and statuses carry "declared": 1 (merged as a max) and counts
 * of 0, so merging it is associative, commutative and idempotent.
 * Observed means a count above 0.
 */
#ifndef APISONAR_CATALOG_DECLARED_MERGE_H
#define APISONAR_CATALOG_DECLARED_MERGE_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* 1 when a member of the metadata (endpoint, node, response) carries a
 * declared mark, else 0. */
int declared_mark(const cJSON *item);

/* The declared catalog as a metadata document, or NULL (out of memory).
 * What the metadata cannot hold is left out: statuses that are not one
 * code ("2XX", "default"), media types that are not one type/subtype,
 * formats the detectors do not name (int64, ...). */
cJSON *declared_to_metadata(const cJSON *declared);

/* "METHOD /users/{}" of an endpoint of the metadata (its method and
 * path): the key under which templates with other parameter names meet. */
int declared_template_key(const cJSON *ep, char *out, size_t outlen);

/* A copy of a metadata document with only what was observed: endpoints,
 * parameters, fields, bodies, statuses and auth kinds of count 0 left
 * out, and the declared marks dropped. What the drift comparison reads.
 * NULL when out of memory. */
cJSON *declared_observed_only(const cJSON *metadata);

/* "declared", "observed" or "both" for an endpoint, a node or a response
 * (count_member: "count" or "n"); NULL when neither. */
const char *declared_source(const cJSON *item, const char *count_member);

#endif
