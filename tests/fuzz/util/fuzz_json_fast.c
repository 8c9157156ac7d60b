// SPDX-License-Identifier: BSD-2-Clause
/* json_parse_fast against cJSON on arbitrary bytes, both as a whole JSONL
 * record and as a body: whenever the fast parser gives a tree, cJSON must
 * give the same one (types, keys, strings, number bits, valueint, order,
 * links); when it declines, nothing is checked (the callers ask cJSON).
 * Also: reading every string of the tree after the parse (they point into
 * the parser's copy of the text) is clean under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "apisonar/util/util.h"

static void same(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	/* A container's valuestring is unused by cJSON (the fast parser hangs
	 * its text there); a string's must match. */
	if ((a->type & 0xff) != (b->type & 0xff) || a->valueint != b->valueint ||
	    memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0 ||
	    !a->string != !b->string || (a->string && strcmp(a->string, b->string) != 0) ||
	    ((a->type & 0xff) == cJSON_String &&
	     (!a->valuestring || !b->valuestring || strcmp(a->valuestring, b->valuestring) != 0)) ||
	    ((b->type & 0xff) != cJSON_String && b->valuestring))
		abort();
	if (!a->child != !b->child)
		abort();
	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next) {
		if (x != a->child && x->prev->next != x)
			abort();
		/* the head's prev is the tail */
		if (!x->next && a->child->prev != x)
			abort();
		same(x, y);
	}
	if (x || y)
		abort();
}

static void check(const char *s, size_t n, int whole)
{
	cJSON *f = json_parse_fast(s, n, whole), *c;

	if (!f)
		return;
	c = whole ? cJSON_ParseWithLengthOpts(s, n + 1, NULL, 1) : cJSON_ParseWithLength(s, n);
	if (!c)
		abort();
	same(f, c);
	cJSON_Delete(f);
	cJSON_Delete(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	int armed;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check(s, size, 0);
	if (!memchr(s, 0, size))
		check(s, size, 1);
	armed = json_arena_arm(1);
	check(s, size, 0);
	json_arena_arm(armed);
	free(s);
	return 0;
}
