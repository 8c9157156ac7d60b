/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An x86-64 instruction length decoder: enough of the encoding (prefixes,
 * REX, VEX, EVEX, the one-, two- and three-byte opcode maps, ModRM, SIB,
 * displacements and immediates) to walk a compiled function from its first
 * byte to its last and tell where every instruction starts. It decodes
 * lengths, not meanings. Used to find the RET instructions of Go functions,
 * where a uprobe stands in for a uretprobe (src/sensor/tls_go.c says why):
 * a uprobe put anywhere but at an instruction boundary corrupts the
 * program, so anything the decoder does not know is an error, never a
 * guess.
 */
#ifndef APISONAR_X86_INSN_H
#define APISONAR_X86_INSN_H

#include <stddef.h>
#include <stdint.h>

/* Longest x86 instruction. */
#define X86_MAX_INSN 15

/* The length of the instruction at p (n bytes readable), 64-bit mode.
 * Returns 1..15, or -EINVAL for an encoding not known here (or invalid in
 * 64-bit mode) or one that runs past n. *is_ret (may be NULL) is set
 * when it is a near RET (C3, or C2 iw). */
int x86_insn_len(const uint8_t *p, size_t n, int *is_ret);

/* Walks code[0..n) instruction by instruction and stores the offset of
 * every near RET in rets (at most max). Returns how many there are, or
 * -EINVAL when an instruction is not known or the last one does not end
 * exactly at n, -E2BIG when there are more than max. */
int x86_find_rets(const uint8_t *code, size_t n, uint32_t *rets, size_t max);

#endif
