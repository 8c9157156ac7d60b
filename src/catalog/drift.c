// SPDX-License-Identifier: BSD-2-Clause
/*
 * Drift between a declared and an observed catalog
 * (include/apisonar/catalog/drift.h, docs/declared.md). Both sides hold
 * names only; a finding copies names and counts, nothing else.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/declared_merge.h"
#include "apisonar/catalog/drift.h"
#include "apisonar/catalog/spec.h"
#include "apisonar/util/util.h"

static const char *const kind_names[DK__COUNT] = {
	[DK_SHADOW_ENDPOINT] = "shadow-endpoint",
	[DK_ZOMBIE_ENDPOINT] = "zombie-endpoint",
	[DK_UNDECLARED_PARAM] = "undeclared-parameter",
	[DK_UNSEEN_PARAM] = "unseen-parameter",
	[DK_UNDECLARED_STATUS] = "undeclared-status",
	[DK_UNSEEN_STATUS] = "unseen-status",
	[DK_UNDECLARED_MEDIA] = "undeclared-media-type",
	[DK_UNDECLARED_FIELD] = "undeclared-field",
	[DK_TYPE_MISMATCH] = "type-mismatch",
	[DK_UNDECLARED_SENSITIVE] = "undeclared-sensitive",
	[DK_UNDECLARED_AUTH] = "undeclared-auth",
	[DK_MISSING_AUTH] = "missing-auth",
};

const char *drift_kind_name(enum drift_kind k)
{
	return k < DK__COUNT ? kind_names[k] : "unknown";
}

/* What one comparison of two endpoints writes into. */
struct cmp {
	struct drift_result *r;
	const char *service;
	const char *method;
	const char *path; /* the declared template */
	int rc;
};

static void add(struct cmp *c, enum drift_kind k, const char *location, const char *name,
		const char *detail)
{
	struct drift_finding *f;

	if (c->rc)
		return;
	if (c->r->n == c->r->cap) {
		size_t cap = c->r->cap ? c->r->cap * 2 : 64;
		struct drift_finding *nf = realloc(c->r->f, cap * sizeof(*nf));

		if (!nf) {
			c->rc = -ENOMEM;
			return;
		}
		c->r->f = nf;
		c->r->cap = cap;
	}
	f = &c->r->f[c->r->n++];
	memset(f, 0, sizeof(*f));
	f->kind = k;
	snprintf(f->service, sizeof(f->service), "%s", c->service);
	snprintf(f->method, sizeof(f->method), "%s", c->method);
	snprintf(f->path, sizeof(f->path), "%s", c->path);
	snprintf(f->location, sizeof(f->location), "%s", location ? location : "");
	snprintf(f->name, sizeof(f->name), "%s", name ? name : "");
	snprintf(f->detail, sizeof(f->detail), "%s", detail ? detail : "");
}

/* ---- types ------------------------------------------------------------------- */

static bool has_str(const cJSON *set, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, set)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

/* Whether an observed type fits a declared set. A parameter's value is
 * text on the wire, so an observed integer fits a declared string; a JSON
 * body's types are exact, but an integer is also a number. */
static bool type_fits(const char *obs, const cJSON *decl, bool param)
{
	if (has_str(decl, obs))
		return true;
	if (strcmp(obs, "integer") == 0 && has_str(decl, "number"))
		return true;
	if (param && strcmp(obs, "string") != 0 && has_str(decl, "string"))
		return true;
	return false;
}

static void set_text(const cJSON *set, char *out, size_t outlen)
{
	const cJSON *it;
	size_t o = 0;

	out[0] = '\0';
	cJSON_ArrayForEach(it, set) {
		if (!cJSON_IsString(it))
			continue;
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? "|" : "", it->valuestring);
		if (o >= outlen) {
			out[outlen - 1] = '\0';
			return;
		}
	}
}

