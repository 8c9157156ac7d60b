// SPDX-License-Identifier: BSD-2-Clause
/*
 * A catalog read from disk for the commands that take one (plan, diff):
 * a directory's metadata.json or a metadata file, validated member by
 * member by the catalog's own merge, so a hand-edited or hostile file is
 * refused with the rule it broke, never half-read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/cli/cmd.h"
#include "apisonar/util/util.h"

#define CLI_MAX_CATALOG (256u << 20)

int cli_load_catalog(const char *path, cJSON **out, char *err, size_t errlen)
{
	char file[2048], *buf = NULL, why[256] = "";
	struct catalog_limits lim = { 0 };
	struct catalog *c;
	struct stat st;
	size_t len = 0;
	cJSON *doc;
	int rc;

	*out = NULL;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(file, sizeof(file), "%s/metadata.json", path);
	else
		snprintf(file, sizeof(file), "%s", path);
	rc = read_file_all(file, CLI_MAX_CATALOG, &buf, &len);
	if (rc) {
		snprintf(err, errlen, "%s: %s", file, strerror(-rc));
		return rc;
	}
	doc = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!doc) {
		snprintf(err, errlen, "%s: not JSON", file);
		return -EINVAL;
	}
	c = catalog_new(&lim);
	rc = c ? catalog_merge_metadata(c, doc, why, sizeof(why)) : -ENOMEM;
	cJSON_Delete(doc);
	if (rc) {
		snprintf(err, errlen, "%s: not a catalog: %s", file, why[0] ? why : strerror(-rc));
		catalog_free(c);
		return rc < 0 ? rc : -EINVAL;
	}
	*out = catalog_to_metadata(c);
	catalog_free(c);
	return *out ? 0 : -ENOMEM;
}
