/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The event ABI between the kernel programs (bpf/) and the sensor.
 *
 * Shared by both sides, so: fixed-width types, no pointers, no enums in
 * structs. Every record in the ring buffer starts with struct as_event;
 * AS_EV_DATA records carry `copied` bytes of payload right after it.
 */
#ifndef APISONAR_EVENTS_H
#define APISONAR_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Largest payload one event can carry; the runtime cap (capture
 * --max-copy) may only lower it. A power of two: the BPF side masks offsets
 * with it to keep the verifier convinced. */
#define AS_MAX_COPY 16384
#define AS_DEFAULT_COPY 16384
/* Records one call's data may take at most (each up to the copy limit):
 * a body up to the body limit written in one call is copied whole. */
#define AS_MAX_CHUNKS 8
/* iovecs walked per readv/writev/recvmsg/sendmsg */
#define AS_MAX_IOV 8
#define AS_COMM_LEN_K 16

/* Record types */
#define AS_EV_DATA 1  /* bytes read or written on a tracked connection */
#define AS_EV_CLOSE 2 /* the fd of a tracked connection was closed */
#define AS_EV_SKIP 3  /* exchanges the capture budget did not copy: a struct as_skip
		       * follows (copied = len = its size) */

/* Directions, as seen by the observed process */
#define AS_DIR_EGRESS 0  /* it wrote these bytes */
#define AS_DIR_INGRESS 1 /* it read these bytes */

/* as_event.flags */
#define AS_F_TRUNCATED (1u << 0) /* copied < len */
#define AS_F_MIDSTREAM (1u << 1) /* connection existed before we saw it */
#define AS_F_ACCEPTED (1u << 2)  /* fd came from accept/accept4 */
#define AS_F_CONNECTED (1u << 3) /* fd came from connect */
#define AS_F_COPY_FAULT (1u << 4) /* user memory could not be read */
#define AS_F_TLS (1u << 5)        /* plaintext of a TLS session, from SSL_* uprobes */
#define AS_F_HTTP2 (1u << 6)      /* its first bytes were HTTP/2's (client preface or a
				   * server's SETTINGS): the HTTP/2 parser reads it */

struct as_event {
	__u64 ts_ns;   /* bpf_ktime_get_ns() at syscall exit */
	__u64 conn_id; /* unique per connection for the sensor's life; a
			* reused (tgid, fd) gets a new one */
	__u64 pos;     /* byte offset of this data in its direction's stream */
	__u64 cgroup_id;
	__u32 tgid;
	__u32 tid;
	__u32 fd;
	__u32 len;     /* bytes the syscall really moved */
	__u32 copied;  /* bytes of payload following this header */
	__u16 type;    /* AS_EV_* */
	__u8 dir;      /* AS_DIR_* */
	__u8 flags;    /* AS_F_* */
	__u16 family;  /* AF_INET or AF_INET6 */
	__u16 lport;   /* host byte order */
	__u16 rport;
	__u16 _pad;
	__u8 laddr[16]; /* IPv4 in the first 4 bytes */
	__u8 raddr[16];
	char comm[AS_COMM_LEN_K];
};

/* Per-CPU counters (map `counters`), indexed by these. The books balance:
 * SEEN = DELIVERED + NOT_SAMPLED + DROP_RB_FULL + DROP_MAP_FULL, and for
 * HTTP/1 exchanges XCH_SEEN = XCH_CAPTURED + XCH_NOT_SAMPLED + XCH_DROPPED. */
