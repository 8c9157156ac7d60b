// SPDX-License-Identifier: BSD-2-Clause
/* The OpenAPI import on arbitrary bytes, JSON or YAML: parse, scrub,
 * declare, then drift against a small observed catalog. Nothing may crash
 * or hang, and a declared catalog that comes out must pass the last
 * guard's scan (no value of the document survives into it). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/detect.h"
#include "apisonar/catalog/drift.h"
#include "apisonar/catalog/spec.h"

static const char observed[] =
	"{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{\"endpoints\":{"
	"\"GET /a/{id}\":{\"method\":\"GET\",\"path\":\"/a/{id}\",\"count\":2,"
	"\"parameters\":{\"query\":{\"q\":{\"n\":1,\"types\":[\"string\"]}}},"
	"\"responses\":{\"200\":{\"count\":2,\"bodies\":{\"application/json\":{\"schema\":{"
	"\"types\":[\"object\"],\"properties\":{\"x\":{\"types\":[\"integer\"]}}}}}}}}}}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec_report rep = { 0 };
	struct drift_result res;
	cJSON *doc = NULL, *cat = NULL, *obs;
	char err[512];
	int paired;

	if (spec_parse((const char *)data, size, &doc, err, sizeof(err)) != 0) {
		if (doc)
			abort();
		return 0;
	}
	if (spec_scrub(doc, &rep) == 0 &&
	    spec_declare(doc, NULL, &rep, &cat, err, sizeof(err)) == 0 && cat) {
		char *s = cJSON_PrintUnformatted(cat);
		enum detect_class first;

		if (s && detect_scan(s, strlen(s), &first))
			abort();
		free(s);
		obs = cJSON_Parse(observed);
		if (drift_compare(cat, obs, NULL, &res, &paired) == 0)
			drift_result_free(&res);
		cJSON_Delete(obs);
	}
	spec_report_free(&rep);
	cJSON_Delete(cat);
	cJSON_Delete(doc);
	return 0;
}
