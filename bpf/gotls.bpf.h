/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Go's crypto/tls: plaintext from uprobes on crypto/tls.(*Conn).Read and
 * Write in Go executables (register ABI, Go >= 1.17, x86-64). Included
 * into apisonar.bpf.c after tls.bpf.h, whose tls_emit it shares: the
 * plaintext goes the way of OpenSSL's, flagged AS_F_TLS on its socket's
 * connection, and that socket's ciphertext is not sent (emit_data).
 * Userspace (src/sensor/tls_attach.c, tls_go.c) finds the binaries and the
 * offsets; docs/tls.md "Go" tells the whole of it.
 *
 * Arguments at entry: RAX = c *Conn, RBX/RCX/RDI = b []byte (ptr, len,
 * cap). Results at each RET: RAX = n, RBX/RCX = err. Go moves goroutines
 * between threads at any blocking point (a Read parks on the poller), so
 * the call is keyed by the goroutine, R14 = g in the register ABI, within
 * its process; not by thread. The socket is read from the *Conn at entry,
 * through the offsets of that binary's Go version (as_go_cfg, found by
 * the uprobe's cookie), not from a syscall underneath: Go's syscall may
 * run on another thread than the call's start or end.
 */
#ifndef APISONAR_GOTLS_BPF_H
#define APISONAR_GOTLS_BPF_H

/* Highest fd taken for real: a bad offset reads garbage, not a socket. */
#define GO_FD_MAX (1 << 24)

struct go_call_key {
	__u64 g; /* the goroutine (R14) */
	__u32 tgid;
	__u32 _pad;
};

struct go_call {
	__u64 buf;
	__u32 fd;
	__u8 dir;
	__u8 _pad[3];
};

/* Go calls under way, from the entry uprobe to a RET uprobe. LRU: a call
 * that never returns (a panic, a goroutine that exits the process) only
 * costs a slot until evicted. Go's maps live here, beside the only
 * programs that use them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct go_call_key);
	__type(value, struct go_call);
} go_calls SEC(".maps");

/* Per Go binary (the uprobe cookie is its index), written by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256); /* TLS_MAX_TARGETS */
	__type(key, __u32);
	__type(value, struct as_go_cfg);
} go_cfg SEC(".maps");

/* The socket fd of the *tls.Conn c, or -1 when it is not a *net.TCPConn
 * (checked against the itab, when its address is known) or cannot be
 * read. */
static __always_inline long go_conn_fd(struct as_go_cfg *cfg, __u64 c)
{
	__u64 iface[2], netfd = 0;
	long fd = -1;

	if (bpf_probe_read_user(iface, sizeof(iface), (void *)(c + cfg->conn_off)))
		return -1;
	if (cfg->itab_tcp && iface[0] != cfg->itab_tcp)
		return -1;
	if (bpf_probe_read_user(&netfd, sizeof(netfd), (void *)(iface[1] + cfg->tcp_fd_off)) ||
	    !netfd)
		return -1;
	if (bpf_probe_read_user(&fd, sizeof(fd), (void *)(netfd + cfg->sysfd_off)))
		return -1;
	return fd >= 0 && fd < GO_FD_MAX ? fd : -1;
}

static __always_inline int go_enter(struct pt_regs *ctx, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0, tgid = id >> 32, idx = (__u32)bpf_get_attach_cookie(ctx);
	struct as_filter_cfg *fc = bpf_map_lookup_elem(&filter_cfg, &zero);
	struct go_call_key k = {.g = ctx->r14, .tgid = tgid};
	struct go_call call = {.buf = ctx->bx, .dir = dir};
	struct as_go_cfg *cfg;
	long fd;

	if (!fc || tgid == fc->self_tgid)
		return 0;
	if (fc->use_pid && !bpf_map_lookup_elem(&filter_pids, &tgid))
		return 0;
	cfg = bpf_map_lookup_elem(&go_cfg, &idx);
	if (!cfg)
		return 0;
	fd = go_conn_fd(cfg, ctx->ax);
	if (fd < 0) {
		count(AS_C_TLS_NO_SOCKET);
		return 0;
	}
	call.fd = (__u32)fd;
	/* A call entered again (after the stack grew, Go restarts the function)
	 * just replaces its entry. */
	bpf_map_update_elem(&go_calls, &k, &call, BPF_ANY);
	return 0;
}

/* func (c *Conn) Read(b []byte) (int, error) */
SEC("uprobe")
int BPF_KPROBE(as_go_read)
{
	return go_enter(ctx, AS_DIR_INGRESS);
}

/* func (c *Conn) Write(b []byte) (int, error) */
SEC("uprobe")
int BPF_KPROBE(as_go_write)
{
	return go_enter(ctx, AS_DIR_EGRESS);
}

/* At each RET of either: n bytes of plaintext are in the call's buffer. */
SEC("uprobe")
int BPF_KPROBE(as_go_ret)
{
	struct go_call_key k = {.g = ctx->r14, .tgid = bpf_get_current_pid_tgid() >> 32};
	struct go_call *p = bpf_map_lookup_elem(&go_calls, &k), call;
	long n = (long)ctx->ax;
	struct conn_key key;
	struct conn *c;

	if (!p)
		return 0;
	call = *p;
	bpf_map_delete_elem(&go_calls, &k);
	if (n <= 0)
		return 0;
	key.tgid = k.tgid;
	key.fd = call.fd;
	c = conn_get(key.tgid, key.fd, AS_F_MIDSTREAM);
	if (c)
		tls_emit(&key, c, call.buf, call.dir, (__u64)n);
	return 0;
}

#endif
