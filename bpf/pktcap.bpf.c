// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet-level capture prototype: the alternative to the syscall hooks of
 * apisonar.bpf.c that issue 15 asked to measure (docs/sensor-cost.md, "The
 * packet-level alternative"). Not used by the sensor; bench/pktcap_bench
 * loads it.
 *
 * - pk_set_state (tp_btf/inet_sock_set_state) runs on TCP state changes
 *   only: a socket that listens on a server port records its process; a
 *   flow on a server port that reaches ESTABLISHED goes into `flows` with
 *   its initial sequence numbers, and leaves it at CLOSE.
 * - pk_ingress / pk_egress (cgroup_skb) see every packet of every socket
 *   of the cgroup. A packet whose socket's local port is not a server port
 *   returns at once (one load from the socket, one array index); on a
 *   server port, a known flow's payload is copied into the ring buffer
 *   with its TCP sequence number. Only the server's socket copies, at
 *   ingress (requests) and egress (responses): on loopback each segment is
 *   also seen at the client's socket, which is skipped.
 * - pk_*_empty return at once: the floor of the cgroup_skb hooks.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "apisonar/sensor/pktcap.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
#define PK_TCP_ESTABLISHED 1
#define PK_TCP_CLOSE 7
#define PK_TCP_LISTEN 10

/* Wake the consumer only when this much is pending; it drains on a short
 * timer too. Set by the loader. */
const volatile __u32 wakeup_bytes = 256 * 1024;

/* Server ports, indexed by port in host order: 1 = capture its flows. A
 * global array, read without a helper call on every packet. */
__u8 server_ports[65536];

/* The records: PK_EV_* headers, DATA followed by its payload. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} pk_events SEC(".maps");

/* Known HTTP flows, from the server's side: added at ESTABLISHED by
 * pk_set_state (or by userspace for flows older than the sensor), removed
 * at CLOSE. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pk_flow);
	__type(value, struct pk_flow_info);
} pk_flows SEC(".maps");

/* Server port (host order) -> the process that listened on it: the
 * process identity of the flows accepted there. listen() runs in the
 * process, the passive handshake in softirq, so the identity is taken at
 * listen. Userspace fills it for listeners older than the sensor. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} pk_listeners SEC(".maps");

/* The counters (enum pk_counter), per CPU: one lookup per packet that
 * counts anything. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pk_counters);
} pk_counters SEC(".maps");

struct pk_scratch {
	struct pk_event ev;
	__u8 data[PK_CHUNK];
};

/* One record being built, per CPU (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pk_scratch);
} pk_scratch SEC(".maps");

static __always_inline struct pk_counters *pk_counters_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&pk_counters, &zero);
}

static __always_inline void pk_count_add(__u32 idx, __u64 n)
{
	struct pk_counters *c = pk_counters_get();

	if (c && idx < PK_C_NR)
		c->c[idx] += n;
}

static __always_inline __u64 pk_wakeup_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&pk_events, BPF_RB_AVAIL_DATA);

	return avail >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Copies the payload of one segment of a known flow, in records of at
 * most PK_CHUNK bytes. bpf_skb_load_bytes reads the linear and the paged
 * part alike, so a GSO super-packet comes out whole. */
static __always_inline void pk_copy(struct __sk_buff *skb, struct pk_counters *c,
				    struct pk_flow *key, struct pk_flow_info *fi, __u32 off,
				    __u32 plen, __u32 seq, __u8 dir, __u8 tcp_flags)
{
	struct pk_scratch *s;
	__u32 zero = 0, done = 0;
	int i;

	s = bpf_map_lookup_elem(&pk_scratch, &zero);
	if (!s)
		return;
	c->c[PK_C_SEGMENTS]++;
	s->ev.ts_ns = bpf_ktime_get_ns();
	s->ev.flow = *key;
	s->ev.seg_len = plen;
	s->ev.tgid = fi->tgid;
	s->ev.req_isn = 0;
	s->ev.resp_isn = 0;
	s->ev.type = PK_EV_DATA;
	s->ev.dir = dir;
	s->ev.tcp_flags = tcp_flags;
	s->ev._pad = 0;
	for (i = 0; i < PK_MAX_CHUNKS; i++) {
		__u32 n = plen - done;

		if (n > PK_CHUNK)
			n = PK_CHUNK;
		asm volatile("" : "+r"(n));
		n &= 2 * PK_CHUNK - 1;
		if (n == 0 || n > PK_CHUNK)
			break;
		if (bpf_skb_load_bytes(skb, off + done, s->data, n)) {
			c->c[PK_C_LOAD_FAULT]++;
			return;
		}
		s->ev.seq = seq + done;
		s->ev.len = n;
		if (bpf_ringbuf_output(&pk_events, s, sizeof(struct pk_event) + n,
				       pk_wakeup_flags())) {
			c->c[PK_C_RB_FULL]++;
			return;
		}
		c->c[PK_C_RECORDS]++;
		c->c[PK_C_BYTES] += n;
		done += n;
		if (done >= plen)
			return;
	}
	c->c[PK_C_TOO_BIG]++;
}

/* The IPv4 and TCP headers of skb, read in place when they are in its
 * linear part (always, on loopback), else copied. 0 or -1. */
static __always_inline int pk_headers(struct __sk_buff *skb, struct iphdr *iph, struct tcphdr *th,
				      __u32 *ihl)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data;

	if ((void *)(ip + 1) <= end) {
		*iph = *ip;
	} else if (bpf_skb_load_bytes(skb, 0, iph, sizeof(*iph))) {
		return -1;
	}
	if (iph->protocol != IPPROTO_TCP)
		return -1;
	*ihl = ((__u32)iph->ihl * 4) & 0x3c;
	if (*ihl < sizeof(*iph))
		return -1;
	if (data + *ihl + sizeof(*th) <= end) {
		*th = *(struct tcphdr *)(data + *ihl);
		return 0;
	}
	return bpf_skb_load_bytes(skb, *ihl, th, sizeof(*th)) ? -1 : 0;
}

