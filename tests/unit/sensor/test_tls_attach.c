// SPDX-License-Identifier: BSD-2-Clause
/* TLS attach without BPF: recognizing library files, finding defined
 * functions in ELF symbols (and not undefined imports), reading this
 * process's maps, one target per file, and the failure report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ssl.h>

#include "sensor/tls_attach.c"

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

/* The file offset of a runtime address in this process, from its maps. */
static int runtime_to_off(uintptr_t addr, const char *path, uint64_t *off)
{
	char line[MAPS_LINE];
	FILE *f = fopen("/proc/self/maps", "re");
	int rc = -1;

	if (!f)
		return -1;
	while (rc && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, foff;

		if (!strstr(line, path) || sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &foff) != 3)
			continue;
		if (addr >= lo && addr < hi) {
			*off = addr - lo + foff;
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

/* The internal entry points found in the ELF file are the functions this
 * process's own SSL_read_ex and SSL_write_ex call, read from memory. */
static void test_openssl_internal(void **state)
{
	const unsigned char *p;
	char lib[PATH_MAX];
	uint64_t rd = 0, wr = 0, want;
	uintptr_t callee;
	size_t i = 0;
	int32_t rel;

	(void)state;
	assert_int_equal(self_libssl(lib, sizeof(lib)), 0);
	assert_int_equal(tls_openssl_internal(lib, &rd, &wr), 0);
	assert_true(rd != 0 && wr != 0 && rd != wr);
	p = (const unsigned char *)(uintptr_t)SSL_read_ex;
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		i += 4;
	if (p[i] == 0x48 && p[i + 1] == 0x83 && p[i + 2] == 0xec)
		i += 4;
	assert_true(p[i] == 0xe8 || p[i] == 0xe9);
	memcpy(&rel, p + i + 1, sizeof(rel));
	callee = (uintptr_t)(p + i + 5) + (uintptr_t)(intptr_t)rel;
	assert_int_equal(runtime_to_off(callee, lib, &want), 0);
	assert_int_equal(rd, want);
	/* Files that are not OpenSSL, or not ELF, give nothing. */
	assert_int_equal(tls_openssl_internal("/proc/self/exe", &rd, &wr), -ENOENT);
	assert_true(tls_openssl_internal("/proc/self/maps", &rd, &wr) < 0);
	assert_true(tls_openssl_internal("/nonexistent/file", &rd, &wr) < 0);
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

/* Go targets without BPF: one that cannot be probed is counted apart from
 * failures and reported with its reason; a probeable one (Debian's
 * stripped go command, through .gopclntab) fails here only for want of
 * the BPF object, and says so. */
static void test_go_targets(void **state)
{
	struct tls_attach *t = tls_attach_new(NULL);
	struct tls_attach_stats st;
	struct tls_go_info gi;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	assert_non_null(t);
	memset(&gi, 0, sizeof(gi));
	snprintf(gi.ver.str, sizeof(gi.ver.str), "go1.16.15");
	snprintf(gi.reason, sizeof(gi.reason), "go1.16.15 binary: Go before 1.17 ...");
	assert_non_null(add_go_target(t, 1, 2, "/opt/old", "/opt/old", &gi, -EOPNOTSUPP));
	if (access("/usr/lib/go-1.19/bin/go", R_OK) != 0)
		fail_msg("/usr/lib/go-1.19/bin/go missing: install golang-go (make deps)");
	assert_int_equal(tls_go_inspect("/usr/lib/go-1.19/bin/go", &gi), 0);
	assert_non_null(add_go_target(t, 1, 3, "/usr/bin/go", "/usr/lib/go-1.19/bin/go", &gi, 0));
	tls_attach_get_stats(t, &st);
	assert_int_equal(st.go_unprobeable, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.go, 0);
	assert_int_equal(st.exes, 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	tls_attach_report(t, f);
	fclose(f);
	assert_string_equal(buf, "    not probeable: go /opt/old: go1.16.15 binary: Go before 1.17 ...\n"
				 "    FAILED go /usr/bin/go (0 processes): no go_cfg map in the BPF "
				 "object\n");
	free(buf);
	tls_attach_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_lib),
		cmocka_unit_test(test_elf_defines),
		cmocka_unit_test(test_openssl_internal),
		cmocka_unit_test(test_scan_self_one_target),
		cmocka_unit_test(test_scan_gone_pid),
		cmocka_unit_test(test_go_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
