// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer target for the detectors: every public function on the input,
 * plus cross-checks that must hold whatever the bytes are:
 *  - the hand-written IPv4/IPv6 validators agree with glibc inet_pton;
 *  - a value a detector matches is value-like;
 *  - formats and classes that describe the same shape agree;
 *  - a scan with an empty mask finds nothing.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/catalog/detect.h"

#define FUZZ_PTON_MAX 64 /* longer inputs cannot be addresses */

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	enum detect_class vc, nc, first = DC__COUNT;
	enum detect_format f;
	size_t count;
	int like;

	vc = detect_value(s, size);
	nc = detect_name(s, size);
	f = detect_format(s, size);
	like = detect_is_value_like(s, size);
	count = detect_scan(s, size, &first);
	{
		enum detect_format f2 = DF__COUNT;

		check(detect_value_format(s, size, &f2) == vc && f2 == f);
	}
	check((unsigned int)vc < DC__COUNT && (unsigned int)nc < DC__COUNT);
	check((unsigned int)f < DF__COUNT);
	check(detect_class_name(vc) != NULL && detect_class_name(nc) != NULL);
	check(detect_format_name(f) != NULL);
	check(count <= size);
	check((count == 0) == (first == DC_NONE));
	check(count == 0 || (DETECT_SCAN_DEFAULT_MASK & DETECT_CLASS_BIT(first)));
	if (vc != DC_NONE)
		check(like);
	if (f == DF_IPV4)
		check(vc == DC_IPV4);
	if (f == DF_IPV6)
		check(vc == DC_IPV6);
	if (f == DF_EMAIL)
		check(vc == DC_EMAIL);
	check(detect_scan_ex(s, size, 0, &first) == 0 && first == DC_NONE);
	detect_scan_ex(s, size, ~0u, NULL);

	if (size < FUZZ_PTON_MAX && !memchr(s, '\0', size)) {
		char z[FUZZ_PTON_MAX];
		unsigned char addr[16];

		memcpy(z, s, size);
		z[size] = '\0';
		check((inet_pton(AF_INET, z, addr) == 1) == (f == DF_IPV4));
		check((inet_pton(AF_INET6, z, addr) == 1) == (f == DF_IPV6));
	}
	return 0;
}
