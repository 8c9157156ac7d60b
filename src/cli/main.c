// SPDX-License-Identifier: BSD-2-Clause
/* apisonar: find the HTTP APIs a host runs by watching its traffic. */
#include <stdio.h>
#include <string.h>

#include "apisonar/cli/cmd.h"
#include "apisonar/util/util.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "capture", cmd_capture, "print HTTP exchanges as they happen (debugging)" },
	{ "run", cmd_run, "the daemon: capture, anonymize, catalog, spool, upload" },
	{ "anonymize", cmd_anonymize, "recorded exchanges (HAR/JSONL) in, catalog out" },
	{ "upload", cmd_upload, "spool catalog files and send them to an endpoint" },
	{ "satellite", cmd_satellite, "ingest service that merges batches from sensors" },
	{ "catalog", cmd_catalog, "the cluster-wide catalog from the satellites' NATS bucket" },
	{ "import", cmd_import, "OpenAPI documents in (scrubbed), declared catalog out" },
	{ "diff", cmd_diff, "drift between declared APIs and observed traffic" },
	{ "plan", cmd_plan, "a security test plan from a catalog (metadata only)" },
	{ "test", cmd_test, "run a test plan; credentials stay here, results leave without them" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: apisonar <command> [options]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'apisonar <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("apisonar %s\n", APISONAR_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "apisonar: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
