/* license_key: license keys. Generated from libsodium's randombytes over an
 * unambiguous alphabet (no 0/O/1/I/L) as five groups of five characters
 * joined by '-', stored normalised (upper case, no dashes) so a lookup is
 * case-insensitive and ignores dashes. */
#ifndef LICENSE_KEY_H
#define LICENSE_KEY_H

#include <stddef.h>

#define LICENSE_KEY_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#define LICENSE_KEY_GROUPS   5
#define LICENSE_KEY_GROUP    5
#define LICENSE_KEY_CHARS    (LICENSE_KEY_GROUPS * LICENSE_KEY_GROUP) /* 25 */
#define LICENSE_KEY_LEN      (LICENSE_KEY_CHARS + LICENSE_KEY_GROUPS - 1) /* 29 */

/* license_key_generate writes a new normalised key (25 characters and a
 * NUL) into out, which must hold LICENSE_KEY_CHARS + 1 bytes. */
void license_key_generate(char *out);

/* license_key_format writes the display form "XXXXX-XXXXX-..." of a
 * normalised key into out (LICENSE_KEY_LEN + 1 bytes). */
void license_key_format(const char *norm, char *out);

/* license_key_normalise copies in without dashes, upper-cased, into out
 * (outlen bytes). Returns 0, or -1 when in does not fit or holds a byte
 * that is not printable ASCII. */
int license_key_normalise(const char *in, char *out, size_t outlen);

#endif
