// SPDX-License-Identifier: BSD-2-Clause
/*
 * Kubernetes identity (include/apisonar/daemon/k8s.h): cgroup paths to pod and
 * container, the node's pod list to namespace and workload, a refresher
 * thread that keeps that list fresh, and lookups from the catalog thread.
 * The catalog's `kubernetes` member is src/catalog/k8s_doc.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/detect.h"
#include "apisonar/catalog/k8s_doc.h"
#include "apisonar/daemon/k8s.h"
#include "apisonar/util/util.h"

#define K8S_PID_CACHE 1024                    /* pids remembered (a power of 2) */
#define K8S_PID_TTL_NS (5ull * 1000000000ull) /* a cgroup answer is reused this long */
#define K8S_KICK_GAP_NS (5ull * 1000000000ull) /* unknown pods refresh at most this often */
#define K8S_CONNECT_TIMEOUT_S 5L
#define K8S_TIMEOUT_S 30L
#define K8S_BODY_START (64u << 10)            /* first allocation of a response */

/* ---- names ------------------------------------------------------------------ */

/* Pod uids and container ids are hex; either case is accepted on input. */
static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A non-empty run of hex digits. */
static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_hex(s[i]))
			return false;
	return n > 0;
}

/* A name that leaves the host must pass the batch's last guard: one a
 * detector matches (an address, a token-like string) would make every
 * batch with it refused, so it is not used at all. */
static bool name_clean(const char *s)
{
	enum detect_class first = DC_NONE;

	return detect_scan(s, strlen(s), &first) == 0;
}

/* ---- cgroup ------------------------------------------------------------------ */

/* A pod uid as 8-4-4-4-12 hex with sep between groups (systemd escapes
 * '-' as '_'); written lowercase with '-' into out. */
static bool uid_take(const char *s, size_t n, char sep, char *out)
{
	size_t i;

	if (n != K8S_UID_LEN)
		return false;
	for (i = 0; i < K8S_UID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != sep)
				return false;
			out[i] = '-';
		} else {
			if (!is_hex(s[i]))
				return false;
			out[i] = (char)tolower((unsigned char)s[i]);
		}
	}
	out[K8S_UID_LEN] = '\0';
	return true;
}

/* Segments are not NUL-terminated: substring and suffix tests by length. */
static bool has_sub(const char *s, size_t n, const char *sub)
{
	size_t m = strlen(sub), i;

	for (i = 0; i + m <= n; i++)
		if (memcmp(s + i, sub, m) == 0)
			return true;
	return false;
}

/* See has_sub(). */
static bool ends_with(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && memcmp(s + n - m, suf, m) == 0;
}

/* A pod's directory: "kubepods[-qos]-pod<uid_>.slice" (systemd) or
 * "pod<uid>" below a kubepods directory (cgroupfs). */
static bool pod_segment(const char *s, size_t n, bool under_kubepods, char *uid)
{
	const size_t tail = 3 + K8S_UID_LEN + 6; /* "pod" uid ".slice" */

	if (n > tail && ends_with(s, n, ".slice") && s[n - tail - 1] == '-' &&
	    memcmp(s + n - tail, "pod", 3) == 0 && has_sub(s, n - tail, "kubepods"))
		return uid_take(s + n - tail + 3, K8S_UID_LEN, '_', uid);
	if (under_kubepods && n == 3 + K8S_UID_LEN && memcmp(s, "pod", 3) == 0)
		return uid_take(s + 3, K8S_UID_LEN, '-', uid);
	return false;
}

/* A container's directory right below its pod: "<runtime>-<64 hex>.scope"
 * (systemd; conmon's own scope is not the container) or "<64 hex>". */
static bool container_segment(const char *s, size_t n, char *cid)
{
	static const char *const pre[] = { "cri-containerd-", "crio-", "docker-" };
	size_t i, j;

	if (ends_with(s, n, ".scope")) {
		n -= 6;
		for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
			size_t pl = strlen(pre[i]);

			if (n == pl + K8S_CID_LEN && memcmp(s, pre[i], pl) == 0) {
				s += pl;
				n -= pl;
				break;
			}
		}
	}
	if (n != K8S_CID_LEN || !all_hex(s, n))
		return false;
	for (j = 0; j < K8S_CID_LEN; j++)
		cid[j] = (char)tolower((unsigned char)s[j]);
	cid[K8S_CID_LEN] = '\0';
	return true;
}

