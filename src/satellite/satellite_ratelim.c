// SPDX-License-Identifier: BSD-2-Clause
/*
 * Per-sensor rate limit as a generic cell rate algorithm (a token bucket
 * kept as one "theoretical arrival time" per sensor): integer arithmetic,
 * no refill timer, and a bucket whose time has passed is the same as a
 * fresh one, so evicting it loses nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/satellite/satellite.h"

#define NS_PER_MIN 60000000000ull
#define NS_PER_SEC 1000000000ull

struct rl_entry {
	uint64_t hash;
	uint64_t tat;  /* theoretical arrival time of the next token, ns */
	uint64_t last; /* last use, ns, for LRU eviction */
	char key[SAT_RL_MAX_KEY + 1];
	int used;
};

struct sat_ratelim {
	uint64_t interval_ns; /* one token every interval */
	uint64_t tolerance_ns; /* (burst - 1) intervals */
	uint32_t cap;
	uint32_t n;
	uint64_t evictions;
	struct rl_entry *e; /* cap entries, scanned linearly */
};

/* FNV-1a over the (cut) key: only to skip most strcmp calls. */
static uint64_t rl_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Builds a limiter; NULL on bad arguments or no memory. */
struct sat_ratelim *sat_rl_new(uint32_t per_min, uint32_t burst, uint32_t max_sensors)
{
	struct sat_ratelim *rl;

	if (per_min == 0 || max_sensors == 0 || max_sensors > SAT_RL_MAX_SENSORS)
		return NULL;
	if (burst == 0)
		burst = 1;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->e = calloc(max_sensors, sizeof(*rl->e));
	if (!rl->e) {
		free(rl);
		return NULL;
	}
	rl->cap = max_sensors;
	rl->interval_ns = NS_PER_MIN / per_min;
	rl->tolerance_ns = (uint64_t)(burst - 1) * rl->interval_ns;
	return rl;
}

void sat_rl_free(struct sat_ratelim *rl)
{
	if (!rl)
		return;
	free(rl->e);
	free(rl);
}

/* Finds key's bucket or makes one, evicting the least recently used. */
static struct rl_entry *rl_slot(struct sat_ratelim *rl, const char *key, uint64_t now_ns)
{
	size_t len = strnlen(key, SAT_RL_MAX_KEY);
	uint64_t h = rl_hash(key, len);
	struct rl_entry *free_e = NULL, *lru = NULL;
	uint32_t i;

	for (i = 0; i < rl->cap; i++) {
		struct rl_entry *e = &rl->e[i];

		if (!e->used) {
			if (!free_e)
				free_e = e;
			continue;
		}
		if (e->hash == h && strncmp(e->key, key, len) == 0 && e->key[len] == '\0')
			return e;
		if (!lru || e->last < lru->last)
			lru = e;
	}
	if (!free_e) {
		/* The table is full, so the loop saw at least one used entry
		 * (sat_rl_new refuses max_sensors == 0): lru is set. */
		free_e = lru;
		// cppcheck-suppress nullPointer
		/* A bucket whose time has come is as good as a new one. */
		if (free_e->tat > now_ns)
			rl->evictions++;
	} else {
		rl->n++;
	}
	memset(free_e, 0, sizeof(*free_e));
	memcpy(free_e->key, key, len);
	free_e->hash = h;
	free_e->used = 1;
	free_e->tat = now_ns;
	return free_e;
}

int sat_rl_take(struct sat_ratelim *rl, const char *key, uint64_t now_ns, uint32_t *retry_after_s)
{
	struct rl_entry *e;
	uint64_t wait;

	if (!rl)
		return 1;
	e = rl_slot(rl, key ? key : "", now_ns);
	e->last = now_ns;
	if (e->tat < now_ns)
		e->tat = now_ns;
	if (e->tat - now_ns > rl->tolerance_ns) {
		wait = e->tat - now_ns - rl->tolerance_ns;
		if (retry_after_s) {
			uint64_t s = (wait + NS_PER_SEC - 1) / NS_PER_SEC;

			*retry_after_s = s < 1 ? 1 : (s > UINT32_MAX ? UINT32_MAX : (uint32_t)s);
		}
		return 0;
	}
	e->tat += rl->interval_ns;
	return 1;
}

uint32_t sat_rl_size(const struct sat_ratelim *rl)
{
	return rl ? rl->n : 0;
}

uint64_t sat_rl_evictions(const struct sat_ratelim *rl)
{
	return rl ? rl->evictions : 0;
}
