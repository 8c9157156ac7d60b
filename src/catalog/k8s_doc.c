// SPDX-License-Identifier: BSD-2-Clause
/*
 * The catalog's `kubernetes` member (include/apisonar/catalog/k8s_doc.h):
 * the names a workload identity may carry, the service key it gives a
 * server, and the member's validation and merge. The daemon's lookups
 * (src/daemon/k8s.c) fill the identity; this file is all the catalog needs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/k8s_doc.h"

/* ---- names ------------------------------------------------------------------ */

/* Namespaces, workload and container names are DNS labels or subdomains;
 * anything else is refused rather than carried into the catalog. */
bool k8s_name_ok(const char *s, size_t max)
{
	size_t i, n;

	if (!s)
		return false;
	n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[n - 1]);
}

/* Kinds are CamelCase words (Deployment, a CRD's kind). */
bool k8s_kind_ok(const char *s)
{
	size_t i, n;

	if (!s)
		return false;
	n = strnlen(s, K8S_MAX_KIND + 1);
	if (n == 0 || n > K8S_MAX_KIND || !isupper((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return false;
	return true;
}

/* ---- the catalog's kubernetes member ------------------------------------------- */

/* Exchanges can be built by hand (tests, files): the identity is checked
 * again before it names a service. */
static bool identity_ok(const struct as_identity *id)
{
	return id && k8s_name_ok(id->ns, 63) && k8s_kind_ok(id->kind) &&
	       k8s_name_ok(id->workload, K8S_MAX_NAME);
}

/* The in-cluster DNS form: what the workload's clients call it. */
int k8s_doc_service_key(const struct as_identity *id, char *out, size_t outlen)
{
	int n;

	if (!identity_ok(id))
		return -ENOENT;
	n = snprintf(out, outlen, "%s.%s", id->workload, id->ns);
	return n > 0 && (size_t)n < outlen ? 0 : -ENOENT;
}

/* The member an observation carries; the catalog merges it like any
 * document's (k8s_doc_merge). */
int k8s_doc_add(cJSON *svc, const struct as_identity *id)
{
	cJSON *m, *cs;

	if (!identity_ok(id))
		return -ENOENT;
	m = cJSON_CreateObject();
	if (!m)
		return -ENOMEM;
	cs = cJSON_AddArrayToObject(m, "containers");
	if (!cs || !cJSON_AddStringToObject(m, "namespace", id->ns) ||
	    !cJSON_AddStringToObject(m, "kind", id->kind) ||
	    !cJSON_AddStringToObject(m, "workload", id->workload) ||
	    (k8s_name_ok(id->container, 63) &&
	     !cJSON_AddItemToArray(cs, cJSON_CreateString(id->container)))) {
		cJSON_Delete(m);
		return -ENOMEM;
	}
	cJSON_AddItemToObject(svc, "kubernetes", m);
	return 0;
}

/* One scalar member: validated, then the smaller of the two kept. */
static int merge_least(cJSON *dst, const char *name, const cJSON *v, bool (*ok)(const char *))
{
	const cJSON *d;

	if (!cJSON_IsString(v) || !ok(v->valuestring))
		return -EINVAL;
	if (!dst)
		return 0;
	d = cJSON_GetObjectItemCaseSensitive(dst, name);
	if (!d || !cJSON_IsString(d))
		return cJSON_AddStringToObject(dst, name, v->valuestring) ? 0 : -ENOMEM;
	if (strcmp(v->valuestring, d->valuestring) < 0)
		return cJSON_ReplaceItemInObjectCaseSensitive(dst, name,
							      cJSON_CreateString(v->valuestring)) ?
			       0 :
			       -ENOMEM;
	return 0;
}

/* Per-member checks for merge_least(). */
static bool ns_ok(const char *s)
{
	return k8s_name_ok(s, 63);
}

/* See ns_ok(). */
static bool workload_ok(const char *s)
{
	return k8s_name_ok(s, K8S_MAX_NAME);
}

/* The check of one scalar member by its name. */
static bool (*scalar_check(const char *name))(const char *)
{
	if (strcmp(name, "kind") == 0)
		return k8s_kind_ok;
	if (strcmp(name, "namespace") == 0)
		return ns_ok;
	return workload_ok;
}

/* The whole member, before anything is merged: known members only, each
 * once, names that Kubernetes could have made, a sorted unique set. */
static int doc_validate(const cJSON *src, const char **why)
{
	const cJSON *it, *o, *c;

	if (!cJSON_IsObject(src)) {
		*why = "expected an object";
		return -EINVAL;
	}
	for (it = src->child; it; it = it->next) {
		const char *n = it->string;

		for (o = src->child; o != it; o = o->next) {
			if (strcmp(o->string, n) == 0) {
				*why = "duplicate member";
				return -EINVAL;
			}
		}
		if (strcmp(n, "containers") == 0) {
			int count = 0;

			if (!cJSON_IsArray(it)) {
				*why = "containers: expected an array";
				return -EINVAL;
			}
			cJSON_ArrayForEach(c, it) {
				if (!cJSON_IsString(c) || !k8s_name_ok(c->valuestring, 63)) {
					*why = "containers: expected Kubernetes names";
					return -EINVAL;
				}
				if (c != it->child && strcmp(c->prev->valuestring, c->valuestring) >= 0) {
					*why = "containers: set not sorted or not unique";
					return -EINVAL;
				}
				if (++count > K8S_DOC_MAX_CONTAINERS) {
					*why = "containers: more than 8";
					return -EINVAL;
				}
			}
			continue;
		}
		if (strcmp(n, "namespace") != 0 && strcmp(n, "kind") != 0 &&
		    strcmp(n, "workload") != 0) {
			*why = "unknown member";
			return -EINVAL;
		}
		if (merge_least(NULL, n, it, scalar_check(n))) {
			*why = "expected a Kubernetes name";
			return -EINVAL;
		}
	}
	return 0;
}

/* Validation first, over the whole member, so a bad document changes
 * nothing; then each member merges on its own. */
int k8s_doc_merge(cJSON *dparent, const char *key, const cJSON *src, const char **why)
{
	const cJSON *it, *c;
	cJSON *dst;
	int cut = 0, rc;

	rc = doc_validate(src, why);
	if (rc || !dparent)
		return rc;
	dst = cJSON_GetObjectItemCaseSensitive(dparent, key);
	if (!dst) {
		dst = cJSON_AddObjectToObject(dparent, key);
		if (!dst)
			return -ENOMEM;
	}
	for (it = src->child; it; it = it->next) {
		if (strcmp(it->string, "containers") != 0) {
			rc = merge_least(dst, it->string, it, scalar_check(it->string));
			if (rc)
				return rc;
			continue;
		}
		/* The catalog's own sorted-set insert (keeps the cap smallest). */
		if (!cJSON_GetObjectItemCaseSensitive(dst, "containers") &&
		    !cJSON_AddArrayToObject(dst, "containers"))
			return -ENOMEM;
		cJSON_ArrayForEach(c, it)
			cut |= doc_set_add(dst, "containers", c->valuestring, K8S_DOC_MAX_CONTAINERS);
	}
	return cut;
}
