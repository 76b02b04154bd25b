/* release_link: signed download links.
 *
 * A token is "<file id>.<expiry, unix seconds>.<MAC>", the MAC being
 * HMAC-SHA-512-256 (libsodium crypto_auth) of the first two parts under the
 * key KEYPORT_SECRET_DIR/release-links.key (32 bytes, 0600, made on the
 * first start, shared by every replica through the secret directory).
 * Only the release service holds the key: the gateway asks it to check a
 * link (release.ResolveDownload) before serving the file.
 */
#ifndef RELEASE_LINK_H
#define RELEASE_LINK_H

#include <stddef.h>
#include <stdint.h>

#define RELEASE_LINK_TTL 300 /* seconds a link is valid */
#define RELEASE_LINK_MAX 128 /* a token's size with its NUL */

/* release_link_init loads (or creates, once, race-free) the key. */
int release_link_init(void);

/* release_link_make writes the token of file_id valid until expires. */
int release_link_make(const char *file_id, int64_t expires,
                      char token[RELEASE_LINK_MAX]);

/* release_link_check verifies token at now: KP_OK with the file id in
 * file_id (37 bytes), KP_EFORBIDDEN for an altered or malformed one and
 * KP_EUNAUTH for an expired one (the caller picks the answer). */
int release_link_check(const char *token, int64_t now, char file_id[37]);

#endif
