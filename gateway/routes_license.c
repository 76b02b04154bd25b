/* routes_license: products and licenses (vendor admin) and the portal's
 * license views (GET /v1/me/licenses, GET /v1/licenses/{id}). Every handler
 * is JSON in, one call to the license service, JSON out. */
#include "routes_license.h"

#include "gw.h"
#include "gw_call.h"
#include "gw_input.h"
#include "gw_jw.h"
#include "gw_list.h"
#include "gw_response.h"
#include "kp_err.h"
#include "proto/license.pb-c.h"

#include <stdlib.h>
#include <string.h>

/* ---- messages -> JSON ---------------------------------------------------- */

static json_t *
str_or_null(const char *s)
{
	return s == NULL || s[0] == '\0' ? json_null() : json_string(s);
}

static json_t *
product_json(const Keyport__License__Product *p)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "id", p->id, "name", p->name,
	                 "publicKey", p->public_key, "createdAt",
	                 p->created_at);
}

static json_t *
license_json(const Keyport__License__License *l)
{
	json_t *meta = json_object();
	json_t *o;

	for (size_t i = 0; i < l->n_metadata; i++)
		json_object_set_new(meta, l->metadata[i]->key,
		                    json_string(l->metadata[i]->value));
	o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:s, s:o, s:b, s:b, s:o, s:o, s:o, s:s, s:s, s:I}",
	    "id", l->id, "key", l->key, "productId", l->product_id,
	    "productName", l->product_name, "productPublicKey",
	    l->product_public_key, "type", l->type, "status", l->status,
	    "allowedActivations", (json_int_t)l->allowed_activations,
	    "allowedDeactivations", (json_int_t)l->allowed_deactivations,
	    "totalActivations", (json_int_t)l->total_activations,
	    "totalDeactivations", (json_int_t)l->total_deactivations,
	    "activeActivations", (json_int_t)l->active_activations, "validity",
	    (json_int_t)l->validity, "expirationStrategy",
	    l->expiration_strategy, "expiresAt", str_or_null(l->expires_at),
	    "suspended", l->suspended, "revoked", l->revoked, "userId",
	    str_or_null(l->user_id), "organizationId",
	    str_or_null(l->organization_id), "metadata", meta, "createdAt",
	    l->created_at, "updatedAt", l->updated_at, "leaseSeconds",
	    (json_int_t)l->lease_seconds);
	return o;
}

/* Answers a LicenseReply with status. */
static void
answer_license(gw_response *w, int status, Keyport__License__LicenseReply *rep)
{
	if (rep->license == NULL)
		gw_error(w, 500, "INTERNAL", "empty answer");
	else
		gw_json(w, status, license_json(rep->license));
}

json_t *
routes_license_json(const Keyport__License__License *l)
{
	return license_json(l);
}

/* license_json as JSON text (the portal and admin lists): the same keys in
 * the same order, written straight into the response. */
