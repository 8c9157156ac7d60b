// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * apisonar kernel side: see the bytes that processes move through TCP
 * sockets, keep only connections whose first bytes are HTTP/1.x, and hand
 * those bytes to userspace through one ring buffer.
 *
 * Hooks: the raw sys_enter and sys_exit tracepoints. They fire for every
 * syscall, so the first thing each program does is a switch on the syscall
 * number; measured here they cost less than the per-syscall tracepoints
 * (which go through the perf trace buffer) and they need no tracefs.
 * Data syscalls are handled at exit only, their arguments read from the
 * registers saved at entry: one connection lookup per syscall.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "maps.h"
#include "syscalls.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader before load. */
const volatile __u32 max_copy = AS_DEFAULT_COPY;
const volatile __u32 wakeup_bytes = 256 * 1024;
/* Bytes copied from one call at most, in up to AS_MAX_CHUNKS records of
 * max_copy bytes: the loader sets it from the body limit. */
const volatile __u32 max_call_copy = AS_DEFAULT_COPY;
/* bpf_loop exists (Linux 5.17): without it, one record per call. */
const volatile __u32 use_loop = 0;
/* Benchmarks only (capture --empty-hooks): both programs return at once,
 * which measures the floor of hooking every syscall. */
const volatile __u32 empty_hooks = 0;

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000

static __always_inline void count_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += n;
}

static __always_inline void count(__u32 idx)
{
	count_add(idx, 1);
}

/* The struct socket behind (current task, fd), or NULL. CO-RE reads of
 * task->files->fdt->fd[fd]; works for sockets opened before we started. */
