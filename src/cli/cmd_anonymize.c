// SPDX-License-Identifier: BSD-2-Clause
/*
 * apisonar anonymize: recorded exchanges (JSONL or HAR) in, catalog out
 * (DIR/metadata.json and DIR/openapi/<service>.json). A thin front over the
 * xio readers and the catalog; the summary on stderr holds only counts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/cli/cmd.h"
#include "apisonar/cli/opts.h"
#include "apisonar/exchange/xio.h"
#include "apisonar/util/util.h"

#define ANZ_MAX_INPUTS 256

#define ANZ_USAGE                                                                          \
	"usage: apisonar anonymize [-i FILE]... [--format auto|har|jsonl] [--out-dir DIR]\n"   \
	"                          [--max-services N] [--max-endpoints N]\n"                 \
	"                          [--max-fields N] [--max-depth N]"

static const struct cli_cmd anz_cmd = { "anonymize", ANZ_USAGE };

static void anz_usage(FILE *f)
{
	fprintf(f,
		ANZ_USAGE "\n"
		"\n"
		"Reads recorded HTTP exchanges (stdin when no -i is given), keeps no value,\n"
		"and writes DIR/metadata.json and DIR/openapi/<service>.json (DIR defaults\n"
		"to ./apisonar-out). A summary of counts goes to stderr.\n");
}

struct anz_totals {
	uint64_t read;
	uint64_t malformed;
	uint64_t too_big;
	uint64_t no_request;
	uint64_t refused; /* read, but the anonymizer skipped them */
};

/* Reads one input through the catalog. Returns 0 or a negative errno on a
 * fatal read error (the message names the file, never its content). */
static int anz_input(struct catalog *c, FILE *in, const char *label, enum xio_format fmt,
		     struct anz_totals *t)
{
	struct xio_reader *r = xio_reader_new(in, fmt);
	struct xio_read_stats st;
	struct as_exchange *x;
	int rc;

	if (!r)
		return -ENOMEM;
	for (;;) {
		x = NULL;
		rc = xio_read(r, &x);
		if (rc <= 0)
			break;
		if (catalog_add_exchange(c, x))
			t->refused++;
		as_exchange_free(x);
	}
	xio_reader_stats(r, &st);
	t->read += st.read;
	t->malformed += st.skipped_malformed;
	t->too_big += st.skipped_too_big;
	t->no_request += st.skipped_no_request;
	if (rc < 0)
		fprintf(stderr, "apisonar anonymize: %s: %s\n", label, xio_reader_error(r));
	xio_reader_free(r);
	return rc < 0 ? rc : 0;
}

/* Parses a cap option into [1, max]. */
static int anz_u32(const char *opt, const char *s, uint32_t max, uint32_t *out)
{
	char why[64];
	uint64_t v;

	if (parse_u64(s, 1, max, &v)) {
		snprintf(why, sizeof(why), "want a number, 1 to %u", max);
		cli_bad_value(&anz_cmd, opt, s, why);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int cmd_anonymize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "format", required_argument, NULL, 'f' },
		{ "out-dir", required_argument, NULL, 'o' },
		{ "max-services", required_argument, NULL, 1 },
		{ "max-endpoints", required_argument, NULL, 2 },
		{ "max-fields", required_argument, NULL, 3 },
		{ "max-depth", required_argument, NULL, 4 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *inputs[ANZ_MAX_INPUTS];
	size_t n_inputs = 0, i;
	const char *out_dir = "apisonar-out";
	enum xio_format fmt = XIO_AUTO;
	struct catalog_limits lim = { 0 };
	struct catalog_stats cs;
	struct anz_totals t = { 0 };
	struct catalog *c = NULL;
	int opt, rc, ret = 1;

	optind = 1;
	while ((opt = cli_getopt(&anz_cmd, argc, argv, "i:f:o:h", opts)) != -1) {
		switch (opt) {
		case 'i':
			if (n_inputs >= ANZ_MAX_INPUTS)
				return cli_bad_value(&anz_cmd, "input", optarg,
						     "at most 256 inputs");
			inputs[n_inputs++] = optarg;
			break;
		case 'f':
			if (xio_format_parse(optarg, &fmt) || fmt == XIO_TEXT)
				return cli_bad_value(&anz_cmd, "format", optarg,
						     "want auto, har or jsonl");
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 1:
			if (anz_u32("max-services", optarg, 1000000, &lim.max_services))
				return EXIT_USAGE;
			break;
		case 2:
			if (anz_u32("max-endpoints", optarg, 1000000, &lim.max_endpoints))
				return EXIT_USAGE;
			break;
		case 3:
			if (anz_u32("max-fields", optarg, 100000, &lim.max_fields))
				return EXIT_USAGE;
			break;
		case 4:
			if (anz_u32("max-depth", optarg, 64, &lim.max_depth))
				return EXIT_USAGE;
			break;
		case 'h':
			anz_usage(stdout);
			return 0;
		default: /* CLI_OPT_BAD: said so */
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error(&anz_cmd, "unexpected argument '%.64s'", argv[optind]);
	c = catalog_new(&lim);
	if (!c) {
		fprintf(stderr, "apisonar anonymize: out of memory\n");
		return 1;
	}
	if (n_inputs == 0) {
		rc = anz_input(c, stdin, "stdin", fmt, &t);
		if (rc)
			goto cleanup;
	}
	for (i = 0; i < n_inputs; i++) {
		FILE *f = strcmp(inputs[i], "-") == 0 ? stdin : fopen(inputs[i], "rb");

		if (!f) {
			fprintf(stderr, "apisonar anonymize: %s: %s\n", inputs[i], strerror(errno));
			goto cleanup;
		}
		rc = anz_input(c, f, inputs[i], fmt, &t);
		if (f != stdin)
			fclose(f);
		if (rc)
			goto cleanup;
	}
	rc = catalog_write_dir(c, out_dir);
	if (rc) {
		fprintf(stderr, "apisonar anonymize: writing %s: %s\n", out_dir, strerror(-rc));
		goto cleanup;
	}
	ret = 0;
cleanup:
	catalog_get_stats(c, &cs);
	fprintf(stderr,
		"anonymize: exchanges read %llu, merged %llu, skipped %llu "
		"(malformed %llu, too big %llu, no request %llu, refused %llu)\n"
		"anonymize: services %llu, endpoints %llu, fields %llu, sensitive fields %llu\n"
		"anonymize: limits hit: services %llu, endpoints %llu, fields %llu, depth %llu\n",
		(unsigned long long)t.read, (unsigned long long)cs.exchanges,
		(unsigned long long)(t.malformed + t.too_big + t.no_request + t.refused),
		(unsigned long long)t.malformed, (unsigned long long)t.too_big,
		(unsigned long long)t.no_request, (unsigned long long)t.refused,
		(unsigned long long)cs.services, (unsigned long long)cs.endpoints,
		(unsigned long long)cs.fields, (unsigned long long)cs.sensitive_fields,
		(unsigned long long)cs.limit_services, (unsigned long long)cs.limit_endpoints,
		(unsigned long long)cs.limit_fields, (unsigned long long)cs.limit_depth);
	catalog_free(c);
	return ret;
}
