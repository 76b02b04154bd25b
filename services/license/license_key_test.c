/* Unit tests of license_key: format, alphabet, uniqueness, normalisation. */
#include "license_key.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define N_KEYS 100000

static int
key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, LICENSE_KEY_CHARS);
}

Test(license_key, hundred_thousand_keys_are_well_formed_and_unique)
{
	char(*keys)[LICENSE_KEY_CHARS + 1] = calloc(N_KEYS, sizeof(*keys));
	int seen[256] = {0};

	cr_assert(sodium_init() >= 0);
	cr_assert_not_null(keys);
	for (int i = 0; i < N_KEYS; i++) {
		char shown[LICENSE_KEY_LEN + 1];

		license_key_generate(keys[i]);
		cr_assert_eq(strlen(keys[i]), 25);
		for (int j = 0; j < 25; j++) {
			cr_assert_not_null(
			    strchr(LICENSE_KEY_ALPHABET, keys[i][j]),
			    "bad char %c", keys[i][j]);
			seen[(unsigned char)keys[i][j]]++;
		}
		license_key_format(keys[i], shown);
		cr_assert_eq(strlen(shown), 29);
		for (int j = 5; j < 29; j += 6)
			cr_assert_eq(shown[j], '-');
	}
	/* every letter of the alphabet is used, none of the ambiguous ones */
	for (const char *a = LICENSE_KEY_ALPHABET; *a; a++)
		cr_assert_gt(seen[(unsigned char)*a], 0);
	for (const char *b = "01OIL"; *b; b++)
		cr_assert_eq(seen[(unsigned char)*b], 0);
	qsort(keys, N_KEYS, sizeof(*keys), key_cmp);
	for (int i = 1; i < N_KEYS; i++)
		cr_assert_neq(key_cmp(keys[i - 1], keys[i]), 0,
		              "duplicate key %s", keys[i]);
	free(keys);
}

Test(license_key, normalise_ignores_case_and_dashes)
{
	char out[64];

	cr_assert_eq(license_key_normalise("ab2cd-efg34-", out, sizeof(out)),
	             0);
	cr_assert_str_eq(out, "AB2CDEFG34");
	cr_assert_eq(license_key_normalise("a b", out, sizeof(out)), -1);
	cr_assert_eq(license_key_normalise("ABCDEFGH", out, 4), -1);
	license_key_format("ABCDE23456", out);
	cr_assert_str_eq(out, "ABCDE-23456");
}
