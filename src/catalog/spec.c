// SPDX-License-Identifier: BSD-2-Clause
/*
 * Declared APIs (include/apisonar/catalog/spec.h): OpenAPI and Swagger
 * documents parsed, scrubbed and turned into a declared catalog. See
 * docs/declared.md for what is read and what is refused.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <yaml.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/spec.h"
#include "apisonar/util/util.h"

/* ---- YAML and JSON to cJSON ------------------------------------------------ */

struct anchor {
	char *name;
	const cJSON *node; /* owned by the tree being built */
};

struct ybuild {
	yaml_parser_t p;
	size_t nodes;
	struct anchor *anchors;
	size_t n_anchors, cap_anchors;
	char *err;
	size_t errlen;
	int rc;
};

static void yfail(struct ybuild *b, int rc, const char *what, const yaml_mark_t *m)
{
	if (b->rc)
		return;
	b->rc = rc;
	if (m)
		snprintf(b->err, b->errlen, "YAML: %s at line %zu, column %zu", what, m->line + 1,
			 m->column + 1);
	else
		snprintf(b->err, b->errlen, "YAML: %s", what);
}

/* Counts a node against SPEC_MAX_NODES; false once over. */
static bool ycount(struct ybuild *b, size_t n, const yaml_mark_t *m)
{
	b->nodes += n;
	if (b->nodes > SPEC_MAX_NODES) {
		yfail(b, -E2BIG, "more nodes than apisonar reads (aliases expanded)", m);
		return false;
	}
	return true;
}

static size_t json_nodes(const cJSON *n)
{
	size_t c = 1;
	const cJSON *it;

	for (it = n->child; it; it = it->next)
		c += json_nodes(it);
	return c;
}

/* YAML 1.2's core schema for plain scalars: null, booleans, integers and
 * floats; everything else, and every quoted scalar, is a string. The
 * YAML 1.1 words (yes, no, on, off) stay strings: "NO" is a country. */
static cJSON *yscalar(const char *s, size_t n, bool plain)
{
	char *end;
	double d;

	if (!plain)
		return cJSON_CreateString(s);
	if (n == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0)
		return cJSON_CreateNull();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return cJSON_CreateTrue();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return cJSON_CreateFalse();
	if ((isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+' || s[0] == '.') && n > 1)) &&
	    strspn(s, "0123456789+-.eE") == n) {
		errno = 0;
		d = strtod(s, &end);
		if (end == s + n && errno == 0)
			return cJSON_CreateNumber(d);
	}
	return cJSON_CreateString(s);
}

static cJSON *ynode(struct ybuild *b, yaml_event_t *ev, int depth);

/* The next event; false (with the error set) when the stream is bad. */
static bool ynext(struct ybuild *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->p, ev)) {
		yfail(b, -EINVAL, b->p.problem ? b->p.problem : "malformed document",
		      &b->p.problem_mark);
		return false;
	}
	return true;
}

static int yanchor_add(struct ybuild *b, const unsigned char *name, const cJSON *node)
{
	struct anchor *a;

	if (b->n_anchors == b->cap_anchors) {
		size_t cap = b->cap_anchors ? b->cap_anchors * 2 : 16;

		a = realloc(b->anchors, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		b->anchors = a;
		b->cap_anchors = cap;
	}
	a = &b->anchors[b->n_anchors];
	a->name = strdup((const char *)name);
	if (!a->name)
		return -ENOMEM;
	a->node = node;
	b->n_anchors++;
	return 0;
}

/* The latest node of that anchor (YAML lets an anchor be redefined). */
static const cJSON *yanchor_find(const struct ybuild *b, const unsigned char *name)
{
	size_t i;

	for (i = b->n_anchors; i > 0; i--)
		if (strcmp(b->anchors[i - 1].name, (const char *)name) == 0)
			return b->anchors[i - 1].node;
	return NULL;
}

/* "<<: *base" (and "<<: [*a, *b]") copies the members the mapping does not
 * set itself. */
static void ymerge_into(struct ybuild *b, cJSON *obj, const cJSON *src, const yaml_mark_t *m)
{
	const cJSON *it;

	if (cJSON_IsArray(src)) {
		for (it = src->child; it; it = it->next)
			ymerge_into(b, obj, it, m);
		return;
	}
	if (!cJSON_IsObject(src)) {
		yfail(b, -EINVAL, "a merge key (<<) needs a mapping", m);
		return;
	}
	for (it = src->child; it && !b->rc; it = it->next) {
		cJSON *c;

		if (cJSON_GetObjectItemCaseSensitive(obj, it->string))
			continue;
		if (!ycount(b, json_nodes(it), m))
			return;
		c = cJSON_Duplicate(it, 1);
		if (!c) {
			yfail(b, -ENOMEM, "out of memory", NULL);
			return;
		}
		cJSON_AddItemToObject(obj, it->string, c);
	}
}

/* A mapping. Merge keys ("<<") are applied at its end, so the mapping's
 * own keys win wherever they stand, as YAML's merge rule says. */
static cJSON *ymapping(struct ybuild *b, int depth)
{
	cJSON *obj = cJSON_CreateObject(), *merges = cJSON_CreateArray();
	yaml_event_t kev, vev;

	if (!obj || !merges) {
		yfail(b, -ENOMEM, "out of memory", NULL);
		cJSON_Delete(obj);
		cJSON_Delete(merges);
		return NULL;
	}
	for (;;) {
		cJSON *v;
		bool merge;

		if (!ynext(b, &kev))
			break;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			const cJSON *m;

			cJSON_ArrayForEach(m, merges)
				ymerge_into(b, obj, m, &kev.start_mark);
			yaml_event_delete(&kev);
			cJSON_Delete(merges);
			if (b->rc) {
				cJSON_Delete(obj);
				return NULL;
			}
			return obj;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			yfail(b, -EINVAL, "a mapping key that is not a plain string", &kev.start_mark);
			yaml_event_delete(&kev);
			break;
		}
		merge = kev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			strcmp((const char *)kev.data.scalar.value, "<<") == 0;
		if (!ynext(b, &vev)) {
			yaml_event_delete(&kev);
			break;
		}
		v = ynode(b, &vev, depth + 1);
		if (!v) {
			yaml_event_delete(&kev);
			break;
		}
		if (merge) {
			cJSON_AddItemToArray(merges, v);
		} else if (cJSON_GetObjectItemCaseSensitive(obj, (const char *)kev.data.scalar.value)) {
			/* JSON parsers keep the last duplicate; a spec with two
			 * keys of one name is ambiguous: refuse it. */
			yfail(b, -EINVAL, "a duplicate mapping key", &kev.start_mark);
			cJSON_Delete(v);
		} else {
			cJSON_AddItemToObject(obj, (const char *)kev.data.scalar.value, v);
		}
		yaml_event_delete(&kev);
		if (b->rc)
			break;
	}
	cJSON_Delete(obj);
	cJSON_Delete(merges);
	return NULL;
}