/* Types and sensitive classes of one node against its declaration. */
static void node_scalars(struct cmp *c, const cJSON *obs, const cJSON *decl, const char *loc,
			 const char *name, bool param)
{
	const cJSON *ot = cJSON_GetObjectItemCaseSensitive(obs, "types");
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(decl, "types");
	const cJSON *os = cJSON_GetObjectItemCaseSensitive(obs, "sensitive");
	const cJSON *ds = cJSON_GetObjectItemCaseSensitive(decl, "sensitive");
	const cJSON *it;

	if (cJSON_GetArraySize(dt) > 0) {
		cJSON_ArrayForEach(it, ot) {
			char d[64], detail[128];

			if (!cJSON_IsString(it) || type_fits(it->valuestring, dt, param))
				continue;
			set_text(dt, d, sizeof(d));
			snprintf(detail, sizeof(detail), "declared %s, observed %s", d, it->valuestring);
			add(c, DK_TYPE_MISMATCH, loc, name, detail);
		}
	}
	cJSON_ArrayForEach(it, os) {
		char detail[64];

		if (!cJSON_IsString(it) || has_str(ds, it->valuestring))
			continue;
		snprintf(detail, sizeof(detail), "%s", it->valuestring);
		add(c, DK_UNDECLARED_SENSITIVE, loc, name, detail);
	}
}

/* Sensitive classes anywhere under an undeclared field: the document
 * marks none of them. */
static void sensitive_walk(struct cmp *c, const cJSON *obs, const char *loc, char *path,
			   size_t pathlen, int depth)
{
	const cJSON *it;
	size_t at = strlen(path);

	if (depth > SPEC_MAX_SCHEMA_DEPTH || c->rc)
		return;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(obs, "sensitive"))
		if (cJSON_IsString(it))
			add(c, DK_UNDECLARED_SENSITIVE, loc, path, it->valuestring);
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(obs, "properties")) {
		snprintf(path + at, pathlen - at, ".%s", it->string);
		sensitive_walk(c, it, loc, path, pathlen, depth + 1);
		path[at] = '\0';
	}
	it = cJSON_GetObjectItemCaseSensitive(obs, "items");
	if (it) {
		snprintf(path + at, pathlen - at, "[]");
		sensitive_walk(c, it, loc, path, pathlen, depth + 1);
		path[at] = '\0';
	}
	it = cJSON_GetObjectItemCaseSensitive(obs, "additional");
	if (it) {
		snprintf(path + at, pathlen - at, ".*");
		sensitive_walk(c, it, loc, path, pathlen, depth + 1);
		path[at] = '\0';
	}
}

/* A declared schema that says nothing of an object's members (no
 * properties, no additionalProperties: false) allows any. */
static bool open_object(const cJSON *decl)
{
	return !cJSON_GetObjectItemCaseSensitive(decl, "properties");
}

/* A body node against its declaration, recursively: fields by name,
 * array items, maps; the field path is dotted ("user.address.city",
 * "items[].id", "tags.*"). */
static void node_walk(struct cmp *c, const cJSON *obs, const cJSON *decl, const char *loc,
		      char *path, size_t pathlen, int depth)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(obs, "properties");
	const cJSON *dp = cJSON_GetObjectItemCaseSensitive(decl, "properties");
	const cJSON *da = cJSON_GetObjectItemCaseSensitive(decl, "additional");
	const cJSON *it, *oi, *di;
	size_t at = strlen(path);

	if (depth > SPEC_MAX_SCHEMA_DEPTH || c->rc)
		return;
	if (at)
		node_scalars(c, obs, decl, loc, path, false);
	cJSON_ArrayForEach(it, op) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(dp, it->string);

		snprintf(path + at, pathlen - at, "%s%s", at ? "." : "", it->string);
		if (d)
			node_walk(c, it, d, loc, path, pathlen, depth + 1);
		else if (da)
			node_walk(c, it, da, loc, path, pathlen, depth + 1);
		else if (!open_object(decl)) {
			add(c, DK_UNDECLARED_FIELD, loc, path, NULL);
			sensitive_walk(c, it, loc, path, pathlen, depth + 1);
		}
		path[at] = '\0';
	}
	oi = cJSON_GetObjectItemCaseSensitive(obs, "items");
	di = cJSON_GetObjectItemCaseSensitive(decl, "items");
	if (oi && di) {
		snprintf(path + at, pathlen - at, "[]");
		node_walk(c, oi, di, loc, path, pathlen, depth + 1);
		path[at] = '\0';
	}
	oi = cJSON_GetObjectItemCaseSensitive(obs, "additional");
	if (oi && (da || dp)) {
		snprintf(path + at, pathlen - at, "%s*", at ? "." : "");
		if (da)
			node_walk(c, oi, da, loc, path, pathlen, depth + 1);
		else
			add(c, DK_UNDECLARED_FIELD, loc, path, "keys that are values");
		path[at] = '\0';
	}
}

