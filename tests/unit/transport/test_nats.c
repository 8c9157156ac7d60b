// SPDX-License-Identifier: BSD-2-Clause
/* The NATS transport's pure parts: subject names, URLs, options, the
 * transport choice. (The publish path runs against a real nats-server in
 * tests/e2e/test_nats_*.) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/transport/nats.h"
#include "apisonar/transport/transport.h"

static void test_subject_token(void **state)
{
	char out[NATS_TOKEN_MAX + 1], small[4], big[200];

	(void)state;
	assert_int_equal(nats_subject_token("node-7_a", out, sizeof(out)), 8);
	assert_string_equal(out, "node-7_a");
	/* dots, wildcards, spaces and bytes past ASCII would change the
	 * subject's shape: each becomes '_' */
	assert_int_equal(nats_subject_token("ip-10.0.0.1", out, sizeof(out)), 11);
	assert_string_equal(out, "ip-10_0_0_1");
	nats_subject_token("a*b>c d\te", out, sizeof(out));
	assert_string_equal(out, "a_b_c_d_e");
	nats_subject_token("h\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "h__");
	assert_int_equal(nats_subject_token("", out, sizeof(out)), 1);
	assert_string_equal(out, "_");
	assert_int_equal(nats_subject_token(NULL, out, sizeof(out)), 1);
	assert_string_equal(out, "_");
	/* cut at the buffer, and at NATS_TOKEN_MAX */
	assert_int_equal(nats_subject_token("abcdef", small, sizeof(small)), 3);
	assert_string_equal(small, "abc");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(nats_subject_token(big, out, sizeof(out)), NATS_TOKEN_MAX);
	assert_int_equal(strlen(out), NATS_TOKEN_MAX);
	assert_int_equal(nats_subject_token("abc", out, 0), 0);
}

static void test_batch_subject(void **state)
{
	char s[NATS_SUBJECT_MAX], tiny[20];

	(void)state;
	assert_int_equal(nats_batch_subject("prod-eu", "node-1", s, sizeof(s)), 0);
	assert_string_equal(s, "apisonar.batches.prod-eu.node-1");
	assert_int_equal(nats_batch_subject(NULL, "worker.example.com", s, sizeof(s)), 0);
	assert_string_equal(s, "apisonar.batches.default.worker_example_com");
	assert_int_equal(nats_batch_subject("a.b", ">", s, sizeof(s)), 0);
	assert_string_equal(s, "apisonar.batches.a_b._");
	assert_int_equal(nats_batch_subject("c", "node", tiny, sizeof(tiny)), -ENAMETOOLONG);
}

static void test_url_parse(void **state)
{
	char host[64];
	int tls = -1;

	(void)state;
	assert_int_equal(nats_url_parse("nats://127.0.0.1:4222", host, sizeof(host), &tls), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(tls, 0);
	assert_int_equal(nats_url_parse("tls://nats.example:4443", host, sizeof(host), &tls), 0);
	assert_string_equal(host, "nats.example");
	assert_int_equal(tls, 1);
	assert_int_equal(nats_url_parse("nats://localhost", host, sizeof(host), &tls), 0);
	assert_string_equal(host, "localhost");
	assert_int_equal(nats_url_parse("nats://[::1]:4222", host, sizeof(host), &tls), 0);
	assert_string_equal(host, "::1");
	/* refused: other schemes, credentials in the URL, lists, paths, bad ports */
	static const char *const bad[] = {
		"http://h:4222",	  "nats:/h:4222",	"nats://user:pw@h:4222",
		"nats://tok@h:4222",	  "nats://a:1,nats://b:2", "nats://h:4222/x",
		"nats://:4222",		  "nats://h:0",		"nats://h:65536",
		"nats://h:x",		  "nats://[::1",	"nats://",
		"tls://h :1",		  "",			"nats://h:4222?x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nats_url_parse(bad[i], host, sizeof(host), &tls), -EINVAL);
	assert_int_equal(nats_url_parse(NULL, host, sizeof(host), &tls), -EINVAL);
	assert_int_equal(nats_url_parse("nats://averyveryverylonghostname:1", host, 8, &tls),
			 -EINVAL);
}

static void test_opts(void **state)
{
	struct nats_opts o;
	char err[320];

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(o.transport, TRANSPORT_HTTPS);
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_TRANSPORT, "nats"), 0);
	assert_int_equal(o.transport, TRANSPORT_NATS);
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_TRANSPORT, "kafka"), -EINVAL);
	assert_int_equal(nats_opt_parse(&o, 'x', "v"), 1);
	assert_int_equal(nats_opts_check(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--nats-url"));
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_URL, "nats://u:secret-pw@h:1"), 0);
	assert_int_equal(nats_opts_check(&o, err, sizeof(err)), -EINVAL);
	/* the message names the option, never the value */
	assert_null(strstr(err, "secret-pw"));
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_URL, "tls://h:4222"), 0);
	assert_int_equal(nats_opts_check(&o, err, sizeof(err)), 0);
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_CREDS, "/c.creds"), 0);
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_TOKEN_FILE, "/t"), 0);
	assert_int_equal(nats_opts_check(&o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "exclude"));
	o.creds_file = NULL;
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_CLIENT_CERT, "/c.pem"), 0);
	assert_int_equal(nats_opts_check(&o, err, sizeof(err)), -EINVAL);
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_CLIENT_KEY, "/c.key"), 0);
	assert_int_equal(nats_opts_check(&o, err, sizeof(err)), 0);
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_CA, "/ca.pem"), 0);
	assert_string_equal(o.ca_file, "/ca.pem");
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_CLUSTER, ""), -EINVAL);
	assert_int_equal(nats_opt_parse(&o, NATS_OPT_CLUSTER, "prod"), 0);
	assert_string_equal(o.cluster, "prod");
}