/* One cgroup path, segment by segment. */
static bool parse_path(const char *p, size_t n, struct k8s_cgroup_id *out)
{
	bool under = false, pod = false;
	size_t i = 0;

	while (i < n) {
		size_t st, sl;

		while (i < n && p[i] == '/')
			i++;
		st = i;
		while (i < n && p[i] != '/')
			i++;
		sl = i - st;
		if (sl == 0)
			break;
		if (pod) {
			/* Only the directory right below the pod is its container. */
			if (!container_segment(p + st, sl, out->container_id))
				out->container_id[0] = '\0';
			return true;
		}
		if (pod_segment(p + st, sl, under, out->pod_uid)) {
			pod = true;
			continue;
		}
		if (has_sub(p + st, sl, "kubepods"))
			under = true;
	}
	return pod;
}

/* Lines are found by memchr within len: the text need not be a C string. */
int k8s_parse_cgroup(const char *text, size_t len, struct k8s_cgroup_id *out)
{
	int pass;

	memset(out, 0, sizeof(*out));
	if (!text)
		return -ENOENT;
	if (len > K8S_CGROUP_MAX)
		len = K8S_CGROUP_MAX;
	/* Pass 0: the v2 line ("0::path"); pass 1: v1 lines in order. */
	for (pass = 0; pass < 2; pass++) {
		size_t pos = 0;

		while (pos < len) {
			const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
			size_t ll = nl ? (size_t)(nl - l) : len - pos;
			const char *c1 = memchr(l, ':', ll), *c2;
			bool v2;

			pos += ll + 1;
			if (!c1)
				continue;
			c2 = memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - l));
			if (!c2)
				continue;
			v2 = c1 - l == 1 && l[0] == '0' && c2 == c1 + 1;
			if (v2 != (pass == 0))
				continue;
			if (parse_path(c2 + 1, ll - (size_t)(c2 + 1 - l), out))
				return 0;
			memset(out, 0, sizeof(*out));
		}
	}
	return -ENOENT;
}

/* ---- the pod table ------------------------------------------------------------ */

/* What a pod's metadata gives: no container names (they are in the pod's
 * status, which a metadata-only list does not carry; see k8s.h). */
struct k8s_pod {
	char uid[K8S_UID_LEN + 1];
	char *ns, *name, *kind, *workload;
};

struct k8s_table {
	struct k8s_pod *pods; /* sorted by uid */
	size_t n;
	struct k8s_table_stats st;
};

/* A pod owns its strings; cleared so a half-built one can be dropped. */
static void pod_clear(struct k8s_pod *p)
{
	free(p->ns);
	free(p->name);
	free(p->kind);
	free(p->workload);
	memset(p, 0, sizeof(*p));
}

/* NULL-safe, like every free here: the refresher swaps tables freely. */
void k8s_table_free(struct k8s_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		pod_clear(&t->pods[i]);
	free(t->pods);
	free(t);
}

/* What the parse kept and cut, for the refresher's log and the tests. */
void k8s_table_get_stats(const struct k8s_table *t, struct k8s_table_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (t)
		*st = t->st;
}

/* "-<digits>" at the end, with at least min digits: the length of the
 * name before it, or 0. */
static size_t digit_suffix(const char *s, size_t min)
{
	size_t n = strlen(s), d = 0;

	while (d < n && isdigit((unsigned char)s[n - 1 - d]))
		d++;
	if (d < min || d + 1 >= n || s[n - 1 - d] != '-')
		return 0;
	return n - 1 - d;
}

