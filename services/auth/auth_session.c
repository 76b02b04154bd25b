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

/* Makes the access token of a user row (AUTH_USER_COLS) for a session.
 * *out is malloc'd. */
static int
auth_access_token(PGresult *u, const char *family, char **out)
{
	auth_app *app = auth_app_get();
	kp_access_claims c;
	int rv;

	auth_keys_check(app, 0); /* rotation, when due */
	memset(&c, 0, sizeof(c));
	snprintf(c.user_id, sizeof(c.user_id), "%s", PQgetvalue(u, 0, 0));
	snprintf(c.role, sizeof(c.role), "%s", PQgetvalue(u, 0, 4));
	snprintf(c.organization_id, sizeof(c.organization_id), "%s",
	         PQgetvalue(u, 0, 5));
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
auth_store_refresh(kp_db *db, const char *user_id, const char *family,
                   char rt[AUTH_RT_LEN], char fam[40])
{
	char hash[65], now[32], ttl[24];
	PGresult *res = NULL;
	int rv;

	auth_random_token(AUTH_RT_PREFIX, rt, AUTH_RT_LEN);
	auth_token_hash(rt, hash);
	snprintf(ttl, sizeof(ttl), "%lld",
	         (long long)kp_cfg_int(KP_CFG_REFRESH_TTL_DAYS) * 86400);
	{
		const char *p[5] = {family, user_id, hash,
		                    auth_now_param(now, sizeof(now)), ttl};
		rv = kp_db_query(
		    db,
		    "INSERT INTO refresh_tokens (family_id, "
		    "user_id, token_hash, created_at, expires_at) "
		    "VALUES (coalesce($1::uuid, gen_random_uuid()), "
		    "$2, $3, to_timestamp($4::float8), "
		    "to_timestamp($4::float8 + $5::float8)) "
		    "RETURNING family_id::text",
		    5, p, &res);
	}
	if (rv == KP_OK)
		snprintf(fam, 40, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rv;
}

/* Answers the token pair for user row u. */
static int
auth_reply_pair(kp_rpc_ctx *ctx, PGresult *u, const char *family,
                const char *rt)
{
	Keyport__Auth__TokenPair rep = KEYPORT__AUTH__TOKEN_PAIR__INIT;
	Keyport__Auth__User user;
	char *at = NULL;
	int rv;

	if (auth_access_token(u, family, &at) != KP_OK)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "cannot sign");
	auth_user_from_row(u, 0, &user);
	rep.access_token = at;
	rep.refresh_token = (char *)rt;
	rep.expires_in = KP_ACCESS_LIFETIME;
	rep.user = &user;
	rv = kp_rpc_reply(ctx, &rep.base);
	sodium_memzero(at, strlen(at));
	free(at);
	return rv;
}

/* ---- throttling ------------------------------------------------------------
 */

/* Answers 429 when the email or the address is throttled. */
static int
auth_throttled(kp_rpc_ctx *ctx, kp_db *db, const char *email, const char *addr)
{
	int64_t max_email = kp_cfg_int(KP_CFG_LOGIN_MAX_PER_EMAIL);
	int64_t max_addr = kp_cfg_int(KP_CFG_LOGIN_MAX_PER_ADDRESS);
	char now[32], win[16];
	PGresult *res = NULL;
	int rv, limited = 0;
	int64_t retry = 1;

	snprintf(win, sizeof(win), "%d", AUTH_WINDOW);
	{
		const char *p[4] = {email, addr,
		                    auth_now_param(now, sizeof(now)), win};
		rv = kp_db_query(
		    db,
		    "SELECT kind, count(*), extract(epoch FROM min(at))"
		    "::bigint FROM login_failures WHERE ((kind = 'email' "
		    "AND key = $1) OR (kind = 'address' AND key = $2)) "
		    "AND at > to_timestamp($3::float8 - $4::float8) AND "
		    "at <= to_timestamp($3::float8) GROUP BY kind",
		    4, p, &res);
	}
	if (rv != KP_OK) {
		PQclear(res);
		return kp_rpc_fail(ctx, rv, NULL, "database: %s",
		                   kp_strerror(rv));
	}
	for (int i = 0; i < PQntuples(res); i++) {
		int is_email = strcmp(PQgetvalue(res, i, 0), "email") == 0;
		int64_t n = atoll(PQgetvalue(res, i, 1));
		int64_t oldest = atoll(PQgetvalue(res, i, 2));

		if (n >= (is_email ? max_email : max_addr)) {
			int64_t r = oldest + AUTH_WINDOW - kp_now();
			limited = 1;
			if (r > retry)
				retry = r;
		}
	}
	PQclear(res);
	if (!limited)
		return KP_OK;
	ctx->retry_after = (uint32_t)retry;
	return kp_rpc_fail(ctx, KP_ERATELIMIT, "RATE_LIMITED",
	                   "too many failed logins; retry in %lld s",
	                   (long long)retry);
}

static void
auth_record_failure(kp_db *db, const char *email, const char *addr)
{
	char now[32];
	const char *p[3] = {email, addr, auth_now_param(now, sizeof(now))};

	if (kp_db_exec(db,
	               "INSERT INTO login_failures (kind, key, at) VALUES "
	               "('email', $1, to_timestamp($3::float8)), ('address', "
	               "$2, to_timestamp($3::float8))",
	               3, p) != KP_OK)
		kp_log_warn("cannot record a failed login");
	/* old rows are of no use */
	kp_db_exec(db,
	           "DELETE FROM login_failures WHERE at < "
	           "to_timestamp($1::float8 - 86400)",
	           1, p + 2);
}

/* ---- Login
 * ------------------------------------------------------------------- */

int
auth_login(kp_rpc_ctx *ctx)
{
	Keyport__Auth__LoginRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	PGresult *u = NULL;
	char email[256], rt[AUTH_RT_LEN], fam[40];
	const char *addr;
	int rv, ok = 0, rehash = 0;

	if ((rv = kp_rpc_unpack(ctx, &keyport__auth__login_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->email[0] == '\0' || strlen(req->email) >= sizeof(email)) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "email: required, at most 254 characters");
		goto out;
	}
	if (req->password[0] == '\0' || strlen(req->password) > 1024) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "password: required");
		goto out;
	}
	for (size_t i = 0; req->email[i]; i++)
		email[i] = (char)tolower((unsigned char)req->email[i]);
	email[strlen(req->email)] = '\0';
	addr = req->client_address[0] ? req->client_address : "unknown";
	if ((rv = auth_throttled(ctx, db, email, addr)) != KP_OK)
		goto out;
	{
		const char *p[1] = {email};
		rv =
		    kp_db_query(db,
		                "SELECT " AUTH_USER_COLS ", password_hash FROM "
		                "users WHERE lower(email) = $1",
		                1, p, &u);
	}
	if (rv != KP_OK) {
		rv =
		    kp_rpc_fail(ctx, rv, NULL, "database: %s", kp_strerror(rv));
		goto out;
	}
	/* an unknown email costs the same as a wrong password */
	rv = auth_pw_verify(PQntuples(u) ? PQgetvalue(u, 0, AUTH_USER_NCOLS)
	                                 : NULL,
	                    req->password, &ok, &rehash);
	if (rv == KP_ERATELIMIT) {
		rv = auth_busy(ctx);
		goto out;
	}
	if (!ok || PQgetvalue(u, 0, 6)[0] == 't') {
		auth_record_failure(db, email, addr);
		kp_log_info("failed login (%s)",
		            PQntuples(u) ? "known user" : "unknown email");
		rv = auth_unauth(ctx, "invalid email or password");
		goto out;
	}
	{
		const char *p[1] = {email};
		kp_db_exec(db,
		           "DELETE FROM login_failures WHERE kind = 'email' "
		           "AND key = $1",
		           1, p);
	}
	if (rehash) {
		char h[crypto_pwhash_STRBYTES];
		if (auth_pw_hash(req->password, h) == KP_OK) {
			const char *p[2] = {PQgetvalue(u, 0, 0), h};
			kp_db_exec(db,
			           "UPDATE users SET password_hash = $2 WHERE "
			           "id = $1",
			           2, p);
			kp_log_info("renewed the password hash of %s", p[0]);
		}
		sodium_memzero(h, sizeof(h));
	}
	if ((rv = auth_store_refresh(db, PQgetvalue(u, 0, 0), NULL, rt, fam)) !=
	    KP_OK) {
		rv =
		    kp_rpc_fail(ctx, rv, NULL, "database: %s", kp_strerror(rv));
		goto out;
	}
	kp_log_info("login of user %s, session %s", PQgetvalue(u, 0, 0), fam);
	rv = auth_reply_pair(ctx, u, fam, rt);
	sodium_memzero(rt, sizeof(rt));
