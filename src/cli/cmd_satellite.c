// SPDX-License-Identifier: BSD-2-Clause
/* `apisonar satellite`: options into a sat_config, then sat_run(). */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/cli/cmd.h"
#include "apisonar/satellite/satellite.h"
#include "apisonar/transport/nats.h"
#include "apisonar/util/util.h"

#define SAT_ADDR_MAX 256

static void sat_usage(FILE *f)
{
	fprintf(f,
		"usage: apisonar satellite --listen ADDR:PORT --tls-cert FILE --tls-key FILE\n"
		"                          --out-dir DIR [options]\n"
		"\n"
		"HTTPS ingest service: POST /v1/batches (and /v1/exchanges with --raw-ingest),\n"
		"GET /healthz, GET /metrics (on this port with the same authentication as a post;\n"
		"without it on the metrics listener).\n"
		"\n"
		"  --listen ADDR:PORT      numeric address ([::1]:8443 for IPv6); port 0 picks one\n"
		"  --tls-cert FILE         server certificate chain (PEM)\n"
		"  --tls-key FILE          its private key (PEM)\n"
		"  --client-ca FILE        require client certificates signed by this CA (mTLS)\n"
		"  --token-file FILE       require this bearer token on POST /v1/batches (and\n"
		"                          GET /metrics on this port)\n"
		"                          (at least one of --client-ca and --token-file)\n"
		"  --out-dir DIR           merged catalog, state and journal\n"
		"  --raw-ingest            also take raw exchanges (values included) from sensors\n"
		"                          in raw-forward mode on POST /v1/exchanges and anonymize\n"
		"                          them here; needs --client-ca (off by default)\n"
		"  --max-body BYTES        compressed request body limit (default 8388608)\n"
		"  --max-conns N           open connections (default 1024)\n"
		"  --rate N                batches per sensor per minute, 0 = off (default 600)\n"
		"  --rate-burst N          batches a sensor may send at once (default = --rate)\n"
		"  --flush-interval SEC    catalog write period (default 10)\n"
		"  --idle-timeout SEC      a connection silent this long is closed (default 15)\n"
		"  --request-timeout SEC   a whole request (TLS handshake, headers, body) must\n"
		"                          arrive within this (default 30)\n"
		"  --dedup-ids N           batch ids remembered for de-duplication (default 100000)\n"
		"  --metrics-port PORT     also serve GET /metrics and /healthz over plain HTTP,\n"
		"                          without a token, on this port (0 picks one; off unless\n"
		"                          given)\n"
		"  --metrics-addr ADDR     numeric address of that listener (default 127.0.0.1;\n"
		"                          in a pod, 0.0.0.0 for probes and scrapers)\n"
		"  --nats URL              also (or, without --listen, only) take batches from the\n"
		"                          NATS JetStream stream APISONAR_BATCHES as one replica of\n"
		"                          the durable consumer apisonar-satellites (both created\n"
		"                          when missing; docs/nats.md); nats:// or tls://\n"
		"  --replica-id ID         this replica's name, unique among replicas (default:\n"
		"                          --sensor-id, the host name)\n"
		"  --nats-ack-wait SEC     the consumer's ack wait when this replica creates it\n"
		"                          (default 30)\n"
		"  --nats-edge             with --listen: publish the batches posted over HTTPS to\n"
		"                          the stream (answering 2xx on its ack) instead of\n"
		"                          merging them; consume nothing\n"
		"  --cluster NAME          with --nats-edge: the <cluster> of the subject\n"
		"  --nats-creds FILE, --nats-token-file FILE, --nats-ca FILE,\n"
		"  --nats-client-cert FILE, --nats-client-key FILE\n"
		"                          NATS credentials and TLS (as for apisonar upload)\n"
		"  --log-json              log JSON lines\n"
		"  -v, --verbose           debug logging\n"
		"\n"
		"Forwarding upstream (every flush, what arrived since the last one becomes a\n"
		"batch in DIR/spool, sent by the uploader). The uploader's options, except\n"
		"that its token file is --upstream-token-file here:\n"
		"  --sensor-id ID          identity in forwarded batches (default: host name)\n");
	uploader_opts_usage(f);
}

