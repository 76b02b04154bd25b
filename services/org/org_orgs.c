/* org_orgs: organizations (vendor admin; members read their own) and the
 * organization admin's users, which live in auth and are reached only
 * through auth's RPCs, scoped to the caller's organization. */
#include "org_app.h"
#include "rpc/kp_contract.h"

#include "kp_clock.h"
#include "kp_text.h"
#include "kp_pgarr.h"
#include "kp_err.h"
#include "kp_list.h"
#include "kp_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ORG_NAME_MAX  200
#define ORG_EMAIL_MAX 254
#define ORG_DESC_MAX  2000

static int
org_reply_one(kp_rpc_ctx *ctx, const Keyport__Org__Organization *o)
{
	Keyport__Org__OrganizationReply rep =
	    KEYPORT__ORG__ORGANIZATION_REPLY__INIT;

	rep.organization = (Keyport__Org__Organization *)o;
	return kp_rpc_reply(ctx, &rep.base);
}

static int
org_not_found(kp_rpc_ctx *ctx)
{
	return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "organization not found");
}

/* Answers the outcome of a store call that reads one organization. */
static int
org_answer(kp_rpc_ctx *ctx, int rv, const org_set *s, const char *what)
{
	if (rv == KP_ENOTFOUND)
		return org_not_found(ctx);
	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL, what);
	return org_reply_one(ctx, &s->rows[0].msg);
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
	org_set s = {0};
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__create_organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = org_check_fields(ctx, req->name, req->email, req->description,
	                           req->has_allowed_users ? req->allowed_users
	                                                  : -1)) == KP_OK) {
		org_fields f = {req->name, req->email, req->description,
		                req->has_allowed_users, req->allowed_users};

		rv = org_store_create(kp_service_db(ctx), &f, kp_now(), &s);
		rv = org_answer(ctx, rv, &s, "org.CreateOrganization");
	}
	org_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_list(kp_rpc_ctx *ctx)
{
	Keyport__Org__ListOrganizationsRequest *req = NULL;
	org_set s = {0};
	int64_t off = 0;
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK ||
	    (rv = kp_list_unpack(
	         ctx, &keyport__org__list_organizations_request__descriptor,
	         (ProtobufCMessage **)&req, &off)) != KP_OK)
		return rv;
	rv = org_store_list(kp_service_db(ctx), req->limit, off, &s);
	rv = kp_list_reply(ctx, rv,
	                   &keyport__org__list_organizations_reply__descriptor,
	                   s.ptrs, s.n, s.total, "org.ListOrganizations");
	org_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* org_read reads one organization into s; NOT_FOUND and failures
 * answered. */
static int
org_read(kp_rpc_ctx *ctx, const char *id, org_set *s)
{
	int rv = org_store_get(kp_service_db(ctx), id, s);

	if (rv == KP_ENOTFOUND)
		return org_not_found(ctx);
	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "org.GetOrganization: read");
	return KP_OK;
}

int
org_get(kp_rpc_ctx *ctx)
{
	Keyport__Org__GetOrganizationRequest *req = NULL;
	org_set s = {0};
	const char *role = ctx->caller->role;
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__get_organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	/* internal callers and the vendor admin read any; a member only
	 * their own organization, everything else does not exist */
	if (role[0] != '\0' && strcmp(role, ORG_ROLE_ADMIN) != 0 &&
	    strcmp(req->id, ctx->caller->organization_id) != 0)
		rv = org_not_found(ctx);
	else if ((rv = org_read(ctx, req->id, &s)) == KP_OK)
		rv = org_reply_one(ctx, &s.rows[0].msg);
	org_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_update(kp_rpc_ctx *ctx)
{
	Keyport__Org__UpdateOrganizationRequest *req = NULL;
	org_set s = {0};
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__update_organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->id))
		rv = org_not_found(ctx);
	else if ((rv = org_check_fields(
	              ctx, req->has_name ? req->name : NULL,
	              req->has_email ? req->email : NULL,
	              req->has_description ? req->description : NULL,
	              req->has_allowed_users ? req->allowed_users : 0)) ==
	         KP_OK) {
		org_fields f = {req->has_name ? req->name : NULL,
		                req->has_email ? req->email : NULL,
		                req->has_description ? req->description : NULL,
		                req->has_allowed_users, req->allowed_users};

		rv = org_store_update(kp_service_db(ctx), req->id, &f, kp_now(),
		                      &s);
		rv = org_answer(ctx, rv, &s, "org.UpdateOrganization");
	}
	org_set_clear(&s);
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

