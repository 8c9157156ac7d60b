// SPDX-License-Identifier: BSD-2-Clause
/*
 * The anonymizer: one exchange -> one observation document. Every string
 * that goes into the observation is a name we decided to keep (a path word,
 * a parameter, header, cookie or field name that does not look like a
 * value), a vocabulary word (type, format, class, auth kind) or a count.
 * Values are looked at through the detectors and dropped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apisonar/catalog/anon.h"
#include "apisonar/catalog/catalog.h"
#include "apisonar/catalog/detect.h"
#include "apisonar/catalog/k8s_doc.h"
#include "apisonar/catalog/protowire.h"
#include "apisonar/util/util.h"

#define ANON_MAX_SEG_LEN 40  /* a longer segment is a value */
#define ANON_MAX_TEMPLATE 1024
#define ANON_MAX_HOST 253

#define ANON_DIGIT_RUN 6 /* a run this long is an id glued to a word */

/* Ids often hide behind a prefix ("u4111111111111111", "order-123456"):
 * a long run of digits inside a word makes it a value. */
static int long_digit_run(const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		run = (s[i] >= '0' && s[i] <= '9') ? run + 1 : 0;
		if (run >= ANON_DIGIT_RUN)
			return 1;
	}
	return 0;
}

static int name_ok_full(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ANON_MAX_NAME)
		return 0;
	if (!doc_utf8_ok((const unsigned char *)s, n))
		return 0;
	/* Names are identifiers: whitespace or an inner '@' means a value
	 * ("Jane Doe", "a@b.c") used as a key. A leading '@' stays ("@type"). */
	for (i = 0; i < n; i++)
		if (s[i] == ' ' || s[i] == '\t' || (s[i] == '@' && i > 0))
			return 0;
	return !anon_value_shaped(s, n);
}

#define ANON_OK_CACHE 1024 /* direct-mapped slots of names that passed */
#define ANON_OK_CACHED 48  /* longer names are always checked in full */

/* A direct-mapped, per-thread cache of strings that passed a pure check:
 * the same names and hosts come in every exchange of an endpoint. Only
 * strings that passed are stored; one refused as a value never is, here
 * or anywhere. lens[slots], bufs[slots][width]. */
static int passed_before(size_t *lens, char *bufs, size_t slots, size_t width, const char *s,
			 size_t n, int (*check)(const char *, size_t))
{
	uint32_t h = 2166136261u;
	size_t i;

	if (n == 0 || n > width)
		return check(s, n);
	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	h %= slots;
	if (lens[h] == n && memcmp(bufs + h * width, s, n) == 0)
		return 1;
	if (!check(s, n))
		return 0;
	memcpy(bufs + h * width, s, n);
	lens[h] = n;
	return 1;
}

int anon_name_ok(const char *s, size_t n)
{
	static __thread size_t lens[ANON_OK_CACHE];
	static __thread char bufs[ANON_OK_CACHE][ANON_OK_CACHED];

	return passed_before(lens, &bufs[0][0], ANON_OK_CACHE, ANON_OK_CACHED, s, n, name_ok_full);
}

/* Singular of a path word, as an identifier: "users" -> "user",
 * "categories" -> "category", "api-keys" -> "api_key". */
void anon_singular(const char *seg, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (n > 3 && strncasecmp(seg + n - 3, "ies", 3) == 0) {
		n -= 3;
		for (i = 0; i < n && o + 2 < outlen; i++)
			out[o++] = isalnum((unsigned char)seg[i]) ? seg[i] : '_';
		out[o++] = 'y';
		out[o] = '\0';
		return;
	}
	if (n > 4 && (strncasecmp(seg + n - 4, "sses", 4) == 0 ||
		      strncasecmp(seg + n - 4, "ches", 4) == 0 ||
		      strncasecmp(seg + n - 4, "shes", 4) == 0 ||
		      strncasecmp(seg + n - 3, "xes", 3) == 0))
		n -= 2;
	else if (n > 3 && (seg[n - 1] == 's' || seg[n - 1] == 'S') && seg[n - 2] != 's' &&
		 seg[n - 2] != 'S')
		n -= 1;
	for (i = 0; i < n && o + 1 < outlen; i++)
		out[o++] = isalnum((unsigned char)seg[i]) ? seg[i] : '_';
	out[o] = '\0';
	if (o && isdigit((unsigned char)out[0]))
		out[0] = '\0';
}

/* The shape of one scalar value (a query value, a header, a path segment)
 * added to a schema node: type, format and class, nothing of the value. */
static void value_node(cJSON *node, const char *s, size_t n)
{
	enum detect_format f = DF_NONE;
	enum detect_class cl = detect_value_format(s, n, &f);

	doc_countk(node, "n", 1);
	switch (f) {
	case DF_INTEGER:
		doc_set_add_static(node, "types", "integer", 8);
		break;
	case DF_NUMBER:
		doc_set_add_static(node, "types", "number", 8);
		break;
	case DF_BOOL:
		doc_set_add_static(node, "types", "boolean", 8);
		break;
	default:
		doc_set_add_static(node, "types", "string", 8);
		doc_set_add_static(node, "formats", f == DF_NONE ? "text" : detect_format_name(f), 32);
		break;
	}
	if (cl != DC_NONE)
		doc_set_add_static(node, "sensitive", detect_class_name(cl), 32);
}

#define ANON_NAME_CACHE 1024 /* direct-mapped; names repeat across exchanges */
#define ANON_NAME_CACHED 48   /* longer names are not cached */

/* detect_name() is pure and names repeat in every exchange of an endpoint:
 * a small per-thread cache of name -> class (names only, never values). */
static enum detect_class cached_name_class(const char *name)
{
	static __thread struct {
		char name[ANON_NAME_CACHED + 1];
		unsigned char cls;
	} cache[ANON_NAME_CACHE];
	size_t n = strlen(name);
	uint32_t h = 2166136261u;
	size_t i;

	if (n > ANON_NAME_CACHED || n == 0)
		return detect_name(name, n);
	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	h %= ANON_NAME_CACHE;
	if (strcmp(cache[h].name, name) != 0) {
		memcpy(cache[h].name, name, n + 1);
		cache[h].cls = (unsigned char)detect_name(name, n);
	}
	return (enum detect_class)cache[h].cls;
}

static void name_class(cJSON *node, const char *name)
{
	enum detect_class cl = cached_name_class(name);

	if (cl != DC_NONE)
		doc_set_add_static(node, "sensitive", detect_class_name(cl), 32);
}

/* Letters are vowels in words and rarely in random ids. */
static int vowel(char c)
{
	c = (char)(c | 0x20);
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}

/* A consonant for the camelCase test (y counts as a vowel). */
static int consonant(char c)
{
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'z' && !vowel(c);
}

/*
 * Cut into camelCase fragments (a capital and its lowercase letters, a run
 * of capitals, lowercase letters, digits), a word has fragments that are
 * syllables: each with a vowel and no four consonants in a row ("get",
 * "User", "By", "HTTP"). A random id cuts into fragments that are not
 * ("Qm", "xVb", "Tz"): two of them, or one among many short fragments,
 * make it a value.
 */
static int acronym_noise(const char *s, size_t n)
{
	size_t i, v = 0;

	if (n < 5)
		return 0;
	for (i = 0; i < n; i++)
		v += (size_t)vowel(s[i]);
	return v <= 1;
}

