/* activation_list: activation.ListActivations (a license's activations, for
 * the portal and the admin) and activation.Counters (the totals the license
 * service shows with its licenses). */
#include "activation_app.h"

#include "kp_err.h"
#include "kp_pgarr.h"
#include "kp_service.h"

int
act_list(kp_rpc_ctx *ctx)
{
	Keyport__Activation__ListActivationsRequest *req = NULL;
	Keyport__Activation__ListActivationsReply rep =
	    KEYPORT__ACTIVATION__LIST_ACTIVATIONS_REPLY__INIT;
	Keyport__License__LicenseReply *lic = NULL;
	act_set set = {0};
	int rv;

	rv = kp_rpc_unpack(
	    ctx, &keyport__activation__list_activations_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (req->page < 1)
		req->page = 1;
	if (req->limit < 1 || req->limit > 100)
		req->limit = 50;
	if ((rv = act_get_license(ctx, req->license_id, &lic)) != KP_OK)
		goto out;
	if ((rv = act_store_list(
	         kp_service_db(ctx), lic->license->id, req->limit,
	         (int64_t)(req->page - 1) * req->limit, &set)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "activation.ListActivations: read");
		goto out;
	}
	rep.total = set.total;
	rep.n_activations = set.n;
	rep.activations = set.msgs;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
out:
	act_set_clear(&set);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

int
act_counters(kp_rpc_ctx *ctx)
{
	Keyport__Activation__CountersRequest *req = NULL;
	Keyport__Activation__CountersReply rep =
	    KEYPORT__ACTIVATION__COUNTERS_REPLY__INIT;
	act_counter_set set = {0};
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__activation__counters_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (req->n_license_ids > 1000) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL, "too many license ids");
		goto out;
	}
	/* an id that is no UUID cannot exist: 0/0 like any missing id */
	if ((rv = act_store_counters(kp_service_db(ctx), req->license_ids,
	                             req->n_license_ids, &set)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "activation.Counters: read");
		goto out;
	}
	rep.n_counters = set.n;
	rep.counters = set.ptrs;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
out:
	act_counter_set_clear(&set);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}
