/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Both ends of one connection on this host (a client and a server on the
 * same machine, `role both`): the kernel sees the connection twice, once
 * per process, with the 4-tuple mirrored, and the parser makes each
 * exchange twice. For the catalog one exchange must count once, so the
 * sensor pairs the two views here, before an exchange leaves the sensor
 * stage, and hands on one exchange per pair:
 *
 * - the server's view is the base (its process, its Kubernetes identity,
 *   its service name stay what a server-only sensor would record);
 * - per message, the body of the side that holds more of it replaces the
 *   base's (with its truncation and gap flags): a response nginx sent with
 *   sendfile, a gap on nginx's side, comes whole from curl's side.
 *
 * A connection whose other end is not tracked (another host, a filtered
 * process) passes straight through. An exchange whose twin does not come
 * within the hold time (the other side lost it) goes on alone, counted.
 * Exchanges of one connection come in order on both ends, so twins are
 * matched first in, first out, and checked on method and target.
 */
#ifndef APISONAR_MIRROR_H
#define APISONAR_MIRROR_H

#include <stdbool.h>
#include <stdint.h>

#include "apisonar/exchange/exchange.h"

/* The connection, named the same from both ends. */
struct mirror_key {
	uint16_t family;
	uint16_t sport, cport; /* server's and client's ports */
	uint8_t saddr[16], caddr[16];
};

#define MIRROR_SERVER 0
#define MIRROR_CLIENT 1

struct mirror_stats {
	uint64_t merged;    /* pairs handed on as one exchange */
	uint64_t alone;     /* exchanges held for a twin that never came */
	uint64_t held;      /* exchanges waiting for their twin now */
};

/* Receives every exchange handed on; it owns x. */
typedef void (*mirror_emit_fn)(void *ctx, struct as_exchange *x);

struct mirror;
struct mirror_pair;

struct mirror *mirror_new(uint64_t hold_ns, mirror_emit_fn emit, void *ctx);
/* Hands on everything still held, then frees; NULL-safe. */
void mirror_free(struct mirror *m);

/* One end of a connection opened: side is MIRROR_SERVER or MIRROR_CLIENT;
 * local: the peer is on this host (loopback, or the same address), so the
 * other end may show up a little later (TLS plaintext is sent when the SSL
 * call returns, after the syscall the peer already answered), and an
 * exchange waits for it even before it is open. Returns the pair to pass
 * to the calls below (NULL: out of memory, the end then passes its
 * exchanges straight through). */
struct mirror_pair *mirror_open(struct mirror *m, const struct mirror_key *k, int side,
				bool local);
/* An exchange of that end (owned by the mirror from here). */
void mirror_exchange(struct mirror *m, struct mirror_pair *p, int side, struct as_exchange *x,
		     uint64_t now_ns);
/* That end ended: its twin's waiting exchanges go on alone. */
void mirror_close(struct mirror *m, struct mirror_pair *p, int side);
/* Hands on exchanges held past the hold time. */
void mirror_tick(struct mirror *m, uint64_t now_ns);

void mirror_get_stats(const struct mirror *m, struct mirror_stats *out);

/* Whether that end of the pair is, or was, tracked. */
bool mirror_side_seen(const struct mirror_pair *p, int side);

#endif