/* The work of both skb programs; egress: the packet leaves the socket. */
static __always_inline int pk_packet(struct __sk_buff *skb, int egress)
{
	struct pk_counters *c;
	struct pk_flow_info *fi;
	struct pk_flow key;
	struct iphdr iph;
	struct tcphdr th;
	__u32 lport = skb->local_port, ihl, hlen, flags;

	if (lport > 65535 || !server_ports[lport])
		return 1;
	if (skb->protocol != bpf_htons(ETH_P_IP) || pk_headers(skb, &iph, &th, &ihl))
		return 1;
	c = pk_counters_get();
	if (!c)
		return 1;
	c->c[PK_C_PORT]++;
	if (egress) {
		key.saddr = iph.saddr;
		key.caddr = iph.daddr;
		key.sport = th.source;
		key.cport = th.dest;
	} else {
		key.saddr = iph.daddr;
		key.caddr = iph.saddr;
		key.sport = th.dest;
		key.cport = th.source;
	}
	/* The socket's port is the server's, but is this the server's side
	 * of the packet (not a client bound to the same port number)? */
	if (bpf_ntohs(key.sport) != lport)
		return 1;
	fi = bpf_map_lookup_elem(&pk_flows, &key);
	if (!fi)
		return 1;
	c->c[PK_C_FLOW]++;
	hlen = ihl + (__u32)th.doff * 4;
	if (skb->len <= hlen)
		return 1;
	flags = ((__u8 *)&th)[13];
	pk_copy(skb, c, &key, fi, hlen, skb->len - hlen, bpf_ntohl(th.seq),
		egress ? PK_DIR_RESPONSE : PK_DIR_REQUEST, (__u8)flags);
	return 1;
}

SEC("cgroup_skb/ingress")
int pk_ingress(struct __sk_buff *skb)
{
	return pk_packet(skb, 0);
}

SEC("cgroup_skb/egress")
int pk_egress(struct __sk_buff *skb)
{
	return pk_packet(skb, 1);
}

SEC("cgroup_skb/ingress")
int pk_ingress_empty(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int pk_egress_empty(struct __sk_buff *skb)
{
	return 1;
}

static __always_inline void pk_emit_state(struct pk_flow *key, struct pk_flow_info *fi, __u16 type)
{
	struct pk_event *ev = bpf_ringbuf_reserve(&pk_events, sizeof(*ev), 0);

	if (!ev) {
		pk_count_add(PK_C_RB_FULL, 1);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->flow = *key;
	ev->tgid = fi->tgid;
	ev->req_isn = fi->req_isn;
	ev->resp_isn = fi->resp_isn;
	ev->type = type;
	bpf_ringbuf_submit(ev, BPF_RB_NO_WAKEUP);
}

/* Connection set-up and tear-down, from the socket's own state changes:
 * runs a few times per connection, never per packet or per syscall. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(pk_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct pk_flow_info fi = {}, *old;
	struct pk_flow key;
	__u32 lport, *tgid;

	if (sk->__sk_common.skc_family != AF_INET || sk->sk_protocol != IPPROTO_TCP)
		return 0;
	/* Not skc_num: at CLOSE the port is released (inet_put_port() zeroes
	 * it) before the tracepoint fires; inet_sport stays. */
	lport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	if (lport > 65535 || !server_ports[lport])
		return 0;
	if (newstate == PK_TCP_LISTEN) {
		fi.tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_map_update_elem(&pk_listeners, &lport, &fi.tgid, BPF_ANY);
		return 0;
	}
	key.saddr = sk->__sk_common.skc_rcv_saddr;
	key.caddr = sk->__sk_common.skc_daddr;
	key.sport = bpf_htons((__u16)lport);
	key.cport = sk->__sk_common.skc_dport;
	if (newstate == PK_TCP_ESTABLISHED) {
		const struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);

		if (!tp)
			return 0;
		tgid = bpf_map_lookup_elem(&pk_listeners, &lport);
		fi.tgid = tgid ? *tgid : 0;
		fi.req_isn = tp->rcv_nxt;
		fi.resp_isn = tp->snd_nxt;
		if (bpf_map_update_elem(&pk_flows, &key, &fi, BPF_ANY)) {
			pk_count_add(PK_C_FLOWS_FULL, 1);
			return 0;
		}
		pk_count_add(PK_C_OPENS, 1);
		pk_emit_state(&key, &fi, PK_EV_OPEN);
		return 0;
	}
	if (newstate == PK_TCP_CLOSE) {
		old = bpf_map_lookup_elem(&pk_flows, &key);
		if (!old)
			return 0;
		fi = *old;
		bpf_map_delete_elem(&pk_flows, &key);
		pk_count_add(PK_C_CLOSES, 1);
		pk_emit_state(&key, &fi, PK_EV_CLOSE);
	}
	return 0;
}
