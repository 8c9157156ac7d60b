// SPDX-License-Identifier: BSD-2-Clause
/*
 * Raw-forward: exchanges, values included, to a satellite over mTLS, held
 * only in memory on the way (see rawfwd.h for the fences).
 *
 * Two threads meet here: the daemon's catalog thread adds exchanges and
 * seals batches; the sender thread delivers the oldest sealed batch. One
 * mutex guards the queue and the counters; the network call runs without
 * it, on a batch the sender marked as in flight (never dropped under it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "apisonar/exchange/xio.h"
#include "apisonar/transport/batch.h"
#include "apisonar/transport/rawfwd.h"
#include "apisonar/util/util.h"

struct raw_batch {
	char id[BATCH_ID_LEN + 1];
	unsigned char *gz;
	size_t len;
	size_t json_len;
	uint32_t exchanges;
};

struct rawfwd {
	struct uploader *up;
	struct rawfwd_limits lim;

	/* the open batch: JSON lines in a memory stream (catalog thread only) */
	FILE *f;
	char *buf;
	size_t size;
	struct xio_writer *w;
	uint32_t n_open;

	pthread_mutex_t mu;
	pthread_cond_t cv;          /* a batch was sealed, or stop */
	struct raw_batch *q;        /* ring of lim.max_batches */
	unsigned q_head, q_len;
	bool inflight;              /* q[q_head] is being sent */
	bool stop;
	uint64_t deadline_ns;       /* at stop: last moment to start a send */
	struct rawfwd_stats st;
	pthread_t thread;
	bool have_thread;
};