/* "1.2.3.4:443" or "[::1]:443" into a numeric address and a port. */
static int parse_listen(const char *arg, char *addr, size_t addrlen, uint16_t *port)
{
	const char *colon, *host = arg;
	size_t hlen;
	uint64_t p;

	colon = strrchr(arg, ':');
	if (!colon)
		return -1;
	hlen = (size_t)(colon - arg);
	if (hlen >= 2 && arg[0] == '[' && arg[hlen - 1] == ']') {
		host = arg + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= addrlen || parse_u64(colon + 1, 0, 65535, &p) != 0)
		return -1;
	memcpy(addr, host, hlen);
	addr[hlen] = '\0';
	*port = (uint16_t)p;
	return 0;
}

static int num_opt(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (parse_u64(v, min, max, out) != 0) {
		fprintf(stderr, "apisonar satellite: %s wants a whole number in [%llu, %llu]\n", name,
			(unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

int cmd_satellite(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "client-ca", required_argument, NULL, 'A' },
		{ "token-file", required_argument, NULL, 't' },
		{ "out-dir", required_argument, NULL, 'o' },
		{ "raw-ingest", no_argument, NULL, 'W' },
		{ "max-body", required_argument, NULL, 'B' },
		{ "max-conns", required_argument, NULL, 'C' },
		{ "rate", required_argument, NULL, 'r' },
		{ "rate-burst", required_argument, NULL, 'b' },
		{ "flush-interval", required_argument, NULL, 'f' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "request-timeout", required_argument, NULL, 'R' },
		{ "dedup-ids", required_argument, NULL, 'D' },
		{ "sensor-id", required_argument, NULL, 'S' },
		{ "metrics-port", required_argument, NULL, 'P' },
		{ "metrics-addr", required_argument, NULL, 'M' },
		/* The uploader's options; its --token-file would clash with ours. */
		{ "endpoint", required_argument, NULL, UPLOADER_OPT_ENDPOINT },
		{ "upstream-token-file", required_argument, NULL, UPLOADER_OPT_TOKEN_FILE },
		{ "ca-file", required_argument, NULL, UPLOADER_OPT_CA_FILE },
		{ "pin-sha256", required_argument, NULL, UPLOADER_OPT_PIN_SHA256 },
		{ "client-cert", required_argument, NULL, UPLOADER_OPT_CLIENT_CERT },
		{ "client-key", required_argument, NULL, UPLOADER_OPT_CLIENT_KEY },
		{ "spool-key-file", required_argument, NULL, UPLOADER_OPT_SPOOL_KEY_FILE },
		{ "audit-log", required_argument, NULL, UPLOADER_OPT_AUDIT_LOG },
		{ "max-spool-bytes", required_argument, NULL, UPLOADER_OPT_MAX_SPOOL_BYTES },
		{ "max-spool-files", required_argument, NULL, UPLOADER_OPT_MAX_SPOOL_FILES },
		{ "max-rate", required_argument, NULL, UPLOADER_OPT_MAX_RATE },
		{ "nats", required_argument, NULL, NATS_OPT_URL },
		NATS_CONN_LONG_OPTIONS,
		{ "replica-id", required_argument, NULL, 'Q' },
		{ "nats-edge", no_argument, NULL, 'E' },
		{ "cluster", required_argument, NULL, NATS_OPT_CLUSTER },
		{ "nats-ack-wait", required_argument, NULL, 'K' },
		{ "log-json", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sat_config cfg = {
		.max_body = 8u * 1024 * 1024,
		.max_conns = 1024,
		.rate_per_min = 600,
		.flush_interval = 10,
		.idle_timeout = 15,
		.request_timeout = 30,
		.dedup_cap = 100000,
	};
	struct uploader_opts uo;
	struct nats_opts no;
	char addr[SAT_ADDR_MAX], host[128], why[320];
	const char *metrics_addr = NULL;
	int have_metrics = 0;
	int have_listen = 0, log_json = 0, verbose = 0, o, rc;
	uint64_t v;

	memset(&uo, 0, sizeof(uo));
	memset(&no, 0, sizeof(no));
	cfg.nats_ack_wait = 30;
	uo.timeout_s = 15; /* bounds how long a stop waits for a send in flight */
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (o) {
		case 'l':
			if (parse_listen(optarg, addr, sizeof(addr), &cfg.listen_port) != 0) {
				fprintf(stderr, "apisonar satellite: --listen wants ADDR:PORT\n");
				return EXIT_USAGE;
			}
			cfg.listen_addr = addr;
			have_listen = 1;
			break;
		case 'c':
			cfg.tls_cert = optarg;
			break;
		case 'k':
			cfg.tls_key = optarg;
			break;
		case 'A':
			cfg.client_ca = optarg;
			break;
		case 't':
			cfg.token_file = optarg;
			break;
		case 'o':
			cfg.out_dir = optarg;
			break;
		case 'W':
			cfg.raw_ingest = 1;
			break;
		case 'B':
			if (num_opt("--max-body", optarg, 1024, 1ull << 30, &v))
				return EXIT_USAGE;
			cfg.max_body = v;
			break;
		case 'C':
			if (num_opt("--max-conns", optarg, 1, 1000000, &v))
				return EXIT_USAGE;
			cfg.max_conns = (uint32_t)v;
			break;
		case 'r':
			if (num_opt("--rate", optarg, 0, 6000000, &v))
				return EXIT_USAGE;
			cfg.rate_per_min = (uint32_t)v;
			break;
		case 'b':
			if (num_opt("--rate-burst", optarg, 1, 6000000, &v))
				return EXIT_USAGE;
			cfg.rate_burst = (uint32_t)v;
			break;
		case 'f':
			if (num_opt("--flush-interval", optarg, 1, 86400, &v))
				return EXIT_USAGE;
			cfg.flush_interval = (uint32_t)v;
			break;
		case 'I':
			if (num_opt("--idle-timeout", optarg, 1, 3600, &v))
				return EXIT_USAGE;
			cfg.idle_timeout = (uint32_t)v;
			break;
		case 'R':
			if (num_opt("--request-timeout", optarg, 1, 3600, &v))
				return EXIT_USAGE;
			cfg.request_timeout = (uint32_t)v;
			break;
		case 'D':
			if (num_opt("--dedup-ids", optarg, 1, SAT_DEDUP_MAX_CAP, &v))
				return EXIT_USAGE;
			cfg.dedup_cap = (uint32_t)v;
			break;
		case 'S':
			cfg.sensor_id = optarg;
			break;
		case 'P':
			if (num_opt("--metrics-port", optarg, 0, 65535, &v))
				return EXIT_USAGE;
			cfg.metrics_port = (uint16_t)v;
			have_metrics = 1;
			break;
		case 'M':
			if (!optarg[0] || strlen(optarg) >= SAT_ADDR_MAX) {
				fprintf(stderr, "apisonar satellite: --metrics-addr wants a numeric "
						"address\n");
				return EXIT_USAGE;
			}
			metrics_addr = optarg;
			break;
		case 'Q':
			if (!optarg[0] || strlen(optarg) > SAT_REPLICA_MAX) {
				fprintf(stderr, "apisonar satellite: --replica-id must be 1..%d bytes\n",
					SAT_REPLICA_MAX);
				return EXIT_USAGE;
			}
			cfg.replica_id = optarg;
			break;
		case 'E':
			cfg.nats_edge = 1;
			break;
		case 'K':
			if (num_opt("--nats-ack-wait", optarg, 1, 3600, &v))
				return EXIT_USAGE;
			cfg.nats_ack_wait = (uint32_t)v;
			break;
		case 'J':
			log_json = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			sat_usage(stdout);
			return 0;
		default:
			if (o > NATS_OPT_TRANSPORT && o < NATS_OPT__END) {
				if (nats_opt_parse(&no, o, optarg) != 0)
					return EXIT_USAGE;
				break;
			}
			if (o >= UPLOADER_OPT_ENDPOINT && o < UPLOADER_OPT__END) {
				rc = uploader_opt_parse(&uo, o, optarg);
				if (rc == 0)
					break;
				return EXIT_USAGE;
			}
			fprintf(stderr, "apisonar satellite: unknown option or missing value: %s\n\n",
				argv[optind - 1]);
			sat_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "apisonar satellite: unexpected argument: %s\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (no.url || no.creds_file || no.token_file || no.ca_file || no.client_cert) {
		if (nats_opts_check(&no, why, sizeof(why)) != 0) {
			fprintf(stderr, "apisonar satellite: %s\n", strstr(why, "--nats-url") == why
						? "--nats wants nats://HOST:PORT or tls://HOST:PORT"
						: why);
			return EXIT_USAGE;
		}
		cfg.nats = &no;
	} else if (cfg.replica_id) {
		fprintf(stderr, "apisonar satellite: --replica-id needs --nats URL\n");
		return EXIT_USAGE;
	}
	if (!cfg.out_dir || (!cfg.nats && (!have_listen || !cfg.tls_cert || !cfg.tls_key)) ||
	    (have_listen && (!cfg.tls_cert || !cfg.tls_key))) {
		fprintf(stderr, "apisonar satellite: --listen, --tls-cert, --tls-key and --out-dir "
				"are required (with --nats URL, --out-dir alone)\n\n");
		sat_usage(stderr);
		return EXIT_USAGE;
	}
	if (!have_listen)
		cfg.listen_addr = NULL;
	if (cfg.nats_edge && (!cfg.nats || !have_listen)) {
		fprintf(stderr, "apisonar satellite: --nats-edge needs --nats URL and --listen: it "
				"publishes the batches it takes over HTTPS\n");
		return EXIT_USAGE;
	}
	if (have_listen && !cfg.client_ca && !cfg.token_file) {
		fprintf(stderr, "apisonar satellite: give --token-file, --client-ca or both: the "
				"ingest API never runs without authentication\n");
		return EXIT_USAGE;
	}
	if (cfg.raw_ingest && !have_listen) {
		fprintf(stderr, "apisonar satellite: --raw-ingest needs --listen\n");
		return EXIT_USAGE;
	}
	if (cfg.raw_ingest && !cfg.client_ca) {
		fprintf(stderr, "apisonar satellite: --raw-ingest needs --client-ca: raw exchanges "
				"carry values and are taken over mutual TLS only\n");
		return EXIT_USAGE;
	}
	if (metrics_addr && !have_metrics) {
		fprintf(stderr, "apisonar satellite: --metrics-addr needs --metrics-port\n");
		return EXIT_USAGE;
	}
	if (have_metrics)
		cfg.metrics_addr = metrics_addr ? metrics_addr : "127.0.0.1";
	if (uo.endpoint) {
		if (uploader_opts_check(&uo) != 0)
			return EXIT_USAGE;
		cfg.upstream = &uo;
	} else if (uo.token_file || uo.ca_file || uo.n_pins || uo.client_cert || uo.client_key) {
		fprintf(stderr, "apisonar satellite: upstream options need --endpoint\n");
		return EXIT_USAGE;
	}
	if (!cfg.sensor_id) {
		if (gethostname(host, sizeof(host)) != 0 || !host[0])
			snprintf(host, sizeof(host), "satellite");
		host[sizeof(host) - 1] = '\0';
		cfg.sensor_id = host;
	}
	if (strlen(cfg.sensor_id) == 0 || strlen(cfg.sensor_id) >= 128) {
		fprintf(stderr, "apisonar satellite: --sensor-id must be 1..127 bytes\n");
		return EXIT_USAGE;
	}
	if (cfg.nats && !cfg.replica_id) {
		if (strlen(cfg.sensor_id) > SAT_REPLICA_MAX) {
			fprintf(stderr, "apisonar satellite: give --replica-id (the host name is "
					"too long for one)\n");
			return EXIT_USAGE;
		}
		cfg.replica_id = cfg.sensor_id;
	}
	log_setup(verbose ? LOG_DEBUG : LOG_INFO, log_json);
	return sat_run(&cfg);
}
