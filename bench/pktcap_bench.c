// SPDX-License-Identifier: BSD-2-Clause
/*
 * The packet-level capture prototype's loader (bpf/pktcap.bpf.c), for
 * bench/capture_bench and for checking what it captures by hand. Not part
 * of the product; docs/sensor-cost.md, "The packet-level alternative".
 *
 *   build/pktcap_bench --mode capture --port P [--flows] [--exchanges]
 *   build/pktcap_bench --mode setup --port P    (the set-up hook alone)
 *   build/pktcap_bench --mode empty             (cgroup_skb programs that return 1)
 *
 * Attaches to the cgroup v2 root (or --cgroup DIR), prints "attached" on
 * stderr, runs until SIGINT/SIGTERM (or --seconds), then prints the
 * books: kernel counters, reassembly, HTTP/1 exchanges parsed. capture
 * puts each direction of each flow back in TCP order (src/sensor/pktreasm.c)
 * and feeds it to the sensor's HTTP/1 parser; --flows prints each flow's
 * byte counts at its close, --exchanges each exchange.
 */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apisonar/sensor/events.h"
#include "apisonar/sensor/pktcap.h"
#include "apisonar/sensor/pktreasm.h"
#include "apisonar/sensor/proto/http1.h"
#include "pktcap.skel.h"

#define BENCH_BUCKETS 4096
#define BENCH_MAX_FLOWS 65536
#define BENCH_MAX_PORTS 16

enum bench_mode { BENCH_CAPTURE, BENCH_SETUP, BENCH_EMPTY };

struct bench_opts {
	enum bench_mode mode;
	unsigned int ports[BENCH_MAX_PORTS];
	int nports;
	const char *cgroup; /* NULL: the cgroup v2 mount */
	int seconds;	    /* 0: until a signal */
	int print_flows;
	int print_exchanges;
};

struct bench_flow;

/* What a reassembly callback needs: its flow and direction. */
struct bench_dir {
	struct bench_flow *f;
	int dir; /* PK_DIR_* */
};

struct bench_flow {
	struct bench_flow *next; /* in its bucket */
	struct pk_flow key;
	uint32_t tgid;
	struct pkt_reasm rs[2]; /* by PK_DIR_* */
	struct bench_dir d[2];
	struct http1_conn *h1;
	uint64_t bytes[2];   /* in order, by PK_DIR_* */
	uint64_t exchanges;
};

struct bench {
	struct bench_opts o;
	struct bench_flow *buckets[BENCH_BUCKETS];
	size_t nflows;
	uint64_t flows_seen, flows_over_cap, records, opens, closes, exchanges;
	uint64_t ts; /* of the record being handled */
	uint32_t max_seg; /* the largest segment seen, in payload bytes */
	struct pkt_reasm_stats rst;
	struct http1_stats hst;
};

static volatile sig_atomic_t bench_stop;

static void bench_on_signal(int sig)
{
	(void)sig;
	bench_stop = 1;
}

static void bench_usage(FILE *f)
{
	fprintf(f, "usage: pktcap_bench [--mode capture|setup|empty] [--port P]... [--cgroup DIR]\n"
		   "                    [--seconds N] [--flows] [--exchanges]\n");
}

/* Parses argv into o; 0, or 2 after printing usage. */
static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option lo[] = {
	    {"mode", required_argument, NULL, 'm'},    {"port", required_argument, NULL, 'p'},
	    {"cgroup", required_argument, NULL, 'c'},  {"seconds", required_argument, NULL, 's'},
	    {"flows", no_argument, NULL, 'f'},	       {"exchanges", no_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	char *end;
	long v;
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "m:p:c:s:fxh", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "capture") == 0)
				o->mode = BENCH_CAPTURE;
			else if (strcmp(optarg, "setup") == 0)
				o->mode = BENCH_SETUP;
			else if (strcmp(optarg, "empty") == 0)
				o->mode = BENCH_EMPTY;
			else
				goto bad;
			break;
		case 'p':
		case 's':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < (c == 'p' ? 1 : 0) ||
			    v > (c == 'p' ? 65535 : 86400))
				goto bad;
			if (c == 's') {
				o->seconds = (int)v;
				break;
			}
			if (o->nports == BENCH_MAX_PORTS)
				goto bad;
			o->ports[o->nports++] = (unsigned int)v;
			break;
		case 'c':
			o->cgroup = optarg;
			break;
		case 'f':
			o->print_flows = 1;
			break;
		case 'x':
			o->print_exchanges = 1;
			break;
		case 'h':
			bench_usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc || (o->mode != BENCH_EMPTY && o->nports == 0))
		goto bad;
	return 0;
