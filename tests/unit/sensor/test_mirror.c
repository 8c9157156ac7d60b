// SPDX-License-Identifier: BSD-2-Clause
/* Both ends of one connection: twins handed on once, the fuller body kept,
 * lone exchanges released at close and at the hold time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/sensor/mirror.h"

#define MS 1000000ull

struct sink {
	struct as_exchange *got[16];
	int n;
};

static void emit(void *ctx, struct as_exchange *x)
{
	struct sink *s = ctx;

	assert_true(s->n < 16);
	s->got[s->n++] = x;
}

static void sink_free(struct sink *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		as_exchange_free(s->got[i]);
	s->n = 0;
}

static struct as_exchange *ex(enum as_role role, const char *target, const char *body,
			      bool gap)
{
	struct as_exchange *x = as_exchange_new();

	assert_non_null(x);
	x->role = role;
	assert_int_equal(as_strset(&x->method, "GET", 3), 0);
	assert_int_equal(as_strset(&x->target, target, strlen(target)), 0);
	x->status = 200;
	if (body)
		assert_int_equal(as_msg_append_body(&x->resp, body, strlen(body), 1024), 0);
	if (gap) {
		x->resp.body_true_len = 10;
		x->flags |= AS_X_RESP_GAP;
	}
	return x;
}

static const struct mirror_key key = { .family = 2, .sport = 80, .cport = 5000 };

static void test_twins_once_fuller_body(void **state)
{
	struct sink s = { 0 };
	struct mirror *m = mirror_new(1000 * MS, emit, &s);
	struct mirror_pair *ps = mirror_open(m, &key, MIRROR_SERVER, false);
	struct mirror_pair *pc = mirror_open(m, &key, MIRROR_CLIENT, false);
	struct mirror_stats st;

	(void)state;
	assert_ptr_equal(ps, pc);
	/* nginx sent the body with sendfile: a gap on its side */
	mirror_exchange(m, ps, MIRROR_SERVER, ex(AS_ROLE_SERVER, "/a", NULL, true), 0);
	assert_int_equal(s.n, 0);
	mirror_exchange(m, pc, MIRROR_CLIENT, ex(AS_ROLE_CLIENT, "/a", "0123456789", false), MS);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.got[0]->role, AS_ROLE_SERVER);
	assert_int_equal(s.got[0]->resp.body_len, 10);
	assert_memory_equal(s.got[0]->resp.body, "0123456789", 10);
	assert_int_equal(s.got[0]->flags & AS_X_RESP_GAP, 0);
	/* the client's first this time; the server's body is as full: kept */
	mirror_exchange(m, pc, MIRROR_CLIENT, ex(AS_ROLE_CLIENT, "/b", "xy", false), 2 * MS);
	mirror_exchange(m, ps, MIRROR_SERVER, ex(AS_ROLE_SERVER, "/b", "xy", false), 3 * MS);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.got[1]->role, AS_ROLE_SERVER);
	mirror_get_stats(m, &st);
	assert_int_equal(st.merged, 2);
	assert_int_equal(st.alone, 0);
	assert_int_equal(st.held, 0);
	mirror_close(m, pc, MIRROR_CLIENT);
	mirror_close(m, ps, MIRROR_SERVER);
	mirror_free(m);
	sink_free(&s);
}

static void test_one_end_passes_through(void **state)
{
	struct sink s = { 0 };
	struct mirror *m = mirror_new(1000 * MS, emit, &s);
	struct mirror_pair *p = mirror_open(m, &key, MIRROR_SERVER, false);

	(void)state;
	mirror_exchange(m, p, MIRROR_SERVER, ex(AS_ROLE_SERVER, "/a", "x", false), 0);
	assert_int_equal(s.n, 1);
	mirror_exchange(m, NULL, MIRROR_CLIENT, ex(AS_ROLE_CLIENT, "/a", "x", false), 0);
	assert_int_equal(s.n, 2);
	mirror_close(m, p, MIRROR_SERVER);
	mirror_free(m);
	sink_free(&s);
}

