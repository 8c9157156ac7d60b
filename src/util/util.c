// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "apisonar/util/util.h"

static enum log_level g_level = LOG_INFO;
static int g_json;

void log_setup(enum log_level level, int json)
{
	g_level = level;
	g_json = json;
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > g_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (g_json) {
		char esc[2 * sizeof(msg)];
		size_t i, o = 0;

		/* Only our own messages reach here; escape for JSON anyway. */
		for (i = 0; msg[i] && o + 7 < sizeof(esc); i++) {
			unsigned char c = (unsigned char)msg[i];

			if (c == '"' || c == '\\') {
				esc[o++] = '\\';
				esc[o++] = (char)c;
			} else if (c < 0x20) {
				o += (size_t)snprintf(esc + o, sizeof(esc) - o, "\\u%04x", c);
			} else {
				esc[o++] = (char)c;
			}
		}
		esc[o] = '\0';
		fprintf(stderr, "{\"ts\":%.3f,\"level\":\"%s\",\"msg\":\"%s\"}\n",
			(double)now_wall_ns() / 1e9, level_names[level], esc);
	} else if (level == LOG_INFO) {
		fprintf(stderr, "apisonar: %s\n", msg);
	} else {
		fprintf(stderr, "apisonar: %s: %s\n", level_names[level], msg);
	}
}

int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int read_file_all(const char *path, size_t cap, char **buf, size_t *len)
{
	size_t have = 0, size = 4096;
	char *b, *nb;
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	b = malloc(size);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (have + 1 >= size) {
			size *= 2;
			nb = realloc(b, size);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			b = nb;
		}
		n = read(fd, b + have, size - have - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > cap) {
			err = -EFBIG;
			goto out;
		}
	}
	b[have] = '\0';
	*buf = b;
	*len = have;
	b = NULL;
out:
	free(b);
	close(fd);
	return err;
}

int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		dir[0] = '.';
		dir[1] = '\0';
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1;
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	return fsync_dir(dir);
}

int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	const char *p = buf;
	int fd, n, err = 0;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return fsync_dir_of(path);
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t now_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

#define TIME_TEXT_MAX 64 /* "YYYY-MM-DDTHH:MM:SS." of any year, and more */

/* Consecutive timestamps mostly share their second (the anonymizer formats
 * one per exchange): the text up to the fraction is kept per thread for
 * the last second, and the fraction is written by hand. Same bytes as one
 * snprintf of the whole, cut to size the same way. */
void time_format_rfc3339(uint64_t ns, unsigned frac_digits, char *buf, size_t size)
{
	static __thread char head[TIME_TEXT_MAX];
	static __thread size_t head_len;
	static __thread time_t head_sec = -1;
	char out[TIME_TEXT_MAX + 16];
	time_t sec = (time_t)(ns / 1000000000u);
	unsigned frac = (unsigned)(ns % 1000000000u), i;
	size_t len;
	struct tm tm;
	int n;

	if (frac_digits < 1 || frac_digits > 9)
		frac_digits = 9;
	for (i = frac_digits; i < 9; i++)
		frac /= 10;
	if (sec != head_sec) {
		if (!gmtime_r(&sec, &tm)) {
			snprintf(buf, size, "1970-01-01T00:00:00.%0*uZ", (int)frac_digits, 0u);
			return;
		}
		n = snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d.",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec);
		if (n < 0 || (size_t)n >= sizeof(head)) {
			head_sec = -1;
			snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%0*uZ",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
				 tm.tm_min, tm.tm_sec, (int)frac_digits, frac);
			return;
		}
		head_len = (size_t)n;
		head_sec = sec;
	}
	memcpy(out, head, head_len);
	len = head_len;
	/* frac < 10^frac_digits: exactly frac_digits digits, zero-padded. */
	for (i = frac_digits; i > 0; i--) {
		out[len + i - 1] = (char)('0' + frac % 10);
		frac /= 10;
	}
	len += frac_digits;
	out[len++] = 'Z';
	if (size == 0)
		return;
	if (len > size - 1)
		len = size - 1;
	memcpy(buf, out, len);
	buf[len] = '\0';
}

