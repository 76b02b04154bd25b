/* kp_token: Keyport activation tokens, shared by the activation service
 * (which issues them) and libkeyport (which verifies them offline).
 *
 * Wire format (version 1):
 *
 *     token = base64url(payload) "." base64url(signature)
 *
 * base64url is RFC 4648 section 5 without padding (libsodium
 * sodium_base64_VARIANT_URLSAFE_NO_PADDING). `payload` is the UTF-8 JSON
 * object below, exactly as the issuer serialised it; `signature` is the
 * 64-byte Ed25519 detached signature (crypto_sign_detached) of those raw
 * payload bytes (not of their base64 form) by the product's secret key. So
 * an application verifies a token with only libsodium and the product's
 * public key: split at '.', decode both parts, crypto_sign_verify_detached.
 *
 * Payload fields (camelCase; times are integer unix seconds, UTC):
 *   activationId   string  the activation's id (uuid)
 *   licenseId      string  the license's id (uuid)
 *   productId      string  the product's id (uuid)
 *   fingerprint    string  the machine fingerprint the activation is bound to
 *   status         string  the license status at issue time ("active", ...)
 *   expiresAt      integer unix seconds the license expires, or null when
 *                          perpetual / not started
 *   issuedAt       integer unix seconds the token was signed (server clock);
 *                          the client treats a decrease as clock rollback
 *   metadata       object  the license's metadata (string values), {} if none
 *   nonce          string  echo of the nonce the client sent with the request
 *                          (online: body field "nonce" of POST /v1/activations
 *                          and of the heartbeat; offline: the request file's
 *                          nonce); "" when the request carried none
 *   offline        boolean true for a token issued by an offline activation
 *   clientPublicKey string (offline only) base64url Ed25519 public key of the
 *                          activated client, which signs its deactivation proof
 *   responseExpiresAt integer (offline only) the response file's expiry
 *   type           string  (online) the license type ("node-locked", ...)
 *   leaseSeconds   integer (online) the license's lease, 0 = none
 *   allowedActivations, allowedDeactivations integer (online) -1 = unlimited
 *   userId, organizationId string (online) the license's owner, "" if none
 * Readers ignore unknown fields, so fields may be added without a new
 * version.
 */
#ifndef KP_TOKEN_H
#define KP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/* Status codes of this module (0 = success). */
typedef enum kp_token_status {
	KP_TOKEN_OK = 0,
	KP_TOKEN_MALFORMED = 1, /* not "<b64url>.<b64url>", bad JSON, fields */
	KP_TOKEN_FORGED = 2,    /* signature does not verify with the key */
	KP_TOKEN_NOMEM = 3,
} kp_token_status;

/* Sizes of the libsodium keys and signatures this module uses. */
#define KP_TOKEN_PK_BYTES  32
#define KP_TOKEN_SK_BYTES  64
#define KP_TOKEN_SIG_BYTES 64
/* Largest id-like string field kept in kp_token_claims (incl. NUL). */
#define KP_TOKEN_FIELD_MAX 128

/* The payload fields as C values. For kp_token_payload_build every string
 * is read (NULL is "" ); metadata_json is a JSON object text or NULL ({}).
 * kp_token_payload_parse fills the arrays and sets metadata_json to a
 * malloc'd compact JSON object the caller frees with kp_token_claims_cleanup.
 */
typedef struct kp_token_claims {
	char activation_id[KP_TOKEN_FIELD_MAX];
	char license_id[KP_TOKEN_FIELD_MAX];
	char product_id[KP_TOKEN_FIELD_MAX];
	char fingerprint[KP_TOKEN_FIELD_MAX];
	char status[KP_TOKEN_FIELD_MAX];
	char nonce[KP_TOKEN_FIELD_MAX];
	char client_public_key[KP_TOKEN_FIELD_MAX]; /* "" unless offline */
	int64_t expires_at;                         /* 0 = null (perpetual) */
	int64_t issued_at;                          /* unix seconds */
	int64_t response_expires_at; /* 0 = absent (online tokens) */
	int offline;                 /* 0 or 1 */
	char *metadata_json;         /* owned after parse; borrowed for build */
} kp_token_claims;

/* kp_token_claims_cleanup frees metadata_json (from a parse) and clears
 * the struct; NULL-safe and idempotent. Do not call it on a struct whose
 * metadata_json the caller still owns elsewhere. */
void kp_token_claims_cleanup(kp_token_claims *c);

/* kp_token_payload_build serialises claims into the payload JSON. On
 * success *out is a malloc'd NUL-terminated string (caller frees).
 * Returns KP_TOKEN_MALFORMED when metadata_json is not a JSON object. */
int kp_token_payload_build(const kp_token_claims *claims, char **out);

/* kp_token_payload_parse reads a payload JSON text into *out (zeroed first;
 * clean it with kp_token_claims_cleanup on success). activationId,
 * licenseId, productId, fingerprint, status and issuedAt are required.
 * Returns KP_TOKEN_MALFORMED on bad JSON, missing or mistyped fields. */
int kp_token_payload_parse(const char *payload_json, kp_token_claims *out);

/* kp_token_assemble makes a token from payload bytes and a signature the
 * caller obtained elsewhere (the activation service gets it from the RPC
 * license.SignToken over exactly these bytes). *out is malloc'd. */
int kp_token_assemble(const char *payload, size_t len,
                      const unsigned char sig[KP_TOKEN_SIG_BYTES], char **out);

/* kp_token_sign signs payload_json with a libsodium Ed25519 secret key and
 * returns the token in *out (malloc'd, caller frees). */
int kp_token_sign(const char *payload_json,
                  const unsigned char sk[KP_TOKEN_SK_BYTES], char **out);

/* kp_token_verify checks the token's signature with the public key and, on
 * success, sets *payload_json (if not NULL) to the malloc'd payload text.
 * Returns KP_TOKEN_MALFORMED or KP_TOKEN_FORGED; *payload_json is then
 * untouched. It does not judge expiry, status or fingerprint: the caller
 * parses the payload and decides. */
int kp_token_verify(const char *token,
                    const unsigned char pk[KP_TOKEN_PK_BYTES],
                    char **payload_json);

/* kp_token_verify_claims = kp_token_verify + kp_token_payload_parse. */
int kp_token_verify_claims(const char *token,
                           const unsigned char pk[KP_TOKEN_PK_BYTES],
                           kp_token_claims *out);

/* kp_token_key_decode decodes a 32-byte public key (or, with n == 64, a
 * secret key) given as standard base64 (the API's product publicKey, with
 * or without padding) or base64url. Returns 0, or KP_TOKEN_MALFORMED. */
int kp_token_key_decode(const char *text, unsigned char *key, size_t n);

/* kp_token_strerror returns a static text for a kp_token_status. */
const char *kp_token_strerror(int status);

#endif