static cJSON *ysequence(struct ybuild *b, int depth)
{
	cJSON *arr = cJSON_CreateArray();
	yaml_event_t ev;

	if (!arr) {
		yfail(b, -ENOMEM, "out of memory", NULL);
		return NULL;
	}
	for (;;) {
		cJSON *v;

		if (!ynext(b, &ev))
			break;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return arr;
		}
		v = ynode(b, &ev, depth + 1);
		if (!v)
			break;
		cJSON_AddItemToArray(arr, v);
	}
	cJSON_Delete(arr);
	return NULL;
}

/* One node from its first event (consumed here, deleted here). */
static cJSON *ynode(struct ybuild *b, yaml_event_t *ev, int depth)
{
	const unsigned char *anchor = NULL;
	yaml_mark_t mark = ev->start_mark;
	cJSON *n = NULL;

	if (depth > SPEC_MAX_DEPTH) {
		yfail(b, -E2BIG, "nested deeper than apisonar reads", &mark);
		yaml_event_delete(ev);
		return NULL;
	}
	if (!ycount(b, 1, &mark)) {
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		n = yscalar((const char *)ev->data.scalar.value, ev->data.scalar.length,
			    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
		if (!n)
			yfail(b, -ENOMEM, "out of memory", NULL);
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		n = ysequence(b, depth);
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		n = ymapping(b, depth);
		break;
	case YAML_ALIAS_EVENT: {
		const cJSON *a = yanchor_find(b, ev->data.alias.anchor);

		if (!a) {
			yfail(b, -EINVAL, "an alias to an unknown (or enclosing) anchor", &mark);
			break;
		}
		if (!ycount(b, json_nodes(a), &mark))
			break;
		n = cJSON_Duplicate(a, 1);
		if (!n)
			yfail(b, -ENOMEM, "out of memory", NULL);
		break;
	}
	default:
		yfail(b, -EINVAL, "an unexpected YAML event", &mark);
		break;
	}
	if (n && anchor && yanchor_add(b, anchor, n)) {
		yfail(b, -ENOMEM, "out of memory", NULL);
		cJSON_Delete(n);
		n = NULL;
	}
	yaml_event_delete(ev);
	return n;
}

static int yaml_to_json(const char *buf, size_t len, cJSON **out, char *err, size_t errlen)
{
	struct ybuild b = { .err = err, .errlen = errlen };
	yaml_event_t ev;
	cJSON *root = NULL;
	size_t i;

	if (!yaml_parser_initialize(&b.p))
		return -ENOMEM;
	yaml_parser_set_input_string(&b.p, (const unsigned char *)buf, len);
	/* STREAM-START, DOCUMENT-START, then the root node. */
	while (ynext(&b, &ev)) {
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			yfail(&b, -EINVAL, "the document is empty", NULL);
			break;
		}
		root = ynode(&b, &ev, 0);
		break;
	}
	for (i = 0; i < b.n_anchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);
	yaml_parser_delete(&b.p);
	if (b.rc || !root) {
		cJSON_Delete(root);
		return b.rc ? b.rc : -EINVAL;
	}
	*out = root;
	return 0;
}

