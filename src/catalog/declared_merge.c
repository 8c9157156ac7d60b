// SPDX-License-Identifier: BSD-2-Clause
/*
 * The declared catalog as a metadata document, and the observed part of a
 * metadata document (include/apisonar/catalog/declared_merge.h). Every
 * count of a declared document is 0 and every mark a max, so merging one
 * again changes nothing: the merge laws of the catalog hold.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/declared_merge.h"
#include "apisonar/catalog/spec.h"
#include "apisonar/util/util.h"

#define DM_MAX_SET 32 /* the catalog's caps of formats and classes */

static double num_of(const cJSON *o, const char *name)
{
	const cJSON *n = json_get(o, name);

	return cJSON_IsNumber(n) ? n->valuedouble : 0;
}

int declared_mark(const cJSON *item)
{
	return num_of(item, "declared") > 0;
}

const char *declared_source(const cJSON *item, const char *count_member)
{
	int d = declared_mark(item), o = num_of(item, count_member) > 0;

	return d && o ? "both" : d ? "declared" : o ? "observed" : NULL;
}

int declared_template_key(const cJSON *ep, char *out, size_t outlen)
{
	const cJSON *m = json_get(ep, "method"), *p = json_get(ep, "path");

	if (!cJSON_IsString(m) || !cJSON_IsString(p))
		return -EINVAL;
	return spec_template_key(m->valuestring, p->valuestring, out, outlen);
}

/* ---- declared -> metadata ------------------------------------------------ */

static void copy_set(cJSON *dst, const char *name, const cJSON *src, int (*ok)(const char *))
{
	const cJSON *it;

	cJSON_ArrayForEach(it, src) if (cJSON_IsString(it) && ok(it->valuestring))
	    doc_set_add(dst, name, it->valuestring, DM_MAX_SET);
}

static void node_of(cJSON *dst, const cJSON *src, unsigned depth);

static void node_map_of(cJSON *dst, const char *name, const cJSON *src, unsigned depth)
{
	const cJSON *it;
	cJSON *map;

	if (!cJSON_IsObject(src) || !src->child)
		return;
	map = doc_obj(dst, name);
	cJSON_ArrayForEach(it, src)
	{
		cJSON *n = map ? doc_obj(map, it->string) : NULL;

		if (n)
			node_of(n, it, depth);
	}
}

/* A declared node: n 0, the declared mark, required when declared so. */
static void node_of(cJSON *dst, const cJSON *src, unsigned depth)
{
	const cJSON *v;
	cJSON *sub;

	doc_count_add(dst, "n", 0);
	cJSON_AddNumberToObject(dst, "declared", 1);
	if (cJSON_IsTrue(json_get(src, "required")))
		cJSON_AddNumberToObject(dst, "required", 1);
	copy_set(dst, "types", json_get(src, "types"), catalog_valid_type);
	copy_set(dst, "formats", json_get(src, "formats"), catalog_valid_format);
	copy_set(dst, "sensitive", json_get(src, "sensitive"), catalog_valid_class);
	if (depth >= SPEC_MAX_SCHEMA_DEPTH)
		return;
	node_map_of(dst, "properties", json_get(src, "properties"), depth + 1);
	v = json_get(src, "items");
	if (cJSON_IsObject(v) && (sub = doc_obj(dst, "items")))
		node_of(sub, v, depth + 1);
	v = json_get(src, "additional");
	if (cJSON_IsObject(v) && (sub = doc_obj(dst, "additional")))
		node_of(sub, v, depth + 1);
}

static void bodies_of(cJSON *dst, const cJSON *src)
{
	const cJSON *it;
	cJSON *bodies = NULL;

	cJSON_ArrayForEach(it, src)
	{
		const cJSON *sc = json_get(it, "schema");
		cJSON *b;

		/* "none" is how the catalog names an observed message without a
		 * body; a declared body always has a media type. */
		if (!catalog_valid_ctype(it->string) || strcmp(it->string, "none") == 0)
			continue;
		if (!bodies && !(bodies = doc_obj(dst, "bodies")))
			return;
		b = doc_obj(bodies, it->string);
		if (!b)
			continue;
		doc_count_add(b, "count", 0);
		if (cJSON_IsObject(sc) && sc->child) {
			cJSON *n = doc_obj(b, "schema");

			if (n)
				node_of(n, sc, 0);
		}
	}
}

