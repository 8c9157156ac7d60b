// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the protobuf walker and the gRPC framing
 * (src/catalog/protowire.c).
 *
 * Input: one options byte (bit 0: small limits; bits 1-2: grpc-encoding
 * none, identity, gzip, snappy; bit 3: the rest is one bare message, not
 * a gRPC body), then the bytes. Checks: no crash or leak; pw_is_message
 * and pw_message_infer agree; the shape is a function of the bytes (two
 * runs print the same); every node's counts are sane (n >= 1, objects <=
 * n); and no string value of 6 bytes or more survives into the output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/detect.h"
#include "apisonar/catalog/protowire.h"

static void fz_check(const cJSON *node, int depth)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(node, "n");
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(node, "objects");
	const cJSON *it;

	if (depth > PW_MAX_DEPTH + 2)
		abort();
	if (!cJSON_IsNumber(n) || n->valuedouble < 1)
		abort();
	if (o && (!cJSON_IsNumber(o) || o->valuedouble > n->valuedouble))
		abort();
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(node, "properties"))
	{
		char *end;
		unsigned long f = strtoul(it->string, &end, 10);

		if (*end || f == 0 || f > 536870911ul)
			abort();
		fz_check(it, depth + 1);
	}
	it = cJSON_GetObjectItemCaseSensitive(node, "items");
	if (it)
		fz_check(it, depth + 1);
}

/* The words an output may hold: member names, types, wire types, the
 * detectors' format and class names. */
static const char *fz_vocabulary(void)
{
	static char voc[4096];
	size_t o = 0;
	int i;

	if (voc[0])
		return voc;
	o += (size_t)snprintf(voc, sizeof(voc), "%s",
			      " object objects string integer number array varint fixed64 fixed32"
			      " len binary text properties formats types items sensitive wire ");
	for (i = 1; i < DF__COUNT && o < sizeof(voc) - 64; i++)
		o += (size_t)snprintf(voc + o, sizeof(voc) - o, "%s ",
				      detect_format_name((enum detect_format)i));
	for (i = 1; i < DC__COUNT && o < sizeof(voc) - 64; i++)
		o += (size_t)snprintf(voc + o, sizeof(voc) - o, "%s ",
				      detect_class_name((enum detect_class)i));
	return voc;
}

/* Any run of 6 lowercase input letters found in the output and not in
 * the vocabulary is a value that leaked. */
static void fz_no_value(const char *out, const uint8_t *data, size_t size)
{
	const char *voc = fz_vocabulary();
	size_t i, j;

	for (i = 0; i + 6 <= size; i++) {
		char run[7];
		int ok = 1;

		for (j = 0; j < 6; j++) {
			if (data[i + j] < 'a' || data[i + j] > 'z') {
				ok = 0;
				break;
			}
			run[j] = (char)data[i + j];
		}
		if (!ok)
			continue;
		run[6] = '\0';
		if (!strstr(voc, run) && strstr(out, run))
			abort();
	}
}

static char *fz_run(const uint8_t *data, size_t size, int *rc)
{
	static const char *const encs[] = {NULL, "identity", "gzip", "snappy"};
	struct anon_limits lim = {.max_fields = 64, .max_depth = 16};
	struct anon_counters cnt = {0};
	cJSON *node = cJSON_CreateObject();
	char *out;
	int partial = 0;

	if (!node)
		return NULL;
	if (data[0] & 1) {
		lim.max_fields = 2;
		lim.max_depth = 2;
	}
	if (data[0] & 8) {
		*rc = pw_message_infer(node, data + 1, size - 1, 1, &lim, &cnt);
		if ((*rc == 0) != pw_is_message(data + 1, size - 1))
			abort();
	} else {
		*rc = (int)pw_grpc_messages(node, data + 1, size - 1, encs[(data[0] >> 1) & 3],
					    &lim, &cnt, &partial);
	}
	if (node->child)
		fz_check(node, 0);
	out = cJSON_PrintUnformatted(node);
	cJSON_Delete(node);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a, *b;
	int ra = 0, rb = 0;

	if (!size)
		return 0;
	a = fz_run(data, size, &ra);
	b = fz_run(data, size, &rb);
	if (!a || !b || ra != rb || strcmp(a, b))
		abort();
	fz_no_value(a, data, size);
	free(a);
	free(b);
	return 0;
}
