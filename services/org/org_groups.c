/* org_groups: user groups of an organization (its organization admin's),
 * their members and license links, the visibility RPC and the cleanup
 * notifications. Members are checked with auth.GetUser scoped to the
 * caller's organization, licenses with license.GetLicenses filtered by it:
 * another organization's user or license is simply not found. */
#include "org_app.h"
#include "rpc/kp_contract.h"

#include "kp_text.h"
#include "kp_pgarr.h"
#include "kp_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_COLS                                                             \
	"id::text, name, description, " ORG_TS("created_at") ", " ORG_TS(      \
	    "updated_at")
#define GROUP_NAME_MAX 200
#define GROUP_DESC_MAX 2000

static void
group_fill(Keyport__Org__Group *g, PGresult *res, int i)
{
	keyport__org__group__init(g);
	g->id = PQgetvalue(res, i, 0);
	g->name = PQgetvalue(res, i, 1);
	g->description = PQgetvalue(res, i, 2);
	g->created_at = PQgetvalue(res, i, 3);
	g->updated_at = PQgetvalue(res, i, 4);
}

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

/* group_read selects the caller organization's group id into *res. */
static int
group_read(kp_rpc_ctx *ctx, const char *id, PGresult **res)
{
	const char *p[] = {id, ctx->caller->organization_id};
	int rv;

	*res = NULL;
	if (!kp_uuid_valid(id))
		return group_not_found(ctx);
	rv = kp_db_query(kp_service_db(ctx),
	                 "SELECT " GROUP_COLS " FROM user_groups WHERE id = $1 "
	                 "AND organization_id = $2",
	                 2, p, res);
	if (rv != KP_OK)
		return kp_rpc_fail(ctx, rv, NULL, "cannot read user group");
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return group_not_found(ctx);
	}
	return KP_OK;
}

static int
group_reply_row(kp_rpc_ctx *ctx, PGresult *res)
{
	Keyport__Org__GroupReply rep = KEYPORT__ORG__GROUP_REPLY__INIT;
	Keyport__Org__Group g;

	group_fill(&g, res, 0);
	rep.group = &g;
	return kp_rpc_reply(ctx, &rep.base);
}

int
org_group_create(kp_rpc_ctx *ctx)
{
	Keyport__Org__CreateGroupRequest *req = NULL;
	PGresult *res = NULL;
	char now[32];
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__org__create_group_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = group_check(ctx, req->name, req->description)) != KP_OK)
		goto out;
	org_epoch(now, sizeof(now));
	{
		const char *p[] = {ctx->caller->organization_id, req->name,
		                   req->description, now};

		rv = kp_db_query(kp_service_db(ctx),
		                 "INSERT INTO user_groups (organization_id, "
		                 "name, description, created_at, updated_at) "
		                 "VALUES ($1, $2, $3, to_timestamp($4), "
		                 "to_timestamp($4)) RETURNING " GROUP_COLS,
		                 4, p, &res);
	}
	if (rv != KP_OK) {
		/* the organization itself is gone (foreign key) */
		rv = kp_rpc_fail(ctx, rv == KP_EINVAL ? KP_ENOTFOUND : rv, NULL,
		                 "cannot create user group");
		goto out;
	}
	rv = group_reply_row(ctx, res);
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_group_list(kp_rpc_ctx *ctx)
{
	Keyport__Org__ListGroupsRequest *req = NULL;
	Keyport__Org__ListGroupsReply rep =
	    KEYPORT__ORG__LIST_GROUPS_REPLY__INIT;
	Keyport__Org__Group *items = NULL, **ptrs = NULL;
	PGresult *res = NULL, *cnt = NULL;
	char lim[24], off[24];
	int rv, n;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__org__list_groups_request__descriptor,
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
		const char *p[] = {ctx->caller->organization_id, lim, off};

		rv = kp_db_query(kp_service_db(ctx),
		                 "SELECT " GROUP_COLS " FROM user_groups WHERE "
		                 "organization_id = $1 ORDER BY created_at, id "
		                 "LIMIT $2 OFFSET $3",
		                 3, p, &res);
		if (rv == KP_OK)
			rv = kp_db_query(kp_service_db(ctx),
			                 "SELECT count(*) FROM user_groups "
			                 "WHERE organization_id = $1",
			                 1, p, &cnt);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot list user groups");
		goto out;
	}
	n = PQntuples(res);
	if (n > 0 && ((items = calloc((size_t)n, sizeof(*items))) == NULL ||
	              (ptrs = calloc((size_t)n, sizeof(*ptrs))) == NULL)) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		group_fill(&items[i], res, i);
		ptrs[i] = &items[i];
	}
	rep.groups = ptrs;
	rep.n_groups = (size_t)n;
	rep.total = strtoll(PQgetvalue(cnt, 0, 0), NULL, 10);
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	free(items);
	free(ptrs);
	PQclear(res);
	PQclear(cnt);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* group_ids collects column 0 of res as a borrowed array (caller frees the
 * array only). */
