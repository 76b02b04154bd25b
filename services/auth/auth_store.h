/* auth_store: every statement of the auth schema, and the only code of the
 * auth service that talks to PostgreSQL.
 *
 * Each statement is a static const char beside an enum of its columns; the
 * readers fill typed rows (messages of proto/auth.proto); callers never see
 * a PGresult or a column number. Times come out of SQL as epoch seconds and
 * are formatted here (kp_time_format; "" for NULL); "now" goes in as the
 * caller's int64_t, passed with kp_time_param and read by
 * to_timestamp($n::bigint).
 *
 * Every function returns a kp_status: KP_OK, KP_ENOTFOUND where a row is
 * looked up (an id that is not a UUID cannot exist and is simply not
 * found), or the translation of the SQLSTATE (kp_db.h), which the caller
 * answers with kp_service_db_fail. A set borrows its strings from the
 * store's result; free it with its *_clear (NULL-safe, idempotent; also
 * after a failure, which leaves it empty).
 */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include "kp_db.h"
#include "proto/auth.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* ---- users ----------------------------------------------------------------
 */

typedef struct auth_user_row {
	Keyport__Auth__User msg;
	const char *password_hash; /* "" unless the statement reads it */
	char created[32], updated[32];
} auth_user_row;

/* Users read by one statement; total is a list's whole count. */
typedef struct auth_user_set {
	size_t n;
	auth_user_row *rows;
	Keyport__Auth__User **ptrs;
	int64_t total;
	void *res_;
} auth_user_set;

void auth_user_set_clear(auth_user_set *s);

/* auth_store_user_get reads user id (with its password hash), in
 * organization scope unless scope is NULL or "", FOR UPDATE when lock:
 * KP_ENOTFOUND. */
int auth_store_user_get(kp_db *db, const char *id, const char *scope, int lock,
                        auth_user_set *out);

/* auth_store_user_by_email reads the user whose lower-cased email is email
 * (already lower case), with its password hash: KP_ENOTFOUND. */
int auth_store_user_by_email(kp_db *db, const char *email, auth_user_set *out);

/* The fields of a new user (org NULL: none). */
typedef struct auth_user_new {
	const char *email, *first_name, *last_name, *role, *organization_id,
	    *password_hash;
} auth_user_new;

/* auth_store_user_create inserts a user: KP_ECONFLICT when the email is
 * taken. */
int auth_store_user_create(kp_db *db, const auth_user_new *u, int64_t now,
                           auth_user_set *out);

/* A user's change: a field is written when its has_ flag is set
 * (organization_id NULL or "": none). */
typedef struct auth_user_change {
	int has_email, has_first_name, has_last_name, has_role, has_disabled,
	    has_password, has_organization_id;
	const char *email, *first_name, *last_name, *role, *password_hash,
	    *organization_id;
	int disabled;
} auth_user_change;

/* auth_store_user_update writes c to user id and reads it back:
 * KP_ENOTFOUND, KP_ECONFLICT (email taken). */
int auth_store_user_update(kp_db *db, const char *id, const auth_user_change *c,
                           int64_t now, auth_user_set *out);

/* auth_store_user_delete deletes user id (sessions and tokens go with it,
 * ON DELETE CASCADE). */
int auth_store_user_delete(kp_db *db, const char *id);

/* auth_store_user_list reads a page of users (of org unless ""), oldest
 * first, with the whole count in out->total. */
int auth_store_user_list(kp_db *db, const char *org, int limit, int64_t offset,
                         auth_user_set *out);

/* auth_store_users_get reads the users ids[0..n) (ids that are not UUIDs
 * are skipped), of scope unless "", by email. */
int auth_store_users_get(kp_db *db, char *const *ids, size_t n,
                         const char *scope, auth_user_set *out);

/* auth_store_user_count counts the users of org (NULL: every user). */
int auth_store_user_count(kp_db *db, const char *org, int64_t *count);

/* auth_store_org_admins_besides counts org's enabled organization-admins
 * other than user_id. */
int auth_store_org_admins_besides(kp_db *db, const char *org,
                                  const char *user_id, int64_t *count);

/* auth_store_lock_org locks organization org's user set, and
 * auth_store_lock_bootstrap the first start, for the open transaction. */
int auth_store_lock_org(kp_db *db, const char *org);
int auth_store_lock_bootstrap(kp_db *db);

/* auth_store_admin_create inserts the vendor admin. */
int auth_store_admin_create(kp_db *db, const char *email, const char *hash,
                            int64_t now);

/* auth_store_password_set writes user id's password hash; now > 0 also
 * sets updated_at (a change), now == 0 keeps it (a renewed hash). */
int auth_store_password_set(kp_db *db, const char *id, const char *hash,
                            int64_t now);

/* A list of ids (deleted users). */
typedef struct auth_ids {
	size_t n;
	char **ids;
	void *res_;
} auth_ids;

void auth_ids_clear(auth_ids *s);

/* auth_store_org_users_delete voids the access tokens of organization org's
 * users and deletes them, giving their ids (in db's open transaction). */
int auth_store_org_users_delete(kp_db *db, const char *org, int64_t now,
                                auth_ids *out);

/* ---- sessions and access-token revocations ------------------------------ */

/* auth_store_sessions_revoke revokes every session of user_id except
 * family keep (NULL: none kept). */
int auth_store_sessions_revoke(kp_db *db, const char *user_id, const char *keep,
                               int64_t now);

/* auth_store_tokens_revoke voids the access tokens user_id holds now (see
 * auth.Revocations). */
int auth_store_tokens_revoke(kp_db *db, const char *user_id, int64_t now);

