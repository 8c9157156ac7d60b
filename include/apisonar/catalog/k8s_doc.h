/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The catalog's `kubernetes` member: what a workload identity may contain
 * and how it names and merges into a service. Filled by the daemon
 * (include/apisonar/daemon/k8s.h), read by the anonymizer and the catalog.
 */
#ifndef APISONAR_CATALOG_K8S_DOC_H
#define APISONAR_CATALOG_K8S_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "apisonar/exchange/exchange.h"

#define K8S_MAX_NAME 253         /* longest namespace, workload or container name */
#define K8S_MAX_KIND 63          /* longest workload kind */
#define K8S_DOC_MAX_CONTAINERS 8 /* container names kept per catalog service */

/* The same strings as a Kubernetes name would be: [a-z0-9.-], 1..max
 * bytes, starting and ending with an alphanumeric. */
bool k8s_name_ok(const char *s, size_t max);

/* A workload kind: a CamelCase word of at most K8S_MAX_KIND bytes. */
bool k8s_kind_ok(const char *s);

/* ---- the catalog's `kubernetes` member ------------------------------------ */

/* The service key of a server whose workload is known: "<workload>.<ns>"
 * into out. Returns 0, or -ENOENT when the identity has no workload. */
int k8s_doc_service_key(const struct as_identity *id, char *out, size_t outlen);

/* Adds {"namespace", "kind", "workload", "containers": [name]} to a
 * service object for a known identity. Returns 0 or -ENOENT / -ENOMEM. */
int k8s_doc_add(cJSON *svc, const struct as_identity *id);

/* Validates src as a `kubernetes` member and, when dparent is not NULL,
 * merges it into dparent's member key: each scalar keeps the
 * lexicographically smallest value, containers are a sorted union that
 * keeps the K8S_DOC_MAX_CONTAINERS smallest. So the merge is associative
 * and commutative. Returns 0, 1 when the container cap cut something, or
 * -EINVAL with *why (a static string that quotes nothing). */
int k8s_doc_merge(cJSON *dparent, const char *key, const cJSON *src, const char **why);

#endif
