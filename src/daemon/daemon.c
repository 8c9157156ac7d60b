// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar run: capture -> anonymize -> catalog -> batch -> spool -> upload,
 * one thread per stage. The ring buffer consumer never waits on anything
 * downstream: it hands exchanges over through a bounded queue and counts
 * what does not fit.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/rand.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/daemon/daemon.h"
#include "apisonar/daemon/declared.h"
#include "apisonar/daemon/k8s.h"
#include "apisonar/daemon/metrics.h"
#include "apisonar/sensor/sensor.h"
#include "apisonar/transport/batch.h"
#include "apisonar/transport/rawfwd.h"
#include "apisonar/transport/nats.h"
#include "apisonar/transport/spool.h"
#include "apisonar/transport/transport.h"
#include "apisonar/transport/uploader.h"
#include "apisonar/util/util.h"

#define DAEMON_POP_BATCH 256          /* exchanges taken per queue lock */
#define DAEMON_STATS_EVERY_NS 500000000ull
#define DAEMON_STALL_NS (10ull * 1000000000ull) /* /healthz: a stage this quiet is stuck */
#define DAEMON_DRAIN_WAIT_MS 2000     /* at stop, a full queue may hold the sensor this long */
/* The first exchanges of a run are flushed this soon, not a whole flush
 * interval later: a new user sees a catalog within seconds. */
#define DAEMON_FIRST_FLUSH_NS (2ull * 1000000000ull)

/* Counters of this daemon's own stages; each one is a metric. */
struct daemon_counters {
	atomic_uint_fast64_t queue_pushed;
	atomic_uint_fast64_t queue_dropped;     /* queue full */
	atomic_uint_fast64_t catalog_added;
	atomic_uint_fast64_t catalog_skipped;   /* exchanges the anonymizer refused */
	atomic_uint_fast64_t flushes;
	atomic_uint_fast64_t flush_errors;      /* out-dir write failures */
	atomic_uint_fast64_t batches_spooled;
	atomic_uint_fast64_t batches_refused;   /* the last guard found a value */
	atomic_uint_fast64_t batch_errors;      /* encode or spool failures */
	atomic_uint_fast64_t upload_delivered;
	atomic_uint_fast64_t upload_retry;
	atomic_uint_fast64_t upload_rejected;
	atomic_uint_fast64_t upload_local_errors;
	atomic_uint_fast64_t reloads;
	atomic_uint_fast64_t reload_errors;
	atomic_uint_fast64_t merge_errors;      /* window could not merge into the catalog */
};

struct daemon {
	struct run_config cfg;       /* the active configuration */
	struct sensor *sensor;
	struct daemon_counters c;

	/* sensor -> catalog queue */
	pthread_mutex_t q_mu;
	pthread_cond_t q_cv;        /* signalled on push and on stop */
	pthread_cond_t q_space;     /* signalled on pop (only waited on when draining) */
	struct as_exchange **q;
	size_t q_cap, q_head, q_len;

	atomic_int stop_capture;     /* sensor thread ends */
	atomic_int stop_catalog;     /* catalog thread drains, flushes, ends */
	atomic_int stop_upload;      /* upload thread ends */
	atomic_int draining;         /* the sensor is emitting its last exchanges */
	atomic_int fatal;            /* a stage died: main thread stops */
	atomic_int filters_pending;  /* SIGHUP: the sensor thread applies new_filters */
	atomic_int limits_pending;   /* SIGHUP: the catalog thread applies new_limits */
	atomic_int declared_pending; /* SIGHUP: the catalog thread reads new_declared */
	atomic_int flush_interval_s;
	atomic_uint_fast64_t sensor_beat, catalog_beat; /* monotonic ns of last loop */
	uint64_t upload_deadline_ns; /* at stop: last moment to start a send */

	pthread_mutex_t cfg_mu;      /* new_filters, new_limits, new_declared */
	struct loader_filters new_filters;
	struct catalog_limits new_limits;
	struct cfg_list new_declared;

	/* Snapshots for /metrics, under stats_mu. */
	pthread_mutex_t stats_mu;
	struct sensor_stats sstats;
	struct catalog_stats cstats;
	struct uploader_stats ustats;
	uint64_t q_len_snapshot;
	bool drift_on;               /* declared documents are loaded */
	size_t drift[DK__COUNT];     /* findings per kind at the last flush */

	/* spool, shared by the catalog (put) and upload (peek, remove) threads */
	pthread_mutex_t sp_mu;
	pthread_cond_t sp_cv;        /* a batch was put */
	struct spool *spool;
	struct uploader *uploader;
	struct nats_pub *natspub;   /* transport = nats */
	struct transport tr;        /* the one of them that delivers (ops NULL: none) */
	struct rawfwd *raw;          /* raw-forward mode: no spool, no uploader */
	struct k8s *k8s;             /* pod identity; NULL when off */
	char spool_dir[CFG_STR_MAX + 16];
	char key_path[CFG_STR_MAX + 16];
	char audit_path[CFG_STR_MAX + 16];
	char sensor_id[128];
	uint64_t start_ns;
};

/* ---- the queue ------------------------------------------------------- */

/* The sensor's exchange callback: never waits while capturing. A full queue
 * drops the exchange and counts it. While draining at stop it may wait a
 * bounded time, so what was captured before SIGTERM reaches the catalog. */
static void on_exchange(void *ctx, struct as_exchange *x)
{
	struct daemon *d = ctx;
	bool pushed = false;

	pthread_mutex_lock(&d->q_mu);
	if (d->q_len == d->q_cap && atomic_load(&d->draining)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += DAEMON_DRAIN_WAIT_MS / 1000;
		while (d->q_len == d->q_cap) {
			if (pthread_cond_timedwait(&d->q_space, &d->q_mu, &ts) == ETIMEDOUT)
				break;
		}
	}
	if (d->q_len < d->q_cap) {
		d->q[(d->q_head + d->q_len) % d->q_cap] = x;
		d->q_len++;
		pushed = true;
		pthread_cond_signal(&d->q_cv);
	}
	pthread_mutex_unlock(&d->q_mu);
	if (pushed) {
		atomic_fetch_add(&d->c.queue_pushed, 1);
	} else {
		atomic_fetch_add(&d->c.queue_dropped, 1);
		as_exchange_free(x);
	}
}

/* ---- sensor thread --------------------------------------------------- */

static void *sensor_main(void *arg)
{
	struct daemon *d = arg;
	uint64_t last_stats = 0;

	while (!atomic_load(&d->stop_capture)) {
		int n = sensor_poll(d->sensor, 100);
		uint64_t now = now_mono_ns();

		atomic_store(&d->sensor_beat, now);
		if (n < 0 && n != -EINTR) {
			log_error("reading the ring buffer failed: %s", strerror(-n));
			atomic_store(&d->fatal, 1);
			break;
		}
		if (atomic_exchange(&d->filters_pending, 0)) {
			struct loader_filters f;
			int err;

			pthread_mutex_lock(&d->cfg_mu);
			f = d->new_filters;
			pthread_mutex_unlock(&d->cfg_mu);
			err = sensor_set_filters(d->sensor, &f);
			if (err) {
				log_error("reload: cannot write the filter maps: %s", strerror(-err));
				atomic_fetch_add(&d->c.reload_errors, 1);
			} else {
				log_info("reload: filters applied (%zu ports, %zu pids, %zu comms, "
					 "%zu cidrs, %zu cgroups)",
					 f.n_ports, f.n_pids, f.n_comms, f.n_cidrs, f.n_cgroups);
			}
		}
		if (now - last_stats >= DAEMON_STATS_EVERY_NS) {
			struct sensor_stats st;

			sensor_get_stats(d->sensor, &st);
			pthread_mutex_lock(&d->stats_mu);
			d->sstats = st;
			pthread_mutex_unlock(&d->stats_mu);
			sensor_log_tls(d->sensor);
			last_stats = now;
		}
	}
	/* Consume what the kernel still holds, then end every connection:
	 * their finished exchanges go to the catalog too. */
	atomic_store(&d->draining, 1);
	sensor_poll(d->sensor, 0);
	{
		struct sensor_stats st;

		sensor_get_stats(d->sensor, &st);
		pthread_mutex_lock(&d->stats_mu);
		d->sstats = st;
		pthread_mutex_unlock(&d->stats_mu);
	}
	sensor_free(d->sensor);
	d->sensor = NULL;
	return NULL;
}

