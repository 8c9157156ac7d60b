// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h> /* after stdarg.h, setjmp.h, stddef.h */

#include "transport/uploader.c"

#define PIN "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static void test_retry_after_seconds(void **state)
{
	uint64_t s = 99;

	(void)state;
	assert_int_equal(uploader_parse_retry_after("0", 1000, &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(uploader_parse_retry_after("120", 1000, &s), 0);
	assert_int_equal(s, 120);
	assert_int_equal(uploader_parse_retry_after(" 7\r\n", 1000, &s), 0);
	assert_int_equal(s, 7);
	assert_int_equal(uploader_parse_retry_after("86400", 1000, &s), 0);
	assert_int_equal(s, UPLOADER_RETRY_AFTER_MAX_S);
	assert_int_equal(uploader_parse_retry_after("99999999999999999999999", 1000, &s), 0);
	assert_int_equal(s, UPLOADER_RETRY_AFTER_MAX_S);
	assert_int_equal(uploader_parse_retry_after("-5", 1000, &s), -EINVAL);
	assert_int_equal(uploader_parse_retry_after("1.5", 1000, &s), -EINVAL);
	assert_int_equal(uploader_parse_retry_after("", 1000, &s), -EINVAL);
	assert_int_equal(uploader_parse_retry_after("soon", 1000, &s), -EINVAL);
	assert_int_equal(uploader_parse_retry_after(NULL, 1000, &s), -EINVAL);
}

static void test_retry_after_dates(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	const time_t t0 = 784111777;
	uint64_t s = 99;

	(void)state;
	assert_int_equal(uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t0 - 30, &s),
			 0);
	assert_int_equal(s, 30);
	assert_int_equal(uploader_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t0 - 5, &s),
			 0);
	assert_int_equal(s, 5);
	assert_int_equal(uploader_parse_retry_after("Sun Nov  6 08:49:37 1994", t0 - 1, &s), 0);
	assert_int_equal(s, 1);
	/* In the past: retry now. */
	assert_int_equal(uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t0 + 100, &s),
			 0);
	assert_int_equal(s, 0);
	/* Far future: capped. */
	assert_int_equal(
	    uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t0 - 100000, &s), 0);
	assert_int_equal(s, UPLOADER_RETRY_AFTER_MAX_S);
	assert_int_equal(uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 CET", t0, &s),
			 -EINVAL);
	assert_int_equal(uploader_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT x", t0, &s),
			 -EINVAL);
}

static void test_backoff_full_jitter(void **state)
{
	(void)state;
	/* The ceiling doubles from base and stops at cap. */
	assert_int_equal(uploader_backoff_ms(0, 1000, 300000, UINT64_MAX), UINT64_MAX % 1001);
	assert_int_equal(uploader_backoff_ms(0, 1000, 300000, 1000), 1000);
	assert_int_equal(uploader_backoff_ms(0, 1000, 300000, 1001), 0);
	assert_int_equal(uploader_backoff_ms(1, 1000, 300000, 2000), 2000);
	assert_int_equal(uploader_backoff_ms(3, 1000, 300000, 8000), 8000);
	assert_int_equal(uploader_backoff_ms(3, 1000, 300000, 8001), 0);
	assert_int_equal(uploader_backoff_ms(8, 1000, 300000, 256000), 256000);
	assert_int_equal(uploader_backoff_ms(9, 1000, 300000, 300000), 300000);
	assert_int_equal(uploader_backoff_ms(9, 1000, 300000, 300001), 0);
	assert_int_equal(uploader_backoff_ms(62, 1000, 300000, 300000), 300000);
	assert_int_equal(uploader_backoff_ms(63, 1000, 300000, 300000), 300000);
	assert_int_equal(uploader_backoff_ms(1000, 1000, 300000, 299999), 299999);
	assert_int_equal(uploader_backoff_ms(5, 0, 300000, 12345), 0);
}

