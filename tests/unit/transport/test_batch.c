// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after stdarg.h, setjmp.h, stddef.h */

#include <zlib.h>

#include "transport/batch.c"

#define GOOD_ID "0b9e2a4c-1f3d-4e5a-9b7c-6d8e0f1a2b3c"
#define ENVELOPE                                                                                   \
	"\"batch_id\":\"" GOOD_ID "\",\"sensor\":{\"id\":\"node-1\",\"version\":\"0.1.0\"},"       \
	"\"window\":{\"start\":\"2026-11-24T03:00:00Z\",\"end\":\"2026-11-24T03:05:00.5Z\"}"

/* gzip of an arbitrary byte string, as a test fixture. */
static unsigned char *gz(const void *in, size_t len, size_t *out_len)
{
	unsigned char *out;

	assert_int_equal(batch_gzip(in, len, &out, out_len), 0);
	return out;
}

/* Decodes a JSON text (gzipped here) and returns the error code; err gets
 * the reason. */
static int decode_json(const char *json, char *err, size_t errlen, struct batch_meta *m)
{
	size_t n;
	unsigned char *b = gz(json, strlen(json), &n);
	cJSON *doc = NULL;
	int rc = batch_decode(b, n, 0, &doc, m, err, errlen);

	if (rc == 0)
		assert_non_null(doc);
	else
		assert_null(doc);
	cJSON_Delete(doc);
	free(b);
	return rc;
}

static void test_uuid4_shape(void **state)
{
	char a[BATCH_ID_LEN + 1], b[BATCH_ID_LEN + 1];

	(void)state;
	assert_int_equal(batch_uuid4(a), 0);
	assert_int_equal(batch_uuid4(b), 0);
	assert_int_equal(strlen(a), BATCH_ID_LEN);
	assert_true(is_uuid(a));
	assert_int_equal(a[14], '4');
	assert_true(strchr("89ab", a[19]) != NULL);
	assert_string_not_equal(a, b);
}

/* Windows are written with nanoseconds and read back exactly (the shared
 * RFC 3339 helpers of util.h). */
static void test_time_roundtrip(void **state)
{
	char t[BATCH_TIME_MAX];
	uint64_t ns = 0;

	(void)state;
	time_format_rfc3339(1795479904123456789ull, 9, t, sizeof(t));
	assert_string_equal(t, "2026-11-24T00:25:04.123456789Z");
	assert_int_equal(time_parse_rfc3339(t, &ns), 0);
	assert_int_equal(ns, 1795479904123456789ull);
	assert_int_equal(time_parse_rfc3339("2026-11-24T00:25:04Z", &ns), 0);
	assert_int_equal(ns, 1795479904000000000ull);
	assert_int_equal(time_parse_rfc3339("2026-11-24T00:25:04.5Z", &ns), 0);
	assert_int_equal(ns, 1795479904500000000ull);
	assert_int_equal(time_parse_rfc3339("2026-11-24T01:25:04+01:00", &ns), 0);
	assert_int_equal(ns, 1795479904000000000ull);
	assert_int_equal(time_parse_rfc3339("2026-11-24T00:25:04", &ns), -EINVAL);
	assert_int_equal(time_parse_rfc3339("2026-13-24T00:25:04Z", &ns), -EINVAL);
	assert_int_equal(time_parse_rfc3339("2026-11-24T00:25:04.Z", &ns), -EINVAL);
	assert_int_equal(time_parse_rfc3339("1969-12-31T23:59:59Z", &ns), -ERANGE);
	time_format_rfc3339(1795479904123456789ull, 3, t, sizeof(t));
	assert_string_equal(t, "2026-11-24T00:25:04.123Z");
}

static void test_decode_valid(void **state)
{
	char err[128];
	struct batch_meta m;

	(void)state;
	assert_int_equal(decode_json("{\"schema\":\"apisonar.metadata/v1\"," ENVELOPE
				     ",\"services\":[{\"name\":\"a\",\"endpoints\":[{},{}]},"
				     "{\"name\":\"b\",\"endpoints\":[{}]},{\"name\":\"c\"}]}",
				     err, sizeof(err), &m),
			 0);
	assert_string_equal(m.id, GOOD_ID);
	assert_string_equal(m.sensor_id, "node-1");
	assert_string_equal(m.sensor_version, "0.1.0");
	assert_int_equal(m.services, 3);
	assert_int_equal(m.endpoints, 3);
	assert_int_equal(m.window_start_ns, 1795489200000000000ull);
	assert_int_equal(m.window_end_ns, 1795489500500000000ull);
}