static __always_inline struct socket *fd_to_socket(__u32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds;
	struct file *file;
	struct inode *inode;
	unsigned int max_fds;
	umode_t mode;

	fds = BPF_CORE_READ(task, files, fdt, fd);
	max_fds = BPF_CORE_READ(task, files, fdt, max_fds);
	if (!fds || fd >= max_fds)
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	inode = BPF_CORE_READ(file, f_inode);
	if (!inode)
		return NULL;
	mode = BPF_CORE_READ(inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	return BPF_CORE_READ(file, private_data);
}

/* Fills addresses and ports from the socket. Returns 0 for a TCP socket
 * over IPv4 or IPv6, -1 otherwise. */
static __always_inline int sock_addrs(struct socket *sock, struct conn *c)
{
	struct sock *sk;
	__u16 family, type;

	type = BPF_CORE_READ(sock, type);
	if (type != SOCK_STREAM)
		return -1;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return -1;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == AF_INET) {
		bpf_core_read(c->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(c->raddr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		bpf_core_read(c->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(c->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		return -1;
	}
	c->family = family;
	c->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	c->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return 0;
}

static __always_inline void mark_skip(struct conn_key *key)
{
	__u8 one = 1;

	bpf_map_update_elem(&skip, key, &one, BPF_ANY);
}

static __always_inline int port_in(void *map, __u16 a, __u16 b)
{
	return bpf_map_lookup_elem(map, &a) || bpf_map_lookup_elem(map, &b);
}

/* Byte by byte: the addresses in struct conn are not 8-byte aligned. */
static __always_inline int addr_eq(const __u8 *a, const __u8 *b)
{
	__u8 diff = 0;
	int i;

#pragma unroll
	for (i = 0; i < 16; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static __always_inline int addr_loopback(__u16 family, const __u8 *a)
{
	__u8 high = 0;
	int i;

	if (family == AF_INET)
		return a[0] == 127;
#pragma unroll
	for (i = 0; i < 10; i++)
		high |= a[i];
	if (high)
		return 0;
	/* ::1, or ::ffff:127.x.y.z */
	return (a[10] == 0 && a[11] == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] == 1) ||
	       (a[10] == 0xff && a[11] == 0xff && a[12] == 127);
}

/* Whether a connection goes to one of the sensor's own listening sockets
 * (a client scraping the daemon's /metrics): the daemon's side is its own
 * process, the client's side is excluded here. For a wildcard listener, a
 * client on this host connects to one of the host's addresses, and Linux
 * picks that same address as the source, so the peer is local when both
 * addresses are equal (or it is loopback). */
static __always_inline int to_self(struct conn *c)
{
	struct as_self_key k = { .family = c->family, .port = c->rport };

	__builtin_memcpy(k.addr, c->raddr, 16);
	if (bpf_map_lookup_elem(&self_listen, &k))
		return 1;
	__builtin_memset(&k, 0, sizeof(k));
	k.port = c->rport;
	if (!bpf_map_lookup_elem(&self_listen, &k))
		return 0;
	return addr_eq(c->laddr, c->raddr) || addr_loopback(c->family, c->raddr);
}

/* Whether the filters let a connection through. Runs once per connection. */
static __always_inline int filters_pass(struct as_filter_cfg *cfg, struct conn *c, __u32 tgid)
{
	if (tgid == cfg->self_tgid || to_self(c))
		return 0;
	if (cfg->use_pid && !bpf_map_lookup_elem(&filter_pids, &tgid))
		return 0;
	if (cfg->use_comm) {
		char comm[AS_COMM_LEN_K] = {};

		bpf_get_current_comm(comm, sizeof(comm));
		if (!bpf_map_lookup_elem(&filter_comms, comm))
			return 0;
	}
	if (cfg->use_port) {
		if (!port_in(&filter_ports, c->lport, c->rport))
			return 0;
	} else if (port_in(&skip_ports, c->lport, c->rport)) {
		return 0;
	}
	if (cfg->use_cgroup) {
		__u64 cg = bpf_get_current_cgroup_id();

		if (!bpf_map_lookup_elem(&filter_cgroups, &cg))
			return 0;
	}
	if (cfg->use_cidr) {
		struct as_cidr_key k = { .prefixlen = 32 + 128, .family = c->family };

		__builtin_memcpy(k.addr, c->raddr, 16);
		if (!bpf_map_lookup_elem(&filter_cidrs, &k))
			return 0;
	}
	return 1;
}

/* A new id for a connection: unique for the life of the maps. */
static __always_inline __u64 new_conn_id(void)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&next_id, &zero);

	if (!v)
		return 0;
	return __sync_fetch_and_add(v, 1) + 1;
}

/* Looks a connection up, classifying the fd the first time it is seen.
 * NULL means: nothing to do for this fd. */
/* A new connection's entry is built here, not on the stack: the
 * programs, emit_chunk and copy_iov_from share 512 bytes of stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct conn);
} conn_new SEC(".maps");

static __always_inline struct conn *conn_get(__u32 tgid, __u32 fd, __u8 origin)
{
	struct conn_key key = { .tgid = tgid, .fd = fd };
	struct as_filter_cfg *cfg;
	struct socket *sock;
	struct conn *c, *nc;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&conns, &key);
	if (c)
		return c;
	if (bpf_map_lookup_elem(&skip, &key))
		return NULL;
	nc = bpf_map_lookup_elem(&conn_new, &zero);
	if (!nc)
		return NULL;
	__builtin_memset(nc, 0, sizeof(*nc));
	sock = fd_to_socket(fd);
	if (!sock || sock_addrs(sock, nc)) {
		mark_skip(&key);
		return NULL;
	}
	cfg = bpf_map_lookup_elem(&filter_cfg, &zero);
	if (!cfg || !filters_pass(cfg, nc, tgid)) {
		count(AS_C_CONN_FILTERED);
		mark_skip(&key);
		return NULL;
	}
	nc->id = new_conn_id();
	nc->flags = origin;
	nc->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(nc->comm, sizeof(nc->comm));
	/* NOEXIST: another thread may have classified the fd meanwhile. */
	bpf_map_update_elem(&conns, &key, nc, BPF_NOEXIST);
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		count(AS_C_CONN_MAP_FULL);
	return c;
}

static __always_inline int is_method(const __u8 *p)
{
	/* First four bytes of the methods apisonar parses. */
	switch (p[0]) {
	case 'G':
		return p[1] == 'E' && p[2] == 'T' && p[3] == ' ';
	case 'P':
		return (p[1] == 'O' && p[2] == 'S' && p[3] == 'T') ||
		       (p[1] == 'U' && p[2] == 'T' && p[3] == ' ') ||
		       (p[1] == 'A' && p[2] == 'T' && p[3] == 'C');
	case 'H':
		return (p[1] == 'E' && p[2] == 'A' && p[3] == 'D') ||
		       (p[1] == 'T' && p[2] == 'T' && p[3] == 'P');
	case 'D':
		return p[1] == 'E' && p[2] == 'L' && p[3] == 'E';
	case 'O':
		return p[1] == 'P' && p[2] == 'T' && p[3] == 'I';
	case 'C':
		return p[1] == 'O' && p[2] == 'N' && p[3] == 'N';
	case 'T':
		return p[1] == 'R' && p[2] == 'A' && p[3] == 'C';
	}
	return 0;
}

/* The role a connection's first HTTP bytes imply, as AS_F_ACCEPTED
 * (server) or AS_F_CONNECTED (client); 0 when they are not HTTP/1.x. */
static __always_inline __u8 infer_http(const __u8 *p, __u32 n, __u32 dir)
{
	int response;

	if (n < 5 || !is_method(p))
		return 0;
	response = p[0] == 'H' && p[1] == 'T' && p[2] == 'T' && p[3] == 'P';
	if (response && p[4] != '/')
		return 0;
	if (response == (dir == AS_DIR_INGRESS))
		return AS_F_CONNECTED; /* reads responses or writes requests */
	return AS_F_ACCEPTED;
}

/* --role: 1 = server side, 2 = client side. */
static __always_inline int role_allowed(__u8 flags)
{
	__u32 zero = 0;
	struct as_filter_cfg *cfg = bpf_map_lookup_elem(&filter_cfg, &zero);
	__u32 want = (flags & AS_F_ACCEPTED) ? 1 : 2;

	return cfg && (cfg->role_mask & want);
}

static __always_inline struct scratch *scratch_get(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch, &cpu);
}

/* Copies up to `want` bytes of user memory to s->data at off. Returns the
 * bytes copied (0 on a fault). The empty asm statements hide the values
 * from clang so that it keeps the masks: the verifier needs to see both
 * bounds on the very registers passed to the helper. */
static __always_inline __u32 copy_user(struct scratch *s, __u32 off, const void *src, __u64 want)
{
	__u64 n, o = off;

	if (o >= AS_MAX_COPY)
		return 0;
	n = want > AS_MAX_COPY - o ? AS_MAX_COPY - o : want;
	asm volatile("" : "+r"(o));
	asm volatile("" : "+r"(n));
	o &= AS_MAX_COPY - 1;
	n &= 2 * AS_MAX_COPY - 1;
	if (bpf_probe_read_user(&s->data[o], n, src))
		return 0;
	return (__u32)n;
}

/* Copies `want` bytes of the data of iovecs, from byte `skip` of it on,
 * into the scratch record. Returns the bytes copied; fewer than want when
 * the data ends, an iovec cannot be read, or past AS_MAX_IOV iovecs. */
static __always_inline __u32 copy_iov(struct scratch *s, const struct iovec *iov, __u32 iovcnt,
				      __u64 skip, __u64 want)
{
	__u32 off = 0;
	int i;

#pragma unroll
	for (i = 0; i < AS_MAX_IOV; i++) {
		struct iovec v;
		__u64 n;

		if (i >= iovcnt || off >= want)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		if (skip >= v.iov_len) {
			skip -= v.iov_len;
			continue;
		}
		n = v.iov_len - skip;
		if (n > want - off)
			n = want - off;
		if (copy_user(s, off, (const char *)v.iov_base + skip, n) != n)
			break;
		skip = 0;
		off += n;
	}
	return off;
}

/* copy_iov for the records after a call's first (emit_chunk): a global
 * function, which the verifier checks once on its own. Inlined into the
 * bpf_loop callback, its unrolled walk was checked again for every state
 * the callback is entered with, and kernels that check callbacks as loops
 * (6.8 and later) went past the verifier's 1M instructions. */
__noinline __u32 copy_iov_from(struct scratch *s, __u64 iov, __u32 iovcnt, __u64 skip,
			       __u64 want)
{
	if (!s)
		return 0;
	return copy_iov(s, (const struct iovec *)iov, iovcnt, skip, want);
}

/* Iovecs walked per call with bpf_loop: UIO_MAXIOV. gRPC's HTTP/2 writes
 * one iovec per header name and value, 24 and more in one sendmsg. */
#define IOV_LOOP_MAX 1024

/* copy_iov's state, one iovec per bpf_loop step. */
struct iov_ctx {
	const struct iovec *iov;
	__u64 want;
	__u32 iovcnt;
	__u32 off;
};

static long copy_iov_step(__u32 i, void *arg)
{
	struct iov_ctx *x = arg;
	struct scratch *s = scratch_get();
	struct iovec v;
	__u64 n;

	if (!s || i >= x->iovcnt || x->off >= x->want)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), &x->iov[i]))
		return 1;
	n = v.iov_len;
	if (n > x->want - x->off)
		n = x->want - x->off;
	if (copy_user(s, x->off, v.iov_base, n) != n)
		return 1;
	x->off += n;
	return 0;
}

