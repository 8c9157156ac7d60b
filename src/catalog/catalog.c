// SPDX-License-Identifier: BSD-2-Clause
/*
 * The catalog. It is kept as a metadata document (docs/metadata.md) and
 * every change to it goes through one merge, driven by a table that says how
 * each member merges (counts add, first/last seen are min/max, sets union
 * and keep the smallest N, maps keep the smallest N keys, latency buckets
 * add). An exchange becomes an observation document first (src/catalog/anon.c), so
 * adding exchanges and merging documents are the same operation, and the
 * result does not depend on order or grouping.
 *
 * The same table validates documents from outside before anything is
 * merged: unknown keys, wrong types, bad names and bad timestamps are
 * refused with a reason that holds no byte of the document.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/declared_merge.h"
#include "apisonar/catalog/detect.h"
#include "apisonar/catalog/k8s_doc.h"
#include "apisonar/util/util.h"

#define CAT_DEF_SERVICES 256
#define CAT_DEF_ENDPOINTS 1024
#define CAT_DEF_FIELDS 128
#define CAT_DEF_DEPTH 8
#define CAT_MAX_PROCESSES 8
#define CAT_MAX_LEARNED 256
#define CAT_MAX_BODIES 16
#define CAT_MAX_RESPONSES 64
#define CAT_MAX_AUTH 32
#define CAT_MAX_KEY 1100     /* longest map key accepted (a template + method) */
#define CAT_MAX_COUNT 9007199254740992.0 /* 2^53: counts stay exact */
#define CAT_DOC_CAP (256u * 1024 * 1024) /* serialized metadata we write */

enum spec_kind {
	S_COUNT,   /* non-negative integer, adds */
	S_MIN,     /* non-negative integer, min */
	S_MAX,     /* non-negative integer, max */
	S_TMIN,    /* RFC 3339 UTC with ms, min */
	S_TMAX,    /* same, max */
	S_SET,     /* sorted string array, union, capped */
	S_MAP,     /* object keyed by names, children merge, capped */
	S_STRUCT,  /* object with known members */
	S_BUCKETS, /* [[bucket, count], ...] strictly increasing buckets */
	S_DERIVED, /* number recomputed at output; ignored on merge */
	S_CONST,   /* string set once, must not change */
	S_EXTERN,  /* validated and merged by the spec's own function */
};

enum cap_kind { CAP_FIXED, CAP_SERVICES, CAP_ENDPOINTS, CAP_FIELDS };

struct spec;

struct member {
	const char *name;
	const struct spec *sp;
};

struct spec {
	enum spec_kind kind;
	const struct spec *child;       /* S_MAP */
	const struct member *members;   /* S_STRUCT, NULL-terminated */
	enum cap_kind cap_kind;         /* S_MAP, S_SET */
	size_t cap;                     /* CAP_FIXED */
	int (*valid)(const char *s);    /* S_SET elements, S_MAP keys */
	int (*check)(const char *key, const cJSON *v); /* S_STRUCT: consistency with its key */
	int is_node;                    /* S_STRUCT: a schema node (depth counted) */
	/* S_EXTERN: validates src and, with dparent, merges it into dparent's
	 * member key; 0, 1 when a cap cut something, or -EINVAL with *why. */
	int (*merge)(cJSON *dparent, const char *key, const cJSON *src, const char **why);
};

struct catalog {
	struct catalog_limits lim;
	cJSON *doc;               /* {"schema":..., "services": {...}} */
	struct catalog_stats st;  /* exchanges, skipped and limit_* counters */
	struct anon_counters ac;
	uint64_t fresh;           /* endpoints created by exchanges */
};

/* Merge context: where we are and what the caps cut. */
struct mctx {
	struct catalog *c; /* NULL when only validating */
	char *err;
	size_t errlen;
	const char *where; /* last spec member name, for error messages */
	int trusted;       /* our own observation: skip the validation walk */
};

/* ---- validators (they see document strings, never echo them) ----------- */

static int valid_key(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= CAT_MAX_KEY && doc_utf8_ok((const unsigned char *)s, n);
}

int catalog_valid_type(const char *s)
{
	static const char *const t[] = { "array", "boolean", "integer", "null",
					 "number", "object", "string" };
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i]) == 0)
			return 1;
	return 0;
}

int catalog_valid_format(const char *s)
{
	int f;

	if (strcmp(s, "text") == 0 || strcmp(s, "binary") == 0)
		return 1;
	for (f = 1; f < DF__COUNT; f++)
		if (strcmp(s, detect_format_name((enum detect_format)f)) == 0)
			return 1;
	return 0;
}

static int valid_wire(const char *s)
{
	return !strcmp(s, "varint") || !strcmp(s, "fixed64") || !strcmp(s, "len") ||
	       !strcmp(s, "fixed32");
}

static int valid_grpc_call(const char *s)
{
	return !strcmp(s, "unary") || !strcmp(s, "client_streaming") ||
	       !strcmp(s, "server_streaming") || !strcmp(s, "bidi_streaming") ||
	       !strcmp(s, "unknown");
}

/* A gRPC status code (0-16 today, two digits at most) or "none". */
static int valid_grpc_status(const char *s)
{
	if (!strcmp(s, "none"))
		return 1;
	return s[0] >= '0' && s[0] <= '9' && (!s[1] || (s[1] >= '0' && s[1] <= '9' && !s[2]));
}

int catalog_valid_class(const char *s)
{
	int c;

	for (c = 1; c < DC__COUNT; c++)
		if (strcmp(s, detect_class_name((enum detect_class)c)) == 0)
			return 1;
	return 0;
}

int catalog_valid_status(const char *s)
{
	return strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' &&
	       s[2] >= '0' && s[2] <= '9';
}

int catalog_valid_ctype(const char *s)
{
	size_t i, n = strlen(s), slash = 0;

	if (n == 0 || n > 127)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '/') {
			slash++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
		      c == '-' || c == '_'))
			return 0;
	}
	return slash == 1 || strcmp(s, "none") == 0;
}