/* A declared media type for an observed one: exact, then the type with a
 * wildcard subtype, then any. */
static const cJSON *media_match(const cJSON *dbodies, const char *mt)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(dbodies, mt);
	char wild[128];
	const char *slash = strchr(mt, '/');

	if (d)
		return d;
	if (slash) {
		snprintf(wild, sizeof(wild), "%.*s/*", (int)(slash - mt), mt);
		d = cJSON_GetObjectItemCaseSensitive(dbodies, wild);
		if (d)
			return d;
	}
	return cJSON_GetObjectItemCaseSensitive(dbodies, "*/*");
}

static void bodies_cmp(struct cmp *c, const cJSON *obodies, const cJSON *dbodies, const char *loc)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obodies) {
		const cJSON *d, *os, *ds;
		char path[DRIFT_MAX_STR] = "";

		if (strcmp(it->string, "none") == 0)
			continue;
		d = media_match(dbodies, it->string);
		if (!d) {
			add(c, DK_UNDECLARED_MEDIA, loc, it->string, NULL);
			continue;
		}
		os = cJSON_GetObjectItemCaseSensitive(it, "schema");
		ds = cJSON_GetObjectItemCaseSensitive(d, "schema");
		if (os && ds)
			node_walk(c, os, ds, loc, path, sizeof(path), 0);
	}
}

/* ---- parameters ------------------------------------------------------------------ */

/* The names of a template's parameters in order: "/a/{x}/b/{y}" -> x, y. */
static int param_names(const char *path, char names[][128], int max)
{
	int n = 0;
	const char *s = path;

	while (n < max && (s = strchr(s, '{'))) {
		const char *e = strchr(s, '}');

		if (!e)
			break;
		snprintf(names[n++], 128, "%.*s", (int)(e - s - 1), s + 1);
		s = e + 1;
	}
	return n;
}

static void params_cmp(struct cmp *c, const cJSON *oep, const cJSON *dep)
{
	static const char *const locs[] = { "query", "header", "cookie" };
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(oep, "parameters");
	const cJSON *dp = cJSON_GetObjectItemCaseSensitive(dep, "parameters");
	const cJSON *opath = cJSON_GetObjectItemCaseSensitive(op, "path");
	const cJSON *dpath = cJSON_GetObjectItemCaseSensitive(dp, "path");
	const cJSON *ostr = cJSON_GetObjectItemCaseSensitive(oep, "path");
	char on[16][128], dn[16][128];
	int no, nd, i;
	size_t l;

	/* Path parameters pair by position: the names differ by design. */
	no = cJSON_IsString(ostr) ? param_names(ostr->valuestring, on, 16) : 0;
	nd = param_names(c->path, dn, 16);
	for (i = 0; i < no && i < nd; i++) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(opath, on[i]);
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(dpath, dn[i]);

		if (o && d)
			node_scalars(c, o, d, "path", dn[i], true);
	}
	for (l = 0; l < sizeof(locs) / sizeof(locs[0]); l++) {
		const cJSON *om = cJSON_GetObjectItemCaseSensitive(op, locs[l]);
		const cJSON *dm = cJSON_GetObjectItemCaseSensitive(dp, locs[l]);
		const cJSON *it;

		cJSON_ArrayForEach(it, om) {
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(dm, it->string);

			if (d)
				node_scalars(c, it, d, locs[l], it->string, true);
			else
				add(c, DK_UNDECLARED_PARAM, locs[l], it->string, NULL);
		}
	}
}

