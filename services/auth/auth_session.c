/* auth_session: login (with throttling), refresh-token rotation, logout,
 * access tokens, the public keys, Authenticate and password change.
 *
 * A session is a family of refresh tokens: login starts one, each refresh
 * rotates to a new token of the same family, and presenting an already
 * rotated token revokes the whole family (it was stolen or replayed).
 * Refresh tokens are 256 random bits, stored only as crypto_generichash.
 */
#include "auth_app.h"

#include "kp_pgarr.h"
#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_RT_PREFIX "kp_rt_"
#define AUTH_RT_LEN    64
#define AUTH_WINDOW    900 /* throttle window, seconds */

static int
auth_unauth(kp_rpc_ctx *ctx, const char *msg)
{
	return kp_rpc_fail(ctx, KP_EUNAUTH, "UNAUTHENTICATED", "%s", msg);
}

/* Makes the access token of user u for a session. *out is malloc'd. */
static int
auth_access_token(const Keyport__Auth__User *u, const char *family, char **out)
{
	auth_app *app = auth_app_get();
	kp_access_claims c;
	int rv;

	auth_keys_check(app, 0); /* rotation, when due */
	memset(&c, 0, sizeof(c));
	snprintf(c.user_id, sizeof(c.user_id), "%s", u->id);
	snprintf(c.role, sizeof(c.role), "%s", u->role);
	snprintf(c.organization_id, sizeof(c.organization_id), "%s",
	         u->organization_id);
	snprintf(c.session_id, sizeof(c.session_id), "%s", family);
	c.issued_at = kp_now();
	c.expires_at = c.issued_at + KP_ACCESS_LIFETIME;
	auth_keys_rdlock(app);
	rv = kp_access_sign(&c, app->keys[0].kid, app->keys[0].sk, out);
	auth_keys_unlock(app);
	return rv;
}

/* Stores a new refresh token of family (NULL: a new family) for user in
 * the open transaction; rt receives the token, fam the family id. */
static int
auth_new_refresh(kp_db *db, const char *user_id, const char *family,
                 char rt[AUTH_RT_LEN], char fam[40])
{
	char hash[65];

	auth_random_token(AUTH_RT_PREFIX, rt, AUTH_RT_LEN);
	auth_token_hash(rt, hash);
	return auth_store_refresh_add(
	    db, family, user_id, hash, kp_now(),
	    (int64_t)kp_cfg_int(KP_CFG_REFRESH_TTL_DAYS) * 86400, fam);
}

/* Answers the token pair for user u. */
static int
auth_reply_pair(kp_rpc_ctx *ctx, const Keyport__Auth__User *u,
                const char *family, const char *rt)
{
	Keyport__Auth__TokenPair rep = KEYPORT__AUTH__TOKEN_PAIR__INIT;
	char *at = NULL;
	int rv;

	if (auth_access_token(u, family, &at) != KP_OK)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "cannot sign");
	rep.access_token = at;
	rep.refresh_token = (char *)rt;
	rep.expires_in = KP_ACCESS_LIFETIME;
	rep.user = (Keyport__Auth__User *)u;
	rv = kp_rpc_reply(ctx, &rep.base);
	sodium_memzero(at, strlen(at));
	free(at);
	return rv;
}

/* ---- throttling ------------------------------------------------------------
 */

/* The seconds until the oldest of n failures (since oldest) leaves the
 * window, when n reaches max; 0 when not limited. */
static int64_t
auth_limited(int64_t n, int64_t oldest, int64_t max)
{
	int64_t r = oldest + AUTH_WINDOW - kp_now();

	if (n < max)
		return 0;
	return r > 1 ? r : 1;
}

/* Answers 429 when the email or the address is throttled. */
static int
auth_throttled(kp_rpc_ctx *ctx, kp_db *db, const char *email, const char *addr)
{
	auth_failures f;
	int64_t retry, r;
	int rv;

	if ((rv = auth_store_failures(db, email, addr, kp_now(), AUTH_WINDOW,
	                              &f)) != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "auth.Login: throttle");
	retry = auth_limited(f.email_n, f.email_oldest,
	                     kp_cfg_int(KP_CFG_LOGIN_MAX_PER_EMAIL));
	r = auth_limited(f.addr_n, f.addr_oldest,
	                 kp_cfg_int(KP_CFG_LOGIN_MAX_PER_ADDRESS));
	if (r > retry)
		retry = r;
	if (retry == 0)
		return KP_OK;
	ctx->retry_after = (uint32_t)retry;
	return kp_rpc_fail(ctx, KP_ERATELIMIT, "RATE_LIMITED",
	                   "too many failed logins; retry in %lld s",
	                   (long long)retry);
}

