/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TLS plaintext through uprobes on OpenSSL's SSL_read/SSL_write and their
 * _ex forms. Included into apisonar.bpf.c so that it shares its maps and
 * helpers; userspace (src/sensor/tls_attach.c) attaches these programs to every
 * libssl file and every static binary that keeps the symbols.
 *
 * How plaintext finds its socket, without any struct offset of one OpenSSL
 * version: the entry uprobe notes that this thread is inside an SSL call;
 * sys_exit, seeing a read or write on a socket while the note is there,
 * records that fd in it (tls_underneath) and sends nothing; the return
 * uprobe sends the plaintext on that fd's connection, flagged AS_F_TLS.
 * The SSL * -> fd pairing is kept (tls_fds) for calls served from
 * OpenSSL's buffer without a syscall.
 */
#ifndef APISONAR_TLS_BPF_H
#define APISONAR_TLS_BPF_H

/* Called by sys_exit for a data syscall on a tracked socket. Returns 1 when
 * the thread is inside an SSL call (the fd is then recorded and the
 * connection marked TLS), 0 otherwise. */
static __always_inline int tls_underneath(__u64 pid_tgid, struct conn *c, struct conn_key *key)
{
	struct tls_call *tc = bpf_map_lookup_elem(&tls_calls, &pid_tgid);

	if (!tc)
		return 0;
	tc->fd = key->fd;
	tc->have_fd = 1;
	if (c->state == CONN_UNKNOWN)
		c->state = CONN_TLS;
	return 1;
}

/* Plaintext of n bytes at buf, returned by an SSL call on (key). The first
 * plaintext decides, as the first bytes of a plain socket do: HTTP/1.x is
 * tracked, HTTP/2 too (AS_F_HTTP2); anything else is ignored. */
static __always_inline void tls_emit(struct conn_key *key, struct conn *c, __u64 buf, __u32 dir,
				     __u64 n)
{
	__u32 cap = max_copy, copied;
	struct scratch *s;

	/* A plaintext HTTP socket under an SSL call: nothing sane to do. */
	if (c->state == CONN_HTTP)
		return;
	s = scratch_get();
	if (!s)
		return;
	if (cap > AS_MAX_COPY)
		cap = AS_MAX_COPY;
	copied = copy_user(s, 0, (const void *)buf, n < cap ? n : cap);
	if (c->state != CONN_TLS_HTTP) {
		__u8 role = 0;

		if (copied >= 5)
			role = infer_http(s->data, copied, dir);
		if (!role) {
			/* HTTP/2 (ALPN h2): tracked for the HTTP/2 parser */
			int h2 = adopt_h2(key, c, s->data, copied, dir, CONN_TLS_HTTP,
					  AS_C_TLS_HTTP2);

			if (h2 < 0)
				conn_ignore(key, AS_C_CONN_IGNORED);
			if (h2)
				return;
		} else {
			if (conn_adopt(key, c, role, CONN_TLS_HTTP))
				return;
			count(AS_C_TLS_CONN);
		}
	}
	emit_call(key, c, s, dir, n, copied, 0, AS_F_TLS, KIND_BUF, buf, 0);
}

static __always_inline int tls_enter(__u64 ssl, __u64 buf, __u64 outp, __u8 dir, __u8 ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tls_call tc = { .ssl = ssl, .buf = buf, .outp = outp, .dir = dir, .ex = ex };
	__u32 zero = 0, tgid = id >> 32;
	struct as_filter_cfg *cfg = bpf_map_lookup_elem(&filter_cfg, &zero);

	/* Processes the filters exclude are left alone from here on. */
	if (!cfg || tgid == cfg->self_tgid)
		return 0;
	if (cfg->use_pid && !bpf_map_lookup_elem(&filter_pids, &tgid))
		return 0;
	/* OpenSSL's SSL_* never call one another, so an entry left by a call
	 * whose return was not seen (a killed thread) is simply replaced. */
	bpf_map_update_elem(&tls_calls, &id, &tc, BPF_ANY);
	return 0;
}

/* int SSL_read(SSL *s, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(as_ssl_read, void *ssl, void *buf, int num)
{
	return tls_enter((__u64)ssl, (__u64)buf, 0, AS_DIR_INGRESS, 0);
}

/* int SSL_write(SSL *s, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(as_ssl_write, void *ssl, void *buf, int num)
{
	return tls_enter((__u64)ssl, (__u64)buf, 0, AS_DIR_EGRESS, 0);
}

/* int SSL_read_ex(SSL *s, void *buf, size_t num, size_t *readbytes) */
SEC("uprobe")
int BPF_KPROBE(as_ssl_read_ex, void *ssl, void *buf, __u64 num, void *readbytes)
{
	return tls_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, AS_DIR_INGRESS, 1);
}