/* The workload is the name that survives pod churn (header for the rules). */
void k8s_workload_of(const char *owner_kind, const char *owner_name, const char *template_hash,
		     const char *pod_name, char *kind, size_t kind_len, char *name, size_t name_len)
{
	size_t on, hn;

	if (!owner_kind || !owner_name || strcmp(owner_kind, "Node") == 0) {
		/* A bare pod, or a static pod (its mirror is owned by the Node). */
		snprintf(kind, kind_len, "Pod");
		snprintf(name, name_len, "%s", pod_name);
		return;
	}
	on = strlen(owner_name);
	if (strcmp(owner_kind, "ReplicaSet") == 0 && template_hash && template_hash[0]) {
		hn = strlen(template_hash);
		if (on > hn + 1 && owner_name[on - hn - 1] == '-' &&
		    strcmp(owner_name + on - hn, template_hash) == 0) {
			snprintf(kind, kind_len, "Deployment");
			snprintf(name, name_len, "%.*s", (int)(on - hn - 1), owner_name);
			return;
		}
	}
	if (strcmp(owner_kind, "Job") == 0) {
		/* A CronJob names its Jobs <cronjob>-<scheduled minute since the
		 * epoch>: 8 digits since 1989. Best effort: the pod does not
		 * name the CronJob. */
		size_t keep = digit_suffix(owner_name, 8);

		if (keep) {
			snprintf(kind, kind_len, "CronJob");
			snprintf(name, name_len, "%.*s", (int)keep, owner_name);
			return;
		}
	}
	snprintf(kind, kind_len, "%s", owner_kind);
	snprintf(name, name_len, "%s", owner_name);
}

/* A string member or NULL: wrong types are treated as absent. */
static const char *str_member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The controller reference of a pod. Returns 0 (none: *kind NULL), 1
 * (found), -EINVAL when it is malformed. */
static int controller_of(const cJSON *meta, const char **kind, const char **name)
{
	const cJSON *refs = cJSON_GetObjectItemCaseSensitive(meta, "ownerReferences"), *r;

	*kind = *name = NULL;
	if (!refs)
		return 0;
	if (!cJSON_IsArray(refs))
		return -EINVAL;
	cJSON_ArrayForEach(r, refs) {
		if (!cJSON_IsObject(r) || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "controller")))
			continue;
		*kind = str_member(r, "kind");
		*name = str_member(r, "name");
		if (!k8s_kind_ok(*kind) || !k8s_name_ok(*name, K8S_MAX_NAME))
			return -EINVAL;
		return 1;
	}
	return 0;
}

/* One item of the list into p: only its metadata is read (uid, name,
 * namespace, the pod-template-hash label, the controller reference), the
 * same from a PartialObjectMetadata as from a whole Pod. Returns 0,
 * -EINVAL (skip it), -ENOMEM. */
static int pod_from_item(const cJSON *item, struct k8s_pod *p)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(item, "metadata");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
	const char *uid = str_member(meta, "uid"), *ns = str_member(meta, "namespace");
	const char *name = str_member(meta, "name"), *ok = NULL, *on = NULL;
	char kind[K8S_MAX_KIND + 1], wl[K8S_MAX_NAME + 1];

	if (!cJSON_IsObject(item) || !cJSON_IsObject(meta) || !uid ||
	    !uid_take(uid, strlen(uid), '-', p->uid) || !k8s_name_ok(ns, 63) ||
	    !k8s_name_ok(name, K8S_MAX_NAME))
		return -EINVAL;
	if (controller_of(meta, &ok, &on) < 0)
		return -EINVAL;
	k8s_workload_of(ok, on, cJSON_IsObject(labels) ? str_member(labels, "pod-template-hash") : NULL,
			name, kind, sizeof(kind), wl, sizeof(wl));
	if (!k8s_name_ok(wl, K8S_MAX_NAME) || !name_clean(wl) || !name_clean(ns))
		return -EINVAL;
	p->ns = strdup(ns);
	p->name = strdup(name);
	p->kind = strdup(kind);
	p->workload = strdup(wl);
	if (!p->ns || !p->name || !p->kind || !p->workload)
		return -ENOMEM;
	return 0;
}

/* Which list the document is: 1 a PartialObjectMetadataList (what we ask
 * for), 0 a full PodList (a server that cannot give metadata only),
 * -EINVAL anything else (a Status, a Table, a list of another kind). */
static int list_kind(const cJSON *doc)
{
	const char *kind = str_member(doc, "kind"), *api = str_member(doc, "apiVersion");

	if (!kind || !api)
		return -EINVAL;
	if (strcmp(kind, "PartialObjectMetadataList") == 0 && strcmp(api, "meta.k8s.io/v1") == 0)
		return 1;
	if (strcmp(kind, "PodList") == 0 && strcmp(api, "v1") == 0)
		return 0;
	return -EINVAL;
}

/* Pods are kept sorted by uid so lookups are a binary search. */
static int pod_cmp(const void *a, const void *b)
{
	return strcmp(((const struct k8s_pod *)a)->uid, ((const struct k8s_pod *)b)->uid);
}

