/* license_list: reads of licenses by the vendor admin and by the other
 * services: the admin list (filters, sorts, pages), a batch by ids
 * (license.GetLicenses) and the license of a key (license.ResolveKey, for
 * the activation service). */
#include "license_app.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <string.h>
#include <strings.h>

/* license_filter_of checks the admin list's request and makes its filter
 * (key normalised into key, keylen bytes). Answered. */
static int
license_filter_of(kp_rpc_ctx *ctx,
                  const Keyport__License__ListLicensesRequest *req,
                  license_filter *f, char *key, size_t keylen)
{
	static const char *const sorts[LICENSE_NSORTS] = {
	    [LICENSE_SORT_CREATED_DESC] = "-createdAt",
	    [LICENSE_SORT_CREATED] = "createdAt",
	    [LICENSE_SORT_EXPIRES] = "expiresAt",
	    [LICENSE_SORT_EXPIRES_DESC] = "-expiresAt"};
	static const char *const statuses[] = {"active", "expired", "suspended",
	                                       "revoked"};
	size_t st = 0;

	if (req->page < 1 || req->limit < 1 || req->limit > 100)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "page/limit: out of range");
	f->sort = LICENSE_SORT_CREATED_DESC;
	while (req->sort[0] != '\0' && f->sort < LICENSE_NSORTS &&
	       strcmp(req->sort, sorts[f->sort]) != 0)
		f->sort++;
	if (f->sort == LICENSE_NSORTS)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "sort: createdAt, -createdAt, expiresAt "
		                   "or -expiresAt");
	while (req->status[0] != '\0' && st < 4 &&
	       strcmp(req->status, statuses[st]) != 0)
		st++;
	if (st == 4)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "status: active, expired, suspended or "
		                   "revoked");
	if (license_key_normalise(req->key, key, keylen) != 0)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "key: at most 64 characters");
	f->product_id = req->product_id;
	f->user_id = req->user_id;
	f->organization_id = req->organization_id;
	f->status = req->status;
	f->key = key;
	f->limit = req->limit;
	f->offset = (int64_t)(req->page - 1) * req->limit;
	f->now = kp_now();
	return KP_OK;
}

int
license_list(kp_rpc_ctx *ctx)
{
	Keyport__License__ListLicensesRequest *req = NULL;
	license_filter f = {0};
	license_set s = {0};
	char key[80];
	int rv;

	if ((rv = license_unpack_admin(
	         ctx, &keyport__license__list_licenses_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		goto out;
	if ((rv = license_filter_of(ctx, req, &f, key, sizeof(key))) != KP_OK)
		goto out;
	rv = license_store_list(kp_service_db(ctx), &f, &s);
	if (rv == KP_EINVAL)
		rv = kp_rpc_fail(ctx, rv, NULL,
		                 "productId/userId/organizationId: not a UUID");
	else if (rv != KP_OK)
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "license.ListLicenses: read");
	else
		rv = license_reply_set(ctx, &s, 0);
out:
	return license_end(rv, &s, (ProtobufCMessage *)req);
}

int
license_get_many(kp_rpc_ctx *ctx)
{
	Keyport__License__GetLicensesRequest *req = NULL;
	Keyport__License__GetLicensesReply reply =
	    KEYPORT__LICENSE__GET_LICENSES_REPLY__INIT;
	license_set s = {0};
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__get_licenses_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if ((rv = license_store_get_many(kp_service_db(ctx), req->ids,
	                                 req->n_ids, req->organization_id,
	                                 &s)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "license.GetLicenses: read");
		goto out;
	}
	reply.n_licenses = s.n;
	reply.licenses = s.ptrs;
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	return license_end(rv, &s, (ProtobufCMessage *)req);
}

int
license_resolve_key(kp_rpc_ctx *ctx)
{
	Keyport__License__ResolveKeyRequest *req = NULL;
	license_set s = {0};
	char key[80];
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__resolve_key_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (license_key_normalise(req->key, key, sizeof(key)) != 0 ||
	    key[0] == '\0' ||
	    (rv = license_store_by_key(kp_service_db(ctx), key, &s)) ==
	        KP_ENOTFOUND) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "LICENSE_NOT_FOUND",
		                 "no license with this key");
		goto out;
	}
	if (rv != KP_OK) {
		rv = license_db_fail(ctx, rv, "license.ResolveKey: read");
		goto out;
	}
	if (req->product_id[0] != '\0' &&
	    strcasecmp(req->product_id, s.ptrs[0]->product_id) != 0) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, "PRODUCT_MISMATCH",
		                 "the license is for another product");
		goto out;
	}
	rv = license_reply_one(ctx, &s, 0);
out:
	return license_end(rv, &s, (ProtobufCMessage *)req);
}