static int camel_noise(const char *s, size_t n)
{
	size_t i = 0, frags = 0, bad = 0;

	while (i < n) {
		size_t st = i, j, cons = 0, maxcons = 0;
		int hasv = 0, upper_run = 0;

		if (s[i] >= '0' && s[i] <= '9') {
			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
			frags++;
			continue;
		}
		if (s[i] >= 'A' && s[i] <= 'Z') {
			while (i < n && s[i] >= 'A' && s[i] <= 'Z')
				i++;
			/* an acronym of five capitals or more with at most one
			 * vowel ("FQLJQC"; "HTTPS", "OAUTH" have theirs) */
			if (acronym_noise(s + st, i - st - (i < n && s[i] >= 'a' && s[i] <= 'z')))
				bad++;
			if (i < n && s[i] >= 'a' && s[i] <= 'z') {
				if (i - st > 1) {
					frags++; /* "HTTPStatus": "HTTP", then "Status" */
					st = i - 1;
				}
			} else {
				upper_run = 1;
				/* one capital closing a token after a lowercase
				 * run ("EgpemazrA") */
				if (i - st == 1 && i == n && st >= 3 && s[st - 1] >= 'a' &&
				    s[st - 1] <= 'z' && s[st - 2] >= 'a' && s[st - 3] >= 'a')
					bad++;
			}
		}
		while (!upper_run && i < n && s[i] >= 'a' && s[i] <= 'z')
			i++;
		frags++;
		if (upper_run)
			continue;
		/* four consonants opening a capitalised fragment start no
		 * word ("QOIDssfa"; "Strength" has three): twice as bad */
		for (j = st; j < i && consonant(s[j]); j++)
			;
		if (s[st] >= 'A' && s[st] <= 'Z' && j - st >= 4)
			bad += 2;
		for (j = st; j < i; j++) {
			if (consonant(s[j])) {
				cons++;
				if (cons > maxcons)
					maxcons = cons;
			} else {
				cons = 0;
				hasv = 1;
			}
		}
		if ((i - st >= 2 && !hasv) || maxcons >= 4)
			bad++;
	}
	return bad >= 2 || (bad >= 1 && 3 * frags >= n);
}

/* Two-letter words that identifiers use ("getUserById", "isUpToDate"). */
static int common_short(const char *w, size_t n)
{
	static const char *const words[] = { "by", "id", "to", "of", "at", "in", "on", "is", "as",
					     "or", "an", "ip", "ok", "if", "no", "up", "me", "my",
					     "we", "it", "do", "go", "be", "a",	 "i" };
	size_t k;

	for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (strlen(words[k]) == n && strncasecmp(words[k], w, n) == 0)
			return 1;
	return 0;
}

/*
 * Long runs (10+) cut into camelCase words: an acronym (a capital run not
 * followed by a lowercase letter), a capitalised or lowercase word, a digit
 * group. Identifiers are a few words, mostly of several letters
 * ("listUsersByOrgId", "HTTPStatusCode", "OAuth2Token"); a random id falls
 * into many short words, several digit groups, or a digit between letters
 * beside many capitals ("7QexsUoonoNG"). Measured on the accuracy corpus:
 * 1 of its 2,008 alphanumeric property names and none of its 830 path
 * words match, against 91% of random 12-character base62 strings.
 */
static int camel_words_noise(const char *s, size_t n)
{
	size_t i, words = 0, letter_words = 0, short_words = 0, digit_groups = 0;
	size_t up = 0, lo = 0, inner_digits = 0;

	if (n < 10)
		return 0;
	for (i = 0; i < n; i++) {
		up += s[i] >= 'A' && s[i] <= 'Z';
		lo += s[i] >= 'a' && s[i] <= 'z';
		if (i > 0 && i + 1 < n && isdigit((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i - 1]) && !isdigit((unsigned char)s[i + 1]))
			inner_digits++;
	}
	i = 0;
	while (i < n) {
		size_t st = i;

		if (isdigit((unsigned char)s[i])) {
			while (i < n && isdigit((unsigned char)s[i]))
				i++;
			digit_groups++;
			words++;
			continue;
		}
		if (s[i] >= 'A' && s[i] <= 'Z') {
			while (i < n && s[i] >= 'A' && s[i] <= 'Z')
				i++;
			/* "HTTPStatus": the last capital starts the next word. */
			if (i < n && s[i] >= 'a' && s[i] <= 'z' && i - st > 1)
				i--;
		}
		if (i == st || (i - st == 1 && i < n && s[i] >= 'a' && s[i] <= 'z'))
			while (i < n && s[i] >= 'a' && s[i] <= 'z')
				i++;
		words++;
		letter_words++;
		short_words += i - st <= 2 && !common_short(s + st, i - st);
	}
	if (digit_groups >= 2 && letter_words >= 3)
		return 1;
	if (inner_digits && up >= 4 && lo >= 3)
		return 1;
	return words >= 4 && 2 * short_words >= words;
}

/*
 * Random ids of 8 or more base62 characters that the format detectors let
 * through because they have few or no digits ("Qm3xVbTz", "aZkPqLmWx"):
 * words, even camelCase ones ("getUserById", "OAuth2Token"), change
 * character class at word boundaries only and carry vowels; random ids
 * change class at about every other character and carry few vowels. One
 * run of [A-Za-z0-9] is looked at.
 */
static int random_run_core(const char *s, size_t n);

static int random_run(const char *s, size_t n)
{
	size_t i, st;

	if (random_run_core(s, n))
		return 1;
	/* a word in capitals glued to a random id ("CANARYNIGOqwHlSYED",
	 * "ORDERxK2mQpLw9"): the id alone, from each start inside the
	 * capitals (one level: linear in the length) */
	for (i = 0; i < n && s[i] >= 'A' && s[i] <= 'Z'; i++)
		;
	if (i >= 4 && i < n)
		for (st = 4; st <= i && n - st >= 8; st++)
			if (random_run_core(s + st, n - st))
				return 1;
	return 0;
}

static int random_run_core(const char *s, size_t n)
{
	size_t i, up = 0, lo = 0, dg = 0, vw = 0, trans = 0, flips = 0;
	int prev = -1;

	if (n < 8)
		return 0;
	for (i = 0; i < n; i++) {
		int k = (s[i] >= '0' && s[i] <= '9') ? 2 : (s[i] >= 'A' && s[i] <= 'Z') ? 1 : 0;

		if (k == 2)
			dg++;
		else if (k == 1)
			up++;
		else
			lo++;
		if (k != 2 && vowel(s[i]))
			vw++;
		if (prev >= 0 && prev != k) {
			trans++;
			if (prev != 2 && k != 2)
				flips++;
		}
		prev = k;
	}
	/* all three classes, changing at every other character or more */
	if (dg && up && lo && 2 * trans > n)
		return 1;
	/* mixed case, choppy, few vowels */
	if (up >= 2 && lo >= 2 && 3 * flips >= n - 1 && 4 * vw < up + lo)
		return 1;
	if (camel_noise(s, n) || camel_words_noise(s, n))
		return 1;
	/* one case, long, almost no vowels ("xkqzvbmnt") */
	if (up + lo >= 8 && 8 * vw < up + lo && (up == 0 || lo == 0))
		return 1;
	return 0;
}

/* A prefixed id ("usr_8f3k", "ord-a1b2c3"): a short word, a separator, then
 * a run that mixes letters and digits in several places. */
static int prefixed_id(const char *s, size_t n)
{
	size_t i, st = 0;

	for (i = 0; i <= n; i++) {
		size_t len, j, dg = 0, changes = 0;
		int prev = -1;

		if (i < n && s[i] != '_' && s[i] != '-')
			continue;
		len = i - st;
		if (st > 0 && len >= 4) {
			for (j = st; j < i; j++) {
				int k = s[j] >= '0' && s[j] <= '9';

				dg += (size_t)k;
				if (prev >= 0 && prev != k)
					changes++;
				prev = k;
			}
			if (dg && dg < len && changes >= 2)
				return 1;
		}
		st = i + 1;
	}
	return 0;
}

int anon_value_shaped(const char *s, size_t n)
{
	size_t i = 0;
	enum detect_class first;

	if (long_digit_run(s, n) || detect_is_value_like(s, n) || prefixed_id(s, n))
		return 1;
	/* a credential or a detector match anywhere inside ("ghp_....json") */
	if (detect_scan(s, n, &first))
		return 1;
	while (i < n) {
		size_t st = i;

		while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
				 (s[i] >= '0' && s[i] <= '9')))
			i++;
		if (random_run(s + st, i - st))
			return 1;
		i++;
	}
	return 0;
}

int anon_format_ext(const char *e, size_t n)
{
	static const char *const fmts[] = {
		"atom", "csv", "geojson", "gif", "gpx", "htm", "html", "ics", "jpeg", "jpg",
		"js", "json", "jsonp", "kml", "mvt", "pb", "pbf", "pdf", "png", "rss", "svg",
		"tsv", "txt", "webp", "xml", "yaml", "yml", "zip", NULL,
	};
	size_t i;

	for (i = 0; fmts[i]; i++)
		if (strlen(fmts[i]) == n && memcmp(fmts[i], e, n) == 0)
			return 1;
	return 0;
}