/* The first `want` bytes of iovecs: every iovec with bpf_loop when the
 * kernel has it, else the first AS_MAX_IOV (copy_iov). */
static __always_inline __u32 copy_iov_wide(struct scratch *s, const struct iovec *iov,
					   __u32 iovcnt, __u64 want)
{
	struct iov_ctx x = { .iov = iov, .want = want, .iovcnt = iovcnt };

	if (!use_loop || iovcnt <= AS_MAX_IOV)
		return copy_iov(s, iov, iovcnt, 0, want);
	bpf_loop(IOV_LOOP_MAX, copy_iov_step, &x, 0);
	return x.off;
}

/* "PRI * HTTP/2.0": the HTTP/2 connection preface a client sends. */
static __always_inline int is_h2_preface(const __u8 *p)
{
	return p[0] == 'P' && p[1] == 'R' && p[2] == 'I' && p[3] == ' ' && p[4] == '*' &&
	       p[5] == ' ' && p[6] == 'H' && p[7] == 'T' && p[8] == 'T' && p[9] == 'P' &&
	       p[10] == '/' && p[11] == '2';
}

/* An HTTP/2 SETTINGS frame on stream 0, what an h2 server writes first:
 * 24-bit length (a multiple of 6), type 4, flags, stream id 0. */
static __always_inline int is_h2_settings(const __u8 *p)
{
	__u32 len = (__u32)p[0] << 16 | (__u32)p[1] << 8 | p[2];

	return p[3] == 0x04 && (p[4] & ~1) == 0 && p[5] == 0 && p[6] == 0 && p[7] == 0 &&
	       p[8] == 0 && len % 6 == 0 && len <= 16384;
}

/* The first bytes of an HTTP/2 connection, from either end: the client's
 * preface or the server's first SETTINGS frame. Returns the role they
 * imply (as infer_http does), 0 when they are not HTTP/2's. */
static __always_inline __u8 infer_h2(const __u8 *p, __u32 n, __u32 dir)
{
	if (n >= 12 && is_h2_preface(p))
		return dir == AS_DIR_EGRESS ? AS_F_CONNECTED : AS_F_ACCEPTED;
	if (n >= 9 && is_h2_settings(p))
		return dir == AS_DIR_EGRESS ? AS_F_ACCEPTED : AS_F_CONNECTED;
	return 0;
}

/* Whether a connection's first bytes are a TLS record header: content type
 * 20..23 (change cipher spec, alert, handshake, application data), then
 * major version 3. A one-byte peek (nginx does one) is judged on its type. */
static __always_inline int looks_tls(const __u8 *p, __u32 n)
{
	if (n < 1 || p[0] < 0x14 || p[0] > 0x17)
		return 0;
	return n < 2 || p[1] == 0x03;
}

static __always_inline __u32 tls_mode(void)
{
	__u32 zero = 0;
	struct as_filter_cfg *cfg = bpf_map_lookup_elem(&filter_cfg, &zero);

	return cfg ? cfg->tls_mode : AS_TLS_ON;
}

