/* kp_token: Keyport access tokens (signed by auth, verified by the gateway).
 *
 * Format (JWT compact form, alg EdDSA):
 *   base64url(header) "." base64url(claims) "." base64url(signature)
 * header {"alg":"EdDSA","typ":"JWT","kid":KID}, claims {"sub","role","org",
 * "sid","iat","exp"}; the signature is Ed25519 (libsodium) over the first
 * two parts. A key set holds several keys by id (rotation: the newest
 * signs, all verify). Pure functions: no I/O, no clock (now is passed in).
 */
#ifndef KP_TOKEN_H
#define KP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define KP_TOKEN_KID_MAX  40
#define KP_TOKEN_MAX_KEYS 16
#define KP_TOKEN_LIFETIME 900 /* seconds: 15 minutes */

typedef struct kp_token_claims {
	char user_id[64];
	char role[32];
	char organization_id[64];
	char session_id[64];
	char kid[KP_TOKEN_KID_MAX];
	int64_t issued_at;
	int64_t expires_at;
} kp_token_claims;

typedef struct kp_token_key {
	char kid[KP_TOKEN_KID_MAX];
	unsigned char pk[32];
} kp_token_key;

typedef struct kp_token_keyset {
	size_t count;
	kp_token_key keys[KP_TOKEN_MAX_KEYS];
} kp_token_keyset;

/* kp_token_sign makes a token of c (c->kid is ignored; kid names the
 * signing key sk, a 64-byte libsodium secret key). On KP_OK *out is
 * malloc'd, the caller frees it. */
int kp_token_sign(const kp_token_claims *c, const char *kid,
                  const unsigned char sk[64], char **out);

/* kp_token_kid extracts the key id of a token's header without verifying
 * anything. Returns KP_OK or KP_EUNAUTH (malformed). */
int kp_token_kid(const char *token, char *kid, size_t len);

/* kp_token_verify checks the token's signature against the key of its kid
 * in ks and its expiry against now. KP_OK fills *out; KP_ENOTFOUND when
 * the kid is not in ks (the caller may refresh its keys and retry);
 * KP_EUNAUTH for anything else (malformed, bad signature, expired). */
int kp_token_verify(const char *token, const kp_token_keyset *ks, int64_t now,
                    kp_token_claims *out);

/* kp_token_keyset_find returns the key of kid or NULL. */
const kp_token_key *kp_token_keyset_find(const kp_token_keyset *ks,
                                         const char *kid);

#endif