/* One pass over items into a preallocated array (the cap bounds it), then
 * sorted; the cJSON document is freed before returning. */
int k8s_table_parse(const char *json, size_t len, size_t max_pods, struct k8s_table **out)
{
	struct k8s_table *t = NULL;
	const cJSON *items, *it;
	cJSON *doc;
	size_t n = 0, i;
	int rc = -ENOMEM, lk;

	*out = NULL;
	if (!max_pods || max_pods > K8S_MAX_PODS)
		max_pods = K8S_MAX_PODS;
	doc = json ? cJSON_ParseWithLength(json, len) : NULL;
	if (!doc)
		return -EINVAL;
	items = cJSON_GetObjectItemCaseSensitive(doc, "items");
	lk = cJSON_IsObject(doc) ? list_kind(doc) : -EINVAL;
	if (lk < 0 || !cJSON_IsArray(items)) {
		rc = -EINVAL;
		goto cleanup;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		goto cleanup;
	t->st.full_list = lk == 0;
	cJSON_ArrayForEach(it, items)
		n++;
	t->pods = calloc(n < max_pods ? n + 1 : max_pods, sizeof(*t->pods));
	if (!t->pods)
		goto cleanup;
	cJSON_ArrayForEach(it, items) {
		struct k8s_pod *p;
		int e;

		if (t->n >= max_pods) {
			t->st.cut_pods++;
			continue;
		}
		p = &t->pods[t->n];
		e = pod_from_item(it, p);
		if (e == -ENOMEM) {
			pod_clear(p);
			goto cleanup;
		}
		if (e) {
			pod_clear(p);
			t->st.skipped++;
			continue;
		}
		t->n++;
	}
	qsort(t->pods, t->n, sizeof(*t->pods), pod_cmp);
	/* A uid twice is not a list the API server makes: keep one. */
	for (i = 1, n = t->n ? 1 : 0; i < t->n; i++) {
		if (strcmp(t->pods[i].uid, t->pods[n - 1].uid) == 0) {
			pod_clear(&t->pods[i]);
			t->st.skipped++;
			continue;
		}
		if (n != i) {
			t->pods[n] = t->pods[i];
			memset(&t->pods[i], 0, sizeof(t->pods[i]));
		}
		n++;
	}
	t->n = n;
	t->st.pods = n;
	*out = t;
	t = NULL;
	rc = 0;
cleanup:
	k8s_table_free(t);
	cJSON_Delete(doc);
	return rc;
}

/* Views point into t: valid while the caller keeps t (k8s_lookup copies). */
int k8s_table_find(const struct k8s_table *t, const char *pod_uid, struct k8s_view *out)
{
	struct k8s_pod key;
	const struct k8s_pod *p;

	memset(out, 0, sizeof(*out));
	memset(&key, 0, sizeof(key));
	if (!t || !pod_uid || strlen(pod_uid) != K8S_UID_LEN)
		return -ENOENT;
	memcpy(key.uid, pod_uid, K8S_UID_LEN + 1);
	p = bsearch(&key, t->pods, t->n, sizeof(*t->pods), pod_cmp);
	if (!p)
		return -ENOENT;
	out->ns = p->ns;
	out->pod = p->name;
	out->kind = p->kind;
	out->workload = p->workload;
	return 0;
}

/* ---- the refresher ------------------------------------------------------------- */

/* Why the last refresh failed; a change of (state, code) is logged once. */
enum k8s_state {
	KS_NONE = 0,
	KS_OK,
	KS_TOKEN,   /* code: errno */
	KS_HTTP,    /* code: HTTP status */
	KS_TLS,     /* code: curl code */
	KS_NET,     /* code: curl code */
	KS_BIG,
	KS_PARSE,
	KS_LOCAL,   /* code: errno */
};

struct pid_slot {
	uint32_t pid;
	int state;           /* 0 empty, 1 in a pod, 2 not in a pod */
	uint64_t expires_ns; /* monotonic */
	struct k8s_cgroup_id id;
};

struct k8s {
	struct k8s_opts o;
	char url[K8S_STR_MAX + K8S_MAX_NAME + 96];

	pthread_mutex_t mu;          /* table, kick, stop, cache */
	pthread_cond_t cv;           /* stop or kick */
	struct k8s_table *table;
	bool kick;                   /* a lookup met an unknown pod */
	atomic_int stop;
	pthread_t thread;
	bool running;
	uint64_t last_fetch_ns;      /* monotonic, refresher only */
	enum k8s_state state;        /* refresher only */
	long state_code;
	bool said_full;              /* the full-list fallback was logged (refresher only) */
	struct pid_slot *cache;      /* K8S_PID_CACHE slots */

	atomic_uint_fast64_t refresh_ok, refresh_failed, lookup_hit, lookup_miss;
	atomic_uint_fast64_t pods, pods_cut, full_lists;
};

/* Options are checked here too (the tests and the daemon both make one),
 * and the URL is built once: the node name is a DNS name, so it needs no
 * escaping. */
struct k8s *k8s_new(const struct k8s_opts *o, int *err)
{
	struct k8s *k = calloc(1, sizeof(*k));
	size_t n;

	*err = -ENOMEM;
	if (!k)
		goto cleanup;
	k->o = *o;
	if (!k->o.refresh_s)
		k->o.refresh_s = K8S_DEFAULT_REFRESH;
	n = strlen(k->o.api);
	while (n && k->o.api[n - 1] == '/')
		k->o.api[--n] = '\0';
	if (strncmp(k->o.api, "https://", 8) != 0 || !k->o.api[8] ||
	    !k8s_name_ok(k->o.node_name, K8S_MAX_NAME) || !k->o.token_file[0] || !k->o.ca_file[0]) {
		*err = -EINVAL;
		goto cleanup;
	}
	/* Only this node's pods (the field selector is applied by the API
	 * server; RBAC cannot enforce it, see deploy/kubernetes/rbac.yaml).
	 * resourceVersion=0: answered from the API server's watch cache, the
	 * cheap read every node agent should make. */
	snprintf(k->url, sizeof(k->url),
		 "%s/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&resourceVersion=0", k->o.api,
		 k->o.node_name);
	k->cache = calloc(K8S_PID_CACHE, sizeof(*k->cache));
	if (!k->cache || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		goto cleanup;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	*err = 0;
	return k;
cleanup:
	if (k)
		free(k->cache);
	free(k);
	return NULL;
}

/* Reads a small file into buf (NUL-terminated), without the heap, so a
 * token can be wiped after use. */
static int read_small(const char *path, char *buf, size_t cap, size_t *len)
{
	size_t have = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + have, cap - 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have >= cap - 1) {
			char extra;

			if (read(fd, &extra, 1) > 0)
				err = -EFBIG;
			break;
		}
	}
	close(fd);
	buf[have] = '\0';
	*len = have;
	return err;
}

