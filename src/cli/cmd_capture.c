// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar capture: one-shot capture for debugging. Attaches, prints
 * exchanges as they complete, stops after a duration, a count or a signal,
 * and says what it saw and what it dropped. Output stays local; values are
 * printed only with --show-values.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/exchange/xio.h"
#include "apisonar/sensor/sensor.h"
#include "apisonar/util/util.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct capture {
	struct xio_writer *out;
	uint64_t exchanges; /* written */
	uint64_t limit;     /* --count; 0 = none */
	uint64_t write_errors;
};

static void on_exchange(void *ctx, struct as_exchange *x)
{
	struct capture *c = ctx;

	if (!c->limit || c->exchanges < c->limit) {
		if (xio_write(c->out, x))
			c->write_errors++;
		else
			c->exchanges++;
		if (c->limit && c->exchanges >= c->limit)
			stop = 1;
	}
	as_exchange_free(x);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: apisonar capture [options]\n"
		"\n"
		"Prints the HTTP/1.x exchanges of this host as they complete.\n"
		"\n"
		"  --duration SEC       stop after SEC seconds\n"
		"  --count N            stop after N exchanges\n"
		"  --pid PID            only this process (repeatable)\n"
		"  --comm NAME          only processes with this name (repeatable)\n"
		"  --port PORT          only connections with this local or peer port (repeatable)\n"
		"  --cidr ADDR[/BITS]   only peers in this network (repeatable)\n"
		"  --cgroup PATH        only processes in this cgroup v2 directory (repeatable)\n"
		"  --role ROLE          server, client or both (default both)\n"
		"  --all-ports          also look at database, cache and broker ports\n"
		"  --tls MODE           on (default): plaintext sockets and TLS plaintext through\n"
		"                       OpenSSL uprobes; off: no uprobes, TLS is ignored; only:\n"
		"                       TLS plaintext only\n"
		"  --format FMT         text (default), jsonl or har\n"
		"  -o, --output FILE    write exchanges to FILE instead of stdout\n"
		"  --show-values        print header values and bodies (off by default)\n"
		"  --max-body BYTES     body bytes kept per message (default %d)\n"
		"  --max-copy BYTES     bytes copied per record in the kernel (64..%d, default %d);\n"
		"                       a syscall takes up to 8 records, as far as --max-body\n"
		"                       plus 16 KiB\n"
		"  --capture-budget N|unlimited\n"
		"                       HTTP/1 exchanges per second the kernel copies; the\n"
		"                       others are counted, not copied (default unlimited)\n"
		"  --capture-warmup SEC everything is copied for SEC seconds first (default %d)\n"
		"  --empty-hooks        benchmarks: attach programs that return at once (the\n"
		"                       floor of hooking every syscall); captures nothing\n"
		"  --verbose            libbpf and verifier messages\n"
		"  -h, --help           this text\n",
		AS_MAX_BODY_DEFAULT, AS_MAX_COPY, AS_DEFAULT_COPY, LOADER_BUDGET_WARMUP_DEFAULT);
}

enum {
	OPT_DURATION = 256,
	OPT_COUNT,
	OPT_PID,
	OPT_COMM,
	OPT_PORT,
	OPT_CIDR,
	OPT_CGROUP,
	OPT_ROLE,
	OPT_ALL_PORTS,
	OPT_FORMAT,
	OPT_SHOW_VALUES,
	OPT_MAX_BODY,
	OPT_MAX_COPY,
	OPT_VERBOSE,
	OPT_TLS,
	OPT_BUDGET,
	OPT_WARMUP,
	OPT_EMPTY_HOOKS,
};

