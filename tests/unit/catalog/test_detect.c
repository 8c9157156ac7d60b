// SPDX-License-Identifier: BSD-2-Clause
/*
 * Detectors: for every class and format a table of positives and hard
 * negatives with exact expected results; the scan guard against canaries
 * embedded in JSON and against a realistic clean metadata document.
 *
 * Every input is copied into a heap block of exactly its length, so ASan
 * catches a detector that reads one byte past what it was given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apisonar/catalog/detect.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct ccase {
	const char *s;
	enum detect_class want;
};

struct fcase {
	const char *s;
	enum detect_format want;
};

struct lcase {
	const char *s;
	int want;
};

/* An exact-size heap copy: no NUL after the last byte. */
static char *exact(const char *s, size_t *n)
{
	char *p;

	*n = strlen(s);
	p = malloc(*n ? *n : 1);
	assert_non_null(p);
	memcpy(p, s, *n);
	return p;
}

static void check_values(const struct ccase *t, size_t n)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		size_t len;
		char *p = exact(t[i].s, &len);
		enum detect_class got = detect_value(p, len);
		enum detect_format f1 = detect_format(p, len), f2 = DF__COUNT;

		/* the one-pass form agrees with the two calls */
		assert_int_equal(detect_value_format(p, len, &f2), got);
		assert_int_equal(f2, f1);
		assert_int_equal(detect_value_format(p, len, NULL), got);
		if (got != t[i].want) {
			print_error("detect_value(\"%s\") = %s, want %s\n", t[i].s,
				    detect_class_name(got), detect_class_name(t[i].want));
			bad++;
		}
		free(p);
	}
	assert_int_equal(bad, 0);
}

static void check_names(const struct ccase *t, size_t n)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		size_t len;
		char *p = exact(t[i].s, &len);
		enum detect_class got = detect_name(p, len);

		if (got != t[i].want) {
			print_error("detect_name(\"%s\") = %s, want %s\n", t[i].s,
				    detect_class_name(got), detect_class_name(t[i].want));
			bad++;
		}
		free(p);
	}
	assert_int_equal(bad, 0);
}

static void check_formats(const struct fcase *t, size_t n)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		size_t len;
		char *p = exact(t[i].s, &len);
		enum detect_format got = detect_format(p, len), f2 = DF__COUNT;

		assert_int_equal(detect_value_format(p, len, &f2), detect_value(p, len));
		assert_int_equal(f2, got);
		if (got != t[i].want) {
			print_error("detect_format(\"%s\") = %d (%s), want %d (%s)\n", t[i].s, got,
				    detect_format_name(got), t[i].want,
				    detect_format_name(t[i].want));
			bad++;
		}
		free(p);
	}
	assert_int_equal(bad, 0);
}

/* ---- detect_value, class by class ------------------------------------------ */

