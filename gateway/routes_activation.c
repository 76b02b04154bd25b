/* routes_activation: the client application's /v1/activations routes (the
 * license key authenticates them) and the portal's activation routes of a
 * license. Each route is one RPC to the activation service, which checks
 * the license through the license service itself. */
#include "gw.h"
#include "gw_call.h"
#include "gw_input.h"
#include "gw_list.h"
#include "gw_response.h"
#include "kp_err.h"
#include "kp_offline.h"
#include "proto/activation.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* act_json is the public form of an activation. */
static json_t *
act_json(const Keyport__Activation__Activation *a)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, "
	    "s:o}",
	    "id", a->id, "licenseId", a->license_id, "productId", a->product_id,
	    "fingerprint", a->fingerprint, "hostname", a->hostname, "os", a->os,
	    "osVersion", a->os_version, "appVersion", a->app_version, "vmName",
	    a->vm_name, "offline", a->offline, "createdAt", a->created_at,
	    "lastSeenAt", a->last_seen_at, "deactivatedAt",
	    a->deactivated_at[0] ? json_string(a->deactivated_at)
	                         : json_null());
}

/* act_reply_json is the answer of activate and heartbeat. */
static json_t *
act_reply_json(const Keyport__Activation__ActivationReply *rep)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:o}", "activationId",
	    rep->activation->id, "licenseId", rep->license_id, "token",
	    rep->token, "status", rep->license_status, "expiresAt",
	    rep->expires_at[0] ? json_string(rep->expires_at) : json_null(),
	    "issuedAt", rep->issued_at, "leaseSeconds",
	    (json_int_t)rep->lease_seconds, "activation",
	    act_json(rep->activation));
}

/* POST /v1/activations */
static void
act_route_activate(gw_request *r, gw_response *w)
{
	Keyport__Activation__ActivateRequest req =
	    KEYPORT__ACTIVATION__ACTIVATE_REQUEST__INIT;
	Keyport__Activation__ActivationReply *rep = NULL;
	const char *key, *product, *fp, *host, *os, *osv = NULL, *appv = NULL,
	                                            *vm = NULL, *nonce = NULL;
	json_t *in = gw_input_object(r, w);

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "key", 1, 128, &key) ||
	    gw_input_string(w, in, "productId", 1, 36, &product) ||
	    gw_input_string(w, in, "fingerprint", 1, 256, &fp) ||
	    gw_input_string(w, in, "hostname", 1, 255, &host) ||
	    gw_input_string(w, in, "os", 1, 64, &os) ||
	    gw_input_string(w, in, "osVersion", 0, 64, &osv) ||
	    gw_input_string(w, in, "appVersion", 0, 64, &appv) ||
	    gw_input_string(w, in, "vmName", 0, 255, &vm) ||
	    gw_input_string(w, in, "nonce", 0, 128, &nonce))
		goto out;
	if (!kp_uuid_valid(product)) {
		gw_error(w, 400, "INVALID_INPUT", "productId must be a UUID");
		goto out;
	}
	if (key[0] == '\0' || fp[0] == '\0') {
		gw_error(w, 400, "INVALID_INPUT", "%s must not be empty",
		         key[0] == '\0' ? "key" : "fingerprint");
		goto out;
	}
	req.key = (char *)key;
	req.product_id = (char *)product;
	req.fingerprint = (char *)fp;
	req.hostname = (char *)host;
	req.os = (char *)os;
	req.os_version = (char *)(osv ? osv : "");
	req.app_version = (char *)(appv ? appv : "");
	req.vm_name = (char *)(vm ? vm : "");
	req.nonce = (char *)(nonce ? nonce : "");
	if (gw_call(r, w, KP_RPC_ACTIVATION_ACTIVATE, (ProtobufCMessage *)&req,
	            (ProtobufCMessage **)&rep) != KP_OK)
		goto out;
	snprintf(r->license_id, sizeof(r->license_id), "%s", rep->license_id);
	gw_json(w, rep->created ? 201 : 200, act_reply_json(rep));
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
out:
	json_decref(in);
}

