// SPDX-License-Identifier: BSD-2-Clause
/*
 * Finding TLS libraries in /proc and attaching the SSL uprobes to them.
 * See include/apisonar/sensor/tls_attach.h for what is attached and when.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "apisonar/sensor/tls_attach.h"
#include "apisonar/sensor/tls_go.h"
#include "apisonar/util/util.h"

/* Scans of a process in its first seconds (it may load libssl late, as
 * python does on `import ssl`); after that it is rescanned every
 * RESCAN_EVERY scans. */
#define EARLY_SCANS 10
#define RESCAN_EVERY 30
#define SCAN_INTERVAL_NS (1000ull * 1000 * 1000)
#define REASON_LEN 160
#define MAPS_LINE 4608

static bool openssl_match(const char *base)
{
	return strncmp(base, "libssl.so", 9) == 0;
}

/* OpenSSL 1.1.1 and 3.x (the _ex forms are 1.1.1+: optional), and
 * BoringSSL, which keeps the names. */
static const struct tls_lib_ops openssl_ops = {
	.name = "openssl",
	.match_lib = openssl_match,
	.static_sym = "SSL_write",
	.probes = {
		{ "SSL_read", "as_ssl_read", "as_ssl_ret", true },
		{ "SSL_write", "as_ssl_write", "as_ssl_ret", true },
		{ "SSL_read_ex", "as_ssl_read_ex", "as_ssl_ret", false },
		{ "SSL_write_ex", "as_ssl_write_ex", "as_ssl_ret", false },
		{ "SSL_free", "as_ssl_free", NULL, false },
	},
	.nprobes = 5,
};

const struct tls_lib_ops *const tls_libs[] = { &openssl_ops };
const size_t tls_nlibs = sizeof(tls_libs) / sizeof(tls_libs[0]);

/* Go's crypto/tls, linked into every Go executable that uses it: found by
 * tls_go_inspect, not by a library name or one symbol, and probed at
 * offsets (entry and each RET) rather than by name. */
static const struct tls_lib_ops go_ops = {
	.name = "go",
};

struct target {
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX];   /* as the process sees it, for the report */
	const struct tls_lib_ops *ops;
	bool exe;              /* a static executable, not a library */
	bool ok;
	char reason[REASON_LEN]; /* why it failed, or what was optional and missing */
	struct bpf_link *links[2 * TLS_MAX_PROBES + 2 * (1 + TLS_GO_MAX_RETS)];
	size_t nlinks;
	uint32_t procs;
	bool internal;         /* OpenSSL's internal read/write functions probed */
	bool logged;           /* tls_attach_log() told about it */
	char go_ver[32];       /* Go: the version that built it ("go1.19.8") */
	bool unprobeable;      /* Go: nothing to attach (no symbols...), reason says why */
	bool pclntab;          /* Go: functions found in .gopclntab (no symbol table) */
};

struct pid_ent {
	uint32_t pid;
	uint16_t scans;
	bool uses;  /* found using a target: not scanned again */
};

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct tls_attach {
	struct bpf_object *obj;
	struct target *targets;
	size_t ntargets;
	struct file_id *plain;  /* executables without TLS symbols */
	size_t nplain;
	struct pid_ent *pids;   /* sorted by pid */
	size_t npids;
	uint64_t last_scan;
	pid_t self;
	uint32_t unreadable_now; /* processes whose maps this scan could not read */
	uint32_t unreadable_pid; /* the first of them, for the warning */
	int unreadable_errno;
	bool told_unreadable;    /* tls_attach_log() warned about them once */
	struct tls_attach_stats st;
};

struct tls_attach *tls_attach_new(struct bpf_object *obj)
{
	struct tls_attach *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->obj = obj;
	t->self = getpid();
	t->targets = calloc(TLS_MAX_TARGETS, sizeof(*t->targets));
	t->plain = calloc(TLS_MAX_PLAIN_EXES, sizeof(*t->plain));
	if (!t->targets || !t->plain) {
		tls_attach_free(t);
		return NULL;
	}
	return t;
}