void
routes_license_text(gw_jw *w, const Keyport__License__License *l)
{
	gw_jw_lit(w, "{\"id\":");
	gw_jw_str(w, l->id);
	gw_jw_lit(w, ",\"key\":");
	gw_jw_str(w, l->key);
	gw_jw_lit(w, ",\"productId\":");
	gw_jw_str(w, l->product_id);
	gw_jw_lit(w, ",\"productName\":");
	gw_jw_str(w, l->product_name);
	gw_jw_lit(w, ",\"productPublicKey\":");
	gw_jw_str(w, l->product_public_key);
	gw_jw_lit(w, ",\"type\":");
	gw_jw_str(w, l->type);
	gw_jw_lit(w, ",\"status\":");
	gw_jw_str(w, l->status);
	gw_jw_lit(w, ",\"allowedActivations\":");
	gw_jw_int(w, l->allowed_activations);
	gw_jw_lit(w, ",\"allowedDeactivations\":");
	gw_jw_int(w, l->allowed_deactivations);
	gw_jw_lit(w, ",\"totalActivations\":");
	gw_jw_int(w, l->total_activations);
	gw_jw_lit(w, ",\"totalDeactivations\":");
	gw_jw_int(w, l->total_deactivations);
	gw_jw_lit(w, ",\"activeActivations\":");
	gw_jw_int(w, l->active_activations);
	gw_jw_lit(w, ",\"validity\":");
	gw_jw_int(w, l->validity);
	gw_jw_lit(w, ",\"expirationStrategy\":");
	gw_jw_str(w, l->expiration_strategy);
	gw_jw_lit(w, ",\"expiresAt\":");
	gw_jw_str_or_null(w, l->expires_at);
	gw_jw_lit(w, ",\"suspended\":");
	gw_jw_bool(w, l->suspended);
	gw_jw_lit(w, ",\"revoked\":");
	gw_jw_bool(w, l->revoked);
	gw_jw_lit(w, ",\"userId\":");
	gw_jw_str_or_null(w, l->user_id);
	gw_jw_lit(w, ",\"organizationId\":");
	gw_jw_str_or_null(w, l->organization_id);
	gw_jw_lit(w, ",\"metadata\":{");
	for (size_t i = 0; i < l->n_metadata; i++) {
		/* equal keys: one entry, at the first one's place, with the
		 * last one's value (json_object_set_new in license_json) */
		const char *key = l->metadata[i]->key;
		const char *value = l->metadata[i]->value;
		size_t j;

		for (j = 0; j < i && strcmp(l->metadata[j]->key, key) != 0; j++)
			;
		if (j < i)
			continue;
		for (j = i + 1; j < l->n_metadata; j++)
			if (strcmp(l->metadata[j]->key, key) == 0)
				value = l->metadata[j]->value;
		if (i > 0)
			gw_jw_lit(w, ",");
		gw_jw_str(w, key);
		gw_jw_lit(w, ":");
		gw_jw_str(w, value);
	}
	gw_jw_lit(w, "},\"createdAt\":");
	gw_jw_str(w, l->created_at);
	gw_jw_lit(w, ",\"updatedAt\":");
	gw_jw_str(w, l->updated_at);
	gw_jw_lit(w, ",\"leaseSeconds\":");
	gw_jw_int(w, l->lease_seconds);
	gw_jw_lit(w, "}");
}

/* routes_license_text as a gw_item_text (the list routes). */
static void
license_item_text(struct gw_jw *w, const ProtobufCMessage *m)
{
	routes_license_text(w, (const Keyport__License__License *)m);
}

/* ---- input ----------------------------------------------------------------
 */

/* Reads "metadata" (an object of strings) into a freshly allocated entry
 * array (*out, *out_storage; caller frees both). Returns 0 or -1 (400
 * written). */
static int
input_metadata(gw_response *w, json_t *obj, size_t *n,
               Keyport__License__CreateLicenseRequest__MetadataEntry **storage,
               Keyport__License__CreateLicenseRequest__MetadataEntry ***out)
{
	json_t *m = json_object_get(obj, "metadata"), *v;
	const char *k;
	size_t i = 0;

	*n = 0;
	*storage = NULL;
	*out = NULL;
	if (m == NULL || json_is_null(m))
		return 0;
	if (!json_is_object(m)) {
		gw_error(w, 400, "INVALID_INPUT",
		         "metadata: an object of strings");
		return -1;
	}
	if (json_object_size(m) > 50) {
		gw_error(w, 400, "INVALID_INPUT",
		         "metadata: at most 50 entries");
		return -1;
	}
	*storage = calloc(json_object_size(m) + 1, sizeof(**storage));
	*out = calloc(json_object_size(m) + 1, sizeof(**out));
	if (*storage == NULL || *out == NULL) {
		gw_error(w, 500, "INTERNAL", "out of memory");
		return -1;
	}
	json_object_foreach(m, k, v)
	{
		if (!json_is_string(v)) {
			gw_error(w, 400, "INVALID_INPUT",
			         "metadata.%.64s: values are strings", k);
			return -1;
		}
		keyport__license__create_license_request__metadata_entry__init(
		    &(*storage)[i]);
		(*storage)[i].key = (char *)k;
		(*storage)[i].value = (char *)json_string_value(v);
		(*out)[i] = &(*storage)[i];
		i++;
	}
	*n = i;
	return 0;
}

