// SPDX-License-Identifier: BSD-2-Clause
/*
 * The spool: one encrypted file per batch. File layout (all integers little
 * endian), the first SPOOL_AAD_LEN bytes authenticated as associated data:
 *
 *   0  magic "ASPL"        4
 *   4  format version (1)  1
 *   5  payload kind        1   enum batch_kind: 0 a catalog batch, 1 test results
 *   6  reserved (0)        2
 *   8  key id              8   first 8 bytes of SHA-256(key)
 *  16  nonce              12   fresh from RAND_bytes per file
 *  28  batch id           36   UUID text, also in the file name
 *  64  services            4
 *  68  endpoints           4
 *  72  json length         8   bytes before compression
 *  80  window start ns     8
 *  88  window end ns       8
 *  96  GCM tag            16
 * 112  ciphertext of the gzip batch
 *
 * File name: <seq as 16 hex digits>-<batch id>.batch; seq grows by one per
 * put, so name order is age order.
 *
 * Two locks, both flock(2) on files in the directory. DIR/.lock is the
 * drainer's: held exclusively for the life of the one process that reads,
 * removes and quarantines, and holding a line that says who it is. DIR/.write.lock
 * is held only for the moment of a put (and of the scan at open, which
 * removes temp files): it serializes writers, so every put sees the directory
 * as it is, numbers its file after the newest one there, and enforces the
 * bounds on the real contents. Enqueuers take only the second, so they can
 * add work while a drainer runs; the directory, not the index, is the truth,
 * and the index is re-read at each put and when a drainer finds it empty.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "apisonar/transport/spool.h"
#include "apisonar/util/util.h"

#define SPOOL_MAGIC "ASPL"
#define SPOOL_VERSION 1
#define SPOOL_NONCE_LEN 12
#define SPOOL_TAG_LEN 16
#define SPOOL_AAD_LEN 96
#define SPOOL_HDR_LEN (SPOOL_AAD_LEN + SPOOL_TAG_LEN)
#define SPOOL_NAME_LEN (16 + 1 + BATCH_ID_LEN + 6) /* seq-id.batch */
#define SPOOL_SUFFIX ".batch"
/* Largest file we read back: a batch never inflates past BATCH_MAX_DECODED
 * and gzip adds little to incompressible input. */
#define SPOOL_FILE_CAP ((size_t)BATCH_MAX_DECODED + (1u << 20) + SPOOL_HDR_LEN)
/* Most files indexed at open, whatever the limits. */
#define SPOOL_SCAN_CAP 1000000u
#define SPOOL_KEYFILE_CAP 256
#define SPOOL_LOCK_NAME ".lock"		    /* the drainer's lock */
#define SPOOL_WRITE_LOCK_NAME ".write.lock" /* held by a writer during one put */
#ifndef SPOOL_WRITE_LOCK_WAIT_MS
#define SPOOL_WRITE_LOCK_WAIT_MS 10000u /* a put waits this long for another (tests: less) */
#endif
#define SPOOL_WHO_CAP 160 /* "<pid> <time> <command>" in .lock */

struct spool_key {
	unsigned char key[SPOOL_KEY_LEN];
	unsigned char id[SPOOL_KEY_ID_LEN];
};

struct spool_keys {
	size_t n;
	struct spool_key k[SPOOL_MAX_KEYS];
};

struct spool_entry {
	uint64_t seq;
	uint64_t size; /* bytes on disk */
	char id[BATCH_ID_LEN + 1];
};

struct spool {
	char dir[PATH_MAX - 128]; /* room left for "/quarantine/<name>" */
	char qdir[PATH_MAX];
	enum spool_role role;
	int lock_fd;  /* DIR/.lock, flock'd LOCK_EX for the drainer; -1 for an enqueuer */
	int write_fd; /* DIR/.write.lock, flock'd LOCK_EX during a put */
	int draining; /* lock_fd is flock'd: ours to clear at close */
	struct spool_limits lim;
	struct spool_keys keys;
	struct spool_entry *ents; /* oldest first */
	size_t n, cap;		  /* cap grows up to SPOOL_SCAN_CAP */
	uint64_t next_seq;
	uint64_t quarantine_files;
	struct spool_stats st;
};

struct spool_keys *spool_keys_new(void)
{
	return calloc(1, sizeof(struct spool_keys));
}

