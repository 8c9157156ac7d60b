// SPDX-License-Identifier: BSD-2-Clause
/* catalog_merge_metadata on arbitrary documents (what a satellite receives
 * from sensors): refuse or merge, never crash; a merged catalog exports. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *d = cJSON_ParseWithLength((const char *)data, size);
	struct catalog *c;
	char err[128];

	if (!d)
		return 0;
	c = catalog_new(&(struct catalog_limits){ .max_endpoints = 32, .max_fields = 16,
						  .max_depth = 6 });
	if (!c)
		abort();
	if (catalog_merge_metadata(c, d, err, sizeof(err)) == 0) {
		cJSON *out = catalog_to_metadata(c);
		cJSON *svc;

		/* A merged document merges again. */
		if (catalog_merge_metadata(c, out, err, sizeof(err)) != 0)
			abort();
		cJSON_ArrayForEach(svc, cJSON_GetObjectItemCaseSensitive(out, "services"))
			cJSON_Delete(openapi_from_service(svc->string, svc));
		cJSON_Delete(out);
	}
	cJSON_Delete(d);
	catalog_free(c);
	return 0;
}
