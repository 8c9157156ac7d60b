// SPDX-License-Identifier: BSD-2-Clause
/*
 * Configuration of `apisonar run`: one table of keys drives the file
 * parser, the environment, the flags, --help and the reload rules, so the
 * three ways in can never disagree.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "apisonar/daemon/config.h"
#include "apisonar/sensor/events.h"
#include "apisonar/transport/rawfwd.h"
#include "apisonar/util/util.h"

extern char **environ;

enum cfg_type { T_STR, T_U64, T_BOOL, T_LIST, T_LEVEL, T_LOGFMT, T_ROLE, T_TLS, T_K8S, T_TRANSPORT };

/* Extra checks some keys need beyond their type. */
enum cfg_check {
	K_NONE = 0,
	K_PID,
	K_PORT,
	K_COMM,
	K_CIDR,
	K_PIN,
	K_PATH,     /* absolute path */
	K_ENDPOINT, /* https://... */
	K_ADDR,     /* IPv4 or IPv6 literal */
	K_NAME,     /* user or sensor id: [A-Za-z0-9._-] */
	K_DNS,      /* a Kubernetes node name: [a-z0-9.-] */
	K_BUDGET,   /* T_U64 that also takes "unlimited" (= 0) */
	K_NATS_URL, /* nats://HOST:PORT or tls://HOST:PORT */
};

struct cfg_key {
	const char *name;
	enum cfg_type type;
	size_t off;
	size_t size;        /* of the string field */
	uint64_t min, max;  /* T_U64 */
	enum cfg_check check;
	bool reload;        /* SIGHUP applies it */
	const char *help;
};

#define F(field) offsetof(struct run_config, field), sizeof(((struct run_config *)0)->field)