/* Forgets a connection for good: later syscalls on its fd cost one lookup. */
static __always_inline void conn_ignore(struct conn_key *key, __u32 why)
{
	count(why);
	bpf_map_delete_elem(&conns, key);
	mark_skip(key);
}

/* The first HTTP bytes decided: record the role they imply (unless accept
 * or connect already told) and apply the role filter. Returns 0 when the
 * connection is kept, now in `state`; -1 when the filter let it go. */
static __always_inline int conn_adopt(struct conn_key *key, struct conn *c, __u8 role, __u8 state)
{
	if (!(c->flags & (AS_F_ACCEPTED | AS_F_CONNECTED)))
		c->flags |= role;
	if (!role_allowed(c->flags)) {
		conn_ignore(key, AS_C_CONN_FILTERED);
		return -1;
	}
	c->state = state;
	count(AS_C_CONN_TRACKED);
	return 0;
}

/* ---- the capture budget (HTTP/1, plaintext) -----------------------------
 *
 * An exchange starts at the first request byte after the other direction
 * moved (or the connection's first request): for a server the first read
 * after a write, for a client the first write after a read. There, and
 * only there, the per-CPU token bucket decides whether the exchange is
 * copied. A skipped exchange costs the lookup that found the connection
 * and this compare on each syscall: its bytes only advance the stream
 * positions. When copying resumes (or at close) one AS_EV_SKIP record
 * tells userspace the exact ranges and how many exchanges were in them,
 * so its parser restarts at the next captured request. A request-side
 * syscall that does not begin with a method (a body sent after
 * 100-continue, the rest of a pipelined request) is no boundary: the
 * exchange in progress goes on, copied or not. */

/* A record of the copied exchange in progress was lost: in the books it
 * moves from captured to dropped, once. */
static __always_inline void turn_drop(struct conn *c)
{
	if (c->state != CONN_HTTP || c->sampling || c->turn_lost || !c->turns)
		return;
	c->turn_lost = 1;
	count_add(AS_C_XCH_CAPTURED, (__u64)-1); /* the per-CPU sums still add up */
	count(AS_C_XCH_DROPPED);
}

/* The direction requests go in: a client writes them, a server reads them. */
static __always_inline __u32 req_dir(struct conn *c)
{
	return (c->flags & AS_F_CONNECTED) ? AS_DIR_EGRESS : AS_DIR_INGRESS;
}

/* The first bytes of the data of this call, at most AS_NOVEL_BYTES, into
 * p. Returns how many were read. */
static __always_inline __u32 peek_bytes(struct stash *st, __u64 ret, __u8 *p)
{
	const void *src = (const void *)st->ptr;
	__u64 n = ret, len = ret;

	if (st->kind == KIND_MSG) {
		const void *iov;

		if (bpf_probe_read_user(&iov, sizeof(iov),
					(const char *)src + offsetof(struct user_msghdr, msg_iov)))
			return 0;
		src = iov;
	}
	if (st->kind == KIND_MSG || st->kind == KIND_IOV) {
		struct iovec v;

		if (bpf_probe_read_user(&v, sizeof(v), src))
			return 0;
		src = v.iov_base;
		len = v.iov_len;
	}
	if (n > len)
		n = len;
	if (n > AS_NOVEL_BYTES)
		n = AS_NOVEL_BYTES;
	asm volatile("" : "+r"(n));
	n &= 2 * AS_NOVEL_BYTES - 1;
	if (n < 4 || n > AS_NOVEL_BYTES || bpf_probe_read_user(p, n, src))
		return 0;
	return (__u32)n;
}

/* The first bytes of a request, for its novelty key. */
struct key_buf {
	__u8 p[AS_NOVEL_BYTES];
	__u32 n;
	__u32 _pad;
};

/* Off the stack: the programs, emit_chunk and copy_iov_from share the
 * verifier's 512 bytes of stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct key_buf);
} key_bufs SEC(".maps");

/* A global function: the verifier checks it once, on its own, instead of
 * walking its loop on every path of its caller. */
__noinline __u64 request_key(struct key_buf *kb)
{
	if (!kb)
		return 0;
	return as_request_key(kb->p, kb->n);
}

/* Whether the exchange that starts now is copied: kb holds its first
 * bytes (a request). */
static __always_inline int budget_take(struct conn *c, struct key_buf *kb)
{
	__u32 zero = 0;
	struct as_budget_cfg *cfg = bpf_map_lookup_elem(&budget_cfg, &zero);
	struct as_budget_state *b;
	__u64 now, k;
	__u8 one = 1;

	if (!cfg || !cfg->rate_milli)
		return 1;
	k = request_key(kb);
	if (c->turns <= cfg->new_conn_turns)
		goto take;
	now = bpf_ktime_get_ns();
	if (now < cfg->warmup_until)
		goto take;
	b = bpf_map_lookup_elem(&budget_state, &zero);
	if (!b || as_bucket_take(&b->main, now, cfg->rate_milli, cfg->burst))
		goto take;
	if (bpf_map_lookup_elem(&budget_whole, &c->id))
		return 1;
	/* Past the budget: a request key never captured still gets in, as far
	 * as the novelty bucket allows (ids in paths would make every key new). */
	if (bpf_map_lookup_elem(&budget_seen, &k))
		return 0;
	if (!as_bucket_take(&b->novel, now, cfg->rate_milli, cfg->burst))
		return 0;
	count(AS_C_XCH_NOVEL);
take:
	if (!bpf_map_lookup_elem(&budget_seen, &k))
		bpf_map_update_elem(&budget_seen, &k, &one, BPF_ANY);
	return 1;
}