/* int SSL_write_ex(SSL *s, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(as_ssl_write_ex, void *ssl, void *buf, __u64 num, void *written)
{
	return tls_enter((__u64)ssl, (__u64)buf, (__u64)written, AS_DIR_EGRESS, 1);
}

/* int ssl_read_internal(SSL *s, void *buf, size_t num, size_t *readbytes),
 * what all the above and OpenSSL's SSL BIO call (src/sensor/tls_elf.c): > 0 and
 * *readbytes on success. Probed instead of the four when it can be found. */
SEC("uprobe")
int BPF_KPROBE(as_ssl_read_int, void *ssl, void *buf, __u64 num, void *readbytes)
{
	return tls_enter((__u64)ssl, (__u64)buf, (__u64)readbytes, AS_DIR_INGRESS, 2);
}

/* int ssl_write_internal(SSL *s, const void *buf, size_t num, size_t *written) */
SEC("uprobe")
int BPF_KPROBE(as_ssl_write_int, void *ssl, void *buf, __u64 num, void *written)
{
	return tls_enter((__u64)ssl, (__u64)buf, (__u64)written, AS_DIR_EGRESS, 2);
}

/* Binds an SSL session to its socket from the ciphertext its thread
 * moved outside SSL calls (memory BIOs, tls_note_cipher). The call gets
 * the socket the thread read last, when that socket carries TLS and is
 * not bound to another session (node reads ciphertext, then calls
 * SSL_write for pending data and SSL_read, in that order, for the same
 * connection); failing that, an SSL_write waits for the next ciphertext
 * the thread writes. */
static __always_inline void tls_learn_fd(__u64 id, struct tls_ssl_key *sk, __u8 dir)
{
	struct tls_thread *t = bpf_map_lookup_elem(&tls_threads, &id);
	struct conn_key key;
	struct conn *c;

	if (!t)
		return;
	if (t->have && t->dir == AS_DIR_INGRESS) {
		key.tgid = sk->tgid;
		key.fd = t->fd;
		c = bpf_map_lookup_elem(&conns, &key);
		if (c && (c->state == CONN_TLS || c->state == CONN_TLS_HTTP) &&
		    (!c->ssl || c->ssl == sk->ssl)) {
			c->ssl = sk->ssl;
			bpf_map_update_elem(&tls_fds, sk, &key.fd, BPF_ANY);
			return;
		}
	}
	if (dir == AS_DIR_EGRESS)
		t->pending_ssl = sk->ssl;
}

/* The return of any of the four, or of the internal two: the plaintext
 * is now in buf. */
SEC("uretprobe")
int BPF_KRETPROBE(as_ssl_ret, long rc)
{
	__u64 id = bpf_get_current_pid_tgid(), n;
	struct tls_call *p = bpf_map_lookup_elem(&tls_calls, &id);
	struct tls_ssl_key sk = {};
	struct conn_key key;
	struct tls_call tc;
	struct conn *c;

	if (!p)
		return 0;
	tc = *p;
	bpf_map_delete_elem(&tls_calls, &id);
	sk.ssl = tc.ssl;
	sk.tgid = id >> 32;
	/* No syscall underneath and no socket known: a memory-BIO user.
	 * Learned from every call, failed ones too: the SSL_reads that drive
	 * the handshake bind the session before any application data. */
	if (!tc.have_fd && !bpf_map_lookup_elem(&tls_fds, &sk))
		tls_learn_fd(id, &sk, tc.dir);
	/* All forms return an int: the upper half of the register is junk.
	 * The _ex forms return 1 on success, the internal ones > 0. */
	if (tc.ex) {
		__u64 got = 0;

		if ((int)rc <= 0 || (tc.ex == 1 && (int)rc != 1) ||
		    bpf_probe_read_user(&got, sizeof(got), (void *)tc.outp))
			return 0;
		n = got;
	} else {
		/* <= 0: an error, or no data yet (SSL_ERROR_WANT_READ). */
		if ((int)rc <= 0)
			return 0;
		n = (__u64)(int)rc;
	}
	if (!n)
		return 0;
	if (tc.have_fd) {
		bpf_map_update_elem(&tls_fds, &sk, &tc.fd, BPF_ANY);
	} else {
		__u32 *fd = bpf_map_lookup_elem(&tls_fds, &sk);

		if (!fd) {
			count(AS_C_TLS_NO_SOCKET);
			return 0;
		}
		tc.fd = *fd;
	}
	key.tgid = id >> 32;
	key.fd = tc.fd;
	c = conn_get(key.tgid, key.fd, AS_F_MIDSTREAM);
	if (c)
		tls_emit(&key, c, tc.buf, tc.dir, n);
	return 0;
}

/* void SSL_free(SSL *s): the session's socket pairing ends. */
SEC("uprobe")
int BPF_KPROBE(as_ssl_free, void *ssl)
{
	struct tls_ssl_key sk = { .ssl = (__u64)ssl, .tgid = bpf_get_current_pid_tgid() >> 32 };

	bpf_map_delete_elem(&tls_fds, &sk);
	return 0;
}

#endif
