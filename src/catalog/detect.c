// SPDX-License-Identifier: BSD-2-Clause
/*
 * Sensitive-data and value-shape detectors.
 *
 * Everything here is hand-written, allocation-free and copies nothing: each
 * function looks at the caller's bytes once or twice, keeps a few counters on
 * the stack and answers with a class. They run on every value of every
 * exchange, so each validator starts with a cheap profile of the value and
 * is only tried when the profile allows it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "apisonar/catalog/detect.h"

/* ---- character classes ---------------------------------------------------- */

static inline int c_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline int c_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static inline int c_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static inline int c_alpha(unsigned char c)
{
	return c_upper(c) || c_lower(c);
}

static inline int c_alnum(unsigned char c)
{
	return c_digit(c) || c_alpha(c);
}

static inline int c_hex(unsigned char c)
{
	return c_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline unsigned char c_tolower(unsigned char c)
{
	return c_upper(c) ? (unsigned char)(c + 32) : c;
}

static inline int c_b64url(unsigned char c)
{
	return c_alnum(c) || c == '-' || c == '_';
}

/* Characters an opaque token may hold: base64, base64url and the RFC 6750
 * b64token set. */
static inline int c_token(unsigned char c)
{
	return c_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '+' ||
	       c == '/' || c == '=';
}

static inline int c_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* a[0..n) equals the lowercase NUL-terminated word, ignoring ASCII case. */
static int ci_eq(const char *a, size_t n, const char *lower)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!lower[i] || c_tolower((unsigned char)a[i]) != (unsigned char)lower[i])
			return 0;
	}
	return lower[n] == '\0';
}

/* Bounded prefix test: s is not NUL-terminated. */
static int starts_with(const char *s, size_t n, const char *p, size_t pn)
{
	return n >= pn && memcmp(s, p, pn) == 0;
}

/* log2 without libm: exponent from the bits, mantissa by a short series.
 * Good to about 1e-4, which is plenty for an entropy threshold. */
static double fast_log2(double x)
{
	union {
		double d;
		uint64_t u;
	} v = { .d = x };
	int e;
	double m, t, t2;

	if (x <= 0.0)
		return 0.0;
	e = (int)((v.u >> 52) & 0x7ff) - 1023;
	v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
	m = v.d; /* [1, 2) */
	/* log2(m) = 2/ln2 * atanh((m-1)/(m+1)) */
	t = (m - 1.0) / (m + 1.0);
	t2 = t * t;
	return e + 2.8853900817779268 * t *
			   (1.0 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 + t2 / 9))));
}

/* ---- a one-pass profile of a value ---------------------------------------- */

/* Counts that decide which validators are worth trying. */
struct prof {
	size_t digit, upper, lower;
	size_t at, dot, colon, dash, under, space, plus, paren, eq, slash;
	size_t nontoken; /* bytes outside c_token() */
};

/* Byte categories for profile(): one table lookup and one increment per
 * byte. PC_OTHER (0, the default) is every byte not named here. */
enum {
	PC_OTHER = 0,
	PC_OTHER_TOKEN, /* '~' */
	PC_DIGIT, PC_UPPER, PC_LOWER, PC_DOT, PC_DASH, PC_UNDER, PC_PLUS, PC_EQ, PC_SLASH,
	PC_SPACE, PC_AT, PC_COLON, PC_PAREN,
	PC__COUNT,
};

static const unsigned char prof_cat[256] = {
	['0' ... '9'] = PC_DIGIT,
	['A' ... 'Z'] = PC_UPPER,
	['a' ... 'z'] = PC_LOWER,
	['.'] = PC_DOT, ['-'] = PC_DASH, ['_'] = PC_UNDER, ['+'] = PC_PLUS, ['='] = PC_EQ,
	['/'] = PC_SLASH, ['~'] = PC_OTHER_TOKEN, [' '] = PC_SPACE, ['@'] = PC_AT,
	[':'] = PC_COLON, ['('] = PC_PAREN, [')'] = PC_PAREN,
};

/* The one pass every value gets before any validator runs. */
static void profile(const char *s, size_t n, struct prof *p)
{
	size_t cnt[PC__COUNT] = { 0 };
	size_t i;

	for (i = 0; i < n; i++)
		cnt[prof_cat[(unsigned char)s[i]]]++;
	p->digit = cnt[PC_DIGIT];
	p->upper = cnt[PC_UPPER];
	p->lower = cnt[PC_LOWER];
	p->at = cnt[PC_AT];
	p->dot = cnt[PC_DOT];
	p->colon = cnt[PC_COLON];
	p->dash = cnt[PC_DASH];
	p->under = cnt[PC_UNDER];
	p->space = cnt[PC_SPACE];
	p->plus = cnt[PC_PLUS];
	p->paren = cnt[PC_PAREN];
	p->eq = cnt[PC_EQ];
	p->slash = cnt[PC_SLASH];
	p->nontoken = cnt[PC_SPACE] + cnt[PC_AT] + cnt[PC_COLON] + cnt[PC_PAREN] + cnt[PC_OTHER];
}

/* ---- hostnames and e-mail ------------------------------------------------- */

/* A DNS name of at least two labels whose last label is letters only. */
static int is_hostname(const char *s, size_t n)
{
	size_t i, lab = 0, labels = 0, last_start = 0;

	if (n < 4 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : '.';

		if (c == '.') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-')
				return 0;
			labels++;
			if (i < n)
				last_start = i + 1;
			lab = 0;
			continue;
		}
		if (!c_alnum(c) && c != '-')
			return 0;
		if (lab == 0 && c == '-')
			return 0;
		lab++;
	}
	if (labels < 2 || n - last_start < 2)
		return 0;
	for (i = last_start; i < n; i++) {
		if (!c_alpha((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* The atext of RFC 5322 plus the dot: what an unquoted local part holds. */
static inline int c_email_local(unsigned char c)
{
	if (c_alnum(c))
		return 1;
	switch (c) {
	case '.': case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
	case '|': case '}': case '~': case '-':
		return 1;
	default:
		return 0;
	}
}

/* local@domain: an unquoted RFC 5322 local part and a hostname. */
static int is_email(const char *s, size_t n)
{
	size_t i, at = n;

	if (n < 6 || n > 254)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '@') {
			if (at != n)
				return 0;
			at = i;
		}
	}
	if (at == n || at == 0 || at > 64 || s[0] == '.' || s[at - 1] == '.')
		return 0;
	for (i = 0; i < at; i++) {
		if (!c_email_local((unsigned char)s[i]))
			return 0;
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
	}
	return is_hostname(s + at + 1, n - at - 1);
}

/* ---- IP addresses (inet_pton semantics) ----------------------------------- */

/* Dotted quad, decimal, no leading zeros: what glibc inet_pton(AF_INET)
 * accepts. */
static int is_ipv4(const char *s, size_t n)
{
	size_t i;
	unsigned int val = 0, digits = 0, dots = 0;

	if (n < 7 || n > 15)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c_digit(c)) {
			if (digits && val == 0)
				return 0;
			val = val * 10 + (c - '0');
			if (val > 255)
				return 0;
			digits++;
		} else if (c == '.') {
			dots++;
			if (!digits || dots > 3)
				return 0;
			digits = 0;
			val = 0;
		} else {
			return 0;
		}
	}
	return digits && dots == 3;
}

/* What glibc inet_pton(AF_INET6) accepts: up to eight groups of 1-4 hex
 * digits, one "::", an optional dotted quad in the last 32 bits. */
static int is_ipv6(const char *s, size_t n)
{
	size_t i = 0, curtok;
	unsigned int groups = 0, xdigits = 0;
	int dcolon = 0;

	if (n < 2 || n > 45)
		return 0;
	if (s[0] == ':') {
		if (s[1] != ':')
			return 0;
		i = 1;
	}
	curtok = i;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c_hex(c)) {
			xdigits++;
			if (xdigits > 4)
				return 0;
			continue;
		}
		if (c == ':') {
			curtok = i + 1;
			if (!xdigits) {
				if (dcolon)
					return 0;
				dcolon = 1;
				continue;
			}
			groups++;
			if (i + 1 == n || groups > 8)
				return 0;
			xdigits = 0;
			continue;
		}
		if (c == '.' && groups + 2 <= 8) {
			if (!is_ipv4(s + curtok, n - curtok))
				return 0;
			groups += 2;
			xdigits = 0;
			break;
		}
		return 0;
	}
	if (xdigits)
		groups++;
	if (groups > 8)
		return 0;
	if (dcolon)
		return groups < 8;
	return groups == 8;
}

/* ---- numbers and payment data --------------------------------------------- */

/* Does a card of this length with these leading digits belong to a scheme
 * that issues cards? lead holds the first six digits. */
