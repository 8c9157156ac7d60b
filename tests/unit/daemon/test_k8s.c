// SPDX-License-Identifier: BSD-2-Clause
/* Kubernetes identity: cgroup paths of every driver and runtime (and
 * hostile ones), pod list parsing into workloads, lookups through a fake
 * /proc, the config keys, service naming in the anonymizer, and the merge
 * of the catalog's kubernetes member (commutative, byte-identical). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/daemon/config.h"
#include "apisonar/daemon/k8s.h"
#include "anon_testlib.h"

#define UID "0f3c5e1a-9b2d-4c7e-8a61-3d2b9e4f5a60"
#define UID_ "0f3c5e1a_9b2d_4c7e_8a61_3d2b9e4f5a60"
#define CID "4e8f0c2a9d1b3e5f7a6c8b0d2e4f6a8c1b3d5e7f9a0c2e4b6d8f0a1c3e5b7d9f"
#define CID2 "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999"

/* ---- cgroup ------------------------------------------------------------- */

static void want_pod(const char *text, const char *uid, const char *cid)
{
	struct k8s_cgroup_id id;

	assert_int_equal(k8s_parse_cgroup(text, strlen(text), &id), 0);
	assert_string_equal(id.pod_uid, uid);
	assert_string_equal(id.container_id, cid);
}

static void want_none(const char *text, size_t len)
{
	struct k8s_cgroup_id id;

	assert_int_equal(k8s_parse_cgroup(text, len, &id), -ENOENT);
	assert_string_equal(id.pod_uid, "");
	assert_string_equal(id.container_id, "");
}

static void test_cgroup_systemd(void **state)
{
	(void)state;
	want_pod("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		 ".slice/cri-containerd-" CID ".scope\n",
		 UID, CID);
	want_pod("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		 ".slice/crio-" CID ".scope\n",
		 UID, CID);
	want_pod("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		 ".slice/docker-" CID ".scope",
		 UID, CID);
	/* Guaranteed: no QoS level. */
	want_pod("0::/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope\n",
		 UID, CID);
	/* Seen from inside a cgroup namespace, and under kind's kubelet.slice. */
	want_pod("0::/../../kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" CID ".scope\n",
		 UID, CID);
	want_pod("0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
		 "kubelet-kubepods-besteffort-pod" UID_ ".slice/cri-containerd-" CID ".scope\n",
		 UID, CID);
	/* Uppercase hex comes out lowercase. */
	want_pod("0::/kubepods.slice/kubepods-pod0F3C5E1A_9B2D_4C7E_8A61_3D2B9E4F5A60.slice/"
		 "cri-containerd-4E8F0C2A9D1B3E5F7A6C8B0D2E4F6A8C1B3D5E7F9A0C2E4B6D8F0A1C3E5B7D9F.scope\n",
		 UID, CID);
	/* In the pod but in no container (or in conmon's scope). */
	want_pod("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice\n",
		 UID, "");
	want_pod("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		 ".slice/crio-conmon-" CID ".scope\n",
		 UID, "");
	/* A sub-cgroup inside the container keeps the container. */
	want_pod("0::/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID
		 ".scope/init.scope\n",
		 UID, CID);
}

static void test_cgroup_cgroupfs_and_v1(void **state)
{
	(void)state;
	want_pod("0::/kubepods/burstable/pod" UID "/" CID "\n", UID, CID);
	want_pod("0::/kubepods/besteffort/pod" UID "/" CID "\n", UID, CID);
	want_pod("0::/kubepods/pod" UID "/" CID "\n", UID, CID);
	/* cgroup v1 only: the first line naming a pod. */
	want_pod("12:pids:/kubepods/burstable/pod" UID "/" CID "\n"
		 "11:memory:/kubepods/burstable/pod" UID "/" CID "\n"
		 "1:name=systemd:/kubepods/burstable/pod" UID "/" CID "\n",
		 UID, CID);
	want_pod("4:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		 ".slice/docker-" CID ".scope\n0::/\n",
		 UID, CID);
	/* Hybrid: v1 lines elsewhere, the v2 line in the pod; the v2 line wins. */
	want_pod("9:name=systemd:/\n4:memory:/process_api/c9cada5e2bcd154ef61801ad9bb7b6b5\n"
		 "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
		 ".slice/cri-containerd-" CID ".scope\n",
		 UID, CID);
	want_pod("4:memory:/kubepods/pod" UID "/" CID2 "\n"
		 "0::/kubepods/pod" UID "/" CID "\n",
		 UID, CID);
	/* No final newline. */
	want_pod("0::/kubepods/pod" UID "/" CID, UID, CID);
}

