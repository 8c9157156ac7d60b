/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers for the anonymizer and catalog tests: build exchanges tersely. */
#ifndef ANON_TESTLIB_H
#define ANON_TESTLIB_H

#include <stdlib.h>
#include <string.h>

#include "apisonar/exchange/exchange.h"

/* An exchange: request headers as "Name: value" strings (NULL-terminated
 * list), optional bodies. status 0 means no response. */
static inline struct as_exchange *tx_new(const char *method, const char *target,
					 const char *const *req_headers, const char *req_body,
					 int status, const char *const *resp_headers,
					 const char *resp_body)
{
	struct as_exchange *x = as_exchange_new();
	size_t i;

	if (!x)
		abort();
	if (as_strset(&x->method, method, strlen(method)) ||
	    as_strset(&x->target, target, strlen(target)))
		abort();
	for (i = 0; req_headers && req_headers[i]; i++) {
		const char *c = strchr(req_headers[i], ':');
		const char *v = c + 1;

		while (*v == ' ')
			v++;
		if (as_msg_add_header(&x->req, req_headers[i], (size_t)(c - req_headers[i]), v,
				      strlen(v)))
			abort();
	}
	if (req_body && as_msg_append_body(&x->req, req_body, strlen(req_body), 1 << 20))
		abort();
	x->status = status;
	for (i = 0; resp_headers && resp_headers[i]; i++) {
		const char *c = strchr(resp_headers[i], ':');
		const char *v = c + 1;

		while (*v == ' ')
			v++;
		if (as_msg_add_header(&x->resp, resp_headers[i], (size_t)(c - resp_headers[i]), v,
				      strlen(v)))
			abort();
	}
	if (resp_body && as_msg_append_body(&x->resp, resp_body, strlen(resp_body), 1 << 20))
		abort();
	x->req_time_ns = 1764000000000000000ull;
	x->latency_ns = 2000000;
	snprintf(x->comm, sizeof(x->comm), "api");
	x->role = AS_ROLE_SERVER;
	snprintf(x->local_addr, sizeof(x->local_addr), "10.0.0.1");
	x->local_port = 8080;
	return x;
}

#endif