static int card_iin_ok(unsigned int lead, size_t len)
{
	unsigned int d1 = lead / 100000, d2 = lead / 10000, d3 = lead / 1000, d4 = lead / 100;

	if (d1 == 4)
		return len == 13 || len == 16 || len == 19; /* Visa */
	if ((d2 >= 51 && d2 <= 55) || (d4 >= 2221 && d4 <= 2720))
		return len == 16; /* Mastercard */
	if (d2 == 34 || d2 == 37)
		return len == 15; /* American Express */
	if ((d3 >= 300 && d3 <= 305) || d4 == 3095 || d2 == 36 || d2 == 38 || d2 == 39)
		return len >= 14 && len <= 19; /* Diners */
	if (d4 >= 3528 && d4 <= 3589)
		return len >= 16 && len <= 19; /* JCB */
	if (d4 == 6011 || (d3 >= 644 && d3 <= 649) || d2 == 65 || d2 == 62 || d2 == 60)
		return len >= 16 && len <= 19; /* Discover, UnionPay, RuPay */
	if (d4 >= 2200 && d4 <= 2204)
		return len >= 16 && len <= 19; /* Mir */
	if (d2 == 50 || (d2 >= 56 && d2 <= 58) || d2 == 63 || d2 == 67)
		return len >= 13 && len <= 19; /* Maestro */
	return 0;
}

/* 13-19 digits, optionally grouped by single spaces or dashes (one kind),
 * Luhn-valid, with a known issuer prefix. */
static int is_card(const char *s, size_t n)
{
	size_t i, digits = 0, glen = 0;
	unsigned int lead = 0, sum = 0;
	char sep = 0;
	int dbl;

	if (n < 13 || n > 40)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c_digit(c)) {
			if (digits < 6)
				lead = lead * 10 + (c - '0');
			digits++;
			glen++;
			continue;
		}
		if (c != ' ' && c != '-')
			return 0;
		if (sep && c != sep)
			return 0;
		if (glen < 3 || glen > 8 || i + 1 == n)
			return 0;
		sep = (char)c;
		glen = 0;
	}
	if (digits < 13 || digits > 19 || (sep && (glen < 3 || glen > 8)))
		return 0;
	if (!card_iin_ok(lead, digits))
		return 0;
	/* Luhn from the right: the check digit is not doubled. */
	dbl = (digits % 2) == 0;
	for (i = 0; i < n; i++) {
		unsigned int d;

		if (!c_digit((unsigned char)s[i]))
			continue;
		d = (unsigned int)(s[i] - '0');
		if (dbl) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

/* IBAN country codes with their fixed lengths (the ISO 13616 registry). */
static const char iban_countries[] =
	"AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18"
	"DO28EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HN28HR21HU28IE22IL23"
	"IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27"
	"MT31MU30NI28NL18NO15OM23PK24PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19"
	"SK24SM27SO23ST25SV28TL23TN24TR26UA29VA22VG24XK20YE30";

/* The IBAN length of a country, or 0 when the country has no IBAN. */
static int iban_len_for(char a, char b)
{
	size_t i;

	for (i = 0; i + 4 <= sizeof(iban_countries) - 1; i += 4) {
		if (iban_countries[i] == a && iban_countries[i + 1] == b)
			return (iban_countries[i + 2] - '0') * 10 + (iban_countries[i + 3] - '0');
	}
	return 0;
}

/* One IBAN character into the running mod-97 remainder (A=10 ... Z=35),
 * so the long number is never built. */
static unsigned int iban_mod_step(unsigned int rem, unsigned char c)
{
	if (c_digit(c))
		return (rem * 10 + (c - '0')) % 97;
	return (rem * 100 + (c - 'A' + 10)) % 97;
}

/* Country code, two check digits, the country's BBAN length, mod-97 == 1.
 * Printed form (groups of four separated by one space) is accepted. */
static int is_iban(const char *s, size_t n)
{
	size_t i, len = 0;
	unsigned int rem = 0;
	int want, spaced;

	if (n < 15 || n > 42)
		return 0;
	if (!c_upper((unsigned char)s[0]) || !c_upper((unsigned char)s[1]) ||
	    !c_digit((unsigned char)s[2]) || !c_digit((unsigned char)s[3]))
		return 0;
	want = iban_len_for(s[0], s[1]);
	if (!want)
		return 0;
	spaced = memchr(s, ' ', n) != NULL;
	if (spaced && n % 5 == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (spaced && i % 5 == 4) {
			if (c != ' ')
				return 0;
			continue;
		}
		if (!c_digit(c) && !c_upper(c))
			return 0;
		len++;
	}
	if ((int)len != want)
		return 0;
	if ((s[2] == '0' && s[3] < '2') || (s[2] == '9' && s[3] == '9'))
		return 0;
	for (i = 4; i < n; i++) {
		if (s[i] != ' ')
			rem = iban_mod_step(rem, (unsigned char)s[i]);
	}
	for (i = 0; i < 4; i++)
		rem = iban_mod_step(rem, (unsigned char)s[i]);
	return rem == 1;
}

/* AAA-GG-SSSS, without the ranges the SSA never issues: area 000, 666 and
 * 900-999, group 00, serial 0000. Nine bare digits are not flagged: they are
 * indistinguishable from any other integer. */
static int is_ssn(const char *s, size_t n)
{
	size_t i;
	unsigned int area, group, serial;

	if (n != 11 || s[3] != '-' || s[6] != '-')
		return 0;
	for (i = 0; i < n; i++) {
		if (i != 3 && i != 6 && !c_digit((unsigned char)s[i]))
			return 0;
	}
	area = (unsigned int)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
	group = (unsigned int)((s[4] - '0') * 10 + (s[5] - '0'));
	serial = (unsigned int)((s[7] - '0') * 1000 + (s[8] - '0') * 100 + (s[9] - '0') * 10 +
				(s[10] - '0'));
	if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
		return 0;
	return 1;
}

/*
 * Phone numbers. "+" then 8-15 digits (E.164, any grouping), or a national
 * number of 9-15 digits written with a parenthesised area code or at least
 * two separators (space, dash, dot), groups of 2-5 digits (the first may be a
 * single trunk/country digit). Bare digit strings are never phones: they are
 * ids, counts and timestamps far more often.
 */
static int is_phone(const char *s, size_t n)
{
	size_t i = 0, digits = 0, glen = 0, groups = 0, seps = 0, g[3] = { 0, 0, 0 };
	int plus = 0, parens = 0, in_paren = 0, bad_group = 0;
	char first_digit = 0, sepkind = 0;
	int mixed = 0;

	if (n < 8 || n > 26)
		return 0;
	if (s[0] == '+') {
		plus = 1;
		i = 1;
	}
	for (; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : 0;

		if (i < n && c_digit(c)) {
			if (!digits)
				first_digit = (char)c;
			digits++;
			glen++;
			continue;
		}
		if (glen) {
			if (groups < 3)
				g[groups] = glen;
			if (glen > 5 || (glen < 2 && groups > 0))
				bad_group = 1;
			groups++;
			glen = 0;
		}
		if (i == n)
			break;
		if (c == '(') {
			if (parens || (i > 0 && c_digit((unsigned char)s[i - 1])))
				return 0;
			parens = in_paren = 1;
			continue;
		}
		if (c == ')') {
			if (!in_paren || !c_digit((unsigned char)s[i - 1]))
				return 0;
			in_paren = 0;
			continue;
		}
		if (c == ' ' || c == '-' || c == '.') {
			unsigned char p;

			if (i == 0 || in_paren || i + 1 == n)
				return 0;
			p = (unsigned char)s[i - 1];
			if (!c_digit(p) && !(p == ')' && c == ' '))
				return 0;
			if (sepkind && sepkind != (char)c)
				mixed = 1;
			sepkind = (char)c;
			seps++;
			continue;
		}
		return 0;
	}
	if (in_paren || !digits || !c_digit((unsigned char)s[n - 1]))
		return 0;
	if (plus)
		return digits >= 8 && digits <= 15 && first_digit != '0';
	if (digits < 9 || digits > 15 || bad_group)
		return 0;
	if (!parens && seps < 2)
		return 0;
	if (sepkind == '.' && mixed)
		return 0;
	/* 3-2-4 is the SSN shape, and not a phone. */
	if (groups == 3 && g[0] == 3 && g[1] == 2 && g[2] == 4 && !parens)
		return 0;
	return 1;
}

/* ---- credentials with a known shape ---------------------------------------- */

enum key_body { KB_UPALNUM, KB_ALNUM, KB_ALNUM_US, KB_ALNUM_DASH };

/* A vendor credential: a fixed prefix and a body of min..max characters. */
struct key_rule {
	const char *prefix;
	unsigned char plen;
	unsigned char cls;
	unsigned char body;
	unsigned char min;
	unsigned char max; /* 0: unbounded */
};

#define KR(p, c, b, mi, ma) { p, sizeof(p) - 1, c, b, mi, ma }
static const struct key_rule key_rules[] = {
	KR("AKIA", DC_AWS_KEY, KB_UPALNUM, 16, 16),
	KR("ASIA", DC_AWS_KEY, KB_UPALNUM, 16, 16),
	KR("ghp_", DC_GITHUB_TOKEN, KB_ALNUM, 30, 0),
	KR("gho_", DC_GITHUB_TOKEN, KB_ALNUM, 30, 0),
	KR("ghu_", DC_GITHUB_TOKEN, KB_ALNUM, 30, 0),
	KR("ghs_", DC_GITHUB_TOKEN, KB_ALNUM, 30, 0),
	KR("ghr_", DC_GITHUB_TOKEN, KB_ALNUM, 30, 0),
	KR("github_pat_", DC_GITHUB_TOKEN, KB_ALNUM_US, 22, 0),
	KR("sk_live_", DC_STRIPE_KEY, KB_ALNUM, 16, 0),
	KR("sk_test_", DC_STRIPE_KEY, KB_ALNUM, 16, 0),
	KR("pk_live_", DC_STRIPE_KEY, KB_ALNUM, 16, 0),
	KR("pk_test_", DC_STRIPE_KEY, KB_ALNUM, 16, 0),
	KR("rk_live_", DC_STRIPE_KEY, KB_ALNUM, 16, 0),
	KR("rk_test_", DC_STRIPE_KEY, KB_ALNUM, 16, 0),
	KR("xoxb-", DC_SLACK_TOKEN, KB_ALNUM_DASH, 10, 0),
	KR("xoxp-", DC_SLACK_TOKEN, KB_ALNUM_DASH, 10, 0),
	KR("xoxa-", DC_SLACK_TOKEN, KB_ALNUM_DASH, 10, 0),
	KR("xoxr-", DC_SLACK_TOKEN, KB_ALNUM_DASH, 10, 0),
	KR("xoxs-", DC_SLACK_TOKEN, KB_ALNUM_DASH, 10, 0),
};
#undef KR

/* Is c in the alphabet of a key body? */
static inline int key_body_ok(unsigned char body, unsigned char c)
{
	switch (body) {
	case KB_UPALNUM: return c_upper(c) || c_digit(c);
	case KB_ALNUM: return c_alnum(c);
	case KB_ALNUM_US: return c_alnum(c) || c == '_';
	default: return c_alnum(c) || c == '-';
	}
}

/* Matches a key rule at s. Returns the matched length (prefix + body) or 0;
 * the body stops at the first byte outside its alphabet. */
static size_t key_match_at(const char *s, size_t n, enum detect_class *cls)
{
	size_t r, j;

	if (n < 14)
		return 0;
	switch (s[0]) {
	case 'A': case 'g': case 's': case 'p': case 'r': case 'x':
		break;
	default:
		return 0;
	}
	for (r = 0; r < sizeof(key_rules) / sizeof(key_rules[0]); r++) {
		const struct key_rule *k = &key_rules[r];
		size_t lim;

		if (!starts_with(s, n, k->prefix, k->plen))
			continue;
		lim = n - k->plen;
		if (k->max && lim > (size_t)k->max + 1)
			lim = (size_t)k->max + 1;
		for (j = 0; j < lim && key_body_ok(k->body, (unsigned char)s[k->plen + j]); j++)
			;
		if (j < k->min || (k->max && j > k->max))
			return 0;
		*cls = (enum detect_class)k->cls;
		return k->plen + j;
	}
	return 0;
}

/* "-----BEGIN <label>PRIVATE KEY-----" at s: RSA, EC, DSA, OPENSSH,
 * ENCRYPTED or plain PKCS#8. */
static int pem_private_at(const char *s, size_t n)
{
	static const char begin[] = "-----BEGIN ";
	static const char tail[] = "PRIVATE KEY";
	size_t i, bl = sizeof(begin) - 1, tl = sizeof(tail) - 1;

	if (!starts_with(s, n, begin, bl))
		return 0;
	for (i = bl; i < n && i < bl + 48; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '-')
			return i >= bl + tl && memcmp(s + i - tl, tail, tl) == 0 &&
			       starts_with(s + i, n - i, "-----", 5);
		if (!c_upper(c) && c != ' ' && !c_digit(c))
			return 0;
	}
	return 0;
}