void spool_keys_free(struct spool_keys *k)
{
	if (!k)
		return;
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

/* Adds raw key bytes and derives the id; the newest key writes. */
static int keys_add_raw(struct spool_keys *k, const unsigned char key[SPOOL_KEY_LEN])
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	size_t i;

	if (!k)
		return -EINVAL;
	SHA256(key, SPOOL_KEY_LEN, digest);
	for (i = 0; i < k->n; i++) {
		if (memcmp(k->k[i].id, digest, SPOOL_KEY_ID_LEN) == 0) {
			/* Same key twice: make it the writer, keep one copy. */
			struct spool_key t = k->k[i];

			memmove(&k->k[i], &k->k[i + 1], (k->n - i - 1) * sizeof(k->k[0]));
			k->k[k->n - 1] = t;
			OPENSSL_cleanse(&t, sizeof(t));
			return 0;
		}
	}
	if (k->n >= SPOOL_MAX_KEYS)
		return -ENOSPC;
	memcpy(k->k[k->n].key, key, SPOOL_KEY_LEN);
	memcpy(k->k[k->n].id, digest, SPOOL_KEY_ID_LEN);
	k->n++;
	return 0;
}

/* Decodes exactly 64 hex digits, ignoring trailing CR/LF/spaces. */
static int parse_hex_key(const char *s, size_t n, unsigned char key[SPOOL_KEY_LEN])
{
	size_t i;

	while (n > 0 &&
	       (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n != 2 * SPOOL_KEY_LEN)
		return -EINVAL;
	for (i = 0; i < SPOOL_KEY_LEN; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int spool_keys_add_hex(struct spool_keys *k, const char *hex)
{
	unsigned char key[SPOOL_KEY_LEN];
	int err;

	if (!hex)
		return -EINVAL;
	err = parse_hex_key(hex, strlen(hex), key);
	if (!err)
		err = keys_add_raw(k, key);
	OPENSSL_cleanse(key, sizeof(key));
	return err;
}

int spool_keys_add_file(struct spool_keys *k, const char *path)
{
	unsigned char key[SPOOL_KEY_LEN];
	char *buf = NULL;
	size_t len = 0;
	int err;

	err = read_file_all(path, SPOOL_KEYFILE_CAP, &buf, &len);
	if (err == -EFBIG)
		err = -EINVAL;
	if (err)
		return err;
	if (len == SPOOL_KEY_LEN) {
		memcpy(key, buf, SPOOL_KEY_LEN);
		err = 0;
	} else {
		err = parse_hex_key(buf, len, key);
	}
	if (!err)
		err = keys_add_raw(k, key);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(buf, len);
	free(buf);
	return err;
}

int spool_keys_add_env(struct spool_keys *k, const char *var)
{
	const char *v = getenv(var);

	if (!v || !*v)
		return -ENOENT;
	return spool_keys_add_hex(k, v);
}

size_t spool_keys_count(const struct spool_keys *k)
{
	return k ? k->n : 0;
}

static void hex_encode(const unsigned char *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int spool_keys_id_hex(const struct spool_keys *k, size_t i, char out[2 * SPOOL_KEY_ID_LEN + 1])
{
	if (!k || i >= k->n)
		return -EINVAL;
	hex_encode(k->k[i].id, SPOOL_KEY_ID_LEN, out);
	return 0;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int id_ok(const char *s, size_t n)
{
	size_t i;

	if (n != BATCH_ID_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (hex_value(s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F')) {
			return 0;
		}
	}
	return 1;
}

/* Parses a spool file name into seq and id; 0 when it is not one. */
static int parse_name(const char *name, uint64_t *seq, char id[BATCH_ID_LEN + 1])
{
	uint64_t v = 0;
	size_t i;

	if (strlen(name) != SPOOL_NAME_LEN || name[16] != '-' ||
	    strcmp(name + 17 + BATCH_ID_LEN, SPOOL_SUFFIX) != 0)
		return 0;
	for (i = 0; i < 16; i++) {
		int h = hex_value(name[i]);

		if (h < 0 || (name[i] >= 'A' && name[i] <= 'F'))
			return 0;
		v = v << 4 | (uint64_t)h;
	}
	if (!id_ok(name + 17, BATCH_ID_LEN))
		return 0;
	*seq = v;
	memcpy(id, name + 17, BATCH_ID_LEN);
	id[BATCH_ID_LEN] = '\0';
	return 1;
}

static int entry_path(const struct spool *sp, const char *dir, const struct spool_entry *e,
		      char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%016" PRIx64 "-%s" SPOOL_SUFFIX, dir, e->seq, e->id);

	return (n < 0 || (size_t)n >= outlen) ? -ENAMETOOLONG : 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void index_del(struct spool *sp, size_t i)
{
	sp->st.files--;
	sp->st.bytes -= sp->ents[i].size;
	memmove(&sp->ents[i], &sp->ents[i + 1], (sp->n - i - 1) * sizeof(sp->ents[0]));
	sp->n--;
}

static int index_find(const struct spool *sp, const char *id, size_t *at)
{
	size_t i;

	for (i = 0; i < sp->n; i++) {
		if (strcmp(sp->ents[i].id, id) == 0) {
			*at = i;
			return 0;
		}
	}
	return -ENOENT;
}

static int index_grow(struct spool *sp)
{
	struct spool_entry *ne;
	size_t nc;

	if (sp->n < sp->cap)
		return 0;
	if (sp->cap >= SPOOL_SCAN_CAP)
		return -EMFILE;
	nc = sp->cap ? sp->cap * 2 : 64;
	if (nc > SPOOL_SCAN_CAP)
		nc = SPOOL_SCAN_CAP;
	ne = realloc(sp->ents, nc * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	sp->ents = ne;
	sp->cap = nc;
	return 0;
}

/* Moves entry i out of the queue into quarantine/ (or deletes it once the
 * quarantine is full), so an unreadable file is never retried. */
static int quarantine_at(struct spool *sp, size_t i, const char *reason)
{
	char from[PATH_MAX], to[PATH_MAX];
	struct spool_entry e = sp->ents[i];
	int err;

	err = entry_path(sp, sp->dir, &e, from, sizeof(from));
	if (!err)
		err = entry_path(sp, sp->qdir, &e, to, sizeof(to));
	if (err)
		return err;
	index_del(sp, i);
	sp->st.quarantined++;
	if (sp->quarantine_files >= SPOOL_MAX_QUARANTINE) {
		log_error("spool: batch %s unusable (%s); quarantine full (%u files), deleted",
			  e.id, reason, SPOOL_MAX_QUARANTINE);
		if (unlink(from) < 0 && errno != ENOENT)
			return -errno;
		return fsync_dir(sp->dir);
	}
	err = mkdir_p(sp->qdir, 0700);
	if (err)
		return err;
	if (rename(from, to) < 0) {
		err = -errno;
		if (err == -ENOENT) {
			/* A writer dropped it to make room meanwhile: gone either way. */
			log_error("spool: batch %s unusable (%s); already dropped from the spool",
				  e.id, reason);
			return 0;
		}
		log_error("spool: cannot quarantine batch %s: %s", e.id, strerror(-err));
		return err;
	}
	sp->quarantine_files++;
	log_error("spool: batch %s quarantined: %s", e.id, reason);
	err = fsync_dir(sp->qdir);
	if (!err)
		err = fsync_dir(sp->dir);
	return err;
}

/* Drops the oldest batch to make room; the loss is counted and logged. */
static int drop_oldest(struct spool *sp, const char *why)
{
	char path[PATH_MAX];
	struct spool_entry e = sp->ents[0];
	int err = entry_path(sp, sp->dir, &e, path, sizeof(path));

	if (err)
		return err;
	if (unlink(path) < 0) {
		if (errno != ENOENT)
			return -errno;
		/* The drainer removed it since our scan: delivered, not lost. */
		index_del(sp, 0);
		return 0;
	}
	index_del(sp, 0);
	sp->st.dropped++;
	log_warn("spool: full (%s), dropped oldest batch %s (%" PRIu64 " dropped so far)", why,
		 e.id, sp->st.dropped);
	return 0;
}

static int enforce_limits(struct spool *sp, uint64_t add_bytes, uint32_t add_files)
{
	int err;

	while (sp->n > 0 && sp->st.files + add_files > sp->lim.max_files) {
		err = drop_oldest(sp, "file count");
		if (err)
			return err;
	}
	while (sp->n > 0 && sp->st.bytes + add_bytes > sp->lim.max_bytes) {
		err = drop_oldest(sp, "bytes");
		if (err)
			return err;
	}
	return 0;
}

static int count_quarantine(struct spool *sp)
{
	DIR *d = opendir(sp->qdir);
	struct dirent *de;

	sp->quarantine_files = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			sp->quarantine_files++;
	}
	closedir(d);
	return 0;
}

/* Fills e->size from the old index (sorted by seq) when it holds the same
 * file; 0 when e is new. */
static int known_size(const struct spool_entry *known, size_t n, struct spool_entry *e)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (known[mid].seq < e->seq) {
			lo = mid + 1;
		} else if (known[mid].seq > e->seq) {
			hi = mid;
		} else {
			if (strcmp(known[mid].id, e->id) != 0)
				return 0;
			e->size = known[mid].size;
			return 1;
		}
	}
	return 0;
}

/* (Re)builds the index from the directory, which other writers may have
 * changed. With the write lock held (remove_temps), temp files are a
 * crashed writer's (a live one would hold the lock) and are removed; they
 * were never renamed, so they were never part of the spool. */
static int scan(struct spool *sp, int remove_temps)
{
	char path[PATH_MAX];
	struct spool_entry *known = NULL;
	size_t n_known = sp->n;
	DIR *d;
	struct dirent *de;
	int err = 0, removed = 0;

	/* Files never change once renamed into place: what the index knew
	 * keeps its size, and only new names cost a stat (every put scans). */
	if (n_known > 0) {
		known = malloc(n_known * sizeof(*known));
		if (!known)
			return -ENOMEM;
		memcpy(known, sp->ents, n_known * sizeof(*known));
	}
	d = opendir(sp->dir);
	if (!d) {
		free(known);
		return -errno;
	}
	sp->n = 0;
	sp->st.files = 0;
	sp->st.bytes = 0;
	for (;;) {
		struct spool_entry e;
		struct stat stb;
		int n;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				err = -errno;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", sp->dir, de->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (strstr(de->d_name, SPOOL_SUFFIX ".tmp.")) {
			if (remove_temps && unlink(path) == 0)
				removed++;
			continue;
		}
		if (!parse_name(de->d_name, &e.seq, e.id))
			continue;
		if (!known_size(known, n_known, &e)) {
			if (stat(path, &stb) < 0 || !S_ISREG(stb.st_mode))
				continue;
			e.size = (uint64_t)stb.st_size;
		}
		err = index_grow(sp);
		if (err)
			break;
		sp->ents[sp->n++] = e;
		sp->st.files++;
		sp->st.bytes += e.size;
		if (e.seq >= sp->next_seq)
			sp->next_seq = e.seq + 1;
	}
	closedir(d);
	free(known);
	if (err)
		return err;
	if (removed)
		log_info("spool: removed %d unfinished temp file(s) left by an earlier run",
			 removed);
	if (sp->n > 1)
		qsort(sp->ents, sp->n, sizeof(sp->ents[0]), cmp_entry);
	return 0;
}

/* Takes the write lock, waiting up to SPOOL_WRITE_LOCK_WAIT_MS for a
 * writer in another process: puts are short (encrypt, write, fsync), so a
 * longer wait means that writer is stuck, and the caller is told. */
static int write_lock(struct spool *sp)
{
	unsigned waited = 0;

	for (;;) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};

		if (flock(sp->write_fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -errno;
		if (waited >= SPOOL_WRITE_LOCK_WAIT_MS) {
			log_error("spool %s: another writer has held %s for %.1f s", sp->dir,
				  SPOOL_WRITE_LOCK_NAME, SPOOL_WRITE_LOCK_WAIT_MS / 1000.0);
			return -ETIMEDOUT;
		}
		nanosleep(&ts, NULL);
		waited += 10;
	}
}

static void write_unlock(struct spool *sp)
{
	flock(sp->write_fd, LOCK_UN);
}

/* "apisonar run", "apisonar satellite", ...: the program and subcommand
 * of this process, for the drainer line when the caller names nothing. */
static void own_command(char *out, size_t len)
{
	char buf[256];
	const char *base, *sub;
	size_t n = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	snprintf(out, len, "unknown command");
	if (fd < 0)
		return;
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
		if (n == sizeof(buf) - 1)
			break;
	}
	close(fd);
	buf[n] = '\0';
	if (n == 0)
		return;
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	sub = buf + strlen(buf) + 1;
	if (sub < buf + n && *sub && *sub != '-')
		snprintf(out, len, "%.40s %.40s", base, sub);
	else
		snprintf(out, len, "%.40s", base);
}

/* Writes "<pid> <RFC 3339 time> <command>" into DIR/.lock once it is ours,
 * so a refused process can say who drains and since when. Value-free: a
 * pid, a time and the subcommand. Best effort; the lock is what counts. */
static void write_holder(struct spool *sp, const char *who)
{
	char line[SPOOL_WHO_CAP], ts[48], cmd[96];
	int n;

	if (!who || !*who) {
		own_command(cmd, sizeof(cmd));
		who = cmd;
	}
	time_format_rfc3339(now_wall_ns(), 3, ts, sizeof(ts));
	n = snprintf(line, sizeof(line), "%d %s %s\n", (int)getpid(), ts, who);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (ftruncate(sp->lock_fd, 0) < 0 || pwrite(sp->lock_fd, line, (size_t)n, 0) != n)
		log_debug("spool %s: cannot record the drainer in %s", sp->dir, SPOOL_LOCK_NAME);
}

int spool_drainer(const char *dir, char *out, size_t len)
{
	char path[PATH_MAX], buf[SPOOL_WHO_CAP], ts[64], who[SPOOL_WHO_CAP];
	ssize_t r;
	int fd, pid = 0, n;

	if (!dir || !out || len == 0)
		return -EINVAL;
	snprintf(out, len, "another process");
	n = snprintf(path, sizeof(path), "%s/%s", dir, SPOOL_LOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (r < 0)
		return -errno;
	buf[r] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	ts[0] = who[0] = '\0';
	if (sscanf(buf, "%d %63s %159[^\n]", &pid, ts, who) < 2 || pid <= 0) {
		snprintf(out, len, "another process (it has not said which yet)");
		return -ENODATA;
	}
	snprintf(out, len, "pid %d (%s) since %s", pid, who[0] ? who : "unknown command", ts);
	return 0;
}

/* Opens DIR/name (mode 0600) for an flock. */
static int open_lock_file(const struct spool *sp, const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", sp->dir, name), fd;

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int spool_open_as(const char *dir, const struct spool_limits *lim, const struct spool_keys *keys,
		  enum spool_role role, const char *who, struct spool **out)
{
	struct spool *sp;
	struct stat sb;
	int n, err, locked = 0;

	if (!dir || !keys || keys->n == 0 || !out ||
	    (role != SPOOL_ROLE_DRAIN && role != SPOOL_ROLE_ENQUEUE))
		return -EINVAL;
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->role = role;
	sp->lock_fd = -1;
	sp->write_fd = -1;
	sp->keys = *keys;
	sp->lim.max_bytes = lim && lim->max_bytes ? lim->max_bytes : SPOOL_DEFAULT_MAX_BYTES;
	sp->lim.max_files = lim && lim->max_files ? lim->max_files : SPOOL_DEFAULT_MAX_FILES;
	n = snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(sp->dir)) {
		err = -ENAMETOOLONG;
		goto cleanup;
	}
	snprintf(sp->qdir, sizeof(sp->qdir), "%s/quarantine", sp->dir);
	err = mkdir_p(sp->dir, 0700);
	if (err)
		goto cleanup;
	/* An existing directory others can read is tightened: the files are
	 * encrypted, but their names and sizes are ours alone too. */
	if (stat(sp->dir, &sb) == 0 && (sb.st_mode & 077)) {
		if (chmod(sp->dir, 0700) < 0) {
			err = -errno;
			goto cleanup;
		}
		log_info("spool: %s was accessible to others; now mode 0700", sp->dir);
	}
	if (role == SPOOL_ROLE_DRAIN) {
		sp->lock_fd = open_lock_file(sp, SPOOL_LOCK_NAME);
		if (sp->lock_fd < 0) {
			err = sp->lock_fd;
			goto cleanup;
		}
		if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) < 0) {
			err = errno == EWOULDBLOCK ? -EBUSY : -errno;
			goto cleanup;
		}
		sp->draining = 1;
		write_holder(sp, who);
	}
	sp->write_fd = open_lock_file(sp, SPOOL_WRITE_LOCK_NAME);
	if (sp->write_fd < 0) {
		err = sp->write_fd;
		goto cleanup;
	}
	err = write_lock(sp);
	if (err)
		goto cleanup;
	locked = 1;
	err = scan(sp, 1);
	if (!err)
		err = count_quarantine(sp);
	if (!err && role == SPOOL_ROLE_DRAIN)
		err = enforce_limits(sp, 0, 0);
	if (err)
		goto cleanup;
	write_unlock(sp);
	*out = sp;
	return 0;
cleanup:
	if (locked)
		write_unlock(sp);
	spool_close(sp);
	return err;
}

int spool_open(const char *dir, const struct spool_limits *lim, const struct spool_keys *keys,
	       struct spool **out)
{
	int err = spool_open_as(dir, lim, keys, SPOOL_ROLE_DRAIN, NULL, out);

	if (err == -EBUSY) {
		char who[SPOOL_WHO_CAP + 64];

		spool_drainer(dir, who, sizeof(who));
		log_error("spool %s is drained by %s", dir, who);
	}
	return err;
}

/* Gives up DIR/.lock: the line goes first, then the lock. */
static void drop_drain_lock(struct spool *sp)
{
	if (sp->lock_fd < 0)
		return;
	if (sp->draining && ftruncate(sp->lock_fd, 0) < 0)
		log_debug("spool %s: cannot clear %s", sp->dir, SPOOL_LOCK_NAME);
	close(sp->lock_fd); /* releases the flock */
	sp->lock_fd = -1;
	sp->draining = 0;
}

int spool_release_if_empty(struct spool *sp)
{
	int err;

	if (!sp)
		return -EINVAL;
	if (sp->role != SPOOL_ROLE_DRAIN)
		return -EPERM;
	/* Under the write lock no put can land between the last look and the
	 * release: a writer that comes after finds the drainer lock free. */
	err = write_lock(sp);
	if (err)
		return err;
	err = scan(sp, 1);
	if (!err && sp->n > 0)
		err = -EAGAIN;
	if (!err) {
		drop_drain_lock(sp);
		sp->role = SPOOL_ROLE_ENQUEUE;
	}
	write_unlock(sp);
	return err;
}

int spool_try_drain(struct spool *sp, const char *who)
{
	int err;

	if (!sp)
		return -EINVAL;
	if (sp->role == SPOOL_ROLE_DRAIN)
		return 0;
	sp->lock_fd = open_lock_file(sp, SPOOL_LOCK_NAME);
	if (sp->lock_fd < 0) {
		err = sp->lock_fd;
		sp->lock_fd = -1;
		return err;
	}
	if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(sp->lock_fd);
		sp->lock_fd = -1;
		return err;
	}
	sp->draining = 1;
	sp->role = SPOOL_ROLE_DRAIN;
	write_holder(sp, who);
	err = write_lock(sp);
	if (err)
		return err;
	err = scan(sp, 1);
	if (!err)
		err = count_quarantine(sp);
	write_unlock(sp);
	return err;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	/* The line goes with us (a kill -9 leaves it, which is harmless: it
	 * is read only while the lock is held). */
	drop_drain_lock(sp);
	if (sp->write_fd >= 0)
		close(sp->write_fd);
	free(sp->ents);
	OPENSSL_cleanse(&sp->keys, sizeof(sp->keys));
	free(sp);
}

/* AES-256-GCM over pt with aad; ct has room for len bytes. */
static int gcm_seal(const unsigned char *key, const unsigned char *nonce, const unsigned char *aad,
		    size_t aadlen, const unsigned char *pt, size_t len, unsigned char *ct,
		    unsigned char *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, err = -EIO;

	if (!c)
		return -ENOMEM;
	if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SPOOL_NONCE_LEN, NULL) != 1 ||
	    EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aadlen) != 1)
		goto cleanup;
	if (len > 0 && EVP_EncryptUpdate(c, ct, &outl, pt, (int)len) != 1)
		goto cleanup;
	if (EVP_EncryptFinal_ex(c, ct + outl, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SPOOL_TAG_LEN, tag) != 1)
		goto cleanup;
	err = 0;
