// SPDX-License-Identifier: BSD-2-Clause
/* The cgroup parser on arbitrary bytes (a /proc/PID/cgroup file is the
 * kernel's, but its paths are names anyone in a container can choose):
 * it never crashes, and whatever it finds is well formed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apisonar/daemon/k8s.h"

static int lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_cgroup_id id;
	size_t i;

	if (k8s_parse_cgroup((const char *)data, size, &id) != 0) {
		if (id.pod_uid[0] || id.container_id[0])
			abort();
		return 0;
	}
	if (strlen(id.pod_uid) != K8S_UID_LEN)
		abort();
	for (i = 0; i < K8S_UID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? id.pod_uid[i] != '-' : !lower_hex(id.pod_uid[i]))
			abort();
	}
	if (id.container_id[0]) {
		if (strlen(id.container_id) != K8S_CID_LEN)
			abort();
		for (i = 0; i < K8S_CID_LEN; i++)
			if (!lower_hex(id.container_id[i]))
				abort();
	}
	return 0;
}