static void test_cgroup_not_a_pod(void **state)
{
	static const char *const no[] = {
		"",
		"0::/\n",
		"0::\n",
		"::::\n",
		"garbage",
		/* this machine's own file */
		"9:name=systemd:/\n4:memory:/process_api/c9cada5e2bcd154ef61801ad9bb7b6b5\n0::/\n",
		"0::/system.slice/nginx.service\n",
		"0::/user.slice/user-0.slice/session-1.scope\n",
		/* pod<uid> outside kubepods, with the other driver's separator, short */
		"0::/pod" UID "/" CID "\n",
		"0::/kubepods/pod" UID_ "/" CID "\n",
		"0::/kubepods.slice/kubepods-pod" UID ".slice/cri-containerd-" CID ".scope\n",
		"0::/kubepods/pod0f3c5e1a-9b2d-4c7e-8a61-3d2b9e4f5a6\n",
		"0::/kubepods/pod0f3c5e1a-9b2d-4c7e-8a61-3d2b9e4f5a6g/x\n",
		"0::/kubepods.slice/kubepods-podx" UID_ ".slice\n",
		"0::/kubepods.slice/pod" UID_ ".slice\n",
		"0::/kubepods.slice/kubepods-burstable.slice\n",
		"0:/kubepods/pod" UID "\n", /* one colon only */
	};
	char *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		want_none(no[i], strlen(no[i]));
	want_none(NULL, 10);
	/* A NUL inside the uid ends it. */
	{
		char t[] = "0::/kubepods/pod" UID "/" CID "\n";

		t[20] = '\0';
		want_none(t, sizeof(t) - 1);
	}
	/* A container id of 63 or 65 digits is no container. */
	want_pod("0::/kubepods/pod" UID "/" CID "0\n", UID, "");
	{
		char t[] = "0::/kubepods/pod" UID "/" CID "\n";

		t[strlen(t) - 2] = '\n';
		want_pod(t, UID, "");
	}
	/* 1 MiB of slashes, and of one segment, past K8S_CGROUP_MAX. */
	big = malloc(1u << 20);
	assert_non_null(big);
	memset(big, '/', 1u << 20);
	memcpy(big, "0::", 3);
	want_none(big, 1u << 20);
	memset(big + 3, 'k', (1u << 20) - 3);
	want_none(big, 1u << 20);
	free(big);
}

/* Every prefix of a valid file is safe: either not a pod or the right
 * pod (never a wrong uid), and a container only when it is the right one. */
static void test_cgroup_every_prefix(void **state)
{
	const char *t = "4:memory:/kubepods/pod" UID "/" CID "\n"
			"0::/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" CID ".scope\n";
	size_t n = strlen(t), i;

	(void)state;
	for (i = 0; i <= n; i++) {
		struct k8s_cgroup_id id;
		char *copy = malloc(i + 1);

		assert_non_null(copy);
		memcpy(copy, t, i);
		if (k8s_parse_cgroup(copy, i, &id) == 0) {
			assert_string_equal(id.pod_uid, UID);
			assert_true(id.container_id[0] == '\0' || strcmp(id.container_id, CID) == 0);
		}
		free(copy);
	}
}

/* ---- pod list ----------------------------------------------------------- */

static void test_workload_of(void **state)
{
	char k[64], n[256];

	(void)state;
	k8s_workload_of("ReplicaSet", "web-7d4b9c8f6d", "7d4b9c8f6d", "web-7d4b9c8f6d-x2x9q", k,
			sizeof(k), n, sizeof(n));
	assert_string_equal(k, "Deployment");
	assert_string_equal(n, "web");
	/* No hash label, or one that is not the suffix: a bare ReplicaSet. */
	k8s_workload_of("ReplicaSet", "web-7d4b9c8f6d", NULL, "p", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "ReplicaSet");
	assert_string_equal(n, "web-7d4b9c8f6d");
	k8s_workload_of("ReplicaSet", "web", "web", "p", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "ReplicaSet");
	assert_string_equal(n, "web");
	k8s_workload_of("Job", "report-29012345", NULL, "p", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "CronJob");
	assert_string_equal(n, "report");
	k8s_workload_of("Job", "migrate-2", NULL, "p", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "Job");
	assert_string_equal(n, "migrate-2");
	k8s_workload_of("Job", "-29012345", NULL, "p", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "Job");
	k8s_workload_of("StatefulSet", "db", NULL, "db-0", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "StatefulSet");
	assert_string_equal(n, "db");
	k8s_workload_of("DaemonSet", "agent", NULL, "agent-x7k2p", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "DaemonSet");
	assert_string_equal(n, "agent");
	k8s_workload_of(NULL, NULL, NULL, "debug", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "Pod");
	assert_string_equal(n, "debug");
	k8s_workload_of("Node", "node-a", NULL, "kube-apiserver-node-a", k, sizeof(k), n, sizeof(n));
	assert_string_equal(k, "Pod");
	assert_string_equal(n, "kube-apiserver-node-a");
}

#define U(n) "0f3c5e1a-9b2d-4c7e-8a61-3d2b9e4f5a6" #n
#define C(c) #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c \
	     #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c \
	     #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c \
	     #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c

/* What the refresher asks for and a current API server answers: a
 * PartialObjectMetadataList, items with metadata only (as the API server
 * writes them: kind, apiVersion, annotations, managedFields and the rest,
 * none of which is read). */
