/* release_semver: semantic versioning 2.0.0 (semver.org): validation and
 * a sort key whose byte order is the versions' precedence.
 *
 * Precedence: major, minor and patch numerically; a pre-release is below
 * its release; pre-release identifiers compare left to right, numeric ones
 * numerically and below alphanumeric ones, which compare in ASCII order; a
 * shorter list of equal identifiers is lower; build metadata is ignored.
 * The key is plain ASCII, so PostgreSQL orders it with COLLATE "C".
 */
#ifndef RELEASE_SEMVER_H
#define RELEASE_SEMVER_H

#include <stddef.h>

#define RELEASE_VERSION_MAX 128
/* a key is at most this long for a valid version of RELEASE_VERSION_MAX */
#define RELEASE_SORT_KEY_MAX (3 * 21 + 2 + 64 * 22)

/* release_semver_key validates v and writes its sort key into key (size
 * RELEASE_SORT_KEY_MAX). Returns 0, or -1 when v is not a valid semantic
 * version (or is longer than RELEASE_VERSION_MAX). */
int release_semver_key(const char *v, char *key, size_t len);

#endif