bad:
	bench_usage(stderr);
	return 2;
}

/* The cgroup v2 mount point, from /proc/self/mounts. */
static int bench_cgroup2_root(char *out, size_t n)
{
	char dev[256], dir[4096], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2") == 0) {
			snprintf(out, n, "%s", dir);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

/* The process holding socket inode `ino`, by its /proc/PID/fd links; 0
 * if none is found. */
static uint32_t bench_inode_owner(unsigned long ino)
{
	char want[64], path[600], link[64];
	struct dirent *p, *fd;
	uint32_t owner = 0;
	DIR *procs, *fds;
	ssize_t n;

	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	procs = opendir("/proc");
	if (!procs)
		return 0;
	while (!owner) {
		p = readdir(procs);
		if (!p)
			break;
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		for (;;) {
			fd = readdir(fds);
			if (!fd)
				break;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, fd->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (strcmp(link, want) == 0) {
				owner = (uint32_t)strtoul(p->d_name, NULL, 10);
				break;
			}
		}
		closedir(fds);
	}
	closedir(procs);
	return owner;
}

/* Listeners older than us: their process, from /proc/net/tcp and the fd
 * tables, into pk_listeners (the set-up hook sees new ones). */
static void bench_fill_listeners(struct pktcap *skel, const struct bench_opts *o)
{
	unsigned int lport, state;
	unsigned long ino;
	char line[512];
	uint32_t tgid;
	FILE *f = fopen("/proc/net/tcp", "re");
	int i;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %*8x:%x %*8x:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &lport,
			   &state, &ino) != 3 ||
		    state != 0x0a)
			continue;
		for (i = 0; i < o->nports; i++) {
			if (o->ports[i] != lport)
				continue;
			tgid = bench_inode_owner(ino);
			if (tgid)
				bpf_map_update_elem(bpf_map__fd(skel->maps.pk_listeners), &lport,
						    &tgid, BPF_ANY);
		}
	}
	fclose(f);
}

static unsigned int bench_hash(const struct pk_flow *k)
{
	uint32_t h = k->saddr * 2654435761u ^ k->caddr * 2246822519u;

	h ^= ((uint32_t)k->sport << 16 | k->cport) * 3266489917u;
	return (h ^ (h >> 15)) % BENCH_BUCKETS;
}

static struct bench *bench_self; /* for the callbacks: the record's time, the options */

static void bench_on_exchange(void *ctx, struct as_exchange *x)
{
	struct bench_flow *f = ctx;

	f->exchanges++;
	if (bench_self->o.print_exchanges)
		printf("exchange %s %s %d request body %zu response body %zu\n",
		       x->method ? x->method : "-", x->target ? x->target : "-", x->status,
		       (size_t)x->req.body_true_len, (size_t)x->resp.body_true_len);
	as_exchange_free(x);
}

static void bench_on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct bench_dir *d = ctx;

	d->f->bytes[d->dir] += len;
	(void)http1_conn_feed(d->f->h1, d->dir, data, len, bench_self->ts);
}

static void bench_on_gap(void *ctx, uint64_t missing)
{
	struct bench_dir *d = ctx;

	http1_conn_gap(d->f->h1, d->dir, missing, bench_self->ts);
}

/* The flow of key; a new one (isn known when info is given) if absent.
 * NULL past BENCH_MAX_FLOWS or out of memory. */
