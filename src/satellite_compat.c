// SPDX-License-Identifier: BSD-2-Clause
/*
 * TEMPORARY weak stand-ins for batch_decode() (branch transport) and the
 * catalog (branch anon), so branch satellite builds and runs before those
 * land. Every symbol is weak: the real modules override them at link time.
 * Delete this file when both branches are merged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "apisonar/batch.h"
#include "apisonar/catalog.h"
#include "apisonar/util.h"

#define COMPAT_CHUNK 65536

/* Stand-in: gunzip (capped), parse, check schema and envelope. */
__attribute__((weak)) int batch_decode(const void *gz, size_t len, size_t max_decoded, cJSON **doc,
				       struct batch_meta *meta, char *err, size_t errlen)
{
	z_stream zs = { 0 };
	unsigned char *out = NULL;
	size_t cap = 0, used = 0;
	const cJSON *j, *sensor;
	cJSON *d = NULL;
	int zr, rc = -EINVAL;

	*doc = NULL;
	memset(meta, 0, sizeof(*meta));
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)gz;
	zs.avail_in = (uInt)len;
	do {
		if (used == cap) {
			unsigned char *n;

			if (cap >= max_decoded) {
				snprintf(err, errlen, "batch inflates past %zu bytes", max_decoded);
				rc = -E2BIG;
				goto out;
			}
			cap = cap + COMPAT_CHUNK > max_decoded ? max_decoded : cap + COMPAT_CHUNK;
			n = realloc(out, cap + 1);
			if (!n) {
				rc = -ENOMEM;
				goto out;
			}
			out = n;
		}
		zs.next_out = out + used;
		zs.avail_out = (uInt)(cap - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
		if (zr != Z_OK && zr != Z_STREAM_END) {
			snprintf(err, errlen, "invalid gzip data");
			goto out;
		}
		if (zr == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
			snprintf(err, errlen, "invalid gzip data: truncated");
			goto out;
		}
	} while (zr != Z_STREAM_END);
	d = cJSON_ParseWithLength((const char *)out, used);
	if (!d || !cJSON_IsObject(d)) {
		snprintf(err, errlen, "invalid JSON");
		goto out;
	}
	j = cJSON_GetObjectItemCaseSensitive(d, "schema");
	if (!cJSON_IsString(j) || strcmp(j->valuestring, CATALOG_SCHEMA) != 0) {
		snprintf(err, errlen, "unsupported schema version (want %s)", CATALOG_SCHEMA);
		goto out;
	}
	j = cJSON_GetObjectItemCaseSensitive(d, "batch_id");
	if (!cJSON_IsString(j) || strlen(j->valuestring) != BATCH_ID_LEN) {
		snprintf(err, errlen, "batch_id missing or not a UUID");
		goto out;
	}
	memcpy(meta->id, j->valuestring, BATCH_ID_LEN + 1);
	sensor = cJSON_GetObjectItemCaseSensitive(d, "sensor");
	j = cJSON_GetObjectItemCaseSensitive(sensor, "id");
	if (!cJSON_IsString(j) || !*j->valuestring || strlen(j->valuestring) >= sizeof(meta->sensor_id)) {
		snprintf(err, errlen, "sensor.id missing or too long");
		goto out;
	}
	memcpy(meta->sensor_id, j->valuestring, strlen(j->valuestring) + 1);
	meta->json_len = used;
	*doc = d;
	d = NULL;
	rc = 0;
out:
	inflateEnd(&zs);
	cJSON_Delete(d);
	free(out);
	return rc;
}

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
