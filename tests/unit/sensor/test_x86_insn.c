// SPDX-License-Identifier: BSD-2-Clause
/* The x86-64 length decoder: every instruction boundary and every RET of
 * real Go-compiled functions (crypto/tls.(*Conn).Read and Write, and a
 * function with a jump table, from go1.19.8) exactly as objdump finds
 * them; then single encodings of each form, and refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apisonar/sensor/x86_insn.h"
#include "sensor/x86_go_fixture.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Walks code and checks each start against objdump's. */
static void check_func(const uint8_t *code, size_t n, const uint32_t *insns, size_t ninsns,
		       const uint32_t *rets, size_t nrets)
{
	uint32_t got[64];
	size_t off = 0, i = 0;
	int r;

	while (off < n) {
		int is_ret, len;

		assert_true(i < ninsns);
		assert_int_equal(off, insns[i]);
		len = x86_insn_len(code + off, n - off, &is_ret);
		assert_true(len > 0);
		off += (size_t)len;
		i++;
	}
	assert_int_equal(off, n);
	assert_int_equal(i, ninsns);
	r = x86_find_rets(code, n, got, N(got));
	assert_int_equal(r, (int)nrets);
	for (i = 0; i < nrets; i++)
		assert_int_equal(got[i], rets[i]);
}

static void test_go_tls_read(void **state)
{
	check_func(go_read_code, N(go_read_code), go_read_insns, N(go_read_insns), go_read_rets,
		   N(go_read_rets));
}

static void test_go_tls_write(void **state)
{
	check_func(go_write_code, N(go_write_code), go_write_insns, N(go_write_insns),
		   go_write_rets, N(go_write_rets));
}

static void test_go_jump_table(void **state)
{
	check_func(go_uncommon_code, N(go_uncommon_code), go_uncommon_insns, N(go_uncommon_insns),
		   go_uncommon_rets, N(go_uncommon_rets));
}

struct one {
	uint8_t b[X86_MAX_INSN];
	int len;
	int ret;
};