/* Values lived in these bytes: wipe before giving them back. */
static void wipe_free(void *p, size_t n)
{
	if (p) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

static void batch_clear(struct raw_batch *b)
{
	wipe_free(b->gz, b->len);
	memset(b, 0, sizeof(*b));
}

static int open_batch(struct rawfwd *r)
{
	r->buf = NULL;
	r->size = 0;
	r->f = open_memstream(&r->buf, &r->size);
	if (!r->f)
		return -ENOMEM;
	r->w = xio_writer_new(r->f, XIO_JSONL, true);
	if (!r->w) {
		fclose(r->f);
		free(r->buf);
		r->f = NULL;
		r->buf = NULL;
		return -ENOMEM;
	}
	r->n_open = 0;
	return 0;
}

/* Closes the open batch's stream; buf and size then hold its bytes. */
static void close_batch(struct rawfwd *r)
{
	if (r->w)
		(void)xio_writer_close(r->w);
	if (r->f)
		fclose(r->f);
	r->w = NULL;
	r->f = NULL;
}

/* Puts a sealed batch at the tail; a full queue loses its oldest batch
 * that is not in flight. Called with mu held. */
static void enqueue(struct rawfwd *r, struct raw_batch *b)
{
	unsigned cap = r->lim.max_batches;

	if (r->q_len == cap) {
		unsigned victim = r->inflight ? (r->q_head + 1) % cap : r->q_head;
		struct raw_batch *v = &r->q[victim];

		r->st.dropped_full++;
		r->st.exchanges_dropped += v->exchanges;
		r->st.queued_bytes -= v->len;
		log_warn("raw-forward: the queue of %u batches is full (the satellite is away "
			 "or slow); dropped the oldest batch, %u exchanges",
			 cap, v->exchanges);
		batch_clear(v);
		/* Close the gap: move the batches after the victim one slot back. */
		while (victim != (r->q_head + r->q_len - 1) % cap) {
			unsigned next = (victim + 1) % cap;

			r->q[victim] = r->q[next];
			memset(&r->q[next], 0, sizeof(r->q[next]));
			victim = next;
		}
		r->q_len--;
	}
	r->q[(r->q_head + r->q_len) % cap] = *b;
	r->q_len++;
	r->st.batches_sealed++;
	r->st.queued_bytes += b->len;
	memset(b, 0, sizeof(*b));
	pthread_cond_signal(&r->cv);
}

void rawfwd_seal(struct rawfwd *r)
{
	struct raw_batch b = { 0 };
	uint32_t n;
	int err;

	if (!r || !r->w || r->n_open == 0)
		return;
	n = r->n_open;
	close_batch(r);
	err = batch_uuid4(b.id);
	if (!err)
		err = batch_gzip(r->buf, r->size, &b.gz, &b.len);
	b.json_len = r->size;
	b.exchanges = n;
	wipe_free(r->buf, r->size);
	r->buf = NULL;
	pthread_mutex_lock(&r->mu);
	if (err) {
		r->st.errors++;
		r->st.exchanges_dropped += n;
		log_error("raw-forward: cannot make a batch of %u exchanges: %s; dropped", n,
			  strerror(-err));
	} else {
		enqueue(r, &b);
	}
	pthread_mutex_unlock(&r->mu);
	if (open_batch(r)) {
		pthread_mutex_lock(&r->mu);
		r->st.errors++;
		pthread_mutex_unlock(&r->mu);
	}
}

int rawfwd_add(struct rawfwd *r, const struct as_exchange *x)
{
	int err;

	if (!r->w && open_batch(r)) {
		err = -ENOMEM;
		goto drop;
	}
	err = xio_write(r->w, x);
	if (!err && fflush(r->f) != 0)
		err = -ENOMEM;
	if (err)
		goto drop;
	r->n_open++;
	pthread_mutex_lock(&r->mu);
	r->st.exchanges++;
	pthread_mutex_unlock(&r->mu);
	if (r->size >= r->lim.max_batch_bytes)
		rawfwd_seal(r);
	return 0;
drop:
	pthread_mutex_lock(&r->mu);
	r->st.errors++;
	r->st.exchanges_dropped++;
	pthread_mutex_unlock(&r->mu);
	return err;
}

/* Waits on cv for at most ms, or until signalled. mu held. */
static void wait_until(struct rawfwd *r, uint64_t ms)
{
	struct timespec ts;

	timespec_after_ms(CLOCK_REALTIME, ms, &ts);
	pthread_cond_timedwait(&r->cv, &r->mu, &ts);
}

/* Delivers the oldest batch, backing off (with jitter, honouring
 * Retry-After) while the satellite cannot take it. A permanent refusal
 * drops the batch: it cannot be kept anywhere but in memory. */
static void *sender_main(void *arg)
{
	struct rawfwd *r = arg;
	unsigned attempt = 0;
	uint64_t not_before = 0;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct upload_result res;
		struct raw_batch *b;
		uint64_t now = now_mono_ns();
		int err;

		if (r->stop && (r->q_len == 0 || now >= r->deadline_ns))
			break;
		if (r->q_len == 0) {
			wait_until(r, 1000);
			continue;
		}
		if (now < not_before) {
			uint64_t ms = (not_before - now) / 1000000 + 1;

			if (r->stop && not_before > r->deadline_ns)
				break;
			wait_until(r, ms > 200 ? 200 : ms);
			continue;
		}
		b = &r->q[r->q_head];
		r->inflight = true;
		pthread_mutex_unlock(&r->mu);
		err = uploader_send_raw(r->up, b->gz, b->len, b->id, b->exchanges, b->json_len, &res);
		pthread_mutex_lock(&r->mu);
		r->inflight = false;
		if (err) {
			res.verdict = UPLOAD_RETRY;
			res.has_retry_after = 0;
			res.http_status = 0;
			r->st.errors++;
		}
		if (res.verdict == UPLOAD_DELIVERED || res.verdict == UPLOAD_REJECTED) {
			if (res.verdict == UPLOAD_DELIVERED) {
				r->st.delivered++;
				r->st.bytes_sent += b->len;
				log_debug("raw-forward: delivered batch %s (%u exchanges)", b->id,
					  b->exchanges);
			} else {
				r->st.rejected++;
				r->st.exchanges_dropped += b->exchanges;
				log_error("raw-forward: batch %s refused with HTTP %ld; dropped (%u "
					  "exchanges). Does the satellite run with --raw-ingest?",
					  b->id, res.http_status, b->exchanges);
			}
			r->st.queued_bytes -= b->len;
			batch_clear(b);
			r->q_head = (r->q_head + 1) % r->lim.max_batches;
			r->q_len--;
			attempt = 0;
			continue;
		}
		{
			uint64_t delay = uploader_retry_delay_ms(&attempt, &res, 0, 0);

			r->st.retries++;
			if (res.http_status == 401 || res.http_status == 403)
				log_error("raw-forward: batch %s refused with HTTP %ld: check "
					  "--token-file and the client certificate",
					  b->id, res.http_status);
			else
				log_warn("raw-forward: batch %s not delivered (%s %ld); retrying in "
					 "%.1f s",
					 b->id, res.kind ? res.kind : "local error", res.http_status,
					 (double)delay / 1000.0);
			not_before = now_mono_ns() + delay * 1000000ull;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int rawfwd_start(const struct uploader_opts *o, const struct rawfwd_limits *lim,
		 struct rawfwd **out)
{
	struct rawfwd *r;
	int err = 0;

	*out = NULL;
	if (!o->client_cert || !o->client_key) {
		log_error("raw-forward needs client-cert and client-key: raw exchanges travel "
			  "over mutual TLS only");
		return -EINVAL;
	}
	if (uploader_opts_check(o))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lim.max_batch_bytes = lim && lim->max_batch_bytes ? lim->max_batch_bytes
							      : RAWFWD_BATCH_BYTES_DEFAULT;
	r->lim.max_batches = lim && lim->max_batches ? lim->max_batches
						      : RAWFWD_MAX_BATCHES_DEFAULT;
	if (r->lim.max_batches > RAWFWD_MAX_BATCHES)
		r->lim.max_batches = RAWFWD_MAX_BATCHES;
	if (r->lim.max_batches < 2) /* one in flight, one to drop when full */
		r->lim.max_batches = 2;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	r->q = calloc(r->lim.max_batches, sizeof(*r->q));
	if (!r->q) {
		err = -ENOMEM;
		goto fail;
	}
	r->up = uploader_new(o, &err);
	if (!r->up) {
		err = err ? err : -EINVAL;
		goto fail;
	}
	err = open_batch(r);
	if (err)
		goto fail;
	if (pthread_create(&r->thread, NULL, sender_main, r) != 0) {
		err = -EAGAIN;
		goto fail;
	}
	r->have_thread = true;
	*out = r;
	return 0;
fail:
	rawfwd_stop(r, 0);
	return err;
}

void rawfwd_get_stats(struct rawfwd *r, struct rawfwd_stats *out)
{
	if (!r) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&r->mu);
	*out = r->st;
	out->queued = r->q_len;
	pthread_mutex_unlock(&r->mu);
}

void rawfwd_stop(struct rawfwd *r, uint64_t deadline_ns)
{
	unsigned i;

	if (!r)
		return;
	if (r->have_thread)
		rawfwd_seal(r);
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	r->deadline_ns = deadline_ns;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	if (r->have_thread)
		pthread_join(r->thread, NULL);
	if (r->q_len) {
		uint64_t n = 0;

		for (i = 0; i < r->q_len; i++)
			n += r->q[(r->q_head + i) % r->lim.max_batches].exchanges;
		r->st.dropped_at_stop += r->q_len;
		r->st.exchanges_dropped += n;
		log_warn("raw-forward: %u batches (%llu exchanges) not delivered by the stop "
			 "deadline; dropped (raw exchanges are never written to disk)",
			 r->q_len, (unsigned long long)n);
	}
	for (i = 0; r->q && i < r->lim.max_batches; i++)
		batch_clear(&r->q[i]);
	close_batch(r);
	wipe_free(r->buf, r->size);
	uploader_free(r->up);
	free(r->q);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
