// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apisonar/exchange/exchange.h"

struct as_exchange *as_exchange_new(void)
{
	return calloc(1, sizeof(struct as_exchange));
}

void as_msg_clear(struct as_message *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n_headers; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	free(m->body);
	memset(m, 0, sizeof(*m));
}

void as_exchange_free(struct as_exchange *x)
{
	if (!x)
		return;
	free(x->method);
	free(x->target);
	free(x->reason);
	as_msg_clear(&x->req);
	as_msg_clear(&x->resp);
	as_identity_clear(&x->identity);
	free(x);
}

/* The identity's strings are owned by the exchange, so its free must
 * release them; the daemon also clears a half-filled identity with it. */
void as_identity_clear(struct as_identity *id)
{
	if (!id)
		return;
	free(id->ns);
	free(id->kind);
	free(id->workload);
	free(id->container);
	memset(id, 0, sizeof(*id));
}

int as_strset(char **dst, const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		return -ENOMEM;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	free(*dst);
	*dst = p;
	return 0;
}

int as_msg_add_header(struct as_message *m, const char *name, size_t name_len, const char *value,
		      size_t value_len)
{
	struct as_header *h;
	char *n = NULL, *v = NULL;

	if (m->n_headers >= AS_MAX_HEADERS)
		return -E2BIG;
	/* Grow by doubling; the cap above bounds it. */
	if (m->n_headers == m->headers_cap) {
		size_t want = m->headers_cap ? m->headers_cap * 2 : 8;

		h = realloc(m->headers, want * sizeof(*h));
		if (!h)
			return -ENOMEM;
		m->headers = h;
		m->headers_cap = want;
	}
	if (as_strset(&n, name, name_len) || as_strset(&v, value, value_len)) {
		free(n);
		free(v);
		return -ENOMEM;
	}
	m->headers[m->n_headers].name = n;
	m->headers[m->n_headers].value = v;
	m->n_headers++;
	return 0;
}

int as_msg_append_body(struct as_message *m, const void *data, size_t len, size_t cap)
{
	size_t room, take;
	unsigned char *b;

	m->body_true_len += len;
	room = cap > m->body_len ? cap - m->body_len : 0;
	take = len < room ? len : room;
	if (take < len)
		m->body_truncated = true;
	if (!take)
		return 0;
	b = realloc(m->body, m->body_len + take);
	if (!b)
		return -ENOMEM;
	memcpy(b + m->body_len, data, take);
	m->body = b;
	m->body_len += take;
	return 0;
}

const char *as_msg_header(const struct as_message *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_headers; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

const char *as_role_name(enum as_role r)
{
	switch (r) {
	case AS_ROLE_SERVER:
		return "server";
	case AS_ROLE_CLIENT:
		return "client";
	default:
		return "unknown";
	}
}
