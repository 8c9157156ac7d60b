/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * API security tests: plans made of catalog metadata, credentials that stay
 * on the host, results with every credential stripped.
 *
 *   tester_plan()      a catalog (apisonar.metadata/v1) -> a plan
 *                      (apisonar.testplan/v1, docs/testplan.schema.json)
 *   tester_creds_load() the local credentials file (mode 0600 or tighter)
 *   tester_run()       runs a plan against a target over libcurl, with a
 *                      rate and a concurrency limit, read-only unless told
 *   strip.h            what a result may keep: credentials removed in every
 *                      encoding, JWTs and detector matches withheld
 *   tester_results_spool() the stripped results into the encrypted spool,
 *                      for the uploader to deliver (/v1/test-results)
 *
 * Object ids the runner learns (for the broken object-level authorization
 * test) live in its memory for the run only; results name templates, never
 * path values.
 */
#ifndef APISONAR_TESTER_H
#define APISONAR_TESTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "apisonar/tester/strip.h"
#include "apisonar/transport/batch.h"
#include "apisonar/transport/spool.h"

#define TESTER_MAX_IDENTITIES 8
#define TESTER_MAX_SECRET STRIP_MAX_SECRET /* longest credential */
#define TESTER_MAX_BODY (64u << 10) /* response bytes read per request */
#define TESTER_KEEP_BODY 4096       /* body bytes a result keeps */
#define TESTER_OVERSIZE (16u << 10) /* bytes of an oversized parameter */

/* The test kinds, in the order reports list them (docs/testing.md). */
#define TESTER_N_KINDS 8
extern const char *const tester_kinds[TESTER_N_KINDS];

struct tester_plan_opts {
	const char *service; /* NULL: the catalog's only service */
};

/* The plan of one service of a catalog, which must have been validated
 * (catalog_merge_metadata, as cli_load_catalog does). Returns 0 with *plan, -ENOENT when
 * the service is not in the catalog (or it has several and none was
 * named), -ENOMEM. */
int tester_plan(const cJSON *catalog, const struct tester_plan_opts *o, cJSON **plan,
		char *err, size_t errlen) __attribute__((warn_unused_result));

/* Checks a plan document (schema, kinds, members); 0 or -EINVAL with err. */
int tester_plan_check(const cJSON *plan, char *err, size_t errlen)
	__attribute__((warn_unused_result));

enum tester_auth { TA_BEARER, TA_HEADER, TA_QUERY, TA_COOKIE, TA_BASIC };

struct tester_identity {
	char name[64];
	enum tester_auth kind;
	char param[128];                  /* header, query or cookie name; basic: user */
	char secret[TESTER_MAX_SECRET];   /* the token, key, cookie value or password */
};

struct tester_creds {
	struct tester_identity id[TESTER_MAX_IDENTITIES];
	int n;
};

/* Reads the credentials file: JSON, {"identities": {NAME: {...}}} with one
 * of "bearer": TOKEN, "header": {"name", "value"}, "query": {"name",
 * "value"}, "cookie": {"name", "value"}, "basic": {"user", "password"},
 * "command": ARGV-STRING (its first output line is the token; "as" says
 * bearer (default), header, query or cookie, with "name"). The file must
 * be owned by the caller and not readable by group or others. Errors name
 * the file, the identity and the member, never a credential. */
int tester_creds_load(const char *path, struct tester_creds *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The same from bytes already read (label names them in errors): no
 * ownership or mode check, no file. */
int tester_creds_parse(const char *label, const char *buf, size_t len, struct tester_creds *c,
		       char *err, size_t errlen) __attribute__((warn_unused_result));

/* Wipes every credential. */
void tester_creds_wipe(struct tester_creds *c);

struct tester_run_opts {
	const char *target;   /* http(s)://host[:port][/prefix] */
	const char *as;       /* identity used for ordinary requests (default: the first) */
	const char *other;    /* the second identity for object-level tests (default: the next) */
	double rate;          /* requests per second, > 0 */
	unsigned concurrency; /* requests in flight, 1.. */
	bool allow_writes;    /* methods other than GET/HEAD/OPTIONS */
	bool dry_run;         /* print what would be sent, send nothing */
	const char *ca_file;
	const char *client_cert, *client_key;
	FILE *progress;       /* a terminal: one status line; NULL: none */
	FILE *dry;            /* where --dry-run writes */
};

struct tester_summary {
	unsigned tests, passed, findings, skipped, errors;
	unsigned requests;
	unsigned withheld; /* values withheld from results (detector matches, JWTs) */
};

/* Runs every test of the plan; results (apisonar.testresults/v1) into
 * *results, already stripped (strip.h) and checked by the last guard.
 * Returns 0, or -errno when nothing could run (err says why). */
int tester_run(const cJSON *plan, const struct tester_creds *c, const struct tester_run_opts *o,
	       cJSON **results, struct tester_summary *sum, char *err, size_t errlen)
	__attribute__((warn_unused_result));

struct tester_sat_opts {
	const char *url;        /* https://host[:port] of a satellite */
	const char *token_file; /* bearer token, one line; never printed */
	const char *ca_file;
	const char *client_cert, *client_key;
};

/* GET /v1/test-plans/{service} from a satellite, checked like a file's.
 * -ENOENT when the satellite knows no such service. */
int tester_sat_plan(const struct tester_sat_opts *o, const char *service, cJSON **plan, char *err,
		    size_t errlen) __attribute__((warn_unused_result));

/* The results as a spool record (BATCH_KIND_TEST_RESULTS, which the
 * uploader posts to /v1/test-results): compact JSON, the detectors' last
 * guard once more (-EPERM), gzip'd; meta holds the results id, one
 * service, the number of results and the run's wall-clock window. */
int tester_results_encode(const cJSON *results, uint64_t start_ns, uint64_t end_ns,
			  unsigned char **gz, size_t *len, struct batch_meta *meta)
	__attribute__((warn_unused_result));

/* Puts the results in the spool at dir as an enqueuer (a drainer such as
 * apisonar run may hold it); -EEXIST when this id is spooled already. */
int tester_results_spool(const char *dir, const struct spool_keys *keys,
			 const struct spool_limits *lim, const cJSON *results, uint64_t start_ns,
			 uint64_t end_ns, char *err, size_t errlen) __attribute__((warn_unused_result));

/* --out-dir: results.json, junit.xml and results.txt in dir (made 0700,
 * files 0600), each written whole or not at all. */
int tester_results_out_dir(const char *dir, const cJSON *results,
			   const struct tester_summary *sum, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Results as JUnit XML (a testsuite per kind, a failure per finding). */
int tester_write_junit(FILE *f, const cJSON *results);

/* One line per test and a summary, for people. */
int tester_write_text(FILE *f, const cJSON *results, const struct tester_summary *sum);

#endif