void tls_attach_free(struct tls_attach *t)
{
	size_t i, j;

	if (!t)
		return;
	for (i = 0; t->targets && i < t->ntargets; i++)
		for (j = 0; j < t->targets[i].nlinks; j++)
			bpf_link__destroy(t->targets[i].links[j]);
	free(t->targets);
	free(t->plain);
	free(t->pids);
	free(t);
}

static struct target *find_target(struct tls_attach *t, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < t->ntargets; i++)
		if (t->targets[i].dev == dev && t->targets[i].ino == ino)
			return &t->targets[i];
	return NULL;
}

/* One uprobe, on a function by name, or (sym NULL) at a file offset.
 * Returns 0 or a negative errno. */
static int attach_one(struct tls_attach *t, struct target *g, const char *open_path,
		      const char *sym, uint64_t off, const char *prog_name, bool ret,
		      uint64_t cookie)
{
	struct bpf_uprobe_opts uo;
	struct bpf_program *prog;
	struct bpf_link *link;
	int err;

	/* What LIBBPF_OPTS() does, spelled out for the linters. */
	memset(&uo, 0, sizeof(uo));
	uo.sz = sizeof(uo);
	uo.func_name = sym;
	uo.retprobe = ret;
	uo.bpf_cookie = cookie;

	prog = t->obj ? bpf_object__find_program_by_name(t->obj, prog_name) : NULL;
	/* Not there, or not loaded (the loader turns off what the kernel
	 * cannot run). */
	if (!prog || bpf_program__fd(prog) < 0)
		return -ESRCH;
	link = bpf_program__attach_uprobe_opts(prog, -1, open_path, sym ? 0 : (size_t)off, &uo);
	err = libbpf_get_error(link);
	if (err || !link)
		return err ? err : -EINVAL;
	g->links[g->nlinks++] = link;
	return 0;
}

/* OpenSSL through its internal read and write functions (tls_elf.c says
 * why: about 20 times cheaper a call on a VM, and OpenSSL's SSL BIO is
 * seen too), plus SSL_free. All or nothing: on any failure the links made
 * are dropped and the exported functions are probed instead. */
static int attach_internal(struct tls_attach *t, struct target *g, const char *open_path)
{
	uint64_t rd, wr;
	int err;

	if (tls_openssl_internal(open_path, &rd, &wr) != 0)
		return -ENOENT;
	err = attach_one(t, g, open_path, NULL, rd, "as_ssl_read_int", false, 0);
	if (!err)
		err = attach_one(t, g, open_path, NULL, rd, "as_ssl_ret", true, 0);
	if (!err)
		err = attach_one(t, g, open_path, NULL, wr, "as_ssl_write_int", false, 0);
	if (!err)
		err = attach_one(t, g, open_path, NULL, wr, "as_ssl_ret", true, 0);
	if (!err)
		err = attach_one(t, g, open_path, "SSL_free", 0, "as_ssl_free", false, 0);
	if (err) {
		size_t i;

		for (i = 0; i < g->nlinks; i++)
			bpf_link__destroy(g->links[i]);
		g->nlinks = 0;
	}
	return err;
}

/* Attaches every probe of the target's ops. The target is ok when every
 * required probe is in place; a missing optional one is noted. */
