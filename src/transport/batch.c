// SPDX-License-Identifier: BSD-2-Clause
/*
 * Batches: a metadata document wrapped in an envelope (batch id, sensor,
 * window), checked by the last guard, gzip-compressed. Decoding is the
 * reverse for bytes that come from anywhere: bounded inflate, parse,
 * validate, with reasons that never echo the input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <zlib.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/detect.h"
#include "apisonar/transport/batch.h"
#include "apisonar/util/util.h"

/* First output buffer of an inflate; it doubles up to the caller's cap. */
#define BATCH_INFLATE_START (64u * 1024)
/* Longest RFC 3339 text we write or accept ("2026-11-24T03:25:04.123456789Z"). */
#define BATCH_TIME_MAX 40

int batch_uuid4(char out[BATCH_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t i, o = 0;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10xx */
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
	return 0;
}

/* The receiver de-duplicates on the id, so only the canonical lowercase
 * 8-4-4-4-12 form is accepted: one batch, one spelling. */
static int is_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != BATCH_ID_LEN)
		return 0;
	for (i = 0; i < BATCH_ID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

/* The catalog's "services" holds service objects, each with an
 * "endpoints" collection. The anonymizer writes both as objects keyed by
 * name ("GET /users/{id}"); arrays are accepted too. Returns -EINVAL when
 * the shape is wrong. */
static int count_catalog(const cJSON *doc, uint32_t *services, uint32_t *endpoints)
{
	const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(doc, "services");
	const cJSON *s;
	uint32_t ns = 0, ne = 0;

	if (!cJSON_IsArray(svcs) && !cJSON_IsObject(svcs))
		return -EINVAL;
	cJSON_ArrayForEach(s, svcs)
	{
		const cJSON *eps;

		if (!cJSON_IsObject(s))
			return -EINVAL;
		ns++;
		eps = cJSON_GetObjectItemCaseSensitive(s, "endpoints");
		if (!eps)
			continue;
		if (!cJSON_IsArray(eps) && !cJSON_IsObject(eps))
			return -EINVAL;
		ne += (uint32_t)cJSON_GetArraySize(eps);
	}
	*services = ns;
	*endpoints = ne;
	return 0;
}

/* Adds a member to an object; takes ownership of item. */
static int set_member(cJSON *obj, const char *name, cJSON *item)
{
	if (!item)
		return -ENOMEM;
	if (!cJSON_AddItemToObject(obj, name, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

/* The envelope members, always first and always ours. */
static int is_envelope_key(const char *k)
{
	return k && (strcmp(k, "schema") == 0 || strcmp(k, "batch_id") == 0 ||
		     strcmp(k, "sensor") == 0 || strcmp(k, "window") == 0);
}

/* Moves every non-envelope member of from (a copy) to the end of to, in
 * order; a stale envelope in the input is dropped. */
static int move_catalog(cJSON *from, cJSON *to)
{
	while (from->child) {
		cJSON *it = cJSON_DetachItemViaPointer(from, from->child);
		char *name = it->string;

		if (is_envelope_key(name)) {
			cJSON_Delete(it);
			continue;
		}
		it->string = NULL;
		if (!cJSON_AddItemToObject(to, name, it)) {
			it->string = name;
			cJSON_Delete(it);
			return -ENOMEM;
		}
		cJSON_free(name);
	}
	return 0;
}

int batch_gzip(const void *in, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream zs;
	unsigned char *buf = NULL;
	uLong bound;
	int zr, err = 0;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, (uLong)len) + 32;
	buf = malloc(bound);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)bound;
	zr = deflate(&zs, Z_FINISH);
	if (zr != Z_STREAM_END) {
		err = -EIO;
		goto cleanup;
	}
	*out = buf;
	*out_len = zs.total_out;
	buf = NULL;
cleanup:
	deflateEnd(&zs);
	free(buf);
	return err;
}

int batch_encode(const cJSON *metadata, const struct batch_sensor *sensor, uint64_t window_start_ns,
		 uint64_t window_end_ns, unsigned char **out, size_t *out_len,
		 struct batch_meta *meta)
{
	return batch_encode_as(metadata, sensor, NULL, window_start_ns, window_end_ns, out, out_len,
			       meta);
}

int batch_encode_as(const cJSON *metadata, const struct batch_sensor *sensor, const char *id,
		    uint64_t window_start_ns, uint64_t window_end_ns, unsigned char **out,
		    size_t *out_len, struct batch_meta *meta)
{
	char ts[BATCH_TIME_MAX], te[BATCH_TIME_MAX];
	struct batch_meta m;
	const cJSON *schema;
	cJSON *doc = NULL, *copy = NULL, *obj;
	char *json = NULL;
	enum detect_class first = DC_NONE;
	size_t matches;
	int err;

	memset(&m, 0, sizeof(m));
	if (!metadata || !cJSON_IsObject(metadata) || !sensor || !sensor->id || !sensor->version ||
	    !out || !out_len || window_end_ns < window_start_ns)
		return -EINVAL;
	if (strlen(sensor->id) == 0 || strlen(sensor->id) >= sizeof(m.sensor_id) ||
	    strlen(sensor->version) == 0 || strlen(sensor->version) >= sizeof(m.sensor_version))
		return -EINVAL;
	schema = cJSON_GetObjectItemCaseSensitive(metadata, "schema");
	if (schema && !(cJSON_IsString(schema) && strcmp(schema->valuestring, CATALOG_SCHEMA) == 0))
		return -EINVAL;
	err = count_catalog(metadata, &m.services, &m.endpoints);
	if (err)
		return err;
	/* Nanoseconds: a window must order exactly. */
	time_format_rfc3339(window_start_ns, 9, ts, sizeof(ts));
	time_format_rfc3339(window_end_ns, 9, te, sizeof(te));
	if (id) {
		if (strlen(id) != BATCH_ID_LEN)
			return -EINVAL;
		memcpy(m.id, id, BATCH_ID_LEN + 1);
	} else {
		err = batch_uuid4(m.id);
		if (err)
			return err;
	}
	snprintf(m.sensor_id, sizeof(m.sensor_id), "%s", sensor->id);
	snprintf(m.sensor_version, sizeof(m.sensor_version), "%s", sensor->version);
	m.window_start_ns = window_start_ns;
	m.window_end_ns = window_end_ns;

	copy = cJSON_Duplicate(metadata, 1);
	doc = cJSON_CreateObject();
	if (!copy || !doc) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = set_member(doc, "schema", cJSON_CreateString(CATALOG_SCHEMA));
	if (!err)
		err = set_member(doc, "batch_id", cJSON_CreateString(m.id));
	if (err)
		goto cleanup;
	obj = cJSON_CreateObject();
	err = set_member(doc, "sensor", obj);
	if (err)
		goto cleanup;
	if (!cJSON_AddStringToObject(obj, "id", m.sensor_id) ||
	    !cJSON_AddStringToObject(obj, "version", m.sensor_version)) {
		err = -ENOMEM;
		goto cleanup;
	}
	obj = cJSON_CreateObject();
	err = set_member(doc, "window", obj);
	if (err)
		goto cleanup;
	if (!cJSON_AddStringToObject(obj, "start", ts) ||
	    !cJSON_AddStringToObject(obj, "end", te)) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = move_catalog(copy, doc);
	if (err)
		goto cleanup;
	json = cJSON_PrintUnformatted(doc);
	if (!json) {
		err = -ENOMEM;
		goto cleanup;
	}
	m.json_len = strlen(json);
	if (m.json_len > BATCH_MAX_DECODED) {
		err = -E2BIG;
		goto cleanup;
	}
	/* The last guard: whatever the anonymizer missed does not leave. */
	matches = detect_scan(json, m.json_len, &first);
	if (matches > 0) {
		log_warn("batch refused by the last guard: %zu detector match(es), first class %s",
			 matches, detect_class_name(first));
		err = -EPERM;
		goto cleanup;
	}
	err = batch_gzip(json, m.json_len, out, out_len);
	if (err)
		goto cleanup;
	if (meta)
		*meta = m;
cleanup:
	free(json);
	cJSON_Delete(copy);
	cJSON_Delete(doc);
	return err;
}

/* Inflates one gzip member into a buffer that never grows past cap bytes
 * (plus a NUL): a bomb costs at most cap. Trailing bytes are refused. */
static int gunzip_capped(const unsigned char *in, size_t len, size_t cap, char **out,
			 size_t *out_len, char *err, size_t errlen)
{
	z_stream zs;
	char *buf = NULL, *nb;
	size_t size, used = 0;
	int zr, rc = 0;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size = BATCH_INFLATE_START < cap ? BATCH_INFLATE_START : cap;
	buf = malloc(size + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto cleanup;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	for (;;) {
		if (used == size) {
			size_t ns;

			if (size >= cap) {
				/* Full at the cap: is there more to come? */
				unsigned char probe;

				zs.next_out = &probe;
				zs.avail_out = 1;
				zr = inflate(&zs, Z_NO_FLUSH);
				if (zs.avail_out == 0) {
					snprintf(err, errlen, "batch inflates past %zu bytes", cap);
					rc = -E2BIG;
					goto cleanup;
				}
				if (zr == Z_STREAM_END)
					break;
				snprintf(err, errlen, "invalid gzip data");
				rc = -EINVAL;
				goto cleanup;
			}
			ns = size * 2 < cap ? size * 2 : cap;
			nb = realloc(buf, ns + 1);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				rc = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
			size = ns;
		}
		zs.next_out = (Bytef *)buf + used;
		zs.avail_out = (uInt)(size - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = size - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_OK)
			continue;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
			snprintf(err, errlen, "truncated gzip data");
			rc = -EINVAL;
			goto cleanup;
		}
		if (zr == Z_BUF_ERROR && used == size)
			continue;
		snprintf(err, errlen, zr == Z_MEM_ERROR ? "out of memory" : "invalid gzip data");
		rc = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
		goto cleanup;
	}
	if (zs.avail_in != 0) {
		snprintf(err, errlen, "trailing bytes after the gzip stream");
		rc = -EINVAL;
		goto cleanup;
	}
	buf[used] = '\0';
	*out = buf;
	*out_len = used;
	buf = NULL;
cleanup:
	inflateEnd(&zs);
	free(buf);
	return rc;
}

/* A string member of obj, or NULL. */
static const char *str_member(const cJSON *obj, const char *name)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Checks the envelope and fills meta. Reasons name fields, never values. */
static int validate(const cJSON *doc, struct batch_meta *m, char *err, size_t errlen)
{
	const cJSON *sensor, *window;
	const char *s, *v;

	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "batch is not a JSON object");
		return -EINVAL;
	}
	s = str_member(doc, "schema");
	if (!s) {
		snprintf(err, errlen, "missing schema");
		return -EINVAL;
	}
	if (strcmp(s, CATALOG_SCHEMA) != 0) {
		snprintf(err, errlen, "unsupported schema (want %s)", CATALOG_SCHEMA);
		return -EINVAL;
	}
	s = str_member(doc, "batch_id");
	if (!s) {
		snprintf(err, errlen, "missing batch_id");
		return -EINVAL;
	}
	if (!is_uuid(s)) {
		snprintf(err, errlen, "batch_id is not a UUID");
		return -EINVAL;
	}
	memcpy(m->id, s, BATCH_ID_LEN + 1);
	sensor = cJSON_GetObjectItemCaseSensitive(doc, "sensor");
	if (!cJSON_IsObject(sensor)) {
		snprintf(err, errlen, "missing sensor object");
		return -EINVAL;
	}
	s = str_member(sensor, "id");
	v = str_member(sensor, "version");
	if (!s || !*s) {
		snprintf(err, errlen, "missing sensor.id");
		return -EINVAL;
	}
	if (strlen(s) >= sizeof(m->sensor_id)) {
		snprintf(err, errlen, "sensor.id longer than %zu bytes", sizeof(m->sensor_id) - 1);
		return -EINVAL;
	}
	if (!v || !*v) {
		snprintf(err, errlen, "missing sensor.version");
		return -EINVAL;
	}
	if (strlen(v) >= sizeof(m->sensor_version)) {
		snprintf(err, errlen, "sensor.version longer than %zu bytes",
			 sizeof(m->sensor_version) - 1);
		return -EINVAL;
	}
	snprintf(m->sensor_id, sizeof(m->sensor_id), "%s", s);
	snprintf(m->sensor_version, sizeof(m->sensor_version), "%s", v);
	window = cJSON_GetObjectItemCaseSensitive(doc, "window");
	if (!cJSON_IsObject(window)) {
		snprintf(err, errlen, "missing window object");
		return -EINVAL;
	}
	s = str_member(window, "start");
	v = str_member(window, "end");
	if (!s || time_parse_rfc3339(s, &m->window_start_ns)) {
		snprintf(err, errlen, "window.start is not an RFC 3339 UTC time");
		return -EINVAL;
	}
	if (!v || time_parse_rfc3339(v, &m->window_end_ns)) {
		snprintf(err, errlen, "window.end is not an RFC 3339 UTC time");
		return -EINVAL;
	}
	if (m->window_end_ns < m->window_start_ns) {
		snprintf(err, errlen, "window.end is before window.start");
		return -EINVAL;
	}
	if (!cJSON_GetObjectItemCaseSensitive(doc, "services")) {
		snprintf(err, errlen, "missing services");
		return -EINVAL;
	}
	if (count_catalog(doc, &m->services, &m->endpoints)) {
		snprintf(err, errlen, "services must hold objects with an endpoints object");
		return -EINVAL;
	}
	return 0;
}