static const struct cfg_key keys[] = {
	{ "config", T_STR, F(config), 0, 0, K_PATH, false,
	  "configuration file (key = value lines)" },
	{ "out-dir", T_STR, F(out_dir), 0, 0, K_PATH, false,
	  "catalog directory: metadata.json, openapi/ (default /var/lib/apisonar)" },
	{ "spool-dir", T_STR, F(spool_dir), 0, 0, K_PATH, false,
	  "spool of batches to upload (default <out-dir>/spool)" },
	{ "flush-interval", T_U64, F(flush_interval), 1, 86400, K_NONE, true,
	  "seconds between catalog writes and batches (default 60)" },
	{ "queue-size", T_U64, F(queue_size), 16, 1000000, K_NONE, false,
	  "exchanges queued between capture and catalog; a full queue drops (default 4096)" },
	{ "shutdown-timeout", T_U64, F(shutdown_timeout), 1, 600, K_NONE, true,
	  "seconds SIGTERM may take to flush and upload (default 10)" },
	{ "log-level", T_LEVEL, F(log_level), 0, 0, K_NONE, true,
	  "error, warn, info or debug (default info)" },
	{ "log-format", T_LOGFMT, F(log_json), 0, 0, K_NONE, true,
	  "json (default) or text" },
	{ "metrics-addr", T_STR, F(metrics_addr), 0, 0, K_ADDR, false,
	  "address of /metrics and /healthz (default 127.0.0.1)" },
	{ "metrics-port", T_U64, F(metrics_port), 0, 65535, K_NONE, false,
	  "port of /metrics and /healthz; 0 turns them off (default 9464)" },
	{ "user", T_STR, F(user), 0, 0, K_NAME, false,
	  "switch to this user after attaching (default: stay root, fewer capabilities)" },
	{ "sensor-id", T_STR, F(sensor_id), 0, 0, K_NAME, false,
	  "sensor identity in batches (default: host name)" },
	{ "pid", T_LIST, F(pid), 0, 0, K_PID, true, "only this process (list)" },
	{ "comm", T_LIST, F(comm), 0, 0, K_COMM, true,
	  "only processes with this name (list)" },
	{ "port", T_LIST, F(port), 0, 0, K_PORT, true,
	  "only connections with this local or peer port (list)" },
	{ "cidr", T_LIST, F(cidr), 0, 0, K_CIDR, true, "only peers in this network (list)" },
	{ "cgroup", T_LIST, F(cgroup), 0, 0, K_NONE, true,
	  "only processes in this cgroup v2 directory (list)" },
	{ "role", T_ROLE, F(role), 0, 0, K_NONE, true, "server, client or both (default both)" },
	{ "tls", T_TLS, F(tls), 0, 0, K_NONE, false,
	  "on (default), off or only: HTTPS plaintext through OpenSSL uprobes; on and only keep "
	  "CAP_SYS_ADMIN and CAP_SYS_PTRACE for processes that start later" },
	{ "all-ports", T_BOOL, F(all_ports), 0, 0, K_NONE, true,
	  "also database, cache and broker ports (default false)" },
	{ "max-body", T_U64, F(max_body), 0, 64ull << 20, K_NONE, false,
	  "body bytes kept per message for schema inference (default 65536)" },
	{ "max-copy", T_U64, F(max_copy), 64, AS_MAX_COPY, K_NONE, false,
	  "bytes copied per ring buffer record in the kernel (64..16384); a syscall takes up to 8, as far as max-body + 16 KiB" },
	{ "capture-budget", T_U64, F(capture_budget), 0, BUDGET_MAX, K_BUDGET, true,
	  "HTTP/1 exchanges per second the kernel copies, the others only counted; 0 or "
	  "unlimited copies all (default 200)" },
	{ "capture-warmup", T_U64, F(capture_warmup), 0, 3600, K_NONE, false,
	  "seconds after start during which every exchange is copied (default 5)" },
	{ "verbose", T_BOOL, F(verbose), 0, 0, K_NONE, false,
	  "libbpf and verifier messages (default false)" },
	{ "max-services", T_U64, F(max_services), 1, 100000, K_NONE, true,
	  "services kept in the catalog (default 1000)" },
	{ "max-endpoints", T_U64, F(max_endpoints), 1, 100000, K_NONE, true,
	  "endpoints kept per service (default 2000)" },
	{ "max-fields", T_U64, F(max_fields), 1, 10000, K_NONE, true,
	  "fields kept per schema object (default 200)" },
	{ "max-depth", T_U64, F(max_depth), 1, 64, K_NONE, true,
	  "JSON nesting kept (default 16)" },
	{ "endpoint", T_STR, F(endpoint), 0, 0, K_ENDPOINT, false,
	  "upload batches to this https:// URL (default: none, catalog stays local)" },
	{ "token-file", T_STR, F(token_file), 0, 0, K_PATH, false,
	  "bearer token file for the endpoint" },
	{ "ca-file", T_STR, F(ca_file), 0, 0, K_PATH, false, "CA bundle for the endpoint" },
	{ "pin-sha256", T_LIST, F(pin_sha256), 0, 0, K_PIN, false,
	  "pinned public key: base64 SHA-256 of its SPKI (list, at most 8)" },
	{ "client-cert", T_STR, F(client_cert), 0, 0, K_PATH, false,
	  "client certificate (mTLS)" },
	{ "client-key", T_STR, F(client_key), 0, 0, K_PATH, false, "client private key" },
	{ "spool-key-file", T_LIST, F(spool_key_file), 0, 0, K_PATH, false,
	  "spool encryption key files, the last one writes (default <out-dir>/spool.key)" },
	{ "audit-log", T_STR, F(audit_log), 0, 0, K_PATH, false,
	  "upload audit log (default <out-dir>/audit.log)" },
	{ "max-spool-bytes", T_U64, F(max_spool_bytes), 4096, 1ull << 42, K_NONE, false,
	  "spool size cap in bytes (default 268435456)" },
	{ "max-spool-files", T_U64, F(max_spool_files), 1, 1000000, K_NONE, false,
	  "spool file cap (default 10000)" },
	{ "max-rate", T_U64, F(max_rate), 0, 1ull << 40, K_NONE, false,
	  "upload bytes per second, 0 = unlimited (default 0)" },
	{ "upload-timeout", T_U64, F(upload_timeout), 1, 3600, K_NONE, false,
	  "seconds one upload request may take (default 30)" },
	{ "transport", T_TRANSPORT, F(transport), 0, 0, K_NONE, false,
	  "https (to 'endpoint', default) or nats (JetStream at 'nats-url')" },
	{ "nats-url", T_STR, F(nats_url), 0, 0, K_NATS_URL, false,
	  "NATS server: nats://HOST:PORT, or tls://HOST:PORT for TLS" },
	{ "nats-creds", T_STR, F(nats_creds), 0, 0, K_PATH, false,
	  "NATS user JWT and nkey seed (.creds file)" },
	{ "nats-token-file", T_STR, F(nats_token_file), 0, 0, K_PATH, false,
	  "NATS token file (one line, never logged)" },
	{ "nats-ca", T_STR, F(nats_ca), 0, 0, K_PATH, false,
	  "CA bundle for the NATS server (turns TLS on)" },
	{ "nats-client-cert", T_STR, F(nats_client_cert), 0, 0, K_PATH, false,
	  "client certificate for the NATS server" },
	{ "nats-client-key", T_STR, F(nats_client_key), 0, 0, K_PATH, false,
	  "its private key" },
	{ "cluster", T_STR, F(cluster), 0, 0, K_NAME, false,
	  "cluster name in the NATS subject apisonar.batches.<cluster>.<sensor> (default default)" },
	{ "declared", T_LIST, F(declared), 0, 0, K_PATH, true,
	  "OpenAPI or Swagger documents (JSON, YAML) compared with the catalog at every "
	  "flush: DIR/drift.json and /metrics (list)" },
	{ "raw-forward", T_BOOL, F(raw_forward), 0, 0, K_NONE, false,
	  "send raw exchanges, values included, to a satellite over mTLS instead of "
	  "anonymizing here (default false)" },
	{ "raw-forward-queue", T_U64, F(raw_forward_queue), 2, 1024, K_NONE, false,
	  "raw batches held in memory while the satellite is away (default 16)" },
	{ "k8s", T_K8S, F(k8s), 0, 0, K_NONE, false,
	  "Kubernetes workload identity: auto, on or off (default auto: on when "
	  "KUBERNETES_SERVICE_HOST is set)" },
	{ "k8s-api", T_STR, F(k8s_api), 0, 0, K_ENDPOINT, false,
	  "API server URL (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)" },
	{ "k8s-token-file", T_STR, F(k8s_token_file), 0, 0, K_PATH, false,
	  "service account token, read on every refresh (default " K8S_DEFAULT_TOKEN ")" },
	{ "k8s-ca-file", T_STR, F(k8s_ca_file), 0, 0, K_PATH, false,
	  "CA of the API server (default " K8S_DEFAULT_CA ")" },
	{ "k8s-node-name", T_STR, F(k8s_node_name), 0, 0, K_DNS, false,
	  "this node's name: only its pods are listed (default $NODE_NAME)" },
	{ "k8s-refresh", T_U64, F(k8s_refresh), 1, 3600, K_NONE, false,
	  "seconds between pod list fetches (default 30)" },
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= sizeof(((struct run_config *)0)->src) /
				 sizeof(((struct run_config *)0)->src[0]),
	       "run_config.src too small");

