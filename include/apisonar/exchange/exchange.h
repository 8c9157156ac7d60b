/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One HTTP exchange: a request and (when it came) its response, with where
 * and when it happened.
 *
 * This is the only structure in apisonar that holds values (header values,
 * bodies, the request target). It lives between the HTTP parser (or a
 * capture file reader) and the anonymizer, in memory, inside one process,
 * and is freed as soon as the anonymizer or a capture writer is done with
 * it. Nothing downstream of the anonymizer may keep a pointer into it.
 *
 * Ownership: an exchange owns every string and buffer it points to; build
 * it with the as_exchange_* / as_msg_* helpers and release it with
 * as_exchange_free().
 */
#ifndef APISONAR_EXCHANGE_H
#define APISONAR_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on what one exchange may hold. Bodies beyond the cap are cut and
 * flagged; the true length is still reported. */
#define AS_MAX_HEADERS 128
#define AS_MAX_BODY_DEFAULT (64 * 1024)
#define AS_COMM_LEN 16
#define AS_ADDR_LEN 46 /* INET6_ADDRSTRLEN */

enum as_role {
	AS_ROLE_UNKNOWN = 0,
	AS_ROLE_SERVER, /* the observed process read the request */
	AS_ROLE_CLIENT, /* the observed process wrote the request */
};

/* Why a message or exchange is incomplete or unusual; a bit set. */
enum as_xflags {
	AS_X_NO_RESPONSE = 1u << 0,   /* connection ended before a response */
	AS_X_REQ_TRUNCATED = 1u << 1, /* request body cut at the capture cap */
	AS_X_RESP_TRUNCATED = 1u << 2,
	AS_X_REQ_GAP = 1u << 3,       /* bytes missing inside the request */
	AS_X_RESP_GAP = 1u << 4,
	AS_X_MIDSTREAM = 1u << 5,     /* connection seen after it was opened */
	AS_X_UPGRADE = 1u << 6,       /* 101 / CONNECT: parsing stopped after */
	AS_X_RESET = 1u << 7,         /* HTTP/2 stream reset (RST_STREAM) before it ended */
	AS_X_TALLY = 1u << 8,         /* no exchange of its own: `weight` exchanges of its
				       * connection were not sampled after the last one captured,
				       * whose method, target and Host it repeats (counts only) */
	AS_X_TWIN_ONLY = 1u << 9,     /* sensor-internal: the client's view of a connection whose
				       * server end is tracked and sampled too (the server end
				       * counts it); handed on only merged into its twin */
	AS_X_SAMPLED = 1u << 10,      /* captured under a capture budget: `weight` counts the
				       * exchanges it stands for on its connection */
};

struct as_header {
	char *name;  /* as sent; compare with strcasecmp */
	char *value; /* NUL-terminated; may contain any byte but NUL */
};

struct as_message {
	struct as_header *headers;
	size_t n_headers;
	size_t headers_cap; /* allocated slots in headers */
	unsigned char *body; /* decoded of chunked framing, not of gzip */
	size_t body_len;     /* bytes held in body */
	uint64_t body_true_len; /* bytes the message really carried */
	bool body_truncated;    /* body_len < body_true_len */
};

/* Who the observed process is, beyond its pid and name: its Kubernetes
 * workload (src/daemon/k8s.c), filled in by the daemon's catalog thread. Every
 * member is an owned string, NULL when unknown. Names only, never a pod
 * name (pods churn; the workload is the identity). */
struct as_identity {
	char *ns;        /* namespace */
	char *kind;      /* workload kind: Deployment, StatefulSet, DaemonSet, CronJob, Pod, ... */
	char *workload;  /* workload name */
	char *container; /* container name */
};

struct as_exchange {
	uint64_t req_time_ns;  /* wall clock (CLOCK_REALTIME), first request byte */
	uint64_t resp_time_ns; /* wall clock, first response byte; 0 if none */
	uint64_t latency_ns;   /* request end to response start, monotonic */

	uint32_t pid;
	char comm[AS_COMM_LEN];
	enum as_role role;
	bool tls;
	char local_addr[AS_ADDR_LEN];
	uint16_t local_port;
	char remote_addr[AS_ADDR_LEN];
	uint16_t remote_port;

	char *method; /* "GET" */
	char *target; /* request target as sent: "/users/1?x=2" */
	int req_version; /* 10 for HTTP/1.0, 11 for HTTP/1.1, 20 for HTTP/2 */
	struct as_message req;

	int status; /* 0 when there is no response */
	char *reason;
	int resp_version;
	struct as_message resp;

	uint32_t flags; /* enum as_xflags */
	/* Exchanges of its connection this one stands for (AS_X_SAMPLED): 1 +
	 * those the kernel's budget skipped just before it (counted there
	 * exactly); 0 means 1. */
	uint64_t weight;

	struct as_identity identity; /* filled after capture, before the anonymizer */
};

struct as_exchange *as_exchange_new(void);
void as_exchange_free(struct as_exchange *x);

/* Frees the strings of an identity and sets them to NULL; NULL-safe. */
void as_identity_clear(struct as_identity *id);

/* Copies len bytes of s into a new NUL-terminated string in *dst, freeing
 * what was there. Returns 0 or -ENOMEM. */
int as_strset(char **dst, const char *s, size_t len) __attribute__((warn_unused_result));

/* Appends a header (copied). Returns 0, -E2BIG past AS_MAX_HEADERS, or
 * -ENOMEM. */
int as_msg_add_header(struct as_message *m, const char *name, size_t name_len,
		      const char *value, size_t value_len) __attribute__((warn_unused_result));

/* Appends body bytes, keeping at most cap bytes; every byte counts towards
 * body_true_len. Returns 0 or -ENOMEM. */
int as_msg_append_body(struct as_message *m, const void *data, size_t len, size_t cap)
	__attribute__((warn_unused_result));

/* First header with this name (case-insensitive), or NULL. */
const char *as_msg_header(const struct as_message *m, const char *name);

void as_msg_clear(struct as_message *m);

/* "server" / "client" / "unknown" */
const char *as_role_name(enum as_role r);

#endif