cleanup:
	EVP_CIPHER_CTX_free(c);
	return err;
}

/* Returns 0, or -EBADMSG when authentication fails. */
static int gcm_open(const unsigned char *key, const unsigned char *nonce, const unsigned char *aad,
		    size_t aadlen, const unsigned char *ct, size_t len, const unsigned char *tag,
		    unsigned char *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl = 0, err = -EBADMSG;

	if (!c)
		return -ENOMEM;
	if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SPOOL_NONCE_LEN, NULL) != 1 ||
	    EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) != 1 ||
	    EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aadlen) != 1)
		goto cleanup;
	if (len > 0 && EVP_DecryptUpdate(c, pt, &outl, ct, (int)len) != 1)
		goto cleanup;
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SPOOL_TAG_LEN, (void *)tag) != 1 ||
	    EVP_DecryptFinal_ex(c, pt + outl, &outl) != 1)
		goto cleanup;
	err = 0;
cleanup:
	EVP_CIPHER_CTX_free(c);
	return err;
}

int spool_put(struct spool *sp, const void *gz, size_t len, const struct batch_meta *meta)
{
	char path[PATH_MAX];
	struct spool_entry e;
	const struct spool_key *key;
	unsigned char *buf;
	size_t total = SPOOL_HDR_LEN + len, at;
	int err;

	if (!sp || !gz || !meta || !id_ok(meta->id, strlen(meta->id)) || len > SPOOL_FILE_CAP ||
	    meta->kind >= BATCH_KIND__COUNT)
		return -EINVAL;
	if (total > sp->lim.max_bytes)
		return -E2BIG;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	/* Other processes may have added or removed files: look again, under
	 * the lock that keeps every other writer out until the rename. */
	err = write_lock(sp);
	if (err)
		goto cleanup_nolock;
	err = scan(sp, 1);
	if (err)
		goto cleanup;
	if (index_find(sp, meta->id, &at) == 0) {
		err = -EEXIST;
		goto cleanup;
	}
	err = enforce_limits(sp, total, 1);
	if (err)
		goto cleanup;
	err = index_grow(sp);
	if (err)
		goto cleanup;
	key = &sp->keys.k[sp->keys.n - 1];
	memset(buf, 0, SPOOL_HDR_LEN);
	memcpy(buf, SPOOL_MAGIC, 4);
	buf[4] = SPOOL_VERSION;
	buf[5] = meta->kind;
	memcpy(buf + 8, key->id, SPOOL_KEY_ID_LEN);
	if (RAND_bytes(buf + 16, SPOOL_NONCE_LEN) != 1) {
		err = -EIO;
		goto cleanup;
	}
	memcpy(buf + 28, meta->id, BATCH_ID_LEN);
	put_le(buf + 64, meta->services, 4);
	put_le(buf + 68, meta->endpoints, 4);
	put_le(buf + 72, meta->json_len, 8);
	put_le(buf + 80, meta->window_start_ns, 8);
	put_le(buf + 88, meta->window_end_ns, 8);
	err = gcm_seal(key->key, buf + 16, buf, SPOOL_AAD_LEN, gz, len, buf + SPOOL_HDR_LEN,
		       buf + SPOOL_AAD_LEN);
	if (err)
		goto cleanup;
	e.seq = sp->next_seq;
	e.size = total;
	memcpy(e.id, meta->id, BATCH_ID_LEN + 1);
	err = entry_path(sp, sp->dir, &e, path, sizeof(path));
	if (err)
		goto cleanup;
	err = write_file_atomic(path, buf, total, 0600);
	if (err)
		goto cleanup;
	sp->next_seq++;
	sp->ents[sp->n++] = e;
	sp->st.files++;
	sp->st.bytes += total;
	sp->st.put++;
cleanup:
	write_unlock(sp);
cleanup_nolock:
	free(buf);
	return err;
}

