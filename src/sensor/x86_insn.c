// SPDX-License-Identifier: BSD-2-Clause
/*
 * x86-64 instruction lengths (include/apisonar/sensor/x86_insn.h). Written
 * from the Intel SDM volume 2 opcode maps (appendix A): for each opcode,
 * whether a ModRM byte follows and how many immediate bytes. Opcodes that
 * are invalid in 64-bit mode are errors.
 */
#include <errno.h>
#include <stdbool.h>

#include "apisonar/sensor/x86_insn.h"

/* Operand flags of an opcode. */
#define O_M 0x01     /* ModRM follows */
#define O_I8 0x02    /* imm8 */
#define O_IZ 0x04    /* imm32, imm16 with the 0x66 prefix */
#define O_IW 0x08    /* imm16 */
#define O_IV 0x10    /* imm32, imm64 with REX.W (mov r, imm) */
#define O_MOFFS 0x20 /* 64-bit address, 32-bit with the 0x67 prefix */
/* F6/F7: an immediate (imm8 for F6, as O_IZ for F7) only when ModRM.reg
 * is 0 or 1 (TEST) */
#define O_GRP3 0x40
#define O_BAD 0x80  /* invalid in 64-bit mode, or a prefix handled apart */
#define O_BYTE O_I8 /* with O_GRP3: the byte form, F6 */

/* clang-format off */
/* The one-byte map. */
static const uint8_t one[256] = {
	[0x00 ... 0x03] = O_M, [0x04] = O_I8, [0x05] = O_IZ, [0x06 ... 0x07] = O_BAD,
	[0x08 ... 0x0b] = O_M, [0x0c] = O_I8, [0x0d] = O_IZ, [0x0e] = O_BAD, [0x0f] = O_BAD,
	[0x10 ... 0x13] = O_M, [0x14] = O_I8, [0x15] = O_IZ, [0x16 ... 0x17] = O_BAD,
	[0x18 ... 0x1b] = O_M, [0x1c] = O_I8, [0x1d] = O_IZ, [0x1e ... 0x1f] = O_BAD,
	[0x20 ... 0x23] = O_M, [0x24] = O_I8, [0x25] = O_IZ, [0x26 ... 0x27] = O_BAD,
	[0x28 ... 0x2b] = O_M, [0x2c] = O_I8, [0x2d] = O_IZ, [0x2e ... 0x2f] = O_BAD,
	[0x30 ... 0x33] = O_M, [0x34] = O_I8, [0x35] = O_IZ, [0x36 ... 0x37] = O_BAD,
	[0x38 ... 0x3b] = O_M, [0x3c] = O_I8, [0x3d] = O_IZ, [0x3e ... 0x3f] = O_BAD,
	[0x40 ... 0x4f] = O_BAD, /* REX */
	[0x50 ... 0x5f] = 0,
	[0x60 ... 0x62] = O_BAD, [0x63] = O_M, [0x64 ... 0x67] = O_BAD,
	[0x68] = O_IZ, [0x69] = O_M | O_IZ, [0x6a] = O_I8, [0x6b] = O_M | O_I8,
	[0x6c ... 0x6f] = 0,
	[0x70 ... 0x7f] = O_I8,
	[0x80] = O_M | O_I8, [0x81] = O_M | O_IZ, [0x82] = O_BAD, [0x83] = O_M | O_I8,
	[0x84 ... 0x8f] = O_M,
	[0x90 ... 0x99] = 0, [0x9a] = O_BAD, [0x9b ... 0x9f] = 0,
	[0xa0 ... 0xa3] = O_MOFFS, [0xa4 ... 0xa7] = 0, [0xa8] = O_I8, [0xa9] = O_IZ,
	[0xaa ... 0xaf] = 0,
	[0xb0 ... 0xb7] = O_I8, [0xb8 ... 0xbf] = O_IV,
	[0xc0 ... 0xc1] = O_M | O_I8, [0xc2] = O_IW, [0xc3] = 0, [0xc4 ... 0xc5] = O_BAD,
	[0xc6] = O_M | O_I8, [0xc7] = O_M | O_IZ, [0xc8] = O_IW | O_I8, [0xc9] = 0,
	[0xca] = O_IW, [0xcb ... 0xcc] = 0, [0xcd] = O_I8, [0xce] = O_BAD, [0xcf] = 0,
	[0xd0 ... 0xd3] = O_M, [0xd4 ... 0xd6] = O_BAD, [0xd7] = 0, [0xd8 ... 0xdf] = O_M,
	[0xe0 ... 0xe7] = O_I8, [0xe8 ... 0xe9] = O_IZ, [0xea] = O_BAD, [0xeb] = O_I8,
	[0xec ... 0xef] = 0,
	[0xf0] = O_BAD, [0xf1] = 0, [0xf2 ... 0xf3] = O_BAD, [0xf4 ... 0xf5] = 0,
	[0xf6] = O_M | O_GRP3 | O_BYTE, [0xf7] = O_M | O_GRP3, [0xf8 ... 0xfd] = 0, [0xfe ... 0xff] = O_M,
};

