/* auth_pat: personal access tokens of the caller ("kp_pat_" + 256 random
 * bits, shown once, stored as crypto_generichash). */
#include "auth_app.h"

#include "kp_clock.h"
#include "kp_pgarr.h"
#include "kp_err.h"
#include "kp_list.h"
#include "kp_log.h"
#include "kp_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_PAT_PREFIX "kp_pat_"
static int
auth_pat_caller_ok(kp_rpc_ctx *ctx)
{
	if (!kp_uuid_valid(ctx->caller->user_id))
		return kp_rpc_fail(ctx, KP_EUNAUTH, "UNAUTHENTICATED",
		                   "a signed-in user is required");
	return KP_OK;
}

int
auth_pat_create(kp_rpc_ctx *ctx)
{
	Keyport__Auth__CreatePatRequest *req = NULL;
	Keyport__Auth__PatReply rep = KEYPORT__AUTH__PAT_REPLY__INIT;
	Keyport__Auth__PersonalAccessToken t;
	char token[64], hash[65];
	auth_pat_set s = {0};
	size_t n;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__create_pat_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = auth_pat_caller_ok(ctx)) != KP_OK)
		goto out;
	n = strlen(req->name);
	if (n == 0 || n > 100) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "name: required, at most 100 characters");
		goto out;
	}
	if (req->expires_in_days < 0 || req->expires_in_days > 3650) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "expiresInDays: 0 (never) to 3650");
		goto out;
	}
	auth_random_token(AUTH_PAT_PREFIX, token, sizeof(token));
	auth_token_hash(token, hash);
	rv = auth_store_pat_create(kp_service_db(ctx), ctx->caller->user_id,
	                           req->name, hash, kp_now(),
	                           req->expires_in_days, &s);
	if (rv != KP_OK) {
		rv = kp_service_db_fail(ctx,
		                        rv == KP_ECONFLICT ? KP_EUNAUTH : rv,
		                        NULL, "auth.CreatePersonalAccessToken");
		goto out;
	}
	t = s.rows[0].msg;
	t.token = token;
	rep.token = &t;
	kp_log_info("user %s created personal access token %s",
	            ctx->caller->user_id, t.id);
	rv = kp_rpc_reply(ctx, &rep.base);
	sodium_memzero(token, sizeof(token));
out:
	auth_pat_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_pat_list(kp_rpc_ctx *ctx)
{
	Keyport__Auth__ListPatsRequest *req = NULL;
	auth_pat_set s = {0};
	int64_t off = 0;
	int rv;

	if ((rv = auth_pat_caller_ok(ctx)) != KP_OK ||
	    (rv = kp_list_unpack(ctx,
	                         &keyport__auth__list_pats_request__descriptor,
	                         (ProtobufCMessage **)&req, &off)) != KP_OK)
		return rv;
	rv = auth_store_pat_list(kp_service_db(ctx), ctx->caller->user_id,
	                         req->limit, off, &s);
	rv = kp_list_reply(ctx, rv, &keyport__auth__list_pats_reply__descriptor,
	                   s.ptrs, s.n, s.total,
	                   "auth.ListPersonalAccessTokens");
	auth_pat_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_pat_delete(kp_rpc_ctx *ctx)
{
	Keyport__Auth__DeletePatRequest *req = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__delete_pat_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = auth_pat_caller_ok(ctx)) != KP_OK)
		goto out;
	rv = auth_store_pat_delete(kp_service_db(ctx), req->id,
	                           ctx->caller->user_id);
	if (rv == KP_ENOTFOUND)
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "NOT_FOUND",
		                 "no such token");
	else if (rv != KP_OK)
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "auth.DeletePersonalAccessToken");
	else
		rv = kp_rpc_reply(ctx, NULL);
out:
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_pat_authenticate(kp_rpc_ctx *ctx, const char *token)
{
	Keyport__Auth__AuthenticateReply rep =
	    KEYPORT__AUTH__AUTHENTICATE_REPLY__INIT;
	Keyport__Caller caller = KEYPORT__CALLER__INIT;
	auth_caller_row c = {0};
	char hash[65];
	int rv;

	auth_token_hash(token, hash);
	rv = auth_store_pat_use(kp_service_db(ctx), hash, kp_now(), &c);
	if (rv == KP_ENOTFOUND)
		return kp_rpc_fail(ctx, KP_EUNAUTH, "UNAUTHENTICATED",
		                   "invalid or expired token");
	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "auth.Authenticate: token");
	caller.user_id = (char *)c.user_id;
	caller.role = (char *)c.role;
	caller.organization_id = (char *)c.organization_id;
	rep.caller = &caller;
	rv = kp_rpc_reply(ctx, &rep.base);
	auth_caller_row_clear(&c);
	return rv;
}
