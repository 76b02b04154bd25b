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
 * keyport_check (below) is the one decision call; docs/client.md is the
 * integration guide. Tests move the library's clock forward (never back)
 * with $KEYPORT_TEST_CLOCK_OFFSET (seconds).
 *
 * Not thread-safe per object; use one keyport_client per thread.
 * Depends on libcurl, libsodium and jansson only. The shared library
 * (libkeyport.so.1) exports the KEYPORT_API functions only.
 */
#ifndef KEYPORT_H
#define KEYPORT_H

#include <stddef.h>
#include <stdint.h>

#ifndef KEYPORT_API
#define KEYPORT_API __attribute__((visibility("default")))
#endif

typedef enum keyport_err {
	KEYPORT_OK = 0,
	KEYPORT_EINVAL = 1,     /* bad argument or public key */
	KEYPORT_EIO = 2,        /* state/file read or write failed */
	KEYPORT_ENET = 3,       /* no HTTP answer */
	KEYPORT_ESERVER = 4,    /* the server refused: see keyport_error and
	                           keyport_server_code */
	KEYPORT_EFORGED = 5,    /* token signature invalid */
	KEYPORT_EREPLAY = 6,    /* token does not echo our nonce */
	KEYPORT_EROLLBACK = 7,  /* token or clock went backwards */
	KEYPORT_ENOTACTIVE = 8, /* no activation in the state */
	KEYPORT_EOFFLINE = 9,   /* offline file refused: see keyport_error */
	KEYPORT_ENOMEM = 10,
	KEYPORT_EMISMATCH = 11,  /* token for another machine or product */
	KEYPORT_ENORELEASE = 12, /* no published release matches */
} keyport_err;

/* The outcomes of keyport_check, one per answer to "may this application
 * run now?". The application runs on KEYPORT_CHECK_OK and
 * KEYPORT_CHECK_GRACE, and refuses on every other value. */
typedef enum keyport_check_result {
	KEYPORT_CHECK_OK = 0,            /* genuine, active, recently synced */
	KEYPORT_CHECK_GRACE = 1,         /* genuine and active, but the server
	                                    was last reached longer ago than the
	                                    heartbeat interval (and less than the
	                                    grace period) */
	KEYPORT_CHECK_EXPIRED = 2,       /* past expiresAt, or the server said
	                                    "expired" */
	KEYPORT_CHECK_SUSPENDED = 3,     /* the vendor suspended the license */
	KEYPORT_CHECK_REVOKED = 4,       /* the vendor revoked the license */
	KEYPORT_CHECK_NOT_ACTIVATED = 5, /* no activation on this machine */
	KEYPORT_CHECK_TAMPERED = 6,      /* token not signed by the product key,
	                                    for another machine or product, or
	                                    the clock was set back */
	KEYPORT_CHECK_UNREACHABLE = 7,   /* the server was last reached longer
	                                    ago than the grace period */
	KEYPORT_CHECK_ERROR = 8,         /* cannot decide: state unreadable or
	                                    unwritable, no product key pinned,
	                                    out of memory (keyport_error) */
} keyport_check_result;

/* Defaults of keyport_set_heartbeat_interval and keyport_set_grace_period
 * (seconds). */
#define KEYPORT_DEFAULT_INTERVAL 3600
#define KEYPORT_DEFAULT_GRACE    (7 * 86400)
#define KEYPORT_DEFAULT_TIMEOUT  30

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
KEYPORT_API keyport_client *keyport_client_new(const char *state_path);
KEYPORT_API void keyport_client_free(keyport_client *c);

/* keyport_error: the last failure's one-line reason (static until the next
 * call on c). */
KEYPORT_API const char *keyport_error(const keyport_client *c);

/* keyport_strerror: a static text for a status. */
KEYPORT_API const char *keyport_strerror(int status);

/* keyport_fingerprint writes this machine's fingerprint (64 hex chars + NUL)
 * into out: BLAKE2b-256 (crypto_generichash) of "keyport-fp-v1\n" +
 * /etc/machine-id + "\n" + hostname + "\n" + the lowest-named permanent MAC
 * (/sys/class/net/<if>/address with addr_assign_type 0, not lo, not
 * virtual). Stable across reboots and interface order. */
KEYPORT_API int keyport_fingerprint(char out[65]);

/* keyport_fingerprint_from is keyport_fingerprint with the inputs' places
 * given (for tests): machine_id_path, hostname (NULL: gethostname) and the
 * directory of network interfaces (e.g. "/sys/class/net"). */
KEYPORT_API int keyport_fingerprint_from(const char *machine_id_path,
                                         const char *hostname,
                                         const char *net_dir, char out[65]);