static const char META[] = "{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\","
	"\"metadata\":{\"resourceVersion\":\"4711\"},\"items\":["
	/* 0: a Deployment's pod */
	"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\","
	"\"metadata\":{\"name\":\"web-7d4b9c8f6d-x2x9q\",\"generateName\":\"web-7d4b9c8f6d-\","
	"\"namespace\":\"shop\",\"uid\":\"" U(0) "\",\"resourceVersion\":\"4700\","
	"\"creationTimestamp\":\"2026-12-01T10:00:00Z\","
	"\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c8f6d\"},"
	"\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":\"2026-12-01T09:59:00Z\"},"
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-7d4b9c8f6d\","
	"\"uid\":\"x\",\"controller\":true,\"blockOwnerDeletion\":true}],"
	"\"managedFields\":[{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\","
	"\"apiVersion\":\"v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{}}}]}},"
	/* 1: a StatefulSet's pod */
	"{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\","
	"\"metadata\":{\"name\":\"db-0\",\"namespace\":\"data\",\"uid\":\"" U(1) "\","
	"\"ownerReferences\":[{\"kind\":\"StatefulSet\",\"name\":\"db\",\"controller\":true}]}},"
	/* 2: a DaemonSet's; a non-controller owner first */
	"{\"metadata\":{\"name\":\"agent-x7k2p\",\"namespace\":\"kube-system\",\"uid\":\"" U(2) "\","
	"\"ownerReferences\":[{\"kind\":\"ConfigMap\",\"name\":\"cfg\"},"
	"{\"kind\":\"DaemonSet\",\"name\":\"agent\",\"controller\":true}]}},"
	/* 3: a CronJob's Job */
	"{\"metadata\":{\"name\":\"report-29012345-abcde\",\"namespace\":\"batch\",\"uid\":\"" U(3) "\","
	"\"ownerReferences\":[{\"kind\":\"Job\",\"name\":\"report-29012345\",\"controller\":true}]}},"
	/* 4: a bare pod */
	"{\"metadata\":{\"name\":\"debug\",\"namespace\":\"default\",\"uid\":\"" U(4) "\"}},"
	/* skipped: no uid; namespace a number; ownerReferences an object;
	 * a controller without a name; an uppercase name; not an object */
	"{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\"}},"
	"{\"metadata\":{\"name\":\"b\",\"namespace\":7,\"uid\":\"" U(5) "\"}},"
	"{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\",\"uid\":\"" U(6) "\",\"ownerReferences\":{}}},"
	"{\"metadata\":{\"name\":\"d\",\"namespace\":\"default\",\"uid\":\"" U(7) "\","
	"\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"controller\":true}]}},"
	"{\"metadata\":{\"name\":\"Upper\",\"namespace\":\"default\",\"uid\":\"" U(8) "\"}},"
	"42,"
	/* 9: uppercase hex in the uid is read lowercase */
	"{\"metadata\":{\"name\":\"e\",\"namespace\":\"default\","
	"\"uid\":\"0F3C5E1A-9B2D-4C7E-8A61-3D2B9E4F5A69\"}},"
	/* skipped: a name the batch's last guard would refuse (a card number) */
	"{\"metadata\":{\"name\":\"4111111111111111\",\"namespace\":\"default\",\"uid\":\"" U(a) "\"}}"
	"]}";

/* The fallback: a server without metadata-only lists answers with whole
 * pods. The same pods as META, with what a metadata list leaves out (a
 * spec with an environment value, a status with container names and ids):
 * read for the same fields, so the table is the same. */
