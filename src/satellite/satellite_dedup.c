// SPDX-License-Identifier: BSD-2-Clause
/*
 * The bounded set of batch ids the satellite has merged: a ring of ids in
 * arrival order (so the oldest is forgotten first and the set can be saved
 * in order) and an open-addressing index into it. Memory is fixed at
 * creation: cap ids and 2*cap..4*cap index slots.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "apisonar/satellite/satellite.h"

struct dd_entry {
	uint64_t hash;
	char id[BATCH_ID_LEN + 1];
};

struct sat_dedup {
	uint32_t cap;
	uint32_t head;  /* ring index of the oldest id */
	uint32_t count;
	uint32_t mask;  /* index size - 1 */
	uint64_t seed;  /* so ids cannot be picked to collide */
	struct dd_entry *ring;
	uint32_t *index; /* ring position + 1; 0 = empty */
};

/* FNV-1a, seeded. Ids are validated UUIDs from authenticated sensors; the
 * seed makes offline collision hunting pointless. */
static uint64_t dd_hash(const struct sat_dedup *d, const char *id)
{
	uint64_t h = 1469598103934665603ull ^ d->seed;
	size_t i;

	for (i = 0; i < BATCH_ID_LEN && id[i]; i++) {
		h ^= (unsigned char)id[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

struct sat_dedup *sat_dedup_new(uint32_t cap)
{
	struct sat_dedup *d;
	uint32_t size = 1;

	if (cap == 0 || cap > SAT_DEDUP_MAX_CAP)
		return NULL;
	while (size < 2 * cap)
		size <<= 1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cap = cap;
	d->mask = size - 1;
	d->ring = calloc(cap, sizeof(*d->ring));
	d->index = calloc(size, sizeof(*d->index));
	if (!d->ring || !d->index) {
		sat_dedup_free(d);
		return NULL;
	}
	if (getrandom(&d->seed, sizeof(d->seed), GRND_NONBLOCK) != sizeof(d->seed))
		d->seed = (uint64_t)(uintptr_t)d;
	return d;
}

void sat_dedup_free(struct sat_dedup *d)
{
	if (!d)
		return;
	free(d->ring);
	free(d->index);
	free(d);
}

/* Index slot holding id, or the empty slot where it would go. */
static uint32_t dd_find(const struct sat_dedup *d, const char *id, uint64_t h)
{
	uint32_t i = (uint32_t)h & d->mask;

	while (d->index[i]) {
		const struct dd_entry *e = &d->ring[d->index[i] - 1];

		if (e->hash == h && strncmp(e->id, id, BATCH_ID_LEN) == 0)
			return i;
		i = (i + 1) & d->mask;
	}
	return i;
}

int sat_dedup_has(const struct sat_dedup *d, const char *id)
{
	if (!d || !id)
		return 0;
	return d->index[dd_find(d, id, dd_hash(d, id))] != 0;
}

/* Removes index slot i and shifts later members of its run back, so
 * lookups never stop early at a hole (no tombstones needed). */
static void dd_index_remove(struct sat_dedup *d, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t k;

		j = (j + 1) & d->mask;
		if (!d->index[j])
			break;
		k = (uint32_t)d->ring[d->index[j] - 1].hash & d->mask;
		/* Move j into the hole at i unless its home k lies in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		d->index[i] = d->index[j];
		i = j;
	}
	d->index[i] = 0;
}

int sat_dedup_add(struct sat_dedup *d, const char *id)
{
	uint64_t h;
	uint32_t slot, pos;

	if (!d || !id)
		return 0;
	h = dd_hash(d, id);
	slot = dd_find(d, id, h);
	if (d->index[slot])
		return 0;
	if (d->count == d->cap) {
		struct dd_entry *old = &d->ring[d->head];

		dd_index_remove(d, dd_find(d, old->id, old->hash));
		d->head = (d->head + 1) % d->cap;
		d->count--;
		slot = dd_find(d, id, h); /* the removal may have moved things */
	}
	pos = (d->head + d->count) % d->cap;
	d->ring[pos].hash = h;
	memset(d->ring[pos].id, 0, sizeof(d->ring[pos].id));
	memcpy(d->ring[pos].id, id, strnlen(id, BATCH_ID_LEN));
	d->index[slot] = pos + 1;
	d->count++;
	return 1;
}

uint32_t sat_dedup_count(const struct sat_dedup *d)
{
	return d ? d->count : 0;
}

const char *sat_dedup_at(const struct sat_dedup *d, uint32_t i)
{
	if (!d || i >= d->count)
		return NULL;
	return d->ring[(d->head + i) % d->cap].id;
}
