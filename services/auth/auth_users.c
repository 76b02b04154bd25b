/* auth_users: the user RPCs of docs/rpc-contract.md and the bootstrap of
 * the vendor admin. */
#include "auth_app.h"

#include "kp_text.h"
#include "kp_pgarr.h"
#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define AUTH_NAME_MAX  100
#define AUTH_EMAIL_MAX 254

/* ---- small helpers ---------------------------------------------------------
 */

const char *
auth_now_param(char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)kp_now());
	return buf;
}

void
auth_token_hash(const char *token, char out[65])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token,
	                   strlen(token), NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

void
auth_random_token(const char *prefix, char *out, size_t len)
{
	unsigned char rnd[32];
	size_t p = strlen(prefix);

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(out, len, "%s", prefix);
	sodium_bin2base64(out + p, len - p, rnd, sizeof(rnd),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));
}

void
auth_user_from_row(PGresult *res, int i, Keyport__Auth__User *u)
{
	keyport__auth__user__init(u);
	u->id = PQgetvalue(res, i, 0);
	u->email = PQgetvalue(res, i, 1);
	u->first_name = PQgetvalue(res, i, 2);
	u->last_name = PQgetvalue(res, i, 3);
	u->role = PQgetvalue(res, i, 4);
	u->organization_id = PQgetvalue(res, i, 5);
	u->disabled = PQgetvalue(res, i, 6)[0] == 't';
	u->created_at = PQgetvalue(res, i, 7);
	u->updated_at = PQgetvalue(res, i, 8);
}

/* auth_users_from_res reads every row of res into *users (the messages,
 * strings borrowed from res) and *ptrs (pointers to them, for a repeated
 * field); both malloc'd, the caller frees them. Returns the number of rows,
 * or -1 when out of memory. */
static int
auth_users_from_res(PGresult *res, Keyport__Auth__User **users,
                    Keyport__Auth__User ***ptrs)
{
	int n = PQntuples(res);

	*users = calloc((size_t)n + 1, sizeof(**users));
	*ptrs = calloc((size_t)n + 1, sizeof(**ptrs));
	if (*users == NULL || *ptrs == NULL)
		return -1;
	for (int i = 0; i < n; i++) {
		auth_user_from_row(res, i, &(*users)[i]);
		(*ptrs)[i] = &(*users)[i];
	}
	return n;
}

/* Answers the single user of res. */
static int
auth_reply_user(kp_rpc_ctx *ctx, PGresult *res)
{
	Keyport__Auth__User u;
	Keyport__Auth__UserReply rep = KEYPORT__AUTH__USER_REPLY__INIT;

	auth_user_from_row(res, 0, &u);
	rep.user = &u;
	return kp_rpc_reply(ctx, &rep.base);
}

static int
auth_valid_email(const char *e)
{
	const char *at;

	if (e == NULL || kp_utf8_chars(e) > AUTH_EMAIL_MAX)
		return 0;
	at = strchr(e, '@');
	if (at == NULL || at == e || at[1] == '\0' || strchr(at + 1, '@') ||
	    at[1] == '.' || e[strlen(e) - 1] == '.')
		return 0;
	for (const unsigned char *p = (const unsigned char *)e; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == ',' || *p == ';' ||
		    *p == '<' || *p == '>' || *p == '"' || *p == '(' ||
		    *p == ')' || *p == '\\')
			return 0;
	return 1;
}

static int
auth_valid_role(const char *r)
{
	return r != NULL &&
	       (strcmp(r, "admin") == 0 ||
	        strcmp(r, "organization-admin") == 0 || strcmp(r, "user") == 0);
}

/* Trims s into buf (ASCII whitespace). Returns 0, or -1 when too long. */
static int
auth_trim(const char *s, char *buf, size_t len)
{
	const char *b = s ? s : "";
	size_t n;

	while (*b && isspace((unsigned char)*b))
		b++;
	n = strlen(b);
	while (n > 0 && isspace((unsigned char)b[n - 1]))
		n--;
	if (n >= len)
		return -1;
	memcpy(buf, b, n);
	buf[n] = '\0';
	/* limit in characters, not bytes */
	{
		size_t chars = 0;
		for (size_t i = 0; i < n; i++)
			if (((unsigned char)buf[i] & 0xC0) != 0x80)
				chars++;
		if (chars > AUTH_NAME_MAX)
			return -1;
	}
	return 0;
}

