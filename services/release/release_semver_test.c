/* release_semver: validity and precedence, tables of cases (nng style). */
#include "release_semver.h"

#include <criterion/criterion.h>
#include <string.h>

static const char *const valid[] = {
    "0.0.0",
    "1.2.3",
    "10.20.30",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-0.3.7",
    "1.0.0-x.7.z.92",
    "1.0.0-x-y-z.--",
    "1.0.0+20130313",
    "1.0.0-beta+exp.sha.5114f85",
    "1.0.0+21AF26D3----117B344092BD",
    "18446744073709551615.0.0",
};
static const char *const invalid[] = {
    "",           "1",          "1.2",
    "1.2.3.4",    "01.2.3",     "1.02.3",
    "1.2.03",     "v1.2.3",     "1.2.3-",
    "1.2.3+",     "1.2.3-01",   "1.2.3-a..b",
    "1.2.3+a..b", "1.2.3-a_b",  "1.2.3 ",
    " 1.2.3",     "1.2.-3",     "-1.2.3",
    "1.2.3-+",    "1.2.3/../x", "123456789012345678901.0.0",
};

Test(semver, valid_versions)
{
	char k[RELEASE_SORT_KEY_MAX];

	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		cr_expect_eq(release_semver_key(valid[i], k, sizeof(k)), 0,
		             "%s", valid[i]);
}

Test(semver, invalid_versions)
{
	char k[RELEASE_SORT_KEY_MAX];

	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		cr_expect_eq(release_semver_key(invalid[i], k, sizeof(k)), -1,
		             "'%s'", invalid[i]);
}

/* semver.org's example, in ascending precedence, and more. */
static const char *const ascending[] = {
    "1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
    "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0",
    "1.0.1",        "1.2.0",         "1.10.0",           "2.0.0-0",
    "2.0.0-0.0",    "2.0.0-1",       "2.0.0-10",         "2.0.0-A",
    "2.0.0-a",      "2.0.0-a-b",     "2.0.0-ab",         "2.0.0",
    "10.0.0",
};

Test(semver, precedence)
{
	char a[RELEASE_SORT_KEY_MAX], b[RELEASE_SORT_KEY_MAX];

	for (size_t i = 0; i + 1 < sizeof(ascending) / sizeof(ascending[0]);
	     i++) {
		cr_assert_eq(release_semver_key(ascending[i], a, sizeof(a)), 0);
		cr_assert_eq(release_semver_key(ascending[i + 1], b, sizeof(b)),
		             0);
		cr_expect_lt(strcmp(a, b), 0, "%s < %s", ascending[i],
		             ascending[i + 1]);
	}
}

Test(semver, build_metadata_is_ignored)
{
	char a[RELEASE_SORT_KEY_MAX], b[RELEASE_SORT_KEY_MAX];

	cr_assert_eq(release_semver_key("1.2.3+build.7", a, sizeof(a)), 0);
	cr_assert_eq(release_semver_key("1.2.3+other", b, sizeof(b)), 0);
	cr_expect_str_eq(a, b);
	cr_assert_eq(release_semver_key("1.2.3-rc.1+x", a, sizeof(a)), 0);
	cr_assert_eq(release_semver_key("1.2.3-rc.1", b, sizeof(b)), 0);
	cr_expect_str_eq(a, b);
}

Test(semver, longest_version_fits)
{
	char v[RELEASE_VERSION_MAX + 8], k[RELEASE_SORT_KEY_MAX];

	/* "1.2.3-" and 61 one-character identifiers: the widest key */
	strcpy(v, "1.2.3-");
	while (strlen(v) + 2 <= RELEASE_VERSION_MAX)
		strcat(v, "a.");
	v[strlen(v) - 1] = '\0';
	cr_expect_eq(release_semver_key(v, k, sizeof(k)), 0, "%s", v);
	strcat(v, "xx");
	cr_expect_eq(release_semver_key(v, k, sizeof(k)), -1);
}
