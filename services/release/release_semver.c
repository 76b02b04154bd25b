/* release_semver: validation and the precedence sort key. */
#include "release_semver.h"

#include <stdio.h>
#include <string.h>

/* A numeric identifier: digits, no leading zero (except "0" itself), at
 * most 20 digits. Returns its length, or 0. */
static size_t
semver_number(const char *s, size_t n)
{
	if (n == 0 || n > 20)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return (n > 1 && s[0] == '0') ? 0 : n;
}

static int
semver_ident_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '-';
}

/* Appends s[0..n) to key at *at, NUL-terminated; -1 when it does not fit. */
static int
semver_put(char *key, size_t len, size_t *at, const char *s, size_t n)
{
	if (*at + n + 1 > len)
		return -1;
	memcpy(key + *at, s, n);
	*at += n;
	key[*at] = '\0';
	return 0;
}

/* A number as 20 digits, zero-padded, so that text order is numeric. */
static int
semver_put_number(char *key, size_t len, size_t *at, const char *s, size_t n)
{
	char pad[21];

	memset(pad, '0', 20 - n);
	memcpy(pad + 20 - n, s, n);
	return semver_put(key, len, at, pad, 20);
}

/* The pre-release part: each identifier as "0" + 20 digits (numeric) or
 * "1" + itself + "!" (alphanumeric; '!' sorts below every identifier
 * character), then "!" so that fewer identifiers sort lower. */
static int
semver_pre(const char *p, size_t n, char *key, size_t len, size_t *at)
{
	size_t i = 0;

	if (n == 0)
		return -1;
	while (i <= n) {
		size_t j = i, alpha = 0;

		while (j < n && p[j] != '.') {
			if (!semver_ident_char(p[j]))
				return -1;
			if (p[j] < '0' || p[j] > '9')
				alpha = 1;
			j++;
		}
		if (j == i)
			return -1; /* an empty identifier */
		if (!alpha) {
			if (semver_number(p + i, j - i) == 0 ||
			    semver_put(key, len, at, "0", 1) != 0 ||
			    semver_put_number(key, len, at, p + i, j - i) != 0)
				return -1;
		} else if (semver_put(key, len, at, "1", 1) != 0 ||
		           semver_put(key, len, at, p + i, j - i) != 0 ||
		           semver_put(key, len, at, "!", 1) != 0) {
			return -1;
		}
		i = j + 1;
	}
	return semver_put(key, len, at, "!", 1);
}

int
release_semver_key(const char *v, char *key, size_t len)
{
	size_t n = v ? strlen(v) : 0, at = 0, i = 0, end;
	const char *plus, *dash;

	if (n == 0 || n > RELEASE_VERSION_MAX || len < 1)
		return -1;
	key[0] = '\0';
	plus = strchr(v, '+');
	end = plus ? (size_t)(plus - v) : n;
	if (plus != NULL) { /* build metadata: validated, then ignored */
		const char *b = plus + 1;
		size_t bl = n - end - 1, k = 0;
		if (bl == 0)
			return -1;
		for (size_t x = 0; x <= bl; x++) {
			if (x == bl || b[x] == '.') {
				if (x == k)
					return -1;
				k = x + 1;
			} else if (!semver_ident_char(b[x])) {
				return -1;
			}
		}
	}
	dash = memchr(v, '-', end);
	for (int part = 0; part < 3; part++) {
		size_t j = i, stop = dash ? (size_t)(dash - v) : end;
		while (j < stop && v[j] != '.')
			j++;
		if ((part < 2 && (j >= stop || v[j] != '.')) ||
		    (part == 2 && j != stop) ||
		    semver_number(v + i, j - i) == 0 ||
		    semver_put_number(key, len, &at, v + i, j - i) != 0 ||
		    semver_put(key, len, &at, ".", 1) != 0)
			return -1;
		i = j + 1;
	}
	if (dash == NULL)
		return semver_put(key, len, &at, "~", 1); /* a release */
	if (semver_put(key, len, &at, "-", 1) != 0)
		return -1;
	return semver_pre(dash + 1, end - (size_t)(dash - v) - 1, key, len,
	                  &at);
}