static void attach_target(struct tls_attach *t, struct target *g, const char *open_path)
{
	const struct tls_lib_ops *ops = g->ops;
	size_t i, used = 0;
	int err;

	if (ops == &openssl_ops && attach_internal(t, g, open_path) == 0) {
		g->ok = true;
		g->internal = true;
		if (g->exe)
			t->st.exes++;
		else
			t->st.libs++;
		return;
	}
	g->ok = true;
	for (i = 0; i < ops->nprobes; i++) {
		const struct tls_probe *p = &ops->probes[i];

		err = 0;
		if (p->entry)
			err = attach_one(t, g, open_path, p->sym, 0, p->entry, false, 0);
		if (!err && p->ret)
			err = attach_one(t, g, open_path, p->sym, 0, p->ret, true, 0);
		if (!err)
			continue;
		if (p->required)
			g->ok = false;
		if (used < sizeof(g->reason) - 1) {
			int n = snprintf(g->reason + used, sizeof(g->reason) - used, "%s%s: %s",
					 used ? "; " : "", p->sym,
					 err == -ENOENT	  ? "symbol not found"
					 : err == -ESRCH ? "no such BPF program"
							 : strerror(-err));

			if (n > 0)
				used += (size_t)n < sizeof(g->reason) - used
						? (size_t)n
						: sizeof(g->reason) - used - 1;
		}
	}
	if (!g->ok) {
		for (i = 0; i < g->nlinks; i++)
			bpf_link__destroy(g->links[i]);
		g->nlinks = 0;
		t->st.failed++;
	} else if (g->exe) {
		t->st.exes++;
	} else {
		t->st.libs++;
	}
}

/* A new target, attached at once; NULL when the table is full. */
static struct target *add_target(struct tls_attach *t, dev_t dev, ino_t ino,
				 const struct tls_lib_ops *ops, bool exe, const char *shown,
				 const char *open_path)
{
	struct target *g;

	if (t->ntargets >= TLS_MAX_TARGETS) {
		t->st.dropped++;
		return NULL;
	}
	g = &t->targets[t->ntargets++];
	memset(g, 0, sizeof(*g));
	g->dev = dev;
	g->ino = ino;
	g->ops = ops;
	g->exe = exe;
	snprintf(g->path, sizeof(g->path), "%s", shown);
	attach_target(t, g, open_path);
	return g;
}

/* A Go function: its entry and, in place of a uretprobe, every RET. */
static int attach_go_func(struct tls_attach *t, struct target *g, const char *open_path,
			  const struct tls_go_func *f, const char *entry, uint64_t cookie)
{
	uint32_t i;
	int err;

	err = attach_one(t, g, open_path, NULL, f->entry, entry, false, cookie);
	for (i = 0; !err && i < f->nrets; i++)
		err = attach_one(t, g, open_path, NULL, f->rets[i], "as_go_ret", false, cookie);
	return err;
}

/* A Go executable: its offsets go to the go_cfg slot of the target's
 * index, which every uprobe of it carries as its cookie. A Go binary
 * that cannot be probed is a target with the reason, counted apart from
 * failures (go_unprobeable), so that it is reported once and not opened
 * again. */
static struct target *add_go_target(struct tls_attach *t, dev_t dev, ino_t ino, const char *shown,
				   const char *open_path, const struct tls_go_info *gi, int gerr)
{
	struct bpf_map *map = t->obj ? bpf_object__find_map_by_name(t->obj, "go_cfg") : NULL;
	struct target *g;
	uint32_t idx;
	int err = gerr;

	if (t->ntargets >= TLS_MAX_TARGETS) {
		t->st.dropped++;
		return NULL;
	}
	idx = (uint32_t)t->ntargets++;
	g = &t->targets[idx];
	memset(g, 0, sizeof(*g));
	g->dev = dev;
	g->ino = ino;
	g->ops = &go_ops;
	g->exe = true;
	snprintf(g->path, sizeof(g->path), "%s", shown);
	snprintf(g->go_ver, sizeof(g->go_ver), "%s", gi->ver.str);
	g->pclntab = gi->pclntab;
	if (err) {
		snprintf(g->reason, sizeof(g->reason), "%s", gi->reason);
	} else if (!map) {
		err = -ESRCH;
		snprintf(g->reason, sizeof(g->reason), "no go_cfg map in the BPF object");
	} else if (bpf_map_update_elem(bpf_map__fd(map), &idx, &gi->cfg, BPF_ANY) != 0) {
		err = -errno;
		snprintf(g->reason, sizeof(g->reason), "go_cfg: %s", strerror(-err));
	} else {
		err = attach_go_func(t, g, open_path, &gi->read, "as_go_read", idx);
		if (!err)
			err = attach_go_func(t, g, open_path, &gi->write, "as_go_write", idx);
		if (err)
			snprintf(g->reason, sizeof(g->reason), "%s binary: uprobe: %s",
				 gi->ver.str,
				 err == -ESRCH ? "Go's BPF programs are not loaded (they need "
						 "bpf_get_attach_cookie, Linux 5.15)"
					       : strerror(-err));
	}
	if (err) {
		size_t i;

		for (i = 0; i < g->nlinks; i++)
			bpf_link__destroy(g->links[i]);
		g->nlinks = 0;
		/* A binary that cannot be probed is not a failure of the
		 * sensor's, as a library without its symbols is not. */
		g->unprobeable = gerr != 0;
		if (g->unprobeable)
			t->st.go_unprobeable++;
		else
			t->st.failed++;
		return g;
	}
	g->ok = true;
	t->st.exes++;
	t->st.go++;
	return g;
}

