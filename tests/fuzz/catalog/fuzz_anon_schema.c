// SPDX-License-Identifier: BSD-2-Clause
/* JSON schema inference on arbitrary JSON, twice into one node (merging),
 * then through the catalog's validation and merge as a response body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct anon_limits lim = { .max_fields = 16, .max_depth = 6 };
	struct anon_counters cnt = { 0 };
	cJSON *v = cJSON_ParseWithLength((const char *)data, size);
	cJSON *node;
	struct catalog *c;
	struct as_exchange *x;

	if (v) {
		node = cJSON_CreateObject();
		anon_schema_infer(node, v, 1, &lim, &cnt);
		anon_schema_infer(node, v, 1, &lim, &cnt);
		cJSON_Delete(node);
		cJSON_Delete(v);
	}
	/* The same bytes as a JSON response body, through the whole pipeline. */
	c = catalog_new(&(struct catalog_limits){ .max_fields = 16, .max_depth = 6 });
	x = as_exchange_new();
	if (!c || !x || as_strset(&x->method, "POST", 4) || as_strset(&x->target, "/f", 2) ||
	    as_msg_add_header(&x->resp, "Content-Type", 12, "application/json", 16) ||
	    as_msg_append_body(&x->resp, data, size, 1 << 20))
		abort();
	x->status = 200;
	(void)catalog_add_exchange(c, x);
	(void)catalog_add_exchange(c, x);
	cJSON_Delete(catalog_to_metadata(c));
	as_exchange_free(x);
	catalog_free(c);
	return 0;
}
