/* org_groups: user groups of an organization (its organization admin's),
 * their members and license links, the visibility RPC and the cleanup
 * notifications. Members are checked with auth.GetUser scoped to the
 * caller's organization, licenses with license.GetLicenses filtered by it:
 * another organization's user or license is simply not found. */
#include "org_app.h"
#include "rpc/kp_contract.h"

#include "kp_clock.h"
#include "kp_text.h"
#include "kp_pgarr.h"
#include "kp_err.h"
#include "kp_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_NAME_MAX 200
#define GROUP_DESC_MAX 2000

static int
group_check(kp_rpc_ctx *ctx, const char *name, const char *desc)
{
	if (name != NULL &&
	    (name[0] == '\0' || kp_utf8_chars(name) > GROUP_NAME_MAX))
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "name: 1 to %d characters", GROUP_NAME_MAX);
	if (desc != NULL && kp_utf8_chars(desc) > GROUP_DESC_MAX)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "description: at most %d characters",
		                   GROUP_DESC_MAX);
	return KP_OK;
}

static int
group_not_found(kp_rpc_ctx *ctx)
{
	return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "user group not found");
}

/* group_read reads the caller organization's group id into s; NOT_FOUND
 * and failures answered. */
static int
group_read(kp_rpc_ctx *ctx, const char *id, org_group_set *s)
{
	int rv = org_store_group_get(kp_service_db(ctx), id,
	                             ctx->caller->organization_id, s);

	if (rv == KP_ENOTFOUND)
		return group_not_found(ctx);
	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL, "org.GetGroup: read");
	return KP_OK;
}

/* Answers the outcome of a store call that writes one group. */
static int
group_answer(kp_rpc_ctx *ctx, int rv, const org_group_set *s, const char *what)
{
	Keyport__Org__GroupReply rep = KEYPORT__ORG__GROUP_REPLY__INIT;

	if (rv == KP_ENOTFOUND)
		return group_not_found(ctx);
	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL, what);
	rep.group = &s->rows[0].msg;
	return kp_rpc_reply(ctx, &rep.base);
}

int
org_group_create(kp_rpc_ctx *ctx)
{
	Keyport__Org__CreateGroupRequest *req = NULL;
	org_group_set s = {0};
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__org__create_group_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = group_check(ctx, req->name, req->description)) == KP_OK) {
		rv = org_store_group_create(
		    kp_service_db(ctx), ctx->caller->organization_id, req->name,
		    req->description, kp_now(), &s);
		/* the organization itself is gone (foreign key) */
		rv = group_answer(ctx, rv == KP_EINVAL ? KP_ENOTFOUND : rv, &s,
		                  "org.CreateGroup");
	}
	org_group_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_group_list(kp_rpc_ctx *ctx)
{
	Keyport__Org__ListGroupsRequest *req = NULL;
	org_group_set s = {0};
	int64_t off = 0;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK ||
	    (rv = kp_list_unpack(ctx,
	                         &keyport__org__list_groups_request__descriptor,
	                         (ProtobufCMessage **)&req, &off)) != KP_OK)
		return rv;
	rv = org_store_group_list(kp_service_db(ctx),
	                          ctx->caller->organization_id, req->limit, off,
	                          &s);
	rv =
	    kp_list_reply(ctx, rv, &keyport__org__list_groups_reply__descriptor,
	                  s.ptrs, s.n, s.total, "org.ListGroups");
	org_group_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* Hangs the users and licenses of ids on g: one batch call each,
 * whatever the size of the group; *users and *lics own what g borrows. */