/* Whether the ELF file defines a function named sym (in .symtab or
 * .dynsym): an executable that links the TLS library statically. */
static bool elf_defines(const char *path, const char *sym)
{
	uint64_t vaddr;
	bool found;
	Elf *e;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	found = e && tls_elf_func_vaddr(e, sym, &vaddr) == 0;
	elf_end(e);
	close(fd);
	return found;
}

static bool plain_known(const struct tls_attach *t, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < t->nplain; i++)
		if (t->plain[i].dev == dev && t->plain[i].ino == ino)
			return true;
	return false;
}

/* The process's executable, when it links a TLS library statically. */
static bool scan_exe(struct tls_attach *t, uint32_t pid)
{
	char link[64], shown[PATH_MAX];
	struct tls_go_info gi;
	struct target *g;
	struct stat st;
	int gerr;
	ssize_t n;
	size_t i;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	if (stat(link, &st) != 0)
		return false; /* a kernel thread, or gone */
	g = find_target(t, st.st_dev, st.st_ino);
	if (g) {
		g->procs += g->ok;
		return g->ok;
	}
	if (plain_known(t, st.st_dev, st.st_ino))
		return false;
	gerr = tls_go_inspect(link, &gi);
	if (gerr != -ENOENT) {
		n = readlink(link, shown, sizeof(shown) - 1);
		shown[n > 0 ? n : 0] = '\0';
		g = add_go_target(t, st.st_dev, st.st_ino, shown, link, &gi, gerr);
		if (g && g->ok)
			g->procs++;
		return g && g->ok;
	}
	for (i = 0; i < tls_nlibs; i++) {
		if (!elf_defines(link, tls_libs[i]->static_sym))
			continue;
		n = readlink(link, shown, sizeof(shown) - 1);
		shown[n > 0 ? n : 0] = '\0';
		g = add_target(t, st.st_dev, st.st_ino, tls_libs[i], true, shown, link);
		if (g && g->ok)
			g->procs++;
		return g && g->ok;
	}
	if (t->nplain < TLS_MAX_PLAIN_EXES) {
		t->plain[t->nplain].dev = st.st_dev;
		t->plain[t->nplain].ino = st.st_ino;
		t->nplain++;
	}
	return false;
}

