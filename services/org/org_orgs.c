/* org_orgs: organizations (vendor admin; members read their own) and the
 * organization admin's users, which live in auth and are reached only
 * through auth's RPCs, scoped to the caller's organization. */
#include "org_app.h"
#include "rpc/kp_contract.h"

#include "kp_text.h"
#include "kp_pgarr.h"
#include "kp_err.h"
#include "kp_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORG_COLS                                                               \
	"id::text, name, email, description, allowed_users, " ORG_TS(          \
	    "created_at") ", " ORG_TS("updated_at")

#define ORG_NAME_MAX  200
#define ORG_EMAIL_MAX 254
#define ORG_DESC_MAX  2000

/* org_fill points o's strings into row i of res (borrowed). */
static void
org_fill(Keyport__Org__Organization *o, PGresult *res, int i)
{
	keyport__org__organization__init(o);
	o->id = PQgetvalue(res, i, 0);
	o->name = PQgetvalue(res, i, 1);
	o->email = PQgetvalue(res, i, 2);
	o->description = PQgetvalue(res, i, 3);
	o->allowed_users = strtoll(PQgetvalue(res, i, 4), NULL, 10);
	o->created_at = PQgetvalue(res, i, 5);
	o->updated_at = PQgetvalue(res, i, 6);
}

static int
org_reply_row(kp_rpc_ctx *ctx, PGresult *res)
{
	Keyport__Org__OrganizationReply rep =
	    KEYPORT__ORG__ORGANIZATION_REPLY__INIT;
	Keyport__Org__Organization o;

	org_fill(&o, res, 0);
	rep.organization = &o;
	return kp_rpc_reply(ctx, &rep.base);
}

static int
org_check_fields(kp_rpc_ctx *ctx, const char *name, const char *email,
                 const char *desc, int64_t allowed)
{
	if (name != NULL &&
	    (name[0] == '\0' || kp_utf8_chars(name) > ORG_NAME_MAX))
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "name: 1 to %d characters", ORG_NAME_MAX);
	if (email != NULL && email[0] != '\0' &&
	    (kp_utf8_chars(email) > ORG_EMAIL_MAX ||
	     strchr(email, '@') == NULL))
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "email: not an email address");
	if (desc != NULL && kp_utf8_chars(desc) > ORG_DESC_MAX)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "description: at most %d characters",
		                   ORG_DESC_MAX);
	if (allowed < -1)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "allowedUsers: -1 (unlimited) or more");
	return KP_OK;
}

int
org_create(kp_rpc_ctx *ctx)
{
	Keyport__Org__CreateOrganizationRequest *req = NULL;
	PGresult *res = NULL;
	char now[32], allowed[32];
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__create_organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = org_check_fields(ctx, req->name, req->email, req->description,
	                           req->has_allowed_users ? req->allowed_users
	                                                  : -1)) != KP_OK)
		goto out;
	org_epoch(now, sizeof(now));
	snprintf(allowed, sizeof(allowed), "%lld",
	         req->has_allowed_users ? (long long)req->allowed_users : -1LL);
	{
		const char *p[] = {req->name, req->email, req->description,
		                   allowed, now};

		rv = kp_db_query(kp_service_db(ctx),
		                 "INSERT INTO organizations (name, email, "
		                 "description, allowed_users, created_at, "
		                 "updated_at) VALUES ($1, $2, $3, $4, "
		                 "to_timestamp($5), to_timestamp($5)) "
		                 "RETURNING " ORG_COLS,
		                 5, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot create organization");
		goto out;
	}
	rv = org_reply_row(ctx, res);
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_list(kp_rpc_ctx *ctx)
{
	Keyport__Org__ListOrganizationsRequest *req = NULL;
	Keyport__Org__ListOrganizationsReply rep =
	    KEYPORT__ORG__LIST_ORGANIZATIONS_REPLY__INIT;
	Keyport__Org__Organization *items = NULL, **ptrs = NULL;
	PGresult *res = NULL;
	char lim[24], off[24];
	int rv, n;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__list_organizations_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->page < 1 || req->limit < 1 || req->limit > 100) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL, "page or limit");
		goto out;
	}
	snprintf(lim, sizeof(lim), "%d", req->limit);
	snprintf(off, sizeof(off), "%lld",
	         (long long)(req->page - 1) * req->limit);
	{
		const char *p[] = {lim, off};

		rv = kp_db_query(kp_service_db(ctx),
		                 "SELECT " ORG_COLS ", count(*) OVER () FROM "
		                 "organizations ORDER BY created_at, id "
		                 "LIMIT $1 OFFSET $2",
		                 2, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot list organizations");
		goto out;
	}
	n = PQntuples(res);
	if (n > 0 && ((items = calloc((size_t)n, sizeof(*items))) == NULL ||
	              (ptrs = calloc((size_t)n, sizeof(*ptrs))) == NULL)) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		org_fill(&items[i], res, i);
		ptrs[i] = &items[i];
	}
	rep.n_organizations = (size_t)n;
	rep.organizations = ptrs;
	if (n > 0) {
		rep.total = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
	} else {
		/* a page past the end still tells the total */
		PGresult *c = NULL;

		if (kp_db_query(kp_service_db(ctx),
		                "SELECT count(*) FROM organizations", 0, NULL,
		                &c) == KP_OK)
			rep.total = strtoll(PQgetvalue(c, 0, 0), NULL, 10);
		PQclear(c);
	}
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	free(items);
	free(ptrs);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* org_read selects one organization into *res; NOT_FOUND answered. */