/* ---- auth --------------------------------------------------------------------- */

/* The anonymizer tells a JWT bearer token from an opaque one; a document
 * declares "http bearer" for both. */
static bool auth_declared(const cJSON *dauth, const char *kind)
{
	if (has_str(dauth, kind))
		return true;
	return strcmp(kind, "bearer_jwt") == 0 && has_str(dauth, "bearer");
}

/* The anonymizer records a header, query parameter or cookie that carries
 * a credential as an auth kind, not as a parameter: the declared
 * parameter of that name is seen when the auth kind is. */
static bool param_as_auth(const cJSON *oep, const char *loc, const char *name)
{
	const cJSON *it;
	const char *prefix = strcmp(loc, "header") == 0 ? "apikey_header:" :
			     strcmp(loc, "query") == 0	 ? "apikey_query:" :
							   "cookie:";
	size_t pl = strlen(prefix);

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(oep, "auth"))
		if (strncmp(it->string, prefix, pl) == 0 && strcmp(it->string + pl, name) == 0)
			return true;
	return false;
}

/* An auth kind that a declared parameter names (a document may declare an
 * API key header as a plain header parameter). */
static bool auth_as_param(const cJSON *dep, const char *kind)
{
	static const struct {
		const char *prefix, *loc;
	} m[] = { { "apikey_header:", "header" }, { "apikey_query:", "query" }, { "cookie:", "cookie" } };
	const cJSON *dp = cJSON_GetObjectItemCaseSensitive(dep, "parameters");
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		size_t pl = strlen(m[i].prefix);

		if (strncmp(kind, m[i].prefix, pl) == 0 &&
		    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dp, m[i].loc),
						     kind + pl))
			return true;
	}
	return false;
}

static void auth_cmp(struct cmp *c, const cJSON *oep, const cJSON *dep)
{
	const cJSON *oa = cJSON_GetObjectItemCaseSensitive(oep, "auth");
	const cJSON *da = cJSON_GetObjectItemCaseSensitive(dep, "auth");
	const cJSON *it;
	const cJSON *sample = cJSON_GetObjectItemCaseSensitive(oep, "sample");
	/* auth kinds are counted in the captured exchanges: compare with those */
	double with = 0, count = cJSON_IsNumber(sample)
					 ? sample->valuedouble
					 : cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(oep, "count"));

	cJSON_ArrayForEach(it, oa) {
		if (cJSON_IsNumber(it))
			with += it->valuedouble;
		if (!auth_declared(da, it->string) && !auth_as_param(dep, it->string))
			add(c, DK_UNDECLARED_AUTH, "auth", it->string, NULL);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dep, "auth_required")) && count > with) {
		char detail[96];

		snprintf(detail, sizeof(detail), "%.0f of %.0f requests without auth", count - with,
			 count);
		add(c, DK_MISSING_AUTH, "auth", NULL, detail);
	}
}

/* ---- statuses ------------------------------------------------------------------ */

/* The declared response for an observed status: exact, then "2XX", then
 * "default". */
static const cJSON *status_match(const cJSON *dresp, const char *code)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(dresp, code);
	char cls[4];

	if (d)
		return d;
	snprintf(cls, sizeof(cls), "%cXX", code[0]);
	d = cJSON_GetObjectItemCaseSensitive(dresp, cls);
	return d ? d : cJSON_GetObjectItemCaseSensitive(dresp, "default");
}

static void responses_cmp(struct cmp *c, const cJSON *oep, const cJSON *dep)
{
	const cJSON *or = cJSON_GetObjectItemCaseSensitive(oep, "responses");
	const cJSON *dr = cJSON_GetObjectItemCaseSensitive(dep, "responses");
	const cJSON *it;

	cJSON_ArrayForEach(it, or) {
		const cJSON *d = status_match(dr, it->string);
		char loc[32];

		if (!d) {
			add(c, DK_UNDECLARED_STATUS, "response", it->string, NULL);
			continue;
		}
		snprintf(loc, sizeof(loc), "response %s", it->string);
		bodies_cmp(c, cJSON_GetObjectItemCaseSensitive(it, "bodies"),
			   cJSON_GetObjectItemCaseSensitive(d, "bodies"), loc);
	}
}