/* keyport_set_product_key pins the product's Ed25519 public key (base64 or
 * base64url, as GET /v1/products shows it). Tokens are then verified on
 * every activate, heartbeat, status and offline load; without it online
 * tokens are only decoded (info.verified = 0). */
KEYPORT_API int keyport_set_product_key(keyport_client *c,
                                        const char *public_key);

/* keyport_activate: POST server/v1/activations {key, productId,
 * fingerprint, hostname, os, osVersion, appVersion, nonce} (trailing
 * slashes of server are dropped); checks the token (signature when pinned,
 * nonce, fingerprint, product, rollback) and stores it. The state file is
 * written before the server is asked (KEYPORT_EIO, nothing sent, when it
 * cannot be); when it cannot be written after the answer, the new
 * activation is deactivated on the server before KEYPORT_EIO is returned,
 * so no seat is lost. A refusal is KEYPORT_ESERVER with the server's code
 * in keyport_server_code (LICENSE_SUSPENDED, ACTIVATION_LIMIT_REACHED...). */
KEYPORT_API int keyport_activate(keyport_client *c, const char *server,
                                 const char *key, const char *product_id);

/* keyport_heartbeat: POST /v1/activations/{id}/heartbeat {key, nonce};
 * stores the fresh token (which carries the license's current status)
 * after the same checks. When the server no longer knows the activation
 * (freed from the portal, lease ended) the state forgets it and the call
 * returns KEYPORT_ENOTACTIVE. */
KEYPORT_API int keyport_heartbeat(keyport_client *c);

/* keyport_deactivate: POST /v1/activations/{id}/deactivate {key}; clears
 * the activation from the state on success. */
KEYPORT_API int keyport_deactivate(keyport_client *c);

/* keyport_status reads the state into *info, re-verifies the stored token
 * (when a key is pinned) and checks the clock for rollback. Returns
 * KEYPORT_ENOTACTIVE (info filled, active = 0) when nothing is active. */
KEYPORT_API int keyport_status(keyport_client *c, keyport_info *info);

/* keyport_verify_token verifies a token with a public key (32 bytes) and
 * the rollback rules of the state; it does not store it. */
KEYPORT_API int keyport_verify_token(keyport_client *c, const char *token,
                                     const unsigned char public_key[32]);

/* keyport_offline_request writes an offline activation request for key and
 * product to out_path, and keeps its nonce and secret key in the state. */
KEYPORT_API int keyport_offline_request(keyport_client *c, const char *key,
                                        const char *product_id,
                                        const char *out_path);

/* keyport_offline_activate loads a response file: refuses it once past
 * responseExpiresAt, if altered, forged (not signed by the pinned product
 * key; keyport_set_product_key is required), for another machine or not
 * the answer to the pending request. Stores the activation. */
KEYPORT_API int keyport_offline_activate(keyport_client *c,
                                         const char *response_path);

/* keyport_offline_deactivate writes a deactivation request proving, with
 * the secret key kept since the request, that this machine gives up the
 * activation; the activation is removed from the state. */
KEYPORT_API int keyport_offline_deactivate(keyport_client *c,
                                           const char *out_path);

/* ---- version and options ------------------------------------------------ */

/* keyport_version: the library's version, e.g. "0.1.0" (static). */
KEYPORT_API const char *keyport_version(void);

/* Options of one client; each returns KEYPORT_OK or KEYPORT_EINVAL. The
 * strings are copied.
 * timeout: seconds for a whole HTTP request (default 30, 1..3600);
 * proxy: a libcurl proxy URL ("http://host:3128", "socks5h://host"),
 *   NULL or "" for libcurl's default (the *_proxy environment variables);
 * ca_file: a PEM bundle to verify the server's certificate with, instead
 *   of the system's; NULL or "": the system's;
 * server_key: pin the server's TLS public key, as libcurl's
 *   CURLOPT_PINNEDPUBLICKEY takes it ("sha256//<base64>" list, or a PEM/DER
 *   file); a server presenting another key is refused as KEYPORT_ENET;
 * app_version: sent as appVersion on activation (at most 64 bytes);
 * heartbeat_interval / grace_period: see keyport_check (seconds, > 0, the
 *   interval below the grace period). */
KEYPORT_API int keyport_set_timeout(keyport_client *c, long seconds);
KEYPORT_API int keyport_set_proxy(keyport_client *c, const char *proxy);
KEYPORT_API int keyport_set_ca_file(keyport_client *c, const char *path);
KEYPORT_API int keyport_set_server_key(keyport_client *c, const char *pin);
KEYPORT_API int keyport_set_app_version(keyport_client *c, const char *version);
KEYPORT_API int keyport_set_heartbeat_interval(keyport_client *c,
                                               long long seconds);
KEYPORT_API int keyport_set_grace_period(keyport_client *c, long long seconds);

