// SPDX-License-Identifier: BSD-2-Clause
/*
 * Fixed order, as libbpf wants it: check the host, open, size maps and set
 * read-only data, load, write filters, attach. Every failure says what is
 * wrong and what to do about it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "apisonar.skel.h"
#include "apisonar/sensor/budget.h"
#include "apisonar/sensor/loader.h"
#include "apisonar/util/util.h"

struct loader {
	struct apisonar *skel;
	int ncpus;
	uint64_t start_ns; /* when it was opened: the budget's warm-up starts there */
};

/* Ports of common services that never speak HTTP/1.x: skipped in the
 * kernel before a byte is copied, unless a port filter names them. */
static const uint16_t default_skip_ports[] = {
	53,    /* DNS */
	1433,  /* SQL Server */
	1521,  /* Oracle */
	2181,  /* ZooKeeper */
	2379,  /* etcd clients */
	2380,  /* etcd peers */
	3306,  /* MySQL */
	4222,  /* NATS */
	5432,  /* PostgreSQL */
	5672,  /* AMQP */
	6379,  /* Redis */
	9042,  /* Cassandra */
	9092,  /* Kafka */
	11211, /* memcached */
	26257, /* CockroachDB */
	27017, /* MongoDB */
};

static const char *const counter_names[AS_C_NR] = {
	[AS_C_SEEN] = "events_seen",
	[AS_C_DELIVERED] = "events_delivered",
	[AS_C_DROP_RB_FULL] = "events_dropped_ringbuf_full",
	[AS_C_DROP_MAP_FULL] = "events_dropped_map_full",
	[AS_C_TRUNCATED] = "events_truncated",
	[AS_C_COPY_FAULT] = "events_copy_fault",
	[AS_C_CONN_TRACKED] = "conns_http",
	[AS_C_CONN_IGNORED] = "conns_not_http",
	[AS_C_CONN_FILTERED] = "conns_filtered",
	[AS_C_CONN_MAP_FULL] = "conns_map_full",
	[AS_C_TLS_CONN] = "tls_conns_http",
	[AS_C_TLS_HTTP2] = "tls_conns_http2",
	[AS_C_TLS_NO_SOCKET] = "tls_calls_no_socket",
	[AS_C_TLS_BLIND] = "tls_conns_blind",
	[AS_C_CONN_HTTP2] = "conns_http2",
	[AS_C_SENDFILE] = "events_sendfile",
	[AS_C_NOT_SAMPLED] = "events_not_sampled",
	[AS_C_XCH_SEEN] = "exchanges_seen",
	[AS_C_XCH_CAPTURED] = "exchanges_captured",
	[AS_C_XCH_NOT_SAMPLED] = "exchanges_not_sampled",
	[AS_C_XCH_DROPPED] = "exchanges_dropped",
	[AS_C_XCH_SKIP_LOST] = "exchanges_skip_notice_lost",
	[AS_C_XCH_NOVEL] = "exchanges_novel",
};

const char *loader_counter_name(enum as_counter c)
{
	return (unsigned)c < AS_C_NR ? counter_names[c] : "unknown";
}

void loader_opts_default(struct loader_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->filters.role_mask = 3;
	o->filters.budget_warmup_s = LOADER_BUDGET_WARMUP_DEFAULT;
	o->filters.budget_new_conn = LOADER_BUDGET_NEW_CONN_DEFAULT;
	o->max_copy = AS_DEFAULT_COPY;
	o->ringbuf_bytes = 16u << 20;
	o->wakeup_bytes = 256u << 10;
}

int loader_parse_cidr(const char *s, struct as_cidr_key *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t bits;
	int max;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	bits = (uint64_t)max;
	if (slash && parse_u64(slash + 1, 0, (uint64_t)max, &bits))
		return -EINVAL;
	/* The family word is part of the key, so its 32 bits always match. */
	out->prefixlen = 32 + (uint32_t)bits;
	return 0;
}

/* The cgroup v2 mount point, from /proc/self/mounts. */
static int cgroup2_root(char *out, size_t n)
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

