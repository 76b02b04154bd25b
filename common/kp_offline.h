/* kp_offline: the offline activation file formats (version 1), both sides.
 *
 * Three JSON files travel by hand between an air-gapped machine and the
 * portal; docs/offline-activation.md is the full reference. Every file has
 *   "format": "keyport-offline", "version": 1, "type": "<kind>",
 * the fields of its kind, and "checksum": base64url(crypto_generichash32 of
 * the canonical text), where the canonical text is the file object without
 * "checksum", serialised by jansson compact with sorted keys
 * (JSON_COMPACT | JSON_SORT_KEYS). A checksum mismatch means the file was
 * edited: OFFLINE_ALTERED.
 *
 * activation-request (client -> portal): key, productId, fingerprint,
 *   hostname, os, osVersion, appVersion, nonce (base64url 16 random bytes),
 *   createdAt (unix s), clientPublicKey (base64url Ed25519 public key of a
 *   key pair made for this request; its secret half never leaves the
 *   machine), signature (base64url Ed25519 signature by that key of the
 *   canonical text without "signature" and "checksum"). A bad signature also
 *   means OFFLINE_ALTERED.
 * activation-response (portal -> client): activationId, licenseId,
 *   productId, fingerprint, nonce, issuedAt, responseExpiresAt, and token: an
 *   activation token (kp_token.h) signed by the product key whose payload
 *   repeats all of these plus clientPublicKey and offline=true. The outer
 *   fields are for humans; the client trusts only the token and refuses a
 *   file whose outer fields differ from it (ALTERED), whose token does not
 *   verify (FORGED), or that it loads after responseExpiresAt (EXPIRED).
 * deactivation-request (client -> portal): activationId, licenseId,
 *   productId, fingerprint, nonce, createdAt, proof: base64url Ed25519
 *   signature by the client's secret key of the canonical text without
 *   "proof" and "checksum". Only the machine that made the activation
 *   request holds that key; the server verifies the proof with the
 *   clientPublicKey it stored at activation (it stores nothing secret) and
 *   accepts each proof once (proof_id below; OFFLINE_REPLAYED after).
 *
 * All times are unix seconds; functions take `now` so the server passes
 * kp_now() and tests can move it. Only libsodium and jansson are used, so
 * libkeyport compiles this file without the server libraries.
 */
#ifndef KP_OFFLINE_H
#define KP_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "kp_token.h"

#define KP_OFFLINE_FORMAT  "keyport-offline"
#define KP_OFFLINE_VERSION 1
/* A request file older than this (or dated > 1 day ahead) is EXPIRED. */
#define KP_OFFLINE_REQUEST_MAX_AGE (30 * 86400)
/* Default validity of a response (the route's responseValidity). */
#define KP_OFFLINE_RESPONSE_VALIDITY (30 * 86400)
/* Largest file accepted by the parsers. */
#define KP_OFFLINE_MAX_FILE 65536

/* Status codes (0 = success); kp_offline_code names them for the API
 * (400 with code "OFFLINE_MALFORMED", ...). */
typedef enum kp_offline_status {
	KP_OFFLINE_OK = 0,
	KP_OFFLINE_MALFORMED = 1,           /* not JSON, wrong type, fields */
	KP_OFFLINE_UNSUPPORTED_VERSION = 2, /* version other than 1 */
	KP_OFFLINE_ALTERED = 3,       /* checksum/self-signature mismatch */
	KP_OFFLINE_FORGED = 4,        /* product/client signature invalid */
	KP_OFFLINE_EXPIRED = 5,       /* response past responseExpiresAt,
	                                 request too old or from the future */
	KP_OFFLINE_WRONG_MACHINE = 6, /* fingerprint differs */
	KP_OFFLINE_KEY_MISMATCH = 7,  /* key/license/product differ */
	KP_OFFLINE_REPLAYED = 8,      /* proof used, or response not for the
	                                 pending request */
	KP_OFFLINE_NOMEM = 9,
} kp_offline_status;

/* kp_offline_code returns "OFFLINE_MALFORMED", ... (static; "INTERNAL" for
 * NOMEM/unknown). kp_offline_strerror returns a one-line human text. */
const char *kp_offline_code(int status);
const char *kp_offline_strerror(int status);

/* kp_offline_detail says why the last parse or load in this thread failed,
 * naming the field ("format: must be \"keyport-offline\"", "file: not valid
 * JSON at byte 12: ..."); "" when it did not fail or said nothing more.
 * Thread-local, valid until the thread's next parse. */
const char *kp_offline_detail(void);

#define KP_OFFLINE_FIELD_MAX 256

/* An activation request's fields (strings NUL-terminated, truncated never:
 * a longer field is MALFORMED). */
typedef struct kp_offline_request {
	int version;
	char key[KP_OFFLINE_FIELD_MAX];
	char product_id[KP_OFFLINE_FIELD_MAX];
	char fingerprint[KP_OFFLINE_FIELD_MAX];
	char hostname[KP_OFFLINE_FIELD_MAX];
	char os[KP_OFFLINE_FIELD_MAX];
	char os_version[KP_OFFLINE_FIELD_MAX];  /* may be "" */
	char app_version[KP_OFFLINE_FIELD_MAX]; /* may be "" */
	char nonce[KP_OFFLINE_FIELD_MAX];
	char client_public_key[KP_OFFLINE_FIELD_MAX];
	int64_t created_at;
} kp_offline_request;

