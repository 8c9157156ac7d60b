// SPDX-License-Identifier: BSD-2-Clause
/*
 * Least privilege for `apisonar run`: loading and attaching eBPF programs
 * needs root's capabilities; reading the ring buffer afterwards needs none,
 * and the few bpf() calls the daemon still makes (counters, filter maps on
 * SIGHUP) need CAP_BPF. So after attaching, every other capability goes,
 * from the bounding set too, and optionally the process becomes an
 * unprivileged user.
 */
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apisonar/daemon/daemon.h"
#include "apisonar/util/util.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#define CAPS_MAX 64

static uid_t g_uid;
static gid_t g_gid;

/* nftw callback: hands one file of our own directories to the new user. */
static int chown_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (lchown(path, g_uid, g_gid) != 0)
		log_warn("cannot give %s to the run user: %s", path, strerror(errno));
	return 0;
}

static int cap_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

	return (int)syscall(SYS_capget, &h, data);
}

static int cap_set(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

	return (int)syscall(SYS_capset, &h, data);
}

static bool has(const struct __user_cap_data_struct data[2], int cap)
{
	return data[cap / 32].permitted & (1u << (cap % 32));
}

int daemon_drop_privileges(const char *user, bool tls, const char *const *own_dirs, size_t n_dirs)
{
	struct __user_cap_data_struct cur[2], want[2];
	int keep[4], n_keep = 0, cap, i;
	struct passwd *pw = NULL;
	char kept[96];
	size_t o = 0;

	if (user) {
		pw = getpwnam(user);
		if (!pw) {
			log_error("key 'user': no such user");
			return -EINVAL;
		}
		g_uid = pw->pw_uid;
		g_gid = pw->pw_gid;
	}
	if (cap_get(cur) != 0) {
		log_error("cannot read this process's capabilities: %s", strerror(errno));
		return -errno;
	}
	/* Kernels before 5.8 have no CAP_BPF: CAP_SYS_ADMIN stands in.
	 *
	 * The TLS rescan attaches uprobes to processes that start later. The
	 * kernel lets only CAP_SYS_ADMIN create a uprobe (CAP_PERFMON could
	 * from 5.8 until a 2025 fix, backported to stable kernels, took that
	 * back), and lets only CAP_SYS_PTRACE read /proc/PID/maps and open
	 * /proc/PID/root of another user's process or of one with more
	 * capabilities than ours. With tls off, neither is kept. */
	if (prctl(PR_CAPBSET_READ, CAP_BPF, 0, 0, 0) < 0) {
		keep[n_keep++] = CAP_SYS_ADMIN;
	} else {
		keep[n_keep++] = CAP_BPF;
		keep[n_keep++] = CAP_PERFMON;
		if (tls)
			keep[n_keep++] = CAP_SYS_ADMIN;
	}
	if (tls)
		keep[n_keep++] = CAP_SYS_PTRACE;
	memset(want, 0, sizeof(want));
	for (i = 0; i < n_keep; i++) {
		if (!has(cur, keep[i]))
			continue;
		want[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
		want[keep[i] / 32].effective |= 1u << (keep[i] % 32);
		o += (size_t)snprintf(kept + o, sizeof(kept) - o, "%s%s", o ? ", " : "",
				      keep[i] == CAP_BPF	  ? "CAP_BPF"
				      : keep[i] == CAP_PERFMON	  ? "CAP_PERFMON"
				      : keep[i] == CAP_SYS_PTRACE ? "CAP_SYS_PTRACE"
								  : "CAP_SYS_ADMIN");
	}
	if (!o)
		snprintf(kept, sizeof(kept), "none");

	/* The bounding set first, while CAP_SETPCAP is still effective. */
	if (has(cur, CAP_SETPCAP)) {
		for (cap = 0; cap < CAPS_MAX; cap++) {
			bool k = false;

			for (i = 0; i < n_keep; i++)
				k = k || keep[i] == cap;
			if (k)
				continue;
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
				log_warn("cannot drop capability %d from the bounding set: %s", cap,
					 strerror(errno));
		}
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

	if (pw) {
		size_t i2;

		for (i2 = 0; i2 < n_dirs; i2++) {
			if (nftw(own_dirs[i2], chown_one, 16, FTW_PHYS) != 0)
				log_warn("cannot give %s to user %s", own_dirs[i2], user);
		}
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
		    setresgid(g_gid, g_gid, g_gid) < 0 || setresuid(g_uid, g_uid, g_uid) < 0) {
			log_error("cannot switch to user %s: %s", user, strerror(errno));
			return -EPERM;
		}
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	if (cap_set(want) != 0) {
		log_error("cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		log_warn("cannot set no_new_privs: %s", strerror(errno));
	log_info("privileges dropped: capabilities kept: %s%s%s", kept, pw ? "; running as " : "",
		 pw ? user : "");
	return 0;
}
