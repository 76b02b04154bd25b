/* license_reply: the answers the license handlers share: who may change
 * licenses, a license or a page of them, and a failed store call. */
#include "license_app.h"

#include "kp_err.h"

#include <string.h>

int
license_is_admin(const kp_rpc_ctx *ctx)
{
	return ctx->caller->role[0] == '\0' ||
	       strcmp(ctx->caller->role, "admin") == 0;
}

int
license_unpack_admin(kp_rpc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **req)
{
	int rv = kp_rpc_unpack(ctx, desc, req);

	if (rv == KP_OK && !license_is_admin(ctx))
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL, "admin only");
	return rv;
}

int
license_end(int rv, license_set *s, ProtobufCMessage *req)
{
	license_set_clear(s);
	if (req != NULL)
		protobuf_c_message_free_unpacked(req, NULL);
	return rv;
}

int
license_db_fail(kp_rpc_ctx *ctx, int rv, const char *what)
{
	if (rv == KP_ENOTFOUND || rv == KP_EINVAL)
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
	return kp_service_db_fail(ctx, rv, NULL, what);
}

int
license_reply_one(kp_rpc_ctx *ctx, license_set *s, int with_counters)
{
	Keyport__License__LicenseReply reply =
	    KEYPORT__LICENSE__LICENSE_REPLY__INIT;
	int rv;

	if (s->n == 0)
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
	if (with_counters && (rv = license_counters(ctx, s)) != KP_OK)
		return rv;
	reply.license = s->ptrs[0];
	return kp_rpc_reply(ctx, &reply.base);
}

int
license_reply_set(kp_rpc_ctx *ctx, license_set *s, int with_counters)
{
	Keyport__License__ListLicensesReply reply =
	    KEYPORT__LICENSE__LIST_LICENSES_REPLY__INIT;
	int rv;

	if (with_counters && (rv = license_counters(ctx, s)) != KP_OK)
		return rv;
	reply.n_licenses = s->n;
	reply.licenses = s->ptrs;
	reply.total = s->total;
	return kp_rpc_reply(ctx, &reply.base);
}