/* ---- catalog thread -------------------------------------------------- */

/* Reads a previous run's metadata.json so the local catalog survives
 * restarts. A file that does not validate is set aside, not trusted. */
static void load_previous(struct catalog *total, const char *out_dir)
{
	char path[CFG_STR_MAX + 32], err[256];
	char *text = NULL;
	size_t len = 0;
	cJSON *doc;
	int rc;

	snprintf(path, sizeof(path), "%s/metadata.json", out_dir);
	rc = read_file_all(path, BATCH_MAX_DECODED, &text, &len);
	if (rc == -ENOENT)
		return;
	if (rc) {
		log_warn("cannot read the previous catalog %s: %s; starting empty", path,
			 strerror(-rc));
		return;
	}
	doc = cJSON_ParseWithLength(text, len);
	free(text);
	if (!doc || catalog_merge_metadata(total, doc, err, sizeof(err))) {
		log_warn("the previous catalog %s is not valid (%s); starting empty", path,
			 doc ? err : "not JSON");
	} else {
		log_info("resumed the catalog in %s", path);
	}
	cJSON_Delete(doc);
}

struct cat_state {
	struct catalog *total;   /* everything seen; written to out-dir */
	struct catalog *window;  /* since the last flush; becomes a batch */
	struct catalog_limits lim;
	uint64_t window_start;   /* wall ns */
	struct declared *declared; /* the drift report's documents (declared = ...) */
};

/* Turns the window into a batch in the spool. The last guard may refuse
 * it: counted and logged without the match. */
static void spool_window(struct daemon *d, const cJSON *md, uint64_t start, uint64_t end)
{
	struct batch_sensor sensor = { .id = d->sensor_id, .version = APISONAR_VERSION };
	unsigned char *gz = NULL;
	struct batch_meta meta;
	size_t len = 0;
	int err;

	err = batch_encode(md, &sensor, start, end, &gz, &len, &meta);
	if (err == -EPERM) {
		atomic_fetch_add(&d->c.batches_refused, 1);
		log_error("a batch was refused by the last guard (a value-like string was found); "
			  "it was not spooled");
		return;
	}
	if (err) {
		atomic_fetch_add(&d->c.batch_errors, 1);
		log_error("cannot encode a batch: %s", strerror(-err));
		return;
	}
	pthread_mutex_lock(&d->sp_mu);
	err = spool_put(d->spool, gz, len, &meta);
	pthread_cond_signal(&d->sp_cv);
	pthread_mutex_unlock(&d->sp_mu);
	free(gz);
	if (err) {
		atomic_fetch_add(&d->c.batch_errors, 1);
		log_error("cannot spool batch %s: %s", meta.id, strerror(-err));
		return;
	}
	atomic_fetch_add(&d->c.batches_spooled, 1);
	log_info("spooled batch %s (%u services, %u endpoints, %zu bytes)", meta.id,
		 meta.services, meta.endpoints, len);
}

/* declared = ...: the documents read again after SIGHUP (at the flush
 * after it). Returns 1 when the set changed. */
static int reload_declared(struct daemon *d, struct cat_state *cs)
{
	char err[512];

	if (atomic_exchange(&d->declared_pending, 0)) {
		struct cfg_list files;

		pthread_mutex_lock(&d->cfg_mu);
		files = d->new_declared;
		pthread_mutex_unlock(&d->cfg_mu);
		if (!files.n) {
			declared_free(cs->declared);
			cs->declared = NULL;
		} else if ((cs->declared || (cs->declared = declared_new())) &&
			   declared_load(cs->declared, &files, err, sizeof(err))) {
			log_error("declared: %s; %s", err,
				  declared_loaded(cs->declared) ? "the documents read before stay" :
								  "no drift report");
			return 0;
		}
		return 1;
	}
	return 0;
}

/* The declared set into a catalog (the window, so that it travels in the
 * batch, and the whole catalog, so that it is written): counts 0 and marks
 * merged as a max, so merging it at every flush changes nothing twice. */
static void merge_declared(struct daemon *d, struct cat_state *cs, struct catalog *into)
{
	const cJSON *md = declared_metadata(cs->declared);
	char err[256];

	if (md && catalog_merge_metadata(into, md, err, sizeof(err))) {
		atomic_fetch_add(&d->c.merge_errors, 1);
		log_error("cannot merge the declared APIs into the catalog: %s", err);
	}
}

/* The declared set compared with the whole catalog; DIR/drift.json and
 * the counts for /metrics. */
static void check_declared(struct daemon *d, struct cat_state *cs)
{
	size_t counts[DK__COUNT] = { 0 };
	cJSON *md;
	int n;

	if (!declared_loaded(cs->declared)) {
		pthread_mutex_lock(&d->stats_mu);
		d->drift_on = false;
		pthread_mutex_unlock(&d->stats_mu);
		return;
	}
	md = catalog_to_metadata(cs->total);
	n = md ? declared_check(cs->declared, md, d->cfg.out_dir, counts) : -ENOMEM;
	cJSON_Delete(md);
	if (n < 0) {
		log_error("declared: the drift report could not be written: %s", strerror(-n));
		return;
	}
	pthread_mutex_lock(&d->stats_mu);
	if (!d->drift_on || memcmp(counts, d->drift, sizeof(counts)) != 0)
		log_info("drift: %d finding%s against the declared APIs (%s/drift.json)", n,
			 n == 1 ? "" : "s", d->cfg.out_dir);
	d->drift_on = true;
	memcpy(d->drift, counts, sizeof(counts));
	pthread_mutex_unlock(&d->stats_mu);
}

