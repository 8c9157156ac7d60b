// SPDX-License-Identifier: BSD-2-Clause
/*
 * Throughput of the HTTP/1 parser: keep-alive GET exchanges with small JSON
 * bodies on one connection, each message fed as one chunk (as a read or
 * write syscall would deliver it), exchanges freed in the callback.
 *
 * Built by hand, not by the Makefile:
 *   gcc -O2 -D_GNU_SOURCE -Iinclude bench/http1_bench.c src/sensor/proto/http1.c src/exchange/exchange.c \
 *       -o build/http1_bench && build/http1_bench [exchanges]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apisonar/sensor/events.h"
#include "apisonar/sensor/proto/http1.h"

static unsigned long bench_seen;

static void bench_cb(void *ctx, struct as_exchange *x)
{
	(void)ctx;
	bench_seen++;
	as_exchange_free(x);
}

/* CPU time of this thread: the machine may be shared, and the figure wanted
 * is the parser's cost, not the scheduler's. */
static double bench_now(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char req[] =
	    "GET /api/v1/users/12345/orders?limit=20&offset=40 HTTP/1.1\r\n"
	    "Host: api.example.com\r\n"
	    "User-Agent: bench/1.0\r\n"
	    "Accept: application/json\r\n"
	    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl\r\n"
	    "X-Request-Id: 6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b\r\n"
	    "\r\n";
	static const char body[] =
	    "{\"orders\":[{\"id\":1,\"total\":12.5,\"email\":\"a@example.com\"},"
	    "{\"id\":2,\"total\":7.25,\"email\":\"b@example.com\"}],\"next\":60}";
	char resp[1024];
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000, i;
	struct http1_stats st = {0};
	struct http1_conn *c;
	size_t rl = sizeof(req) - 1, sl;
	double t0, w0, dt, dw, bytes;

	sl =
	    (size_t)snprintf(resp, sizeof(resp),
			     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			     "Date: Tue, 24 Nov 2026 03:00:00 GMT\r\nContent-Length: %zu\r\n\r\n%s",
			     sizeof(body) - 1, body);
	c = http1_conn_new(NULL, &st, bench_cb, NULL);
	if (!c)
		return 1;
	t0 = bench_now(CLOCK_THREAD_CPUTIME_ID);
	w0 = bench_now(CLOCK_MONOTONIC);
	for (i = 0; i < n; i++) {
		if (http1_conn_feed(c, AS_DIR_INGRESS, req, rl, 2 * i) ||
		    http1_conn_feed(c, AS_DIR_EGRESS, resp, sl, 2 * i + 1)) {
			fprintf(stderr, "feed failed at %lu\n", i);
			return 1;
		}
	}
	dt = bench_now(CLOCK_THREAD_CPUTIME_ID) - t0;
	dw = bench_now(CLOCK_MONOTONIC) - w0;
	http1_conn_free(c);
	bytes = (double)n * (double)(rl + sl);
	printf("%lu exchanges (%zu+%zu bytes each) in %.3f s of CPU: %.1f MB/s, %.0f exchanges/s"
	       " (wall clock %.3f s: %.1f MB/s)\n",
	       bench_seen, rl, sl, dt, bytes / dt / 1e6, (double)n / dt, dw, bytes / dw / 1e6);
	return bench_seen == n && st.parse_errors == 0 ? 0 : 1;
}
