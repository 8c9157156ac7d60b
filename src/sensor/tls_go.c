// SPDX-License-Identifier: BSD-2-Clause
/*
 * Go executables: build info, version, and the file offsets of
 * crypto/tls.(*Conn).Read/Write and of their RET instructions
 * (include/apisonar/sensor/tls_go.h says what for).
 *
 * The .go.buildinfo section starts with the 14 bytes "\xff Go buildinf:",
 * then the pointer size and a flags byte. With flag 2 (Go >= 1.18) the
 * version string follows at offset 32, as a uvarint length and its bytes;
 * before, two pointers at offset 16 point to Go string headers (data
 * pointer, length) for the version and the module info (see Go's
 * debug/buildinfo, which reads both forms).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apisonar/sensor/tls_go.h"
#include "apisonar/sensor/x86_insn.h"

#define BI_MAGIC "\xff Go buildinf:"
#define BI_MAGIC_LEN 14
#define BI_HDR 32
#define BI_INLINE 0x2
#define BI_BIGENDIAN 0x1
/* The largest function decoded (go1.19.8: Read 1022 bytes, Write 1957). */
#define GO_FUNC_MAX (64 * 1024)

#define SYM_READ "crypto/tls.(*Conn).Read"
#define SYM_WRITE "crypto/tls.(*Conn).Write"
/* The itab of *net.TCPConn as a net.Conn; the linker spells its prefix
 * "go." up to Go 1.19 and "go:" from 1.20. */
#define SYM_ITAB_OLD "go.itab.*net.TCPConn,net.Conn"
#define SYM_ITAB_NEW "go:itab.*net.TCPConn,net.Conn"

/* The Go structs on the way from a *tls.Conn to its socket, by version.
 * Sources, identical in every release of the range (checked in the Go
 * tree at each release tag's src/):
 *   crypto/tls/conn.go       type Conn struct { conn net.Conn; ... }: 0
 *   net/net.go, tcpsock.go   type TCPConn struct { conn }, type conn
 *                            struct { fd *netFD }: 0
 *   net/fd_posix.go          type netFD struct { pfd poll.FD; ... }: 0
 *   internal/poll/fd_unix.go type FD struct { fdmu fdMutex; Sysfd int }
 *   internal/poll/fd_mutex.go type fdMutex struct { state uint64;
 *                            rsema, wsema uint32 }: Sysfd at 16
 * A net.Conn interface value is {itab, data}: the *TCPConn is at +8.
 * A version outside the table is not probed: a layout nobody checked
 * could read another socket's number. */
static const struct go_layout {
	unsigned from, to; /* minor versions of Go 1 */
	uint32_t conn_off, tcp_fd_off, sysfd_off;
} layouts[] = {
    {TLS_GO_MIN_MINOR, TLS_GO_MAX_MINOR, 0, 0, 16},
};

int tls_go_buildinfo(const uint8_t *sec, size_t n, char *ver, size_t vn)
{
	uint64_t len = 0;
	size_t i = BI_HDR;
	unsigned shift = 0;

	if (n < BI_HDR || memcmp(sec, BI_MAGIC, BI_MAGIC_LEN) != 0 || !vn)
		return -EINVAL;
	if (!(sec[15] & BI_INLINE))
		return -EOPNOTSUPP;
	for (;;) {
		if (i >= n || shift > 63)
			return -EINVAL;
		len |= (uint64_t)(sec[i] & 0x7f) << shift;
		shift += 7;
		if (!(sec[i++] & 0x80))
			break;
	}
	if (!len || len > n - i || len >= vn)
		return -EINVAL;
	memcpy(ver, sec + i, len);
	ver[len] = '\0';
	return 0;
}

