/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One way for every subcommand to parse its options and to answer bad
 * input: getopt_long without getopt's own messages, and one error path
 * that names the option and its value, says why, prints the usage line
 * and exits 2:
 *
 *   apisonar capture: unknown option '--prot'
 *   usage: apisonar capture [options]
 *   Try 'apisonar capture --help'.
 *
 * To convert a subcommand: describe it in a struct cli_cmd, call
 * cli_getopt() instead of getopt_long() (it returns CLI_OPT_BAD after
 * printing, for `return EXIT_USAGE`), and answer bad values with
 * `return cli_bad_value(&cmd, "port", optarg, "want a port, 1 to 65535")`.
 */
#ifndef APISONAR_CLI_OPTS_H
#define APISONAR_CLI_OPTS_H

#include <getopt.h>
#include <stddef.h>

/* cli_getopt's answer to an unknown option or a missing value, once the
 * message is printed. */
#define CLI_OPT_BAD (-2)

struct cli_cmd {
	const char *name;  /* "capture" */
	const char *usage; /* its usage line(s), "usage: apisonar capture [options]" */
};

/* getopt_long(argc, argv, shortopts, longopts, NULL) with opterr = 0.
 * Returns what getopt_long returns, except that an unknown option and an
 * option missing its value are reported (cli_usage_error) and answered
 * CLI_OPT_BAD. Set optind first as usual (1, or 0 to start over). */
int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts);

/* What went wrong with the option getopt_long just answered '?' or ':' for
 * (opt), as "unknown option '--prot'" or "option '--port' needs a value",
 * into buf. For callers that report it their own way (run's reload). */
void cli_opt_problem(int opt, char **argv, char *buf, size_t len);

/* Prints "apisonar NAME: MESSAGE", the usage line and the --help hint on
 * stderr; returns EXIT_USAGE (2). */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The same for a bad value: "apisonar NAME: --OPT VALUE: WHY". */
int cli_bad_value(const struct cli_cmd *cmd, const char *opt, const char *value, const char *why);

#endif
