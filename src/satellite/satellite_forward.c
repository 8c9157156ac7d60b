// SPDX-License-Identifier: BSD-2-Clause
/*
 * Forwarding upstream: the event loop spools batches (fast, local, fsync'd)
 * and a thread sends them with the uploader, which may block for seconds on
 * a slow or absent upstream. One mutex serializes every spool call, since
 * the spool is not shared-safe by itself; sends run outside it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "apisonar/satellite/satellite.h"
#include "apisonar/transport/spool.h"
#include "apisonar/transport/uploader.h"
#include "apisonar/util/util.h"

#define FWD_IDLE_MS 1000 /* re-check the spool this often when idle */

struct sat_forward {
	struct uploader *up;
	struct spool_keys *keys;
	struct spool *sp;
	pthread_t thread;
	int started;
	pthread_mutex_t mu; /* guards sp, stop and st */
	pthread_cond_t cv;  /* new batch or stop */
	int stop;
	struct sat_fwd_stats st;
};

/* Waits up to ms or until woken; called with mu held. */
static void fwd_wait(struct sat_forward *f, uint64_t ms)
{
	struct timespec ts;

	timespec_after_ms(CLOCK_MONOTONIC, ms, &ts);
	if (!f->stop)
		pthread_cond_timedwait(&f->cv, &f->mu, &ts);
}

/* Oldest first, one at a time: a batch leaves the spool only after a 2xx;
 * retries back off (full jitter) or follow Retry-After. */
static void *fwd_main(void *arg)
{
	struct sat_forward *f = arg;
	unsigned attempt = 0;

	pthread_mutex_lock(&f->mu);
	while (!f->stop) {
		struct upload_result res;
		struct batch_meta m;
		unsigned char *gz = NULL;
		uint64_t rnd = 0, delay;
		size_t len = 0;
		int rc;

		rc = spool_peek_oldest(f->sp, &gz, &len, &m);
		if (rc == -ENOENT) {
			fwd_wait(f, FWD_IDLE_MS);
			continue;
		}
		if (rc != 0) {
			f->st.errors++;
			fwd_wait(f, FWD_IDLE_MS);
			continue;
		}
		pthread_mutex_unlock(&f->mu);
		memset(&res, 0, sizeof(res));
		rc = uploader_send(f->up, gz, len, &m, &res);
		free(gz);
		pthread_mutex_lock(&f->mu);
		if (rc == 0 && res.verdict == UPLOAD_DELIVERED) {
			attempt = 0;
			f->st.delivered++;
			if (spool_remove(f->sp, m.id) != 0)
				log_warn("satellite: forwarded batch %s was already gone from the spool",
					 m.id);
			continue;
		}
		if (rc == 0 && res.verdict == UPLOAD_REJECTED) {
			attempt = 0;
			f->st.rejected++;
			if (spool_quarantine(f->sp, m.id, res.kind ? res.kind : "rejected") != 0)
				f->st.errors++;
			continue;
		}
		if (rc != 0)
			f->st.errors++;
		else
			f->st.retries++;
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = now_mono_ns();
		delay = res.has_retry_after ? res.retry_after_s * 1000
					    : uploader_backoff_ms(attempt, 0, 0, rnd);
		if (attempt < 30)
			attempt++;
		fwd_wait(f, delay ? delay : 1);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

int sat_fwd_start(const struct uploader_opts *o, const char *spool_dir, struct sat_forward **out)
{
	struct sat_forward *f = calloc(1, sizeof(*f));
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cv, &ca);
	pthread_condattr_destroy(&ca);
	f->up = uploader_new(o, &rc);
	if (!f->up)
		goto fail;
	rc = uploader_load_spool_keys(o, &f->keys);
	if (rc != 0)
		goto fail;
	rc = spool_open(spool_dir, &o->spool_limits, f->keys, &f->sp);
	if (rc != 0) {
		log_error("satellite: cannot open the spool %s: %s", spool_dir,
			  rc == -EBUSY ? "in use by another process" : strerror(-rc));
		goto fail;
	}
	rc = -pthread_create(&f->thread, NULL, fwd_main, f);
	if (rc != 0) {
		log_error("satellite: cannot start the forwarding thread: %s", strerror(-rc));
		goto fail;
	}
	f->started = 1;
	*out = f;
	return 0;
fail:
	sat_fwd_stop(f);
	return rc ? rc : -EINVAL;
}

int sat_fwd_put(struct sat_forward *f, const void *gz, size_t len, const struct batch_meta *m)
{
	int rc;

	pthread_mutex_lock(&f->mu);
	rc = spool_put(f->sp, gz, len, m);
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

void sat_fwd_get_stats(struct sat_forward *f, struct sat_fwd_stats *out)
{
	struct spool_stats ss;

	memset(out, 0, sizeof(*out));
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	*out = f->st;
	spool_get_stats(f->sp, &ss);
	pthread_mutex_unlock(&f->mu);
	out->spool_files = ss.files;
	out->spool_bytes = ss.bytes;
	out->spool_dropped = ss.dropped;
}

void sat_fwd_stop(struct sat_forward *f)
{
	if (!f)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->mu);
		f->stop = 1;
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thread, NULL);
	}
	spool_close(f->sp);
	spool_keys_free(f->keys);
	uploader_free(f->up);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}
