// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar plan: a test plan (apisonar.testplan/v1) from a catalog. The
 * plan is metadata: templates, parameter types, auth kinds, statuses.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/tester/tester.h"
#include "apisonar/util/util.h"

static const struct cli_cmd plan_cmd = { "plan", "usage: apisonar plan --catalog DIR|METADATA [--service NAME] [-o PLAN.json]" };

static void plan_usage(FILE *f)
{
	fprintf(f,
		"usage: apisonar plan --catalog DIR|METADATA [--service NAME] [-o PLAN.json]\n"
		"\n"
		"Writes a security test plan for one service of a catalog (the directory of\n"
		"apisonar run or anonymize, or a metadata file): schema conformance, auth\n"
		"required, object-level authorization, unlisted methods, type-confused and\n"
		"oversized parameters, sensitive data (docs/testing.md). The plan holds\n"
		"metadata only. Standard output when -o is not given.\n");
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "catalog", required_argument, NULL, 'c' },
		{ "service", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tester_plan_opts po = { 0 };
	const char *catalog = NULL, *out = NULL;
	cJSON *cat = NULL, *plan = NULL;
	char err[2200], *text = NULL;
	int opt, rc, ret = 1;

	optind = 1;
	while ((opt = cli_getopt(&plan_cmd, argc, argv, "o:h", opts)) != -1) {
		switch (opt) {
		case 'c':
			catalog = optarg;
			break;
		case 's':
			po.service = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			plan_usage(stdout);
			return 0;
		default: /* CLI_OPT_BAD: cli_getopt said which option, never its value */
			return EXIT_USAGE;
		}
	}
	if (!catalog || optind < argc) {
		fprintf(stderr, "apisonar plan: %s\n",
			catalog ? "unexpected argument" : "no catalog (--catalog DIR)");
		plan_usage(stderr);
		return EXIT_USAGE;
	}
	if (cli_load_catalog(catalog, &cat, err, sizeof(err)) ||
	    tester_plan(cat, &po, &plan, err, sizeof(err))) {
		fprintf(stderr, "apisonar plan: %s\n", err);
		goto cleanup;
	}
	text = cJSON_Print(plan);
	if (!text) {
		fprintf(stderr, "apisonar plan: out of memory\n");
		goto cleanup;
	}
	if (out) {
		rc = write_file_atomic(out, text, strlen(text), 0644);
		if (rc) {
			fprintf(stderr, "apisonar plan: %s: %s\n", out, strerror(-rc));
			goto cleanup;
		}
	} else {
		puts(text);
	}
	fprintf(stderr, "plan: %d tests for %s\n",
		cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(plan, "tests")),
		cJSON_GetObjectItemCaseSensitive(plan, "service")->valuestring);
	ret = 0;
cleanup:
	free(text);
	cJSON_Delete(plan);
	cJSON_Delete(cat);
	return ret;
}
