// SPDX-License-Identifier: BSD-2-Clause
/* Go binaries: build info in both forms, versions, the offsets table,
 * .gopclntab in its three forms, and tls_go_inspect on ELF files made here
 * around the real go1.19.8 code of crypto/tls.(*Conn).Read/Write
 * (x86_go_fixture.h): functions found by symbol, file offsets, entries,
 * every RET; each reason a Go binary is not probed; and Debian's own
 * stripped go command (golang-go, a build dependency), probed through its
 * .gopclntab. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sensor/tls_go.c"
#include "sensor/x86_go_fixture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TEXT_VADDR 0x401000u
#define WRITE_AT 1024u  /* Write's offset in .text, after Read's 1022 bytes */
#define ITAB_VADDR 0x757a08u
#define DEBIAN_GO "/usr/lib/go-1.19/bin/go"

/* .go.buildinfo of Go >= 1.18: header, then the version inline. */
static size_t inline_buildinfo(uint8_t *b, size_t cap, const char *ver)
{
	size_t n = strlen(ver);

	assert_true(32 + 1 + n + 2 <= cap);
	memset(b, 0, cap);
	memcpy(b, "\xff Go buildinf:", 14);
	b[14] = 8;
	b[15] = 2;
	b[32] = (uint8_t)n;
	memcpy(b + 33, ver, n);
	b[33 + n] = 0; /* empty module info */
	return 33 + n + 1;
}

static void test_buildinfo(void **state)
{
	uint8_t b[128];
	char ver[32];
	size_t n = inline_buildinfo(b, sizeof(b), "go1.19.8");

	assert_int_equal(tls_go_buildinfo(b, n, ver, sizeof(ver)), 0);
	assert_string_equal(ver, "go1.19.8");
	/* The version must fit, and fit in the section. */
	assert_int_equal(tls_go_buildinfo(b, n, ver, 8), -EINVAL);
	assert_int_equal(tls_go_buildinfo(b, 36, ver, sizeof(ver)), -EINVAL);
	assert_int_equal(tls_go_buildinfo(b, 31, ver, sizeof(ver)), -EINVAL);
	/* A two-byte uvarint length: 0x88 0x01 = 136, past the end. */
	b[32] = 0x88;
	b[33] = 0x01;
	assert_int_equal(tls_go_buildinfo(b, n, ver, sizeof(ver)), -EINVAL);
	/* A uvarint that never ends. */
	memset(b + 32, 0xff, sizeof(b) - 32);
	assert_int_equal(tls_go_buildinfo(b, sizeof(b), ver, sizeof(ver)), -EINVAL);
	/* Go < 1.18: pointers, for the ELF reader. */
	n = inline_buildinfo(b, sizeof(b), "go1.17.13");
	b[15] = 0;
	assert_int_equal(tls_go_buildinfo(b, n, ver, sizeof(ver)), -EOPNOTSUPP);
	b[15] = 2;
	b[0] = 0;
	assert_int_equal(tls_go_buildinfo(b, n, ver, sizeof(ver)), -EINVAL);
}

static void test_version(void **state)
{
	struct tls_go_version v;

	assert_int_equal(tls_go_parse_version("go1.19.8", &v), 0);
	assert_int_equal(v.major, 1);
	assert_int_equal(v.minor, 19);
	assert_int_equal(v.patch, 8);
	assert_string_equal(v.str, "go1.19.8");
	assert_int_equal(tls_go_parse_version("go1.20", &v), 0);
	assert_int_equal(v.minor, 20);
	assert_int_equal(v.patch, 0);
	assert_int_equal(tls_go_parse_version("go1.21rc2", &v), 0);
	assert_int_equal(v.minor, 21);
	assert_int_equal(v.patch, 0);
	assert_string_equal(v.str, "go1.21rc2");
	/* GOEXPERIMENT builds say so after a space. */
	assert_int_equal(tls_go_parse_version("go1.22.1 X:loopvar", &v), 0);
	assert_string_equal(v.str, "go1.22.1");
	assert_int_equal(tls_go_parse_version("devel go1.23-abc", &v), -EINVAL);
	assert_int_equal(tls_go_parse_version("go1", &v), -EINVAL);
	assert_int_equal(tls_go_parse_version("go1.x", &v), -EINVAL);
	assert_int_equal(tls_go_parse_version("", &v), -EINVAL);
}

