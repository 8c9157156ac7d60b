/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The spool: a durable, encrypted, bounded on-disk queue of batches. One
 * file per batch in a directory, AES-256-GCM with a fresh nonce per file and
 * the file header (which holds the batch id) as associated data. Keys come
 * from outside (a key file or the environment), never from the spool; every
 * file names the key that wrote it so keys can rotate. Writes are atomic;
 * a file that fails authentication or parsing is moved to DIR/quarantine/.
 * When full, the oldest batch is dropped, counted and logged.
 *
 * Any number of writers, one drainer. A drainer (SPOOL_ROLE_DRAIN: reads,
 * removes, quarantines, and may put too) holds an flock on DIR/.lock for
 * as long as it is open, with a line in it naming its pid, command and
 * start time; a second drainer is refused (-EBUSY). An enqueuer
 * (SPOOL_ROLE_ENQUEUE: puts only) never takes that lock, so it can add
 * batches while a drainer runs. Each put holds DIR/.write.lock for its
 * duration only, which orders writers across processes. A spool object is
 * used from one thread (or under the caller's mutex).
 */
#ifndef APISONAR_SPOOL_H
#define APISONAR_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "apisonar/transport/batch.h"

#define SPOOL_KEY_LEN 32
#define SPOOL_KEY_ID_LEN 8 /* first bytes of SHA-256(key) */
#define SPOOL_MAX_KEYS 8   /* keys loaded at once, for rotation */
#define SPOOL_DEFAULT_MAX_BYTES (256ull * 1024 * 1024)
#define SPOOL_DEFAULT_MAX_FILES 10000u
#define SPOOL_MAX_QUARANTINE 1000u /* past this, bad files are deleted */
#define SPOOL_KEY_ENV "APISONAR_SPOOL_KEY"

/* The set of keys a spool may use. All of them read; the last one added
 * writes. Key material is wiped on free. */
struct spool_keys;

struct spool_keys *spool_keys_new(void);
void spool_keys_free(struct spool_keys *k);

/* Adds a key from a file holding 32 raw bytes or 64 hex digits (a trailing
 * newline is allowed). Errors name the file, never its content: -ENOENT,
 * -EACCES, -EINVAL (wrong length or not hex), -ENOSPC (too many keys). */
int spool_keys_add_file(struct spool_keys *k, const char *path) __attribute__((warn_unused_result));

/* Adds a key given as 64 hex digits. -EINVAL when malformed. */
int spool_keys_add_hex(struct spool_keys *k, const char *hex) __attribute__((warn_unused_result));

/* Adds the key in environment variable var (hex); -ENOENT when unset. */
int spool_keys_add_env(struct spool_keys *k, const char *var) __attribute__((warn_unused_result));

size_t spool_keys_count(const struct spool_keys *k);

/* Hex key id (16 chars + NUL) of key i, in the order added. */
int spool_keys_id_hex(const struct spool_keys *k, size_t i, char out[2 * SPOOL_KEY_ID_LEN + 1]);

struct spool_limits {
	uint64_t max_bytes; /* sum of file sizes; 0 = SPOOL_DEFAULT_MAX_BYTES */
	uint32_t max_files; /* 0 = SPOOL_DEFAULT_MAX_FILES */
};

struct spool_stats {
	uint64_t files;	      /* batches in the spool at the last look (open, put, empty peek) */
	uint64_t bytes;	      /* their size on disk */
	uint64_t put;	      /* batches written since open */
	uint64_t removed;     /* batches removed after delivery */
	uint64_t dropped;     /* oldest batches dropped because the spool was full */
	uint64_t quarantined; /* files moved (or deleted) as unreadable */
};

struct spool;

enum spool_role {
	SPOOL_ROLE_DRAIN = 0, /* the one process that delivers: peek, remove, quarantine, put */
	SPOOL_ROLE_ENQUEUE,   /* put only; any number, beside a drainer */
};

/* Opens (creating, mode 0700) a spool directory. keys are copied; at least
 * one is needed. Stale temp files of a crashed writer are removed, existing
 * batches are indexed oldest first. As a drainer, takes DIR/.lock and
 * records who (a short value-free description such as "apisonar upload
 * --follow"; NULL: the program and subcommand of this process); -EBUSY,
 * with nothing logged, when another drainer holds it (spool_drainer() says
 * who). An enqueuer's peek, remove and quarantine return -EPERM. */
int spool_open_as(const char *dir, const struct spool_limits *lim, const struct spool_keys *keys,
		  enum spool_role role, const char *who, struct spool **out)
    __attribute__((warn_unused_result));

/* spool_open_as() as a drainer named after this process; a refusal is
 * logged with the holder ("spool DIR is drained by pid N (apisonar run)
 * since T"). */
int spool_open(const char *dir, const struct spool_limits *lim, const struct spool_keys *keys,
	       struct spool **out) __attribute__((warn_unused_result));

/* Who drains dir, for a message after -EBUSY: "pid N (COMMAND) since
 * RFC3339". 0, or -ENODATA when the holder has not written its line yet,
 * or -errno when DIR/.lock cannot be read; out always holds a phrase
 * ("another process" when nothing better is known). */
int spool_drainer(const char *dir, char *out, size_t len);
void spool_close(struct spool *sp);

/* For a drainer that is done once the spool is empty (upload without
 * --follow): looks at the directory under the write lock and, if no batch
 * is there, gives up DIR/.lock and becomes an enqueuer, so that a put that
 * comes after is sure to find the drainer lock free. -EAGAIN (lock kept,
 * index re-read) when batches arrived: drain them first. */
int spool_release_if_empty(struct spool *sp) __attribute__((warn_unused_result));

/* For an enqueuer: becomes the drainer if DIR/.lock is free now (0, index
 * re-read), else -EBUSY. */
int spool_try_drain(struct spool *sp, const char *who) __attribute__((warn_unused_result));

/* Encrypts and stores one batch (gz bytes as batch_encode made them).
 * meta must carry the batch id; its counts are kept in the header. Drops
 * the oldest batches first when the limits would be passed. -E2BIG when the
 * batch alone is larger than max_bytes; -EEXIST for an id already spooled. */
int spool_put(struct spool *sp, const void *gz, size_t len, const struct batch_meta *meta)
    __attribute__((warn_unused_result));

/* The oldest readable batch, decrypted: *gz is owned by the caller. Files
 * that fail authentication or parsing on the way are quarantined. When the
 * index is empty the directory is read again, so batches other processes
 * enqueued are found. Returns 0 or -ENOENT when the spool is empty.
 * meta->sensor_* are left empty. */
int spool_peek_oldest(struct spool *sp, unsigned char **gz, size_t *len, struct batch_meta *meta)
    __attribute__((warn_unused_result));

/* Deletes a delivered batch. -ENOENT when it is not in the spool (a writer
 * may have dropped it to make room while it was being sent). */
int spool_remove(struct spool *sp, const char *batch_id) __attribute__((warn_unused_result));

/* Moves a batch to DIR/quarantine/ (it will not be sent again), logging
 * the reason, which must hold no content. */
int spool_quarantine(struct spool *sp, const char *batch_id, const char *reason)
    __attribute__((warn_unused_result));

void spool_get_stats(const struct spool *sp, struct spool_stats *out);

#endif