static int
org_read(kp_rpc_ctx *ctx, const char *id, PGresult **res)
{
	const char *p[] = {id};
	int rv;

	*res = NULL;
	if (!kp_uuid_valid(id))
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL,
		                   "organization not found");
	rv = kp_db_query(kp_service_db(ctx),
	                 "SELECT " ORG_COLS " FROM organizations WHERE id = $1",
	                 1, p, res);
	if (rv != KP_OK)
		return kp_rpc_fail(ctx, rv, NULL, "cannot read organization");
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL,
		                   "organization not found");
	}
	return KP_OK;
}

int
org_get(kp_rpc_ctx *ctx)
{
	Keyport__Org__GetOrganizationRequest *req = NULL;
	PGresult *res = NULL;
	const char *role = ctx->caller->role;
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__get_organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	/* internal callers and the vendor admin read any; a member only
	 * their own organization, everything else does not exist */
	if (role[0] != '\0' && strcmp(role, ORG_ROLE_ADMIN) != 0 &&
	    strcmp(req->id, ctx->caller->organization_id) != 0) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL,
		                 "organization not found");
		goto out;
	}
	if ((rv = org_read(ctx, req->id, &res)) != KP_OK)
		goto out;
	rv = org_reply_row(ctx, res);
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_update(kp_rpc_ctx *ctx)
{
	Keyport__Org__UpdateOrganizationRequest *req = NULL;
	PGresult *res = NULL;
	char now[32], allowed[32];
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__update_organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL,
		                 "organization not found");
		goto out;
	}
	if ((rv = org_check_fields(
	         ctx, req->has_name ? req->name : NULL,
	         req->has_email ? req->email : NULL,
	         req->has_description ? req->description : NULL,
	         req->has_allowed_users ? req->allowed_users : 0)) != KP_OK)
		goto out;
	org_epoch(now, sizeof(now));
	snprintf(allowed, sizeof(allowed), "%lld",
	         (long long)req->allowed_users);
	{
		const char *p[] = {req->id,
		                   req->has_name ? req->name : NULL,
		                   req->has_email ? req->email : NULL,
		                   req->has_description ? req->description
		                                        : NULL,
		                   req->has_allowed_users ? allowed : NULL,
		                   now};

		rv = kp_db_query(
		    kp_service_db(ctx),
		    "UPDATE organizations SET name = coalesce($2, name), "
		    "email = coalesce($3, email), description = "
		    "coalesce($4, description), allowed_users = "
		    "coalesce($5::bigint, allowed_users), updated_at = "
		    "to_timestamp($6) WHERE id = $1 RETURNING " ORG_COLS,
		    6, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot update organization");
		goto out;
	}
	if (PQntuples(res) == 0) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL,
		                 "organization not found");
		goto out;
	}
	rv = org_reply_row(ctx, res);
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* org_count asks auth and license (each with its own messages) how many
 * users and licenses organization id has. */
