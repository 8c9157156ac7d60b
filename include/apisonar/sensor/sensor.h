/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The sensor: kernel programs -> ring buffer -> connection tracker -> HTTP
 * parser -> exchanges. One object that `capture` and `run` drive from
 * their poll loop; it never blocks on what consumes the exchanges.
 */
#ifndef APISONAR_SENSOR_H
#define APISONAR_SENSOR_H

#include <stdint.h>

#include "apisonar/exchange/exchange.h"
#include "apisonar/sensor/conntrack.h"
#include "apisonar/sensor/loader.h"
#include "apisonar/sensor/mirror.h"
#include "apisonar/sensor/proto/http1.h"
#include "apisonar/sensor/proto/http2.h"
#include "apisonar/sensor/tls_attach.h"

struct sensor_opts {
	struct loader_opts loader;
	struct ct_limits ct;
	struct http1_opts http;
	struct http2_opts http2; /* max_body 0: the same as http's */
	/* When both ends of a connection are on this host, hand on each
	 * exchange once (mirror.h): `run` does, for the catalog; `capture`
	 * shows both views. */
	bool one_per_connection;
	/* Under a capture budget, the exchanges skipped after the last one
	 * captured on a connection reach the callback at its end as one
	 * AS_X_TALLY exchange (counts only, for the catalog); without it they
	 * are only counted (sensor_stats.unsampled_untallied). */
	bool tallies;
};

void sensor_opts_default(struct sensor_opts *o);

/* Called for every completed exchange; the callback owns x. */
typedef void (*sensor_exchange_cb)(void *ctx, struct as_exchange *x);

struct sensor_stats {
	uint64_t kernel[AS_C_NR]; /* enum as_counter, summed over CPUs */
	struct ct_stats ct;
	struct http1_stats http;
	struct http2_stats http2;
	uint32_t active_conns;
	uint64_t records;         /* ring buffer records consumed */
	struct tls_attach_stats tls; /* zero with --tls off */
	struct mirror_stats mirror;  /* zero unless one_per_connection */
	/* Exchanges the budget skipped, as userspace accounted for them: in
	 * the weight of a captured exchange, in a tally, or neither (no
	 * exchange of that connection was captured, or tallies are off). */
	uint64_t unsampled_weighted, unsampled_tallied, unsampled_untallied;
	uint64_t whole_conns; /* connections marked never to split (pipelining) */
	uint64_t twin_only_dropped; /* client views of local connections whose server end
				     * skipped the exchange (it counts it) */
};

struct sensor;

/* Loads and attaches; NULL with an actionable message in err on failure. */
struct sensor *sensor_new(const struct sensor_opts *o, sensor_exchange_cb cb, void *ctx, char *err,
			  size_t errlen);
/* Whether this host and process can run the sensor at all (privileges,
 * BTF, kernel), checked before anything is created: 0 or a negative errno
 * with the message in err. */
int sensor_preflight(char *err, size_t errlen) __attribute__((warn_unused_result));
/* Ends every connection (emitting what it holds), detaches, frees. */
void sensor_free(struct sensor *s);

/* Waits up to timeout_ms for events, consumes everything pending, and
 * runs the tracker's timers. Returns records consumed or a negative errno
 * (-EINTR when a signal interrupted the wait: not an error). */
int sensor_poll(struct sensor *s, int timeout_ms);

int sensor_set_filters(struct sensor *s, const struct loader_filters *f)
	__attribute__((warn_unused_result));

/* The sensor's own listening socket (the daemon's /metrics): connections
 * to it are not captured, as the sensor's own process is not. */
int sensor_exclude_listener(struct sensor *s, const struct sockaddr *sa)
	__attribute__((warn_unused_result));

void sensor_get_stats(struct sensor *s, struct sensor_stats *out);

/* The TLS attach state, for the summary; NULL with --tls off. */
const struct tls_attach *sensor_tls(const struct sensor *s);

/* Logs TLS targets attached (or not) since the last call: tls_attach_log. */
void sensor_log_tls(struct sensor *s);

#endif