/* Checks and normalises the changeable fields. 0 or answered failure. */
static int
auth_check_fields(kp_rpc_ctx *ctx, const char *email, const char *first,
                  char *fbuf, const char *last, char *lbuf, const char *role,
                  const char *org)
{
	if (email != NULL && !auth_valid_email(email))
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "email: not a valid email address");
	if (first != NULL && auth_trim(first, fbuf, 4 * AUTH_NAME_MAX + 1))
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "firstName: at most %d characters",
		                   AUTH_NAME_MAX);
	if (last != NULL && auth_trim(last, lbuf, 4 * AUTH_NAME_MAX + 1))
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "lastName: at most %d characters",
		                   AUTH_NAME_MAX);
	if (role != NULL && !auth_valid_role(role))
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "role: must be admin, organization-admin "
		                   "or user");
	if (org != NULL && org[0] != '\0' && !kp_uuid_valid(org))
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "organizationId: not a UUID");
	return KP_OK;
}

/* Answers a database failure. */
static int
auth_db_fail(kp_rpc_ctx *ctx, int rv)
{
	return kp_rpc_fail(ctx, rv, NULL, "database: %s", kp_strerror(rv));
}

int
auth_revoke_user_sessions(kp_db *db, const char *user_id,
                          const char *keep_family)
{
	char now[32];
	const char *p[3] = {user_id, auth_now_param(now, sizeof(now)),
	                    keep_family ? keep_family : ""};

	return kp_db_exec(db,
	                  "UPDATE refresh_tokens SET revoked_at = "
	                  "to_timestamp($2::float8) WHERE user_id = $1 AND "
	                  "revoked_at IS NULL AND family_id::text <> $3",
	                  3, p);
}

/* Voids the access tokens a user holds now (see auth.Revocations). */
static int
auth_revoke_tokens(kp_db *db, const char *user_id)
{
	char now[32];
	const char *p[2] = {user_id, auth_now_param(now, sizeof(now))};

	return kp_db_exec(db,
	                  "INSERT INTO token_revocations (user_id, revoked_at) "
	                  "VALUES ($1, to_timestamp($2::float8)) ON CONFLICT "
	                  "(user_id) DO UPDATE SET revoked_at = "
	                  "EXCLUDED.revoked_at",
	                  2, p);
}

/* Locks the organization's user set for this transaction. */
static int
auth_lock_org(kp_db *db, const char *org)
{
	const char *p[1] = {org};

	return kp_db_exec(db,
	                  "SELECT pg_advisory_xact_lock(hashtext('auth.org.' "
	                  "|| $1))",
	                  1, p);
}

/* Whether removing the org-admin role from user_id in org would leave the
 * organization without an enabled organization-admin. */
static int
auth_is_last_org_admin(kp_db *db, const char *org, const char *user_id,
                       int *last)
{
	const char *p[2] = {org, user_id};
	PGresult *res = NULL;
	int rv;

	*last = 0;
	rv = kp_db_query(db,
	                 "SELECT count(*) FROM users WHERE organization_id = "
	                 "$1 AND role = 'organization-admin' AND NOT disabled "
	                 "AND id <> $2",
	                 2, p, &res);
	if (rv == KP_OK)
		*last = atoll(PQgetvalue(res, 0, 0)) == 0;
	PQclear(res);
	return rv;
}

/* Checks that organization org exists by asking org.GetOrganization as an
 * internal caller (one vendor tenant: every organization in org's table is
 * the vendor's). An organization admin creating a user of their own
 * organization is not asked again: org.CreateOrgUser read that
 * organization just before calling us (and a call back into org from here
 * could wait on org's busy workers). Returns KP_OK or the answered
 * failure: 400 INVALID_INPUT naming organizationId when there is no such
 * organization, 503 when org does not answer. */
