/* auth_pat: personal access tokens of the caller ("kp_pat_" + 256 random
 * bits, shown once, stored as crypto_generichash). */
#include "auth_app.h"

#include "kp_pgarr.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_PAT_PREFIX "kp_pat_"
#define AUTH_PAT_COLS                                                          \
	"id::text, name, " AUTH_TS("expires_at") ", " AUTH_TS(                 \
	    "last_used_at") ", " AUTH_TS("created_at")

static void
auth_pat_from_row(PGresult *res, int i, Keyport__Auth__PersonalAccessToken *t)
{
	keyport__auth__personal_access_token__init(t);
	t->id = PQgetvalue(res, i, 0);
	t->name = PQgetvalue(res, i, 1);
	t->expires_at = PQgetvalue(res, i, 2);
	t->last_used_at = PQgetvalue(res, i, 3);
	t->created_at = PQgetvalue(res, i, 4);
}

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
	char token[64], hash[65], now[32], days[24];
	PGresult *res = NULL;
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
	snprintf(days, sizeof(days), "%lld", (long long)req->expires_in_days);
	{
		const char *p[5] = {ctx->caller->user_id, req->name, hash,
		                    auth_now_param(now, sizeof(now)), days};
		rv =
		    kp_db_query(kp_service_db(ctx),
		                "INSERT INTO personal_access_tokens (user_id, "
		                "name, token_hash, created_at, expires_at) "
		                "VALUES ($1, $2, $3, to_timestamp($4::float8), "
		                "CASE WHEN $5::int > 0 THEN "
		                "to_timestamp($4::float8 + $5::int * 86400.0) "
		                "END) RETURNING " AUTH_PAT_COLS,
		                5, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv == KP_ECONFLICT ? KP_EUNAUTH : rv,
		                 NULL, "database");
		goto out;
	}
	auth_pat_from_row(res, 0, &t);
	t.token = token;
	rep.token = &t;
	kp_log_info("user %s created personal access token %s",
	            ctx->caller->user_id, t.id);
	rv = kp_rpc_reply(ctx, &rep.base);
	sodium_memzero(token, sizeof(token));
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_pat_list(kp_rpc_ctx *ctx)
{
	Keyport__Auth__ListPatsRequest *req = NULL;
	Keyport__Auth__ListPatsReply rep = KEYPORT__AUTH__LIST_PATS_REPLY__INIT;
	Keyport__Auth__PersonalAccessToken *ts = NULL, **ptrs = NULL;
	PGresult *res = NULL;
	char lim[16], off[24];
	int rv, n;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__list_pats_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = auth_pat_caller_ok(ctx)) != KP_OK)
		goto out;
	if (req->page < 1 || req->limit < 1 || req->limit > 100) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                 "page: must be >= 1; limit: 1..100");
		goto out;
	}
	snprintf(lim, sizeof(lim), "%d", req->limit);
	snprintf(off, sizeof(off), "%lld",
	         (long long)(req->page - 1) * req->limit);
	{
		const char *p[3] = {ctx->caller->user_id, lim, off};
		rv = kp_db_query(kp_service_db(ctx),
		                 "SELECT " AUTH_PAT_COLS ", count(*) OVER () "
		                 "FROM personal_access_tokens WHERE user_id = "
		                 "$1 ORDER BY created_at, id LIMIT $2::int "
		                 "OFFSET $3::bigint",
		                 3, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "database");
		goto out;
	}
	n = PQntuples(res);
	ts = calloc((size_t)n + 1, sizeof(*ts));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (ts == NULL || ptrs == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		auth_pat_from_row(res, i, &ts[i]);
		ptrs[i] = &ts[i];
	}
	rep.n_tokens = (size_t)n;
	rep.tokens = ptrs;
	rep.total = n > 0 ? atoll(PQgetvalue(res, 0, 5)) : 0;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	free(ts);
	free(ptrs);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_pat_delete(kp_rpc_ctx *ctx)
{
	Keyport__Auth__DeletePatRequest *req = NULL;
	PGresult *res = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__auth__delete_pat_request__descriptor,
	                        (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((rv = auth_pat_caller_ok(ctx)) != KP_OK)
		goto out;
	if (!kp_uuid_valid(req->id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "NOT_FOUND",
		                 "no such token");
		goto out;
	}
	{
		const char *p[2] = {req->id, ctx->caller->user_id};
		rv = kp_db_query(kp_service_db(ctx),
		                 "DELETE FROM personal_access_tokens WHERE id "
		                 "= $1 AND user_id = $2 RETURNING id",
		                 2, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "database");
		goto out;
	}
	if (PQntuples(res) == 0) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "NOT_FOUND",
		                 "no such token");
		goto out;
	}
	rv = kp_rpc_reply(ctx, NULL);
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_pat_authenticate(kp_rpc_ctx *ctx, const char *token)
{
	Keyport__Auth__AuthenticateReply rep =
	    KEYPORT__AUTH__AUTHENTICATE_REPLY__INIT;
	Keyport__Caller caller = KEYPORT__CALLER__INIT;
	char hash[65], now[32];
	PGresult *res = NULL;
	int rv;

	auth_token_hash(token, hash);
	{
		const char *p[2] = {hash, auth_now_param(now, sizeof(now))};
		rv = kp_db_query(kp_service_db(ctx),
		                 "UPDATE personal_access_tokens p SET "
		                 "last_used_at = to_timestamp($2::float8) FROM "
		                 "users u WHERE p.token_hash = $1 AND u.id = "
		                 "p.user_id AND NOT u.disabled AND "
		                 "(p.expires_at IS NULL OR p.expires_at > "
		                 "to_timestamp($2::float8)) RETURNING "
		                 "u.id::text, u.role, "
		                 "coalesce(u.organization_id::text, '')",
		                 2, p, &res);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "database");
		goto out;
	}
	if (PQntuples(res) == 0) {
		rv = kp_rpc_fail(ctx, KP_EUNAUTH, "UNAUTHENTICATED",
		                 "invalid or expired token");
		goto out;
	}
	caller.user_id = PQgetvalue(res, 0, 0);
	caller.role = PQgetvalue(res, 0, 1);
	caller.organization_id = PQgetvalue(res, 0, 2);
	rep.caller = &caller;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	PQclear(res);
	return rv;
}
