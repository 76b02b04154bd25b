/* auth_users_list: the batch user RPCs (ListUsers, GetUsers, CountUsers,
 * DeleteOrganizationUsers) and auth.Revocations; the statements are
 * auth_store's. */
#include "auth_app.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_list.h"
#include "kp_log.h"
#include "kp_pgarr.h"
#include "kp_service.h"

#include <stdlib.h>

int
auth_list_users(kp_rpc_ctx *ctx)
{
	Keyport__Auth__ListUsersRequest *req = NULL;
	auth_user_set s = {0};
	int64_t off = 0;
	int rv;

	if ((rv = kp_list_unpack(ctx,
	                         &keyport__auth__list_users_request__descriptor,
	                         (ProtobufCMessage **)&req, &off)) != KP_OK)
		return rv;
	/* a malformed organization id has no users */
	if (!req->organization_id[0] || kp_uuid_valid(req->organization_id))
		rv = auth_store_user_list(kp_service_db(ctx),
		                          req->organization_id, req->limit, off,
		                          &s);
	rv =
	    kp_list_reply(ctx, rv, &keyport__auth__list_users_reply__descriptor,
	                  s.ptrs, s.n, s.total, "auth.ListUsers");
	auth_user_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_get_users(kp_rpc_ctx *ctx)
{
	Keyport__Auth__GetUsersRequest *req = NULL;
	auth_user_set s = {0};
	int rv;

	if ((rv = kp_list_unpack(ctx,
	                         &keyport__auth__get_users_request__descriptor,
	                         (ProtobufCMessage **)&req, NULL)) != KP_OK)
		return rv;
	/* the well-formed ids (others cannot exist) */
	rv = auth_store_users_get(kp_service_db(ctx), req->ids, req->n_ids,
	                          req->scope_organization_id, &s);
	rv = kp_list_reply(ctx, rv, &keyport__auth__get_users_reply__descriptor,
	                   s.ptrs, s.n, 0, "auth.GetUsers");
	auth_user_set_clear(&s);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_count_users(kp_rpc_ctx *ctx)
{
	Keyport__Auth__OrganizationRequest *req = NULL;
	Keyport__Auth__CountReply rep = KEYPORT__AUTH__COUNT_REPLY__INIT;
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__auth__organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (kp_uuid_valid(req->organization_id) &&
	    (rv = auth_store_user_count(kp_service_db(ctx),
	                                req->organization_id, &rep.count)) !=
	        KP_OK)
		rv = kp_service_db_fail(ctx, rv, NULL, "auth.CountUsers");
	else
		rv = kp_rpc_reply(ctx, &rep.base);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_delete_org_users(kp_rpc_ctx *ctx)
{
	Keyport__Auth__OrganizationRequest *req = NULL;
	Keyport__Auth__CountReply rep = KEYPORT__AUTH__COUNT_REPLY__INIT;
	kp_db *db = kp_service_db(ctx);
	auth_ids ids = {0};
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__auth__organization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (kp_uuid_valid(req->organization_id)) {
		/* one transaction: no user is deleted with a live token */
		if ((rv = kp_db_begin(db)) != KP_OK ||
		    (rv = auth_outbox_queue_org(db, req->organization_id)) !=
		        KP_OK ||
		    (rv = auth_store_org_users_delete(
		         db, req->organization_id, kp_now(), &ids)) != KP_OK ||
		    (rv = kp_db_commit(db)) != KP_OK) {
			rv = kp_service_db_fail(ctx, rv, NULL,
			                        "auth.DeleteOrganizationUsers");
			goto out;
		}
		rep.count = (int64_t)ids.n;
		rep.user_ids = ids.ids;
		rep.n_user_ids = ids.n;
		kp_log_info("deleted %lld user(s) of organization %s",
		            (long long)rep.count, req->organization_id);
		/* like DeleteUser: org drops them from every group */
		if (rep.count > 0)
			auth_outbox_flush(ctx);
	}
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	kp_db_rollback(db);
	auth_ids_clear(&ids);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
auth_revocations(kp_rpc_ctx *ctx)
{
	Keyport__Auth__RevocationsReply rep =
	    KEYPORT__AUTH__REVOCATIONS_REPLY__INIT;
	auth_revocation_set s = {0};
	auth_session_ids sid = {0};
	int64_t now = kp_now();
	int rv;

	if ((rv = auth_store_revocations(kp_service_db(ctx), now, &s)) !=
	        KP_OK ||
	    (rv = auth_store_revoked_sessions(kp_service_db(ctx), now,
	                                      &sid)) != KP_OK) {
		auth_revocation_set_clear(&s);
		return kp_service_db_fail(ctx, rv, NULL, "auth.Revocations");
	}
	rep.n_revocations = s.n;
	rep.revocations = s.ptrs;
	rep.n_session_ids = sid.n;
	rep.session_ids = sid.ids;
	rv = kp_rpc_reply(ctx, &rep.base);
	auth_revocation_set_clear(&s);
	auth_session_ids_clear(&sid);
	/* the gateway polls this every few seconds: a good clock for
	 * resending group clean-ups org has not confirmed (auth_outbox) */
	auth_outbox_retry(ctx);
	/* rows older than a day are of no use to anyone */
	(void)auth_store_revocations_prune(kp_service_db(ctx), now);
	return rv;
}