static const struct option options[] = {
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "cidr", required_argument, NULL, OPT_CIDR },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "all-ports", no_argument, NULL, OPT_ALL_PORTS },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "output", required_argument, NULL, 'o' },
	{ "show-values", no_argument, NULL, OPT_SHOW_VALUES },
	{ "max-body", required_argument, NULL, OPT_MAX_BODY },
	{ "max-copy", required_argument, NULL, OPT_MAX_COPY },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "tls", required_argument, NULL, OPT_TLS },
	{ "capture-budget", required_argument, NULL, OPT_BUDGET },
	{ "capture-warmup", required_argument, NULL, OPT_WARMUP },
	{ "empty-hooks", no_argument, NULL, OPT_EMPTY_HOOKS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd capture_cmd = { "capture", "usage: apisonar capture [options]" };

static int bad(const char *opt, const char *arg, const char *why)
{
	return cli_bad_value(&capture_cmd, opt, arg, why);
}

/* One line per counter group; the first line checks the kernel's books. */
/* What TLS attached to and what it saw; the per-target lines say why a
 * library or executable could not be attached. */
static void print_tls(FILE *f, const struct sensor_stats *st, const struct tls_attach *t)
{
	const uint64_t *k = st->kernel;

	if (!t) {
		fprintf(f, "  tls: off\n");
		return;
	}
	fprintf(f,
		"  tls: %u libraries and %u static executables attached, %u failed, %u processes "
		"using them; %llu https conns, %llu http/2 conns, %llu calls without "
		"a tracked socket, %llu blind conns; %llu scans (%.1f ms)\n",
		st->tls.libs, st->tls.exes, st->tls.failed, st->tls.procs,
		(unsigned long long)k[AS_C_TLS_CONN], (unsigned long long)k[AS_C_TLS_HTTP2],
		(unsigned long long)k[AS_C_TLS_NO_SOCKET], (unsigned long long)k[AS_C_TLS_BLIND],
		(unsigned long long)st->tls.scans, (double)st->tls.scan_ns / 1e6);
	fprintf(f, "  tls go: %u binaries attached (in the static executables), %u not probeable\n",
		st->tls.go, st->tls.go_unprobeable);
	tls_attach_report(t, f);
}

/* The HTTP/2 parser's books: frames by type, streams, drops by reason. */
static void print_http2(FILE *f, const struct http2_stats *h)
{
	uint64_t frames = 0;
	int i;

	for (i = 0; i < HTTP2_FT_NR; i++)
		frames += h->frames[i];
	fprintf(f,
		"  http/2: %llu conns (%llu stopped), %llu frames, %llu streams, %llu exchanges, "
		"%llu resets, %llu without response\n",
		(unsigned long long)h->conns, (unsigned long long)h->conns_stopped,
		(unsigned long long)frames, (unsigned long long)h->streams,
		(unsigned long long)h->exchanges, (unsigned long long)h->resets,
		(unsigned long long)h->no_response);
	fprintf(f, "  http/2 frames:");
	for (i = 0; i < HTTP2_FT_NR; i++)
		fprintf(f, " %s %llu", http2_frame_name((enum http2_frame_type)i),
			(unsigned long long)h->frames[i]);
	fprintf(f, "\n  http/2 drops:");
	for (i = 0; i < HTTP2_DROP_NR; i++)
		fprintf(f, " %s %llu", http2_drop_name((enum http2_drop)i),
			(unsigned long long)h->drops[i]);
	fprintf(f, "\n");
}

static void print_summary(FILE *f, const struct sensor_stats *st, const struct capture *c,
			  double secs)
{
	const uint64_t *k = st->kernel;
	uint64_t parse = st->http.parse_errors, amb = 0;
	int i;

	for (i = 0; i < HTTP1_AMB_NR; i++)
		amb += st->http.ambiguous[i];
	fprintf(f, "apisonar capture: %.1fs, %llu exchanges written, %llu connections\n", secs,
		(unsigned long long)c->exchanges, (unsigned long long)st->ct.conns_opened);
	fprintf(f,
		"  kernel events: %llu seen = %llu delivered + %llu not sampled + %llu ring buffer "
		"full + %llu map full%s\n",
		(unsigned long long)k[AS_C_SEEN], (unsigned long long)k[AS_C_DELIVERED],
		(unsigned long long)k[AS_C_NOT_SAMPLED], (unsigned long long)k[AS_C_DROP_RB_FULL],
		(unsigned long long)k[AS_C_DROP_MAP_FULL],
		k[AS_C_SEEN] == k[AS_C_DELIVERED] + k[AS_C_NOT_SAMPLED] + k[AS_C_DROP_RB_FULL] +
				    k[AS_C_DROP_MAP_FULL]
			? ""
			: " (books do not balance: still in flight)");
	fprintf(f,
		"  kernel exchanges: %llu seen = %llu captured + %llu not sampled + %llu dropped%s "
		"(%llu skip notices lost)\n",
		(unsigned long long)k[AS_C_XCH_SEEN], (unsigned long long)k[AS_C_XCH_CAPTURED],
		(unsigned long long)k[AS_C_XCH_NOT_SAMPLED], (unsigned long long)k[AS_C_XCH_DROPPED],
		k[AS_C_XCH_SEEN] == k[AS_C_XCH_CAPTURED] + k[AS_C_XCH_NOT_SAMPLED] +
					k[AS_C_XCH_DROPPED]
			? ""
			: " (books do not balance)",
		(unsigned long long)k[AS_C_XCH_SKIP_LOST]);
	fprintf(f,
		"  budget: %llu skip notices, %llu bytes not copied, %llu exchanges not sampled "
		"(%llu in a captured exchange's weight, %llu cut at a restart), %llu connections "
		"copied whole (pipelining)\n",
		(unsigned long long)st->ct.skips, (unsigned long long)st->ct.skipped_bytes,
		(unsigned long long)st->ct.skipped_exchanges,
		(unsigned long long)st->unsampled_weighted,
		(unsigned long long)st->http.restart_dropped, (unsigned long long)st->whole_conns);
	fprintf(f, "  kernel: %llu truncated copies, %llu copy faults, %llu sendfile calls (not "
		   "copied), %llu http conns, %llu http/2 conns (h2c), %llu not http, "
		   "%llu filtered, %llu conn map full\n",
		(unsigned long long)k[AS_C_TRUNCATED], (unsigned long long)k[AS_C_COPY_FAULT],
		(unsigned long long)k[AS_C_SENDFILE],
		(unsigned long long)k[AS_C_CONN_TRACKED], (unsigned long long)k[AS_C_CONN_HTTP2],
		(unsigned long long)k[AS_C_CONN_IGNORED],
		(unsigned long long)k[AS_C_CONN_FILTERED], (unsigned long long)k[AS_C_CONN_MAP_FULL]);
	fprintf(f,
		"  tracker: %llu records, %llu bytes, %llu reordered, %llu gaps (%llu bytes), "
		"%llu truncated bytes, %llu evicted, %llu idle, %llu bad\n",
		(unsigned long long)st->records, (unsigned long long)st->ct.bytes,
		(unsigned long long)st->ct.reordered, (unsigned long long)st->ct.gaps,
		(unsigned long long)st->ct.gap_bytes, (unsigned long long)st->ct.truncated_bytes,
		(unsigned long long)st->ct.conns_evicted, (unsigned long long)st->ct.conns_idle,
		(unsigned long long)st->ct.bad_events);
	fprintf(f,
		"  http: %llu requests, %llu responses, %llu exchanges, %llu parse errors, %llu "
		"ambiguous, %llu upgrades, %llu unpaired, %llu without response, %llu http/2\n",
		(unsigned long long)st->http.requests, (unsigned long long)st->http.responses,
		(unsigned long long)st->http.exchanges, (unsigned long long)parse,
		(unsigned long long)amb, (unsigned long long)st->http.upgrades,
		(unsigned long long)st->http.unpaired_responses,
		(unsigned long long)st->http.no_response, (unsigned long long)st->http.http2);
	print_http2(f, &st->http2);
	if (c->write_errors)
		fprintf(f, "  output: %llu exchanges could not be written\n",
			(unsigned long long)c->write_errors);
}

int cmd_capture(int argc, char **argv)
{
	struct sensor_opts so;
	struct loader_filters *flt = &so.loader.filters;
	struct capture cap = { 0 };
	enum xio_format fmt = XIO_TEXT;
	const char *out_path = NULL;
	bool show_values = false, live;
	uint64_t duration_ns = 0, v, start, last_live = 0;
	struct sensor *s = NULL;
	struct sensor_stats st;
	FILE *out = stdout, *tls_out;
	char err[512], *tls_text = NULL;
	size_t tls_len = 0;
	int opt, rc = 0;

	sensor_opts_default(&so);
	optind = 1;
	while ((opt = cli_getopt(&capture_cmd, argc, argv, "o:h", options)) != -1) {
		switch (opt) {
		case OPT_DURATION:
			if (parse_u64(optarg, 1, 86400 * 365, &v))
				return bad("duration", optarg, "want whole seconds, 1 or more");
			duration_ns = v * 1000000000ull;
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, 1, UINT64_MAX, &v))
				return bad("count", optarg, "want a positive number");
			cap.limit = v;
			break;
		case OPT_PID:
			if (parse_u64(optarg, 1, 4194304, &v))
				return bad("pid", optarg, "want a process id");
			if (flt->n_pids >= LOADER_MAX_LIST)
				return bad("pid", optarg, "too many --pid");
			flt->pids[flt->n_pids++] = (uint32_t)v;
			break;
		case OPT_COMM:
			if (!*optarg || strlen(optarg) >= AS_COMM_LEN_K)
				return bad("comm", optarg, "want a name of 1 to 15 characters");
			if (flt->n_comms >= LOADER_MAX_LIST)
				return bad("comm", optarg, "too many --comm");
			memset(flt->comms[flt->n_comms], 0, AS_COMM_LEN_K);
			memcpy(flt->comms[flt->n_comms++], optarg, strlen(optarg));
			break;
		case OPT_PORT:
			if (parse_u64(optarg, 1, 65535, &v))
				return bad("port", optarg, "want a port, 1 to 65535");
			if (flt->n_ports >= LOADER_MAX_LIST)
				return bad("port", optarg, "too many --port");
			flt->ports[flt->n_ports++] = (uint16_t)v;
			break;
		case OPT_CIDR:
			if (flt->n_cidrs >= LOADER_MAX_LIST)
				return bad("cidr", optarg, "too many --cidr");
			if (loader_parse_cidr(optarg, &flt->cidrs[flt->n_cidrs]))
				return bad("cidr", optarg, "want ADDR or ADDR/BITS (IPv4 or IPv6)");
			flt->n_cidrs++;
			break;
		case OPT_CGROUP:
			if (flt->n_cgroups >= LOADER_MAX_LIST)
				return bad("cgroup", optarg, "too many --cgroup");
			if (loader_cgroup_id(optarg, &flt->cgroups[flt->n_cgroups]))
				return bad("cgroup", optarg,
					   "not a cgroup v2 directory (absolute, or relative to "
					   "the cgroup2 mount)");
			flt->n_cgroups++;
			break;
		case OPT_ROLE:
			if (strcmp(optarg, "server") == 0)
				flt->role_mask = 1;
			else if (strcmp(optarg, "client") == 0)
				flt->role_mask = 2;
			else if (strcmp(optarg, "both") == 0)
				flt->role_mask = 3;
			else
				return bad("role", optarg, "want server, client or both");
			break;
		case OPT_ALL_PORTS:
			flt->no_default_skip_ports = true;
			break;
		case OPT_FORMAT:
			if (xio_format_parse(optarg, &fmt) || fmt == XIO_AUTO)
				return bad("format", optarg, "want text, jsonl or har");
			break;
		case 'o':
			out_path = optarg;
			break;
		case OPT_SHOW_VALUES:
			show_values = true;
			break;
		case OPT_MAX_BODY:
			if (parse_u64(optarg, 0, 64ull << 20, &v))
				return bad("max-body", optarg, "want bytes, 0 to 67108864");
			so.http.max_body = (size_t)v;
			break;
		case OPT_MAX_COPY:
			if (parse_u64(optarg, 64, AS_MAX_COPY, &v))
				return bad("max-copy", optarg, "want bytes, 64 to 16384");
			so.loader.max_copy = (uint32_t)v;
			break;
		case OPT_VERBOSE:
			so.loader.verbose = true;
			break;
		case OPT_TLS:
			if (strcmp(optarg, "on") == 0)
				flt->tls_mode = AS_TLS_ON;
			else if (strcmp(optarg, "off") == 0)
				flt->tls_mode = AS_TLS_OFF;
			else if (strcmp(optarg, "only") == 0)
				flt->tls_mode = AS_TLS_ONLY;
			else
				return bad("tls", optarg, "want on, off or only");
			break;
		case OPT_BUDGET:
			if (parse_budget(optarg, &v))
				return bad("capture-budget", optarg,
					   "want unlimited or exchanges per second, 0 to 1000000");
			flt->budget = (uint32_t)v;
			break;
		case OPT_EMPTY_HOOKS:
			so.loader.empty_hooks = true;
			break;
		case OPT_WARMUP:
			if (parse_u64(optarg, 0, 3600, &v))
				return bad("capture-warmup", optarg, "want seconds, 0 to 3600");
			flt->budget_warmup_s = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default: /* CLI_OPT_BAD: said so */
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(&capture_cmd, "unexpected argument '%.64s'", argv[optind]);

	if (out_path && strcmp(out_path, "-") != 0) {
		out = fopen(out_path, "we");
		if (!out) {
			fprintf(stderr, "apisonar capture: cannot write %s: %s\n", out_path,
				strerror(errno));
			return 1;
		}
	}
	cap.out = xio_writer_new(out, fmt, show_values);
	if (!cap.out) {
		fprintf(stderr, "apisonar capture: out of memory\n");
		rc = 1;
		goto out;
	}

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	s = sensor_new(&so, on_exchange, &cap, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "apisonar capture: %s\n", err);
		rc = 1;
		goto out;
	}
	live = isatty(STDERR_FILENO) && out != stdout;
	fprintf(stderr, "apisonar capture: attached; press Ctrl-C to stop\n");
	start = now_mono_ns();
	while (!stop) {
		int n = sensor_poll(s, 100);
		uint64_t now = now_mono_ns();

		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "apisonar capture: reading the ring buffer: %s\n",
				strerror(-n));
			rc = 1;
			break;
		}
		if (fmt != XIO_HAR)
			fflush(out);
		if (duration_ns && now - start >= duration_ns)
			break;
		if (live && now - last_live >= 1000000000ull) {
			sensor_get_stats(s, &st);
			fprintf(stderr, "\r  %llu exchanges, %u conns, %llu events, %llu dropped   ",
				(unsigned long long)cap.exchanges, st.active_conns,
				(unsigned long long)st.kernel[AS_C_SEEN],
				(unsigned long long)(st.kernel[AS_C_DROP_RB_FULL] +
						     st.kernel[AS_C_DROP_MAP_FULL]));
			last_live = now;
		}
	}
	if (live)
		fprintf(stderr, "\n");
	/* Drain the last records, then count, then end the connections still
	 * open (their finished requests are written too). */
	sensor_poll(s, 0);
	sensor_get_stats(s, &st);
	tls_out = open_memstream(&tls_text, &tls_len);
	if (tls_out) {
		print_tls(tls_out, &st, sensor_tls(s));
		fclose(tls_out);
	}
	sensor_free(s);
	print_summary(stderr, &st, &cap, (double)(now_mono_ns() - start) / 1e9);
	if (tls_text)
		fputs(tls_text, stderr);
	free(tls_text);
out:
	if (xio_writer_close(cap.out))
		rc = 1;
	if (out != stdout)
		fclose(out);
	else
		fflush(stdout);
	return rc;
}
