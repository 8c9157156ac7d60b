// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar test: runs a test plan against a target with the credentials
 * of a local file; results leave without a credential (docs/testing.md),
 * through the encrypted spool and the uploader, or into --out-dir only.
 * Exit 0 when no finding, 3 when findings, 1 error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/tester/tester.h"
#include "apisonar/transport/uploader.h"
#include "apisonar/util/util.h"

#define TEST_MAX_PLAN (64u << 20)
#define TEST_DELIVER_WAIT_S 30 /* default --deliver-wait */
#define TEST_DELIVER_TIMEOUT_S 30 /* one delivery attempt, at most */

static const struct cli_cmd test_cmd = { "test", "usage: apisonar test --plan PLAN.json|--satellite URL --service NAME --credentials FILE [--spool DIR|--out-dir DIR] [options]" };

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void test_usage(FILE *f)
{
	fprintf(f,
		"usage: apisonar test --plan PLAN.json|--satellite URL --service NAME\n"
		"                     --credentials FILE [--target BASE_URL] [--token-file FILE]\n"
		"                     [--as NAME] [--other NAME] [--rate N] [--concurrency N]\n"
		"                     [--allow-writes] [--dry-run] [--format text|json|junit]\n"
		"                     [-o FILE] [--ca-file FILE] [--cert FILE --key FILE]\n"
		"                     [--spool DIR [--spool-key-file FILE] [--deliver-wait S]\n"
		"                     [--audit-log FILE] | --out-dir DIR]\n"
		"\n"
		"Runs each test of the plan against BASE_URL (default http://<the plan's\n"
		"service>). Identities and how each authenticates come from FILE (JSON, mode\n"
		"0600): they are used for requests only, and stripped from the results in every\n"
		"encoding. Read-only unless --allow-writes (GET, HEAD and OPTIONS only).\n"
		"\n"
		"  --satellite URL   fetch the plan of --service from a satellite (https) and\n"
		"                    deliver the results to it through --spool (or keep them\n"
		"                    in --out-dir only); --token-file, --ca-file, --cert and\n"
		"                    --key apply to it as to the target\n"
		"  --spool DIR       put the stripped results in the encrypted spool DIR (key:\n"
		"                    --spool-key-file, else $APISONAR_SPOOL_KEY); whoever drains\n"
		"                    it delivers them to <endpoint>/v1/test-results; with\n"
		"                    --satellite, this command drains it unless another does\n"
		"  --deliver-wait S  with --satellite: retry for S seconds at most (default 30;\n"
		"                    0: one attempt); what is left stays in the spool\n"
		"  --audit-log FILE  the uploader's audit log of those attempts\n"
		"  --out-dir DIR     write results.json, junit.xml and results.txt to DIR and\n"
		"                    send nothing\n"
		"  --as NAME         the identity of ordinary requests (default: the first)\n"
		"  --other NAME      the second identity of object-level tests (default: the next)\n"
		"  --rate N          requests per second (default 10)\n"
		"  --concurrency N   requests in flight, at most (default 1)\n"
		"  --dry-run         print what would be sent, send nothing\n"
		"  --format FMT      text (default), json (apisonar.testresults/v1) or junit\n"
		"\n"
		"Exit codes: 0 no finding, 3 findings, 1 error (a test that could not run,\n"
		"results not written or spooled, or, with --satellite, not delivered in time),\n"
		"2 usage.\n");
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

/* Where results go, and how delivery waits; strings point into argv. */
struct test_out {
	const char *spool;       /* --spool DIR */
	const char *out_dir;     /* --out-dir DIR */
	unsigned wait_s;         /* --deliver-wait */
	bool wait_set;           /* given: only with --satellite and --spool */
	struct uploader_opts up; /* spool keys, audit log; endpoint = the satellite */
};

/* Drains the spool to the satellite, as apisonar upload would, for at most
 * wait_s seconds; a spool another process drains is left to it. Returns
 * 0 when the spool was emptied with nothing rejected or is drained
 * elsewhere, else 1 (with a line saying what is left where). */
static int deliver(struct test_out *to, const struct tester_sat_opts *so,
		   const struct spool_keys *keys, const char *id)
{
	struct sigaction sa = { .sa_handler = on_stop }, old[3];
	struct uploader_stats st;
	struct uploader *u;
	struct spool *sp = NULL;
	char who[256];
	int rc, e = 0;

	rc = spool_open_as(to->spool, &to->up.spool_limits, keys, SPOOL_ROLE_DRAIN, "apisonar test",
			   &sp);
	if (rc == -EBUSY) {
		spool_drainer(to->spool, who, sizeof(who));
		fprintf(stderr, "test: results %s left to the drainer of %s: %s\n", id, to->spool,
			who);
		return 0;
	}
	if (rc) {
		fprintf(stderr, "apisonar test: spool %s: %s\n", to->spool, strerror(-rc));
		return 1;
	}
	to->up.endpoint = so->url;
	to->up.token_file = so->token_file;
	to->up.ca_file = so->ca_file;
	to->up.client_cert = so->client_cert;
	to->up.client_key = so->client_key;
	to->up.timeout_s = TEST_DELIVER_TIMEOUT_S;
	u = uploader_new(&to->up, &e);
	if (!u) {
		fprintf(stderr, "apisonar test: results %s stay in the spool %s: %s\n", id, to->spool,
			strerror(-e));
		spool_close(sp);
		return 1;
	}
	/* The wait ends with SIGALRM; SIGINT and SIGTERM end it early. No
	 * SA_RESTART: a backoff's sleep returns at once. */
	g_stop = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old[0]);
	sigaction(SIGINT, &sa, &old[1]);
	sigaction(SIGTERM, &sa, &old[2]);
	alarm(to->wait_s);
	rc = uploader_drain(u, sp, to->wait_s ? UPLOADER_DRAIN_EMPTY : UPLOADER_DRAIN_ONCE,
			    &g_stop);
	alarm(0);
	sigaction(SIGALRM, &old[0], NULL);
	sigaction(SIGINT, &old[1], NULL);
	sigaction(SIGTERM, &old[2], NULL);
	uploader_get_stats(u, &st);
	uploader_free(u);
	spool_close(sp);
	if (rc == 0 && st.rejected == 0) {
		fprintf(stderr, "test: results %s delivered to the satellite\n", id);
		return 0;
	}
	if (rc == 0)
		fprintf(stderr,
			"apisonar test: the satellite rejected %llu spooled record(s) for good: see "
			"%s/quarantine/\n",
			(unsigned long long)st.rejected, to->spool);
	else if (rc > 0)
		fprintf(stderr,
			"apisonar test: results %s not delivered yet; they stay in the spool %s "
			"(apisonar upload --spool %s --endpoint URL delivers them)\n",
			id, to->spool, to->spool);
	else
		fprintf(stderr, "apisonar test: spool %s: %s\n", to->spool, strerror(-rc));
	return 1;
}