/* The TLS libraries one process maps. Returns whether it uses any. */
static bool scan_pid(struct tls_attach *t, uint32_t pid)
{
	char path[64], line[MAPS_LINE], open_path[PATH_MAX + 64];
	bool uses = false, any = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	f = fopen(path, "re");
	if (!f) {
		/* Another user's process, or one with more capabilities than
		 * ours, without CAP_SYS_PTRACE: its libraries stay unseen. */
		if (errno == EACCES || errno == EPERM) {
			if (!t->unreadable_now) {
				t->unreadable_pid = pid;
				t->unreadable_errno = errno;
			}
			t->unreadable_now++;
		}
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long ino;
		const char *file, *base;
		char *nl;
		int off = 0;
		size_t i;

		if (sscanf(line, "%*x-%*x %*s %*x %x:%x %lu %n", &maj, &min, &ino, &off) != 3 ||
		    !off || ino == 0)
			continue;
		file = line + off;
		if (file[0] != '/')
			continue;
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strstr(file, " (deleted)"))
			continue;
		base = strrchr(file, '/') + 1;
		for (i = 0; i < tls_nlibs && !any; i++) {
			dev_t dev = makedev(maj, min);
			struct target *g;

			if (!tls_libs[i]->match_lib(base))
				continue;
			any = true;
			g = find_target(t, dev, (ino_t)ino);
			if (!g) {
				/* The path is in the process's mount namespace. */
				snprintf(open_path, sizeof(open_path), "/proc/%u/root%s", pid, file);
				g = add_target(t, dev, (ino_t)ino, tls_libs[i], false, file,
					       open_path);
			}
			uses = g && g->ok;
			if (uses)
				g->procs++;
		}
		/* One library is enough; every mapping of it repeats its line. */
		if (any)
			break;
	}
	fclose(f);
	/* The executable too, when it maps libssl: a Go program built with
	 * cgo may map it and still do its HTTPS through crypto/tls. */
	if (scan_exe(t, pid))
		uses = true;
	return uses;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct pid_ent *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int tls_attach_scan(struct tls_attach *t)
{
	size_t before = t->ntargets, n = 0, i;
	uint64_t start = now_mono_ns();
	struct pid_ent *now, key, *old;
	struct dirent *d;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	now = calloc(TLS_MAX_PIDS, sizeof(*now));
	if (!now) {
		closedir(dir);
		return -ENOMEM;
	}
	while ((d = readdir(dir)) != NULL && n < TLS_MAX_PIDS) {
		uint64_t pid;

		if (!isdigit((unsigned char)d->d_name[0]) || parse_u64(d->d_name, 1, UINT32_MAX, &pid))
			continue;
		if ((pid_t)pid == t->self)
			continue;
		now[n++].pid = (uint32_t)pid;
	}
	closedir(dir);
	qsort(now, n, sizeof(*now), cmp_pid);
	t->unreadable_now = 0;
	for (i = 0; i < n; i++) {
		key.pid = now[i].pid;
		old = t->npids ? bsearch(&key, t->pids, t->npids, sizeof(*t->pids), cmp_pid) : NULL;
		if (old) {
			now[i].scans = old->scans;
			now[i].uses = old->uses;
		}
		if (now[i].uses)
			continue;
		if (now[i].scans >= EARLY_SCANS && t->st.scans % RESCAN_EVERY != 0)
			continue;
		if (now[i].scans < UINT16_MAX)
			now[i].scans++;
		now[i].uses = scan_pid(t, now[i].pid);
		if (now[i].uses)
			t->st.procs++;
	}
	free(t->pids);
	t->pids = now;
	t->npids = n;
	t->st.unreadable = t->unreadable_now;
	t->st.scans++;
	t->st.scan_ns += now_mono_ns() - start;
	t->last_scan = now_mono_ns();
	return (int)(t->ntargets - before);
}

void tls_attach_tick(struct tls_attach *t, uint64_t now_ns)
{
	if (!t || now_ns - t->last_scan < SCAN_INTERVAL_NS)
		return;
	if (tls_attach_scan(t) < 0)
		t->last_scan = now_ns; /* /proc unreadable: try again in a second */
}

void tls_attach_get_stats(const struct tls_attach *t, struct tls_attach_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (t)
		*out = t->st;
}

/* This process's effective capabilities. */
static uint64_t own_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { 0 };

	if (syscall(SYS_capget, &h, d) != 0)
		return 0;
	return (uint64_t)d[1].effective << 32 | d[0].effective;
}

/* A process's effective capabilities from /proc/PID/status (readable by
 * anyone), or 0. */
