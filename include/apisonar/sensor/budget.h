/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The capture budget: a token bucket per CPU that decides, at the first
 * byte of each HTTP/1 exchange, whether the kernel copies it. Shared by the
 * kernel programs (bpf/apisonar.bpf.c) and the unit tests, so the same
 * arithmetic is checked in both places: fixed-width types, no division,
 * no floating point, no libc.
 *
 * Units: the rate is in thousandths of an exchange per second (one CPU's
 * share of the host's budget), time in nanoseconds, so the bucket holds
 * rate * elapsed "credit" and one exchange costs AS_BUDGET_COST of it.
 * Elapsed time is capped at AS_BUDGET_MAX_IDLE_NS before the product, and
 * the rate at AS_BUDGET_MAX_MILLI, so the product stays below 2^63.
 */
#ifndef APISONAR_BUDGET_H
#define APISONAR_BUDGET_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Credit one exchange costs: 1 exchange/s for 1 s = 1000 milli * 1e9 ns. */
#define AS_BUDGET_COST 1000000000000ull
/* Idle time counted at most: a full bucket needs no more. */
#define AS_BUDGET_MAX_IDLE_NS 2000000000ull
/* The largest per-CPU rate, in milli-exchanges/s (1,000,000 exchanges/s). */
#define AS_BUDGET_MAX_MILLI 1000000000ull
/* The largest burst, in exchanges. */
#define AS_BUDGET_MAX_BURST 1000000ull

/* Configuration (map `budget_cfg`, one entry), written by userspace. */
struct as_budget_cfg {
	__u64 rate_milli;     /* per CPU, milli-exchanges/s; 0: unlimited (always capture) */
	__u64 burst;	      /* exchanges the bucket holds at most (>= 1) */
	__u64 warmup_until;   /* bpf_ktime_get_ns() before which everything is captured */
	__u32 new_conn_turns; /* first exchanges of a connection always captured */
	__u32 _pad;
};

/* State (map `budget_state`, per CPU). */
struct as_bucket {
	__u64 credit;  /* in AS_BUDGET_COST units per exchange */
	__u64 last_ns; /* time of the last refill; 0: never (starts full) */
};

struct as_budget_state {
	struct as_bucket main;	/* the budget */
	struct as_bucket novel; /* exchanges of a request key not seen yet: the same rate again */
};

/* Bytes of a request the novelty key is taken from. */
#define AS_NOVEL_BYTES 64

/* The key of a request for novelty: FNV-1a over its method and path, up
 * to the query, the fragment, a path segment that begins with a digit (an
 * id: /users/42 and /users/43 are one key) or AS_NOVEL_BYTES bytes. */
static __inline __u64 as_request_key(const __u8 *p, __u32 n)
{
	__u64 h = 1469598103934665603ull;
	int i, spaces = 0, seg_start = 0;

	/* a bounded loop: the verifier walks it (Linux 5.3 and later) */
	for (i = 0; i < AS_NOVEL_BYTES; i++) {
		__u8 ch;

		if ((__u32)i >= n)
			break;
		ch = p[i];
		if (ch == ' ' || ch == '\r' || ch == '\n') {
			if (spaces++)
				break; /* the end of the target */
			seg_start = 0;
		} else if (spaces) {
			if (ch == '?' || ch == '#' || (seg_start && ch >= '0' && ch <= '9'))
				break;
			seg_start = ch == '/';
		}
		h ^= ch;
		h *= 1099511628211ull;
	}
	return h;
}

/* Refills the bucket for the time since its last refill and takes one
 * exchange from it. Returns 1 when the exchange is captured. */
static __inline int as_bucket_take(struct as_bucket *b, __u64 now, __u64 rate_milli, __u64 burst)
{
	__u64 cap, el;

	if (rate_milli > AS_BUDGET_MAX_MILLI)
		rate_milli = AS_BUDGET_MAX_MILLI;
	if (burst < 1)
		burst = 1;
	if (burst > AS_BUDGET_MAX_BURST)
		burst = AS_BUDGET_MAX_BURST;
	cap = burst * AS_BUDGET_COST;
	if (b->last_ns == 0) {
		b->credit = cap;
	} else if (now > b->last_ns) {
		el = now - b->last_ns;
		if (el > AS_BUDGET_MAX_IDLE_NS)
			el = AS_BUDGET_MAX_IDLE_NS;
		b->credit += el * rate_milli;
		if (b->credit > cap)
			b->credit = cap;
	}
	if (now > b->last_ns)
		b->last_ns = now;
	if (b->credit >= AS_BUDGET_COST) {
		b->credit -= AS_BUDGET_COST;
		return 1;
	}
	return 0;
}

/* The per-CPU share of a host-wide budget of `per_sec` exchanges per
 * second over `ncpus` CPUs, rounded up so that the sum is never below the
 * budget; 0 stays 0 (unlimited). */
static __inline __u64 as_budget_rate_milli(__u64 per_sec, __u32 ncpus)
{
	__u64 m;

	if (!per_sec)
		return 0;
	if (ncpus < 1)
		ncpus = 1;
	m = (per_sec * 1000 + ncpus - 1) / ncpus;
	return m > AS_BUDGET_MAX_MILLI ? AS_BUDGET_MAX_MILLI : (m ? m : 1);
}

#endif
