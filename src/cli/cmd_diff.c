// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar diff: drift between declared APIs (OpenAPI / Swagger documents)
 * and what was observed (a catalog directory or a metadata document).
 * Findings name positions, never values; exit 3 when there is drift.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/drift.h"
#include "apisonar/catalog/spec.h"
#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/util/util.h"

#define DIFF_MAX_INPUTS 256

static const struct cli_cmd diff_cmd = { "diff", "usage: apisonar diff --declared SPEC... --observed DIR|METADATA [options]" };

static void diff_usage(FILE *f)
{
	fprintf(f,
		"usage: apisonar diff --declared SPEC... --observed DIR|METADATA\n"
		"                     [--service NAME] [--base-path PATH]\n"
		"                     [--format text|json|markdown] [--zombie-window SECONDS]\n"
		"                     [-o FILE]\n"
		"\n"
		"Compares declared APIs (OpenAPI 3.0/3.1, Swagger 2.0; JSON or YAML) with an\n"
		"observed catalog (a directory holding metadata.json, or a metadata file) and\n"
		"lists shadow endpoints (observed, not declared), zombie endpoints (declared,\n"
		"not observed, or not within --zombie-window), and mismatches: undeclared or\n"
		"never seen parameters and statuses, undeclared media types, fields and auth\n"
		"schemes, type mismatches, sensitive data the document does not mark\n"
		"(x-apisonar-sensitive), and requests without the auth the document requires.\n"
		"Findings name positions (service, method, template, parameter or field), never\n"
		"values.\n"
		"\n"
		"Exit codes: 0 no drift, 3 drift found, 1 error, 2 usage.\n");
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "declared", required_argument, NULL, 'd' },
		{ "observed", required_argument, NULL, 'O' },
		{ "service", required_argument, NULL, 's' },
		{ "base-path", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'f' },
		{ "zombie-window", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *declared[DIFF_MAX_INPUTS], *observed = NULL, *out_path = NULL;
	struct spec_declare_opts so = { 0 };
	struct drift_opts dopt = { 0 };
	struct drift_result res = { 0 };
	enum drift_format fmt = DRIFT_TEXT;
	cJSON *dcat = NULL, *ocat = NULL;
	FILE *out = stdout;
	int n_declared = 0, opt, i, rc, paired = 0, ret = 1;
	char err[4200];
	uint64_t v;

	optind = 1;
	while ((opt = cli_getopt(&diff_cmd, argc, argv, "o:h", opts)) != -1) {
		switch (opt) {
		case 'd':
			if (n_declared >= DIFF_MAX_INPUTS) {
				fprintf(stderr, "apisonar diff: at most %d documents\n", DIFF_MAX_INPUTS);
				return EXIT_USAGE;
			}
			declared[n_declared++] = optarg;
			break;
		case 'O':
			observed = optarg;
			break;
		case 's':
			so.service = dopt.service = optarg;
			break;
		case 'b':
			if (optarg[0] != '/') {
				fprintf(stderr, "apisonar diff: --base-path must start with '/'\n");
				return EXIT_USAGE;
			}
			so.base_path = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0) {
				fmt = DRIFT_TEXT;
			} else if (strcmp(optarg, "json") == 0) {
				fmt = DRIFT_JSON;
			} else if (strcmp(optarg, "markdown") == 0) {
				fmt = DRIFT_MARKDOWN;
			} else {
				fprintf(stderr, "apisonar diff: --format is text, json or markdown\n");
				return EXIT_USAGE;
			}
			break;
		case 'z':
			if (parse_u64(optarg, 1, 100ull * 365 * 86400, &v)) {
				fprintf(stderr, "apisonar diff: --zombie-window is a number of seconds\n");
				return EXIT_USAGE;
			}
			dopt.zombie_window_s = v;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			diff_usage(stdout);
			return 0;
		default: /* CLI_OPT_BAD: cli_getopt said which option, never its value */
			return EXIT_USAGE;
		}
	}
	/* Documents may also follow --declared as plain arguments. */
	for (i = optind; i < argc && n_declared < DIFF_MAX_INPUTS; i++)
		declared[n_declared++] = argv[i];
	if (!n_declared || !observed) {
		fprintf(stderr, "apisonar diff: %s\n",
			!n_declared ? "no declared document (--declared SPEC)" :
				      "no observed catalog (--observed DIR)");
		diff_usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < n_declared; i++) {
		struct spec_report rep = { 0 };

		rc = spec_declare_file(declared[i], &so, &rep, &dcat, err, sizeof(err));
		if (rep.total)
			fprintf(stderr,
				"apisonar diff: %s: %zu value%s scrubbed (apisonar import lists "
				"them)\n",
				declared[i], rep.total, rep.total == 1 ? "" : "s");
		spec_report_free(&rep);
		if (rc) {
			fprintf(stderr, "apisonar diff: %s\n", err);
			goto cleanup;
		}
	}
	if (cli_load_catalog(observed, &ocat, err, sizeof(err))) {
		fprintf(stderr, "apisonar diff: %s\n", err);
		goto cleanup;
	}
	dopt.now_ns = now_wall_ns();
	rc = drift_compare(dcat, ocat, &dopt, &res, &paired);
	if (rc) {
		fprintf(stderr, "apisonar diff: %s\n", strerror(-rc));
		goto cleanup;
	}
	if (paired)
		fprintf(stderr,
			"apisonar diff: the declared service and the one observed service have "
			"different names; compared them (--service NAME names it)\n");
	if (out_path) {
		out = fopen(out_path, "w");
		if (!out) {
			fprintf(stderr, "apisonar diff: %s: %s\n", out_path, strerror(errno));
			out = stdout;
			goto cleanup;
		}
	}
	rc = drift_write(out, &res, fmt);
	if (rc) {
		fprintf(stderr, "apisonar diff: writing the report: %s\n", strerror(-rc));
		goto cleanup;
	}
	ret = res.n ? 3 : 0;
cleanup:
	if (out != stdout && fclose(out) && ret != 1) {
		fprintf(stderr, "apisonar diff: %s: %s\n", out_path, strerror(errno));
		ret = 1;
	}
	drift_result_free(&res);
	cJSON_Delete(dcat);
	cJSON_Delete(ocat);
	return ret;
}