static char **
group_ids(PGresult *res)
{
	int n = PQntuples(res);
	char **ids = calloc((size_t)n + 1, sizeof(*ids));

	for (int i = 0; ids != NULL && i < n; i++)
		ids[i] = PQgetvalue(res, i, 0);
	return ids;
}

int
org_group_get(kp_rpc_ctx *ctx)
{
	Keyport__Org__GroupIdRequest *req = NULL;
	Keyport__Org__GroupReply rep = KEYPORT__ORG__GROUP_REPLY__INIT;
	Keyport__Org__Group g;
	Keyport__Auth__GetUsersRequest uq =
	    KEYPORT__AUTH__GET_USERS_REQUEST__INIT;
	Keyport__License__GetLicensesRequest lq =
	    KEYPORT__LICENSE__GET_LICENSES_REQUEST__INIT;
	Keyport__Auth__GetUsersReply *users = NULL;
	Keyport__License__GetLicensesReply *lics = NULL;
	PGresult *res = NULL, *ur = NULL, *lr = NULL;
	char **uids = NULL, **lids = NULL;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv =
	         kp_rpc_unpack(ctx, &keyport__org__group_id_request__descriptor,
	                       (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = group_read(ctx, req->id, &res)) != KP_OK)
		goto out;
	{
		const char *p[] = {req->id};

		rv = kp_db_query(kp_service_db(ctx),
		                 "SELECT user_id::text FROM group_users WHERE "
		                 "group_id = $1 ORDER BY user_id",
		                 1, p, &ur);
		if (rv == KP_OK)
			rv = kp_db_query(kp_service_db(ctx),
			                 "SELECT license_id::text FROM "
			                 "group_licenses WHERE group_id = $1 "
			                 "ORDER BY license_id",
			                 1, p, &lr);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot read user group");
		goto out;
	}
	if ((uids = group_ids(ur)) == NULL || (lids = group_ids(lr)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	group_fill(&g, res, 0);
	/* one batch call each, whatever the size of the group */
	if (PQntuples(ur) > 0) {
		uq.ids = uids;
		uq.n_ids = (size_t)PQntuples(ur);
		uq.scope_organization_id = (char *)ctx->caller->organization_id;
		if ((rv = kp_service_invoke(
		         ctx, KP_RPC_AUTH_GET_USERS, &uq.base,
		         (ProtobufCMessage **)&users)) != KP_OK)
			goto out;
		g.users = users->users;
		g.n_users = users->n_users;
	}
	if (PQntuples(lr) > 0) {
		lq.ids = lids;
		lq.n_ids = (size_t)PQntuples(lr);
		lq.organization_id = (char *)ctx->caller->organization_id;
		if ((rv = kp_service_invoke(
		         ctx, KP_RPC_LICENSE_GET_LICENSES, &lq.base,
		         (ProtobufCMessage **)&lics)) != KP_OK)
			goto out;
		g.licenses = lics->licenses;
		g.n_licenses = lics->n_licenses;
	}
	rep.group = &g;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	if (users != NULL)
		protobuf_c_message_free_unpacked(&users->base, NULL);
	if (lics != NULL)
		protobuf_c_message_free_unpacked(&lics->base, NULL);
	free(uids);
	free(lids);
	PQclear(res);
	PQclear(ur);
	PQclear(lr);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_group_update(kp_rpc_ctx *ctx)
{
	Keyport__Org__UpdateGroupRequest *req = NULL;
	PGresult *res = NULL;
	char now[32];
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__org__update_group_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->id)) {
		rv = group_not_found(ctx);
		goto out;
	}
	if ((rv = group_check(ctx, req->has_name ? req->name : NULL,
	                      req->has_description ? req->description
	                                           : NULL)) != KP_OK)
		goto out;
	org_epoch(now, sizeof(now));
	{
		const char *p[] = {
		    req->id, ctx->caller->organization_id,
		    req->has_name ? req->name : NULL,
		    req->has_description ? req->description : NULL, now};

		rv = kp_db_query(kp_service_db(ctx),
		                 "UPDATE user_groups SET name = coalesce($3, "
		                 "name), description = coalesce($4, "
		                 "description), updated_at = to_timestamp($5) "
		                 "WHERE id = $1 AND organization_id = $2 "
		                 "RETURNING " GROUP_COLS,
		                 5, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot update user group");
		goto out;
	}
	if (PQntuples(res) == 0) {
		rv = group_not_found(ctx);
		goto out;
	}
	rv = group_reply_row(ctx, res);
out:
	PQclear(res);
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
	PGresult *res = NULL;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv =
	         kp_rpc_unpack(ctx, &keyport__org__group_id_request__descriptor,
	                       (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->id)) {
		rv = group_not_found(ctx);
		goto out;
	}
	{
		const char *p[] = {req->id, ctx->caller->organization_id};

		rv = kp_db_query(kp_service_db(ctx),
		                 "DELETE FROM user_groups WHERE id = $1 AND "
		                 "organization_id = $2 RETURNING id",
		                 2, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot delete user group");
		goto out;
	}
	rv =
	    PQntuples(res) == 0 ? group_not_found(ctx) : group_empty_reply(ctx);
out:
	PQclear(res);
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

/* group_link adds (add != 0) or removes a member or license link. Adding
 * twice and removing what is not there are both fine (PUT/DELETE). */
static int
group_link(kp_rpc_ctx *ctx, int license, int add)
{
	Keyport__Org__GroupMemberRequest *req = NULL;
	PGresult *res = NULL;
	int rv;

	if ((rv = org_require_org_admin(ctx)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__org__group_member_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = group_read(ctx, req->group_id, &res)) != KP_OK)
		goto out;
	if (add) {
		if ((rv = group_member_check(ctx, license, req->member_id)) !=
		    KP_OK)
			goto out;
	} else if (!kp_uuid_valid(req->member_id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "%s not found",
		                 license ? "license" : "user");
		goto out;
	}
	{
		const char *p[] = {req->group_id, req->member_id};
		const char *sql =
		    license ? (add ? "INSERT INTO group_licenses (group_id, "
		                     "license_id) VALUES ($1, $2) ON "
		                     "CONFLICT DO NOTHING"
		                   : "DELETE FROM group_licenses WHERE "
		                     "group_id = $1 AND license_id = $2")
		            : (add ? "INSERT INTO group_users (group_id, "
		                     "user_id) VALUES ($1, $2) ON CONFLICT "
		                     "DO NOTHING"
		                   : "DELETE FROM group_users WHERE "
		                     "group_id = $1 AND user_id = $2");

		rv = kp_db_exec(kp_service_db(ctx), sql, 2, p);
	}
	if (rv != KP_OK) {
		/* the group went away meanwhile (foreign key) */
		rv = kp_rpc_fail(ctx, rv == KP_EINVAL ? KP_ENOTFOUND : rv, NULL,
		                 "cannot change user group");
		goto out;
	}
	rv = group_empty_reply(ctx);
out:
	PQclear(res);
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

/* org.VisibleLicenses: one indexed query (group_users (user_id), then the
 * primary key of group_licenses, which starts with group_id). */
int
org_visible_licenses(kp_rpc_ctx *ctx)
{
	Keyport__Org__VisibleLicensesRequest *req = NULL;
	Keyport__Org__VisibleLicensesReply rep =
	    KEYPORT__ORG__VISIBLE_LICENSES_REPLY__INIT;
	PGresult *res = NULL;
	char **ids = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__visible_licenses_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->user_id)) {
		rv = kp_rpc_reply(ctx, &rep.base);
		goto out;
	}
	{
		const char *p[] = {req->user_id};

		rv = kp_db_query(kp_service_db(ctx),
		                 "SELECT DISTINCT gl.license_id::text FROM "
		                 "group_users gu JOIN group_licenses gl ON "
		                 "gl.group_id = gu.group_id WHERE gu.user_id = "
		                 "$1",
		                 1, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot read visibility");
		goto out;
	}
	if ((ids = group_ids(res)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	rep.license_ids = ids;
	rep.n_license_ids = (size_t)PQntuples(res);
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	free(ids);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_groups_drop_users(kp_db *db, const char *first, char *const *ids, size_t n,
                      const char *org)
{
	kp_pgarr arr = {0};
	const char *p[2];
	int rv = KP_OK;

	/* the well-formed ids (others cannot be members) */
	if (first != NULL)
		(void)kp_pgarr_uuid(&arr, first);
	for (size_t i = 0; i < n; i++)
		(void)kp_pgarr_uuid(&arr, ids[i]);
	if ((p[0] = kp_pgarr_text(&arr)) == NULL) {
		rv = KP_EINTERNAL;
		goto out;
	}
	p[1] = org;
	if (arr.n == 0)
		goto out;
	if (org == NULL || org[0] == '\0')
		rv = kp_db_exec(db,
		                "DELETE FROM group_users WHERE "
		                "user_id = ANY($1::uuid[])",
		                1, p);
	else if (kp_uuid_valid(org)) /* else: no such organization */
		rv = kp_db_exec(
		    db,
		    "DELETE FROM group_users gu USING user_groups g "
		    "WHERE g.id = gu.group_id AND g.organization_id = "
		    "$2::uuid AND gu.user_id = ANY($1::uuid[])",
		    2, p);
out:
	kp_pgarr_free(&arr);
	return rv;
}

static int
group_removed(kp_rpc_ctx *ctx, const char *id, const char *sql)
{
	const char *p[] = {id};
	int rv;

	if (kp_uuid_valid(id) &&
	    (rv = kp_db_exec(kp_service_db(ctx), sql, 1, p)) != KP_OK)
		return kp_rpc_fail(ctx, rv, NULL, "cannot clean user groups");
	return group_empty_reply(ctx);
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
	rv = org_groups_drop_users(kp_service_db(ctx), req->user_id,
	                           req->user_ids, req->n_user_ids,
	                           req->organization_id);
	rv = rv == KP_OK
	         ? group_empty_reply(ctx)
	         : kp_rpc_fail(ctx, rv, NULL, "cannot clean user groups");
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
	rv = group_removed(ctx, req->license_id,
	                   "DELETE FROM group_licenses WHERE license_id = $1");
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
