/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Drift: what runs against what is declared. Compares a declared catalog
 * (spec_declare()) with an observed one (apisonar.metadata/v1) and lists
 * findings by position (service, method, template, location, name), never
 * by value: both sides hold only names already.
 */
#ifndef APISONAR_CATALOG_DRIFT_H
#define APISONAR_CATALOG_DRIFT_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

enum drift_kind {
	DK_SHADOW_ENDPOINT,    /* observed, not declared */
	DK_ZOMBIE_ENDPOINT,    /* declared, not observed (within the window) */
	DK_UNDECLARED_PARAM,   /* query, header or cookie parameter */
	DK_UNSEEN_PARAM,       /* declared parameter never observed */
	DK_UNDECLARED_STATUS,
	DK_UNSEEN_STATUS,      /* declared status code never observed */
	DK_UNDECLARED_MEDIA,   /* request or response media type */
	DK_UNDECLARED_FIELD,   /* body property */
	DK_TYPE_MISMATCH,      /* parameter or field type */
	DK_UNDECLARED_SENSITIVE, /* a sensitive class the document does not mark */
	DK_UNDECLARED_AUTH,    /* an auth scheme the document does not declare */
	DK_MISSING_AUTH,       /* requests without the auth the document requires */
	DK__COUNT,
};

/* Stable names, used in every output format ("shadow-endpoint", ...). */
const char *drift_kind_name(enum drift_kind k);

#define DRIFT_MAX_STR 1100

struct drift_finding {
	enum drift_kind kind;
	char service[256];
	char method[16];
	char path[DRIFT_MAX_STR];    /* the declared template, else the observed one */
	char location[32];           /* "query", "header", "request", "response 200", ... */
	char name[DRIFT_MAX_STR];    /* parameter, field path, status, media type, auth kind */
	char detail[128];            /* "declared integer, observed string", ... */
};

struct drift_result {
	struct drift_finding *f;
	size_t n, cap;
	size_t by_kind[DK__COUNT];
	size_t services;   /* declared services compared */
	size_t declared;   /* declared endpoints */
	size_t observed;   /* observed endpoints of those services */
};

struct drift_opts {
	const char *service;      /* compare only this service (NULL: all declared) */
	uint64_t zombie_window_s; /* 0: zombie = never observed; else not within */
	uint64_t now_ns;          /* the window's end (wall clock) */
};

/* Compares; findings sorted by service, path, method, kind, location,
 * name. When the declared catalog has one service and the observed one a
 * single service of another name, the two are compared (*paired set to 1).
 * Returns 0 or -ENOMEM. */
int drift_compare(const cJSON *declared, const cJSON *observed, const struct drift_opts *o,
		  struct drift_result *out, int *paired) __attribute__((warn_unused_result));

void drift_result_free(struct drift_result *r);

enum drift_format { DRIFT_TEXT, DRIFT_JSON, DRIFT_MARKDOWN };

/* Writes the report: text (a line per finding, grouped by service, a
 * summary line), JSON (apisonar.drift/v1, docs/drift.schema.json) or
 * Markdown (a table per service). Returns 0 or -errno. */
int drift_write(FILE *f, const struct drift_result *r, enum drift_format fmt);

#endif
