/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The uploader: delivers spooled batches over HTTPS (libcurl + OpenSSL) to
 * POST <endpoint>/v1/batches. TLS 1.2 or newer, peer and host always
 * verified, optional CA file, pinned public keys and client certificate,
 * bearer token from a file (never logged). A batch leaves the spool only
 * after a 2xx; 5xx, 408, 429, 401/403 and network errors keep it for a later
 * try with exponential backoff and full jitter, honouring Retry-After; any
 * other 4xx moves it to quarantine. Every attempt is written to an audit
 * log (JSON lines) before it is made, and its result after: ids, counts,
 * sizes, digest, outcome; never content.
 *
 * The options are shared by every subcommand that uploads (upload, run,
 * satellite forwarding): put UPLOADER_LONG_OPTIONS in a getopt_long table
 * and pass each returned code to uploader_opt_parse().
 */
#ifndef APISONAR_UPLOADER_H
#define APISONAR_UPLOADER_H

#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "apisonar/transport/batch.h"
#include "apisonar/transport/spool.h"

#define UPLOADER_MAX_PINS 8
#define UPLOADER_TOKEN_CAP 4096 /* bytes read from a token file */
#define UPLOADER_BACKOFF_BASE_MS 1000ull
#define UPLOADER_BACKOFF_CAP_MS (5ull * 60 * 1000)
#define UPLOADER_RETRY_AFTER_MAX_S 3600ull /* a server cannot park us longer */

/* getopt_long codes of the shared options (outside the ASCII range). */
enum {
	UPLOADER_OPT_ENDPOINT = 0x1100,
	UPLOADER_OPT_TOKEN_FILE,
	UPLOADER_OPT_CA_FILE,
	UPLOADER_OPT_PIN_SHA256,
	UPLOADER_OPT_CLIENT_CERT,
	UPLOADER_OPT_CLIENT_KEY,
	UPLOADER_OPT_SPOOL_KEY_FILE,
	UPLOADER_OPT_AUDIT_LOG,
	UPLOADER_OPT_MAX_SPOOL_BYTES,
	UPLOADER_OPT_MAX_SPOOL_FILES,
	UPLOADER_OPT_MAX_RATE,
	UPLOADER_OPT__END,
};

/* Entries for a struct option table (no terminator). */
/* clang-format off */
#define UPLOADER_LONG_OPTIONS                                                          \
	{ "endpoint", required_argument, NULL, UPLOADER_OPT_ENDPOINT },                \
	{ "token-file", required_argument, NULL, UPLOADER_OPT_TOKEN_FILE },            \
	{ "ca-file", required_argument, NULL, UPLOADER_OPT_CA_FILE },                  \
	{ "pin-sha256", required_argument, NULL, UPLOADER_OPT_PIN_SHA256 },            \
	{ "client-cert", required_argument, NULL, UPLOADER_OPT_CLIENT_CERT },          \
	{ "client-key", required_argument, NULL, UPLOADER_OPT_CLIENT_KEY },            \
	{ "spool-key-file", required_argument, NULL, UPLOADER_OPT_SPOOL_KEY_FILE },    \
	{ "audit-log", required_argument, NULL, UPLOADER_OPT_AUDIT_LOG },              \
	{ "max-spool-bytes", required_argument, NULL, UPLOADER_OPT_MAX_SPOOL_BYTES },  \
	{ "max-spool-files", required_argument, NULL, UPLOADER_OPT_MAX_SPOOL_FILES },  \
	{ "max-rate", required_argument, NULL, UPLOADER_OPT_MAX_RATE }
/* clang-format on */

/* Settings; strings point into argv (not owned). */
struct uploader_opts {
	const char *endpoint;	/* https://host[:port][/prefix] */
	const char *token_file; /* bearer token, one line */
	const char *ca_file;
	const char *pins[UPLOADER_MAX_PINS]; /* base64 SHA-256 of a SubjectPublicKeyInfo */
	unsigned n_pins;
	const char *client_cert;
	const char *client_key;
	const char *spool_key_files[SPOOL_MAX_KEYS]; /* in order; the last one writes */
	unsigned n_spool_key_files;
	const char *audit_log;
	struct spool_limits spool_limits;
	uint64_t max_rate;	  /* bytes/s sent, 0 = unlimited */
	uint64_t backoff_base_ms; /* 0 = UPLOADER_BACKOFF_BASE_MS */
	uint64_t backoff_cap_ms;  /* 0 = UPLOADER_BACKOFF_CAP_MS */
	uint32_t timeout_s;	  /* whole request; 0 = 300 */
};

/* Handles one getopt code. Returns 0 when handled, 1 when opt is not an
 * uploader option, -EINVAL (after a message on stderr) for a bad value. */
int uploader_opt_parse(struct uploader_opts *o, int opt, const char *arg)
    __attribute__((warn_unused_result));

/* Checks the combination after parsing (endpoint is https with a host and
 * no credentials in it, cert and key together). Prints the reason; returns
 * 0 or -EINVAL. */
int uploader_opts_check(const struct uploader_opts *o) __attribute__((warn_unused_result));

