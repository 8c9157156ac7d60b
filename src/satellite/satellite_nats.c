// SPDX-License-Identifier: BSD-2-Clause
/*
 * The satellite as a replica on NATS JetStream: a thread fetches batches
 * from the shared durable pull consumer and hands each fetched list to
 * the event loop through a pipe; the loop (satellite.c) journals, claims,
 * merges and acknowledges them, then lets the thread fetch again. So all
 * catalog work stays on the loop's thread, and at most one fetch (
 * SAT_NATS_FETCH messages) is held at a time.
 *
 * Claims: before merging, a replica records "batch id -> replica id" in
 * the key-value bucket NATS_KV_CLAIMS with a create (which fails when the
 * key exists). A batch id claimed by another replica is a duplicate, so a
 * batch published twice (past the stream's duplicates window, or under
 * another Nats-Msg-Id) is still merged once across all replicas.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apisonar/satellite/satellite.h"
#include "apisonar/transport/batch.h"
#include "apisonar/transport/nats.h"
#include "apisonar/util/util.h"

#define SAT_NATS_FETCH 16
#define SAT_NATS_FETCH_WAIT_MS 1000
#define SAT_NATS_INFO_EVERY_NS 1000000000ull
#define SAT_NATS_CONNECT_TRIES 60 /* one a second at start-up */

struct sat_nats {
	struct nats_conn *c;
	natsSubscription *sub;
	kvStore *claims;
	kvStore *catalog;
	char replica[SAT_REPLICA_MAX + 1];
	pthread_t th;
	int started;
	int pipefd[2];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	natsMsgList list;  /* handed to the loop (valid while have_list) */
	int have_list;     /* 1: the loop owns list; the thread waits */
	int stop;
	struct sat_nats_stats st; /* under mu */
};

/* ---- message checks (pure) ----------------------------------------------- */

int sat_nats_check(const void *data, size_t len, const char *hdr_id, size_t max_body, cJSON **doc,
		   struct batch_meta *m, char *err, size_t errlen)
{
	int rc;

	*doc = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len > max_body) {
		snprintf(err, errlen, "message over the size limit");
		return -E2BIG;
	}
	rc = batch_decode(data, len, BATCH_MAX_DECODED, doc, m, err, errlen);
	if (rc)
		return rc;
	if (!sat_batch_id_ok(m->id)) {
		snprintf(err, errlen, "batch id is not a UUID");
		goto bad;
	}
	/* The stream de-duplicates on this header: one that names another
	 * batch would let a replay through under a fresh id. */
	if (hdr_id && strcmp(hdr_id, m->id) != 0) {
		snprintf(err, errlen, "Nats-Msg-Id differs from the batch id");
		goto bad;
	}
	return 0;
bad:
	cJSON_Delete(*doc);
	*doc = NULL;
	return -EBADMSG;
}

int sat_batch_id_ok(const char *id)
{
	size_t i;

	for (i = 0; i < BATCH_ID_LEN; i++) {
		char ch = id[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (ch != '-')
				return 0;
		} else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			     (ch >= 'A' && ch <= 'F'))) {
			return 0;
		}
	}
	return id[BATCH_ID_LEN] == '\0';
}

/* ---- set-up ----------------------------------------------------------------- */

