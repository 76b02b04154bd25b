/* auth_app: the auth service's shared state and its internal modules.
 *
 *   auth_keys   access-token signing keys in KEYPORT_SECRET_DIR
 *   auth_pw     password hashing on a bounded pool (Argon2id, libsodium)
 *   auth_users   one user's RPCs (create, get, update, delete)
 *   auth_users_list the batch user RPCs (list, get many, count, delete an
 *                organization's) and auth.Revocations
 *   auth_bootstrap the vendor admin of the first start; small helpers
 *   auth_session login, refresh, logout, tokens, password change
 *   auth_pat     personal access tokens
 *   auth_outbox  org.UserRemoved, delivered at least once
 *   auth_store   every statement (auth_store.h): the only files that call
 *                libpq
 *
 * The state is made once by auth_main's init and read by every worker;
 * nothing in it changes after init except the key set (under keys_lock,
 * see auth_keys) and what auth_pw's semaphore guards.
 */
#ifndef AUTH_APP_H
#define AUTH_APP_H

#include "kp_db.h"
#include "kp_rpc.h"
#include "kp_access.h"
#include "auth_store.h"
#include "proto/auth.pb-c.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdint.h>

typedef struct auth_signing_key {
	char kid[KP_ACCESS_KID_MAX];
	unsigned char sk[64]; /* in sodium_malloc'd memory (see auth_keys) */
	unsigned char pk[32];
} auth_signing_key;

typedef struct auth_app {
	/* the key set: replaced as a whole by auth_keys (rotation); read
	 * keys/nkeys only between auth_keys_rdlock and auth_keys_unlock */
	pthread_rwlock_t keys_lock;
	auth_signing_key *keys; /* sodium_allocarray; newest first */
	size_t nkeys;
	pthread_mutex_t rotate_lock;     /* one rotation check at a time */
	_Atomic int64_t keys_next_check; /* kp_now() of the next check */
	int64_t key_max_age;             /* seconds */
	int64_t key_check_interval;      /* seconds */
	int keys_external; /* KEYPORT_AUTH_KEY_ROTATION=external */
	char keys_dir[4096];
	sem_t hash_slots;     /* KEYPORT_HASH_CONCURRENCY */
	int64_t hash_wait_ms; /* how long excess waits for a slot */
	char dummy_hash[crypto_pwhash_STRBYTES];
} auth_app;

/* The process's state (set once by init). */
auth_app *auth_app_get(void);

/* ---- auth_keys ---------------------------------------------------------- */

/* auth_keys_load reads (or on first start creates, 0600) the signing keys
 * of KEYPORT_SECRET_DIR/auth-keys. Returns a kp_status. */
int auth_keys_load(auth_app *app);
void auth_keys_free(auth_app *app);

/* auth_keys_check rereads the key directory when the check is due (once
 * per KEYPORT_AUTH_KEY_CHECK_SECONDS of kp_now()) or force is set: makes a
 * new signing key when the newest is too old and deletes keys whose tokens
 * have all expired. Never fails the caller (a failure keeps the keys). */
void auth_keys_check(auth_app *app, int force);

/* auth_keys_rdlock / auth_keys_unlock bracket every read of app->keys. */
void auth_keys_rdlock(auth_app *app);
void auth_keys_unlock(auth_app *app);

/* ---- auth_pw ------------------------------------------------------------ */

/* auth_pw_init sets up the pool and the dummy hash. */
int auth_pw_init(auth_app *app);
void auth_pw_fini(auth_app *app);

/* auth_pw_hash hashes pw into out (crypto_pwhash_STRBYTES). Returns KP_OK,
 * KP_ERATELIMIT (the pool stayed busy; retry later) or KP_EINTERNAL. */
int auth_pw_hash(const char *pw, char *out);

/* auth_pw_verify checks pw against hash (NULL or "": the dummy hash, which
 * never matches but costs the same). *ok is 1 on a match, *rehash is 1
 * when the hash should be renewed. Returns KP_OK or KP_ERATELIMIT. */
int auth_pw_verify(const char *hash, const char *pw, int *ok, int *rehash);

/* auth_pw_check_new validates a new password (8..256 characters, not the
 * email). Returns KP_OK or answers ctx with 400 naming field. */
int auth_pw_check_new(kp_rpc_ctx *ctx, const char *field, const char *pw,
                      const char *email);

/* auth_busy answers ctx with the pool's RATE_LIMITED. */
int auth_busy(kp_rpc_ctx *ctx);

/* ---- auth_users, auth_users_list, auth_bootstrap ------------------------ */

/* auth_bootstrap creates the vendor admin when there is no user
 * (auth_bootstrap.c). */
int auth_bootstrap(kp_db *db);

/* auth_reply_user answers the user u (borrowed). */
int auth_reply_user(kp_rpc_ctx *ctx, const Keyport__Auth__User *u);

/* auth_token_hash writes the hex crypto_generichash of token into out
 * (65 bytes). */
void auth_token_hash(const char *token, char out[65]);

/* auth_random_token writes prefix + base64url(32 random bytes) into out. */
void auth_random_token(const char *prefix, char *out, size_t len);

int auth_create_user(kp_rpc_ctx *ctx);
int auth_get_user(kp_rpc_ctx *ctx);
int auth_update_user(kp_rpc_ctx *ctx);
int auth_delete_user(kp_rpc_ctx *ctx);
int auth_list_users(kp_rpc_ctx *ctx);
int auth_get_users(kp_rpc_ctx *ctx);
int auth_count_users(kp_rpc_ctx *ctx);
int auth_delete_org_users(kp_rpc_ctx *ctx);
int auth_revocations(kp_rpc_ctx *ctx);

/* ---- auth_outbox ------------------------------------------------------- */

/* auth_outbox_queue records, in db's open transaction, that user_id must
 * leave org's groups: every group (org "") or organization org's only (a
 * move out of it). auth_outbox_queue_org does it for every user of
 * organization org (before they are deleted). Return a kp_status. */
int auth_outbox_queue(kp_db *db, const char *user_id, const char *org);
int auth_outbox_queue_org(kp_db *db, const char *org);

/* auth_outbox_flush sends the pending rows to org (org.UserRemoved) and
 * deletes those org confirmed; failures are logged and kept. Call after
 * the commit that queued. auth_outbox_retry does it when a retry is due. */
void auth_outbox_flush(kp_rpc_ctx *ctx);
void auth_outbox_retry(kp_rpc_ctx *ctx);

/* ---- auth_session -----------------------------------------------------------
 */
int auth_login(kp_rpc_ctx *ctx);
int auth_refresh(kp_rpc_ctx *ctx);
int auth_logout(kp_rpc_ctx *ctx);
int auth_public_keys(kp_rpc_ctx *ctx);
int auth_authenticate(kp_rpc_ctx *ctx);
int auth_change_password(kp_rpc_ctx *ctx);

/* ---- auth_pat -------------------------------------------------------------
 */
int auth_pat_create(kp_rpc_ctx *ctx);
int auth_pat_list(kp_rpc_ctx *ctx);
int auth_pat_delete(kp_rpc_ctx *ctx);
/* auth_pat_authenticate resolves a kp_pat_ token into caller fields. */
int auth_pat_authenticate(kp_rpc_ctx *ctx, const char *token);

#endif