/* POST /v1/activations/{id}/heartbeat: the hot path, one RPC. */
static void
act_route_heartbeat(gw_request *r, gw_response *w)
{
	Keyport__Activation__HeartbeatRequest req =
	    KEYPORT__ACTIVATION__HEARTBEAT_REQUEST__INIT;
	Keyport__Activation__ActivationReply *rep = NULL;
	const char *id, *key, *nonce = NULL;
	json_t *in;

	if ((id = gw_param_uuid(r, w, 0)) == NULL)
		return;
	if ((in = gw_input_object(r, w)) == NULL)
		return;
	if (gw_input_string(w, in, "key", 1, 128, &key) ||
	    gw_input_string(w, in, "nonce", 0, 128, &nonce))
		goto out;
	req.activation_id = (char *)id;
	req.key = (char *)key;
	req.nonce = (char *)(nonce ? nonce : "");
	if (gw_call(r, w, KP_RPC_ACTIVATION_HEARTBEAT, (ProtobufCMessage *)&req,
	            (ProtobufCMessage **)&rep) != KP_OK)
		goto out;
	snprintf(r->license_id, sizeof(r->license_id), "%s", rep->license_id);
	gw_json(w, 200, act_reply_json(rep));
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
out:
	json_decref(in);
}

/* act_deactivate_common sends a DeactivateRequest and answers status
 * (200 with the activation, or 204 without a body). */
