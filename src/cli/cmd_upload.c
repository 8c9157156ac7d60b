// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar upload: puts catalog files (the metadata.json `apisonar
 * anonymize` writes) into the encrypted spool as batches, then drains the
 * spool to an HTTPS endpoint and exits; with --follow it keeps draining
 * until stopped. Only the drain takes the spool's drainer lock: when
 * another process (apisonar run, upload --follow) drains the spool, the
 * batches enqueued here are left to it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/cli/cmd.h"
#include "apisonar/transport/batch.h"
#include "apisonar/transport/nats.h"
#include "apisonar/transport/spool.h"
#include "apisonar/transport/transport.h"
#include "apisonar/transport/uploader.h"
#include "apisonar/util/util.h"

#define UPLOAD_MAX_ENQUEUE 1024
/* Exit code when batches were quarantined (rejected by the endpoint, or
 * unreadable): not 1 (error) nor 2 (usage), so a script can tell that data
 * was set aside from a run to simply try again. */
#define UPLOAD_EXIT_QUARANTINED 3

enum {
	OPT_SPOOL = 0x1000,
	OPT_ENQUEUE,
	OPT_ONCE,
	OPT_FOLLOW,
	OPT_SENSOR_ID,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"enqueue", required_argument, NULL, OPT_ENQUEUE},
    {"once", no_argument, NULL, OPT_ONCE},
    {"follow", no_argument, NULL, OPT_FOLLOW},
    {"sensor-id", required_argument, NULL, OPT_SENSOR_ID},
    {"help", no_argument, NULL, OPT_HELP},
    UPLOADER_LONG_OPTIONS,
    NATS_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: apisonar upload --spool DIR [--enqueue FILE]... [--once | --follow]\n"
		"                       [--sensor-id ID] --endpoint URL [upload options]\n"
		"       apisonar upload --spool DIR [...] --transport nats --nats-url URL\n"
		"                       [--cluster NAME] [NATS options]\n"
		"       apisonar upload --spool DIR --enqueue FILE... [--sensor-id ID]\n\n"
		"  --spool DIR            spool directory (created 0700)\n"
		"  --enqueue FILE         a metadata.json to spool as a batch (repeatable); with\n"
		"                         no --endpoint, enqueue only\n"
		"  --once                 drain until the spool is empty, or stop at the first\n"
		"                         batch that must wait for a retry (exit 1)\n"
		"  --follow               keep draining: when the spool is empty, wait for new\n"
		"                         batches, until SIGINT or SIGTERM (exit 0)\n"
		"  --sensor-id ID         sensor identity in batches (default: host name)\n"
		"  --transport https|nats deliver over HTTPS to --endpoint (default), or publish\n"
		"                         to NATS JetStream at --nats-url, subject\n"
		"                         apisonar.batches.<cluster>.<sensor>, leaving the spool\n"
		"                         at the stream's acknowledgement\n"
		"  --cluster NAME         the <cluster> token of the subject (default: default)\n\n"
		"Without --once or --follow, upload drains the spool, waiting out retries,\n"
		"and exits when it is empty. Enqueueing never waits for a drainer: when\n"
		"another process drains the spool (apisonar run, upload --follow), the\n"
		"batches enqueued are left to it and upload exits after enqueueing; a\n"
		"drain alone (no --enqueue) or --follow is refused, naming the holder.\n\n"
		"exit status: 0 done; 1 an error, a file not enqueued, or a batch left\n"
		"waiting for a retry; 2 bad usage; %d batches were quarantined (the\n"
		"endpoint rejected them for good, or they were unreadable; see\n"
		"DIR/quarantine/), whatever else happened.\n\n",
		UPLOAD_EXIT_QUARANTINED);
	uploader_opts_usage(f);
	nats_opts_usage(f);
}

/* Turns one metadata.json into a spooled batch. The window is the file's
 * modification time (the catalog was complete then). */
static int enqueue_file(struct spool *sp, const char *path, const char *sensor_id)
{
	struct batch_sensor sensor = {.id = sensor_id, .version = APISONAR_VERSION};
	unsigned char *gz = NULL;
	struct batch_meta m;
	struct stat sb;
	char *text = NULL;
	size_t len = 0, gzlen = 0;
	cJSON *doc = NULL;
	uint64_t t;
	int err;

	err = read_file_all(path, BATCH_MAX_DECODED, &text, &len);
	if (err) {
		log_error("cannot read %s: %s", path, strerror(-err));
		return err;
	}
	if (stat(path, &sb) < 0) {
		err = -errno;
		goto cleanup;
	}
	t = (uint64_t)sb.st_mtim.tv_sec * 1000000000ull + (uint64_t)sb.st_mtim.tv_nsec;
	doc = cJSON_ParseWithLength(text, len);
	if (!doc) {
		log_error("%s is not valid JSON", path);
		err = -EINVAL;
		goto cleanup;
	}
	err = batch_encode(doc, &sensor, t, t, &gz, &gzlen, &m);
	if (err == -EPERM) {
		log_error("%s refused by the last guard (a sensitive value was found); not spooled",
			  path);
		goto cleanup;
	}
	if (err == -EINVAL) {
		log_error("%s is not an %s catalog document", path, CATALOG_SCHEMA);
		goto cleanup;
	}
	if (err) {
		log_error("cannot make a batch of %s: %s", path, strerror(-err));
		goto cleanup;
	}
	err = spool_put(sp, gz, gzlen, &m);
	if (err) {
		log_error("cannot spool %s: %s", path, strerror(-err));
		goto cleanup;
	}
	log_info("spooled %s as batch %s (%u services, %u endpoints, %zu bytes)", path, m.id,
		 m.services, m.endpoints, gzlen);
cleanup:
	free(gz);
	cJSON_Delete(doc);
	free(text);
	return err;
}

int cmd_upload(int argc, char **argv)
{
	const char *enq[UPLOAD_MAX_ENQUEUE];
	struct uploader_opts uo;
	struct nats_opts no;
	struct uploader *up = NULL;
	struct nats_pub *np = NULL;
	struct transport tr;
	struct spool_keys *keys = NULL;
	struct spool *sp = NULL;
	struct spool_stats ss;
	struct uploader_stats us;
	struct sigaction sa;
	enum uploader_drain_mode mode;
	const char *spool_dir = NULL, *sensor_id = NULL, *who;
	char host[128], holder[256], why[320];
	unsigned n_enq = 0, i, failed = 0;
	int opt, once = 0, follow = 0, handed_off = 0, rc = 1, err, drains;

	memset(&uo, 0, sizeof(uo));
	memset(&no, 0, sizeof(no));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SPOOL:
			spool_dir = optarg;
			break;
		case OPT_ENQUEUE:
			if (n_enq >= UPLOAD_MAX_ENQUEUE) {
				fprintf(stderr, "apisonar: at most %d --enqueue\n",
					UPLOAD_MAX_ENQUEUE);
				return EXIT_USAGE;
			}
			enq[n_enq++] = optarg;
			break;
		case OPT_ONCE:
			once = 1;
			break;
		case OPT_FOLLOW:
			follow = 1;
			break;
		case OPT_SENSOR_ID:
			sensor_id = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			err = nats_opt_parse(&no, opt, optarg);
			if (err == 0)
				break;
			if (err < 0)
				return EXIT_USAGE;
			err = uploader_opt_parse(&uo, opt, optarg);
			if (err == 0)
				break;
			if (err > 0)
				usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "apisonar: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!spool_dir) {
		fprintf(stderr, "apisonar: --spool DIR is required\n");
		return EXIT_USAGE;
	}
	if (no.transport == TRANSPORT_NATS) {
		if (uo.endpoint || uo.token_file || uo.n_pins) {
			fprintf(stderr, "apisonar: --transport nats takes --nats-url, not --endpoint, "
					"--token-file or --pin-sha256 (libnats cannot pin keys: use "
					"--nats-ca)\n");
			return EXIT_USAGE;
		}
		if (nats_opts_check(&no, why, sizeof(why)) != 0) {
			fprintf(stderr, "apisonar: %s\n", why);
			return EXIT_USAGE;
		}
	} else if (no.url || no.creds_file || no.token_file || no.ca_file || no.client_cert) {
		fprintf(stderr, "apisonar: the --nats-* options need --transport nats\n");
		return EXIT_USAGE;
	}
	drains = uo.endpoint || no.transport == TRANSPORT_NATS;
	if (!drains && n_enq == 0) {
		fprintf(stderr,
			"apisonar: --endpoint URL is required (or --enqueue to spool only)\n");
		return EXIT_USAGE;
	}
	if (once && follow) {
		fprintf(stderr, "apisonar: --once and --follow exclude each other\n");
		return EXIT_USAGE;
	}
	if ((once || follow) && !drains) {
		fprintf(stderr, "apisonar: --%s drains the spool: it needs --endpoint URL\n",
			once ? "once" : "follow");
		return EXIT_USAGE;
	}
	if (uo.endpoint && uploader_opts_check(&uo))
		return EXIT_USAGE;
	if (!sensor_id) {
		if (gethostname(host, sizeof(host)) < 0 || !host[0])
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		sensor_id = host;
	}
	if (strlen(sensor_id) == 0 ||
	    strlen(sensor_id) >= sizeof(((struct batch_meta *)0)->sensor_id)) {
		fprintf(stderr, "apisonar: --sensor-id must be 1..127 bytes\n");
		return EXIT_USAGE;
	}

	/* A stop request during enqueueing ends the run after it, cleanly. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* Configuration errors (token, certificates) first, before any state. */
	if (no.transport == TRANSPORT_NATS) {
		no.audit_log = uo.audit_log;
		np = nats_pub_new(&no, sensor_id, &err);
		if (!np)
			goto cleanup;
		nats_pub_transport(np, &tr);
	} else if (uo.endpoint) {
		up = uploader_new(&uo, &err);
		if (!up)
			goto cleanup;
		uploader_transport(up, &tr);
	}
	if (uploader_load_spool_keys(&uo, &keys))
		goto cleanup;
	if (follow) {
		mode = UPLOADER_DRAIN_FOLLOW;
		who = "apisonar upload --follow";
	} else if (once) {
		mode = UPLOADER_DRAIN_ONCE;
		who = "apisonar upload --once";
	} else {
		mode = UPLOADER_DRAIN_EMPTY;
		who = "apisonar upload";
	}
	err = spool_open_as(spool_dir, &uo.spool_limits, keys,
			    drains ? SPOOL_ROLE_DRAIN : SPOOL_ROLE_ENQUEUE, who, &sp);
	if (err == -EBUSY) {
		spool_drainer(spool_dir, holder, sizeof(holder));
		if (n_enq == 0 || follow) {
			log_error("cannot drain spool %s: it is drained by %s", spool_dir, holder);
			goto cleanup;
		}
		/* Enqueue, and leave the delivery to that drainer. */
		handed_off = 1;
		err =
		    spool_open_as(spool_dir, &uo.spool_limits, keys, SPOOL_ROLE_ENQUEUE, who, &sp);
	}
	if (err) {
		log_error("cannot open spool %s: %s", spool_dir, strerror(-err));
		goto cleanup;
	}
	for (i = 0; i < n_enq; i++)
		failed += enqueue_file(sp, enq[i], sensor_id) != 0;

	rc = failed ? 1 : 0;
	/* The drainer may have finished meanwhile: it lets go of the spool
	 * only after a last look under the write lock, so if it did not see
	 * our batches, the lock is free now and we drain them ourselves. */
	if (handed_off && spool_try_drain(sp, who) == 0) {
		log_info("spool %s: its drainer has finished; draining here", spool_dir);
		handed_off = 0;
	}
	if (handed_off) {
		spool_drainer(spool_dir, holder, sizeof(holder));
		log_info("spool %s is drained by %s: the %u batch(es) enqueued here are left to it",
			 spool_dir, holder, n_enq - failed);
	} else if (drains) {
		err = transport_drain(&tr, sp, mode, &g_stop);
		if (err < 0) {
			log_error("spool %s: %s", spool_dir, strerror(-err));
			rc = 1;
		} else if (err > 0) {
			rc = 1;
		}
	}
	spool_get_stats(sp, &ss);
	if (np)
		nats_pub_get_stats(np, &us);
	else
		uploader_get_stats(up, &us);
	if (ss.quarantined)
		rc = UPLOAD_EXIT_QUARANTINED;
	log_info("upload: %u enqueued, %llu delivered, %llu rejected, %llu retries; spool %llu "
		 "batches %llu bytes, %llu dropped, %llu quarantined",
		 n_enq - failed, (unsigned long long)us.delivered, (unsigned long long)us.rejected,
		 (unsigned long long)us.retries, (unsigned long long)ss.files,
		 (unsigned long long)ss.bytes, (unsigned long long)ss.dropped,
		 (unsigned long long)ss.quarantined);
	if (rc == UPLOAD_EXIT_QUARANTINED)
		log_warn("%llu batch(es) quarantined in %s/quarantine (exit %d)",
			 (unsigned long long)ss.quarantined, spool_dir, UPLOAD_EXIT_QUARANTINED);
cleanup:
	spool_close(sp);
	spool_keys_free(keys);
	uploader_free(up);
	nats_pub_free(np);
	return rc;
}
