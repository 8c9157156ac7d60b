// SPDX-License-Identifier: BSD-2-Clause
/* Placeholder until the issue that builds 'apisonar anonymize' lands. */
#include <stdio.h>

#include "apisonar/cmd.h"

int cmd_anonymize(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "apisonar: 'anonymize' is not built yet in this version\n");
	return 1;
}