int spec_parse(const char *buf, size_t len, cJSON **out, char *err, size_t errlen)
{
	size_t i = 0;

	*out = NULL;
	if (len > SPEC_MAX_BYTES) {
		snprintf(err, errlen, "the document is larger than %u MiB", SPEC_MAX_BYTES >> 20);
		return -E2BIG;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i < len && (buf[i] == '{' || buf[i] == '[')) {
		const char *end = NULL;
		cJSON *j = cJSON_ParseWithLengthOpts(buf + i, len - i, &end, 0);
		size_t line = 1, col = 1, k, at;

		if (j) {
			*out = j;
			return 0;
		}
		/* A YAML flow collection starts the same way. */
		if (yaml_to_json(buf, len, out, err, errlen) == 0)
			return 0;
		at = end && end >= buf + i && end <= buf + len ? (size_t)(end - buf) : len;
		for (k = 0; k < at; k++) {
			if (buf[k] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		snprintf(err, errlen, "JSON: malformed near line %zu, column %zu", line, col);
		return -EINVAL;
	}
	return yaml_to_json(buf, len, out, err, errlen);
}

/* ---- JSON pointers ----------------------------------------------------------- */

/* A pointer under construction: components appended and cut back. */
struct ptr {
	char s[SPEC_MAX_POINTER];
	size_t n;
};

/* Whether a key may be shown in a report: short, printable, and nothing a
 * detector or the value test would call a value. */
static bool showable(const char *k)
{
	size_t i, n = strlen(k);
	enum detect_class first;

	if (n > 96)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20 || (unsigned char)k[i] >= 0x7f)
			return false;
	if (detect_scan_ex(k, n, DETECT_SCAN_DEFAULT_MASK | DETECT_CLASS_BIT(DC_IPV4) |
					DETECT_CLASS_BIT(DC_IPV6), &first))
		return false;
	return true;
}

static size_t ptr_push(struct ptr *p, const char *k)
{
	size_t before = p->n, i;
	const char *src = showable(k) ? k : "*";

	if (p->n + 1 < sizeof(p->s))
		p->s[p->n++] = '/';
	for (i = 0; src[i] && p->n + 2 < sizeof(p->s); i++) {
		if (src[i] == '~' || src[i] == '/') {
			p->s[p->n++] = '~';
			p->s[p->n++] = src[i] == '~' ? '0' : '1';
		} else {
			p->s[p->n++] = src[i];
		}
	}
	p->s[p->n] = '\0';
	return before;
}

static size_t ptr_push_index(struct ptr *p, int i)
{
	char b[16];

	snprintf(b, sizeof(b), "%d", i);
	return ptr_push(p, b);
}

static void ptr_pop(struct ptr *p, size_t to)
{
	p->n = to;
	p->s[to] = '\0';
}

/* ---- scrubbing ----------------------------------------------------------------- */

static int report_add(struct spec_report *rep, const char *pointer, enum detect_class cls)
{
	struct spec_finding *f;

	rep->total++;
	if (rep->n >= SPEC_MAX_FINDINGS)
		return 0;
	if (!rep->findings) {
		rep->findings = calloc(SPEC_MAX_FINDINGS, sizeof(*rep->findings));
		if (!rep->findings)
			return -ENOMEM;
	}
	f = &rep->findings[rep->n++];
	snprintf(f->pointer, sizeof(f->pointer), "%s", pointer[0] ? pointer : "/");
	f->cls = cls;
	return 0;
}

/* The class of a string the document holds: a whole value first (a card
 * number, a key), then anything embedded in free text. */
static enum detect_class string_class(const char *s, size_t n)
{
	enum detect_class c = detect_value(s, n);

	if (c != DC_NONE)
		return c;
	if (detect_scan_ex(s, n, DETECT_SCAN_DEFAULT_MASK, &c))
		return c;
	return DC_NONE;
}

/* "scheme://user:password@host": the password is a credential whatever
 * it looks like. */
static bool url_userinfo(const char *s)
{
	const char *p = strstr(s, "://"), *at, *end;

	if (!p)
		return false;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	return at && memchr(p, ':', (size_t)(at - p));
}

/* Every class found in one string, each reported once at its pointer. */
static int report_string(struct spec_report *rep, const char *pointer, const char *s)
{
	unsigned int mask = DETECT_SCAN_DEFAULT_MASK;
	size_t n = strlen(s);
	enum detect_class c = detect_value(s, n);
	int rc = 0, k;

	if (url_userinfo(s))
		rc = report_add(rep, pointer, DC_PASSWORD);
	if (!rc && c != DC_NONE) {
		rc = report_add(rep, pointer, c);
		mask &= ~DETECT_CLASS_BIT(c);
	}
	for (k = 0; !rc && k < DC__COUNT && detect_scan_ex(s, n, mask, &c); k++) {
		rc = report_add(rep, pointer, c);
		mask &= ~DETECT_CLASS_BIT(c);
	}
	return rc;
}

static int scrub_walk(const cJSON *n, struct ptr *p, struct spec_report *rep, int depth)
{
	const cJSON *it;
	int i = 0, rc;

	if (depth > SPEC_MAX_DEPTH)
		return 0;
	if (cJSON_IsString(n))
		return report_string(rep, p->s, n->valuestring);
	if (cJSON_IsNumber(n) && n->valuedouble >= 1e11 && n->valuedouble < 1e19) {
		/* A card or phone number written as a number. */
		char b[32];
		enum detect_class c;

		snprintf(b, sizeof(b), "%.0f", n->valuedouble);
		c = detect_value(b, strlen(b));
		return c != DC_NONE ? report_add(rep, p->s, c) : 0;
	}
	for (it = n->child; it; it = it->next, i++) {
		size_t mark = it->string ? ptr_push(p, it->string) : ptr_push_index(p, i);

		if (it->string) {
			rc = report_string(rep, p->s, it->string);
			if (rc)
				return rc;
		}
		rc = scrub_walk(it, p, rep, depth + 1);
		ptr_pop(p, mark);
		if (rc)
			return rc;
	}
	return 0;
}

int spec_scrub(const cJSON *doc, struct spec_report *rep)
{
	struct ptr p = { .n = 0 };

	p.s[0] = '\0';
	return scrub_walk(doc, &p, rep, 0);
}

void spec_report_free(struct spec_report *rep)
{
	if (!rep)
		return;
	free(rep->findings);
	memset(rep, 0, sizeof(*rep));
}

/* ---- the declared catalog ------------------------------------------------------ */

struct decl {
	const cJSON *root;
	struct spec_report *rep;
	char *err;
	size_t errlen;
	int swagger2;        /* Swagger 2.0 rather than OpenAPI 3 */
	const cJSON *schemes; /* components.securitySchemes / securityDefinitions */
	const cJSON *refstack[SPEC_MAX_SCHEMA_DEPTH + 1];
	int nref;
	unsigned cycles;
};

/* A name the declared catalog may hold: the anonymizer's test for names,
 * and nothing a detector finds inside it (the last guard scans for those
 * too). */
static bool clean_name(const char *s, size_t n)
{
	return anon_name_ok(s, n) && string_class(s, n) == DC_NONE;
}

/* A name that may enter the catalog. One a detector matches was reported
 * by the scrub already; one refused only because it looks like a value
 * (an id used as a key) is reported here, as DC_NONE. */
static bool decl_name(struct decl *d, const char *name, const struct ptr *p)
{
	size_t n = strlen(name);

	if (clean_name(name, n))
		return true;
	if (string_class(name, n) == DC_NONE)
		report_add(d->rep, p->s, DC_NONE);
	return false;
}

/* Resolves "#/a/b" in the document. NULL when it does not resolve. */
static const cJSON *resolve_pointer(const cJSON *root, const char *ref)
{
	const cJSON *cur = root;
	const char *s = ref + 1;
	char comp[512];

	while (*s == '/') {
		size_t n = 0;

		s++;
		while (*s && *s != '/' && n + 1 < sizeof(comp)) {
			if (s[0] == '~' && s[1] == '0') {
				comp[n++] = '~';
				s += 2;
			} else if (s[0] == '~' && s[1] == '1') {
				comp[n++] = '/';
				s += 2;
			} else if (s[0] == '%' && isxdigit((unsigned char)s[1]) &&
				   isxdigit((unsigned char)s[2])) {
				comp[n++] = (char)(hex_value(s[1]) * 16 + hex_value(s[2]));
				s += 3;
			} else {
				comp[n++] = *s++;
			}
		}
		comp[n] = '\0';
		if (cJSON_IsArray(cur)) {
			char *end;
			long i = strtol(comp, &end, 10);

			cur = *end || i < 0 ? NULL : cJSON_GetArrayItem(cur, (int)i);
		} else {
			cur = cJSON_GetObjectItemCaseSensitive(cur, comp);
		}
		if (!cur)
			return NULL;
	}
	return *s ? NULL : cur;
}

/* Follows $ref chains to the node they name (at most 32 hops); NULL for a
 * dangling reference, which is reported as structure, not as a value. */
static const cJSON *deref(struct decl *d, const cJSON *n)
{
	int hops;

	for (hops = 0; hops < 32 && cJSON_IsObject(n); hops++) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(n, "$ref");

		if (!cJSON_IsString(r))
			return n;
		n = resolve_pointer(d->root, r->valuestring);
	}
	return hops < 32 ? n : NULL;
}