static int parse_uint(const char **s, unsigned *out)
{
	unsigned v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		if (v > 100000)
			return -EINVAL;
		v = v * 10 + (unsigned)(*p++ - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

int tls_go_parse_version(const char *s, struct tls_go_version *v)
{
	const char *p = s;

	memset(v, 0, sizeof(*v));
	if (strncmp(p, "go", 2) != 0)
		return -EINVAL;
	p += 2;
	if (parse_uint(&p, &v->major) || *p++ != '.' || parse_uint(&p, &v->minor))
		return -EINVAL;
	/* "go1.20" is 1.20.0; "go1.21rc2" a release candidate of 1.21. */
	if (*p == '.') {
		const char *q = p + 1;

		if (parse_uint(&q, &v->patch) == 0)
			p = q;
	}
	snprintf(v->str, sizeof(v->str), "%.*s", (int)strcspn(s, " \t\n"), s);
	return 0;
}

int tls_go_offsets(const struct tls_go_version *v, struct as_go_cfg *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; v->major == 1 && i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		if (v->minor < layouts[i].from || v->minor > layouts[i].to)
			continue;
		cfg->conn_off = layouts[i].conn_off;
		cfg->tcp_fd_off = layouts[i].tcp_fd_off;
		cfg->sysfd_off = layouts[i].sysfd_off;
		return 0;
	}
	return -EOPNOTSUPP;
}

/* Reads n bytes at a virtual address of the file, from the PT_LOAD
 * segment that holds them. */
static int read_vaddr(int fd, Elf *e, uint64_t vaddr, void *buf, size_t n, uint64_t *off_out)
{
	size_t i, nph;

	if (elf_getphdrnum(e, &nph) != 0)
		return -EINVAL;
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;
		uint64_t off;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr > ph.p_filesz ||
		    n > ph.p_filesz - (vaddr - ph.p_vaddr))
			continue;
		off = vaddr - ph.p_vaddr + ph.p_offset;
		if (off_out)
			*off_out = off;
		if (buf && pread(fd, buf, n, (off_t)off) != (ssize_t)n)
			return -EIO;
		return 0;
	}
	return -ENOENT;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Go <= 1.17: the version through the pointer at offset 16 of the
 * section, to a string header {data, len}. 64-bit little endian only. */
static int buildinfo_ptr(int fd, Elf *e, const uint8_t *sec, size_t n, char *ver, size_t vn)
{
	uint8_t hdr[16];
	uint64_t len;

	if (n < BI_HDR || sec[14] != 8 || (sec[15] & BI_BIGENDIAN))
		return -EINVAL;
	if (read_vaddr(fd, e, le64(sec + 16), hdr, sizeof(hdr), NULL) != 0)
		return -EINVAL;
	len = le64(hdr + 8);
	if (!len || len >= vn || read_vaddr(fd, e, le64(hdr), ver, len, NULL) != 0)
		return -EINVAL;
	ver[len] = '\0';
	return 0;
}

/* The section named name, or NULL. */
static Elf_Scn *find_scn(Elf *e, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstr;

	if (elf_getshdrstrndx(e, &shstr) != 0)
		return NULL;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		const char *n;

		if (!gelf_getshdr(scn, sh))
			continue;
		n = elf_strptr(e, shstr, sh->sh_name);
		if (n && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

struct go_syms {
	uint64_t read, read_size, write, write_size, itab;
	bool symtab;
};

/* One pass over .symtab for the two functions and the itab. */
static void find_syms(Elf *e, struct go_syms *gs)
{
	Elf_Scn *scn = NULL;

	memset(gs, 0, sizeof(*gs));
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		gs->symtab = true;
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; i < n; i++) {
			const char *name;
			GElf_Sym s;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || (name[0] != 'c' && name[0] != 'g'))
				continue;
			if (GELF_ST_TYPE(s.st_info) == STT_FUNC && strcmp(name, SYM_READ) == 0) {
				gs->read = s.st_value;
				gs->read_size = s.st_size;
			} else if (GELF_ST_TYPE(s.st_info) == STT_FUNC &&
				   strcmp(name, SYM_WRITE) == 0) {
				gs->write = s.st_value;
				gs->write_size = s.st_size;
			} else if (strcmp(name, SYM_ITAB_OLD) == 0 ||
				   strcmp(name, SYM_ITAB_NEW) == 0) {
				gs->itab = s.st_value;
			}
		}
	}
}

/* Where to probe a function's entry: the conditional jump of Go's stack
 * check when the function starts with one, else its first byte. Go
 * functions begin with `cmp 0x10(%r14),%rsp; jbe more` (large frames:
 * `lea -n(%rsp),%r12; cmp 0x10(%r14),%r12; jbe more`), which touch no
 * argument register, so the arguments are the same at the jump; and the
 * kernel emulates a jump where it single-steps the cmp (docs/tls.md,
 * Cost). After the stack grows, Go runs the function again from its first
 * byte: the entry is seen again and replaces itself. */
