// SPDX-License-Identifier: BSD-2-Clause
/*
 * A test helper for tests/e2e/test_nats_* (built by test_nats_lib.sh, not
 * part of apisonar): publishes raw bytes to the stream, as a hostile or
 * broken publisher would, and reads the stream's and the consumer's
 * counts. Through libnats, like apisonar.
 *
 *   nats_tool pub URL SUBJECT FILE [MSGID]   prints "stored" or "duplicate"
 *   nats_tool pubdir URL SUBJECT DIR         each file of DIR, Nats-Msg-Id = its name
 *   nats_tool info URL                       prints "msgs=N pending=N ack_pending=N"
 *
 * NATS_CA in the environment names a CA file for tls:// URLs, NATS_TOKEN a
 * token.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

static int connect_js(const char *url, natsConnection **nc, jsCtx **js)
{
	natsOptions *o = NULL;
	const char *ca = getenv("NATS_CA"), *tok = getenv("NATS_TOKEN");

	if (natsOptions_Create(&o) != NATS_OK || natsOptions_SetURL(o, url) != NATS_OK ||
	    natsOptions_SetTimeout(o, 3000) != NATS_OK)
		return 1;
	if (ca && (natsOptions_SetSecure(o, true) != NATS_OK ||
		   natsOptions_LoadCATrustedCertificates(o, ca) != NATS_OK))
		return 1;
	if (tok && natsOptions_SetToken(o, tok) != NATS_OK)
		return 1;
	if (natsConnection_Connect(nc, o) != NATS_OK) {
		fprintf(stderr, "nats_tool: cannot connect\n");
		natsOptions_Destroy(o);
		return 1;
	}
	natsOptions_Destroy(o);
	return natsConnection_JetStream(js, *nc, NULL) != NATS_OK;
}

static int pub(const char *url, const char *subj, const char *file, const char *id)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsMsg *m = NULL;
	jsPubAck *pa = NULL;
	jsErrCode je = 0;
	static char buf[16 << 20];
	size_t n;
	FILE *f = fopen(file, "rb");

	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (connect_js(url, &nc, &js))
		return 1;
	if (natsMsg_Create(&m, subj, NULL, buf, (int)n) != NATS_OK)
		return 1;
	if (id && natsMsgHeader_Set(m, "Nats-Msg-Id", id) != NATS_OK)
		return 1;
	if (js_PublishMsg(&pa, js, m, NULL, &je) != NATS_OK) {
		fprintf(stderr, "nats_tool: publish failed (%d)\n", (int)je);
		return 1;
	}
	printf("%s\n", pa->Duplicate ? "duplicate" : "stored");
	jsPubAck_Destroy(pa);
	natsMsg_Destroy(m);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}

/* Publishes every file of dir (for bench/nats_bench), asynchronously,
 * then waits for all acknowledgements. */
static int pubdir(const char *url, const char *subj, const char *dir)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsPubOptions po;
	struct dirent *de;
	static char buf[16 << 20];
	char path[4096];
	DIR *d = opendir(dir);
	int n = 0;

	if (!d || connect_js(url, &nc, &js))
		return 1;
	jsPubOptions_Init(&po);
	po.MaxWait = 30000;
	while ((de = readdir(d))) {
		natsMsg *m = NULL;
		FILE *f;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		if (!f)
			return 1;
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		if (natsMsg_Create(&m, subj, NULL, buf, (int)len) != NATS_OK ||
		    natsMsgHeader_Set(m, "Nats-Msg-Id", de->d_name) != NATS_OK ||
		    js_PublishMsgAsync(js, &m, NULL) != NATS_OK)
			return 1;
		n++;
	}
	closedir(d);
	if (js_PublishAsyncComplete(js, &po) != NATS_OK)
		return 1;
	printf("published %d\n", n);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}

static int info(const char *url)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsStreamInfo *si = NULL;
	jsConsumerInfo *ci = NULL;

	if (connect_js(url, &nc, &js))
		return 1;
	if (js_GetStreamInfo(&si, js, "APISONAR_BATCHES", NULL, NULL) != NATS_OK ||
	    js_GetConsumerInfo(&ci, js, "APISONAR_BATCHES", "apisonar-satellites", NULL, NULL) !=
		NATS_OK) {
		fprintf(stderr, "nats_tool: no stream or consumer\n");
		return 1;
	}
	printf("msgs=%llu pending=%llu ack_pending=%lld\n", (unsigned long long)si->State.Msgs,
	       (unsigned long long)ci->NumPending, (long long)ci->NumAckPending);
	jsStreamInfo_Destroy(si);
	jsConsumerInfo_Destroy(ci);
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "pub") == 0)
		return pub(argv[2], argv[3], argv[4], argc > 5 ? argv[5] : NULL);
	if (argc == 5 && strcmp(argv[1], "pubdir") == 0)
		return pubdir(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "info") == 0)
		return info(argv[2]);
	fprintf(stderr, "usage: nats_tool pub URL SUBJECT FILE [MSGID] | info URL\n");
	return 2;
}
