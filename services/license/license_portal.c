/* license_portal: what a signed-in portal user sees: their licenses
 * (license.ListMyLicenses: their own, their organization's for an
 * organization admin, and those linked to their groups) and one license
 * (license.GetLicense, the same rule; another tenant's license is not
 * found). */
#include "license_app.h"

#include "kp_err.h"

#include <string.h>
#include <strings.h>

int
license_list_mine(kp_rpc_ctx *ctx)
{
	Keyport__License__ListMyLicensesRequest *req = NULL;
	Keyport__Org__VisibleLicensesReply *vis = NULL;
	const Keyport__Caller *c = ctx->caller;
	license_set s = {0};
	license_cost cost;
	int rv;

	license_cost_start(ctx, &cost);
	rv = kp_rpc_unpack(
	    ctx, &keyport__license__list_my_licenses_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (c->user_id[0] == '\0') {
		rv = kp_rpc_fail(ctx, KP_EUNAUTH, NULL, "sign in first");
		goto out;
	}
	if (req->page < 1 || req->limit < 1 || req->limit > 100) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "page/limit: out of range");
		goto out;
	}
	if ((rv = license_visible_ids(ctx, &vis)) != KP_OK)
		goto out;
	if ((rv = license_store_list_visible(
	         kp_service_db(ctx), c->user_id,
	         strcmp(c->role, "organization-admin") == 0 ? c->organization_id
	                                                    : "",
	         vis ? vis->license_ids : NULL, vis ? vis->n_license_ids : 0,
	         req->limit, (int64_t)(req->page - 1) * req->limit, &s)) !=
	    KP_OK) {
		rv = license_db_fail(ctx, rv, "license.ListMyLicenses: read");
		goto out;
	}
	rv = license_reply_set(ctx, &s, 1);
	license_cost_record(ctx, &cost);
out:
	if (vis != NULL)
		protobuf_c_message_free_unpacked(&vis->base, NULL);
	return license_end(rv, &s, (ProtobufCMessage *)req);
}

/* license_visible tells whether the caller of ctx may see license l:
 * the portal rule; org is asked for group links only when the direct rules
 * fail. */
static int
license_visible(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                int *visible)
{
	const Keyport__Caller *c = ctx->caller;
	Keyport__Org__VisibleLicensesReply *vis = NULL;
	int rv;

	*visible = license_is_admin(ctx) ||
	           (c->user_id[0] != '\0' &&
	            strcasecmp(l->user_id, c->user_id) == 0) ||
	           (strcmp(c->role, "organization-admin") == 0 &&
	            c->organization_id[0] != '\0' &&
	            strcasecmp(l->organization_id, c->organization_id) == 0);
	if (*visible || c->user_id[0] == '\0')
		return KP_OK;
	if ((rv = license_visible_ids(ctx, &vis)) != KP_OK)
		return rv;
	for (size_t i = 0; vis != NULL && i < vis->n_license_ids; i++)
		if (strcasecmp(vis->license_ids[i], l->id) == 0)
			*visible = 1;
	if (vis != NULL)
		protobuf_c_message_free_unpacked(&vis->base, NULL);
	return KP_OK;
}

int
license_get(kp_rpc_ctx *ctx)
{
	Keyport__License__GetLicenseRequest *req = NULL;
	license_set s = {0};
	license_cost cost;
	int rv, visible = 0;

	license_cost_start(ctx, &cost);
	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__get_license_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if ((rv = license_store_get(kp_service_db(ctx), req->id, &s)) !=
	    KP_OK) {
		rv = license_db_fail(ctx, rv, "license.GetLicense: read");
		goto out;
	}
	if ((rv = license_visible(ctx, s.ptrs[0], &visible)) != KP_OK)
		goto out;
	if (!visible) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
		goto out;
	}
	rv = license_reply_one(ctx, &s, req->with_counters);
	license_cost_record(ctx, &cost);
out:
	return license_end(rv, &s, (ProtobufCMessage *)req);
}