static int
auth_check_org_exists(kp_rpc_ctx *ctx, const char *org)
{
	Keyport__Auth__OrgGetOrganizationRequest q =
	    KEYPORT__AUTH__ORG_GET_ORGANIZATION_REQUEST__INIT;
	kp_rpc_client *c;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	int rv;

	if (org == NULL || org[0] == '\0')
		return KP_OK;
	if (strcmp(ctx->caller->role, "organization-admin") == 0 &&
	    strcasecmp(ctx->caller->organization_id, org) == 0)
		return KP_OK;
	if ((c = kp_service_client(kp_service_of(ctx), "org")) == NULL)
		return kp_rpc_fail(ctx, KP_EUNAVAIL, NULL,
		                   "organizationId: cannot be checked now");
	q.id = (char *)org;
	call.method = "org.GetOrganization";
	call.request_id = ctx->request_id;
	call.timeout_ms = 2000;
	call.idempotent = true;
	rv = kp_rpc_invoke(c, &call, &q.base, NULL, NULL, &res);
	if (rv == KP_ENOTFOUND)
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "organizationId: no such organization");
	if (rv != KP_OK)
		return kp_rpc_fail(ctx, rv, res.code[0] ? res.code : NULL,
		                   "organizationId: cannot be checked now (%s)",
		                   res.message);
	return KP_OK;
}

/* ---- CreateUser ---------------------------------------------------------- */