struct skip_rec {
	struct as_event ev;
	struct as_skip sk;
};

/* Ends the skipped range at the current stream positions: one AS_EV_SKIP. */
static __always_inline void emit_skip(struct conn_key *key, struct conn *c)
{
	struct skip_rec *r;

	count(AS_C_SEEN);
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		count(AS_C_DROP_RB_FULL);
		count_add(AS_C_XCH_SKIP_LOST, c->skip_turns);
	} else {
		__builtin_memset(r, 0, sizeof(*r));
		r->ev.ts_ns = bpf_ktime_get_ns();
		r->ev.conn_id = c->id;
		r->ev.cgroup_id = c->cgroup_id;
		r->ev.tgid = key->tgid;
		r->ev.tid = (__u32)bpf_get_current_pid_tgid();
		r->ev.fd = key->fd;
		r->ev.len = sizeof(r->sk);
		r->ev.copied = sizeof(r->sk);
		r->ev.type = AS_EV_SKIP;
		r->ev.flags = c->flags;
		r->ev.family = c->family;
		r->ev.lport = c->lport;
		r->ev.rport = c->rport;
		__builtin_memcpy(r->ev.laddr, c->laddr, 16);
		__builtin_memcpy(r->ev.raddr, c->raddr, 16);
		__builtin_memcpy(r->ev.comm, c->comm, sizeof(r->ev.comm));
		r->sk.from[0] = c->skip_from[0];
		r->sk.from[1] = c->skip_from[1];
		r->sk.to[0] = c->pos[0];
		r->sk.to[1] = c->pos[1];
		r->sk.exchanges = c->skip_turns;
		bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
		count(AS_C_DELIVERED);
	}
	c->sampling = 0;
	c->skip_turns = 0;
}

/* The budget's part of a data syscall on a CONN_HTTP connection. Returns
 * 1 when its bytes are skipped (counted, positions advanced, nothing
 * copied). */
static __always_inline int budget_gate(struct conn_key *key, struct conn *c, struct stash *st,
				       __u64 ret)
{
	__u32 dir = st->dir & 1, rd = req_dir(c);
	int start = dir == rd && c->last_dir != rd + 1;
	__u32 zero = 0;
	struct key_buf *kb = bpf_map_lookup_elem(&key_bufs, &zero);

	c->last_dir = dir + 1;
	if (!kb)
		return 0;
	kb->n = 0;
	if (start && st->kind != KIND_NODATA)
		kb->n = peek_bytes(st, ret, kb->p);
	if (kb->n >= 4 && is_method(kb->p)) {
		c->turns++;
		count(AS_C_XCH_SEEN);
		if (budget_take(c, kb)) {
			if (c->sampling)
				emit_skip(key, c);
			c->turn_lost = 0;
			count(AS_C_XCH_CAPTURED);
		} else {
			if (!c->sampling) {
				c->sampling = 1;
				c->skip_from[0] = c->pos[0];
				c->skip_from[1] = c->pos[1];
				c->skip_turns = 0;
			}
			c->skip_turns++;
			count(AS_C_XCH_NOT_SAMPLED);
		}
	}
	if (!c->sampling)
		return 0;
	__sync_fetch_and_add(&c->pos[dir], ret);
	count(AS_C_SEEN);
	count(AS_C_NOT_SAMPLED);
	return 1;
}

/* The header of a data record: `len` bytes moved in `dir` at stream
 * position `pos`, `copied` of them following it. */
static __always_inline void fill_event(struct as_event *ev, struct conn_key *key, struct conn *c,
				       __u32 dir, __u64 pos, __u64 len, __u32 copied, int nodata,
				       __u8 extra)
{
	ev->ts_ns = bpf_ktime_get_ns();
	ev->conn_id = c->id;
	ev->pos = pos;
	ev->cgroup_id = c->cgroup_id;
	ev->tgid = key->tgid;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->fd = key->fd;
	ev->len = len > 0xffffffffull ? 0xffffffffu : (__u32)len;
	ev->copied = copied;
	ev->type = AS_EV_DATA;
	ev->dir = dir;
	ev->flags = c->flags | extra;
	ev->_pad = 0;
	if (copied < len)
		ev->flags |= AS_F_TRUNCATED;
	if (copied == 0 && !nodata) {
		ev->flags |= AS_F_COPY_FAULT;
		count(AS_C_COPY_FAULT);
	}
	if (copied < len)
		count(AS_C_TRUNCATED);
	ev->family = c->family;
	ev->lport = c->lport;
	ev->rport = c->rport;
	__builtin_memcpy(ev->laddr, c->laddr, 16);
	__builtin_memcpy(ev->raddr, c->raddr, 16);
	__builtin_memcpy(ev->comm, c->comm, sizeof(ev->comm));
}

/* Wake the consumer only when enough is pending; it also drains on a
 * short timer, so nothing waits long. */
static __always_inline __u64 wakeup_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	return avail >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* HTTP/2's first bytes: the connection is kept, marked AS_F_HTTP2 for the
 * userspace HTTP/2 parser, in `state`, and counted as `what`. Returns 0
 * when kept, -1 when not HTTP/2 (the caller ignores it) or filtered. */
