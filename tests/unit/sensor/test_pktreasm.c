// SPDX-License-Identifier: BSD-2-Clause
/* TCP reassembly of the packet-level prototype: in order, out of order,
 * retransmitted and overlapping segments, sequence wrap, holes given up on
 * at the cap and at the end, and a random shuffle that must come out
 * whole. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/sensor/pktreasm.h"

#define OUT_CAP 65536

/* What came out of one stream: the bytes and the holes, in order. */
struct out {
	uint8_t data[OUT_CAP];
	size_t len;
	uint64_t gap_bytes;
	int gaps;
};

struct rig {
	struct pkt_reasm r;
	struct pkt_reasm_stats st;
	struct out o;
};

static void out_data(void *ctx, const uint8_t *data, size_t len)
{
	struct out *o = ctx;

	assert_true(o->len + len <= OUT_CAP);
	memcpy(o->data + o->len, data, len);
	o->len += len;
}

/* A hole shows in the output as '#' bytes, so tests can see where it was. */
static void out_gap(void *ctx, uint64_t missing)
{
	struct out *o = ctx;

	o->gaps++;
	o->gap_bytes += missing;
	assert_true(o->len + missing <= OUT_CAP);
	memset(o->data + o->len, '#', missing);
	o->len += missing;
}

static int setup(void **state)
{
	struct rig *g = calloc(1, sizeof(*g));

	if (!g)
		return -1;
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct rig *g = *state;

	pkt_reasm_free(&g->r);
	free(g);
	return 0;
}

static void rig_init(struct rig *g, uint32_t isn, int known, size_t max_held)
{
	pkt_reasm_init(&g->r, isn, known, max_held, &g->st, out_data, out_gap, &g->o);
}

static void add(struct rig *g, uint32_t seq, const char *s)
{
	assert_int_equal(pkt_reasm_add(&g->r, seq, s, strlen(s)), 0);
}

static void assert_out(struct rig *g, const char *want)
{
	assert_int_equal(g->o.len, strlen(want));
	assert_memory_equal(g->o.data, want, g->o.len);
}

static void test_in_order(void **state)
{
	struct rig *g = *state;

	rig_init(g, 1000, 1, 0);
	add(g, 1000, "GET / ");
	add(g, 1006, "HTTP/1.1\r\n");
	assert_out(g, "GET / HTTP/1.1\r\n");
	assert_int_equal(g->st.out_of_order, 0);
	assert_int_equal(g->st.bytes, 16);
}

static void test_out_of_order_held_then_released(void **state)
{
	struct rig *g = *state;

	rig_init(g, 1000, 1, 0);
	add(g, 1008, "IJKL");
	add(g, 1004, "EFGH");
	assert_int_equal(g->o.len, 0);
	add(g, 1000, "ABCD");
	assert_out(g, "ABCDEFGHIJKL");
	assert_int_equal(g->st.out_of_order, 2);
	assert_int_equal(g->r.held_bytes, 0);
}

static void test_retransmit_and_overlap(void **state)
{
	struct rig *g = *state;

	rig_init(g, 1000, 1, 0);
	add(g, 1000, "ABCD");
	add(g, 1000, "ABCD"); /* whole duplicate */
	add(g, 1002, "CDEF"); /* half old, half new */
	add(g, 1010, "KL");   /* held */
	add(g, 1009, "JKLM"); /* held, overlaps the held one */
	add(g, 1006, "GHI");  /* fills the hole: both held ones follow */
	assert_out(g, "ABCDEFGHIJKLM");
	assert_int_equal(g->st.dup_bytes, 4 + 2 + 2);
}

static void test_sequence_wrap(void **state)
{
	struct rig *g = *state;

	rig_init(g, 0xfffffffcu, 1, 0);
	add(g, 0x00000000u, "EFGH"); /* after the wrap: held */
	add(g, 0xfffffffcu, "ABCD");
	add(g, 0xfffffffeu, "CD"); /* before the wrap: old */
	assert_out(g, "ABCDEFGH");
	assert_int_equal(g->r.next, 4);
}

static void test_start_unknown_takes_first_segment(void **state)
{
	struct rig *g = *state;

	rig_init(g, 0, 0, 0);
	add(g, 555, "xyz");
	add(g, 558, "w");
	assert_out(g, "xyzw");
}

static void test_hole_given_up_at_cap(void **state)
{
	struct rig *g = *state;

	rig_init(g, 0, 1, 8);
	add(g, 0, "AB");
	add(g, 4, "EFGH"); /* held: 4 bytes */
	add(g, 8, "IJKL"); /* 8 held: at the cap, still held */
	assert_out(g, "AB");
	add(g, 12, "M"); /* 9 > 8: the hole [2, 4) is given up */
	assert_out(g, "AB##EFGHIJKLM");
	assert_int_equal(g->st.gaps, 1);
	assert_int_equal(g->st.gap_bytes, 2);
	assert_int_equal(g->st.held_overflow, 1);
	/* The bytes of the hole arriving late are old now. */
	add(g, 2, "CD");
	assert_int_equal(g->st.dup_bytes, 2);
}

static void test_finish_reports_holes(void **state)
{
	struct rig *g = *state;

	rig_init(g, 0, 1, 0);
	add(g, 0, "A");
	add(g, 3, "D");
	add(g, 6, "G");
	pkt_reasm_finish(&g->r);
	assert_out(g, "A##D##G");
	assert_int_equal(g->o.gaps, 2);
	assert_int_equal(g->r.held_bytes, 0);
}

/* 2,000 segments of random sizes, shuffled within windows, with one in
 * ten sent twice: the output is the stream, byte for byte. */
static void test_random_shuffle(void **state)
{
	struct rig *g = *state;
	static uint8_t stream[40000];
	static struct {
		uint32_t off, len;
	} seg[4000];
	uint32_t isn = 0xffff0000u, off = 0;
	size_t n = 0, i, j;

	srand(42);
	for (i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)rand();
	while (off < sizeof(stream)) {
		uint32_t len = 1 + (uint32_t)(rand() % 40);

		if (off + len > sizeof(stream))
			len = (uint32_t)sizeof(stream) - off;
		seg[n].off = off;
		seg[n++].len = len;
		if (rand() % 10 == 0) {
			seg[n] = seg[n - 1];
			n++;
		}
		off += len;
	}
	for (i = 0; i + 1 < n; i++) {
		size_t w = 1 + (size_t)(rand() % 8);

		j = i + (size_t)rand() % w;
		if (j < n) {
			uint32_t o = seg[i].off, l = seg[i].len;

			seg[i] = seg[j];
			seg[j].off = o;
			seg[j].len = l;
		}
	}
	rig_init(g, isn, 1, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(pkt_reasm_add(&g->r, isn + seg[i].off, stream + seg[i].off,
					       seg[i].len),
				 0);
	pkt_reasm_finish(&g->r);
	assert_int_equal(g->o.len, sizeof(stream));
	assert_memory_equal(g->o.data, stream, sizeof(stream));
	assert_int_equal(g->st.gaps, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_held_then_released, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_and_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_unknown_takes_first_segment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hole_given_up_at_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_finish_reports_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_shuffle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