static void endpoint_of(cJSON *eps, const cJSON *src)
{
	static const char *const locs[] = {"path", "query", "header", "cookie"};
	const cJSON *m = json_get(src, "method"), *p = json_get(src, "path");
	const cJSON *params = json_get(src, "parameters"), *req, *it;
	cJSON *ep, *pm = NULL, *resps = NULL, *auth = NULL;
	size_t i;

	if (!cJSON_IsString(m) || !cJSON_IsString(p))
		return;
	ep = doc_obj(eps, src->string);
	if (!ep)
		return;
	cJSON_AddStringToObject(ep, "method", m->valuestring);
	cJSON_AddStringToObject(ep, "path", p->valuestring);
	doc_count_add(ep, "count", 0);
	cJSON_AddNumberToObject(ep, "declared", 1);
	for (i = 0; i < 4; i++) {
		const cJSON *map = json_get(params, locs[i]);

		if (cJSON_IsObject(map) && map->child && (pm || (pm = doc_obj(ep, "parameters"))))
			node_map_of(pm, locs[i], map, 0);
	}
	req = json_get(src, "request");
	if (cJSON_IsObject(json_get(req, "bodies")) && json_get(req, "bodies")->child) {
		cJSON *r = doc_obj(ep, "request");

		if (r)
			bodies_of(r, json_get(req, "bodies"));
		if (r && !r->child)
			cJSON_DeleteItemFromObjectCaseSensitive(ep, "request");
	}
	cJSON_ArrayForEach(it, json_get(src, "responses"))
	{
		cJSON *r;

		if (!catalog_valid_status(it->string) ||
		    (!resps && !(resps = doc_obj(ep, "responses"))))
			continue;
		r = doc_obj(resps, it->string);
		if (!r)
			continue;
		doc_count_add(r, "count", 0);
		cJSON_AddNumberToObject(r, "declared", 1);
		node_map_of(r, "headers", json_get(it, "headers"), 0);
		bodies_of(r, json_get(it, "bodies"));
	}
	cJSON_ArrayForEach(it, json_get(src, "auth")) if (cJSON_IsString(it) &&
							  it->valuestring[0] &&
							  (auth || (auth = doc_obj(ep, "auth"))))
	    doc_count_add(auth, it->valuestring, 0);
}

cJSON *declared_to_metadata(const cJSON *declared)
{
	cJSON *doc = cJSON_CreateObject(), *svcs;
	const cJSON *svc, *ep;

	if (!doc || !cJSON_AddStringToObject(doc, "schema", CATALOG_SCHEMA) ||
	    !(svcs = cJSON_AddObjectToObject(doc, "services"))) {
		cJSON_Delete(doc);
		return NULL;
	}
	cJSON_ArrayForEach(svc, json_get(declared, "services"))
	{
		cJSON *s = doc_obj(svcs, svc->string), *eps = s ? doc_obj(s, "endpoints") : NULL;

		if (!eps)
			continue;
		cJSON_ArrayForEach(ep, json_get(svc, "endpoints")) endpoint_of(eps, ep);
	}
	return doc;
}

/* ---- the observed part ---------------------------------------------------- */

static void strip_node(cJSON *node);

/* Drops the members of a map whose count_member is 0. */
static void strip_map(cJSON *map, const char *count_member, void (*strip)(cJSON *))
{
	cJSON *it = map ? map->child : NULL;

	while (it) {
		cJSON *next = it->next;

		if (num_of(it, count_member) <= 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(map, it));
		else if (strip)
			strip(it);
		it = next;
	}
}

static void strip_sub(cJSON *node, const char *name)
{
	cJSON *sub = json_get(node, name);

	if (!sub)
		return;
	if (num_of(sub, "n") <= 0)
		cJSON_DeleteItemFromObjectCaseSensitive(node, name);
	else
		strip_node(sub);
}

static void strip_marks(cJSON *item)
{
	cJSON_DeleteItemFromObjectCaseSensitive(item, "declared");
	cJSON_DeleteItemFromObjectCaseSensitive(item, "required");
}

static void strip_node(cJSON *node)
{
	strip_marks(node);
	strip_map(json_get(node, "properties"), "n", strip_node);
	strip_sub(node, "items");
	strip_sub(node, "additional");
}

static void strip_body(cJSON *body)
{
	cJSON *sc = json_get(body, "schema");

	if (sc)
		strip_node(sc);
}

static void strip_response(cJSON *r)
{
	strip_marks(r);
	strip_map(json_get(r, "headers"), "n", strip_node);
	strip_map(json_get(r, "cookies"), "n", strip_node);
	strip_map(json_get(r, "bodies"), "count", strip_body);
}

static void strip_endpoint(cJSON *ep)
{
	static const char *const locs[] = {"path", "query", "header", "cookie"};
	cJSON *pm = json_get(ep, "parameters");
	size_t i;

	strip_marks(ep);
	for (i = 0; i < 4; i++)
		strip_map(json_get(pm, locs[i]), "n", strip_node);
	strip_map(json_get(json_get(ep, "request"), "bodies"), "count", strip_body);
	strip_map(json_get(ep, "responses"), "count", strip_response);
}

/* strip_map for count maps: the member is the count. */
static void strip_counts(cJSON *map)
{
	cJSON *it = map ? map->child : NULL;

	while (it) {
		cJSON *next = it->next;

		if (!cJSON_IsNumber(it) || it->valuedouble <= 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(map, it));
		it = next;
	}
}

cJSON *declared_observed_only(const cJSON *metadata)
{
	cJSON *doc = cJSON_Duplicate(metadata, 1), *svcs, *svc, *ep;

	if (!doc)
		return NULL;
	svcs = json_get(doc, "services");
	for (svc = svcs ? svcs->child : NULL; svc;) {
		cJSON *eps = json_get(svc, "endpoints"), *next = svc->next;

		strip_map(eps, "count", NULL);
		if (!eps || !eps->child) {
			/* a service only declared */
			cJSON_Delete(cJSON_DetachItemViaPointer(svcs, svc));
			svc = next;
			continue;
		}
		cJSON_ArrayForEach(ep, eps)
		{
			cJSON *auth = json_get(ep, "auth");

			/* auth is a map of counts, not of objects */
			if (auth)
				cJSON_DetachItemViaPointer(ep, auth);
			strip_endpoint(ep);
			if (auth) {
				strip_counts(auth);
				cJSON_AddItemToObject(ep, "auth", auth);
			}
		}
		svc = next;
	}
	return doc;
}
