// SPDX-License-Identifier: BSD-2-Clause
/* The templating decision over a service's evidence (issue 12) on
 * arbitrary traffic: each line is one exchange, its first byte picks the
 * method, the rest up to a tab is the target and what follows the tab the
 * response body. Never crash; the export is deterministic and merges again
 * into a catalog whose export is the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/catalog.h"

static char *export_text(const struct catalog *c)
{
	cJSON *d = catalog_to_metadata(c);
	char *s = d ? cJSON_PrintUnformatted(d) : NULL;

	cJSON_Delete(d);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD" };
	struct catalog_limits lim = { .max_endpoints = 64, .max_fields = 16, .max_depth = 6 };
	struct catalog *c = catalog_new(&lim), *d = catalog_new(&lim);
	size_t i, start = 0;
	char err[128], *s1, *s2, *s3;
	cJSON *doc;

	if (!c || !d)
		abort();
	for (i = 0; i <= size; i++) {
		struct as_exchange *x;
		const char *line = (const char *)data + start, *tab, *m;
		size_t len = i - start, tl;

		if (i < size && data[i] != '\n')
			continue;
		start = i + 1;
		if (len < 2)
			continue;
		tab = memchr(line, '\t', len);
		tl = tab ? (size_t)(tab - line) : len;
		if (tl < 2)
			continue;
		m = methods[(unsigned char)line[0] % 6];
		x = as_exchange_new();
		if (!x || as_strset(&x->method, m, strlen(m)) ||
		    as_strset(&x->target, line + 1, tl - 1))
			abort();
		if (tab && as_msg_append_body(&x->resp, tab + 1, len - tl - 1, 1 << 16))
			abort();
		x->status = 200;
		(void)catalog_add_exchange(c, x);
		as_exchange_free(x);
	}
	s1 = export_text(c);
	s2 = export_text(c);
	if (!s1 || !s2 || strcmp(s1, s2) != 0)
		abort(); /* the same catalog exports the same bytes */
	doc = cJSON_Parse(s1);
	if (!doc || catalog_merge_metadata(d, doc, err, sizeof(err)) != 0)
		abort(); /* an export merges */
	s3 = export_text(d);
	if (!s3)
		abort();
	cJSON_Delete(doc);
	free(s1);
	free(s2);
	free(s3);
	catalog_free(c);
	catalog_free(d);
	return 0;
}
