// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar test: runs a test plan against a target with the credentials
 * of a local file; results leave without a credential (docs/testing.md).
 * Exit 0 when no finding, 3 when findings, 1 error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/tester/tester.h"
#include "apisonar/util/util.h"

#define TEST_MAX_PLAN (64u << 20)

static const struct cli_cmd test_cmd = { "test", "usage: apisonar test --plan PLAN.json|--satellite URL --service NAME --credentials FILE [options]" };

static void test_usage(FILE *f)
{
	fprintf(f,
		"usage: apisonar test --plan PLAN.json|--satellite URL --service NAME\n"
		"                     --credentials FILE [--target BASE_URL] [--token-file FILE]\n"
		"                     [--as NAME] [--other NAME] [--rate N] [--concurrency N]\n"
		"                     [--allow-writes] [--dry-run] [--format text|json|junit]\n"
		"                     [-o FILE] [--ca-file FILE] [--cert FILE --key FILE]\n"
		"\n"
		"Runs each test of the plan against BASE_URL (default http://<the plan's\n"
		"service>). Identities and how each authenticates come from FILE (JSON, mode\n"
		"0600): they are used for requests only, and stripped from the results in every\n"
		"encoding. Read-only unless --allow-writes (GET, HEAD and OPTIONS only).\n"
		"\n"
		"  --satellite URL   fetch the plan of --service from a satellite (https) and\n"
		"                    deliver the stripped results to it; --token-file, --ca-file,\n"
		"                    --cert and --key apply to it as to the target\n"
		"  --as NAME         the identity of ordinary requests (default: the first)\n"
		"  --other NAME      the second identity of object-level tests (default: the next)\n"
		"  --rate N          requests per second (default 10)\n"
		"  --concurrency N   requests in flight, at most (default 1)\n"
		"  --dry-run         print what would be sent, send nothing\n"
		"  --format FMT      text (default), json (apisonar.testresults/v1) or junit\n"
		"\n"
		"Exit codes: 0 no finding, 3 findings, 1 error, 2 usage.\n");
}

static int load_plan(const char *path, cJSON **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = read_file_all(path, TEST_MAX_PLAN, &buf, &len);

	if (rc) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	*out = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!*out) {
		snprintf(err, errlen, "%s: not JSON", path);
		return -EINVAL;
	}
	{
		char why[256];

		rc = tester_plan_check(*out, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "%s: %s", path, why);
			cJSON_Delete(*out);
			*out = NULL;
		}
	}
	return rc;
}

