/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kubernetes identity: which pod and container a process belongs to (from
 * its cgroup), and that pod's namespace and workload (from the API server,
 * node-scoped, read-only). The catalog then names a server by its workload
 * (`<workload>.<namespace>`, the in-cluster DNS form) instead of a Host
 * header or an address.
 *
 * Pieces, each testable alone:
 *   k8s_parse_cgroup()   text of /proc/PID/cgroup -> pod UID, container id
 *   k8s_table_parse()    the node's pod list (GET /api/v1/pods, metadata
 *                        only: a PartialObjectMetadataList) -> a bounded table
 *   struct k8s           a refresher thread that fetches the node's pods
 *                        over HTTPS and swaps in a new table, and
 *                        k8s_lookup(): pid -> identity, never blocking on
 *                        the network
 *   k8s_doc_*()          the `kubernetes` member of a catalog service
 *                        (include/apisonar/catalog/k8s_doc.h)
 *
 * Only names leave this module (namespace, workload kind and name). Pod
 * names are not kept in the catalog: they churn, the workload is the
 * identity. The service account token is never logged.
 *
 * The API server is asked for pod metadata only (K8S_ACCEPT): names,
 * namespaces, labels, annotations and owner references, never a pod's
 * spec (its environment values) or status. So container names, which only
 * the status has (containerStatuses: name and id), are not known: the
 * identity names the workload, and the catalog's `containers` stays empty.
 * A server that cannot give metadata only answers with whole pods (the
 * Accept header allows it); they are read the same way, for the same
 * fields, counted (full_lists) and logged once.
 */
#ifndef APISONAR_K8S_H
#define APISONAR_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "apisonar/catalog/k8s_doc.h"
#include "apisonar/exchange/exchange.h"

#define K8S_UID_LEN 36             /* 8-4-4-4-12 hex */
#define K8S_CID_LEN 64             /* container id: 64 hex digits */
#define K8S_CGROUP_MAX (16u << 10) /* bytes of /proc/PID/cgroup looked at */
#define K8S_MAX_PODS 4096          /* pods kept per table (a node runs ~110) */
/* Largest pod list read: a node's metadata list is well under 1 MiB (a
 * full PodList, the fallback, a few MiB), its cJSON tree several times
 * that, and both must fit the DaemonSet's memory limit. */
#define K8S_MAX_RESPONSE (16u << 20)
#define K8S_MAX_TOKEN (16u << 10)  /* largest token file read */
#define K8S_STR_MAX 1024
#define K8S_DEFAULT_REFRESH 30
#define K8S_DEFAULT_TOKEN "/var/run/secrets/kubernetes.io/serviceaccount/token"
#define K8S_DEFAULT_CA "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
/* What the refresher accepts, in order of preference: pod metadata only,
 * else (a server without metadata-only lists, before Kubernetes 1.15) a
 * full PodList. client-go's metadata client asks the same way. */
#define K8S_ACCEPT "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, " \
		   "application/json"

/* ---- cgroup --------------------------------------------------------------- */

/* What a cgroup path says about a process. Strings are "" when absent. */
struct k8s_cgroup_id {
	char pod_uid[K8S_UID_LEN + 1];      /* lowercase, with '-' */
	char container_id[K8S_CID_LEN + 1]; /* lowercase hex; "" when the process
					     * sits in the pod but in no container
					     * (not used for names: see above) */
};

/* Parses the text of /proc/PID/cgroup (v2 "0::/..." and v1 lines; the v2
 * line wins when both name a pod). Knows the systemd driver
 * (kubepods[-<qos>]-pod<uid with _>.slice / cri-containerd-|crio-|docker-
 * <id>.scope) and the cgroupfs driver (kubepods[/<qos>]/pod<uid>/<id>),
 * under any prefix ("/../.." from a cgroup namespace, kubelet.slice).
 * Returns 0 when it names a pod, -ENOENT otherwise; any input is safe. */
int k8s_parse_cgroup(const char *text, size_t len, struct k8s_cgroup_id *out)
	__attribute__((warn_unused_result));

/* ---- pod table ------------------------------------------------------------ */

/* What the table says of one pod; pointers into the table. */
struct k8s_view {
	const char *ns;        /* namespace */
	const char *pod;       /* pod name (never put in the catalog) */
	const char *kind;      /* Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, Pod, ... */
	const char *workload;  /* workload name */
};