static void
act_deactivate_common(gw_request *r, gw_response *w,
                      Keyport__Activation__DeactivateRequest *req, int status)
{
	Keyport__Activation__DeactivateReply *rep = NULL;

	if (gw_call(r, w, KP_RPC_ACTIVATION_DEACTIVATE, (ProtobufCMessage *)req,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	if (status == 204 || rep->activation == NULL)
		gw_empty(w, 204);
	else
		gw_json(w, 200,
		        json_pack("{s:s, s:o}", "activationId",
		                  rep->activation->id, "activation",
		                  act_json(rep->activation)));
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
}

/* POST /v1/activations/{id}/deactivate */
static void
act_route_deactivate(gw_request *r, gw_response *w)
{
	Keyport__Activation__DeactivateRequest req =
	    KEYPORT__ACTIVATION__DEACTIVATE_REQUEST__INIT;
	const char *id, *key;
	json_t *in;

	if ((id = gw_param_uuid(r, w, 0)) == NULL)
		return;
	if ((in = gw_input_object(r, w)) == NULL)
		return;
	if (gw_input_string(w, in, "key", 1, 128, &key) == 0) {
		req.activation_id = (char *)id;
		req.key = (char *)key;
		act_deactivate_common(r, w, &req, 200);
	}
	json_decref(in);
}

static json_t *
act_item_json(const ProtobufCMessage *m)
{
	return act_json((const Keyport__Activation__Activation *)m);
}

/* GET /v1/licenses/{id}/activations */
static void
act_route_list(gw_request *r, gw_response *w)
{
	Keyport__Activation__ListActivationsRequest req =
	    KEYPORT__ACTIVATION__LIST_ACTIVATIONS_REQUEST__INIT;

	if ((req.license_id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	gw_list_rpc(r, w, KP_RPC_ACTIVATION_LIST_ACTIVATIONS, &req.base,
	            "activations", act_item_json, NULL);
}

/* DELETE /v1/licenses/{id}/activations/{activationId} */
static void
act_route_remove(gw_request *r, gw_response *w)
{
	Keyport__Activation__DeactivateRequest req =
	    KEYPORT__ACTIVATION__DEACTIVATE_REQUEST__INIT;
	const char *lic, *id;

	if ((lic = gw_param_uuid(r, w, 0)) == NULL ||
	    (id = gw_param_uuid(r, w, 1)) == NULL)
		return;
	req.license_id = (char *)lic;
	req.activation_id = (char *)id;
	act_deactivate_common(r, w, &req, 204);
}

/* POST /v1/licenses/{id}/offline-activations[?responseValidity=SECONDS]:
 * the body is a request file; the answer is the response file. */
static void
act_route_offline_activate(gw_request *r, gw_response *w)
{
	Keyport__Activation__OfflineActivateRequest req =
	    KEYPORT__ACTIVATION__OFFLINE_ACTIVATE_REQUEST__INIT;
	Keyport__Activation__OfflineActivateReply *rep = NULL;
	const char *lic, *q;
	char disp[128];
	long long validity = 0;

	if ((lic = gw_param_uuid(r, w, 0)) == NULL)
		return;
	if ((q = gw_query(r, "responseValidity")) != NULL) {
		char *end = NULL;

		validity = strtoll(q, &end, 10);
		/* one minute to ten years */
		if (q[0] == '\0' || *end != '\0' || validity < 60 ||
		    validity > 10LL * 365 * 86400) {
			gw_error(w, 400, "INVALID_INPUT",
			         "responseValidity must be seconds between 60 "
			         "and 315360000");
			return;
		}
	}
	if (r->body == NULL || r->body_len == 0) {
		gw_error(w, 400, "OFFLINE_MALFORMED",
		         "the body must be an offline activation request file");
		return;
	}
	req.license_id = (char *)lic;
	req.file.data = (uint8_t *)r->body;
	req.file.len = r->body_len;
	req.response_validity = validity;
	if (gw_call(r, w, KP_RPC_ACTIVATION_OFFLINE_ACTIVATE,
	            (ProtobufCMessage *)&req,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	gw_body(w, 200, "application/json; charset=utf-8", rep->file.data,
	        rep->file.len);
	snprintf(disp, sizeof(disp),
	         "attachment; filename=\"keyport-activation-%s.json\"",
	         rep->activation_id);
	gw_header(w, "Content-Disposition", disp);
	gw_header(w, "X-Activation-Id", rep->activation_id);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
}

/* POST /v1/licenses/{id}/offline-deactivations: the body is a deactivation
 * request file whose proof is accepted once. */
static void
act_route_offline_deactivate(gw_request *r, gw_response *w)
{
	Keyport__Activation__OfflineDeactivateRequest req =
	    KEYPORT__ACTIVATION__OFFLINE_DEACTIVATE_REQUEST__INIT;
	Keyport__Activation__DeactivateReply *rep = NULL;
	const char *lic;

	if ((lic = gw_param_uuid(r, w, 0)) == NULL)
		return;
	if (r->body == NULL || r->body_len == 0) {
		gw_error(w, 400, "OFFLINE_MALFORMED",
		         "the body must be an offline deactivation request "
		         "file");
		return;
	}
	req.license_id = (char *)lic;
	req.file.data = (uint8_t *)r->body;
	req.file.len = r->body_len;
	if (gw_call(r, w, KP_RPC_ACTIVATION_OFFLINE_DEACTIVATE,
	            (ProtobufCMessage *)&req,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	gw_json(w, 200,
	        json_pack("{s:s, s:o}", "activationId", rep->activation->id,
	                  "activation", act_json(rep->activation)));
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
}

static const gw_route act_routes[] = {
    {"POST", "/v1/activations", GW_PUBLIC, 0, act_route_activate},
    {"POST", "/v1/activations/{id}/heartbeat", GW_PUBLIC, 0,
     act_route_heartbeat},
    {"POST", "/v1/activations/{id}/deactivate", GW_PUBLIC, 0,
     act_route_deactivate},
    {"GET", "/v1/licenses/{id}/activations", GW_USER, 0, act_route_list},
    {"DELETE", "/v1/licenses/{id}/activations/{activationId}", GW_USER, 0,
     act_route_remove},
    {"POST", "/v1/licenses/{id}/offline-activations", GW_USER,
     KP_OFFLINE_MAX_FILE, act_route_offline_activate},
    {"POST", "/v1/licenses/{id}/offline-deactivations", GW_USER,
     KP_OFFLINE_MAX_FILE, act_route_offline_deactivate},
};

const gw_route_table gw_routes_activation = {
    act_routes, sizeof(act_routes) / sizeof(act_routes[0])};
