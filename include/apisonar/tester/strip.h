/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Stripping a test result before it is written or sent: credentials in
 * every encoding, tokens the server issued, values a detector matches.
 * Each function works on a heap string it may replace (*s).
 */
#ifndef APISONAR_TESTER_STRIP_H
#define APISONAR_TESTER_STRIP_H

#include <stddef.h>

#define STRIP_MAX_SECRET 4096

/* Replaces every occurrence of each secret (raw, URL-encoded in either hex
 * case, base64 padded or not, base64url, hex in either case) with
 * "<credential>". Returns how many were replaced. On an allocation
 * failure the string is emptied rather than left with a secret. */
size_t strip_secrets(char **s, const char *const *secrets, size_t n);

/* Replaces JWT-shaped tokens (eyJ... with one or two dots) with "<jwt>":
 * a token a server issues may wrap a credential. Returns how many. */
size_t strip_jwts(char **s);

/* 1 when a detector matches the string (whole or inside), with
 * "<withheld: CLASS>" in why; else 0. */
int strip_withheld(const char *s, char *why, size_t whylen);

#endif