static __always_inline int adopt_h2(struct conn_key *key, struct conn *c, const __u8 *p, __u32 n,
				    __u32 dir, __u8 state, __u32 what)
{
	__u8 role = infer_h2(p, n, dir);

	if (!role)
		return -1;
	c->flags |= AS_F_HTTP2;
	if (conn_adopt(key, c, role, state))
		return 1;
	count(what);
	return 0;
}

/* Sends s->ev + `copied` bytes of s->data: `len` bytes moved in `dir`,
 * at stream position `pos`. */
static __always_inline void emit_record(struct conn_key *key, struct conn *c, struct scratch *s,
					__u32 dir, __u64 pos, __u64 len, __u32 copied, int nodata,
					__u8 extra)
{
	__u64 flags;

	count(AS_C_SEEN);
	fill_event(&s->ev, key, c, dir, pos, len, copied, nodata, extra);
	flags = wakeup_flags();
	{
		__u64 size = copied;

		asm volatile("" : "+r"(size));
		size &= 2 * AS_MAX_COPY - 1;
		if (bpf_ringbuf_output(&events, s, sizeof(struct as_event) + size, flags)) {
			count(AS_C_DROP_RB_FULL);
			turn_drop(c);
		} else
			count(AS_C_DELIVERED);
	}
}

/* What the records after the first of one call need. Nothing in it
 * changes from one record to the next: record i starts at (i + 1) * cap,
 * as every record but the last is full. It is kept in a per-CPU map, not
 * on the caller's stack as bpf_loop's context: the verifier knows nothing
 * of a map value's contents, so it checks the callback once for all calls
 * instead of once per state of each caller, and the stack stays short. */
struct chunk_ctx {
	struct conn_key key;
	__u64 pos;   /* stream position of the call's first byte */
	__u64 ret;   /* bytes the call moved */
	__u64 lim;   /* bytes to copy at most */
	__u64 ptr;   /* buffer or iovec array */
	__u32 iovcnt;
	__u32 kind;  /* KIND_BUF or KIND_IOV */
	__u32 dir;
	__u32 cap;   /* bytes per record; the first record was one full cap */
	__u8 extra;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct chunk_ctx);
} chunk_ctxs SEC(".maps");

/* Record i + 1 of a call: copies the next cap bytes into s->data and sends
 * them; the last one carries the true length of what is left. Returns 1
 * (stop) after the last. */
static long emit_chunk(__u32 i, void *arg)
{
	__u32 zero = 0;
	struct chunk_ctx *x = bpf_map_lookup_elem(&chunk_ctxs, &zero);
	struct scratch *s = scratch_get();
	struct conn *c;
	__u64 want, rec, off;
	__u32 got;
	int end;

	(void)arg;
	if (!x || !s || i >= AS_MAX_CHUNKS)
		return 1;
	c = bpf_map_lookup_elem(&conns, &x->key);
	off = ((__u64)i + 1) * x->cap;
	if (!c || off >= x->lim)
		return 1;
	want = x->lim - off;
	if (want > x->cap)
		want = x->cap;
	if (x->kind == KIND_BUF)
		got = copy_user(s, 0, (const void *)(x->ptr + off), want);
	else
		got = copy_iov_from(s, x->ptr, x->iovcnt, off, want);
	end = off + got >= x->lim || got < want || i + 2 >= AS_MAX_CHUNKS;
	rec = end ? x->ret - off : got;
	emit_record(&x->key, c, s, x->dir, x->pos + off, rec, got, 0, x->extra);
	return end;
}

/* Sends the `ret` bytes one call moved in `dir`, the first `copied` of
 * them already in s->data (at most max_copy). A call that moved more than
 * max_copy goes on in more records of up to max_copy bytes each, copied
 * again into s->data (the ring buffer keeps a copy of each), until
 * max_call_copy bytes are copied or AS_MAX_CHUNKS records are sent; the
 * last record carries the true length of what is left, so the stream
 * positions and the books are those of one call. A call within max_copy
 * costs what it did: one record, no loop. `kind` is KIND_BUF (ptr is the
 * buffer) or KIND_IOV (ptr is an iovec array of iovcnt entries); `extra`
 * is AS_F_TLS for plaintext from the SSL uprobes, which has its own stream
 * positions (the ciphertext's are never used for a TLS connection). */
static __always_inline void emit_call(struct conn_key *key, struct conn *c, struct scratch *s,
				      __u32 dir, __u64 ret, __u32 copied, int nodata, __u8 extra,
				      __u32 kind, __u64 ptr, __u32 iovcnt)
{
	__u32 cap = max_copy;
	__u64 pos, lim, want, first = ret;
	int more = 0;

	if (extra & AS_F_TLS)
		pos = __sync_fetch_and_add(&c->tpos[dir & 1], ret);
	else
		pos = __sync_fetch_and_add(&c->pos[dir & 1], ret);
	if (cap > AS_MAX_COPY)
		cap = AS_MAX_COPY;
	lim = ret < max_call_copy ? ret : max_call_copy;
	want = ret < cap ? ret : cap;
	/* One emit_record for every path: the verifier's states multiply
	 * with each inlined copy. */
	if (use_loop && !nodata && copied == want && copied < lim) {
		more = 1;
		first = copied;
	}
	emit_record(key, c, s, dir, pos, first, copied, nodata, extra);
	if (more) {
		__u32 zero = 0;
		struct chunk_ctx *x = bpf_map_lookup_elem(&chunk_ctxs, &zero);

		if (!x)
			return;
		x->key = *key;
		x->pos = pos;
		x->ret = ret;
		x->lim = lim;
		x->ptr = ptr;
		x->iovcnt = iovcnt;
		x->kind = kind;
		x->dir = dir;
		x->cap = cap;
		x->extra = extra;
		bpf_loop(AS_MAX_CHUNKS - 1, emit_chunk, NULL, 0);
	}
}

