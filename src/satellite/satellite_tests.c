// SPDX-License-Identifier: BSD-2-Clause
/*
 * The satellite's side of API security tests (docs/testing.md): test plans
 * made from its merged catalog, and test results stored by id, once.
 * Results arrive already stripped by the runner; the last guard checks
 * them again here, and what it matches is refused, never stored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/detect.h"
#include "apisonar/satellite/satellite.h"
#include "apisonar/tester/tester.h"
#include "apisonar/transport/batch.h"
#include "apisonar/util/util.h"

int sat_tests_plan(const struct catalog *cat, const char *service, char **json, char *err,
		   size_t errlen)
{
	struct tester_plan_opts po = { .service = service };
	cJSON *doc = catalog_to_metadata(cat), *plan = NULL;
	int rc;

	*json = NULL;
	if (!doc)
		return -ENOMEM;
	rc = tester_plan(doc, &po, &plan, err, errlen);
	cJSON_Delete(doc);
	if (rc)
		return rc;
	*json = cJSON_PrintUnformatted(plan);
	cJSON_Delete(plan);
	return *json ? 0 : -ENOMEM;
}

/* Lowercase UUID text only: it names a file. */
static int id_ok(const char *id)
{
	size_t i;

	if (strlen(id) != BATCH_ID_LEN)
		return 0;
	for (i = 0; i < BATCH_ID_LEN; i++) {
		char c = id[i];

		if ((i == 8 || i == 13 || i == 18 || i == 23) ? c != '-' :
		    !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

int sat_tests_store(const char *dir, const char *json, size_t len, char id[BATCH_ID_LEN + 1],
		    char *err, size_t errlen)
{
	const cJSON *schema, *jid, *res;
	char path[4200], sub[4096];
	enum detect_class first;
	struct stat st;
	cJSON *doc;
	int rc;

	id[0] = '\0';
	doc = cJSON_ParseWithLength(json, len);
	schema = cJSON_GetObjectItemCaseSensitive(doc, "schema");
	jid = cJSON_GetObjectItemCaseSensitive(doc, "id");
	res = cJSON_GetObjectItemCaseSensitive(doc, "results");
	if (!cJSON_IsString(schema) || strcmp(schema->valuestring, "apisonar.testresults/v1") != 0 ||
	    !cJSON_IsString(jid) || !id_ok(jid->valuestring) || !cJSON_IsArray(res) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "service"))) {
		snprintf(err, errlen,
			 "expected apisonar.testresults/v1 with a lowercase UUID id, a service and "
			 "results");
		cJSON_Delete(doc);
		return -EINVAL;
	}
	snprintf(id, BATCH_ID_LEN + 1, "%s", jid->valuestring);
	cJSON_Delete(doc);
	/* Stripped by the runner, checked again: nothing a detector finds. */
	if (detect_scan(json, len, &first)) {
		snprintf(err, errlen, "the last guard found a value-like string (%s) in the results",
			 detect_class_name(first));
		return -EPERM;
	}
	snprintf(sub, sizeof(sub), "%s/test-results", dir);
	rc = mkdir_p(sub, 0700);
	if (rc) {
		snprintf(err, errlen, "%s: %s", sub, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/%s.json", sub, id);
	if (stat(path, &st) == 0)
		return 0;
	rc = write_file_atomic(path, json, len, 0600);
	if (rc) {
		snprintf(err, errlen, "storing the results: %s", strerror(-rc));
		return rc;
	}
	return 1;
}