static void
auth_record_failure(kp_db *db, const char *email, const char *addr)
{
	if (auth_store_failure_add(db, email, addr, kp_now()) != KP_OK)
		kp_log_warn("cannot record a failed login");
}

/* ---- Login --------------------------------------------------------------- */

/* Checks a login's input; email receives the lower-cased address. */
static int
auth_login_check(kp_rpc_ctx *ctx, const Keyport__Auth__LoginRequest *req,
                 char email[256])
{
	if (req->email[0] == '\0' || strlen(req->email) >= 256)
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "email: required, at most 254 characters");
	if (req->password[0] == '\0' || strlen(req->password) > 1024)
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "password: required");
	for (size_t i = 0; req->email[i]; i++)
		email[i] = (char)tolower((unsigned char)req->email[i]);
	email[strlen(req->email)] = '\0';
	return KP_OK;
}

/* After a good password: forgets the email's failures and renews an old
 * hash (neither may fail the login). */
static void
auth_login_ok(kp_db *db, const char *email, const char *user_id, const char *pw,
              int rehash)
{
	char h[crypto_pwhash_STRBYTES];

	(void)auth_store_failures_clear(db, email);
	if (!rehash)
		return;
	if (auth_pw_hash(pw, h) == KP_OK &&
	    auth_store_password_set(db, user_id, h, 0) == KP_OK)
		kp_log_info("renewed the password hash of %s", user_id);
	sodium_memzero(h, sizeof(h));
}