static void test_backoff_spread(void **state)
{
	uint64_t min = UINT64_MAX, max = 0, r = 88172645463325252ull;
	int i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		uint64_t d;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		d = uploader_backoff_ms(4, 100, 60000, r);
		assert_true(d <= 1600);
		if (d < min)
			min = d;
		if (d > max)
			max = d;
	}
	assert_true(min < 50);
	assert_true(max > 1550);
}

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(uploader_classify(200), UPLOAD_DELIVERED);
	assert_int_equal(uploader_classify(201), UPLOAD_DELIVERED);
	assert_int_equal(uploader_classify(204), UPLOAD_DELIVERED);
	assert_int_equal(uploader_classify(0), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(408), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(429), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(401), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(403), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(500), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(503), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(302), UPLOAD_RETRY);
	assert_int_equal(uploader_classify(400), UPLOAD_REJECTED);
	assert_int_equal(uploader_classify(413), UPLOAD_REJECTED);
	assert_int_equal(uploader_classify(422), UPLOAD_REJECTED);
}

static void test_opts(void **state)
{
	struct uploader_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(uploader_opt_parse(&o, 'x', "1"), 1);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, PIN), 0);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, "sha256//" PIN), 0);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, "short="), -EINVAL);
	assert_int_equal(o.n_pins, 2);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_RATE, "10"), -EINVAL);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_RATE, "65536"), 0);
	assert_int_equal(o.max_rate, 65536);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_SPOOL_FILES, "0"), -EINVAL);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_SPOOL_FILES, "50"), 0);
	assert_int_equal(o.spool_limits.max_files, 50);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_MAX_SPOOL_BYTES, "1M"), -EINVAL);

	assert_int_equal(uploader_opts_check(&o), -EINVAL); /* no endpoint */
	o.endpoint = "http://example.com";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "ftp://example.com";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "https://user:pw@example.com";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "https://example.com/?a=b";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "https://";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.endpoint = "HTTPS://example.com:8443/ingest/";
	assert_int_equal(uploader_opts_check(&o), 0);
	o.client_key = "k.pem";
	assert_int_equal(uploader_opts_check(&o), -EINVAL);
	o.client_cert = "c.pem";
	assert_int_equal(uploader_opts_check(&o), 0);
}

static void test_new_builds_url_and_pins(void **state)
{
	struct uploader_opts o;
	struct uploader *u;
	int err = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.endpoint = "https://127.0.0.1:8443/ingest//";
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, PIN), 0);
	assert_int_equal(uploader_opt_parse(&o, UPLOADER_OPT_PIN_SHA256, PIN), 0);
	u = uploader_new(&o, &err);
	assert_non_null(u);
	assert_string_equal(u->url, "https://127.0.0.1:8443/ingest/v1/batches");
	assert_string_equal(u->pins, "sha256//" PIN ";sha256//" PIN);
	uploader_free(u);
	uploader_free(NULL);
}

static void test_token_file_errors(void **state)
{
	char dir[] = "/tmp/apisonar-up-XXXXXX", path[128], *tok = NULL;
	struct uploader_opts o;
	FILE *fp;
	int err = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memset(&o, 0, sizeof(o));
	o.endpoint = "https://127.0.0.1:1";
	snprintf(path, sizeof(path), "%s/missing", dir);
	o.token_file = path;
	assert_null(uploader_new(&o, &err));
	assert_int_equal(err, -ENOENT);

	snprintf(path, sizeof(path), "%s/tok", dir);
	fp = fopen(path, "w");
	fputs("s3cr3t-t0ken\n", fp);
	fclose(fp);
	assert_int_equal(read_token(path, &tok), 0);
	assert_string_equal(tok, "s3cr3t-t0ken");
	free(tok);

	fp = fopen(path, "w");
	fputs("two words\n", fp);
	fclose(fp);
	assert_int_equal(read_token(path, &tok), -EINVAL);
	fp = fopen(path, "w");
	fputs("\n", fp);
	fclose(fp);
	assert_int_equal(read_token(path, &tok), -EINVAL);
	unlink(path);
	rmdir(dir);
}