/* The token without surrounding whitespace; refused when it holds a byte
 * that cannot go into a header line. Returns its length or a negative
 * errno. */
static int read_token(const char *path, char *buf, size_t cap)
{
	size_t len = 0, st = 0, i;
	int rc = read_small(path, buf, cap, &len);

	if (rc)
		return rc;
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	while (st < len && isspace((unsigned char)buf[st]))
		st++;
	for (i = st; i < len; i++)
		if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e)
			return -EINVAL;
	if (len == st)
		return -ENODATA;
	memmove(buf, buf + st, len - st);
	buf[len - st] = '\0';
	return (int)(len - st);
}

/* A start-time check, so a wrong path fails where it is set, not 30 s
 * later in the refresher; the token is wiped at once. */
int k8s_check_files(const struct k8s *k)
{
	char tok[K8S_MAX_TOKEN], ca[64];
	size_t n = 0;
	int rc;

	rc = read_token(k->o.token_file, tok, sizeof(tok));
	OPENSSL_cleanse(tok, sizeof(tok));
	if (rc < 0) {
		log_error("k8s: cannot use the token file %s: %s", k->o.token_file,
			  rc == -EINVAL ? "it holds bytes a token cannot have" :
			  rc == -ENODATA ? "it is empty" : strerror(-rc));
		return rc;
	}
	rc = read_small(k->o.ca_file, ca, sizeof(ca), &n);
	if ((rc && rc != -EFBIG) || n == 0) {
		log_error("k8s: cannot read the CA file %s: %s", k->o.ca_file,
			  rc ? strerror(-rc) : "it is empty");
		return rc ? rc : -ENODATA;
	}
	return 0;
}

struct body {
	char *p;
	size_t len, cap;
	bool too_big;
};