/* keyport_server_code: error.code of the server's last refusal on c
 * ("LICENSE_SUSPENDED", "ACTIVATION_LIMIT_REACHED", ...), "" if none. */
KEYPORT_API const char *keyport_server_code(const keyport_client *c);

/* ---- the decision ---------------------------------------------------------
 */

/* keyport_check answers "may this application run now?" from the state
 * file alone (no network): it verifies the stored token with the product
 * key (keyport_set_product_key, else the key pinned at activation and
 * kept in the state), then checks the clock for rollback, the machine's
 * fingerprint and product, the license status the server signed, expiry,
 * and how long ago the server was last reached (the token's issuedAt):
 * more than the heartbeat interval is KEYPORT_CHECK_GRACE, more than the
 * grace period KEYPORT_CHECK_UNREACHABLE. Offline activations have no
 * heartbeat and are never in grace. Returns a keyport_check_result;
 * keyport_error(c) says why for every value but KEYPORT_CHECK_OK. It
 * records the local time in the state (rollback detection), so an
 * unwritable state is KEYPORT_CHECK_ERROR. */
KEYPORT_API int keyport_check(keyport_client *c);

/* keyport_check_str: "ok", "grace", "expired", "suspended", "revoked",
 * "not-activated", "tampered", "unreachable", "error" (static). */
KEYPORT_API const char *keyport_check_str(int result);

/* ---- getters --------------------------------------------------------------
 * The values of the stored token (and state), read from the state file at
 * each call. They do not judge the token: call keyport_check first. The
 * strings are "" when unknown and stay valid until the next call on c. */
KEYPORT_API const char *keyport_license_id(keyport_client *c);
KEYPORT_API const char *keyport_license_key(keyport_client *c);
KEYPORT_API const char *keyport_license_type(keyport_client *c);
KEYPORT_API const char *keyport_license_status(keyport_client *c);
KEYPORT_API const char *keyport_license_user_id(keyport_client *c);
KEYPORT_API const char *keyport_license_organization_id(keyport_client *c);
KEYPORT_API const char *keyport_activation_id(keyport_client *c);
KEYPORT_API const char *keyport_product_id(keyport_client *c);
/* keyport_license_metadata: the metadata value of name, "" if absent. */
KEYPORT_API const char *keyport_license_metadata(keyport_client *c,
                                                 const char *name);
/* unix seconds; 0 = perpetual / never */
KEYPORT_API long long keyport_license_expires_at(keyport_client *c);
/* -1 = unlimited; -2 = not carried by this token (tokens issued before
 * the field existed; totalActivations is never carried, see
 * docs/client.md) */
KEYPORT_API long long keyport_license_allowed_activations(keyport_client *c);
KEYPORT_API long long keyport_license_total_activations(keyport_client *c);
/* keyport_last_contact: server time (unix seconds) of the newest token,
 * i.e. the last time the server was reached; 0 when never. */
KEYPORT_API long long keyport_last_contact(keyport_client *c);

/* ---- background sync --------------------------------------------------- */

/* The callback of keyport_sync_start: called on the sync thread with the
 * new keyport_check_result each time it changes (and once at start). */
typedef void (*keyport_callback)(int result, void *arg);

/* keyport_sync_start starts a thread that heartbeats every heartbeat
 * interval (a failed heartbeat is just retried next time: keyport_check
 * then moves to grace and unreachable as time passes) and calls cb on
 * every change of keyport_check, like LexActivator's SetLicenseCallback.
 * The thread uses its own copy of c's settings and the same state file;
 * do not call keyport_heartbeat on c while it runs. KEYPORT_EINVAL when
 * already started. */
KEYPORT_API int keyport_sync_start(keyport_client *c, keyport_callback cb,
                                   void *arg);

/* keyport_sync_now wakes the thread for a heartbeat at once (no-op when
 * it is not running). */
KEYPORT_API void keyport_sync_now(keyport_client *c);

/* keyport_sync_stop stops and joins the thread (no-op when none); after
 * it returns cb is not called any more. keyport_client_free calls it. */
KEYPORT_API void keyport_sync_stop(keyport_client *c);

/* ---- update check ---------------------------------------------------------
 */

typedef struct keyport_release {
	char id[64];
	char name[256];
	char version[64];
	char channel[64];
	char platform[64];
	char published_at[40];
	int newer; /* 1 when version is above the app version set with
	              keyport_set_app_version (dotted numbers compared) */
} keyport_release;

/* keyport_latest_release: GET /v1/products/{productId}/releases/latest
 * ?platform=&channel= with X-License-Key, for the activated license (the
 * state's server, key and product). platform and channel may be NULL or
 * "". KEYPORT_ENORELEASE when the server has none for this license. */
KEYPORT_API int keyport_latest_release(keyport_client *c, const char *platform,
                                       const char *channel,
                                       keyport_release *out);

#endif
