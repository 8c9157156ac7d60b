/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The shape of a protobuf message without its schema (gRPC bodies), as a
 * schema node of docs/metadata.md: an object whose properties are the
 * field numbers ("1", "2", ...), each with its wire types (`wire`: varint,
 * fixed64, len, fixed32), its JSON-ish type (integer, number, string,
 * object), nesting where a length-delimited field parses as a message,
 * `array` with `items` where a field repeats within one message, and the
 * formats and sensitive-data classes of string fields from the detectors.
 * Values are read to learn their shape and class, never kept.
 *
 * Also the gRPC framing: length-prefixed messages, compressed ones
 * (grpc-encoding gzip / deflate) inflated with zlib. See docs/grpc.md.
 */
#ifndef APISONAR_PROTOWIRE_H
#define APISONAR_PROTOWIRE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "apisonar/catalog/anon.h"

/* Deepest nesting looked at, whatever the limits say (the walk recurses). */
#define PW_MAX_DEPTH 32
/* Field occurrences looked at per message. */
#define PW_MAX_FIELDS 4096

/* 1 when p..p+n is a well-formed protobuf message (every tag, varint and
 * length in bounds, no group, at most PW_MAX_DEPTH - depth levels deep
 * where it matters not), else 0. An empty buffer is a message. */
int pw_is_message(const unsigned char *p, size_t n);

/* Merges the shape of one message into node. Returns 0, or -EINVAL when
 * the bytes are not a message (node untouched). */
int pw_message_infer(cJSON *node, const unsigned char *p, size_t n, int depth,
		     const struct anon_limits *lim, struct anon_counters *cnt)
    __attribute__((warn_unused_result));

/* The messages of one gRPC body (5-byte prefix: compressed flag, 32-bit
 * big-endian length). encoding is the grpc-encoding header (NULL:
 * identity). Each message's shape is merged into schema (may be NULL to
 * count only). Returns the number of complete messages, or -EINVAL when
 * the framing is broken or a compressed message cannot be inflated; bytes
 * left over after the last complete message (a body cut at the capture
 * cap) are not an error, *partial says so. */
long pw_grpc_messages(cJSON *schema, const unsigned char *body, size_t len, const char *encoding,
		      const struct anon_limits *lim, struct anon_counters *cnt, int *partial);

#endif
