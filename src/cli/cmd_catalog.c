// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar catalog --nats URL [-o DIR]: the cluster-wide catalog, built
 * from the NATS key-value bucket where every satellite replica keeps its
 * merged catalog. The merge is associative and commutative and each batch
 * was merged by exactly one replica, so the result is what one satellite
 * would have made of all the batches, whatever the split between replicas.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/transport/batch.h"
#include "apisonar/transport/nats.h"
#include "apisonar/util/util.h"

static const struct cli_cmd catalog_cmd = {
	.name = "catalog",
	.usage = "usage: apisonar catalog --nats URL [-o DIR] [NATS options]",
};

static void usage(FILE *f)
{
	fprintf(f,
		"%s\n\n"
		"The cluster-wide catalog from the NATS key-value bucket %s, where each\n"
		"satellite replica (apisonar satellite --nats) keeps its merged catalog: every\n"
		"replica's entry merged into one.\n\n"
		"  --nats URL              the NATS server (nats:// or tls://)\n"
		"  -o, --out-dir DIR       write metadata.json and openapi/ there (default: print\n"
		"                          metadata.json on stdout)\n"
		"  -v, --verbose           debug logging\n\n",
		catalog_cmd.usage, NATS_KV_CATALOG);
	nats_opts_usage(f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cmd_catalog(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nats", required_argument, NULL, NATS_OPT_URL },
		NATS_CONN_LONG_OPTIONS,
		{ "out-dir", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct catalog_limits lim = { 0 };
	struct nats_opts no;
	struct nats_conn *c = NULL;
	struct catalog *cat = NULL;
	kvStore *kv = NULL;
	kvKeysList keys = { 0 };
	const char *out_dir = NULL;
	char err[320];
	natsStatus s;
	int o, i, rc = 1, merged = 0, verbose = 0;

	memset(&no, 0, sizeof(no));
	optind = 1;
	while ((o = cli_getopt(&catalog_cmd, argc, argv, "o:vh", opts)) != -1) {
		switch (o) {
		case CLI_OPT_BAD:
			return EXIT_USAGE;
		case 'o':
			out_dir = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (nats_opt_parse(&no, o, optarg) != 0)
				return EXIT_USAGE;
			break;
		}
	}
	if (optind < argc)
		return cli_usage_error(&catalog_cmd, "unexpected argument '%.64s'", argv[optind]);
	if (!no.url)
		return cli_usage_error(&catalog_cmd, "--nats URL is required");
	if (nats_opts_check(&no, err, sizeof(err)) != 0)
		return cli_usage_error(&catalog_cmd, "%s", err);
	log_setup(verbose ? LOG_DEBUG : LOG_INFO, 0);

	if (nats_conn_open(&no, "apisonar catalog", &c, err, sizeof(err)) != 0) {
		log_error("%s", err);
		goto out;
	}
	if (nats_kv_open(c, NATS_KV_CATALOG, 0, 0, &kv, err, sizeof(err)) != 0) {
		log_error("%s (no satellite replica has run against this server yet?)", err);
		goto out;
	}
	s = kvStore_Keys(&keys, kv, NULL);
	if (s != NATS_OK && s != NATS_NOT_FOUND) {
		log_error("cannot list the bucket %s: %s", NATS_KV_CATALOG, nats_status_kind(s));
		goto out;
	}
	cat = catalog_new(&lim);
	if (!cat) {
		log_error("out of memory");
		goto out;
	}
	if (keys.Count > 1)
		qsort(keys.Keys, (size_t)keys.Count, sizeof(keys.Keys[0]), cmp_str);
	for (i = 0; i < keys.Count; i++) {
		kvEntry *e = NULL;
		struct batch_meta meta;
		cJSON *doc = NULL;
		char why[256] = "";

		s = kvStore_Get(&e, kv, keys.Keys[i]);
		if (s == NATS_NOT_FOUND)
			continue; /* deleted meanwhile */
		if (s != NATS_OK) {
			log_error("cannot read the entry of replica %s: %s", keys.Keys[i],
				  nats_status_kind(s));
			goto out;
		}
		if (batch_decode(kvEntry_Value(e), (size_t)kvEntry_ValueLen(e), BATCH_MAX_DECODED,
				 &doc, &meta, why, sizeof(why)) != 0 ||
		    catalog_merge_metadata(cat, doc, why, sizeof(why)) != 0) {
			log_error("the entry of replica %s is not a catalog: %s", keys.Keys[i], why);
			cJSON_Delete(doc);
			kvEntry_Destroy(e);
			goto out;
		}
		cJSON_Delete(doc);
		kvEntry_Destroy(e);
		merged++;
	}
	if (merged == 0) {
		log_error("the bucket %s holds no catalog yet", NATS_KV_CATALOG);
		goto out;
	}
	if (out_dir) {
		int e = mkdir_p(out_dir, 0755);

		if (e == 0)
			e = catalog_write_dir(cat, out_dir);
		if (e) {
			log_error("cannot write the catalog to %s: %s", out_dir, strerror(-e));
			goto out;
		}
		log_info("catalog of %d replica(s) written to %s", merged, out_dir);
	} else {
		cJSON *doc = catalog_to_metadata(cat);
		char *txt = doc ? cJSON_Print(doc) : NULL;

		cJSON_Delete(doc);
		if (!txt) {
			log_error("out of memory");
			goto out;
		}
		fputs(txt, stdout);
		fputc('\n', stdout);
		free(txt);
	}
	rc = 0;
out:
	kvKeysList_Destroy(&keys);
	catalog_free(cat);
	kvStore_Destroy(kv);
	nats_conn_close(c);
	return rc;
}
