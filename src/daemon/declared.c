// SPDX-License-Identifier: BSD-2-Clause
/*
 * Declared APIs inside apisonar run (include/apisonar/daemon/declared.h):
 * the importer and the drift report of src/catalog/, run at every flush.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/declared_merge.h"
#include "apisonar/catalog/spec.h"
#include "apisonar/daemon/declared.h"
#include "apisonar/util/util.h"

struct declared {
	cJSON *catalog;  /* the declared catalog, NULL until loaded */
	cJSON *metadata; /* the same as a metadata document */
};

struct declared *declared_new(void)
{
	return calloc(1, sizeof(struct declared));
}

void declared_free(struct declared *dl)
{
	if (!dl)
		return;
	cJSON_Delete(dl->catalog);
	cJSON_Delete(dl->metadata);
	free(dl);
}

const cJSON *declared_metadata(const struct declared *dl)
{
	return dl ? dl->metadata : NULL;
}

int declared_loaded(const struct declared *dl)
{
	return dl && dl->catalog;
}

int declared_load(struct declared *dl, const struct cfg_list *files, char *err, size_t errlen)
{
	cJSON *cat = NULL, *md;
	size_t i, scrubbed = 0;
	int rc = 0;

	for (i = 0; i < files->n && !rc; i++) {
		struct spec_report rep = { 0 };

		rc = spec_declare_file(files->v[i], NULL, &rep, &cat, err, errlen);
		scrubbed += rep.total;
		spec_report_free(&rep);
	}
	if (rc) {
		cJSON_Delete(cat);
		return rc;
	}
	md = declared_to_metadata(cat);
	if (!md) {
		cJSON_Delete(cat);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cJSON_Delete(dl->catalog);
	cJSON_Delete(dl->metadata);
	dl->catalog = cat;
	dl->metadata = md;
	log_info("declared: %zu document%s, %d endpoint%s%s", files->n, files->n == 1 ? "" : "s",
		 spec_count_endpoints(cat), spec_count_endpoints(cat) == 1 ? "" : "s",
		 scrubbed ? " (values scrubbed: apisonar import lists them)" : "");
	return 0;
}

int declared_check(struct declared *dl, const cJSON *observed, const char *out_dir,
		   size_t counts[DK__COUNT])
{
	struct drift_result res;
	char path[4096], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc, k;

	if (!dl->catalog)
		return -ENOENT;
	rc = drift_compare(dl->catalog, observed, NULL, &res, NULL);
	if (rc)
		return rc;
	for (k = 0; k < DK__COUNT; k++)
		counts[k] = res.by_kind[k];
	f = open_memstream(&buf, &len);
	if (!f) {
		drift_result_free(&res);
		return -ENOMEM;
	}
	rc = drift_write(f, &res, DRIFT_JSON);
	if (fclose(f) && !rc)
		rc = -EIO;
	if (!rc) {
		snprintf(path, sizeof(path), "%s/drift.json", out_dir);
		rc = write_file_atomic(path, buf, len, 0640);
	}
	free(buf);
	rc = rc ? rc : (int)res.n;
	drift_result_free(&res);
	return rc;
}