out:
	PQclear(u);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- Refresh
 * ----------------------------------------------------------------------- */

int
auth_refresh(kp_rpc_ctx *ctx)
{
	Keyport__Auth__RefreshRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	PGresult *t = NULL, *u = NULL;
	char hash[65], now[32], rt[AUTH_RT_LEN], fam[40], family[40];
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
	if ((rv = kp_db_begin(db)) != KP_OK)
		goto dbfail;
	{
		const char *p[2] = {hash, auth_now_param(now, sizeof(now))};
		rv = kp_db_query(db,
		                 "SELECT id::text, family_id::text, "
		                 "user_id::text, rotated_at IS NOT NULL, "
		                 "revoked_at IS NOT NULL, expires_at <= "
		                 "to_timestamp($2::float8) FROM refresh_tokens "
		                 "WHERE token_hash = $1 FOR UPDATE",
		                 2, p, &t);
	}
	if (rv != KP_OK)
		goto dbfail;
	if (PQntuples(t) == 0) {
		rv = auth_unauth(ctx, "invalid refresh token");
		goto out;
	}
	snprintf(family, sizeof(family), "%s", PQgetvalue(t, 0, 1));
	if (PQgetvalue(t, 0, 4)[0] == 't' || PQgetvalue(t, 0, 5)[0] == 't') {
		rv = auth_unauth(ctx, "the refresh token was revoked or "
		                      "expired");
		goto out;
	}
	if (PQgetvalue(t, 0, 3)[0] == 't') {
		/* replay of a rotated token: end the whole session */
		const char *p[2] = {family, now};
		if ((rv = kp_db_exec(db,
		                     "UPDATE refresh_tokens SET revoked_at = "
		                     "to_timestamp($2::float8) WHERE family_id "
		                     "= $1::uuid AND revoked_at IS NULL",
		                     2, p)) != KP_OK ||
		    (rv = kp_db_commit(db)) != KP_OK)
			goto dbfail;
		kp_log_warn("reuse of a rotated refresh token: session %s "
		            "revoked",
		            family);
		rv = auth_unauth(ctx, "refresh token reuse; the session is "
		                      "revoked");
		goto out;
	}
	{
		const char *p[1] = {PQgetvalue(t, 0, 2)};
		rv = kp_db_query(db,
		                 "SELECT " AUTH_USER_COLS " FROM users WHERE "
		                 "id = $1",
		                 1, p, &u);
	}
	if (rv != KP_OK)
		goto dbfail;
	if (PQntuples(u) == 0 || PQgetvalue(u, 0, 6)[0] == 't') {
		rv = auth_unauth(ctx, "the user is disabled");
		goto out;
	}
	{
		const char *p[2] = {PQgetvalue(t, 0, 0), now};
		if ((rv = kp_db_exec(db,
		                     "UPDATE refresh_tokens SET rotated_at = "
		                     "to_timestamp($2::float8) WHERE id = $1",
		                     2, p)) != KP_OK)
			goto dbfail;
	}
	if ((rv = auth_store_refresh(db, PQgetvalue(u, 0, 0), family, rt,
	                             fam)) != KP_OK ||
	    (rv = kp_db_commit(db)) != KP_OK)
		goto dbfail;
	rv = auth_reply_pair(ctx, u, fam, rt);
	sodium_memzero(rt, sizeof(rt));
	goto out;
dbfail:
	rv = kp_rpc_fail(ctx, rv, NULL, "database: %s", kp_strerror(rv));
out:
	kp_db_rollback(db);
	PQclear(t);
	PQclear(u);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- Logout
 * ---------------------------------------------------------------------- */

int
auth_logout(kp_rpc_ctx *ctx)
{
	Keyport__Auth__LogoutRequest *req = NULL;
	char hash[65], now[32];
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
	{
		const char *p[2] = {hash, auth_now_param(now, sizeof(now))};
		rv = kp_db_exec(kp_service_db(ctx),
		                "UPDATE refresh_tokens SET revoked_at = "
		                "to_timestamp($2::float8) WHERE family_id = "
		                "(SELECT family_id FROM refresh_tokens WHERE "
		                "token_hash = $1) AND revoked_at IS NULL",
		                2, p);
	}
	rv = rv == KP_OK
	         ? kp_rpc_reply(ctx, NULL)
	         : kp_rpc_fail(ctx, rv, NULL, "database: %s", kp_strerror(rv));
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
	PGresult *u = NULL;
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
	{
		const char *p[1] = {c.user_id};
		rv = kp_db_query(kp_service_db(ctx),
		                 "SELECT " AUTH_USER_COLS " FROM users WHERE "
		                 "id = $1",
		                 1, p, &u);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "database");
		goto out;
	}
	if (PQntuples(u) == 0 || PQgetvalue(u, 0, 6)[0] == 't') {
		rv = auth_unauth(ctx, "the user is disabled or gone");
		goto out;
	}
	caller.user_id = PQgetvalue(u, 0, 0);
	caller.role = PQgetvalue(u, 0, 4);
	caller.organization_id = PQgetvalue(u, 0, 5);
	rep.caller = &caller;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	PQclear(u);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- ChangePassword
 * ------------------------------------------------------------------ */

int
auth_change_password(kp_rpc_ctx *ctx)
{
	Keyport__Auth__ChangePasswordRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char hash[crypto_pwhash_STRBYTES] = "", now[32];
	PGresult *u = NULL;
	int rv, ok = 0, rehash = 0;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__auth__change_password_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(ctx->caller->user_id)) {
		rv = auth_unauth(ctx, "a signed-in user is required");
		goto out;
	}
	{
		const char *p[1] = {ctx->caller->user_id};
		rv = kp_db_query(db,
		                 "SELECT email, password_hash FROM users WHERE "
		                 "id = $1 AND NOT disabled",
		                 1, p, &u);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "database");
		goto out;
	}
	if (PQntuples(u) == 0) {
		rv = auth_unauth(ctx, "the user is disabled or gone");
		goto out;
	}
	if (req->current_password[0] == '\0') {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "currentPassword: required");
		goto out;
	}
	if ((rv = auth_pw_check_new(ctx, "newPassword", req->new_password,
	                            PQgetvalue(u, 0, 0))) != KP_OK)
		goto out;
	rv = auth_pw_verify(PQgetvalue(u, 0, 1), req->current_password, &ok,
	                    &rehash);
	if (rv == KP_ERATELIMIT) {
		rv = auth_busy(ctx);
		goto out;
	}
	if (!ok) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, "FORBIDDEN",
		                 "currentPassword: wrong password");
		goto out;
	}
	if ((rv = auth_pw_hash(req->new_password, hash)) != KP_OK) {
		rv = rv == KP_ERATELIMIT ? auth_busy(ctx)
		                         : kp_rpc_fail(ctx, rv, NULL, "hash");
		goto out;
	}
	{
		const char *p[3] = {ctx->caller->user_id, hash,
		                    auth_now_param(now, sizeof(now))};
		if ((rv = kp_db_begin(db)) != KP_OK ||
		    (rv = kp_db_exec(db,
		                     "UPDATE users SET password_hash = $2, "
		                     "updated_at = to_timestamp($3::float8) "
		                     "WHERE id = $1",
		                     3, p)) != KP_OK ||
		    (rv = auth_revoke_user_sessions(
		         db, ctx->caller->user_id,
		         kp_uuid_valid(req->session_id) ? req->session_id
		                                        : NULL)) != KP_OK ||
		    (rv = kp_db_commit(db)) != KP_OK) {
			rv = kp_rpc_fail(ctx, rv, NULL, "database");
			goto out;
		}
	}
	kp_log_info("password of user %s changed; other sessions revoked",
	            ctx->caller->user_id);
	rv = kp_rpc_reply(ctx, NULL);
out:
	kp_db_rollback(db);
	PQclear(u);
	sodium_memzero(hash, sizeof(hash));
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