/* ---- endpoint matching --------------------------------------------------------- */

#define DRIFT_MAX_SEGS 64

struct tmpl {
	char key[DRIFT_MAX_STR + 16]; /* "GET /users/{}" */
	const char *segs[DRIFT_MAX_SEGS];
	int nseg;
	char buf[DRIFT_MAX_STR + 16];
};

static int tmpl_make(struct tmpl *t, const cJSON *ep)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(ep, "method");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(ep, "path");
	char *s, *save = NULL, *tok;

	if (!cJSON_IsString(m) || !cJSON_IsString(p) ||
	    spec_template_key(m->valuestring, p->valuestring, t->key, sizeof(t->key)))
		return -EINVAL;
	snprintf(t->buf, sizeof(t->buf), "%s", t->key);
	t->nseg = 0;
	s = strchr(t->buf, ' ');
	if (!s)
		return -EINVAL;
	for (tok = strtok_r(s + 1, "/", &save); tok && t->nseg < DRIFT_MAX_SEGS;
	     tok = strtok_r(NULL, "/", &save))
		t->segs[t->nseg++] = tok;
	return 0;
}

static bool same_method(const struct tmpl *a, const struct tmpl *b)
{
	size_t la = strcspn(a->key, " "), lb = strcspn(b->key, " ");

	return la == lb && memcmp(a->key, b->key, la) == 0;
}

/* How well an observed segment fits a declared one: 2 the same, 1 a
 * literal where the declaration has a parameter (a router would send it
 * there: /users/me to /users/{id}), 0 not at all. */
static int seg_fit(const char *d, const char *o)
{
	const char *p = strstr(d, "{}");
	size_t pre, suf, ol;

	if (strcmp(d, o) == 0)
		return 2;
	if (!p || strstr(o, "{}"))
		return 0;
	pre = (size_t)(p - d);
	suf = strlen(p + 2);
	ol = strlen(o);
	if (ol < pre + suf + 1 || strncmp(o, d, pre) != 0 || strcmp(o + ol - suf, p + 2) != 0)
		return 0;
	return 1;
}

static int tmpl_fit(const struct tmpl *d, const struct tmpl *o)
{
	int i, s = 0, f;

	if (!same_method(d, o) || d->nseg != o->nseg)
		return -1;
	for (i = 0; i < d->nseg; i++) {
		f = seg_fit(d->segs[i], o->segs[i]);
		if (!f)
			return -1;
		s += f;
	}
	return s;
}

static const cJSON *svc_endpoints(const cJSON *cat, const char *svc)
{
	return cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cat, "services"),
						 svc),
		"endpoints");
}

static bool seen_within(const cJSON *oep, const struct drift_opts *o)
{
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(oep, "last_seen");
	uint64_t t;

	if (!o || !o->zombie_window_s)
		return true;
	if (!cJSON_IsString(ls) || time_parse_rfc3339(ls->valuestring, &t))
		return true;
	return t + o->zombie_window_s * 1000000000ull >= o->now_ns;
}