/* ---- the audit log ---- */

struct afx {
	char dir[64];
	char log[96];
	char spool[96];
};

static int audit_setup(void **state)
{
	struct afx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/apisonar-audit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->log, sizeof(f->log), "%s/audit.jsonl", f->dir);
	snprintf(f->spool, sizeof(f->spool), "%s/spool", f->dir);
	*state = f;
	return 0;
}

static int audit_teardown(void **state)
{
	struct afx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The lines of the audit log, parsed; n set to their count. */
static cJSON **audit_lines(const char *path, int *n)
{
	static cJSON *lines[16];
	char *text = NULL, *p, *nl;
	size_t len = 0;

	*n = 0;
	if (read_file_all(path, 1 << 20, &text, &len) != 0)
		return lines;
	for (p = text; *p && *n < 16; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl); /* every line is whole */
		*nl = '\0';
		lines[*n] = cJSON_Parse(p);
		assert_non_null(lines[*n]);
		(*n)++;
	}
	free(text);
	return lines;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void meta_of(struct batch_meta *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "0b9e2a4c-1f3d-4e5a-9b7c-6d8e0f1a2b3c");
	m->services = 2;
	m->endpoints = 14;
	m->json_len = 9120;
}

/* An attempt line before the request, a result line after, paired by
 * attempt_id; value-free (the body never appears, only its digest). */
static void test_audit_attempt_then_result(void **state)
{
	static const char body[] = "BODY-CONTENT-NEVER-LOGGED";
	struct afx *f = *state;
	struct uploader_opts o;
	struct upload_result r;
	struct batch_meta m;
	struct uploader *u;
	cJSON **l;
	char *text = NULL;
	size_t len;
	int n, err = 0;

	memset(&o, 0, sizeof(o));
	o.endpoint = "https://127.0.0.1:1"; /* nothing listens: connect fails at once */
	o.audit_log = f->log;
	u = uploader_new(&o, &err);
	assert_non_null(u);
	meta_of(&m);
	assert_int_equal(uploader_send(u, body, sizeof(body) - 1, &m, &r), 0);
	assert_int_equal(r.verdict, UPLOAD_RETRY);
	assert_int_equal(uploader_send(u, body, sizeof(body) - 1, &m, &r), 0);
	uploader_free(u);

	l = audit_lines(f->log, &n);
	assert_int_equal(n, 4);
	assert_string_equal(jstr(l[0], "event"), "attempt");
	assert_null(cJSON_GetObjectItem(l[0], "result"));
	assert_string_equal(jstr(l[1], "event"), "result");
	assert_string_equal(jstr(l[1], "result"), "retry");
	assert_string_equal(jstr(l[1], "kind"), "connect");
	assert_string_equal(jstr(l[0], "attempt_id"), jstr(l[1], "attempt_id"));
	assert_string_not_equal(jstr(l[0], "attempt_id"), jstr(l[2], "attempt_id"));
	assert_int_equal(strlen(jstr(l[0], "attempt_id")), 16);
	assert_string_equal(jstr(l[0], "batch_id"), m.id);
	assert_string_equal(jstr(l[0], "endpoint"), "https://127.0.0.1:1/v1/batches");
	assert_string_equal(jstr(l[0], "sha256"), jstr(l[1], "sha256"));
	assert_int_equal(strlen(jstr(l[0], "sha256")), 64);
	assert_int_equal(cJSON_GetObjectItem(l[0], "endpoints")->valueint, 14);
	assert_int_equal(cJSON_GetObjectItem(l[0], "bytes")->valueint, (int)sizeof(body) - 1);
	assert_non_null(cJSON_GetObjectItem(l[1], "duration_ms"));
	for (int i = 0; i < n; i++)
		cJSON_Delete(l[i]);
	assert_int_equal(read_file_all(f->log, 1 << 20, &text, &len), 0);
	assert_null(strstr(text, "BODY-CONTENT"));
	free(text);
}

