// SPDX-License-Identifier: BSD-2-Clause
/* Placeholder until the issue that builds 'apisonar run' lands. */
#include <stdio.h>

#include "apisonar/cmd.h"

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "apisonar: 'run' is not built yet in this version\n");
	return 1;
}