static void test_lost_twin(void **state)
{
	struct sink s = { 0 };
	struct mirror *m = mirror_new(1000 * MS, emit, &s);
	struct mirror_pair *ps = mirror_open(m, &key, MIRROR_SERVER, false);
	struct mirror_stats st;

	(void)state;
	mirror_open(m, &key, MIRROR_CLIENT, false);
	mirror_exchange(m, ps, MIRROR_SERVER, ex(AS_ROLE_SERVER, "/a", NULL, false), 0);
	mirror_tick(m, 999 * MS);
	assert_int_equal(s.n, 0);
	mirror_tick(m, 1000 * MS);
	assert_int_equal(s.n, 1);
	/* a held one whose twin was lost goes on alone when the next differs */
	mirror_exchange(m, ps, MIRROR_SERVER, ex(AS_ROLE_SERVER, "/b", NULL, false), 0);
	mirror_exchange(m, ps, MIRROR_CLIENT, ex(AS_ROLE_CLIENT, "/c", NULL, false), 0);
	assert_int_equal(s.n, 2);
	/* the client's /c waits; the client's end closing releases nothing of
	 * its own, the server's closing releases it */
	mirror_close(m, ps, MIRROR_CLIENT);
	assert_int_equal(s.n, 2);
	mirror_close(m, ps, MIRROR_SERVER);
	assert_int_equal(s.n, 3);
	mirror_get_stats(m, &st);
	assert_int_equal(st.alone, 3);
	assert_int_equal(st.merged, 0);
	assert_int_equal(st.held, 0);
	mirror_free(m);
	sink_free(&s);
}

/* A local peer whose end opens after the first exchange completed (TLS
 * plaintext comes at the SSL call's return): still one exchange. */
static void test_local_peer_late(void **state)
{
	struct sink s = { 0 };
	struct mirror *m = mirror_new(1000 * MS, emit, &s);
	struct mirror_pair *ps = mirror_open(m, &key, MIRROR_SERVER, true);
	struct mirror_pair *pc;
	struct mirror_stats st;

	(void)state;
	mirror_exchange(m, ps, MIRROR_SERVER, ex(AS_ROLE_SERVER, "/a", "x", false), 0);
	assert_int_equal(s.n, 0);
	pc = mirror_open(m, &key, MIRROR_CLIENT, true);
	mirror_exchange(m, pc, MIRROR_CLIENT, ex(AS_ROLE_CLIENT, "/a", "x", false), MS);
	assert_int_equal(s.n, 1);
	mirror_get_stats(m, &st);
	assert_int_equal(st.merged, 1);
	/* the client's end closed: the server's next one goes on at once */
	mirror_close(m, pc, MIRROR_CLIENT);
	mirror_exchange(m, ps, MIRROR_SERVER, ex(AS_ROLE_SERVER, "/b", "x", false), 2 * MS);
	assert_int_equal(s.n, 2);
	mirror_close(m, ps, MIRROR_SERVER);
	mirror_free(m);
	sink_free(&s);
}

static void test_free_releases(void **state)
{
	struct sink s = { 0 };
	struct mirror *m = mirror_new(1000 * MS, emit, &s);
	struct mirror_pair *p = mirror_open(m, &key, MIRROR_SERVER, false);

	(void)state;
	mirror_open(m, &key, MIRROR_CLIENT, false);
	mirror_exchange(m, p, MIRROR_SERVER, ex(AS_ROLE_SERVER, "/a", NULL, false), 0);
	mirror_free(m);
	assert_int_equal(s.n, 1);
	sink_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_twins_once_fuller_body),
		cmocka_unit_test(test_one_end_passes_through),
		cmocka_unit_test(test_lost_twin),
		cmocka_unit_test(test_local_peer_late),
		cmocka_unit_test(test_free_releases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