/* Notes ciphertext this thread moved on a TLS socket outside any SSL call
 * (tls_threads): an SSL_read that follows learns its socket from it, and
 * an SSL_write waiting for its socket gets this one if it is written. */
static __always_inline void tls_note_cipher(struct conn_key *key, struct conn *c, __u32 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_thread *t = bpf_map_lookup_elem(&tls_threads, &id);

	if (!t) {
		struct tls_thread n = { .fd = key->fd, .dir = dir, .have = 1 };

		bpf_map_update_elem(&tls_threads, &id, &n, BPF_ANY);
		return;
	}
	if (dir == AS_DIR_EGRESS && t->pending_ssl && !c->ssl) {
		struct tls_ssl_key sk = { .ssl = t->pending_ssl, .tgid = key->tgid };

		c->ssl = t->pending_ssl;
		bpf_map_update_elem(&tls_fds, &sk, &key->fd, BPF_ANY);
		t->pending_ssl = 0;
	}
	t->fd = key->fd;
	t->dir = dir;
	t->have = 1;
}

/* Ciphertext of a TLS connection is never sent. One that keeps moving
 * ciphertext outside any SSL call before its plaintext was seen belongs to
 * a library we do not hook (Go, GnuTLS, a stripped static binary): given
 * up, so that it costs no more than any other non-HTTP socket. */
static __always_inline void tls_ciphertext(struct conn_key *key, struct conn *c)
{
	if (c->state != CONN_TLS)
		return;
	if (++c->blind >= TLS_BLIND_MAX)
		conn_ignore(key, AS_C_TLS_BLIND);
}

static __always_inline void emit_data(struct conn_key *key, struct conn *c, struct stash *st,
				      __u64 ret)
{
	struct scratch *s;
	__u32 cap = max_copy, copied = 0, dir = st->dir, kind = KIND_BUF, iovcnt = st->iovcnt;
	__u64 ptr = st->ptr;

	if (c->state == CONN_TLS || c->state == CONN_TLS_HTTP) {
		tls_note_cipher(key, c, dir);
		tls_ciphertext(key, c);
		return;
	}
	if (c->state == CONN_HTTP && !(c->flags & AS_F_HTTP2) && budget_gate(key, c, st, ret))
		return;
	s = scratch_get();
	if (!s)
		return;
	if (cap > AS_MAX_COPY)
		cap = AS_MAX_COPY;
	if (st->kind == KIND_BUF) {
		copied = copy_user(s, 0, (const void *)ptr, ret < cap ? ret : cap);
	} else if (st->kind == KIND_IOV) {
		kind = KIND_IOV;
		copied = copy_iov_wide(s, (const struct iovec *)ptr, iovcnt, ret < cap ? ret : cap);
	} else if (st->kind == KIND_MSG) {
		/* msg_iov and msg_iovlen only: the stack is short (the
		 * programs, emit_chunk and copy_iov_from share 512 bytes) */
		struct {
			struct iovec *iov;
			__u64 iovlen;
		} m;

		kind = KIND_IOV;
		if (!bpf_probe_read_user(&m, sizeof(m),
					 (char *)st->ptr + offsetof(struct user_msghdr, msg_iov))) {
			ptr = (__u64)m.iov;
			iovcnt = (__u32)m.iovlen;
			copied = copy_iov_wide(s, m.iov, iovcnt, ret < cap ? ret : cap);
		}
	}

	if (c->state == CONN_UNKNOWN) {
		__u32 mode = tls_mode();
		__u8 role = 0;

		/* A TLS handshake: the plaintext, seen at SSL_* return, decides. */
		if (mode != AS_TLS_OFF && st->kind != KIND_NODATA && looks_tls(s->data, copied)) {
			c->state = CONN_TLS;
			tls_note_cipher(key, c, dir);
			return;
		}
		if (st->kind != KIND_NODATA && copied >= 5 && mode != AS_TLS_ONLY)
			role = infer_http(s->data, copied, dir);
		if (!role) {
			int h2 = -1;

			/* h2c with prior knowledge: tracked for the HTTP/2 parser */
			if (st->kind != KIND_NODATA && mode != AS_TLS_ONLY)
				h2 = adopt_h2(key, c, s->data, copied, dir, CONN_HTTP,
					      AS_C_CONN_HTTP2);
			if (h2 < 0)
				conn_ignore(key, AS_C_CONN_IGNORED);
			if (h2)
				return;
		} else if (conn_adopt(key, c, role, CONN_HTTP)) {
			return;
		}
		/* A new HTTP/1 connection's first exchange is always copied
		 * (HTTP/2 has no budget: its connections are copied whole). */
		if (!(c->flags & AS_F_HTTP2)) {
			c->last_dir = dir + 1;
			if ((dir & 1) == req_dir(c)) {
				c->turns = 1;
				count(AS_C_XCH_SEEN);
				count(AS_C_XCH_CAPTURED);
			}
		}
	}
	/* sendfile: the kernel moves file pages, there is no user buffer to
	 * copy from; the bytes are a gap, counted apart. */
	if (st->kind == KIND_NODATA)
		count(AS_C_SENDFILE);
	emit_call(key, c, s, dir, ret, copied, st->kind == KIND_NODATA, 0, kind, ptr, iovcnt);
}

