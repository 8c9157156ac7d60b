// SPDX-License-Identifier: BSD-2-Clause
/* TLS attach without BPF: recognizing library files, finding defined
 * functions in ELF symbols (and not undefined imports), reading this
 * process's maps, one target per file, and the failure report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/tls_attach.c"

/* The libssl this test binary maps (it links -lssl), from its maps. */
static int self_libssl(char *out, size_t n)
{
	char line[MAPS_LINE];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = -1;

	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/'), *nl;

		if (!p || !strstr(p, "/libssl.so"))
			continue;
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		snprintf(out, n, "%s", p);
		found = 0;
	}
	fclose(f);
	return found;
}

static void test_match_lib(void **state)
{
	assert_true(openssl_match("libssl.so.3"));
	assert_true(openssl_match("libssl.so.1.1"));
	assert_true(openssl_match("libssl.so"));
	assert_false(openssl_match("libssl3.so")); /* NSS */
	assert_false(openssl_match("libcrypto.so.3"));
	assert_false(openssl_match("libssl"));
}

static void test_elf_defines(void **state)
{
	char lib[PATH_MAX];

	assert_int_equal(self_libssl(lib, sizeof(lib)), 0);
	assert_true(elf_defines(lib, "SSL_write"));
	assert_true(elf_defines(lib, "SSL_read_ex"));
	assert_false(elf_defines(lib, "SSL_no_such_function"));
	/* This binary imports SSL functions: undefined symbols do not count. */
	assert_false(elf_defines("/proc/self/exe", "SSL_write"));
	assert_false(elf_defines("/nonexistent/file", "SSL_write"));
	assert_false(elf_defines("/proc/self/maps", "SSL_write")); /* not ELF */
}

static void test_scan_self_one_target(void **state)
{
	struct tls_attach *t = tls_attach_new(NULL);
	struct tls_attach_stats st;
	char lib[PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(t);
	assert_int_equal(self_libssl(lib, sizeof(lib)), 0);
	/* Without BPF programs every probe fails: a failed target, once. */
	assert_false(scan_pid(t, (uint32_t)getpid()));
	assert_false(scan_pid(t, (uint32_t)getpid()));
	assert_int_equal(t->ntargets, 1);
	assert_string_equal(t->targets[0].path, lib);
	assert_false(t->targets[0].ok);
	assert_false(t->targets[0].exe);
	assert_int_equal(t->targets[0].nlinks, 0);
	tls_attach_get_stats(t, &st);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.libs, 0);
	assert_int_equal(st.procs, 0);

	f = open_memstream(&text, &len);
	assert_non_null(f);
	tls_attach_report(t, f);
	fclose(f);
	assert_non_null(strstr(text, "FAILED openssl "));
	assert_non_null(strstr(text, lib));
	assert_non_null(strstr(text, "SSL_read: no such BPF program"));
	free(text);
	tls_attach_free(t);
	tls_attach_free(NULL);
}

static void test_scan_gone_pid(void **state)
{
	struct tls_attach *t = tls_attach_new(NULL);

	assert_non_null(t);
	/* Beyond pid_max: no maps, no exe; nothing happens. */
	assert_false(scan_pid(t, 4194305));
	assert_int_equal(t->ntargets, 0);
	tls_attach_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_lib),
		cmocka_unit_test(test_elf_defines),
		cmocka_unit_test(test_scan_self_one_target),
		cmocka_unit_test(test_scan_gone_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