/* The stripped results to the spool (and on to the satellite) or to
 * --out-dir. Returns 0, or 1 when they did not get where they should. */
static int results_away(struct test_out *to, const struct tester_sat_opts *so,
			const cJSON *results, const struct tester_summary *sum, uint64_t t0,
			uint64_t t1)
{
	const char *id = cJSON_GetObjectItemCaseSensitive(results, "id")->valuestring;
	struct spool_keys *keys = NULL;
	char err[4600];
	int rc;

	if (to->out_dir) {
		if (tester_results_out_dir(to->out_dir, results, sum, err, sizeof(err))) {
			fprintf(stderr, "apisonar test: %s\n", err);
			return 1;
		}
		fprintf(stderr, "test: results %s written to %s\n", id, to->out_dir);
		return 0;
	}
	if (!to->spool)
		return 0;
	if (uploader_load_spool_keys(&to->up, &keys))
		return 1; /* said which file or variable */
	rc = tester_results_spool(to->spool, keys, &to->up.spool_limits, results, t0, t1, err,
				  sizeof(err));
	if (rc) {
		fprintf(stderr, "apisonar test: %s\n", err);
	} else {
		fprintf(stderr, "test: results %s spooled in %s\n", id, to->spool);
		if (so->url)
			rc = deliver(to, so, keys, id);
	}
	spool_keys_free(keys);
	return rc ? 1 : 0;
}

