/* license_state: changes of a license's state by the vendor admin
 * (suspend, unsuspend, revoke: final, renew), the start of a delayed
 * expiry (asked by the activation service at the first activation), and
 * an organization's licenses (counted before, deleted with it). */
#include "license_app.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <stdlib.h>

/* license_op_allowed answers 409 when op cannot apply to license l. */
static int
license_op_allowed(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                   license_op op)
{
	if (l->revoked && op != LICENSE_OP_REVOKE)
		return kp_rpc_fail(
		    ctx, KP_ECONFLICT, "LICENSE_REVOKED",
		    "the license is revoked; revocation is final");
	if (op == LICENSE_OP_RENEW && l->validity == 0)
		return kp_rpc_fail(ctx, KP_ECONFLICT, "LICENSE_PERPETUAL",
		                   "a perpetual license (validity 0) has no "
		                   "expiry to extend");
	if (op == LICENSE_OP_RENEW && l->expires_at[0] == '\0')
		return kp_rpc_fail(ctx, KP_ECONFLICT, "EXPIRY_NOT_STARTED",
		                   "a delayed license's expiry starts at its "
		                   "first activation");
	return KP_OK;
}

/* license_change_state applies op to license req->id; revocation is
 * final. */
static int
license_change_state(kp_rpc_ctx *ctx, license_op op)
{
	Keyport__License__LicenseIdRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	license_set s = {0};
	int rv;

	if ((rv = license_unpack_admin(
	         ctx, &keyport__license__license_id_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		goto out;
	if ((rv = license_store_get(db, req->id, &s)) != KP_OK) {
		rv = license_db_fail(ctx, rv, "license: read");
		goto out;
	}
	if ((rv = license_op_allowed(ctx, s.ptrs[0], op)) != KP_OK)
		goto out;
	license_set_clear(&s);
	if ((rv = license_store_op(db, req->id, op, kp_now())) != KP_OK) {
		rv = license_db_fail(ctx, rv, "license: change state");
		goto out;
	}
	license_changed_one(ctx, req->id);
	if ((rv = license_store_get(db, req->id, &s)) != KP_OK)
		rv = license_db_fail(ctx, rv, "license: read");
	else
		rv = license_reply_one(ctx, &s, 0);
out:
	return license_end(rv, &s, (ProtobufCMessage *)req);
}

/* the methods of the state changes: one line each */
#define LICENSE_STATE_METHOD(fn, op)                                           \
	int fn(kp_rpc_ctx *ctx)                                                \
	{                                                                      \
		return license_change_state(ctx, op);                          \
	}
LICENSE_STATE_METHOD(license_suspend, LICENSE_OP_SUSPEND)
LICENSE_STATE_METHOD(license_unsuspend, LICENSE_OP_UNSUSPEND)
LICENSE_STATE_METHOD(license_revoke, LICENSE_OP_REVOKE)
LICENSE_STATE_METHOD(license_renew, LICENSE_OP_RENEW)

int
license_start_expiry(kp_rpc_ctx *ctx)
{
	Keyport__License__StartExpiryRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	license_set s = {0};
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__start_expiry_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	kp_service_crash_point("license.start_expiry.before");
	if ((rv = license_store_start_expiry(db, req->license_id, kp_now())) !=
	        KP_OK ||
	    (rv = license_store_get(db, req->license_id, &s)) != KP_OK) {
		rv = license_db_fail(ctx, rv, "license.StartExpiry");
		goto out;
	}
	kp_service_crash_point("license.start_expiry");
	rv = license_reply_one(ctx, &s, 0);
out:
	return license_end(rv, &s, (ProtobufCMessage *)req);
}

/* ---- organizations ---------------------------------------------------- */

/* license_org_op counts (del 0) or deletes (del 1) the licenses of an
 * organization and answers how many. */
static int
license_org_op(kp_rpc_ctx *ctx, int del)
{
	Keyport__License__OrganizationRequest *req = NULL;
	Keyport__License__CountReply reply =
	    KEYPORT__LICENSE__COUNT_REPLY__INIT;
	license_ids gone = {0};
	kp_db *db = kp_service_db(ctx);
	int rv;

	if ((rv = license_unpack_admin(
	         ctx, &keyport__license__organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		goto out;
	rv = del ? license_store_delete_org(db, req->organization_id, &gone)
	         : license_store_count_org(db, req->organization_id,
	                                   &reply.count);
	if (rv != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "license: organization's licenses");
		goto out;
	}
	/* one row per deleted license: their caches go too */
	for (size_t i = 0; del && i < gone.n; i += 10000)
		license_changed(ctx, gone.n - i < 10000 ? gone.n - i : 10000,
		                gone.ids + i);
	if (del)
		reply.count = (int64_t)gone.n;
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	license_ids_clear(&gone);
	return license_end(rv, NULL, (ProtobufCMessage *)req);
}

int
license_count_org(kp_rpc_ctx *ctx)
{
	return license_org_op(ctx, 0);
}

int
license_delete_org(kp_rpc_ctx *ctx)
{
	return license_org_op(ctx, 1);
}
