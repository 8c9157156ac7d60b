// SPDX-License-Identifier: BSD-2-Clause
/*
 * OpenAPI 3.1 export of one service of the catalog. It is a pure function
 * of the metadata document (so the satellite can export what it merged):
 * schema nodes become JSON Schema 2020-12, required is "present in every
 * sample", auth kinds become security schemes, and what OpenAPI has no word
 * for (sensitive classes, counts, latency) rides in x-apisonar-* members.
 * Nothing here invents an example, enum, default or pattern.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/declared_merge.h"

/* Formats JSON Schema / OpenAPI know; others stay in x-apisonar-formats. */
static const char *const std_formats[] = {
	"date-time", "date", "time", "email", "uuid", "uri", "ipv4", "ipv6", "hostname", "byte",
	"binary", NULL,
};

static int has(const cJSON *set, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, set)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return 1;
	return 0;
}

static double num(const cJSON *o, const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(n) ? n->valuedouble : 0;
}

static cJSON *schema_of(const cJSON *node);

/* One catalog schema node as a JSON Schema. */
static cJSON *schema_of(const cJSON *node)
{
	cJSON *s = cJSON_CreateObject();
	const cJSON *types = cJSON_GetObjectItemCaseSensitive(node, "types");
	const cJSON *formats = cJSON_GetObjectItemCaseSensitive(node, "formats");
	const cJSON *sens = cJSON_GetObjectItemCaseSensitive(node, "sensitive");
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(node, "properties");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(node, "items");
	const cJSON *addl = cJSON_GetObjectItemCaseSensitive(node, "additional");
	const cJSON *it;
	cJSON *tarr;
	int nt = 0;

	if (!s)
		return NULL;
	/* integer and number together are number. */
	tarr = cJSON_CreateArray();
	cJSON_ArrayForEach(it, types) {
		if (strcmp(it->valuestring, "integer") == 0 && has(types, "number"))
			continue;
		cJSON_AddItemToArray(tarr, cJSON_CreateString(it->valuestring));
		nt++;
	}
	if (nt == 1) {
		cJSON_AddStringToObject(s, "type", tarr->child->valuestring);
		cJSON_Delete(tarr);
	} else if (nt > 1) {
		cJSON_AddItemToObject(s, "type", tarr);
	} else {
		cJSON_Delete(tarr);
	}
	if (has(types, "string") && cJSON_GetArraySize(formats) == 1) {
		const char *f = formats->child->valuestring;
		size_t i;

		for (i = 0; std_formats[i]; i++)
			if (strcmp(std_formats[i], f) == 0)
				cJSON_AddStringToObject(s, "format", f);
	}
	if (has(types, "object")) {
		double objs = num(node, "objects");
		cJSON *req = cJSON_CreateArray();

		if (props && props->child) {
			cJSON *p = cJSON_AddObjectToObject(s, "properties");

			cJSON_ArrayForEach(it, props) {
				cJSON_AddItemToObject(p, it->string, schema_of(it));
				if ((objs > 0 && num(it, "n") >= objs) || num(it, "required") > 0)
					cJSON_AddItemToArray(req, cJSON_CreateString(it->string));
			}
		}
		if (req->child)
			cJSON_AddItemToObject(s, "required", req);
		else
			cJSON_Delete(req);
		if (addl)
			cJSON_AddItemToObject(s, "additionalProperties", schema_of(addl));
	}
	if (has(types, "array") && items)
		cJSON_AddItemToObject(s, "items", schema_of(items));
	if (sens && sens->child)
		cJSON_AddItemToObject(s, "x-apisonar-sensitive", cJSON_Duplicate(sens, 1));
	/* protobuf wire types of a gRPC message field (docs/grpc.md) */
	it = cJSON_GetObjectItemCaseSensitive(node, "wire");
	if (it && it->child)
		cJSON_AddItemToObject(s, "x-apisonar-wire", cJSON_Duplicate(it, 1));
	return s;
}

/* Security scheme name for an auth key, in [A-Za-z0-9._-]. */
static void scheme_name(const char *key, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; key[i] && i + 1 < outlen; i++) {
		char c = key[i];

		out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_') ?
				 c :
				 '_';
	}
	out[i] = '\0';
}

