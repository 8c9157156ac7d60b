/* SPDX-License-Identifier: BSD-2-Clause */
/* Subcommands. Each returns the process exit code: 0 ok, 1 runtime error,
 * 2 usage error, 3 for what a command exists to find (diff: drift, test:
 * findings, upload: quarantined batches). argv[0] is the subcommand name. */
#ifndef APISONAR_CMD_H
#define APISONAR_CMD_H

#include <stddef.h>

#define EXIT_USAGE 2

int cmd_capture(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_anonymize(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_satellite(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_test(int argc, char **argv);

/* A catalog directory's metadata.json, or a metadata file: parsed and
 * validated by the catalog's own merge (src/cli/catalog_file.c). Errors
 * name the file and the rule, never its content. */
struct cJSON;
int cli_load_catalog(const char *path, struct cJSON **out, char *err, size_t errlen);

#endif
