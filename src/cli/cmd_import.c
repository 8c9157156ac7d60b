// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar import: OpenAPI / Swagger documents in, a declared catalog out
 * (DIR/declared.json), with every value the detectors find reported by
 * JSON pointer and class. The documents themselves are never copied.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/declared_merge.h"
#include "apisonar/catalog/spec.h"
#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/util/util.h"

#define IMP_MAX_INPUTS 256

static const struct cli_cmd imp_cmd = { "import", "usage: apisonar import SPEC... [--service NAME] [--base-path PATH] [--out-dir DIR] [--strict] [--export] [--enqueue --spool DIR --spool-key-file FILE [--sensor-id ID]]" };

static void imp_usage(FILE *f)
{
	fprintf(f,
		"usage: apisonar import SPEC... [--service NAME] [--base-path PATH]\n"
		"                       [--out-dir DIR] [--strict] [--export]\n"
		"                       [--enqueue --spool DIR --spool-key-file FILE [--sensor-id ID]]\n"
		"\n"
		"Reads OpenAPI 3.0/3.1 and Swagger 2.0 documents (JSON or YAML), checks every\n"
		"value in them with the sensitive-data detectors, and writes the declared API\n"
		"(endpoints, parameters, body fields, statuses, auth schemes; no value) to\n"
		"DIR/declared.json (DIR defaults to ./apisonar-out). What was found is listed\n"
		"on stderr by JSON pointer and class, never by value.\n"
		"\n"
		"  --service NAME    the service the documents describe (default: the host of\n"
		"                    the first server URL)\n"
		"  --base-path PATH  the path prefix of every endpoint (default: the path of\n"
		"                    the first server URL)\n"
		"  --strict          refuse (exit 1) when anything had to be scrubbed\n"
		"  --export          also write the catalog of the declared API alone:\n"
		"                    DIR/metadata.json and DIR/openapi/<service>.json\n"
		"  --enqueue         also spool that catalog as a batch (implies --export),\n"
		"                    through the last guard, into the encrypted spool\n"
		"                    --spool DIR with the key of --spool-key-file, for the\n"
		"                    uploader or apisonar run to deliver\n"
		"\n"
		"Exit codes: 0 imported, 1 error or refused by --strict, 2 usage.\n");
}

/* Lists the findings of one run: pointer and class, never the value. */
static void imp_report(const char *path, const struct spec_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n; i++)
		fprintf(stderr, "apisonar import: %s: scrubbed %s at %s\n", path,
			rep->findings[i].cls == DC_NONE ? "a value-like name" :
							  detect_class_name(rep->findings[i].cls),
			rep->findings[i].pointer);
	if (rep->total > rep->n)
		fprintf(stderr, "apisonar import: %s: %zu more scrubbed values not listed\n", path,
			rep->total - rep->n);
}

/* --export: the declared catalog merged into an empty catalog, written as
 * apisonar run writes its own (metadata.json, openapi/). */
static int imp_export(const cJSON *declared, const char *out_dir)
{
	cJSON *md = declared_to_metadata(declared);
	struct catalog *c = catalog_new(NULL);
	char err[256];
	int rc = -ENOMEM;

	if (md && c) {
		rc = catalog_merge_metadata(c, md, err, sizeof(err));
		if (rc)
			fprintf(stderr, "apisonar import: the declared catalog: %s\n", err);
		else if ((rc = catalog_write_dir(c, out_dir)))
			fprintf(stderr, "apisonar import: writing the catalog to %s: %s\n", out_dir,
				strerror(-rc));
	} else {
		fprintf(stderr, "apisonar import: out of memory\n");
	}
	catalog_free(c);
	cJSON_Delete(md);
	return rc;
}

