// SPDX-License-Identifier: BSD-2-Clause
/*
 * /metrics and /healthz on a loopback address, in a thread of their own so
 * a slow scraper never slows capture.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "apisonar/daemon/metrics.h"
#include "apisonar/util/util.h"

void metrics_text_init(struct metrics_text *t)
{
	memset(t, 0, sizeof(*t));
}

void metrics_text_free(struct metrics_text *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/* Appends a formatted piece; past METRICS_TEXT_MAX the page is cut. */
static void text_add(struct metrics_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct metrics_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->truncated)
		return;
	for (;;) {
		size_t room = t->cap - t->len;

		va_start(ap, fmt);
		n = t->buf ? vsnprintf(t->buf + t->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		if (t->cap >= METRICS_TEXT_MAX) {
			t->truncated = 1;
			if (t->buf)
				t->buf[t->len] = '\0';
			return;
		}
		{
			size_t ncap = t->cap ? t->cap * 2 : 8192;
			char *nb;

			if (ncap > METRICS_TEXT_MAX)
				ncap = METRICS_TEXT_MAX;
			nb = realloc(t->buf, ncap);
			if (!nb) {
				t->truncated = 1;
				return;
			}
			t->buf = nb;
			t->cap = ncap;
		}
	}
}

void metrics_sample(struct metrics_text *t, const char *name, const char *type, const char *help,
		    const char *labels, double value)
{
	if (strcmp(t->last, name) != 0) {
		text_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
		snprintf(t->last, sizeof(t->last), "%s", name);
	}
	if (labels && *labels)
		text_add(t, "%s{%s} %.17g\n", name, labels, value);
	else
		text_add(t, "%s %.17g\n", name, value);
}

struct metrics_server {
	struct event_base *base;
	struct evhttp *http;
	struct event *tick; /* checks stop: libevent here is built without threads */
	struct evhttp_bound_socket *bound; /* the listener, for metrics_server_addr */
	atomic_int stop;
	pthread_t thread;
	metrics_render_fn render;
	metrics_health_fn health;
	void *ctx;
};

static void send_text(struct evhttp_request *req, int code, const char *reason, const char *ctype,
		      const char *body, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/* GET /metrics: Prometheus text format 0.0.4. */
static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct metrics_server *m = arg;
	struct metrics_text t;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, NULL);
		return;
	}
	metrics_text_init(&t);
	m->render(m->ctx, &t);
	send_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", t.buf ? t.buf : "",
		  t.len);
	metrics_text_free(&t);
}

/* GET /healthz: 200 "ok" while every stage runs, 503 and the reason else. */
static void on_healthz(struct evhttp_request *req, void *arg)
{
	struct metrics_server *m = arg;
	char why[160], body[200];
	int n;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, NULL);
		return;
	}
	why[0] = '\0';
	if (m->health(m->ctx, why, sizeof(why)) == 0) {
		send_text(req, 200, "OK", "text/plain", "ok\n", 3);
		return;
	}
	n = snprintf(body, sizeof(body), "unhealthy: %s\n", why);
	send_text(req, 503, "Service Unavailable", "text/plain", body,
		  n > 0 && (size_t)n < sizeof(body) ? (size_t)n : strlen(body));
}

static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, NULL);
}

/* libevent's cross-thread wakeup needs libevent_pthreads, which we do not
 * link: the loop looks at the stop flag itself, five times a second. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_server *m = arg;

	(void)fd;
	(void)what;
	if (atomic_load(&m->stop))
		event_base_loopbreak(m->base);
}

static void *server_main(void *arg)
{
	struct metrics_server *m = arg;

	event_base_loop(m->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

struct metrics_server *metrics_server_start(const char *addr, uint16_t port,
					    metrics_render_fn render, metrics_health_fn health,
					    void *ctx, char *err, size_t errlen)
{
	struct metrics_server *m = calloc(1, sizeof(*m));

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->render = render;
	m->health = health;
	m->ctx = ctx;
	m->base = event_base_new();
	if (!m->base)
		goto fail;
	m->tick = event_new(m->base, -1, EV_PERSIST, on_tick, m);
	if (!m->tick)
		goto fail;
	{
		struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };

		if (event_add(m->tick, &tv) != 0)
			goto fail;
	}
	m->http = evhttp_new(m->base);
	if (!m->http)
		goto fail;
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET);
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_cb(m->http, "/metrics", on_metrics, m);
	evhttp_set_cb(m->http, "/healthz", on_healthz, m);
	evhttp_set_gencb(m->http, on_other, m);
	m->bound = evhttp_bind_socket_with_handle(m->http, addr, port);
	if (!m->bound) {
		snprintf(err, errlen, "cannot listen on %s port %u: %s", addr, port,
			 strerror(errno ? errno : EADDRINUSE));
		goto fail_quiet;
	}
	if (pthread_create(&m->thread, NULL, server_main, m) != 0) {
		snprintf(err, errlen, "cannot start the metrics thread");
		goto fail_quiet;
	}
	return m;
fail:
	snprintf(err, errlen, "cannot set up the metrics listener");
fail_quiet:
	if (m->http)
		evhttp_free(m->http);
	if (m->tick)
		event_free(m->tick);
	if (m->base)
		event_base_free(m->base);
	free(m);
	return NULL;
}

int metrics_server_addr(const struct metrics_server *m, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	evutil_socket_t fd;

	if (!m || !m->bound)
		return -ENOTCONN;
	fd = evhttp_bound_socket_get_fd(m->bound);
	if (getsockname(fd, (struct sockaddr *)ss, &len) != 0)
		return -errno;
	return 0;
}

void metrics_server_stop(struct metrics_server *m)
{
	if (!m)
		return;
	atomic_store(&m->stop, 1);
	pthread_join(m->thread, NULL);
	evhttp_free(m->http);
	event_free(m->tick);
	event_base_free(m->base);
	free(m);
}