typedef struct auth_revocation_set {
	size_t n;
	Keyport__Auth__Revocation *rows;
	Keyport__Auth__Revocation **ptrs;
	void *res_;
} auth_revocation_set;

void auth_revocation_set_clear(auth_revocation_set *s);

/* auth_store_revocations reads the revocations of the last 16 minutes
 * (newest first, at most 4096); auth_store_revocations_prune deletes those
 * older than a day. */
int auth_store_revocations(kp_db *db, int64_t now, auth_revocation_set *out);
int auth_store_revocations_prune(kp_db *db, int64_t now);

/* Session ids (families), borrowed from res_. */
typedef struct auth_session_ids {
	size_t n;
	char **ids;
	void *res_;
} auth_session_ids;

void auth_session_ids_clear(auth_session_ids *s);

/* auth_store_revoked_sessions reads the sessions revoked in the last 16
 * minutes (newest first, at most 4096). */
int auth_store_revoked_sessions(kp_db *db, int64_t now, auth_session_ids *out);

/* A refresh token's row (strings borrowed). */
typedef struct auth_refresh_row {
	const char *id, *family_id, *user_id;
	int rotated, revoked, expired;
	void *res_;
} auth_refresh_row;

void auth_refresh_row_clear(auth_refresh_row *r);

/* auth_store_refresh_find reads the token of hash FOR UPDATE:
 * KP_ENOTFOUND. */
int auth_store_refresh_find(kp_db *db, const char *hash, int64_t now,
                            auth_refresh_row *out);

/* auth_store_refresh_add stores a refresh token of family (NULL: a new
 * family) for user_id, valid ttl seconds; fam receives the family id. */
int auth_store_refresh_add(kp_db *db, const char *family, const char *user_id,
                           const char *hash, int64_t now, int64_t ttl,
                           char fam[40]);

/* auth_store_refresh_rotate marks token id rotated. */
int auth_store_refresh_rotate(kp_db *db, const char *id, int64_t now);

/* auth_store_family_revoke revokes session family (a replayed token);
 * auth_store_logout revokes the session of the token of hash. */
int auth_store_family_revoke(kp_db *db, const char *family, int64_t now);
int auth_store_logout(kp_db *db, const char *hash, int64_t now);

/* ---- login throttling ------------------------------------------------------
 */

/* Failed logins within a window: count and oldest (epoch seconds). */
typedef struct auth_failures {
	int64_t email_n, email_oldest, addr_n, addr_oldest;
} auth_failures;

/* auth_store_failures counts the failures of email and of addr within the
 * window seconds up to now. */
int auth_store_failures(kp_db *db, const char *email, const char *addr,
                        int64_t now, int64_t window, auth_failures *out);

/* auth_store_failure_add records a failure of email and addr and deletes
 * the rows older than a day; auth_store_failures_clear forgets email's. */
int auth_store_failure_add(kp_db *db, const char *email, const char *addr,
                           int64_t now);
int auth_store_failures_clear(kp_db *db, const char *email);

/* ---- personal access tokens ---------------------------------------------- */

typedef struct auth_pat_row {
	Keyport__Auth__PersonalAccessToken msg;
	char expires[32], used[32], created[32];
} auth_pat_row;

typedef struct auth_pat_set {
	size_t n;
	auth_pat_row *rows;
	Keyport__Auth__PersonalAccessToken **ptrs;
	int64_t total; /* a list's whole count (0 past its end) */
	void *res_;
} auth_pat_set;

void auth_pat_set_clear(auth_pat_set *s);

/* auth_store_pat_create stores a token of hash for user_id, expiring after
 * days (0: never): KP_ECONFLICT. */
int auth_store_pat_create(kp_db *db, const char *user_id, const char *name,
                          const char *hash, int64_t now, int64_t days,
                          auth_pat_set *out);

/* auth_store_pat_list reads a page of user_id's tokens, oldest first. */
int auth_store_pat_list(kp_db *db, const char *user_id, int limit,
                        int64_t offset, auth_pat_set *out);

/* auth_store_pat_delete deletes user_id's token id: KP_ENOTFOUND. */
int auth_store_pat_delete(kp_db *db, const char *id, const char *user_id);

/* Who a token speaks for (strings borrowed). */
typedef struct auth_caller_row {
	const char *user_id, *role, *organization_id;
	void *res_;
} auth_caller_row;

void auth_caller_row_clear(auth_caller_row *r);

/* auth_store_pat_use finds the unexpired token of hash of an enabled user
 * and notes its use: KP_ENOTFOUND. */
int auth_store_pat_use(kp_db *db, const char *hash, int64_t now,
                       auth_caller_row *out);

/* ---- the org outbox ---------------------------------------------------------
 */

/* auth_store_outbox_add queues user_id's removal from org's groups (""
 * every group); auth_store_outbox_add_org queues every user of org. */
int auth_store_outbox_add(kp_db *db, const char *user_id, const char *org,
                          int64_t now);
int auth_store_outbox_add_org(kp_db *db, const char *org, int64_t now);

/* Pending rows, by scope (organization_id) then age. */
typedef struct auth_outbox_set {
	size_t n;
	char **user_ids, **orgs;
	void *res_;
} auth_outbox_set;

void auth_outbox_set_clear(auth_outbox_set *s);

/* auth_store_outbox_pending reads at most limit pending rows. */
int auth_store_outbox_pending(kp_db *db, int limit, auth_outbox_set *out);

/* auth_store_outbox_done deletes the rows of org for ids[0..n). */
int auth_store_outbox_done(kp_db *db, char *const *ids, size_t n,
                           const char *org);

#endif