enum {
	OPT_SPOOL = 0x1000,
	OPT_DELIVER_WAIT,
	OPT_OUT_DIR,
};

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
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "spool-key-file", required_argument, NULL, UPLOADER_OPT_SPOOL_KEY_FILE },
		{ "audit-log", required_argument, NULL, UPLOADER_OPT_AUDIT_LOG },
		{ "deliver-wait", required_argument, NULL, OPT_DELIVER_WAIT },
		{ "out-dir", required_argument, NULL, OPT_OUT_DIR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tester_sat_opts so = { 0 };
	struct test_out to = { .wait_s = TEST_DELIVER_WAIT_S };
	const char *service = NULL;
	struct tester_run_opts ro = { .rate = 10, .concurrency = 1 };
	struct tester_creds *creds = calloc(1, sizeof(*creds));
	struct tester_summary sum;
	const char *plan_path = NULL, *creds_path = NULL, *fmt = "text", *out_path = NULL;
	const char *why = NULL;
	char err[4600], target[2048], *text = NULL;
	cJSON *plan = NULL, *results = NULL;
	FILE *out = stdout;
	uint64_t v, t0, t1;
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
		case OPT_SPOOL:
			to.spool = optarg;
			break;
		case OPT_DELIVER_WAIT:
			if (parse_u64(optarg, 0, 3600, &v)) {
				fprintf(stderr, "apisonar test: --deliver-wait is 0..3600 seconds\n");
				ret = EXIT_USAGE;
				goto cleanup;
			}
			to.wait_s = (unsigned)v;
			to.wait_set = true;
			break;
		case OPT_OUT_DIR:
			to.out_dir = optarg;
			break;
		case UPLOADER_OPT_SPOOL_KEY_FILE:
		case UPLOADER_OPT_AUDIT_LOG:
			if (uploader_opt_parse(&to.up, opt, optarg)) {
				ret = EXIT_USAGE; /* it said why */
				goto cleanup;
			}
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
	if (!plan_path && !so.url)
		why = "no plan (--plan PLAN.json, or --satellite URL --service NAME)";
	else if (!plan_path && !service)
		why = "--satellite needs --service NAME";
	else if (!creds_path)
		why = "no credentials file (--credentials FILE)";
	else if (optind < argc)
		why = "unexpected argument";
	else if (!ro.client_cert != !ro.client_key)
		why = "--cert and --key go together";
	else if (to.spool && to.out_dir)
		why = "--out-dir keeps the results here only: not with --spool";
	else if (so.url && !to.spool && !to.out_dir && !ro.dry_run)
		why = "--satellite delivers the results through --spool DIR (or keep them in "
		      "--out-dir DIR only)";
	else if (!to.spool && to.up.n_spool_key_files)
		why = "--spool-key-file goes with --spool DIR";
	else if ((to.wait_set || to.up.audit_log) && !(so.url && to.spool))
		why = "--deliver-wait and --audit-log go with --satellite and --spool";
	if (why) {
		fprintf(stderr, "apisonar test: %s\n", why);
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
	t0 = now_wall_ns();
	rc = tester_run(plan, creds, &ro, &results, &sum, err, sizeof(err));
	t1 = now_wall_ns();
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
	/* A dry run sent nothing and has nothing to deliver. */
	if (!ro.dry_run && results_away(&to, &so, results, &sum, t0, t1))
		ret = 1;
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