/* One flush: window -> local catalog (written) and -> batch (spooled). */
static void flush(struct daemon *d, struct cat_state *cs)
{
	struct catalog_stats ws, ts;
	uint64_t now = now_wall_ns();
	char err[256];
	bool newlim;
	int rc, newdecl;

	/* The declaration is in the window before its traffic (so the
	 * templating never folds a declared literal) and in every batch. */
	newdecl = reload_declared(d, cs);
	if (newdecl)
		merge_declared(d, cs, cs->window);
	merge_declared(d, cs, cs->total);
	catalog_get_stats(cs->window, &ws);
	if (ws.exchanges > 0) {
		cJSON *md = catalog_to_metadata(cs->window);

		if (!md) {
			atomic_fetch_add(&d->c.merge_errors, 1);
			log_error("cannot serialize the catalog window (out of memory)");
		} else {
			if (catalog_merge_metadata(cs->total, md, err, sizeof(err))) {
				atomic_fetch_add(&d->c.merge_errors, 1);
				log_error("cannot merge the window into the catalog: %s", err);
			}
			if (d->spool)
				spool_window(d, md, cs->window_start, now);
			cJSON_Delete(md);
		}
	}
	if (ws.exchanges > 0 || newdecl || atomic_load(&d->c.flushes) == 0) {
		rc = catalog_write_dir(cs->total, d->cfg.out_dir);
		if (rc) {
			atomic_fetch_add(&d->c.flush_errors, 1);
			log_error("cannot write the catalog to %s: %s", d->cfg.out_dir,
				  strerror(-rc));
		}
	}
	atomic_fetch_add(&d->c.flushes, 1);
	check_declared(d, cs);
	rawfwd_seal(d->raw);
	newlim = atomic_exchange(&d->limits_pending, 0) != 0;
	if (newlim) {
		pthread_mutex_lock(&d->cfg_mu);
		cs->lim = d->new_limits;
		pthread_mutex_unlock(&d->cfg_mu);
	}
	if (ws.exchanges > 0 || newlim) {
		struct catalog *w = catalog_new(&cs->lim);

		if (w) {
			catalog_free(cs->window);
			cs->window = w;
			merge_declared(d, cs, cs->window);
		} else {
			log_error("out of memory making a new catalog window; keeping the old one");
		}
	}
	cs->window_start = now;
	catalog_get_stats(cs->total, &ts);
	pthread_mutex_lock(&d->stats_mu);
	d->cstats = ts;
	pthread_mutex_unlock(&d->stats_mu);
	log_debug("flushed: %llu exchanges in the window, %llu endpoints in the catalog",
		  (unsigned long long)ws.exchanges, (unsigned long long)ts.endpoints);
}

/* The Kubernetes identity of the exchange's process, here and not in the
 * sensor thread: a lookup may read /proc, and the sensor must never wait.
 * Unknown leaves the identity empty: the service is then named by Host. */
static void identify(struct daemon *d, struct as_exchange *x)
{
	if (d->k8s && k8s_lookup(d->k8s, x->pid, &x->identity) != 0)
		as_identity_clear(&x->identity);
}

static void *catalog_main(void *arg)
{
	struct daemon *d = arg;
	struct as_exchange *batch[DAEMON_POP_BATCH];
	struct cat_state cs = { 0 };
	uint64_t next_flush;
	bool first = true; /* no exchange of this run flushed yet */

	config_catalog_limits(&d->cfg, &cs.lim);
	cs.total = catalog_new(&cs.lim);
	cs.window = catalog_new(&cs.lim);
	if (!cs.total || !cs.window) {
		log_error("out of memory making the catalog");
		atomic_store(&d->fatal, 1);
		goto out;
	}
	load_previous(cs.total, d->cfg.out_dir);
	cs.window_start = now_wall_ns();
	flush(d, &cs); /* the out-dir holds a catalog from the first second */
	next_flush = now_mono_ns() + (uint64_t)atomic_load(&d->flush_interval_s) * 1000000000ull;

	for (;;) {
		size_t n = 0, i;
		bool stopping;

		pthread_mutex_lock(&d->q_mu);
		if (d->q_len == 0 && !atomic_load(&d->stop_catalog)) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&d->q_cv, &d->q_mu, &ts);
		}
		while (n < DAEMON_POP_BATCH && d->q_len > 0) {
			batch[n++] = d->q[d->q_head];
			d->q_head = (d->q_head + 1) % d->q_cap;
			d->q_len--;
		}
		d->q_len_snapshot = d->q_len;
		if (n)
			pthread_cond_broadcast(&d->q_space);
		stopping = atomic_load(&d->stop_catalog) && d->q_len == 0;
		pthread_mutex_unlock(&d->q_mu);

		for (i = 0; i < n; i++) {
			int rc;

			identify(d, batch[i]);
			if (d->raw)
				rc = rawfwd_add(d->raw, batch[i]);
			else
				rc = catalog_add_exchange(cs.window, batch[i]);
			if (rc)
				atomic_fetch_add(&d->c.catalog_skipped, 1);
			else
				atomic_fetch_add(&d->c.catalog_added, 1);
			as_exchange_free(batch[i]);
		}
		atomic_store(&d->catalog_beat, now_mono_ns());
		if (first && n > 0) {
			uint64_t soon = now_mono_ns() + DAEMON_FIRST_FLUSH_NS;

			first = false;
			if (soon < next_flush)
				next_flush = soon;
		}
		if (stopping && n == 0) {
			flush(d, &cs);
			break;
		}
		if (now_mono_ns() >= next_flush) {
			flush(d, &cs);
			next_flush = now_mono_ns() +
				     (uint64_t)atomic_load(&d->flush_interval_s) * 1000000000ull;
		}
	}
out:
	catalog_free(cs.window);
	catalog_free(cs.total);
	declared_free(cs.declared);
	return NULL;
}

/* ---- upload thread --------------------------------------------------- */

/* Waits up to ms for a put or a stop. */
static void upload_wait(struct daemon *d, uint64_t ms)
{
	struct timespec ts;

	timespec_after_ms(CLOCK_REALTIME, ms, &ts);
	pthread_mutex_lock(&d->sp_mu);
	if (!atomic_load(&d->stop_upload))
		pthread_cond_timedwait(&d->sp_cv, &d->sp_mu, &ts);
	pthread_mutex_unlock(&d->sp_mu);
}

/* Delivers the spool oldest first. The spool is shared with the catalog
 * thread, so every spool call holds sp_mu; the network call does not. At
 * stop, batches still waiting stay in the spool for the next start. */
static void *upload_main(void *arg)
{
	struct daemon *d = arg;
	unsigned attempt = 0;
	uint64_t not_before = 0;

	for (;;) {
		struct upload_result r;
		struct batch_meta m;
		struct uploader_stats us;
		unsigned char *gz = NULL;
		size_t len = 0;
		uint64_t now = now_mono_ns();
		int stop = atomic_load(&d->stop_upload), err;

		if (stop && (now >= d->upload_deadline_ns || attempt > 0))
			break;
		if (!stop && now < not_before) {
			upload_wait(d, (not_before - now) / 1000000 + 1);
			continue;
		}
		pthread_mutex_lock(&d->sp_mu);
		err = spool_peek_oldest(d->spool, &gz, &len, &m);
		pthread_mutex_unlock(&d->sp_mu);
		if (err == -ENOENT) {
			if (stop)
				break;
			upload_wait(d, 1000);
			continue;
		}
		if (err) {
			log_error("cannot read the spool: %s", strerror(-err));
			atomic_fetch_add(&d->c.upload_local_errors, 1);
			upload_wait(d, 5000);
			continue;
		}
		err = d->tr.ops->send(d->tr.ctx, gz, len, &m, &r);
		free(gz);
		if (err) {
			atomic_fetch_add(&d->c.upload_local_errors, 1);
			r.verdict = UPLOAD_RETRY;
			r.has_retry_after = 0;
			r.http_status = 0;
		}
		pthread_mutex_lock(&d->sp_mu);
		if (r.verdict == UPLOAD_DELIVERED) {
			err = spool_remove(d->spool, m.id);
		} else if (r.verdict == UPLOAD_REJECTED) {
			char why[96];

			snprintf(why, sizeof(why), "rejected by the endpoint with HTTP %ld",
				 r.http_status);
			err = spool_quarantine(d->spool, m.id, why);
		}
		pthread_mutex_unlock(&d->sp_mu);
		if (r.verdict == UPLOAD_DELIVERED) {
			atomic_fetch_add(&d->c.upload_delivered, 1);
			attempt = 0;
			log_info("delivered batch %s (%zu bytes)", m.id, len);
		} else if (r.verdict == UPLOAD_REJECTED) {
			atomic_fetch_add(&d->c.upload_rejected, 1);
			attempt = 0;
		} else {
			uint64_t delay = uploader_retry_delay_ms(&attempt, &r, d->tr.backoff_base_ms,
								 d->tr.backoff_cap_ms);

			atomic_fetch_add(&d->c.upload_retry, 1);
			if (r.http_status)
				log_warn("upload of batch %s got HTTP %ld; retrying in %.1f s", m.id,
					 r.http_status, (double)delay / 1000.0);
			else
				log_warn("upload of batch %s failed (%s); retrying in %.1f s", m.id,
					 r.kind ? r.kind : "local error", (double)delay / 1000.0);
			not_before = now_mono_ns() + delay * 1000000ull;
		}
		d->tr.ops->stats(d->tr.ctx, &us);
		pthread_mutex_lock(&d->stats_mu);
		d->ustats = us;
		pthread_mutex_unlock(&d->stats_mu);
	}
	return NULL;
}

