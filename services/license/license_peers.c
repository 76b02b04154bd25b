/* license_peers: what the license service asks of the others: auth and
 * org (does an owner exist, which licenses do a user's groups see) and
 * activation (the totals of licenses, and that licenses changed). */
#include "license_app.h"

#include "rpc/kp_contract.h"
#include "kp_err.h"
#include "kp_log.h"
#include "proto/activation.pb-c.h"
#include "proto/auth.pb-c.h"
#include "proto/org.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static atomic_int license_peer_warned; /* log a missing peer once */

int
license_peer_missing(kp_rpc_ctx *ctx)
{
	if (strcmp(ctx->code, "UNKNOWN_METHOD") != 0)
		return 0;
	if (atomic_exchange(&license_peer_warned, 1) == 0)
		kp_log_warn("%s: peer method missing (%s); treated as empty",
		            ctx->method, ctx->message);
	ctx->status = KP_OK;
	ctx->code[0] = '\0';
	ctx->message[0] = '\0';
	return 1;
}

int
license_owner_check(kp_rpc_ctx *ctx, const char *user_id, const char **org_id,
                    char *org_buf, size_t org_len)
{
	Keyport__Auth__GetUserRequest ureq =
	    KEYPORT__AUTH__GET_USER_REQUEST__INIT;
	Keyport__Org__GetOrganizationRequest oreq =
	    KEYPORT__ORG__GET_ORGANIZATION_REQUEST__INIT;
	Keyport__Auth__UserReply *u = NULL;
	int rv = KP_OK;

	if (user_id[0] != '\0') {
		ureq.id = (char *)user_id;
		rv = kp_service_invoke(ctx, KP_RPC_AUTH_GET_USER, &ureq.base,
		                       (ProtobufCMessage **)&u);
		if (rv != KP_OK) {
			if (license_peer_missing(ctx))
				rv = KP_OK;
			else if (rv == KP_ENOTFOUND || rv == KP_EINVAL)
				rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
				                 "userId: no such user");
			goto out;
		}
		if (u->user != NULL && u->user->organization_id[0] != '\0') {
			if ((*org_id)[0] == '\0') {
				snprintf(org_buf, org_len, "%s",
				         u->user->organization_id);
				*org_id = org_buf;
			} else if (strcasecmp(*org_id,
			                      u->user->organization_id) != 0) {
				rv = kp_rpc_fail(
				    ctx, KP_EINVAL, NULL,
				    "userId: the user belongs to another "
				    "organization than organizationId");
				goto out;
			}
		}
	}
	if ((*org_id)[0] != '\0' &&
	    (u == NULL || u->user == NULL ||
	     strcasecmp(*org_id, u->user->organization_id) != 0)) {
		oreq.id = (char *)*org_id;
		rv = kp_service_invoke(ctx, KP_RPC_ORG_GET_ORGANIZATION,
		                       &oreq.base, NULL);
		if (rv != KP_OK) {
			if (license_peer_missing(ctx))
				rv = KP_OK;
			else if (rv == KP_ENOTFOUND || rv == KP_EINVAL)
				rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
				                 "organizationId: no such "
				                 "organization");
		}
	}
out:
	if (u != NULL)
		protobuf_c_message_free_unpacked(&u->base, NULL);
	return rv;
}

int
license_counters(kp_rpc_ctx *ctx, license_set *s)
{
	Keyport__Activation__CountersRequest req =
	    KEYPORT__ACTIVATION__COUNTERS_REQUEST__INIT;
	Keyport__Activation__CountersReply *reply = NULL;
	char **ids = NULL;
	int rv = KP_OK;

	if (s->n == 0)
		return KP_OK;
	if ((ids = calloc(s->n, sizeof(*ids))) == NULL)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		ids[i] = s->rows[i].msg.id;
	req.n_license_ids = s->n;
	req.license_ids = ids;
	rv = kp_service_invoke(ctx, KP_RPC_ACTIVATION_COUNTERS, &req.base,
	                       (ProtobufCMessage **)&reply);
	if (rv != KP_OK) {
		if (license_peer_missing(ctx))
			rv = KP_OK; /* no activation service yet: zeros */
		goto out;
	}
	for (size_t c = 0; c < reply->n_counters; c++)
		for (size_t i = 0; i < s->n; i++)
			if (strcasecmp(s->rows[i].msg.id,
			               reply->counters[c]->license_id) == 0) {
				s->rows[i].msg.total_activations =
				    reply->counters[c]->total_activations;
				s->rows[i].msg.total_deactivations =
				    reply->counters[c]->total_deactivations;
				s->rows[i].msg.active_activations =
				    reply->counters[c]->active_activations;
			}
out:
	free(ids);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rv;
}

void
license_changed(kp_rpc_ctx *ctx, size_t n, char **ids)
{
	Keyport__Activation__LicenseChangedRequest req =
	    KEYPORT__ACTIVATION__LICENSE_CHANGED_REQUEST__INIT;

	if (n == 0)
		return;
	req.n_license_ids = n;
	req.license_ids = ids;
	if (kp_service_invoke(ctx, KP_RPC_ACTIVATION_LICENSE_CHANGED, &req.base,
	                      NULL) != KP_OK) {
		kp_log_warn("activation.LicenseChanged (%zu licenses) failed: "
		            "%s",
		            n, ctx->message);
		ctx->status = KP_OK;
		ctx->code[0] = '\0';
		ctx->message[0] = '\0';
	}
}

void
license_changed_one(kp_rpc_ctx *ctx, const char *id)
{
	char *ids[1] = {(char *)id};

	license_changed(ctx, 1, ids);
}

int
license_visible_ids(kp_rpc_ctx *ctx, Keyport__Org__VisibleLicensesReply **out)
{
	Keyport__Org__VisibleLicensesRequest req =
	    KEYPORT__ORG__VISIBLE_LICENSES_REQUEST__INIT;
	int rv;

	*out = NULL;
	req.user_id = (char *)ctx->caller->user_id;
	rv = kp_service_invoke(ctx, KP_RPC_ORG_VISIBLE_LICENSES, &req.base,
	                       (ProtobufCMessage **)out);
	if (rv != KP_OK && !license_peer_missing(ctx))
		return rv;
	return KP_OK;
}
