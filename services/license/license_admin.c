/* license_admin: the vendor admin's changes of licenses: create, update
 * (PATCH) and delete. Reads are license_list.c's and license_portal.c's;
 * state changes (suspend, revoke, renew, ...) license_state.c's. */
#include "license_app.h"

#include "rpc/kp_contract.h"
#include "kp_text.h"
#include "kp_clock.h"
#include "kp_err.h"
#include "kp_log.h"
#include "proto/org.pb-c.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_MAX_ENTRIES 50
#define META_MAX_KEY     64
#define META_MAX_VALUE   4096

/* Checks metadata entries: keys 1..64, values <= 4 KiB, <= 50 entries.
 * Builds the JSON text (*out, caller frees). Returns a kp_status (answered). */
typedef struct meta_kv {
	const char *key;
	const char *value;
} meta_kv;

/* Copies n map entries (any message with key/value strings) into kv. */
#define META_KV(kv, n, entries)                                                \
	do {                                                                   \
		for (size_t i_ = 0; i_ < (n) && i_ < META_MAX_ENTRIES + 1;     \
		     i_++) {                                                   \
			(kv)[i_].key = (entries)[i_]->key;                     \
			(kv)[i_].value = (entries)[i_]->value;                 \
		}                                                              \
	} while (0)

static int
metadata_json(kp_rpc_ctx *ctx, size_t n, const meta_kv *e, char **out)
{
	json_t *o = json_object();
	int rv = KP_EINVAL;

	*out = NULL;
	if (n > META_MAX_ENTRIES) {
		kp_rpc_fail(ctx, KP_EINVAL, NULL,
		            "metadata: at most %d entries", META_MAX_ENTRIES);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t kl = kp_utf8_chars(e[i].key);

		if (kl == 0 || kl > META_MAX_KEY) {
			kp_rpc_fail(ctx, KP_EINVAL, NULL,
			            "metadata: keys are 1 to %d characters",
			            META_MAX_KEY);
			goto out;
		}
		if (kp_utf8_chars(e[i].value) > META_MAX_VALUE) {
			kp_rpc_fail(
			    ctx, KP_EINVAL, NULL,
			    "metadata.%s: values are at most %d characters",
			    e[i].key, META_MAX_VALUE);
			goto out;
		}
		json_object_set_new(o, e[i].key, json_string(e[i].value));
	}
	if ((*out = json_dumps(o, JSON_COMPACT)) == NULL) {
		kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		rv = KP_EINTERNAL;
		goto out;
	}
	rv = KP_OK;
out:
	json_decref(o);
	return rv;
}

/* license_check_new answers 400 naming the field of a create request that
 * is out of range. */
static int
license_check_new(kp_rpc_ctx *ctx,
                  const Keyport__License__CreateLicenseRequest *req)
{
	if (strcmp(req->type, "node-locked") != 0 &&
	    strcmp(req->type, "hosted-floating") != 0)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "type: node-locked or hosted-floating");
	if (strcmp(req->expiration_strategy, "immediate") != 0 &&
	    strcmp(req->expiration_strategy, "delayed") != 0)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "expirationStrategy: immediate or delayed");
	if (req->allowed_activations < -1 || req->allowed_deactivations < -1)
		return kp_rpc_fail(
		    ctx, KP_EINVAL, NULL,
		    "allowedActivations/allowedDeactivations: -1 "
		    "(unlimited) or more");
	if (req->validity < 0 || req->lease_seconds < 0)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "validity/leaseSeconds: 0 or more seconds");
	return KP_OK;
}

int
license_create(kp_rpc_ctx *ctx)
{
	Keyport__License__CreateLicenseRequest *req = NULL;
	meta_kv kv[META_MAX_ENTRIES + 1];
	license_set s = {0};
	license_new n;
	char org_buf[64], *meta = NULL;
	int rv;

	if ((rv = license_unpack_admin(
	         ctx, &keyport__license__create_license_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		goto out;
	if ((rv = license_check_new(ctx, req)) != KP_OK)
		goto out;
	META_KV(kv, req->n_metadata, req->metadata);
	if ((rv = metadata_json(ctx, req->n_metadata, kv, &meta)) != KP_OK)
		goto out;
	n = (license_new){req->product_id,
	                  req->type,
	                  req->expiration_strategy,
	                  req->user_id,
	                  req->organization_id,
	                  meta,
	                  req->allowed_activations,
	                  req->allowed_deactivations,
	                  req->validity,
	                  req->lease_seconds,
	                  kp_now()};
	if ((rv = license_owner_check(ctx, req->user_id, &n.organization_id,
	                              org_buf, sizeof(org_buf))) != KP_OK)
		goto out;
	rv = license_store_create(kp_service_db(ctx), &n, &s);
	if (rv == KP_EINVAL)
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "productId: no such product");
	else if (rv != KP_OK)
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "license.CreateLicense: insert");
	else
		rv = license_reply_one(ctx, &s, 0);
out:
	free(meta);
	return license_end(rv, &s, (ProtobufCMessage *)req);
}

/* license_check_change answers 400 naming the field of an update request
 * that is out of range, and builds the metadata's JSON (*meta, the
 * caller frees it) when the request sets it. */
static int
license_check_change(kp_rpc_ctx *ctx,
                     const Keyport__License__UpdateLicenseRequest *req,
                     char **meta)
{
	meta_kv kv[META_MAX_ENTRIES + 1];

	if ((req->has_allowed_activations && req->allowed_activations < -1) ||
	    (req->has_allowed_deactivations && req->allowed_deactivations < -1))
		return kp_rpc_fail(
		    ctx, KP_EINVAL, NULL,
		    "allowedActivations/allowedDeactivations: -1 "
		    "(unlimited) or more");
	if ((req->has_validity && req->validity < 0) ||
	    (req->has_lease_seconds && req->lease_seconds < 0))
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "validity/leaseSeconds: 0 or more seconds");
	META_KV(kv, req->n_metadata, req->metadata);
	if (req->has_metadata)
		return metadata_json(ctx, req->n_metadata, kv, meta);
	return KP_OK;
}

