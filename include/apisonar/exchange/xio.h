/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exchange files: writing and reading struct as_exchange as text lines
 * (for humans), JSON lines, or a HAR 1.2 document. `apisonar capture`
 * writes them, `apisonar anonymize` reads them. The formats are described
 * in docs/exchange-format.md.
 *
 * Privacy: a writer shows values (header values, bodies, query values)
 * only when made with show_values; a reader's error text never contains a
 * byte of its input.
 */
#ifndef APISONAR_XIO_H
#define APISONAR_XIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "apisonar/exchange/exchange.h"

enum xio_format { XIO_AUTO = 0, XIO_TEXT, XIO_JSONL, XIO_HAR };

/* Caps on what a reader accepts. */
#define XIO_MAX_LINE (16u * 1024 * 1024) /* one JSONL record */
#define XIO_MAX_HAR (256u * 1024 * 1024) /* one whole HAR document */

/* "text" | "jsonl" | "har" | "auto" into *out. Returns 0 or -EINVAL. */
int xio_format_parse(const char *s, enum xio_format *out) __attribute__((warn_unused_result));

/* "text" / "jsonl" / "har" / "auto" */
const char *xio_format_name(enum xio_format f);

struct xio_writer;

/* A writer on out (not owned, never closed). fmt must be TEXT, JSONL or
 * HAR. Returns NULL on a bad format or no memory. */
struct xio_writer *xio_writer_new(FILE *out, enum xio_format fmt, bool show_values);

/* Writes one exchange (buffered: the caller flushes out when idle). Returns 0 or a negative errno. */
int xio_write(struct xio_writer *w, const struct as_exchange *x)
    __attribute__((warn_unused_result));

/* HAR: ends the document (an empty capture still gives a valid one).
 * Flushes and frees; NULL-safe; does not fclose out. Returns 0 or a
 * negative errno when something could not be written. */
int xio_writer_close(struct xio_writer *w);

struct xio_reader;

/* A reader on in (not owned). AUTO sniffs the first bytes: '{' followed by
 * the key "log" is a HAR document, anything else JSON lines. TEXT cannot be
 * read. Returns NULL on a bad format or no memory. */
struct xio_reader *xio_reader_new(FILE *in, enum xio_format fmt);

/* Lowers the caps (tests and fuzzing); 0 keeps a cap as it is. Call before
 * the first xio_read. Values above the defaults are clamped to them. */
void xio_reader_set_limits(struct xio_reader *r, size_t max_line, size_t max_har);

/* 1: *out holds the next exchange (the caller frees it); 0: end of input;
 * < 0: a fatal error (message from xio_reader_error). A bad record is
 * skipped and counted, never fatal. */
int xio_read(struct xio_reader *r, struct as_exchange **out) __attribute__((warn_unused_result));

struct xio_read_stats {
	uint64_t read;		     /* exchanges returned */
	uint64_t skipped_malformed;  /* not JSON, wrong types, bad values */
	uint64_t skipped_too_big;    /* line over the cap, too many headers */
	uint64_t skipped_no_request; /* a record without a request */
};

void xio_reader_stats(const struct xio_reader *r, struct xio_read_stats *st);

/* The last fatal error, or "" when there was none. Never holds input
 * bytes: only fixed text and numbers (line numbers, offsets, sizes). */
const char *xio_reader_error(const struct xio_reader *r);

/* The format the reader settled on (JSONL or HAR once sniffed). */
enum xio_format xio_reader_format(const struct xio_reader *r);

void xio_reader_free(struct xio_reader *r);

/* ---- helpers shared by the writer and the reader (src/exchange/xio.c) ---------- */

/* True when s[0..len) is valid UTF-8 with no NUL byte: it can travel as a
 * JSON string and come back byte for byte. */
bool xio_utf8_ok(const unsigned char *s, size_t len);

/* Standard base64 with padding, NUL-terminated, caller frees. NULL on no
 * memory. */
char *xio_base64_encode(const unsigned char *s, size_t len);

/* Decodes standard base64 (padding optional, no whitespace). Returns 0,
 * -EINVAL on a bad character or length, or -ENOMEM. *out is NUL-terminated
 * (not counted in *out_len) and owned by the caller. */
int xio_base64_decode(const char *s, size_t len, unsigned char **out, size_t *out_len)
    __attribute__((warn_unused_result));

/* The target with every query value replaced by '*' (`/s?q=*&page=*`); a
 * query parameter without '=' becomes '*'. Caller frees; NULL on no memory. */
char *xio_mask_target(const char *target);

/* Name of one enum as_xflags bit ("no_response", ...) or NULL. */
const char *xio_flag_name(uint32_t bit);

/* The bit for a flag name, or 0 when unknown. */
uint32_t xio_flag_bit(const char *name);

/* "HTTP/1.1" for 11; "" for 0. */
void xio_format_version(int v, char *buf, size_t size);

/* "HTTP/1.1" -> 11, "HTTP/2.0" / "h2" -> 20, "h3" -> 30, "" -> 0; -1 when
 * unrecognised. */
int xio_parse_version(const char *s);

#endif