/* The anonymizer's form: services and endpoints keyed by name. */
static void test_decode_keyed_catalog(void **state)
{
	char err[128];
	struct batch_meta m;

	(void)state;
	assert_int_equal(decode_json("{\"schema\":\"apisonar.metadata/v1\"," ENVELOPE
				     ",\"services\":{\"shop\":{\"endpoints\":{\"GET /a\":{},"
				     "\"POST /b\":{}}},\"auth\":{\"endpoints\":{}},\"x\":{}}}",
				     err, sizeof(err), &m),
			 0);
	assert_int_equal(m.services, 3);
	assert_int_equal(m.endpoints, 2);
}

static void test_decode_invalid_reasons(void **state)
{
	static const struct {
		const char *json;
		const char *reason;
	} cases[] = {
	    {"[1,2]", "batch is not a JSON object"},
	    {"{\"a\":", "invalid JSON"},
	    {"{}", "missing schema"},
	    {"{\"schema\":\"apisonar.metadata/v2\"}",
	     "unsupported schema (want apisonar.metadata/v1)"},
	    {"{\"schema\":\"apisonar.metadata/v1\"}", "missing batch_id"},
	    {"{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"secret-value\"}",
	     "batch_id is not a UUID"},
	    {"{\"schema\":\"apisonar.metadata/"
	     "v1\",\"batch_id\":\"0B9E2A4C-1F3D-4E5A-9B7C-6D8E0F1A2B3C\"}",
	     "batch_id is not a UUID"},
	    {"{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"" GOOD_ID "\"}",
	     "missing sensor object"},
	    {"{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"" GOOD_ID "\",\"sensor\":{}}",
	     "missing sensor.id"},
	    {"{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"" GOOD_ID
	     "\",\"sensor\":{\"id\":\"n\"}}",
	     "missing sensor.version"},
	    {"{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"" GOOD_ID
	     "\",\"sensor\":{\"id\":\"n\",\"version\":\"1\"}}",
	     "missing window object"},
	    {"{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"" GOOD_ID
	     "\",\"sensor\":{\"id\":\"n\",\"version\":\"1\"},\"window\":{\"start\":\"yesterday\"}}",
	     "window.start is not an RFC 3339 UTC time"},
	    {"{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"" GOOD_ID
	     "\",\"sensor\":{\"id\":\"n\",\"version\":\"1\"},\"window\":{\"start\":"
	     "\"2026-11-24T03:00:00Z\",\"end\":\"2026-11-24T02:00:00Z\"}}",
	     "window.end is before window.start"},
	    {"{\"schema\":\"apisonar.metadata/v1\"," ENVELOPE "}", "missing services"},
	    {"{\"schema\":\"apisonar.metadata/v1\"," ENVELOPE ",\"services\":\"x\"}",
	     "services must hold objects with an endpoints object"},
	    {"{\"schema\":\"apisonar.metadata/v1\"," ENVELOPE ",\"services\":[1]}",
	     "services must hold objects with an endpoints object"},
	    {"{\"schema\":\"apisonar.metadata/v1\"," ENVELOPE ",\"services\":{\"a\":2}}",
	     "services must hold objects with an endpoints object"},
	    {"{\"schema\":\"apisonar.metadata/v1\"," ENVELOPE
	     ",\"services\":[{\"endpoints\":\"x\"}]}",
	     "services must hold objects with an endpoints object"},
	};
	char err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(decode_json(cases[i].json, err, sizeof(err), NULL), -EINVAL);
		assert_string_equal(err, cases[i].reason);
	}
}

static void test_decode_long_sensor_id(void **state)
{
	char json[1024], id[200], err[128];

	(void)state;
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(json, sizeof(json),
		 "{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":\"" GOOD_ID
		 "\",\"sensor\":{\"id\":\"%s\",\"version\":\"1\"}}",
		 id);
	assert_int_equal(decode_json(json, err, sizeof(err), NULL), -EINVAL);
	assert_string_equal(err, "sensor.id longer than 127 bytes");
}

