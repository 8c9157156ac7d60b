// SPDX-License-Identifier: BSD-2-Clause
/*
 * How results leave the runner (docs/testing.md): as a record of the
 * encrypted spool, which the uploader delivers to POST /v1/test-results
 * with its retries, quarantine and audit log, like a catalog batch; or
 * into a local directory only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/detect.h"
#include "apisonar/tester/tester.h"
#include "apisonar/util/util.h"

#define DELIVER_WHO "apisonar test"

int tester_results_encode(const cJSON *results, uint64_t start_ns, uint64_t end_ns,
			  unsigned char **gz, size_t *len, struct batch_meta *meta)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(results, "id");
	enum detect_class first;
	char *text;
	int rc;

	if (!cJSON_IsString(id) || strlen(id->valuestring) != BATCH_ID_LEN)
		return -EINVAL;
	text = cJSON_PrintUnformatted(results);
	if (!text)
		return -ENOMEM;
	/* tester_run() checked these bytes for every credential while it still
	 * had them; the detectors look once more at what is spooled. */
	if (detect_scan(text, strlen(text), &first)) {
		free(text);
		return -EPERM;
	}
	memset(meta, 0, sizeof(*meta));
	snprintf(meta->id, sizeof(meta->id), "%s", id->valuestring);
	meta->kind = BATCH_KIND_TEST_RESULTS;
	meta->services = 1;
	meta->endpoints =
	    (uint32_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(results, "results"));
	meta->json_len = strlen(text);
	meta->window_start_ns = start_ns;
	meta->window_end_ns = end_ns;
	rc = batch_gzip(text, meta->json_len, gz, len);
	free(text);
	return rc;
}

int tester_results_spool(const char *dir, const struct spool_keys *keys,
			 const struct spool_limits *lim, const cJSON *results, uint64_t start_ns,
			 uint64_t end_ns, char *err, size_t errlen)
{
	struct spool *sp = NULL;
	struct batch_meta m;
	unsigned char *gz = NULL;
	size_t len = 0;
	int rc;

	rc = tester_results_encode(results, start_ns, end_ns, &gz, &len, &m);
	if (rc) {
		snprintf(err, errlen, "%s",
			 rc == -EPERM ? "the results failed the last guard; nothing was spooled"
				      : "cannot encode the results");
		return rc;
	}
	/* An enqueuer: apisonar run or upload --follow may drain this spool. */
	rc = spool_open_as(dir, lim, keys, SPOOL_ROLE_ENQUEUE, DELIVER_WHO, &sp);
	if (rc) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(-rc));
		goto out;
	}
	rc = spool_put(sp, gz, len, &m);
	if (rc)
		snprintf(err, errlen, "spool %s: cannot put the results: %s", dir, strerror(-rc));
	spool_close(sp);
out:
	free(gz);
	return rc;
}

/* One file of --out-dir, written whole or not at all. */
static int out_file(const char *dir, const char *name, const char *text, char *err, size_t errlen)
{
	char path[4096];
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, errlen, "--out-dir: the path is too long");
		return -ENAMETOOLONG;
	}
	rc = write_file_atomic(path, text, strlen(text), 0600);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}

int tester_results_out_dir(const char *dir, const cJSON *results, const struct tester_summary *sum,
			   char *err, size_t errlen)
{
	char *json = NULL, *xml = NULL, *txt = NULL;
	size_t xl = 0, tl = 0;
	FILE *f;
	int rc;

	rc = mkdir_p(dir, 0700);
	if (rc) {
		snprintf(err, errlen, "%s: %s", dir, strerror(-rc));
		return rc;
	}
	rc = -ENOMEM;
	json = cJSON_Print(results);
	f = open_memstream(&xml, &xl);
	if (f) {
		tester_write_junit(f, results);
		fclose(f);
	}
	f = open_memstream(&txt, &tl);
	if (f) {
		tester_write_text(f, results, sum);
		fclose(f);
	}
	if (!json || !xml || !txt) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = out_file(dir, "results.json", json, err, errlen);
	if (!rc)
		rc = out_file(dir, "junit.xml", xml, err, errlen);
	if (!rc)
		rc = out_file(dir, "results.txt", txt, err, errlen);
out:
	free(json);
	free(xml);
	free(txt);
	return rc;
}