int
auth_create_user(kp_rpc_ctx *ctx)
{
	Keyport__Auth__CreateUserRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char first[4 * AUTH_NAME_MAX + 2], last[4 * AUTH_NAME_MAX + 2];
	char hash[crypto_pwhash_STRBYTES], now[32];
	PGresult *res = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__create_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->email == NULL || req->email[0] == '\0') {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "email: required");
		goto out;
	}
	if ((rv = auth_check_fields(ctx, req->email, req->first_name, first,
	                            req->last_name, last,
	                            req->role[0] ? req->role : "user",
	                            req->organization_id)) != KP_OK)
		goto out;
	if (strcmp(req->role, "organization-admin") == 0 &&
	    req->organization_id[0] == '\0') {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "organizationId: required for the "
		                 "organization-admin role");
		goto out;
	}
	if ((rv = auth_pw_check_new(ctx, "password", req->password,
	                            req->email)) != KP_OK)
		goto out;
	if ((rv = auth_check_org_exists(ctx, req->organization_id)) != KP_OK)
		goto out;
	if ((rv = auth_pw_hash(req->password, hash)) != KP_OK) {
		rv = rv == KP_ERATELIMIT
		         ? auth_busy(ctx)
		         : kp_rpc_fail(ctx, rv, NULL, "hashing");
		goto out;
	}
	if ((rv = kp_db_begin(db)) != KP_OK) {
		rv = auth_db_fail(ctx, rv);
		goto out;
	}
	if (req->capped && req->organization_id[0] != '\0' &&
	    req->max_users >= 0) {
		const char *p[1] = {req->organization_id};
		if ((rv = auth_lock_org(db, req->organization_id)) != KP_OK ||
		    (rv = kp_db_query(db,
		                      "SELECT count(*) FROM users WHERE "
		                      "organization_id = $1",
		                      1, p, &res)) != KP_OK) {
			rv = auth_db_fail(ctx, rv);
			goto out;
		}
		if (atoll(PQgetvalue(res, 0, 0)) >= req->max_users) {
			rv =
			    kp_rpc_fail(ctx, KP_ECONFLICT, "USER_LIMIT_REACHED",
			                "the organization may have at most "
			                "%lld users",
			                (long long)req->max_users);
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	{
		const char *p[7] = {
		    req->email,
		    first,
		    last,
		    req->role[0] ? req->role : "user",
		    req->organization_id[0] ? req->organization_id : NULL,
		    hash,
		    auth_now_param(now, sizeof(now))};
		rv = kp_db_query(
		    db,
		    "INSERT INTO users (email, first_name, "
		    "last_name, role, organization_id, "
		    "password_hash, created_at, updated_at) VALUES "
		    "($1, $2, $3, $4, $5, $6, "
		    "to_timestamp($7::float8), "
		    "to_timestamp($7::float8)) RETURNING " AUTH_USER_COLS,
		    7, p, &res);
	}
	if (rv == KP_ECONFLICT) {
		rv = kp_rpc_fail(ctx, KP_ECONFLICT, "EMAIL_TAKEN",
		                 "a user with this email already exists");
		goto out;
	}
	if (rv != KP_OK || (rv = kp_db_commit(db)) != KP_OK) {
		rv = auth_db_fail(ctx, rv);
		goto out;
	}
	kp_log_info("created user %s (%s)", PQgetvalue(res, 0, 0),
	            PQgetvalue(res, 0, 4));
	rv = auth_reply_user(ctx, res);
out:
	kp_db_rollback(db);
	PQclear(res);
	sodium_memzero(hash, sizeof(hash));
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- GetUser
 * ------------------------------------------------------------------ */

/* Reads one user in scope (FOR UPDATE when lock). NOT_FOUND answered. */
static int
auth_fetch_user(kp_rpc_ctx *ctx, kp_db *db, const char *id, const char *scope,
                int lock, PGresult **res)
{
	const char *p[2] = {id, scope ? scope : ""};
	int rv;

	*res = NULL;
	if (!kp_uuid_valid(id))
		return kp_rpc_fail(ctx, KP_ENOTFOUND, "NOT_FOUND",
		                   "no such user");
	rv = kp_db_query(db,
	                 lock ? "SELECT " AUTH_USER_COLS ", password_hash FROM "
	                        "users WHERE id = $1 AND ($2 = '' OR "
	                        "organization_id::text = $2) FOR UPDATE"
	                      : "SELECT " AUTH_USER_COLS ", password_hash FROM "
	                        "users WHERE id = $1 AND ($2 = '' OR "
	                        "organization_id::text = $2)",
	                 2, p, res);
	if (rv != KP_OK)
		return auth_db_fail(ctx, rv);
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return kp_rpc_fail(ctx, KP_ENOTFOUND, "NOT_FOUND",
		                   "no such user");
	}
	return KP_OK;
}

int
auth_get_user(kp_rpc_ctx *ctx)
{
	Keyport__Auth__GetUserRequest *req = NULL;
	PGresult *res = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__get_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	rv = auth_fetch_user(ctx, kp_service_db(ctx), req->id,
	                     req->scope_organization_id, 0, &res);
	if (rv == KP_OK)
		rv = auth_reply_user(ctx, res);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- UpdateUser
 * ---------------------------------------------------------------- */

int
auth_update_user(kp_rpc_ctx *ctx)
{
	Keyport__Auth__UpdateUserRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char first[4 * AUTH_NAME_MAX + 2] = "",
	                               last[4 * AUTH_NAME_MAX + 2] = "";
	char hash[crypto_pwhash_STRBYTES] = "", now[32];
	PGresult *res = NULL, *cur = NULL;
	const char *org, *role;
	int rv, last_admin, moved;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__update_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = auth_check_fields(
	         ctx, req->has_email ? req->email : NULL,
	         req->has_first_name ? req->first_name : NULL, first,
	         req->has_last_name ? req->last_name : NULL, last,
	         req->has_role ? req->role : NULL,
	         req->has_organization_id ? req->organization_id : NULL)) !=
	    KP_OK)
		goto out;
	if (req->has_organization_id &&
	    (rv = auth_check_org_exists(ctx, req->organization_id)) != KP_OK)
		goto out;
	if (req->has_password) {
		/* the email it must differ from: the new one, or the current */
		if ((rv = auth_fetch_user(ctx, db, req->id,
		                          req->scope_organization_id, 0,
		                          &cur)) != KP_OK)
			goto out;
		if ((rv = auth_pw_check_new(
		         ctx, "password", req->password,
		         req->has_email ? req->email
		                        : PQgetvalue(cur, 0, 1))) != KP_OK)
			goto out;
		if ((rv = auth_pw_hash(req->password, hash)) != KP_OK) {
			rv = rv == KP_ERATELIMIT
			         ? auth_busy(ctx)
			         : kp_rpc_fail(ctx, rv, NULL, "hashing");
			goto out;
		}
		PQclear(cur);
		cur = NULL;
	}
	if ((rv = kp_db_begin(db)) != KP_OK) {
		rv = auth_db_fail(ctx, rv);
		goto out;
	}
	if ((rv = auth_fetch_user(ctx, db, req->id, req->scope_organization_id,
	                          1, &cur)) != KP_OK)
		goto out;
	org = PQgetvalue(cur, 0, 5);
	role = PQgetvalue(cur, 0, 4);
	if (req->keep_org_admin && strcmp(role, "organization-admin") == 0 &&
	    PQgetvalue(cur, 0, 6)[0] == 'f' &&
	    ((req->has_role && strcmp(req->role, "organization-admin") != 0) ||
	     (req->has_disabled && req->disabled) ||
	     (req->has_organization_id &&
	      strcmp(req->organization_id, org) != 0))) {
		if ((rv = auth_lock_org(db, org)) != KP_OK ||
		    (rv = auth_is_last_org_admin(db, org, req->id,
		                                 &last_admin)) != KP_OK) {
			rv = auth_db_fail(ctx, rv);
			goto out;
		}
		if (last_admin) {
			rv = kp_rpc_fail(ctx, KP_ECONFLICT,
			                 "LAST_ORGANIZATION_ADMIN",
			                 "the organization must keep an "
			                 "organization-admin");
			goto out;
		}
	}
	{
		const char *p[16] = {
		    req->id,
		    req->has_email ? "t" : "f",
		    req->email,
		    req->has_first_name ? "t" : "f",
		    first,
		    req->has_last_name ? "t" : "f",
		    last,
		    req->has_role ? "t" : "f",
		    req->role,
		    req->has_disabled ? "t" : "f",
		    req->disabled ? "t" : "f",
		    req->has_password ? "t" : "f",
		    hash,
		    req->has_organization_id ? "t" : "f",
		    req->organization_id[0] ? req->organization_id : NULL,
		    auth_now_param(now, sizeof(now))};
		PQclear(res);
		rv = kp_db_query(
		    db,
		    "UPDATE users SET "
		    "email = CASE WHEN $2::bool THEN $3 ELSE email END, "
		    "first_name = CASE WHEN $4::bool THEN $5 ELSE "
		    "first_name END, "
		    "last_name = CASE WHEN $6::bool THEN $7 ELSE last_name "
		    "END, "
		    "role = CASE WHEN $8::bool THEN $9 ELSE role END, "
		    "disabled = CASE WHEN $10::bool THEN $11::bool ELSE "
		    "disabled END, "
		    "password_hash = CASE WHEN $12::bool THEN $13 ELSE "
		    "password_hash END, "
		    "organization_id = CASE WHEN $14::bool THEN $15::uuid "
		    "ELSE organization_id END, "
		    "updated_at = to_timestamp($16::float8) "
		    "WHERE id = $1 RETURNING " AUTH_USER_COLS,
		    16, p, &res);
	}
	if (rv == KP_ECONFLICT) {
		rv = kp_rpc_fail(ctx, KP_ECONFLICT, "EMAIL_TAKEN",
		                 "a user with this email already exists");
		goto out;
	}
	if (rv == KP_OK &&
	    ((req->has_disabled && req->disabled) || req->has_password))
		rv = auth_revoke_user_sessions(db, req->id, NULL);
	if (rv == KP_OK && req->has_disabled && req->disabled)
		rv = auth_revoke_tokens(db, req->id);
	/* groups are per organization: a user moved to another one (or to
	 * none) leaves the old one's groups and their licenses' visibility */
	moved = req->has_organization_id && org[0] != '\0' &&
	        strcasecmp(req->organization_id, org) != 0;
	if (rv == KP_OK && moved)
		rv = auth_outbox_queue(db, req->id, org);
	if (rv != KP_OK || (rv = kp_db_commit(db)) != KP_OK) {
		rv = auth_db_fail(ctx, rv);
		goto out;
	}
	if (moved)
		auth_outbox_flush(ctx);
	rv = auth_reply_user(ctx, res);
out:
	kp_db_rollback(db);
	PQclear(res);
	PQclear(cur);
	sodium_memzero(hash, sizeof(hash));
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- DeleteUser
 * ------------------------------------------------------------------ */

int
auth_delete_user(kp_rpc_ctx *ctx)
{
	Keyport__Auth__DeleteUserRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	PGresult *cur = NULL;
	int rv, last_admin;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__delete_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = kp_db_begin(db)) != KP_OK) {
		rv = auth_db_fail(ctx, rv);
		goto out;
	}
	if ((rv = auth_fetch_user(ctx, db, req->id, req->scope_organization_id,
	                          1, &cur)) != KP_OK)
		goto out;
	if (req->keep_org_admin &&
	    strcmp(PQgetvalue(cur, 0, 4), "organization-admin") == 0 &&
	    PQgetvalue(cur, 0, 6)[0] == 'f') {
		const char *org = PQgetvalue(cur, 0, 5);
		if ((rv = auth_lock_org(db, org)) != KP_OK ||
		    (rv = auth_is_last_org_admin(db, org, req->id,
		                                 &last_admin)) != KP_OK) {
			rv = auth_db_fail(ctx, rv);
			goto out;
		}
		if (last_admin) {
			rv = kp_rpc_fail(ctx, KP_ECONFLICT,
			                 "LAST_ORGANIZATION_ADMIN",
			                 "the organization must keep an "
			                 "organization-admin");
			goto out;
		}
	}
	{
		const char *p[1] = {req->id};
		/* sessions and tokens go with the row (ON DELETE CASCADE) */
		rv = kp_db_exec(db, "DELETE FROM users WHERE id = $1", 1, p);
		if (rv == KP_OK)
			rv = auth_revoke_tokens(db, req->id);
		if (rv == KP_OK)
			rv = auth_outbox_queue(db, req->id, "");
	}
	if (rv != KP_OK || (rv = kp_db_commit(db)) != KP_OK) {
		rv = auth_db_fail(ctx, rv);
		goto out;
	}
	kp_log_info("deleted user %s", req->id);
	auth_outbox_flush(ctx); /* org drops them from its groups */
	rv = kp_rpc_reply(ctx, NULL);