/* Test results (their kind in the spool record) go to /v1/test-results,
 * and the audit log says what they were; batches stay on /v1/batches. */
static void test_results_kind_path(void **state)
{
	struct afx *f = *state;
	struct uploader_opts o;
	struct upload_result r;
	struct batch_meta m;
	struct uploader *u;
	cJSON **l;
	int n, i, err = 0;

	memset(&o, 0, sizeof(o));
	o.endpoint = "https://127.0.0.1:1/prefix/";
	o.audit_log = f->log;
	u = uploader_new(&o, &err);
	assert_non_null(u);
	meta_of(&m);
	m.kind = BATCH_KIND_TEST_RESULTS;
	assert_int_equal(uploader_send(u, "x", 1, &m, &r), 0);
	m.kind = BATCH_KIND_METADATA;
	assert_int_equal(uploader_send(u, "x", 1, &m, &r), 0);
	uploader_free(u);

	l = audit_lines(f->log, &n);
	assert_int_equal(n, 4);
	assert_string_equal(jstr(l[0], "endpoint"), "https://127.0.0.1:1/prefix/v1/test-results");
	assert_string_equal(jstr(l[1], "kind_of_batch"), "test_results");
	assert_int_equal(strlen(jstr(l[1], "sha256")), 64);
	assert_string_equal(jstr(l[2], "endpoint"), "https://127.0.0.1:1/prefix/v1/batches");
	assert_null(cJSON_GetObjectItem(l[3], "kind_of_batch"));
	for (i = 0; i < n; i++)
		cJSON_Delete(l[i]);
}

/* When the attempt cannot be recorded, it is not made. */
static void test_audit_unwritable_blocks_send(void **state)
{
	struct uploader_opts o;
	struct upload_result r;
	struct uploader_stats st;
	struct batch_meta m;
	struct uploader *u;
	int err = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.endpoint = "https://127.0.0.1:1";
	o.audit_log = "/dev/full"; /* opens, every write fails with ENOSPC */
	u = uploader_new(&o, &err);
	assert_non_null(u);
	meta_of(&m);
	assert_int_equal(uploader_send(u, "x", 1, &m, &r), -ENOSPC);
	assert_int_equal(r.verdict, UPLOAD_RETRY);
	uploader_get_stats(u, &st);
	assert_int_equal(st.retries + st.delivered + st.rejected, 0); /* never sent */
	uploader_free(u);
}

/* kill -9 while the request is in flight (the server never answers): the
 * attempt is on record, without a result. */
static void test_audit_attempt_survives_kill(void **state)
{
	struct afx *f = *state;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	char url[64];
	cJSON **l;
	pid_t pid;
	int s, n = 0, i, st;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 4), 0); /* connects complete; nobody answers */
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", ntohs(a.sin_port));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct uploader_opts o;
		struct upload_result r;
		struct batch_meta m;
		struct uploader *u;
		int err = 0;

		memset(&o, 0, sizeof(o));
		o.endpoint = url;
		o.audit_log = f->log;
		o.timeout_s = 30;
		u = uploader_new(&o, &err);
		meta_of(&m);
		if (u)
			err = uploader_send(u, "x", 1, &m, &r);
		_exit(err ? 4 : 3);
	}
	for (i = 0; i < 500 && n == 0; i++) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000000L};
		struct stat sb;

		nanosleep(&ts, NULL);
		if (stat(f->log, &sb) == 0 && sb.st_size > 0)
			n = 1;
	}
	assert_int_equal(n, 1);
	/* Let the client reach its wait for the server's answer. */
	usleep(200 * 1000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	close(s);
	l = audit_lines(f->log, &n);
	assert_int_equal(n, 1);
	assert_string_equal(jstr(l[0], "event"), "attempt");
	assert_string_equal(jstr(l[0], "batch_id"), "0b9e2a4c-1f3d-4e5a-9b7c-6d8e0f1a2b3c");
	cJSON_Delete(l[0]);
}

