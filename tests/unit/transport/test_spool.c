// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after stdarg.h, setjmp.h, stddef.h */

#define SPOOL_WRITE_LOCK_WAIT_MS 300u /* instead of 10 s */
#include "transport/spool.c"

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_B "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff"

struct fx {
	char dir[64];
	struct spool_keys *keys;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/apisonar-spool-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->keys = spool_keys_new();
	assert_int_equal(spool_keys_add_hex(f->keys, KEY_A), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	spool_keys_free(f->keys);
	free(f);
	return 0;
}

static void make_meta(struct batch_meta *m, int i)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "00000000-0000-4000-8000-%012d", i);
	m->services = 1;
	m->endpoints = (uint32_t)i;
	m->json_len = 100;
	m->window_start_ns = 1000;
	m->window_end_ns = 2000;
}

static void put_n(struct spool *sp, int from, int to)
{
	char body[64];
	struct batch_meta m;
	int i;

	for (i = from; i < to; i++) {
		int n = snprintf(body, sizeof(body), "payload-%d", i);

		make_meta(&m, i);
		assert_int_equal(spool_put(sp, body, (size_t)n, &m), 0);
	}
}

/* Peeks the oldest, checks it is batch i, removes it. */
static void expect_next(struct spool *sp, int i)
{
	unsigned char *gz = NULL;
	struct batch_meta m, want;
	char body[64];
	size_t len = 0;
	int n = snprintf(body, sizeof(body), "payload-%d", i);

	make_meta(&want, i);
	assert_int_equal(spool_peek_oldest(sp, &gz, &len, &m), 0);
	assert_string_equal(m.id, want.id);
	assert_int_equal(m.endpoints, (uint32_t)i);
	assert_int_equal(m.window_end_ns, 2000);
	assert_int_equal(len, (size_t)n);
	assert_memory_equal(gz, body, len);
	free(gz);
	assert_int_equal(spool_remove(sp, m.id), 0);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".batch") != NULL;
	closedir(d);
	return n;
}

static void test_put_peek_remove_order(void **state)
{
	struct fx *f = *state;
	struct spool *sp = NULL;
	struct spool_stats st;
	unsigned char *gz;
	struct batch_meta m;
	size_t len;
	struct stat sb;

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	put_n(sp, 1, 6);
	make_meta(&m, 3);
	assert_int_equal(spool_put(sp, "x", 1, &m), -EEXIST);
	spool_close(sp);

	/* Reopen: order survives, from the names alone. */
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.files, 5);
	assert_int_equal(st.bytes, 5 * SPOOL_HDR_LEN + 5 * 9);
	expect_next(sp, 1);
	expect_next(sp, 2);
	put_n(sp, 10, 11);
	expect_next(sp, 3);
	expect_next(sp, 4);
	expect_next(sp, 5);
	expect_next(sp, 10);
	assert_int_equal(spool_peek_oldest(sp, &gz, &len, &m), -ENOENT);
	assert_int_equal(spool_remove(sp, "00000000-0000-4000-8000-000000000001"), -ENOENT);
	spool_get_stats(sp, &st);
	assert_int_equal(st.removed, 6);
	assert_int_equal(st.files, 0);
	assert_int_equal(count_files(f->dir), 0);
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	spool_close(sp);
}

static void test_file_mode_and_no_plaintext(void **state)
{
	struct fx *f = *state;
	struct spool *sp = NULL;
	char path[PATH_MAX], *raw;
	size_t n;
	struct stat sb;

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	put_n(sp, 7, 8);
	snprintf(path, sizeof(path), "%s/%016x-00000000-0000-4000-8000-000000000007.batch", f->dir,
		 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(read_file_all(path, 4096, &raw, &n), 0);
	assert_int_equal(n, SPOOL_HDR_LEN + 9);
	assert_null(memmem(raw, n, "payload", 7));
	free(raw);
	spool_close(sp);
}

static void test_lock_is_exclusive(void **state)
{
	struct fx *f = *state;
	struct spool *a = NULL, *b = NULL;

	struct stat sb;

	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &a), 0);
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &b), -EBUSY);
	assert_null(b);
	spool_close(a);
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &b), 0);
	spool_close(b);
}

/* The drainer's lock says who holds it, and since when; it is cleared
 * when the drainer closes. */
