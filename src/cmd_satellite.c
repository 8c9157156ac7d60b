// SPDX-License-Identifier: BSD-2-Clause
/* Placeholder until the issue that builds 'apisonar satellite' lands. */
#include <stdio.h>

#include "apisonar/cmd.h"

int cmd_satellite(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "apisonar: 'satellite' is not built yet in this version\n");
	return 1;
}