void config_default(struct run_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->out_dir, sizeof(c->out_dir), "/var/lib/apisonar");
	c->flush_interval = 60;
	c->queue_size = 4096;
	c->shutdown_timeout = 10;
	c->log_level = LOG_INFO;
	c->log_json = true;
	snprintf(c->metrics_addr, sizeof(c->metrics_addr), "127.0.0.1");
	c->metrics_port = 9464;
	c->role = 3;
	c->max_body = AS_MAX_BODY_DEFAULT;
	c->max_copy = AS_DEFAULT_COPY;
	c->capture_budget = LOADER_BUDGET_RUN_DEFAULT;
	c->capture_warmup = LOADER_BUDGET_WARMUP_DEFAULT;
	c->max_services = 1000;
	c->max_endpoints = 2000;
	c->raw_forward_queue = RAWFWD_MAX_BATCHES_DEFAULT;
	c->max_fields = 200;
	c->max_depth = 16;
	c->max_spool_bytes = SPOOL_DEFAULT_MAX_BYTES;
	c->max_spool_files = SPOOL_DEFAULT_MAX_FILES;
	c->upload_timeout = 30;
	c->k8s = CFG_K8S_AUTO;
	c->k8s_refresh = K8S_DEFAULT_REFRESH;
}

/* Finds a key by name, accepting '_' for '-' and any case. */
static int key_index(const char *name)
{
	size_t i, j;

	for (i = 0; i < N_KEYS; i++) {
		const char *k = keys[i].name;

		for (j = 0; k[j] && name[j]; j++) {
			char a = (char)tolower((unsigned char)name[j]);

			if (a == '_')
				a = '-';
			if (a != k[j])
				break;
		}
		if (!k[j] && !name[j])
			return (int)i;
	}
	return -1;
}

static bool name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	}
	return i > 0;
}

static bool pin_ok(const char *p)
{
	size_t i;

	if (strncmp(p, "sha256//", 8) == 0)
		p += 8;
	if (strlen(p) != 44 || p[43] != '=')
		return false;
	for (i = 0; i < 43; i++) {
		if (!isalnum((unsigned char)p[i]) && p[i] != '+' && p[i] != '/')
			return false;
	}
	return true;
}

/* Checks one scalar or list item against the key's extra rule. why gets a
 * reason that never repeats the value. */
