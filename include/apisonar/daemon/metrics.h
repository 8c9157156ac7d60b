/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Local observability for `apisonar run`: a Prometheus text builder and a
 * small HTTP listener (libevent evhttp, its own thread) serving /metrics
 * and /healthz. Only counts and names reach it; never a captured value.
 */
#ifndef APISONAR_METRICS_H
#define APISONAR_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define METRICS_TEXT_MAX (1u << 20) /* cap of one /metrics page */

/* A growable text page with a cap; past the cap appends are dropped and
 * truncated is set. */
struct metrics_text {
	char *buf;
	size_t len, cap;
	int truncated;
	char last[96]; /* last family written, so HELP/TYPE appear once */
};

void metrics_text_init(struct metrics_text *t);
void metrics_text_free(struct metrics_text *t);

/* One sample. type is "counter" or "gauge"; labels is "" or a label set
 * without braces (k="v",...) made only of our own names. HELP and TYPE are
 * written when name differs from the previous sample's. */
void metrics_sample(struct metrics_text *t, const char *name, const char *type, const char *help,
		    const char *labels, double value);

/* Fills t with the page; returns 0 when healthy (for /healthz), else a
 * negative errno, and writes a short reason into why. */
typedef void (*metrics_render_fn)(void *ctx, struct metrics_text *t);
typedef int (*metrics_health_fn)(void *ctx, char *why, size_t whylen);

struct metrics_server;

/* Binds addr:port and serves from a thread of its own. NULL with err set
 * when the address cannot be bound. */
struct metrics_server *metrics_server_start(const char *addr, uint16_t port,
					    metrics_render_fn render, metrics_health_fn health,
					    void *ctx, char *err, size_t errlen);
/* The address the listener is bound to (for the sensor to exclude it). */
int metrics_server_addr(const struct metrics_server *m, struct sockaddr_storage *ss)
	__attribute__((warn_unused_result));
/* Stops the thread and frees; NULL-safe. */
void metrics_server_stop(struct metrics_server *m);

#endif