static uint64_t proc_caps(uint32_t pid)
{
	char path[64], line[128];
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* The warning about processes whose maps could not be read: which one
 * (the first), who owns it, and what the kernel's rule was. Reading
 * another process's maps takes the same user, or CAP_SYS_PTRACE; a
 * process with capabilities beyond ours takes CAP_SYS_PTRACE too. */
static void describe_unreadable(const struct tls_attach *t, char *out, size_t n)
{
	char path[64], comm[32] = "?", more[48] = "";
	uint32_t pid = t->unreadable_pid;
	uint64_t ours = own_caps(), theirs = proc_caps(pid);
	struct stat st;
	FILE *f;
	int uid = -1;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%u", pid);
	if (stat(path, &st) == 0)
		uid = (int)st.st_uid;
	if (t->st.unreadable > 1)
		snprintf(more, sizeof(more), " and %u more", t->st.unreadable - 1);
	if (!(ours & (1ull << CAP_SYS_PTRACE)))
		snprintf(out, n,
			 "cannot read /proc/%u/maps (%s, uid %d)%s: %s: this sensor "
			 "runs as uid %d without CAP_SYS_PTRACE, which another user's process, or one "
			 "with capabilities beyond the sensor's, needs; HTTPS in such processes is not "
			 "seen (docs/run.md, Least privilege)",
			 pid, comm, uid, more, strerror(t->unreadable_errno), (int)geteuid());
	else
		snprintf(out, n,
			 "cannot read /proc/%u/maps (%s, uid %d)%s: %s, although "
			 "CAP_SYS_PTRACE is kept: %s; HTTPS in such processes is not seen",
			 pid, comm, uid, more, strerror(t->unreadable_errno),
			 theirs & ~ours ? "the process holds capabilities the sensor does not, and "
					  "the kernel (a security module, or a sandbox's or "
					  "container runtime's own process) refuses it even so"
					: "the kernel refuses it (a security module, or a process that "
					  "is not dumpable in another user namespace)");
}

void tls_attach_log(struct tls_attach *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->ntargets; i++) {
		struct target *g = &t->targets[i];

		if (g->logged)
			continue;
		g->logged = true;
		if (g->ok && g->reason[0])
			log_info("tls: attached %s %s (optional, %s)", g->ops->name, g->path,
				 g->reason);
		else if (g->ok && g->ops == &go_ops)
			log_info("tls: attached go %s (%s, crypto/tls.(*Conn).Read/Write%s)",
				 g->path, g->go_ver, g->pclntab ? ", found in .gopclntab" : "");
		else if (g->ok)
			log_info("tls: attached %s %s%s", g->ops->name, g->path,
				 g->internal ? " (internal read/write functions)" : "");
		else if (g->unprobeable)
			log_warn("tls: go binary %s cannot be probed: %s", g->path, g->reason);
		else
			log_warn("tls: cannot attach %s %s: %s", g->ops->name, g->path, g->reason);
	}
	if (t->st.unreadable && !t->told_unreadable) {
		char why[400];

		t->told_unreadable = true;
		describe_unreadable(t, why, sizeof(why));
		log_warn("tls: %s", why);
	}
}

void tls_attach_report(const struct tls_attach *t, FILE *f)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->ntargets; i++) {
		const struct target *g = &t->targets[i];

		if (g->unprobeable) {
			fprintf(f, "    not probeable: go %s: %s\n", g->path, g->reason);
			continue;
		}
		fprintf(f, "    %s %s %s (%u processes)%s%s%s%s%s%s%s\n",
			g->ok ? "attached" : "FAILED",
			g->ops->name, g->path, g->procs, g->internal ? " internal read/write" : "",
			g->ok && g->go_ver[0] ? " " : "", g->ok ? g->go_ver : "",
			g->ok && g->pclntab ? " from .gopclntab" : "",
			g->reason[0] ? ": " : "", g->ok && g->reason[0] ? "optional, " : "",
			g->reason);
	}
	if (t->st.dropped)
		fprintf(f, "    %u more not attached: at most %d targets\n", t->st.dropped,
			TLS_MAX_TARGETS);
}