static int check_item_(const struct cfg_key *k, const char *v, const char **why)
{
	struct as_cidr_key ck;
	uint64_t n;

	switch (k->check) {
	case K_PID:
		*why = "want a process id (1..4194304)";
		return parse_u64(v, 1, 4194304, &n) ? -EINVAL : 0;
	case K_PORT:
		*why = "want a port (1..65535)";
		return parse_u64(v, 1, 65535, &n) ? -EINVAL : 0;
	case K_COMM:
		*why = "want a process name of 1 to 15 characters";
		return *v && strlen(v) < AS_COMM_LEN_K ? 0 : -EINVAL;
	case K_CIDR:
		*why = "want ADDR or ADDR/BITS (IPv4 or IPv6)";
		return loader_parse_cidr(v, &ck) ? -EINVAL : 0;
	case K_PIN:
		*why = "want the base64 SHA-256 of a public key (44 characters ending in '=')";
		return pin_ok(v) ? 0 : -EINVAL;
	case K_PATH:
		*why = "want an absolute path";
		return v[0] == '/' ? 0 : -EINVAL;
	case K_ENDPOINT:
		*why = "want an https:// URL";
		return strncmp(v, "https://", 8) == 0 && v[8] ? 0 : -EINVAL;
	case K_ADDR:
		*why = "want an IPv4 or IPv6 address";
		return loader_parse_cidr(v, &ck) || strchr(v, '/') ? -EINVAL : 0;
	case K_NAME:
		*why = "want letters, digits, '.', '_' or '-'";
		return name_ok(v) ? 0 : -EINVAL;
	case K_DNS:
		*why = "want a Kubernetes node name (lowercase letters, digits, '.', '-')";
		return k8s_name_ok(v, K8S_MAX_NAME) ? 0 : -EINVAL;
	case K_NATS_URL: {
		char host[256];
		int tls;

		*why = "want nats://HOST:PORT or tls://HOST:PORT (credentials go in nats-creds or "
		       "nats-token-file)";
		return nats_url_parse(v, host, sizeof(host), &tls) ? -EINVAL : 0;
	}
	case K_NONE:
	case K_BUDGET: /* T_U64: checked where it is parsed */
		break;
	}
	return 0;
}