/* A cgroup v2 directory's id is its inode number. */
int loader_cgroup_id(const char *path, uint64_t *id)
{
	char root[4096], full[8192];
	struct stat st;

	if (path[0] != '/' || stat(path, &st) != 0) {
		if (cgroup2_root(root, sizeof(root)))
			return -ENOENT;
		snprintf(full, sizeof(full), "%s/%s", root, path[0] == '/' ? path + 1 : path);
		if (stat(full, &st) != 0)
			return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = (uint64_t)st.st_ino;
	return 0;
}

static bool verbose;

/* libbpf's messages (the verifier log among them) only with --verbose:
 * without it the error we print says to rerun with it. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Whether this process may load BPF programs: root, or CAP_BPF with
 * CAP_PERFMON, or CAP_SYS_ADMIN. */
static bool have_bpf_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };
	uint64_t eff;

	if (syscall(SYS_capget, &hdr, data) < 0)
		return geteuid() == 0;
	eff = (uint64_t)data[1].effective << 32 | data[0].effective;
#define HAS(c) (eff & (1ull << (c)))
	return HAS(21 /* CAP_SYS_ADMIN */) || (HAS(39 /* CAP_BPF */) && HAS(38 /* CAP_PERFMON */));
#undef HAS
}

static int kernel_older_than(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma < major || (ma == major && mi < minor);
}

static int put_list(int fd, const void *keys, size_t n, size_t key_size)
{
	uint8_t one = 1;
	size_t i;

	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * key_size, &one, BPF_ANY))
			return -errno;
	return 0;
}

/* Empties a hash map (LPM tries included): delete the first key until
 * there is none. The lists are small. */
static void clear_map(int fd, size_t key_size)
{
	char key[64];

	if (key_size > sizeof(key))
		return;
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			break;
}

int loader_set_filters(struct loader *l, const struct loader_filters *f)
{
	struct apisonar *s = l->skel;
	struct as_filter_cfg cfg = { 0 };
	uint32_t zero = 0;
	size_t i, j;
	int err;

	clear_map(bpf_map__fd(s->maps.filter_pids), sizeof(uint32_t));
	clear_map(bpf_map__fd(s->maps.filter_comms), AS_COMM_LEN_K);
	clear_map(bpf_map__fd(s->maps.filter_ports), sizeof(uint16_t));
	clear_map(bpf_map__fd(s->maps.skip_ports), sizeof(uint16_t));
	clear_map(bpf_map__fd(s->maps.filter_cgroups), sizeof(uint64_t));
	clear_map(bpf_map__fd(s->maps.filter_cidrs), sizeof(struct as_cidr_key));

	err = put_list(bpf_map__fd(s->maps.filter_pids), f->pids, f->n_pids, sizeof(uint32_t));
	if (!err)
		err = put_list(bpf_map__fd(s->maps.filter_comms), f->comms, f->n_comms,
			       AS_COMM_LEN_K);
	if (!err)
		err = put_list(bpf_map__fd(s->maps.filter_ports), f->ports, f->n_ports,
			       sizeof(uint16_t));
	if (!err)
		err = put_list(bpf_map__fd(s->maps.filter_cgroups), f->cgroups, f->n_cgroups,
			       sizeof(uint64_t));
	if (!err)
		err = put_list(bpf_map__fd(s->maps.filter_cidrs), f->cidrs, f->n_cidrs,
			       sizeof(struct as_cidr_key));
	for (i = 0; !err && !f->no_default_skip_ports &&
		    i < sizeof(default_skip_ports) / sizeof(default_skip_ports[0]);
	     i++) {
		bool named = false;

		for (j = 0; j < f->n_ports; j++)
			named |= f->ports[j] == default_skip_ports[i];
		if (!named)
			err = put_list(bpf_map__fd(s->maps.skip_ports), &default_skip_ports[i], 1,
				       sizeof(uint16_t));
	}
	if (err)
		return err;

	cfg.self_tgid = (uint32_t)getpid();
	cfg.use_pid = f->n_pids > 0;
	cfg.use_comm = f->n_comms > 0;
	cfg.use_port = f->n_ports > 0;
	cfg.use_cgroup = f->n_cgroups > 0;
	cfg.use_cidr = f->n_cidrs > 0;
	cfg.role_mask = f->role_mask ? f->role_mask : 3;
	cfg.tls_mode = f->tls_mode;
	if (bpf_map_update_elem(bpf_map__fd(s->maps.filter_cfg), &zero, &cfg, BPF_ANY))
		return -errno;
	{
		struct as_budget_cfg b = { 0 };
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		uint32_t n = online > 0 ? (uint32_t)online : (uint32_t)l->ncpus;

		/* Each CPU refills its own bucket at its share of the rate. */
		b.rate_milli = as_budget_rate_milli(f->budget, n);
		b.burst = f->budget_burst ? f->budget_burst : (b.rate_milli + 999) / 1000;
		b.warmup_until = l->start_ns + (uint64_t)f->budget_warmup_s * 1000000000ull;
		b.new_conn_turns = f->budget_new_conn;
		if (bpf_map_update_elem(bpf_map__fd(s->maps.budget_cfg), &zero, &b, BPF_ANY))
			return -errno;
	}
	return 0;
}

