// SPDX-License-Identifier: BSD-2-Clause
/*
 * TEMPORARY weak stand-ins for the catalog (branch anon), so branch
 * satellite builds and runs before it lands. Every symbol is weak: the real
 * catalog overrides them at link time. Delete this file when anon is merged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog.h"
#include "apisonar/util.h"

/* Stand-in catalog: counts merged documents, writes an empty catalog. */
struct catalog {
	uint64_t merged;
};

__attribute__((weak)) struct catalog *catalog_new(const struct catalog_limits *lim)
{
	(void)lim;
	return calloc(1, sizeof(struct catalog));
}

__attribute__((weak)) void catalog_free(struct catalog *c)
{
	free(c);
}

__attribute__((weak)) int catalog_merge_metadata(struct catalog *c, const cJSON *doc, char *err,
						 size_t errlen)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(doc, "schema");

	if (!cJSON_IsString(j) || strcmp(j->valuestring, CATALOG_SCHEMA) != 0) {
		snprintf(err, errlen, "not an %s document", CATALOG_SCHEMA);
		return -EINVAL;
	}
	c->merged++;
	return 0;
}

__attribute__((weak)) cJSON *catalog_to_metadata(const struct catalog *c)
{
	cJSON *d = cJSON_CreateObject();

	(void)c;
	if (!d)
		return NULL;
	cJSON_AddStringToObject(d, "schema", CATALOG_SCHEMA);
	cJSON_AddArrayToObject(d, "services");
	return d;
}

__attribute__((weak)) int catalog_write_dir(const struct catalog *c, const char *dir)
{
	char path[4096];
	cJSON *d = catalog_to_metadata(c);
	char *s = d ? cJSON_PrintUnformatted(d) : NULL;
	int rc = -ENOMEM;

	if (s) {
		snprintf(path, sizeof(path), "%s/metadata.json", dir);
		rc = write_file_atomic(path, s, strlen(s), 0644);
	}
	free(s);
	cJSON_Delete(d);
	return rc;
}

__attribute__((weak)) void catalog_get_stats(const struct catalog *c, struct catalog_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->exchanges = c ? c->merged : 0;
}
