/* auth_users: one user's RPCs of docs/rpc-contract.md (CreateUser,
 * GetUser, UpdateUser, DeleteUser): input checks and the rules of the
 * organization-admin role; the statements are auth_store's. */
#include "auth_app.h"

#include "kp_text.h"
#include "kp_pgarr.h"
#include "kp_clock.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTH_NAME_MAX  100
#define AUTH_EMAIL_MAX 254

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

int
auth_reply_user(kp_rpc_ctx *ctx, const Keyport__Auth__User *u)
{
	Keyport__Auth__UserReply rep = KEYPORT__AUTH__USER_REPLY__INIT;

	rep.user = (Keyport__Auth__User *)u;
	return kp_rpc_reply(ctx, &rep.base);
}

static int
auth_no_user(kp_rpc_ctx *ctx)
{
	return kp_rpc_fail(ctx, KP_ENOTFOUND, "NOT_FOUND", "no such user");
}

static int
auth_email_taken(kp_rpc_ctx *ctx)
{
	return kp_rpc_fail(ctx, KP_ECONFLICT, "EMAIL_TAKEN",
	                   "a user with this email already exists");
}

/* Hashes pw into hash; answers a failure (the pool busy: 429). */
static int
auth_hash_new(kp_rpc_ctx *ctx, const char *pw, char *hash)
{
	int rv = auth_pw_hash(pw, hash);

	if (rv == KP_OK)
		return KP_OK;
	return rv == KP_ERATELIMIT ? auth_busy(ctx)
	                           : kp_rpc_fail(ctx, rv, NULL, "hashing");
}

/* Reads user id in scope for the handler what (FOR UPDATE when lock):
 * NOT_FOUND and database failures answered. */
static int
auth_fetch_user(kp_rpc_ctx *ctx, const char *what, const char *id,
                const char *scope, int lock, auth_user_set *out)
{
	int rv = auth_store_user_get(kp_service_db(ctx), id, scope, lock, out);

	if (rv == KP_ENOTFOUND)
		return auth_no_user(ctx);
	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL, what);
	return KP_OK;
}

/* Refuses (409) when a change of the organization-admin u would leave its
 * organization without an enabled organization-admin; locks the
 * organization's users for the transaction first. */
static int
auth_keep_org_admin(kp_rpc_ctx *ctx, const char *what,
                    const Keyport__Auth__User *u)
{
	kp_db *db = kp_service_db(ctx);
	int64_t others = 0;
	int rv;

	if ((rv = auth_store_lock_org(db, u->organization_id)) != KP_OK ||
	    (rv = auth_store_org_admins_besides(db, u->organization_id, u->id,
	                                        &others)) != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL, what);
	if (others == 0)
		return kp_rpc_fail(ctx, KP_ECONFLICT, "LAST_ORGANIZATION_ADMIN",
		                   "the organization must keep an "
		                   "organization-admin");
	return KP_OK;
}

/* ---- CreateUser ---------------------------------------------------------- */

/* Checks a CreateUser request (fields normalised into first and last). */
static int
auth_create_check(kp_rpc_ctx *ctx, const Keyport__Auth__CreateUserRequest *req,
                  char *first, char *last)
{
	int rv;

	if (req->email == NULL || req->email[0] == '\0')
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "email: required");
	if ((rv = auth_check_fields(ctx, req->email, req->first_name, first,
	                            req->last_name, last,
	                            req->role[0] ? req->role : "user",
	                            req->organization_id)) != KP_OK)
		return rv;
	if (strcmp(req->role, "organization-admin") == 0 &&
	    req->organization_id[0] == '\0')
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "organizationId: required for the "
		                   "organization-admin role");
	if ((rv = auth_pw_check_new(ctx, "password", req->password,
	                            req->email)) != KP_OK)
		return rv;
	return auth_check_org_exists(ctx, req->organization_id);
}

/* Refuses (409) a user over the organization's cap, in the transaction
 * (the organization's users locked first). */
static int
auth_create_capped(kp_rpc_ctx *ctx, const Keyport__Auth__CreateUserRequest *req)
{
	kp_db *db = kp_service_db(ctx);
	int64_t n = 0;
	int rv;

	if (!req->capped || req->organization_id[0] == '\0' ||
	    req->max_users < 0)
		return KP_OK;
	if ((rv = auth_store_lock_org(db, req->organization_id)) != KP_OK ||
	    (rv = auth_store_user_count(db, req->organization_id, &n)) != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "auth.CreateUser: count");
	if (n >= req->max_users)
		return kp_rpc_fail(ctx, KP_ECONFLICT, "USER_LIMIT_REACHED",
		                   "the organization may have at most %lld "
		                   "users",
		                   (long long)req->max_users);
	return KP_OK;
}