static void test_lock_names_the_drainer(void **state)
{
	struct fx *f = *state;
	struct spool *a = NULL, *b = NULL;
	char who[256], want[64];

	assert_int_equal(spool_open_as(f->dir, NULL, f->keys, SPOOL_ROLE_DRAIN,
				       "apisonar upload --follow", &a),
			 0);
	assert_int_equal(spool_open_as(f->dir, NULL, f->keys, SPOOL_ROLE_DRAIN, "other", &b),
			 -EBUSY);
	assert_null(b);
	assert_int_equal(spool_drainer(f->dir, who, sizeof(who)), 0);
	snprintf(want, sizeof(want), "pid %d (apisonar upload --follow) since 20", (int)getpid());
	assert_memory_equal(who, want, strlen(want));
	assert_non_null(strchr(who, 'Z')); /* an RFC 3339 UTC time */
	/* The refused open did not clobber the holder's line. */
	assert_int_equal(spool_drainer(f->dir, who, sizeof(who)), 0);
	assert_memory_equal(who, want, strlen(want));
	spool_close(a);
	assert_int_equal(spool_drainer(f->dir, who, sizeof(who)), -ENODATA);
	/* Without a name, the program and subcommand of this process. */
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &a), 0);
	assert_int_equal(spool_drainer(f->dir, who, sizeof(who)), 0);
	assert_non_null(strstr(who, "test_spool"));
	spool_close(a);
}

/* An enqueuer opens beside a drainer, is never refused, and what it puts
 * is found by the drainer, in order, between its own puts. */
static void test_enqueuer_beside_drainer(void **state)
{
	struct fx *f = *state;
	struct spool *d = NULL, *e = NULL, *e2 = NULL;
	struct spool_stats st;
	unsigned char *gz;
	struct batch_meta m;
	size_t len;

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &d), 0);
	assert_int_equal(spool_open_as(f->dir, NULL, f->keys, SPOOL_ROLE_ENQUEUE, NULL, &e), 0);
	assert_int_equal(spool_open_as(f->dir, NULL, f->keys, SPOOL_ROLE_ENQUEUE, NULL, &e2), 0);
	/* The drainer is idle with an empty index when the enqueuer writes. */
	assert_int_equal(spool_peek_oldest(d, &gz, &len, &m), -ENOENT);
	put_n(e, 1, 2);
	put_n(d, 2, 3);
	put_n(e2, 3, 4);
	put_n(e, 4, 5);
	put_n(d, 5, 6);
	make_meta(&m, 3);
	assert_int_equal(spool_put(e, "x", 1, &m), -EEXIST); /* spooled by e2 */
	/* An enqueuer does not deliver. */
	assert_int_equal(spool_peek_oldest(e, &gz, &len, &m), -EPERM);
	assert_int_equal(spool_remove(e, m.id), -EPERM);
	assert_int_equal(spool_quarantine(e, m.id, "no"), -EPERM);
	expect_next(d, 1);
	expect_next(d, 2);
	expect_next(d, 3);
	expect_next(d, 4);
	expect_next(d, 5);
	assert_int_equal(spool_peek_oldest(d, &gz, &len, &m), -ENOENT);
	spool_get_stats(d, &st);
	assert_int_equal(st.files, 0);
	assert_int_equal(st.removed, 5);
	assert_int_equal(count_files(f->dir), 0);
	spool_close(e2);
	spool_close(e);
	spool_close(d);
}

/* A drainer that is done lets go only when nothing arrived since its last
 * look; an enqueuer that put a batch meanwhile can then take over. */
static void test_release_if_empty_and_take_over(void **state)
{
	struct fx *f = *state;
	struct spool *d = NULL, *e = NULL, *d2 = NULL;
	unsigned char *gz;
	struct batch_meta m;
	size_t len;
	char who[256];

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &d), 0);
	assert_int_equal(spool_open_as(f->dir, NULL, f->keys, SPOOL_ROLE_ENQUEUE, "e", &e), 0);
	assert_int_equal(spool_try_drain(e, "e"), -EBUSY);
	assert_int_equal(spool_peek_oldest(d, &gz, &len, &m), -ENOENT);
	put_n(e, 1, 2); /* after the drainer's last peek */
	assert_int_equal(spool_release_if_empty(d), -EAGAIN);
	expect_next(d, 1);
	assert_int_equal(spool_release_if_empty(d), 0);
	assert_int_equal(spool_peek_oldest(d, &gz, &len, &m), -EPERM); /* an enqueuer now */
	assert_int_equal(spool_drainer(f->dir, who, sizeof(who)), -ENODATA);
	/* The lock is free for anyone: the enqueuer takes it and sees its put. */
	put_n(e, 2, 3);
	assert_int_equal(spool_try_drain(e, "apisonar upload"), 0);
	assert_int_equal(spool_try_drain(e, "apisonar upload"), 0); /* already */
	assert_int_equal(spool_drainer(f->dir, who, sizeof(who)), 0);
	assert_non_null(strstr(who, "(apisonar upload)"));
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &d2), -EBUSY);
	expect_next(e, 2);
	spool_close(e);
	spool_close(d);
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &d2), 0);
	spool_close(d2);
}