static uint32_t entry_at(const uint8_t *code, size_t n)
{
	static const uint8_t cmp_rsp[] = {0x49, 0x3b, 0x66, 0x10};
	static const uint8_t cmp_r12[] = {0x4d, 0x3b, 0x66, 0x10};
	size_t off = 0;
	int len;

	if (n >= 5 && code[0] == 0x4c && code[1] == 0x8d && (code[2] == 0x64 || code[2] == 0xa4) &&
	    code[3] == 0x24) {
		len = x86_insn_len(code, n, NULL);
		if (len <= 0 || n - (size_t)len < sizeof(cmp_r12) ||
		    memcmp(code + len, cmp_r12, sizeof(cmp_r12)) != 0)
			return 0;
		off = (size_t)len + sizeof(cmp_r12);
	} else if (n >= sizeof(cmp_rsp) && memcmp(code, cmp_rsp, sizeof(cmp_rsp)) == 0) {
		off = sizeof(cmp_rsp);
	} else {
		return 0;
	}
	if (off < n && code[off] == 0x76)
		return (uint32_t)off;
	if (off + 1 < n && code[off] == 0x0f && code[off + 1] == 0x86)
		return (uint32_t)off;
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* .gopclntab magics: Go 1.16-1.17, 1.18-1.19, 1.20 and later. */
#define PCLN_116 0xfffffffau
#define PCLN_118 0xfffffff0u
#define PCLN_120 0xfffffff1u

/* The two functions in the Go runtime's own function table, which even
 * a stripped binary keeps (Go needs it for tracebacks). The table, from
 * Go's runtime/symtab.go and debug/gosym: a header (magic, two pad bytes,
 * the PC quantum, the pointer size, then pointer-sized words: nfunc,
 * nfiles, [text start, 1.18+], and the offsets of the name table and of
 * the function table), then the function table: nfunc + 1 pairs (entry,
 * offset of the function's _func), 32-bit and relative to the text start
 * from 1.18, pointers before; a _func starts with its entry and the 32-bit
 * offset of its name. A function ends where the next begins (the
 * linker's INT3 padding between them decodes as instructions). */
static int pcln_find(const uint8_t *p, size_t n, uint64_t text_addr, struct go_syms *gs)
{
	uint64_t nfunc, names, ftab, text = 0, i;
	uint32_t magic;
	size_t w, pair;

	if (n < 16)
		return -EINVAL;
	magic = le32(p);
	if ((magic != PCLN_116 && magic != PCLN_118 && magic != PCLN_120) || p[7] != 8)
		return -EINVAL;
	w = 8;
	if (n < 8 + 8 * w)
		return -EINVAL;
	nfunc = le64(p + 8);
	if (magic == PCLN_116) {
		names = le64(p + 8 + 2 * w);
		ftab = le64(p + 8 + 6 * w);
		pair = 2 * w;
	} else {
		text = le64(p + 8 + 2 * w);
		names = le64(p + 8 + 3 * w);
		ftab = le64(p + 8 + 7 * w);
		pair = 8;
		/* A PIE's text start may be left to a relocation. */
		if (!text)
			text = text_addr;
	}
	if (names >= n || ftab >= n || nfunc > (n - ftab) / pair - 1)
		return -EINVAL;
	for (i = 0; i < nfunc; i++) {
		const uint8_t *e = p + ftab + i * pair;
		uint64_t entry, next, fo;
		const char *name;
		uint32_t nameoff;
		size_t left;

		if (magic == PCLN_116) {
			entry = le64(e);
			fo = le64(e + w);
			next = le64(e + pair);
		} else {
			entry = text + le32(e);
			fo = le32(e + 4);
			next = text + le32(e + pair);
		}
		if (fo > n - ftab || n - ftab - fo < w + 4)
			continue;
		nameoff = le32(p + ftab + fo + (magic == PCLN_116 ? w : 4));
		if (nameoff >= n - names)
			continue;
		name = (const char *)p + names + nameoff;
		left = n - names - nameoff;
		if (next <= entry || strnlen(name, left) == left)
			continue;
		if (strcmp(name, SYM_READ) == 0) {
			gs->read = entry;
			gs->read_size = next - entry;
		} else if (strcmp(name, SYM_WRITE) == 0) {
			gs->write = entry;
			gs->write_size = next - entry;
		}
	}
	return gs->read && gs->write ? 0 : -ENOENT;
}

/* The entry and RETs of one function, as file offsets. */
static int func_rets(int fd, Elf *e, uint64_t vaddr, uint64_t size, struct tls_go_func *f)
{
	uint32_t rets[TLS_GO_MAX_RETS];
	uint8_t *code;
	int n, i;

	if (!size || size > GO_FUNC_MAX)
		return -E2BIG;
	code = malloc(size);
	if (!code)
		return -ENOMEM;
	n = read_vaddr(fd, e, vaddr, code, size, &f->off);
	if (n == 0)
		n = x86_find_rets(code, size, rets, TLS_GO_MAX_RETS);
	if (n > 0)
		f->entry = f->off + entry_at(code, size);
	free(code);
	if (n < 0)
		return n;
	if (n == 0)
		return -EINVAL;
	f->nrets = (uint32_t)n;
	for (i = 0; i < n; i++)
		f->rets[i] = f->off + rets[i];
	return 0;
}

static int inspect_elf(int fd, Elf *e, struct tls_go_info *info)
{
	char ver[64];
	const uint8_t *sec;
	struct go_syms gs;
	bool pcln = false;
	Elf_Data *d;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf_Scn *scn;
	int err;

#define WHY(...) snprintf(info->reason, sizeof(info->reason), __VA_ARGS__)
	if (!gelf_getehdr(e, &eh))
		return -ENOENT;
	scn = find_scn(e, ".go.buildinfo", &sh);
	if (!scn || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
		return -ENOENT;
	sec = d->d_buf;
	err = tls_go_buildinfo(sec, d->d_size, ver, sizeof(ver));
	if (err == -EOPNOTSUPP)
		err = buildinfo_ptr(fd, e, sec, d->d_size, ver, sizeof(ver));
	if (err || tls_go_parse_version(ver, &info->ver)) {
		WHY("Go binary whose build info gives no Go version");
		return -EINVAL;
	}
	if (eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
		WHY("%s binary not for x86-64: only x86-64 Go binaries are probed", info->ver.str);
		return -EOPNOTSUPP;
	}
	if (info->ver.major == 1 && info->ver.minor < TLS_GO_MIN_MINOR) {
		WHY("%s binary: Go before 1.17 passes arguments on the stack, which is not "
		    "probed",
		    info->ver.str);
		return -EOPNOTSUPP;
	}
	if (tls_go_offsets(&info->ver, &info->cfg) != 0) {
		WHY("%s binary: crypto/tls struct offsets are known for Go 1.%d to 1.%d only",
		    info->ver.str, TLS_GO_MIN_MINOR, TLS_GO_MAX_MINOR);
		return -EOPNOTSUPP;
	}
	find_syms(e, &gs);
	if (!gs.symtab) {
		/* Stripped: the runtime's function table still has them. */
		GElf_Shdr tsh;
		Elf_Scn *pscn = find_scn(e, ".gopclntab", &sh);
		Elf_Scn *tscn = find_scn(e, ".text", &tsh);
		Elf_Data *pd = pscn ? elf_getdata(pscn, NULL) : NULL;

		if (pd && pd->d_buf && sh.sh_type == SHT_PROGBITS) {
			int r = pcln_find(pd->d_buf, pd->d_size, tscn ? tsh.sh_addr : 0, &gs);

			pcln = true;
			info->pclntab = r == 0;
			if (r == -EINVAL) {
				WHY("%s binary whose .gopclntab is not in a known form",
				    info->ver.str);
				return -EINVAL;
			}
		}
	}
	if (!gs.symtab && !pcln) {
		WHY("%s binary without a symbol table or a .gopclntab section: crypto/tls "
		    "functions cannot be found",
		    info->ver.str);
		return -ENODATA;
	}
	/* A Go program without crypto/tls: nothing to probe, nothing to say. */
	if (!gs.read || !gs.write)
		return -ENOENT;
	err = func_rets(fd, e, gs.read, gs.read_size, &info->read);
	if (!err)
		err = func_rets(fd, e, gs.write, gs.write_size, &info->write);
	if (err) {
		WHY("%s binary: the RET instructions of crypto/tls.(*Conn).%s cannot be found "
		    "(%s)",
		    info->ver.str, info->read.nrets ? "Write" : "Read",
		    err == -E2BIG ? "too large or too many" : "an instruction not decoded");
		return -EINVAL;
	}
	/* Only where the link address is the run-time address. */
	if (eh.e_type == ET_EXEC)
		info->cfg.itab_tcp = gs.itab;
	return 0;
#undef WHY
}

int tls_go_inspect(const char *path, struct tls_go_info *info)
{
	Elf *e;
	int fd, err;

	memset(info, 0, sizeof(*info));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	err = e && elf_kind(e) == ELF_K_ELF ? inspect_elf(fd, e, info) : -ENOENT;
	elf_end(e);
	close(fd);
	return err;
}