int sat_nats_start(const struct sat_nats_config *cfg, volatile int *stop, struct sat_nats **out)
{
	struct sat_nats *n = calloc(1, sizeof(*n));
	jsSubOptions so;
	jsErrCode je = 0;
	natsStatus s;
	char err[320];
	int i, rc = -EIO;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->pipefd[0] = n->pipefd[1] = -1;
	pthread_mutex_init(&n->mu, NULL);
	pthread_cond_init(&n->cv, NULL);
	snprintf(n->replica, sizeof(n->replica), "%s", cfg->replica_id);
	/* The server may come up after us (a pod restart, a fault): wait. */
	for (i = 0; i < SAT_NATS_CONNECT_TRIES; i++) {
		rc = nats_conn_open(cfg->opts, "apisonar satellite", &n->c, err, sizeof(err));
		if (rc == 0 || rc == -EINVAL || (stop && *stop))
			break;
		if (i == 0)
			log_warn("satellite: %s; trying again every second", err);
		sleep(1);
	}
	if (rc) {
		log_error("satellite: %s", err);
		goto fail;
	}
	if (nats_ensure_stream(n->c, cfg->max_msg, err, sizeof(err)) != 0 ||
	    nats_ensure_consumer(n->c, cfg->ack_wait_s, err, sizeof(err)) != 0 ||
	    nats_kv_open(n->c, NATS_KV_CLAIMS, 1, NATS_CLAIMS_TTL_S, &n->claims, err,
			 sizeof(err)) != 0 ||
	    nats_kv_open(n->c, NATS_KV_CATALOG, 1, 0, &n->catalog, err, sizeof(err)) != 0) {
		log_error("satellite: %s", err);
		rc = -EIO;
		goto fail;
	}
	jsSubOptions_Init(&so);
	so.Stream = NATS_STREAM_NAME;
	so.Consumer = NATS_CONSUMER_NAME;
	s = js_PullSubscribe(&n->sub, nats_conn_js(n->c), NATS_STREAM_SUBJECTS, NATS_CONSUMER_NAME,
			     NULL, &so, &je);
	if (s != NATS_OK) {
		log_error("satellite: cannot bind to the consumer %s: %s", NATS_CONSUMER_NAME,
			  nats_status_kind(s));
		rc = -EIO;
		goto fail;
	}
	if (pipe2(n->pipefd, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = -errno;
		goto fail;
	}
	log_info("satellite: replica %s on stream %s, consumer %s", n->replica, NATS_STREAM_NAME,
		 NATS_CONSUMER_NAME);
	*out = n;
	return 0;
fail:
	sat_nats_stop(n);
	return rc;
}

/* ---- the fetch thread ---------------------------------------------------------- */

static void refresh_info(struct sat_nats *n)
{
	jsConsumerInfo *ci = NULL;
	natsStatus s;

	s = natsSubscription_GetConsumerInfo(&ci, n->sub, NULL, NULL);
	pthread_mutex_lock(&n->mu);
	n->st.connected = nats_conn_connected(n->c);
	if (s == NATS_OK && ci) {
		n->st.pending = ci->NumPending;
		n->st.ack_pending = (uint64_t)(ci->NumAckPending > 0 ? ci->NumAckPending : 0);
		n->st.redelivered = (uint64_t)(ci->NumRedelivered > 0 ? ci->NumRedelivered : 0);
		n->st.info_ok = 1;
	}
	pthread_mutex_unlock(&n->mu);
	jsConsumerInfo_Destroy(ci);
}

static void *fetch_main(void *arg)
{
	struct sat_nats *n = arg;
	uint64_t next_info = 0;

	for (;;) {
		natsMsgList list = { 0 };
		jsErrCode je = 0;
		natsStatus s;

		pthread_mutex_lock(&n->mu);
		while (n->have_list && !n->stop)
			pthread_cond_wait(&n->cv, &n->mu);
		if (n->stop) {
			pthread_mutex_unlock(&n->mu);
			break;
		}
		pthread_mutex_unlock(&n->mu);
		if (now_mono_ns() >= next_info) {
			refresh_info(n);
			next_info = now_mono_ns() + SAT_NATS_INFO_EVERY_NS;
		}
		s = natsSubscription_Fetch(&list, n->sub, SAT_NATS_FETCH, SAT_NATS_FETCH_WAIT_MS, &je);
		if (s == NATS_OK && list.Count > 0) {
			pthread_mutex_lock(&n->mu);
			n->list = list;
			n->have_list = 1;
			n->st.fetched += (uint64_t)list.Count;
			pthread_mutex_unlock(&n->mu);
			if (write(n->pipefd[1], "m", 1) < 0) {
				/* The pipe is full only when a wake-up is already there. */
			}
			continue;
		}
		natsMsgList_Destroy(&list);
		if (s == NATS_TIMEOUT || s == NATS_OK)
			continue;
		pthread_mutex_lock(&n->mu);
		n->st.fetch_errors++;
		pthread_mutex_unlock(&n->mu);
		{
			struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

int sat_nats_run(struct sat_nats *n)
{
	if (pthread_create(&n->th, NULL, fetch_main, n) != 0)
		return -EAGAIN;
	n->started = 1;
	return 0;
}

int sat_nats_fd(const struct sat_nats *n)
{
	return n->pipefd[0];
}

int sat_nats_take(struct sat_nats *n, natsMsgList *out)
{
	char buf[64];
	int got = 0;

	while (read(n->pipefd[0], buf, sizeof(buf)) > 0) {
	}
	pthread_mutex_lock(&n->mu);
	if (n->have_list) {
		*out = n->list;
		memset(&n->list, 0, sizeof(n->list));
		got = 1;
	}
	pthread_mutex_unlock(&n->mu);
	return got;
}

void sat_nats_done(struct sat_nats *n)
{
	pthread_mutex_lock(&n->mu);
	n->have_list = 0;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

/* ---- claims and the catalog bucket ---------------------------------------------- */

int sat_nats_claim(struct sat_nats *n, const char *id)
{
	kvEntry *e = NULL;
	uint64_t rev = 0;
	natsStatus s;
	int rc;

	s = kvStore_Create(&rev, n->claims, id, n->replica, (int)strlen(n->replica));
	if (s == NATS_OK)
		return 1;
	s = kvStore_Get(&e, n->claims, id);
	if (s != NATS_OK)
		return -EAGAIN; /* no definite answer: the caller tries again */
	rc = kvEntry_ValueLen(e) == (int)strlen(n->replica) &&
	     memcmp(kvEntry_Value(e), n->replica, strlen(n->replica)) == 0;
	kvEntry_Destroy(e);
	return rc;
}

int sat_nats_publish_catalog(struct sat_nats *n, const void *gz, size_t len)
{
	char key[SAT_REPLICA_MAX + 1];
	uint64_t rev = 0;
	natsStatus s;

	nats_subject_token(n->replica, key, sizeof(key));
	s = kvStore_Put(&rev, n->catalog, key, gz, (int)len);
	pthread_mutex_lock(&n->mu);
	if (s == NATS_OK)
		n->st.catalog_published++;
	else
		n->st.catalog_errors++;
	pthread_mutex_unlock(&n->mu);
	if (s != NATS_OK) {
		log_warn("satellite: cannot publish the catalog to the bucket %s (%s); again at the "
			 "next flush", NATS_KV_CATALOG, nats_status_kind(s));
		return -EIO;
	}
	return 0;
}

void sat_nats_get_stats(struct sat_nats *n, struct sat_nats_stats *out)
{
	pthread_mutex_lock(&n->mu);
	*out = n->st;
	pthread_mutex_unlock(&n->mu);
	out->connected = nats_conn_connected(n->c);
}

void sat_nats_stop(struct sat_nats *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = 1;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	if (n->started)
		pthread_join(n->th, NULL);
	/* Fetched but not acknowledged: the server redelivers them. */
	natsMsgList_Destroy(&n->list);
	natsSubscription_Destroy(n->sub);
	kvStore_Destroy(n->claims);
	kvStore_Destroy(n->catalog);
	nats_conn_close(n->c);
	if (n->pipefd[0] >= 0)
		close(n->pipefd[0]);
	if (n->pipefd[1] >= 0)
		close(n->pipefd[1]);
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	free(n);
}