static int check_item(const struct cfg_key *k, const char *v, const char **why)
{
	const char *reason = NULL;
	int rc = check_item_(k, v, &reason);

	if (rc)
		*why = reason;
	return rc;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Appends the items of a comma separated value to a list. */
static int list_add(const struct cfg_key *k, struct cfg_list *l, const char *value,
		    const char **why)
{
	const char *p = value;

	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char item[CFG_ITEM_MAX];

		while (n && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0) {
			*why = "empty list item";
			return -EINVAL;
		}
		if (n >= CFG_ITEM_MAX) {
			*why = "list item too long";
			return -EINVAL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (check_item(k, item, why))
			return -EINVAL;
		if (l->n >= CFG_LIST_MAX || (k->check == K_PIN && l->n >= UPLOADER_MAX_PINS) ||
		    (k->off == offsetof(struct run_config, spool_key_file) && l->n >= SPOOL_MAX_KEYS)) {
			*why = "too many items";
			return -EINVAL;
		}
		memcpy(l->v[l->n++], item, n + 1);
		if (!end)
			return 0;
		p = end + 1;
	}
}

/* The keys whose value is one word of a fixed list, stored as an int. */
struct cfg_choice {
	const char *word;
	int value;
};

struct cfg_choices {
	const struct cfg_choice *v;
	size_t n;
	const char *why; /* the error when the word is none of them */
};

static const struct cfg_choice level_words[] = {
	{ "error", LOG_ERROR }, { "warn", LOG_WARN }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};
static const struct cfg_choice role_words[] = { { "server", 1 }, { "client", 2 }, { "both", 3 } };
static const struct cfg_choice tls_words[] = {
	{ "on", AS_TLS_ON }, { "off", AS_TLS_OFF }, { "only", AS_TLS_ONLY },
};
static const struct cfg_choice transport_words[] = {
	{ "https", TRANSPORT_HTTPS }, { "nats", TRANSPORT_NATS },
};
static const struct cfg_choice k8s_words[] = {
	{ "auto", CFG_K8S_AUTO }, { "on", CFG_K8S_ON }, { "off", CFG_K8S_OFF },
};
#define CHOICES(a, w) { a, sizeof(a) / sizeof(a[0]), w }
static const struct cfg_choices level_choices =
	CHOICES(level_words, "want error, warn, info or debug");
static const struct cfg_choices role_choices = CHOICES(role_words, "want server, client or both");
static const struct cfg_choices tls_choices = CHOICES(tls_words, "want on, off or only");
static const struct cfg_choices k8s_choices = CHOICES(k8s_words, "want auto, on or off");
static const struct cfg_choices transport_choices = CHOICES(transport_words, "want https or nats");
#undef CHOICES

static const struct cfg_choices *choices_of(enum cfg_type t)
{
	return t == T_LEVEL ? &level_choices
	       : t == T_ROLE ? &role_choices
	       : t == T_TLS  ? &tls_choices
	       : t == T_TRANSPORT ? &transport_choices
			     : &k8s_choices;
}

/* The value of word in ch. Returns 0, or -EINVAL when it is not there. */
static int choose(const struct cfg_choices *ch, const char *word, int *out)
{
	size_t i;

	for (i = 0; i < ch->n; i++) {
		if (strcmp(word, ch->v[i].word) == 0) {
			*out = ch->v[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

int config_set(struct run_config *c, const char *name, const char *value, enum cfg_source src,
	       char *err, size_t errlen)
{
	int i = key_index(name);
	const struct cfg_key *k;
	const char *why = NULL;
	char *base = (char *)c;
	uint64_t n;
	bool b;

	if (i < 0) {
		snprintf(err, errlen, "unknown key '%.64s'", name);
		return -ENOENT;
	}
	k = &keys[i];
	switch (k->type) {
	case T_STR:
		if (strlen(value) >= k->size) {
			why = "value too long";
			break;
		}
		if (*value && check_item(k, value, &why))
			break;
		memcpy(base + k->off, value, strlen(value) + 1);
		break;
	case T_U64:
		if (k->check == K_BUDGET && strcmp(value, "unlimited") == 0) {
			n = 0;
		} else if (parse_u64(value, k->min, k->max, &n)) {
			snprintf(err, errlen, "key '%s': want a whole number from %llu to %llu",
				 k->name, (unsigned long long)k->min, (unsigned long long)k->max);
			return -EINVAL;
		}
		memcpy(base + k->off, &n, sizeof(n));
		break;
	case T_BOOL:
		if (!parse_bool(value, &b)) {
			why = "want true or false";
			break;
		}
		memcpy(base + k->off, &b, sizeof(b));
		break;
	case T_LOGFMT:
		if (strcmp(value, "json") == 0)
			c->log_json = true;
		else if (strcmp(value, "text") == 0)
			c->log_json = false;
		else
			why = "want json or text";
		break;
	case T_LEVEL:
	case T_ROLE:
	case T_TLS:
	case T_TRANSPORT:
	case T_K8S: {
		const struct cfg_choices *ch = choices_of(k->type);
		int v;

		if (choose(ch, value, &v))
			why = ch->why;
		else
			memcpy(base + k->off, &v, sizeof(v));
		break;
	}
	case T_LIST: {
		struct cfg_list *l = (struct cfg_list *)(base + k->off);

		/* A later source replaces the list; "" clears it. */
		if (c->src[i] != src)
			l->n = 0;
		if (*value && list_add(k, l, value, &why))
			break;
		break;
	}
	}
	if (why) {
		snprintf(err, errlen, "key '%s': %s", k->name, why);
		return -EINVAL;
	}
	c->src[i] = src;
	return 0;
}

int config_parse_text(struct run_config *c, const char *text, size_t len, const char *where,
		      char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned line = 0;
	char sub[384];

	while (pos < len) {
		const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - p) : len - pos;
		char buf[CFG_STR_MAX + 128], *key, *val, *eq, *end;

		pos += n + (nl ? 1 : 0);
		line++;
		if (n >= sizeof(buf)) {
			snprintf(err, errlen, "%s line %u: line too long", where, line);
			return -EINVAL;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (memchr(buf, '\0', n)) {
			snprintf(err, errlen, "%s line %u: NUL byte", where, line);
			return -EINVAL;
		}
		key = buf;
		while (isspace((unsigned char)*key))
			key++;
		if (*key == '#' || *key == '\0')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			snprintf(err, errlen, "%s line %u: want 'key = value'", where, line);
			return -EINVAL;
		}
		val = eq + 1;
		end = eq;
		while (end > key && isspace((unsigned char)end[-1]))
			end--;
		*end = '\0';
		while (isspace((unsigned char)*val))
			val++;
		/* A '#' after whitespace starts a comment. */
		end = val;
		while (*end && !(*end == '#' && (end == val || isspace((unsigned char)end[-1]))))
			end++;
		while (end > val && isspace((unsigned char)end[-1]))
			end--;
		*end = '\0';
		if (strlen(val) >= 2 && (val[0] == '"' || val[0] == '\'') &&
		    val[strlen(val) - 1] == val[0]) {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		if (strcasecmp(key, "config") == 0) {
			snprintf(err, errlen, "%s line %u: key 'config' cannot be set in a config file",
				 where, line);
			return -EINVAL;
		}
		if (config_set(c, key, val, CFG_SRC_FILE, sub, sizeof(sub))) {
			snprintf(err, errlen, "%s line %u: %s", where, line, sub);
			return -EINVAL;
		}
	}
	return 0;
}

int config_load_file(struct run_config *c, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc = read_file_all(path, CFG_FILE_MAX, &text, &len);

	if (rc) {
		snprintf(err, errlen, "cannot read config file %s: %s", path,
			 rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
		return rc;
	}
	rc = config_parse_text(c, text, len, path, err, errlen);
	free(text);
	return rc;
}

int config_load_env(struct run_config *c, char **envp, char *err, size_t errlen)
{
	size_t plen = strlen(CFG_ENV_PREFIX);
	char name[128], sub[384];
	char **e;

	for (e = envp ? envp : environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t n;

		if (!eq || strncmp(*e, CFG_ENV_PREFIX, plen) != 0)
			continue;
		n = (size_t)(eq - *e) - plen;
		if (n == 0 || n >= sizeof(name))
			continue;
		memcpy(name, *e + plen, n);
		name[n] = '\0';
		if (key_index(name) < 0)
			continue; /* APISONAR_SPOOL_KEY and friends belong elsewhere */
		if (config_set(c, name, eq + 1, CFG_SRC_ENV, sub, sizeof(sub))) {
			snprintf(err, errlen, "environment %s%s: %s", CFG_ENV_PREFIX, name, sub);
			return -EINVAL;
		}
	}
	return 0;
}

int config_check(const struct run_config *c, char *err, size_t errlen)
{
	if (!!c->client_cert[0] != !!c->client_key[0]) {
		snprintf(err, errlen, "keys 'client-cert' and 'client-key' go together");
		return -EINVAL;
	}
	if (c->transport == TRANSPORT_NATS) {
		if (!c->nats_url[0]) {
			snprintf(err, errlen, "key 'transport = nats' needs 'nats-url'");
			return -EINVAL;
		}
		if (c->endpoint[0] || c->raw_forward) {
			snprintf(err, errlen, "key 'transport = nats' excludes 'endpoint' and "
					      "'raw-forward'");
			return -EINVAL;
		}
		if (c->nats_creds[0] && c->nats_token_file[0]) {
			snprintf(err, errlen, "keys 'nats-creds' and 'nats-token-file' exclude each "
					      "other");
			return -EINVAL;
		}
		if (!!c->nats_client_cert[0] != !!c->nats_client_key[0]) {
			snprintf(err, errlen, "keys 'nats-client-cert' and 'nats-client-key' go "
					      "together");
			return -EINVAL;
		}
	} else if (c->nats_url[0] || c->nats_creds[0] || c->nats_token_file[0] || c->nats_ca[0] ||
		   c->nats_client_cert[0]) {
		snprintf(err, errlen, "the nats-* keys need 'transport = nats'");
		return -EINVAL;
	}
	if (!c->endpoint[0] && (c->token_file[0] || c->ca_file[0] || c->pin_sha256.n ||
				c->client_cert[0])) {
		snprintf(err, errlen, "key 'endpoint' is needed by token-file, ca-file, pin-sha256 "
				      "and client-cert");
		return -EINVAL;
	}
	if (c->raw_forward && (!c->endpoint[0] || !c->client_cert[0])) {
		snprintf(err, errlen, "key 'raw-forward' needs 'endpoint', 'client-cert' and "
				      "'client-key': raw exchanges travel over mutual TLS only");
		return -EINVAL;
	}
	if (!c->out_dir[0]) {
		snprintf(err, errlen, "key 'out-dir': must not be empty");
		return -EINVAL;
	}
	{
		struct k8s_opts ko;
		bool on;
		char why[256];

		if (config_k8s(c, &ko, &on, why, sizeof(why))) {
			snprintf(err, errlen, "%s", why);
			return -EINVAL;
		}
	}
	return 0;
}

/* The address the in-cluster environment gives: a host name or an IPv4 or
 * IPv6 address and a port, nothing that could change the URL's shape. */
static bool env_host_ok(const char *h, const char *port)
{
	uint64_t n;
	size_t i;

	if (!h || !h[0] || strlen(h) > 253 || parse_u64(port, 1, 65535, &n))
		return false;
	for (i = 0; h[i]; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-' && h[i] != ':')
			return false;
	return true;
}

/* The defaults come from what Kubernetes puts in every pod's environment
 * (and the DaemonSet's NODE_NAME), so a sensor in a pod needs no k8s key;
 * auto must never fail a start outside a cluster. */
int config_k8s(const struct run_config *c, struct k8s_opts *o, bool *on, char *err,
	       size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *node = getenv("NODE_NAME");
	bool must = c->k8s == CFG_K8S_ON;
	const char *miss = NULL;

	memset(o, 0, sizeof(*o));
	*on = false;
	err[0] = '\0';
	if (c->k8s == CFG_K8S_OFF)
		return 0;
	if (c->k8s == CFG_K8S_AUTO && !(host && host[0])) {
		snprintf(err, errlen, "KUBERNETES_SERVICE_HOST is not set");
		return 0;
	}
	if (!port || !port[0])
		port = "443";
	if (c->k8s_api[0]) {
		snprintf(o->api, sizeof(o->api), "%s", c->k8s_api);
	} else if (env_host_ok(host, port)) {
		snprintf(o->api, sizeof(o->api), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
			 host, port);
	} else {
		miss = "key 'k8s-api': not set, and KUBERNETES_SERVICE_HOST/_PORT do not name an "
		       "address";
	}
	snprintf(o->token_file, sizeof(o->token_file), "%s",
		 c->k8s_token_file[0] ? c->k8s_token_file : K8S_DEFAULT_TOKEN);
	snprintf(o->ca_file, sizeof(o->ca_file), "%s",
		 c->k8s_ca_file[0] ? c->k8s_ca_file : K8S_DEFAULT_CA);
	if (c->k8s_node_name[0])
		snprintf(o->node_name, sizeof(o->node_name), "%s", c->k8s_node_name);
	else if (node && k8s_name_ok(node, K8S_MAX_NAME))
		snprintf(o->node_name, sizeof(o->node_name), "%s", node);
	else if (!miss)
		miss = "key 'k8s-node-name': not set, and NODE_NAME is not in the environment (give "
		       "it from the downward API: fieldRef spec.nodeName)";
	o->refresh_s = (uint32_t)c->k8s_refresh;
	if (miss) {
		snprintf(err, errlen, "%s", miss);
		return must ? -EINVAL : 0;
	}
	*on = true;
	return 0;
}

size_t config_long_options(struct option *opts, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < N_KEYS && n + 1 < cap; i++) {
		opts[n].name = keys[i].name;
		opts[n].has_arg = keys[i].type == T_BOOL ? optional_argument : required_argument;
		opts[n].flag = NULL;
		opts[n].val = CONFIG_OPT_BASE + (int)i;
		n++;
	}
	memset(&opts[n], 0, sizeof(opts[n]));
	return n;
}

const char *config_opt_name(int code)
{
	if (code < CONFIG_OPT_BASE || code >= CONFIG_OPT_BASE + (int)N_KEYS)
		return NULL;
	return keys[code - CONFIG_OPT_BASE].name;
}

int config_filters(const struct run_config *c, struct loader_filters *f, char *err, size_t errlen)
{
	uint64_t v;
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < c->pid.n; i++) {
		if (parse_u64(c->pid.v[i], 1, 4194304, &v))
			return -EINVAL;
		f->pids[f->n_pids++] = (uint32_t)v;
	}
	for (i = 0; i < c->comm.n; i++)
		memcpy(f->comms[f->n_comms++], c->comm.v[i], strlen(c->comm.v[i]) + 1);
	for (i = 0; i < c->port.n; i++) {
		if (parse_u64(c->port.v[i], 1, 65535, &v))
			return -EINVAL;
		f->ports[f->n_ports++] = (uint16_t)v;
	}
	for (i = 0; i < c->cidr.n; i++) {
		if (loader_parse_cidr(c->cidr.v[i], &f->cidrs[f->n_cidrs]))
			return -EINVAL;
		f->n_cidrs++;
	}
	for (i = 0; i < c->cgroup.n; i++) {
		if (loader_cgroup_id(c->cgroup.v[i], &f->cgroups[f->n_cgroups])) {
			snprintf(err, errlen,
				 "key 'cgroup': item %zu is not a cgroup v2 directory (absolute, "
				 "or relative to the cgroup2 mount)",
				 i + 1);
			return -EINVAL;
		}
		f->n_cgroups++;
	}
	f->role_mask = (uint32_t)c->role;
	f->tls_mode = (uint32_t)c->tls;
	f->no_default_skip_ports = c->all_ports;
	f->budget = (uint32_t)c->capture_budget;
	f->budget_warmup_s = (uint32_t)c->capture_warmup;
	f->budget_new_conn = LOADER_BUDGET_NEW_CONN_DEFAULT;
	return 0;
}

void config_uploader_opts(const struct run_config *c, struct uploader_opts *o)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	o->endpoint = c->endpoint[0] ? c->endpoint : NULL;
	o->token_file = c->token_file[0] ? c->token_file : NULL;
	o->ca_file = c->ca_file[0] ? c->ca_file : NULL;
	for (i = 0; i < c->pin_sha256.n && i < UPLOADER_MAX_PINS; i++) {
		const char *p = c->pin_sha256.v[i];

		o->pins[o->n_pins++] = strncmp(p, "sha256//", 8) == 0 ? p + 8 : p;
	}
	o->client_cert = c->client_cert[0] ? c->client_cert : NULL;
	o->client_key = c->client_key[0] ? c->client_key : NULL;
	for (i = 0; i < c->spool_key_file.n && i < SPOOL_MAX_KEYS; i++)
		o->spool_key_files[o->n_spool_key_files++] = c->spool_key_file.v[i];
	o->audit_log = c->audit_log[0] ? c->audit_log : NULL;
	o->spool_limits.max_bytes = c->max_spool_bytes;
	o->spool_limits.max_files = (uint32_t)c->max_spool_files;
	o->max_rate = c->max_rate;
	o->timeout_s = (uint32_t)c->upload_timeout;
}

void config_nats_opts(const struct run_config *c, struct nats_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->transport = (enum transport_kind)c->transport;
	o->url = c->nats_url[0] ? c->nats_url : NULL;
	o->creds_file = c->nats_creds[0] ? c->nats_creds : NULL;
	o->token_file = c->nats_token_file[0] ? c->nats_token_file : NULL;
	o->ca_file = c->nats_ca[0] ? c->nats_ca : NULL;
	o->client_cert = c->nats_client_cert[0] ? c->nats_client_cert : NULL;
	o->client_key = c->nats_client_key[0] ? c->nats_client_key : NULL;
	o->cluster = c->cluster[0] ? c->cluster : NULL;
	o->timeout_ms = (uint32_t)(c->upload_timeout * 1000);
}

void config_catalog_limits(const struct run_config *c, struct catalog_limits *l)
{
	l->max_services = (uint32_t)c->max_services;
	l->max_endpoints = (uint32_t)c->max_endpoints;
	l->max_fields = (uint32_t)c->max_fields;
	l->max_depth = (uint32_t)c->max_depth;
}

void config_restart_keys(const struct run_config *a, const struct run_config *b, char *out,
			 size_t outlen)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &keys[i];
		const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
		size_t sz, j;

		if (k->reload || strcmp(k->name, "config") == 0)
			continue;
		switch (k->type) {
		case T_STR:
			if (strcmp(pa, pb) != 0)
				goto differs;
			continue;
		case T_LIST: {
			const struct cfg_list *la = (const void *)pa, *lb = (const void *)pb;

			for (j = 0; la->n == lb->n && j < la->n; j++) {
				if (strcmp(la->v[j], lb->v[j]) != 0)
					break;
			}
			if (la->n != lb->n || j < la->n)
				goto differs;
			continue;
		}
		case T_U64:
			sz = sizeof(uint64_t);
			break;
		case T_BOOL:
		case T_LOGFMT:
			sz = sizeof(bool);
			break;
		default:
			sz = sizeof(int);
			break;
		}
		if (memcmp(pa, pb, sz) == 0)
			continue;
differs:
		if (o + strlen(k->name) + 3 >= outlen)
			break;
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", k->name);
	}
}

bool config_is_set(const struct run_config *c, const char *name)
{
	int i = key_index(name);

	return i >= 0 && c->src[i] != CFG_SRC_DEFAULT;
}

/* What a key's value looks like, for --help. */
static const char *placeholder(const struct cfg_key *k)
{
	const char *n = k->name;
	size_t len = strlen(n);

	switch (k->type) {
	case T_BOOL:
		return "[=true|false]";
	case T_LEVEL:
		return "LEVEL";
	case T_LOGFMT:
		return "json|text";
	case T_ROLE:
		return "server|client|both";
	case T_TLS:
		return "on|off|only";
	case T_K8S:
		return "auto|on|off";
	case T_TRANSPORT:
		return "https|nats";
	case T_LIST:
		switch (k->check) {
		case K_PID:
			return "PID[,PID...]";
		case K_PORT:
			return "PORT[,PORT...]";
		case K_COMM:
			return "NAME[,NAME...]";
		case K_CIDR:
			return "NET[,NET...]";
		case K_PIN:
			return "SHA256[,...]";
		case K_PATH:
			return "FILE[,FILE...]";
		default:
			return "PATH[,PATH...]";
		}
	case T_U64:
		if (k->check == K_BUDGET)
			return "N|unlimited";
		if (strstr(n, "interval") || strstr(n, "timeout") || strstr(n, "refresh"))
			return "SEC";
		if (len >= 4 && strcmp(n + len - 4, "port") == 0)
			return "PORT";
		if (strstr(n, "rate"))
			return "BYTES/S";
		if (strstr(n, "bytes") || strstr(n, "body") || strstr(n, "copy"))
			return "BYTES";
		return "N";
	case T_STR:
		switch (k->check) {
		case K_PATH:
			return len >= 4 && strcmp(n + len - 4, "-dir") == 0 ? "DIR" : "FILE";
		case K_ENDPOINT:
			return "URL";
		case K_ADDR:
			return "ADDR";
		default:
			return "NAME";
		}
	}
	return "VALUE";
}

void config_usage(FILE *f)
{
	char opt[64];
	size_t i;

	for (i = 0; i < N_KEYS; i++) {
		snprintf(opt, sizeof(opt), "%s %s", keys[i].name, placeholder(&keys[i]));
		if (keys[i].type == T_BOOL)
			snprintf(opt, sizeof(opt), "%s%s", keys[i].name, placeholder(&keys[i]));
		if (strlen(opt) > 26)
			fprintf(f, "  --%s\n  %-28s %s\n", opt, "", keys[i].help);
		else
			fprintf(f, "  --%-26s %s\n", opt, keys[i].help);
	}
	fprintf(f, "\nEvery option is also a config file key (key = value) and an environment\n"
		   "variable APISONAR_<KEY> (APISONAR_FLUSH_INTERVAL). Flags win over the\n"
		   "environment, which wins over the file. List keys take comma separated items.\n");
}
