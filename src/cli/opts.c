// SPDX-License-Identifier: BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "apisonar %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s\nTry 'apisonar %s --help'.\n", cmd->usage, cmd->name);
	return EXIT_USAGE;
}

int cli_bad_value(const struct cli_cmd *cmd, const char *opt, const char *value, const char *why)
{
	return cli_usage_error(cmd, "--%s %.128s: %s", opt, value, why);
}

void cli_opt_problem(int opt, char **argv, char *buf, size_t len)
{
	/* getopt_long has moved past the option: argv[optind - 1] is it,
	 * unless it was a short option inside a cluster ("-xv"). */
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	char shopt[3] = { '-', (char)optopt, '\0' };
	const char *what = opt == ':' ? "needs a value" : NULL;
	int n;

	/* A long option is named by the word itself; a short one by optopt
	 * (for a long option missing its value, optopt is its code). */
	if (!(arg && arg[0] == '-' && arg[1] == '-') && optopt > ' ' && optopt < 127)
		arg = shopt;
	if (!arg)
		arg = "?";
	/* "--name=value": the name only, never the value */
	n = (int)strcspn(arg, "=");
	if (n > 64)
		n = 64;
	if (what)
		snprintf(buf, len, "option '%.*s' %s", n, arg, what);
	else
		snprintf(buf, len, "unknown option '%.*s'", n, arg);
}

int cli_getopt(const struct cli_cmd *cmd, int argc, char **argv, const char *shortopts,
	       const struct option *longopts)
{
	char sh[64], msg[160];
	int opt;

	/* A leading ':' makes getopt tell a missing value (':') from an
	 * unknown option ('?'). */
	snprintf(sh, sizeof(sh), ":%s", shortopts[0] == ':' ? shortopts + 1 : shortopts);
	opterr = 0;
	opt = getopt_long(argc, argv, sh, longopts, NULL);
	if (opt != '?' && opt != ':')
		return opt;
	cli_opt_problem(opt, argv, msg, sizeof(msg));
	cli_usage_error(cmd, "%s", msg);
	return CLI_OPT_BAD;
}
