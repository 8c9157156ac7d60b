// SPDX-License-Identifier: BSD-2-Clause
/* The readers of the test runner on arbitrary bytes: the credentials file,
 * a plan, a catalog made into a plan, and the result stripping. A secret
 * that went through strip_secrets() is gone, whatever surrounded it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/tester/strip.h"
#include "apisonar/tester/tester.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tester_creds c;
	const char *secrets[1] = { "Zq9secretXy" };
	cJSON *doc, *plan = NULL;
	char err[512], *s;

	if (tester_creds_parse("fuzz", (const char *)data, size, &c, err, sizeof(err)) == 0)
		tester_creds_wipe(&c);
	doc = cJSON_ParseWithLength((const char *)data, size);
	if (doc) {
		struct catalog_limits lim = { 0 };
		struct catalog *cat = catalog_new(&lim);

		(void)tester_plan_check(doc, err, sizeof(err));
		/* Catalogs reach the planner validated, as cli_load_catalog() does. */
		if (cat && catalog_merge_metadata(cat, doc, err, sizeof(err)) == 0) {
			cJSON *m = catalog_to_metadata(cat);

			if (m && tester_plan(m, NULL, &plan, err, sizeof(err)) == 0) {
				if (tester_plan_check(plan, err, sizeof(err)) != 0)
					abort();
				cJSON_Delete(plan);
			}
			cJSON_Delete(m);
		}
		catalog_free(cat);
		cJSON_Delete(doc);
	}
	s = malloc(size + 24);
	if (!s)
		return 0;
	memcpy(s, data, size);
	memcpy(s + size, "Zq9secretXy", 12);
	s[size + 11] = '\0';
	for (size_t i = 0; i < size; i++)
		if (!s[i])
			s[i] = ' ';
	strip_jwts(&s);
	strip_secrets(&s, secrets, 1);
	if (strstr(s, "Zq9secretXy"))
		abort();
	free(s);
	return 0;
}