/* Reads an optional UUID-or-null field; *present set; "" for null. */
static int
input_owner(gw_response *w, json_t *obj, const char *name, const char **out,
            int *present)
{
	json_t *v = json_object_get(obj, name);

	*present = v != NULL;
	*out = "";
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !kp_uuid_valid(json_string_value(v))) {
		gw_error(w, 400, "INVALID_INPUT", "%s: a UUID or null", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* ---- products -------------------------------------------------------------
 */

static void
products_create(gw_request *r, gw_response *w)
{
	Keyport__License__CreateProductRequest req =
	    KEYPORT__LICENSE__CREATE_PRODUCT_REQUEST__INIT;
	Keyport__License__ProductReply *rep = NULL;
	json_t *in = gw_input_object(r, w);
	const char *name = NULL;

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "name", 1, 200, &name) != 0)
		goto out;
	if (name[0] == '\0') {
		gw_error(w, 400, "INVALID_INPUT", "name: required");
		goto out;
	}
	req.name = (char *)name;
	if (gw_call(r, w, KP_RPC_LICENSE_CREATE_PRODUCT, &req.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		goto out;
	gw_json(w, 201, product_json(rep->product));
out:
	if (rep != NULL)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	json_decref(in);
}

static json_t *
product_item_json(const ProtobufCMessage *m)
{
	return product_json((const Keyport__License__Product *)m);
}

static void
products_list(gw_request *r, gw_response *w)
{
	Keyport__License__ListProductsRequest req =
	    KEYPORT__LICENSE__LIST_PRODUCTS_REQUEST__INIT;

	gw_list_rpc(r, w, KP_RPC_LICENSE_LIST_PRODUCTS, &req.base, "products",
	            product_item_json, NULL);
}

/* ---- licenses -------------------------------------------------------------
 */

static void
licenses_create(gw_request *r, gw_response *w)
{
	Keyport__License__CreateLicenseRequest req =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__INIT;
	Keyport__License__CreateLicenseRequest__MetadataEntry *meta = NULL;
	Keyport__License__LicenseReply *rep = NULL;
	json_t *in = gw_input_object(r, w);
	const char *s = NULL;
	int64_t v;
	int present;

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "productId", 1, 64, &s) != 0)
		goto out;
	if (!kp_uuid_valid(s)) {
		gw_error(w, 400, "INVALID_INPUT", "productId: a UUID");
		goto out;
	}
	req.product_id = (char *)s;
	if (gw_input_string(w, in, "type", 0, 32, &s) != 0)
		goto out;
	req.type = (char *)(s ? s : "node-locked");
	if (gw_input_string(w, in, "expirationStrategy", 0, 32, &s) != 0)
		goto out;
	req.expiration_strategy = (char *)(s ? s : "immediate");
	if (gw_input_int(w, in, "allowedActivations", 0, -1, INT32_MAX, &v,
	                 &present) != 0)
		goto out;
	req.allowed_activations = present ? v : 1;
	if (gw_input_int(w, in, "allowedDeactivations", 0, -1, INT32_MAX, &v,
	                 &present) != 0)
		goto out;
	req.allowed_deactivations = present ? v : -1;
	if (gw_input_int(w, in, "validity", 0, 0, INT64_C(1) << 40, &v,
	                 &present) != 0)
		goto out;
	req.validity = present ? v : 0;
	if (gw_input_int(w, in, "leaseSeconds", 0, 0, INT64_C(1) << 31, &v,
	                 &present) != 0)
		goto out;
	req.lease_seconds = present ? v : 0;
	if (input_owner(w, in, "userId", &s, &present) != 0)
		goto out;
	req.user_id = (char *)s;
	if (input_owner(w, in, "organizationId", &s, &present) != 0)
		goto out;
	req.organization_id = (char *)s;
	if (input_metadata(w, in, &req.n_metadata, &meta, &req.metadata) != 0)
		goto out;
	if (gw_call(r, w, KP_RPC_LICENSE_CREATE_LICENSE, &req.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		goto out;
	answer_license(w, 201, rep);
out:
	free(meta);
	free(req.metadata);
	if (rep != NULL)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	json_decref(in);
}

/* The filters of GET /v1/licenses: productId, userId, organizationId (UUIDs),
 * status, key (at most 64 bytes), sort; absent ones are "". */
static int
licenses_list_filter(gw_request *r, gw_response *w, ProtobufCMessage *m)
{
	static const char *const uuids[] = {"productId", "userId",
	                                    "organizationId"};
	Keyport__License__ListLicensesRequest *req =
	    (Keyport__License__ListLicensesRequest *)m;
	const char *vals[3];
	const char *s;

	for (int i = 0; i < 3; i++) {
		vals[i] = gw_query(r, uuids[i]);
		if (vals[i] == NULL)
			vals[i] = "";
		if (vals[i][0] != '\0' && !kp_uuid_valid(vals[i])) {
			gw_error(w, 400, "INVALID_INPUT", "%s: a UUID",
			         uuids[i]);
			return -1;
		}
	}
	req->product_id = (char *)vals[0];
	req->user_id = (char *)vals[1];
	req->organization_id = (char *)vals[2];
	s = gw_query(r, "status");
	req->status = (char *)(s ? s : "");
	s = gw_query(r, "key");
	if (s != NULL && strlen(s) > 64) {
		gw_error(w, 400, "INVALID_INPUT", "key: at most 64 characters");
		return -1;
	}
	req->key = (char *)(s ? s : "");
	s = gw_query(r, "sort");
	req->sort = (char *)(s ? s : "");
	return 0;
}

static void
licenses_list(gw_request *r, gw_response *w)
{
	Keyport__License__ListLicensesRequest req =
	    KEYPORT__LICENSE__LIST_LICENSES_REQUEST__INIT;

	gw_list_rpc_text(r, w, KP_RPC_LICENSE_LIST_LICENSES, &req.base,
	                 "licenses", license_item_text, licenses_list_filter);
}

static void
licenses_mine(gw_request *r, gw_response *w)
{
	Keyport__License__ListMyLicensesRequest req =
	    KEYPORT__LICENSE__LIST_MY_LICENSES_REQUEST__INIT;

	gw_list_rpc_text(r, w, KP_RPC_LICENSE_LIST_MY_LICENSES, &req.base,
	                 "licenses", license_item_text, NULL);
}

/* GET /v1/licenses/{id}: any signed-in user; the service applies the
 * visibility rule of the caller's role (404 when not visible). */
static void
licenses_get(gw_request *r, gw_response *w)
{
	Keyport__License__GetLicenseRequest req =
	    KEYPORT__LICENSE__GET_LICENSE_REQUEST__INIT;
	Keyport__License__LicenseReply *rep = NULL;
	const char *id = gw_param_uuid(r, w, 0);

	if (id == NULL)
		return;
	req.id = (char *)id;
	req.with_counters = 1;
	if (gw_call(r, w, KP_RPC_LICENSE_GET_LICENSE, &req.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	answer_license(w, 200, rep);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void
licenses_patch(gw_request *r, gw_response *w)
{
	Keyport__License__UpdateLicenseRequest req =
	    KEYPORT__LICENSE__UPDATE_LICENSE_REQUEST__INIT;
	Keyport__License__CreateLicenseRequest__MetadataEntry *meta = NULL,
	                                                      **metap = NULL;
	Keyport__License__UpdateLicenseRequest__MetadataEntry *umeta = NULL,
	                                                      **umetap = NULL;
	Keyport__License__LicenseReply *rep = NULL;
	const char *id = gw_param_uuid(r, w, 0), *s;
	json_t *in;
	int64_t v;
	int present;

	if (id == NULL || (in = gw_input_object(r, w)) == NULL)
		return;
	req.id = (char *)id;
	if (gw_input_int(w, in, "allowedActivations", 0, -1, INT32_MAX, &v,
	                 &present) != 0)
		goto out;
	req.has_allowed_activations = present;
	req.allowed_activations = present ? v : 0;
	if (gw_input_int(w, in, "allowedDeactivations", 0, -1, INT32_MAX, &v,
	                 &present) != 0)
		goto out;
	req.has_allowed_deactivations = present;
	req.allowed_deactivations = present ? v : 0;
	if (gw_input_int(w, in, "validity", 0, 0, INT64_C(1) << 40, &v,
	                 &present) != 0)
		goto out;
	req.has_validity = present;
	req.validity = present ? v : 0;
	if (gw_input_int(w, in, "leaseSeconds", 0, 0, INT64_C(1) << 31, &v,
	                 &present) != 0)
		goto out;
	req.has_lease_seconds = present;
	req.lease_seconds = present ? v : 0;
	if (input_owner(w, in, "userId", &s, &present) != 0)
		goto out;
	req.has_user_id = present;
	req.user_id = (char *)s;
	if (input_owner(w, in, "organizationId", &s, &present) != 0)
		goto out;
	req.has_organization_id = present;
	req.organization_id = (char *)s;
	if (input_metadata(w, in, &req.n_metadata, &meta, &metap) != 0)
		goto out;
	req.has_metadata = json_object_get(in, "metadata") != NULL;
	if (req.n_metadata > 0) {
		umeta = calloc(req.n_metadata, sizeof(*umeta));
		umetap = calloc(req.n_metadata, sizeof(*umetap));
		if (umeta == NULL || umetap == NULL) {
			gw_error(w, 500, "INTERNAL", "out of memory");
			goto out;
		}
		for (size_t i = 0; i < req.n_metadata; i++) {
			keyport__license__update_license_request__metadata_entry__init(
			    &umeta[i]);
			umeta[i].key = metap[i]->key;
			umeta[i].value = metap[i]->value;
			umetap[i] = &umeta[i];
		}
		req.metadata = umetap;
	}
	if (gw_call(r, w, KP_RPC_LICENSE_UPDATE_LICENSE, &req.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		goto out;
	answer_license(w, 200, rep);
out:
	free(meta);
	free(metap);
	free(umeta);
	free(umetap);
	if (rep != NULL)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	json_decref(in);
}

static void
licenses_delete(gw_request *r, gw_response *w)
{
	Keyport__License__LicenseIdRequest req =
	    KEYPORT__LICENSE__LICENSE_ID_REQUEST__INIT;
	const char *id = gw_param_uuid(r, w, 0);

	if (id == NULL)
		return;
	req.id = (char *)id;
	if (gw_call(r, w, KP_RPC_LICENSE_DELETE_LICENSE, &req.base, NULL) !=
	    KP_OK)
		return;
	gw_empty(w, 204);
}

static void
licenses_op(gw_request *r, gw_response *w, const kp_rpc_desc *method)
{
	Keyport__License__LicenseIdRequest req =
	    KEYPORT__LICENSE__LICENSE_ID_REQUEST__INIT;
	Keyport__License__LicenseReply *rep = NULL;
	const char *id = gw_param_uuid(r, w, 0);

	if (id == NULL)
		return;
	req.id = (char *)id;
	if (gw_call(r, w, method, &req.base, (ProtobufCMessage **)&rep) !=
	    KP_OK)
		return;
	answer_license(w, 200, rep);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void
licenses_suspend(gw_request *r, gw_response *w)
{
	licenses_op(r, w, KP_RPC_LICENSE_SUSPEND_LICENSE);
}

static void
licenses_unsuspend(gw_request *r, gw_response *w)
{
	licenses_op(r, w, KP_RPC_LICENSE_UNSUSPEND_LICENSE);
}

static void
licenses_revoke(gw_request *r, gw_response *w)
{
	licenses_op(r, w, KP_RPC_LICENSE_REVOKE_LICENSE);
}

static void
licenses_renew(gw_request *r, gw_response *w)
{
	licenses_op(r, w, KP_RPC_LICENSE_RENEW_LICENSE);
}

static const gw_route license_routes[] = {
    {"POST", "/v1/products", GW_ADMIN, 0, products_create},
    {"GET", "/v1/products", GW_ADMIN, 0, products_list},
    {"POST", "/v1/licenses", GW_ADMIN, 0, licenses_create},
    {"GET", "/v1/licenses", GW_ADMIN, 0, licenses_list},
    {"GET", "/v1/me/licenses", GW_USER, 0, licenses_mine},
    {"GET", "/v1/licenses/{id}", GW_USER, 0, licenses_get},
    {"PATCH", "/v1/licenses/{id}", GW_ADMIN, 0, licenses_patch},
    {"DELETE", "/v1/licenses/{id}", GW_ADMIN, 0, licenses_delete},
    {"POST", "/v1/licenses/{id}/suspend", GW_ADMIN, 0, licenses_suspend},
    {"POST", "/v1/licenses/{id}/unsuspend", GW_ADMIN, 0, licenses_unsuspend},
    {"POST", "/v1/licenses/{id}/revoke", GW_ADMIN, 0, licenses_revoke},
    {"POST", "/v1/licenses/{id}/renew", GW_ADMIN, 0, licenses_renew},
};

const gw_route_table gw_routes_license = {
    license_routes, sizeof(license_routes) / sizeof(license_routes[0])};