/* ---- metrics --------------------------------------------------------- */

/* Raw-forward counters: batches by outcome, what is waiting in memory. */
static void render_raw(struct daemon *d, struct metrics_text *t)
{
	static const char help[] = "Raw-forward batches (exchanges with values, to the "
				   "satellite over mTLS) by outcome.";
	struct rawfwd_stats rs;
	size_t i;

	rawfwd_get_stats(d->raw, &rs);
	const struct {
		const char *label;
		uint64_t v;
	} rows[] = {
		{ "result=\"sealed\"", rs.batches_sealed },
		{ "result=\"delivered\"", rs.delivered },
		{ "result=\"retry\"", rs.retries },
		{ "result=\"rejected\"", rs.rejected },
		{ "result=\"dropped_full\"", rs.dropped_full },
		{ "result=\"error\"", rs.errors },
	};
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		metrics_sample(t, "apisonar_raw_batches_total", "counter", help, rows[i].label,
			       (double)rows[i].v);
	metrics_sample(t, "apisonar_raw_exchanges_total", "counter",
		       "Exchanges put into raw-forward batches, and those lost with a dropped batch.",
		       "result=\"batched\"", (double)rs.exchanges);
	metrics_sample(t, "apisonar_raw_exchanges_total", "counter",
		       "Exchanges put into raw-forward batches, and those lost with a dropped batch.",
		       "result=\"dropped\"", (double)rs.exchanges_dropped);
	metrics_sample(t, "apisonar_raw_queue_batches", "gauge",
		       "Raw-forward batches waiting in memory.", "", (double)rs.queued);
	metrics_sample(t, "apisonar_raw_queue_bytes", "gauge",
		       "Bytes of raw-forward batches waiting in memory.", "",
		       (double)rs.queued_bytes);
	metrics_sample(t, "apisonar_raw_sent_bytes_total", "counter",
		       "Gzip bytes of raw-forward batches delivered.", "", (double)rs.bytes_sent);
}

/* Pod identity: whether the pod list is fresh and how often processes
 * were found in it (all zero when k8s is off). */
static void render_k8s(struct daemon *d, struct metrics_text *t)
{
	struct k8s_stats ks;

	k8s_get_stats(d->k8s, &ks);
	metrics_sample(t, "apisonar_k8s_refreshes_total", "counter",
		       "Pod list fetches from the API server.", "result=\"ok\"",
		       (double)ks.refresh_ok);
	metrics_sample(t, "apisonar_k8s_refreshes_total", "counter",
		       "Pod list fetches from the API server.", "result=\"failed\"",
		       (double)ks.refresh_failed);
	metrics_sample(t, "apisonar_k8s_pods", "gauge", "Pods of this node in the pod table.", "",
		       (double)ks.pods);
	metrics_sample(t, "apisonar_k8s_pods_cut", "gauge",
		       "Pods of the last list past the table's cap.", "", (double)ks.pods_cut);
	metrics_sample(t, "apisonar_k8s_lookups_total", "counter",
		       "Exchanges whose process was looked up.", "result=\"hit\"",
		       (double)ks.lookup_hit);
	metrics_sample(t, "apisonar_k8s_lookups_total", "counter",
		       "Exchanges whose process was looked up.", "result=\"miss\"",
		       (double)ks.lookup_miss);
}

/* Drift findings per kind at the last flush (only with declared = ...). */
static void render_drift(struct daemon *d, struct metrics_text *t)
{
	size_t counts[DK__COUNT];
	char lab[64];
	bool on;
	int k;

	pthread_mutex_lock(&d->stats_mu);
	on = d->drift_on;
	memcpy(counts, d->drift, sizeof(counts));
	pthread_mutex_unlock(&d->stats_mu);
	if (!on)
		return;
	for (k = 0; k < DK__COUNT; k++) {
		snprintf(lab, sizeof(lab), "kind=\"%s\"", drift_kind_name((enum drift_kind)k));
		metrics_sample(t, "apisonar_drift_findings", "gauge",
			       "Drift findings against the declared APIs at the last flush.", lab,
			       (double)counts[k]);
	}
}

