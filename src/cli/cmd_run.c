// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar run: the daemon. This file builds the configuration (defaults,
 * file, environment, flags, in that order of precedence) and hands it to
 * daemon_run(); SIGHUP builds it again the same way.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/daemon/config.h"
#include "apisonar/daemon/daemon.h"
#include "apisonar/util/util.h"

#define RUN_DEFAULT_CONFIG "/etc/apisonar/apisonar.conf"
#define RUN_MAX_OPTS 80

struct run_args {
	int argc;
	char **argv;
	int check_only; /* --check-config: validate, print, exit */
};

#define OPT_CHECK_CONFIG 0x3000

#define RUN_USAGE "usage: apisonar run [options]"

static const struct cli_cmd run_cmd = { "run", RUN_USAGE };

static void usage(FILE *f)
{
	fprintf(f, RUN_USAGE "\n"
		   "\n"
		   "The daemon: captures HTTP/1.x traffic, turns it into a value-free API catalog\n"
		   "in --out-dir (metadata.json and openapi/<service>.json), and with --endpoint\n"
		   "uploads it as batches. SIGHUP reloads filters and limits; SIGTERM flushes and\n"
		   "exits. Without --config, " RUN_DEFAULT_CONFIG " is read when it exists.\n"
		   "\n");
	config_usage(f);
	fprintf(f, "  --check-config               check the configuration, print where it came\n"
		   "                               from, exit\n"
		   "  -h, --help                   this text\n");
}

/* Builds the whole configuration from argv; the flags are parsed first
 * (to find --config) and applied last (to win). Returns 0, 1 after --help,
 * or -EINVAL with err set. */
static int build(const struct run_args *a, struct run_config *c, char *err, size_t errlen)
{
	struct option opts[RUN_MAX_OPTS];
	struct { int code; const char *arg; } *seen;
	const char *path = NULL;
	size_t n = config_long_options(opts, RUN_MAX_OPTS - 3), n_seen = 0, i;
	int opt, rc = 0;
	char sub[400];

	opts[n].name = "help";
	opts[n].has_arg = no_argument;
	opts[n].flag = NULL;
	opts[n].val = 'h';
	opts[n + 1].name = "check-config";
	opts[n + 1].has_arg = no_argument;
	opts[n + 1].flag = NULL;
	opts[n + 1].val = OPT_CHECK_CONFIG;
	memset(&opts[n + 2], 0, sizeof(opts[n + 2]));
	seen = calloc((size_t)a->argc + 1, sizeof(*seen));
	if (!seen) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	config_default(c);
	optind = 0; /* full re-initialization: build() runs again on SIGHUP */
	opterr = 0;
	while ((opt = getopt_long(a->argc, a->argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h') {
			rc = 1;
			goto out;
		}
		if (opt == OPT_CHECK_CONFIG) {
			((struct run_args *)a)->check_only = 1;
			continue;
		}
		if (opt == '?' || opt == ':') {
			cli_opt_problem(opt, a->argv, err, errlen);
			rc = -EINVAL;
			goto out;
		}
		seen[n_seen].code = opt;
		seen[n_seen].arg = optarg;
		if (strcmp(config_opt_name(opt), "config") == 0)
			path = optarg;
		n_seen++;
	}
	if (optind < a->argc) {
		snprintf(err, errlen, "unexpected argument '%.64s'", a->argv[optind]);
		rc = -EINVAL;
		goto out;
	}
	if (!path)
		path = getenv("APISONAR_CONFIG");
	if (path && *path) {
		rc = config_load_file(c, path, err, errlen);
		if (rc)
			goto out;
		snprintf(c->config, sizeof(c->config), "%s", path);
	} else if (access(RUN_DEFAULT_CONFIG, F_OK) == 0) {
		rc = config_load_file(c, RUN_DEFAULT_CONFIG, err, errlen);
		if (rc)
			goto out;
		snprintf(c->config, sizeof(c->config), "%s", RUN_DEFAULT_CONFIG);
	}
	rc = config_load_env(c, NULL, err, errlen);
	if (rc)
		goto out;
	for (i = 0; i < n_seen; i++) {
		const char *name = config_opt_name(seen[i].code);
		/* A bare --flag of a boolean key means true. */
		const char *v = seen[i].arg ? seen[i].arg : "true";

		rc = config_set(c, name, v, CFG_SRC_FLAG, sub, sizeof(sub));
		if (rc) {
			snprintf(err, errlen, "option --%s: %s", name, sub);
			goto out;
		}
	}
	rc = config_check(c, err, errlen);
out:
	free(seen);
	return rc;
}

static int reload_cb(void *ctx, struct run_config *out, char *err, size_t errlen)
{
	int rc = build(ctx, out, err, errlen);

	return rc > 0 ? -EINVAL : rc;
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = { .argc = argc, .argv = argv };
	struct run_config *c = malloc(sizeof(*c));
	char err[600];
	int rc;

	if (!c) {
		fprintf(stderr, "apisonar run: out of memory\n");
		return 1;
	}
	rc = build(&a, c, err, sizeof(err));
	if (rc == 1) {
		usage(stdout);
		free(c);
		return 0;
	}
	if (rc) {
		free(c);
		return cli_usage_error(&run_cmd, "%s", err);
	}
	if (a.check_only) {
		printf("configuration OK (file: %s)\n", c->config[0] ? c->config : "none");
		free(c);
		return 0;
	}
	rc = daemon_run(c, reload_cb, &a);
	free(c);
	return rc;
}