enum as_counter {
	AS_C_SEEN = 0,       /* events on tracked HTTP connections */
	AS_C_DELIVERED,      /* written to the ring buffer */
	AS_C_DROP_RB_FULL,   /* ring buffer had no room */
	AS_C_DROP_MAP_FULL,  /* a map update failed, the event was lost */
	AS_C_TRUNCATED,      /* delivered with copied < len (not a loss) */
	AS_C_COPY_FAULT,     /* delivered without payload: unreadable memory */
	AS_C_CONN_TRACKED,   /* connections found to speak HTTP/1.x */
	AS_C_CONN_IGNORED,   /* sockets found not to (or filtered out) */
	AS_C_CONN_FILTERED,  /* sockets excluded by a filter */
	AS_C_CONN_MAP_FULL,  /* connections not tracked: `conns` was full */
	AS_C_TLS_CONN,       /* TLS connections whose plaintext is HTTP/1.x */
	AS_C_TLS_HTTP2,      /* TLS connections whose plaintext is HTTP/2 (tracked as such) */
	AS_C_TLS_NO_SOCKET,  /* SSL call plaintext not tied to a tracked socket (filtered, or
			     * no syscall of it seen yet): not sent */
	AS_C_TLS_BLIND,      /* TLS connections given up: ciphertext, no plaintext seen */
	AS_C_CONN_HTTP2,     /* plaintext connections whose first bytes are HTTP/2 (h2c
			      * with prior knowledge: the preface, or a server's SETTINGS):
			      * tracked with AS_F_HTTP2 (also in CONN_TRACKED) */
	AS_C_SENDFILE,       /* sendfile calls on HTTP connections: bytes moved from a
			      * file, none copied (a gap in the stream) */
	AS_C_NOT_SAMPLED,    /* events of exchanges the budget skipped: counted, not copied */
	AS_C_XCH_SEEN,       /* HTTP/1 exchanges started (first byte of a request) */
	AS_C_XCH_CAPTURED,   /* of those, copied whole */
	AS_C_XCH_NOT_SAMPLED, /* of those, skipped by the capture budget */
	AS_C_XCH_DROPPED,    /* of those, copied but a record was lost (ring buffer or map full) */
	AS_C_XCH_SKIP_LOST,  /* skipped exchanges whose AS_EV_SKIP notice was lost (ring full) */
	AS_C_XCH_NOVEL,      /* of the captured, those taken because their request key
			      * (method and path) was new, past the budget */
	AS_C_NR,
};

/* Payload of an AS_EV_SKIP record: per direction (AS_DIR_*), the stream
 * range [from, to) that was not copied because the budget skipped the
 * exchanges in it. `to` is where the next captured exchange starts (both
 * directions at a message boundary), or the end of the stream at close. */
struct as_skip {
	__u64 from[2];
	__u64 to[2];
	__u64 exchanges; /* exchanges in the range */
};

/* Filter configuration (map `filter_cfg`, one entry). Lists live in their
 * own hash maps; a flag says whether a list is in force. */
struct as_filter_cfg {
	__u32 self_tgid;     /* the sensor: always excluded */
	__u32 use_pid;       /* only tgids in `filter_pids` */
	__u32 use_comm;      /* only comms in `filter_comms` */
	__u32 use_port;      /* only connections with lport or rport in `filter_ports` */
	__u32 use_cgroup;    /* only cgroup ids in `filter_cgroups` */
	__u32 use_cidr;      /* only peers in `filter_cidrs` */
	__u32 role_mask;     /* 1 = server side (accepted), 2 = client side; 3 = both */
	__u32 max_copy;      /* bytes copied per syscall, <= AS_MAX_COPY */
	__u32 wakeup_bytes;  /* wake userspace when this much is pending */
	__u32 tls_mode;      /* AS_TLS_*: what to do with TLS connections */
};

/* as_filter_cfg.tls_mode */
#define AS_TLS_ON 0   /* plaintext sockets and TLS plaintext (the default) */
#define AS_TLS_OFF 1  /* TLS records are not HTTP: such connections are ignored */
#define AS_TLS_ONLY 2 /* only TLS plaintext; plaintext HTTP sockets are ignored */

/* Key of `self_listen`: a listening socket of the sensor's own (the
 * daemon's /metrics and /healthz). Connections to it are excluded like the
 * sensor's own process. family 0 with a zero address: a wildcard listener. */
struct as_self_key {
	__u16 family;
	__u16 port; /* host byte order */
	__u8 addr[16];
};

/* Key of `filter_cidrs` (an LPM trie): prefix length then address. */
struct as_cidr_key {
	__u32 prefixlen; /* bits, counting the 32-bit family word first */
	__u32 family;
	__u8 addr[16];
};

/* One Go binary whose crypto/tls.(*Conn).Read/Write are probed (map
 * `go_cfg`, indexed by the uprobes' cookie; bpf/gotls.bpf.h), written by
 * src/sensor/tls_attach.c from src/sensor/tls_go.c's table by Go version.
 * The socket of a *tls.Conn c is
 *   ((netFD *)*(iface.data + tcp_fd_off) + sysfd_off)->Sysfd
 * where iface = *(c + conn_off), a net.Conn interface {itab, data}. */
struct as_go_cfg {
	__u64 itab_tcp;  /* address of go:itab.*net.TCPConn,net.Conn; 0: not checked (PIE) */
	__u32 conn_off;  /* tls.Conn.conn */
	__u32 tcp_fd_off; /* net.TCPConn.conn.fd (a *netFD) */
	__u32 sysfd_off; /* netFD.pfd.Sysfd */
	__u32 _pad;
};

#endif
