// SPDX-License-Identifier: BSD-2-Clause
/*
 * Detector micro-benchmark. Not part of the Makefile; build by hand:
 *
 *   gcc -O2 -Iinclude bench/detect_bench.c src/catalog/detect.c -o build/detect_bench
 *   build/detect_bench
 *
 * With -f it does a fixed amount of work (10000 rounds of each mix, one
 * scan) so that `valgrind --tool=callgrind build/detect_bench -f` gives
 * instruction counts that do not depend on a noisy machine.
 *
 * Reports ns per call of detect_value, detect_format, detect_is_value_like,
 * detect_value_format and detect_name on a mix of typical header, query and JSON values, and
 * MB/s of detect_scan on a clean metadata-like JSON document.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apisonar/catalog/detect.h"

#define BENCH_SCAN_DOC_CAP (4u << 20) /* bytes of synthetic metadata */

/* What values look like on a typical API: mostly short, mostly not secret. */
static const char *const values[] = {
	"200", "application/json", "John", "true", "john.doe@example.com",
	"550e8400-e29b-41d4-a716-446655440000", "2024-01-15T10:30:00Z", "12345",
	"gzip, deflate, br",
	"Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
	"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
	"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
	"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
	"en-US,en;q=0.9", "keep-alive", "no-cache", "42", "3.14", "false", "Paris",
	"4111111111111111", "+1 (415) 555-2671", "192.168.1.10", "api.example.com",
	"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "ord_8f3k2j9x", "users", "pending",
	"The quick brown fox jumps over the lazy dog", "1700000000", "EUR",
};

static const char *const names[] = {
	"id", "user_id", "email", "firstName", "password", "created_at", "items", "x-api-key",
	"Content-Type", "Authorization", "phoneNumber", "amount", "currency", "status",
	"shippingAddressLine2", "dateOfBirth",
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile unsigned long sink;
static int fixed; /* -f: fixed work instead of fixed time, for callgrind */

static void bench_values(const char *label, int which)
{
	size_t nv = which == 3 ? sizeof(names) / sizeof(names[0]) : sizeof(values) / sizeof(values[0]);
	const char *const *tab = which == 3 ? names : values;
	size_t lens[64], i;
	unsigned long iters = 0, acc = 0;
	double t0, t1;

	for (i = 0; i < nv; i++)
		lens[i] = strlen(tab[i]);
	t0 = now_s();
	do {
		int r;

		for (r = 0; r < 10000; r++) {
			for (i = 0; i < nv; i++) {
				switch (which) {
				case 0: acc += (unsigned long)detect_value(tab[i], lens[i]); break;
				case 1: acc += (unsigned long)detect_format(tab[i], lens[i]); break;
				case 2: acc += (unsigned long)detect_is_value_like(tab[i], lens[i]); break;
				case 4: {
					enum detect_format f;

					acc += (unsigned long)detect_value_format(tab[i], lens[i], &f) + f;
					break;
				}
				default: acc += (unsigned long)detect_name(tab[i], lens[i]); break;
				}
			}
		}
		iters += 10000 * nv;
		t1 = now_s();
	} while (!fixed && t1 - t0 < 1.0);
	sink = acc;
	printf("%-22s %7.1f ns/call  (%zu-value mix, %lu calls)\n", label,
	       (t1 - t0) * 1e9 / (double)iters, nv, iters);
}

/* A clean metadata batch of about BENCH_SCAN_DOC_CAP bytes: many endpoints
 * with templates, schemas, counts and latency summaries, no values. */
static size_t make_doc(char *buf, size_t cap)
{
	size_t off = 0;
	unsigned int k = 0;
	int w;

	w = snprintf(buf, cap, "{\"schema\":\"apisonar.metadata/v1\",\"batch_id\":"
			       "\"3f2b8c1e-9a7d-4e2f-b1c3-5d6e7f809a1b\",\"created\":"
			       "\"2026-11-24T03:24:06.123Z\",\"services\":[{\"name\":\"api.example.com\","
			       "\"listen\":\"127.0.0.1:8080\",\"endpoints\":[");
	off = (size_t)w;
	while (off + 2048 < cap) {
		w = snprintf(buf + off, cap - off,
			     "%s{\"method\":\"GET\",\"path\":\"/v2/users/{user_id}/orders/{order_id}/items%u\","
			     "\"count\":%u,\"errors\":%u,\"first_seen\":\"2026-11-24T03:00:00Z\","
			     "\"last_seen\":\"2026-11-24T03:24:%02uZ\",\"latency_ms\":{\"p50\":%u.5,"
			     "\"p90\":%u.25,\"p99\":%u.125,\"buckets\":[0,3,17,120,4000,8000,205,0]},"
			     "\"status\":{\"200\":%u,\"404\":%u},\"params\":[{\"in\":\"path\",\"name\":"
			     "\"user_id\",\"schema\":{\"type\":\"string\",\"format\":\"uuid\"}},"
			     "{\"in\":\"header\",\"name\":\"Authorization\",\"auth\":\"bearer\","
			     "\"sensitive\":\"jwt\"},{\"in\":\"query\",\"name\":\"page_token\","
			     "\"sensitive\":\"token\"}],\"request\":{\"content_type\":"
			     "\"application/json; charset=utf-8\",\"schema\":{\"type\":\"object\","
			     "\"required\":[\"email\",\"card_number\"],\"properties\":{\"email\":"
			     "{\"type\":\"string\",\"format\":\"email\",\"x-sensitive\":\"email\"},"
			     "\"shippingAddressLine2\":{\"type\":\"string\",\"x-sensitive\":\"address\"},"
			     "\"amount\":{\"type\":\"number\",\"minimum\":0}}}}}",
			     k ? "," : "", k, k * 7 + 3, k % 5, k % 60, k % 97, k % 389, k % 1499,
			     k * 13, k % 11);
		if (w < 0 || (size_t)w >= cap - off)
			break;
		off += (size_t)w;
		k++;
	}
	w = snprintf(buf + off, cap - off, "]}]}\n");
	off += (size_t)w;
	return off;
}

static void bench_scan(void)
{
	char *doc = malloc(BENCH_SCAN_DOC_CAP);
	size_t n, hits = 0;
	unsigned long rounds = 0;
	enum detect_class first;
	double t0, t1;

	if (!doc) {
		perror("malloc");
		exit(1);
	}
	n = make_doc(doc, BENCH_SCAN_DOC_CAP);
	t0 = now_s();
	do {
		hits += detect_scan(doc, n, &first);
		rounds++;
		t1 = now_s();
	} while (!fixed && t1 - t0 < 2.0);
	printf("%-22s %7.1f MB/s     (%zu-byte clean batch, %lu rounds, %zu matches)\n",
	       "detect_scan", (double)n * (double)rounds / (t1 - t0) / 1e6, n, rounds, hits);
	free(doc);
}

int main(int argc, char **argv)
{
	fixed = argc > 1 && strcmp(argv[1], "-f") == 0;
	bench_values("detect_value", 0);
	bench_values("detect_format", 1);
	bench_values("detect_is_value_like", 2);
	bench_values("detect_value_format", 4);
	bench_values("detect_name", 3);
	bench_scan();
	return 0;
}
