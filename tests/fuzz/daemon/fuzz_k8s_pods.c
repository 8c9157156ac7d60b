// SPDX-License-Identifier: BSD-2-Clause
/* The pod list parser on arbitrary bytes (the API server is trusted, but
 * a proxy or a bug may answer anything), with a small cap so the cut path
 * runs: a PartialObjectMetadataList (what the sensor asks for) or a
 * PodList (the fallback), each item read for its metadata only; then the same bytes as a catalog `kubernetes` member: validated,
 * and merging it twice gives what merging it once gives. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/daemon/k8s.h"

static void pods(const uint8_t *data, size_t size)
{
	struct k8s_table *t = NULL;
	struct k8s_table_stats st;
	struct k8s_view v;

	if (k8s_table_parse((const char *)data, size, 4, &t) != 0) {
		if (t)
			abort();
		return;
	}
	k8s_table_get_stats(t, &st);
	if (st.pods > 4 || (st.full_list != 0 && st.full_list != 1))
		abort();
	if (k8s_table_find(t, "0f3c5e1a-9b2d-4c7e-8a61-3d2b9e4f5a60", &v) == 0 &&
	    (!v.ns || !v.pod || !v.kind || !v.workload || !k8s_name_ok(v.workload, K8S_MAX_NAME)))
		abort();
	k8s_table_free(t);
}

static void member(const uint8_t *data, size_t size)
{
	cJSON *src = cJSON_ParseWithLength((const char *)data, size);
	cJSON *once = cJSON_CreateObject(), *twice = cJSON_CreateObject();
	const char *why = NULL;
	int rc;

	if (!src || !once || !twice)
		goto out;
	rc = k8s_doc_merge(NULL, "kubernetes", src, &why);
	if (rc == -EINVAL) {
		if (!why)
			abort();
		goto out;
	}
	if (rc < 0 || k8s_doc_merge(once, "kubernetes", src, &why) < 0 ||
	    k8s_doc_merge(twice, "kubernetes", src, &why) < 0 ||
	    k8s_doc_merge(twice, "kubernetes", src, &why) < 0)
		goto out;
	if (!cJSON_Compare(once, twice, 1))
		abort();
	/* What a merge makes is itself a valid member. */
	if (k8s_doc_merge(NULL, "kubernetes", cJSON_GetObjectItemCaseSensitive(once, "kubernetes"),
			  &why) != 0)
		abort();
out:
	cJSON_Delete(src);
	cJSON_Delete(once);
	cJSON_Delete(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pods(data, size);
	member(data, size);
	return 0;
}