/* A security scheme for an auth key ("bearer_jwt", "apikey_header:x-api-key"). */
static cJSON *scheme_of(const char *key)
{
	cJSON *s = cJSON_CreateObject();
	const char *colon = strchr(key, ':');

	if (strcmp(key, "bearer_jwt") == 0) {
		cJSON_AddStringToObject(s, "type", "http");
		cJSON_AddStringToObject(s, "scheme", "bearer");
		cJSON_AddStringToObject(s, "bearerFormat", "JWT");
	} else if (strcmp(key, "bearer") == 0) {
		cJSON_AddStringToObject(s, "type", "http");
		cJSON_AddStringToObject(s, "scheme", "bearer");
	} else if (strcmp(key, "basic") == 0) {
		cJSON_AddStringToObject(s, "type", "http");
		cJSON_AddStringToObject(s, "scheme", "basic");
	} else if (colon && strncmp(key, "apikey_header:", 14) == 0) {
		cJSON_AddStringToObject(s, "type", "apiKey");
		cJSON_AddStringToObject(s, "in", "header");
		cJSON_AddStringToObject(s, "name", colon + 1);
	} else if (colon && strncmp(key, "apikey_query:", 13) == 0) {
		cJSON_AddStringToObject(s, "type", "apiKey");
		cJSON_AddStringToObject(s, "in", "query");
		cJSON_AddStringToObject(s, "name", colon + 1);
	} else if (colon && strncmp(key, "cookie:", 7) == 0) {
		cJSON_AddStringToObject(s, "type", "apiKey");
		cJSON_AddStringToObject(s, "in", "cookie");
		cJSON_AddStringToObject(s, "name", colon + 1);
	} else if (strncmp(key, "http_", 5) == 0 && strcmp(key, "http_other") != 0) {
		cJSON_AddStringToObject(s, "type", "http");
		cJSON_AddStringToObject(s, "scheme", key + 5);
	} else {
		cJSON_AddStringToObject(s, "type", "http");
		cJSON_AddStringToObject(s, "scheme", "other");
	}
	return s;
}

static void add_params(cJSON *arr, const cJSON *map, const char *in, double ep_count,
		       const char *tmpl)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, map) {
		cJSON *p;

		if (strcmp(in, "path") == 0) {
			char want[ANON_MAX_NAME + 3];

			/* Only parameters the template names. */
			snprintf(want, sizeof(want), "{%s}", it->string);
			if (!strstr(tmpl, want))
				continue;
		}
		p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "name", it->string);
		cJSON_AddStringToObject(p, "in", in);
		/* required: a path parameter, one the document declares
		 * required, or one present in every observed request */
		cJSON_AddBoolToObject(p, "required",
				      strcmp(in, "path") == 0 || num(it, "required") > 0 ||
					      (ep_count > 0 && num(it, "n") >= ep_count));
		cJSON_AddItemToObject(p, "schema", schema_of(it));
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(it, "sensitive")) > 0)
			cJSON_AddItemToObject(
				p, "x-apisonar-sensitive",
				cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it, "sensitive"), 1));
		cJSON_AddNumberToObject(p, "x-apisonar-count", num(it, "n"));
		if (declared_mark(it))
			cJSON_AddStringToObject(p, "x-apisonar-source", declared_source(it, "n"));
		cJSON_AddItemToArray(arr, p);
	}
}

/* Path parameters the template names but the catalog has no node for
 * (cut by a cap): declared as plain strings so the document stays valid. */
static void add_missing_path_params(cJSON *arr, const char *tmpl)
{
	const char *p = tmpl;

	while ((p = strchr(p, '{'))) {
		const char *e = strchr(p, '}');
		char name[ANON_MAX_NAME + 1];
		const cJSON *it;
		int found = 0;

		if (!e || (size_t)(e - p - 1) > ANON_MAX_NAME)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
		cJSON_ArrayForEach(it, arr) {
			const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
			const cJSON *in = cJSON_GetObjectItemCaseSensitive(it, "in");

			if (strcmp(n->valuestring, name) == 0 && strcmp(in->valuestring, "path") == 0)
				found = 1;
		}
		if (!found) {
			cJSON *np = cJSON_CreateObject();
			cJSON *sc = cJSON_CreateObject();

			cJSON_AddStringToObject(np, "name", name);
			cJSON_AddStringToObject(np, "in", "path");
			cJSON_AddBoolToObject(np, "required", 1);
			cJSON_AddStringToObject(sc, "type", "string");
			cJSON_AddItemToObject(np, "schema", sc);
			cJSON_AddItemToArray(arr, np);
		}
		p = e + 1;
	}
}