static int
org_count(kp_rpc_ctx *ctx, const char *id, int64_t *users, int64_t *licenses)
{
	Keyport__Auth__OrganizationRequest aq =
	    KEYPORT__AUTH__ORGANIZATION_REQUEST__INIT;
	Keyport__License__OrganizationRequest lq =
	    KEYPORT__LICENSE__ORGANIZATION_REQUEST__INIT;
	Keyport__Auth__CountReply *ac = NULL;
	Keyport__License__CountReply *lc = NULL;
	int rv;

	aq.organization_id = lq.organization_id = (char *)id;
	if ((rv = kp_service_invoke(ctx, KP_RPC_AUTH_COUNT_USERS, &aq.base,
	                            (ProtobufCMessage **)&ac)) != KP_OK ||
	    (rv = kp_service_invoke(
	         ctx, KP_RPC_LICENSE_COUNT_ORGANIZATION_LICENSES, &lq.base,
	         (ProtobufCMessage **)&lc)) != KP_OK)
		goto out;
	*users = ac->count;
	*licenses = lc->count;
out:
	if (ac != NULL)
		protobuf_c_message_free_unpacked(&ac->base, NULL);
	if (lc != NULL)
		protobuf_c_message_free_unpacked(&lc->base, NULL);
	return rv;
}

int
org_delete(kp_rpc_ctx *ctx)
{
	Keyport__Org__DeleteOrganizationRequest *req = NULL;
	Keyport__Auth__OrganizationRequest aq =
	    KEYPORT__AUTH__ORGANIZATION_REQUEST__INIT;
	Keyport__License__OrganizationRequest lq =
	    KEYPORT__LICENSE__ORGANIZATION_REQUEST__INIT;
	PGresult *res = NULL;
	int64_t users = 0, licenses = 0;
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__delete_organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = org_read(ctx, req->id, &res)) != KP_OK)
		goto out;
	aq.organization_id = lq.organization_id = req->id;
	if (!req->cascade) {
		if ((rv = org_count(ctx, req->id, &users, &licenses)) != KP_OK)
			goto out;
		if (users > 0 || licenses > 0) {
			rv = kp_rpc_fail(ctx, KP_ECONFLICT,
			                 "ORGANIZATION_NOT_EMPTY",
			                 "the organization still has %lld "
			                 "users and %lld licenses; delete "
			                 "with cascade=true",
			                 (long long)users, (long long)licenses);
			goto out;
		}
	} else {
		/* auth tells org.UserRemoved and license org.LicenseRemoved;
		 * the groups go with the organization row below anyway. A
		 * deleted user may still be in another organization's group
		 * (added there before the vendor admin moved them), so the
		 * ids auth answers are dropped from every group here too:
		 * that does not depend on the notification arriving. */
		Keyport__Auth__CountReply *del = NULL;

		if ((rv = kp_service_invoke(
		         ctx, KP_RPC_AUTH_DELETE_ORGANIZATION_USERS, &aq.base,
		         (ProtobufCMessage **)&del)) != KP_OK)
			goto out;
		rv = org_groups_drop_users(kp_service_db(ctx), NULL,
		                           del->user_ids, del->n_user_ids, "");
		protobuf_c_message_free_unpacked(&del->base, NULL);
		if (rv != KP_OK) {
			rv = kp_rpc_fail(ctx, rv, NULL,
			                 "cannot clean user groups");
			goto out;
		}
		if ((rv = kp_service_invoke(
		         ctx, KP_RPC_LICENSE_DELETE_ORGANIZATION_LICENSES,
		         &lq.base, NULL)) != KP_OK)
			goto out;
	}
	{
		const char *p[] = {req->id};

		rv =
		    kp_db_exec(kp_service_db(ctx),
		               "DELETE FROM organizations WHERE id = $1", 1, p);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot delete organization");
		goto out;
	}
	kp_log_info("organization %s deleted%s", req->id,
	            req->cascade ? " with its users and licenses" : "");
	{
		Keyport__Org__Empty e = KEYPORT__ORG__EMPTY__INIT;

		rv = kp_rpc_reply(ctx, &e.base);
	}
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- the organization admin's users ----------------------------------- */