static int one_service(struct drift_result *r, const char *svc, const cJSON *deps,
		       const cJSON *oeps, const struct drift_opts *o)
{
	size_t nd = (size_t)cJSON_GetArraySize(deps), no = (size_t)cJSON_GetArraySize(oeps);
	struct tmpl *dt = calloc(nd ? nd : 1, sizeof(*dt)), ot;
	int *seen = calloc(nd ? nd : 1, sizeof(*seen)), *recent = calloc(nd ? nd : 1, sizeof(int));
	const cJSON *it, *oe;
	struct cmp c = { .r = r, .service = svc };
	size_t i;

	if (!dt || !seen || !recent) {
		free(dt);
		free(seen);
		free(recent);
		return -ENOMEM;
	}
	r->services++;
	r->declared += nd;
	r->observed += no;
	i = 0;
	cJSON_ArrayForEach(it, deps) {
		if (tmpl_make(&dt[i], it))
			dt[i].nseg = -1;
		i++;
	}
	cJSON_ArrayForEach(oe, oeps) {
		int best = -1, bs = -1, s;
		const cJSON *dep;

		if (tmpl_make(&ot, oe))
			continue;
		for (i = 0; i < nd; i++) {
			if (dt[i].nseg < 0)
				continue;
			s = tmpl_fit(&dt[i], &ot);
			if (s > bs) {
				bs = s;
				best = (int)i;
			}
		}
		if (best < 0) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(oe, "method");
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(oe, "path");

			c.method = m->valuestring;
			c.path = p->valuestring;
			add(&c, DK_SHADOW_ENDPOINT, NULL, NULL, NULL);
			continue;
		}
		seen[best] = 1;
		if (seen_within(oe, o))
			recent[best] = 1;
		dep = cJSON_GetArrayItem(deps, best);
		c.method = cJSON_GetObjectItemCaseSensitive(dep, "method")->valuestring;
		c.path = cJSON_GetObjectItemCaseSensitive(dep, "path")->valuestring;
		params_cmp(&c, oe, dep);
		auth_cmp(&c, oe, dep);
		bodies_cmp(&c,
			   cJSON_GetObjectItemCaseSensitive(
				   cJSON_GetObjectItemCaseSensitive(oe, "request"), "bodies"),
			   cJSON_GetObjectItemCaseSensitive(
				   cJSON_GetObjectItemCaseSensitive(dep, "request"), "bodies"),
			   "request");
		responses_cmp(&c, oe, dep);
	}
	/* What the declaration has and nothing observed showed. */
	i = 0;
	cJSON_ArrayForEach(it, deps) {
		static const char *const locs[] = { "query", "header", "cookie" };
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(it, "method");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path");
		const cJSON *dp = cJSON_GetObjectItemCaseSensitive(it, "parameters"), *pi, *ri;
		size_t l;

		if (dt[i].nseg < 0) {
			i++;
			continue;
		}
		c.method = m->valuestring;
		c.path = p->valuestring;
		if (!seen[i] || !recent[i]) {
			add(&c, DK_ZOMBIE_ENDPOINT, NULL, NULL,
			    seen[i] ? "not observed within the window" : NULL);
			i++;
			continue;
		}
		for (l = 0; l < sizeof(locs) / sizeof(locs[0]); l++) {
			cJSON_ArrayForEach(pi, cJSON_GetObjectItemCaseSensitive(dp, locs[l])) {
				bool found = false;

				cJSON_ArrayForEach(oe, oeps) {
					if (tmpl_make(&ot, oe) == 0 && tmpl_fit(&dt[i], &ot) >= 0 &&
					    (cJSON_GetObjectItemCaseSensitive(
						     cJSON_GetObjectItemCaseSensitive(
							     cJSON_GetObjectItemCaseSensitive(oe, "parameters"),
							     locs[l]),
						     pi->string) ||
					     param_as_auth(oe, locs[l], pi->string)))
						found = true;
				}
				if (!found)
					add(&c, DK_UNSEEN_PARAM, locs[l], pi->string,
					    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pi, "required")) ?
						    "required" :
						    NULL);
			}
		}
		cJSON_ArrayForEach(ri, cJSON_GetObjectItemCaseSensitive(it, "responses")) {
			bool found = false;

			if (strlen(ri->string) != 3 || ri->string[1] == 'X')
				continue;
			cJSON_ArrayForEach(oe, oeps) {
				if (tmpl_make(&ot, oe) == 0 && tmpl_fit(&dt[i], &ot) >= 0 &&
				    cJSON_GetObjectItemCaseSensitive(
					    cJSON_GetObjectItemCaseSensitive(oe, "responses"), ri->string))
					found = true;
			}
			if (!found)
				add(&c, DK_UNSEEN_STATUS, "response", ri->string, NULL);
		}
		i++;
	}
	free(dt);
	free(seen);
	free(recent);
	return c.rc;
}