/* What parsing a pod list cut or skipped. */
struct k8s_table_stats {
	uint64_t pods;            /* pods kept */
	uint64_t cut_pods;        /* past K8S_MAX_PODS */
	uint64_t skipped;         /* items with a missing or malformed field */
	int full_list;            /* 1: a full PodList, 0: a PartialObjectMetadataList */
};

struct k8s_table;

/* Parses a pod list: a PartialObjectMetadataList (meta.k8s.io/v1) or a
 * PodList (v1), from each item only its metadata. Pods without a valid
 * uid, namespace or name are skipped (counted); at most max_pods are kept
 * (0 = K8S_MAX_PODS). Returns 0 and a table, -EINVAL when the text is not
 * one of the two lists (a Status, a Table, no kind), -ENOMEM. */
int k8s_table_parse(const char *json, size_t len, size_t max_pods, struct k8s_table **out)
	__attribute__((warn_unused_result));
void k8s_table_free(struct k8s_table *t);
void k8s_table_get_stats(const struct k8s_table *t, struct k8s_table_stats *st);

/* The pod with this uid. Returns 0 or -ENOENT when the pod is not there. */
int k8s_table_find(const struct k8s_table *t, const char *pod_uid, struct k8s_view *out)
	__attribute__((warn_unused_result));

/* The workload of a pod from its controller owner reference: a ReplicaSet
 * named <deployment>-<pod-template-hash> is its Deployment; a Job named
 * <cronjob>-<8+ digits> (the CronJob's scheduled minute) is its CronJob;
 * a Node owner (a static pod) and no controller make kind Pod with the
 * pod's own name. Writes into kind/name; exposed for the tests. */
void k8s_workload_of(const char *owner_kind, const char *owner_name, const char *template_hash,
		     const char *pod_name, char *kind, size_t kind_len, char *name, size_t name_len);

/* ---- the refresher and lookups -------------------------------------------- */

struct k8s_opts {
	char api[K8S_STR_MAX];        /* https://host:port */
	char token_file[K8S_STR_MAX];
	char ca_file[K8S_STR_MAX];
	char node_name[K8S_MAX_NAME + 1];
	uint32_t refresh_s;
	char proc_root[K8S_STR_MAX];  /* "" = /proc (tests point it elsewhere) */
};

struct k8s_stats {
	uint64_t refresh_ok, refresh_failed;
	uint64_t pods;              /* in the current table */
	uint64_t pods_cut;          /* cut by K8S_MAX_PODS in the last list */
	uint64_t full_lists;        /* refreshes answered with whole pods, not metadata */
	uint64_t lookup_hit, lookup_miss;
};

struct k8s;

/* Makes the identity source; nothing runs until k8s_start(). NULL with
 * *err (a negative errno) on failure. */
struct k8s *k8s_new(const struct k8s_opts *o, int *err);

/* Reads the token and CA files once (before privileges drop, to fail
 * early); the refresher reads them again on every fetch, so a rotated
 * token is picked up. Returns 0 or a negative errno, with what in the log. */
int k8s_check_files(const struct k8s *k) __attribute__((warn_unused_result));

/* Starts the refresher thread: a fetch at once, then every refresh_s
 * seconds (sooner, at most every few seconds, when a lookup meets a pod
 * the table does not know yet). */
int k8s_start(struct k8s *k) __attribute__((warn_unused_result));

/* Stops the refresher (an HTTP request in flight is aborted) and frees;
 * NULL-safe. */
void k8s_free(struct k8s *k);

/* Replaces the table (taking ownership); what the refresher does after a
 * fetch, public for the tests. */
void k8s_set_table(struct k8s *k, struct k8s_table *t);

/* The identity of a process: reads /proc/PID/cgroup (cached per pid for a
 * few seconds, unknown processes too) and the current table. Fills id
 * with new strings (namespace, kind, workload; container stays NULL) and
 * returns 0, or returns -ENOENT when the process is not in a pod or its
 * pod is not (yet) known, -ENOMEM. Never waits for the network.
 * Thread-safe. */
int k8s_lookup(struct k8s *k, uint32_t pid, struct as_identity *id)
	__attribute__((warn_unused_result));

void k8s_get_stats(struct k8s *k, struct k8s_stats *st);

#endif