static const char PODS[] = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":["
	/* 0: a Deployment's pod with two containers and an init container */
	"{\"metadata\":{\"name\":\"web-7d4b9c8f6d-x2x9q\",\"namespace\":\"shop\",\"uid\":\"" U(0) "\","
	"\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c8f6d\"},"
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"web-7d4b9c8f6d\","
	"\"uid\":\"x\",\"controller\":true,\"blockOwnerDeletion\":true}]},"
	"\"spec\":{\"nodeName\":\"node-a\",\"containers\":[{\"name\":\"nginx\","
	"\"env\":[{\"name\":\"DB_PASSWORD\",\"value\":\"hunter2\"}]}]},"
	"\"status\":{\"containerStatuses\":[{\"name\":\"nginx\",\"containerID\":\"containerd://" C(a) "\"},"
	"{\"name\":\"sidecar\",\"containerID\":\"containerd://" C(b) "\"},"
	"{\"name\":\"starting\"}],"
	"\"initContainerStatuses\":[{\"name\":\"init-db\",\"containerID\":\"containerd://" C(c) "\"}]}},"
	/* 1: a StatefulSet on CRI-O */
	"{\"metadata\":{\"name\":\"db-0\",\"namespace\":\"data\",\"uid\":\"" U(1) "\","
	"\"ownerReferences\":[{\"kind\":\"StatefulSet\",\"name\":\"db\",\"controller\":true}]},"
	"\"status\":{\"containerStatuses\":[{\"name\":\"postgres\",\"containerID\":\"cri-o://" C(d) "\"}]}},"
	/* 2: a DaemonSet on docker; a non-controller owner first */
	"{\"metadata\":{\"name\":\"agent-x7k2p\",\"namespace\":\"kube-system\",\"uid\":\"" U(2) "\","
	"\"ownerReferences\":[{\"kind\":\"ConfigMap\",\"name\":\"cfg\"},"
	"{\"kind\":\"DaemonSet\",\"name\":\"agent\",\"controller\":true}]},"
	"\"status\":{\"containerStatuses\":[{\"name\":\"agent\",\"containerID\":\"docker://" C(e) "\"}]}},"
	/* 3: a CronJob's Job */
	"{\"metadata\":{\"name\":\"report-29012345-abcde\",\"namespace\":\"batch\",\"uid\":\"" U(3) "\","
	"\"ownerReferences\":[{\"kind\":\"Job\",\"name\":\"report-29012345\",\"controller\":true}]}},"
	/* 4: a bare pod, containers of the wrong type */
	"{\"metadata\":{\"name\":\"debug\",\"namespace\":\"default\",\"uid\":\"" U(4) "\"},"
	"\"status\":{\"containerStatuses\":{\"name\":\"x\"}}},"
	/* skipped as in META */
	"{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\"}},"
	"{\"metadata\":{\"name\":\"b\",\"namespace\":7,\"uid\":\"" U(5) "\"}},"
	"{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\",\"uid\":\"" U(6) "\",\"ownerReferences\":{}}},"
	"{\"metadata\":{\"name\":\"d\",\"namespace\":\"default\",\"uid\":\"" U(7) "\","
	"\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"controller\":true}]}},"
	"{\"metadata\":{\"name\":\"Upper\",\"namespace\":\"default\",\"uid\":\"" U(8) "\"}},"
	"42,"
	/* 9: a bad container id and a good one */
	"{\"metadata\":{\"name\":\"e\",\"namespace\":\"default\","
	"\"uid\":\"0F3C5E1A-9B2D-4C7E-8A61-3D2B9E4F5A69\"},"
	"\"status\":{\"containerStatuses\":[{\"name\":\"bad\",\"containerID\":\"containerd://xyz\"},"
	"{\"name\":\"noscheme\",\"containerID\":\"" C(f) "\"},"
	"{\"name\":\"ok\",\"containerID\":\"containerd://" C(F) "\"}]}},"
	"{\"metadata\":{\"name\":\"4111111111111111\",\"namespace\":\"default\",\"uid\":\"" U(a) "\"}}"
	"]}";

static void view(const struct k8s_table *t, const char *uid, const char *ns, const char *pod,
		 const char *kind, const char *wl)
{
	struct k8s_view v;

	assert_int_equal(k8s_table_find(t, uid, &v), 0);
	assert_string_equal(v.ns, ns);
	assert_string_equal(v.pod, pod);
	assert_string_equal(v.kind, kind);
	assert_string_equal(v.workload, wl);
}

/* The table of META, or of PODS: the same whatever the list. */
static void same_table(const struct k8s_table *t)
{
	struct k8s_view v;

	view(t, U(0), "shop", "web-7d4b9c8f6d-x2x9q", "Deployment", "web");
	view(t, U(1), "data", "db-0", "StatefulSet", "db");
	view(t, U(2), "kube-system", "agent-x7k2p", "DaemonSet", "agent");
	view(t, U(3), "batch", "report-29012345-abcde", "CronJob", "report");
	view(t, U(4), "default", "debug", "Pod", "debug");
	view(t, U(9), "default", "e", "Pod", "e"); /* uids are compared lowercase */
	assert_int_equal(k8s_table_find(t, U(5), &v), -ENOENT);
	assert_int_equal(k8s_table_find(t, U(a), &v), -ENOENT);
	assert_int_equal(k8s_table_find(t, "short", &v), -ENOENT);
	assert_int_equal(k8s_table_find(NULL, U(0), &v), -ENOENT);
}

static void test_pod_list(void **state)
{
	static const struct {
		const char *doc;
		int full;
	} lists[] = { { META, 0 }, { PODS, 1 } };
	struct k8s_table *t = NULL;
	struct k8s_table_stats st;
	struct k8s_view v;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(k8s_table_parse(lists[i].doc, strlen(lists[i].doc), 0, &t), 0);
		k8s_table_get_stats(t, &st);
		assert_int_equal(st.pods, 6);
		assert_int_equal(st.skipped, 7);
		assert_int_equal(st.cut_pods, 0);
		assert_int_equal(st.full_list, lists[i].full);
		same_table(t);
		k8s_table_free(t);

		/* The cap keeps the first pods of the list and counts the rest. */
		assert_int_equal(k8s_table_parse(lists[i].doc, strlen(lists[i].doc), 2, &t), 0);
		k8s_table_get_stats(t, &st);
		assert_int_equal(st.pods, 2);
		assert_int_equal(st.cut_pods, 11);
		view(t, U(1), "data", "db-0", "StatefulSet", "db");
		assert_int_equal(k8s_table_find(t, U(2), &v), -ENOENT);
		k8s_table_free(t);
	}
}