static void test_transport_kind(void **state)
{
	enum transport_kind k = TRANSPORT_NATS;

	(void)state;
	assert_int_equal(transport_parse_kind("https", &k), 0);
	assert_int_equal(k, TRANSPORT_HTTPS);
	assert_int_equal(transport_parse_kind("nats", &k), 0);
	assert_int_equal(k, TRANSPORT_NATS);
	assert_int_equal(transport_parse_kind("NATS", &k), -EINVAL);
	assert_int_equal(transport_parse_kind("", &k), -EINVAL);
	assert_int_equal(transport_parse_kind(NULL, &k), -EINVAL);
}

static void test_status_kind(void **state)
{
	(void)state;
	assert_string_equal(nats_status_kind(NATS_OK), "ok");
	assert_string_equal(nats_status_kind(NATS_TIMEOUT), "timeout");
	assert_string_equal(nats_status_kind(NATS_NO_RESPONDERS), "no_stream");
	assert_string_equal(nats_status_kind(NATS_SSL_ERROR), "tls");
	assert_string_equal(nats_status_kind(NATS_CONNECTION_AUTH_FAILED), "auth");
	assert_string_equal(nats_status_kind(NATS_NO_SERVER), "connection");
	assert_string_equal(nats_status_kind(NATS_MAX_PAYLOAD), "too_large");
	assert_string_equal(nats_status_kind(NATS_MISMATCH), "error");
}

/* A publisher refuses bad options before any connection, and names the
 * file it cannot read. */
static void test_pub_new_checks(void **state)
{
	struct nats_opts o;
	struct nats_pub *p;
	int err = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.transport = TRANSPORT_NATS;
	o.url = "nats://127.0.0.1:1";
	o.token_file = "/nonexistent/token";
	assert_null(nats_pub_new(&o, "node", &err));
	assert_int_equal(err, -ENOENT);
	o.token_file = NULL;
	o.creds_file = "/nonexistent/x.creds";
	assert_null(nats_pub_new(&o, "node", &err));
	assert_int_equal(err, -ENOENT);
	o.creds_file = NULL;
	o.url = "http://h:1";
	assert_null(nats_pub_new(&o, "node", &err));
	assert_int_equal(err, -EINVAL);
	o.url = "nats://127.0.0.1:1";
	p = nats_pub_new(&o, "node", &err);
	assert_non_null(p);
	{
		struct transport t;
		struct uploader_stats st;

		nats_pub_transport(p, &t);
		assert_string_equal(t.ops->name, "nats");
		assert_ptr_equal(t.ctx, p);
		assert_true(t.backoff_cap_ms > 0 && t.backoff_cap_ms <= 60000);
		nats_pub_get_stats(p, &st);
		assert_int_equal(st.delivered, 0);
	}
	nats_pub_free(p);
	nats_pub_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_token), cmocka_unit_test(test_batch_subject),
		cmocka_unit_test(test_url_parse),     cmocka_unit_test(test_opts),
		cmocka_unit_test(test_transport_kind), cmocka_unit_test(test_status_kind),
		cmocka_unit_test(test_pub_new_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