/* Extensions are short and lowercase ("json", "xml", "atom", "mp4"). */
size_t anon_suffix(const char *s, size_t n)
{
	size_t i, dot = n;
	const char *d;

	if (n < 3)
		return n;
	/* A format extension ends a value whatever the value holds
	 * ("52.37,4.89.json", "cDUCvdJKpB.jsonp"). */
	d = memrchr(s, '.', n);
	if (d && d > s && anon_format_ext(d + 1, (size_t)(s + n - d - 1)))
		return (size_t)(d - s);
	for (i = n; i > 0 && n - i < 5; i--)
		if (s[i - 1] == '.') {
			dot = i - 1;
			break;
		}
	if (dot == n || dot == 0 || dot + 2 > n)
		return n;
	if (!((s[dot + 1] >= 'a' && s[dot + 1] <= 'z') || (s[dot + 1] >= 'A' && s[dot + 1] <= 'Z')))
		return n;
	/* The stem is one token: an e-mail, a host name or an escaped
	 * string is a value whole ("bob@example.com"), not a stem. */
	for (i = 0; i < dot; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '~'))
			return n;
	for (i = dot + 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			return n;
	return dot;
}

/* A segment stays a literal only when it is short, made of path-word
 * characters and no detector calls it (or a part of it) a value. */
static int literal_segment_full(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ANON_MAX_SEG_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == '~'))
			return 0;
	}
	return !anon_value_shaped(s, n);
}

#define ANON_SEG_CACHE 1024 /* direct-mapped slots of literal segments */

/* The same words come in every request of an endpoint: the segments that
 * passed are remembered per thread (passed_before); a value never is. */
/* "2", "2.0", "1.12": a digit, then a dot and one or two digits. */
int anon_version_number(const char *s, size_t n)
{
	if (n == 0 || n == 2 || n > 4 || s[0] < '0' || s[0] > '9')
		return 0;
	if (n == 1)
		return 1;
	return s[1] == '.' && isdigit((unsigned char)s[2]) &&
	       (n == 3 || isdigit((unsigned char)s[3]));
}



static int literal_segment(const char *s, size_t n)
{
	/* One digit (or "2.0") carries nothing of a value, and is how
	 * versions look (/search/2/geocode, /scim/2.0/Users): the catalog
	 * decides it from what follows it (catalog.c, decide_position). */
	if (anon_version_number(s, n))
		return 1;
	static __thread size_t lens[ANON_SEG_CACHE];
	static __thread char bufs[ANON_SEG_CACHE][ANON_MAX_SEG_LEN];

	return passed_before(lens, &bufs[0][0], ANON_SEG_CACHE, ANON_MAX_SEG_LEN, s, n,
			     literal_segment_full);
}

int anon_safe_word(const char *s, size_t n)
{
	size_t i, letters = 0;

	if (n < 1 || n > 40)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			letters++;
		else if (!((c == '-' || c == '_') && i > 0 && i + 1 < n))
			return 0;
	}
	return letters >= 1 && !anon_value_shaped(s, n);
}

/* Capitals in a run inside a word ("niOANiSP", "xQZkPw"): how random
 * strings that passed the shape tests look, never a resource name
 * ("users", "dns_zones", "ResourceTypes", "apiKeys"). */
static int inner_capitals(const char *s, size_t n)
{
	size_t i;

	for (i = 1; i + 2 < n; i++)
		if (s[i] >= 'A' && s[i] <= 'Z' && s[i + 1] >= 'A' && s[i + 1] <= 'Z' &&
		    s[i + 2] >= 'a' && s[i + 2] <= 'z')
			return 1;
	return 0;
}

/* The parameter name for a value after the literal prev (NULL when the
 * segment before is a parameter or there is none): the singular of prev
 * plus "Id" when prev is a safe word, else "id"; made unique against the
 * names already in the template with a number. The one naming rule, shared
 * by the anonymizer and the catalog, so a position has one name whichever
 * evidence templated it. used(arg, name) says whether name is taken. */
void anon_param_name(const char *prev, size_t prevlen, int (*used)(void *, const char *),
		     void *arg, char *out, size_t outlen)
{
	char base[ANON_MAX_PARAM_NAME];
	size_t nl;
	int k;

	base[0] = '\0';
	/* Hyphenated words are how readable values look ("jane-doe",
	 * "maple-river") as often as resource names: they name nothing. */
	if (prev && anon_safe_word(prev, prevlen) && !memchr(prev, '-', prevlen) &&
	    !inner_capitals(prev, prevlen))
		anon_singular(prev, prevlen, base, sizeof(base) - 3);
	nl = strlen(base);
	snprintf(out, outlen, "%s%s", base, nl ? "Id" : "id");
	for (k = 2; used && used(arg, out) && k < 99; k++) {
		if (base[0])
			snprintf(out, outlen, "%sId%d", base, k);
		else
			snprintf(out, outlen, "id%d", k);
	}
}

static int param_used(void *arg, const char *name)
{
	return arg && json_get((cJSON *)arg, name) != NULL;
}

#define ANON_NUMBERED_DIGITS 3 /* page-377: a number, not a name (covid-19, utf-8) */

/* "page-377", "page-7143627": a word, a dash, then a number of three
 * digits or more. The word is how the API numbers a page or a part (page-,
 * series-, episode-), the digits are the value: the template keeps the
 * word ("page-{page}", the form the catalog folds numbered segments into),
 * so the position is neither a literal per page nor an id of its own
 * (unless the word names the resource before it: see the caller).
 * Shorter numbers stay literal: the catalog folds them when it sees
 * several. Returns the length of the word, or 0. */
static size_t numbered_head(const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n && s[i] >= 'a' && s[i] <= 'z')
		i++;
	if (i < 2 || i + 1 + ANON_NUMBERED_DIGITS > n || s[i] != '-' || i >= ANON_MAX_PARAM_NAME)
		return 0;
	for (j = i + 1; j < n; j++)
		if (s[j] < '0' || s[j] > '9')
			return 0;
	return literal_segment(s, i) ? i : 0;
}