/* Grows the response up to K8S_MAX_RESPONSE; past it the transfer stops. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > K8S_MAX_RESPONSE - b->len) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : K8S_BODY_START;
		char *np;

		while (nc < b->len + n + 1)
			nc *= 2;
		if (nc > K8S_MAX_RESPONSE + 1)
			nc = K8S_MAX_RESPONSE + 1;
		np = realloc(b->p, nc);
		if (!np)
			return 0;
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* Aborts a transfer when the daemon stops. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct k8s *k = arg;

	return atomic_load(&k->stop) ? 1 : 0;
}

/* Frees a header list whose lines held the token, wiping them first. */
static void free_headers(struct curl_slist *h)
{
	struct curl_slist *it;

	for (it = h; it; it = it->next)
		OPENSSL_cleanse(it->data, strlen(it->data));
	curl_slist_free_all(h);
}

/* One GET of the node's pods. On success *b holds the body. */
static enum k8s_state fetch(struct k8s *k, struct body *b, long *code)
{
	char tok[K8S_MAX_TOKEN], hdr[K8S_MAX_TOKEN + 32];
	struct curl_slist *h = NULL, *h2;
	enum k8s_state st = KS_OK;
	CURL *c = NULL;
	CURLcode cc;
	int rc;

	*code = 0;
	rc = read_token(k->o.token_file, tok, sizeof(tok));
	if (rc < 0) {
		OPENSSL_cleanse(tok, sizeof(tok));
		*code = rc;
		return KS_TOKEN;
	}
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", tok);
	OPENSSL_cleanse(tok, sizeof(tok));
	h = curl_slist_append(NULL, hdr);
	OPENSSL_cleanse(hdr, sizeof(hdr));
	h2 = h ? curl_slist_append(h, "Accept: " K8S_ACCEPT) : NULL;
	c = curl_easy_init();
	if (!h2 || !c) {
		*code = -ENOMEM;
		st = KS_LOCAL;
		goto cleanup;
	}
	h = h2;
	curl_easy_setopt(c, CURLOPT_URL, k->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* the token goes to this host only */
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CAINFO, k->o.ca_file);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, K8S_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, K8S_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "apisonar/" APISONAR_VERSION);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when the server offers */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, k);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
		if (*code != 200)
			st = KS_HTTP;
	} else if (b->too_big) {
		st = KS_BIG;
	} else {
		*code = (long)cc;
		st = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
				     cc == CURLE_SSL_CONNECT_ERROR ?
			     KS_TLS :
			     KS_NET;
	}
cleanup:
	if (c) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
		curl_easy_cleanup(c);
	}
	free_headers(h);
	return st;
}

/* Says what went wrong and what to do, once per change of state; never a
 * token nor a byte of a response. */
static void log_state(struct k8s *k, enum k8s_state st, long code, size_t pods)
{
	bool changed = st != k->state || code != k->state_code;
	enum k8s_state was = k->state;

	k->state = st;
	k->state_code = code;
	if (st == KS_OK) {
		if (was != KS_OK)
			log_info("k8s: %zu pods on node %s%s", pods, k->o.node_name,
				 was == KS_NONE ? "" : " (the pod list works again)");
		else
			log_debug("k8s: %zu pods on node %s", pods, k->o.node_name);
		return;
	}
	if (!changed)
		return;
	switch (st) {
	case KS_TOKEN:
		log_error("k8s: cannot use the token file %s: %s; pod identity waits for it",
			  k->o.token_file,
			  code == -EINVAL ? "it holds bytes a token cannot have" :
			  code == -ENODATA ? "it is empty" : strerror((int)-code));
		break;
	case KS_HTTP:
		if (code == 401)
			log_error("k8s: 401: the API server refused the service account token; check "
				  "that it is mounted (automountServiceAccountToken) and current");
		else if (code == 403)
			log_error("k8s: 403: the ServiceAccount needs list on pods; see "
				  "deploy/kubernetes/rbac.yaml");
		else
			log_error("k8s: the API server answered %ld to the pod list; retrying every "
				  "%u s",
				  code, k->o.refresh_s);
		break;
	case KS_TLS:
		log_error("k8s: TLS with the API server failed (%s): its certificate must verify "
			  "against k8s-ca-file %s",
			  curl_easy_strerror((CURLcode)code), k->o.ca_file);
		break;
	case KS_NET:
		log_error("k8s: cannot reach the API server at %s (%s); check k8s-api and the "
			  "NetworkPolicy",
			  k->o.api, curl_easy_strerror((CURLcode)code));
		break;
	case KS_BIG:
		log_error("k8s: the pod list is larger than %u MiB; not used",
			  K8S_MAX_RESPONSE >> 20);
		break;
	case KS_PARSE:
		log_error("k8s: the API server's answer is not a pod list (neither a "
			  "PartialObjectMetadataList nor a PodList); not used");
		break;
	default:
		log_error("k8s: cannot refresh the pod list: %s", strerror((int)-code));
		break;
	}
}