static void test_decode_not_gzip(void **state)
{
	const char *plain = "{\"schema\":\"apisonar.metadata/v1\"}  not compressed";
	cJSON *doc = (cJSON *)1;
	char err[128];
	unsigned char *b;
	size_t n;

	(void)state;
	assert_int_equal(batch_decode(plain, strlen(plain), 0, &doc, NULL, err, sizeof(err)),
			 -EINVAL);
	assert_null(doc);
	assert_string_equal(err, "invalid gzip data");
	assert_int_equal(batch_decode("\x1f\x8b", 2, 0, &doc, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "too short for gzip");

	b = gz("{\"x\":1}", 7, &n);
	assert_int_equal(batch_decode(b, n - 4, 0, &doc, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "truncated gzip data");
	b = realloc(b, n + 3);
	memcpy(b + n, "abc", 3);
	assert_int_equal(batch_decode(b, n + 3, 0, &doc, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "trailing bytes after the gzip stream");
	free(b);

	b = gz("{\"x\":\0}", 7, &n);
	assert_int_equal(batch_decode(b, n, 0, &doc, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "NUL byte in JSON");
	free(b);
}

/* 1 GiB of zeros compresses to about 1 MiB: it must stop at the cap. */
static void test_decode_gzip_bomb(void **state)
{
	const size_t chunk = 1 << 20;
	unsigned char *zero = calloc(1, chunk), *out = malloc(2u << 20);
	z_stream zs;
	cJSON *doc = NULL;
	char err[128];
	int i;

	(void)state;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_out = out;
	zs.avail_out = 2u << 20;
	for (i = 0; i < 1024; i++) {
		zs.next_in = zero;
		zs.avail_in = (uInt)chunk;
		assert_int_equal(deflate(&zs, i == 1023 ? Z_FINISH : Z_NO_FLUSH),
				 i == 1023 ? Z_STREAM_END : Z_OK);
	}
	assert_true(zs.total_out < (2u << 20));
	assert_int_equal(batch_decode(out, zs.total_out, 0, &doc, NULL, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "batch inflates past 67108864 bytes");
	assert_int_equal(batch_decode(out, zs.total_out, 4096, &doc, NULL, err, sizeof(err)),
			 -E2BIG);
	assert_string_equal(err, "batch inflates past 4096 bytes");
	assert_null(doc);
	deflateEnd(&zs);
	free(zero);
	free(out);
}

/* Exactly at the cap is fine; one byte over is not. */
static void test_decode_cap_edge(void **state)
{
	char json[4097], err[128];
	cJSON *doc = NULL;
	unsigned char *b;
	size_t n;

	(void)state;
	memset(json, ' ', sizeof(json) - 1);
	json[0] = '[';
	json[4095] = ']';
	json[4096] = '\0';
	b = gz(json, 4096, &n);
	assert_int_equal(batch_decode(b, n, 4096, &doc, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "batch is not a JSON object");
	assert_int_equal(batch_decode(b, n, 4095, &doc, NULL, err, sizeof(err)), -E2BIG);
	free(b);
}

static const char *const DOC =
    "{\"schema\":\"apisonar.metadata/v1\",\"services\":[{\"name\":\"shop\",\"endpoints\":["
    "{\"method\":\"GET\",\"path\":\"/users/{id}\",\"params\":[{\"in\":\"query\","
    "\"name\":\"email\",\"type\":\"string\",\"format\":\"email\",\"sensitive\":\"email\"}]},"
    "{\"method\":\"POST\",\"path\":\"/orders\"}]},{\"name\":\"empty\",\"endpoints\":[]}]}";

static void test_encode_decode_roundtrip(void **state)
{
	struct batch_sensor sensor = {.id = "node-1", .version = "0.1.0"};
	struct batch_meta em, dm;
	cJSON *in = cJSON_Parse(DOC), *out = NULL;
	unsigned char *gzb = NULL;
	char err[128], *a, *b;
	size_t n = 0;

	(void)state;
	assert_non_null(in);
	assert_int_equal(batch_encode(in, &sensor, 1795479904123456789ull, 1795479964000000000ull,
				      &gzb, &n, &em),
			 0);
	assert_true(n > 18 && gzb[0] == 0x1f && gzb[1] == 0x8b);
	assert_true(is_uuid(em.id));
	assert_int_equal(em.services, 2);
	assert_int_equal(em.endpoints, 2);
	assert_int_equal(batch_decode(gzb, n, 0, &out, &dm, err, sizeof(err)), 0);
	assert_string_equal(dm.id, em.id);
	assert_string_equal(dm.sensor_id, "node-1");
	assert_string_equal(dm.sensor_version, "0.1.0");
	assert_int_equal(dm.window_start_ns, 1795479904123456789ull);
	assert_int_equal(dm.window_end_ns, 1795479964000000000ull);
	assert_int_equal(dm.services, 2);
	assert_int_equal(dm.endpoints, 2);
	assert_int_equal(dm.json_len, em.json_len);
	assert_string_equal(cJSON_GetObjectItem(out, "batch_id")->valuestring, em.id);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(out, "window"), "start")->valuestring,
	    "2026-11-24T00:25:04.123456789Z");
	/* The catalog itself is unchanged: drop the envelope and compare. */
	cJSON_DeleteItemFromObject(out, "batch_id");
	cJSON_DeleteItemFromObject(out, "sensor");
	cJSON_DeleteItemFromObject(out, "window");
	a = cJSON_PrintUnformatted(in);
	b = cJSON_PrintUnformatted(out);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* The input document was not touched. */
	assert_null(cJSON_GetObjectItem(in, "batch_id"));
	cJSON_Delete(out);
	cJSON_Delete(in);
	free(gzb);
}

/* An envelope already present (a re-batched document) is replaced. */
static void test_encode_replaces_envelope(void **state)
{
	struct batch_sensor sensor = {.id = "sat-1", .version = "0.1.0"};
	cJSON *in = cJSON_Parse("{\"batch_id\":\"" GOOD_ID "\",\"sensor\":{\"id\":\"old\"},"
				"\"services\":[]}"),
	      *out = NULL;
	struct batch_meta m;
	unsigned char *gzb = NULL;
	char err[128];
	size_t n;

	(void)state;
	assert_int_equal(batch_encode(in, &sensor, 5, 5, &gzb, &n, &m), 0);
	assert_string_not_equal(m.id, GOOD_ID);
	assert_int_equal(batch_decode(gzb, n, 0, &out, &m, err, sizeof(err)), 0);
	assert_string_equal(m.sensor_id, "sat-1");
	assert_int_equal(cJSON_GetArraySize(out),
			 5); /* schema, batch_id, sensor, window, services */
	cJSON_Delete(out);
	cJSON_Delete(in);
	free(gzb);
}

static void test_encode_invalid(void **state)
{
	struct batch_sensor sensor = {.id = "n", .version = "1"}, nover = {.id = "n"};
	cJSON *ok = cJSON_Parse("{\"services\":[]}");
	cJSON *v2 = cJSON_Parse("{\"schema\":\"apisonar.metadata/v2\",\"services\":[]}");
	cJSON *nosvc = cJSON_Parse("{\"schema\":\"apisonar.metadata/v1\"}");
	cJSON *badsvc = cJSON_Parse("{\"services\":[{\"endpoints\":3}]}");
	cJSON *arr = cJSON_Parse("[]");
	unsigned char *gzb = NULL;
	size_t n;

	(void)state;
	assert_int_equal(batch_encode(v2, &sensor, 1, 2, &gzb, &n, NULL), -EINVAL);
	assert_int_equal(batch_encode(nosvc, &sensor, 1, 2, &gzb, &n, NULL), -EINVAL);
	assert_int_equal(batch_encode(badsvc, &sensor, 1, 2, &gzb, &n, NULL), -EINVAL);
	assert_int_equal(batch_encode(arr, &sensor, 1, 2, &gzb, &n, NULL), -EINVAL);
	assert_int_equal(batch_encode(ok, &nover, 1, 2, &gzb, &n, NULL), -EINVAL);
	assert_int_equal(batch_encode(ok, &sensor, 3, 2, &gzb, &n, NULL), -EINVAL);
	assert_int_equal(batch_encode(ok, NULL, 1, 2, &gzb, &n, NULL), -EINVAL);
	assert_null(gzb);
	assert_int_equal(batch_encode(ok, &sensor, 1, 2, &gzb, &n, NULL), 0);
	free(gzb);
	cJSON_Delete(ok);
	cJSON_Delete(v2);
	cJSON_Delete(nosvc);
	cJSON_Delete(badsvc);
	cJSON_Delete(arr);
}

/* The last guard: a value the anonymizer let through stops the batch. */
static void test_encode_guard_refuses(void **state)
{
	static const char *const planted[] = {
	    "alice.smith@example.com",
	    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ."
	    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
	    "4111 1111 1111 1111",
	};
	struct batch_sensor sensor = {.id = "node-1", .version = "0.1.0"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(planted) / sizeof(planted[0]); i++) {
		cJSON *doc = cJSON_Parse(DOC), *ep;
		unsigned char *gzb = NULL;
		size_t n = 0;

		ep = cJSON_GetArrayItem(
		    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "services"), 0),
					"endpoints"),
		    1);
		cJSON_AddStringToObject(ep, "example", planted[i]);
		assert_int_equal(batch_encode(doc, &sensor, 1, 2, &gzb, &n, NULL), -EPERM);
		assert_null(gzb);
		cJSON_Delete(doc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uuid4_shape),
	    cmocka_unit_test(test_time_roundtrip),
	    cmocka_unit_test(test_decode_valid),
	    cmocka_unit_test(test_decode_keyed_catalog),
	    cmocka_unit_test(test_decode_invalid_reasons),
	    cmocka_unit_test(test_decode_long_sensor_id),
	    cmocka_unit_test(test_decode_not_gzip),
	    cmocka_unit_test(test_decode_gzip_bomb),
	    cmocka_unit_test(test_decode_cap_edge),
	    cmocka_unit_test(test_encode_decode_roundtrip),
	    cmocka_unit_test(test_encode_replaces_envelope),
	    cmocka_unit_test(test_encode_invalid),
	    cmocka_unit_test(test_encode_guard_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