int anon_template_path(const char *path, size_t len, char *out, size_t outlen, cJSON *params)
{
	size_t i = 0, o = 0, nseg = 0;
	const char *prev = NULL;
	size_t prevlen = 0;
	cJSON *local = NULL;

	if (outlen < 2 || len == 0 || path[0] != '/')
		return -EINVAL;
	/* Names are made unique within the template even without params. */
	if (!params) {
		local = cJSON_CreateObject();
		if (!local)
			return -ENOMEM;
		params = local;
	}
	while (i < len) {
		size_t s, n, stem, hl;

		while (i < len && path[i] == '/')
			i++;
		if (i >= len)
			break;
		s = i;
		while (i < len && path[i] != '/')
			i++;
		n = i - s;
		if (++nseg > ANON_MAX_SEGMENTS)
			goto bad;
		/* A value with a suffix ("42.json"): the suffix stays when it
		 * is a word of its own and the stem alone is the value. */
		stem = anon_suffix(path + s, n);
		if (stem < n && !literal_segment(path + s + stem + 1, n - stem - 1))
			stem = n;
		hl = numbered_head(path + s, stem);
		if (hl && prev) {
			/* "/orders/order-123456": an id tagged with its
			 * resource's name, the whole segment is the value */
			char one[ANON_MAX_PARAM_NAME];

			anon_singular(prev, prevlen, one, sizeof(one));
			if (strlen(one) == hl && strncasecmp(one, path + s, hl) == 0)
				hl = 0;
		}
		if (!hl && stem < n && literal_segment(path + s, stem))
			stem = n;
		if (!hl && stem == n && literal_segment(path + s, n)) {
			if (o + 1 + n + 1 > outlen)
				goto bad;
			out[o++] = '/';
			memcpy(out + o, path + s, n);
			o += n;
			prev = path + s;
			prevlen = n;
			continue;
		}
		{
			char name[ANON_MAX_PARAM_NAME + 8];
			size_t nl, sl = n - stem;

			if (hl)
				snprintf(name, sizeof(name), "%.*s", (int)hl, path + s);
			if (hl && param_used(params, name))
				hl = 0; /* twice in one path: the whole segment */
			if (!hl)
				anon_param_name(prev, prevlen, param_used, params, name, sizeof(name));
			nl = strlen(name);
			if (o + 3 + 2 * hl + 1 + nl + sl + 1 > outlen)
				goto bad;
			out[o++] = '/';
			if (hl) {
				memcpy(out + o, path + s, hl + 1);
				o += hl + 1;
			}
			out[o++] = '{';
			memcpy(out + o, name, nl);
			o += nl;
			out[o++] = '}';
			memcpy(out + o, path + s + stem, sl);
			o += sl;
			{
				cJSON *node = cJSON_AddObjectToObject(params, name);

				if (node)
					value_node(node, path + s + (hl ? hl + 1 : 0),
						   stem - (hl ? hl + 1 : 0));
			}
			prev = NULL;
		}
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	cJSON_Delete(local);
	return 0;
bad:
	cJSON_Delete(local);
	return -EINVAL;
}

/* ---- JSON schema inference ------------------------------------------------ */

#define ANON_MAP_MIN_RECORDS 24 /* keys of records (objects/arrays) that make a map */
#define ANON_MAP_MIN_SCALARS 64 /* keys of one scalar type that make a map */

/* An object whose keys behave like values: many keys whose values all have
 * one shape ({"alice": {...}, "bob": {...}, ...}). Decided from the object
 * alone, so it does not depend on what else was seen. */
static int dynamic_keys(const cJSON *v)
{
	const cJSON *it;
	int n = 0, type = -1;

	for (it = v->child; it; it = it->next) {
		int t = it->type & 0xff;

		if (type >= 0 && t != type)
			return 0;
		type = t;
		n++;
	}
	if (n >= ANON_MAP_MIN_RECORDS && (type == cJSON_Object || type == cJSON_Array))
		return 1;
	return n >= ANON_MAP_MIN_SCALARS;
}

void anon_schema_infer(cJSON *node, const cJSON *v, int depth, const struct anon_limits *lim,
		       struct anon_counters *cnt)
{
	const cJSON *it;
	int n = 0;

	doc_countk(node, "n", 1);
	if (cJSON_IsNull(v)) {
		doc_set_add_static(node, "types", "null", 8);
	} else if (cJSON_IsBool(v)) {
		doc_set_add_static(node, "types", "boolean", 8);
	} else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d > -9007199254740992.0 && d < 9007199254740992.0 && d == (double)(long long)d)
			doc_set_add_static(node, "types", "integer", 8);
		else
			doc_set_add_static(node, "types", "number", 8);
	} else if (cJSON_IsString(v)) {
		size_t l = strlen(v->valuestring);
		enum detect_format f = DF_NONE;
		enum detect_class cl = detect_value_format(v->valuestring, l, &f);

		doc_set_add_static(node, "types", "string", 8);
		doc_set_add_static(node, "formats", f == DF_NONE || f == DF_INTEGER || f == DF_NUMBER ||
						   f == DF_BOOL ?
						     "text" :
						     detect_format_name(f), 32);
		if (cl != DC_NONE)
			doc_set_add_static(node, "sensitive", detect_class_name(cl), 32);
	} else if (cJSON_IsArray(v)) {
		doc_set_add_static(node, "types", "array", 8);
		if (depth >= (int)lim->max_depth) {
			if (v->child)
				cnt->limit_depth++;
			return;
		}
		for (it = v->child; it; it = it->next) {
			cJSON *items;

			if (n++ >= ANON_MAX_ARRAY_ITEMS)
				break;
			items = doc_objk(node, "items");
			if (!items)
				return;
			anon_schema_infer(items, it, depth + 1, lim, cnt);
		}
	} else if (cJSON_IsObject(v)) {
		cJSON *props = NULL;
		int dynamic = dynamic_keys(v);

		doc_set_add_static(node, "types", "object", 8);
		doc_countk(node, "objects", 1);
		if (depth >= (int)lim->max_depth) {
			if (v->child)
				cnt->limit_depth++;
			return;
		}
		for (it = v->child; it; it = it->next) {
			cJSON *child;
			int cut = 0;

			if (n++ >= ANON_MAX_FORM_FIELDS * 4) {
				cnt->limit_fields++;
				break;
			}
			if (dynamic || !it->string || !anon_name_ok(it->string, strlen(it->string))) {
				/* A key that is a value: the object is a map. */
				cnt->dropped_names++;
				child = doc_objk(node, "additional");
				if (child)
					anon_schema_infer(child, it, depth + 1, lim, cnt);
				continue;
			}
			if (!props)
				props = doc_objk(node, "properties");
			if (!props)
				return;
			child = doc_map_get(props, it->string, lim->max_fields, &cut);
			if (cut)
				cnt->limit_fields++;
			if (!child)
				continue;
			anon_schema_infer(child, it, depth + 1, lim, cnt);
			name_class(child, it->string);
		}
	}
}

/* ---- forms, queries, cookies ---------------------------------------------- */

/* Percent-decodes s[0..n) ('+' as a space when plus) into out; returns the
 * decoded length (at most outlen - 1); out is NUL-terminated. */
