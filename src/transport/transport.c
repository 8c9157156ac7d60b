// SPDX-License-Identifier: BSD-2-Clause
/*
 * The spool drainer, whatever the backend: the oldest batch goes to
 * ops->send; delivered means removed, rejected means quarantined, anything
 * else waits out a full-jitter backoff (or Retry-After). The batch leaves
 * the spool only after the backend's acknowledgement.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apisonar/transport/transport.h"
#include "apisonar/util/util.h"

#define TRANSPORT_IDLE_POLL_MS 1000

int transport_parse_kind(const char *s, enum transport_kind *out)
{
	if (s && strcmp(s, "https") == 0) {
		*out = TRANSPORT_HTTPS;
		return 0;
	}
	if (s && strcmp(s, "nats") == 0) {
		*out = TRANSPORT_NATS;
		return 0;
	}
	return -EINVAL;
}

/* Sleeps in short steps so a stop request is seen within 100 ms. */
static void sleep_ms(uint64_t ms, volatile sig_atomic_t *stop)
{
	while (ms > 0 && !(stop && *stop)) {
		uint64_t step = ms < 100 ? ms : 100;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(step * 1000000ull)};

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void t_sync(const struct transport *t)
{
	if (t->ops->sync)
		t->ops->sync(t->ctx);
}

static void t_stats(const struct transport *t, struct uploader_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (t->ops->stats)
		t->ops->stats(t->ctx, st);
}

int transport_drain(const struct transport *t, struct spool *sp, enum uploader_drain_mode mode,
		    volatile sig_atomic_t *stop)
{
	uint64_t base = t->backoff_base_ms ? t->backoff_base_ms : UPLOADER_BACKOFF_BASE_MS;
	uint64_t cap = t->backoff_cap_ms ? t->backoff_cap_ms : UPLOADER_BACKOFF_CAP_MS;
	struct uploader_stats us;
	struct spool_stats ss;
	unsigned attempt = 0;
	int err, idle = 0;

	while (!(stop && *stop)) {
		struct upload_result r;
		struct batch_meta m;
		unsigned char *gz = NULL;
		size_t len = 0;
		uint64_t delay;

		err = spool_peek_oldest(sp, &gz, &len, &m);
		if (err == -ENOENT && mode != UPLOADER_DRAIN_FOLLOW) {
			/* Done: let go of the spool, unless a writer just added a
			 * batch, which would otherwise wait for the next drainer. */
			err = spool_release_if_empty(sp);
			if (err == -EAGAIN)
				continue;
			if (err)
				return err;
			t_sync(t);
			t_stats(t, &us);
			log_info("spool drained: %" PRIu64 " delivered, %" PRIu64 " rejected",
				 us.delivered, us.rejected);
			return 0;
		}
		if (err == -ENOENT) {
			if (!idle) {
				/* Said once per idle spell, so a quiet log still shows
				 * the drainer is alive and caught up. */
				t_sync(t);
				t_stats(t, &us);
				log_info("spool drained: %" PRIu64 " delivered, %" PRIu64
					 " rejected so far; idle, waiting for new batches (--follow)",
					 us.delivered, us.rejected);
				idle = 1;
			}
			sleep_ms(TRANSPORT_IDLE_POLL_MS, stop);
			continue;
		}
		if (err)
			return err;
		if (idle && mode == UPLOADER_DRAIN_FOLLOW)
			log_info("new batches in the spool; draining");
		idle = 0;
		memset(&r, 0, sizeof(r));
		err = t->ops->send(t->ctx, gz, len, &m, &r);
		free(gz);
		if (err) {
			r.verdict = UPLOAD_RETRY;
			r.has_retry_after = 0;
			r.http_status = 0;
			r.kind = "local";
		}
		if (r.verdict == UPLOAD_DELIVERED) {
			attempt = 0;
			err = spool_remove(sp, m.id);
			/* -ENOENT: a writer dropped it while it was on the wire. */
			if (err && err != -ENOENT)
				return err;
			log_info("delivered batch %s (%zu bytes)", m.id, len);
			continue;
		}
		if (r.verdict == UPLOAD_REJECTED) {
			char why[96];

			attempt = 0;
			if (r.http_status)
				snprintf(why, sizeof(why), "rejected by the endpoint with HTTP %ld",
					 r.http_status);
			else
				snprintf(why, sizeof(why), "rejected by the %s server (%s)",
					 t->ops->name, r.kind ? r.kind : "refused");
			err = spool_quarantine(sp, m.id, why);
			if (err && err != -ENOENT)
				return err;
			continue;
		}
		delay = uploader_retry_delay_ms(&attempt, &r, base, cap);
		if (r.http_status == 401 || r.http_status == 403)
			log_error("upload of batch %s refused with HTTP %ld: check --token-file or "
				  "the client certificate; the batch stays in the spool",
				  m.id, r.http_status);
		else if (r.http_status)
			log_warn("upload of batch %s got HTTP %ld; kept for a retry", m.id,
				 r.http_status);
		else if (r.kind && strcmp(t->ops->name, "https") != 0)
			log_warn("publish of batch %s not acknowledged (%s); kept for a retry", m.id,
				 r.kind);
		if (mode == UPLOADER_DRAIN_ONCE)
			return 1;
		log_info("retrying in %.1f s", (double)delay / 1000.0);
		sleep_ms(delay, stop);
	}
	t_sync(t);
	/* Stopped by a signal: following, that is the normal end; draining,
	 * the spool was not emptied if a batch is still in it. */
	if (mode == UPLOADER_DRAIN_FOLLOW)
		return 0;
	spool_get_stats(sp, &ss);
	return ss.files > 0;
}