int
auth_login(kp_rpc_ctx *ctx)
{
	Keyport__Auth__LoginRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	auth_user_set u = {0};
	const Keyport__Auth__User *user;
	char email[256], rt[AUTH_RT_LEN], fam[40];
	const char *addr;
	int rv, ok = 0, rehash = 0;

	if ((rv = kp_rpc_unpack(ctx, &keyport__auth__login_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = auth_login_check(ctx, req, email)) != KP_OK)
		goto out;
	addr = req->client_address[0] ? req->client_address : "unknown";
	if ((rv = auth_throttled(ctx, db, email, addr)) != KP_OK)
		goto out;
	rv = auth_store_user_by_email(db, email, &u);
	if (rv != KP_OK && rv != KP_ENOTFOUND) {
		rv = kp_service_db_fail(ctx, rv, NULL, "auth.Login: read");
		goto out;
	}
	/* an unknown email costs the same as a wrong password */
	rv = auth_pw_verify(u.n ? u.rows[0].password_hash : NULL, req->password,
	                    &ok, &rehash);
	if (rv == KP_ERATELIMIT) {
		rv = auth_busy(ctx);
		goto out;
	}
	if (!ok || u.rows[0].msg.disabled) {
		auth_record_failure(db, email, addr);
		kp_log_info("failed login (%s)",
		            u.n ? "known user" : "unknown email");
		rv = auth_unauth(ctx, "invalid email or password");
		goto out;
	}
	user = &u.rows[0].msg;
	auth_login_ok(db, email, user->id, req->password, rehash);
	if ((rv = auth_new_refresh(db, user->id, NULL, rt, fam)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL, "auth.Login: session");
		goto out;
	}
	kp_log_info("login of user %s, session %s", user->id, fam);
	rv = auth_reply_pair(ctx, user, fam, rt);
	sodium_memzero(rt, sizeof(rt));
out:
	auth_user_set_clear(&u);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- Refresh ------------------------------------------------------------- */

/* Ends session family after a rotated token came back (stolen or
 * replayed), in the open transaction, and answers 401. */
static int
auth_refresh_reuse(kp_rpc_ctx *ctx, kp_db *db, const char *family)
{
	int rv;

	if ((rv = auth_store_family_revoke(db, family, kp_now())) != KP_OK ||
	    (rv = kp_db_commit(db)) != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL, "auth.Refresh: reuse");
	kp_log_warn("reuse of a rotated refresh token: session %s revoked",
	            family);
	return auth_unauth(ctx, "refresh token reuse; the session is revoked");
}

int
auth_refresh(kp_rpc_ctx *ctx)
{
	Keyport__Auth__RefreshRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	auth_refresh_row t = {0};
	auth_user_set u = {0};
	char hash[65], rt[AUTH_RT_LEN], fam[40];
	int rv;

	if ((rv =
	         kp_rpc_unpack(ctx, &keyport__auth__refresh_request__descriptor,
	                       (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->refresh_token[0] == '\0') {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "refreshToken: required");
		goto out;
	}
	auth_token_hash(req->refresh_token, hash);
	if ((rv = kp_db_begin(db)) != KP_OK ||
	    (rv = auth_store_refresh_find(db, hash, kp_now(), &t)) != KP_OK) {
		rv = rv == KP_ENOTFOUND
		         ? auth_unauth(ctx, "invalid refresh token")
		         : kp_service_db_fail(ctx, rv, NULL,
		                              "auth.Refresh: read");
		goto out;
	}
	if (t.revoked || t.expired) {
		rv = auth_unauth(ctx, "the refresh token was revoked or "
		                      "expired");
		goto out;
	}
	if (t.rotated) {
		rv = auth_refresh_reuse(ctx, db, t.family_id);
		goto out;
	}
	rv = auth_store_user_get(db, t.user_id, NULL, 0, &u);
	if (rv == KP_ENOTFOUND || (rv == KP_OK && u.rows[0].msg.disabled)) {
		rv = auth_unauth(ctx, "the user is disabled");
		goto out;
	}
	if (rv != KP_OK ||
	    (rv = auth_store_refresh_rotate(db, t.id, kp_now())) != KP_OK ||
	    (rv = auth_new_refresh(db, t.user_id, t.family_id, rt, fam)) !=
	        KP_OK ||
	    (rv = kp_db_commit(db)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL, "auth.Refresh: rotate");
		goto out;
	}
	rv = auth_reply_pair(ctx, &u.rows[0].msg, fam, rt);
	sodium_memzero(rt, sizeof(rt));
out:
	kp_db_rollback(db);
	auth_refresh_row_clear(&t);
	auth_user_set_clear(&u);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- Logout -------------------------------------------------------------- */

int
auth_logout(kp_rpc_ctx *ctx)
{
	Keyport__Auth__LogoutRequest *req = NULL;
	char hash[65];
	int rv;

	if ((rv = kp_rpc_unpack(ctx, &keyport__auth__logout_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->refresh_token[0] == '\0') {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "refreshToken: required");
		goto out;
	}
	auth_token_hash(req->refresh_token, hash);
	rv = auth_store_logout(kp_service_db(ctx), hash, kp_now());
	rv = rv == KP_OK ? kp_rpc_reply(ctx, NULL)
	                 : kp_service_db_fail(ctx, rv, NULL, "auth.Logout");
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- PublicKeys / Authenticate
 * ---------------------------------------------------- */

int
auth_public_keys(kp_rpc_ctx *ctx)
{
	auth_app *app = auth_app_get();
	Keyport__Auth__PublicKeysReply rep =
	    KEYPORT__AUTH__PUBLIC_KEYS_REPLY__INIT;
	Keyport__Auth__PublicKey keys[KP_ACCESS_MAX_KEYS];
	Keyport__Auth__PublicKey *ptrs[KP_ACCESS_MAX_KEYS];
	int rv;

	/* reread: a key another replica made is published at once */
	auth_keys_check(app, 1);
	auth_keys_rdlock(app);
	for (size_t i = 0; i < app->nkeys; i++) {
		keyport__auth__public_key__init(&keys[i]);
		keys[i].kid = app->keys[i].kid;
		keys[i].key.data = app->keys[i].pk;
		keys[i].key.len = 32;
		ptrs[i] = &keys[i];
	}
	rep.n_keys = app->nkeys;
	rep.keys = ptrs;
	rv = kp_rpc_reply(ctx, &rep.base);
	auth_keys_unlock(app);
	return rv;
}

int
auth_authenticate(kp_rpc_ctx *ctx)
{
	Keyport__Auth__AuthenticateRequest *req = NULL;
	Keyport__Auth__AuthenticateReply rep =
	    KEYPORT__AUTH__AUTHENTICATE_REPLY__INIT;
	Keyport__Caller caller = KEYPORT__CALLER__INIT;
	auth_app *app = auth_app_get();
	kp_access_keyset ks;
	kp_access_claims c;
	auth_user_set u = {0};
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__auth__authenticate_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (strncmp(req->token, "kp_pat_", 7) == 0) {
		rv = auth_pat_authenticate(ctx, req->token);
		goto out;
	}
	memset(&ks, 0, sizeof(ks));
	auth_keys_rdlock(app);
	for (size_t i = 0; i < app->nkeys; i++) {
		memcpy(ks.keys[i].kid, app->keys[i].kid, KP_ACCESS_KID_MAX);
		memcpy(ks.keys[i].pk, app->keys[i].pk, 32);
	}
	ks.count = app->nkeys;
	auth_keys_unlock(app);
	if (kp_access_verify(req->token, &ks, kp_now(), &c) != KP_OK) {
		rv = auth_unauth(ctx, "invalid or expired token");
		goto out;
	}
	rv = auth_store_user_get(kp_service_db(ctx), c.user_id, NULL, 0, &u);
	if (rv == KP_ENOTFOUND || (rv == KP_OK && u.rows[0].msg.disabled)) {
		rv = auth_unauth(ctx, "the user is disabled or gone");
		goto out;
	}
	if (rv != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL, "auth.Authenticate");
		goto out;
	}
	caller.user_id = u.rows[0].msg.id;
	caller.role = u.rows[0].msg.role;
	caller.organization_id = u.rows[0].msg.organization_id;
	rep.caller = &caller;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	auth_user_set_clear(&u);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- ChangePassword ------------------------------------------------------ */

/* Checks the current and the new password of user u (the hash of the new
 * one into hash). */
static int
auth_password_check(kp_rpc_ctx *ctx,
                    const Keyport__Auth__ChangePasswordRequest *req,
                    const auth_user_row *u, char *hash)
{
	int rv, ok = 0, rehash = 0;

	if (req->current_password[0] == '\0')
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "currentPassword: required");
	if ((rv = auth_pw_check_new(ctx, "newPassword", req->new_password,
	                            u->msg.email)) != KP_OK)
		return rv;
	rv = auth_pw_verify(u->password_hash, req->current_password, &ok,
	                    &rehash);
	if (rv == KP_ERATELIMIT)
		return auth_busy(ctx);
	if (!ok)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, "FORBIDDEN",
		                   "currentPassword: wrong password");
	if ((rv = auth_pw_hash(req->new_password, hash)) != KP_OK)
		return rv == KP_ERATELIMIT ? auth_busy(ctx)
		                           : kp_rpc_fail(ctx, rv, NULL, "hash");
	return KP_OK;
}

int
auth_change_password(kp_rpc_ctx *ctx)
{
	Keyport__Auth__ChangePasswordRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	const char *id = ctx->caller->user_id;
	char hash[crypto_pwhash_STRBYTES] = "";
	auth_user_set u = {0};
	int64_t now = kp_now();
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__auth__change_password_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(id)) {
		rv = auth_unauth(ctx, "a signed-in user is required");
		goto out;
	}
	rv = auth_store_user_get(db, id, NULL, 0, &u);
	if (rv == KP_ENOTFOUND || (rv == KP_OK && u.rows[0].msg.disabled)) {
		rv = auth_unauth(ctx, "the user is disabled or gone");
		goto out;
	}
	if (rv != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "auth.ChangePassword: read");
		goto out;
	}
	if ((rv = auth_password_check(ctx, req, &u.rows[0], hash)) != KP_OK)
		goto out;
	if ((rv = kp_db_begin(db)) != KP_OK ||
	    (rv = auth_store_password_set(db, id, hash, now)) != KP_OK ||
	    (rv = auth_store_sessions_revoke(
	         db, id,
	         kp_uuid_valid(req->session_id) ? req->session_id : NULL,
	         now)) != KP_OK ||
	    (rv = kp_db_commit(db)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "auth.ChangePassword: write");
		goto out;
	}
	kp_log_info("password of user %s changed; other sessions revoked", id);
	rv = kp_rpc_reply(ctx, NULL);
out:
	kp_db_rollback(db);
	auth_user_set_clear(&u);
	sodium_memzero(hash, sizeof(hash));
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