/* Every $ref must be local: apisonar reads one file and fetches nothing. */
static int remote_refs(struct decl *d, const cJSON *n, struct ptr *p, int depth)
{
	const cJSON *it;
	int i = 0;

	if (depth > SPEC_MAX_DEPTH)
		return 0;
	for (it = n->child; it; it = it->next, i++) {
		size_t mark = it->string ? ptr_push(p, it->string) : ptr_push_index(p, i);
		int rc = 0;

		if (it->string && strcmp(it->string, "$ref") == 0 && cJSON_IsString(it) &&
		    it->valuestring[0] != '#') {
			snprintf(d->err, d->errlen,
				 "remote $ref at %s refused: apisonar fetches nothing; bundle the "
				 "document into one file first",
				 p->s);
			rc = -EINVAL;
		} else if (it->string && strcmp(it->string, "$ref") == 0 && cJSON_IsString(it) &&
			   !resolve_pointer(d->root, it->valuestring)) {
			snprintf(d->err, d->errlen, "$ref at %s names nothing in the document", p->s);
			rc = -EINVAL;
		} else {
			rc = remote_refs(d, it, p, depth + 1);
		}
		ptr_pop(p, mark);
		if (rc)
			return rc;
	}
	return 0;
}

static const char *const json_types[] = { "array", "boolean", "integer", "null",
					  "number", "object", "string" };

static const char *type_word(const char *t)
{
	size_t i;

	for (i = 0; i < sizeof(json_types) / sizeof(json_types[0]); i++)
		if (strcmp(t, json_types[i]) == 0)
			return json_types[i];
	return NULL;
}

static void node_type(cJSON *node, const char *t)
{
	const char *w = type_word(t);

	if (w)
		doc_set_add(node, "types", w, 8);
}

/* A class name the detectors know, added to the node's sensitive set. */
static void add_class(cJSON *node, const char *name)
{
	int c;

	for (c = 1; c < DC__COUNT; c++)
		if (strcmp(name, detect_class_name((enum detect_class)c)) == 0)
			doc_set_add(node, "sensitive", detect_class_name((enum detect_class)c), 32);
}

/* Sensitive classes a document declares for a field (x-apisonar-sensitive:
 * a class name or a list of them). */
static void node_declared_sensitive(cJSON *node, const cJSON *x)
{
	const cJSON *it;

	if (cJSON_IsString(x)) {
		add_class(node, x->valuestring);
		return;
	}
	cJSON_ArrayForEach(it, x)
		if (cJSON_IsString(it))
			add_class(node, it->valuestring);
}

static void schema_node(struct decl *d, const cJSON *s, cJSON *node, struct ptr *p, int depth);

static void schema_list(struct decl *d, const cJSON *l, cJSON *node, struct ptr *p, int depth)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, l)
		schema_node(d, it, node, p, depth + 1);
}

/* One schema into a catalog NODE: types, formats, properties, items,
 * additional properties, declared sensitivity. allOf/oneOf/anyOf merge
 * into the same node (a union of what may appear). A $ref already being
 * followed closes a cycle: the walk stops there. */
static void schema_node(struct decl *d, const cJSON *s, cJSON *node, struct ptr *p, int depth)
{
	const cJSON *t, *it, *props, *items, *addl, *req;
	int i;

	if (depth > SPEC_MAX_SCHEMA_DEPTH || !s)
		return;
	s = deref(d, s);
	if (!cJSON_IsObject(s))
		return;
	for (i = 0; i < d->nref; i++) {
		if (d->refstack[i] == s) {
			d->cycles++;
			return;
		}
	}
	if (d->nref > SPEC_MAX_SCHEMA_DEPTH)
		return;
	d->refstack[d->nref++] = s;

	t = cJSON_GetObjectItemCaseSensitive(s, "type");
	if (cJSON_IsString(t)) {
		node_type(node, t->valuestring);
	} else if (cJSON_IsArray(t)) {
		cJSON_ArrayForEach(it, t)
			if (cJSON_IsString(it))
				node_type(node, it->valuestring);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "nullable")) ||
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "x-nullable")))
		doc_set_add(node, "types", "null", 8);
	it = cJSON_GetObjectItemCaseSensitive(s, "format");
	if (cJSON_IsString(it) && clean_name(it->valuestring, strlen(it->valuestring)) &&
	    strlen(it->valuestring) <= 32)
		doc_set_add(node, "formats", it->valuestring, 16);
	node_declared_sensitive(node, cJSON_GetObjectItemCaseSensitive(s, "x-apisonar-sensitive"));

	props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	req = cJSON_GetObjectItemCaseSensitive(s, "required");
	if (cJSON_IsObject(props)) {
		cJSON *pm;
		size_t mark0;

		if (!t)
			doc_set_add(node, "types", "object", 8);
		pm = doc_obj(node, "properties");
		mark0 = ptr_push(p, "properties");
		cJSON_ArrayForEach(it, props) {
			size_t mark = ptr_push(p, it->string);
			cJSON *child;
			const cJSON *r;

			if (pm && decl_name(d, it->string, p)) {
				child = doc_obj(pm, it->string);
				if (child) {
					schema_node(d, it, child, p, depth + 1);
					cJSON_ArrayForEach(r, req)
						if (cJSON_IsString(r) &&
						    strcmp(r->valuestring, it->string) == 0 &&
						    !json_get(child, "required"))
							cJSON_AddTrueToObject(child, "required");
				}
			}
			ptr_pop(p, mark);
		}
		ptr_pop(p, mark0);
	}
	items = cJSON_GetObjectItemCaseSensitive(s, "items");
	if (items) {
		cJSON *in;
		size_t mark;

		if (!t)
			doc_set_add(node, "types", "array", 8);
		in = doc_obj(node, "items");
		mark = ptr_push(p, "items");
		if (in)
			schema_node(d, items, in, p, depth + 1);
		ptr_pop(p, mark);
	}
	addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
	if (cJSON_IsObject(addl) || cJSON_IsTrue(addl)) {
		cJSON *an = doc_obj(node, "additional");
		size_t mark = ptr_push(p, "additionalProperties");

		if (an && cJSON_IsObject(addl))
			schema_node(d, addl, an, p, depth + 1);
		ptr_pop(p, mark);
	}
	for (i = 0; i < 3; i++) {
		static const char *const comb[] = { "allOf", "oneOf", "anyOf" };
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(s, comb[i]);

		if (cJSON_IsArray(l)) {
			size_t mark = ptr_push(p, comb[i]);

			schema_list(d, l, node, p, depth);
			ptr_pop(p, mark);
		}
	}
	d->nref--;
}