static void render(void *ctx, struct metrics_text *t)
{
	struct daemon *d = ctx;
	struct sensor_stats ss;
	struct catalog_stats cs;
	struct uploader_stats us;
	struct spool_stats sps = { 0 };
	char lab[96];
	uint64_t qlen, amb = 0;
	int i;

	pthread_mutex_lock(&d->stats_mu);
	ss = d->sstats;
	cs = d->cstats;
	us = d->ustats;
	qlen = d->q_len_snapshot;
	pthread_mutex_unlock(&d->stats_mu);
	if (d->spool) {
		pthread_mutex_lock(&d->sp_mu);
		spool_get_stats(d->spool, &sps);
		pthread_mutex_unlock(&d->sp_mu);
	}

	metrics_sample(t, "apisonar_info", "gauge", "Version of this sensor.",
		       "version=\"" APISONAR_VERSION "\"", 1);
	metrics_sample(t, "apisonar_uptime_seconds", "gauge", "Seconds since start.", "",
		       (double)(now_mono_ns() - d->start_ns) / 1e9);
	for (i = 0; i < AS_C_NR; i++) {
		snprintf(lab, sizeof(lab), "counter=\"%s\"", loader_counter_name((enum as_counter)i));
		metrics_sample(t, "apisonar_kernel_events_total", "counter",
			       "Kernel-side counters (seen, delivered, drops by cause, ...).", lab,
			       (double)ss.kernel[i]);
	}
	metrics_sample(t, "apisonar_ringbuf_records_total", "counter",
		       "Ring buffer records consumed.", "", (double)ss.records);
	metrics_sample(t, "apisonar_active_connections", "gauge", "Connections tracked now.", "",
		       ss.active_conns);
#define CT(name, field, help)                                                              \
	metrics_sample(t, "apisonar_tracker_" name "_total", "counter", help, "",           \
		       (double)ss.ct.field)
	CT("connections_opened", conns_opened, "Connections the tracker opened.");
	CT("connections_evicted", conns_evicted, "Connections evicted (table full).");
	CT("connections_idle", conns_idle, "Connections ended as idle.");
	CT("bytes", bytes, "Payload bytes tracked.");
	CT("reordered", reordered, "Events reordered by sequence.");
	CT("gaps", gaps, "Gaps in a byte stream (lost events).");
	CT("gap_bytes", gap_bytes, "Bytes lost in gaps.");
	CT("truncated_bytes", truncated_bytes, "Bytes not copied by the kernel (copy cap).");
	CT("bad_events", bad_events, "Malformed ring buffer records.");
	CT("skip_notices", skips, "Capture budget notices of skipped ranges.");
	CT("skipped_bytes", skipped_bytes, "Bytes the capture budget did not copy.");
	CT("skipped_exchanges", skipped_exchanges, "Exchanges in the skipped ranges.");
#undef CT
	metrics_sample(t, "apisonar_budget_unsampled_total", "counter",
		       "Exchanges the capture budget skipped, by how the catalog counts them.",
		       "how=\"weight\"", (double)ss.unsampled_weighted);
	metrics_sample(t, "apisonar_budget_unsampled_total", "counter",
		       "Exchanges the capture budget skipped, by how the catalog counts them.",
		       "how=\"tally\"", (double)ss.unsampled_tallied);
	metrics_sample(t, "apisonar_budget_unsampled_total", "counter",
		       "Exchanges the capture budget skipped, by how the catalog counts them.",
		       "how=\"none\"", (double)ss.unsampled_untallied);
	metrics_sample(t, "apisonar_budget_whole_connections_total", "counter",
		       "Connections the budget copies whole (pipelining seen).", "",
		       (double)ss.whole_conns);
	metrics_sample(t, "apisonar_budget_twin_only_dropped_total", "counter",
		       "Client views of local exchanges their server end skipped (counted there).",
		       "", (double)ss.twin_only_dropped);
#define HT(name, field, help)                                                              \
	metrics_sample(t, "apisonar_http_" name "_total", "counter", help, "",              \
		       (double)ss.http.field)
	HT("requests", requests, "HTTP requests parsed.");
	HT("responses", responses, "HTTP responses parsed.");
	HT("exchanges", exchanges, "Request/response pairs made.");
	HT("parse_errors", parse_errors, "Streams the parser gave up on.");
	HT("upgrades", upgrades, "Upgrades and CONNECTs (parsing stopped).");
	HT("unpaired_responses", unpaired_responses, "Responses without a request.");
	HT("no_response", no_response, "Requests whose connection ended unanswered.");
	HT("http2", http2, "HTTP/2 prefaces met by the HTTP/1 parser (not parsed by it).");
#undef HT
#define H2(name, field, help)                                                              \
	metrics_sample(t, "apisonar_http2_" name "_total", "counter", help, "",             \
		       (double)ss.http2.field)
	H2("connections", conns, "Connections parsed as HTTP/2.");
	H2("connections_stopped", conns_stopped,
	   "HTTP/2 connections whose parsing stopped (bad frame, HPACK, gap, ...).");
	H2("streams", streams, "HTTP/2 streams opened.");
	H2("exchanges", exchanges, "HTTP/2 streams handed on as exchanges.");
	H2("resets", resets, "HTTP/2 streams ended by RST_STREAM.");
	H2("no_response", no_response, "HTTP/2 requests handed on without a response.");
#undef H2
	for (i = 0; i < HTTP2_FT_NR; i++) {
		snprintf(lab, sizeof(lab), "type=\"%s\"", http2_frame_name((enum http2_frame_type)i));
		metrics_sample(t, "apisonar_http2_frames_total", "counter",
			       "HTTP/2 frames parsed, by type.", lab, (double)ss.http2.frames[i]);
	}
	for (i = 0; i < HTTP2_DROP_NR; i++) {
		snprintf(lab, sizeof(lab), "reason=\"%s\"", http2_drop_name((enum http2_drop)i));
		metrics_sample(t, "apisonar_http2_drops_total", "counter",
			       "HTTP/2 drops, by reason (docs/http2.md).", lab,
			       (double)ss.http2.drops[i]);
	}
	for (i = 0; i < HTTP1_AMB_NR; i++)
		amb += ss.http.ambiguous[i];
	metrics_sample(t, "apisonar_http_ambiguous_total", "counter",
		       "Messages with ambiguous framing (all kinds).", "", (double)amb);
	metrics_sample(t, "apisonar_both_ends_exchanges_total", "counter",
		       "Exchanges seen from both ends on this host: handed on once, or alone when "
		       "the other end's twin never came.",
		       "result=\"merged\"", (double)ss.mirror.merged);
	metrics_sample(t, "apisonar_both_ends_exchanges_total", "counter",
		       "Exchanges seen from both ends on this host: handed on once, or alone when "
		       "the other end's twin never came.",
		       "result=\"alone\"", (double)ss.mirror.alone);

	metrics_sample(t, "apisonar_tls_targets", "gauge",
		       "TLS libraries and static executables with SSL uprobes, or that failed.",
		       "result=\"attached\"", (double)(ss.tls.libs + ss.tls.exes));
	metrics_sample(t, "apisonar_tls_targets", "gauge",
		       "TLS libraries and static executables with SSL uprobes, or that failed.",
		       "result=\"failed\"", (double)ss.tls.failed);
	metrics_sample(t, "apisonar_tls_go_unprobeable", "gauge",
		       "Go executables whose crypto/tls cannot be probed (neither symbols nor "
		       ".gopclntab, Go < 1.17 or newer than the offsets table, not x86-64); the "
		       "log names each and why.",
		       "", (double)ss.tls.go_unprobeable);
	metrics_sample(t, "apisonar_tls_processes", "gauge",
		       "Processes found using an attached TLS target.", "", (double)ss.tls.procs);
	metrics_sample(t, "apisonar_tls_unreadable_processes", "gauge",
		       "Processes whose /proc/PID/maps the last scan could not read (no CAP_SYS_PTRACE).",
		       "", (double)ss.tls.unreadable);

	metrics_sample(t, "apisonar_queue_exchanges_total", "counter",
		       "Exchanges handed from capture to the catalog.", "result=\"queued\"",
		       (double)atomic_load(&d->c.queue_pushed));
	metrics_sample(t, "apisonar_queue_exchanges_total", "counter",
		       "Exchanges handed from capture to the catalog.", "result=\"dropped_full\"",
		       (double)atomic_load(&d->c.queue_dropped));
	metrics_sample(t, "apisonar_queue_length", "gauge", "Exchanges waiting in the queue.", "",
		       (double)qlen);
	metrics_sample(t, "apisonar_queue_capacity", "gauge", "Queue capacity.", "",
		       (double)d->q_cap);
	metrics_sample(t, "apisonar_catalog_exchanges_total", "counter",
		       "Exchanges given to the anonymizer.", "result=\"merged\"",
		       (double)atomic_load(&d->c.catalog_added));
	metrics_sample(t, "apisonar_catalog_exchanges_total", "counter",
		       "Exchanges given to the anonymizer.", "result=\"skipped\"",
		       (double)atomic_load(&d->c.catalog_skipped));
	metrics_sample(t, "apisonar_catalog_services", "gauge", "Services in the catalog.", "",
		       (double)cs.services);
	metrics_sample(t, "apisonar_catalog_endpoints", "gauge", "Endpoints in the catalog.", "",
		       (double)cs.endpoints);
	metrics_sample(t, "apisonar_catalog_fields", "gauge", "Fields in the catalog.", "",
		       (double)cs.fields);
	metrics_sample(t, "apisonar_catalog_sensitive_fields", "gauge",
		       "Fields with a sensitive-data class.", "", (double)cs.sensitive_fields);
	metrics_sample(t, "apisonar_catalog_limit_cuts_total", "counter",
		       "Observations cut by a catalog cap.", "limit=\"services\"",
		       (double)cs.limit_services);
	metrics_sample(t, "apisonar_catalog_limit_cuts_total", "counter",
		       "Observations cut by a catalog cap.", "limit=\"endpoints\"",
		       (double)cs.limit_endpoints);
	metrics_sample(t, "apisonar_catalog_limit_cuts_total", "counter",
		       "Observations cut by a catalog cap.", "limit=\"fields\"",
		       (double)cs.limit_fields);
	metrics_sample(t, "apisonar_catalog_limit_cuts_total", "counter",
		       "Observations cut by a catalog cap.", "limit=\"depth\"",
		       (double)cs.limit_depth);
	metrics_sample(t, "apisonar_catalog_merge_errors_total", "counter",
		       "Windows that could not be merged into the catalog.", "",
		       (double)atomic_load(&d->c.merge_errors));
	metrics_sample(t, "apisonar_flushes_total", "counter", "Catalog flushes.", "",
		       (double)atomic_load(&d->c.flushes));
	metrics_sample(t, "apisonar_flush_errors_total", "counter",
		       "Catalog writes to the out dir that failed.", "",
		       (double)atomic_load(&d->c.flush_errors));
	metrics_sample(t, "apisonar_batches_total", "counter", "Batches made from flushes.",
		       "result=\"spooled\"", (double)atomic_load(&d->c.batches_spooled));
	metrics_sample(t, "apisonar_batches_total", "counter", "Batches made from flushes.",
		       "result=\"refused_by_guard\"", (double)atomic_load(&d->c.batches_refused));
	metrics_sample(t, "apisonar_batches_total", "counter", "Batches made from flushes.",
		       "result=\"error\"", (double)atomic_load(&d->c.batch_errors));
	metrics_sample(t, "apisonar_spool_batches", "gauge", "Batches in the spool.", "",
		       (double)sps.files);
	metrics_sample(t, "apisonar_spool_bytes", "gauge", "Bytes in the spool.", "",
		       (double)sps.bytes);
	metrics_sample(t, "apisonar_spool_dropped_total", "counter",
		       "Oldest batches dropped because the spool was full.", "",
		       (double)sps.dropped);
	metrics_sample(t, "apisonar_spool_quarantined_total", "counter",
		       "Spool files set aside as unreadable or rejected.", "",
		       (double)sps.quarantined);
	metrics_sample(t, "apisonar_uploads_total", "counter", "Upload attempts by result.",
		       "result=\"delivered\"", (double)atomic_load(&d->c.upload_delivered));
	metrics_sample(t, "apisonar_uploads_total", "counter", "Upload attempts by result.",
		       "result=\"retry\"", (double)atomic_load(&d->c.upload_retry));
	metrics_sample(t, "apisonar_uploads_total", "counter", "Upload attempts by result.",
		       "result=\"rejected\"", (double)atomic_load(&d->c.upload_rejected));
	metrics_sample(t, "apisonar_uploads_total", "counter", "Upload attempts by result.",
		       "result=\"local_error\"", (double)atomic_load(&d->c.upload_local_errors));
	metrics_sample(t, "apisonar_upload_bytes_total", "counter", "Bytes sent by the uploader.",
		       "", (double)us.bytes_sent);
	if (d->raw)
		render_raw(d, t);
	metrics_sample(t, "apisonar_reloads_total", "counter", "SIGHUP reloads.",
		       "result=\"ok\"", (double)atomic_load(&d->c.reloads));
	metrics_sample(t, "apisonar_reloads_total", "counter", "SIGHUP reloads.",
		       "result=\"error\"", (double)atomic_load(&d->c.reload_errors));
	render_k8s(d, t);
	render_drift(d, t);
}