static struct bench_flow *bench_flow_get(struct bench *b, const struct pk_flow *key,
					 const struct pk_event *open)
{
	unsigned int h = bench_hash(key);
	struct bench_flow *f;
	int i;

	for (f = b->buckets[h]; f; f = f->next)
		if (memcmp(&f->key, key, sizeof(*key)) == 0)
			return f;
	if (b->nflows >= BENCH_MAX_FLOWS) {
		b->flows_over_cap++;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->h1 = http1_conn_new(NULL, &b->hst, bench_on_exchange, f);
	if (!f->h1) {
		free(f);
		return NULL;
	}
	f->key = *key;
	for (i = 0; i < 2; i++) {
		f->d[i].f = f;
		f->d[i].dir = i;
	}
	pkt_reasm_init(&f->rs[PK_DIR_REQUEST], open ? open->req_isn : 0, open != NULL, 0, &b->rst,
		       bench_on_data, bench_on_gap, &f->d[PK_DIR_REQUEST]);
	pkt_reasm_init(&f->rs[PK_DIR_RESPONSE], open ? open->resp_isn : 0, open != NULL, 0,
		       &b->rst, bench_on_data, bench_on_gap, &f->d[PK_DIR_RESPONSE]);
	f->next = b->buckets[h];
	b->buckets[h] = f;
	b->nflows++;
	b->flows_seen++;
	return f;
}

/* Ends a flow: what is held goes to the parser, the parser closes. */
static void bench_flow_end(struct bench *b, struct bench_flow *f)
{
	char s[INET_ADDRSTRLEN], c[INET_ADDRSTRLEN];

	pkt_reasm_finish(&f->rs[PK_DIR_REQUEST]);
	pkt_reasm_finish(&f->rs[PK_DIR_RESPONSE]);
	http1_conn_close(f->h1, b->ts);
	b->exchanges += f->exchanges;
	if (b->o.print_flows) {
		inet_ntop(AF_INET, &f->key.saddr, s, sizeof(s));
		inet_ntop(AF_INET, &f->key.caddr, c, sizeof(c));
		printf("flow %s:%u <- %s:%u tgid %u: request %llu bytes, response %llu bytes, "
		       "%llu exchanges\n",
		       s, ntohs(f->key.sport), c, ntohs(f->key.cport), f->tgid,
		       (unsigned long long)f->bytes[PK_DIR_REQUEST],
		       (unsigned long long)f->bytes[PK_DIR_RESPONSE],
		       (unsigned long long)f->exchanges);
		fflush(stdout);
	}
	pkt_reasm_free(&f->rs[PK_DIR_REQUEST]);
	pkt_reasm_free(&f->rs[PK_DIR_RESPONSE]);
	http1_conn_free(f->h1);
	free(f);
	b->nflows--;
}

static void bench_flow_close(struct bench *b, const struct pk_flow *key)
{
	struct bench_flow **pp = &b->buckets[bench_hash(key)];

	while (*pp && memcmp(&(*pp)->key, key, sizeof(*key)) != 0)
		pp = &(*pp)->next;
	if (*pp) {
		struct bench_flow *f = *pp;

		*pp = f->next;
		bench_flow_end(b, f);
	}
}

static int bench_on_record(void *ctx, void *data, size_t size)
{
	struct bench *b = ctx;
	const struct pk_event *ev = data;
	struct bench_flow *f;

	if (size < sizeof(*ev))
		return 0;
	b->records++;
	b->ts = ev->ts_ns;
	switch (ev->type) {
	case PK_EV_OPEN:
		b->opens++;
		/* A flow that reopens with the same 4-tuple ends the old one. */
		bench_flow_close(b, &ev->flow);
		f = bench_flow_get(b, &ev->flow, ev);
		if (f)
			f->tgid = ev->tgid;
		break;
	case PK_EV_CLOSE:
		b->closes++;
		bench_flow_close(b, &ev->flow);
		break;
	case PK_EV_DATA:
		if (ev->dir > PK_DIR_REQUEST || size < sizeof(*ev) + ev->len)
			break;
		f = bench_flow_get(b, &ev->flow, NULL);
		if (!f)
			break;
		f->tgid = ev->tgid;
		if (ev->seg_len > b->max_seg)
			b->max_seg = ev->seg_len;
		if (pkt_reasm_add(&f->rs[ev->dir], ev->seq, ev + 1, ev->len))
			fprintf(stderr, "pktcap_bench: out of memory holding a segment\n");
		break;
	default:
		break;
	}
	return 0;
}

/* The kernel's counters, summed over CPUs, into sum. */
static void bench_counters(struct pktcap *skel, struct pk_counters *sum)
{
	int ncpu = libbpf_num_possible_cpus(), i, j;
	struct pk_counters *v;
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.pk_counters), &zero, v) == 0)
		for (i = 0; i < ncpu; i++)
			for (j = 0; j < PK_C_NR; j++)
				sum->c[j] += v[i].c[j];
	free(v);
}