int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "service", required_argument, NULL, 's' },
		{ "base-path", required_argument, NULL, 'b' },
		{ "out-dir", required_argument, NULL, 'o' },
		{ "strict", no_argument, NULL, 'S' },
		{ "export", no_argument, NULL, 'E' },
		{ "enqueue", no_argument, NULL, 'Q' },
		{ "spool", required_argument, NULL, 'P' },
		{ "spool-key-file", required_argument, NULL, 'K' },
		{ "sensor-id", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct spec_declare_opts so = { 0 };
	const char *out_dir = "apisonar-out";
	size_t scrubbed = 0;
	cJSON *catalog = NULL;
	char err[512], path[4096];
	int opt, i, strict = 0, export = 0, enqueue = 0, ret = 1, rc, ndocs;
	const char *spool = NULL, *key_file = NULL, *sensor_id = NULL;
	char *text = NULL;

	optind = 1;
	while ((opt = cli_getopt(&imp_cmd, argc, argv, "o:h", opts)) != -1) {
		switch (opt) {
		case 's':
			so.service = optarg;
			break;
		case 'b':
			if (optarg[0] != '/') {
				fprintf(stderr, "apisonar import: --base-path must start with '/'\n");
				return EXIT_USAGE;
			}
			so.base_path = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'S':
			strict = 1;
			break;
		case 'E':
			export = 1;
			break;
		case 'Q':
			enqueue = export = 1;
			break;
		case 'P':
			spool = optarg;
			break;
		case 'K':
			key_file = optarg;
			break;
		case 'I':
			sensor_id = optarg;
			break;
		case 'h':
			imp_usage(stdout);
			return 0;
		default: /* CLI_OPT_BAD: cli_getopt said which option, never its value */
			return EXIT_USAGE;
		}
	}
	if (enqueue != (spool != NULL) || (enqueue && !key_file) || (!enqueue && (key_file || sensor_id))) {
		fprintf(stderr, "apisonar import: --enqueue needs --spool DIR and --spool-key-file FILE "
				"(and they go only with it)\n");
		return EXIT_USAGE;
	}
	if (optind >= argc || argc - optind > IMP_MAX_INPUTS) {
		fprintf(stderr, "apisonar import: %s\n",
			optind >= argc ? "no document given" : "at most 256 documents");
		imp_usage(stderr);
		return EXIT_USAGE;
	}
	ndocs = argc - optind;
	for (i = optind; i < argc; i++) {
		struct spec_report rep = { 0 };

		rc = spec_declare_file(argv[i], &so, &rep, &catalog, err, sizeof(err));
		imp_report(argv[i], &rep);
		scrubbed += rep.total;
		spec_report_free(&rep);
		if (rc) {
			fprintf(stderr, "apisonar import: %s\n", err);
			goto cleanup;
		}
	}
	if (strict && scrubbed) {
		fprintf(stderr,
			"apisonar import: refused (--strict): %zu value%s had to be scrubbed; remove "
			"them from the documents, or import without --strict\n",
			scrubbed, scrubbed == 1 ? "" : "s");
		goto cleanup;
	}
	text = cJSON_Print(catalog);
	if (!text) {
		fprintf(stderr, "apisonar import: out of memory\n");
		goto cleanup;
	}
	rc = mkdir_p(out_dir, 0755);
	if (rc) {
		fprintf(stderr, "apisonar import: %s: %s\n", out_dir, strerror(-rc));
		goto cleanup;
	}
	snprintf(path, sizeof(path), "%s/declared.json", out_dir);
	rc = write_file_atomic(path, text, strlen(text), 0644);
	if (rc) {
		fprintf(stderr, "apisonar import: writing %s: %s\n", path, strerror(-rc));
		goto cleanup;
	}
	if (export && imp_export(catalog, out_dir))
		goto cleanup;
	if (enqueue) {
		/* The same path as apisonar upload --enqueue: batch, last guard,
		 * encrypted spool; delivered by whoever drains the spool. */
		char meta[4096];
		char *uargv[10];
		int uargc = 0;

		snprintf(meta, sizeof(meta), "%s/metadata.json", out_dir);
		uargv[uargc++] = (char *)"upload";
		uargv[uargc++] = (char *)"--spool";
		uargv[uargc++] = (char *)spool;
		uargv[uargc++] = (char *)"--spool-key-file";
		uargv[uargc++] = (char *)key_file;
		uargv[uargc++] = (char *)"--enqueue";
		uargv[uargc++] = meta;
		if (sensor_id) {
			uargv[uargc++] = (char *)"--sensor-id";
			uargv[uargc++] = (char *)sensor_id;
		}
		uargv[uargc] = NULL;
		if (cmd_upload(uargc, uargv) != 0) {
			fprintf(stderr, "apisonar import: %s not spooled\n", meta);
			goto cleanup;
		}
	}
	fprintf(stderr, "import: %d document%s, %d endpoint%s declared, %zu value%s scrubbed; %s\n",
		ndocs, ndocs == 1 ? "" : "s",
		spec_count_endpoints(catalog), spec_count_endpoints(catalog) == 1 ? "" : "s", scrubbed,
		scrubbed == 1 ? "" : "s", path);
	ret = 0;
cleanup:
	free(text);
	cJSON_Delete(catalog);
	return ret;
}