/* "2026-11-24T03:24:36.123Z": fixed width, so strings order as times. */
static int valid_time(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (strlen(s) != sizeof(pat) - 1)
		return 0;
	for (i = 0; i < sizeof(pat) - 1; i++) {
		if (pat[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return 0;
		} else if (s[i] != pat[i]) {
			return 0;
		}
	}
	return 1;
}

static int endpoint_check(const char *key, const cJSON *v)
{
	const cJSON *m = json_get(v, "method");
	const cJSON *p = json_get(v, "path");
	size_t ml;

	if (!cJSON_IsString(m) || !cJSON_IsString(p))
		return 0;
	ml = strlen(m->valuestring);
	if (ml == 0 || ml > 32 || p->valuestring[0] != '/')
		return 0;
	return strncmp(key, m->valuestring, ml) == 0 && key[ml] == ' ' &&
	       strcmp(key + ml + 1, p->valuestring) == 0;
}

/* ---- the document's shape ------------------------------------------------ */

static const struct spec sp_count = { .kind = S_COUNT };
static const struct spec sp_min = { .kind = S_MIN };
static const struct spec sp_max = { .kind = S_MAX };
static const struct spec sp_tmin = { .kind = S_TMIN };
static const struct spec sp_tmax = { .kind = S_TMAX };
static const struct spec sp_derived = { .kind = S_DERIVED };
static const struct spec sp_const = { .kind = S_CONST };
static const struct spec sp_buckets = { .kind = S_BUCKETS };
static const struct spec sp_types = { .kind = S_SET, .cap_kind = CAP_FIXED, .cap = 8, .valid = catalog_valid_type };
static const struct spec sp_formats = { .kind = S_SET, .cap_kind = CAP_FIXED, .cap = 32, .valid = catalog_valid_format };
static const struct spec sp_classes = { .kind = S_SET, .cap_kind = CAP_FIXED, .cap = 32, .valid = catalog_valid_class };
static const struct spec sp_processes = { .kind = S_SET, .cap_kind = CAP_FIXED, .cap = CAT_MAX_PROCESSES, .valid = valid_key };
static const struct spec sp_learned = { .kind = S_SET, .cap_kind = CAP_FIXED, .cap = CAT_MAX_LEARNED, .valid = valid_key };

static const struct spec sp_wire = { .kind = S_SET, .cap_kind = CAP_FIXED, .cap = 4, .valid = valid_wire };

static const struct spec sp_node;
static const struct spec sp_node_map = { .kind = S_MAP, .child = &sp_node, .cap_kind = CAP_FIELDS, .valid = valid_key };
static const struct member node_members[] = {
	{ "n", &sp_count },	       { "types", &sp_types },	     { "formats", &sp_formats },
	{ "sensitive", &sp_classes },  { "objects", &sp_count },    { "properties", &sp_node_map },
	{ "items", &sp_node },	       { "additional", &sp_node },  { "wire", &sp_wire },
	{ "declared", &sp_max },       { "required", &sp_max },    { NULL, NULL },
};
static const struct spec sp_node = { .kind = S_STRUCT, .members = node_members, .is_node = 1 };

static const struct member size_members[] = {
	{ "min", &sp_min }, { "max", &sp_max }, { "sum", &sp_count }, { NULL, NULL },
};
static const struct spec sp_size = { .kind = S_STRUCT, .members = size_members };

static const struct member lat_members[] = {
	{ "count", &sp_count }, { "buckets", &sp_buckets }, { "p50_ms", &sp_derived },
	{ "p95_ms", &sp_derived }, { "p99_ms", &sp_derived }, { NULL, NULL },
};
static const struct spec sp_latency = { .kind = S_STRUCT, .members = lat_members };

static const struct member body_members[] = {
	{ "count", &sp_count }, { "size", &sp_size }, { "schema", &sp_node }, { NULL, NULL },
};
static const struct spec sp_body = { .kind = S_STRUCT, .members = body_members };
static const struct spec sp_bodies = { .kind = S_MAP, .child = &sp_body, .cap_kind = CAP_FIXED, .cap = CAT_MAX_BODIES, .valid = catalog_valid_ctype };

static const struct member params_members[] = {
	{ "path", &sp_node_map }, { "query", &sp_node_map }, { "header", &sp_node_map },
	{ "cookie", &sp_node_map }, { NULL, NULL },
};
static const struct spec sp_params = { .kind = S_STRUCT, .members = params_members };

static const struct member req_members[] = {
	{ "bodies", &sp_bodies }, { "size", &sp_size }, { NULL, NULL },
};
static const struct spec sp_request = { .kind = S_STRUCT, .members = req_members };

static const struct member resp_members[] = {
	{ "count", &sp_count }, { "headers", &sp_node_map }, { "cookies", &sp_node_map },
	{ "bodies", &sp_bodies }, { "size", &sp_size }, { "declared", &sp_max }, { NULL, NULL },
};
static const struct spec sp_response = { .kind = S_STRUCT, .members = resp_members };
static const struct spec sp_responses = { .kind = S_MAP, .child = &sp_response, .cap_kind = CAP_FIXED, .cap = CAT_MAX_RESPONSES, .valid = catalog_valid_status };

/* gRPC methods (docs/grpc.md): calls by kind, grpc-status, messages. */
static const struct spec sp_grpc_calls = { .kind = S_MAP, .child = &sp_count, .cap_kind = CAP_FIXED, .cap = 5, .valid = valid_grpc_call };
static const struct spec sp_grpc_status = { .kind = S_MAP, .child = &sp_count, .cap_kind = CAP_FIXED, .cap = 32, .valid = valid_grpc_status };
static const struct member grpc_members[] = {
	{ "calls", &sp_grpc_calls }, { "status", &sp_grpc_status },
	{ "request_messages", &sp_size }, { "response_messages", &sp_size }, { NULL, NULL },
};
static const struct spec sp_grpc = { .kind = S_STRUCT, .members = grpc_members };

static const struct spec sp_auth = { .kind = S_MAP, .child = &sp_count, .cap_kind = CAP_FIXED, .cap = CAT_MAX_AUTH, .valid = valid_key };

static const struct member ep_members[] = {
	{ "method", &sp_const },     { "path", &sp_const },	  { "count", &sp_count },
	{ "first_seen", &sp_tmin },  { "last_seen", &sp_tmax },  { "parameters", &sp_params },
	{ "auth", &sp_auth },	     { "request", &sp_request }, { "responses", &sp_responses },
	{ "latency", &sp_latency },  { "grpc", &sp_grpc },	  { "declared", &sp_max },
	{ "sample", &sp_count },     { NULL, NULL },
};
static const struct spec sp_endpoint = { .kind = S_STRUCT, .members = ep_members, .check = endpoint_check };
static const struct spec sp_endpoints = { .kind = S_MAP, .child = &sp_endpoint, .cap_kind = CAP_ENDPOINTS, .valid = valid_key };

/* The workload identity of a server (docs/metadata.md, src/daemon/k8s.c). */
static const struct spec sp_kubernetes = { .kind = S_EXTERN, .merge = k8s_doc_merge };

static const struct member svc_members[] = {
	{ "processes", &sp_processes }, { "learned", &sp_learned }, { "endpoints", &sp_endpoints },
	{ "kubernetes", &sp_kubernetes }, { "exchanges", &sp_count }, { NULL, NULL },
};
static const struct spec sp_service = { .kind = S_STRUCT, .members = svc_members };
static const struct spec sp_services = { .kind = S_MAP, .child = &sp_service, .cap_kind = CAP_SERVICES, .valid = valid_key };

/* ---- the merge ------------------------------------------------------------ */

static int fail(struct mctx *m, const char *why)
{
	if (m->err && m->errlen)
		snprintf(m->err, m->errlen, "%s: %s", m->where ? m->where : "document", why);
	return -EINVAL;
}

static size_t spec_cap(const struct mctx *m, const struct spec *sp)
{
	if (!m->c)
		return SIZE_MAX;
	switch (sp->cap_kind) {
	case CAP_SERVICES:
		return m->c->lim.max_services;
	case CAP_ENDPOINTS:
		return m->c->lim.max_endpoints;
	case CAP_FIELDS:
		return m->c->lim.max_fields;
	default:
		return sp->cap;
	}
}

static void count_cut(struct mctx *m, const struct spec *sp)
{
	if (!m->c)
		return;
	if (sp->cap_kind == CAP_SERVICES)
		m->c->st.limit_services++;
	else if (sp->cap_kind == CAP_ENDPOINTS)
		m->c->st.limit_endpoints++;
	else
		m->c->st.limit_fields++;
}

static int num_ok(const cJSON *v)
{
	double d;

	if (!cJSON_IsNumber(v))
		return 0;
	d = v->valuedouble;
	return d >= 0 && d <= CAT_MAX_COUNT && (double)(long long)d == d;
}

/* Adds item to obj under key, a name with static storage (a member name of
 * the spec tables, or a literal): kept by reference, not copied, which also
 * lets merge_struct find it again by pointer. NULL when item is NULL. */
static cJSON *add_static(cJSON *obj, const char *key, cJSON *item)
{
	if (!item)
		return NULL;
	if (!cJSON_AddItemToObjectCS(obj, key, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return item;
}

static int merge_value(cJSON *dparent, const char *key, cJSON *dhint, const cJSON *src,
		       const struct spec *sp, struct mctx *m, unsigned depth);

/* Merges the members of src into dst (dst NULL: validate only). */
static int merge_struct(cJSON *dst, const cJSON *src, const struct spec *sp, struct mctx *m,
			unsigned depth)
{
	const cJSON *it;
	const struct member *mb;
	cJSON *hint, *guess = dst ? dst->child : NULL;
	int rc;

	if (!cJSON_IsObject(src))
		return fail(m, "expected an object");
	if (sp->is_node) {
		depth++;
		if (m->c && depth > m->c->lim.max_depth) {
			/* Past the depth cap a node keeps its counts, not its children. */
			for (it = src->child; it; it = it->next)
				if (strcmp(it->string, "properties") == 0 ||
				    strcmp(it->string, "items") == 0 ||
				    strcmp(it->string, "additional") == 0) {
					m->c->st.limit_depth++;
					break;
				}
		}
	}
	for (it = src->child; it; it = it->next) {
		for (mb = sp->members; mb->name; mb++)
			if (mb->name == it->string ||
			    (mb->name[0] == it->string[0] && strcmp(mb->name, it->string) == 0))
				break;
		if (!mb->name)
			return fail(m, "unknown member");
		if (sp->is_node && m->c && depth > m->c->lim.max_depth &&
		    (mb->sp == &sp_node || mb->sp == &sp_node_map))
			continue;
		m->where = mb->name;
		/* Members usually come in the order the catalog stored them:
		 * try the one after the last match before scanning. The
		 * catalog names its members with the table's own strings
		 * (merge_value), so the test is mostly a pointer compare. */
		hint = NULL;
		if (dst) {
			if (guess &&
			    (guess->string == mb->name || strcmp(guess->string, mb->name) == 0))
				hint = guess;
			else
				hint = json_get(dst, mb->name);
		}
		guess = hint ? hint->next : NULL;
		rc = merge_value(dst, mb->name, hint, it, mb->sp, m, depth);
		if (rc)
			return rc;
	}
	return 0;
}

static int merge_set(cJSON *dparent, const char *key, const cJSON *src, const struct spec *sp,
		     struct mctx *m)
{
	const cJSON *it;
	size_t cap = spec_cap(m, sp);

	if (!cJSON_IsArray(src))
		return fail(m, "expected an array");
	for (it = src->child; it && !m->trusted; it = it->next) {
		if (!cJSON_IsString(it) || !sp->valid(it->valuestring))
			return fail(m, "bad set element");
		if (it->prev != src->child->prev && it != src->child &&
		    strcmp(it->prev->valuestring, it->valuestring) >= 0)
			return fail(m, "set not sorted or not unique");
	}
	if (!dparent)
		return 0;
	if (!json_get(dparent, key))
		add_static(dparent, key, cJSON_CreateArray());
	for (it = src->child; it; it = it->next)
		if (doc_set_add(dparent, key, it->valuestring, cap))
			count_cut(m, sp);
	return 0;
}

static int merge_buckets(cJSON *dparent, const char *key, const cJSON *src, struct mctx *m)
{
	const cJSON *it;
	cJSON *arr, *d;
	long last = -1;

	if (!cJSON_IsArray(src))
		return fail(m, "expected an array");
	for (it = src->child; it; it = it->next) {
		const cJSON *b = cJSON_GetArrayItem(it, 0), *n = cJSON_GetArrayItem(it, 1);

		if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 2 || !num_ok(b) || !num_ok(n) ||
		    b->valuedouble >= DOC_LAT_BUCKETS || (long)b->valuedouble <= last ||
		    n->valuedouble < 1)
			return fail(m, "bad latency bucket");
		last = (long)b->valuedouble;
	}
	if (!dparent)
		return 0;
	d = json_get(dparent, key);
	if (!d) {
		d = add_static(dparent, key, cJSON_CreateArray());
		if (!d)
			return -ENOMEM;
	}
	/* Both lists are sorted by bucket: one in-place walk adds them. */
	arr = d->child;
	for (it = src->child; it; it = it->next) {
		double b = cJSON_GetArrayItem(it, 0)->valuedouble;
		double n = cJSON_GetArrayItem(it, 1)->valuedouble;
		cJSON *pair;

		while (arr && arr->child->valuedouble < b)
			arr = arr->next;
		if (arr && arr->child->valuedouble == b) {
			cJSON_SetNumberValue(arr->child->next, arr->child->next->valuedouble + n);
			continue;
		}
		pair = cJSON_CreateArray();
		if (!pair)
			return -ENOMEM;
		cJSON_AddItemToArray(pair, cJSON_CreateNumber(b));
		cJSON_AddItemToArray(pair, cJSON_CreateNumber(n));
		if (arr) {
			/* Link pair before arr (cJSON: head->prev is the tail). */
			pair->next = arr;
			pair->prev = arr->prev;
			if (arr == d->child)
				d->child = pair;
			else
				arr->prev->next = pair;
			arr->prev = pair;
		} else {
			cJSON_AddItemToArray(d, pair);
		}
	}
	return 0;
}

static int merge_map(cJSON *dparent, const char *key, const cJSON *src, const struct spec *sp,
		     struct mctx *m, unsigned depth)
{
	const cJSON *it;
	cJSON *dmap = NULL;
	size_t cap = spec_cap(m, sp);
	int rc;

	if (!cJSON_IsObject(src))
		return fail(m, "expected an object");
	for (it = src->child; it && !m->trusted; it = it->next) {
		const cJSON *o;

		if (!sp->valid(it->string))
			return fail(m, "bad key");
		for (o = src->child; o != it; o = o->next)
			if (strcmp(o->string, it->string) == 0)
				return fail(m, "duplicate key");
	}
	if (dparent) {
		dmap = json_get(dparent, key);
		if (!dmap)
			dmap = add_static(dparent, key, cJSON_CreateObject());
		if (!dmap)
			return -ENOMEM;
	}
	for (it = src->child; it; it = it->next) {
		const char *w = m->where;

		if (!m->trusted && sp->child->kind == S_STRUCT && sp->child->check &&
		    !sp->child->check(it->string, it))
			return fail(m, "member does not match its key");
		if (!dmap) {
			rc = merge_value(NULL, it->string, NULL, it, sp->child, m, depth);
		} else if (sp->child->kind == S_COUNT) {
			int cut = 0;

			if (!num_ok(it))
				return fail(m, "expected a count");
			if (!json_get(dmap, it->string)) {
				/* Count maps: use the same keep-smallest rule. */
				cJSON *tmp = doc_map_get(dmap, it->string, cap, &cut);

				if (cut)
					count_cut(m, sp);
				if (!tmp)
					continue;
				cJSON_DeleteItemFromObjectCaseSensitive(dmap, it->string);
			}
			doc_count_add(dmap, it->string, it->valuedouble);
			rc = 0;
		} else {
			int cut = 0;
			cJSON *d = doc_map_get(dmap, it->string, cap, &cut);

			if (cut)
				count_cut(m, sp);
			if (!d)
				continue;
			/* d is the member itself; merge into it through its parent. */
			rc = merge_value(dmap, it->string, d, it, sp->child, m, depth);
		}
		m->where = w;
		if (rc)
			return rc;
	}
	return 0;
}

/* A member with a merge of its own: its reason becomes ours, a cut is
 * counted like a set's. */
static int merge_extern(cJSON *dparent, const char *key, const cJSON *src, const struct spec *sp,
			struct mctx *m)
{
	const char *why = "bad member";
	int rc = sp->merge(dparent, key, src, &why);

	if (rc == -EINVAL)
		return fail(m, why);
	if (rc < 0)
		return rc;
	if (rc > 0)
		count_cut(m, sp);
	return 0;
}

/* One member of a document merged into the member key of dparent (dhint:
 * that member when the caller already found it). A member it creates is
 * named by key itself, so key must have static storage whenever the member
 * may be missing (callers with a transient key pass it in dhint). */
static int merge_value(cJSON *dparent, const char *key, cJSON *dhint, const cJSON *src,
		       const struct spec *sp, struct mctx *m, unsigned depth)
{
	cJSON *d = dhint ? dhint : dparent ? json_get(dparent, key) : NULL;

	switch (sp->kind) {
	case S_COUNT:
	case S_MIN:
	case S_MAX:
		if (!num_ok(src))
			return fail(m, "expected a non-negative integer");
		if (!dparent)
			return 0;
		if (!d)
			add_static(dparent, key, cJSON_CreateNumber(src->valuedouble));
		else if (sp->kind == S_COUNT)
			cJSON_SetNumberValue(d, d->valuedouble + src->valuedouble);
		else if ((sp->kind == S_MIN) == (src->valuedouble < d->valuedouble))
			cJSON_SetNumberValue(d, src->valuedouble);
		return 0;
	case S_TMIN:
	case S_TMAX:
		if (!cJSON_IsString(src) || !valid_time(src->valuestring))
			return fail(m, "expected an RFC 3339 UTC time with milliseconds");
		if (!dparent)
			return 0;
		if (!d) {
			add_static(dparent, key, cJSON_CreateString(src->valuestring));
		} else if ((sp->kind == S_TMIN) == (strcmp(src->valuestring, d->valuestring) < 0)) {
			/* Valid times have one width: overwrite in place. */
			size_t l = strlen(src->valuestring);

			if (cJSON_IsString(d) && !(d->type & cJSON_IsReference) &&
			    strlen(d->valuestring) == l)
				memcpy(d->valuestring, src->valuestring, l + 1);
			else
				cJSON_ReplaceItemInObjectCaseSensitive(
					dparent, key, cJSON_CreateString(src->valuestring));
		}
		return 0;
	case S_DERIVED:
		if (!cJSON_IsNumber(src))
			return fail(m, "expected a number");
		return 0;
	case S_CONST:
		if (!cJSON_IsString(src))
			return fail(m, "expected a string");
		if (dparent && !d)
			add_static(dparent, key, cJSON_CreateString(src->valuestring));
		return 0;
	case S_SET:
		return merge_set(dparent, key, src, sp, m);
	case S_BUCKETS:
		return merge_buckets(dparent, key, src, m);
	case S_MAP:
		return merge_map(dparent, key, src, sp, m, depth);
	case S_EXTERN:
		return merge_extern(dparent, key, src, sp, m);
	case S_STRUCT:
		if (dparent && !d) {
			d = add_static(dparent, key, cJSON_CreateObject());
			if (!d)
				return -ENOMEM;
		}
		return merge_struct(d, src, sp, m, depth);
	}
	return fail(m, "bad spec");
}

/* ---- path templating: which literals are values (issue 12) --------------- */

/*
 * The evidence of a service is the set of its endpoints with their counts.
 * Read as a trie of path segments across methods, each position (a prefix)
 * has children; a child has a support (requests through it) and a subtree
 * signature (what follows it: method, the shape of the rest of the path,
 * the field names of its bodies). Positions are decided top-down, so the
 * values at one position are merged before the position after them is
 * looked at (a value beside a second variable position). The rule and
 * its reasons are in docs/anonymizer.md ("Path templates").
 */

#define TPL_MAX_SIG 64 /* signature elements kept per child (the smallest) */
#define TPL_HOT 4      /* support above TPL_HOT x the median: not a typical value */
#define TPL_RATIO 16   /* a literal under 1/TPL_RATIO of the parameter's support */
#define TPL_STORE_MIN 8 /* literals of a group before a stored (not output) decision */
#define TPL_DRAWS 4 /* requests per literal under which a group of one-offs is drawn from a large space */
#define TPL_NAMESPACE 3 /* segments after a digit that make it a version */

/* Splits "/a/b" into segment pointers (within a copy). */
static size_t split_path(char *p, char **seg, size_t max)
{
	size_t n = 0;
	char *s = p;

	if (*s == '/')
		s++;
	while (*s && n < max) {
		char *e = strchr(s, '/');

		seg[n++] = s;
		if (!e)
			break;
		*e = '\0';
		s = e + 1;
	}
	return n;
}

#define FMT_SUFFIX ".{format}" /* a format parameter: fold_formats() */

/* A parameter segment: "{name}" with an optional suffix ("{id}.json"). */
static int is_param_seg(const char *s)
{
	return s[0] == '{' && strchr(s, '}') != NULL;
}

/* A segment with a parameter inside ("page-{page}.atom"): a template
 * already, never a value of its own. */
static int templated(const char *s)
{
	return strchr(s, '{') != NULL;
}

/* The suffix of a segment: what follows "}" of a parameter, or the
 * extension anon_suffix() finds in a literal. */
static const char *seg_suffix(const char *s)
{
	size_t n = strlen(s);

	if (is_param_seg(s))
		return strchr(s, '}') + 1;
	if (n >= sizeof(FMT_SUFFIX) - 1 && strcmp(s + n - (sizeof(FMT_SUFFIX) - 1), FMT_SUFFIX) == 0)
		return s + n - (sizeof(FMT_SUFFIX) - 1);
	return s + anon_suffix(s, n);
}

/* Joins segments into "/a/b", replacing segment pos with rep when rep. */
static int join_path(char **seg, size_t n, size_t pos, const char *rep, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (n == 0) {
		if (outlen < 2)
			return -E2BIG;
		out[0] = '/';
		out[1] = '\0';
		return 0;
	}
	for (i = 0; i < n; i++) {
		const char *s = (i == pos && rep) ? rep : seg[i];
		size_t l = strlen(s);

		if (o + 1 + l + 1 > outlen)
			return -E2BIG;
		out[o++] = '/';
		memcpy(out + o, s, l);
		o += l;
	}
	out[o] = '\0';
	return 0;
}

/* Words APIs use beside an id at the same position (/users/me next to
 * /users/{id}): never taken for values, whatever the evidence says. */
static int api_word(const char *s)
{
	static const char *const words[] = {
		"all", "batch", "bulk", "config", "count", "current", "default", "export",
		"health", "import", "latest", "login", "logout", "me", "mine", "new", "profile",
		"register", "search", "self", "settings", "signin", "signout", "signup",
		"stats", "status", "summary", "upload", "validate", "verify", "version",
		/* the verbs of RPC-style APIs (/favorites/create.json,
		 * /friendships/lookup.json, /chat.postMessage) */
		"add", "approve", "archive", "cancel", "create", "delete", "deploy", "destroy",
		"disable", "enable", "incoming", "info", "list", "lookup", "next", "outgoing",
		"pause", "play", "previous", "remove", "reset", "restart", "restore", "resume",
		"retry", "sent", "show", "start", "stop", "sync", "undeploy", "update", NULL,
	};
	static const char *const verbs[] = { "find", "search", "list", "get", "by", "create",
					     "update", "delete", "set", "remove", NULL };
	size_t i, l, n = strlen(s);
	const char *suf = s + anon_suffix(s, n);

	for (i = 0; words[i]; i++)
		if (strlen(words[i]) == (size_t)(suf - s) && strncasecmp(words[i], s, (size_t)(suf - s)) == 0)
			return 1;
	/* a version: v1, v2, V10 */
	if ((s[0] == 'v' || s[0] == 'V') && s + 1 < suf && suf - s <= 4) {
		for (i = 1; s + i < suf && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (s + i == suf)
			return 1;
	}
	/* a verb, then a capital or a separator and a word: getUserById,
	 * update_profile_image, list-members */
	for (i = 0; verbs[i]; i++) {
		l = strlen(verbs[i]);
		if (strncmp(s, verbs[i], l) == 0 &&
		    ((s[l] >= 'A' && s[l] <= 'Z') ||
		     ((s[l] == '_' || s[l] == '-') && s[l + 1] >= 'a' && s[l + 1] <= 'z')))
			return 1;
	}
	return 0;
}

/* An endpoint key split: method and segments, in buf. */
struct epath {
	char method[40];
	char buf[1024];
	char *seg[ANON_MAX_SEGMENTS];
	size_t n;
};

static int epath_parse(const char *key, struct epath *p)
{
	const char *sp = strchr(key, ' ');

	if (!sp || (size_t)(sp - key) >= sizeof(p->method) || strlen(sp + 1) >= sizeof(p->buf))
		return -EINVAL;
	memcpy(p->method, key, (size_t)(sp - key));
	p->method[sp - key] = '\0';
	memcpy(p->buf, sp + 1, strlen(sp + 1) + 1);
	p->n = split_path(p->buf, p->seg, ANON_MAX_SEGMENTS);
	return 0;
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* An order-free hash of the field names and types of a schema node, one
 * level deep (and one level into array items): what a body looks like,
 * not what it holds. */
static uint64_t node_sig(const cJSON *node)
{
	const cJSON *it, *props = json_get(node, "properties"), *items = json_get(node, "items");
	uint64_t h = 0;

	cJSON_ArrayForEach(it, json_get(node, "types"))
		if (cJSON_IsString(it))
			h += fnv(1469598103934665603ull, it->valuestring);
	cJSON_ArrayForEach(it, props)
		h += fnv(7809847782465536322ull, it->string) * 3;
	if (items)
		h += node_sig(items) * 5 + 11;
	if (json_get(node, "additional"))
		h += 13;
	return h;
}

/* What the bodies of an endpoint look like: request bodies and the bodies
 * of its 2xx responses (an error body says nothing of the operation). */
static uint64_t body_sig(const cJSON *ep)
{
	const cJSON *b, *r, *req = json_get(ep, "request");
	uint64_t h = 0;

	cJSON_ArrayForEach(b, json_get(req, "bodies"))
		h += node_sig(json_get(b, "schema")) * 7 + 1;
	cJSON_ArrayForEach(r, json_get(ep, "responses"))
		if (r->string[0] == '2')
			cJSON_ArrayForEach(b, json_get(r, "bodies"))
				h += node_sig(json_get(b, "schema")) * 31 + 3;
	return h;
}

/* One endpoint seen from one position: the child it goes through and the
 * signature element it gives that child. */
struct trow {
	cJSON *ep;
	char *prefix;   /* segments before the position, parameters as "{}" */
	char *child;    /* the segment at the position ("{}" + suffix for a parameter) */
	const char *suffix;
	uint64_t coarse; /* method and rest shape */
	uint64_t alt;    /* the same with a word after the position taken for a parameter */
	uint64_t finealt; /* alt and the bodies */
	uint64_t fine;   /* the same and the bodies */
	double count;
	int param;
	int leaf; /* the endpoint ends at this position */
	uint64_t next; /* the segment after the position by name ("{}" for a parameter), or 0 */
};

static int trow_cmp(const void *a, const void *b)
{
	const struct trow *x = a, *y = b;
	int c = strcmp(x->prefix, y->prefix);

	return c ? c : strcmp(x->child, y->child);
}

/* A child of one position (one prefix and suffix). */
struct tchild {
	size_t first, end; /* its rows [first, end) */
	double support;
	uint64_t fine[TPL_MAX_SIG], coarse[TPL_MAX_SIG], alt[TPL_MAX_SIG], finealt[TPL_MAX_SIG];
	size_t nfine, ncoarse, nalt, nfinealt;
	int param, value, root;
	int dir; /* a literal that is also a directory of its own (/popular.atom and /popular/...) */
	int leaf; /* some endpoint ends at this child */
	uint64_t nexts[TPL_MAX_SIG]; /* the segments after it */
	size_t nnext;
	int learned; /* values were found at its position and suffix before */
};

static void sig_add(uint64_t *set, size_t *n, uint64_t v)
{
	size_t i, j;

	for (i = 0; i < *n && set[i] < v; i++)
		;
	if (i < *n && set[i] == v)
		return;
	if (*n == TPL_MAX_SIG) {
		if (i == TPL_MAX_SIG)
			return; /* keep the smallest: the same whatever the order */
		(*n)--;
	}
	for (j = *n; j > i; j--)
		set[j] = set[j - 1];
	set[i] = v;
	(*n)++;
}

static int sig_meets(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j])
			return 1;
		if (a[i] < b[j])
			i++;
		else
			j++;
	}
	return 0;
}

/* Every element of a is in b. */
static int sig_within(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j]) {
			i++;
			j++;
		} else if (a[i] > b[j]) {
			j++;
		} else {
			return 0;
		}
	}
	return i == na;
}