/* The swap holds the lock only for two pointer moves; the old table is
 * freed outside it, so a lookup never waits on a free. */
void k8s_set_table(struct k8s *k, struct k8s_table *t)
{
	struct k8s_table *old;

	pthread_mutex_lock(&k->mu);
	old = k->table;
	k->table = t;
	pthread_mutex_unlock(&k->mu);
	atomic_store(&k->pods, t ? t->st.pods : 0);
	atomic_store(&k->pods_cut, t ? t->st.cut_pods : 0);
	k8s_table_free(old);
}

/* One fetch and parse; a new table replaces the old only when both
 * worked, so a bad answer never empties what lookups see. */
static void refresh_once(struct k8s *k)
{
	struct body b = { 0 };
	struct k8s_table *t = NULL;
	enum k8s_state st;
	long code = 0;
	int rc;

	st = fetch(k, &b, &code);
	if (st == KS_OK) {
		rc = k8s_table_parse(b.p, b.len, K8S_MAX_PODS, &t);
		if (rc) {
			st = rc == -ENOMEM ? KS_LOCAL : KS_PARSE;
			code = rc;
		}
	}
	free(b.p);
	if (atomic_load(&k->stop)) {
		k8s_table_free(t);
		return;
	}
	if (st == KS_OK) {
		size_t n = t->n;

		if (t->st.cut_pods && k->state != KS_OK)
			log_warn("k8s: %llu pods past the cap of %u were not kept",
				 (unsigned long long)t->st.cut_pods, K8S_MAX_PODS);
		if (t->st.full_list) {
			atomic_fetch_add(&k->full_lists, 1);
			if (!k->said_full)
				log_warn("k8s: the API server answered with whole pods, not metadata "
					 "only (PartialObjectMetadataList): identity works the same, "
					 "but every refresh now brings the node's pod specs, environment "
					 "values included, into this process (read for names only, "
					 "freed at once)");
			k->said_full = true;
		}
		k8s_set_table(k, t);
		atomic_fetch_add(&k->refresh_ok, 1);
		log_state(k, st, 0, n);
	} else {
		/* The last good table stays: pods rarely change workload. */
		atomic_fetch_add(&k->refresh_failed, 1);
		log_state(k, st, code, 0);
	}
}

/* Fetch, then sleep until the next refresh, a kick or stop: the thread
 * is the only one that talks to the API server. */
static void *refresher_main(void *arg)
{
	struct k8s *k = arg;

	while (!atomic_load(&k->stop)) {
		uint64_t next, wake;
		bool kick_ok;

		refresh_once(k);
		kick_ok = k->state == KS_OK;
		k->last_fetch_ns = now_mono_ns();
		next = k->last_fetch_ns + (uint64_t)k->o.refresh_s * 1000000000ull;
		pthread_mutex_lock(&k->mu);
		k->kick = false;
		for (;;) {
			uint64_t now = now_mono_ns();
			struct timespec ts;

			if (atomic_load(&k->stop) || now >= next)
				break;
			/* Early refreshes only while the list works: an API
			 * server that refuses is asked every refresh_s, no more. */
			if (kick_ok && k->kick && now >= k->last_fetch_ns + K8S_KICK_GAP_NS)
				break;
			wake = next;
			if (kick_ok && k->kick && k->last_fetch_ns + K8S_KICK_GAP_NS < wake)
				wake = k->last_fetch_ns + K8S_KICK_GAP_NS;
			/* The condition variable waits on the realtime clock. */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)((wake - now) / 1000000000ull);
			ts.tv_nsec += (long)((wake - now) % 1000000000ull);
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&k->cv, &k->mu, &ts);
		}
		pthread_mutex_unlock(&k->mu);
	}
	return NULL;
}