/* An enqueuer enforces the bounds on what is really there, and a batch it
 * drops while the drainer holds it in its index is skipped, not an error. */
static void test_enqueuer_drops_under_drainer(void **state)
{
	struct fx *f = *state;
	struct spool_limits lim = {.max_files = 2};
	struct spool *d = NULL, *e = NULL;
	struct spool_stats st;
	unsigned char *gz = NULL;
	struct batch_meta m;
	size_t len;

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &d), 0);
	put_n(d, 1, 3);
	assert_int_equal(spool_open_as(f->dir, &lim, f->keys, SPOOL_ROLE_ENQUEUE, NULL, &e), 0);
	/* The drainer is sending batch 1 when the enqueuer makes room. */
	assert_int_equal(spool_peek_oldest(d, &gz, &len, &m), 0);
	free(gz);
	put_n(e, 3, 4);
	spool_get_stats(e, &st);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(count_files(f->dir), 2);
	assert_int_equal(spool_remove(d, m.id), 0); /* already gone: fine */
	expect_next(d, 2);
	expect_next(d, 3);
	spool_close(e);
	spool_close(d);
}

/* A temp file is a live writer's unless the write lock is ours: the
 * drainer's look at the directory when idle leaves it alone. */
static void test_idle_scan_keeps_temp_files(void **state)
{
	struct fx *f = *state;
	struct spool *d = NULL;
	char path[PATH_MAX];
	unsigned char *gz;
	struct batch_meta m;
	size_t len;
	FILE *fp;

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &d), 0);
	snprintf(path, sizeof(path),
		 "%s/%016x-00000000-0000-4000-8000-000000000009.batch.tmp.4242", f->dir, 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(spool_peek_oldest(d, &gz, &len, &m), -ENOENT);
	assert_int_equal(access(path, F_OK), 0);
	/* A put holds the write lock: no other writer is mid-write. */
	put_n(d, 1, 2);
	assert_int_equal(access(path, F_OK), -1);
	spool_close(d);
}

/* A put waits for another writer's lock, and gives up after a while. */
static void test_put_waits_for_write_lock(void **state)
{
	struct fx *f = *state;
	struct spool *d = NULL;
	struct batch_meta m;
	char path[PATH_MAX];
	uint64_t t0;
	int fd;

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &d), 0);
	snprintf(path, sizeof(path), "%s/" SPOOL_WRITE_LOCK_NAME, f->dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	make_meta(&m, 1);
	t0 = now_mono_ns();
	assert_int_equal(spool_put(d, "x", 1, &m), -ETIMEDOUT);
	assert_true(now_mono_ns() - t0 >= (uint64_t)SPOOL_WRITE_LOCK_WAIT_MS * 1000000u);
	close(fd);
	assert_int_equal(spool_put(d, "x", 1, &m), 0);
	spool_close(d);
}

static void test_full_drops_oldest(void **state)
{
	struct fx *f = *state;
	struct spool_limits lim = {.max_files = 3};
	struct spool *sp = NULL;
	struct spool_stats st;
	struct batch_meta m;
	char big[600];

	assert_int_equal(spool_open(f->dir, &lim, f->keys, &sp), 0);
	put_n(sp, 1, 6);
	spool_get_stats(sp, &st);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(count_files(f->dir), 3);
	expect_next(sp, 3);
	spool_close(sp);

	/* By bytes: files are SPOOL_HDR_LEN + 9 or 10 ("payload-20"). */
	lim.max_files = 0;
	lim.max_bytes = 3 * (SPOOL_HDR_LEN + 10);
	assert_int_equal(spool_open(f->dir, &lim, f->keys, &sp), 0);
	put_n(sp, 20, 22);
	spool_get_stats(sp, &st);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.dropped, 1);
	expect_next(sp, 5);
	expect_next(sp, 20);
	memset(big, 'x', sizeof(big));
	make_meta(&m, 99);
	assert_int_equal(spool_put(sp, big, sizeof(big), &m), -E2BIG);
	spool_close(sp);

	/* Lower limits at open trim at once. */
	lim.max_bytes = 0;
	lim.max_files = 1;
	assert_int_equal(spool_open(f->dir, &lim, f->keys, &sp), 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.dropped, 0);
	expect_next(sp, 21);
	spool_close(sp);
}