/* The two-byte map (0F xx). 0F 38 and 0F 3A are escapes, handled apart. */
static const uint8_t two[256] = {
	[0x00 ... 0x03] = O_M, [0x04] = O_BAD, [0x05 ... 0x09] = 0, [0x0a] = O_BAD,
	[0x0b] = 0, [0x0c] = O_BAD, [0x0d] = O_M, [0x0e] = 0, [0x0f] = O_M | O_I8,
	[0x10 ... 0x1f] = O_M,
	[0x20 ... 0x23] = O_M, [0x24 ... 0x27] = O_BAD, [0x28 ... 0x2f] = O_M,
	[0x30 ... 0x37] = 0, [0x38 ... 0x3f] = O_BAD,
	[0x40 ... 0x4f] = O_M,
	[0x50 ... 0x6f] = O_M,
	[0x70 ... 0x73] = O_M | O_I8, [0x74 ... 0x76] = O_M, [0x77] = 0, [0x78 ... 0x7f] = O_M,
	[0x80 ... 0x8f] = O_IZ,
	[0x90 ... 0x9f] = O_M,
	[0xa0 ... 0xa2] = 0, [0xa3] = O_M, [0xa4] = O_M | O_I8, [0xa5] = O_M,
	[0xa6 ... 0xa7] = O_BAD, [0xa8 ... 0xaa] = 0, [0xab] = O_M, [0xac] = O_M | O_I8,
	[0xad ... 0xaf] = O_M,
	[0xb0 ... 0xb9] = O_M, [0xba] = O_M | O_I8, [0xbb ... 0xbf] = O_M,
	[0xc0 ... 0xc1] = O_M, [0xc2] = O_M | O_I8, [0xc3] = O_M, [0xc4 ... 0xc6] = O_M | O_I8,
	[0xc7] = O_M, [0xc8 ... 0xcf] = 0,
	[0xd0 ... 0xff] = O_M,
};
/* clang-format on */

/* Bytes taken by ModRM, SIB and displacement from p (32/64-bit
 * addressing: the 0x67 prefix does not change the form). Returns 0 when
 * they run past end. */
static size_t modrm_len(const uint8_t *p, const uint8_t *end)
{
	uint8_t mod, rm;
	size_t len = 1;

	if (p >= end)
		return 0;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod != 3 && rm == 4) {
		if (p + 1 >= end)
			return 0;
		len++;
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4; /* no base: disp32 */
	} else if (mod == 0 && rm == 5) {
		len += 4; /* RIP-relative disp32 */
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return p + len <= end ? len : 0;
}

/* The rest of an instruction from its opcode's flags: ModRM (at q) and
 * immediates. Returns its end, or NULL. */
static const uint8_t *operands(const uint8_t *q, const uint8_t *end, uint8_t f, bool opsize,
			       bool addrsize, bool rexw)
{
	size_t imm = 0;

	if (f & O_BAD)
		return NULL;
	if (f & O_M) {
		size_t m = modrm_len(q, end);

		if (!m)
			return NULL;
		if ((f & O_GRP3) && ((q[0] >> 3) & 7) <= 1)
			imm += (f & O_BYTE) ? 1 : opsize ? 2 : 4;
		q += m;
	}
	if ((f & O_I8) && !(f & O_GRP3))
		imm += 1;
	if (f & O_IW)
		imm += 2;
	if (f & O_IZ)
		imm += opsize ? 2 : 4;
	if (f & O_IV)
		imm += rexw ? 8 : opsize ? 2 : 4;
	if (f & O_MOFFS)
		imm += addrsize ? 4 : 8;
	if ((size_t)(end - q) < imm)
		return NULL;
	return q + imm;
}