static void test_offsets(void **state)
{
	struct tls_go_version v = { .major = 1 };
	struct as_go_cfg c;

	for (v.minor = 17; v.minor <= 23; v.minor++) {
		assert_int_equal(tls_go_offsets(&v, &c), 0);
		assert_int_equal(c.conn_off, 0);
		assert_int_equal(c.tcp_fd_off, 0);
		assert_int_equal(c.sysfd_off, 16);
		assert_int_equal(c.itab_tcp, 0);
	}
	v.minor = 16;
	assert_int_equal(tls_go_offsets(&v, &c), -EOPNOTSUPP);
	v.minor = 24;
	assert_int_equal(tls_go_offsets(&v, &c), -EOPNOTSUPP);
	v.major = 2;
	v.minor = 19;
	assert_int_equal(tls_go_offsets(&v, &c), -EOPNOTSUPP);
}

/* What the ELF made here is like. */
struct fake {
	const char *ver;
	int symtab;       /* a .symtab with the two functions and the itab */
	uint16_t machine;
	uint16_t type;    /* ET_EXEC or ET_DYN */
	size_t read_size; /* st_size of Read */
	int ptr_form;     /* Go <= 1.17 build info: pointers to the version */
};

/* Where the pointer form's string header and version go, past Write in
 * .text (the one PT_LOAD segment). */
#define PTR_HDR_AT (WRITE_AT + 1968u)
#define PTR_STR_AT (PTR_HDR_AT + 16u)

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static Elf_Scn *add_scn(Elf *e, uint32_t name, uint32_t type, uint64_t flags,
			uint64_t addr, void *buf, size_t size, Elf_Type dt)
{
	Elf_Scn *scn = elf_newscn(e);
	Elf_Data *d = elf_newdata(scn);
	Elf64_Shdr *sh = elf64_getshdr(scn);

	d->d_buf = buf;
	d->d_size = size;
	d->d_type = dt;
	d->d_align = 16;
	d->d_version = EV_CURRENT;
	sh->sh_name = name;
	sh->sh_type = type;
	sh->sh_flags = flags;
	sh->sh_addr = addr;
	return scn;
}