static size_t url_decode(const char *s, size_t n, char *out, size_t outlen, int plus)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 1 < outlen; i++) {
		if (s[i] == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
			out[o++] = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
			i += 2;
		} else if (plus && s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}

typedef void (*pair_fn)(void *arg, const char *name, size_t nl, const char *val, size_t vl);

/* Walks "a=1&b=2" (sep '&', percent-encoded) or "a=1; b=2" (sep ';', raw)
 * and calls fn with each decoded name and value. At most
 * ANON_MAX_FORM_FIELDS pairs. */
static void each_pair(const char *s, size_t len, char sep, pair_fn fn, void *arg)
{
	char nbuf[ANON_MAX_NAME * 3 + 1];
	char *vbuf = malloc(len + 1);
	size_t i = 0, fields = 0;

	if (!vbuf)
		return;
	while (i < len && fields < ANON_MAX_FORM_FIELDS) {
		size_t st, end, eq, nl, vl;

		while (i < len && (s[i] == ' ' || s[i] == sep))
			i++;
		st = i;
		while (i < len && s[i] != sep)
			i++;
		end = i;
		if (end == st)
			continue;
		for (eq = st; eq < end && s[eq] != '='; eq++)
			;
		if (sep == '&') {
			nl = url_decode(s + st, eq - st, nbuf, sizeof(nbuf), 1);
			vl = eq < end ? url_decode(s + eq + 1, end - eq - 1, vbuf, len + 1, 1) : 0;
			if (eq >= end)
				vbuf[0] = '\0';
		} else {
			nl = eq - st < sizeof(nbuf) - 1 ? eq - st : sizeof(nbuf) - 1;
			memcpy(nbuf, s + st, nl);
			nbuf[nl] = '\0';
			while (nl && nbuf[nl - 1] == ' ')
				nbuf[--nl] = '\0';
			vl = eq < end ? end - eq - 1 : 0;
			if (vl)
				memcpy(vbuf, s + eq + 1, vl);
			vbuf[vl] = '\0';
		}
		fields++;
		fn(arg, nbuf, strlen(nbuf) < nl ? strlen(nbuf) : nl, vbuf, vl);
	}
	free(vbuf);
}

struct form_ctx {
	cJSON *props;
	const struct anon_limits *lim;
	struct anon_counters *cnt;
};

static void form_field(void *arg, const char *name, size_t nl, const char *val, size_t vl)
{
	struct form_ctx *f = arg;
	cJSON *child;
	int cut = 0;

	if (!anon_name_ok(name, nl)) {
		f->cnt->dropped_names++;
		return;
	}
	child = doc_map_get(f->props, name, f->lim->max_fields, &cut);
	if (cut)
		f->cnt->limit_fields++;
	if (!child)
		return;
	value_node(child, val, vl);
	name_class(child, name);
}

void anon_form_infer(cJSON *node, const char *body, size_t len, const struct anon_limits *lim,
		     struct anon_counters *cnt)
{
	struct form_ctx f = { .lim = lim, .cnt = cnt };

	doc_countk(node, "n", 1);
	doc_set_add_static(node, "types", "object", 8);
	doc_countk(node, "objects", 1);
	f.props = doc_objk(node, "properties");
	if (f.props)
		each_pair(body, len, '&', form_field, &f);
}

/* Finds needle in hay (binary-safe). */
static const unsigned char *memfind(const unsigned char *hay, size_t hl, const char *needle,
				    size_t nl)
{
	if (nl == 0 || hl < nl)
		return NULL;
	return memmem(hay, hl, needle, nl);
}

/* Parameter param="..." (or unquoted) of a header value, copied into out. */
static int header_param(const char *h, size_t hl, const char *param, char *out, size_t outlen)
{
	size_t pl = strlen(param), i, o = 0;

	for (i = 0; i + pl < hl; i++) {
		if ((i == 0 || h[i - 1] == ';' || h[i - 1] == ' ' || h[i - 1] == '\t') &&
		    strncasecmp(h + i, param, pl) == 0 && h[i + pl] == '=') {
			i += pl + 1;
			if (i < hl && h[i] == '"') {
				i++;
				while (i < hl && h[i] != '"' && o + 1 < outlen)
					out[o++] = h[i++];
			} else {
				while (i < hl && h[i] != ';' && h[i] != ' ' && o + 1 < outlen)
					out[o++] = h[i++];
			}
			out[o] = '\0';
			return o > 0;
		}
	}
	return 0;
}

int anon_multipart_infer(cJSON *node, const char *ctype, const unsigned char *body, size_t len,
			 const struct anon_limits *lim, struct anon_counters *cnt)
{
	char bnd[80], delim[84];
	const unsigned char *p, *end = body + len;
	cJSON *props;
	size_t dl, parts = 0;

	if (!ctype || strncasecmp(ctype, "multipart/", 10) != 0 ||
	    !header_param(ctype, strlen(ctype), "boundary", bnd, sizeof(bnd)))
		return -EINVAL;
	snprintf(delim, sizeof(delim), "--%s", bnd);
	dl = strlen(delim);
	doc_countk(node, "n", 1);
	doc_set_add_static(node, "types", "object", 8);
	doc_countk(node, "objects", 1);
	props = doc_objk(node, "properties");
	if (!props)
		return -ENOMEM;
	p = memfind(body, len, delim, dl);
	while (p && parts++ < ANON_MAX_FORM_FIELDS) {
		const unsigned char *h = p + dl, *he, *next, *cd;
		char name[ANON_MAX_NAME + 1];
		size_t hl;
		int is_file;
		cJSON *child;
		int cut = 0;

		if (end - h >= 2 && h[0] == '-' && h[1] == '-')
			break; /* closing delimiter */
		he = memfind(h, (size_t)(end - h), "\r\n\r\n", 4);
		if (!he)
			break;
		hl = (size_t)(he - h);
		next = memfind(he + 4, (size_t)(end - he - 4), delim, dl);
		cd = NULL;
		{
			const unsigned char *q = h;

			while (q < he) {
				const unsigned char *le = memfind(q, (size_t)(he + 2 - q), "\r\n", 2);
				size_t ll = le ? (size_t)(le - q) : (size_t)(he - q);

				if (ll > 20 && strncasecmp((const char *)q, "content-disposition:", 20) == 0) {
					cd = q;
					hl = ll;
					break;
				}
				if (!le)
					break;
				q = le + 2;
			}
		}
		p = next;
		if (!cd || !header_param((const char *)cd, hl, "name", name, sizeof(name)))
			continue;
		/* filename= (even empty) marks a file part; its name is never read. */
		is_file = memmem(cd, hl, "filename=", 9) != NULL || memmem(cd, hl, "filename*=", 10);
		if (!anon_name_ok(name, strlen(name))) {
			cnt->dropped_names++;
			continue;
		}
		child = doc_map_get(props, name, lim->max_fields, &cut);
		if (cut)
			cnt->limit_fields++;
		if (!child)
			continue;
		if (is_file) {
			doc_countk(child, "n", 1);
			doc_set_add_static(child, "types", "string", 8);
			doc_set_add_static(child, "formats", "binary", 32);
		} else {
			const unsigned char *vs = he + 4;
			const unsigned char *ve = next ? next : end;

			if (ve - vs >= 2 && ve[-2] == '\r' && ve[-1] == '\n')
				ve -= 2;
			value_node(child, (const char *)vs, ve > vs ? (size_t)(ve - vs) : 0);
		}
		name_class(child, name);
	}
	return 0;
}

/* ---- content encodings ------------------------------------------------------- */

#include <zlib.h>

static int inflate_mode(const unsigned char *in, size_t len, size_t cap, int wbits,
			unsigned char **out, size_t *out_len)
{
	z_stream z;
	unsigned char *buf;
	size_t have = 0, alloc = len * 4 + 256;
	int rc, ret = 0;

	if (alloc > cap)
		alloc = cap;
	buf = malloc(alloc + 1);
	if (!buf)
		return -ENOMEM;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, wbits) != Z_OK) {
		free(buf);
		return -ENOMEM;
	}
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	for (;;) {
		if (have == alloc) {
			unsigned char *nb;

			if (alloc >= cap) {
				ret = -E2BIG;
				break;
			}
			alloc = alloc * 2 > cap ? cap : alloc * 2;
			nb = realloc(buf, alloc + 1);
			if (!nb) {
				ret = -ENOMEM;
				break;
			}
			buf = nb;
		}
		z.next_out = buf + have;
		z.avail_out = (uInt)(alloc - have);
		rc = inflate(&z, Z_NO_FLUSH);
		have = alloc - z.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK || (z.avail_in == 0 && have < alloc)) {
			ret = -EINVAL;
			break;
		}
	}
	inflateEnd(&z);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[have] = '\0';
	*out = buf;
	*out_len = have;
	return 0;
}

/* The output cap, not the input size, bounds memory: a zip bomb stops at
 * cap with -E2BIG. */
int anon_inflate(const unsigned char *in, size_t len, size_t cap, unsigned char **out,
		 size_t *out_len)
{
	int rc = inflate_mode(in, len, cap, 15 + 32, out, out_len);

	if (rc == -EINVAL)
		rc = inflate_mode(in, len, cap, -15, out, out_len);
	return rc;
}

/* ---- headers and auth ------------------------------------------------------ */

/* Request headers that are protocol plumbing, not API parameters (OpenAPI
 * also forbids Accept, Content-Type and Authorization as parameters). */
static const char *const req_skip[] = {
	"accept", "accept-encoding", "accept-language", "authorization", "cache-control",
	"connection", "content-encoding", "content-length", "content-type", "cookie", "dnt",
	"expect", "forwarded", "grpc-accept-encoding", "grpc-encoding", "grpc-timeout", "host", "if-match", "if-modified-since", "if-none-match",
	"keep-alive", "origin", "pragma", "priority", "proxy-authorization", "proxy-connection",
	"referer", "te", "trailer", "transfer-encoding", "upgrade", "upgrade-insecure-requests",
	"user-agent", "via", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
	"x-real-ip", NULL,
};

static const char *const resp_skip[] = {
	"age", "cache-control", "connection", "content-encoding", "content-length", "content-type",
	"date", "etag", "expires", "grpc-accept-encoding", "grpc-encoding", "grpc-message",
	"grpc-status", "keep-alive", "last-modified", "pragma", "server", "set-cookie",
	"transfer-encoding", "vary", "via", NULL,
};

/* Header names that carry an API key. */
static const char *const key_headers[] = {
	"api-key", "apikey", "x-api-key", "x-apikey", "x-api-token", "x-auth-token",
	"x-access-token", "x-token", "x-auth", "x-session-token", "private-token",
	"x-goog-api-key", "ocp-apim-subscription-key", "x-csrf-token", NULL,
};

/* Query parameter names that carry an API key or token. */
static const char *const key_queries[] = {
	"api_key", "apikey", "api-key", "key", "access_token", "token", "auth", "auth_token",
	"apitoken", "api_token", "sig", "signature", "code", NULL,
};

/* The lists are lowercase: most entries are passed over on their first
 * byte, without a strcasecmp call (every header meets two lists). */
static int in_list(const char *const *l, const char *s)
{
	int c = tolower((unsigned char)s[0]);

	for (; *l; l++)
		if ((*l)[0] == c && strcasecmp(*l, s) == 0)
			return 1;
	return 0;
}

static int key_header(const char *lname)
{
	return in_list(key_headers, lname) || strstr(lname, "api-key") || strstr(lname, "apikey") ||
	       strstr(lname, "api_key");
}

static int session_cookie(const char *name)
{
	char l[ANON_MAX_NAME + 1];
	size_t i;

	for (i = 0; i < ANON_MAX_NAME && name[i]; i++)
		l[i] = (char)tolower((unsigned char)name[i]);
	l[i] = '\0';
	return strstr(l, "sess") || strstr(l, "sid") || strstr(l, "auth") || strstr(l, "token") ||
	       strstr(l, "jwt") || strstr(l, "login");
}

