// SPDX-License-Identifier: BSD-2-Clause
/* Path templating on arbitrary targets: the template alone, then whole
 * exchanges with the bytes as target into one catalog (learning and
 * re-merging included). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[512];
	struct catalog *c;
	size_t i, start = 0;
	cJSON *p = cJSON_CreateObject();

	(void)anon_template_path((const char *)data, size, out, sizeof(out), p);
	cJSON_Delete(p);
	c = catalog_new(&(struct catalog_limits){ .max_endpoints = 64 });
	if (!c)
		abort();
	/* Each line is one request target. */
	for (i = 0; i <= size; i++) {
		struct as_exchange *x;

		if (i < size && data[i] != '\n')
			continue;
		x = as_exchange_new();
		if (!x || as_strset(&x->method, "GET", 3) ||
		    as_strset(&x->target, (const char *)data + start, i - start))
			abort();
		x->status = 200;
		(void)catalog_add_exchange(c, x);
		as_exchange_free(x);
		start = i + 1;
	}
	cJSON_Delete(catalog_to_metadata(c));
	catalog_free(c);
	return 0;
}