static int
group_expand(kp_rpc_ctx *ctx, Keyport__Org__Group *g, const org_ids *uids,
             const org_ids *lids, Keyport__Auth__GetUsersReply **users,
             Keyport__License__GetLicensesReply **lics)
{
	Keyport__Auth__GetUsersRequest uq =
	    KEYPORT__AUTH__GET_USERS_REQUEST__INIT;
	Keyport__License__GetLicensesRequest lq =
	    KEYPORT__LICENSE__GET_LICENSES_REQUEST__INIT;
	int rv;

	if (uids->n > 0) {
		uq.ids = uids->ids;
		uq.n_ids = uids->n;
		uq.scope_organization_id = (char *)ctx->caller->organization_id;
		if ((rv = kp_service_invoke(
		         ctx, KP_RPC_AUTH_GET_USERS, &uq.base,
		         (ProtobufCMessage **)users)) != KP_OK)
			return rv;
		g->users = (*users)->users;
		g->n_users = (*users)->n_users;
	}
	if (lids->n > 0) {
		lq.ids = lids->ids;
		lq.n_ids = lids->n;
		lq.organization_id = (char *)ctx->caller->organization_id;
		if ((rv = kp_service_invoke(
		         ctx, KP_RPC_LICENSE_GET_LICENSES, &lq.base,
		         (ProtobufCMessage **)lics)) != KP_OK)
			return rv;
		g->licenses = (*lics)->licenses;
		g->n_licenses = (*lics)->n_licenses;
	}
	return KP_OK;
}

int
org_group_get(kp_rpc_ctx *ctx)
{
	Keyport__Org__GroupIdRequest *req = NULL;
	Keyport__Org__GroupReply rep = KEYPORT__ORG__GROUP_REPLY__INIT;
	Keyport__Auth__GetUsersReply *users = NULL;
	Keyport__License__GetLicensesReply *lics = NULL;
	org_group_set s = {0};
	org_ids uids = {0}, lids = {0};
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv =
	         kp_rpc_unpack(ctx, &keyport__org__group_id_request__descriptor,
	                       (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = group_read(ctx, req->id, &s)) != KP_OK)
		goto out;
	if ((rv = org_store_group_members(kp_service_db(ctx), req->id, &uids,
	                                  &lids)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL, "org.GetGroup: members");
		goto out;
	}
	if ((rv = group_expand(ctx, &s.rows[0].msg, &uids, &lids, &users,
	                       &lics)) != KP_OK)
		goto out;
	rep.group = &s.rows[0].msg;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	if (users != NULL)
		protobuf_c_message_free_unpacked(&users->base, NULL);
	if (lics != NULL)
		protobuf_c_message_free_unpacked(&lics->base, NULL);
	org_ids_clear(&uids);
	org_ids_clear(&lids);
	org_group_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_group_update(kp_rpc_ctx *ctx)
{
	Keyport__Org__UpdateGroupRequest *req = NULL;
	org_group_set s = {0};
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__org__update_group_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->id))
		rv = group_not_found(ctx);
	else if ((rv = group_check(ctx, req->has_name ? req->name : NULL,
	                           req->has_description ? req->description
	                                                : NULL)) == KP_OK) {
		rv = org_store_group_update(
		    kp_service_db(ctx), req->id, ctx->caller->organization_id,
		    req->has_name ? req->name : NULL,
		    req->has_description ? req->description : NULL, kp_now(),
		    &s);
		rv = group_answer(ctx, rv, &s, "org.UpdateGroup");
	}
	org_group_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

static int
group_empty_reply(kp_rpc_ctx *ctx)
{
	Keyport__Org__Empty e = KEYPORT__ORG__EMPTY__INIT;

	return kp_rpc_reply(ctx, &e.base);
}