static __always_inline void emit_close(struct conn_key *key, struct conn *c)
{
	struct as_event *ev;

	count(AS_C_SEEN);
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(AS_C_DROP_RB_FULL);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->conn_id = c->id;
	ev->tgid = key->tgid;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->fd = key->fd;
	ev->type = AS_EV_CLOSE;
	ev->flags = c->flags;
	ev->family = c->family;
	ev->lport = c->lport;
	ev->rport = c->rport;
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
	count(AS_C_DELIVERED);
}

static __always_inline void on_close(__u32 fd)
{
	struct conn_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };
	struct conn *c = bpf_map_lookup_elem(&conns, &key);

	if (c) {
		if (c->state == CONN_HTTP && c->sampling)
			emit_skip(&key, c);
		if (c->state == CONN_HTTP || c->state == CONN_TLS_HTTP)
			emit_close(&key, c);
		bpf_map_delete_elem(&conns, &key);
	}
	bpf_map_delete_elem(&skip, &key);
}

#include "tls.bpf.h"
#include "gotls.bpf.h"

/* The arguments of a data syscall, read at its exit from the registers
 * saved at its entry (the first from orig_x0 on arm64, where x0 holds the
 * return value by then): no work at sys_enter, no per-thread map. Returns 0
 * for a syscall that moves no data we hook. */
/* MSG_PEEK of recv(2); vmlinux.h has no macros. */
#define AS_MSG_PEEK 0x2

static __always_inline int data_args(long nr, struct pt_regs *regs, struct stash *st)
{
	switch (nr) {
	case SYS_read:
	case SYS_recvfrom:
		st->kind = KIND_BUF;
		st->dir = AS_DIR_INGRESS;
		break;
	case SYS_write:
	case SYS_sendto:
		st->kind = KIND_BUF;
		st->dir = AS_DIR_EGRESS;
		break;
	case SYS_readv:
		st->kind = KIND_IOV;
		st->dir = AS_DIR_INGRESS;
		break;
	case SYS_writev:
		st->kind = KIND_IOV;
		st->dir = AS_DIR_EGRESS;
		break;
	case SYS_recvmsg:
		st->kind = KIND_MSG;
		st->dir = AS_DIR_INGRESS;
		break;
	case SYS_sendmsg:
		st->kind = KIND_MSG;
		st->dir = AS_DIR_EGRESS;
		break;
	case SYS_sendfile:
		st->kind = KIND_NODATA;
		st->dir = AS_DIR_EGRESS;
		break;
	default:
		return 0;
	}
	/* A peek (curl's check that a connection it reuses is alive, nginx's
	 * look at a TLS record type) moves nothing: the same bytes come again
	 * in the read that takes them. Seen as data they would be there twice. */
	if (nr == SYS_recvfrom && (PT_REGS_PARM4_CORE_SYSCALL(regs) & AS_MSG_PEEK))
		return 0;
	if (nr == SYS_recvmsg && (PT_REGS_PARM3_CORE_SYSCALL(regs) & AS_MSG_PEEK))
		return 0;
	st->fd = PT_REGS_PARM1_CORE_SYSCALL(regs);
	if (st->kind != KIND_NODATA)
		st->ptr = PT_REGS_PARM2_CORE_SYSCALL(regs);
	if (st->kind == KIND_IOV)
		st->iovcnt = PT_REGS_PARM3_CORE_SYSCALL(regs);
	return 1;
}

/* Only close needs the entry: the fd is gone at exit. */
SEC("raw_tp/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = (long)ctx->args[1];

	if (empty_hooks)
		return 0;
	if (nr == SYS_close)
		on_close(PT_REGS_PARM1_CORE_SYSCALL(regs));
	return 0;
}

SEC("raw_tp/sys_exit")
int on_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = (long)ctx->args[1];
	struct stash st = {};
	__u64 pid_tgid;
	struct conn_key key;
	struct conn *c;
	long nr;

	if (empty_hooks)
		return 0;
	nr = SYSCALL_NR(regs);
	if (nr == SYS_accept || nr == SYS_accept4 || nr == SYS_connect) {
		__u8 origin = nr == SYS_connect ? AS_F_CONNECTED : AS_F_ACCEPTED;

		/* -EINPROGRESS (115) is a connect under way: the same socket. */
		if (ret < 0 && !(nr == SYS_connect && ret == -115))
			return 0;
		key.tgid = bpf_get_current_pid_tgid() >> 32;
		key.fd = nr == SYS_connect ? (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs) : (__u32)ret;
		/* A new connection on this fd: forget what the fd was before. */
		bpf_map_delete_elem(&conns, &key);
		bpf_map_delete_elem(&skip, &key);
		conn_get(key.tgid, key.fd, origin);
		return 0;
	}
	if (!data_args(nr, regs, &st))
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	key.tgid = pid_tgid >> 32;
	key.fd = st.fd;
	/* The one lookup: the connection, classified the first time. */
	c = conn_get(key.tgid, key.fd, AS_F_MIDSTREAM);
	if (!c)
		return 0;
	/* Underneath an SSL call: that call's plaintext is what counts (a
	 * connection already known as plaintext HTTP never is). */
	if (c->state != CONN_HTTP && tls_underneath(pid_tgid, c, &key))
		return 0;
	if (ret > 0)
		emit_data(&key, c, &st, (__u64)ret);
	return 0;
}