/* Refuses (409) to delete organization id while it has users or
 * licenses. */
static int
org_delete_empty(kp_rpc_ctx *ctx, const char *id)
{
	int64_t users = 0, licenses = 0;
	int rv;

	if ((rv = org_count(ctx, id, &users, &licenses)) != KP_OK)
		return rv;
	if (users > 0 || licenses > 0)
		return kp_rpc_fail(ctx, KP_ECONFLICT, "ORGANIZATION_NOT_EMPTY",
		                   "the organization still has %lld users and "
		                   "%lld licenses; delete with cascade=true",
		                   (long long)users, (long long)licenses);
	return KP_OK;
}

/* Deletes organization id's users and licenses. auth tells
 * org.UserRemoved and license org.LicenseRemoved; the groups go with the
 * organization row anyway. A deleted user may still be in another
 * organization's group (added there before the vendor admin moved them),
 * so the ids auth answers are dropped from every group here too: that
 * does not depend on the notification arriving. */
static int
org_delete_cascade(kp_rpc_ctx *ctx, const char *id)
{
	Keyport__Auth__OrganizationRequest aq =
	    KEYPORT__AUTH__ORGANIZATION_REQUEST__INIT;
	Keyport__License__OrganizationRequest lq =
	    KEYPORT__LICENSE__ORGANIZATION_REQUEST__INIT;
	Keyport__Auth__CountReply *del = NULL;
	int rv;

	aq.organization_id = lq.organization_id = (char *)id;
	if ((rv = kp_service_invoke(ctx, KP_RPC_AUTH_DELETE_ORGANIZATION_USERS,
	                            &aq.base, (ProtobufCMessage **)&del)) !=
	    KP_OK)
		return rv;
	rv = org_store_drop_users(kp_service_db(ctx), NULL, del->user_ids,
	                          del->n_user_ids, "");
	protobuf_c_message_free_unpacked(&del->base, NULL);
	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "org.DeleteOrganization: groups");
	return kp_service_invoke(
	    ctx, KP_RPC_LICENSE_DELETE_ORGANIZATION_LICENSES, &lq.base, NULL);
}

int
org_delete(kp_rpc_ctx *ctx)
{
	Keyport__Org__DeleteOrganizationRequest *req = NULL;
	Keyport__Org__Empty e = KEYPORT__ORG__EMPTY__INIT;
	org_set s = {0};
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__delete_organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = org_read(ctx, req->id, &s)) != KP_OK ||
	    (rv = req->cascade ? org_delete_cascade(ctx, req->id)
	                       : org_delete_empty(ctx, req->id)) != KP_OK)
		goto out;
	if ((rv = org_store_delete(kp_service_db(ctx), req->id)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "org.DeleteOrganization: delete");
		goto out;
	}
	kp_log_info("organization %s deleted%s", req->id,
	            req->cascade ? " with its users and licenses" : "");
	rv = kp_rpc_reply(ctx, &e.base);
out:
	org_set_clear(&s);
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
	org_set s = {0};
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
	if ((rv = org_read(ctx, ctx->caller->organization_id, &s)) != KP_OK)
		goto out;
	q.email = req->email;
	q.password = req->password;
	q.first_name = req->first_name;
	q.last_name = req->last_name;
	q.organization_id = (char *)ctx->caller->organization_id;
	q.max_users = s.rows[0].msg.allowed_users;
	q.capped = q.max_users >= 0;
	rv = org_forward(ctx, KP_RPC_AUTH_CREATE_USER, &q.base);
out:
	org_set_clear(&s);
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
	(void)org_store_drop_users(kp_service_db(ctx), req->id, NULL, 0, "");
	rv = kp_rpc_reply(ctx, &e.base);
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
