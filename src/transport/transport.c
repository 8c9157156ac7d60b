// SPDX-License-Identifier: BSD-2-Clause
/*
 * The spool drainer, whatever the backend: the oldest batch goes to
 * ops->send; delivered means removed, rejected means quarantined, anything
 * else waits out a full-jitter backoff (or Retry-After). The batch leaves
 * the spool only after the backend's acknowledgement.
 *
 * And the audit log every backend keeps of its attempts, in one format.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/sha.h>

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

void transport_init(struct transport *out, const struct transport_ops *ops, void *ctx,
		    uint64_t backoff_base_ms, uint64_t backoff_cap_ms)
{
	memset(out, 0, sizeof(*out));
	out->ops = ops;
	out->ctx = ctx;
	out->backoff_base_ms = backoff_base_ms;
	out->backoff_cap_ms = backoff_cap_ms;
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

/* ---- the audit log ---------------------------------------------------- */

int transport_audit_open(struct transport_audit *a, const char *path)
{
	a->path = path;
	a->fd = -1;
	a->dirty = 0;
	if (!path)
		return 0;
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		int err = -errno;

		log_error("cannot open audit log %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

void transport_audit_sync(struct transport_audit *a)
{
	if (a->fd >= 0 && a->dirty && fdatasync(a->fd) == 0)
		a->dirty = 0;
}

void transport_audit_close(struct transport_audit *a)
{
	if (a->fd < 0)
		return;
	transport_audit_sync(a);
	close(a->fd);
	a->fd = -1;
}

/* Appends one line of at; r is NULL for the attempt line, which is also
 * fdatasync'd. Returns 0 or a negative errno (the caller decides what a
 * failure means). */
static int audit_line(struct transport_audit *a, const char *event,
		      const struct transport_attempt *at, const struct upload_result *r,
		      uint64_t duration_ms)
{
	static const char *const verdicts[] = {"delivered", "retry", "rejected"};
	const struct batch_meta *m = at->m;
	char ts[48], *line = NULL;
	cJSON *o;
	size_t n;
	ssize_t w;
	int err = 0;

	time_format_rfc3339(now_wall_ns(), 3, ts, sizeof(ts));
	o = cJSON_CreateObject();
	if (!o)
		return -ENOMEM;
	cJSON_AddStringToObject(o, "time", ts);
	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddStringToObject(o, "attempt_id", at->id);
	cJSON_AddStringToObject(o, "batch_id", m->id);
	cJSON_AddStringToObject(o, "endpoint", at->endpoint);
	if (at->transport)
		cJSON_AddStringToObject(o, "transport", at->transport);
	if (r) {
		cJSON_AddStringToObject(o, "result", verdicts[r->verdict]);
		cJSON_AddStringToObject(o, "kind", r->kind ? r->kind : "error");
		if (!at->transport)
			cJSON_AddNumberToObject(o, "http_status", (double)r->http_status);
		cJSON_AddNumberToObject(o, "duration_ms", (double)duration_ms);
	}
	cJSON_AddNumberToObject(o, "services", m->services);
	cJSON_AddNumberToObject(o, "endpoints", m->endpoints);
	cJSON_AddNumberToObject(o, "bytes", (double)at->len);
	cJSON_AddNumberToObject(o, "json_bytes", (double)m->json_len);
	if (!at->raw)
		cJSON_AddStringToObject(o, "sha256", at->sha256);
	else
		cJSON_AddStringToObject(o, "kind_of_batch", "raw_exchanges");
	if (m->kind == BATCH_KIND_TEST_RESULTS)
		cJSON_AddStringToObject(o, "kind_of_batch", "test_results");
	line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		return -ENOMEM;
	n = strlen(line);
	line[n] = '\n'; /* replaces the NUL; written with an explicit length */
	/* One write with O_APPEND: the line lands whole, after whatever other
	 * processes sharing the file appended. */
	w = write(a->fd, line, n + 1);
	if (w != (ssize_t)(n + 1)) {
		err = w < 0 ? -errno : -EIO;
		log_warn("audit log %s: cannot append the %s line of batch %s: %s", a->path, event,
			 m->id, strerror(-err));
	} else if (!r) {
		if (fdatasync(a->fd) < 0) {
			err = -errno;
			log_warn("audit log %s: fdatasync failed: %s", a->path, strerror(-err));
		} else {
			a->dirty = 0;
		}
	} else {
		a->dirty = 1;
	}
	free(line);
	return err;
}

int transport_attempt_begin(struct transport_audit *a, struct transport_attempt *at,
			    const char *endpoint, const char *transport, int raw, const void *gz,
			    size_t len, const struct batch_meta *m)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	size_t i;
	int err = 0;

	memset(at, 0, sizeof(*at));
	at->endpoint = endpoint;
	at->transport = transport;
	at->raw = raw;
	at->m = m;
	at->len = len;
	SHA256(gz, len, d);
	for (i = 0; i < sizeof(d); i++)
		snprintf(at->sha256 + 2 * i, 3, "%02x", d[i]);
	snprintf(at->id, sizeof(at->id), "%016" PRIx64, rand_u64());
	if (a->fd >= 0)
		err = audit_line(a, "attempt", at, NULL, 0);
	at->t0_ns = now_mono_ns();
	return err;
}

void transport_attempt_end(struct transport_audit *a, const struct transport_attempt *at,
			   const struct upload_result *r)
{
	if (a->fd >= 0)
		(void)audit_line(a, "result", at, r, (now_mono_ns() - at->t0_ns) / 1000000u);
}
