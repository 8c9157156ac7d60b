/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the sensor, with what it holds and who writes it. */
#ifndef APISONAR_MAPS_H
#define APISONAR_MAPS_H

#include "apisonar/sensor/budget.h"
#include "apisonar/sensor/events.h"

/* Connection state, BPF side only. */
#define CONN_UNKNOWN 0 /* a TCP socket; no data seen yet */
#define CONN_HTTP 1    /* first bytes were HTTP/1.x: every event is sent */
#define CONN_TLS 2     /* TLS records (or an SSL call underneath): ciphertext is never
			* sent; waits for the plaintext of an SSL_* return */
#define CONN_TLS_HTTP 3 /* TLS whose plaintext is HTTP/1.x: plaintext is sent */

/* Ciphertext syscalls (outside any SSL call) a CONN_TLS connection may make
 * before it is given up as one whose library we do not see. */
#define TLS_BLIND_MAX 64

struct conn_key {
	__u32 tgid;
	__u32 fd;
};

struct conn {
	__u64 id;
	__u64 pos[2];   /* next byte offset per direction (AS_DIR_*) */
	__u64 tpos[2];  /* the same for TLS plaintext */
	__u8 state;     /* CONN_* */
	__u8 blind;     /* ciphertext syscalls seen outside SSL calls (CONN_TLS) */
	__u8 flags;     /* AS_F_MIDSTREAM / ACCEPTED / CONNECTED */
	__u16 family;
	__u16 lport;
	__u16 rport;
	__u8 laddr[16];
	__u8 raddr[16];
	__u64 cgroup_id;           /* of the process that owns the fd, */
	char comm[AS_COMM_LEN_K];  /* read once when it is classified */
	__u64 ssl;                 /* the SSL * bound to it from its ciphertext (memory BIOs) */
	/* The capture budget (CONN_HTTP only): see budget_gate(). */
	__u64 skip_from[2];  /* stream positions where the skipped range began */
	__u32 skip_turns;    /* exchanges in the skipped range so far */
	__u32 turns;         /* exchanges started on this connection */
	__u8 last_dir;       /* direction of the last data syscall + 1; 0: none yet */
	__u8 sampling;       /* 1: the exchange in progress is skipped */
	__u8 turn_lost;      /* the captured exchange in progress lost a record */
	__u8 _bpad;
};

/* A data syscall's arguments, read at its exit (on the stack). */
struct stash {
	__u64 ptr;   /* buf, iovec array or user_msghdr, by kind */
	__u32 fd;
	__u32 kind;  /* KIND_* */
	__u32 iovcnt;
	__u32 dir;
};

#define KIND_BUF 1    /* read/write/recvfrom/sendto: ptr is the buffer */
#define KIND_IOV 2    /* readv/writev: ptr is the iovec array */
#define KIND_MSG 3    /* recvmsg/sendmsg: ptr is a user_msghdr */
#define KIND_NODATA 4 /* sendfile: bytes move, none we can copy */
#define KIND_ACCEPT 5 /* accept/accept4: the return value is the new fd */
#define KIND_CONNECT 6

/* A thread inside SSL_read/SSL_write (or the _ex forms), from the entry
 * uprobe to the return uprobe. */
struct tls_call {
	__u64 ssl;   /* the SSL * */
	__u64 buf;   /* the plaintext buffer */
	__u64 outp;  /* _ex forms: the size_t * that receives the byte count */
	__u32 fd;    /* socket read or written underneath, when have_fd */
	__u8 have_fd;
	__u8 dir;    /* AS_DIR_INGRESS for SSL_read, EGRESS for SSL_write */
	__u8 ex;     /* 1: an _ex form (returns 1/0), 2: internal (> 0); count in *outp */
	__u8 _pad;
};

struct tls_ssl_key {
	__u64 ssl;
	__u32 tgid;
	__u32 _pad;
};

/* One record under construction: header and payload, per CPU. Only
 * AS_MAX_COPY bytes are ever used; the room beyond is what lets the
 * verifier prove that an offset masked below AS_MAX_COPY plus a size masked
 * below 2 * AS_MAX_COPY stays inside. */
struct scratch {
	struct as_event ev;
	__u8 data[3 * AS_MAX_COPY];
};

/* Ring buffer to userspace; its size is set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* HTTP and not-yet-classified TCP sockets, by (tgid, fd). A plain hash: an
 * entry leaves only on close or when classified away, so a busy host can
 * not evict a live connection; a full map is counted (AS_C_DROP_MAP_FULL). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, struct conn);
} conns SEC(".maps");

/* fds known not to matter: files, pipes, UDP, non-HTTP or filtered
 * sockets. LRU: losing an entry only costs one more classification. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 131072);
	__type(key, struct conn_key);
	__type(value, __u8);
} skip SEC(".maps");

/* Threads inside an SSL call, by pid_tgid. Written by the SSL_* entry
 * uprobes and by sys_exit (the fd underneath), consumed by the return
 * uprobe. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tls_call);
} tls_calls SEC(".maps");

/* The socket of each SSL session, by (tgid, SSL *): an SSL_read served
 * from OpenSSL's own buffer makes no syscall, so its socket comes from
 * here. Written at SSL_* return, deleted by SSL_free. LRU: a session
 * freed without SSL_free only costs a slot until evicted. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tls_ssl_key);
	__type(value, __u32);
} tls_fds SEC(".maps");

/* Per thread, for programs that run OpenSSL over memory BIOs (node): their
 * socket I/O is never under an SSL call. An SSL_read there comes right
 * after the thread read that session's ciphertext from its socket, and the
 * ciphertext of an SSL_write is written right after it. */
struct tls_thread {
	__u64 pending_ssl; /* an SSL_write whose socket is not known yet */
	__u32 fd;          /* socket of the last ciphertext moved outside SSL calls */
	__u8 dir;          /* its direction */
	__u8 have;         /* fd and dir are set */
	__u8 _pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tls_thread);
} tls_threads SEC(".maps");

/* Per-CPU record buffers; max_entries is set to the CPU count by the
 * loader (a per-CPU map's value may not exceed 32 KiB). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* enum as_counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AS_C_NR);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The capture budget: configuration (userspace) and one bucket per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct as_budget_cfg);
} budget_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct as_budget_state);
} budget_state SEC(".maps");

/* Request keys (as_request_key) seen by the budget: a request whose key is
 * not here is taken past the budget, from a second bucket, so that a rare
 * endpoint on a busy connection is seen at its first request. LRU. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} budget_seen SEC(".maps");

/* Connections (by conn id) the budget never splits: userspace saw their
 * client pipeline requests, so an exchange boundary in the syscalls is
 * not one in the messages. LRU: a lost entry only lets the rule apply. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, __u8);
} budget_whole SEC(".maps");

/* Source of connection ids. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} next_id SEC(".maps");

/* Filters, written by userspace, read when a connection is classified.
 * A list is in force only when its use_* flag in filter_cfg is set. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct as_filter_cfg);
} filter_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} filter_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[AS_COMM_LEN_K]);
	__type(value, __u8);
} filter_comms SEC(".maps");

/* Ports that select connections (use_port). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} filter_ports SEC(".maps");

/* Ports always skipped (databases, caches, brokers, DNS), unless a port
 * filter names them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} skip_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} filter_cgroups SEC(".maps");

/* The sensor's own listening sockets (as_self_key), written by userspace
 * once they are bound; never cleared by a filter change. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct as_self_key);
	__type(value, __u8);
} self_listen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct as_cidr_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} filter_cidrs SEC(".maps");

#endif