int cmd_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "plan", required_argument, NULL, 'p' },
		{ "credentials", required_argument, NULL, 'C' },
		{ "target", required_argument, NULL, 't' },
		{ "as", required_argument, NULL, 'a' },
		{ "other", required_argument, NULL, 'b' },
		{ "rate", required_argument, NULL, 'r' },
		{ "concurrency", required_argument, NULL, 'n' },
		{ "allow-writes", no_argument, NULL, 'w' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "ca-file", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'E' },
		{ "key", required_argument, NULL, 'K' },
		{ "satellite", required_argument, NULL, 'S' },
		{ "service", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tester_sat_opts so = { 0 };
	const char *service = NULL;
	struct tester_run_opts ro = { .rate = 10, .concurrency = 1 };
	struct tester_creds *creds = calloc(1, sizeof(*creds));
	struct tester_summary sum;
	const char *plan_path = NULL, *creds_path = NULL, *fmt = "text", *out_path = NULL;
	char err[4600], target[2048], *text = NULL;
	cJSON *plan = NULL, *results = NULL;
	FILE *out = stdout;
	uint64_t v;
	int opt, rc, ret = 1;

	if (!creds)
		return 1;
	optind = 1;
	while ((opt = cli_getopt(&test_cmd, argc, argv, "o:h", opts)) != -1) {
		switch (opt) {
		case 'p':
			plan_path = optarg;
			break;
		case 'C':
			creds_path = optarg;
			break;
		case 't':
			ro.target = optarg;
			break;
		case 'a':
			ro.as = optarg;
			break;
		case 'b':
			ro.other = optarg;
			break;
		case 'r':
			if (parse_u64(optarg, 1, 10000, &v)) {
				fprintf(stderr, "apisonar test: --rate is 1..10000 requests per second\n");
				ret = EXIT_USAGE;
				goto cleanup;
			}
			ro.rate = (double)v;
			break;
		case 'n':
			if (parse_u64(optarg, 1, 64, &v)) {
				fprintf(stderr, "apisonar test: --concurrency is 1..64\n");
				ret = EXIT_USAGE;
				goto cleanup;
			}
			ro.concurrency = (unsigned)v;
			break;
		case 'w':
			ro.allow_writes = true;
			break;
		case 'd':
			ro.dry_run = true;
			break;
		case 'f':
			if (strcmp(optarg, "text") && strcmp(optarg, "json") && strcmp(optarg, "junit")) {
				fprintf(stderr, "apisonar test: --format is text, json or junit\n");
				ret = EXIT_USAGE;
				goto cleanup;
			}
			fmt = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'A':
			ro.ca_file = optarg;
			break;
		case 'E':
			ro.client_cert = optarg;
			break;
		case 'K':
			ro.client_key = optarg;
			break;
		case 'S':
			if (strncmp(optarg, "https://", 8) != 0) {
				fprintf(stderr, "apisonar test: --satellite is an https:// URL\n");
				ret = EXIT_USAGE;
				goto cleanup;
			}
			so.url = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'T':
			so.token_file = optarg;
			break;
		case 'h':
			test_usage(stdout);
			ret = 0;
			goto cleanup;
		default: /* CLI_OPT_BAD: cli_getopt said which option, never its value */
			ret = EXIT_USAGE;
			goto cleanup;
		}
	}
	if ((!plan_path && !(so.url && service)) || !creds_path || optind < argc ||
	    (!ro.client_cert != !ro.client_key)) {
		fprintf(stderr, "apisonar test: %s\n",
			!plan_path && !so.url ? "no plan (--plan PLAN.json, or --satellite URL --service NAME)" :
			!plan_path	      ? "--satellite needs --service NAME" :
			!creds_path	      ? "no credentials file (--credentials FILE)" :
			optind < argc	      ? "unexpected argument" :
						"--cert and --key go together");
		test_usage(stderr);
		ret = EXIT_USAGE;
		goto cleanup;
	}
	so.ca_file = ro.ca_file;
	so.client_cert = ro.client_cert;
	so.client_key = ro.client_key;
	if ((plan_path ? load_plan(plan_path, &plan, err, sizeof(err)) :
			 tester_sat_plan(&so, service, &plan, err, sizeof(err))) ||
	    tester_creds_load(creds_path, creds, err, sizeof(err))) {
		fprintf(stderr, "apisonar test: %s\n", err);
		goto cleanup;
	}
	if (!ro.target) {
		snprintf(target, sizeof(target), "http://%s",
			 cJSON_GetObjectItemCaseSensitive(plan, "service")->valuestring);
		ro.target = target;
	} else if (strncmp(ro.target, "http://", 7) && strncmp(ro.target, "https://", 8)) {
		fprintf(stderr, "apisonar test: --target is http:// or https://\n");
		ret = EXIT_USAGE;
		goto cleanup;
	}
	ro.progress = isatty(STDERR_FILENO) ? stderr : NULL;
	ro.dry = stdout;
	rc = tester_run(plan, creds, &ro, &results, &sum, err, sizeof(err));
	tester_creds_wipe(creds);
	if (rc) {
		fprintf(stderr, "apisonar test: %s\n", err);
		goto cleanup;
	}
	if (out_path) {
		out = fopen(out_path, "w");
		if (!out) {
			fprintf(stderr, "apisonar test: %s: %s\n", out_path, strerror(errno));
			out = stdout;
			goto cleanup;
		}
	}
	if (strcmp(fmt, "json") == 0) {
		text = cJSON_Print(results);
		if (text)
			fprintf(out, "%s\n", text);
	} else if (strcmp(fmt, "junit") == 0) {
		tester_write_junit(out, results);
	} else if (!ro.dry_run) {
		tester_write_text(out, results, &sum);
	}
	if (out != stdout || strcmp(fmt, "text") != 0)
		tester_write_text(stderr, results, &sum);
	ret = sum.findings ? 3 : sum.errors ? 1 : 0;
	if (so.url && !ro.dry_run) {
		if (tester_sat_results(&so, results, err, sizeof(err))) {
			fprintf(stderr, "apisonar test: results not delivered: %s\n", err);
			ret = 1;
		} else {
			fprintf(stderr, "test: results %s delivered to the satellite\n",
				cJSON_GetObjectItemCaseSensitive(results, "id")->valuestring);
		}
	}
cleanup:
	if (out != stdout && fclose(out) && ret != 1) {
		fprintf(stderr, "apisonar test: %s: %s\n", out_path, strerror(errno));
		ret = 1;
	}
	free(text);
	cJSON_Delete(plan);
	cJSON_Delete(results);
	tester_creds_wipe(creds);
	free(creds);
	return ret;
}