/* Reads and decrypts entry e. -EBADMSG (with *why set) when the file must
 * be quarantined; -ENOENT when it vanished; other errors are I/O. */
static int read_entry(struct spool *sp, const struct spool_entry *e, unsigned char **gz,
		      size_t *len, struct batch_meta *meta, const char **why)
{
	char path[PATH_MAX];
	const struct spool_key *key = NULL;
	unsigned char *b, *pt = NULL;
	char *raw = NULL;
	size_t n = 0, i, ctlen;
	int err;

	err = entry_path(sp, sp->dir, e, path, sizeof(path));
	if (err)
		return err;
	err = read_file_all(path, SPOOL_FILE_CAP, &raw, &n);
	if (err == -EFBIG) {
		*why = "file too large";
		return -EBADMSG;
	}
	if (err)
		return err;
	b = (unsigned char *)raw;
	err = -EBADMSG;
	if (n < SPOOL_HDR_LEN || memcmp(b, SPOOL_MAGIC, 4) != 0) {
		*why = "not a spool file";
		goto cleanup;
	}
	if (b[4] != SPOOL_VERSION) {
		*why = "unknown spool format version";
		goto cleanup;
	}
	if (b[5] >= BATCH_KIND__COUNT) {
		*why = "unknown payload kind";
		goto cleanup;
	}
	if (memcmp(b + 28, e->id, BATCH_ID_LEN) != 0) {
		*why = "batch id does not match the file name";
		goto cleanup;
	}
	for (i = 0; i < sp->keys.n; i++) {
		if (memcmp(sp->keys.k[i].id, b + 8, SPOOL_KEY_ID_LEN) == 0)
			key = &sp->keys.k[i];
	}
	if (!key) {
		*why = "written with a key that is not loaded";
		goto cleanup;
	}
	ctlen = n - SPOOL_HDR_LEN;
	pt = malloc(ctlen ? ctlen : 1);
	if (!pt) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = gcm_open(key->key, b + 16, b, SPOOL_AAD_LEN, b + SPOOL_HDR_LEN, ctlen,
		       b + SPOOL_AAD_LEN, pt);
	if (err) {
		if (err == -EBADMSG)
			*why = "authentication failed";
		goto cleanup;
	}
	memset(meta, 0, sizeof(*meta));
	memcpy(meta->id, e->id, BATCH_ID_LEN + 1);
	meta->kind = b[5];
	meta->services = (uint32_t)get_le(b + 64, 4);
	meta->endpoints = (uint32_t)get_le(b + 68, 4);
	meta->json_len = (size_t)get_le(b + 72, 8);
	meta->window_start_ns = get_le(b + 80, 8);
	meta->window_end_ns = get_le(b + 88, 8);
	*gz = pt;
	*len = ctlen;
	pt = NULL;
	err = 0;
cleanup:
	free(pt);
	free(raw);
	return err;
}

