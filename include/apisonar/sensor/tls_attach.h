/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TLS attach: finds the TLS libraries processes use and attaches the SSL
 * uprobes of bpf/tls.bpf.h to them. Every shared library file a process
 * maps (libssl.so.*, from /proc/PID/maps) and every executable that links
 * the library statically and keeps its symbols is attached once, by
 * (device, inode), however many processes use it. Processes that start
 * later are found by rescanning /proc once a second.
 *
 * Attachments are per file and kept until tls_attach_free: a uprobe on a
 * file no process maps any more costs nothing, and the number of files is
 * capped (TLS_MAX_TARGETS).
 *
 * A TLS library is one `struct tls_lib_ops` entry: OpenSSL (and BoringSSL,
 * which keeps the same names) today; GnuTLS or Go's crypto/tls would be one
 * more entry with their own programs.
 */
#ifndef APISONAR_TLS_ATTACH_H
#define APISONAR_TLS_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <bpf/libbpf.h>

/* Library files and static executables attached (or failed), at most. */
#define TLS_MAX_TARGETS 256
/* Executables found to carry no TLS symbols, remembered so that they are
 * not opened again. */
#define TLS_MAX_PLAIN_EXES 4096
/* Processes remembered between scans. */
#define TLS_MAX_PIDS 65536
#define TLS_MAX_PROBES 8

/* One function to probe. */
struct tls_probe {
	const char *sym;      /* "SSL_read" */
	const char *entry;    /* program run at entry (bpf/tls.bpf.h), NULL: none */
	const char *ret;      /* program run at return, NULL: none */
	bool required;        /* the target fails without it */
};

struct tls_lib_ops {
	const char *name;      /* "openssl" */
	/* Whether a mapped file (its base name) is this library. */
	bool (*match_lib)(const char *base);
	/* A defined function of this name in an executable's symbols means
	 * the library is linked in statically. */
	const char *static_sym;
	struct tls_probe probes[TLS_MAX_PROBES];
	size_t nprobes;
};

struct tls_attach_stats {
	uint32_t libs;        /* shared library files attached */
	uint32_t exes;        /* static executables attached */
	uint32_t failed;      /* targets that could not be attached */
	uint32_t procs;       /* processes found using an attached target */
	uint64_t scans;       /* /proc scans done */
	uint64_t scan_ns;     /* time spent scanning, all scans */
	uint32_t dropped;     /* targets not attached: TLS_MAX_TARGETS reached */
	uint32_t unreadable;  /* processes whose maps the last scan could not read */
	uint32_t go;          /* Go executables attached (counted in exes too) */
	uint32_t go_unprobeable; /* Go executables that cannot be probed (not in failed):
				  * no .symtab nor .gopclntab, Go < 1.17 or unknown, not
				  * x86-64 */
};

struct tls_attach;

/* ---- ELF look-ups (src/sensor/tls_elf.c) ---- */
#include <gelf.h>

/* The address of a defined function symbol (.symtab or .dynsym). Returns
 * 0 or -ENOENT. */
int tls_elf_func_vaddr(Elf *e, const char *sym, uint64_t *vaddr);

/* x86-64 OpenSSL 1.1.1/3.x: the file offsets of ssl_read_internal and
 * ssl_write_internal, found through SSL_read_ex/SSL_write_ex and confirmed
 * by SSL_read/SSL_write calling them too (tls_elf.c says why). Returns 0,
 * or a negative errno when they cannot be told for sure. */
int tls_openssl_internal(const char *path, uint64_t *read_off, uint64_t *write_off);

/* obj: the loaded object holding the programs named in the ops. NULL on
 * -ENOMEM. Nothing is attached until the first scan. */
struct tls_attach *tls_attach_new(struct bpf_object *obj);
/* Detaches everything and frees; NULL-safe. */
void tls_attach_free(struct tls_attach *t);

/* Scans every process now and attaches to what is new. Returns the number
 * of targets newly attached, or a negative errno when /proc cannot be
 * read. Failures of single targets are recorded, not returned. */
int tls_attach_scan(struct tls_attach *t) __attribute__((warn_unused_result));

/* Rescans when a second has passed since the last scan. now_ns is the
 * monotonic clock. */
void tls_attach_tick(struct tls_attach *t, uint64_t now_ns);

void tls_attach_get_stats(const struct tls_attach *t, struct tls_attach_stats *out);

/* One line per target: kind, path, processes, and for a failure the
 * reason. Paths of libraries and executables, never a captured value. */
void tls_attach_report(const struct tls_attach *t, FILE *f);

/* For the daemon's log: one line per target not told about yet (attached,
 * or why not), and one warning the first time processes' maps could not
 * be read. */
void tls_attach_log(struct tls_attach *t);

/* The libraries known, for tests and docs. */
extern const struct tls_lib_ops *const tls_libs[];
extern const size_t tls_nlibs;

#endif
