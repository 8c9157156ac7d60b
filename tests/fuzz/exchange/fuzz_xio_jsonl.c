// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the JSONL exchange reader (and, built with
 * XIO_FUZZ_FORMAT set to XIO_HAR, for the HAR reader: fuzz_xio_har.c).
 * Every exchange read is written again in all three formats, and written
 * as JSONL with values and read back: it must come back the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/exchange/xio.h"

#ifndef XIO_FUZZ_FORMAT
#define XIO_FUZZ_FORMAT XIO_JSONL
#endif

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "round trip mismatch: %s\n", what);
		abort();
	}
}

static void same_msg(const struct as_message *a, const struct as_message *b)
{
	size_t i;

	check(a->n_headers == b->n_headers, "header count");
	for (i = 0; i < a->n_headers; i++) {
		check(strcmp(a->headers[i].name, b->headers[i].name) == 0, "header name");
		check(strcmp(a->headers[i].value, b->headers[i].value) == 0, "header value");
	}
	check(a->body_len == b->body_len, "body length");
	check(!a->body_len || memcmp(a->body, b->body, a->body_len) == 0, "body");
	check(a->body_true_len == b->body_true_len, "body true length");
	check(a->body_truncated == b->body_truncated, "body truncated");
}

/* JSONL with values must give back the same exchange (times to the
 * microsecond, latency within rounding of a double). */
static void roundtrip(const struct as_exchange *x)
{
	struct as_exchange *y = NULL;
	struct xio_reader *r;
	struct xio_writer *w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	uint64_t dl;

	if (!f)
		return;
	w = xio_writer_new(f, XIO_JSONL, true);
	check(w && xio_write(w, x) == 0, "write");
	check(xio_writer_close(w) == 0, "close");
	fclose(f);
	f = fmemopen(buf, len, "r");
	r = f ? xio_reader_new(f, XIO_JSONL) : NULL;
	check(r && xio_read(r, &y) == 1, "read back");
	check(x->req_time_ns / 1000 == y->req_time_ns / 1000, "request time");
	check(x->resp_time_ns / 1000 == y->resp_time_ns / 1000, "response time");
	dl = x->latency_ns > y->latency_ns ? x->latency_ns - y->latency_ns
					   : y->latency_ns - x->latency_ns;
	check(dl <= 1 + x->latency_ns / 1000000000000ull, "latency");
	check(x->pid == y->pid && strcmp(x->comm, y->comm) == 0, "pid, comm");
	check(x->role == y->role && x->tls == y->tls, "role, tls");
	check(strcmp(x->local_addr, y->local_addr) == 0 && x->local_port == y->local_port, "local");
	check(strcmp(x->remote_addr, y->remote_addr) == 0 && x->remote_port == y->remote_port,
	      "remote");
	check(strcmp(x->method, y->method) == 0 && strcmp(x->target, y->target) == 0,
	      "request line");
	check(x->req_version == y->req_version && x->resp_version == y->resp_version, "versions");
	check(x->status == y->status && x->flags == y->flags, "status, flags");
	check(strcmp(x->reason ? x->reason : "", y->reason ? y->reason : "") == 0, "reason");
	same_msg(&x->req, &y->req);
	same_msg(&x->resp, &y->resp);
	as_exchange_free(y);
	xio_reader_free(r);
	fclose(f);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct xio_writer *w[4];
	struct as_exchange *x;
	struct xio_reader *r;
	int i, rc;
	FILE *in;

	if (size == 0)
		return 0;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	in = fmemopen((void *)data, size, "r");
	if (!in || !devnull)
		abort();
	r = xio_reader_new(in, XIO_FUZZ_FORMAT);
	xio_reader_set_limits(r, 64 * 1024, 1024 * 1024);
	w[0] = xio_writer_new(devnull, XIO_TEXT, false);
	w[1] = xio_writer_new(devnull, XIO_TEXT, true);
	w[2] = xio_writer_new(devnull, XIO_JSONL, false);
	w[3] = xio_writer_new(devnull, XIO_HAR, true);
	for (;;) {
		rc = xio_read(r, &x);
		if (rc <= 0)
			break;
		for (i = 0; i < 4; i++)
			if (xio_write(w[i], x))
				abort();
		roundtrip(x);
		as_exchange_free(x);
	}
	/* The error text is fixed: no input byte in it. */
	if (rc < 0 && strlen(xio_reader_error(r)) == 0)
		abort();
	for (i = 0; i < 4; i++)
		xio_writer_close(w[i]);
	xio_reader_free(r);
	fclose(in);
	return 0;
}
