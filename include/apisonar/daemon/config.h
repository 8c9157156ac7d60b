/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Configuration of `apisonar run`. One set of keys, reachable three ways:
 * a file of `key = value` lines (# comments), an environment variable
 * APISONAR_<KEY> (upper case, '-' as '_') and a flag --<key>. Later sources
 * win: defaults < file < environment < flags. Every value is checked when
 * it is set, and the error names the source, the key and what is wrong;
 * an unknown key in the file is an error. docs/configuration.md lists the
 * keys.
 */
#ifndef APISONAR_CONFIG_H
#define APISONAR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "apisonar/catalog/catalog.h"
#include "apisonar/daemon/k8s.h"
#include "apisonar/sensor/loader.h"
#include "apisonar/transport/nats.h"
#include "apisonar/transport/uploader.h"

#define CFG_STR_MAX 1024     /* longest string value */
#define CFG_LIST_MAX 64      /* items per list key (LOADER_MAX_LIST) */
#define CFG_ITEM_MAX 256     /* longest list item */
#define CFG_FILE_MAX (1u << 20) /* largest config file read */
#define CFG_ENV_PREFIX "APISONAR_"

/* `k8s`: auto turns it on when KUBERNETES_SERVICE_HOST is set. */
enum cfg_k8s_mode { CFG_K8S_AUTO = 0, CFG_K8S_ON, CFG_K8S_OFF };

/* Where a value came from, for messages and precedence. */
enum cfg_source { CFG_SRC_DEFAULT = 0, CFG_SRC_FILE, CFG_SRC_ENV, CFG_SRC_FLAG };

struct cfg_list {
	char v[CFG_LIST_MAX][CFG_ITEM_MAX];
	size_t n;
};

/* Every setting of the daemon, typed. Strings are "" when unset. */
struct run_config {
	char config[CFG_STR_MAX];      /* the file read (flag or APISONAR_CONFIG) */
	char out_dir[CFG_STR_MAX];     /* catalog: metadata.json + openapi/ */
	char spool_dir[CFG_STR_MAX];   /* "" = <out-dir>/spool */
	uint64_t flush_interval;       /* seconds */
	uint64_t queue_size;           /* exchanges between sensor and catalog */
	uint64_t shutdown_timeout;     /* seconds SIGTERM may take */
	int log_level;                 /* enum log_level */
	bool log_json;
	char metrics_addr[CFG_STR_MAX];
	uint64_t metrics_port;         /* 0 = no listener */
	char user[CFG_STR_MAX];        /* run as this user after attach */
	char sensor_id[128];           /* "" = host name */
	/* filters (reloadable) */
	struct cfg_list pid, comm, port, cidr, cgroup;
	int role;                      /* role mask: 1 server, 2 client, 3 both */
	int tls;                       /* AS_TLS_ON (0, default), AS_TLS_OFF, AS_TLS_ONLY */
	bool all_ports;
	/* capture */
	uint64_t max_body;
	uint64_t max_copy;
	uint64_t capture_budget; /* exchanges/s the kernel copies; 0 = all */
	uint64_t capture_warmup; /* seconds */
	bool verbose;
	/* catalog limits (reloadable: apply from the next window) */
	uint64_t max_services, max_endpoints, max_fields, max_depth;
	/* upload */
	char endpoint[CFG_STR_MAX];
	char token_file[CFG_STR_MAX];
	char ca_file[CFG_STR_MAX];
	struct cfg_list pin_sha256;
	char client_cert[CFG_STR_MAX];
	char client_key[CFG_STR_MAX];
	struct cfg_list spool_key_file;
	struct cfg_list declared;      /* OpenAPI documents for the drift report */
	char audit_log[CFG_STR_MAX];
	uint64_t max_spool_bytes, max_spool_files, max_rate;
	uint64_t upload_timeout;       /* seconds per request */
	bool raw_forward;              /* exchanges to the satellite, not metadata */
	int transport;                 /* enum transport_kind */
	char nats_url[CFG_STR_MAX];
	char nats_creds[CFG_STR_MAX];
	char nats_token_file[CFG_STR_MAX];
	char nats_ca[CFG_STR_MAX];
	char nats_client_cert[CFG_STR_MAX];
	char nats_client_key[CFG_STR_MAX];
	char cluster[NATS_TOKEN_MAX + 1]; /* "" = default */
	uint64_t raw_forward_queue;    /* raw batches held in memory */
	/* Kubernetes identity (config_k8s() resolves the defaults) */
	int k8s;                       /* enum cfg_k8s_mode */
	char k8s_api[CFG_STR_MAX];     /* "" = https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT */
	char k8s_token_file[CFG_STR_MAX];
	char k8s_ca_file[CFG_STR_MAX];
	char k8s_node_name[K8S_MAX_NAME + 1]; /* "" = $NODE_NAME */
	uint64_t k8s_refresh;          /* seconds between pod list fetches */

	enum cfg_source src[64];       /* per key index: who set it last */
};

/* Defaults: catalog in /var/lib/apisonar, flush every 60 s, metrics on
 * 127.0.0.1:9464, JSON logs at info. */
void config_default(struct run_config *c);

/* Sets one key from one source. name is the key ("flush-interval"; '_' is
 * accepted for '-'). Returns 0, -ENOENT for an unknown key, -EINVAL for a bad
 * value; err then says what is wrong (naming the key, never echoing a value
 * of a secret key). A list key appends within one source and starts afresh
 * when a later source sets it. */
int config_set(struct run_config *c, const char *name, const char *value, enum cfg_source src,
	       char *err, size_t errlen) __attribute__((warn_unused_result));

/* Parses a whole file's text. where names it in messages ("FILE line N"). */
int config_parse_text(struct run_config *c, const char *text, size_t len, const char *where,
		      char *err, size_t errlen) __attribute__((warn_unused_result));

/* Reads and parses a file (at most CFG_FILE_MAX bytes). */
int config_load_file(struct run_config *c, const char *path, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Applies every APISONAR_<KEY> of envp (NULL = environ) that names a key.
 * Other APISONAR_ variables (APISONAR_SPOOL_KEY) are left alone. */
int config_load_env(struct run_config *c, char **envp, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Checks what one key alone cannot (certificate without key, endpoint
 * scheme). Returns 0 or -EINVAL with err set. */
int config_check(const struct run_config *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* getopt_long entries for every key: fills opts (cap entries, terminated)
 * with codes CONFIG_OPT_BASE + key index. Returns entries written. */
#define CONFIG_OPT_BASE 0x2000
struct option;
size_t config_long_options(struct option *opts, size_t cap);
/* The key name of a getopt code, or NULL. */
const char *config_opt_name(int code);

/* Converts the filter keys into loader filters (resolving cgroup paths). */
int config_filters(const struct run_config *c, struct loader_filters *f, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Uploader options that point into c (c must outlive them). */
void config_uploader_opts(const struct run_config *c, struct uploader_opts *o);

/* The NATS transport's options from the configuration (strings point into c). */
void config_nats_opts(const struct run_config *c, struct nats_opts *o);

void config_catalog_limits(const struct run_config *c, struct catalog_limits *l);

/* Resolves the k8s keys with their defaults from the environment
 * (KUBERNETES_SERVICE_HOST/_PORT, NODE_NAME). Sets *on and fills o when
 * identity is to run. With k8s = on, a setting that is missing is an
 * error naming its key (-EINVAL); with auto, it turns identity off and err
 * says why (returning 0). */
int config_k8s(const struct run_config *c, struct k8s_opts *o, bool *on, char *err,
	       size_t errlen) __attribute__((warn_unused_result));

/* Names (comma separated, into out) of keys whose values differ between a
 * and b and that a reload cannot change; "" when none. */
void config_restart_keys(const struct run_config *a, const struct run_config *b, char *out,
			 size_t outlen);

/* True when a source other than the defaults set the key. */
bool config_is_set(const struct run_config *c, const char *name);

/* The --help lines of every key. */
void config_usage(FILE *f);

#endif