int loader_budget_whole(struct loader *l, uint64_t conn_id)
{
	uint8_t one = 1;

	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.budget_whole), &conn_id, &one,
				BPF_ANY))
		return -errno;
	return 0;
}

int loader_exclude_listener(struct loader *l, const struct sockaddr *sa)
{
	int fd = bpf_map__fd(l->skel->maps.self_listen);
	struct as_self_key k;
	uint8_t one = 1;

	memset(&k, 0, sizeof(k));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		k.port = ntohs(in->sin_port);
		if (in->sin_addr.s_addr != htonl(INADDR_ANY)) {
			k.family = AF_INET;
			memcpy(k.addr, &in->sin_addr, 4);
			if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
				return -errno;
			/* the same address as a dual-stack client sees it */
			k.family = AF_INET6;
			memset(k.addr, 0, sizeof(k.addr));
			k.addr[10] = 0xff;
			k.addr[11] = 0xff;
			memcpy(k.addr + 12, &in->sin_addr, 4);
		}
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		k.port = ntohs(in6->sin6_port);
		if (!IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr)) {
			k.family = AF_INET6;
			memcpy(k.addr, &in6->sin6_addr, 16);
		}
	} else {
		return -EAFNOSUPPORT;
	}
	if (bpf_map_update_elem(fd, &k, &one, BPF_ANY))
		return -errno;
	return 0;
}

int loader_preflight(char *err, size_t errlen)
{
	/* The programs are tracing programs (raw tracepoints, uprobes) and
	 * maps: CAP_BPF and CAP_PERFMON load them; CAP_NET_ADMIN is for
	 * networking programs (tc, XDP), which the sensor has none of. */
	if (!have_bpf_caps()) {
		snprintf(err, errlen,
			 "loading eBPF programs needs root, or CAP_BPF and CAP_PERFMON (and for "
			 "HTTPS capture CAP_SYS_ADMIN and CAP_SYS_PTRACE, or --tls off): run it with "
			 "sudo");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(err, errlen,
			 "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): apisonar "
			 "needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8 or newer)");
		return -ENOENT;
	}
	if (kernel_older_than(5, 8)) {
		snprintf(err, errlen,
			 "this kernel is too old: apisonar needs Linux 5.8 or newer (BPF ring buffer)");
		return -ENOSYS;
	}
	return 0;
}

struct loader *loader_open(const struct loader_opts *o, char *err, size_t errlen)
{
	struct loader *l;
	int rc;

	verbose = o->verbose;
	libbpf_set_print(libbpf_print);