static void test_forms(void **state)
{
	static const struct one t[] = {
		{ { 0xc3 }, 1, 1 },                                  /* ret */
		{ { 0xc2, 0x08, 0x00 }, 3, 1 },                      /* ret $8 */
		{ { 0xf3, 0xc3 }, 2, 1 },                            /* repz ret */
		{ { 0xca, 0x08, 0x00 }, 3, 0 },                      /* lret $8: not near */
		{ { 0x49, 0x3b, 0x66, 0x10 }, 4, 0 },                /* cmp 0x10(%r14),%rsp */
		{ { 0x48, 0x8b, 0x04, 0x24 }, 4, 0 },                /* mov (%rsp),%rax: SIB */
		{ { 0x8b, 0x04, 0x25, 1, 2, 3, 4 }, 7, 0 },          /* SIB, no base: disp32 */
		{ { 0x48, 0x8d, 0x05, 1, 2, 3, 4 }, 7, 0 },          /* lea rip-relative */
		{ { 0x48, 0x8b, 0x44, 0x24, 0x08 }, 5, 0 },          /* disp8 */
		{ { 0x48, 0x8b, 0x84, 0x24, 1, 2, 3, 4 }, 8, 0 },    /* disp32 */
		{ { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, 0 },   /* movabs $imm64 */
		{ { 0xb8, 1, 2, 3, 4 }, 5, 0 },                      /* mov $imm32,%eax */
		{ { 0x66, 0xb8, 1, 2 }, 4, 0 },                      /* mov $imm16,%ax */
		{ { 0x66, 0x81, 0xc0, 1, 2 }, 5, 0 },                /* add $imm16,%ax */
		{ { 0x48, 0x81, 0xec, 1, 2, 3, 4 }, 7, 0 },          /* sub $imm32,%rsp */
		{ { 0xf6, 0xc1, 0x01 }, 3, 0 },                      /* test $1,%cl */
		{ { 0xf7, 0xc1, 1, 2, 3, 4 }, 6, 0 },                /* test $imm32,%ecx */
		{ { 0xf7, 0xd8 }, 2, 0 },                            /* neg %eax: no imm */
		{ { 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, 9, 0 },          /* movabs moffs64,%eax */
		{ { 0x67, 0xa1, 1, 2, 3, 4 }, 6, 0 },                /* moffs32 */
		{ { 0xe8, 1, 2, 3, 4 }, 5, 0 },                      /* call rel32 */
		{ { 0x0f, 0x84, 1, 2, 3, 4 }, 6, 0 },                /* je rel32 */
		{ { 0x74, 0x10 }, 2, 0 },                            /* je rel8 */
		{ { 0xf0, 0x48, 0x0f, 0xb1, 0x0a }, 5, 0 },          /* lock cmpxchg */
		{ { 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 5, 0 },          /* nopl */
		{ { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 }, 6, 0 },    /* nopw */
		{ { 0x0f, 0xba, 0xe0, 0x05 }, 4, 0 },                /* bt $5,%eax */
		{ { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08 }, 6, 0 },    /* palignr: 0F 3A imm8 */
		{ { 0x66, 0x0f, 0x38, 0x00, 0xc1 }, 5, 0 },          /* pshufb: 0F 38 */
		{ { 0x66, 0x0f, 0x70, 0xc1, 0x1b }, 5, 0 },          /* pshufd imm8 */
		{ { 0xc5, 0xf8, 0x77 }, 3, 0 },                      /* vzeroupper */
		{ { 0xc5, 0xfe, 0x6f, 0x06 }, 4, 0 },                /* vmovdqu (%rsi),%ymm0 */
		{ { 0xc4, 0xe3, 0x7d, 0x39, 0xc1, 0x01 }, 6, 0 },    /* vextracti128: map 3 */
		{ { 0xc4, 0xe2, 0x7d, 0x58, 0xc0 }, 5, 0 },          /* vpbroadcastd: map 2 */
		{ { 0x62, 0xf1, 0x7e, 0x48, 0x6f, 0x06 }, 6, 0 },    /* EVEX vmovdqu32 */
		{ { 0xcc }, 1, 0 },                                  /* int3 */
		{ { 0x0f, 0x0b }, 2, 0 },                            /* ud2 */
		{ { 0x0f, 0x05 }, 2, 0 },                            /* syscall */
	};
	size_t i;

	for (i = 0; i < N(t); i++) {
		int ret = -1;

		assert_int_equal(x86_insn_len(t[i].b, sizeof(t[i].b), &ret), t[i].len);
		assert_int_equal(ret, t[i].ret);
		/* Cut one byte short: an error, never a shorter instruction. */
		assert_int_equal(x86_insn_len(t[i].b, (size_t)t[i].len - 1, NULL), -EINVAL);
	}
}

static void test_refusals(void **state)
{
	static const uint8_t bad[][2] = {
		{ 0x06, 0 }, { 0x27, 0 }, { 0x60, 0 }, { 0x82, 0 }, { 0x9a, 0 },
		{ 0xd4, 0 }, { 0xea, 0 }, { 0x0f, 0x04 }, { 0x0f, 0x24 },
	};
	/* 15 prefixes and nothing else. */
	static const uint8_t prefixes[16] = { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					      0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x90 };
	uint8_t b[X86_MAX_INSN] = { 0 };
	uint32_t rets[2];
	size_t i;

	for (i = 0; i < N(bad); i++) {
		b[0] = bad[i][0];
		b[1] = bad[i][1];
		assert_int_equal(x86_insn_len(b, sizeof(b), NULL), -EINVAL);
	}
	assert_int_equal(x86_insn_len(prefixes, sizeof(prefixes), NULL), -EINVAL);
	assert_int_equal(x86_insn_len(b, 0, NULL), -EINVAL);
	/* The last instruction must end at the function's end. */
	assert_int_equal(x86_find_rets((const uint8_t[]){ 0xc3, 0xe8, 1 }, 3, rets, 2), -EINVAL);
	/* More rets than room. */
	assert_int_equal(x86_find_rets((const uint8_t[]){ 0xc3, 0xc3, 0xc3 }, 3, rets, 2), -E2BIG);
	assert_int_equal(x86_find_rets((const uint8_t[]){ 0x90, 0xc3, 0xc3 }, 3, rets, 2), 2);
	assert_int_equal(rets[0], 1);
	assert_int_equal(rets[1], 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_tls_read),   cmocka_unit_test(test_go_tls_write),
		cmocka_unit_test(test_go_jump_table), cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
