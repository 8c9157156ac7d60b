// SPDX-License-Identifier: BSD-2-Clause
/*
 * Protobuf wire format without a schema (docs/grpc.md). A message is a
 * run of (tag, value) where the tag is a varint of field number << 3 |
 * wire type; nothing says whether a length-delimited value is a string,
 * bytes, a nested message or a packed array. The choice made here: valid
 * printable UTF-8 is a string (its detector class is kept, never the
 * text); otherwise a well-formed message is a nested message; otherwise
 * bytes (a string of format binary). Real nested messages start with a
 * tag byte below 0x20 for fields 1-3, which is not printable, so the
 * order rarely errs; a packed array that happens to be well formed as a
 * message is the known miss.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apisonar/catalog/detect.h"
#include "apisonar/catalog/protowire.h"

#define PW_MAX_FIELD_NUM 536870911u /* 2^29 - 1 */

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

struct pw_field {
	uint32_t num;
	uint8_t wt;
	uint32_t order;		/* position in the message, for a stable sort */
	const unsigned char *p; /* WT_LEN: the value's bytes */
	size_t n;
};

static int rd_varint(const unsigned char *p, size_t n, size_t *i, uint64_t *v)
{
	uint64_t r = 0;
	unsigned k;

	for (k = 0; k < 10; k++) {
		unsigned char b;

		if (*i >= n)
			return -1;
		b = p[(*i)++];
		if (k == 9 && b > 1)
			return -1; /* beyond 64 bits */
		r |= (uint64_t)(b & 0x7f) << (7 * k);
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* One field at p[*i]; fills f. -1 when malformed. */
static int rd_field(const unsigned char *p, size_t n, size_t *i, struct pw_field *f)
{
	uint64_t tag, v;

	if (rd_varint(p, n, i, &tag))
		return -1;
	if ((tag >> 3) == 0 || (tag >> 3) > PW_MAX_FIELD_NUM)
		return -1;
	f->num = (uint32_t)(tag >> 3);
	f->wt = (uint8_t)(tag & 7);
	f->p = NULL;
	f->n = 0;
	switch (f->wt) {
	case WT_VARINT:
		return rd_varint(p, n, i, &v);
	case WT_FIXED64:
		if (n - *i < 8)
			return -1;
		*i += 8;
		return 0;
	case WT_FIXED32:
		if (n - *i < 4)
			return -1;
		*i += 4;
		return 0;
	case WT_LEN:
		if (rd_varint(p, n, i, &v) || v > n - *i)
			return -1;
		f->p = p + *i;
		f->n = (size_t)v;
		*i += (size_t)v;
		return 0;
	default: /* groups (3, 4) are deprecated; 6 and 7 do not exist */
		return -1;
	}
}

int pw_is_message(const unsigned char *p, size_t n)
{
	struct pw_field f;
	size_t i = 0;

	while (i < n)
		if (rd_field(p, n, &i, &f))
			return 0;
	return 1;
}

static int field_cmp(const void *a, const void *b)
{
	const struct pw_field *x = a, *y = b;

	if (x->num != y->num)
		return x->num < y->num ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *wire_name(uint8_t wt)
{
	switch (wt) {
	case WT_VARINT:
		return "varint";
	case WT_FIXED64:
		return "fixed64";
	case WT_FIXED32:
		return "fixed32";
	default:
		return "len";
	}
}

static void message_shape(cJSON *node, const unsigned char *p, size_t n, int depth,
			  const struct anon_limits *lim, struct anon_counters *cnt);

/* One value of a field into node. */
static void value_infer(cJSON *node, const struct pw_field *f, int depth,
			const struct anon_limits *lim, struct anon_counters *cnt)
{
	doc_countk(node, "n", 1);
	doc_set_add_static(node, "wire", wire_name(f->wt), 8);
	switch (f->wt) {
	case WT_VARINT:
		doc_set_add_static(node, "types", "integer", 8);
		return;
	case WT_FIXED64:
	case WT_FIXED32:
		doc_set_add_static(node, "types", "number", 8);
		return;
	default:
		break;
	}
	if (doc_utf8_ok(f->p, f->n)) {
		enum detect_format fmt = DF_NONE;
		enum detect_class cl =
		    f->n ? detect_value_format((const char *)f->p, f->n, &fmt) : DC_NONE;

		doc_set_add_static(node, "types", "string", 8);
		doc_set_add_static(node, "formats",
				   fmt == DF_NONE || fmt == DF_INTEGER || fmt == DF_NUMBER ||
					   fmt == DF_BOOL
				       ? "text"
				       : detect_format_name(fmt),
				   32);
		if (cl != DC_NONE)
			doc_set_add_static(node, "sensitive", detect_class_name(cl), 32);
		return;
	}
	if (pw_is_message(f->p, f->n)) {
		message_shape(node, f->p, f->n, depth + 1, lim, cnt);
		return;
	}
	doc_set_add_static(node, "types", "string", 8);
	doc_set_add_static(node, "formats", "binary", 32);
}

/* The object part of a node for a well-formed message: types, objects,
 * a property per field number. */
static void message_shape(cJSON *node, const unsigned char *p, size_t n, int depth,
			  const struct anon_limits *lim, struct anon_counters *cnt)
{
	struct pw_field *fs;
	cJSON *props = NULL;
	size_t i = 0, nf = 0, j, k;

	doc_set_add_static(node, "types", "object", 8);
	doc_countk(node, "objects", 1);
	if (!n)
		return;
	if (depth >= (int)lim->max_depth || depth >= PW_MAX_DEPTH) {
		cnt->limit_depth++;
		return;
	}
	fs = malloc(PW_MAX_FIELDS * sizeof(*fs));
	if (!fs)
		return;
	while (i < n && nf < PW_MAX_FIELDS) {
		if (rd_field(p, n, &i, &fs[nf]))
			break; /* cannot happen: the caller checked */
		fs[nf].order = (uint32_t)nf;
		nf++;
	}
	if (i < n)
		cnt->limit_fields++;
	qsort(fs, nf, sizeof(*fs), field_cmp);
	for (j = 0; j < nf; j = k) {
		char key[16];
		cJSON *child;
		int cut = 0;

		for (k = j + 1; k < nf && fs[k].num == fs[j].num; k++)
			;
		if (!props)
			props = doc_objk(node, "properties");
		if (!props)
			break;
		snprintf(key, sizeof(key), "%u", fs[j].num);
		child = doc_map_get(props, key, lim->max_fields, &cut);
		if (cut)
			cnt->limit_fields++;
		if (!child)
			continue;
		if (k - j == 1) {
			value_infer(child, &fs[j], depth, lim, cnt);
			continue;
		}
		/* repeated within one message: an array of its values */
		doc_countk(child, "n", 1);
		doc_set_add_static(child, "types", "array", 8);
		if (depth + 1 >= (int)lim->max_depth) {
			cnt->limit_depth++;
			continue;
		}
		for (; j < k; j++) {
			cJSON *items = doc_objk(child, "items");

			if (!items)
				break;
			value_infer(items, &fs[j], depth + 1, lim, cnt);
		}
	}
	free(fs);
}

int pw_message_infer(cJSON *node, const unsigned char *p, size_t n, int depth,
		     const struct anon_limits *lim, struct anon_counters *cnt)
{
	if (!pw_is_message(p, n))
		return -EINVAL;
	doc_countk(node, "n", 1);
	message_shape(node, p, n, depth, lim, cnt);
	return 0;
}

long pw_grpc_messages(cJSON *schema, const unsigned char *body, size_t len, const char *encoding,
		      const struct anon_limits *lim, struct anon_counters *cnt, int *partial)
{
	size_t i = 0;
	long count = 0;

	*partial = 0;
	while (i < len) {
		const unsigned char *m;
		unsigned char *inflated = NULL;
		size_t ml, wl, il = 0;

		if (len - i < 5) {
			*partial = 1;
			break;
		}
		if (body[i] > 1)
			return -EINVAL;
		ml = (size_t)body[i + 1] << 24 | (size_t)body[i + 2] << 16 |
		     (size_t)body[i + 3] << 8 | body[i + 4];
		if (ml > len - i - 5) {
			*partial = 1;
			break;
		}
		wl = ml;
		m = body + i + 5;
		if (body[i] & 1) {
			/* compressed with the message encoding the call named */
			if (!encoding || !strcasecmp(encoding, "identity"))
				return -EINVAL;
			if (strcasecmp(encoding, "gzip") && strcasecmp(encoding, "deflate")) {
				cnt->body_undecoded++; /* snappy, zstd, ...: counted only */
				m = NULL;
			} else if (anon_inflate(m, ml, ANON_MAX_INFLATE, &inflated, &il)) {
				return -EINVAL;
			} else {
				m = inflated;
				ml = il;
			}
		}
		if (schema && m && pw_message_infer(schema, m, ml, 1, lim, cnt))
			cnt->body_undecoded++; /* not protobuf (grpc+json, ...) */
		free(inflated);
		count++;
		i += 5 + wl;
	}
	return count;
}