/* The option lines for a subcommand's --help. */
void uploader_opts_usage(FILE *f);

/* Loads the spool keys the options name: each --spool-key-file in order,
 * else APISONAR_SPOOL_KEY. Errors name the file or variable, never a key. */
int uploader_load_spool_keys(const struct uploader_opts *o, struct spool_keys **out)
    __attribute__((warn_unused_result));

/* ---- pure helpers (tested alone) ---- */

/* Parses a Retry-After value: delta seconds, or an HTTP date (IMF-fixdate,
 * RFC 850 or asctime) relative to now. Capped at UPLOADER_RETRY_AFTER_MAX_S;
 * a date in the past gives 0. Returns 0 or -EINVAL. */
int uploader_parse_retry_after(const char *v, time_t now, uint64_t *secs)
    __attribute__((warn_unused_result));

/* Full-jitter backoff: a delay in [0, min(cap, base * 2^attempt)] chosen by
 * rnd (any 64-bit random number). */
uint64_t uploader_backoff_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd);

struct upload_result;

/* The wait before the next try after a failed attempt: full-jitter
 * backoff for *attempt (then counted up), or the answer's Retry-After when
 * that is longer. base_ms/cap_ms 0 mean the defaults. */
uint64_t uploader_retry_delay_ms(unsigned *attempt, const struct upload_result *r,
				 uint64_t base_ms, uint64_t cap_ms);

/* What one attempt means for the batch. */
enum upload_verdict {
	UPLOAD_DELIVERED = 0, /* 2xx: remove from the spool */
	UPLOAD_RETRY,	      /* keep, try later */
	UPLOAD_REJECTED,      /* permanent 4xx: quarantine */
};

/* The verdict for an HTTP status (0 = no response: network or TLS error). */
enum upload_verdict uploader_classify(long http_status);

/* ---- delivery ---- */

struct upload_result {
	enum upload_verdict verdict;
	long http_status;	/* 0 when no response */
	int curl_code;		/* CURLE_OK when a response came */
	const char *kind;	/* "delivered", "http_4xx", "tls_verify", ... (static) */
	uint64_t retry_after_s; /* from the response, 0 when absent */
	int has_retry_after;
};

struct uploader;

/* Builds an uploader: checks options, reads the token file (a missing or
 * unreadable one is an error naming the file), opens the audit log. On
 * failure returns NULL with *err set and a line logged. */
struct uploader *uploader_new(const struct uploader_opts *o, int *err);
void uploader_free(struct uploader *u);

/* One POST of one batch (test results, BATCH_KIND_TEST_RESULTS, to
 * <endpoint>/v1/test-results instead); fills res. With an audit log, an "attempt" line
 * is appended and fdatasync'd before the request and a "result" line after
 * the answer. Returns 0 when an answer (any verdict) was reached, a
 * negative errno when the attempt could not even be made (out of memory,
 * token file gone, the attempt line could not be written: nothing was
 * sent; res says retry). */
int uploader_send(struct uploader *u, const void *gz, size_t len, const struct batch_meta *m,
		  struct upload_result *res) __attribute__((warn_unused_result));

/* Raw-forward mode (docs/run.md): one POST of gzip'd JSONL exchanges, with
 * their values, to <endpoint>/v1/exchanges, under batch id id. Audited
 * like a batch (exchanges in the endpoints column) but with no digest.
 * Only over mTLS: the caller checks a client certificate is configured. */
#define UPLOADER_RAW_CTYPE "application/x-ndjson"
int uploader_send_raw(struct uploader *u, const void *gz, size_t len, const char *id,
		      uint32_t exchanges, size_t json_len, struct upload_result *res)
	__attribute__((warn_unused_result));

struct uploader_stats {
	uint64_t delivered;
	uint64_t rejected;
	uint64_t retries;
	uint64_t bytes_sent;
};

void uploader_get_stats(const struct uploader *u, struct uploader_stats *out);

/* How long uploader_drain() runs. */
enum uploader_drain_mode {
	UPLOADER_DRAIN_ONCE,   /* until empty, or the first batch that must wait (returns 1) */
	UPLOADER_DRAIN_EMPTY,  /* until empty, waiting out backoffs */
	UPLOADER_DRAIN_FOLLOW, /* until *stop: when empty, waits for new batches */
};

/* Drains the spool oldest first, logging each delivery and, once per idle
 * spell, that the spool is drained. Returns 0 when the spool was emptied
 * (ONCE, EMPTY: then the drainer lock is given up with
 * spool_release_if_empty(), so a batch enqueued at that moment is never
 * stranded) or *stop became non-zero (FOLLOW); 1 when a batch is left
 * waiting (ONCE at the first retry; ONCE or EMPTY stopped by *stop with a
 * batch still in the spool); a negative errno on a local failure. */
int uploader_drain(struct uploader *u, struct spool *sp, enum uploader_drain_mode mode,
		   volatile sig_atomic_t *stop) __attribute__((warn_unused_result));

/* The uploader as a delivery backend of transport.h (u stays the caller's). */
struct transport;
void uploader_transport(struct uploader *u, struct transport *out);

#endif
