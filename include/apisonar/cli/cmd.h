/* SPDX-License-Identifier: BSD-2-Clause */
/* Subcommands. Each returns the process exit code: 0 ok, 1 runtime error,
 * 2 usage error (test: 3 when findings). argv[0] is the subcommand name. */
#ifndef APISONAR_CMD_H
#define APISONAR_CMD_H

#include <stddef.h>

#define EXIT_USAGE 2

int cmd_capture(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_anonymize(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_satellite(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_test(int argc, char **argv);

/* A catalog directory's metadata.json, or a metadata file: parsed, its
 * schema checked. Errors name the file, never its content. */
struct cJSON;
int cli_load_catalog(const char *path, struct cJSON **out, char *err, size_t errlen);

#endif