static int finding_cmp(const void *a, const void *b)
{
	const struct drift_finding *x = a, *y = b;
	int r;

	r = strcmp(x->service, y->service);
	if (!r)
		r = strcmp(x->path, y->path);
	if (!r)
		r = strcmp(x->method, y->method);
	if (!r)
		r = (int)x->kind - (int)y->kind;
	if (!r)
		r = strcmp(x->location, y->location);
	if (!r)
		r = strcmp(x->name, y->name);
	if (!r)
		r = strcmp(x->detail, y->detail);
	return r;
}

static int compare_observed(const cJSON *declared, const cJSON *observed,
			    const struct drift_opts *o, struct drift_result *out, int *paired)
{
	const cJSON *dsvcs = cJSON_GetObjectItemCaseSensitive(declared, "services");
	const cJSON *osvcs = cJSON_GetObjectItemCaseSensitive(observed, "services");
	const cJSON *s;
	size_t i, w;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (paired)
		*paired = 0;
	cJSON_ArrayForEach(s, dsvcs) {
		const char *oname = s->string;
		const cJSON *oeps;

		if (o && o->service && strcmp(o->service, s->string) != 0)
			continue;
		oeps = svc_endpoints(observed, oname);
		if (!oeps && cJSON_GetArraySize(dsvcs) == 1 && cJSON_GetArraySize(osvcs) == 1) {
			oname = osvcs->child->string;
			oeps = svc_endpoints(observed, oname);
			if (paired)
				*paired = 1;
		}
		rc = one_service(out, s->string, cJSON_GetObjectItemCaseSensitive(s, "endpoints"), oeps,
				 o);
		if (rc)
			return rc;
	}
	if (out->n)
		qsort(out->f, out->n, sizeof(*out->f), finding_cmp);
	/* Several observed endpoints (/users/me, /users/{id}) can meet one
	 * declared one: a finding is listed once. */
	for (i = 0, w = 0; i < out->n; i++) {
		if (w && finding_cmp(&out->f[w - 1], &out->f[i]) == 0)
			continue;
		out->f[w++] = out->f[i];
	}
	out->n = w;
	for (i = 0; i < out->n; i++)
		out->by_kind[out->f[i].kind]++;
	return 0;
}

/* A catalog may hold declared endpoints, fields and statuses never seen
 * (docs/declared.md): only what was observed is compared. */
int drift_compare(const cJSON *declared, const cJSON *observed, const struct drift_opts *o,
		  struct drift_result *out, int *paired)
{
	cJSON *seen = declared_observed_only(observed);
	int rc;

	if (!seen) {
		memset(out, 0, sizeof(*out));
		return -ENOMEM;
	}
	rc = compare_observed(declared, seen, o, out, paired);
	cJSON_Delete(seen);
	return rc;
}

void drift_result_free(struct drift_result *r)
{
	if (!r)
		return;
	free(r->f);
	memset(r, 0, sizeof(*r));
}

/* ---- output ---------------------------------------------------------------------- */

/* "query parameter 'limit'", "field 'user.email' (response 200)", ... */
static void describe(const struct drift_finding *f, char *out, size_t outlen)
{
	switch (f->kind) {
	case DK_SHADOW_ENDPOINT:
		snprintf(out, outlen, "observed, not declared");
		break;
	case DK_ZOMBIE_ENDPOINT:
		snprintf(out, outlen, "declared, %s", f->detail[0] ? f->detail : "never observed");
		return;
	case DK_UNDECLARED_PARAM:
	case DK_UNSEEN_PARAM:
		snprintf(out, outlen, "%s parameter '%s'", f->location, f->name);
		break;
	case DK_UNDECLARED_STATUS:
	case DK_UNSEEN_STATUS:
		snprintf(out, outlen, "status %s", f->name);
		break;
	case DK_UNDECLARED_MEDIA:
		snprintf(out, outlen, "%s media type %s", f->location, f->name);
		break;
	case DK_UNDECLARED_AUTH:
		snprintf(out, outlen, "auth %s", f->name);
		break;
	case DK_MISSING_AUTH:
		snprintf(out, outlen, "auth required");
		break;
	default:
		snprintf(out, outlen, "%s '%s'", f->location, f->name);
		break;
	}
	if (f->detail[0]) {
		size_t n = strlen(out);

		snprintf(out + n, outlen - n, " (%s)", f->detail);
	}
}

