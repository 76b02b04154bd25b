/* activation_activate: activation.Activate (a machine takes a seat of the
 * license its key names) and activation.Deactivate (by key for the client
 * application, by license id for the portal). Offline activations come
 * through activation_offline.c; the seats themselves are activation_seat.c's.
 */
#include "activation_app.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <string.h>

int
act_activate(kp_rpc_ctx *ctx)
{
	Keyport__Activation__ActivateRequest *req = NULL;
	Keyport__License__LicenseReply *lic = NULL, *started = NULL;
	const Keyport__License__License *l;
	int64_t now = kp_now();
	int rv, created = 0;
	act_row row = {0};
	char *cpk;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__activation__activate_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	/* offline activations come through activation.OfflineActivate */
	req->offline = 0;
	cpk = req->client_public_key; /* restored before the free below */
	req->client_public_key = (char *)protobuf_c_empty_string;
	if ((rv = act_check_input(ctx, req)) != KP_OK)
		goto out;
	if ((rv = act_resolve_key(ctx, req->key, req->product_id, &lic)) !=
	    KP_OK)
		goto out;
	l = lic->license;
	if ((rv = act_license_usable(ctx, l, now)) != KP_OK)
		goto out;
	if ((rv = act_take_slot(ctx, l, req, now, &row, &created, &started)) !=
	    KP_OK)
		goto out;
	rv = act_answer(ctx, started ? started->license : l, &row.msg, created,
	                req->nonce, now);
out:
	act_row_clear(&row);
	if (started)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)started,
		                                 NULL);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	req->client_public_key = cpk;
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

/* act_deactivate_license finds the license of a deactivation into *lic: by
 * id when the portal asks (the caller must see it), else by key (a revoked
 * license frees no seats through its key). */
static int
act_deactivate_license(kp_rpc_ctx *ctx,
                       const Keyport__Activation__DeactivateRequest *req,
                       int64_t now, Keyport__License__LicenseReply **lic)
{
	int rv;

	if (req->license_id[0] != '\0')
		return act_get_license(ctx, req->license_id, lic);
	if ((rv = act_check_text(ctx, "key", req->key, 128, 1)) != KP_OK)
		return rv;
	if ((rv = act_resolve_key(ctx, req->key, "", lic)) != KP_OK)
		return rv;
	if (strcmp(act_license_status((*lic)->license, now), "revoked") == 0)
		return act_license_usable(ctx, (*lic)->license, now);
	return KP_OK;
}

int
act_deactivate(kp_rpc_ctx *ctx)
{
	Keyport__Activation__DeactivateRequest *req = NULL;
	Keyport__License__LicenseReply *lic = NULL;
	int64_t now = kp_now();
	act_row row = {0};
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__activation__deactivate_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->activation_id) ||
	    (req->license_id[0] && !kp_uuid_valid(req->license_id))) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
		goto out;
	}
	if ((rv = act_deactivate_license(ctx, req, now, &lic)) != KP_OK)
		goto out;
	/* proofs come only through activation.OfflineDeactivate */
	if ((rv = act_release(ctx, lic->license, req->activation_id, "", now,
	                      &row)) != KP_OK)
		goto out;
	rv = act_answer_released(ctx, &row);
out:
	act_row_clear(&row);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}