/* VEX (C4, C5) and EVEX (62) forms: the map comes from the prefix, a
 * ModRM always follows (but for VZEROUPPER/VZEROALL, VEX 0F 77), and an
 * imm8 for map 0F3A and for the 0F opcodes that take one. p is past the
 * legacy prefixes and points at C4/C5/62. */
static const uint8_t *vex(const uint8_t *p, const uint8_t *end)
{
	unsigned map;
	uint8_t op, f;
	size_t plen;

	if (p[0] == 0xc5) {
		plen = 2;
		map = 1;
	} else if (p[0] == 0xc4) {
		plen = 3;
		if (end - p < 3)
			return NULL;
		map = p[1] & 0x1f;
	} else {
		plen = 4;
		if (end - p < 4)
			return NULL;
		map = p[1] & 0x07;
	}
	if ((size_t)(end - p) <= plen)
		return NULL;
	op = p[plen];
	p += plen + 1;
	if (map == 1) {
		if (op == 0x77 && plen < 4)
			return p;
		f = two[op];
		if (f & O_BAD || op == 0x0f || (op >= 0x80 && op <= 0x8f))
			return NULL;
		return operands(p, end, O_M | (f & O_I8), false, false, false);
	}
	if (map == 2)
		return operands(p, end, O_M, false, false, false);
	if (map == 3)
		return operands(p, end, O_M | O_I8, false, false, false);
	return NULL;
}

int x86_insn_len(const uint8_t *p, size_t n, int *is_ret)
{
	const uint8_t *s = p, *end = p + (n < X86_MAX_INSN ? n : X86_MAX_INSN), *e;
	bool opsize = false, addrsize = false, rexw = false;
	uint8_t op;

	if (is_ret)
		*is_ret = 0;
	/* Legacy prefixes, any order, then at most one REX right before the
	 * opcode. */
	for (;; p++) {
		if (p >= end)
			return -EINVAL;
		if (*p == 0x66)
			opsize = true;
		else if (*p == 0x67)
			addrsize = true;
		else if (*p != 0xf0 && *p != 0xf2 && *p != 0xf3 && *p != 0x26 && *p != 0x2e &&
			 *p != 0x36 && *p != 0x3e && *p != 0x64 && *p != 0x65)
			break;
	}
	if ((*p & 0xf0) == 0x40) {
		rexw = *p & 0x08;
		if (++p >= end)
			return -EINVAL;
	}
	op = *p++;
	if (op == 0xc4 || op == 0xc5 || op == 0x62) {
		e = vex(p - 1, end);
	} else if (op != 0x0f) {
		if (is_ret && (op == 0xc3 || op == 0xc2))
			*is_ret = 1;
		e = operands(p, end, one[op], opsize, addrsize, rexw);
	} else {
		if (p >= end)
			return -EINVAL;
		op = *p++;
		if (op == 0x38)
			e = p < end ? operands(p + 1, end, O_M, false, false, false) : NULL;
		else if (op == 0x3a)
			e = p < end ? operands(p + 1, end, O_M | O_I8, false, false, false) : NULL;
		else
			e = operands(p, end, two[op], opsize, addrsize, rexw);
	}
	if (!e)
		return -EINVAL;
	return (int)(e - s);
}

int x86_find_rets(const uint8_t *code, size_t n, uint32_t *rets, size_t max)
{
	size_t off = 0, nr = 0;

	while (off < n) {
		int ret, len = x86_insn_len(code + off, n - off, &ret);

		if (len <= 0)
			return -EINVAL;
		if (ret) {
			if (nr >= max)
				return -E2BIG;
			rets[nr++] = (uint32_t)off;
		}
		off += (size_t)len;
	}
	return off == n ? (int)nr : -EINVAL;
}