/* ---- JWT ------------------------------------------------------------------- */

static inline int b64_val(unsigned char c)
{
	if (c_upper(c))
		return c - 'A';
	if (c_lower(c))
		return c - 'a' + 26;
	if (c_digit(c))
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

/* Decodes a base64url header on the fly, with no buffer: true when it is a
 * JSON object holding an "alg" member. */
static int jwt_header_ok(const char *s, size_t n)
{
	uint32_t bits = 0;
	unsigned int nbits = 0, seen_brace = 0;
	uint64_t window = 0;
	const uint64_t alg = ((uint64_t)'"' << 32) | ((uint64_t)'a' << 24) |
			     ((uint64_t)'l' << 16) | ((uint64_t)'g' << 8) | '"';
	size_t i;

	if (n < 8 || n > 4096 || n % 4 == 1)
		return 0;
	for (i = 0; i < n; i++) {
		int v = b64_val((unsigned char)s[i]);

		if (v < 0)
			return 0;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits >= 8) {
			unsigned char b;

			nbits -= 8;
			b = (unsigned char)(bits >> nbits);
			bits &= (1u << nbits) - 1;
			if (!seen_brace) {
				if (c_space(b))
					continue;
				if (b != '{')
					return 0;
				seen_brace = 1;
			}
			window = ((window << 8) | b) & 0xffffffffffULL;
			if (window == alg)
				return 1;
		}
	}
	return 0;
}

/* header.payload.signature, base64url, header decodes to {"alg":...}. The
 * signature may be empty (alg "none"). */
static int is_jwt(const char *s, size_t n)
{
	size_t i, d1 = 0, d2 = 0, dots = 0;

	if (n < 16)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			dots++;
			if (dots == 1)
				d1 = i;
			else if (dots == 2)
				d2 = i;
			else
				return 0;
		} else if (!c_b64url(c)) {
			return 0;
		}
	}
	if (dots != 2 || d2 - d1 < 3)
		return 0;
	return jwt_header_ok(s, d1);
}

/* ---- formats ---------------------------------------------------------------- */