static cJSON *content_of(const cJSON *bodies)
{
	cJSON *c = cJSON_CreateObject();
	const cJSON *it;

	cJSON_ArrayForEach(it, bodies) {
		cJSON *mt = cJSON_AddObjectToObject(c, strcmp(it->string, "none") == 0 ?
							       "application/octet-stream" :
							       it->string);
		const cJSON *schema = cJSON_GetObjectItemCaseSensitive(it, "schema");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");

		if (!mt)
			continue;
		if (schema)
			cJSON_AddItemToObject(mt, "schema", schema_of(schema));
		cJSON_AddNumberToObject(mt, "x-apisonar-count", num(it, "count"));
		if (size)
			cJSON_AddItemToObject(mt, "x-apisonar-size", cJSON_Duplicate(size, 1));
	}
	return c;
}

static cJSON *operation_of(const cJSON *ep, cJSON *schemes)
{
	cJSON *op = cJSON_CreateObject(), *params = cJSON_CreateArray(), *resps, *sec = NULL;
	const cJSON *pm = cJSON_GetObjectItemCaseSensitive(ep, "parameters");
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(ep, "request");
	const cJSON *rs = cJSON_GetObjectItemCaseSensitive(ep, "responses");
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(ep, "auth");
	const cJSON *lat = cJSON_GetObjectItemCaseSensitive(ep, "latency");
	const char *tmpl = cJSON_GetObjectItemCaseSensitive(ep, "path")->valuestring;
	double count = num(ep, "count");
	/* Under a capture budget `count` is an estimate; parameters were seen
	 * in the `sample` exchanges captured. */
	const cJSON *sample = cJSON_GetObjectItemCaseSensitive(ep, "sample");
	double seen = cJSON_IsNumber(sample) ? sample->valuedouble : count;
	const cJSON *it, *v;
	static const char *const locs[] = { "path", "query", "header", "cookie" };
	size_t i;

	for (i = 0; i < 4; i++)
		add_params(params, cJSON_GetObjectItemCaseSensitive(pm, locs[i]), locs[i], seen,
			   tmpl);
	add_missing_path_params(params, tmpl);
	if (params->child)
		cJSON_AddItemToObject(op, "parameters", params);
	else
		cJSON_Delete(params);
	v = cJSON_GetObjectItemCaseSensitive(req, "bodies");
	if (v && v->child) {
		cJSON *rb = cJSON_AddObjectToObject(op, "requestBody");

		cJSON_AddItemToObject(rb, "content", content_of(v));
	}
	resps = cJSON_AddObjectToObject(op, "responses");
	cJSON_ArrayForEach(it, rs) {
		cJSON *r = cJSON_AddObjectToObject(resps, it->string);
		const cJSON *hs = cJSON_GetObjectItemCaseSensitive(it, "headers");
		const cJSON *h;

		cJSON_AddStringToObject(r, "description",
					num(it, "count") > 0 ? "Observed response" : "Declared response");
		if (hs && hs->child) {
			cJSON *ho = cJSON_AddObjectToObject(r, "headers");

			cJSON_ArrayForEach(h, hs) {
				cJSON *hh = cJSON_AddObjectToObject(ho, h->string);

				cJSON_AddItemToObject(hh, "schema", schema_of(h));
			}
		}
		v = cJSON_GetObjectItemCaseSensitive(it, "bodies");
		if (v && v->child)
			cJSON_AddItemToObject(r, "content", content_of(v));
		cJSON_AddNumberToObject(r, "x-apisonar-count", num(it, "count"));
		if (declared_mark(it))
			cJSON_AddStringToObject(r, "x-apisonar-source",
						declared_source(it, "count"));
	}
	if (!resps->child) {
		cJSON *r = cJSON_AddObjectToObject(resps, "default");

		cJSON_AddStringToObject(r, "description", "No response observed");
	}
	cJSON_ArrayForEach(it, auth) {
		char name[ANON_MAX_NAME + 40];
		cJSON *req_o;

		scheme_name(it->string, name, sizeof(name));
		if (!cJSON_GetObjectItemCaseSensitive(schemes, name))
			cJSON_AddItemToObject(schemes, name, scheme_of(it->string));
		if (!sec)
			sec = cJSON_AddArrayToObject(op, "security");
		req_o = cJSON_CreateObject();
		cJSON_AddItemToObject(req_o, name, cJSON_CreateArray());
		cJSON_AddItemToArray(sec, req_o);
	}
	cJSON_AddNumberToObject(op, "x-apisonar-count", count);
	cJSON_AddStringToObject(op, "x-apisonar-source",
				declared_mark(ep) ? declared_source(ep, "count") : "observed");
	/* OpenAPI has no word for an RPC: a gRPC method is a POST to its path,
	 * marked, with what the catalog knows of its calls (docs/grpc.md). */
	v = cJSON_GetObjectItemCaseSensitive(ep, "grpc");
	if (cJSON_IsObject(v)) {
		cJSON *g = cJSON_Duplicate(v, 1);
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ep, "path"));
		const char *slash = path ? strrchr(path, '/') : NULL;

		if (g && slash && slash > path) {
			char svc[512];
			size_t l = (size_t)(slash - path - 1);

			if (l >= sizeof(svc))
				l = sizeof(svc) - 1;
			memcpy(svc, path + 1, l);
			svc[l] = '\0';
			cJSON_AddItemToObject(g, "service", cJSON_CreateString(svc));
			cJSON_AddItemToObject(g, "method", cJSON_CreateString(slash + 1));
		}
		if (g)
			cJSON_AddItemToObject(op, "x-apisonar-grpc", g);
	}
	if (cJSON_IsNumber(sample)) {
		cJSON_AddTrueToObject(op, "x-apisonar-count-estimated");
		cJSON_AddNumberToObject(op, "x-apisonar-sample", sample->valuedouble);
	}
	v = cJSON_GetObjectItemCaseSensitive(ep, "first_seen");
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(op, "x-apisonar-first-seen", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(ep, "last_seen");
	if (cJSON_IsString(v))
		cJSON_AddStringToObject(op, "x-apisonar-last-seen", v->valuestring);
	if (lat && cJSON_GetObjectItemCaseSensitive(lat, "p50_ms")) {
		cJSON *l = cJSON_AddObjectToObject(op, "x-apisonar-latency");

		cJSON_AddNumberToObject(l, "count", num(lat, "count"));
		cJSON_AddNumberToObject(l, "p50_ms", num(lat, "p50_ms"));
		cJSON_AddNumberToObject(l, "p95_ms", num(lat, "p95_ms"));
		cJSON_AddNumberToObject(l, "p99_ms", num(lat, "p99_ms"));
	}
	return op;
}