/* Reads exactly n decimal digits at *p, advancing it. -1 when not digits. */
static int take_digits(const char **p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

int time_parse_rfc3339(const char *s, uint64_t *ns)
{
	int year, mon, day, hour, min, sec, off = 0;
	uint64_t frac = 0, scale = 100000000u, secs;
	const char *p = s;
	struct tm tm;
	time_t t;

	year = take_digits(&p, 4);
	if (year < 0 || *p++ != '-')
		return -EINVAL;
	mon = take_digits(&p, 2);
	if (mon < 1 || mon > 12 || *p++ != '-')
		return -EINVAL;
	day = take_digits(&p, 2);
	if (day < 1 || day > 31 || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	hour = take_digits(&p, 2);
	if (hour < 0 || hour > 23 || *p++ != ':')
		return -EINVAL;
	min = take_digits(&p, 2);
	if (min < 0 || min > 59 || *p++ != ':')
		return -EINVAL;
	sec = take_digits(&p, 2);
	if (sec < 0 || sec > 60)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		/* Digits past nanoseconds are read and dropped. */
		while (*p >= '0' && *p <= '9') {
			frac += (uint64_t)(*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		oh = take_digits(&p, 2);
		if (oh < 0 || oh > 23)
			return -EINVAL;
		if (*p == ':')
			p++;
		om = take_digits(&p, 2);
		if (om < 0 || om > 59)
			return -EINVAL;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -ERANGE;
	t -= off;
	if (t < 0)
		return -ERANGE;
	secs = (uint64_t)t;
	if (secs > (UINT64_MAX - frac) / 1000000000u)
		return -ERANGE;
	*ns = secs * 1000000000u + frac;
	return 0;
}

void timespec_after_ms(clockid_t clk, uint64_t ms, struct timespec *ts)
{
	clock_gettime(clk, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

uint64_t rand_u64(void)
{
	uint64_t r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = now_mono_ns();
	return r;
}

/* Same stopping rule as cJSON's own lookup (a member without a name ends
 * the walk), so every caller gets the answer it got before. Names kept by
 * reference to a literal are often found by pointer: the linker merges
 * equal literals, so the lookup's key is the very same string. */
struct cJSON *json_get(const struct cJSON *obj, const char *key)
{
	const cJSON *it;

	if (!obj || !key)
		return NULL;
	for (it = obj->child; it && it->string; it = it->next)
		if (it->string == key || (it->string[0] == key[0] && strcmp(it->string, key) == 0))
			return (cJSON *)it;
	return NULL;
}

/* One arena per thread: no lock, and a tree never outlives the call that
 * built it, so it is always freed on the thread that took the memory. */
struct json_arena {
	unsigned char *base; /* JSON_ARENA_CAP bytes, made on first use */
	size_t used;	     /* bytes handed out since the last start over */
	size_t live;	     /* allocations not freed yet */
	size_t spills;	     /* armed allocations that had to use malloc */
	int armed;
};

static __thread struct json_arena json_arena;
static pthread_once_t json_hooks_once = PTHREAD_ONCE_INIT;
static pthread_key_t json_arena_key; /* frees a thread's block at its exit */

#define JSON_ARENA_ALIGN 16

/* Under AddressSanitizer (tests, fuzzing) the arena keeps ASan's view:
 * memory not handed out is poisoned, each allocation is followed by a
 * poisoned gap, and a start over poisons everything again. */
#if defined(__SANITIZE_ADDRESS__)
#define JSON_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JSON_ARENA_ASAN 1
#endif
#endif
#ifdef JSON_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define JSON_ARENA_GAP 16
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define JSON_ARENA_GAP 0
#endif

/* Unarmed, or full: plain malloc, so any thread may free what it gets. */
static void *json_arena_malloc(size_t n)
{
	struct json_arena *a = &json_arena;
	size_t need = (n + JSON_ARENA_GAP + JSON_ARENA_ALIGN - 1) & ~(size_t)(JSON_ARENA_ALIGN - 1);
	void *p;

	if (!a->armed)
		return malloc(n);
	if (!a->base || need < n || need > JSON_ARENA_CAP - a->used) {
		a->spills++;
		return malloc(n);
	}
	p = a->base + a->used;
	a->used += need;
	a->live++;
	ASAN_UNPOISON_MEMORY_REGION(p, n);
	return p;
}

/* Arena memory is given back all at once, when its last allocation goes;
 * anything else was malloc'ed. */
static void json_arena_free(void *p)
{
	struct json_arena *a = &json_arena;

	if (a->base && (unsigned char *)p >= a->base &&
	    (unsigned char *)p < a->base + JSON_ARENA_CAP) {
		if (a->live)
			a->live--;
		if (!a->live) {
			ASAN_POISON_MEMORY_REGION(a->base, a->used);
			a->used = 0;
		}
		return;
	}
	free(p);
}

/* A block still holding live trees is left alone: they may yet be freed
 * (by then as plain pointers that are no longer recognised), which is a
 * bug of the caller, but a leak is safer than freeing under them. */
static void json_arena_exit(void *base)
{
	if (!json_arena.live) {
		ASAN_UNPOISON_MEMORY_REGION(base, JSON_ARENA_CAP);
		free(base);
	}
}

/* Both hooks behave as malloc and free on a thread that never armed, so
 * installing them while other threads use cJSON changes nothing there. */
static void json_hooks_install(void)
{
	cJSON_Hooks h = { .malloc_fn = json_arena_malloc, .free_fn = json_arena_free };

	if (pthread_key_create(&json_arena_key, json_arena_exit) == 0)
		cJSON_InitHooks(&h);
}

/* A mark is the arena's three counters, nothing more: cheap to take per
 * exchange. */
void json_arena_mark(struct json_arena_mark *m)
{
	m->used = json_arena.used;
	m->live = json_arena.live;
	m->spills = json_arena.spills;
}

/* Going back to the mark is what freeing every allocation made since would
 * do, as long as all of them came from the arena. */
int json_arena_release(const struct json_arena_mark *m)
{
	struct json_arena *a = &json_arena;

	/* Nothing taken from the arena since the mark means the trees came
	 * from elsewhere (say, someone else's cJSON_InitHooks): delete them. */
	if (a->spills != m->spills || a->used <= m->used)
		return 0;
	ASAN_POISON_MEMORY_REGION(a->base + m->used, a->used - m->used);
	a->used = m->used;
	a->live = m->live;
	return 1;
}

/* The arena block is made on the first arm and kept for the thread's
 * life: one block per thread that anonymizes, at most JSON_ARENA_CAP. */
int json_arena_arm(int on)
{
	struct json_arena *a = &json_arena;
	int prev = a->armed;

	pthread_once(&json_hooks_once, json_hooks_install);
	if (on && !a->base) {
		a->base = malloc(JSON_ARENA_CAP);
		if (a->base && pthread_setspecific(json_arena_key, a->base)) {
			free(a->base);
			a->base = NULL;
		}
		if (a->base)
			ASAN_POISON_MEMORY_REGION(a->base, JSON_ARENA_CAP);
	}
	a->armed = on;
	return prev;
}

/* ---- a quick JSON parser for the common case ------------------------------ */

struct jfast {
	unsigned char *p;   /* next byte of the private copy */
	unsigned char *end; /* one past its last byte */
	unsigned depth;
};

static cJSON *jf_value(struct jfast *j);

/* cJSON's whitespace: any byte up to 32. A NUL is refused, which makes
 * the caller fall back to cJSON (it treats NUL as whitespace and end). */
static int jf_ws(struct jfast *j)
{
	while (j->p < j->end && *j->p <= 32) {
		if (*j->p == 0)
			return -1;
		j->p++;
	}
	return 0;
}

/* A node as cJSON_New_Item makes it: from the cJSON hooks, zeroed. */
static cJSON *jf_node(int type)
{
	cJSON *n = cJSON_malloc(sizeof(*n));

	if (n) {
		memset(n, 0, sizeof(*n));
		n->type = type;
	}
	return n;
}

/* Bytes that end a run of plain string bytes. */
static const unsigned char jf_stop[256] = { [0] = 1, ['"'] = 1, ['\\'] = 1 };

/* The string at j->p (on its opening quote), decoded in place in the
 * private copy and NUL-terminated where its closing quote was. Only the
 * escapes cJSON turns into one byte; \u and every other escape decline.
 * Raw bytes are kept as they are, as cJSON keeps them (a NUL declines:
 * cJSON keeps it and so cuts the string). An escape takes the byte after
 * the backslash, which is how cJSON's walk finds the closing quote too. */
static char *jf_string(struct jfast *j)
{
	unsigned char *s = j->p + 1, *q = s, *o;

	while (q < j->end && !jf_stop[*q])
		q++;
	if (q >= j->end || *q == 0)
		return NULL;
	o = q;
	while (*q != '"') {
		if (*q == 0 || q + 1 >= j->end)
			return NULL;
		if (*q == '\\') {
			switch (q[1]) {
			case 'b':
				*o++ = '\b';
				break;
			case 'f':
				*o++ = '\f';
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case 't':
				*o++ = '\t';
				break;
			case '"':
			case '\\':
			case '/':
				*o++ = q[1];
				break;
			default:
				return NULL;
			}
			q += 2;
		} else {
			*o++ = *q++;
		}
		if (q >= j->end)
			return NULL;
	}
	*o = '\0';
	j->p = q + 1;
	return (char *)s;
}

/* Powers of ten that a double holds exactly. */
static const double jf_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Strict JSON numbers only, so that the bytes cJSON would hand to strtod
 * are exactly the number's (the next byte is none of [0-9+-.eE]) and the
 * value is strtod's. Short integers are exact in a double: no strtod.
 * Short decimals without exponent ("9.99") take the classic exact path:
 * digits m < 10^15 and 10^k are both exact doubles, so m / 10^k is one
 * correctly rounded division, which is what strtod returns. */
static cJSON *jf_number(struct jfast *j)
{
	char buf[JSON_FAST_MAX_NUMBER + 2];
	unsigned char *s = j->p, *q = s;
	int simple = 1, expo = 0;
	size_t n, i, frac = 0;
	double d;
	cJSON *it;

	if (q < j->end && *q == '-')
		q++;
	if (q < j->end && *q == '0')
		q++;
	else if (q < j->end && *q >= '1' && *q <= '9')
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	else
		return NULL;
	if (q < j->end && *q == '.') {
		simple = 0;
		q++;
		if (q >= j->end || *q < '0' || *q > '9')
			return NULL;
		while (q < j->end && *q >= '0' && *q <= '9') {
			q++;
			frac++;
		}
	}
	if (q < j->end && (*q == 'e' || *q == 'E')) {
		simple = 0;
		expo = 1;
		q++;
		if (q < j->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= j->end || *q < '0' || *q > '9')
			return NULL;
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	n = (size_t)(q - s);
	if (n > JSON_FAST_MAX_NUMBER ||
	    (q < j->end && ((*q >= '0' && *q <= '9') || *q == '+' || *q == '-' || *q == '.' ||
			    *q == 'e' || *q == 'E')))
		return NULL;
	if (!expo && n - (*s == '-') - (frac > 0) <= 15) {
		long long v = 0;

		for (i = (*s == '-'); i < n; i++)
			if (s[i] != '.')
				v = v * 10 + (s[i] - '0');
		d = (double)v;
		if (!simple)
			d /= jf_pow10[frac];
		if (*s == '-')
			d = -d;
	} else {
		/* cJSON hands strtod the locale's decimal point. */
		char dp = localeconv()->decimal_point[0];
		char *after = NULL;

		for (i = 0; i < n; i++)
			buf[i] = s[i] == '.' ? dp : (char)s[i];
		buf[n] = '\0';
		d = strtod(buf, &after);
		if (after != buf + n)
			return NULL;
	}
	it = jf_node(cJSON_Number);
	if (!it)
		return NULL;
	it->valuedouble = d;
	if (d >= INT_MAX)
		it->valueint = INT_MAX;
	else if (d <= (double)INT_MIN)
		it->valueint = INT_MIN;
	else
		it->valueint = (int)d;
	j->p = q;
	return it;
}

/* Members or elements up to the closing bracket; head->prev is the tail,
 * as cJSON links them. */
static cJSON *jf_container(struct jfast *j, int obj)
{
	cJSON *c = jf_node(obj ? cJSON_Object : cJSON_Array), *tail = NULL, *it;
	unsigned char close = obj ? '}' : ']';
	char *key = NULL;

	j->depth++;
	if (!c || j->depth > JSON_FAST_MAX_DEPTH)
		goto fail;
	j->p++;
	if (jf_ws(j))
		goto fail;
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return c;
	}
	for (;;) {
		if (obj) {
			if (jf_ws(j) || j->p >= j->end || *j->p != '"')
				goto fail;
			key = jf_string(j);
			if (!key || jf_ws(j) || j->p >= j->end || *j->p != ':')
				goto fail;
			j->p++;
		}
		if (jf_ws(j))
			goto fail;
		it = jf_value(j);
		if (!it)
			goto fail;
		it->string = key; /* in the copy: not freed with the item */
		it->type |= cJSON_StringIsConst;
		key = NULL;
		if (tail) {
			tail->next = it;
			it->prev = tail;
		} else {
			c->child = it;
		}
		tail = it;
		c->child->prev = tail;
		if (jf_ws(j) || j->p >= j->end)
			goto fail;
		if (*j->p == close)
			break;
		if (*j->p != ',')
			goto fail;
		j->p++;
	}
	j->p++;
	j->depth--;
	return c;
fail:
	cJSON_Delete(c);
	return NULL;
}

/* One value at j->p (whitespace already skipped). */
static cJSON *jf_value(struct jfast *j)
{
	size_t left = (size_t)(j->end - j->p);
	cJSON *it;

	if (!left)
		return NULL;
	switch (*j->p) {
	case 'n':
		if (left < 4 || memcmp(j->p, "null", 4) != 0)
			return NULL;
		j->p += 4;
		return jf_node(cJSON_NULL);
	case 'f':
		if (left < 5 || memcmp(j->p, "false", 5) != 0)
			return NULL;
		j->p += 5;
		return jf_node(cJSON_False);
	case 't':
		if (left < 4 || memcmp(j->p, "true", 4) != 0)
			return NULL;
		it = jf_node(cJSON_True);
		if (it) {
			it->valueint = 1;
			j->p += 4;
		}
		return it;
	case '"':
		/* A reference: the text lives in the copy, freed with the root. */
		it = jf_node(cJSON_String | cJSON_IsReference);
		if (it) {
			it->valuestring = jf_string(j);
			if (!it->valuestring) {
				cJSON_Delete(it);
				return NULL;
			}
		}
		return it;
	case '[':
		return jf_container(j, 0);
	case '{':
		return jf_container(j, 1);
	default:
		return jf_number(j);
	}
}

/* Most records and bodies are plain JSON; cJSON spends much of its time
 * on generic paths (strncmp per literal, strtod per integer) and on one
 * allocation per string. This one parses a private copy of the text in
 * place: strings and names point into it, and the copy hangs off the root
 * (an object or array, whose valuestring cJSON never uses) so that
 * cJSON_Delete of the root frees it. The tree must therefore be read and
 * deleted, never taken apart or duplicated. Declining is always safe: the
 * caller falls back to cJSON. */
cJSON *json_parse_fast(const char *s, size_t len, int whole)
{
	struct jfast j;
	unsigned char *copy;
	cJSON *v;

	if (!s || !len || (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0))
		return NULL;
	copy = cJSON_malloc(len + 1);
	if (!copy)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	j.p = copy;
	j.end = copy + len;
	j.depth = 0;
	v = NULL;
	if (jf_ws(&j) == 0 && j.p < j.end && (*j.p == '{' || *j.p == '['))
		v = jf_value(&j);
	if (v && whole && (jf_ws(&j) || j.p != j.end)) {
		cJSON_Delete(v);
		v = NULL;
	}
	if (!v) {
		cJSON_free(copy);
		return NULL;
	}
	v->valuestring = (char *)copy;
	return v;
}

void json_wipe(cJSON *n)
{
	cJSON *it;

	if (!n)
		return;
	for (it = n->child; it; it = it->next)
		json_wipe(it);
	if (n->valuestring)
		OPENSSL_cleanse(n->valuestring, strlen(n->valuestring));
	if (n->string)
		OPENSSL_cleanse(n->string, strlen(n->string));
}

int parse_budget(const char *s, uint64_t *out)
{
	if (strcmp(s, "unlimited") == 0) {
		*out = 0;
		return 0;
	}
	return parse_u64(s, 0, BUDGET_MAX, out);
}