static int health(void *ctx, char *why, size_t whylen)
{
	struct daemon *d = ctx;
	uint64_t now = now_mono_ns();

	if (atomic_load(&d->fatal)) {
		snprintf(why, whylen, "a stage stopped on an error");
		return -EIO;
	}
	if (now - atomic_load(&d->sensor_beat) > DAEMON_STALL_NS) {
		snprintf(why, whylen, "the capture thread is stuck");
		return -EIO;
	}
	if (now - atomic_load(&d->catalog_beat) > DAEMON_STALL_NS) {
		snprintf(why, whylen, "the catalog thread is stuck");
		return -EIO;
	}
	return 0;
}

/* ---- set-up ---------------------------------------------------------- */

/* A spool key for a host that configured none: 32 random bytes as hex in
 * <out-dir>/spool.key (0600), made once. The spool files stay useless to
 * whoever copies the spool directory alone. */
static int ensure_spool_key(const char *path)
{
	unsigned char raw[SPOOL_KEY_LEN];
	char hex[2 * SPOOL_KEY_LEN + 2];
	struct stat st;
	size_t i;
	int rc;

	if (stat(path, &st) == 0)
		return 0;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	hex[2 * SPOOL_KEY_LEN] = '\n';
	rc = write_file_atomic(path, hex, 2 * SPOOL_KEY_LEN + 1, 0600);
	memset(raw, 0, sizeof(raw));
	memset(hex, 0, sizeof(hex));
	if (!rc)
		log_info("made a spool key in %s (set spool-key-file to keep keys elsewhere)", path);
	return rc;
}

/* Opens the spool and the uploader (reads the token, checks certificates)
 * before anything runs, so a bad setting fails the start. */
static int setup_upload(struct daemon *d)
{
	struct uploader_opts uo;
	struct spool_keys *keys = NULL;
	int err;

	config_uploader_opts(&d->cfg, &uo);
	if (!uo.audit_log) {
		snprintf(d->audit_path, sizeof(d->audit_path), "%s/audit.log", d->cfg.out_dir);
		uo.audit_log = d->audit_path;
	}
	if (uo.n_spool_key_files == 0 && !getenv(SPOOL_KEY_ENV)) {
		snprintf(d->key_path, sizeof(d->key_path), "%s/spool.key", d->cfg.out_dir);
		err = ensure_spool_key(d->key_path);
		if (err) {
			log_error("cannot make a spool key in %s: %s", d->key_path, strerror(-err));
			return err;
		}
		uo.spool_key_files[uo.n_spool_key_files++] = d->key_path;
	}
	if (d->cfg.transport == TRANSPORT_NATS) {
		struct nats_opts no;

		config_nats_opts(&d->cfg, &no);
		no.audit_log = uo.audit_log; /* <out-dir>/audit.log unless set */
		d->natspub = nats_pub_new(&no, d->sensor_id, &err);
		if (!d->natspub)
			return err ? err : -EINVAL;
		nats_pub_transport(d->natspub, &d->tr);
	} else {
		if (uploader_opts_check(&uo))
			return -EINVAL;
		d->uploader = uploader_new(&uo, &err);
		if (!d->uploader)
			return err ? err : -EINVAL;
		uploader_transport(d->uploader, &d->tr);
	}
	err = uploader_load_spool_keys(&uo, &keys);
	if (err)
		return err;
	err = spool_open(d->spool_dir, &uo.spool_limits, keys, &d->spool);
	spool_keys_free(keys);
	if (err) {
		log_error("cannot open the spool %s: %s", d->spool_dir,
			  err == -EBUSY ? "in use by another process" : strerror(-err));
		return err;
	}
	return 0;
}

/* Raw-forward: exchanges go to the satellite over mTLS, held in memory
 * only; nothing is anonymized, spooled or uploaded as metadata here. */
static int setup_raw(struct daemon *d)
{
	struct rawfwd_limits lim = { .max_batches = (unsigned)d->cfg.raw_forward_queue };
	struct uploader_opts uo;

	config_uploader_opts(&d->cfg, &uo);
	if (!uo.audit_log) {
		snprintf(d->audit_path, sizeof(d->audit_path), "%s/audit.log", d->cfg.out_dir);
		uo.audit_log = d->audit_path;
	}
	return rawfwd_start(&uo, &lim, &d->raw);
}

/* Pod identity, before privileges drop: the token and CA are read once so
 * a bad setting fails the start (k8s = on) or turns identity off (auto),
 * with the reason in the log. */
