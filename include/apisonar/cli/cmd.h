/* SPDX-License-Identifier: BSD-2-Clause */
/* Subcommands. Each returns the process exit code: 0 ok, 1 runtime error,
 * 2 usage error (diff: 3 when drift was found). argv[0] is the subcommand
 * name. */
#ifndef APISONAR_CMD_H
#define APISONAR_CMD_H

#define EXIT_USAGE 2

int cmd_capture(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_anonymize(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_satellite(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