/* license_change_of is the store's change for req on license l (the owner
 * pair as it will be: the request's where it sets one, l's otherwise). */
static license_change
license_change_of(const Keyport__License__UpdateLicenseRequest *req,
                  const Keyport__License__License *l, const char *meta)
{
	license_change c = {0};

	c.id = req->id;
	c.has_allowed_activations = req->has_allowed_activations;
	c.allowed_activations = req->allowed_activations;
	c.has_allowed_deactivations = req->has_allowed_deactivations;
	c.allowed_deactivations = req->allowed_deactivations;
	c.has_validity = req->has_validity;
	c.validity = req->validity;
	c.has_user_id = req->has_user_id;
	c.user_id = req->has_user_id ? req->user_id : l->user_id;
	c.has_owner = req->has_user_id || req->has_organization_id;
	c.organization_id = req->has_organization_id ? req->organization_id
	                                             : l->organization_id;
	c.has_metadata = req->has_metadata;
	c.metadata_json = meta;
	c.has_lease_seconds = req->has_lease_seconds;
	c.lease_seconds = req->lease_seconds;
	c.now = kp_now();
	return c;
}

int
license_update(kp_rpc_ctx *ctx)
{
	Keyport__License__UpdateLicenseRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char org_buf[64], *meta = NULL;
	license_set s = {0};
	license_change c;
	int rv;

	if ((rv = license_unpack_admin(
	         ctx, &keyport__license__update_license_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		goto out;
	if ((rv = license_store_get(db, req->id, &s)) != KP_OK) {
		rv = license_db_fail(ctx, rv, "license.UpdateLicense: read");
		goto out;
	}
	if ((rv = license_check_change(ctx, req, &meta)) != KP_OK)
		goto out;
	c = license_change_of(req, s.ptrs[0], meta);
	if (c.has_owner &&
	    (rv = license_owner_check(ctx, c.user_id, &c.organization_id,
	                              org_buf, sizeof(org_buf))) != KP_OK)
		goto out;
	/* c's owner may point into s: clear it only after */
	rv = license_store_update(db, &c);
	license_set_clear(&s);
	if (rv != KP_OK) {
		rv = license_db_fail(ctx, rv, "license.UpdateLicense: update");
		goto out;
	}
	license_changed_one(ctx, req->id);
	if ((rv = license_store_get(db, req->id, &s)) != KP_OK)
		rv = license_db_fail(ctx, rv, "license.UpdateLicense: read");
	else
		rv = license_reply_one(ctx, &s, 0);
out:
	free(meta);
	return license_end(rv, &s, (ProtobufCMessage *)req);
}

int
license_delete(kp_rpc_ctx *ctx)
{
	Keyport__License__LicenseIdRequest *req = NULL;
	Keyport__Org__LicenseRemovedRequest removed =
	    KEYPORT__ORG__LICENSE_REMOVED_REQUEST__INIT;
	Keyport__License__Empty reply = KEYPORT__LICENSE__EMPTY__INIT;
	const char *id;
	int rv, deleted = 0;

	if ((rv = license_unpack_admin(
	         ctx, &keyport__license__license_id_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		goto out;
	id = req->id;
	if ((rv = license_store_delete(kp_service_db(ctx), id, &deleted)) !=
	    KP_OK) {
		rv = license_db_fail(ctx, rv, "license.DeleteLicense: delete");
		goto out;
	}
	if (!deleted) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
		goto out;
	}
	license_changed_one(ctx, id);
	/* best effort: org drops the id from its groups (idempotent there) */
	removed.license_id = (char *)id;
	if (kp_service_invoke(ctx, KP_RPC_ORG_LICENSE_REMOVED, &removed.base,
	                      NULL) != KP_OK) {
		kp_log_warn("org.LicenseRemoved %s failed: %s", id,
		            ctx->message);
		ctx->status = KP_OK;
		ctx->code[0] = '\0';
		ctx->message[0] = '\0';
	}
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	return license_end(rv, NULL, (ProtobufCMessage *)req);
}