static int setup_k8s(struct daemon *d)
{
	struct k8s_opts ko;
	char err[512];
	bool on;
	int e;

	if (config_k8s(&d->cfg, &ko, &on, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	if (!on) {
		if (d->cfg.k8s == CFG_K8S_AUTO && err[0])
			log_info("k8s: pod identity off (%s)", err);
		return 0;
	}
	d->k8s = k8s_new(&ko, &e);
	if (!d->k8s) {
		log_error("k8s: cannot set up pod identity: %s", strerror(-e));
		return e;
	}
	e = k8s_check_files(d->k8s);
	if (e && d->cfg.k8s == CFG_K8S_AUTO) {
		log_warn("k8s: pod identity off: the service account files cannot be read (set "
			 "k8s = off to silence this)");
		k8s_free(d->k8s);
		d->k8s = NULL;
		return 0;
	}
	if (e)
		return e;
	log_info("k8s: pod identity from %s for node %s, refreshed every %u s", ko.api,
		 ko.node_name, ko.refresh_s);
	return 0;
}

/* After privileges drop, the refresher must still read the token and CA
 * (it reads them on every fetch so a rotated token works): checked again
 * here, then the refresher starts. */
static int start_k8s(struct daemon *d)
{
	int e;

	if (!d->k8s)
		return 0;
	e = k8s_check_files(d->k8s);
	if (e) {
		log_error("k8s: the token and CA files must stay readable after privileges drop "
			  "(key 'user')%s",
			  d->cfg.k8s == CFG_K8S_AUTO ? "; pod identity off" : "");
		if (d->cfg.k8s == CFG_K8S_ON)
			return e;
		k8s_free(d->k8s);
		d->k8s = NULL;
		return 0;
	}
	e = k8s_start(d->k8s);
	if (e)
		log_error("k8s: cannot start the pod list refresher: %s", strerror(-e));
	return e;
}

/* The daemon's own process is never captured, but a client scraping its
 * /metrics is another process: its connections to our listener are
 * excluded too, or the daemon would catalog itself. */
static void exclude_own_listener(struct daemon *d, const struct metrics_server *ms)
{
	struct sockaddr_storage ss;
	int e = metrics_server_addr(ms, &ss);

	if (!e)
		e = sensor_exclude_listener(d->sensor, (const struct sockaddr *)&ss);
	if (e)
		log_warn("metrics: cannot exclude the metrics port from capture (%s): scrapes "
			 "of it may appear in the catalog",
			 strerror(-e));
}

static void apply_log(const struct run_config *c)
{
	log_setup((enum log_level)c->log_level, c->log_json ? 1 : 0);
}

/* SIGHUP: rebuild the configuration, apply filters and limits; report the
 * keys that need a restart and keep their old values. */
static void reload(struct daemon *d, daemon_reload_fn fn, void *ctx)
{
	struct run_config *nc = malloc(sizeof(*nc));
	struct loader_filters f;
	char err[512], keys[512];

	if (!nc) {
		atomic_fetch_add(&d->c.reload_errors, 1);
		return;
	}
	if (fn(ctx, nc, err, sizeof(err)) || config_check(nc, err, sizeof(err)) ||
	    config_filters(nc, &f, err, sizeof(err))) {
		log_error("reload refused, the running configuration stays: %s", err);
		atomic_fetch_add(&d->c.reload_errors, 1);
		free(nc);
		return;
	}
	f.tls_mode = (uint32_t)d->cfg.tls; /* the uprobes are as the start made them */
	config_restart_keys(&d->cfg, nc, keys, sizeof(keys));
	if (keys[0])
		log_warn("reload: these keys changed but need a restart: %s", keys);
	pthread_mutex_lock(&d->cfg_mu);
	d->new_filters = f;
	config_catalog_limits(nc, &d->new_limits);
	d->new_declared = nc->declared;
	pthread_mutex_unlock(&d->cfg_mu);
	atomic_store(&d->filters_pending, 1);
	atomic_store(&d->limits_pending, 1);
	atomic_store(&d->declared_pending, 1);
	atomic_store(&d->flush_interval_s, (int)nc->flush_interval);
	d->cfg.flush_interval = nc->flush_interval;
	d->cfg.shutdown_timeout = nc->shutdown_timeout;
	d->cfg.log_level = nc->log_level;
	d->cfg.log_json = nc->log_json;
	apply_log(&d->cfg);
	atomic_fetch_add(&d->c.reloads, 1);
	log_info("reload: configuration read again");
	free(nc);
}

int daemon_run(const struct run_config *cfg, daemon_reload_fn reload_fn, void *reload_ctx)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct metrics_server *ms = NULL;
	struct sensor_opts so;
	pthread_t t_sensor, t_catalog, t_upload;
	bool have_sensor = false, have_catalog = false, have_upload = false;
	const char *own[3];
	size_t n_own = 0;
	sigset_t sigs;
	char err[512];
	int rc = 1, e;

	if (!d) {
		log_error("out of memory");
		return 1;
	}
	d->cfg = *cfg;
	d->new_declared = d->cfg.declared; /* read by the catalog thread's first flush */
	atomic_store(&d->declared_pending, d->cfg.declared.n > 0);
	apply_log(&d->cfg);
	d->start_ns = now_mono_ns();
	pthread_mutex_init(&d->q_mu, NULL);
	pthread_cond_init(&d->q_cv, NULL);
	pthread_cond_init(&d->q_space, NULL);
	pthread_mutex_init(&d->cfg_mu, NULL);
	pthread_mutex_init(&d->stats_mu, NULL);
	pthread_mutex_init(&d->sp_mu, NULL);
	pthread_cond_init(&d->sp_cv, NULL);
	atomic_store(&d->flush_interval_s, (int)d->cfg.flush_interval);
	d->q_cap = (size_t)d->cfg.queue_size;
	d->q = calloc(d->q_cap, sizeof(*d->q));
	if (!d->q) {
		log_error("out of memory for a queue of %zu exchanges", d->q_cap);
		goto cleanup;
	}
	/* A declared document that cannot be read at start is a configuration
	 * error (on SIGHUP the set read before stays instead). */
	if (d->cfg.declared.n) {
		struct declared *probe = declared_new();

		if (!probe || declared_load(probe, &d->cfg.declared, err, sizeof(err))) {
			log_error("declared: %s; not starting", probe ? err : "out of memory");
			declared_free(probe);
			goto cleanup;
		}
		declared_free(probe);
	}
	if (d->cfg.sensor_id[0]) {
		snprintf(d->sensor_id, sizeof(d->sensor_id), "%s", d->cfg.sensor_id);
	} else if (gethostname(d->sensor_id, sizeof(d->sensor_id)) < 0 || !d->sensor_id[0]) {
		snprintf(d->sensor_id, sizeof(d->sensor_id), "unknown");
	}
	d->sensor_id[sizeof(d->sensor_id) - 1] = '\0';

	/* Every signal is taken by the main thread alone, with sigtimedwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Not root (or no BTF): say so before anything is created. */
	if (sensor_preflight(err, sizeof(err))) {
		log_error("%s", err);
		goto cleanup;
	}
	e = mkdir_p(d->cfg.out_dir, 0750);
	if (e) {
		log_error("cannot create the catalog directory %s: %s", d->cfg.out_dir,
			  strerror(-e));
		goto cleanup;
	}
	own[n_own++] = d->cfg.out_dir;
	if (d->cfg.raw_forward) {
		if (setup_raw(d))
			goto cleanup;
	} else if (d->cfg.endpoint[0] || d->cfg.transport == TRANSPORT_NATS) {
		if (d->cfg.spool_dir[0])
			snprintf(d->spool_dir, sizeof(d->spool_dir), "%s", d->cfg.spool_dir);
		else
			snprintf(d->spool_dir, sizeof(d->spool_dir), "%s/spool", d->cfg.out_dir);
		if (setup_upload(d))
			goto cleanup;
		if (d->cfg.spool_dir[0])
			own[n_own++] = d->spool_dir;
	}

	if (setup_k8s(d))
		goto cleanup;

	sensor_opts_default(&so);
	if (config_filters(&d->cfg, &so.loader.filters, err, sizeof(err))) {
		log_error("%s", err);
		goto cleanup;
	}
	so.loader.max_copy = (uint32_t)d->cfg.max_copy;
	so.loader.verbose = d->cfg.verbose;
	so.http.max_body = (size_t)d->cfg.max_body;
	so.one_per_connection = true; /* both ends on this host: counted once */
	/* Skipped exchanges after the last captured one reach the catalog as
	 * tallies; a satellite (raw forward) sees only real exchanges. */
	so.tallies = !d->cfg.raw_forward;
	d->sensor = sensor_new(&so, on_exchange, d, err, sizeof(err));
	if (!d->sensor) {
		log_error("%s", err);
		goto cleanup;
	}
	if (d->cfg.metrics_port) {
		ms = metrics_server_start(d->cfg.metrics_addr, (uint16_t)d->cfg.metrics_port, render,
					  health, d, err, sizeof(err));
		/* The default port may be taken on a fresh host: the daemon still
		 * runs. A port someone chose is a promise: fail. */
		if (!ms && config_is_set(&d->cfg, "metrics-port")) {
			log_error("metrics: %s (set metrics-port = 0 to turn them off)", err);
			goto cleanup;
		}
		if (!ms)
			log_warn("metrics: %s; running without /metrics and /healthz (set "
				 "metrics-port to choose another port)",
				 err);
		else
			exclude_own_listener(d, ms);
	}
	if (daemon_drop_privileges(d->cfg.user[0] ? d->cfg.user : NULL, d->cfg.tls != AS_TLS_OFF,
				   own, n_own))
		goto cleanup;
	if (start_k8s(d))
		goto cleanup;

	atomic_store(&d->sensor_beat, now_mono_ns());
	atomic_store(&d->catalog_beat, now_mono_ns());
	if (pthread_create(&t_catalog, NULL, catalog_main, d) != 0)
		goto cleanup;
	have_catalog = true;
	if (pthread_create(&t_sensor, NULL, sensor_main, d) != 0)
		goto cleanup;
	have_sensor = true;
	if (d->tr.ops) {
		if (pthread_create(&t_upload, NULL, upload_main, d) != 0)
			goto cleanup;
		have_upload = true;
	}
	/* "running" means the catalog file exists: wait for the first flush. */
	{
		uint64_t until = now_mono_ns() + 5000000000ull;

		while (atomic_load(&d->c.flushes) == 0 && !atomic_load(&d->fatal) &&
		       now_mono_ns() < until) {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = 10000000 };

			nanosleep(&ts, NULL);
		}
	}
	if (d->raw)
		log_warn("running in raw-forward mode: exchanges, values included, go to %s over "
			 "mutual TLS every %llu s and are anonymized there; no catalog is kept here%s",
			 d->cfg.endpoint, (unsigned long long)d->cfg.flush_interval,
			 ms ? "; /metrics and /healthz on the metrics port" : "");
	log_info("running: catalog in %s (metadata.json, openapi/), flushed every %llu s; %s%s%s",
		 d->cfg.out_dir, (unsigned long long)d->cfg.flush_interval,
		 d->uploader ? "uploading to " : d->natspub ? "publishing to NATS at "
				 : d->raw ? "raw-forward to " : "no upload endpoint",
		 d->uploader || d->raw ? d->cfg.endpoint : d->natspub ? d->cfg.nats_url : "",
		 ms ? "; /metrics and /healthz on the metrics port" : "");
	if (!d->cfg.log_json || isatty(STDERR_FILENO))
		fprintf(stderr, "apisonar run: the API catalog is in %s/metadata.json and %s/openapi/\n",
			d->cfg.out_dir, d->cfg.out_dir);

	rc = 0;
	for (;;) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000000 };
		int sig = sigtimedwait(&sigs, NULL, &ts);

		if (atomic_load(&d->fatal)) {
			rc = 1;
			break;
		}
		if (sig == SIGHUP) {
			reload(d, reload_fn, reload_ctx);
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("stopping on %s: flushing the catalog%s", sig == SIGTERM ? "SIGTERM" : "SIGINT",
				 d->tr.ops ? " and the spool" : "");
			break;
		}
	}

