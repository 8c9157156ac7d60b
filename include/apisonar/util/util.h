/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers every module needs: logging, number parsing, files. */
#ifndef APISONAR_UTIL_H
#define APISONAR_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#define APISONAR_VERSION "0.1.0"

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Process-wide: level shown (default LOG_INFO) and JSON lines on/off. */
void log_setup(enum log_level level, int json);

/* One line on stderr. Callers must never pass a captured value (header,
 * body, query, token, path segment) as an argument: only names, counts,
 * paths of our own files and errno strings. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The value of one hex digit, or -1. */
int hex_value(int c);

/* Parses a whole decimal string into [min, max]. Returns 0 or -EINVAL /
 * -ERANGE; *out is untouched on error. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
	__attribute__((warn_unused_result));

/* A capture budget: "unlimited" or a whole number of exchanges per second
 * from 0 (also unlimited) to 1,000,000. 0 or -EINVAL. */
#define BUDGET_MAX 1000000
int parse_budget(const char *s, uint64_t *out) __attribute__((warn_unused_result));

/* Reads a whole file of at most cap bytes; *buf is NUL-terminated and
 * owned by the caller. Returns 0 or a negative errno (-EFBIG past cap). */
int read_file_all(const char *path, size_t cap, char **buf, size_t *len)
	__attribute__((warn_unused_result));

/* Writes path atomically: temp file in the same directory, fsync, rename,
 * fsync of the directory. Returns 0 or a negative errno. */
int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
	__attribute__((warn_unused_result));

/* fsync of a directory, so the names created, renamed or removed in it
 * last. Returns 0 or a negative errno. */
int fsync_dir(const char *dir) __attribute__((warn_unused_result));

/* mkdir -p with the given mode for the directories it creates. */
int mkdir_p(const char *path, mode_t mode) __attribute__((warn_unused_result));

/* Wall-clock ns as RFC 3339 UTC ("2026-11-24T12:00:01.234Z") with 1 to 9
 * fraction digits (cut, not rounded). Every timestamp apisonar writes. */
void time_format_rfc3339(uint64_t ns, unsigned frac_digits, char *buf, size_t size);

/* Parses RFC 3339 (T or space, optional fraction up to ns, Z or an offset)
 * into wall-clock ns. Returns 0, -EINVAL, or -ERANGE (before 1970). */
int time_parse_rfc3339(const char *s, uint64_t *ns) __attribute__((warn_unused_result));

struct cJSON;

/* The first member key of a cJSON object, or NULL: what
 * cJSON_GetObjectItemCaseSensitive answers, but a first-byte test skips
 * most strcmp calls (lookups are a hot path of the anonymizer and the
 * readers, and member names rarely share a first byte). */
struct cJSON *json_get(const struct cJSON *obj, const char *key);

/* Short-lived cJSON trees (one JSONL record, one observation) cost a
 * malloc and a free per node. While armed on a thread, cJSON allocations
 * of that thread come from a bump arena of JSON_ARENA_CAP bytes (then from
 * malloc again when it is full); a free of arena memory only counts, and
 * the arena starts over once everything taken from it was freed. Arm only
 * around code whose cJSON memory is freed with cJSON_Delete on the same
 * thread and never handed to free(): parsing and building, not printing.
 * json_arena_arm returns the previous state for json_arena_arm to restore.
 * The arena owns the process's cJSON hooks: nothing else may call
 * cJSON_InitHooks. */
#define JSON_ARENA_CAP (1u << 20)
int json_arena_arm(int on);

/* Where the arena stands, to drop at once every tree built after it. */
struct json_arena_mark {
	size_t used, live, spills;
};

void json_arena_mark(struct json_arena_mark *m);

/* Drops every tree built in the arena since m without walking them: 1 when
 * done (those trees are gone; do not cJSON_Delete them), 0 when some of
 * their memory came from malloc (the arena was full), and the caller
 * deletes them as usual. Only for trees made on this thread since m while
 * nothing older than m was freed. */
int json_arena_release(const struct json_arena_mark *m);

/* A strict, quick JSON parser for the common case, building the very tree
 * cJSON_ParseWithLengthOpts(s, ...) would build (same nodes, types, number
 * values, order). It declines, with NULL, whatever it does not handle
 * exactly like cJSON: \u escapes, NUL bytes, a leading BOM, numbers
 * outside strict JSON or longer than JSON_FAST_MAX_NUMBER, nesting deeper
 * than JSON_FAST_MAX_DEPTH, and every malformed input; the caller then
 * asks cJSON, which decides. whole: only whitespace (bytes <= 32) may
 * follow the value, as with cJSON's require_null_terminated; else trailing
 * bytes are ignored, as cJSON_ParseWithLength does. */
#define JSON_FAST_MAX_DEPTH 64
#define JSON_FAST_MAX_NUMBER 62
struct cJSON *json_parse_fast(const char *s, size_t len, int whole);

/* Wipes every string of a cJSON tree (values and member names) before it
 * is freed: for trees parsed from files that may hold secrets. */
void json_wipe(struct cJSON *n);

/* CLOCK_REALTIME and CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_wall_ns(void);
uint64_t now_mono_ns(void);

/* The time ms from now on clock clk, for pthread_cond_timedwait (whose
 * clock is CLOCK_REALTIME unless the condition was made otherwise). */
void timespec_after_ms(clockid_t clk, uint64_t ms, struct timespec *ts);

/* 64 random bits from OpenSSL's RNG (the monotonic clock if it fails):
 * backoff jitter, never secrets. */
uint64_t rand_u64(void);

#endif