	if (loader_preflight(err, errlen))
		return NULL;
	if (o->max_copy < 64 || o->max_copy > AS_MAX_COPY) {
		snprintf(err, errlen, "max copy must be between 64 and %d bytes", AS_MAX_COPY);
		return NULL;
	}

	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->skel = apisonar__open();
	if (!l->skel) {
		snprintf(err, errlen, "cannot open the embedded BPF object: %s", strerror(errno));
		goto fail;
	}
	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0) {
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-l->ncpus));
		goto fail;
	}
	bpf_map__set_max_entries(l->skel->maps.scratch, (uint32_t)l->ncpus);
	bpf_map__set_max_entries(l->skel->maps.events, o->ringbuf_bytes);
	l->skel->rodata->max_copy = o->max_copy;
	l->skel->rodata->wakeup_bytes = o->wakeup_bytes;
	l->skel->rodata->empty_hooks = o->empty_hooks;
	{
		uint64_t call = o->max_call_copy;

		if (call < o->max_copy)
			call = o->max_copy;
		if (call > (uint64_t)AS_MAX_CHUNKS * o->max_copy)
			call = (uint64_t)AS_MAX_CHUNKS * o->max_copy;
		l->skel->rodata->max_call_copy = (uint32_t)call;
		/* bpf_loop came in 5.17: older kernels copy one record per call. */
		l->skel->rodata->use_loop =
			libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_FUNC_loop, NULL) == 1;
	}

	/* Go's probes find their binary's offsets through the uprobe cookie
	 * (Linux 5.15); without it they are not loaded, and Go binaries are
	 * reported as not attached (src/sensor/tls_attach.c). */
	if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_get_attach_cookie, NULL) != 1) {
		bpf_program__set_autoload(l->skel->progs.as_go_read, false);
		bpf_program__set_autoload(l->skel->progs.as_go_write, false);
		bpf_program__set_autoload(l->skel->progs.as_go_ret, false);
	}

	rc = apisonar__load(l->skel);
	if (rc) {
		if (rc == -EPERM || errno == EPERM)
			snprintf(err, errlen,
				 "the kernel refused to load the BPF programs (permission denied): "
				 "run as root; in a container grant CAP_BPF, CAP_PERFMON and "
				 "CAP_SYS_RESOURCE, or run it privileged");
		else
			snprintf(err, errlen,
				 "the kernel's verifier rejected the BPF programs (%s): rerun with "
				 "--verbose to see the verifier log, and report it with your kernel "
				 "version",
				 strerror(-rc));
		goto fail;
	}
	l->start_ns = now_mono_ns();
	rc = loader_set_filters(l, &o->filters);
	if (rc) {
		snprintf(err, errlen, "cannot write the filter maps: %s", strerror(-rc));
		goto fail;
	}
	/* raw_tp sys_enter/sys_exit need no tracefs mount. The SSL uprobes
	 * have bare SEC("uprobe") names, which libbpf does not auto-attach:
	 * src/sensor/tls_attach.c attaches them per library file. */
	rc = apisonar__attach(l->skel);
	if (rc) {
		snprintf(err, errlen,
			 "cannot attach to the sys_enter/sys_exit tracepoints (%s): the kernel "
			 "needs CONFIG_FTRACE_SYSCALLS; rerun with --verbose for details",
			 strerror(-rc));
		goto fail;
	}
	return l;
fail:
	loader_close(l);
	return NULL;
}

void loader_close(struct loader *l)
{
	if (!l)
		return;
	apisonar__destroy(l->skel);
	free(l);
}

struct bpf_object *loader_object(struct loader *l)
{
	return l->skel->obj;
}

struct ring_buffer *loader_ring(struct loader *l, ring_buffer_sample_fn cb, void *ctx)
{
	return ring_buffer__new(bpf_map__fd(l->skel->maps.events), cb, ctx, NULL);
}

int loader_counters(struct loader *l, uint64_t out[AS_C_NR])
{
	uint64_t *vals;
	uint32_t i;
	int c;

	vals = calloc((size_t)l->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < AS_C_NR; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.counters), &i, vals)) {
			free(vals);
			return -errno;
		}
		for (c = 0; c < l->ncpus; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}