int batch_decode(const void *gz, size_t len, size_t max_decoded, cJSON **doc,
		 struct batch_meta *meta, char *err, size_t errlen)
{
	char dummy[8];
	struct batch_meta m;
	const char *end = NULL;
	char *json = NULL;
	size_t json_len = 0;
	cJSON *d = NULL;
	int rc;

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	memset(&m, 0, sizeof(m));
	if (!gz || !doc) {
		snprintf(err, errlen, "no batch");
		return -EINVAL;
	}
	*doc = NULL;
	if (len < 18) {
		snprintf(err, errlen, "too short for gzip");
		return -EINVAL;
	}
	if (len > (size_t)UINT32_MAX) {
		snprintf(err, errlen, "compressed batch too large");
		return -E2BIG;
	}
	if (max_decoded == 0 || max_decoded > BATCH_MAX_DECODED)
		max_decoded = BATCH_MAX_DECODED;
	rc = gunzip_capped(gz, len, max_decoded, &json, &json_len, err, errlen);
	if (rc)
		return rc;
	if (strlen(json) != json_len) {
		snprintf(err, errlen, "NUL byte in JSON");
		rc = -EINVAL;
		goto cleanup;
	}
	d = cJSON_ParseWithOpts(json, &end, 1);
	if (!d) {
		snprintf(err, errlen, "invalid JSON");
		rc = -EINVAL;
		goto cleanup;
	}
	m.json_len = json_len;
	rc = validate(d, &m, err, errlen);
	if (rc)
		goto cleanup;
	*doc = d;
	d = NULL;
	if (meta)
		*meta = m;
cleanup:
	cJSON_Delete(d);
	free(json);
	return rc;
}