int
org_group_delete(kp_rpc_ctx *ctx)
{
	Keyport__Org__GroupIdRequest *req = NULL;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv =
	         kp_rpc_unpack(ctx, &keyport__org__group_id_request__descriptor,
	                       (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	rv = org_store_group_delete(kp_service_db(ctx), req->id,
	                            ctx->caller->organization_id);
	if (rv == KP_ENOTFOUND)
		rv = group_not_found(ctx);
	else if (rv != KP_OK)
		rv = kp_service_db_fail(ctx, rv, NULL, "org.DeleteGroup");
	else
		rv = group_empty_reply(ctx);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* group_member_check: the member exists in the caller's organization. */
static int
group_member_check(kp_rpc_ctx *ctx, int license, const char *id)
{
	int rv;

	if (!kp_uuid_valid(id))
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "%s not found",
		                   license ? "license" : "user");
	if (!license) {
		Keyport__Auth__GetUserRequest q =
		    KEYPORT__AUTH__GET_USER_REQUEST__INIT;

		q.id = (char *)id;
		q.scope_organization_id = (char *)ctx->caller->organization_id;
		return kp_service_invoke(ctx, KP_RPC_AUTH_GET_USER, &q.base,
		                         NULL);
	} else {
		Keyport__License__GetLicensesRequest q =
		    KEYPORT__LICENSE__GET_LICENSES_REQUEST__INIT;
		Keyport__License__GetLicensesReply *rep = NULL;
		char *ids[] = {(char *)id};
		int found;

		q.ids = ids;
		q.n_ids = 1;
		q.organization_id = (char *)ctx->caller->organization_id;
		rv = kp_service_invoke(ctx, KP_RPC_LICENSE_GET_LICENSES,
		                       &q.base, (ProtobufCMessage **)&rep);
		if (rv != KP_OK)
			return rv;
		found = rep->n_licenses == 1 &&
		        strcmp(rep->licenses[0]->organization_id,
		               ctx->caller->organization_id) == 0;
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		if (!found)
			return kp_rpc_fail(ctx, KP_ENOTFOUND,
			                   "LICENSE_NOT_FOUND",
			                   "license not found");
		return KP_OK;
	}
}

/* group_link adds (add != 0) or removes a member or license link of the
 * caller's organization. Adding twice and removing a link that is not
 * there are both fine (PUT/DELETE). */
static int
group_link(kp_rpc_ctx *ctx, int license, int add)
{
	Keyport__Org__GroupMemberRequest *req = NULL;
	org_group_set s = {0};
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__org__group_member_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = group_read(ctx, req->group_id, &s)) != KP_OK)
		goto out;
	/* adding and removing alike: another organization's user or
	 * license is not found (a removal answered 204 for it) */
	if ((rv = group_member_check(ctx, license, req->member_id)) != KP_OK)
		goto out;
	rv = org_store_group_link(kp_service_db(ctx), req->group_id,
	                          req->member_id, license, add);
	/* the group went away meanwhile (foreign key) */
	rv = rv == KP_OK
	         ? group_empty_reply(ctx)
	         : kp_service_db_fail(ctx, rv == KP_EINVAL ? KP_ENOTFOUND : rv,
	                              NULL, "org.GroupLink");
out:
	org_group_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_group_add_user(kp_rpc_ctx *ctx)
{
	return group_link(ctx, 0, 1);
}

int
org_group_remove_user(kp_rpc_ctx *ctx)
{
	return group_link(ctx, 0, 0);
}

int
org_group_add_license(kp_rpc_ctx *ctx)
{
	return group_link(ctx, 1, 1);
}

int
org_group_remove_license(kp_rpc_ctx *ctx)
{
	return group_link(ctx, 1, 0);
}

/* org.VisibleLicenses: the licenses a user sees through its groups. */
int
org_visible_licenses(kp_rpc_ctx *ctx)
{
	Keyport__Org__VisibleLicensesRequest *req = NULL;
	org_ids ids = {0};
	int rv;

	if ((rv = kp_list_unpack(
	         ctx, &keyport__org__visible_licenses_request__descriptor,
	         (ProtobufCMessage **)&req, NULL)) != KP_OK)
		return rv;
	rv = org_store_visible(kp_service_db(ctx), req->user_id, &ids);
	rv = kp_list_reply(ctx, rv,
	                   &keyport__org__visible_licenses_reply__descriptor,
	                   ids.ids, ids.n, 0, "org.VisibleLicenses");
	org_ids_clear(&ids);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* Answers the outcome of a clean-up. */
static int
group_cleaned(kp_rpc_ctx *ctx, int rv, const char *what)
{
	return rv == KP_OK ? group_empty_reply(ctx)
	                   : kp_service_db_fail(ctx, rv, NULL, what);
}

/* org.UserRemoved / org.LicenseRemoved: idempotent, called by auth and
 * license (with the caller of the deletion); no HTTP route leads here. */
int
org_user_removed(kp_rpc_ctx *ctx)
{
	Keyport__Org__UserRemovedRequest *req = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__org__user_removed_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	rv = org_store_drop_users(kp_service_db(ctx), req->user_id,
	                          req->user_ids, req->n_user_ids,
	                          req->organization_id);
	rv = group_cleaned(ctx, rv, "org.UserRemoved");
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_license_removed(kp_rpc_ctx *ctx)
{
	Keyport__Org__LicenseRemovedRequest *req = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__license_removed_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	rv = org_store_drop_license(kp_service_db(ctx), req->license_id);
	rv = group_cleaned(ctx, rv, "org.LicenseRemoved");
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