/* JWT by shape: three base64url parts, the first starting "eyJ". */
static int jwt_shape(const char *s, size_t n)
{
	size_t i, dots = 0;

	if (n < 10 || strncmp(s, "eyJ", 3) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.')
			dots++;
		else if (!(isalnum((unsigned char)c) || c == '-' || c == '_' || c == '='))
			return 0;
	}
	return dots == 2;
}

static void auth_add(cJSON *auth, const char *kind, const char *name)
{
	char key[ANON_MAX_NAME + 40];

	/* A kind alone (short, fixed words) is its own key: no copy. */
	if (!name) {
		if (!json_get(auth, kind))
			cJSON_AddNumberToObject(auth, kind, 1);
		return;
	}
	snprintf(key, sizeof(key), "%s:%s", kind, name);
	if (!json_get(auth, key))
		cJSON_AddNumberToObject(auth, key, 1);
}

/* Authorization: the scheme word decides the kind; the credential after it
 * is only tested for JWT shape. */
static void authorization(cJSON *auth, const char *v)
{
	size_t sl = 0, n = strlen(v);
	const char *cred;
	char kind[40];

	while (v[sl] && v[sl] != ' ')
		sl++;
	cred = v + sl;
	while (*cred == ' ')
		cred++;
	if (sl == 6 && strncasecmp(v, "bearer", 6) == 0) {
		size_t cl = n - (size_t)(cred - v);

		auth_add(auth, jwt_shape(cred, cl) || detect_value(cred, cl) == DC_JWT ? "bearer_jwt" :
											  "bearer",
			 NULL);
	} else if (sl == 5 && strncasecmp(v, "basic", 5) == 0) {
		auth_add(auth, "basic", NULL);
	} else if (*cred && sl > 0 && sl <= 20) {
		size_t i;

		for (i = 0; i < sl; i++)
			if (!isalpha((unsigned char)v[i]) && v[i] != '-')
				break;
		if (i == sl) {
			snprintf(kind, sizeof(kind), "http_");
			for (i = 0; i < sl; i++)
				kind[5 + i] = (char)tolower((unsigned char)v[i]);
			kind[5 + sl] = '\0';
			if (!detect_is_value_like(kind + 5, sl)) {
				auth_add(auth, kind, NULL);
				return;
			}
		}
		auth_add(auth, "http_other", NULL);
	} else {
		auth_add(auth, "http_other", NULL);
	}
}

static void lower_copy(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

struct param_ctx {
	cJSON *params; /* the location's map */
	cJSON *auth;
	const char *auth_kind; /* "apikey_query" / "cookie" */
	const struct anon_limits *lim;
	struct anon_counters *cnt;
	int cookie;
};

/* A value that looks like a credential: a detector's token class, or a
 * long value-shaped string (16 bytes or more, no spaces). */
static int credential_like(const char *v, size_t n)
{
	switch (detect_value(v, n)) {
	case DC_JWT:
	case DC_TOKEN:
	case DC_AWS_KEY:
	case DC_GITHUB_TOKEN:
	case DC_STRIPE_KEY:
	case DC_SLACK_TOKEN:
		return 1;
	default:
		break;
	}
	return n >= 16 && !memchr(v, ' ', n) && anon_value_shaped(v, n);
}

static void param_pair(void *arg, const char *name, size_t nl, const char *val, size_t vl)
{
	struct param_ctx *p = arg;
	cJSON *child;
	int cut = 0;

	if (!anon_name_ok(name, nl)) {
		p->cnt->dropped_names++;
		return;
	}
	if (p->auth && p->cookie && session_cookie(name)) {
		auth_add(p->auth, p->auth_kind, name);
		return;
	}
	/* A query parameter named like a key ("token", "key") is a parameter
	 * as any other; it is also an API key scheme only when its value
	 * looks like a credential. */
	if (p->auth && !p->cookie && in_list(key_queries, name) && credential_like(val, vl))
		auth_add(p->auth, p->auth_kind, name);
	if (!p->params)
		return;
	child = doc_map_get(p->params, name, p->lim->max_fields, &cut);
	if (cut)
		p->cnt->limit_fields++;
	if (!child)
		return;
	/* A repeated name counts once per exchange. */
	if (json_get(child, "n"))
		return;
	value_node(child, val, vl);
	name_class(child, name);
}

/* The media type without parameters, lowercased; "none" when absent and
 * "application/octet-stream" when it is not a plain type/subtype. */
static void media_type(const char *ct, char *out, size_t outlen)
{
	size_t i, k, o = 0, slash = 0, digits;

	if (!ct) {
		snprintf(out, outlen, "none");
		return;
	}
	while (*ct == ' ')
		ct++;
	for (i = 0; ct[i] && ct[i] != ';' && ct[i] != ' ' && o + 1 < outlen; i++) {
		char c = (char)tolower((unsigned char)ct[i]);

		if (c == '/')
			slash++;
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
			   c == '-' || c == '_'))
			break;
		out[o++] = c;
	}
	out[o] = '\0';
	/* Media types are words: a type/subtype with many digits is no
	 * registered type and may carry a value, so it is not kept. */
	for (k = 0, digits = 0; k < o; k++)
		digits += out[k] >= '0' && out[k] <= '9';
	if ((ct[i] && ct[i] != ';' && ct[i] != ' ') || slash != 1 || o < 3 || out[0] == '/' ||
	    out[o - 1] == '/' || o > 80 || digits > 3)
		snprintf(out, outlen, "application/octet-stream");
}

/* Body: size always; schema when we can decode it (JSON, forms). */
static void body_obs(cJSON *bodies, const struct as_message *msg, const struct anon_limits *lim,
		     struct anon_counters *cnt)
{
	const char *ct = as_msg_header(msg, "content-type");
	const char *ce = as_msg_header(msg, "content-encoding");
	char mt[128];
	cJSON *b, *schema, *size;
	const unsigned char *data = msg->body;
	size_t dlen = msg->body_len, i;
	unsigned char *inflated = NULL;

	media_type(ct, mt, sizeof(mt));
	b = doc_obj(bodies, mt);
	if (!b)
		return;
	doc_countk(b, "count", 1);
	size = doc_objk(b, "size");
	doc_countk(size, "min", (double)msg->body_true_len);
	doc_countk(size, "max", (double)msg->body_true_len);
	doc_countk(size, "sum", (double)msg->body_true_len);
	if (!data || !dlen)
		return;
	if (msg->body_truncated) {
		cnt->body_undecoded++;
		return;
	}
	if (ce && (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "deflate") == 0 ||
		   strcasecmp(ce, "x-gzip") == 0)) {
		size_t ol = 0;

		if (anon_inflate(data, dlen, ANON_MAX_INFLATE, &inflated, &ol)) {
			cnt->body_undecoded++;
			return;
		}
		data = inflated;
		dlen = ol;
	} else if (ce && strcasecmp(ce, "identity") != 0) {
		cnt->body_undecoded++;
		return;
	}
	for (i = 0; i < dlen && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' ||
				 data[i] == '\t');
	     i++)
		;
	if (strstr(mt, "json") || (i < dlen && (data[i] == '{' || data[i] == '['))) {
		cJSON *v = json_parse_fast((const char *)data, dlen, 0);

		if (!v)
			v = cJSON_ParseWithLength((const char *)data, dlen);

		if (v) {
			schema = doc_objk(b, "schema");
			if (schema)
				anon_schema_infer(schema, v, 1, lim, cnt);
			cJSON_Delete(v);
		} else {
			cnt->body_undecoded++;
		}
	} else if (strcmp(mt, "application/x-www-form-urlencoded") == 0) {
		schema = doc_objk(b, "schema");
		if (schema)
			anon_form_infer(schema, (const char *)data, dlen, lim, cnt);
	} else if (strncmp(mt, "multipart/", 10) == 0) {
		schema = doc_objk(b, "schema");
		if (schema && anon_multipart_infer(schema, ct, data, dlen, lim, cnt)) {
			cJSON_DeleteItemFromObjectCaseSensitive(b, "schema");
			cnt->body_undecoded++;
		}
	}
	free(inflated);
}

/* ---- gRPC ----------------------------------------------------------------- */

/* application/grpc, application/grpc+proto, application/grpc;...: the
 * gRPC framing (not grpc-web, whose trailers ride in the body). */
