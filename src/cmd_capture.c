// SPDX-License-Identifier: BSD-2-Clause
/* Placeholder until the sensor lands. */
#include <stdio.h>

#include "apisonar/cmd.h"

int cmd_capture(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "apisonar: 'capture' is not built yet in this version\n");
	return 1;
}