int spool_peek_oldest(struct spool *sp, unsigned char **gz, size_t *len, struct batch_meta *meta)
{
	if (!sp || !gz || !len || !meta)
		return -EINVAL;
	if (sp->role != SPOOL_ROLE_DRAIN)
		return -EPERM;
	/* Nothing known: another process may have enqueued since. Its files
	 * are numbered after anything still here, so reading the directory
	 * only when the index runs dry keeps oldest-first order. */
	if (sp->n == 0) {
		int err = scan(sp, 0);

		if (err)
			return err;
	}
	while (sp->n > 0) {
		const char *why = NULL;
		int err = read_entry(sp, &sp->ents[0], gz, len, meta, &why);

		if (err == 0)
			return 0;
		if (err == -ENOENT) {
			/* Dropped by a writer making room (it logged the drop). */
			log_info("spool: batch %s is no longer in the spool directory",
				 sp->ents[0].id);
			index_del(sp, 0);
			continue;
		}
		if (err != -EBADMSG)
			return err;
		err = quarantine_at(sp, 0, why);
		if (err)
			return err;
	}
	return -ENOENT;
}

int spool_remove(struct spool *sp, const char *batch_id)
{
	char path[PATH_MAX];
	size_t i;
	int err;

	if (!sp || !batch_id)
		return -EINVAL;
	if (sp->role != SPOOL_ROLE_DRAIN)
		return -EPERM;
	err = index_find(sp, batch_id, &i);
	if (err)
		return err;
	err = entry_path(sp, sp->dir, &sp->ents[i], path, sizeof(path));
	if (err)
		return err;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	index_del(sp, i);
	sp->st.removed++;
	return fsync_dir(sp->dir);
}

int spool_quarantine(struct spool *sp, const char *batch_id, const char *reason)
{
	size_t i;
	int err;

	if (!sp || !batch_id)
		return -EINVAL;
	if (sp->role != SPOOL_ROLE_DRAIN)
		return -EPERM;
	err = index_find(sp, batch_id, &i);
	if (err)
		return err;
	return quarantine_at(sp, i, reason ? reason : "rejected");
}

void spool_get_stats(const struct spool *sp, struct spool_stats *out)
{
	if (!sp) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = sp->st;
}
