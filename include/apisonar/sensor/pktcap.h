/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The event ABI of the packet-level capture prototype (bpf/pktcap.bpf.c,
 * bench/pktcap_bench.c; docs/sensor-cost.md, "The packet-level
 * alternative").
 *
 * cgroup_skb programs copy the TCP payload of flows that a connection
 * set-up hook marked as HTTP (the server's port), each segment once: at
 * ingress of the server's socket (requests) and at egress of it
 * (responses), so a loopback flow, seen at both ends, is not copied twice.
 * Userspace puts the segments back in TCP sequence order.
 *
 * Shared by both sides: fixed-width types, no pointers. IPv4 only (a
 * prototype; IPv6 would widen the addresses).
 */
#ifndef APISONAR_PKTCAP_H
#define APISONAR_PKTCAP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Payload bytes one record carries at most; a segment bigger than this (a
 * GSO super-packet on loopback carries more than 64 KiB) takes several records.
 * A power of two: the BPF side masks lengths with it for the verifier. */
#define PK_CHUNK 16384
/* Records one segment may take: 32 x 16 KiB covers the biggest GSO packet of
 * loopback (tso_max_size 512 KiB; 95 KiB segments were seen from nginx). */
#define PK_MAX_CHUNKS 32

/* Record types */
#define PK_EV_DATA 1  /* payload of one segment (or a chunk of it) */
#define PK_EV_OPEN 2  /* a flow on a server port reached ESTABLISHED */
#define PK_EV_CLOSE 3 /* a known flow reached CLOSE */

/* Directions, as the server sees them (as AS_DIR_*) */
#define PK_DIR_RESPONSE 0 /* the server sent it (egress of its socket) */
#define PK_DIR_REQUEST 1  /* the server received it (ingress of its socket) */

/* A flow, from the server's side; addresses and ports in network order. */
struct pk_flow {
	__u32 saddr; /* server */
	__u32 caddr; /* client */
	__u16 sport;
	__u16 cport;
};

/* What the set-up hook knows of a flow (the `flows` map's value). */
struct pk_flow_info {
	__u32 tgid;	    /* the process that listened on the port, 0 if unknown */
	__u32 req_isn;	    /* first request byte's sequence number (rcv_nxt) */
	__u32 resp_isn;	    /* first response byte's sequence number (snd_nxt) */
	__u32 _pad;
};

struct pk_event {
	__u64 ts_ns;	   /* bpf_ktime_get_ns() */
	struct pk_flow flow;
	__u32 seq;	   /* TCP sequence number of this record's first byte */
	__u32 len;	   /* payload bytes following this header */
	__u32 seg_len;	   /* payload bytes of the whole segment */
	__u32 tgid;	   /* from the flow's info (OPEN, DATA) */
	__u32 req_isn;	   /* OPEN only */
	__u32 resp_isn;	   /* OPEN only */
	__u16 type;	   /* PK_EV_* */
	__u8 dir;	   /* PK_DIR_* (DATA) */
	__u8 tcp_flags;	   /* FIN, RST, PSH... of the segment (DATA) */
	__u32 _pad;
};

/* Counters: indexes into struct pk_counters, one per CPU (the
 * `pk_counters` map). Packets that are not on a server port are not
 * counted (it would cost a lookup per packet): bpf_stats' run_cnt has them. */
enum pk_counter {
	PK_C_PORT,	 /* of them, TCP on a server port at the server's side */
	PK_C_FLOW,	 /* of them, on a known flow */
	PK_C_SEGMENTS,	 /* of them, with payload: copied */
	PK_C_RECORDS,	 /* records written */
	PK_C_BYTES,	 /* payload bytes written */
	PK_C_RB_FULL,	 /* records lost: ring buffer full */
	PK_C_TOO_BIG,	 /* segments cut at PK_MAX_CHUNKS * PK_CHUNK */
	PK_C_LOAD_FAULT, /* bpf_skb_load_bytes failed */
	PK_C_OPENS,	 /* flows the set-up hook added */
	PK_C_CLOSES,	 /* flows it removed */
	PK_C_FLOWS_FULL, /* flows it could not add: map full */
	PK_C_NR
};

struct pk_counters {
	__u64 c[PK_C_NR];
};

#endif