/* Only the two lists are pod lists: the kind and apiVersion must match. */
static void test_list_kinds(void **state)
{
	static const char *const bad[] = {
		"{\"items\":[]}",
		"{\"kind\":\"PodList\",\"items\":[]}",
		"{\"apiVersion\":\"v1\",\"items\":[]}",
		"{\"kind\":\"PodList\",\"apiVersion\":\"meta.k8s.io/v1\",\"items\":[]}",
		"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"v1\",\"items\":[]}",
		"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1beta1\",\"items\":[]}",
		"{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"rows\":[]}",
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":406}",
		"{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"items\":[]}",
		"{\"kind\":7,\"apiVersion\":\"v1\",\"items\":[]}",
		"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\",\"items\":{}}",
		"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\"}",
	};
	static const char empty_meta[] =
		"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\","
		"\"metadata\":{},\"items\":[]}";
	static const char empty_pods[] = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[]}";
	struct k8s_table *t = (struct k8s_table *)1;
	struct k8s_table_stats st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(k8s_table_parse(bad[i], strlen(bad[i]), 0, &t), -EINVAL);
		assert_null(t);
	}
	assert_int_equal(k8s_table_parse(empty_meta, strlen(empty_meta), 0, &t), 0);
	k8s_table_get_stats(t, &st);
	assert_int_equal(st.pods, 0);
	assert_int_equal(st.full_list, 0);
	k8s_table_free(t);
	assert_int_equal(k8s_table_parse(empty_pods, strlen(empty_pods), 0, &t), 0);
	k8s_table_get_stats(t, &st);
	assert_int_equal(st.pods, 0);
	assert_int_equal(st.full_list, 1);
	k8s_table_free(t);
}

static void test_pod_list_hostile(void **state)
{
	static const char *const bad[] = {
		"", "[]", "{}", "{\"items\":{}}", "{\"items\":null}", "not json", "{\"items\":[",
		"\"items\"",
	};
	static const char dup[] =
		"{\"kind\":\"PartialObjectMetadataList\",\"apiVersion\":\"meta.k8s.io/v1\","
		"\"items\":[{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\",\"uid\":\"" U(0) "\"}},"
		"{\"metadata\":{\"name\":\"b\",\"namespace\":\"x\",\"uid\":\"" U(0) "\"}}]}";
	struct k8s_table *t = (struct k8s_table *)1;
	struct k8s_table_stats st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(k8s_table_parse(bad[i], strlen(bad[i]), 0, &t), -EINVAL);
		assert_null(t);
	}
	assert_int_equal(k8s_table_parse(NULL, 0, 0, &t), -EINVAL);
	assert_int_equal(k8s_table_parse(dup, strlen(dup), 0, &t), 0);
	k8s_table_get_stats(t, &st);
	assert_int_equal(st.pods, 1);
	assert_int_equal(st.skipped, 1);
	k8s_table_free(t);
	/* Every prefix of the fixtures: no crash, no leak. */
	for (i = 0; i < sizeof(PODS) - 1; i += 7) {
		if (k8s_table_parse(PODS, i, 0, &t) == 0)
			k8s_table_free(t);
	}
	for (i = 0; i < sizeof(META) - 1; i += 7) {
		if (k8s_table_parse(META, i, 0, &t) == 0)
			k8s_table_free(t);
	}
}

/* ---- lookups through a fake /proc ---------------------------------------- */

struct fx {
	char dir[64];
};

static void put_cgroup(const char *dir, unsigned pid, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%u", dir, pid);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/%u/cgroup", dir, pid);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup_proc(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/apisonar-k8s-XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	*state = fx;
	return 0;
}

