/* activation_license: the license an activation is for, as the license
 * service answers it (by key for the client application, by id with the
 * caller's visibility for the portal), and what the activation service
 * derives from it: its status now and its metadata. */
#include "activation_app.h"

#include "kp_call.h"
#include "kp_err.h"
#include "kp_pgarr.h"
#include "kp_service.h"

#include <string.h>
#include <time.h>

act_app *
act_app_of(const kp_rpc_ctx *ctx)
{
	return kp_service_app(kp_service_of(ctx));
}

/* act_parse_time reads the RFC 3339 UTC prefix "YYYY-MM-DDTHH:MM:SS";
 * 0 for "" or garbage. */
int64_t
act_parse_time(const char *s)
{
	struct tm tm;

	if (s == NULL || s[0] == '\0')
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

/* act_license_status derives the license's status at now. */
const char *
act_license_status(const Keyport__License__License *l, int64_t now)
{
	int64_t exp = act_parse_time(l->expires_at);

	if (l->revoked || strcmp(l->status, "revoked") == 0)
		return "revoked";
	if (l->suspended || strcmp(l->status, "suspended") == 0)
		return "suspended";
	if (strcmp(l->status, "expired") == 0 || (exp != 0 && exp <= now))
		return "expired";
	return "active";
}

/* act_license_usable answers 403 unless the license is active. */
int
act_license_usable(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                   int64_t now)
{
	const char *st = act_license_status(l, now);

	if (strcmp(st, "revoked") == 0)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, "LICENSE_REVOKED",
		                   "the license is revoked");
	if (strcmp(st, "suspended") == 0)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, "LICENSE_SUSPENDED",
		                   "the license is suspended");
	if (strcmp(st, "expired") == 0)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, "LICENSE_EXPIRED",
		                   "the license has expired");
	return KP_OK;
}

/* act_license_call: see activation_app.h. */
int
act_license_call(kp_rpc_ctx *ctx, const kp_rpc_desc *m,
                 const ProtobufCMessage *req, ProtobufCMessage **reply)
{
	return kp_service_invoke_as(ctx, m, NULL, req, reply);
}

/* act_license_present passes a license reply's outcome rv on, refusing a
 * reply without a license. */
static int
act_license_present(kp_rpc_ctx *ctx, int rv,
                    Keyport__License__LicenseReply **out)
{
	if (rv == KP_OK && (*out)->license == NULL) {
		protobuf_c_message_free_unpacked((ProtobufCMessage *)*out,
		                                 NULL);
		*out = NULL;
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "license missing");
	}
	return rv;
}

/* act_resolve_key: license.ResolveKey; *out owned by the caller. */
int
act_resolve_key(kp_rpc_ctx *ctx, const char *key, const char *product_id,
                Keyport__License__LicenseReply **out)
{
	Keyport__License__ResolveKeyRequest req =
	    KEYPORT__LICENSE__RESOLVE_KEY_REQUEST__INIT;
	int rv;

	req.key = (char *)key;
	req.product_id = (char *)product_id;
	rv = act_license_call(ctx, KP_RPC_LICENSE_RESOLVE_KEY,
	                      (ProtobufCMessage *)&req,
	                      (ProtobufCMessage **)out);
	return act_license_present(ctx, rv, out);
}

/* act_get_license: license.GetLicense with the envelope's caller (portal
 * visibility; NOT_FOUND for what the caller may not see). */
int
act_get_license(kp_rpc_ctx *ctx, const char *id,
                Keyport__License__LicenseReply **out)
{
	Keyport__License__GetLicenseRequest req =
	    KEYPORT__LICENSE__GET_LICENSE_REQUEST__INIT;
	int rv;

	if (!kp_uuid_valid(id))
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
	req.id = (char *)id;
	rv = kp_service_invoke(ctx, KP_RPC_LICENSE_GET_LICENSE,
	                       (ProtobufCMessage *)&req,
	                       (ProtobufCMessage **)out);
	return act_license_present(ctx, rv, out);
}

/* act_metadata returns the license's metadata as a JSON object (new ref). */
json_t *
act_metadata(const Keyport__License__License *l)
{
	json_t *meta = json_object();

	for (size_t i = 0; i < l->n_metadata; i++)
		json_object_set_new(meta, l->metadata[i]->key,
		                    json_string(l->metadata[i]->value
		                                    ? l->metadata[i]->value
		                                    : ""));
	return meta;
}