/* How many elements of a are in b. */
static size_t sig_shared(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
	size_t i = 0, j = 0, n = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j]) {
			n++;
			i++;
			j++;
		} else if (a[i] < b[j]) {
			i++;
		} else {
			j++;
		}
	}
	return n;
}

static size_t uf_find(struct tchild *ch, size_t i)
{
	while ((size_t)ch[i].root != i) {
		ch[i].root = ch[ch[i].root].root;
		i = (size_t)ch[i].root;
	}
	return i;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Decides which literal children of one position are values. ch[0..k)
 * are the children (literals and parameters, each with its suffix) of one
 * prefix; root is set for the first segment, where resource names live
 * and values are rare (only a parameter beside them opens it). Returns how
 * many were marked ch[i].value.
 *
 * Children with the same suffix that behave alike (an element of their
 * subtree signatures in common) form a group, and the parameter children
 * of a suffix are in one group. A group is open when a parameter is in it
 * or when half its literals or more were seen once (draws from a large
 * space, not a small set that repeats). In an open group a literal is a
 * value when its support is typical of the group (at most TPL_HOT times
 * the median), when it was seen once or twice beside a parameter, or when
 * it does nothing the rest of the group does not do (a hot id); a literal
 * that does things of its own with a high support stays (/users/me). A
 * closed group of three or more literals that do exactly the same and are
 * requested about equally is an enum (/pets/findByStatus/sold). Beside a
 * parameter, a literal seen once that does only what a parameter does is
 * a value; so are literals seen once or twice that share a signature with
 * each other.
 */
static size_t decide_position(struct tchild *ch, size_t k, const struct trow *rows, int root,
			      int final)
{
	size_t i, j, nvals = 0, np = 0;
	int k_dir = 1;
	uint64_t pcoarse[TPL_MAX_SIG], pnext[TPL_MAX_SIG];
	size_t npc = 0, npn = 0;
	double psup = 0;
	double *sup;

	/* A name seen both with a suffix and as a directory of its own
	 * (/categories.atom and /categories/{c}/page-2.atom, /popular.json
	 * and /popular/today.json) is a resource, not a value: values do
	 * not come back in two roles, unless the parameters of the position
	 * do and carry most of its requests (/categories/{c}.atom and
	 * /categories/{c}/title.atom: a value in both roles). The children
	 * are sorted by name. */
	{
		double psup = 0, lsup = 0;
		int proles = 0;

		for (i = 0; i < k; i++) {
			if (!ch[i].param) {
				lsup += ch[i].support;
				continue;
			}
			psup += ch[i].support;
			proles |= *rows[ch[i].first].suffix ? 1 : ch[i].leaf ? 0 : 2;
		}
		if (proles == 3 && psup > lsup)
			k_dir = 0;
	}
	for (i = 0; k_dir && i < k; i++) {
		const char *w = rows[ch[i].first].child, *suf = rows[ch[i].first].suffix;
		size_t lo = 0, hi = k, sl = (size_t)(suf - w);

		if (ch[i].param || !*suf)
			continue;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			const char *m = rows[ch[mid].first].child;
			int cmp = strncmp(m, w, sl);

			if (cmp == 0)
				cmp = m[sl] ? 1 : 0;
			if (cmp < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < k && !ch[lo].param && strncmp(rows[ch[lo].first].child, w, sl) == 0 &&
		    rows[ch[lo].first].child[sl] == '\0' && !ch[lo].leaf) {
			ch[i].dir = 1;
			ch[lo].dir = 1;
		}
	}
	/* A digit is kept by the anonymizer for this: a version when
	 * resources of their own follow it (/search/2/geocode, /search/2/poi,
	 * ...), an id otherwise (/categories/7, /users/7/orders). Decided at
	 * output only: a stored decision would stay. */
	for (i = 0; final && i < k; i++) {
		const char *w = rows[ch[i].first].child;

		if (!ch[i].param && anon_version_number(w, strlen(w) - strlen(rows[ch[i].first].suffix)) &&
		    ch[i].nnext < TPL_NAMESPACE) {
			ch[i].value = 1;
			nvals++;
		}
	}
	if (k < 2)
		return nvals;
	sup = malloc(k * sizeof(*sup));
	if (!sup)
		return nvals;
	for (i = 0; i < k; i++)
		ch[i].root = (int)i;
	for (i = 0; i < k; i++) {
		if (ch[i].param) {
			for (j = 0; j < ch[i].ncoarse; j++)
				sig_add(pcoarse, &npc, ch[i].coarse[j]);
			for (j = 0; j < ch[i].nnext; j++)
				sig_add(pnext, &npn, ch[i].nexts[j]);
			psup += ch[i].support;
			np++;
		}
		for (j = 0; j < i; j++) {
			size_t a = uf_find(ch, i), b = uf_find(ch, j);

			if (a == b || strcmp(rows[ch[i].first].suffix, rows[ch[j].first].suffix) != 0)
				continue;
			if ((ch[i].param && ch[j].param) ||
			    sig_meets(ch[i].fine, ch[i].nfine, ch[j].fine, ch[j].nfine) ||
			    (ch[i].param && !ch[j].param &&
			     sig_meets(ch[j].finealt, ch[j].nfinealt, ch[i].fine, ch[i].nfine)) ||
			    (!ch[i].param && ch[j].param &&
			     sig_meets(ch[i].finealt, ch[i].nfinealt, ch[j].fine, ch[j].nfine)))
				ch[a > b ? a : b].root = (int)(a > b ? b : a);
		}
	}
	for (i = 0; i < k; i++) {
		size_t r = uf_find(ch, i), nl = 0, f1 = 0, low = 0, m, same = 1;
		int hasp = 0, open, sroot, drawn, learned;
		double med, sp = 0, tot = 0;

		if (r != i)
			continue; /* each group once, from its root */
		for (j = i; j < k; j++) {
			if (uf_find(ch, j) != r)
				continue;
			if (ch[j].param) {
				hasp = 1;
				sp += ch[j].support;
				continue;
			}
			sup[nl++] = ch[j].support;
			tot += ch[j].support;
			f1 += ch[j].support <= 1;
			low += ch[j].support <= 2;
		}
		if (nl == 0)
			continue;
		for (j = i, learned = 0; j < k; j++)
			if (uf_find(ch, j) == r)
				learned |= ch[j].learned;
		qsort(sup, nl, sizeof(*sup), dbl_cmp);
		med = sup[(nl - 1) / 2];
		/* At the root, a group of one-offs that share a suffix
		 * (/maple-river.json, /cedar20.json, ...) is a value position
		 * like any other: resource names there go without one. */
		sroot = root && rows[ch[i].first].suffix[0] && nl >= 3 && 2 * f1 >= nl &&
			nl * TPL_DRAWS >= tot;
		/* Stored decisions stay (they are merged, not undone), so
		 * while the catalog fills they wait for TPL_STORE_MIN literals;
		 * the output decides on what it has, a parameter when the
		 * evidence is thin. */
		drawn = !root && nl >= 3 && 2 * f1 >= nl && nl * TPL_DRAWS >= tot;
		if (final)
			open = hasp || sroot || drawn ||
			       (!root && np && nl >= 2 && low == nl) ||
			       (!root && nl == 2 && f1 == 2 && ch[i].nfine == 1);
		else if (root)
			open = 0; /* EXPERIMENT */
		else
			open = (nl >= TPL_STORE_MIN &&
				(hasp || (!root && 2 * f1 >= nl && nl * TPL_DRAWS >= tot))) ||
			       (hasp && learned);
		if (!open) {
			/* an enum: identical subtrees, balanced support, each
			 * value seen more than once */
			for (j = i; j < k && same; j++)
				if (uf_find(ch, j) == r && j != i &&
				    (ch[j].nfine != ch[i].nfine ||
				     memcmp(ch[j].fine, ch[i].fine, ch[i].nfine * sizeof(uint64_t))))
					same = 0;
			if (root || !(same && nl >= 3 && f1 == 0 && sup[nl - 1] <= 3 * sup[0] + 2))
				continue;
		}
		for (j = i; j < k; j++) {
			int v = !open;
			uint64_t uni[TPL_MAX_SIG];
			size_t nu = 0;

			if (uf_find(ch, j) != r || ch[j].param)
				continue;
			/* At the root, where resource and method names live and
			 * an API envelope makes every leaf look alike, only a
			 * child with a subtree of its own, seen once or twice
			 * or far less than the parameter, can be a value. */
			if (root && ch[j].leaf && !sroot)
				continue;
			/* typical of an open group; beside a parameter, a literal
			 * requested more than the parameter is not one of its
			 * values (a wrongly kept id under /products/{id}/ does not
			 * make /images a value) */
			if ((!root || sroot) && nl >= 3 && ch[j].support <= TPL_HOT * med &&
			    (!hasp || ch[j].support <= sp || drawn))
				v = 1;
			if ((hasp || np) && ch[j].support <= 2)
				v = 1;
			if (hasp && TPL_RATIO * ch[j].support <= sp)
				v = 1;
			if (!v && !root) {
				/* A hot child that does mostly what the rest of
				 * the group does: a value hit often (a Zipf-hot
				 * id); a literal beside values does things of its
				 * own (/users/me). */
				for (m = i; m < k; m++)
					if (m != j && uf_find(ch, m) == r) {
						size_t q;

						for (q = 0; q < ch[m].nfine; q++)
							sig_add(uni, &nu, ch[m].fine[q]);
					}
				if (nu && 2 * sig_shared(ch[j].fine, ch[j].nfine, uni, nu) >= ch[j].nfine)
					v = 1;
			}
			if (v && !ch[j].value && !ch[j].dir && !templated(rows[ch[j].first].child) &&
			    !api_word(rows[ch[j].first].child)) {
				ch[j].value = 1;
				nvals++;
			}
		}
	}
	/* A literal seen once that does only what a parameter does (not at
	 * the root: see above); or a literal with a subtree that is the
	 * parameter's (the same shapes, the same names after it) and a
	 * small share of its requests (/b/{}/o/cloud-orders/copyTo/... beside
	 * /b/{}/o/{}/copyTo/...: an object name requested three times). */
	if (np && !root && final)
		for (i = 0; i < k; i++)
			if (!ch[i].param && !ch[i].value && !ch[i].dir &&
			    (ch[i].support <= 2 ||
			     (!ch[i].leaf && ch[i].nnext && TPL_RATIO * ch[i].support <= psup &&
			      sig_within(ch[i].nexts, ch[i].nnext, pnext, npn))) &&
			    !templated(rows[ch[i].first].child) &&
			    (sig_within(ch[i].coarse, ch[i].ncoarse, pcoarse, npc) ||
			     sig_within(ch[i].alt, ch[i].nalt, pcoarse, npc)) &&
			    !api_word(rows[ch[i].first].child)) {
				ch[i].value = 1;
				nvals++;
			}
	free(sup);
	return nvals;
}

struct pused {
	char **seg;
	size_t upto;
};

/* Whether a name is taken by a parameter before the position. */
static int prefix_uses(void *arg, const char *name)
{
	struct pused *u = arg;
	size_t i, l = strlen(name);

	for (i = 0; i < u->upto; i++)
		if (is_param_seg(u->seg[i]) && strncmp(u->seg[i] + 1, name, l) == 0 &&
		    u->seg[i][1 + l] == '}')
			return 1;
	return 0;
}

/* The one name of the parameter at pos of a path: anon_param_name() of
 * the literal before it. */
static void canonical_param(char **seg, size_t pos, const char *suffix, char *out, size_t outlen)
{
	struct pused u = { seg, pos };
	char name[ANON_MAX_PARAM_NAME + 8];
	const char *prev = pos > 0 && !is_param_seg(seg[pos - 1]) ? seg[pos - 1] : NULL;

	anon_param_name(prev, prev ? strlen(prev) : 0, prefix_uses, &u, name, sizeof(name));
	snprintf(out, outlen, "{%s}%s", name, suffix);
}

/* A parameter segment kept at pos: an identifier not used before it in
 * the path and free of value shapes. */
static int param_name_ok(char **seg, size_t pos, const char *rep)
{
	struct pused u = { seg, pos };
	const char *close = strchr(rep, '}');
	char name[ANON_MAX_PARAM_NAME + 8];
	size_t i, n;

	if (!close || (size_t)(close - rep - 1) >= sizeof(name) || close == rep + 1)
		return 0;
	n = (size_t)(close - rep - 1);
	memcpy(name, rep + 1, n);
	name[n] = '\0';
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	return !prefix_uses(&u, name) && !anon_value_shaped(name, n);
}

/* Moves endpoint e under the path with segment pos replaced by rep (a
 * parameter segment), merging it with what is there. */
static int rewrite_endpoint_as(struct catalog *c, cJSON *eps, cJSON *e, struct epath *p,
			       size_t pos, const char *rep, const char *newparam)
{
	char path[1024], key[1100], name[ANON_MAX_PARAM_NAME + 8], old[ANON_MAX_PARAM_NAME + 8];
	cJSON *moved, *params, *pnode, *dst;
	struct mctx m = { .c = c };
	const char *close;
	int rc, was_param = is_param_seg(p->seg[pos]) && !newparam;

	close = strchr(rep, '}');
	if (newparam)
		snprintf(name, sizeof(name), "%s", newparam);
	else
		snprintf(name, sizeof(name), "%.*s", (int)(close - rep - 1), rep + 1);
	if (was_param) {
		const char *oc = strchr(p->seg[pos], '}');

		snprintf(old, sizeof(old), "%.*s", (int)(oc - p->seg[pos] - 1), p->seg[pos] + 1);
	}
	rc = join_path(p->seg, p->n, pos, rep, path, sizeof(path));
	if (rc)
		return rc;
	snprintf(key, sizeof(key), "%s %s", p->method, path);
	if (strcmp(key, e->string) == 0)
		return 0;
	moved = cJSON_DetachItemViaPointer(eps, e);
	cJSON_ReplaceItemInObjectCaseSensitive(moved, "path", cJSON_CreateString(path));
	params = doc_obj(doc_obj(moved, "parameters"), "path");
	if (was_param && strcmp(old, name) != 0 && (pnode = json_get(params, old))) {
		/* A renamed parameter keeps what it learned of its values. */
		cJSON_DetachItemViaPointer(params, pnode);
		dst = doc_map_get(params, name, SIZE_MAX, NULL);
		if (dst)
			merge_value(params, name, dst, pnode, &sp_node, &m, 0);
		cJSON_Delete(pnode);
	}
	pnode = doc_obj(params, name);
	if (pnode && !json_get(pnode, "n")) {
		cJSON *cnt = json_get(moved, "count");

		doc_count_add(pnode, "n", cnt ? cnt->valuedouble : 0);
		doc_set_add(pnode, "types", "string", 8);
		doc_set_add(pnode, "formats", "text", 32);
	}
	/* key is on the stack: make the endpoint here, merge_value only
	 * fills it. */
	dst = doc_map_get(eps, key, SIZE_MAX, NULL);
	rc = dst ? merge_value(eps, key, dst, moved, &sp_endpoint, &m, 0) : -ENOMEM;
	cJSON_Delete(moved);
	return rc;
}

static int rewrite_endpoint(struct catalog *c, cJSON *eps, cJSON *e, struct epath *p, size_t pos,
			    const char *rep)
{
	return rewrite_endpoint_as(c, eps, e, p, pos, rep, NULL);
}

/* One segment cut for folding: head, a variable part, tail; folded, the
 * variable part is the parameter "{name}". */
struct fsplit {
	size_t head, var, tail; /* the head is [0, head), var [head, var), the tail from tail */
	char name[ANON_MAX_PARAM_NAME];
};

/* "copyrights.json", "{q}.jsonp", "x.{format}": the format extension. */
static int split_format(const char *s, struct fsplit *f)
{
	size_t n = strlen(s);
	const char *d = strrchr(s, '.');

	if (!d || (is_param_seg(s) && d < strchr(s, '}')) || d == s + n - 1)
		return 0;
	if (strcmp(d, FMT_SUFFIX) != 0 && !anon_format_ext(d + 1, strlen(d + 1)))
		return 0;
	f->head = (size_t)(d - s) + 1;
	f->var = f->tail = n;
	snprintf(f->name, sizeof(f->name), "format");
	return 1;
}

/* "page-2.atom", "series-12", "page-{page}.json": a word, a dash, a
 * number (or the parameter already), a suffix. */
static int split_numbered(const char *s, struct fsplit *f)
{
	size_t i = 0, d, n = strlen(s), w;
	const char *suf;

	while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	if (i < 2 || i + 2 > n || s[i] != '-' || i >= sizeof(f->name) || !anon_safe_word(s, i))
		return 0;
	w = i;
	d = i + 1;
	if (s[d] == '{') {
		const char *close = strchr(s + d, '}');

		if (!close || (size_t)(close - s - d - 1) != w || strncmp(s + d + 1, s, w) != 0)
			return 0;
		i = (size_t)(close - s) + 1;
	} else {
		for (i = d; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	suf = s + i;
	if (*suf && !(suf[0] == '.' && (strcmp(suf, FMT_SUFFIX) == 0 ||
					anon_format_ext(suf + 1, strlen(suf + 1)))))
		return 0;
	f->head = d;
	f->var = f->tail = i;
	snprintf(f->name, sizeof(f->name), "%.*s", (int)w, s);
	return 1;
}

/* The group key of endpoint p with segment pos folded as f: the head,
 * "{}", the tail; other parameters as "{}" (names are decided later). */
static void fold_key(const struct epath *p, size_t pos, const struct fsplit *f, char *out,
		     size_t outlen)
{
	size_t i, o;

	o = (size_t)snprintf(out, outlen, "%s ", p->method);
	for (i = 0; i < p->n && o < outlen; i++) {
		const char *s = p->seg[i];

		if (i == pos && is_param_seg(s))
			o += (size_t)snprintf(out + o, outlen - o, "/{}%.*s{}%s",
					      (int)(f->head - (size_t)(strchr(s, '}') + 1 - s)),
					      strchr(s, '}') + 1, s + f->tail);
		else if (i == pos)
			o += (size_t)snprintf(out + o, outlen - o, "/%.*s{}%s", (int)f->head, s,
					      s + f->tail);
		else if (is_param_seg(s))
			o += (size_t)snprintf(out + o, outlen - o, "/{}%s", seg_suffix(s));
		else
			o += (size_t)snprintf(out + o, outlen - o, "/%s", s);
	}
}

/*
 * A variable part inside a segment, where the endpoints that differ only
 * by it show two values or more: one resource in several formats
 * (/copyrights.json, /copyrights.xml; /geocode/{q}.jsonp) has a format
 * parameter ("copyrights.{format}"), a numbered page or part
 * (/brands/page-2.atom, /brands/page-7.atom) a number parameter
 * ("page-{page}.atom"). One value alone stays a literal. Returns how many
 * endpoints moved.
 */
static int fold_inner(struct catalog *c, cJSON *svc, int (*split)(const char *, struct fsplit *),
		      int one_head)
{
	cJSON *eps = json_get(svc, "endpoints"), *groups, *heads, *e;
	struct epath *p = malloc(sizeof(*p));
	char **keys = NULL;
	size_t n = 0, i, pos, cap;
	int moved = 0, pass;

	groups = cJSON_CreateObject();
	heads = cJSON_CreateObject();
	cap = eps ? (size_t)cJSON_GetArraySize(eps) : 0;
	if (cap)
		keys = calloc(cap, sizeof(*keys));
	if (!p || !groups || !heads || !keys)
		goto out;
	/* the endpoints with a segment to cut: most services have none */
	for (e = eps->child; e && n < cap; e = e->next) {
		struct fsplit f;

		if (!strpbrk(e->string, ".-") || declared_mark(e) || epath_parse(e->string, p))
			continue;
		for (pos = 0; pos < p->n; pos++)
			if (split(p->seg[pos], &f))
				break;
		if (pos < p->n && (keys[n] = strdup(e->string)))
			n++;
	}
	for (pass = 0; pass < 2 && n; pass++) {
		for (i = 0; i < n; i++) {
			if ((e = doc_map_find(eps, keys[i])) == NULL || epath_parse(keys[i], p))
				continue;
			for (pos = 0; pos < p->n; pos++) {
				const char *s = p->seg[pos];
				char k[1200], hk[1200], rep[256], var[128], head[128];
				char pname[ANON_MAX_PARAM_NAME + 2];
				struct fsplit f, whole;
				cJSON *g, *h;

				if (!split(s, &f) || f.var - f.head >= sizeof(var) || f.head >= sizeof(head))
					continue;
				fold_key(p, pos, &f, k, sizeof(k));
				/* the same position with the whole segment variable:
				 * which heads it has */
				whole = f;
				whole.head = 0;
				fold_key(p, pos, &whole, hk, sizeof(hk));
				snprintf(head, sizeof(head), "%.*s", (int)f.head, s);
				snprintf(var, sizeof(var), "%.*s", (int)(f.var - f.head), s + f.head);
				snprintf(pname, sizeof(pname), "{%s}", f.name);
				g = json_get(groups, k);
				h = json_get(heads, hk);
				if (pass == 0) {
					if (!g)
						g = cJSON_AddObjectToObject(groups, k);
					if (g && !json_get(g, var))
						cJSON_AddTrueToObject(g, var);
					if (!h)
						h = cJSON_AddObjectToObject(heads, hk);
					if (h && !json_get(h, head))
						cJSON_AddTrueToObject(h, head);
					continue;
				}
				/* One head only for numbers: readable values
				 * (harbor-14, falcon-2024) have many words, a
				 * numbered page has one (page-2, page-7). */
				if (!g || cJSON_GetArraySize(g) < 2 || strcmp(var, pname) == 0 ||
				    (one_head && cJSON_GetArraySize(h) != 1) ||
				    strlen(s) + strlen(pname) >= sizeof(rep))
					continue;
				snprintf(rep, sizeof(rep), "%.*s%s%s", (int)f.head, s, pname, s + f.tail);
				if (rewrite_endpoint_as(c, eps, e, p, pos, rep, f.name) == 0)
					moved++;
				break; /* e moved: its other positions in a later round */
			}
		}
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
out:
	cJSON_Delete(groups);
	cJSON_Delete(heads);
	free(keys);
	free(p);
	return moved;
}

/* The learned pattern of a position, for any method: "* /a/{}/b/" then a
 * star and the suffix ("*.json"). */
static void pattern_of(char **seg, size_t pos, const char *suffix, char *out, size_t outlen)
{
	size_t i, o = 0;

	o += (size_t)snprintf(out, outlen, "* ");
	for (i = 0; i < pos && o < outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "/%s%s", is_param_seg(seg[i]) ? "{}" : seg[i],
				      is_param_seg(seg[i]) ? seg_suffix(seg[i]) : "");
	if (o < outlen)
		snprintf(out + o, outlen - o, "/*%s", suffix);
}

/* Whether the set (an array of strings) holds s. */
static int set_has(const cJSON *set, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, set)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return 1;
	return 0;
}

/* Builds the rows of one depth: every endpoint deeper than it. */
static size_t depth_rows(cJSON *eps, size_t depth, struct trow *rows, size_t cap,
			 struct epath *tmp)
{
	size_t nr = 0, i;
	cJSON *e;

	for (e = eps->child; e && nr < cap; e = e->next) {
		char pre[1100], rest[1100];
		size_t o = 0, r = 0;
		const cJSON *cnt = json_get(e, "count");
		uint64_t h;

		/* gRPC paths are literals: never part of the evidence */
		if (json_get(e, "grpc") || epath_parse(e->string, tmp) || tmp->n <= depth)
			continue;
		for (i = 0; i < depth; i++)
			o += (size_t)snprintf(pre + o, sizeof(pre) - o, "/%s%s",
					      is_param_seg(tmp->seg[i]) ? "{}" : tmp->seg[i],
					      is_param_seg(tmp->seg[i]) ? seg_suffix(tmp->seg[i]) : "");
		pre[o] = '\0';
		/* The rest of the path by shape: how deep it goes and whether
		 * the next segment is a parameter or a word. Deeper positions
		 * are not decided yet at this depth (a value there may still be
		 * a literal in one endpoint and a parameter in another), so
		 * their shapes are left out. */
		if (tmp->n > depth + 1)
			r = (size_t)snprintf(rest, sizeof(rest), "%zu%s", tmp->n - depth - 1,
					     is_param_seg(tmp->seg[depth + 1]) ? "{}" : "w");
		rest[r] = '\0';
		rows[nr].ep = e;
		rows[nr].prefix = strdup(pre);
		rows[nr].param = is_param_seg(tmp->seg[depth]);
		if (rows[nr].param) {
			char pc[64];

			snprintf(pc, sizeof(pc), "{}%s", seg_suffix(tmp->seg[depth]));
			rows[nr].child = strdup(pc);
		} else {
			rows[nr].child = strdup(tmp->seg[depth]);
		}
		if (!rows[nr].prefix || !rows[nr].child) {
			free(rows[nr].prefix);
			free(rows[nr].child);
			break;
		}
		rows[nr].suffix = seg_suffix(rows[nr].child);
		h = fnv(fnv(1469598103934665603ull, tmp->method), rest);
		rows[nr].coarse = h;
		/* The word after a value may be a value not decided yet
		 * (/analyses/jane-doe/river-2/... beside /analyses/{x}/{y}/...):
		 * the shape it would have as a parameter. */
		rows[nr].alt = h;
		if (r && rest[r - 1] == 'w') {
			rest[r - 1] = '\0';
			rows[nr].alt = fnv(fnv(fnv(1469598103934665603ull, tmp->method), rest), "{}");
			rest[r - 1] = 'w';
		}
		rows[nr].fine = h ^ (body_sig(e) * 0x9e3779b97f4a7c15ull);
		rows[nr].finealt = rows[nr].alt ^ (body_sig(e) * 0x9e3779b97f4a7c15ull);
		rows[nr].count = cnt ? cnt->valuedouble : 0;
		rows[nr].leaf = tmp->n == depth + 1;
		rows[nr].next = rows[nr].leaf ? 0
				: fnv(1469598103934665603ull, is_param_seg(tmp->seg[depth + 1])
								     ? "{}"
								     : tmp->seg[depth + 1]);
		nr++;
	}
	return nr;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A literal's extension is a suffix only when a parameter beside it has
 * it or another literal does: ".atom" on many siblings is a format,
 * ".smith" in "pavel.smith" is a part of a value. rows[0..n) are one
 * position, sorted by child. */
static void common_suffixes(struct trow *rows, size_t n)
{
	const char **sf = malloc((n ? n : 1) * sizeof(*sf));
	size_t i, m = 0;

	if (!sf)
		return;
	for (i = 0; i < n; i++)
		if (rows[i].suffix[0] && (i == 0 || strcmp(rows[i].child, rows[i - 1].child) != 0))
			sf[m++] = rows[i].suffix;
	qsort(sf, m, sizeof(*sf), str_ptr_cmp);
	for (i = 0; i < n; i++) {
		size_t lo = 0, hi = m, cnt = 0;

		if (!rows[i].suffix[0] || rows[i].param)
			continue;
		/* count the children with this suffix (binary search for the run) */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (strcmp(sf[mid], rows[i].suffix) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo + cnt < m && strcmp(sf[lo + cnt], rows[i].suffix) == 0)
			cnt++;
		/* a format is a suffix alone too (maple-river.atom) */
		if (cnt < 2 && !anon_format_ext(rows[i].suffix + 1, strlen(rows[i].suffix + 1)))
			rows[i].suffix = rows[i].child + strlen(rows[i].child);
	}
	free(sf);
}

/* ---- declared endpoints (docs/declared.md) -------------------------------- */

/* Whether an endpoint among rows[first, end) is declared. */
static int declared_rows_any(const struct trow *rows, size_t first, size_t end)
{
	size_t r;

	for (r = first; r < end; r++)
		if (declared_mark(rows[r].ep))
			return 1;
	return 0;
}

/* The name a position takes when a declared endpoint has a parameter
 * there with the suffix of rows[first]: the smallest of the declared
 * names. keep stays "" when none is declared. */
static void declared_keep(const struct trow *rows, size_t i, size_t j, size_t first, size_t depth,
			  struct epath *tmp, char *keep, size_t keeplen)
{
	size_t r;

	for (r = i; r < j; r++)
		if (rows[r].param && declared_mark(rows[r].ep) &&
		    strcmp(rows[r].suffix, rows[first].suffix) == 0 &&
		    !epath_parse(rows[r].ep->string, tmp) && tmp->n > depth &&
		    strlen(tmp->seg[depth]) < keeplen &&
		    (!keep[0] || strcmp(tmp->seg[depth], keep) < 0))
			snprintf(keep, keeplen, "%s", tmp->seg[depth]);
}

/* An endpoint with the template of a declared one (/users/{userId} for a
 * declared /users/{id}) takes the declared parameter names, position by
 * position, and so merges into it. Returns how many endpoints moved. */
static int adopt_declared(struct catalog *c, cJSON *svc)
{
	cJSON *eps = json_get(svc, "endpoints"), *e;
	cJSON *twins = NULL;
	struct epath *p = NULL, *q = NULL;
	char **keys = NULL;
	size_t n = 0, i, cap;
	int moved = 0;

	if (!eps)
		return 0;
	for (e = eps->child; e && !twins; e = e->next)
		if (declared_mark(e))
			twins = cJSON_CreateObject();
	if (!twins)
		return 0;
	cap = (size_t)cJSON_GetArraySize(eps);
	keys = calloc(cap ? cap : 1, sizeof(*keys));
	p = malloc(sizeof(*p));
	q = malloc(sizeof(*q));
	if (!keys || !p || !q)
		goto out;
	/* the declared template keys; two declared endpoints of one key:
	 * the smallest wins */
	for (e = eps->child; e; e = e->next) {
		char tk[CAT_MAX_KEY + 8];
		cJSON *have;

		if (!declared_mark(e) || declared_template_key(e, tk, sizeof(tk)))
			continue;
		have = json_get(twins, tk);
		if (!have)
			cJSON_AddStringToObject(twins, tk, e->string);
		else if (strcmp(e->string, have->valuestring) < 0)
			cJSON_ReplaceItemInObjectCaseSensitive(twins, tk,
							       cJSON_CreateString(e->string));
	}
	for (e = eps->child; e && n < cap; e = e->next)
		if (!declared_mark(e) && (keys[n] = strdup(e->string)))
			n++;
	for (i = 0; i < n; i++) {
		char tk[CAT_MAX_KEY + 8], key[CAT_MAX_KEY + 8];
		const cJSON *to;
		size_t pos;
		int did;

		e = doc_map_find(eps, keys[i]);
		if (!e || declared_template_key(e, tk, sizeof(tk)))
			continue;
		to = json_get(twins, tk);
		if (!cJSON_IsString(to) || strcmp(to->valuestring, e->string) == 0 ||
		    epath_parse(to->valuestring, q))
			continue;
		snprintf(key, sizeof(key), "%s", e->string);
		did = 0;
		for (pos = 0; pos < q->n && e; pos++) {
			char path[1024];

			if (epath_parse(key, p) || p->n != q->n)
				break;
			if (strcmp(p->seg[pos], q->seg[pos]) == 0 || !is_param_seg(p->seg[pos]) ||
			    !is_param_seg(q->seg[pos]))
				continue;
			if (join_path(p->seg, p->n, pos, q->seg[pos], path, sizeof(path)) ||
			    rewrite_endpoint_as(c, eps, e, p, pos, q->seg[pos], NULL))
				break;
			snprintf(key, sizeof(key), "%s %s", p->method, path);
			e = doc_map_find(eps, key);
			did = 1;
		}
		moved += did;
	}
out:
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(p);
	free(q);
	cJSON_Delete(twins);
	return moved;
}

/*
 * One top-down pass over the trie of a service: at each depth, each
 * position's children are decided, values and parameters under another
 * name are rewritten to the position's one parameter name, and a learned
 * pattern is recorded where values were found. Returns how many endpoints
 * moved.
 */
static int decide_service(struct catalog *c, cJSON *svc, int final)
{
	cJSON *eps = json_get(svc, "endpoints");
	struct epath *tmp = malloc(sizeof(*tmp));
	size_t depth, cap;
	int moved = 0;

	if (!eps || !tmp) {
		free(tmp);
		return 0;
	}
	for (depth = 0; depth < ANON_MAX_SEGMENTS; depth++) {
		struct trow *rows;
		struct tchild *ch;
		size_t nr, i, j, k;
		struct tdo {
			cJSON *ep;
			char suffix[16];
			char name[ANON_MAX_PARAM_NAME + 16]; /* the position's name, or "" */
		} *todo;
		size_t ntodo = 0;

		cap = (size_t)cJSON_GetArraySize(eps);
		if (!cap)
			break;
		rows = calloc(cap, sizeof(*rows));
		ch = malloc(cap * sizeof(*ch)); /* each child is cleared when it starts */
		todo = calloc(cap, sizeof(*todo));
		if (!rows || !ch || !todo) {
			free(rows);
			free(ch);
			free(todo);
			break;
		}
		nr = depth_rows(eps, depth, rows, cap, tmp);
		if (nr == 0) {
			/* no endpoint goes this deep: the walk is done */
			free(rows);
			free(ch);
			free(todo);
			break;
		}
		qsort(rows, nr, sizeof(*rows), trow_cmp);
		for (i = 0; i < nr; i = j) {
			size_t nvals;

			/* one position: a prefix and a suffix */
			for (j = i + 1; j < nr && strcmp(rows[j].prefix, rows[i].prefix) == 0; j++)
				;
			common_suffixes(rows + i, j - i);
			k = 0;
			for (size_t r = i; r < j; r++) {
				if (r == i || strcmp(rows[r].child, rows[r - 1].child) != 0) {
					memset(&ch[k], 0, sizeof(ch[k]));
					ch[k].first = r;
					ch[k].param = rows[r].param;
					k++;
				}
				ch[k - 1].end = r + 1;
				ch[k - 1].support += rows[r].count;
				ch[k - 1].leaf |= rows[r].leaf;
				if (rows[r].next)
					sig_add(ch[k - 1].nexts, &ch[k - 1].nnext, rows[r].next);
				sig_add(ch[k - 1].fine, &ch[k - 1].nfine, rows[r].fine);
				sig_add(ch[k - 1].coarse, &ch[k - 1].ncoarse, rows[r].coarse);
				sig_add(ch[k - 1].alt, &ch[k - 1].nalt, rows[r].alt);
				sig_add(ch[k - 1].finealt, &ch[k - 1].nfinealt, rows[r].finealt);
			}
			for (size_t q = 0; q < k; q++) {
				char pat[1100];

				if (!epath_parse(rows[ch[q].first].ep->string, tmp)) {
					pattern_of(tmp->seg, depth, rows[ch[q].first].suffix, pat, sizeof(pat));
					ch[q].learned = set_has(json_get(svc, "learned"), pat);
				}
			}
			nvals = decide_position(ch, k, rows, depth == 0, final);
			for (size_t q = 0; q < k; q++) {
				char keep[ANON_MAX_PARAM_NAME + 16] = "";

				/* A literal a document declares is a literal. */
				if (ch[q].value && declared_rows_any(rows, ch[q].first, ch[q].end))
					ch[q].value = 0;
				if (!ch[q].value && !ch[q].param)
					continue;
				/* A name the position already has stays (a declared
				 * or another sensor's name): the smallest of the
				 * parameter segments with this suffix. */
				declared_keep(rows, i, j, ch[q].first, depth, tmp, keep, sizeof(keep));
				for (size_t r = i; r < j && !keep[0]; r++)
					if (rows[r].param && strcmp(rows[r].suffix, rows[ch[q].first].suffix) == 0 &&
					    !epath_parse(rows[r].ep->string, tmp) && tmp->n > depth &&
					    strlen(tmp->seg[depth]) < sizeof(keep) &&
					    (!keep[0] || strcmp(tmp->seg[depth], keep) < 0))
						snprintf(keep, sizeof(keep), "%s", tmp->seg[depth]);
				for (size_t r = ch[q].first; r < ch[q].end; r++) {
					todo[ntodo].ep = rows[r].ep;
					snprintf(todo[ntodo].suffix, sizeof(todo[ntodo].suffix), "%s",
						 rows[r].suffix);
					snprintf(todo[ntodo].name, sizeof(todo[ntodo].name), "%s", keep);
					ntodo++;
				}
			}
			for (size_t q = 0; nvals && q < k; q++) {
				char pat[1100];

				if (!ch[q].value || epath_parse(rows[ch[q].first].ep->string, tmp))
					continue;
				pattern_of(tmp->seg, depth, rows[ch[q].first].suffix, pat, sizeof(pat));
				doc_set_add(svc, "learned", pat, CAT_MAX_LEARNED);
			}
		}
		for (i = 0; i < nr; i++) {
			free(rows[i].prefix);
			free(rows[i].child);
		}
		free(rows);
		free(ch);
		/* Rewrite after the walk: rewriting changes the map. Each
		 * endpoint gets the canonical parameter at this depth. */
		for (i = 0; i < ntodo; i++) {
			char rep[ANON_MAX_PARAM_NAME + 16];
			cJSON *e = todo[i].ep;

			if (declared_mark(e) || epath_parse(e->string, tmp) || tmp->n <= depth)
				continue;
			canonical_param(tmp->seg, depth, todo[i].suffix, rep, sizeof(rep));
			if (todo[i].name[0] && param_name_ok(tmp->seg, depth, todo[i].name))
				snprintf(rep, sizeof(rep), "%s", todo[i].name);
			if (strcmp(rep, tmp->seg[depth]) == 0)
				continue;
			if (rewrite_endpoint(c, eps, e, tmp, depth, rep) == 0)
				moved++;
		}
		free(todo);
	}
	free(tmp);
	return moved;
}

/* True when endpoint p matches a pattern ("METHOD /a/{}/" a star "/c") at its star
 * position (written to *pos). The star takes a literal that is not a safe
 * word: safe words wait for decide_service(), which sees their support. */
static int pattern_match(const char *pat, const struct epath *p, size_t *pos, char *suffix,
			 size_t suflen)
{
	char buf[1024];
	char *pseg[ANON_MAX_SEGMENTS];
	const char *sp = strchr(pat, ' ');
	size_t ml = strlen(p->method), pn, i, star = SIZE_MAX;

	if (!sp)
		return 0;
	if (!(sp - pat == 1 && pat[0] == '*') &&
	    ((size_t)(sp - pat) != ml || strncmp(pat, p->method, ml) != 0))
		return 0;
	if (strlen(sp + 1) >= sizeof(buf))
		return 0;
	memcpy(buf, sp + 1, strlen(sp + 1) + 1);
	pn = split_path(buf, pseg, ANON_MAX_SEGMENTS);
	if (pn > p->n)
		return 0;
	for (i = 0; i < pn; i++) {
		const char *s = p->seg[i];

		if (pseg[i][0] == '*') {
			const char *suf = seg_suffix(s);

			/* the suffix is the pattern's; a star alone takes a
			 * value whole ("forest54", "jane.doe"), never one with a
			 * format ("atoz.atom": a name of its own) */
			if (is_param_seg(s) ||
			    (pseg[i][1] ? strcmp(suf, pseg[i] + 1) != 0
					: *suf && anon_format_ext(suf + 1, strlen(suf + 1))) ||
			    api_word(s) || anon_safe_word(s, strlen(s)))
				return 0;
			snprintf(suffix, suflen, "%s", pseg[i] + 1);
			star = i;
		} else if (strncmp(pseg[i], "{}", 2) == 0) {
			if (!is_param_seg(s) || strcmp(seg_suffix(s), pseg[i] + 2) != 0)
				return 0;
		} else if (strcmp(pseg[i], s) != 0) {
			return 0;
		}
	}
	if (star == SIZE_MAX)
		return 0;
	*pos = star;
	return 1;
}

/* Applies the learned patterns to one endpoint until none matches;
 * returns 1 when it moved. */
static int apply_learned_one(struct catalog *c, cJSON *learned, cJSON *eps, cJSON *e)
{
	struct epath p;
	cJSON *pat;
	size_t pos;
	int round, moved = 0;
	char key[1100];

	if (json_get(e, "grpc"))
		return 0; /* a gRPC path is a literal */
	if (declared_mark(e))
		return 0; /* a declared path is as the document wrote it */
	snprintf(key, sizeof(key), "%s", e->string);
	for (round = 0; round < ANON_MAX_SEGMENTS; round++) {
		char rep[ANON_MAX_PARAM_NAME + 16], path[1024], suffix[16];
		int hit = 0;

		if (epath_parse(key, &p))
			break;
		for (pat = learned->child; pat && !hit; pat = pat->next)
			if (cJSON_IsString(pat) &&
			    pattern_match(pat->valuestring, &p, &pos, suffix, sizeof(suffix)))
				hit = 1;
		if (!hit)
			break;
		canonical_param(p.seg, pos, suffix, rep, sizeof(rep));
		if (join_path(p.seg, p.n, pos, rep, path, sizeof(path)) ||
		    rewrite_endpoint(c, eps, e, &p, pos, rep))
			break;
		moved = 1;
		snprintf(key, sizeof(key), "%s %s", p.method, path);
		e = doc_map_find(eps, key);
		if (!e)
			break;
	}
	return moved;
}

/* Applies learned patterns to every endpoint of a service; returns how many
 * endpoints moved. A move may merge into and free any other member, so the
 * walk goes by key, not by pointer. */
static int apply_learned(struct catalog *c, cJSON *svc)
{
	cJSON *learned = json_get(svc, "learned");
	cJSON *eps = json_get(svc, "endpoints");
	cJSON *e;
	char **keys;
	size_t n = 0, i, cap;
	int moved = 0;

	if (!learned || !eps || !learned->child)
		return 0;
	cap = (size_t)cJSON_GetArraySize(eps);
	keys = calloc(cap ? cap : 1, sizeof(*keys));
	if (!keys)
		return 0;
	for (e = eps->child; e && n < cap; e = e->next)
		if ((keys[n] = strdup(e->string)))
			n++;
	for (i = 0; i < n; i++) {
		e = doc_map_find(eps, keys[i]);
		if (e)
			moved += apply_learned_one(c, learned, eps, e);
		free(keys[i]);
	}
	free(keys);
	return moved;
}

/* True when some endpoint goes through the prefix of pattern pat (the
 * segments before its star). */
static int pattern_live(const char *pat, cJSON *eps)
{
	char buf[1024];
	char *pseg[ANON_MAX_SEGMENTS];
	const char *sp = strchr(pat, ' ');
	size_t pn, i;
	cJSON *e;
	struct epath p;

	if (!sp || strlen(sp + 1) >= sizeof(buf))
		return 0;
	memcpy(buf, sp + 1, strlen(sp + 1) + 1);
	pn = split_path(buf, pseg, ANON_MAX_SEGMENTS);
	if (pn == 0)
		return 0;
	pn--; /* the star */
	for (e = eps->child; e; e = e->next) {
		if (epath_parse(e->string, &p) || p.n <= pn)
			continue;
		for (i = 0; i < pn; i++) {
			if (strncmp(pseg[i], "{}", 2) == 0) {
				if (!is_param_seg(p.seg[i]) || strcmp(seg_suffix(p.seg[i]), pseg[i] + 2))
					break;
			} else if (strcmp(pseg[i], p.seg[i]) != 0) {
				break;
			}
		}
		if (i == pn)
			return 1;
	}
	return 0;
}

/* Drops the learned patterns whose prefix no endpoint has any more: a
 * pattern learned under a literal that later turned out to be a value
 * ("/users/john/repos/" then a star) would keep that value. */
static void prune_learned(cJSON *svc)
{
	cJSON *learned = json_get(svc, "learned");
	cJSON *eps = json_get(svc, "endpoints");
	cJSON *it, *next;

	if (!learned || !eps)
		return;
	for (it = learned->child; it; it = next) {
		next = it->next;
		if (!cJSON_IsString(it) || !pattern_live(it->valuestring, eps))
			cJSON_Delete(cJSON_DetachItemViaPointer(learned, it));
	}
}

#define MAP_RARE 4 /* a key in at most 1/MAP_RARE of the objects is rare */

/* Rare in its node: in at most 1/MAP_RARE of the objects, or, in a node
 * already known as a map, in one object of several. */
static int map_rare(double n, double objects, int map)
{
	if (n * MAP_RARE <= objects)
		return 1;
	return map && n <= 1 && objects >= 2;
}

/*
 * Object keys that behave like values, from the evidence of every object
 * merged into a schema node: a field is in most objects of its kind; a key
 * that names a record in a map keyed by ids is in one or two. When three
 * keys or more are rare (in at most 1/MAP_RARE of the objects) and they are
 * half the keys or more, they are merged into "additional" (the map's
 * value schema) and their names dropped; in a node that is a map already,
 * every rare key is (map_rare). Applied to every node below.
 */
static void collapse_maps(struct catalog *c, cJSON *node, unsigned depth)
{
	cJSON *props, *it, *next, *sub;
	const cJSON *objs;
	size_t m = 0, rare = 0;
	double o;
	int map;

	if (!cJSON_IsObject(node) || depth > 64)
		return;
	props = json_get(node, "properties");
	objs = json_get(node, "objects");
	cJSON_ArrayForEach(it, props)
		collapse_maps(c, it, depth + 1);
	sub = json_get(node, "items");
	if (sub)
		collapse_maps(c, sub, depth + 1);
	sub = json_get(node, "additional");
	if (sub)
		collapse_maps(c, sub, depth + 1);
	if (!props || !objs)
		return;
	o = objs->valuedouble;
	/* A node already known as a map (some keys were values by their own
	 * shape) takes every key that is not in most of its objects: a field
	 * beside a map's keys is in nearly all of them. */
	map = json_get(node, "additional") != NULL;
	cJSON_ArrayForEach(it, props) {
		const cJSON *n = json_get(it, "n");

		m++;
		if (n && map_rare(n->valuedouble, o, map))
			rare++;
	}
	if (!map && (rare < 3 || 2 * rare < m))
		return;
	for (it = props->child; it; it = next) {
		const cJSON *n = json_get(it, "n");
		struct mctx mc = { .c = c };
		cJSON *add;

		next = it->next;
		if (!n || !map_rare(n->valuedouble, o, map))
			continue;
		cJSON_DetachItemViaPointer(props, it);
		add = json_get(node, "additional");
		if (!add)
			add = add_static(node, "additional", cJSON_CreateObject());
		if (add)
			merge_value(node, "additional", add, it, &sp_node, &mc, 0);
		cJSON_Delete(it);
	}
	if (!props->child)
		cJSON_DeleteItemFromObjectCaseSensitive(node, "properties");
}

/* collapse_maps() on every body schema of every endpoint of a service. */
static void collapse_service_maps(struct catalog *c, cJSON *svc)
{
	cJSON *e, *b, *r;

	cJSON_ArrayForEach(e, json_get(svc, "endpoints")) {
		/* protobuf field numbers are names, not map keys */
		if (json_get(e, "grpc"))
			continue;
		cJSON_ArrayForEach(b, json_get(json_get(e, "request"), "bodies"))
			collapse_maps(c, json_get(b, "schema"), 0);
		cJSON_ArrayForEach(r, json_get(e, "responses"))
			cJSON_ArrayForEach(b, json_get(r, "bodies"))
				collapse_maps(c, json_get(b, "schema"), 0);
	}
}

/* Patterns, then the evidence, until stable (each round only merges
 * endpoints, so this ends). */
static void normalize_service(struct catalog *c, cJSON *svc, int final)
{
	int round, changed = 0;

	for (round = 0; round < 4; round++) {
		int moved = fold_inner(c, svc, split_format, 0);

		moved += fold_inner(c, svc, split_numbered, 1);

		moved += apply_learned(c, svc);

		moved += decide_service(c, svc, final);

		moved += adopt_declared(c, svc);
		if (!moved)
			break;
		changed = 1;
	}
	if (changed)
		prune_learned(svc);
	/* Maps keyed by ids: at output, and in the catalog whenever the
	 * endpoints moved (their schemas merged) or every 32nd pass. */
	if (final || changed || c->fresh % 32 == 0)
		collapse_service_maps(c, svc);
}

/* ---- public interface -------------------------------------------------------- */

struct catalog *catalog_new(const struct catalog_limits *lim)
{
	struct catalog *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (lim)
		c->lim = *lim;
	if (!c->lim.max_services)
		c->lim.max_services = CAT_DEF_SERVICES;
	if (!c->lim.max_endpoints)
		c->lim.max_endpoints = CAT_DEF_ENDPOINTS;
	if (!c->lim.max_fields)
		c->lim.max_fields = CAT_DEF_FIELDS;
	if (!c->lim.max_depth)
		c->lim.max_depth = CAT_DEF_DEPTH;
	c->doc = cJSON_CreateObject();
	if (!c->doc || !cJSON_AddStringToObject(c->doc, "schema", CATALOG_SCHEMA) ||
	    !cJSON_AddObjectToObject(c->doc, "services")) {
		cJSON_Delete(c->doc);
		free(c);
		return NULL;
	}
	return c;
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	cJSON_Delete(c->doc);
	free(c);
}

static int valid_rfc3339(const char *s)
{
	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	size_t n = strlen(s), i = 19;
	static const char pat[] = "dddd-dd-ddTdd:dd:dd";

	if (n < 20)
		return 0;
	for (i = 0; i < 19; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return 0;
	if (s[i] == '.') {
		i++;
		if (s[i] < '0' || s[i] > '9')
			return 0;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (s[i] == 'Z' && s[i + 1] == '\0')
		return 1;
	if ((s[i] == '+' || s[i] == '-') && strlen(s + i) == 6 && s[i + 3] == ':')
		return 1;
	return 0;
}

static int envelope_str(const cJSON *v, size_t max)
{
	return cJSON_IsString(v) && strlen(v->valuestring) > 0 && strlen(v->valuestring) <= max;
}

/* The top level: schema, services, and the transport's envelope keys
 * (validated, then ignored). */
static int merge_top(struct catalog *c, const cJSON *doc, struct mctx *m)
{
	const cJSON *it;

	if (!cJSON_IsObject(doc))
		return fail(m, "expected an object");
	it = json_get(doc, "schema");
	if (!cJSON_IsString(it) || strcmp(it->valuestring, CATALOG_SCHEMA) != 0)
		return fail(m, "schema is not " CATALOG_SCHEMA);
	for (it = doc->child; it; it = it->next) {
		const cJSON *a, *b;

		m->where = it->string;
		if (strcmp(it->string, "schema") == 0)
			continue;
		if (strcmp(it->string, "batch_id") == 0) {
			if (!envelope_str(it, 128))
				return fail(m, "expected a string");
		} else if (strcmp(it->string, "sensor") == 0) {
			const cJSON *k;

			if (!cJSON_IsObject(it))
				return fail(m, "expected an object");
			for (k = it->child; k; k = k->next)
				if ((strcmp(k->string, "id") != 0 && strcmp(k->string, "version") != 0) ||
				    !envelope_str(k, 256))
					return fail(m, "bad member");
		} else if (strcmp(it->string, "window") == 0) {
			const cJSON *k;

			if (!cJSON_IsObject(it))
				return fail(m, "expected an object");
			for (k = it->child; k; k = k->next)
				if (strcmp(k->string, "start") != 0 && strcmp(k->string, "end") != 0)
					return fail(m, "unknown member");
			a = json_get(it, "start");
			b = json_get(it, "end");
			if ((a && (!cJSON_IsString(a) || !valid_rfc3339(a->valuestring))) ||
			    (b && (!cJSON_IsString(b) || !valid_rfc3339(b->valuestring))))
				return fail(m, "expected RFC 3339 times");
		} else if (strcmp(it->string, "services") == 0) {
			int rc = merge_value(c ? c->doc : NULL, "services", NULL, it, &sp_services, m, 0);

			if (rc)
				return rc;
		} else {
			return fail(m, "unknown member");
		}
	}
	return 0;
}

static int size_at_least(const cJSON *o, size_t n);

int catalog_merge_metadata(struct catalog *c, const cJSON *doc, char *err, size_t errlen)
{
	struct mctx m = { .err = err, .errlen = errlen };
	cJSON *svc;
	int rc;

	if (!c || !doc)
		return -EINVAL;
	/* Validate the whole document before touching the catalog. */
	rc = merge_top(NULL, doc, &m);
	if (rc)
		return rc;
	m.c = c;
	rc = merge_top(c, doc, &m);
	if (rc)
		return rc;
	/* Merging documents stays a plain union, so the order and grouping of
	 * merges never change the catalog; the templating decision runs on
	 * the union at output. Only a service near its endpoint cap is
	 * templated here, so that the cap does not cut what a template would
	 * fold. */
	cJSON_ArrayForEach(svc, json_get(c->doc, "services"))
		if (size_at_least(json_get(svc, "endpoints"), c->lim.max_endpoints / 4 * 3))
			normalize_service(c, svc, 0);
	return 0;
}

/* cJSON_GetArraySize(o) >= n, walking at most n members (an endpoint map
 * may hold a thousand). */
static int size_at_least(const cJSON *o, size_t n)
{
	const cJSON *it;

	for (it = o ? o->child : NULL; it && n; it = it->next)
		n--;
	return n == 0;
}

int catalog_add_exchange(struct catalog *c, const struct as_exchange *x)
{
	struct anon_limits al;
	struct json_arena_mark mark;
	struct mctx m = { 0 };
	cJSON *obs = NULL, *svc, *osvc;
	int rc, armed;

	if (!c || !x)
		return -EINVAL;
	al.max_fields = c->lim.max_fields;
	al.max_depth = c->lim.max_depth;
	/* The observation (and the bodies parsed for it) dies in this call:
	 * built in the cJSON arena; the merge below runs unarmed, since what
	 * it adds to the catalog must outlive the call. */
	json_arena_mark(&mark);
	armed = json_arena_arm(1);
	rc = anon_observe(x, &al, &c->ac, &obs);
	json_arena_arm(armed);
	if (rc) {
		c->st.skipped++;
		return rc;
	}
	m.c = c;
	m.trusted = 1; /* built by anon_observe from names it checked */
	rc = merge_top(c, obs, &m);
	if (rc) {
		/* Our own observation failed our own merge: a bug, counted. */
		c->st.skipped++;
		if (!json_arena_release(&mark))
			cJSON_Delete(obs);
		return rc;
	}
	c->st.exchanges++;
	/* Re-template the service the exchange landed in when it gained an
	 * endpoint. */
	osvc = json_get(obs, "services");
	if (osvc && osvc->child) {
		svc = doc_map_find(json_get(c->doc, "services"), osvc->child->string);
		if (svc) {
			cJSON *eps = json_get(svc, "endpoints");
			cJSON *oe = json_get(osvc->child, "endpoints");
			cJSON *e =
			    oe && oe->child && eps ? doc_map_find(eps, oe->child->string) : NULL;
			/* the captured count: under a budget `count` is scaled */
			cJSON *n = e ? json_get(e, "sample") : NULL;

			if (e && !n)
				n = json_get(e, "count");

			/* A new endpoint first meets the learned patterns; learning
			 * itself (a pass over every endpoint) runs on each new one
			 * while the service is small, then on every 32nd, so
			 * traffic of ever-new paths stays cheap. Output always
			 * runs it in full. */
			if (!e || (n && n->valuedouble == 1)) {
				cJSON *l = json_get(svc, "learned");

				c->fresh++;
				if (e && l && l->child)
					apply_learned_one(c, l, eps, e);
				if (!size_at_least(eps, 128) || c->fresh % 32 == 0)
					normalize_service(c, svc, 0);
			}
		}
	}
	/* The observation is dropped with the arena, not node by node. */
	if (!json_arena_release(&mark))
		cJSON_Delete(obs);
	return 0;
}

static void sort_object(cJSON *o);

static int key_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string, y->string);
}

/* Orders every object's members by key, recursively, so output bytes depend
 * only on content. */
static void sort_object(cJSON *o)
{
	cJSON **v, *it;
	size_t n = 0, i;

	for (it = o->child; it; it = it->next) {
		if (cJSON_IsObject(it))
			sort_object(it);
		n++;
	}
	if (!cJSON_IsObject(o) || n < 2)
		return;
	v = malloc(n * sizeof(*v));
	if (!v)
		return;
	for (i = 0, it = o->child; it; it = it->next)
		v[i++] = it;
	qsort(v, n, sizeof(*v), key_cmp);
	for (i = 0; i < n; i++) {
		v[i]->prev = i ? v[i - 1] : v[n - 1];
		v[i]->next = i + 1 < n ? v[i + 1] : NULL;
	}
	o->child = v[0];
	free(v);
}

/* p50/p95/p99 from the buckets: the upper bound of the bucket holding the
 * rank, so every merge order reports the same figure. */
static void add_percentiles(cJSON *lat)
{
	static const struct {
		const char *name;
		double q;
	} qs[] = { { "p50_ms", 0.50 }, { "p95_ms", 0.95 }, { "p99_ms", 0.99 } };
	cJSON *b = json_get(lat, "buckets"), *it;
	double total = 0;
	size_t i;

	cJSON_ArrayForEach(it, b)
		total += cJSON_GetArrayItem(it, 1)->valuedouble;
	if (total <= 0)
		return;
	for (i = 0; i < 3; i++) {
		double want = qs[i].q * total, acc = 0;
		double rank = (double)(long long)want;

		if (rank < want)
			rank += 1;

		cJSON_DeleteItemFromObjectCaseSensitive(lat, qs[i].name);
		cJSON_ArrayForEach(it, b) {
			acc += cJSON_GetArrayItem(it, 1)->valuedouble;
			if (acc >= rank) {
				cJSON_AddNumberToObject(
					lat, qs[i].name,
					doc_lat_upper_ms((unsigned)cJSON_GetArrayItem(it, 0)->valuedouble));
				break;
			}
		}
	}
}

cJSON *catalog_to_metadata(const struct catalog *c)
{
	struct catalog tmp;
	cJSON *doc, *svc, *ep;

	if (!c)
		return NULL;
	doc = cJSON_Duplicate(c->doc, 1);
	if (!doc)
		return NULL;
	tmp = *c;
	tmp.doc = doc;
	cJSON_ArrayForEach(svc, json_get(doc, "services")) {
		normalize_service(&tmp, svc, 1);
		cJSON_ArrayForEach(ep, json_get(svc, "endpoints")) {
			cJSON *lat = json_get(ep, "latency");

			if (lat)
				add_percentiles(lat);
		}
	}
	sort_object(doc);
	return doc;
}

cJSON *catalog_to_metadata_raw(const struct catalog *c)
{
	cJSON *doc;

	if (!c)
		return NULL;
	doc = cJSON_Duplicate(c->doc, 1);
	if (doc)
		sort_object(doc);
	return doc;
}

/* Counts nodes (fields) and nodes with a sensitive class, recursively. */
static void count_fields(const cJSON *o, uint64_t *fields, uint64_t *sens)
{
	const cJSON *it;

	if (!cJSON_IsObject(o))
		return;
	if (json_get(o, "types") && json_get(o, "n")) {
		(*fields)++;
		if (cJSON_GetArraySize(json_get(o, "sensitive")) > 0)
			(*sens)++;
	}
	for (it = o->child; it; it = it->next)
		count_fields(it, fields, sens);
}

void catalog_get_stats(const struct catalog *c, struct catalog_stats *out)
{
	const cJSON *svc;

	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	*out = c->st;
	out->limit_fields += c->ac.limit_fields;
	out->limit_depth += c->ac.limit_depth;
	out->services = 0;
	out->endpoints = 0;
	out->fields = 0;
	out->sensitive_fields = 0;
	cJSON_ArrayForEach(svc, json_get(c->doc, "services")) {
		out->services++;
		out->endpoints += (uint64_t)cJSON_GetArraySize(json_get(svc, "endpoints"));
		count_fields(json_get(svc, "endpoints"), &out->fields, &out->sensitive_fields);
	}
}

/* A service name as a file name: [A-Za-z0-9._-], others become '_'. */
static void safe_name(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < outlen; i++) {
		char ch = s[i];

		out[i] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_') ?
				 ch :
				 '_';
	}
	out[i] = '\0';
	if (out[0] == '.' || out[0] == '\0')
		out[0] = '_';
}

static int write_json(const char *path, const cJSON *doc)
{
	char *s = cJSON_Print(doc);
	size_t len;
	int rc;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (len > CAT_DOC_CAP) {
		free(s);
		return -EFBIG;
	}
	s[len] = '\n';
	rc = write_file_atomic(path, s, len + 1, 0644);
	free(s);
	return rc;
}

int catalog_write_dir(const struct catalog *c, const char *dir)
{
	char path[4096], fname[256];
	cJSON *doc, *svc;
	int rc;

	if (!c || !dir)
		return -EINVAL;
	doc = catalog_to_metadata(c);
	if (!doc)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/openapi", dir);
	rc = mkdir_p(path, 0755);
	if (rc)
		goto cleanup;
	snprintf(path, sizeof(path), "%s/metadata.json", dir);
	rc = write_json(path, doc);
	if (rc)
		goto cleanup;
	cJSON_ArrayForEach(svc, json_get(doc, "services")) {
		cJSON *api = openapi_from_service(svc->string, svc);

		if (!api) {
			rc = -ENOMEM;
			goto cleanup;
		}
		safe_name(svc->string, fname, sizeof(fname));
		snprintf(path, sizeof(path), "%s/openapi/%s.json", dir, fname);
		rc = write_json(path, api);
		cJSON_Delete(api);
		if (rc)
			goto cleanup;
	}
cleanup:
	cJSON_Delete(doc);
	return rc;
}
