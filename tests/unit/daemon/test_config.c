// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/daemon/config.h"
#include "apisonar/util/util.h"

static int setup(void **state)
{
	struct run_config *c = malloc(sizeof(*c));

	if (!c)
		return -1;
	config_default(c);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static int parse(struct run_config *c, const char *text, char *err, size_t n)
{
	return config_parse_text(c, text, strlen(text), "t.conf", err, n);
}

static void test_defaults(void **state)
{
	struct run_config *c = *state;
	char err[256];

	assert_string_equal(c->out_dir, "/var/lib/apisonar");
	assert_int_equal(c->flush_interval, 60);
	assert_int_equal(c->metrics_port, 9464);
	assert_string_equal(c->metrics_addr, "127.0.0.1");
	assert_true(c->log_json);
	assert_int_equal(c->role, 3);
	assert_string_equal(c->endpoint, "");
	assert_int_equal(config_check(c, err, sizeof(err)), 0);
}

static void test_file_values_comments_quotes(void **state)
{
	struct run_config *c = *state;
	char err[256] = "";

	assert_int_equal(parse(c,
			       "# a comment\n"
			       "\n"
			       "   flush-interval = 30   # trailing comment\n"
			       "out_dir=\"/srv/apisonar\"\n"
			       "Log-Level = debug\r\n"
			       "all-ports = yes\n"
			       "role = client\n"
			       "port = 80, 443\n"
			       "port = 8080\n"
			       "log-format = text\n",
			       err, sizeof(err)),
			 0);
	assert_int_equal(c->flush_interval, 30);
	assert_string_equal(c->out_dir, "/srv/apisonar");
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_true(c->all_ports);
	assert_int_equal(c->role, 2);
	assert_int_equal(c->port.n, 3);
	assert_string_equal(c->port.v[0], "80");
	assert_string_equal(c->port.v[1], "443");
	assert_string_equal(c->port.v[2], "8080");
	assert_false(c->log_json);
}

static void test_file_errors_name_line_and_key(void **state)
{
	struct run_config *c = *state;
	char err[256];

	assert_int_equal(parse(c, "flush-interval = 5\nflush-intervall = 5\n", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.conf line 2: unknown key 'flush-intervall'");
	assert_int_equal(parse(c, "metrics-port = -1\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "t.conf line 1: key 'metrics-port': want a whole number from 0 to 65535");
	assert_int_equal(parse(c, "no equals sign\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf line 1: want 'key = value'");
	assert_int_equal(parse(c, "port = 1,,2\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf line 1: key 'port': empty list item");
	assert_int_equal(parse(c, "comm = averyveryverylongname\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "t.conf line 1: key 'comm': want a process name of 1 to 15 characters");
	assert_int_equal(parse(c, "out-dir = relative/dir\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf line 1: key 'out-dir': want an absolute path");
	assert_int_equal(parse(c, "verbose = maybe\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf line 1: key 'verbose': want true or false");
	assert_int_equal(parse(c, "config = /x\n", err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(c, "CONFIG = /x\n", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf line 1: key 'config' cannot be set in a config file");
	assert_int_equal(parse(c, "metrics-addr = 127.0.0.1/8\n", err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(c, "user = bad user\n", err, sizeof(err)), -EINVAL);
	/* A secret-looking value is never repeated. */
	assert_int_equal(parse(c, "pin-sha256 = TOPSECRET\n", err, sizeof(err)), -EINVAL);
	assert_null(strstr(err, "TOPSECRET"));
	/* A value that failed leaves the old one. */
	assert_int_equal(c->metrics_port, 9464);
}

static void test_hostile_lines(void **state)
{
	struct run_config *c = *state;
	char err[256], *big = malloc(CFG_STR_MAX + 300);
	size_t i;

	assert_non_null(big);
	memcpy(big, "endpoint = https://", 19);
	for (i = 19; i < CFG_STR_MAX + 200; i++)
		big[i] = 'a';
	big[i] = '\0';
	assert_int_equal(parse(c, big, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf line 1: line too long");
	assert_int_equal(config_parse_text(c, "port = 1\0x\n", 11, "t.conf", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "t.conf line 1: NUL byte");
	free(big);
	/* 65 items: past the list cap. */
	{
		char list[1024];
		size_t o = 0;

		o += (size_t)snprintf(list, sizeof(list), "port = ");
		for (i = 0; i < 65; i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%zu,", i + 1);
		list[o - 1] = '\n';
		assert_int_equal(parse(c, list, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "t.conf line 1: key 'port': too many items");
	}
}

static void test_precedence_and_lists(void **state)
{
	struct run_config *c = *state;
	char err[256];
	char *env[] = { "APISONAR_FLUSH_INTERVAL=7", "APISONAR_PORT=9000,9001",
			"APISONAR_SPOOL_KEY=notakey", "HOME=/root", "APISONAR_=x", NULL };

	assert_int_equal(parse(c, "flush-interval = 30\nport = 80\nport = 81\n", err, sizeof(err)),
			 0);
	assert_int_equal(config_load_env(c, env, err, sizeof(err)), 0);
	assert_int_equal(c->flush_interval, 7);
	assert_true(config_is_set(c, "flush-interval"));
	assert_false(config_is_set(c, "metrics-port"));
	assert_false(config_is_set(c, "no-such-key"));
	assert_int_equal(c->port.n, 2);
	assert_string_equal(c->port.v[0], "9000");
	assert_int_equal(config_set(c, "port", "10", CFG_SRC_FLAG, err, sizeof(err)), 0);
	assert_int_equal(config_set(c, "port", "11", CFG_SRC_FLAG, err, sizeof(err)), 0);
	assert_int_equal(c->port.n, 2);
	assert_string_equal(c->port.v[0], "10");
	assert_string_equal(c->port.v[1], "11");
	/* An empty value clears a list. */
	assert_int_equal(config_set(c, "cidr", "10.0.0.0/8", CFG_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(c, "cidr", "", CFG_SRC_ENV, err, sizeof(err)), 0);
	assert_int_equal(c->cidr.n, 0);

	char *bad[] = { "APISONAR_METRICS_PORT=99999", NULL };
	assert_int_equal(config_load_env(c, bad, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "environment APISONAR_METRICS_PORT: key 'metrics-port': want a "
				 "whole number from 0 to 65535");
}

static void test_cross_checks(void **state)
{
	struct run_config *c = *state;
	char err[256];

	assert_int_equal(config_set(c, "ca-file", "/ca.pem", CFG_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "key 'endpoint' is needed by token-file, ca-file, pin-sha256 and client-cert");
	assert_int_equal(config_set(c, "endpoint", "https://sat:8443", CFG_SRC_FILE, err,
				    sizeof(err)),
			 0);
	assert_int_equal(config_check(c, err, sizeof(err)), 0);
	assert_int_equal(config_set(c, "client-cert", "/c.pem", CFG_SRC_FILE, err, sizeof(err)),
			 0);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "keys 'client-cert' and 'client-key' go together");
	assert_int_equal(config_set(c, "endpoint", "ftp://x", CFG_SRC_FILE, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "key 'endpoint': want an https:// URL");
}

static void test_conversions(void **state)
{
	struct run_config *c = *state;
	struct loader_filters f;
	struct uploader_opts uo;
	struct catalog_limits lim;
	char err[256];

	assert_int_equal(parse(c,
			       "pid = 1, 42\ncomm = nginx\nport = 8080\ncidr = 10.0.0.0/8, ::1\n"
			       "role = server\nendpoint = https://sat:8443/x\n"
			       "pin-sha256 = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
			       "spool-key-file = /k1, /k2\nmax-endpoints = 5\nmax-spool-files = 9\n",
			       err, sizeof(err)),
			 0);
	assert_int_equal(config_filters(c, &f, err, sizeof(err)), 0);
	assert_int_equal(f.n_pids, 2);
	assert_int_equal(f.pids[1], 42);
	assert_int_equal(f.n_comms, 1);
	assert_string_equal(f.comms[0], "nginx");
	assert_int_equal(f.n_ports, 1);
	assert_int_equal(f.ports[0], 8080);
	assert_int_equal(f.n_cidrs, 2);
	assert_int_equal(f.role_mask, 1);
	config_uploader_opts(c, &uo);
	assert_string_equal(uo.endpoint, "https://sat:8443/x");
	assert_int_equal(uo.n_pins, 1);
	assert_string_equal(uo.pins[0], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_int_equal(uo.n_spool_key_files, 2);
	assert_string_equal(uo.spool_key_files[1], "/k2");
	assert_int_equal(uo.spool_limits.max_files, 9);
	assert_null(uo.token_file);
	config_catalog_limits(c, &lim);
	assert_int_equal(lim.max_endpoints, 5);
	/* A cgroup that does not exist is an error naming the key. */
	assert_int_equal(config_set(c, "cgroup", "/no/such/cgroup/dir", CFG_SRC_FLAG, err,
				    sizeof(err)),
			 0);
	assert_int_equal(config_filters(c, &f, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "key 'cgroup'"));
}

static void test_restart_keys(void **state)
{
	struct run_config *a = *state, *b = malloc(sizeof(*b));
	char keys[256], err[256];

	assert_non_null(b);
	*b = *a;
	config_restart_keys(a, b, keys, sizeof(keys));
	assert_string_equal(keys, "");
	/* Reloadable keys are not reported. */
	assert_int_equal(config_set(b, "port", "80", CFG_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(b, "flush-interval", "5", CFG_SRC_FILE, err, sizeof(err)), 0);
	config_restart_keys(a, b, keys, sizeof(keys));
	assert_string_equal(keys, "");
	assert_int_equal(config_set(b, "out-dir", "/x", CFG_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(b, "queue-size", "100", CFG_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(b, "spool-key-file", "/k", CFG_SRC_FILE, err, sizeof(err)), 0);
	config_restart_keys(a, b, keys, sizeof(keys));
	assert_string_equal(keys, "out-dir, queue-size, spool-key-file");
	free(b);
}

static void test_long_options(void **state)
{
	struct option opts[80];
	size_t n = config_long_options(opts, 80), i;
	int found = 0;

	(void)state;
	assert_true(n > 30);
	assert_null(opts[n].name);
	for (i = 0; i < n; i++) {
		assert_string_equal(config_opt_name(opts[i].val), opts[i].name);
		if (strcmp(opts[i].name, "all-ports") == 0) {
			assert_int_equal(opts[i].has_arg, optional_argument);
			found++;
		}
	}
	assert_int_equal(found, 1);
	assert_null(config_opt_name(CONFIG_OPT_BASE + (int)n));
	assert_null(config_opt_name(5));
}

/* capture-budget: a number or "unlimited" (= 0), into the loader's filters. */
static void test_capture_budget(void **state)
{
	struct run_config *c = *state;
	struct loader_filters f;
	char err[256];

	assert_int_equal(c->capture_budget, LOADER_BUDGET_RUN_DEFAULT);
	assert_int_equal(c->capture_warmup, LOADER_BUDGET_WARMUP_DEFAULT);
	assert_int_equal(parse(c, "capture-budget = 50\ncapture-warmup = 0\n", err, sizeof(err)), 0);
	assert_int_equal(c->capture_budget, 50);
	memset(&f, 0, sizeof(f));
	assert_int_equal(config_filters(c, &f, err, sizeof(err)), 0);
	assert_int_equal(f.budget, 50);
	assert_int_equal(f.budget_warmup_s, 0);
	assert_int_equal(f.budget_new_conn, LOADER_BUDGET_NEW_CONN_DEFAULT);
	assert_int_equal(config_set(c, "capture-budget", "unlimited", CFG_SRC_FLAG, err, sizeof(err)),
			 0);
	assert_int_equal(c->capture_budget, 0);
	assert_int_equal(config_set(c, "capture-budget", "1000001", CFG_SRC_FLAG, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "capture-budget"));
	assert_null(strstr(err, "1000001")); /* the value is never repeated */
	assert_int_equal(config_set(c, "capture-budget", "lots", CFG_SRC_FLAG, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(c->capture_budget, 0);
}

/* transport = nats and its keys: parsed, checked together, handed over. */
static void test_nats_keys(void **state)
{
	struct run_config *c = *state;
	struct nats_opts no;
	char err[256];

	assert_int_equal(c->transport, TRANSPORT_HTTPS);
	assert_int_equal(parse(c, "transport = nats\n", err, sizeof(err)), 0);
	assert_int_equal(c->transport, TRANSPORT_NATS);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nats-url"));
	assert_int_equal(parse(c, "transport = kafka\n", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "want https or nats"));
	assert_int_equal(parse(c, "nats-url = http://h:1\n", err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(c, "nats-url = nats://user:hunter2@h:1\n", err, sizeof(err)),
			 -EINVAL);
	assert_null(strstr(err, "hunter2"));
	assert_int_equal(parse(c,
			       "nats-url = tls://nats.example:4222\n"
			       "nats-ca = /etc/apisonar/nats-ca.pem\n"
			       "nats-token-file = /etc/apisonar/nats-token\n"
			       "cluster = prod-eu\n",
			       err, sizeof(err)),
			 0);
	assert_int_equal(config_check(c, err, sizeof(err)), 0);
	config_nats_opts(c, &no);
	assert_int_equal(no.transport, TRANSPORT_NATS);
	assert_string_equal(no.url, "tls://nats.example:4222");
	assert_string_equal(no.ca_file, "/etc/apisonar/nats-ca.pem");
	assert_string_equal(no.token_file, "/etc/apisonar/nats-token");
	assert_null(no.creds_file);
	assert_string_equal(no.cluster, "prod-eu");
	assert_int_equal(no.timeout_ms, 30000);
	assert_int_equal(parse(c, "nats-creds = relative.creds\n", err, sizeof(err)), -EINVAL);
	assert_int_equal(parse(c, "nats-creds = /etc/apisonar/u.creds\n", err, sizeof(err)), 0);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "exclude"));
	assert_int_equal(parse(c, "nats-creds = \"\"\nnats-client-cert = /c.pem\n", err,
			       sizeof(err)),
			 0);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nats-client-key"));
	assert_int_equal(parse(c, "nats-client-key = /c.key\nendpoint = https://sat:8443\n", err,
			       sizeof(err)),
			 0);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "excludes 'endpoint'"));
	/* back to https: the nats keys alone are an error */
	assert_int_equal(parse(c, "transport = https\n", err, sizeof(err)), 0);
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "need 'transport = nats'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_values_comments_quotes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_errors_name_line_and_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence_and_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cross_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conversions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_keys, setup, teardown),
		cmocka_unit_test(test_long_options),
		cmocka_unit_test_setup_teardown(test_capture_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nats_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