/* "application/json; charset=utf-8" -> "application/json" (lowercase). */
static void media_key(const char *mt, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; mt[i] && mt[i] != ';' && mt[i] != ' ' && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)mt[i]);
	out[i] = '\0';
}

/* content: {media type: {schema}} into bodies: {media type: {"schema"}}. */
static void content_bodies(struct decl *d, const cJSON *content, cJSON *bodies, struct ptr *p)
{
	const cJSON *it;
	size_t mark0 = ptr_push(p, "content");

	cJSON_ArrayForEach(it, content) {
		char mt[96];
		size_t mark = ptr_push(p, it->string);
		cJSON *b;

		media_key(it->string, mt, sizeof(mt));
		if (mt[0] && decl_name(d, mt, p)) {
			b = doc_obj(bodies, mt);
			if (b) {
				const cJSON *sc = cJSON_GetObjectItemCaseSensitive(deref(d, it), "schema");

				if (sc) {
					cJSON *node = doc_obj(b, "schema");
					size_t m2 = ptr_push(p, "schema");

					if (node)
						schema_node(d, sc, node, p, 0);
					ptr_pop(p, m2);
				}
			}
		}
		ptr_pop(p, mark);
	}
	ptr_pop(p, mark0);
}

/* Swagger 2.0: a body schema under each media type the operation consumes
 * or produces (application/json when it says nothing). */
static void swagger_bodies(struct decl *d, const cJSON *schema, const cJSON *types, cJSON *bodies,
			   struct ptr *p)
{
	const cJSON *it;
	bool any = false;

	cJSON_ArrayForEach(it, types) {
		char mt[96];
		cJSON *b, *node;

		if (!cJSON_IsString(it))
			continue;
		media_key(it->valuestring, mt, sizeof(mt));
		if (!mt[0] || !decl_name(d, mt, p))
			continue;
		any = true;
		b = doc_obj(bodies, mt);
		node = b && schema ? doc_obj(b, "schema") : NULL;
		if (node)
			schema_node(d, schema, node, p, 0);
	}
	if (!any) {
		cJSON *b = doc_obj(bodies, "application/json");
		cJSON *node = b && schema ? doc_obj(b, "schema") : NULL;

		if (node)
			schema_node(d, schema, node, p, 0);
	}
}

static const cJSON *op_or_root(const cJSON *op, const cJSON *root, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(op, name);

	return v ? v : cJSON_GetObjectItemCaseSensitive(root, name);
}

/* One parameter object into the endpoint's parameters (or, for Swagger's
 * body and formData, into its request bodies). */
static void one_param(struct decl *d, const cJSON *prm, const cJSON *op, cJSON *ep, struct ptr *p)
{
	const cJSON *name, *in, *sc;
	char lname[ANON_MAX_NAME + 1];
	cJSON *params, *map, *node;
	size_t i;

	prm = deref(d, prm);
	name = cJSON_GetObjectItemCaseSensitive(prm, "name");
	in = cJSON_GetObjectItemCaseSensitive(prm, "in");
	if (!cJSON_IsString(in))
		return;
	if (strcmp(in->valuestring, "body") == 0) {
		cJSON *req = doc_obj(ep, "request");
		cJSON *bodies = req ? doc_obj(req, "bodies") : NULL;

		if (bodies)
			swagger_bodies(d, cJSON_GetObjectItemCaseSensitive(prm, "schema"),
				       op_or_root(op, d->root, "consumes"), bodies, p);
		return;
	}
	if (!cJSON_IsString(name) || !decl_name(d, name->valuestring, p))
		return;
	if (strcmp(in->valuestring, "formData") == 0) {
		const cJSON *cons = op_or_root(op, d->root, "consumes");
		const cJSON *it;
		const char *mt = "application/x-www-form-urlencoded";
		cJSON *req = doc_obj(ep, "request"), *bodies, *b, *schema, *pm;

		cJSON_ArrayForEach(it, cons)
			if (cJSON_IsString(it) && strstr(it->valuestring, "multipart/form-data"))
				mt = "multipart/form-data";
		bodies = req ? doc_obj(req, "bodies") : NULL;
		b = bodies ? doc_obj(bodies, mt) : NULL;
		schema = b ? doc_obj(b, "schema") : NULL;
		if (!schema)
			return;
		doc_set_add(schema, "types", "object", 8);
		pm = doc_obj(schema, "properties");
		node = pm ? doc_obj(pm, name->valuestring) : NULL;
		if (node) {
			schema_node(d, prm, node, p, 0);
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(prm, "required")) &&
			    !json_get(node, "required"))
				cJSON_AddTrueToObject(node, "required");
		}
		return;
	}
	if (strcmp(in->valuestring, "path") && strcmp(in->valuestring, "query") &&
	    strcmp(in->valuestring, "header") && strcmp(in->valuestring, "cookie"))
		return;
	for (i = 0; name->valuestring[i] && i < ANON_MAX_NAME; i++)
		lname[i] = strcmp(in->valuestring, "header") == 0 ?
				   (char)tolower((unsigned char)name->valuestring[i]) :
				   name->valuestring[i];
	lname[i] = '\0';
	/* OpenAPI: Accept, Content-Type and Authorization are not header
	 * parameters; the catalog does not keep them as parameters either. */
	if (strcmp(in->valuestring, "header") == 0 &&
	    (strcmp(lname, "accept") == 0 || strcmp(lname, "content-type") == 0 ||
	     strcmp(lname, "authorization") == 0))
		return;
	params = doc_obj(ep, "parameters");
	map = params ? doc_obj(params, in->valuestring) : NULL;
	node = map ? doc_obj(map, lname) : NULL;
	if (!node)
		return;
	sc = cJSON_GetObjectItemCaseSensitive(prm, "schema");
	schema_node(d, sc ? sc : prm, node, p, 0);
	if ((cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(prm, "required")) ||
	     strcmp(in->valuestring, "path") == 0) &&
	    !json_get(node, "required"))
		cJSON_AddTrueToObject(node, "required");
}