static void bench_report(struct bench *b, struct pktcap *skel)
{
	static const char *const names[PK_C_NR] = {
	    "packets on server ports", "on known flows", "segments copied", "records",
	    "bytes",		       "ring buffer full", "segments too big", "load faults",
	    "flows opened",	       "flows closed",	   "flows map full",
	};
	struct pk_counters k;
	int i;

	bench_counters(skel, &k);
	fprintf(stderr, "kernel:");
	for (i = 0; i < PK_C_NR; i++)
		fprintf(stderr, "%s %s %llu", i ? "," : "", names[i], (unsigned long long)k.c[i]);
	fprintf(stderr, "\n");
	if (b->o.mode != BENCH_CAPTURE)
		return;
	fprintf(stderr,
		"userspace: %llu records, %llu opens, %llu closes, %llu flows (%llu over the cap)\n",
		(unsigned long long)b->records, (unsigned long long)b->opens,
		(unsigned long long)b->closes, (unsigned long long)b->flows_seen,
		(unsigned long long)b->flows_over_cap);
	fprintf(stderr,
		"reassembly: %llu segments, %llu bytes in order, %llu out of order, %llu duplicate "
		"bytes, %llu gaps (%llu bytes, %llu over the hold cap); largest segment %u bytes\n",
		(unsigned long long)b->rst.segments, (unsigned long long)b->rst.bytes,
		(unsigned long long)b->rst.out_of_order, (unsigned long long)b->rst.dup_bytes,
		(unsigned long long)b->rst.gaps, (unsigned long long)b->rst.gap_bytes,
		(unsigned long long)b->rst.held_overflow, b->max_seg);
	fprintf(stderr,
		"http1: %llu exchanges, %llu requests, %llu responses, %llu parse errors, %llu "
		"unpaired responses\n",
		(unsigned long long)b->exchanges, (unsigned long long)b->hst.requests,
		(unsigned long long)b->hst.responses, (unsigned long long)b->hst.parse_errors,
		(unsigned long long)b->hst.unpaired_responses);
}

/* Which programs load, by mode: the others are not even loaded. */
static void bench_autoload(struct pktcap *skel, enum bench_mode m)
{
	bpf_program__set_autoload(skel->progs.pk_ingress, m == BENCH_CAPTURE);
	bpf_program__set_autoload(skel->progs.pk_egress, m == BENCH_CAPTURE);
	bpf_program__set_autoload(skel->progs.pk_set_state, m != BENCH_EMPTY);
	bpf_program__set_autoload(skel->progs.pk_ingress_empty, m == BENCH_EMPTY);
	bpf_program__set_autoload(skel->progs.pk_egress_empty, m == BENCH_EMPTY);
}