static int is_uuid(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!c_hex((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* -?[0-9]{1,19}: what fits an int64 without a range check. */
static int is_integer(const char *s, size_t n)
{
	size_t i = 0;

	if (n && s[0] == '-')
		i = 1;
	if (i == n || n - i > 19)
		return 0;
	for (; i < n; i++) {
		if (!c_digit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* A JSON number. Sets *frac_or_exp when it has a fraction or an exponent. */
static int is_json_number(const char *s, size_t n, int *frac_or_exp)
{
	size_t i = 0, d;

	*frac_or_exp = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i == n || !c_digit((unsigned char)s[i]))
		return 0;
	if (s[i] == '0' && i + 1 < n && c_digit((unsigned char)s[i + 1]))
		return 0;
	while (i < n && c_digit((unsigned char)s[i]))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		for (d = 0; i < n && c_digit((unsigned char)s[i]); i++)
			d++;
		if (!d)
			return 0;
		*frac_or_exp = 1;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = 0; i < n && c_digit((unsigned char)s[i]); i++)
			d++;
		if (!d)
			return 0;
		*frac_or_exp = 1;
	}
	return i == n;
}

/* Two decimal digits, already checked, as a number. */
static unsigned int num2(const char *s)
{
	return (unsigned int)((s[0] - '0') * 10 + (s[1] - '0'));
}

/* Are the k bytes at s all digits? */
static int digits_at(const char *s, size_t k)
{
	size_t i;

	for (i = 0; i < k; i++) {
		if (!c_digit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* YYYY-MM-DD with a real day of that month. */
static int is_date(const char *s, size_t n)
{
	static const unsigned char mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned int y, m, d;

	if (n != 10 || s[4] != '-' || s[7] != '-' || !digits_at(s, 4) || !digits_at(s + 5, 2) ||
	    !digits_at(s + 8, 2))
		return 0;
	y = num2(s) * 100 + num2(s + 2);
	m = num2(s + 5);
	d = num2(s + 8);
	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}

/* HH:MM[:SS[.frac]] and an optional Z or +HH:MM offset; *len_used gets the
 * bytes consumed, *has_sec and *has_off what was there. */
static size_t parse_time(const char *s, size_t n, int *has_sec, int *has_off)
{
	size_t i;

	*has_sec = *has_off = 0;
	if (n < 5 || !digits_at(s, 2) || s[2] != ':' || !digits_at(s + 3, 2))
		return 0;
	if (num2(s) > 23 || num2(s + 3) > 59)
		return 0;
	i = 5;
	if (i + 3 <= n && s[i] == ':' && digits_at(s + i + 1, 2)) {
		if (num2(s + i + 1) > 60)
			return 0;
		*has_sec = 1;
		i += 3;
		if (i < n && s[i] == '.') {
			size_t d = 0;

			for (i++; i < n && c_digit((unsigned char)s[i]) && d < 9; i++)
				d++;
			if (!d)
				return 0;
		}
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		*has_off = 1;
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		if (i + 6 > n || !digits_at(s + i + 1, 2) || s[i + 3] != ':' ||
		    !digits_at(s + i + 4, 2) || num2(s + i + 1) > 23 || num2(s + i + 4) > 59)
			return 0;
		*has_off = 1;
		i += 6;
	}
	return i;
}

/* A whole value that is a time of day. */
static int is_time(const char *s, size_t n)
{
	int sec, off;

	return parse_time(s, n, &sec, &off) == n;
}

/* RFC 3339 date-time: date, T (or t or a space), full time with seconds,
 * optional fraction, Z or an offset. */
static int is_datetime(const char *s, size_t n)
{
	int sec, off;

	if (n < 20 || !is_date(s, 10) || (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return 0;
	return parse_time(s + 11, n - 11, &sec, &off) == n - 11 && sec && off;
}

/* scheme "://" then at least one byte, no spaces or controls. */
static int is_uri(const char *s, size_t n)
{
	size_t i;

	if (n < 4 || !c_alpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n && i < 32; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':')
			break;
		if (!c_alnum(c) && c != '+' && c != '-' && c != '.')
			return 0;
	}
	if (i + 3 >= n || s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/')
		return 0;
	for (i += 3; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\')
			return 0;
	}
	return 1;
}

/* >= 8 hex characters in one case, not all digits (those are integers).
 * Letters-only is allowed so "deadbeef" counts; short words such as
 * "facade" fall under the length floor. */
static int is_hex(const char *s, size_t n, const struct prof *p)
{
	size_t i;

	if (n < 8 || p->digit == n || (p->upper && p->lower) || p->digit + p->upper + p->lower != n)
		return 0;
	for (i = 0; i < n; i++) {
		if (!c_hex((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* Class of a byte for run counting: 0 upper, 1 lower, 2 digit, 3 other. */
static inline int run_class(unsigned char c)
{
	if (c_upper(c))
		return 0;
	if (c_lower(c))
		return 1;
	if (c_digit(c))
		return 2;
	return 3;
}

/* Statistics of a candidate id or token: class runs, lowercase runs,
 * letter/digit changes, uppercase letters not followed by a lowercase one,
 * Shannon entropy in bits per byte. */
struct shape {
	size_t runs, lower_runs, ld_changes, upper_bare;
	size_t vowels;     /* letters in aeiouAEIOU */
	size_t word_mass;  /* letters in one-case runs of 3 or more */
	size_t seps;       /* '-', '_', '.' */
	double entropy;
};

#define SHAPE_MAX 4096 /* bytes of a candidate looked at; tokens are shorter */
#define XLOGX_MAX 256   /* c * log2(c) is tabled below this count */

static double xlogx_tab[XLOGX_MAX];
static pthread_once_t xlogx_once = PTHREAD_ONCE_INIT;

/* c * log2(c) for small counts, so entropy costs a table lookup per
 * distinct byte. */
static void xlogx_init(void)
{
	int c;

	for (c = 1; c < XLOGX_MAX; c++)
		xlogx_tab[c] = c * fast_log2((double)c);
}

/* c * log2(c), from the table when it is there. */
static inline double xlogx(unsigned int c)
{
	return c < XLOGX_MAX ? xlogx_tab[c] : c * fast_log2((double)c);
}

/* One pass for every statistic the token and base64 tests need. */
static void shape_of(const char *s, size_t n, struct shape *sh)
{
	uint16_t cnt[128];
	unsigned char seen[128];
	size_t i, nseen = 0;
	int prev = -1;
	double acc = 0.0;
	size_t runlen = 0;

	if (n > SHAPE_MAX)
		n = SHAPE_MAX;
	pthread_once(&xlogx_once, xlogx_init);
	memset(cnt, 0, sizeof(cnt));
	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int k = run_class(c);

		if (cnt[c & 0x7f] == 0)
			seen[nseen++] = c & 0x7f;
		cnt[c & 0x7f]++;
		switch (c_tolower(c)) {
		case 'a': case 'e': case 'i': case 'o': case 'u':
			sh->vowels++;
			break;
		case '-': case '_': case '.':
			sh->seps++;
			break;
		default:
			break;
		}
		if (k != prev) {
			if (prev >= 0 && prev < 2 && runlen >= 3)
				sh->word_mass += runlen;
			runlen = 0;
			sh->runs++;
			if (k == 1)
				sh->lower_runs++;
			if (prev >= 0 && prev != 3 && k != 3 && (prev == 2 || k == 2))
				sh->ld_changes++;
		}
		if (prev == 0 && k != 1)
			sh->upper_bare++;
		prev = k;
		runlen++;
	}
	if (prev >= 0 && prev < 2 && runlen >= 3)
		sh->word_mass += runlen;
	if (prev == 0)
		sh->upper_bare++;
	for (i = 0; i < nseen; i++)
		acc += xlogx(cnt[seen[i]]);
	sh->entropy = n ? fast_log2((double)n) - acc / (double)n : 0.0;
}

/* camelCase words: long lowercase runs and nearly every capital followed by
 * a lowercase letter. Random mixed-case text rarely has both. */
static int camel_like(const struct shape *sh, const struct prof *p)
{
	return sh->lower_runs * 26 < p->lower * 10 && sh->upper_bare * 10 < p->upper * 3;
}

/* Base64 or base64url (not both), >= 16 bytes, optional '=' padding, with
 * letters and a digit or mixed case, and short class runs (which is what tells a random
 * blob from a camelCase or snake_case word). */
static int is_base64(const char *s, size_t n, const struct prof *p)
{
	size_t i, body = n, pad = 0;
	int std = 0, url = 0;
	struct shape sh;

	if (n < 16 || p->nontoken)
		return 0;
	while (body > 0 && s[body - 1] == '=' && pad < 2) {
		body--;
		pad++;
	}
	if (pad && n % 4)
		return 0;
	for (i = 0; i < body; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c_alnum(c))
			continue;
		if (c == '+' || c == '/')
			std = 1;
		else if (c == '-' || c == '_')
			url = 1;
		else
			return 0;
	}
	if (std && url)
		return 0;
	if (p->digit + p->dash + p->lower + p->upper == n) {
		/* hex with dashes is a hex id (a UUID-like), not base64 */
		for (i = 0; i < n && (c_hex((unsigned char)s[i]) || s[i] == '-'); i++)
			;
		if (i == n)
			return 0;
	}
	if (!(p->upper + p->lower) || (!p->digit && !(p->upper && p->lower)))
		return 0;
	shape_of(s, body, &sh);
	if (sh.runs * 3 < body)
		return 0;
	if (p->lower && sh.lower_runs * 3 < p->lower)
		return 0;
	return 1;
}

/* ---- opaque tokens ----------------------------------------------------------- */

/* Entropy floor for a random string of n bytes over an alphabet of a bytes:
 * 80% of what a string that long could at most show. */
static double entropy_floor(size_t n, unsigned int a)
{
	size_t m = n < a ? n : a;

	return 0.8 * fast_log2((double)m);
}

/*
 * A high-entropy opaque token: >= 20 bytes of [A-Za-z0-9-_.~+/=] with
 * letters, random-looking:
 *  - one-case hex: >= 32 bytes (shorter hex is an id such as an ObjectId);
 *  - mixed case: short runs of one class, not camelCase-like (long
 *    lowercase runs and capitals followed by lowercase), entropy over 80% of
 *    the maximum; without digits only from 24 bytes and with shorter runs;
 *  - one case with digits: no '.' or '-', at least 3 digits (10%) and
 *    max(3, n/8) letter/digit changes, entropy over the floor.
 * UUIDs, dates and numbers never reach here with letters and digits mixed.
 */
static int is_token(const char *s, size_t n, const struct prof *p)
{
	struct shape sh;
	size_t body = n, letters = p->upper + p->lower;

	if (n < 20 || p->nontoken || !letters)
		return 0;
	while (body > 0 && s[body - 1] == '=')
		body--;
	if (n - body > 3 || p->eq != n - body || is_uuid(s, n))
		return 0;
	if (p->digit && p->digit + letters == n && !(p->upper && p->lower) && is_hex(s, n, p)) {
		if (n < 32)
			return 0;
		shape_of(s, n, &sh);
		return sh.entropy >= 3.0;
	}
	shape_of(s, body, &sh);
	if (p->upper && p->lower) {
		if (sh.runs * 3 < body || camel_like(&sh, p))
			return 0;
		/* Identifiers are made of words: separators, long one-case runs
		 * and vowels at the rate of a natural language. */
		if (sh.seps > 3 && sh.seps * 10 > n)
			return 0;
		if (sh.word_mass * 100 + sh.vowels * 150 >= letters * 110 &&
		    !(n >= 32 && sh.entropy >= 0.87 * fast_log2((double)(body < 64 ? body : 64))))
			return 0;
		if (!p->digit && (n < 24 || sh.lower_runs * 2 < p->lower || sh.runs * 2 < body))
			return 0;
		return sh.entropy >= entropy_floor(body, 64);
	}
	if (n < 24 || !p->digit || p->digit + letters + (n - body) != n || p->digit < 3 ||
	    p->digit * 10 < n || sh.vowels * 100 >= letters * 35)
		return 0;
	if (sh.ld_changes < 3 || sh.ld_changes * 8 < n)
		return 0;
	return sh.entropy >= entropy_floor(body, 36);
}

/* ---- public: classes ------------------------------------------------------- */

static const char *const class_names[DC__COUNT] = {
	[DC_NONE] = "none",
	[DC_EMAIL] = "email",
	[DC_PHONE] = "phone",
	[DC_CARD] = "card",
	[DC_IBAN] = "iban",
	[DC_SSN] = "ssn",
	[DC_IPV4] = "ipv4",
	[DC_IPV6] = "ipv6",
	[DC_JWT] = "jwt",
	[DC_TOKEN] = "token",
	[DC_AWS_KEY] = "aws_key",
	[DC_GITHUB_TOKEN] = "github_token",
	[DC_STRIPE_KEY] = "stripe_key",
	[DC_SLACK_TOKEN] = "slack_token",
	[DC_PRIVATE_KEY] = "private_key",
	[DC_PASSWORD] = "password",
	[DC_SECRET] = "secret",
	[DC_PERSON_NAME] = "person_name",
	[DC_ADDRESS] = "address",
	[DC_DOB] = "dob",
};

/* Names are part of the metadata format: never rename one. */
const char *detect_class_name(enum detect_class c)
{
	if ((unsigned int)c >= DC__COUNT)
		return "none";
	return class_names[c];
}

#define VF_NO_PEM 1u /* the scan finds PEM blocks itself, across words */

/* The validators in priority order, each only when the profile allows it. */
static enum detect_class value_class(const char *s, size_t n, unsigned int flags,
				     const struct prof *pre)
{
	struct prof p;
	enum detect_class kc = DC_NONE;
	size_t i;

	if (n == 0)
		return DC_NONE;
	if (!(flags & VF_NO_PEM) && (s[0] == '-' || c_space((unsigned char)s[0]))) {
		for (i = 0; i < n && c_space((unsigned char)s[i]); i++)
			;
		if (pem_private_at(s + i, n - i))
			return DC_PRIVATE_KEY;
	}
	if (key_match_at(s, n, &kc) == n)
		return kc;
	if (pre)
		p = *pre;
	else
		profile(s, n, &p);
	if (p.dot == 2 && !p.nontoken && is_jwt(s, n))
		return DC_JWT;
	if (p.at == 1 && is_email(s, n))
		return DC_EMAIL;
	if (n == 11 && p.dash == 2 && p.digit == 9)
		return is_ssn(s, n) ? DC_SSN : DC_NONE;
	if (p.dot == 3 && p.digit + 3 == n)
		return is_ipv4(s, n) ? DC_IPV4 : (is_phone(s, n) ? DC_PHONE : DC_NONE);
	if (p.colon >= 2 && is_ipv6(s, n))
		return DC_IPV6;
	if (p.digit >= 13 && p.digit + p.space + p.dash == n && is_card(s, n))
		return DC_CARD;
	if (n >= 15 && p.upper >= 2 && p.digit >= 2 && p.upper + p.digit + p.space == n &&
	    is_iban(s, n))
		return DC_IBAN;
	if (p.digit >= 8 && p.digit + p.space + p.dash + p.dot + p.paren + p.plus == n &&
	    is_phone(s, n))
		return DC_PHONE;
	if (is_token(s, n, &p))
		return DC_TOKEN;
	return DC_NONE;
}

/* The anonymizer asks this of every value it sees. */
enum detect_class detect_value(const char *s, size_t n)
{
	if (!s)
		return DC_NONE;
	return value_class(s, n, 0, NULL);
}

/* ---- public: formats --------------------------------------------------------- */

static const char *const format_names[DF__COUNT] = {
	[DF_NONE] = "",
	[DF_BOOL] = "boolean",
	[DF_INTEGER] = "integer",
	[DF_NUMBER] = "number",
	[DF_UUID] = "uuid",
	[DF_HEX] = "hex",
	[DF_BASE64] = "byte",
	[DF_DATE] = "date",
	[DF_DATETIME] = "date-time",
	[DF_TIME] = "time",
	[DF_EMAIL] = "email",
	[DF_URI] = "uri",
	[DF_IPV4] = "ipv4",
	[DF_IPV6] = "ipv6",
	[DF_HOSTNAME] = "hostname",
};

/* JSON Schema format names where they exist, so schemas read naturally. */
const char *detect_format_name(enum detect_format f)
{
	if ((unsigned int)f >= DF__COUNT)
		return "";
	return format_names[f];
}

/* The formats in priority order, each only when the profile allows it. */
static enum detect_format format_of(const char *s, size_t n, const struct prof *p)
{
	int fe;

	if (n == 0)
		return DF_NONE;
	if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0))
		return DF_BOOL;
	if (p->digit + (s[0] == '-') == n && is_integer(s, n))
		return DF_INTEGER;
	if (p->digit && is_json_number(s, n, &fe))
		return fe ? DF_NUMBER : (p->digit > 19 ? DF_NUMBER : DF_NONE);
	if (n == 36 && p->dash == 4 && is_uuid(s, n))
		return DF_UUID;
	if (n == 10 && p->dash == 2 && is_date(s, n))
		return DF_DATE;
	if (p->colon >= 2 && n >= 20 && is_datetime(s, n))
		return DF_DATETIME;
	if (p->colon >= 1 && n <= 21 && c_digit((unsigned char)s[0]) && is_time(s, n))
		return DF_TIME;
	if (p->dot == 3 && is_ipv4(s, n))
		return DF_IPV4;
	if (p->colon >= 2 && is_ipv6(s, n))
		return DF_IPV6;
	if (p->at == 1 && is_email(s, n))
		return DF_EMAIL;
	if (p->colon && p->slash >= 2 && is_uri(s, n))
		return DF_URI;
	if (is_hex(s, n, p))
		return DF_HEX;
	if (p->dot && p->digit + p->upper + p->lower + p->dash + p->dot == n && is_hostname(s, n))
		return DF_HOSTNAME;
	if (is_base64(s, n, p))
		return DF_BASE64;
	return DF_NONE;
}

/* Schema formats and path templating both start from the shape. */
enum detect_format detect_format(const char *s, size_t n)
{
	struct prof p;

	if (!s || n == 0)
		return DF_NONE;
	profile(s, n, &p);
	return format_of(s, n, &p);
}

/* Class and format of one value with one profile pass: what the anonymizer
 * wants for every JSON leaf and parameter value. */
enum detect_class detect_value_format(const char *s, size_t n, enum detect_format *fmt)
{
	struct prof p;

	if (fmt)
		*fmt = DF_NONE;
	if (!s || n == 0)
		return DC_NONE;
	profile(s, n, &p);
	if (fmt)
		*fmt = format_of(s, n, &p);
	return value_class(s, n, 0, &p);
}

/*
 * A mixed letter/digit id: some part between '_', '-' and '.' is >= 6 bytes
 * with >= 2 letters, >= 2 digits and >= 3 letter/digit changes
 * ("a1b2c3d4e5", "8f3k2j9x"). Words with a version or a number ("v2",
 * "oauth2", "x509", "utf-8", "orders_2024") have fewer changes.
 */
static int is_mixed_id(const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i <= n; i++) {
		size_t len, letters = 0, digits = 0, changes = 0, j;
		int prev = -1;

		if (i < n && c_alnum((unsigned char)s[i]))
			continue;
		len = i - start;
		if (len >= 6) {
			for (j = start; j < i; j++) {
				int k = c_digit((unsigned char)s[j]);

				if (k)
					digits++;
				else
					letters++;
				if (prev >= 0 && prev != k)
					changes++;
				prev = k;
			}
			if (letters >= 2 && digits >= 2 && changes >= 3)
				return 1;
		}
		start = i + 1;
	}
	return 0;
}

/*
 * Path segments and object keys: a value when it has a value's format
 * (number, UUID, hex, base64, date, date-time, time, e-mail, IP), when a
 * detector matches it, or when it is a mixed letter/digit id. Hostnames,
 * URIs and booleans do not count ("index.html" has a hostname's shape).
 */
int detect_is_value_like(const char *s, size_t n)
{
	struct prof p;

	if (!s || n == 0)
		return 0;
	profile(s, n, &p);
	switch (format_of(s, n, &p)) {
	case DF_INTEGER: case DF_NUMBER: case DF_UUID: case DF_HEX: case DF_BASE64:
	case DF_DATE: case DF_DATETIME: case DF_TIME: case DF_EMAIL: case DF_IPV4: case DF_IPV6:
		return 1;
	default:
		break;
	}
	if (p.digit && p.digit + (s[0] == '-') + (p.dot <= 1 ? p.dot : 0) == n)
		return 1; /* long or odd numbers the formats refused */
	if (value_class(s, n, 0, &p) != DC_NONE)
		return 1;
	return p.digit && (p.upper || p.lower) && is_mixed_id(s, n);
}

/* ---- public: names ------------------------------------------------------------- */

#define NW_MAX 16 /* words of a name that are looked at */

struct nword {
	const char *p;
	size_t len;
	size_t slen; /* len without trailing digits ("address2" -> 7) */
};

/* Records one word and its length without trailing digits. */
static void nword_set(struct nword *w, const char *p, size_t len)
{
	w->p = p;
	w->len = len;
	while (len > 0 && c_digit((unsigned char)p[len - 1]))
		len--;
	w->slen = len;
}

/* Splits a field name into words on non-alphanumerics and camelCase
 * humps ("XMLHttpRequest" -> XML, Http, Request). Digits stay with the word
 * before them ("address2"). */
static size_t split_name(const char *s, size_t n, struct nword *w, size_t max)
{
	size_t i, nw = 0, start = 0;
	int in = 0;

	for (i = 0; i <= n && nw < max; i++) {
		unsigned char c = i < n ? (unsigned char)s[i] : 0;
		int boundary = 0;

		if (i < n && c_alnum(c)) {
			if (in && c_upper(c)) {
				unsigned char pc = (unsigned char)s[i - 1];

				if (c_lower(pc) || c_digit(pc))
					boundary = 1;
				else if (c_upper(pc) && i + 1 < n &&
					 c_lower((unsigned char)s[i + 1]))
					boundary = 1;
			}
			if (boundary) {
				nword_set(&w[nw], s + start, i - start);
				nw++;
				if (nw == max)
					break;
				start = i;
			} else if (!in) {
				start = i;
			}
			in = 1;
			continue;
		}
		if (in) {
			nword_set(&w[nw], s + start, i - start);
			nw++;
		}
		in = 0;
	}
	return nw;
}

#define NR_ANY 0
#define NR_ALONE 1u  /* the whole name is exactly this phrase */
#define NR_LAST 2u   /* the phrase ends the name */
#define NR_PLURAL 4u /* last word may take "s" / "es" */
#define NR_SUFFIX 8u /* a single word may end with it ("newpassword") */

struct name_rule {
	const char *w[3];
	unsigned char cls;
	unsigned char flags;
};

/* In priority order: the first rule that matches decides. */
static const struct name_rule name_rules[] = {
	{ { "email", "address" }, DC_EMAIL, NR_PLURAL },
	{ { "e", "mail" }, DC_EMAIL, NR_PLURAL },
	{ { "email" }, DC_EMAIL, NR_PLURAL | NR_SUFFIX },
	{ { "mail" }, DC_EMAIL, NR_LAST | NR_PLURAL },
	{ { "mac", "address" }, DC_NONE, NR_ANY },
	{ { "mac", "addr" }, DC_NONE, NR_ANY },
	{ { "ip", "address" }, DC_IPV4, NR_PLURAL },
	{ { "ip", "addr" }, DC_IPV4, NR_PLURAL },
	{ { "remote", "addr" }, DC_IPV4, NR_PLURAL },
	{ { "remote", "address" }, DC_IPV4, NR_PLURAL },
	{ { "client", "addr" }, DC_IPV4, NR_PLURAL },
	{ { "client", "address" }, DC_IPV4, NR_PLURAL },
	{ { "peer", "address" }, DC_IPV4, NR_PLURAL },
	{ { "forwarded", "for" }, DC_IPV4, NR_ANY },
	{ { "forwarded" }, DC_IPV4, NR_ALONE },
	{ { "ipv6" }, DC_IPV6, NR_PLURAL },
	{ { "ipv4" }, DC_IPV4, NR_PLURAL },
	{ { "ip" }, DC_IPV4, NR_PLURAL },
	{ { "ipaddress" }, DC_IPV4, NR_PLURAL },
	{ { "ipaddr" }, DC_IPV4, NR_PLURAL },
	{ { "clientip" }, DC_IPV4, NR_PLURAL },
	{ { "remoteip" }, DC_IPV4, NR_PLURAL },
	{ { "remoteaddr" }, DC_IPV4, NR_PLURAL },
	{ { "password" }, DC_PASSWORD, NR_PLURAL | NR_SUFFIX },
	{ { "passwd" }, DC_PASSWORD, NR_PLURAL | NR_SUFFIX },
	{ { "pwd" }, DC_PASSWORD, NR_ANY },
	{ { "pass" }, DC_PASSWORD, NR_ANY },
	{ { "passphrase" }, DC_PASSWORD, NR_PLURAL },
	{ { "passcode" }, DC_PASSWORD, NR_PLURAL },
	{ { "pin" }, DC_PASSWORD, NR_ANY },
	{ { "token" }, DC_TOKEN, NR_PLURAL | NR_SUFFIX },
	{ { "csrf" }, DC_TOKEN, NR_ANY },
	{ { "xsrf" }, DC_TOKEN, NR_ANY },
	{ { "bearer" }, DC_TOKEN, NR_ANY },
	{ { "jwt" }, DC_TOKEN, NR_PLURAL },
	{ { "secret" }, DC_SECRET, NR_PLURAL | NR_SUFFIX },
	{ { "api", "key" }, DC_SECRET, NR_PLURAL },
	{ { "apikey" }, DC_SECRET, NR_PLURAL | NR_SUFFIX },
	{ { "private", "key" }, DC_SECRET, NR_PLURAL },
	{ { "privatekey" }, DC_SECRET, NR_PLURAL },
	{ { "access", "key" }, DC_SECRET, NR_PLURAL },
	{ { "accesskey" }, DC_SECRET, NR_PLURAL },
	{ { "signing", "key" }, DC_SECRET, NR_PLURAL },
	{ { "encryption", "key" }, DC_SECRET, NR_PLURAL },
	{ { "master", "key" }, DC_SECRET, NR_PLURAL },
	{ { "auth" }, DC_SECRET, NR_ANY },
	{ { "authorization" }, DC_SECRET, NR_ANY },
	{ { "credential" }, DC_SECRET, NR_PLURAL },
	{ { "creds" }, DC_SECRET, NR_ANY },
	{ { "cookie" }, DC_SECRET, NR_PLURAL },
	{ { "session" }, DC_SECRET, NR_PLURAL },
	{ { "sessionid" }, DC_SECRET, NR_PLURAL | NR_SUFFIX },
	{ { "phpsessid" }, DC_SECRET, NR_ANY },
	{ { "otp" }, DC_SECRET, NR_ANY },
	{ { "card", "number" }, DC_CARD, NR_PLURAL },
	{ { "card", "num" }, DC_CARD, NR_PLURAL },
	{ { "card", "no" }, DC_CARD, NR_ANY },
	{ { "cardnumber" }, DC_CARD, NR_PLURAL | NR_SUFFIX },
	{ { "cardnum" }, DC_CARD, NR_ANY },
	{ { "credit", "card" }, DC_CARD, NR_PLURAL },
	{ { "creditcard" }, DC_CARD, NR_PLURAL },
	{ { "debit", "card" }, DC_CARD, NR_PLURAL },
	{ { "cc", "number" }, DC_CARD, NR_ANY },
	{ { "cc", "num" }, DC_CARD, NR_ANY },
	{ { "ccnum" }, DC_CARD, NR_ANY },
	{ { "ccnumber" }, DC_CARD, NR_ANY },
	{ { "cc" }, DC_CARD, NR_ALONE },
	{ { "pan" }, DC_CARD, NR_ALONE },
	{ { "pan", "number" }, DC_CARD, NR_ANY },
	{ { "cvv" }, DC_CARD, NR_ANY },
	{ { "cvc" }, DC_CARD, NR_ANY },
	{ { "security", "code" }, DC_CARD, NR_ANY },
	{ { "iban" }, DC_IBAN, NR_PLURAL },
	{ { "ssn" }, DC_SSN, NR_PLURAL },
	{ { "social", "security" }, DC_SSN, NR_ANY },
	{ { "phone" }, DC_PHONE, NR_PLURAL | NR_SUFFIX },
	{ { "mobile" }, DC_PHONE, NR_ALONE },
	{ { "mobile", "number" }, DC_PHONE, NR_PLURAL },
	{ { "mobile", "no" }, DC_PHONE, NR_ANY },
	{ { "tel" }, DC_PHONE, NR_LAST },
	{ { "tel", "number" }, DC_PHONE, NR_PLURAL },
	{ { "telephone" }, DC_PHONE, NR_PLURAL },
	{ { "msisdn" }, DC_PHONE, NR_ANY },
	{ { "fax" }, DC_PHONE, NR_PLURAL },
	{ { "birth" }, DC_DOB, NR_ANY },
	{ { "dob" }, DC_DOB, NR_ANY },
	{ { "birthday" }, DC_DOB, NR_PLURAL },
	{ { "birthdate" }, DC_DOB, NR_PLURAL },
	{ { "address" }, DC_ADDRESS, NR_PLURAL },
	{ { "street" }, DC_ADDRESS, NR_PLURAL },
	{ { "city" }, DC_ADDRESS, NR_ANY },
	{ { "zip" }, DC_ADDRESS, NR_ANY },
	{ { "zipcode" }, DC_ADDRESS, NR_PLURAL },
	{ { "postal", "code" }, DC_ADDRESS, NR_PLURAL },
	{ { "postalcode" }, DC_ADDRESS, NR_PLURAL },
	{ { "postcode" }, DC_ADDRESS, NR_PLURAL },
	{ { "post", "code" }, DC_ADDRESS, NR_PLURAL },
	{ { "name" }, DC_PERSON_NAME, NR_ALONE },
	{ { "first", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "last", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "full", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "given", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "family", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "middle", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "maiden", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "display", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "legal", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "customer", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "contact", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "holder", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "cardholder", "name" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "cardholder" }, DC_PERSON_NAME, NR_ANY },
	{ { "firstname" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "lastname" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "fullname" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "givenname" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "familyname" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "middlename" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "surname" }, DC_PERSON_NAME, NR_PLURAL },
	{ { "forename" }, DC_PERSON_NAME, NR_PLURAL },
};

/* A word of a meta list, with its length. */
struct mword {
	const char *w;
	size_t len;
};
#define MW(x) { x, sizeof(x) - 1 }

/* A last word that says the field is about the data, not the data:
 * "token_type", "password_policy", "email_verified". */
static const struct mword meta_last[] = {
	MW("type"), MW("types"), MW("count"), MW("len"), MW("length"), MW("size"), MW("expires"),
	MW("expiry"), MW("expiration"), MW("exp"), MW("ttl"), MW("url"), MW("uri"),
	MW("endpoint"), MW("format"), MW("hint"), MW("policy"), MW("required"), MW("enabled"),
	MW("disabled"), MW("verified"), MW("confirmed"), MW("changed"), MW("updated"),
	MW("created"), MW("at"), MW("on"), MW("set"), MW("valid"), MW("validated"),
	MW("strength"), MW("version"), MW("kind"), MW("status"), MW("mode"), MW("scheme"),
	MW("style"), MW("method"), MW("methods"), MW("duration"), MW("timeout"), MW("template"),
	MW("provider"), MW("label"), MW("prefix"), MW("suffix"), MW("algorithm"), MW("alg"),
	MW("field"), MW("fields"), MW("flag"), MW("optional"), MW("visible"), MW("limit"),
	MW("rules"), MW("reset"), MW("sent"), MW("attempts"), MW("retries"),
};

/* A first word that makes the field a flag or a count. */
static const struct mword meta_first[] = {
	MW("is"), MW("has"), MW("num"), MW("max"), MW("min"), MW("allow"), MW("enable"),
	MW("require"), MW("use"), MW("show"), MW("should"), MW("can"),
};

/* Is the word, as a whole, one of the list? */
static int in_list(const struct nword *w, const struct mword *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (list[i].len == w->len && ci_eq(w->p, w->len, list[i].w))
			return 1;
	}
	return 0;
}

/* Word against a root: equal, or with trailing digits ("address2"), or
 * plural when allowed, or ending with it when allowed. */
static int word_is(const struct nword *w, const char *root, size_t rl, unsigned int flags,
		   int single)
{
	size_t len = w->slen > rl ? w->slen : (w->len > rl ? rl : w->len);

	/* Most rules fail on the length or the first letter. */
	if (!((flags & NR_SUFFIX) && single)) {
		if (len < rl || len > rl + 2 || (len != rl && !(flags & NR_PLURAL)))
			return 0;
		if (c_tolower((unsigned char)w->p[0]) != (unsigned char)root[0])
			return 0;
	}
	if (len == rl && ci_eq(w->p, len, root))
		return 1;
	if (flags & NR_PLURAL) {
		if (len == rl + 1 && c_tolower((unsigned char)w->p[rl]) == 's' &&
		    ci_eq(w->p, rl, root))
			return 1;
		if (len == rl + 2 && c_tolower((unsigned char)w->p[rl]) == 'e' &&
		    c_tolower((unsigned char)w->p[rl + 1]) == 's' && ci_eq(w->p, rl, root))
			return 1;
	}
	if ((flags & NR_SUFFIX) && single && len > rl) {
		size_t k = len - rl;

		if (ci_eq(w->p + k, rl, root))
			return 1;
		if ((flags & NR_PLURAL) && len > rl + 1 &&
		    c_tolower((unsigned char)w->p[len - 1]) == 's' &&
		    ci_eq(w->p + k - 1, rl, root))
			return 1;
	}
	return 0;
}

#define NR_COUNT (sizeof(name_rules) / sizeof(name_rules[0]))
#define NR_BUCKET_MAX 40 /* rules sharing a first letter */

/* Rules indexed by the first letter of their first word, in priority order,
 * the rules that may match as a suffix of a single word, and the length of
 * every rule word. Built once, on first use, so a lookup tries a handful of
 * rules instead of all of them. */
static unsigned char nr_bucket[26][NR_BUCKET_MAX];
static unsigned char nr_bucket_n[26];
static unsigned char nr_suffix[NR_BUCKET_MAX];
static unsigned char nr_suffix_n;
static unsigned char nr_words[NR_COUNT];
static unsigned char nr_wlen[NR_COUNT][3];
static int nr_indexed; /* 0: a table did not fit, walk every rule */
static pthread_once_t nr_once = PTHREAD_ONCE_INIT;

/* Fills the index above; pthread_once runs it once per process. */
static void name_index_init(void)
{
	size_t r;

	for (r = 0; r < NR_COUNT; r++) {
		unsigned char k = 0;

		while (k < 3 && name_rules[r].w[k]) {
			nr_wlen[r][k] = (unsigned char)strlen(name_rules[r].w[k]);
			k++;
		}
		nr_words[r] = k;
	}
	for (r = 0; r < NR_COUNT; r++) {
		const struct name_rule *nr = &name_rules[r];
		unsigned int l = (unsigned char)nr->w[0][0] - 'a';

		if (l >= 26 || nr_bucket_n[l] >= NR_BUCKET_MAX)
			return;
		nr_bucket[l][nr_bucket_n[l]++] = (unsigned char)r;
		if (nr->flags & NR_SUFFIX) {
			if (nr_suffix_n >= NR_BUCKET_MAX)
				return;
			nr_suffix[nr_suffix_n++] = (unsigned char)r;
		}
	}
	nr_indexed = 1;
}

/* Does rule r match the words starting at w[i]? */
static int rule_matches_at(size_t r, const struct nword *w, size_t nw, size_t i)
{
	const struct name_rule *nr = &name_rules[r];
	size_t k = nr_words[r], j;

	if (i + k > nw || ((nr->flags & NR_ALONE) && (k != nw || i != 0)) ||
	    ((nr->flags & NR_LAST) && i + k != nw))
		return 0;
	for (j = 0; j < k; j++) {
		unsigned int f = (j + 1 == k) ? nr->flags : 0;

		if (!word_is(&w[i + j], nr->w[j], nr_wlen[r][j], f & ~NR_SUFFIX, 0))
			return 0;
	}
	return 1;
}

/* Rule r matching a single-word name as a suffix ("newpassword"). */
static int rule_suffix(size_t r, const struct nword *w)
{
	const struct name_rule *nr = &name_rules[r];

	return (nr->flags & NR_SUFFIX) && word_is(w, nr->w[0], nr_wlen[r][0], nr->flags, 1);
}

/* The class a field or parameter name implies, by whole words. */
enum detect_class detect_name(const char *s, size_t n)
{
	struct nword w[NW_MAX];
	size_t nw, r, i, best = NR_COUNT;

	if (!s || n == 0)
		return DC_NONE;
	pthread_once(&nr_once, name_index_init);
	nw = split_name(s, n, w, NW_MAX);
	if (nw == 0)
		return DC_NONE;
	if (nw > 1 && (in_list(&w[nw - 1], meta_last, sizeof(meta_last) / sizeof(meta_last[0])) ||
		       in_list(&w[0], meta_first, sizeof(meta_first) / sizeof(meta_first[0]))))
		return DC_NONE;
	if (!nr_indexed) {
		for (r = 0; r < NR_COUNT && best == NR_COUNT; r++) {
			for (i = 0; i < nw; i++) {
				if (rule_matches_at(r, w, nw, i) ||
				    (nw == 1 && rule_suffix(r, &w[0]))) {
					best = r;
					break;
				}
			}
		}
		return best < NR_COUNT ? (enum detect_class)name_rules[best].cls : DC_NONE;
	}
	for (i = 0; i < nw; i++) {
		unsigned int l = c_tolower((unsigned char)w[i].p[0]) - 'a';
		size_t b;

		if (l >= 26)
			continue;
		for (b = 0; b < nr_bucket_n[l] && nr_bucket[l][b] < best; b++) {
			if (rule_matches_at(nr_bucket[l][b], w, nw, i)) {
				best = nr_bucket[l][b];
				break;
			}
		}
	}
	if (nw == 1) {
		for (i = 0; i < nr_suffix_n && nr_suffix[i] < best; i++) {
			if (rule_suffix(nr_suffix[i], &w[0])) {
				best = nr_suffix[i];
				break;
			}
		}
	}
	return best < NR_COUNT ? (enum detect_class)name_rules[best].cls : DC_NONE;
}

/* ---- public: the scan ------------------------------------------------------------ */

/* Bytes that end a word in serialized JSON or free text. '/', '.', '-', '_',
 * '+', '@' stay inside words: they are part of tokens, e-mails and numbers. */
static const unsigned char scan_delim_tab[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\f'] = 1, ['\v'] = 1, ['"'] = 1,
	['\''] = 1, [','] = 1, [';'] = 1, [':'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1,
	['('] = 1, [')'] = 1, ['<'] = 1, ['>'] = 1, ['\\'] = 1, ['&'] = 1, ['='] = 1, ['?'] = 1,
	['|'] = 1, ['`'] = 1, ['!'] = 1, ['#'] = 1, ['*'] = 1, ['^'] = 1, [0] = 1,
};

/* Does c end a word for the scan? */
static inline int scan_delim(unsigned char c)
{
	return scan_delim_tab[c];
}

struct scan_state {
	unsigned int mask;
	size_t count;  /* matches of the classes asked for */
	size_t found;  /* matches of any class */
	enum detect_class first;
};

/* Counts a match when its class is asked for. */
static void scan_hit(struct scan_state *st, enum detect_class c)
{
	st->found++;
	if (!(st->mask & (1u << c)))
		return;
	if (!st->count)
		st->first = c;
	st->count++;
}

#define SCAN_JWT_TRIES 4 /* "eyJ" starts tried per word, to stay linear */

/* Prefixed credentials and JWTs glued inside a longer word
 * ("tokenAKIA...", "Bearer%20eyJ..."). Each match is skipped past. */
static void scan_substrings(struct scan_state *st, const char *w, size_t n)
{
	size_t i = 0, jwt_tries = 0;

	while (i + 14 <= n) {
		enum detect_class kc = DC_NONE;
		size_t m;

		if (w[i] == 'e' && w[i + 1] == 'y' && w[i + 2] == 'J' &&
		    jwt_tries < SCAN_JWT_TRIES) {
			size_t e = i;

			jwt_tries++;
			while (e < n && (c_b64url((unsigned char)w[e]) || w[e] == '.'))
				e++;
			if (is_jwt(w + i, e - i)) {
				scan_hit(st, DC_JWT);
				i = e;
				continue;
			}
		}
		m = key_match_at(w + i, n - i, &kc);
		if (m) {
			scan_hit(st, kc);
			i += m;
			continue;
		}
		i++;
	}
}

/* Tests one word: whole (and without a sentence's final dot), then for
 * glued credentials. checked says the whole word was already tested.
 * Returns whether anything was found, counted or not. */
static int scan_word_whole(struct scan_state *st, const char *w, size_t n, int checked)
{
	enum detect_class c = DC_NONE;
	size_t before = st->found;

	if (n < 6)
		return 0;
	if (!checked)
		c = value_class(w, n, VF_NO_PEM, NULL);
	if (c == DC_NONE && w[n - 1] == '.')
		c = value_class(w, n - 1, VF_NO_PEM, NULL);
	if (c != DC_NONE) {
		scan_hit(st, c);
		return 1;
	}
	if (n >= 14)
		scan_substrings(st, w, n);
	return st->found != before;
}

/* A word with '/' may be a path that still holds a value
 * ("/users/john.doe@example.com/orders"): its segments are tested first,
 * and the whole word only when no segment matched (a base64 token holds
 * '/' too). */
static void scan_word(struct scan_state *st, const char *w, size_t n, int checked)
{
	if (n >= 6 && memchr(w, '/', n)) {
		size_t i = 0;
		int any = 0;

		while (i < n) {
			size_t start;

			while (i < n && w[i] == '/')
				i++;
			start = i;
			while (i < n && w[i] != '/')
				i++;
			if (start > 0 || i < n)
				any |= scan_word_whole(st, w + start, i - start, 0);
		}
		if (any)
			return;
	}
	scan_word_whole(st, w, n, checked);
}

/* Can a byte be part of a number written with spaces? */
static inline int span_char(unsigned char c)
{
	return c_digit(c) || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+';
}

/*
 * Numbers written with spaces inside free text span several words:
 * "card 4111 1111 1111 1111", "call +1 (415) 555-2671", "GB82 WEST 1234
 * 5698 7654 32". Such spans are tested whole. Only cards, SSNs, IBANs and
 * phones that start with '+' or '(' count here: a bare run of digit groups
 * is as often a date or a list of numbers.
 */
static void scan_spans(struct scan_state *st, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t start = i, end, digits = 0, spaces = 0;

		if (c_upper(c) && i + 5 < n && (i == 0 || !c_alnum((unsigned char)s[i - 1])) &&
		    c_upper((unsigned char)s[i + 1]) && c_digit((unsigned char)s[i + 2]) &&
		    c_digit((unsigned char)s[i + 3]) && s[i + 4] == ' ') {
			int want = iban_len_for(s[i], s[i + 1]);
			size_t len = want ? (size_t)want + (size_t)(want - 1) / 4 : 0;

			if (len && i + len <= n &&
			    (i + len == n || !c_alnum((unsigned char)s[i + len])) &&
			    is_iban(s + i, len)) {
				scan_hit(st, DC_IBAN);
				i += len;
				continue;
			}
		}
		if (!c_digit(c) && c != '+' && c != '(') {
			i++;
			continue;
		}
		if (i > 0 && c_alnum((unsigned char)s[i - 1])) {
			i++;
			continue;
		}
		while (i < n && span_char((unsigned char)s[i])) {
			if (c_digit((unsigned char)s[i]))
				digits++;
			else if (s[i] == ' ')
				spaces++;
			i++;
		}
		end = i;
		while (end > start && !c_digit((unsigned char)s[end - 1]))
			end--;
		if (spaces && digits >= 8 && end - start <= 40 &&
		    memchr(s + start, ' ', end - start) &&
		    (end == n || !c_alnum((unsigned char)s[end])) && (i == n || s[i] != ':')) {
			enum detect_class k = value_class(s + start, end - start, VF_NO_PEM, NULL);

			if (k == DC_CARD || k == DC_SSN || k == DC_IBAN ||
			    (k == DC_PHONE && (s[start] == '+' || s[start] == '(')))
				scan_hit(st, k);
		}
		if (i == start)
			i++;
	}
}

/* Splits a region into words and tests each; whole_checked says the region
 * as a whole was already tested, so a word spanning all of it is not
 * tested twice. */
static void scan_words(struct scan_state *st, const char *s, size_t n, int whole_checked)
{
	size_t i = 0;

	while (i < n) {
		size_t start;

		while (i < n && scan_delim((unsigned char)s[i]))
			i++;
		start = i;
		while (i < n && !scan_delim((unsigned char)s[i]))
			i++;
		if (i > start)
			scan_word(st, s + start, i - start, whole_checked && start == 0 && i == n);
	}
	if (n >= 10 && memchr(s, ' ', n))
		scan_spans(st, s, n);
}

/* PEM private key headers anywhere in the buffer. */
static void scan_pem(struct scan_state *st, const char *buf, size_t n)
{
	const char *p = buf, *end = buf + n;

	if (!(st->mask & (1u << DC_PRIVATE_KEY)))
		return;
	while (p < end) {
		const char *q = memmem(p, (size_t)(end - p), "-----BEGIN ", 11);

		if (!q)
			break;
		if (pem_private_at(q, (size_t)(end - q)))
			scan_hit(st, DC_PRIVATE_KEY);
		p = q + 11;
	}
}

#define SCAN_LITERAL_MAX 4096 /* longer string literals are only scanned by words */

/*
 * The last guard. Each double-quoted literal is tested whole first (so
 * "(415) 555-2671" and "4111 1111 1111 1111" are seen with their spaces);
 * when it is not a match, it is split into words and each word tested, and
 * bytes outside literals are split the same way. PEM headers are found by a
 * separate substring pass. Escapes are not decoded: the serializer we guard
 * (cJSON) only escapes quotes, backslashes and control bytes.
 */
size_t detect_scan_ex(const char *buf, size_t n, unsigned int class_mask,
		      enum detect_class *first)
{
	struct scan_state st = { .mask = class_mask, .count = 0, .found = 0, .first = DC_NONE };
	size_t i = 0, out_start = 0;

	if (first)
		*first = DC_NONE;
	if (!buf || n == 0)
		return 0;
	while (i < n) {
		const char *q = memchr(buf + i, '"', n - i);
		size_t start, j;

		if (!q)
			break;
		i = (size_t)(q - buf);
		scan_words(&st, buf + out_start, i - out_start, 0);
		start = i + 1;
		/* the closing quote: the next one not escaped by an odd run of
		 * backslashes */
		for (j = start; j < n; j++) {
			const char *e = memchr(buf + j, '"', n - j);
			size_t k, bs = 0;

			if (!e) {
				j = n;
				break;
			}
			j = (size_t)(e - buf);
			for (k = j; k > start && buf[k - 1] == '\\'; k--)
				bs++;
			if (bs % 2 == 0)
				break;
		}
		if (j - start > 0) {
			enum detect_class c = DC_NONE;
			/* a literal with '/' is a path or a URL: its words and
			 * segments are tested, not the whole */
			int tested = j - start <= SCAN_LITERAL_MAX &&
				     !memchr(buf + start, '/', j - start);

			if (tested)
				c = value_class(buf + start, j - start, VF_NO_PEM, NULL);
			if (c != DC_NONE)
				scan_hit(&st, c);
			else
				scan_words(&st, buf + start, j - start, tested);
		}
		i = j + 1;
		out_start = i;
	}
	if (out_start < n)
		scan_words(&st, buf + out_start, n - out_start, 0);
	scan_pem(&st, buf, n);
	if (first)
		*first = st.first;
	return st.count;
}

/* The default guard: see DETECT_SCAN_DEFAULT_MASK in the header. */
size_t detect_scan(const char *buf, size_t n, enum detect_class *first)
{
	return detect_scan_ex(buf, n, DETECT_SCAN_DEFAULT_MASK, first);
}
