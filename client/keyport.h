/* keyport.h: libkeyport, the client library a vendor links into their
 * application to activate it against a Keyport server, online or offline.
 *
 * One object, keyport_client, holds the path of the local state file and
 * the last error's one-line reason. Every call returns KEYPORT_OK (0) or a
 * keyport_status; keyport_error(c) then says why in one line. The state
 * file (JSON, see docs/client.md) is written atomically (temp file, fsync,
 * rename, fsync of the directory) with mode 0600: it holds the activation
 * token and, for offline activations, the client's secret key.
 *
 * Anti-replay and rollback: each online request carries a fresh random
 * nonce that the signed token must echo; the state keeps the newest token
 * issuedAt and the newest local time seen, and a token or a local clock
 * older than those (by more than KEYPORT_CLOCK_SKEW seconds) is refused as
 * KEYPORT_EROLLBACK.
 *
 * Not thread-safe per object; use one keyport_client per thread.
 * Depends on libcurl, libsodium and jansson only.
 */
#ifndef KEYPORT_H
#define KEYPORT_H

#include <stddef.h>
#include <stdint.h>

typedef enum keyport_err {
	KEYPORT_OK = 0,
	KEYPORT_EINVAL = 1,     /* bad argument or public key */
	KEYPORT_EIO = 2,        /* state/file read or write failed */
	KEYPORT_ENET = 3,       /* no HTTP answer */
	KEYPORT_ESERVER = 4,    /* the server refused: see keyport_error */
	KEYPORT_EFORGED = 5,    /* token signature invalid */
	KEYPORT_EREPLAY = 6,    /* token does not echo our nonce */
	KEYPORT_EROLLBACK = 7,  /* token or clock went backwards */
	KEYPORT_ENOTACTIVE = 8, /* no activation in the state */
	KEYPORT_EOFFLINE = 9,   /* offline file refused: see keyport_error */
	KEYPORT_ENOMEM = 10,
	KEYPORT_EMISMATCH = 11, /* token for another machine or product */
} keyport_err;

/* Allowed backwards step of the local clock, in seconds. */
#define KEYPORT_CLOCK_SKEW 300

typedef struct keyport_client keyport_client;

/* Activation as the state file knows it (copied out, no ownership). */
typedef struct keyport_info {
	int active;          /* 1 when the state holds an activation */
	int offline;         /* 1 for an offline activation */
	int verified;        /* 1 when the token was checked with a key */
	int pending_request; /* 1 when an offline request awaits an answer */
	char activation_id[128];
	char license_id[128];
	char product_id[128];
	char status[128]; /* license status in the token */
	char fingerprint[128];
	int64_t expires_at; /* 0 = perpetual */
	int64_t issued_at;
	char server[512];
} keyport_info;

/* keyport_client_new makes a client for the state file at path (NULL:
 * $KEYPORT_STATE, else ~/.keyport/state.json). The file need not exist.
 * Returns NULL on out of memory. Free with keyport_client_free (NULL-safe).
 */
keyport_client *keyport_client_new(const char *state_path);
void keyport_client_free(keyport_client *c);

/* keyport_error: the last failure's one-line reason (static until the next
 * call on c). */
const char *keyport_error(const keyport_client *c);

/* keyport_strerror: a static text for a status. */
const char *keyport_strerror(int status);

/* keyport_fingerprint writes this machine's fingerprint (64 hex chars + NUL)
 * into out: BLAKE2b-256 (crypto_generichash) of "keyport-fp-v1\n" +
 * /etc/machine-id + "\n" + hostname + "\n" + the lowest-named permanent MAC
 * (/sys/class/net/<if>/address with addr_assign_type 0, not lo, not
 * virtual). Stable across reboots and interface order. */
int keyport_fingerprint(char out[65]);

/* keyport_fingerprint_from is keyport_fingerprint with the inputs' places
 * given (for tests): machine_id_path, hostname (NULL: gethostname) and the
 * directory of network interfaces (e.g. "/sys/class/net"). */
int keyport_fingerprint_from(const char *machine_id_path, const char *hostname,
                             const char *net_dir, char out[65]);

/* keyport_set_product_key pins the product's Ed25519 public key (base64 or
 * base64url, as GET /v1/products shows it). Tokens are then verified on
 * every activate, heartbeat, status and offline load; without it online
 * tokens are only decoded (info.verified = 0). */
int keyport_set_product_key(keyport_client *c, const char *public_key);

/* keyport_activate: POST server/v1/activations {key, productId,
 * fingerprint, hostname, os, osVersion, nonce}; checks the token (signature
 * when pinned, nonce, fingerprint, product, rollback) and stores it. */
int keyport_activate(keyport_client *c, const char *server, const char *key,
                     const char *product_id);

/* keyport_heartbeat: POST /v1/activations/{id}/heartbeat {key, nonce};
 * stores the fresh token after the same checks. */
int keyport_heartbeat(keyport_client *c);

/* keyport_deactivate: POST /v1/activations/{id}/deactivate {key}; clears
 * the activation from the state on success. */
int keyport_deactivate(keyport_client *c);

/* keyport_status reads the state into *info, re-verifies the stored token
 * (when a key is pinned) and checks the clock for rollback. Returns
 * KEYPORT_ENOTACTIVE (info filled, active = 0) when nothing is active. */
int keyport_status(keyport_client *c, keyport_info *info);

/* keyport_verify_token verifies a token with a public key (32 bytes) and
 * the rollback rules of the state; it does not store it. */
int keyport_verify_token(keyport_client *c, const char *token,
                         const unsigned char public_key[32]);

/* keyport_offline_request writes an offline activation request for key and
 * product to out_path, and keeps its nonce and secret key in the state. */
int keyport_offline_request(keyport_client *c, const char *key,
                            const char *product_id, const char *out_path);

/* keyport_offline_activate loads a response file: refuses it once past
 * responseExpiresAt, if altered, forged (not signed by the pinned product
 * key; keyport_set_product_key is required), for another machine or not
 * the answer to the pending request. Stores the activation. */
int keyport_offline_activate(keyport_client *c, const char *response_path);

/* keyport_offline_deactivate writes a deactivation request proving, with
 * the secret key kept since the request, that this machine gives up the
 * activation; the activation is removed from the state. */
int keyport_offline_deactivate(keyport_client *c, const char *out_path);

#endif
