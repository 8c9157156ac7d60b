// SPDX-License-Identifier: BSD-2-Clause
/* Form and multipart parsing on arbitrary bytes. The first byte picks the
 * body kind; the rest is the body (multipart uses the boundary "b"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/anon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct anon_limits lim = { .max_fields = 16, .max_depth = 6 };
	struct anon_counters cnt = { 0 };
	cJSON *node;
	unsigned char *out = NULL;
	size_t ol;

	if (size < 1)
		return 0;
	node = cJSON_CreateObject();
	switch (data[0] % 3) {
	case 0:
		anon_form_infer(node, (const char *)data + 1, size - 1, &lim, &cnt);
		break;
	case 1:
		(void)anon_multipart_infer(node, "multipart/form-data; boundary=b", data + 1,
					   size - 1, &lim, &cnt);
		break;
	default:
		if (anon_inflate(data + 1, size - 1, 1 << 16, &out, &ol) == 0)
			free(out);
		break;
	}
	cJSON_Delete(node);
	return 0;
}