static void summary_line(FILE *f, const struct drift_result *r)
{
	int k, first = 1;

	fprintf(f, "%zu finding%s in %zu service%s (%zu declared, %zu observed endpoints)", r->n,
		r->n == 1 ? "" : "s", r->services, r->services == 1 ? "" : "s", r->declared,
		r->observed);
	for (k = 0; k < DK__COUNT; k++) {
		if (!r->by_kind[k])
			continue;
		fprintf(f, "%s %zu %s", first ? ":" : ",", r->by_kind[k], kind_names[k]);
		first = 0;
	}
	fputc('\n', f);
}

static void json_out(FILE *f, const struct drift_result *r)
{
	cJSON *doc = cJSON_CreateObject(), *arr, *sum, *bk;
	char *s;
	size_t i;
	int k;

	if (!doc)
		return;
	cJSON_AddStringToObject(doc, "schema", "apisonar.drift/v1");
	sum = cJSON_AddObjectToObject(doc, "summary");
	cJSON_AddNumberToObject(sum, "findings", (double)r->n);
	cJSON_AddNumberToObject(sum, "services", (double)r->services);
	cJSON_AddNumberToObject(sum, "declared_endpoints", (double)r->declared);
	cJSON_AddNumberToObject(sum, "observed_endpoints", (double)r->observed);
	bk = cJSON_AddObjectToObject(sum, "by_kind");
	for (k = 0; k < DK__COUNT; k++)
		cJSON_AddNumberToObject(bk, kind_names[k], (double)r->by_kind[k]);
	arr = cJSON_AddArrayToObject(doc, "findings");
	for (i = 0; i < r->n; i++) {
		const struct drift_finding *d = &r->f[i];
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "service", d->service);
		cJSON_AddStringToObject(o, "kind", kind_names[d->kind]);
		cJSON_AddStringToObject(o, "method", d->method);
		cJSON_AddStringToObject(o, "path", d->path);
		if (d->location[0])
			cJSON_AddStringToObject(o, "location", d->location);
		if (d->name[0])
			cJSON_AddStringToObject(o, "name", d->name);
		if (d->detail[0])
			cJSON_AddStringToObject(o, "detail", d->detail);
		cJSON_AddItemToArray(arr, o);
	}
	s = cJSON_Print(doc);
	if (s) {
		fputs(s, f);
		fputc('\n', f);
	}
	free(s);
	cJSON_Delete(doc);
}

int drift_write(FILE *f, const struct drift_result *r, enum drift_format fmt)
{
	size_t i;
	const char *svc = NULL;
	char text[DRIFT_MAX_STR + 256];

	if (fmt == DRIFT_JSON) {
		json_out(f, r);
		return ferror(f) ? -EIO : 0;
	}
	for (i = 0; i < r->n; i++) {
		const struct drift_finding *d = &r->f[i];

		if (!svc || strcmp(svc, d->service) != 0) {
			if (fmt == DRIFT_MARKDOWN)
				fprintf(f, "%s## %s\n\n| endpoint | kind | finding |\n|---|---|---|\n",
					svc ? "\n" : "", d->service);
			else
				fprintf(f, "%s%s\n", svc ? "\n" : "", d->service);
			svc = d->service;
		}
		describe(d, text, sizeof(text));
		if (fmt == DRIFT_MARKDOWN)
			fprintf(f, "| `%s %s` | %s | %s |\n", d->method, d->path, kind_names[d->kind],
				text);
		else
			fprintf(f, "  %s %s: %s: %s\n", d->method, d->path, kind_names[d->kind], text);
	}
	if (r->n)
		fputc('\n', f);
	summary_line(f, r);
	return ferror(f) ? -EIO : 0;
}