static void flip_byte(const char *dir, int seq, int id, long off)
{
	char path[PATH_MAX];
	FILE *fp;
	int c;

	snprintf(path, sizeof(path), "%s/%016x-00000000-0000-4000-8000-%012d.batch", dir, seq, id);
	fp = fopen(path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	c = fgetc(fp);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	fputc(c ^ 0x01, fp);
	fclose(fp);
}

static void test_flipped_byte_quarantined(void **state)
{
	struct fx *f = *state;
	struct spool *sp = NULL;
	struct spool_stats st;
	char q[PATH_MAX];

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	put_n(sp, 1, 5);
	flip_byte(f->dir, 0, 1, SPOOL_HDR_LEN + 3); /* ciphertext */
	flip_byte(f->dir, 1, 2, 70);		    /* header (AAD): endpoint count */
	flip_byte(f->dir, 2, 3, SPOOL_AAD_LEN + 1); /* tag */
	expect_next(sp, 4);
	spool_get_stats(sp, &st);
	assert_int_equal(st.quarantined, 3);
	assert_int_equal(st.files, 0);
	snprintf(q, sizeof(q), "%s/quarantine", f->dir);
	assert_int_equal(count_files(q), 3);
	spool_close(sp);
}

/* The payload kind travels in the authenticated header: test results come
 * back out as test results, a batch as a batch, an unknown kind is refused
 * and a changed one fails authentication. */
static void test_payload_kind(void **state)
{
	struct fx *f = *state;
	struct spool *sp = NULL;
	struct spool_stats st;
	struct batch_meta m;
	unsigned char *gz = NULL;
	size_t len = 0;

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	make_meta(&m, 1);
	m.kind = BATCH_KIND_TEST_RESULTS;
	assert_int_equal(spool_put(sp, "results", 7, &m), 0);
	put_n(sp, 2, 4);
	make_meta(&m, 9);
	m.kind = BATCH_KIND__COUNT;
	assert_int_equal(spool_put(sp, "x", 1, &m), -EINVAL);
	spool_close(sp);

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	memset(&m, 0xff, sizeof(m));
	assert_int_equal(spool_peek_oldest(sp, &gz, &len, &m), 0);
	assert_int_equal(m.kind, BATCH_KIND_TEST_RESULTS);
	assert_int_equal(len, 7);
	assert_memory_equal(gz, "results", 7);
	free(gz);
	assert_int_equal(spool_remove(sp, m.id), 0);
	assert_int_equal(spool_peek_oldest(sp, &gz, &len, &m), 0);
	assert_int_equal(m.kind, BATCH_KIND_METADATA);
	free(gz);
	flip_byte(f->dir, 2, 3, 5); /* the kind of the last batch */
	expect_next(sp, 2);
	assert_int_equal(spool_peek_oldest(sp, &gz, &len, &m), -ENOENT);
	spool_get_stats(sp, &st);
	assert_int_equal(st.quarantined, 1);
	spool_close(sp);
}

static void test_key_rotation(void **state)
{
	struct fx *f = *state;
	struct spool_keys *onlyb = spool_keys_new();
	struct spool *sp = NULL;
	struct spool_stats st;
	char ida[17], idb[17];

	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	put_n(sp, 1, 3); /* written with A */
	spool_close(sp);

	assert_int_equal(spool_keys_add_hex(f->keys, KEY_B), 0); /* B is the writer now */
	assert_int_equal(spool_keys_count(f->keys), 2);
	assert_int_equal(spool_keys_id_hex(f->keys, 0, ida), 0);
	assert_int_equal(spool_keys_id_hex(f->keys, 1, idb), 0);
	assert_string_not_equal(ida, idb);
	assert_int_equal(strlen(ida), 16);
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	put_n(sp, 3, 4); /* written with B */
	expect_next(sp, 1);
	spool_close(sp);

	/* Only B loaded: the file written with A is quarantined, B's reads. */
	assert_int_equal(spool_keys_add_hex(onlyb, KEY_B), 0);
	assert_int_equal(spool_open(f->dir, NULL, onlyb, &sp), 0);
	expect_next(sp, 3);
	spool_get_stats(sp, &st);
	assert_int_equal(st.quarantined, 1);
	spool_close(sp);
	spool_keys_free(onlyb);
}

static void test_keys_parse(void **state)
{
	struct fx *f = *state;
	struct spool_keys *k = spool_keys_new();
	char path[PATH_MAX];
	unsigned char raw[32];
	FILE *fp;

	(void)f;
	assert_int_equal(spool_keys_add_hex(k, "abcd"), -EINVAL);
	assert_int_equal(spool_keys_add_hex(k, KEY_A "00"), -EINVAL);
	assert_int_equal(spool_keys_add_hex(
			     k, "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
			 -EINVAL);
	assert_int_equal(spool_keys_add_hex(k, KEY_A "\n"), 0);
	assert_int_equal(spool_keys_add_hex(k, KEY_A), 0); /* same key: still one */
	assert_int_equal(spool_keys_count(k), 1);

	snprintf(path, sizeof(path), "%s/key.hex", f->dir);
	fp = fopen(path, "w");
	fprintf(fp, "%s\n", KEY_B);
	fclose(fp);
	assert_int_equal(spool_keys_add_file(k, path), 0);
	snprintf(path, sizeof(path), "%s/key.raw", f->dir);
	memset(raw, '\n', sizeof(raw)); /* raw bytes may be anything */
	fp = fopen(path, "w");
	fwrite(raw, 1, sizeof(raw), fp);
	fclose(fp);
	assert_int_equal(spool_keys_add_file(k, path), 0);
	assert_int_equal(spool_keys_count(k), 3);
	snprintf(path, sizeof(path), "%s/key.short", f->dir);
	fp = fopen(path, "w");
	fprintf(fp, "short\n");
	fclose(fp);
	assert_int_equal(spool_keys_add_file(k, path), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(spool_keys_add_file(k, path), -ENOENT);
	unsetenv("APISONAR_TEST_KEY");
	assert_int_equal(spool_keys_add_env(k, "APISONAR_TEST_KEY"), -ENOENT);
	setenv("APISONAR_TEST_KEY", KEY_A, 1);
	assert_int_equal(spool_keys_add_env(k, "APISONAR_TEST_KEY"), 0);
	assert_int_equal(spool_keys_count(k), 3);
	spool_keys_free(k);
}

static void test_stale_temp_and_foreign_files(void **state)
{
	struct fx *f = *state;
	struct spool *sp = NULL;
	struct spool_stats st;
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path),
		 "%s/0000000000000005-00000000-0000-4000-8000-000000000005.batch.tmp.123", f->dir);
	fp = fopen(path, "w");
	fputs("half", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/README", f->dir);
	fp = fopen(path, "w");
	fputs("not ours", fp);
	fclose(fp);
	assert_int_equal(spool_open(f->dir, NULL, f->keys, &sp), 0);
	spool_get_stats(sp, &st);
	assert_int_equal(st.files, 0);
	assert_int_equal(count_files(f->dir), 0);
	assert_int_equal(access(path, F_OK), 0);
	spool_close(sp);
}

static void test_open_without_key(void **state)
{
	struct fx *f = *state;
	struct spool_keys *k = spool_keys_new();
	struct spool *sp = NULL;

	assert_int_equal(spool_open(f->dir, NULL, k, &sp), -EINVAL);
	assert_null(sp);
	spool_keys_free(k);
	spool_close(NULL);
	spool_keys_free(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_put_peek_remove_order),
	    T(test_file_mode_and_no_plaintext),
	    T(test_lock_is_exclusive),
	    T(test_lock_names_the_drainer),
	    T(test_enqueuer_beside_drainer),
	    T(test_enqueuer_drops_under_drainer),
	    T(test_release_if_empty_and_take_over),
	    T(test_idle_scan_keeps_temp_files),
	    T(test_put_waits_for_write_lock),
	    T(test_full_drops_oldest),
	    T(test_flipped_byte_quarantined),
	    T(test_payload_kind),
	    T(test_key_rotation),
	    T(test_keys_parse),
	    T(test_stale_temp_and_foreign_files),
	    T(test_open_without_key),
	};

	log_setup(LOG_ERROR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
