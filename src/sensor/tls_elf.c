// SPDX-License-Identifier: BSD-2-Clause
/*
 * ELF look-ups for the TLS attach: function symbols, and OpenSSL's internal
 * read and write entry points on x86-64.
 *
 * Why the internal entry points: a uprobe whose first instruction the
 * kernel cannot emulate is single-stepped, and on a VM a single step costs
 * about 15 us (measured here: SSL_free(NULL) with a uprobe on its first
 * instruction, `test`, 14.8 us; on its second, `je`, which the kernel
 * emulates, 0.4 us). SSL_read, SSL_write and their _ex forms all begin
 * with `sub $n,%rsp`, which is single-stepped, and each SSL call takes two
 * of them (entry and the uretprobe's entry). The functions they all call,
 * ssl_read_internal(s, buf, num, &readbytes) and ssl_write_internal(s, buf,
 * num, &written), begin with `push`, which is emulated: probing those two
 * instead costs well under a microsecond a call, and also sees the calls of
 * OpenSSL's own SSL BIO (bio_ssl.c), which skip the exported functions.
 *
 * They are not exported; they are found as the callee of SSL_read_ex (and
 * SSL_write_ex), which in OpenSSL 1.1.1 and 3.x is a thin wrapper: an
 * optional endbr64, an optional `sub $imm8,%rsp`, then `call` (or a tail
 * `jmp`) with the arguments untouched. SSL_read (SSL_write) must call the
 * same function, or nothing is trusted and the exported functions are
 * probed as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "apisonar/sensor/tls_attach.h"

#define WRAPPER_BYTES 16 /* endbr64 + sub + call fit in these */
#define CALLER_BYTES 96  /* SSL_read's call to the internal function is in these */

int tls_elf_func_vaddr(Elf *e, const char *sym, uint64_t *vaddr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize)
			continue;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(data, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
			    GELF_ST_TYPE(s.st_info) != STT_FUNC)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (name && strcmp(name, sym) == 0) {
				*vaddr = s.st_value;
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* The file offset of vaddr, when an executable PT_LOAD segment holds it. */
static int vaddr_off(Elf *e, uint64_t vaddr, uint64_t *off)
{
	size_t i, n;

	if (elf_getphdrnum(e, &n) != 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

static int read_code(int fd, Elf *e, uint64_t vaddr, unsigned char *buf, size_t n)
{
	uint64_t off;

	if (vaddr_off(e, vaddr, &off) != 0)
		return -ENOENT;
	if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
		return -EIO;
	return 0;
}

static int32_t rel32(const unsigned char *p)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24;

	return (int32_t)v;
}

/* The callee of a thin wrapper: endbr64? sub $imm8,%rsp? then call/jmp. */
static int wrapper_callee(int fd, Elf *e, uint64_t fn, uint64_t *callee)
{
	unsigned char b[WRAPPER_BYTES];
	size_t i = 0;

	if (read_code(fd, e, fn, b, sizeof(b)) != 0)
		return -ENOENT;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		i += 4;
	if (b[i] == 0x48 && b[i + 1] == 0x83 && b[i + 2] == 0xec)
		i += 4;
	if (b[i] != 0xe8 && b[i] != 0xe9)
		return -ENOENT;
	*callee = fn + i + 5 + (uint64_t)(int64_t)rel32(b + i + 1);
	return 0;
}

/* Whether fn's first bytes hold a `call callee` (rel32). A stray 0xe8 in
 * another instruction would have to hit callee exactly to count. */
static bool calls(int fd, Elf *e, uint64_t fn, uint64_t callee)
{
	unsigned char b[CALLER_BYTES];
	size_t i;

	if (read_code(fd, e, fn, b, sizeof(b)) != 0)
		return false;
	for (i = 0; i + 5 <= sizeof(b); i++) {
		if ((b[i] == 0xe8 || b[i] == 0xe9) &&
		    fn + i + 5 + (uint64_t)(int64_t)rel32(b + i + 1) == callee)
			return true;
	}
	return false;
}

/* One direction: the callee of ex_sym, confirmed by plain_sym calling it. */
static int internal_of(int fd, Elf *e, const char *ex_sym, const char *plain_sym, uint64_t *off)
{
	uint64_t ex, plain, callee;

	if (tls_elf_func_vaddr(e, ex_sym, &ex) != 0 || tls_elf_func_vaddr(e, plain_sym, &plain) != 0)
		return -ENOENT;
	if (wrapper_callee(fd, e, ex, &callee) != 0 || callee == ex || callee == plain)
		return -ENOENT;
	if (!calls(fd, e, plain, callee))
		return -ENOENT;
	return vaddr_off(e, callee, off);
}

int tls_openssl_internal(const char *path, uint64_t *read_off, uint64_t *write_off)
{
	GElf_Ehdr eh;
	Elf *e;
	int fd, rc = -ENOENT;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		goto out;
	if (!gelf_getehdr(e, &eh) || eh.e_machine != EM_X86_64)
		goto end;
	rc = internal_of(fd, e, "SSL_read_ex", "SSL_read", read_off);
	if (rc == 0)
		rc = internal_of(fd, e, "SSL_write_ex", "SSL_write", write_off);
end:
	elf_end(e);
out:
	close(fd);
	return rc;
}
