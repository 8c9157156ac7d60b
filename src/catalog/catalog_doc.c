// SPDX-License-Identifier: BSD-2-Clause
/*
 * Small helpers over metadata documents, shared by the anonymizer (which
 * builds an observation) and the catalog (which merges them): counts, sorted
 * capped string sets, capped maps that keep the smallest keys, timestamps and
 * the fixed latency buckets. Every choice here is deterministic so merges
 * commute.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/util/util.h"

/* Counts live as JSON numbers; integers up to 2^53 stay exact. */
void doc_count_add(cJSON *obj, const char *name, double v)
{
	cJSON *n = json_get(obj, name);

	if (n && cJSON_IsNumber(n)) {
		cJSON_SetNumberValue(n, n->valuedouble + v);
		return;
	}
	cJSON_AddNumberToObject(obj, name, v);
}

/* Sorted insertion keeps sets canonical without a sort at output. name is
 * always a constant of ours (kept by reference); s is copied unless ref. */
static int set_add(cJSON *obj, const char *name, const char *s, size_t cap, int ref)
{
	cJSON *arr = json_get(obj, name);
	cJSON *it, *prev = NULL, *ns;
	size_t n = 0;
	int cmp;

	if (!arr) {
		arr = cJSON_CreateArray();
		if (!arr)
			return 0;
		cJSON_AddItemToObjectCS(obj, name, arr);
	}
	for (it = arr->child; it; it = it->next) {
		cmp = strcmp(it->valuestring, s);
		if (cmp == 0)
			return 0;
		if (cmp > 0)
			break;
		prev = it;
		n++;
	}
	if (n >= cap)
		return 1; /* s is larger than the cap smallest: cut */
	ns = ref ? cJSON_CreateStringReference(s) : cJSON_CreateString(s);
	if (!ns)
		return 0;
	if (!prev) {
		ns->next = arr->child;
		if (arr->child) {
			ns->prev = arr->child->prev;
			arr->child->prev = ns;
		} else {
			ns->prev = ns;
		}
		arr->child = ns;
	} else {
		ns->next = prev->next;
		ns->prev = prev;
		if (prev->next)
			prev->next->prev = ns;
		else
			arr->child->prev = ns;
		prev->next = ns;
	}
	if ((size_t)cJSON_GetArraySize(arr) > cap) {
		cJSON_DeleteItemFromArray(arr, cJSON_GetArraySize(arr) - 1);
		return 1;
	}
	return 0;
}

int doc_set_add(cJSON *obj, const char *name, const char *s, size_t cap)
{
	return set_add(obj, name, s, cap, 0);
}

int doc_set_add_static(cJSON *obj, const char *name, const char *s, size_t cap)
{
	return set_add(obj, name, s, cap, 1);
}

/* Members with constant names skip a key copy: observations are built and
 * freed once per exchange. */
cJSON *doc_objk(cJSON *obj, const char *name)
{
	cJSON *o = json_get(obj, name);

	if (o)
		return o;
	o = cJSON_CreateObject();
	if (o)
		cJSON_AddItemToObjectCS(obj, name, o);
	return o;
}

void doc_countk(cJSON *obj, const char *name, double v)
{
	cJSON *n = json_get(obj, name);

	if (n && cJSON_IsNumber(n)) {
		cJSON_SetNumberValue(n, n->valuedouble + v);
		return;
	}
	n = cJSON_CreateNumber(v);
	if (n)
		cJSON_AddItemToObjectCS(obj, name, n);
}

cJSON *doc_obj(cJSON *obj, const char *name)
{
	cJSON *o = json_get(obj, name);

	if (o)
		return o;
	return cJSON_AddObjectToObject(obj, name);
}

/* Maps can hold many members (1,024 endpoints per service): an object
 * member of a map carries a hash of its key in valueint, which cJSON does
 * not use for objects, and a lookup compares hashes before names. 0 means
 * "not known" (a member made elsewhere, or parsed) and is compared by name,
 * so a member without its hash is never missed. Never 0 once computed. */
static int map_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return (int)(h | 1u);
}

/* The member key of map, or NULL; *n counts the members passed. */
static cJSON *map_find(const cJSON *map, const char *key, int h, size_t *n)
{
	cJSON *it;

	*n = 0;
	for (it = map->child; it; it = it->next) {
		int obj = (it->type & 0xff) == cJSON_Object;

		if (!(obj && it->valueint && it->valueint != h) && it->string[0] == key[0] &&
		    strcmp(it->string, key) == 0) {
			if (obj)
				it->valueint = h;
			return it;
		}
		(*n)++;
	}
	return NULL;
}

cJSON *doc_map_find(const cJSON *map, const char *key)
{
	size_t n;

	if (!map || !key)
		return NULL;
	return map_find(map, key, map_hash(key), &n);
}

/* Keeping the cap smallest keys makes the kept set the same whatever the
 * order members arrive in (min-N of a union is associative). */
cJSON *doc_map_get(cJSON *map, const char *key, size_t cap, int *cut)
{
	cJSON *it, *max = NULL, *o;
	int h = map_hash(key);
	size_t n = 0;

	it = map_find(map, key, h, &n);
	if (it)
		return it;
	if (n >= cap) {
		/* Only a full map needs its largest key. */
		for (it = map->child; it; it = it->next)
			if (!max || strcmp(it->string, max->string) > 0)
				max = it;
		*cut = 1;
		if (!max || strcmp(key, max->string) > 0)
			return NULL;
		cJSON_DeleteItemFromObjectCaseSensitive(map, max->string);
	}
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	o->valueint = h;
	cJSON_AddItemToObject(map, key, o);
	return o;
}

/* 2^(k/8) for k = 0..7: the sub-buckets of one doubling. The build links
 * no libm, so the buckets are found by comparison, not log2(). */
static const double lat_sub[8] = {
	1.0, 1.0905077326652577, 1.189207115002721, 1.2968395546510096,
	1.4142135623730951, 1.5422108254079407, 1.6817928305074290, 1.8340080864093424,
};

/* Fixed log buckets (not adaptive) so sketches from any sensor add up
 * bucket by bucket: bucket 0 is under 1 us, bucket 1 + 8e + k holds
 * [2^(e + k/8), 2^(e + (k+1)/8)) us. */
unsigned doc_lat_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned e, k, b;
	double r;

	if (us == 0)
		return 0;
	e = 63u - (unsigned)__builtin_clzll(us);
	r = (double)us / (double)(1ull << e);
	for (k = 7; k > 0 && r < lat_sub[k]; k--)
		;
	b = 1 + 8 * e + k;
	return b >= DOC_LAT_BUCKETS ? DOC_LAT_BUCKETS - 1 : b;
}

double doc_lat_upper_ms(unsigned b)
{
	unsigned e = b / 8, k = b % 8;
	double us = (double)(1ull << e) * lat_sub[k];
	double ms = us / 1000.0;

	return (double)(long long)(ms * 1000.0 + 0.5) / 1000.0;
}

/* Names we keep must print as JSON text: valid UTF-8 without controls. */
int doc_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, need;

	while (i < n) {
		unsigned char c = s[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0 && c >= 0xc2)
			need = 1;
		else if ((c & 0xf0) == 0xe0)
			need = 2;
		else if ((c & 0xf8) == 0xf0 && c <= 0xf4)
			need = 3;
		else
			return 0;
		if (i + need >= n)
			return 0;
		for (k = 1; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += need + 1;
	}
	return 1;
}
