/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `declared = FILE...` in apisonar run: the declared APIs, read at start
 * and on SIGHUP, compared with the catalog at every flush. The report goes
 * to DIR/drift.json (apisonar.drift/v1, docs/declared.md) and its counts
 * per kind to /metrics. Owned by the catalog thread.
 */
#ifndef APISONAR_DAEMON_DECLARED_H
#define APISONAR_DAEMON_DECLARED_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "apisonar/catalog/drift.h"
#include "apisonar/daemon/config.h"

struct declared;

struct declared *declared_new(void);
void declared_free(struct declared *dl);

/* Reads the documents (spec_declare_file). On an error the previous set
 * stays and err says which file and why (never a byte of it). Returns 0,
 * or -errno. */
int declared_load(struct declared *dl, const struct cfg_list *files, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The loaded set as a metadata document (declared_to_metadata(): counts
 * 0, declared marks), merged into the catalog and its batches at every
 * flush; NULL when none is loaded. Owned by dl. */
const cJSON *declared_metadata(const struct declared *dl);

/* Whether a set is loaded. */
int declared_loaded(const struct declared *dl);

/* Compares the set with an observed metadata document, writes
 * out_dir/drift.json and the counts per kind into counts. Returns the
 * number of findings, or -errno. */
int declared_check(struct declared *dl, const cJSON *observed, const char *out_dir,
		   size_t counts[DK__COUNT]);

#endif
