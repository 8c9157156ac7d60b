// SPDX-License-Identifier: BSD-2-Clause
/*
 * The runner's call to a satellite (docs/testing.md): fetch a plan. HTTPS
 * only, peer and host verified, the bearer token from a file and never
 * printed; the same rules as the uploader's. Results go back through the
 * spool and the uploader (deliver.c), not from here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "apisonar/tester/tester.h"
#include "apisonar/util/util.h"

#define SAT_MAX_PLAN (64u << 20)
#define SAT_TOKEN_CAP 4096

struct buf {
	char *p;
	size_t n;
};

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = sz * n;
	char *q;

	if (b->n + len > SAT_MAX_PLAN)
		return 0;
	q = realloc(b->p, b->n + len + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, p, len);
	b->p = q;
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

/* One HTTPS GET to the satellite; *status and the body. */
static int sat_get(const struct tester_sat_opts *o, const char *url, long *status, struct buf *out,
		   char *err, size_t errlen)
{
	char *tok = NULL, line[SAT_TOKEN_CAP + 32], ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	size_t tl = 0;
	CURL *c;
	CURLcode cc;
	int rc;

	if (o->token_file) {
		rc = read_file_all(o->token_file, SAT_TOKEN_CAP, &tok, &tl);
		if (rc) {
			snprintf(err, errlen, "token file %s: %s", o->token_file, strerror(-rc));
			return rc;
		}
		tok[strcspn(tok, "\r\n")] = '\0';
		snprintf(line, sizeof(line), "Authorization: Bearer %s", tok);
		h = curl_slist_append(h, line);
		OPENSSL_cleanse(line, sizeof(line));
		OPENSSL_cleanse(tok, tl);
		free(tok);
	}
	c = curl_easy_init();
	if (!c) {
		curl_slist_free_all(h);
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (o->client_cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, o->client_cert);
	if (o->client_key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, o->client_key);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "apisonar-test/" APISONAR_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	{
		struct curl_slist *l;

		for (l = h; l; l = l->next)
			OPENSSL_cleanse(l->data, strlen(l->data));
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "satellite: %s", ebuf[0] ? ebuf : curl_easy_strerror(cc));
		return -EIO;
	}
	return 0;
}

int tester_sat_plan(const struct tester_sat_opts *o, const char *service, cJSON **plan, char *err,
		    size_t errlen)
{
	struct buf b = { 0 };
	char url[4096], *esc;
	long status = 0;
	int rc;

	esc = curl_easy_escape(NULL, service, 0);
	snprintf(url, sizeof(url), "%s/v1/test-plans/%s", o->url, esc ? esc : "");
	curl_free(esc);
	rc = sat_get(o, url, &status, &b, err, errlen);
	if (!rc && status != 200) {
		snprintf(err, errlen, "satellite: GET /v1/test-plans/%s answered %ld", service, status);
		rc = status == 404 ? -ENOENT : -EIO;
	}
	if (!rc) {
		*plan = cJSON_ParseWithLength(b.p, b.n);
		if (!*plan) {
			snprintf(err, errlen, "satellite: the plan is not JSON");
			rc = -EINVAL;
		} else {
			rc = tester_plan_check(*plan, err, errlen);
		}
	}
	free(b.p);
	return rc;
}