static int teardown_proc(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static void test_lookup(void **state)
{
	struct fx *fx = *state;
	struct k8s_opts o = { .refresh_s = 30 };
	struct as_identity id = { 0 };
	struct k8s_table *t;
	struct k8s_stats st;
	struct k8s *k;
	int err;

	snprintf(o.api, sizeof(o.api), "https://127.0.0.1:1/");
	snprintf(o.token_file, sizeof(o.token_file), "/nonexistent/token");
	snprintf(o.ca_file, sizeof(o.ca_file), "/nonexistent/ca");
	snprintf(o.node_name, sizeof(o.node_name), "node-a");
	snprintf(o.proc_root, sizeof(o.proc_root), "%s", fx->dir);
	k = k8s_new(&o, &err);
	assert_non_null(k);
	assert_int_equal(k8s_check_files(k), -ENOENT);
	put_cgroup(fx->dir, 100, "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
				 "0f3c5e1a_9b2d_4c7e_8a61_3d2b9e4f5a60.slice/cri-containerd-" C(a) ".scope\n");
	put_cgroup(fx->dir, 101, "0::/system.slice/nginx.service\n");
	put_cgroup(fx->dir, 102, "0::/kubepods/pod" U(1) "/" C(d) "\n");
	put_cgroup(fx->dir, 103, "0::/kubepods/pod0f3c5e1a-9b2d-4c7e-8a61-3d2b9e4f5a6e/" C(d) "\n");

	/* No table yet: every lookup is a miss, and nothing waits. */
	assert_int_equal(k8s_lookup(k, 100, &id), -ENOENT);
	assert_null(id.ns);
	assert_int_equal(k8s_table_parse(META, strlen(META), 0, &t), 0);
	k8s_set_table(k, t);
	assert_int_equal(k8s_lookup(k, 100, &id), 0);
	assert_string_equal(id.ns, "shop");
	assert_string_equal(id.kind, "Deployment");
	assert_string_equal(id.workload, "web");
	assert_null(id.container); /* metadata has no container names */
	as_identity_clear(&id);
	assert_null(id.ns);
	assert_int_equal(k8s_lookup(k, 102, &id), 0);
	assert_string_equal(id.workload, "db");
	assert_null(id.container);
	as_identity_clear(&id);
	assert_int_equal(k8s_lookup(k, 101, &id), -ENOENT); /* not in a pod */
	assert_int_equal(k8s_lookup(k, 103, &id), -ENOENT); /* a pod the table does not know */
	assert_int_equal(k8s_lookup(k, 999, &id), -ENOENT); /* no such process */
	assert_int_equal(k8s_lookup(k, 0, &id), -ENOENT);
	assert_null(id.ns);
	/* The cgroup answer is cached: a moved file does not change it at once. */
	put_cgroup(fx->dir, 100, "0::/\n");
	assert_int_equal(k8s_lookup(k, 100, &id), 0);
	as_identity_clear(&id);
	k8s_get_stats(k, &st);
	assert_int_equal(st.lookup_hit, 3);
	assert_int_equal(st.lookup_miss, 5);
	assert_int_equal(st.pods, 6);
	assert_int_equal(st.refresh_ok, 0);
	assert_int_equal(st.full_lists, 0); /* counted by the refresher, not by a swap */
	k8s_free(k);
	k8s_free(NULL);

	/* Bad options are refused. */
	snprintf(o.api, sizeof(o.api), "http://127.0.0.1:1");
	assert_null(k8s_new(&o, &err));
	assert_int_equal(err, -EINVAL);
	snprintf(o.api, sizeof(o.api), "https://127.0.0.1:1");
	snprintf(o.node_name, sizeof(o.node_name), "Node_A");
	assert_null(k8s_new(&o, &err));
}

/* ---- configuration -------------------------------------------------------- */

static void test_config_keys(void **state)
{
	struct run_config *c = malloc(sizeof(*c));
	struct k8s_opts o;
	char err[512];
	bool on;

	(void)state;
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("NODE_NAME");
	config_default(c);
	assert_int_equal(c->k8s, CFG_K8S_AUTO);
	assert_int_equal(c->k8s_refresh, 30);
	/* auto outside a cluster: off, no error */
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), 0);
	assert_false(on);
	assert_int_equal(config_check(c, err, sizeof(err)), 0);
	/* auto inside a cluster: the in-cluster defaults */
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("NODE_NAME", "node-a", 1);
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), 0);
	assert_true(on);
	assert_string_equal(o.api, "https://10.96.0.1:443");
	assert_string_equal(o.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
	assert_string_equal(o.ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
	assert_string_equal(o.node_name, "node-a");
	assert_int_equal(o.refresh_s, 30);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), 0);
	assert_string_equal(o.api, "https://[fd00::1]:443");
	/* A host that would change the URL's shape is not used. */
	setenv("KUBERNETES_SERVICE_HOST", "evil/x?y", 1);
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), 0);
	assert_false(on);
	assert_non_null(strstr(err, "'k8s-api'"));
	/* auto without NODE_NAME: off, and says why */
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	unsetenv("NODE_NAME");
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), 0);
	assert_false(on);
	assert_non_null(strstr(err, "'k8s-node-name'"));
	/* on without NODE_NAME: an error naming the key, from config_check too */
	assert_int_equal(config_set(c, "k8s", "on", CFG_SRC_FLAG, err, sizeof(err)), 0);
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'k8s-node-name'"));
	assert_int_equal(config_check(c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'k8s-node-name'"));
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(config_set(c, "k8s_node_name", "node-b", CFG_SRC_ENV, err, sizeof(err)), 0);
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'k8s-api'"));
	/* on with everything set by keys */
	assert_int_equal(config_set(c, "k8s-api", "https://api.example:6443", CFG_SRC_FILE, err,
				    sizeof(err)), 0);
	assert_int_equal(config_set(c, "k8s-token-file", "/t", CFG_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(c, "k8s-ca-file", "/c", CFG_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_set(c, "k8s-refresh", "5", CFG_SRC_FILE, err, sizeof(err)), 0);
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), 0);
	assert_true(on);
	assert_string_equal(o.api, "https://api.example:6443");
	assert_string_equal(o.token_file, "/t");
	assert_string_equal(o.ca_file, "/c");
	assert_string_equal(o.node_name, "node-b");
	assert_int_equal(o.refresh_s, 5);
	/* off wins over everything */
	assert_int_equal(config_set(c, "k8s", "off", CFG_SRC_FLAG, err, sizeof(err)), 0);
	assert_int_equal(config_k8s(c, &o, &on, err, sizeof(err)), 0);
	assert_false(on);
	/* values are checked */
	assert_int_equal(config_set(c, "k8s", "maybe", CFG_SRC_FLAG, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "key 'k8s': want auto, on or off");
	assert_int_equal(config_set(c, "k8s-api", "http://x", CFG_SRC_FLAG, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(c, "k8s-node-name", "Node_1", CFG_SRC_FLAG, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(config_set(c, "k8s-refresh", "0", CFG_SRC_FLAG, err, sizeof(err)), -EINVAL);
	assert_int_equal(config_set(c, "k8s-token-file", "rel", CFG_SRC_FLAG, err, sizeof(err)), -EINVAL);
	free(c);
}

/* ---- the catalog ------------------------------------------------------------ */

static struct as_exchange *pod_exchange(enum as_role role, const char *ns, const char *kind,
					const char *wl, const char *container, const char *target)
{
	const char *h[] = { "Host: 10.1.2.3:8080", NULL };
	struct as_exchange *x = tx_new("GET", target, h, NULL, 200, NULL, "ok");

	x->role = role;
	if (ns)
		x->identity.ns = strdup(ns);
	if (kind)
		x->identity.kind = strdup(kind);
	if (wl)
		x->identity.workload = strdup(wl);
	if (container)
		x->identity.container = strdup(container);
	return x;
}

static char *doc_text(const struct catalog *c)
{
	cJSON *d = catalog_to_metadata(c);
	char *s = cJSON_PrintUnformatted(d);

	cJSON_Delete(d);
	return s;
}

static void add(struct catalog *c, struct as_exchange *x)
{
	assert_int_equal(catalog_add_exchange(c, x), 0);
	as_exchange_free(x);
}

static void test_service_naming(void **state)
{
	struct catalog *c = catalog_new(NULL);
	cJSON *md, *svcs, *host, *web;
	char *s;

	(void)state;
	add(c, pod_exchange(AS_ROLE_SERVER, "shop", "Deployment", "web", "nginx", "/a"));
	/* a client in the pod calls another server: that server's Host */
	add(c, pod_exchange(AS_ROLE_CLIENT, "shop", "Deployment", "web", "nginx", "/b"));
	/* no workload: Host */
	add(c, pod_exchange(AS_ROLE_SERVER, "shop", "Deployment", NULL, "nginx", "/c"));
	/* a name Kubernetes could not have made: Host */
	add(c, pod_exchange(AS_ROLE_SERVER, "Shop!", "Deployment", "web", NULL, "/d"));
	md = catalog_to_metadata(c);
	svcs = cJSON_GetObjectItemCaseSensitive(md, "services");
	assert_int_equal(cJSON_GetArraySize(svcs), 2);
	assert_string_equal(svcs->child->string, "10.1.2.3:8080");
	assert_string_equal(svcs->child->next->string, "web.shop");
	host = svcs->child;
	web = svcs->child->next;
	s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(web, "kubernetes"));
	assert_string_equal(s, "{\"containers\":[\"nginx\"],\"kind\":\"Deployment\","
			       "\"namespace\":\"shop\",\"workload\":\"web\"}");
	free(s);
	s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(web, "endpoints")->child);
	assert_non_null(strstr(s, "\"path\":\"/a\""));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(web, "endpoints")), 1);
	free(s);
	assert_null(cJSON_GetObjectItemCaseSensitive(host, "kubernetes"));
	s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(host, "endpoints"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(host, "endpoints")), 3);
	assert_non_null(strstr(s, "\"GET /b\""));
	assert_non_null(strstr(s, "\"GET /c\""));
	assert_non_null(strstr(s, "\"GET /d\""));
	cJSON_Delete(md);
	free(s);
	catalog_free(c);
}