static int
org_check_role(kp_rpc_ctx *ctx, const char *role)
{
	if (strcmp(role, ORG_ROLE_USER) != 0 &&
	    strcmp(role, ORG_ROLE_ORG_ADMIN) != 0)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "role: must be user or organization-admin");
	return KP_OK;
}

/* org_forward calls method m of auth and answers its reply unchanged. */
static int
org_forward(kp_rpc_ctx *ctx, const kp_rpc_desc *m, const ProtobufCMessage *q)
{
	ProtobufCMessage *rep = NULL;
	int rv;

	rv = kp_service_invoke(ctx, m, q, &rep);
	if (rv != KP_OK)
		return rv;
	rv = kp_rpc_reply(ctx, rep);
	protobuf_c_message_free_unpacked(rep, NULL);
	return rv;
}

int
org_user_create(kp_rpc_ctx *ctx)
{
	Keyport__Auth__CreateUserRequest *req = NULL;
	Keyport__Auth__CreateUserRequest q =
	    KEYPORT__AUTH__CREATE_USER_REQUEST__INIT;
	PGresult *res = NULL;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__create_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	q.role = req->role[0] != '\0' ? req->role : ORG_ROLE_USER;
	if ((rv = org_check_role(ctx, q.role)) != KP_OK)
		goto out;
	if ((rv = org_read(ctx, ctx->caller->organization_id, &res)) != KP_OK)
		goto out;
	q.email = req->email;
	q.password = req->password;
	q.first_name = req->first_name;
	q.last_name = req->last_name;
	q.organization_id = (char *)ctx->caller->organization_id;
	q.max_users = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	q.capped = q.max_users >= 0;
	rv = org_forward(ctx, KP_RPC_AUTH_CREATE_USER, &q.base);
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_user_list(kp_rpc_ctx *ctx)
{
	Keyport__Org__ListOrganizationsRequest *req = NULL;
	Keyport__Auth__ListUsersRequest q =
	    KEYPORT__AUTH__LIST_USERS_REQUEST__INIT;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__list_organizations_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	q.organization_id = (char *)ctx->caller->organization_id;
	q.page = req->page;
	q.limit = req->limit;
	rv = org_forward(ctx, KP_RPC_AUTH_LIST_USERS, &q.base);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_user_get(kp_rpc_ctx *ctx)
{
	Keyport__Auth__GetUserRequest *req = NULL;
	Keyport__Auth__GetUserRequest q = KEYPORT__AUTH__GET_USER_REQUEST__INIT;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__get_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	q.id = req->id;
	q.scope_organization_id = (char *)ctx->caller->organization_id;
	rv = org_forward(ctx, KP_RPC_AUTH_GET_USER, &q.base);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_user_update(kp_rpc_ctx *ctx)
{
	Keyport__Auth__UpdateUserRequest *req = NULL;
	Keyport__Auth__UpdateUserRequest q;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__update_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->has_role && (rv = org_check_role(ctx, req->role)) != KP_OK)
		goto out;
	q = *req; /* borrowed strings; only req is freed */
	q.scope_organization_id = (char *)ctx->caller->organization_id;
	q.keep_org_admin = 1;
	q.has_organization_id = 0;
	q.organization_id = (char *)"";
	rv = org_forward(ctx, KP_RPC_AUTH_UPDATE_USER, &q.base);
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_user_delete(kp_rpc_ctx *ctx)
{
	Keyport__Auth__GetUserRequest *req = NULL;
	Keyport__Auth__DeleteUserRequest q =
	    KEYPORT__AUTH__DELETE_USER_REQUEST__INIT;
	Keyport__Org__Empty e = KEYPORT__ORG__EMPTY__INIT;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__get_user_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	q.id = req->id;
	q.scope_organization_id = (char *)ctx->caller->organization_id;
	q.keep_org_admin = 1;
	if ((rv = kp_service_invoke(ctx, KP_RPC_AUTH_DELETE_USER, &q.base,
	                            NULL)) != KP_OK)
		goto out;
	/* auth also calls org.UserRemoved; cleaning here too keeps the
	 * groups right even when that notification is lost */
	{
		const char *p[] = {req->id};

		(void)kp_db_exec(kp_service_db(ctx),
		                 "DELETE FROM group_users WHERE user_id = $1",
		                 1, p);
	}
	rv = kp_rpc_reply(ctx, &e.base);
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