/* Lowercase method if OpenAPI has a field for it, else NULL. */
static const char *op_field(const char *m)
{
	static const char *const ms[] = { "get", "put", "post", "delete", "options", "head",
					  "patch", "trace", NULL };
	size_t i;

	for (i = 0; ms[i]; i++)
		if (strcasecmp(ms[i], m) == 0)
			return ms[i];
	return NULL;
}

/* The workload a service runs as, for whoever reads the document without
 * the catalog: an info extension, as OpenAPI allows. */
static void add_kubernetes(cJSON *info, const cJSON *service)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(service, "kubernetes");

	if (cJSON_IsObject(k))
		cJSON_AddItemToObject(info, "x-kubernetes", cJSON_Duplicate(k, 1));
}

cJSON *openapi_from_service(const char *name, const cJSON *service)
{
	cJSON *doc = cJSON_CreateObject(), *info, *paths, *comp, *schemes;
	const cJSON *eps = cJSON_GetObjectItemCaseSensitive(service, "endpoints");
	const cJSON *ep;
	uint64_t other = 0;

	if (!doc)
		return NULL;
	cJSON_AddStringToObject(doc, "openapi", "3.1.0");
	info = cJSON_AddObjectToObject(doc, "info");
	cJSON_AddStringToObject(info, "title", name);
	cJSON_AddStringToObject(info, "version", "observed");
	cJSON_AddStringToObject(info, "description",
				"API observed by apisonar: endpoints, parameters and schemas "
				"learned from traffic, without values.");
	add_kubernetes(info, service);
	paths = cJSON_AddObjectToObject(doc, "paths");
	comp = cJSON_CreateObject();
	schemes = cJSON_AddObjectToObject(comp, "securitySchemes");
	cJSON_ArrayForEach(ep, eps) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(ep, "method");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(ep, "path");
		const char *f;
		cJSON *item;

		if (!cJSON_IsString(m) || !cJSON_IsString(p))
			continue;
		f = op_field(m->valuestring);
		if (!f) {
			other++; /* CONNECT and extension methods have no OpenAPI field */
			continue;
		}
		item = cJSON_GetObjectItemCaseSensitive(paths, p->valuestring);
		if (!item)
			item = cJSON_AddObjectToObject(paths, p->valuestring);
		cJSON_AddItemToObject(item, f, operation_of(ep, schemes));
	}
	if (schemes->child)
		cJSON_AddItemToObject(doc, "components", comp);
	else
		cJSON_Delete(comp);
	if (other)
		cJSON_AddNumberToObject(doc, "x-apisonar-other-methods", (double)other);
	return doc;
}