static void merge_into(struct catalog *dst, const struct catalog *src)
{
	char err[128];
	cJSON *d = catalog_to_metadata(src);

	assert_int_equal(catalog_merge_metadata(dst, d, err, sizeof(err)), 0);
	cJSON_Delete(d);
}

static void test_merge_kubernetes(void **state)
{
	static const char *const names[] = { "j", "c", "a", "i", "e", "h", "b", "g", "d", "f" };
	struct catalog *a = catalog_new(NULL), *b = catalog_new(NULL), *all = catalog_new(NULL);
	struct catalog *ab = catalog_new(NULL), *ba = catalog_new(NULL);
	char *s_ab, *s_ba, *s_all;
	size_t i;

	(void)state;
	/* Ten containers over two sensors: the 8 smallest are kept. */
	for (i = 0; i < 10; i++) {
		struct catalog *half = i % 2 ? a : b;

		add(half, pod_exchange(AS_ROLE_SERVER, "shop", "Deployment", "web", names[i], "/a"));
		add(all, pod_exchange(AS_ROLE_SERVER, "shop", "Deployment", "web", names[i], "/a"));
	}
	merge_into(ab, a);
	merge_into(ab, b);
	merge_into(ba, b);
	merge_into(ba, a);
	s_ab = doc_text(ab);
	s_ba = doc_text(ba);
	s_all = doc_text(all);
	assert_string_equal(s_ab, s_ba);
	assert_string_equal(s_ab, s_all);
	assert_non_null(strstr(s_ab, "\"kubernetes\":{\"containers\":[\"a\",\"b\",\"c\",\"d\",\"e\","
				     "\"f\",\"g\",\"h\"],\"kind\":\"Deployment\",\"namespace\":\"shop\","
				     "\"workload\":\"web\"}"));
	free(s_ab);
	free(s_ba);
	free(s_all);
	catalog_free(a);
	catalog_free(b);
	catalog_free(all);
	catalog_free(ab);
	catalog_free(ba);
}

