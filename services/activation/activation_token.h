/* activation_token: activation tokens, base64url(payload) "." base64url(sig),
 * signed with the product's Ed25519 key.
 *
 * Two ways to sign, chosen at start-up (KEYPORT_ACTIVATION_SIGNING):
 *   "cache" (default): the product's secret key is fetched once with
 *           license.GetSigningKey and kept in sodium_mlock'd memory (wiped
 *           by sodium_munlock at exit), so a token costs no RPC;
 *   "rpc":  every token is signed by license.SignToken.
 * See docs/design.md "Token signing" for the measurement behind the default.
 */
#ifndef ACTIVATION_TOKEN_H
#define ACTIVATION_TOKEN_H

#include "kp_rpc.h"

#include <jansson.h>
#include <stddef.h>

typedef struct act_signer act_signer;

/* act_signer_open makes a signer; *out owned by the caller (free with
 * act_signer_close). Returns a kp_status. */
int act_signer_open(act_signer **out);

/* act_signer_close wipes and unlocks the cached keys and frees; NULL-safe. */
void act_signer_close(act_signer *s);

/* act_signer_sign writes the Ed25519 signature (64 bytes) of msg by the
 * product's key into sig. On failure the answer of ctx is set. */
int act_signer_sign(act_signer *s, kp_rpc_ctx *ctx, const char *product_id,
                    const unsigned char *msg, size_t len, unsigned char *sig);

/* act_token_sign serialises payload (borrowed) compactly and signs it for
 * product_id through the license service on behalf of ctx. On KP_OK *token
 * is a malloc'd NUL-terminated string the caller frees. On failure the
 * answer of ctx is set. */
int act_token_sign(act_signer *s, kp_rpc_ctx *ctx, const char *product_id,
                   json_t *payload, char **token);

#endif