static int is_grpc(const struct as_exchange *x)
{
	const char *ct = as_msg_header(&x->req, "content-type");

	if (!ct || strncasecmp(ct, "application/grpc", 16))
		return 0;
	return ct[16] == '\0' || ct[16] == '+' || ct[16] == ';';
}

/* "/package.Service/Method": identifiers only, kept as the literal path
 * (a method name is never a value). */
static int grpc_path_ok(const char *p, size_t n)
{
	size_t i, slash = 0, seg = 0;

	if (n < 4 || n >= ANON_MAX_TEMPLATE || p[0] != '/')
		return 0;
	for (i = 1; i < n; i++) {
		char c = p[i];

		if (c == '/') {
			if (!seg || ++slash > 1)
				return 0;
			seg = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		      (seg && ((c >= '0' && c <= '9') || (c == '.' && !slash)))))
			return 0;
		seg++;
	}
	return slash == 1 && seg > 0;
}

/* The messages of one gRPC message body into bodies (their shapes merged
 * into one schema node). Returns the number of messages, -1 when not
 * known (broken framing, or a body cut at the capture cap). */
static long grpc_body_obs(cJSON *bodies, const struct as_message *msg,
			  const struct anon_limits *lim, struct anon_counters *cnt)
{
	const char *ct = as_msg_header(msg, "content-type");
	char mt[128];
	cJSON *b, *size, *schema;
	long nmsg;
	int partial = 0;

	media_type(ct ? ct : "application/grpc", mt, sizeof(mt));
	b = doc_obj(bodies, mt);
	if (!b)
		return -1;
	doc_countk(b, "count", 1);
	size = doc_objk(b, "size");
	doc_countk(size, "min", (double)msg->body_true_len);
	doc_countk(size, "max", (double)msg->body_true_len);
	doc_countk(size, "sum", (double)msg->body_true_len);
	schema = doc_objk(b, "schema");
	nmsg = pw_grpc_messages(schema, msg->body, msg->body_len,
				as_msg_header(msg, "grpc-encoding"), lim, cnt, &partial);
	if (schema && !schema->child)
		cJSON_DeleteItemFromObjectCaseSensitive(b, "schema");
	if (nmsg < 0 || partial || msg->body_truncated) {
		cnt->body_undecoded++;
		return -1;
	}
	return nmsg;
}

/* The endpoint's "grpc" member: the call's kind by its message counts,
 * its grpc-status, the messages each way. */
static void grpc_obs(cJSON *ep, const struct as_exchange *x, long req_msgs, long resp_msgs)
{
	cJSON *g = doc_objk(ep, "grpc"), *calls;
	const char *st = x->status ? as_msg_header(&x->resp, "grpc-status") : NULL;

	if (!g)
		return;
	calls = doc_objk(g, "calls");
	if (req_msgs >= 0 && resp_msgs >= 0) {
		const char *kind = req_msgs != 1 ? (resp_msgs > 1 ? "bidi_streaming" : "client_streaming")
						 : (resp_msgs > 1 ? "server_streaming" : "unary");
		cJSON *rm = doc_objk(g, "request_messages"), *pm = doc_objk(g, "response_messages");

		doc_countk(calls, kind, 1);
		doc_countk(rm, "min", (double)req_msgs);
		doc_countk(rm, "max", (double)req_msgs);
		doc_countk(rm, "sum", (double)req_msgs);
		doc_countk(pm, "min", (double)resp_msgs);
		doc_countk(pm, "max", (double)resp_msgs);
		doc_countk(pm, "sum", (double)resp_msgs);
	} else {
		doc_countk(calls, "unknown", 1);
	}
	/* a status is a small number; anything else is not kept */
	if (st && st[0] >= '0' && st[0] <= '9' && (!st[1] || (st[1] >= '0' && st[1] <= '9' && !st[2])))
		doc_countk(doc_objk(g, "status"), st, 1);
	else if (x->status)
		doc_countk(doc_objk(g, "status"), "none", 1);
}

static void size_obs(cJSON *parent, uint64_t n)
{
	cJSON *size = doc_objk(parent, "size");

	doc_countk(size, "min", (double)n);
	doc_countk(size, "max", (double)n);
	doc_countk(size, "sum", (double)n);
}

/* A Host is identity, but one that embeds a detector match (a card number
 * or token inside a label) is not kept; an address alone is fine. */
static int host_clean_full(const char *h, size_t n)
{
	enum detect_class first = DC_NONE;
	size_t hits = detect_scan(h, n, &first), i = 0;

	if (hits > 1 || (hits == 1 && first != DC_IPV4 && first != DC_IPV6))
		return 0;
	/* Labels of 8+ bytes that look like values (ids, tokens, numbers
	 * glued to letters); all-digit labels are address parts or ports. */
	while (i < n) {
		size_t st = i, k, digits = 0;

		while (i < n && h[i] != '.' && h[i] != ':' && h[i] != '[' && h[i] != ']')
			i++;
		for (k = st; k < i; k++)
			digits += h[k] >= '0' && h[k] <= '9';
		if (i - st >= 8 && digits < i - st &&
		    (long_digit_run(h + st, i - st) || detect_is_value_like(h + st, i - st)))
			return 0;
		i++;
	}
	return 1;
}

#define ANON_HOST_CACHE 64 /* direct-mapped slots of hosts that passed */

/* Traffic comes from few hosts: hosts that passed are remembered per
 * thread (passed_before). */
static int host_clean(const char *h, size_t n)
{
	static __thread size_t lens[ANON_HOST_CACHE];
	static __thread char bufs[ANON_HOST_CACHE][ANON_MAX_HOST];

	return passed_before(lens, &bufs[0][0], ANON_HOST_CACHE, ANON_MAX_HOST, h, n,
			     host_clean_full);
}

/* A server whose Kubernetes workload is known is that workload, named as
 * in-cluster DNS names it; a client's identity says nothing about the
 * server it calls. */
static int k8s_service_name(const struct as_exchange *x, char *out, size_t outlen)
{
	if (x->role != AS_ROLE_SERVER)
		return -ENOENT;
	return k8s_doc_service_key(&x->identity, out, outlen);
}

/* Service identity: the Kubernetes workload of a server when known, else
 * the Host header when it is a host name or address, else the server's
 * address and port. */
static void service_name(const struct as_exchange *x, char *out, size_t outlen)
{
	const char *h = as_msg_header(&x->req, "host");
	const char *addr;
	uint16_t port;
	size_t i, n;

	if (k8s_service_name(x, out, outlen) == 0)
		return;
	if (h) {
		n = strlen(h);
		for (i = 0; i < n && i < ANON_MAX_HOST; i++) {
			char c = h[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' || c == '[' ||
			      c == ']'))
				break;
		}
		if (n > 0 && i == n && host_clean(h, n)) {
			lower_copy(h, out, outlen);
			return;
		}
	}
	if (x->role == AS_ROLE_CLIENT) {
		addr = x->remote_addr;
		port = x->remote_port;
	} else {
		addr = x->local_addr;
		port = x->local_port;
	}
	if (!addr[0]) {
		snprintf(out, outlen, "unknown");
		return;
	}
	if (strchr(addr, ':'))
		snprintf(out, outlen, "[%.*s]:%u", AS_ADDR_LEN, addr, port);
	else
		snprintf(out, outlen, "%.*s:%u", AS_ADDR_LEN, addr, port);
}

static int method_ok(const char *m, char *out, size_t outlen)
{
	size_t i;

	if (!m || !m[0])
		return 0;
	for (i = 0; m[i]; i++) {
		if (i + 1 >= outlen || i >= 20 || !isalpha((unsigned char)m[i]))
			return 0;
		out[i] = (char)toupper((unsigned char)m[i]);
	}
	out[i] = '\0';
	return 1;
}

int anon_observe(const struct as_exchange *x, const struct anon_limits *lim,
		 struct anon_counters *cnt, cJSON **obs)
{
	char svc_name[ANON_MAX_HOST + K8S_MAX_NAME + 72], method[24], tmpl[ANON_MAX_TEMPLATE];
	char key[ANON_MAX_TEMPLATE + 32], ts[32];
	const char *target, *q, *path;
	size_t plen, i;
	cJSON *doc = NULL, *svc, *ep, *params, *pathp, *auth, *req, *lat, *b;
	struct param_ctx pc = { .lim = lim, .cnt = cnt };
	int rc = -ENOMEM, grpc;
	long req_msgs = -1, resp_msgs = -1;