static void params_list(struct decl *d, const cJSON *list, const cJSON *op, cJSON *ep, struct ptr *p)
{
	const cJSON *it;
	int i = 0;
	size_t mark0 = ptr_push(p, "parameters");

	cJSON_ArrayForEach(it, list) {
		size_t mark = ptr_push_index(p, i++);

		one_param(d, it, op, ep, p);
		ptr_pop(p, mark);
	}
	ptr_pop(p, mark0);
}

/* A security scheme as the auth kind the anonymizer records for it. */
static int scheme_kind(struct decl *d, const char *scheme, char *out, size_t outlen)
{
	const cJSON *s = deref(d, cJSON_GetObjectItemCaseSensitive(d->schemes, scheme));
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(s, "in");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
	const cJSON *hs = cJSON_GetObjectItemCaseSensitive(s, "scheme");
	char lname[ANON_MAX_NAME + 1];
	size_t i;

	if (!cJSON_IsString(type))
		return -ENOENT;
	if (strcmp(type->valuestring, "basic") == 0)
		return snprintf(out, outlen, "basic") > 0 ? 0 : -ENOENT;
	if (strcmp(type->valuestring, "oauth2") == 0 ||
	    strcmp(type->valuestring, "openIdConnect") == 0)
		return snprintf(out, outlen, "bearer") > 0 ? 0 : -ENOENT;
	if (strcmp(type->valuestring, "http") == 0 && cJSON_IsString(hs)) {
		for (i = 0; hs->valuestring[i] && i < 32; i++)
			lname[i] = (char)tolower((unsigned char)hs->valuestring[i]);
		lname[i] = '\0';
		if (strcmp(lname, "bearer") == 0 || strcmp(lname, "basic") == 0)
			snprintf(out, outlen, "%s", lname);
		else if (clean_name(lname, strlen(lname)))
			snprintf(out, outlen, "http_%s", lname);
		else
			return -ENOENT;
		return 0;
	}
	if (strcmp(type->valuestring, "apiKey") == 0 && cJSON_IsString(in) && cJSON_IsString(name) &&
	    clean_name(name->valuestring, strlen(name->valuestring))) {
		bool header = strcmp(in->valuestring, "header") == 0;

		for (i = 0; name->valuestring[i] && i < ANON_MAX_NAME; i++)
			lname[i] = header ? (char)tolower((unsigned char)name->valuestring[i]) :
					    name->valuestring[i];
		lname[i] = '\0';
		if (header)
			snprintf(out, outlen, "apikey_header:%s", lname);
		else if (strcmp(in->valuestring, "query") == 0)
			snprintf(out, outlen, "apikey_query:%s", lname);
		else if (strcmp(in->valuestring, "cookie") == 0)
			snprintf(out, outlen, "cookie:%s", lname);
		else
			return -ENOENT;
		return 0;
	}
	return -ENOENT;
}

/* security: [{scheme: scopes}, ...] -> "auth": [kinds], and
 * "auth_required": true when no alternative is empty ({} means anonymous
 * access is one of the choices). */
static void security(struct decl *d, const cJSON *sec, cJSON *ep)
{
	const cJSON *req, *it;
	bool optional = false, any = false;

	if (!cJSON_IsArray(sec))
		return;
	cJSON_ArrayForEach(req, sec) {
		if (!cJSON_IsObject(req) || !req->child) {
			optional = true;
			continue;
		}
		cJSON_ArrayForEach(it, req) {
			char kind[ANON_MAX_NAME + 32];

			if (scheme_kind(d, it->string, kind, sizeof(kind)) == 0) {
				doc_set_add(ep, "auth", kind, 32);
				any = true;
			}
		}
	}
	if (any && !optional)
		cJSON_AddTrueToObject(ep, "auth_required");
}

/* The responses object: status (or "2XX", "default") -> bodies, headers. */
static void responses(struct decl *d, const cJSON *rs, const cJSON *op, cJSON *ep, struct ptr *p)
{
	const cJSON *it;
	cJSON *map = doc_obj(ep, "responses");
	size_t mark0 = ptr_push(p, "responses");

	cJSON_ArrayForEach(it, rs) {
		const cJSON *r = deref(d, it), *h, *hi;
		size_t mark = ptr_push(p, it->string);
		char code[8];
		cJSON *resp;
		size_t i;

		if (strcmp(it->string, "default") == 0) {
			snprintf(code, sizeof(code), "default");
		} else if (strlen(it->string) == 3 && it->string[0] >= '1' && it->string[0] <= '5') {
			for (i = 0; i < 3; i++)
				code[i] = (char)toupper((unsigned char)it->string[i]);
			code[3] = '\0';
			if (!(isdigit((unsigned char)code[1]) && isdigit((unsigned char)code[2])) &&
			    strcmp(code + 1, "XX") != 0) {
				ptr_pop(p, mark);
				continue;
			}
		} else {
			ptr_pop(p, mark);
			continue;
		}
		resp = map ? doc_obj(map, code) : NULL;
		if (resp && cJSON_IsObject(r)) {
			const cJSON *content = cJSON_GetObjectItemCaseSensitive(r, "content");
			cJSON *bodies = doc_obj(resp, "bodies");

			if (bodies && content)
				content_bodies(d, content, bodies, p);
			else if (bodies && d->swagger2 && cJSON_GetObjectItemCaseSensitive(r, "schema"))
				swagger_bodies(d, cJSON_GetObjectItemCaseSensitive(r, "schema"),
					       op_or_root(op, d->root, "produces"), bodies, p);
			if (bodies && !bodies->child)
				cJSON_DeleteItemFromObjectCaseSensitive(resp, "bodies");
			h = cJSON_GetObjectItemCaseSensitive(r, "headers");
			cJSON_ArrayForEach(hi, h) {
				char lname[ANON_MAX_NAME + 1];
				cJSON *hm, *node;

				for (i = 0; hi->string[i] && i < ANON_MAX_NAME; i++)
					lname[i] = (char)tolower((unsigned char)hi->string[i]);
				lname[i] = '\0';
				if (!decl_name(d, lname, p))
					continue;
				hm = doc_obj(resp, "headers");
				node = hm ? doc_obj(hm, lname) : NULL;
				if (node) {
					const cJSON *sc =
						cJSON_GetObjectItemCaseSensitive(deref(d, hi), "schema");

					schema_node(d, sc ? sc : hi, node, p, 0);
				}
			}
		}
		ptr_pop(p, mark);
	}
	ptr_pop(p, mark0);
}

