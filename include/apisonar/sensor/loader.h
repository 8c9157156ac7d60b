/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The loader: checks that this host can run the sensor, loads and attaches
 * the kernel programs, writes the filters into their maps, and hands out
 * the ring buffer and the kernel's counters.
 */
#ifndef APISONAR_LOADER_H
#define APISONAR_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <bpf/libbpf.h>

#include "apisonar/sensor/events.h"

#define LOADER_MAX_LIST 64

/* Filters: an empty list means "no filter of that kind". Filters decide
 * when a connection is first seen; a change applies to new connections. */
struct loader_filters {
	uint32_t pids[LOADER_MAX_LIST];
	size_t n_pids;
	char comms[LOADER_MAX_LIST][AS_COMM_LEN_K];
	size_t n_comms;
	uint16_t ports[LOADER_MAX_LIST];
	size_t n_ports;
	uint64_t cgroups[LOADER_MAX_LIST];
	size_t n_cgroups;
	struct as_cidr_key cidrs[LOADER_MAX_LIST];
	size_t n_cidrs;
	uint32_t role_mask; /* 1 server, 2 client, 3 both */
	bool no_default_skip_ports; /* capture databases' ports too */
	uint32_t tls_mode; /* AS_TLS_ON (default), AS_TLS_OFF or AS_TLS_ONLY */
	/* The capture budget (not a filter, but reloaded with them): HTTP/1
	 * exchanges per second the kernel copies on this host, 0 = all. New
	 * connections' first budget_new_conn exchanges and everything in the
	 * first budget_warmup_s seconds after loader_open() are copied anyway. */
	uint32_t budget;
	uint32_t budget_burst;     /* exchanges the bucket holds; 0: one second's worth */
	uint32_t budget_warmup_s;
	uint32_t budget_new_conn;
};

/* What `apisonar run` uses unless told otherwise (docs/sensor-cost.md). */
#define LOADER_BUDGET_RUN_DEFAULT 200
#define LOADER_BUDGET_WARMUP_DEFAULT 5
#define LOADER_BUDGET_NEW_CONN_DEFAULT 1

struct loader_opts {
	struct loader_filters filters;
	uint32_t max_copy;      /* bytes copied per record (64..AS_MAX_COPY) */
	uint32_t max_call_copy; /* bytes copied per syscall or SSL call, in up to
				 * AS_MAX_CHUNKS records; raised to max_copy at least,
				 * cut to AS_MAX_CHUNKS * max_copy */
	uint32_t ringbuf_bytes; /* power of two, >= 1 MiB */
	uint32_t wakeup_bytes;  /* pending bytes that wake the consumer */
	bool verbose;           /* libbpf and verifier logs on stderr */
	bool empty_hooks;       /* benchmarks: programs that return at once */
};

void loader_opts_default(struct loader_opts *o);

/* Parses "10.0.0.0/8", "::1/128" or an address into a trie key. */
int loader_parse_cidr(const char *s, struct as_cidr_key *out) __attribute__((warn_unused_result));

/* The id of a cgroup v2 directory (its inode number): an absolute path,
 * or one relative to the cgroup2 mount found in /proc/self/mounts (hosts
 * with a hybrid hierarchy mount it at /sys/fs/cgroup/unified). */
int loader_cgroup_id(const char *path, uint64_t *id) __attribute__((warn_unused_result));

struct loader;

/* The checks loader_open() starts with (privileges, BTF, kernel version),
 * for callers that want to fail before doing anything else: 0, or a
 * negative errno with an actionable message in err. */
int loader_preflight(char *err, size_t errlen) __attribute__((warn_unused_result));

/* Checks, opens, loads and attaches. On failure returns NULL and writes an
 * actionable message into err (what is wrong and what to do). */
struct loader *loader_open(const struct loader_opts *o, char *err, size_t errlen);
void loader_close(struct loader *l);

/* Rewrites the filter maps (SIGHUP). */
int loader_set_filters(struct loader *l, const struct loader_filters *f)
	__attribute__((warn_unused_result));

/* Excludes the connections to one of our own listening sockets (the
 * daemon's /metrics): an AF_INET or AF_INET6 address as bound (a wildcard
 * address covers the clients of this host on that port). Kept across
 * filter changes. */
int loader_exclude_listener(struct loader *l, const struct sockaddr *sa)
	__attribute__((warn_unused_result));

/* A ring buffer reader over the events map, calling cb for each record. */
struct ring_buffer *loader_ring(struct loader *l, ring_buffer_sample_fn cb, void *ctx);

/* Sums the per-CPU counters (enum as_counter) into out[AS_C_NR]. */
int loader_counters(struct loader *l, uint64_t out[AS_C_NR]) __attribute__((warn_unused_result));

/* Tells the budget never to split connection conn_id (userspace saw it
 * pipeline): its exchanges are copied whole from now on. */
int loader_budget_whole(struct loader *l, uint64_t conn_id);

/* The loaded BPF object, for modules that attach more programs (TLS). */
struct bpf_object *loader_object(struct loader *l);

/* Names of the counters, for summaries and metrics. */
const char *loader_counter_name(enum as_counter c);

#endif
