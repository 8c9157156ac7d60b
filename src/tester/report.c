// SPDX-License-Identifier: BSD-2-Clause
/*
 * Test results for people (text) and for CI systems (JUnit XML). Both read
 * the stripped results document, nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apisonar/tester/tester.h"

static const char *str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

int tester_write_text(FILE *f, const cJSON *results, const struct tester_summary *sum)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(results, "results")) {
		const char *out = str(r, "outcome");

		if (strcmp(out, "pass") == 0)
			continue;
		fprintf(f, "%-8s %s%s%s\n", strcmp(out, "finding") == 0 ? "FINDING" :
					    strcmp(out, "skipped") == 0 ? "skipped" :
									  "ERROR",
			str(r, "id"), ": ",
			strcmp(out, "finding") == 0 ? str(r, "finding") : str(r, "reason"));
	}
	fprintf(f, "%u tests: %u passed, %u findings, %u skipped, %u errors (%u requests, %u values withheld)\n",
		sum->tests, sum->passed, sum->findings, sum->skipped, sum->errors, sum->requests,
		sum->withheld);
	return ferror(f) ? -EIO : 0;
}

/* XML text: the five characters that need it escaped. */
static void xml(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, f);
		}
	}
}

int tester_write_junit(FILE *f, const cJSON *results)
{
	const cJSON *r, *all = cJSON_GetObjectItemCaseSensitive(results, "results");
	size_t k;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"apisonar ");
	xml(f, str(results, "service"));
	fprintf(f, "\">\n");
	for (k = 0; k < TESTER_N_KINDS; k++) {
		int n = 0, fail = 0, skip = 0, err = 0;

		cJSON_ArrayForEach(r, all) {
			if (strcmp(str(r, "kind"), tester_kinds[k]) != 0)
				continue;
			n++;
			fail += strcmp(str(r, "outcome"), "finding") == 0;
			skip += strcmp(str(r, "outcome"), "skipped") == 0;
			err += strcmp(str(r, "outcome"), "error") == 0;
		}
		if (!n)
			continue;
		fprintf(f, "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" skipped=\"%d\" errors=\"%d\">\n",
			tester_kinds[k], n, fail, skip, err);
		cJSON_ArrayForEach(r, all) {
			const char *out = str(r, "outcome");

			if (strcmp(str(r, "kind"), tester_kinds[k]) != 0)
				continue;
			fprintf(f, "    <testcase classname=\"%s\" name=\"", tester_kinds[k]);
			xml(f, str(r, "id"));
			fprintf(f, "\"");
			if (strcmp(out, "pass") == 0) {
				fprintf(f, "/>\n");
				continue;
			}
			fprintf(f, ">\n      <%s message=\"",
				strcmp(out, "finding") == 0 ? "failure" :
				strcmp(out, "skipped") == 0 ? "skipped" :
							      "error");
			xml(f, strcmp(out, "finding") == 0 ? str(r, "finding") : str(r, "reason"));
			fprintf(f, "\"/>\n    </testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	return ferror(f) ? -EIO : 0;
}