/* ---- client side ------------------------------------------------------- */

/* kp_offline_request_create fills in req->version, nonce, created_at (=now)
 * and client_public_key (a fresh Ed25519 key pair), and writes the request
 * file into *out (malloc'd). The caller sets key, product_id, fingerprint,
 * hostname, os (os_version, app_version optional) and must keep client_sk
 * (64 bytes, secret: store it 0600) to load the response and to deactivate.
 */
int kp_offline_request_create(kp_offline_request *req, int64_t now,
                              unsigned char client_sk[KP_TOKEN_SK_BYTES],
                              char **out);

/* kp_offline_response_load checks a response file against the product's
 * public key and the pending request (req: nonce, client_public_key,
 * fingerprint, product_id as the client wrote them) at time now. On success
 * *claims holds the token payload (cleanup with kp_token_claims_cleanup) and
 * *token (if not NULL) the malloc'd token. Errors: MALFORMED,
 * UNSUPPORTED_VERSION, ALTERED, FORGED, EXPIRED, WRONG_MACHINE (fingerprint),
 * KEY_MISMATCH (productId), REPLAYED (nonce/clientPublicKey not the pending
 * request's). */
int kp_offline_response_load(const char *file, size_t len,
                             const unsigned char product_pk[KP_TOKEN_PK_BYTES],
                             const kp_offline_request *req, int64_t now,
                             kp_token_claims *claims, char **token);

/* kp_offline_deactivation_create writes a deactivation request for the
 * activation in claims (activation_id, license_id, product_id, fingerprint)
 * signed with client_sk, into *out (malloc'd). */
int
kp_offline_deactivation_create(const kp_token_claims *claims,
                               const unsigned char client_sk[KP_TOKEN_SK_BYTES],
                               int64_t now, char **out);

/* ---- server side ------------------------------------------------------- */

/* kp_offline_request_parse validates a request file (len bytes, need not be
 * NUL-terminated) and fills *out. Errors: MALFORMED, UNSUPPORTED_VERSION,
 * ALTERED (checksum or the client's signature), EXPIRED (createdAt older
 * than KP_OFFLINE_REQUEST_MAX_AGE or more than a day ahead of now). The
 * caller then resolves out->key: KEY_MISMATCH when it is not the license in
 * the path or out->product_id is not the license's product. */
int kp_offline_request_parse(const char *file, size_t len, int64_t now,
                             kp_offline_request *out);

/* Signs msg (len bytes) with the product's key into sig; returns 0 or a
 * non-zero error, passed back unchanged by kp_offline_response_create. The
 * activation service implements it with the RPC license.SignToken. */
typedef int (*kp_offline_sign_fn)(void *arg, const unsigned char *msg,
                                  size_t len,
                                  unsigned char sig[KP_TOKEN_SIG_BYTES]);

/* kp_offline_response_create builds the token from claims (the caller fills
 * activation/license/product ids, fingerprint, status, expires_at,
 * metadata_json, issued_at = now, nonce and client_public_key from the
 * request; offline and response_expires_at are set here) and writes the
 * response file into *out (malloc'd). Returns 0, KP_OFFLINE_MALFORMED (bad
 * claims), KP_OFFLINE_NOMEM, or the sign callback's error. */
int kp_offline_response_create(const kp_token_claims *claims,
                               int64_t response_expires_at,
                               kp_offline_sign_fn sign, void *arg, char **out);

/* A parsed deactivation request. Clean with kp_offline_deactivation_cleanup.
 * proof_id is hex(crypto_generichash32(proof)): store it under a unique
 * constraint; a second use of the same proof is OFFLINE_REPLAYED. */
typedef struct kp_offline_deactivation {
	int version;
	char activation_id[KP_OFFLINE_FIELD_MAX];
	char license_id[KP_OFFLINE_FIELD_MAX];
	char product_id[KP_OFFLINE_FIELD_MAX];
	char fingerprint[KP_OFFLINE_FIELD_MAX];
	char nonce[KP_OFFLINE_FIELD_MAX];
	int64_t created_at;
	char proof_id[65];
	/* internal: the signed text and the proof */
	char *signed_text;
	unsigned char proof[KP_TOKEN_SIG_BYTES];
} kp_offline_deactivation;

/* kp_offline_deactivation_parse validates the file's shape and checksum.
 * Errors: MALFORMED, UNSUPPORTED_VERSION, ALTERED. On success the caller
 * owns *out's resources (cleanup). The caller then looks up the activation
 * by out->activation_id within the license of the path (KEY_MISMATCH when
 * out->license_id differs from the path, not found = 404) and calls verify.
 */
int kp_offline_deactivation_parse(const char *file, size_t len,
                                  kp_offline_deactivation *out);

/* kp_offline_deactivation_verify checks the proof against what the server
 * stored at activation: the activation's clientPublicKey (base64url text)
 * and fingerprint. Errors: FORGED (the proof is not the client key's
 * signature), WRONG_MACHINE (fingerprint differs). Replay is the caller's
 * check (proof_id stored once, or the activation already deactivated). */
int kp_offline_deactivation_verify(const kp_offline_deactivation *d,
                                   const char *client_public_key,
                                   const char *fingerprint);

/* kp_offline_deactivation_cleanup frees d's resources; NULL-safe. */
void kp_offline_deactivation_cleanup(kp_offline_deactivation *d);

#endif