cleanup:
	/* Stop in pipeline order, each stage draining what it holds. */
	d->upload_deadline_ns = now_mono_ns() + d->cfg.shutdown_timeout * 1000000000ull;
	atomic_store(&d->stop_capture, 1);
	if (have_sensor)
		pthread_join(t_sensor, NULL);
	atomic_store(&d->stop_catalog, 1);
	pthread_mutex_lock(&d->q_mu);
	pthread_cond_broadcast(&d->q_cv);
	pthread_mutex_unlock(&d->q_mu);
	if (have_catalog)
		pthread_join(t_catalog, NULL);
	if (have_upload) {
		struct timespec ts;

		pthread_mutex_lock(&d->sp_mu);
		atomic_store(&d->stop_upload, 1);
		pthread_cond_broadcast(&d->sp_cv);
		pthread_mutex_unlock(&d->sp_mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)d->cfg.shutdown_timeout + 5;
		if (pthread_timedjoin_np(t_upload, NULL, &ts) != 0) {
			/* The thread still uses the spool and d: leave both to exit(). */
			log_warn("the upload in flight did not end in time; its batch stays in the "
				 "spool");
			metrics_server_stop(ms);
			return rc;
		}
	}
	/* /metrics reads the stages below: it goes first. */
	metrics_server_stop(ms);
	ms = NULL;
	k8s_free(d->k8s); /* the catalog thread, its only other user, has ended */
	d->k8s = NULL;
	if (d->raw) {
		struct rawfwd_stats rs;

		rawfwd_get_stats(d->raw, &rs);
		rawfwd_stop(d->raw, now_mono_ns() + d->cfg.shutdown_timeout * 1000000000ull);
		d->raw = NULL;
		log_info("raw-forward: %llu exchanges in %llu batches, %llu delivered before the stop",
			 (unsigned long long)rs.exchanges, (unsigned long long)rs.batches_sealed,
			 (unsigned long long)rs.delivered);
	}
	if (d->sensor) /* never handed to its thread */
		sensor_free(d->sensor);
	if (d->spool) {
		struct spool_stats st;

		spool_get_stats(d->spool, &st);
		if (st.files)
			log_info("%llu batches stay in the spool for the next start",
				 (unsigned long long)st.files);
	}
	spool_close(d->spool);
	uploader_free(d->uploader);
	nats_pub_free(d->natspub);
	{
		size_t i;

		for (i = 0; i < d->q_len; i++)
			as_exchange_free(d->q[(d->q_head + i) % d->q_cap]);
	}
	free(d->q);
	if (rc == 0)
		log_info("stopped: %llu exchanges merged, %llu dropped on a full queue, %llu "
			 "batches spooled, %llu delivered",
			 (unsigned long long)atomic_load(&d->c.catalog_added),
			 (unsigned long long)atomic_load(&d->c.queue_dropped),
			 (unsigned long long)atomic_load(&d->c.batches_spooled),
			 (unsigned long long)atomic_load(&d->c.upload_delivered));
	free(d);
	return rc;
}