/* Scalars that differ (two documents claim one service) keep the smallest
 * either way, so the merge still commutes. */
static void test_merge_scalars(void **state)
{
	static const char d1[] = "{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{"
				 "\"kubernetes\":{\"namespace\":\"b\",\"kind\":\"StatefulSet\","
				 "\"workload\":\"a\",\"containers\":[\"y\"]}}}}";
	static const char d2[] = "{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{"
				 "\"kubernetes\":{\"namespace\":\"a\",\"kind\":\"Deployment\","
				 "\"workload\":\"b\",\"containers\":[\"x\",\"z\"]}}}}";
	static const char want[] = "{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{"
				   "\"kubernetes\":{\"containers\":[\"x\",\"y\",\"z\"],\"kind\":"
				   "\"Deployment\",\"namespace\":\"a\",\"workload\":\"a\"}}}}";
	const char *order[2][2] = { { d1, d2 }, { d2, d1 } };
	char err[128];
	int i, j;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct catalog *c = catalog_new(NULL);
		char *s;

		for (j = 0; j < 2; j++) {
			cJSON *d = cJSON_Parse(order[i][j]);

			assert_int_equal(catalog_merge_metadata(c, d, err, sizeof(err)), 0);
			cJSON_Delete(d);
		}
		s = doc_text(c);
		assert_string_equal(s, want);
		free(s);
		catalog_free(c);
	}
}

static void test_merge_validation(void **state)
{
	static const struct {
		const char *member;
		const char *err;
	} bad[] = {
		{ "[]", "kubernetes: expected an object" },
		{ "{\"pod\":\"x\"}", "kubernetes: unknown member" },
		{ "{\"namespace\":\"Shop\"}", "kubernetes: expected a Kubernetes name" },
		{ "{\"namespace\":7}", "kubernetes: expected a Kubernetes name" },
		{ "{\"kind\":\"deployment\"}", "kubernetes: expected a Kubernetes name" },
		{ "{\"workload\":\"\"}", "kubernetes: expected a Kubernetes name" },
		{ "{\"namespace\":\"a\",\"namespace\":\"b\"}", "kubernetes: duplicate member" },
		{ "{\"containers\":\"x\"}", "kubernetes: containers: expected an array" },
		{ "{\"containers\":[\"b\",\"a\"]}", "kubernetes: containers: set not sorted or not unique" },
		{ "{\"containers\":[\"a\",\"a\"]}", "kubernetes: containers: set not sorted or not unique" },
		{ "{\"containers\":[1]}", "kubernetes: containers: expected Kubernetes names" },
		{ "{\"containers\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
		  "kubernetes: containers: more than 8" },
	};
	char text[512], err[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct catalog *c = catalog_new(NULL);
		cJSON *d;
		char *s;

		snprintf(text, sizeof(text),
			 "{\"schema\":\"apisonar.metadata/v1\",\"services\":{\"s\":{\"kubernetes\":%s}}}",
			 bad[i].member);
		d = cJSON_Parse(text);
		assert_non_null(d);
		assert_int_equal(catalog_merge_metadata(c, d, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].err);
		/* Nothing was merged. */
		s = doc_text(c);
		assert_string_equal(s, "{\"schema\":\"apisonar.metadata/v1\",\"services\":{}}");
		free(s);
		cJSON_Delete(d);
		catalog_free(c);
	}
}

static void test_openapi_extension(void **state)
{
	cJSON *svc = cJSON_Parse("{\"kubernetes\":{\"containers\":[\"nginx\"],\"kind\":\"Deployment\","
				 "\"namespace\":\"shop\",\"workload\":\"web\"},\"endpoints\":{}}");
	cJSON *api = openapi_from_service("web.shop", svc);
	char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(api, "info"), "x-kubernetes"));

	(void)state;
	assert_string_equal(s, "{\"containers\":[\"nginx\"],\"kind\":\"Deployment\","
			       "\"namespace\":\"shop\",\"workload\":\"web\"}");
	free(s);
	cJSON_Delete(api);
	cJSON_Delete(svc);
	svc = cJSON_Parse("{\"endpoints\":{}}");
	api = openapi_from_service("x", svc);
	assert_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(api, "info"),
						     "x-kubernetes"));
	cJSON_Delete(api);
	cJSON_Delete(svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_systemd),
		cmocka_unit_test(test_cgroup_cgroupfs_and_v1),
		cmocka_unit_test(test_cgroup_not_a_pod),
		cmocka_unit_test(test_cgroup_every_prefix),
		cmocka_unit_test(test_workload_of),
		cmocka_unit_test(test_pod_list),
		cmocka_unit_test(test_list_kinds),
		cmocka_unit_test(test_pod_list_hostile),
		cmocka_unit_test_setup_teardown(test_lookup, setup_proc, teardown_proc),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_service_naming),
		cmocka_unit_test(test_merge_kubernetes),
		cmocka_unit_test(test_merge_scalars),
		cmocka_unit_test(test_merge_validation),
		cmocka_unit_test(test_openapi_extension),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