	*obs = NULL;
	if (!x || !method_ok(x->method, method, sizeof(method)) || !x->target)
		return -EINVAL;
	target = x->target;
	/* absolute-form: skip scheme://authority */
	if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
		target = strstr(target, "://") + 3;
		target = strchr(target, '/');
		if (!target)
			target = "/";
	}
	if (target[0] != '/')
		return -EINVAL;
	path = target;
	plen = strcspn(target, "?#");
	q = target[plen] == '?' ? target + plen + 1 : NULL;

	doc = cJSON_CreateObject();
	if (!doc)
		return -ENOMEM;
	cJSON_AddItemToObjectCS(doc, "schema", cJSON_CreateString(CATALOG_SCHEMA));
	service_name(x, svc_name, sizeof(svc_name));
	svc = doc_obj(doc_objk(doc, "services"), svc_name);
	if (!svc)
		goto cleanup;
	if (x->comm[0] && doc_utf8_ok((const unsigned char *)x->comm, strnlen(x->comm, AS_COMM_LEN)))
		doc_set_add(svc, "processes", x->comm, 8);
	if (x->role == AS_ROLE_SERVER && k8s_doc_add(svc, &x->identity) == -ENOMEM)
		goto cleanup;

	params = cJSON_CreateObject();
	if (!params)
		goto cleanup;
	pathp = doc_objk(params, "path");
	grpc = is_grpc(x) && grpc_path_ok(path, plen);
	if (grpc) {
		memcpy(tmpl, path, plen);
		tmpl[plen] = '\0';
	} else if (anon_template_path(path, plen, tmpl, sizeof(tmpl), pathp)) {
		cJSON_Delete(params);
		rc = -EINVAL;
		goto cleanup;
	}
	/* method is at most 20 bytes and tmpl under ANON_MAX_TEMPLATE: the
	 * key always fits, "METHOD /template". */
	{
		size_t ml = strlen(method), tl = strlen(tmpl);

		memcpy(key, method, ml);
		key[ml] = ' ';
		memcpy(key + ml + 1, tmpl, tl + 1);
	}
	ep = doc_obj(doc_objk(svc, "endpoints"), key);
	if (!ep) {
		cJSON_Delete(params);
		goto cleanup;
	}
	cJSON_AddItemToObjectCS(ep, "method", cJSON_CreateString(method));
	cJSON_AddItemToObjectCS(ep, "path", cJSON_CreateString(tmpl));
	if (x->flags & (AS_X_SAMPLED | AS_X_TALLY)) {
		/* Under a capture budget (docs/sensor-cost.md): the service's
		 * exchanges are exact (the kernel counted the skipped ones), the
		 * endpoint's count is an estimate from `sample` captured ones. */
		double w = x->weight ? (double)x->weight : 1;

		doc_countk(svc, "exchanges", w);
		doc_countk(ep, "count", w);
		doc_countk(ep, "sample", (x->flags & AS_X_TALLY) ? 0 : 1);
		if (x->flags & AS_X_TALLY) {
			/* counts only: no parameter, body or time of its own */
			cJSON_Delete(params);
			*obs = doc;
			return 0;
		}
	} else {
		doc_countk(ep, "count", 1);
	}
	if (x->req_time_ns) {
		time_format_rfc3339(x->req_time_ns, 3, ts, sizeof(ts));
		cJSON_AddItemToObjectCS(ep, "first_seen", cJSON_CreateString(ts));
		cJSON_AddItemToObjectCS(ep, "last_seen", cJSON_CreateString(ts));
	}
	cJSON_AddItemToObject(ep, "parameters", params);
	auth = doc_objk(ep, "auth");
	pc.auth = auth;

	if (q) {
		size_t ql = strcspn(q, "#");

		pc.params = doc_objk(params, "query");
		pc.auth_kind = "apikey_query";
		each_pair(q, ql, '&', param_pair, &pc);
	}
	for (i = 0; i < x->req.n_headers; i++) {
		const struct as_header *h = &x->req.headers[i];
		char lname[ANON_MAX_NAME + 1];
		size_t nl = strlen(h->name);

		if (nl == 0 || nl > ANON_MAX_NAME)
			continue;
		lower_copy(h->name, lname, sizeof(lname));
		if (strcmp(lname, "authorization") == 0) {
			authorization(auth, h->value);
			continue;
		}
		if (strcmp(lname, "cookie") == 0) {
			pc.params = doc_objk(params, "cookie");
			pc.auth_kind = "cookie";
			pc.cookie = 1;
			each_pair(h->value, strlen(h->value), ';', param_pair, &pc);
			pc.cookie = 0;
			continue;
		}
		if (in_list(req_skip, lname) || strncmp(lname, "sec-", 4) == 0)
			continue;
		if (!anon_name_ok(lname, nl)) {
			cnt->dropped_names++;
			continue;
		}
		if (key_header(lname)) {
			auth_add(auth, "apikey_header", lname);
			continue;
		}
		pc.params = doc_objk(params, "header");
		pc.auth = NULL;
		param_pair(&pc, lname, nl, h->value, strlen(h->value));
		pc.auth = auth;
	}

	req = doc_objk(ep, "request");
	size_obs(req, x->req.body_true_len);
	if (grpc)
		req_msgs = grpc_body_obs(doc_objk(req, "bodies"), &x->req, lim, cnt);
	else if (x->req.body_true_len > 0)
		body_obs(doc_objk(req, "bodies"), &x->req, lim, cnt);

	if (x->status >= 100 && x->status <= 599) {
		char st[8];
		cJSON *resp;

		st[0] = (char)('0' + x->status / 100);
		st[1] = (char)('0' + x->status / 10 % 10);
		st[2] = (char)('0' + x->status % 10);
		st[3] = '\0';
		resp = doc_obj(doc_objk(ep, "responses"), st);
		doc_countk(resp, "count", 1);
		size_obs(resp, x->resp.body_true_len);
		for (i = 0; i < x->resp.n_headers; i++) {
			const struct as_header *h = &x->resp.headers[i];
			char lname[ANON_MAX_NAME + 1];
			size_t nl = strlen(h->name);

			if (nl == 0 || nl > ANON_MAX_NAME)
				continue;
			lower_copy(h->name, lname, sizeof(lname));
			if (strcmp(lname, "set-cookie") == 0) {
				size_t cl = strcspn(h->value, ";");

				pc.params = doc_objk(resp, "cookies");
				pc.auth = NULL;
				each_pair(h->value, cl, ';', param_pair, &pc);
				pc.auth = auth;
				continue;
			}
			if (in_list(resp_skip, lname))
				continue;
			if (!anon_name_ok(lname, nl)) {
				cnt->dropped_names++;
				continue;
			}
			pc.params = doc_objk(resp, "headers");
			pc.auth = NULL;
			param_pair(&pc, lname, nl, h->value, strlen(h->value));
			pc.auth = auth;
		}
		if (grpc)
			resp_msgs = grpc_body_obs(doc_objk(resp, "bodies"), &x->resp, lim, cnt);
		else if (x->resp.body_true_len > 0)
			body_obs(doc_objk(resp, "bodies"), &x->resp, lim, cnt);
		lat = doc_objk(ep, "latency");
		doc_countk(lat, "count", 1);
		b = cJSON_AddArrayToObject(lat, "buckets");
		{
			cJSON *pair = cJSON_CreateArray();

			cJSON_AddItemToArray(pair, cJSON_CreateNumber(doc_lat_bucket(x->latency_ns)));
			cJSON_AddItemToArray(pair, cJSON_CreateNumber(1));
			cJSON_AddItemToArray(b, pair);
		}
	}
	if (grpc)
		grpc_obs(ep, x, req_msgs, x->status ? resp_msgs : -1);
	/* Empty containers carry nothing: drop them so documents stay small. */
	{
		static const char *const locs[] = { "path", "query", "header", "cookie" };

		for (i = 0; i < 4; i++) {
			cJSON *l = json_get(params, locs[i]);

			if (l && !l->child)
				cJSON_DeleteItemFromObjectCaseSensitive(params, locs[i]);
		}
		if (!params->child)
			cJSON_DeleteItemFromObjectCaseSensitive(ep, "parameters");
		if (!auth->child)
			cJSON_DeleteItemFromObjectCaseSensitive(ep, "auth");
	}
	*obs = doc;
	return 0;
cleanup:
	cJSON_Delete(doc);
	return rc;
}