out:
	kp_db_rollback(db);
	PQclear(cur);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- ListUsers / GetUsers / CountUsers / DeleteOrganizationUsers -------- */

int
auth_list_users(kp_rpc_ctx *ctx)
{
	Keyport__Auth__ListUsersRequest *req = NULL;
	Keyport__Auth__ListUsersReply rep =
	    KEYPORT__AUTH__LIST_USERS_REPLY__INIT;
	Keyport__Auth__User *users = NULL, **ptrs = NULL;
	PGresult *res = NULL;
	char lim[16], off[24];
	int rv, n;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__list_users_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->page < 1 || req->limit < 1 || req->limit > 100) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "page: must be >= 1; limit: 1..100");
		goto out;
	}
	if (req->organization_id[0] && !kp_uuid_valid(req->organization_id)) {
		rv = kp_rpc_reply(ctx, &rep.base);
		goto out;
	}
	snprintf(lim, sizeof(lim), "%d", req->limit);
	snprintf(off, sizeof(off), "%lld",
	         (long long)(req->page - 1) * req->limit);
	{
		const char *p[3] = {req->organization_id, lim, off};
		rv = kp_db_query(
		    kp_service_db(ctx),
		    "SELECT " AUTH_USER_COLS ", count(*) OVER () "
		    "FROM users WHERE ($1 = '' OR "
		    "organization_id::text = $1) ORDER BY "
		    "created_at, id LIMIT $2::int OFFSET $3::bigint",
		    3, p, &res);
	}
	if (rv != KP_OK) {
		rv = auth_db_fail(ctx, rv);
		goto out;
	}
	if ((n = auth_users_from_res(res, &users, &ptrs)) < 0) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	rep.n_users = (size_t)n;
	rep.users = ptrs;
	if (n > 0) {
		rep.total = atoll(PQgetvalue(res, 0, AUTH_USER_NCOLS));
	} else {
		/* past the last page: count separately */
		PGresult *c = NULL;
		const char *p[1] = {req->organization_id};
		if (kp_db_query(kp_service_db(ctx),
		                "SELECT count(*) FROM users WHERE ($1 = '' OR "
		                "organization_id::text = $1)",
		                1, p, &c) == KP_OK)
			rep.total = atoll(PQgetvalue(c, 0, 0));
		PQclear(c);
	}
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	free(users);
	free(ptrs);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_get_users(kp_rpc_ctx *ctx)
{
	Keyport__Auth__GetUsersRequest *req = NULL;
	Keyport__Auth__GetUsersReply rep = KEYPORT__AUTH__GET_USERS_REPLY__INIT;
	Keyport__Auth__User *users = NULL, **ptrs = NULL;
	PGresult *res = NULL;
	kp_pgarr ids = {0};
	int rv, n;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__get_users_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	/* the well-formed ids (others cannot exist) */
	for (size_t i = 0; i < req->n_ids; i++)
		(void)kp_pgarr_uuid(&ids, req->ids[i]);
	if (kp_pgarr_text(&ids) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	{
		const char *p[2] = {kp_pgarr_text(&ids),
		                    req->scope_organization_id};
		rv =
		    kp_db_query(kp_service_db(ctx),
		                "SELECT " AUTH_USER_COLS " FROM users WHERE id "
		                "= ANY($1::uuid[]) AND ($2 = '' OR "
		                "organization_id::text = $2) ORDER BY email",
		                2, p, &res);
	}
	if (rv != KP_OK) {
		rv = auth_db_fail(ctx, rv);
		goto out;
	}
	if ((n = auth_users_from_res(res, &users, &ptrs)) < 0) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	rep.n_users = (size_t)n;
	rep.users = ptrs;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	kp_pgarr_free(&ids);
	free(users);
	free(ptrs);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_count_users(kp_rpc_ctx *ctx)
{
	Keyport__Auth__OrganizationRequest *req = NULL;
	Keyport__Auth__CountReply rep = KEYPORT__AUTH__COUNT_REPLY__INIT;
	PGresult *res = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__auth__organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (kp_uuid_valid(req->organization_id)) {
		const char *p[1] = {req->organization_id};
		rv = kp_db_query(kp_service_db(ctx),
		                 "SELECT count(*) FROM users WHERE "
		                 "organization_id = $1",
		                 1, p, &res);
		if (rv != KP_OK) {
			rv = auth_db_fail(ctx, rv);
			goto out;
		}
		rep.count = atoll(PQgetvalue(res, 0, 0));
	}
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_delete_org_users(kp_rpc_ctx *ctx)
{
	Keyport__Auth__OrganizationRequest *req = NULL;
	Keyport__Auth__CountReply rep = KEYPORT__AUTH__COUNT_REPLY__INIT;
	kp_db *db = kp_service_db(ctx);
	PGresult *res = NULL;
	char **ids = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__auth__organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (kp_uuid_valid(req->organization_id)) {
		const char *p[1] = {req->organization_id};
		char now[32];
		const char *q[2] = {req->organization_id,
		                    auth_now_param(now, sizeof(now))};

		/* one transaction: no user is deleted with a live token */
		if ((rv = kp_db_begin(db)) != KP_OK ||
		    (rv = auth_outbox_queue_org(db, req->organization_id)) !=
		        KP_OK ||
		    (rv = kp_db_exec(
		         db,
		         "INSERT INTO token_revocations (user_id, "
		         "revoked_at) SELECT id, to_timestamp($2::float8) "
		         "FROM users WHERE organization_id = $1 ON "
		         "CONFLICT (user_id) DO UPDATE SET revoked_at = "
		         "EXCLUDED.revoked_at",
		         2, q)) != KP_OK ||
		    (rv = kp_db_query(db,
		                      "DELETE FROM users WHERE "
		                      "organization_id = $1 RETURNING id::text",
		                      1, p, &res)) != KP_OK ||
		    (rv = kp_db_commit(db)) != KP_OK) {
			rv = auth_db_fail(ctx, rv);
			goto out;
		}
		rep.count = PQntuples(res);
		if (rep.count > 0 &&
		    (ids = calloc((size_t)rep.count, sizeof(*ids))) == NULL) {
			rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL,
			                 "out of memory");
			goto out;
		}
		for (int i = 0; i < PQntuples(res); i++)
			ids[i] = PQgetvalue(res, i, 0);
		rep.user_ids = ids;
		rep.n_user_ids = (size_t)rep.count;
		kp_log_info("deleted %lld user(s) of organization %s",
		            (long long)rep.count, req->organization_id);
		/* like DeleteUser: org drops them from every group */
		if (rep.count > 0)
			auth_outbox_flush(ctx);
	}
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	kp_db_rollback(db);
	free(ids);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- bootstrap
 * ---------------------------------------------------------------------- */

/* Writes the generated password to $KEYPORT_DATA_DIR/admin-password, 0600. */
static int
auth_write_admin_password(const char *pw)
{
	const char *dir = kp_cfg_str(KP_CFG_DATA_DIR);
	char path[4096];
	int fd;
	size_t n = strlen(pw);

	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/admin-password", dir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		kp_log_error("cannot create %s: %s", path, strerror(errno));
		return KP_EINTERNAL;
	}
	if (write(fd, pw, n) != (ssize_t)n || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return KP_EINTERNAL;
	}
	close(fd);
	kp_log_info("the vendor admin's generated password is in %s", path);
	return KP_OK;
}

int
auth_bootstrap(kp_db *db)
{
	const char *email = kp_cfg_str(KP_CFG_ADMIN_EMAIL);
	const char *pw = kp_cfg_str(KP_CFG_ADMIN_PASSWORD);
	char gen[64], hash[crypto_pwhash_STRBYTES], now[32];
	PGresult *res = NULL;
	int rv, generated = 0;

	if ((rv = kp_db_begin(db)) != KP_OK)
		return rv;
	/* two replicas starting together: one creates, the other sees it */
	if ((rv = kp_db_exec(db,
	                     "SELECT pg_advisory_xact_lock(hashtext("
	                     "'auth.bootstrap'))",
	                     0, NULL)) != KP_OK ||
	    (rv = kp_db_query(db, "SELECT count(*) FROM users", 0, NULL,
	                      &res)) != KP_OK)
		goto out;
	if (atoll(PQgetvalue(res, 0, 0)) > 0) {
		rv = KP_OK;
		goto out;
	}
	if (email == NULL || email[0] == '\0')
		email = "admin@localhost";
	if (pw == NULL || pw[0] == '\0') {
		auth_random_token("", gen, 44);
		pw = gen;
		generated = 1;
	}
	if (strlen(pw) < 8)
		kp_log_warn("KEYPORT_ADMIN_PASSWORD is shorter than 8 "
		            "characters");
	if (crypto_pwhash_str(hash, pw, strlen(pw),
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		rv = KP_EINTERNAL;
		goto out;
	}
	{
		const char *p[3] = {email, hash,
		                    auth_now_param(now, sizeof(now))};
		if ((rv = kp_db_exec(db,
		                     "INSERT INTO users (email, role, "
		                     "password_hash, created_at, updated_at) "
		                     "VALUES ($1, 'admin', $2, "
		                     "to_timestamp($3::float8), "
		                     "to_timestamp($3::float8))",
		                     3, p)) != KP_OK)
			goto out;
	}
	if (generated && (rv = auth_write_admin_password(pw)) != KP_OK)
		goto out;
	if ((rv = kp_db_commit(db)) != KP_OK)
		goto out;
	kp_log_info("created the vendor admin %s", email);
out:
	kp_db_rollback(db);
	PQclear(res);
	sodium_memzero(gen, sizeof(gen));
	sodium_memzero(hash, sizeof(hash));
	return rv;
}

/* ---- Revocations ----------------------------------------------------------
 */

int
auth_revocations(kp_rpc_ctx *ctx)
{
	Keyport__Auth__RevocationsReply rep =
	    KEYPORT__AUTH__REVOCATIONS_REPLY__INIT;
	Keyport__Auth__Revocation *rs = NULL, **ptrs = NULL;
	PGresult *res = NULL;
	char now[32];
	const char *p[1] = {auth_now_param(now, sizeof(now))};
	int rv, n;

	rv = kp_db_query(kp_service_db(ctx),
	                 "SELECT user_id::text, extract(epoch FROM "
	                 "revoked_at)::bigint FROM token_revocations WHERE "
	                 "revoked_at > to_timestamp($1::float8 - 960) ORDER BY "
	                 "revoked_at DESC LIMIT 4096",
	                 1, p, &res);
	if (rv != KP_OK)
		return auth_db_fail(ctx, rv);
	n = PQntuples(res);
	rs = calloc((size_t)n + 1, sizeof(*rs));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (rs == NULL || ptrs == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		keyport__auth__revocation__init(&rs[i]);
		rs[i].user_id = PQgetvalue(res, i, 0);
		rs[i].revoked_at = atoll(PQgetvalue(res, i, 1));
		ptrs[i] = &rs[i];
	}
	rep.n_revocations = (size_t)n;
	rep.revocations = ptrs;
	rv = kp_rpc_reply(ctx, &rep.base);
	/* the gateway polls this every few seconds: a good clock for
	 * resending group clean-ups org has not confirmed (auth_outbox) */
	auth_outbox_retry(ctx);
	/* rows older than a day are of no use to anyone */
	kp_db_exec(kp_service_db(ctx),
	           "DELETE FROM token_revocations WHERE revoked_at < "
	           "to_timestamp($1::float8 - 86400)",
	           1, p);
out:
	free(rs);
	free(ptrs);
	PQclear(res);
	return rv;
}