int
auth_create_user(kp_rpc_ctx *ctx)
{
	Keyport__Auth__CreateUserRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char first[4 * AUTH_NAME_MAX + 2], last[4 * AUTH_NAME_MAX + 2];
	char hash[crypto_pwhash_STRBYTES];
	auth_user_set u = {0};
	auth_user_new n;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__create_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = auth_create_check(ctx, req, first, last)) != KP_OK ||
	    (rv = auth_hash_new(ctx, req->password, hash)) != KP_OK)
		goto out;
	if ((rv = kp_db_begin(db)) != KP_OK) {
		rv =
		    kp_service_db_fail(ctx, rv, NULL, "auth.CreateUser: begin");
		goto out;
	}
	if ((rv = auth_create_capped(ctx, req)) != KP_OK)
		goto out;
	n = (auth_user_new){req->email,
	                    first,
	                    last,
	                    req->role[0] ? req->role : "user",
	                    req->organization_id,
	                    hash};
	rv = auth_store_user_create(db, &n, kp_now(), &u);
	if (rv == KP_ECONFLICT) {
		rv = auth_email_taken(ctx);
		goto out;
	}
	if (rv != KP_OK || (rv = kp_db_commit(db)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "auth.CreateUser: insert");
		goto out;
	}
	kp_log_info("created user %s (%s)", u.rows[0].msg.id,
	            u.rows[0].msg.role);
	rv = auth_reply_user(ctx, &u.rows[0].msg);
out:
	kp_db_rollback(db);
	auth_user_set_clear(&u);
	sodium_memzero(hash, sizeof(hash));
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- GetUser ------------------------------------------------------------- */

int
auth_get_user(kp_rpc_ctx *ctx)
{
	Keyport__Auth__GetUserRequest *req = NULL;
	auth_user_set u = {0};
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__get_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	rv = auth_fetch_user(ctx, "auth.GetUser", req->id,
	                     req->scope_organization_id, 0, &u);
	if (rv == KP_OK)
		rv = auth_reply_user(ctx, &u.rows[0].msg);
	auth_user_set_clear(&u);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- UpdateUser ---------------------------------------------------------- */

/* Checks an UpdateUser request before the transaction: the fields
 * (normalised into first and last) and, for a new password, its rules
 * (against the new email or the current one) and its hash. */
static int
auth_update_check(kp_rpc_ctx *ctx, const Keyport__Auth__UpdateUserRequest *req,
                  char *first, char *last, char *hash)
{
	auth_user_set cur = {0};
	int rv;

	if ((rv = auth_check_fields(
	         ctx, req->has_email ? req->email : NULL,
	         req->has_first_name ? req->first_name : NULL, first,
	         req->has_last_name ? req->last_name : NULL, last,
	         req->has_role ? req->role : NULL,
	         req->has_organization_id ? req->organization_id : NULL)) !=
	    KP_OK)
		return rv;
	if (req->has_organization_id &&
	    (rv = auth_check_org_exists(ctx, req->organization_id)) != KP_OK)
		return rv;
	if (!req->has_password)
		return KP_OK;
	if ((rv = auth_fetch_user(ctx, "auth.UpdateUser: read", req->id,
	                          req->scope_organization_id, 0, &cur)) ==
	        KP_OK &&
	    (rv = auth_pw_check_new(
	         ctx, "password", req->password,
	         req->has_email ? req->email : cur.rows[0].msg.email)) == KP_OK)
		rv = auth_hash_new(ctx, req->password, hash);
	auth_user_set_clear(&cur);
	return rv;
}

/* Whether the request takes the organization-admin role away from the
 * current user u (a role change, disabling, another organization). */
static int
auth_update_demotes(const Keyport__Auth__UpdateUserRequest *req,
                    const Keyport__Auth__User *u)
{
	if (!req->keep_org_admin || u->disabled ||
	    strcmp(u->role, "organization-admin") != 0)
		return 0;
	return (req->has_role &&
	        strcmp(req->role, "organization-admin") != 0) ||
	       (req->has_disabled && req->disabled) ||
	       (req->has_organization_id &&
	        strcmp(req->organization_id, u->organization_id) != 0);
}

/* Writes the change in the open transaction, with what goes with it:
 * sessions and tokens revoked, the old organization's groups left. org and
 * role are the user's before the change; *moved tells whether the user
 * left an organization. A new role or organization voids the access
 * tokens the user holds (the gateway refuses them within its revocation
 * interval): they carry the old ones. */
static int
auth_update_write(kp_db *db, const Keyport__Auth__UpdateUserRequest *req,
                  const char *first, const char *last, const char *hash,
                  const char *org, const char *role, auth_user_set *out,
                  int *moved)
{
	int64_t now = kp_now();
	auth_user_change c = {req->has_email,
	                      req->has_first_name,
	                      req->has_last_name,
	                      req->has_role,
	                      req->has_disabled,
	                      req->has_password,
	                      req->has_organization_id,
	                      req->email,
	                      first,
	                      last,
	                      req->role,
	                      hash,
	                      req->organization_id,
	                      req->disabled};
	int rv;

	if ((rv = auth_store_user_update(db, req->id, &c, now, out)) != KP_OK)
		return rv;
	if ((req->has_disabled && req->disabled) || req->has_password)
		rv = auth_store_sessions_revoke(db, req->id, NULL, now);
	/* groups are per organization: a user moved to another one (or to
	 * none) leaves the old one's groups and their licenses' visibility */
	*moved = req->has_organization_id && org[0] != '\0' &&
	         strcasecmp(req->organization_id, org) != 0;
	if (rv == KP_OK && ((req->has_disabled && req->disabled) || *moved ||
	                    (req->has_role && strcmp(req->role, role) != 0)))
		rv = auth_store_tokens_revoke(db, req->id, now);
	if (rv == KP_OK && *moved)
		rv = auth_outbox_queue(db, req->id, org);
	return rv;
}

int
auth_update_user(kp_rpc_ctx *ctx)
{
	Keyport__Auth__UpdateUserRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char first[4 * AUTH_NAME_MAX + 2] = "",
	                               last[4 * AUTH_NAME_MAX + 2] = "";
	char hash[crypto_pwhash_STRBYTES] = "";
	auth_user_set cur = {0}, u = {0};
	int rv, moved = 0;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__update_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = auth_update_check(ctx, req, first, last, hash)) != KP_OK)
		goto out;
	if ((rv = kp_db_begin(db)) != KP_OK) {
		rv =
		    kp_service_db_fail(ctx, rv, NULL, "auth.UpdateUser: begin");
		goto out;
	}
	if ((rv = auth_fetch_user(ctx, "auth.UpdateUser: lock", req->id,
	                          req->scope_organization_id, 1, &cur)) !=
	        KP_OK ||
	    (auth_update_demotes(req, &cur.rows[0].msg) &&
	     (rv = auth_keep_org_admin(ctx, "auth.UpdateUser: admins",
	                               &cur.rows[0].msg)) != KP_OK))
		goto out;
	rv = auth_update_write(db, req, first, last, hash,
	                       cur.rows[0].msg.organization_id,
	                       cur.rows[0].msg.role, &u, &moved);
	if (rv == KP_ECONFLICT) {
		rv = auth_email_taken(ctx);
		goto out;
	}
	if (rv != KP_OK || (rv = kp_db_commit(db)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "auth.UpdateUser: update");
		goto out;
	}
	if (moved)
		auth_outbox_flush(ctx);
	rv = auth_reply_user(ctx, &u.rows[0].msg);
