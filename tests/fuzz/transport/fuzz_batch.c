// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for batch_decode: arbitrary bytes as a gzip batch, with
 * a small inflate cap so bombs are cheap. Also feeds the bytes gzipped, so
 * the JSON parser and the validator see mutated documents, not only
 * mutated gzip headers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "apisonar/transport/batch.h"

#define FUZZ_CAP (1u << 20)

static void decode(const void *buf, size_t len)
{
	struct batch_meta m;
	cJSON *doc = NULL;
	char err[128];
	int rc = batch_decode(buf, len, FUZZ_CAP, &doc, &m, err, sizeof(err));

	if (rc == 0) {
		if (!doc || strlen(m.id) != BATCH_ID_LEN || m.window_end_ns < m.window_start_ns)
			abort();
		cJSON_Delete(doc);
	} else if (doc || err[0] == '\0') {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *gz;
	uLongf n;

	decode(data, size);
	if (size > FUZZ_CAP)
		return 0;
	/* The same bytes as the JSON inside a well-formed gzip stream. */
	n = compressBound((uLong)size) + 64;
	gz = malloc(n);
	if (!gz)
		return 0;
	{
		z_stream zs;

		memset(&zs, 0, sizeof(zs));
		if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
			zs.next_in = (Bytef *)(uintptr_t)data;
			zs.avail_in = (uInt)size;
			zs.next_out = gz;
			zs.avail_out = (uInt)n;
			if (deflate(&zs, Z_FINISH) == Z_STREAM_END)
				decode(gz, zs.total_out);
			deflateEnd(&zs);
		}
	}
	free(gz);
	return 0;
}