static void test_value_email(void **state)
{
	static const struct ccase t[] = {
		{ "john.doe@example.com", DC_EMAIL },
		{ "a@b.co", DC_EMAIL },
		{ "first+tag@mail.example.co.uk", DC_EMAIL },
		{ "o'brien@example.ie", DC_EMAIL },
		{ "USER_1@Example.ORG", DC_EMAIL },
		{ "john@localhost", DC_NONE },
		{ "john@", DC_NONE },
		{ "@example.com", DC_NONE },
		{ "john..doe@example.com", DC_NONE },
		{ ".john@example.com", DC_NONE },
		{ "john@example.c", DC_NONE },
		{ "john@example.123", DC_NONE },
		{ "a@b@example.com", DC_NONE },
		{ "john doe@example.com", DC_NONE },
		{ "john@-example.com", DC_NONE },
		{ "@timestamp", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

static void test_value_phone(void **state)
{
	static const struct ccase t[] = {
		{ "+14155552671", DC_PHONE },
		{ "+1 (415) 555-2671", DC_PHONE },
		{ "+44 20 7946 0958", DC_PHONE },
		{ "+33 6 12 34 56 78", DC_PHONE },
		{ "+49-30-901820", DC_PHONE },
		{ "(415) 555-2671", DC_PHONE },
		{ "415-555-2671", DC_PHONE },
		{ "415.555.2671", DC_PHONE },
		{ "415 555 2671", DC_PHONE },
		{ "06 12 34 56 78", DC_PHONE },
		{ "020 7946 0958", DC_PHONE },
		{ "1-800-555-1234", DC_PHONE },
		/* hard negatives: integers, codes, ports, years, timestamps, versions */
		{ "200", DC_NONE },
		{ "404", DC_NONE },
		{ "8080", DC_NONE },
		{ "2024", DC_NONE },
		{ "12345", DC_NONE },
		{ "4155552671", DC_NONE },
		{ "0612345678", DC_NONE },
		{ "1700000000", DC_NONE },
		{ "1700000000123", DC_NONE },
		{ "1700000000.123", DC_NONE },
		{ "1.2.3", DC_NONE },
		{ "10.15.7", DC_NONE },
		{ "2024-01-15", DC_NONE },
		{ "15.01.2024", DC_NONE },
		{ "555-1234", DC_NONE },
		{ "+0123456789", DC_NONE },
		{ "+1234567", DC_NONE },
		{ "+1234567890123456", DC_NONE },
		{ "415--555-2671", DC_NONE },
		{ "415-555-2671-", DC_NONE },
		{ "(415 555-2671", DC_NONE },
		{ "415-555 2671x", DC_NONE },
		{ ".78-05-1120", DC_NONE }, /* found by fuzzing: separator first */
		{ "-415-555-2671", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

static void test_value_card(void **state)
{
	static const struct ccase t[] = {
		{ "4111111111111111", DC_CARD },   /* Visa */
		{ "4012888888881881", DC_CARD },   /* Visa */
		{ "4222222222222", DC_CARD },      /* Visa, 13 digits */
		{ "5555555555554444", DC_CARD },   /* Mastercard */
		{ "2223003122003222", DC_CARD },   /* Mastercard 2-series */
		{ "378282246310005", DC_CARD },    /* Amex */
		{ "6011111111111117", DC_CARD },   /* Discover */
		{ "3530111333300000", DC_CARD },   /* JCB */
		{ "30569309025904", DC_CARD },     /* Diners */
		{ "6200000000000005", DC_CARD },   /* UnionPay */
		{ "4111 1111 1111 1111", DC_CARD },
		{ "4111-1111-1111-1111", DC_CARD },
		{ "3782 822463 10005", DC_CARD },
		/* Luhn-invalid */
		{ "4111111111111112", DC_NONE },
		{ "5555555555554445", DC_NONE },
		{ "378282246310006", DC_NONE },
		/* Luhn-valid but no issuer uses the prefix or the length */
		{ "1234567812345670", DC_NONE },
		{ "0000000000000000", DC_NONE },
		{ "9999999999999995", DC_NONE },
		{ "41111111111111111", DC_NONE },
		{ "37828224631000", DC_NONE },
		/* bad grouping */
		{ "4111 1111-1111 1111", DC_NONE },
		{ "4111  1111 1111 1111", DC_NONE },
		{ "41 11 11 11 11 11 11 11", DC_NONE },
		{ "4111111111111111 ", DC_NONE },
		/* long timestamps and snowflake ids */
		{ "1700000000000000000", DC_NONE },
		{ "1234567890123", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

static void test_value_iban(void **state)
{
	static const struct ccase t[] = {
		{ "GB82WEST12345698765432", DC_IBAN },
		{ "GB82 WEST 1234 5698 7654 32", DC_IBAN },
		{ "DE89370400440532013000", DC_IBAN },
		{ "DE89 3704 0044 0532 0130 00", DC_IBAN },
		{ "FR1420041010050500013M02606", DC_IBAN },
		{ "NL91ABNA0417164300", DC_IBAN },
		{ "NO9386011117947", DC_IBAN },
		/* mod-97 invalid */
		{ "DE89370400440532013001", DC_NONE },
		{ "GB83 WEST 1234 5698 7654 32", DC_NONE },
		{ "NL92ABNA0417164300", DC_NONE },
		/* wrong length for the country, unknown country, bad check digits */
		{ "DE8937040044053201300", DC_NONE },
		{ "ZZ82WEST12345698765432", DC_NONE },
		{ "GB00WEST12345698765432", DC_NONE },
		/* lower case and bad spacing */
		{ "gb82west12345698765432", DC_NONE },
		{ "GB82 WEST12345698765432", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

static void test_value_ssn(void **state)
{
	static const struct ccase t[] = {
		{ "078-05-1120", DC_SSN },
		{ "123-45-6789", DC_SSN },
		{ "665-01-0001", DC_SSN },
		{ "899-99-9999", DC_SSN },
		{ "000-12-3456", DC_NONE },
		{ "666-12-3456", DC_NONE },
		{ "900-12-3456", DC_NONE },
		{ "999-12-3456", DC_NONE },
		{ "123-00-4567", DC_NONE },
		{ "123-45-0000", DC_NONE },
		{ "123456789", DC_NONE },
		{ "123 45 6789", DC_NONE },
		{ "1234-5-6789", DC_NONE },
		{ "12a-45-6789", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

static void test_value_ip(void **state)
{
	static const struct ccase t[] = {
		{ "192.168.1.10", DC_IPV4 },
		{ "127.0.0.1", DC_IPV4 },
		{ "0.0.0.0", DC_IPV4 },
		{ "255.255.255.255", DC_IPV4 },
		{ "256.1.1.1", DC_NONE },
		{ "01.2.3.4", DC_NONE },
		{ "1.2.3", DC_NONE },
		{ "1.2.3.4.5", DC_NONE },
		{ "1..2.3", DC_NONE },
		{ "127.0.0.1:8080", DC_NONE },
		{ "2001:db8::1", DC_IPV6 },
		{ "::1", DC_IPV6 },
		{ "::", DC_IPV6 },
		{ "fe80::1ff:fe23:4567:890a", DC_IPV6 },
		{ "2001:0db8:85a3:0000:0000:8a2e:0370:7334", DC_IPV6 },
		{ "::ffff:192.0.2.128", DC_IPV6 },
		{ "1:2:3:4:5:6:7::", DC_IPV6 },
		{ "12:00:01", DC_NONE },
		{ "1:2:3:4:5:6:7:8:9", DC_NONE },
		{ "1::2::3", DC_NONE },
		{ "12345::1", DC_NONE },
		{ ":1:2", DC_NONE },
		{ "1:", DC_NONE },
		{ "[::1]", DC_NONE },
		{ "fe80::1%eth0", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

static const char jwt_hs256[] =
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
	"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

static void test_value_jwt(void **state)
{
	static const struct ccase t[] = {
		{ jwt_hs256, DC_JWT },
		/* {"alg":"none"} with an empty signature */
		{ "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", DC_JWT },
		/* Not JWTs, though still opaque high-entropy tokens. */
		/* header {"typ":"JWT"}: no alg */
		{ "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", DC_TOKEN },
		/* header not JSON */
		{ "aGVsbG8gd29ybGQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", DC_TOKEN },
		/* two parts, four parts */
		{ "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0", DC_TOKEN },
		{ "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.YQ.YQ", DC_TOKEN },
		/* too short to be anything */
		{ "eyJ9.e30.", DC_NONE },
		{ "www.example.com", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

static void test_value_keys(void **state)
{
	static const struct ccase t[] = {
		{ "AKIAIOSFODNN7EXAMPLE", DC_AWS_KEY },
		{ "ASIAY34FZKBOKMUTVV7A", DC_AWS_KEY },
		{ "AKIAIOSFODNN7EXAMPL", DC_NONE },
		{ "AKIAIOSFODNN7EXAMPLEX", DC_NONE },
		{ "AKIAiosfodnn7example", DC_NONE },
		{ "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", DC_GITHUB_TOKEN },
		{ "gho_16C7e42F292c6912E7710c838347Ae178B4a", DC_GITHUB_TOKEN },
		{ "ghs_16C7e42F292c6912E7710c838347Ae178B4a", DC_GITHUB_TOKEN },
		{ "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH", DC_GITHUB_TOKEN },
		{ "ghp_short", DC_NONE },
		{ "sk_live_4eC39HqLyjWDarjtT1zdp7dc", DC_STRIPE_KEY },
		{ "sk_test_4eC39HqLyjWDarjtT1zdp7dc", DC_STRIPE_KEY },
		{ "pk_live_51H8xYzAbCdEfGhIj", DC_STRIPE_KEY },
		{ "rk_test_51H8xYzAbCdEfGhIj", DC_STRIPE_KEY },
		{ "sk_live_", DC_NONE },
		{ "pk_id", DC_NONE },
		{ "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", DC_SLACK_TOKEN },
		{ "xoxp-1234567890-1234567890-12345678901", DC_SLACK_TOKEN },
		{ "xoxs-12345", DC_NONE },
		{ "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
		  DC_PRIVATE_KEY },
		{ "-----BEGIN PRIVATE KEY-----", DC_PRIVATE_KEY },
		{ "  -----BEGIN OPENSSH PRIVATE KEY-----\n", DC_PRIVATE_KEY },
		{ "-----BEGIN ENCRYPTED PRIVATE KEY-----", DC_PRIVATE_KEY },
		{ "-----BEGIN PUBLIC KEY-----", DC_NONE },
		{ "-----BEGIN CERTIFICATE-----", DC_NONE },
		{ "-----BEGIN PRIVATE KEY", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

static void test_value_token(void **state)
{
	static const struct ccase t[] = {
		{ "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", DC_TOKEN },
		{ "Xk9mPq2RtZ7vLw3nB8cY", DC_TOKEN },
		{ "k2j9x8f3m4n5p6q7r8s9t0v1", DC_TOKEN },
		{ "aGVsbG8gd29ybGQgZm9vYmFy", DC_TOKEN },
		{ "dGhpcyBpcyBhIHNlY3JldA==", DC_TOKEN },
		{ "d41d8cd98f00b204e9800998ecf8427e", DC_TOKEN },
		{ "da39a3ee5e6b4b0d3255bfef95601890afd80709", DC_TOKEN },
		{ "Zx8_Q2mK-9vLpR4tW7yN3bH6", DC_TOKEN },
		/* ids, not secrets */
		{ "550e8400-e29b-41d4-a716-446655440000", DC_NONE },
		{ "550E8400-E29B-41D4-A716-446655440000", DC_NONE },
		{ "507f1f77bcf86cd799439011", DC_NONE },
		{ "00000000000000000000000000000001", DC_NONE },
		/* words, identifiers, paths, dates, numbers */
		{ "getUser2FactorAuthSettings", DC_NONE },
		{ "customer_billing_address_line2", DC_NONE },
		{ "shippingAddressLine2", DC_NONE },
		{ "oauth2ClientCredentials", DC_NONE },
		{ "X-Amz-Content-Sha256", DC_NONE },
		{ "/usr/local/share/doc/apisonar", DC_NONE },
		{ "/users/12345/orders/67890", DC_NONE },
		{ "apisonar.metadata/v1", DC_NONE },
		{ "application/vnd.api+json", DC_NONE },
		{ "node-12.eu-west-1.compute.internal", DC_NONE },
		{ "eu-west-1-prod-cluster-2", DC_NONE },
		{ "checkout-7d9f8b6c5d-x2k4p", DC_NONE },
		{ "2024-01-15T10:30:00.123Z", DC_NONE },
		{ "17000000001700000000", DC_NONE },
		{ "1700000000.1234567890", DC_NONE },
		{ "abcdefghijklmnopqrstuvwxyz", DC_NONE },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", DC_NONE },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", DC_NONE },
		{ "Xk9mPq2RtZ7vLw3nB8c", DC_NONE }, /* 19 bytes */
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
}

/* Random tokens of the usual lengths are found; the tuning keeps the miss
 * rate of a 40-byte base62 token well under 1%. */
static void test_value_token_recall(void **state)
{
	static const char alph[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char buf[40];
	int i, j, hits = 0;

	(void)state;
	for (i = 0; i < 1000; i++) {
		for (j = 0; j < 40; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[j] = alph[(x >> 11) % 62];
		}
		if (detect_value(buf, sizeof(buf)) == DC_TOKEN)
			hits++;
	}
	print_message("random 40-byte base62 tokens found: %d/1000\n", hits);
	assert_true(hits >= 990);
}

static void test_value_plain(void **state)
{
	static const struct ccase t[] = {
		{ "", DC_NONE },
		{ "John", DC_NONE },
		{ "application/json", DC_NONE },
		{ "true", DC_NONE },
		{ "v2", DC_NONE },
		{ "1.2.3", DC_NONE },
		{ "Mozilla/5.0 (X11; Linux x86_64)", DC_NONE },
		{ "gzip, deflate, br", DC_NONE },
		{ "no-cache", DC_NONE },
		{ "Bearer", DC_NONE },
	};

	(void)state;
	check_values(t, ARRAY_SIZE(t));
	assert_int_equal(detect_value(NULL, 5), DC_NONE);
}

/* What metadata and ordinary traffic are full of: no class at all, and the
 * guard passes each of them as a JSON string and as a bare value. */
static void test_value_hard_negatives(void **state)
{
	static const char *const t[] = {
		"200", "204", "301", "404", "503", "80", "443", "8080", "65535", "1999", "2024",
		"2026", "1.2.3", "10.15.7", "v2", "v1.2.3", "0.1.0", "1.1", "HTTP/1.1",
		"1700000000", "1700000000123", "1700000000123456789", "2024-01-15",
		"2024-01-15T10:30:00Z", "10:30:00", "12.5", "-3.75", "1e6", "users", "orders",
		"getUserById", "getUserOrdersByStatusAndDate", "createdAt", "user_id",
		"x-request-id", "Content-Type", "application/json", "text/html; charset=utf-8",
		"/users/{id}/orders", "api.example.com", "apisonar.metadata/v1", "date-time",
		"email", "card", "ssn", "aws_key", "github_token", "private_key", "person_name",
		"550e8400-e29b-41d4-a716-446655440000", "Mozilla/5.0 (X11; Linux x86_64)",
		/* digit groups with spaces that are not card, phone or IBAN */
		"2026-11-24 03:24:06", "2024-01-15 2024-01-16", "1 2 3 4 5 6 7 8 9 10",
		"between 1700000000 and 1700000060",
		"GB82 and 1234 5678", "v1.2.3 (build 20240115)",
	};
	size_t i, bad = 0;
	char json[256];

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t len;
		char *p = exact(t[i], &len);
		enum detect_class got = detect_value(p, len);
		int jn;

		if (got != DC_NONE) {
			print_error("detect_value(\"%s\") = %s, want none\n", t[i],
				    detect_class_name(got));
			bad++;
		}
		free(p);
		jn = snprintf(json, sizeof(json), "{\"k\":\"%s\",\"n\":%s}", t[i], t[i]);
		assert_true(jn > 0 && (size_t)jn < sizeof(json));
		if (detect_scan(json, (size_t)jn, NULL) != 0) {
			print_error("detect_scan(%s) found something\n", json);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_class_names(void **state)
{
	int c;

	(void)state;
	assert_string_equal(detect_class_name(DC_NONE), "none");
	assert_string_equal(detect_class_name(DC_EMAIL), "email");
	assert_string_equal(detect_class_name(DC_CARD), "card");
	assert_string_equal(detect_class_name(DC_AWS_KEY), "aws_key");
	assert_string_equal(detect_class_name(DC_PERSON_NAME), "person_name");
	assert_string_equal(detect_class_name(DC_DOB), "dob");
	assert_string_equal(detect_class_name(DC__COUNT), "none");
	assert_string_equal(detect_class_name((enum detect_class)-1), "none");
	for (c = 0; c < DC__COUNT; c++) {
		const char *s = detect_class_name((enum detect_class)c);
		size_t i;

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		for (i = 0; s[i]; i++)
			assert_true((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
				    (s[i] >= '0' && s[i] <= '9'));
	}
}

/* ---- detect_name ------------------------------------------------------------ */

static void test_name(void **state)
{
	static const struct ccase t[] = {
		{ "password", DC_PASSWORD },
		{ "Password", DC_PASSWORD },
		{ "new_password", DC_PASSWORD },
		{ "newPassword", DC_PASSWORD },
		{ "newpassword", DC_PASSWORD },
		{ "password_confirmation", DC_PASSWORD },
		{ "passwd", DC_PASSWORD },
		{ "pwd", DC_PASSWORD },
		{ "pass", DC_PASSWORD },
		{ "user-pass", DC_PASSWORD },
		{ "password_hash", DC_PASSWORD },
		{ "secret", DC_SECRET },
		{ "client_secret", DC_SECRET },
		{ "clientSecret", DC_SECRET },
		{ "api_key", DC_SECRET },
		{ "apiKey", DC_SECRET },
		{ "apikey", DC_SECRET },
		{ "x-api-key", DC_SECRET },
		{ "X-API-Key", DC_SECRET },
		{ "private_key", DC_SECRET },
		{ "auth", DC_SECRET },
		{ "Authorization", DC_SECRET },
		{ "Proxy-Authorization", DC_SECRET },
		{ "Cookie", DC_SECRET },
		{ "session", DC_SECRET },
		{ "session_id", DC_SECRET },
		{ "JSESSIONID", DC_SECRET },
		{ "credentials", DC_SECRET },
		{ "token", DC_TOKEN },
		{ "access_token", DC_TOKEN },
		{ "accessToken", DC_TOKEN },
		{ "refresh_token", DC_TOKEN },
		{ "id_token", DC_TOKEN },
		{ "X-Auth-Token", DC_TOKEN },
		{ "X-CSRF-Token", DC_TOKEN },
		{ "email", DC_EMAIL },
		{ "e-mail", DC_EMAIL },
		{ "E_Mail", DC_EMAIL },
		{ "mail", DC_EMAIL },
		{ "user_email", DC_EMAIL },
		{ "emailAddress", DC_EMAIL },
		{ "emails", DC_EMAIL },
		{ "phone", DC_PHONE },
		{ "phone_number", DC_PHONE },
		{ "phoneNumber", DC_PHONE },
		{ "mobile", DC_PHONE },
		{ "tel", DC_PHONE },
		{ "telephone", DC_PHONE },
		{ "card_number", DC_CARD },
		{ "cardNumber", DC_CARD },
		{ "cc", DC_CARD },
		{ "pan", DC_CARD },
		{ "credit_card", DC_CARD },
		{ "cvv", DC_CARD },
		{ "iban", DC_IBAN },
		{ "IBAN", DC_IBAN },
		{ "ssn", DC_SSN },
		{ "social_security_number", DC_SSN },
		{ "first_name", DC_PERSON_NAME },
		{ "lastName", DC_PERSON_NAME },
		{ "full_name", DC_PERSON_NAME },
		{ "name", DC_PERSON_NAME },
		{ "surname", DC_PERSON_NAME },
		{ "given_name", DC_PERSON_NAME },
		{ "firstname", DC_PERSON_NAME },
		{ "address", DC_ADDRESS },
		{ "billing_address", DC_ADDRESS },
		{ "address_line2", DC_ADDRESS },
		{ "street", DC_ADDRESS },
		{ "city", DC_ADDRESS },
		{ "zip", DC_ADDRESS },
		{ "postal_code", DC_ADDRESS },
		{ "postalCode", DC_ADDRESS },
		{ "dob", DC_DOB },
		{ "birth_date", DC_DOB },
		{ "date_of_birth", DC_DOB },
		{ "dateOfBirth", DC_DOB },
		{ "birthday", DC_DOB },
		{ "ip", DC_IPV4 },
		{ "ip_address", DC_IPV4 },
		{ "client_ip", DC_IPV4 },
		{ "clientIp", DC_IPV4 },
		{ "X-Forwarded-For", DC_IPV4 },
		{ "X-Real-IP", DC_IPV4 },
		{ "remote_addr", DC_IPV4 },
		{ "ipv6", DC_IPV6 },
		/* whole words only */
		{ "pathname", DC_NONE },
		{ "filename", DC_NONE },
		{ "hostname", DC_NONE },
		{ "rename", DC_NONE },
		{ "passenger", DC_NONE },
		{ "compass", DC_NONE },
		{ "passive", DC_NONE },
		{ "bypass", DC_NONE },
		{ "username", DC_NONE },
		{ "userName", DC_NONE },
		{ "file_name", DC_NONE },
		{ "author", DC_NONE },
		{ "oauth", DC_NONE },
		{ "zipper", DC_NONE },
		{ "tipping", DC_NONE },
		{ "email_verified", DC_NONE },
		{ "is_email_verified", DC_NONE },
		{ "token_type", DC_NONE },
		{ "tokenType", DC_NONE },
		{ "password_policy", DC_NONE },
		{ "passwordChangedAt", DC_NONE },
		{ "expires_in", DC_NONE },
		{ "has_password", DC_NONE },
		{ "auth_method", DC_NONE },
		{ "mac_address", DC_NONE },
		{ "user_id", DC_NONE },
		{ "id", DC_NONE },
		{ "created_at", DC_NONE },
		{ "mobile_app_version", DC_NONE },
		{ "", DC_NONE },
		{ "___", DC_NONE },
	};

	(void)state;
	check_names(t, ARRAY_SIZE(t));
	assert_int_equal(detect_name(NULL, 3), DC_NONE);
}

/* ---- detect_format ---------------------------------------------------------- */

static void test_format(void **state)
{
	static const struct fcase t[] = {
		{ "true", DF_BOOL },
		{ "false", DF_BOOL },
		{ "True", DF_NONE },
		{ "0", DF_INTEGER },
		{ "200", DF_INTEGER },
		{ "-42", DF_INTEGER },
		{ "007", DF_INTEGER },
		{ "1234567890123456789", DF_INTEGER },
		{ "12345678901234567890", DF_NUMBER },
		{ "-", DF_NONE },
		{ "3.14", DF_NUMBER },
		{ "-0.5", DF_NUMBER },
		{ "1e10", DF_NUMBER },
		{ "6.02E+23", DF_NUMBER },
		{ "1.", DF_NONE },
		{ ".5", DF_NONE },
		{ "1.2.3", DF_NONE },
		{ "550e8400-e29b-41d4-a716-446655440000", DF_UUID },
		{ "550E8400-E29B-41D4-A716-446655440000", DF_UUID },
		{ "550e8400-e29b-41d4-a716-44665544000", DF_NONE },
		{ "550e8400e29b41d4a716446655440000", DF_HEX },
		{ "deadbeef", DF_HEX },
		{ "DEADBEEF", DF_HEX },
		{ "da39a3ee5e6b4b0d3255bfef95601890afd80709", DF_HEX },
		{ "507f1f77bcf86cd799439011", DF_HEX },
		{ "facade", DF_NONE },
		{ "DeadBeef", DF_NONE },
		{ "1234abc", DF_NONE },
		{ "aGVsbG8gd29ybGQgZm9vYmFy", DF_BASE64 },
		{ "dGhpcyBpcyBhIHNlY3JldA==", DF_BASE64 },
		{ "Zx8_Q2mK-9vLpR4tW7yN3bH6", DF_BASE64 },
		{ "abc+def/ghi-jkl_mno123", DF_NONE },
		{ "getUserProfileSettings", DF_NONE },
		{ "user-profile-settings", DF_NONE },
		{ "4111-1111-1111-1111", DF_NONE },
		{ "2024-01-15", DF_DATE },
		{ "2024-02-29", DF_DATE },
		{ "2023-02-29", DF_NONE },
		{ "2024-13-01", DF_NONE },
		{ "2024-04-31", DF_NONE },
		{ "2024-1-5", DF_NONE },
		{ "2024-01-15T10:30:00Z", DF_DATETIME },
		{ "2024-01-15t10:30:00z", DF_DATETIME },
		{ "2024-01-15 10:30:00+02:00", DF_DATETIME },
		{ "2024-01-15T10:30:00.123456-05:30", DF_DATETIME },
		{ "2024-01-15T10:30:00", DF_NONE },
		{ "2024-01-15T10:30Z", DF_NONE },
		{ "2024-01-15T25:30:00Z", DF_NONE },
		{ "12:00", DF_TIME },
		{ "12:00:01", DF_TIME },
		{ "23:59:60", DF_TIME },
		{ "08:30:00.5Z", DF_TIME },
		{ "24:00", DF_NONE },
		{ "12:60", DF_NONE },
		{ "1:00", DF_NONE },
		{ "john.doe@example.com", DF_EMAIL },
		{ "https://api.example.com/v1/users?x=1", DF_URI },
		{ "postgres://db:5432/app", DF_URI },
		{ "urn:isbn:0451450523", DF_NONE },
		{ "http://", DF_NONE },
		{ "http://a b", DF_NONE },
		{ "192.168.1.10", DF_IPV4 },
		{ "2001:db8::1", DF_IPV6 },
		{ "api.example.com", DF_HOSTNAME },
		{ "node-12.eu-west-1.compute.internal", DF_HOSTNAME },
		{ "index.html", DF_HOSTNAME },
		{ "example", DF_NONE },
		{ "example.c", DF_NONE },
		{ "-bad.example.com", DF_NONE },
		{ "bad-.example.com", DF_NONE },
		{ "a..example.com", DF_NONE },
		{ "users", DF_NONE },
		{ "", DF_NONE },
	};

	(void)state;
	check_formats(t, ARRAY_SIZE(t));
	assert_int_equal(detect_format(NULL, 4), DF_NONE);
}

static void test_format_names(void **state)
{
	(void)state;
	assert_string_equal(detect_format_name(DF_NONE), "");
	assert_string_equal(detect_format_name(DF_BOOL), "boolean");
	assert_string_equal(detect_format_name(DF_INTEGER), "integer");
	assert_string_equal(detect_format_name(DF_NUMBER), "number");
	assert_string_equal(detect_format_name(DF_UUID), "uuid");
	assert_string_equal(detect_format_name(DF_HEX), "hex");
	assert_string_equal(detect_format_name(DF_BASE64), "byte");
	assert_string_equal(detect_format_name(DF_DATE), "date");
	assert_string_equal(detect_format_name(DF_DATETIME), "date-time");
	assert_string_equal(detect_format_name(DF_TIME), "time");
	assert_string_equal(detect_format_name(DF_EMAIL), "email");
	assert_string_equal(detect_format_name(DF_URI), "uri");
	assert_string_equal(detect_format_name(DF_IPV4), "ipv4");
	assert_string_equal(detect_format_name(DF_IPV6), "ipv6");
	assert_string_equal(detect_format_name(DF_HOSTNAME), "hostname");
	assert_string_equal(detect_format_name(DF__COUNT), "");
}

/* ---- detect_is_value_like ------------------------------------------------------ */

static void test_value_like(void **state)
{
	static const struct lcase t[] = {
		{ "12345", 1 },
		{ "0", 1 },
		{ "-1", 1 },
		{ "123456789012345678901234567890", 1 },
		{ "550e8400-e29b-41d4-a716-446655440000", 1 },
		{ "deadbeef", 1 },
		{ "507f1f77bcf86cd799439011", 1 },
		{ "aGVsbG8gd29ybGQgZm9vYmFy", 1 },
		{ "2024-01-15", 1 },
		{ "2024-01-15T10:30:00Z", 1 },
		{ "john.doe@example.com", 1 },
		{ "192.168.1.10", 1 },
		{ "2001:db8::1", 1 },
		{ "4111111111111111", 1 },
		{ "415-555-2671", 1 },
		{ "078-05-1120", 1 },
		{ "AKIAIOSFODNN7EXAMPLE", 1 },
		{ "Xk9mPq2RtZ7vLw3nB8cY", 1 },
		{ "a1b2c3d4e5", 1 },
		{ "ord_8f3k2j9x", 1 },
		{ "cus_9s6XKzkNRiz8i3", 1 },
		{ "3.14", 1 },
		{ "users", 0 },
		{ "v1", 0 },
		{ "v2", 0 },
		{ "api", 0 },
		{ "orders", 0 },
		{ "me", 0 },
		{ "search", 0 },
		{ "healthz", 0 },
		{ "2fa", 0 },
		{ "oauth2", 0 },
		{ "utf-8", 0 },
		{ "index.html", 0 },
		{ "robots.txt", 0 },
		{ "login", 0 },
		{ "user-profile", 0 },
		{ "getUserById", 0 },
		{ "s3", 0 },
		{ "ipv6", 0 },
		{ "x509", 0 },
		{ "orders_2024", 0 },
		{ "facade", 0 },
		{ "true", 0 },
		{ "k8s", 0 },
		{ "i18n", 0 },
		{ "sha256", 0 },
		{ "", 0 },
	};
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		size_t len;
		char *p = exact(t[i].s, &len);
		int got = detect_is_value_like(p, len);

		if (got != t[i].want) {
			print_error("detect_is_value_like(\"%s\") = %d, want %d\n", t[i].s, got,
				    t[i].want);
			bad++;
		}
		free(p);
	}
	assert_int_equal(bad, 0);
	assert_int_equal(detect_is_value_like(NULL, 3), 0);
}

/* ---- the scan guard ---------------------------------------------------------- */

static size_t scan_str(const char *s, enum detect_class *first)
{
	size_t n, r;
	char *p = exact(s, &n);

	r = detect_scan(p, n, first);
	free(p);
	return r;
}

/* Each canary kind, planted in a JSON document the way a leaking module
 * would write it, is found and named. */
static void test_scan_canaries(void **state)
{
	static const struct {
		const char *json;
		enum detect_class want;
	} t[] = {
		{ "{\"f\":\"john.doe@example.com\"}", DC_EMAIL },
		{ "{\"note\":\"write to john.doe@example.com today\"}", DC_EMAIL },
		{ "{\"f\":\"<john.doe@example.com>\"}", DC_EMAIL },
		{ "{\"f\":\"+1 (415) 555-2671\"}", DC_PHONE },
		{ "{\"f\":\"call +14155552671 now\"}", DC_PHONE },
		{ "{\"f\":\"call +1 (415) 555-2671 now\"}", DC_PHONE },
		{ "{\"f\":\"call (415) 555-2671.\"}", DC_PHONE },
		{ "{\"f\":\"card 4111 1111 1111 1111 exp 12/27\"}", DC_CARD },
		{ "{\"f\":\"iban GB82 WEST 1234 5698 7654 32, thanks\"}", DC_IBAN },
		{ "{\"f\":\"ssn 078-05-1120 on file\"}", DC_SSN },
		{ "{\"f\":\"4111 1111 1111 1111\"}", DC_CARD },
		{ "{\"f\":4111111111111111}", DC_CARD },
		{ "{\"f\":\"card=4111111111111111&x=1\"}", DC_CARD },
		{ "{\"f\":\"GB82 WEST 1234 5698 7654 32\"}", DC_IBAN },
		{ "{\"f\":[\"DE89370400440532013000\"]}", DC_IBAN },
		{ "{\"f\":\"078-05-1120\"}", DC_SSN },
		{ "{\"f\":\"ssn: 078-05-1120.\"}", DC_SSN },
		{ "{\"auth\":\"Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
		  "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\"}", DC_JWT },
		{ "{\"u\":\"/cb?jwt=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.\"}", DC_JWT },
		{ "{\"k\":\"AKIAIOSFODNN7EXAMPLE\"}", DC_AWS_KEY },
		{ "{\"k\":\"keyAKIAIOSFODNN7EXAMPLE\"}", DC_AWS_KEY },
		{ "{\"k\":\"token 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\"}", DC_GITHUB_TOKEN },
		{ "{\"k\":\"x:sk_live_4eC39HqLyjWDarjtT1zdp7dc\"}", DC_STRIPE_KEY },
		{ "{\"k\":\"xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx\"}",
		  DC_SLACK_TOKEN },
		{ "{\"k\":\"-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA\\n-----END RSA "
		  "PRIVATE KEY-----\"}", DC_PRIVATE_KEY },
		{ "{\"k\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}", DC_TOKEN },
		{ "{\"h\":{\"x-session\":\"Zx8_Q2mK-9vLpR4tW7yN3bH6\"}}", DC_TOKEN },
		{ "{\"k\":\"tok=d41d8cd98f00b204e9800998ecf8427e;\"}", DC_TOKEN },
	};
	size_t i, bad = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		enum detect_class first = DC__COUNT;
		size_t got = scan_str(t[i].json, &first);
		size_t want = t[i].want == DC_NONE ? 0 : 1;

		if (got != want || first != t[i].want) {
			print_error("detect_scan(%s) = %zu first %s, want %zu %s\n", t[i].json, got,
				    detect_class_name(first), want, detect_class_name(t[i].want));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* The SSN shape is strict about what follows; with a space it is found. */
static void test_scan_ssn_in_sentence(void **state)
{
	enum detect_class first;

	(void)state;
	assert_int_equal(scan_str("{\"f\":\"ssn 078-05-1120 on file\"}", &first), 1);
	assert_int_equal(first, DC_SSN);
}

/* Several canaries are all counted, and the first one is reported. */
static void test_scan_counts_all(void **state)
{
	static const char doc[] =
		"{\"a\":\"john.doe@example.com\",\"b\":[\"4111111111111111\",\"078-05-1120\"],"
		"\"c\":\"AKIAIOSFODNN7EXAMPLE\",\"d\":\"x xoxp-1234567890-1234567890-12345678901\"}";
	enum detect_class first;

	(void)state;
	assert_int_equal(scan_str(doc, &first), 5);
	assert_int_equal(first, DC_EMAIL);
	assert_int_equal(scan_str(doc, NULL), 5);
}

/* A realistic clean metadata batch: what the anonymizer may emit. */
static const char clean_batch[] =
	"{\n"
	"  \"schema\": \"apisonar.metadata/v1\",\n"
	"  \"batch_id\": \"3f2b8c1e-9a7d-4e2f-b1c3-5d6e7f809a1b\",\n"
	"  \"sensor\": {\"host\": \"node-12.eu-west-1.compute.internal\", \"version\": \"0.1.0\",\n"
	"             \"kernel\": \"6.1.0-18-amd64\"},\n"
	"  \"created\": \"2026-11-24T03:24:06.123Z\",\n"
	"  \"window\": {\"start\": 1700000000, \"end\": 1700000060, \"start_ms\": 1700000000123},\n"
	"  \"services\": [\n"
	"    {\"name\": \"api.example.com\", \"listen\": \"127.0.0.1:8080\",\n"
	"     \"addresses\": [\"10.0.3.17\", \"192.168.100.200\", \"::1\", \"[2001:db8::1]:443\"],\n"
	"     \"endpoints\": [\n"
	"      {\"method\": \"GET\", \"path\": \"/users/{id}/orders\", \"operation\": \"getUserOrders\",\n"
	"       \"count\": 12345, \"errors\": 17, \"bytes_in\": 0, \"bytes_out\": 9876543210,\n"
	"       \"first_seen\": \"2026-11-24T03:00:00Z\", \"last_seen\": \"2026-11-24T03:24:00Z\",\n"
	"       \"latency_ms\": {\"p50\": 12.5, \"p90\": 48.25, \"p99\": 250.125, \"max\": 1024,\n"
	"                      \"buckets\": [0, 3, 17, 120, 4000, 8000, 205, 0]},\n"
	"       \"status\": {\"200\": 12000, \"404\": 300, \"500\": 45},\n"
	"       \"params\": [\n"
	"        {\"in\": \"path\", \"name\": \"id\", \"schema\": {\"type\": \"integer\", \"format\": \"int64\"}},\n"
	"        {\"in\": \"query\", \"name\": \"page_token\", \"sensitive\": \"token\"},\n"
	"        {\"in\": \"header\", \"name\": \"Authorization\", \"auth\": \"bearer\", \"sensitive\": \"jwt\"},\n"
	"        {\"in\": \"header\", \"name\": \"X-Api-Key\", \"sensitive\": \"secret\"},\n"
	"        {\"in\": \"cookie\", \"name\": \"JSESSIONID\"},\n"
	"        {\"in\": \"query\", \"name\": \"since\", \"schema\": {\"type\": \"string\", \"format\": \"date-time\"}}\n"
	"       ],\n"
	"       \"request\": {\"content_type\": \"application/json; charset=utf-8\",\n"
	"        \"schema\": {\"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
	"         \"type\": \"object\", \"required\": [\"email\", \"card_number\"],\n"
	"         \"additionalProperties\": false,\n"
	"         \"properties\": {\n"
	"          \"user_id\": {\"type\": \"string\", \"format\": \"uuid\"},\n"
	"          \"email\": {\"type\": \"string\", \"format\": \"email\", \"x-sensitive\": \"email\"},\n"
	"          \"card_number\": {\"type\": \"string\", \"x-sensitive\": \"card\"},\n"
	"          \"iban\": {\"type\": \"string\", \"x-sensitive\": \"iban\"},\n"
	"          \"ssn\": {\"type\": \"string\", \"x-sensitive\": \"ssn\"},\n"
	"          \"phone\": {\"type\": \"string\", \"x-sensitive\": \"phone\"},\n"
	"          \"shippingAddressLine2\": {\"type\": \"string\", \"x-sensitive\": \"address\"},\n"
	"          \"customer_billing_address_line2\": {\"type\": \"string\"},\n"
	"          \"oauth2ClientCredentials\": {\"type\": \"object\"},\n"
	"          \"sha256Checksum\": {\"type\": \"string\", \"format\": \"hex\", \"minLength\": 64},\n"
	"          \"amount\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 1e6},\n"
	"          \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"maxItems\": 100},\n"
	"          \"attrs\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"string\"}},\n"
	"          \"aws_key\": {\"x-sensitive\": \"aws_key\"}, \"gh\": {\"x-sensitive\": \"github_token\"},\n"
	"          \"sk\": {\"x-sensitive\": \"stripe_key\"}, \"sl\": {\"x-sensitive\": \"slack_token\"},\n"
	"          \"pem\": {\"x-sensitive\": \"private_key\"}, \"pw\": {\"x-sensitive\": \"password\"}\n"
	"         }}},\n"
	"       \"responses\": {\"200\": {\"content_type\": \"application/vnd.api+json\"},\n"
	"                     \"304\": {}, \"429\": {\"headers\": [\"Retry-After\", \"X-RateLimit-Remaining\"]}}\n"
	"      },\n"
	"      {\"method\": \"POST\", \"path\": \"/v2/payments/{payment_id}/refunds\", \"count\": 3,\n"
	"       \"path_params\": {\"payment_id\": {\"format\": \"byte\"}},\n"
	"       \"auth\": [\"api_key:X-Api-Key\", \"basic\"], \"tls\": true, \"http_version\": \"1.1\"},\n"
	"      {\"method\": \"GET\", \"path\": \"/healthz\", \"count\": 86400, \"latency_ms\": {\"p50\": 0.25}},\n"
	"      {\"method\": \"GET\", \"path\": \"/static/robots.txt\", \"count\": 1},\n"
	"      {\"method\": \"PUT\", \"path\": \"/api/v1/users/{user_id}/2fa/oauth2/x509/s3\", \"count\": 2}\n"
	"     ]}\n"
	"  ],\n"
	"  \"drops\": {\"ringbuf\": 0, \"parse_errors\": 2, \"values_refused\": 0},\n"
	"  \"user_agent_families\": [\"Mozilla/5.0\", \"curl/7.88.1\", \"python-requests/2.31\"]\n"
	"}\n";

static void test_scan_clean_batch(void **state)
{
	enum detect_class first = DC__COUNT;

	(void)state;
	assert_int_equal(detect_scan(clean_batch, sizeof(clean_batch) - 1, &first), 0);
	assert_int_equal(first, DC_NONE);
}

/* Every canary kind, planted into the clean batch as a value, as an object
 * key and inside a path, is found exactly once among all that clean text. */
static void test_scan_canaries_in_clean_batch(void **state)
{
	static const struct {
		const char *v;
		enum detect_class want;
	} canaries[] = {
		{ "john.doe@example.com", DC_EMAIL },
		{ "+14155552671", DC_PHONE },
		{ "4111111111111111", DC_CARD },
		{ "GB82WEST12345698765432", DC_IBAN },
		{ "078-05-1120", DC_SSN },
		{ "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
		  "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c", DC_JWT },
		{ "AKIAIOSFODNN7EXAMPLE", DC_AWS_KEY },
		{ "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", DC_GITHUB_TOKEN },
		{ "sk_live_4eC39HqLyjWDarjtT1zdp7dc", DC_STRIPE_KEY },
		{ "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", DC_SLACK_TOKEN },
		{ "Zx8_Q2mK-9vLpR4tW7yN3bH6", DC_TOKEN },
	};
	static const char *const shapes[] = {
		"{\"leak\": \"%s\", ",
		"{\"%s\": 1, ",
		"{\"path\": \"/users/%s/orders\", ",
		"{\"n\": [1, 2, \"x %s y\"], ",
	};
	size_t cap = sizeof(clean_batch) + 512, c, k, bad = 0;
	char *doc = malloc(cap);

	(void)state;
	assert_non_null(doc);
	for (c = 0; c < ARRAY_SIZE(canaries); c++) {
		for (k = 0; k < ARRAY_SIZE(shapes); k++) {
			enum detect_class first = DC_NONE;
			int head = snprintf(doc, cap, shapes[k], canaries[c].v);
			size_t got;

			assert_true(head > 0 && (size_t)head < 256);
			/* the rest of the clean batch, after its opening brace */
			memcpy(doc + head, clean_batch + 1, sizeof(clean_batch) - 2);
			got = detect_scan(doc, (size_t)head + sizeof(clean_batch) - 2, &first);
			if (got != 1 || first != canaries[c].want) {
				print_error("canary %s in shape %zu: %zu found, first %s\n",
					    detect_class_name(canaries[c].want), k, got,
					    detect_class_name(first));
				bad++;
			}
		}
	}
	free(doc);
	assert_int_equal(bad, 0);
}

/* IPs are out of the default guard but can be asked for. */
static void test_scan_ex_ip_mask(void **state)
{
	enum detect_class first = DC_NONE;
	unsigned int ips = DETECT_CLASS_BIT(DC_IPV4) | DETECT_CLASS_BIT(DC_IPV6);

	(void)state;
	/* "10.0.3.17", "192.168.100.200", "127.0.0.1" (from "127.0.0.1:8080"), "::1" */
	assert_int_equal(detect_scan_ex(clean_batch, sizeof(clean_batch) - 1, ips, &first), 4);
	assert_int_equal(first, DC_IPV4);
	assert_int_equal(detect_scan_ex("[\"2001:db8::1\"]", 15, ips, &first), 1);
	assert_int_equal(first, DC_IPV6);
	/* nothing asked for, nothing found */
	assert_int_equal(detect_scan_ex("\"john.doe@example.com\"", 22, 0, &first), 0);
	assert_int_equal(first, DC_NONE);
	/* only cards */
	assert_int_equal(detect_scan_ex("[\"john.doe@example.com\",\"4111111111111111\"]", 43,
					DETECT_CLASS_BIT(DC_CARD), &first),
			 1);
	assert_int_equal(first, DC_CARD);
	/* the default mask leaves out IPs and the name-only classes */
	assert_int_equal(DETECT_SCAN_DEFAULT_MASK & ips, 0);
	assert_int_equal(DETECT_SCAN_DEFAULT_MASK & DETECT_CLASS_BIT(DC_PASSWORD), 0);
	assert_true(DETECT_SCAN_DEFAULT_MASK & DETECT_CLASS_BIT(DC_TOKEN));
	assert_true(DETECT_SCAN_DEFAULT_MASK & DETECT_CLASS_BIT(DC_PRIVATE_KEY));
}

/* Hostile shapes: empty, unterminated strings, long runs of prefixes. */
static void test_scan_hostile(void **state)
{
	static const size_t big = 1 << 20;
	enum detect_class first;
	char *p = malloc(big);
	size_t i;

	(void)state;
	assert_non_null(p);
	assert_int_equal(detect_scan(NULL, 10, &first), 0);
	assert_int_equal(first, DC_NONE);
	assert_int_equal(detect_scan("", 0, &first), 0);
	assert_int_equal(scan_str("\"", &first), 0);
	assert_int_equal(scan_str("\"\\", &first), 0);
	assert_int_equal(scan_str("\"unterminated john.doe@example.com", &first), 1);
	for (i = 0; i < big; i++)
		p[i] = "xoxb-"[i % 5];
	assert_int_equal(detect_scan(p, big, &first), 1);
	for (i = 0; i < big; i++)
		p[i] = "eyJ."[i % 4];
	assert_int_equal(detect_scan(p, big, &first), 0);
	memset(p, '"', big);
	assert_int_equal(detect_scan(p, big, &first), 0);
	memset(p, 'A', big);
	assert_int_equal(detect_scan(p, big, &first), 0);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_email),
		cmocka_unit_test(test_value_phone),
		cmocka_unit_test(test_value_card),
		cmocka_unit_test(test_value_iban),
		cmocka_unit_test(test_value_ssn),
		cmocka_unit_test(test_value_ip),
		cmocka_unit_test(test_value_jwt),
		cmocka_unit_test(test_value_keys),
		cmocka_unit_test(test_value_token),
		cmocka_unit_test(test_value_token_recall),
		cmocka_unit_test(test_value_plain),
		cmocka_unit_test(test_value_hard_negatives),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_value_like),
		cmocka_unit_test(test_scan_canaries),
		cmocka_unit_test(test_scan_ssn_in_sentence),
		cmocka_unit_test(test_scan_counts_all),
		cmocka_unit_test(test_scan_clean_batch),
		cmocka_unit_test(test_scan_canaries_in_clean_batch),
		cmocka_unit_test(test_scan_ex_ip_mask),
		cmocka_unit_test(test_scan_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
