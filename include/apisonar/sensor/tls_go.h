/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Go binaries and their crypto/tls: what the /proc scan (tls_attach.c)
 * needs to probe crypto/tls.(*Conn).Read and Write of an executable
 * written in Go (src/sensor/tls_go.c, docs/tls.md "Go").
 *
 * A Go executable is told by its .go.buildinfo section, which also names
 * the Go version that built it. The two functions are found in the ELF
 * symbol table (.symtab), or in a stripped binary in the runtime's own
 * function table (.gopclntab), which Go keeps for tracebacks; a binary
 * with neither is reported as not probeable. Their returns are probed with uprobes on each RET (a
 * uretprobe rewrites the return address on the goroutine's stack, which
 * Go's stack growth and traceback do not survive), found by decoding the
 * function (x86_insn.h). Only the register ABI (Go >= 1.17) on x86-64.
 */
#ifndef APISONAR_TLS_GO_H
#define APISONAR_TLS_GO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apisonar/sensor/events.h"

/* RETs probed per function, at most (go1.19.8: Read 7, Write 8). */
#define TLS_GO_MAX_RETS 32
/* The oldest Go with the register ABI on amd64, and the newest whose
 * struct offsets the table has been checked against. */
#define TLS_GO_MIN_MINOR 17
#define TLS_GO_MAX_MINOR 23

struct tls_go_version {
	unsigned major, minor, patch;
	char str[32]; /* "go1.19.8" */
};

/* One function to probe, as file offsets: its first byte, where its
 * entry is probed (the stack check's jump, tls_go.c says why), and its
 * RETs. */
struct tls_go_func {
	uint64_t off;
	uint64_t entry;
	uint32_t nrets;
	uint64_t rets[TLS_GO_MAX_RETS];
};

struct tls_go_info {
	struct tls_go_version ver;
	struct tls_go_func read, write;
	struct as_go_cfg cfg; /* offsets for bpf/gotls.bpf.h */
	bool pclntab;	      /* the functions were found in .gopclntab (a stripped binary) */
	char reason[160];     /* why it cannot be probed (tls_go_inspect < 0) */
};

/* The Go version in a .go.buildinfo section's bytes (sec, n), written to
 * ver (vn bytes). Go >= 1.18 keeps it inline; older Go keeps pointers to
 * it, which only the ELF can resolve: -EOPNOTSUPP then (and the caller
 * asks tls_go_buildinfo_elf). Returns 0, -EINVAL for a section that is not
 * build info. */
int tls_go_buildinfo(const uint8_t *sec, size_t n, char *ver, size_t vn);

/* "go1.19.8" (also "go1.21rc2", "go1.20", "devel ...": an error) into v.
 * Returns 0 or -EINVAL. */
int tls_go_parse_version(const char *s, struct tls_go_version *v);

/* The struct offsets for a Go version (the table's sources are in
 * tls_go.c). Returns 0, or -EOPNOTSUPP outside 1.17..1.23. */
int tls_go_offsets(const struct tls_go_version *v, struct as_go_cfg *cfg);

/* Whether path is a Go executable, and what to probe in it:
 *   0          Go, and probeable: info filled;
 *   -ENOENT    not a Go executable (or not an ELF file), or one without
 *              crypto/tls.(*Conn).Read/Write;
 *   other < 0  Go, not probeable: info->reason says why (no symbols, Go too
 *              old or too new, not x86-64, an instruction not decoded),
 *              info->ver is set when the version was read.
 * The reason names the binary's facts, never data of a process. */
int tls_go_inspect(const char *path, struct tls_go_info *info);

#endif