/* Writes the fake to a temporary file; returns its path (static). */
static const char *make_elf(const struct fake *f)
{
	static char path[64];
	static const char shstr[] = "\0.text\0.go.buildinfo\0.symtab\0.strtab\0.shstrtab";
	static const char str[] = "\0crypto/tls.(*Conn).Read\0crypto/tls.(*Conn).Write\0"
				  "go.itab.*net.TCPConn,net.Conn";
	static uint8_t text[PTR_STR_AT + 32], bi[128];
	Elf64_Sym syms[4];
	Elf_Scn *tscn, *strscn, *symscn, *shscn;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf *e;
	int fd;

	memset(text, 0xcc, sizeof(text));
	memcpy(text, go_read_code, N(go_read_code));
	memcpy(text + WRITE_AT, go_write_code, N(go_write_code));
	if (f->ptr_form) {
		put64(text + PTR_HDR_AT, TEXT_VADDR + PTR_STR_AT);
		put64(text + PTR_HDR_AT + 8, strlen(f->ver));
		memcpy(text + PTR_STR_AT, f->ver, strlen(f->ver));
	}
	snprintf(path, sizeof(path), "/tmp/test_tls_go.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	e = elf_begin(fd, ELF_C_WRITE, NULL);
	assert_non_null(e);
	eh = elf64_newehdr(e);
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_machine = f->machine;
	eh->e_type = f->type;
	eh->e_version = EV_CURRENT;
	ph = elf64_newphdr(e, 1);
	inline_buildinfo(bi, sizeof(bi), f->ptr_form ? "" : f->ver);
	if (f->ptr_form) {
		bi[15] = 0;
		put64(bi + 16, TEXT_VADDR + PTR_HDR_AT);
	}
	tscn = add_scn(e, /* .text */ 1, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, TEXT_VADDR, text,
		       sizeof(text), ELF_T_BYTE);
	add_scn(e, /* .go.buildinfo */ 7, SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 0x655000, bi,
		sizeof(bi), ELF_T_BYTE);
	strscn = add_scn(e, /* .strtab */ 29, SHT_STRTAB, 0, 0, (void *)str, sizeof(str), ELF_T_BYTE);
	if (f->symtab) {
		memset(syms, 0, sizeof(syms));
		syms[1].st_name = 1;
		syms[1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
		syms[1].st_shndx = (uint16_t)elf_ndxscn(tscn);
		syms[1].st_value = TEXT_VADDR;
		syms[1].st_size = f->read_size;
		syms[2].st_name = 25;
		syms[2].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
		syms[2].st_shndx = (uint16_t)elf_ndxscn(tscn);
		syms[2].st_value = TEXT_VADDR + WRITE_AT;
		syms[2].st_size = N(go_write_code);
		syms[3].st_name = 50;
		syms[3].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
		syms[3].st_shndx = (uint16_t)elf_ndxscn(tscn);
		syms[3].st_value = ITAB_VADDR;
		syms[3].st_size = 88;
		symscn = add_scn(e, /* .symtab */ 21, SHT_SYMTAB, 0, 0, syms, sizeof(syms), ELF_T_SYM);
		elf64_getshdr(symscn)->sh_link = (uint32_t)elf_ndxscn(strscn);
		elf64_getshdr(symscn)->sh_info = 1;
		elf64_getshdr(symscn)->sh_entsize = sizeof(Elf64_Sym);
	}
	shscn = add_scn(e, /* .shstrtab */ 37, SHT_STRTAB, 0, 0, (void *)shstr, sizeof(shstr),
			ELF_T_BYTE);
	eh->e_shstrndx = (uint16_t)elf_ndxscn(shscn);
	assert_true(elf_update(e, ELF_C_NULL) > 0);
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_X;
	ph->p_offset = elf64_getshdr(tscn)->sh_offset;
	ph->p_vaddr = TEXT_VADDR;
	ph->p_filesz = ph->p_memsz = sizeof(text);
	ph->p_align = 0x1000;
	elf_flagphdr(e, ELF_C_SET, ELF_F_DIRTY);
	assert_true(elf_update(e, ELF_C_WRITE) > 0);
	elf_end(e);
	close(fd);
	return path;
}

static const struct fake good = { "go1.19.8", 1, EM_X86_64, ET_EXEC, N(go_read_code), 0 };

static void test_inspect_probeable(void **state)
{
	struct tls_go_info gi;
	const char *p = make_elf(&good);
	uint64_t base;
	size_t i;
	int r = tls_go_inspect(p, &gi);

	/* Where the fake's .text landed in its file. */
	{
		int fd = open(p, O_RDONLY);
		Elf *e = elf_begin(fd, ELF_C_READ, NULL);
		GElf_Phdr ph;

		assert_non_null(gelf_getphdr(e, 0, &ph));
		base = ph.p_offset;
		elf_end(e);
		close(fd);
	}
	unlink(p);
	assert_int_equal(r, 0);
	assert_string_equal(gi.ver.str, "go1.19.8");
	assert_int_equal(gi.read.off, base);
	assert_int_equal(gi.write.off, base + WRITE_AT);
	/* Entries at the stack check's jbe: Read's after `cmp 0x10(%r14),%rsp`,
	 * Write's after `lea -0x68(%rsp),%r12; cmp 0x10(%r14),%r12`. */
	assert_int_equal(gi.read.entry, base + 4);
	assert_int_equal(gi.write.entry, base + WRITE_AT + 9);
	assert_int_equal(gi.read.nrets, N(go_read_rets));
	for (i = 0; i < N(go_read_rets); i++)
		assert_int_equal(gi.read.rets[i], base + go_read_rets[i]);
	assert_int_equal(gi.write.nrets, N(go_write_rets));
	for (i = 0; i < N(go_write_rets); i++)
		assert_int_equal(gi.write.rets[i], base + WRITE_AT + go_write_rets[i]);
	assert_int_equal(gi.cfg.itab_tcp, ITAB_VADDR);
	assert_int_equal(gi.cfg.sysfd_off, 16);
	assert_string_equal(gi.reason, "");
}

/* Go 1.17 keeps the version behind pointers. */
static void test_inspect_go117(void **state)
{
	struct fake f = good;
	struct tls_go_info gi;
	const char *p;
	int r;

	f.ver = "go1.17.13";
	f.ptr_form = 1;
	p = make_elf(&f);
	r = tls_go_inspect(p, &gi);
	unlink(p);
	assert_int_equal(r, 0);
	assert_string_equal(gi.ver.str, "go1.17.13");
	assert_int_equal(gi.read.nrets, N(go_read_rets));
}

static void test_inspect_pie_no_itab(void **state)
{
	struct fake f = good;
	struct tls_go_info gi;
	const char *p;
	int r;

	f.type = ET_DYN;
	p = make_elf(&f);
	r = tls_go_inspect(p, &gi);
	unlink(p);
	assert_int_equal(r, 0);
	assert_int_equal(gi.cfg.itab_tcp, 0);
}

/* Each reason a Go binary is not probed, exactly as logged. */
static void test_inspect_refusals(void **state)
{
	static const struct {
		struct fake f;
		int err;
		const char *reason;
	} t[] = {
		{ { "go1.19.8", 0, EM_X86_64, ET_EXEC, N(go_read_code), 0 }, -ENODATA,
		  "go1.19.8 binary without a symbol table or a .gopclntab section: crypto/tls "
		  "functions cannot be found" },
		{ { "go1.16.15", 1, EM_X86_64, ET_EXEC, N(go_read_code), 0 }, -EOPNOTSUPP,
		  "go1.16.15 binary: Go before 1.17 passes arguments on the stack, which is not "
		  "probed" },
		{ { "go1.24.1", 1, EM_X86_64, ET_EXEC, N(go_read_code), 0 }, -EOPNOTSUPP,
		  "go1.24.1 binary: crypto/tls struct offsets are known for Go 1.17 to 1.23 only" },
		{ { "go1.19.8", 1, EM_AARCH64, ET_EXEC, N(go_read_code), 0 }, -EOPNOTSUPP,
		  "go1.19.8 binary not for x86-64: only x86-64 Go binaries are probed" },
		/* Read cut one byte short: its last instruction does not end
		 * at the function's end. */
		{ { "go1.19.8", 1, EM_X86_64, ET_EXEC, N(go_read_code) - 1, 0 }, -EINVAL,
		  "go1.19.8 binary: the RET instructions of crypto/tls.(*Conn).Read cannot be "
		  "found (an instruction not decoded)" },
		{ { "devel", 1, EM_X86_64, ET_EXEC, N(go_read_code), 0 }, -EINVAL,
		  "Go binary whose build info gives no Go version" },
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		struct tls_go_info gi;
		const char *p = make_elf(&t[i].f);
		int r = tls_go_inspect(p, &gi);

		unlink(p);
		assert_int_equal(r, t[i].err);
		assert_string_equal(gi.reason, t[i].reason);
	}
}

static void test_entry_at(void **state)
{
	static const struct {
		uint8_t b[16];
		size_t n;
		uint32_t want;
	} t[] = {
		{ { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x10 }, 6, 4 },             /* jbe rel8 */
		{ { 0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 1, 0, 0, 0 }, 10, 4 }, /* jbe rel32 */
		{ { 0x4c, 0x8d, 0xa4, 0x24, 0, 0xff, 0xff, 0xff, 0x4d, 0x3b, 0x66, 0x10, 0x76, 1 },
		  14, 12 },                                                    /* lea disp32 */
		{ { 0x49, 0x3b, 0x66, 0x10, 0x90 }, 5, 0 },                    /* no jbe after it */
		{ { 0x49, 0x3b, 0x66, 0x10, 0x0f }, 5, 0 },                    /* cut short */
		{ { 0x4c, 0x8d, 0x64, 0x24, 0x98, 0x49, 0x3b, 0x66, 0x10, 0x76, 1 }, 11, 0 },
		{ { 0x55, 0x48, 0x89, 0xe5 }, 4, 0 },                          /* push %rbp: C-like */
		{ { 0xc3 }, 1, 0 },
	};
	size_t i;

	for (i = 0; i < N(t); i++)
		assert_int_equal(entry_at(t[i].b, t[i].n), t[i].want);
}

static void test_inspect_not_go(void **state)
{
	struct tls_go_info gi;

	assert_int_equal(tls_go_inspect("/proc/self/exe", &gi), -ENOENT);
	assert_int_equal(tls_go_inspect("/nonexistent/x", &gi), -ENOENT);
	assert_int_equal(tls_go_inspect("/etc/passwd", &gi), -ENOENT);
}

/* Debian's go command is a stripped go1.19.8 binary: the functions come
 * from its .gopclntab, and are the same code as the fixture's (the same
 * compiler and library): the stack check's jbe at +4 and +9, 7 and 8
 * RETs. */
static void test_inspect_debian_stripped(void **state)
{
	struct tls_go_info gi;

	if (access(DEBIAN_GO, R_OK) != 0)
		fail_msg("%s missing: install golang-go (make deps)", DEBIAN_GO);
	assert_int_equal(tls_go_inspect(DEBIAN_GO, &gi), 0);
	assert_string_equal(gi.ver.str, "go1.19.8");
	assert_true(gi.pclntab);
	assert_int_equal(gi.read.entry - gi.read.off, 4);
	assert_int_equal(gi.write.entry - gi.write.off, 9);
	assert_int_equal(gi.read.nrets, N(go_read_rets));
	assert_int_equal(gi.write.nrets, N(go_write_rets));
	assert_int_equal(gi.cfg.itab_tcp, 0); /* no symbol for it */
}

static void put32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A .gopclntab of two functions and a third, in the 1.18+ form (32-bit
 * entries from the text start) or the 1.16 one (pointers). */
static size_t make_pcln(uint8_t *b, size_t cap, uint32_t magic, uint64_t text, const char *third)
{
	const size_t names = 0x80, ftab = 0x100;
	const char *fn[3] = { "crypto/tls.(*Conn).Read", third, "crypto/tls.(*Conn).Write" };
	const uint32_t entry[4] = { 0x100, 0x500, 0x540, 0x900 };
	size_t pair = magic == PCLN_116 ? 16 : 8, funcs = ftab + 4 * pair, i, at = names;

	memset(b, 0, cap);
	put32(b, magic);
	b[6] = 1;
	b[7] = 8;
	put64(b + 8, 3);
	if (magic == PCLN_116) {
		put64(b + 8 + 2 * 8, names);
		put64(b + 8 + 6 * 8, ftab);
	} else {
		put64(b + 8 + 2 * 8, text);
		put64(b + 8 + 3 * 8, names);
		put64(b + 8 + 7 * 8, ftab);
	}
	for (i = 0; i < 4; i++) {
		uint8_t *e = b + ftab + i * pair;
		size_t fo = funcs + i * 16 - ftab;

		if (magic == PCLN_116) {
			put64(e, TEXT_VADDR + entry[i]);
			put64(e + 8, fo);
		} else {
			put32(e, entry[i]);
			put32(e + 4, (uint32_t)fo);
		}
		if (i == 3)
			break;
		put32(b + ftab + fo + (magic == PCLN_116 ? 8 : 4), (uint32_t)(at - names));
		memcpy(b + at, fn[i], strlen(fn[i]) + 1);
		at += strlen(fn[i]) + 1;
	}
	assert_true(funcs + 4 * 16 <= cap);
	return funcs + 4 * 16;
}

static void test_pclntab(void **state)
{
	static const uint32_t magics[] = { PCLN_116, PCLN_118, PCLN_120 };
	uint8_t b[0x200];
	struct go_syms gs;
	size_t i, n;

	for (i = 0; i < N(magics); i++) {
		memset(&gs, 0, sizeof(gs));
		n = make_pcln(b, sizeof(b), magics[i], TEXT_VADDR, "main.main");
		assert_int_equal(pcln_find(b, n, 0, &gs), 0);
		assert_int_equal(gs.read, TEXT_VADDR + 0x100);
		assert_int_equal(gs.read_size, 0x400); /* to the next function */
		assert_int_equal(gs.write, TEXT_VADDR + 0x540);
		assert_int_equal(gs.write_size, 0x3c0);
		/* Cut short: the table does not fit. */
		assert_int_equal(pcln_find(b, 0x110, 0, &gs), -EINVAL);
	}
	/* A text start left to a relocation (PIE): .text's address. */
	memset(&gs, 0, sizeof(gs));
	n = make_pcln(b, sizeof(b), PCLN_118, 0, "main.main");
	assert_int_equal(pcln_find(b, n, TEXT_VADDR, &gs), 0);
	assert_int_equal(gs.read, TEXT_VADDR + 0x100);
	/* Only one of the two: not found. */
	memset(&gs, 0, sizeof(gs));
	n = make_pcln(b, sizeof(b), PCLN_120, TEXT_VADDR, "main.main");
	memcpy(b + 0x80 + strlen("crypto/tls.(*Conn).Read") + 1 + strlen("main.main") + 1 +
		       strlen("crypto/tls.(*Conn).") , "Xrite", 5);
	assert_int_equal(pcln_find(b, n, 0, &gs), -ENOENT);
	/* Unknown magic, another pointer size, an nfunc past the end. */
	n = make_pcln(b, sizeof(b), 0xfffffffb, TEXT_VADDR, "main.main");
	assert_int_equal(pcln_find(b, n, 0, &gs), -EINVAL);
	n = make_pcln(b, sizeof(b), PCLN_120, TEXT_VADDR, "main.main");
	b[7] = 4;
	assert_int_equal(pcln_find(b, n, 0, &gs), -EINVAL);
	b[7] = 8;
	put64(b + 8, 1000);
	assert_int_equal(pcln_find(b, n, 0, &gs), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buildinfo),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_inspect_probeable),
		cmocka_unit_test(test_inspect_go117),
		cmocka_unit_test(test_inspect_pie_no_itab),
		cmocka_unit_test(test_inspect_refusals),
		cmocka_unit_test(test_entry_at),
		cmocka_unit_test(test_inspect_not_go),
		cmocka_unit_test(test_inspect_debian_stripped),
		cmocka_unit_test(test_pclntab),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