out:
	kp_db_rollback(db);
	auth_user_set_clear(&u);
	auth_user_set_clear(&cur);
	sodium_memzero(hash, sizeof(hash));
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- DeleteUser ---------------------------------------------------------- */

int
auth_delete_user(kp_rpc_ctx *ctx)
{
	Keyport__Auth__DeleteUserRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	auth_user_set cur = {0};
	const Keyport__Auth__User *u;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__delete_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = kp_db_begin(db)) != KP_OK) {
		rv =
		    kp_service_db_fail(ctx, rv, NULL, "auth.DeleteUser: begin");
		goto out;
	}
	if ((rv = auth_fetch_user(ctx, "auth.DeleteUser: lock", req->id,
	                          req->scope_organization_id, 1, &cur)) !=
	    KP_OK)
		goto out;
	u = &cur.rows[0].msg;
	if (req->keep_org_admin && !u->disabled &&
	    strcmp(u->role, "organization-admin") == 0 &&
	    (rv = auth_keep_org_admin(ctx, "auth.DeleteUser: admins", u)) !=
	        KP_OK)
		goto out;
	/* sessions and tokens go with the row (ON DELETE CASCADE) */
	if ((rv = auth_store_user_delete(db, req->id)) != KP_OK ||
	    (rv = auth_store_tokens_revoke(db, req->id, kp_now())) != KP_OK ||
	    (rv = auth_outbox_queue(db, req->id, "")) != KP_OK ||
	    (rv = kp_db_commit(db)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "auth.DeleteUser: delete");
		goto out;
	}
	kp_log_info("deleted user %s", req->id);
	auth_outbox_flush(ctx); /* org drops them from its groups */
	rv = kp_rpc_reply(ctx, NULL);
out:
	kp_db_rollback(db);
	auth_user_set_clear(&cur);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