struct stopper {
	volatile sig_atomic_t *stop;
	unsigned ms;
};

static void *stop_after(void *arg)
{
	struct stopper *s = arg;

	usleep(s->ms * 1000);
	*s->stop = 1;
	return NULL;
}

/* The drain modes: ONCE stops at the first retry, EMPTY and ONCE return
 * on an empty spool, EMPTY waits out retries until stopped (a batch left:
 * 1), FOLLOW waits for work until stopped (0). */
static void test_drain_modes(void **state)
{
	struct afx *f = *state;
	volatile sig_atomic_t stop = 0;
	struct stopper sp_stop = {.stop = &stop, .ms = 300};
	struct uploader_opts o;
	struct spool_keys *k = spool_keys_new();
	struct spool *sp = NULL;
	struct batch_meta m;
	struct uploader *u;
	pthread_t t;
	int err = 0;

	assert_int_equal(spool_keys_add_hex(k, "000102030405060708090a0b0c0d0e0f"
					       "101112131415161718191a1b1c1d1e1f"),
			 0);
	assert_int_equal(spool_open(f->spool, NULL, k, &sp), 0);
	memset(&o, 0, sizeof(o));
	o.endpoint = "https://127.0.0.1:1";
	o.audit_log = f->log;
	o.backoff_base_ms = 10;
	o.backoff_cap_ms = 20;
	u = uploader_new(&o, &err);
	assert_non_null(u);
	/* Leaving an empty spool, ONCE and EMPTY give the drainer lock up. */
	assert_int_equal(uploader_drain(u, sp, UPLOADER_DRAIN_ONCE, &stop), 0);
	assert_int_equal(uploader_drain(u, sp, UPLOADER_DRAIN_EMPTY, &stop), -EPERM);
	assert_int_equal(spool_try_drain(sp, "test"), 0);
	assert_int_equal(uploader_drain(u, sp, UPLOADER_DRAIN_EMPTY, &stop), 0);
	assert_int_equal(spool_try_drain(sp, "test"), 0);
	assert_int_equal(pthread_create(&t, NULL, stop_after, &sp_stop), 0);
	assert_int_equal(uploader_drain(u, sp, UPLOADER_DRAIN_FOLLOW, &stop), 0);
	pthread_join(t, NULL);

	meta_of(&m);
	assert_int_equal(spool_put(sp, "x", 1, &m), 0);
	stop = 0;
	assert_int_equal(uploader_drain(u, sp, UPLOADER_DRAIN_ONCE, &stop), 1);
	assert_int_equal(pthread_create(&t, NULL, stop_after, &sp_stop), 0);
	assert_int_equal(uploader_drain(u, sp, UPLOADER_DRAIN_EMPTY, &stop), 1);
	pthread_join(t, NULL);
	stop = 0;
	assert_int_equal(pthread_create(&t, NULL, stop_after, &sp_stop), 0);
	assert_int_equal(uploader_drain(u, sp, UPLOADER_DRAIN_FOLLOW, &stop), 0);
	pthread_join(t, NULL);
	uploader_free(u);
	spool_close(sp);
	spool_keys_free(k);
}

#define A(fn) cmocka_unit_test_setup_teardown(fn, audit_setup, audit_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_after_seconds),
	    cmocka_unit_test(test_retry_after_dates),
	    cmocka_unit_test(test_backoff_full_jitter),
	    cmocka_unit_test(test_backoff_spread),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_opts),
	    cmocka_unit_test(test_new_builds_url_and_pins),
	    cmocka_unit_test(test_token_file_errors),
	    A(test_audit_attempt_then_result),
	    A(test_audit_unwritable_blocks_send),
	    A(test_results_kind_path),
	    A(test_audit_attempt_survives_kill),
	    A(test_drain_modes),
	};

	log_setup(LOG_ERROR + 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