/* A declared path as a catalog template: literal segments must pass the
 * anonymizer's checks (a literal that looks like a value or holds a secret
 * becomes a parameter and is reported), parameter names must be names. */
static int declared_template(struct decl *d, const char *base, const char *path, char *out,
			     size_t outlen, struct ptr *p)
{
	size_t o = 0, i;
	const char *s;
	char full[2048];

	if (snprintf(full, sizeof(full), "%s%s", base, path) >= (int)sizeof(full))
		return -E2BIG;
	s = full;
	while (*s) {
		const char *e;
		char seg[512];
		size_t n;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n >= sizeof(seg))
			return -E2BIG;
		memcpy(seg, s, n);
		seg[n] = '\0';
		s += n;
		/* Each {name} must be a name; the literal bits around it must
		 * not be values. */
		{
			bool ok = true;
			const char *q = seg;

			while (*q && ok) {
				const char *open = strchr(q, '{'), *close;
				char lit[512];
				size_t ln = open ? (size_t)(open - q) : strlen(q);

				memcpy(lit, q, ln);
				lit[ln] = '\0';
				if (ln && (detect_is_value_like(lit, ln) ||
					   string_class(lit, ln) != DC_NONE || !clean_name(lit, ln)))
					ok = false;
				if (!open)
					break;
				close = strchr(open, '}');
				if (!close) {
					ok = false;
					break;
				}
				memcpy(lit, open + 1, (size_t)(close - open - 1));
				lit[close - open - 1] = '\0';
				if (!clean_name(lit, strlen(lit)))
					ok = false;
				q = close + 1;
			}
			if (!ok) {
				if (string_class(seg, n) == DC_NONE)
					report_add(d->rep, p->s, DC_NONE);
				snprintf(seg, sizeof(seg), "{param}");
				n = strlen(seg);
			}
		}
		if (o + 1 + n + 1 > outlen)
			return -E2BIG;
		out[o++] = '/';
		for (i = 0; i < n; i++)
			out[o++] = seg[i];
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* The host (and port) of a server URL, and its path, server variables
 * replaced by their defaults. */
static void server_parts(struct decl *d, char *host, size_t hostlen, char *path, size_t pathlen)
{
	const cJSON *servers = cJSON_GetObjectItemCaseSensitive(d->root, "servers");
	const cJSON *s0 = cJSON_GetArrayItem(servers, 0);
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(s0, "url");
	const cJSON *vars = cJSON_GetObjectItemCaseSensitive(s0, "variables");
	char u[512];
	size_t o = 0;
	const char *q, *h, *slash;

	host[0] = path[0] = '\0';
	if (d->swagger2) {
		const cJSON *hj = cJSON_GetObjectItemCaseSensitive(d->root, "host");
		const cJSON *bp = cJSON_GetObjectItemCaseSensitive(d->root, "basePath");

		if (cJSON_IsString(hj))
			snprintf(host, hostlen, "%s", hj->valuestring);
		if (cJSON_IsString(bp))
			snprintf(path, pathlen, "%s", bp->valuestring);
	} else if (cJSON_IsString(url)) {
		for (q = url->valuestring; *q && o + 1 < sizeof(u);) {
			const char *close = *q == '{' ? strchr(q, '}') : NULL;

			if (close) {
				char vn[128];
				const cJSON *def;
				size_t vl = (size_t)(close - q - 1);

				snprintf(vn, sizeof(vn), "%.*s", (int)vl, q + 1);
				def = cJSON_GetObjectItemCaseSensitive(
					cJSON_GetObjectItemCaseSensitive(vars, vn), "default");
				if (cJSON_IsString(def))
					o += (size_t)snprintf(u + o, sizeof(u) - o, "%s", def->valuestring);
				q = close + 1;
				if (o >= sizeof(u))
					o = sizeof(u) - 1;
			} else {
				u[o++] = *q++;
			}
		}
		u[o] = '\0';
		h = strstr(u, "://");
		if (h) {
			h += 3;
			/* user:password@ is never a host name. */
			slash = strchr(h, '/');
			{
				const char *at = memchr(h, '@', slash ? (size_t)(slash - h) : strlen(h));

				if (at)
					h = at + 1;
			}
			snprintf(host, hostlen, "%.*s", (int)(slash ? (size_t)(slash - h) : strlen(h)), h);
			snprintf(path, pathlen, "%s", slash ? slash : "");
		} else {
			snprintf(path, pathlen, "%s", u);
		}
	}
	/* A query or fragment in a server URL is not a path. */
	path[strcspn(path, "?#")] = '\0';
	o = strlen(path);
	while (o > 0 && path[o - 1] == '/')
		path[--o] = '\0';
	for (o = 0; host[o]; o++)
		host[o] = (char)tolower((unsigned char)host[o]);
}

static const char *const methods[] = { "get",	  "put",  "post",  "delete",
				       "options", "head", "patch", "trace" };

int spec_template_key(const char *method, const char *path, char *out, size_t outlen)
{
	size_t o = 0, i;
	bool in_param = false;

	for (i = 0; method[i] && o + 1 < outlen; i++)
		out[o++] = (char)toupper((unsigned char)method[i]);
	if (o + 1 < outlen)
		out[o++] = ' ';
	for (i = 0; path[i]; i++) {
		if (o + 2 >= outlen)
			return -E2BIG;
		if (in_param) {
			if (path[i] == '}') {
				out[o++] = '}';
				in_param = false;
			}
			continue;
		}
		out[o++] = path[i];
		if (path[i] == '{')
			in_param = true;
	}
	out[o] = '\0';
	return in_param ? -EINVAL : 0;
}

int spec_declare(const cJSON *doc, const struct spec_declare_opts *o, struct spec_report *rep,
		 cJSON **catalog, char *err, size_t errlen)
{
	struct decl d = { .root = doc, .rep = rep, .err = err, .errlen = errlen };
	const cJSON *paths, *pi, *version, *comps;
	char host[256], base[512];
	const char *svc_name;
	cJSON *svcs, *svc, *eps;
	struct ptr p = { .n = 0 };
	int rc;

	p.s[0] = '\0';
	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "not an OpenAPI document: the top level is not an object");
		return -EINVAL;
	}
	version = cJSON_GetObjectItemCaseSensitive(doc, "openapi");
	if (!cJSON_IsString(version)) {
		version = cJSON_GetObjectItemCaseSensitive(doc, "swagger");
		if (!cJSON_IsString(version) || strncmp(version->valuestring, "2.", 2) != 0) {
			snprintf(err, errlen,
				 "not an OpenAPI document: no \"openapi\" (3.0, 3.1) or \"swagger\" "
				 "(2.0) version");
			return -EINVAL;
		}
		d.swagger2 = 1;
	} else if (strncmp(version->valuestring, "3.", 2) != 0) {
		snprintf(err, errlen, "OpenAPI version %s is not supported (3.0, 3.1, Swagger 2.0)",
			 strlen(version->valuestring) <= 8 && showable(version->valuestring) ?
				 version->valuestring :
				 "*");
		return -EINVAL;
	}
	rc = remote_refs(&d, doc, &p, 0);
	if (rc)
		return rc;
	comps = cJSON_GetObjectItemCaseSensitive(doc, "components");
	d.schemes = d.swagger2 ? cJSON_GetObjectItemCaseSensitive(doc, "securityDefinitions") :
				 cJSON_GetObjectItemCaseSensitive(comps, "securitySchemes");
	server_parts(&d, host, sizeof(host), base, sizeof(base));
	if (o && o->base_path)
		snprintf(base, sizeof(base), "%s", strcmp(o->base_path, "/") == 0 ? "" : o->base_path);
	if (o && o->service) {
		svc_name = o->service;
	} else if (host[0] && clean_name(host, strlen(host)) &&
		   string_class(host, strlen(host)) == DC_NONE) {
		svc_name = host;
	} else {
		svc_name = "declared";
	}

	if (!*catalog) {
		*catalog = cJSON_CreateObject();
		if (!*catalog)
			return -ENOMEM;
		cJSON_AddStringToObject(*catalog, "schema", "apisonar.declared/v1");
	}
	svcs = doc_obj(*catalog, "services");
	svc = svcs ? doc_obj(svcs, svc_name) : NULL;
	eps = svc ? doc_obj(svc, "endpoints") : NULL;
	if (!eps)
		return -ENOMEM;

	paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
	ptr_push(&p, "paths");
	cJSON_ArrayForEach(pi, paths) {
		size_t mark = ptr_push(&p, pi->string);
		const cJSON *item = deref(&d, pi);
		char tmpl[2048];
		size_t m;

		if (pi->string[0] != '/' ||
		    declared_template(&d, base, pi->string, tmpl, sizeof(tmpl), &p)) {
			ptr_pop(&p, mark);
			continue;
		}
		for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			const cJSON *op = cJSON_GetObjectItemCaseSensitive(item, methods[m]);
			char key[2200], M[8];
			size_t k, mm;
			cJSON *ep;
			const cJSON *rb;

			if (!cJSON_IsObject(op))
				continue;
			mm = ptr_push(&p, methods[m]);
			for (k = 0; methods[m][k]; k++)
				M[k] = (char)toupper((unsigned char)methods[m][k]);
			M[k] = '\0';
			snprintf(key, sizeof(key), "%s %s", M, tmpl);
			ep = cJSON_GetObjectItemCaseSensitive(eps, key);
			if (!ep) {
				ep = cJSON_AddObjectToObject(eps, key);
				if (!ep) {
					ptr_pop(&p, mm);
					continue;
				}
				cJSON_AddStringToObject(ep, "method", M);
				cJSON_AddStringToObject(ep, "path", tmpl);
				cJSON_AddTrueToObject(ep, "declared");
			}
			params_list(&d, cJSON_GetObjectItemCaseSensitive(item, "parameters"), op, ep, &p);
			params_list(&d, cJSON_GetObjectItemCaseSensitive(op, "parameters"), op, ep, &p);
			rb = deref(&d, cJSON_GetObjectItemCaseSensitive(op, "requestBody"));
			if (cJSON_IsObject(rb)) {
				cJSON *req = doc_obj(ep, "request");
				cJSON *bodies = req ? doc_obj(req, "bodies") : NULL;
				size_t mr = ptr_push(&p, "requestBody");

				if (bodies)
					content_bodies(&d, cJSON_GetObjectItemCaseSensitive(rb, "content"),
						       bodies, &p);
				if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rb, "required")) && req &&
				    !json_get(req, "required"))
					cJSON_AddTrueToObject(req, "required");
				ptr_pop(&p, mr);
			}
			responses(&d, cJSON_GetObjectItemCaseSensitive(op, "responses"), op, ep, &p);
			security(&d, op_or_root(op, doc, "security"), ep);
			ptr_pop(&p, mm);
		}
		ptr_pop(&p, mark);
	}
	return 0;
}

int spec_declare_file(const char *path, const struct spec_declare_opts *o,
		      struct spec_report *rep, cJSON **catalog, char *err, size_t errlen)
{
	char *buf = NULL, why[256];
	size_t len = 0;
	cJSON *doc = NULL;
	int rc;

	rc = read_file_all(path, SPEC_MAX_BYTES, &buf, &len);
	if (rc) {
		snprintf(err, errlen, "%s: %s", path,
			 rc == -EFBIG ? "larger than apisonar reads (64 MiB)" : strerror(-rc));
		return rc;
	}
	why[0] = '\0';
	rc = spec_parse(buf, len, &doc, why, sizeof(why));
	if (!rc)
		rc = spec_scrub(doc, rep);
	if (!rc)
		rc = spec_declare(doc, o, rep, catalog, why, sizeof(why));
	if (rc)
		snprintf(err, errlen, "%s: %s", path, why[0] ? why : strerror(-rc));
	json_wipe(doc);
	cJSON_Delete(doc);
	/* The document may hold secrets: wipe it before it goes back. */
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

int spec_count_endpoints(const cJSON *catalog)
{
	const cJSON *s;
	int n = 0;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(catalog, "services"))
		n += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s, "endpoints"));
	return n;
}