int main(int argc, char **argv)
{
	struct bpf_link *links[3] = {NULL, NULL, NULL};
	struct bpf_program *cg[2] = {NULL, NULL};
	struct ring_buffer *rb = NULL;
	struct pktcap *skel = NULL;
	struct bench *b;
	char root[4096];
	const char *cgdir;
	int cgfd = -1, rc = 1, i, nlinks = 0;
	struct timespec t0, t;
	struct bench_flow *f;

	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	bench_self = b;
	if (bench_parse(argc, argv, &b->o)) {
		free(b);
		return 2;
	}
	cgdir = b->o.cgroup;
	if (!cgdir) {
		if (bench_cgroup2_root(root, sizeof(root))) {
			fprintf(stderr, "pktcap_bench: no cgroup v2 mount in /proc/self/mounts\n");
			goto cleanup;
		}
		cgdir = root;
	}
	skel = pktcap__open();
	if (!skel) {
		fprintf(stderr, "pktcap_bench: cannot open the BPF object\n");
		goto cleanup;
	}
	bench_autoload(skel, b->o.mode);
	if (pktcap__load(skel)) {
		fprintf(stderr, "pktcap_bench: cannot load the BPF programs\n");
		goto cleanup;
	}
	for (i = 0; i < b->o.nports; i++)
		skel->bss->server_ports[b->o.ports[i]] = 1;
	if (b->o.mode != BENCH_EMPTY) {
		bench_fill_listeners(skel, &b->o);
		links[nlinks] = bpf_program__attach(skel->progs.pk_set_state);
		if (!links[nlinks]) {
			fprintf(stderr, "pktcap_bench: cannot attach inet_sock_set_state: %s\n",
				strerror(errno));
			goto cleanup;
		}
		nlinks++;
	}
	if (b->o.mode == BENCH_EMPTY) {
		cg[0] = skel->progs.pk_ingress_empty;
		cg[1] = skel->progs.pk_egress_empty;
	} else if (b->o.mode == BENCH_CAPTURE) {
		cg[0] = skel->progs.pk_ingress;
		cg[1] = skel->progs.pk_egress;
	}
	if (cg[0]) {
		cgfd = open(cgdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0) {
			fprintf(stderr, "pktcap_bench: %s: %s\n", cgdir, strerror(errno));
			goto cleanup;
		}
		for (i = 0; i < 2; i++) {
			links[nlinks] = bpf_program__attach_cgroup(cg[i], cgfd);
			if (!links[nlinks]) {
				fprintf(stderr, "pktcap_bench: cannot attach to %s: %s\n", cgdir,
					strerror(errno));
				goto cleanup;
			}
			nlinks++;
		}
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.pk_events), bench_on_record, b, NULL);
	if (!rb) {
		fprintf(stderr, "pktcap_bench: cannot map the ring buffer\n");
		goto cleanup;
	}
	signal(SIGINT, bench_on_signal);
	signal(SIGTERM, bench_on_signal);
	fprintf(stderr, "pktcap_bench: attached (%s, cgroup %s)\n",
		b->o.mode == BENCH_CAPTURE ? "capture"
		: b->o.mode == BENCH_SETUP ? "set-up hook alone"
					   : "empty cgroup_skb programs",
		cg[0] ? cgdir : "-");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!bench_stop) {
		int n = ring_buffer__poll(rb, 10);

		/* Woken only past a fill level: drain after each wait. */
		if (n >= 0 || n == -EINTR)
			ring_buffer__consume(rb);
		else
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (b->o.seconds && t.tv_sec - t0.tv_sec >= b->o.seconds)
			break;
	}
	for (i = nlinks - 1; i >= 0; i--) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
	ring_buffer__consume(rb);
	for (i = 0; i < BENCH_BUCKETS; i++) {
		while (b->buckets[i]) {
			f = b->buckets[i];
			b->buckets[i] = f->next;
			bench_flow_end(b, f);
		}
	}
	bench_report(b, skel);
	rc = 0;
cleanup:
	ring_buffer__free(rb);
	for (i = nlinks - 1; i >= 0; i--)
		bpf_link__destroy(links[i]);
	if (cgfd >= 0)
		close(cgfd);
	pktcap__destroy(skel);
	free(b);
	return rc;
}
