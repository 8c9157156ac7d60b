/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The `apisonar run` daemon: a thread per stage with bounded hand-offs.
 *
 *   sensor thread   sensor_poll(); each exchange is pushed onto a bounded
 *                   queue without ever waiting (full = dropped, counted)
 *   catalog thread  catalog_add_exchange() into a window catalog; every
 *                   flush interval the window is merged into the local
 *                   catalog (written to out-dir) and, with an endpoint,
 *                   encoded as a batch into the encrypted spool
 *   upload thread   delivers the spool oldest first (with an endpoint)
 *   metrics thread  /metrics and /healthz on a loopback address
 *   main thread     signals: SIGHUP reloads, SIGTERM/SIGINT flush and exit
 */
#ifndef APISONAR_DAEMON_H
#define APISONAR_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "apisonar/daemon/config.h"

/* Builds the configuration again (defaults, file, environment, flags) for
 * SIGHUP. Returns 0 or a negative errno with err set. */
typedef int (*daemon_reload_fn)(void *ctx, struct run_config *out, char *err, size_t errlen);

/* Runs until SIGTERM or SIGINT (or a fatal error). Returns the process exit
 * code: 0 after a clean stop, 1 on a runtime error. */
int daemon_run(const struct run_config *cfg, daemon_reload_fn reload, void *reload_ctx);

/* Capabilities the sensor keeps after attaching, and why (docs/run.md):
 * CAP_BPF to read the kernel's counters and rewrite filter maps on SIGHUP
 * (kernels before 6.5 check it on every bpf() call while unprivileged BPF
 * is disabled) and CAP_PERFMON for BPF tracing. With tls, for the uprobes
 * of processes that start later, also CAP_SYS_ADMIN (creating a uprobe
 * needs it again since the 2025 fix that took CAP_PERFMON's right to) and
 * CAP_SYS_PTRACE (their /proc/PID/maps and /proc/PID/root, when they
 * belong to another user or hold more capabilities). Everything else, the
 * bounding set included, is dropped. */
int daemon_drop_privileges(const char *user, bool tls, const char *const *own_dirs, size_t n_dirs)
	__attribute__((warn_unused_result));

#endif