/* Separate from k8s_new() so the daemon starts it after privileges drop. */
int k8s_start(struct k8s *k)
{
	if (pthread_create(&k->thread, NULL, refresher_main, k) != 0)
		return -EAGAIN;
	k->running = true;
	return 0;
}

/* Stop is seen by the wait (broadcast) and by curl's progress callback,
 * so the join is quick even in the middle of a request. */
void k8s_free(struct k8s *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&k->mu);
	atomic_store(&k->stop, 1);
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
	if (k->running)
		pthread_join(k->thread, NULL);
	k8s_table_free(k->table);
	free(k->cache);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	free(k);
	curl_global_cleanup();
}

/* Atomics only, so /metrics never takes the lookup lock. NULL-safe (k8s
 * off: all zero). */
void k8s_get_stats(struct k8s *k, struct k8s_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!k)
		return;
	st->refresh_ok = atomic_load(&k->refresh_ok);
	st->refresh_failed = atomic_load(&k->refresh_failed);
	st->pods = atomic_load(&k->pods);
	st->pods_cut = atomic_load(&k->pods_cut);
	st->full_lists = atomic_load(&k->full_lists);
	st->lookup_hit = atomic_load(&k->lookup_hit);
	st->lookup_miss = atomic_load(&k->lookup_miss);
}

/* ---- lookups -------------------------------------------------------------------- */

/* The pod and container of a pid, from the cache or /proc. Returns true
 * when the process is in a pod. */
static bool pid_ids(struct k8s *k, uint32_t pid, struct k8s_cgroup_id *id)
{
	struct pid_slot *s = &k->cache[pid & (K8S_PID_CACHE - 1)];
	uint64_t now = now_mono_ns();
	char path[K8S_STR_MAX + 32], text[K8S_CGROUP_MAX + 1];
	size_t len = 0;
	bool in_pod;

	pthread_mutex_lock(&k->mu);
	if (s->state && s->pid == pid && now < s->expires_ns) {
		in_pod = s->state == 1;
		*id = s->id;
		pthread_mutex_unlock(&k->mu);
		return in_pod;
	}
	pthread_mutex_unlock(&k->mu);
	snprintf(path, sizeof(path), "%s/%u/cgroup", k->o.proc_root[0] ? k->o.proc_root : "/proc",
		 pid);
	/* A file past the cap is still parsed as far as it was read. */
	if (read_small(path, text, sizeof(text), &len) && len == 0)
		return false; /* gone already: not cached, a new process may take the pid */
	in_pod = k8s_parse_cgroup(text, len, id) == 0;
	pthread_mutex_lock(&k->mu);
	s->pid = pid;
	s->state = in_pod ? 1 : 2;
	s->expires_ns = now + K8S_PID_TTL_NS;
	s->id = *id;
	pthread_mutex_unlock(&k->mu);
	return in_pod;
}

/* Copies a table string into the exchange, which outlives the table. */
static int dup_into(char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -ENOMEM;
}

/* The cgroup read happens outside the table lock; only the binary search
 * and the copies hold it. */
int k8s_lookup(struct k8s *k, uint32_t pid, struct as_identity *id)
{
	struct k8s_cgroup_id cg;
	struct k8s_view v;
	int rc;

	if (!k || !id)
		return -EINVAL;
	if (!pid || !pid_ids(k, pid, &cg)) {
		atomic_fetch_add(&k->lookup_miss, 1);
		return -ENOENT;
	}
	pthread_mutex_lock(&k->mu);
	rc = k8s_table_find(k->table, cg.pod_uid, &v);
	if (rc) {
		/* A pod newer than the list: ask for a refresh, never wait. */
		if (!k->kick) {
			k->kick = true;
			pthread_cond_signal(&k->cv);
		}
	} else {
		rc = dup_into(&id->ns, v.ns);
		if (!rc)
			rc = dup_into(&id->kind, v.kind);
		if (!rc)
			rc = dup_into(&id->workload, v.workload);
		/* id->container stays NULL: no name in a metadata-only list. */
	}
	pthread_mutex_unlock(&k->mu);
	if (rc == -ENOMEM)
		as_identity_clear(id);
	atomic_fetch_add(rc ? &k->lookup_miss : &k->lookup_hit, 1);
	return rc;
}
