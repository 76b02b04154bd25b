/* activation_offline: the offline file exchange of the activation service,
 * activation.OfflineActivate (a request file in, a signed response file out)
 * and activation.OfflineDeactivate (a deactivation proof signed by the
 * client's key frees the seat once). Seats are taken and released with the
 * same code as online activations (activation_internal.h), under the same
 * per-license lock; file formats are common/kp_offline.h's.
 */
#include "activation_internal.h"
#include "activation_rpc.h"

#include "kp_pgarr.h"
#include "kp_clock.h"
#include "kp_db.h"
#include "kp_err.h"
#include "kp_offline.h"
#include "kp_service.h"
#include "proto/activation.pb-c.h"
#include "proto/license.pb-c.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* act_key_equal compares license keys as license.ResolveKey does: case
 * does not matter and dashes are ignored. */
static int
act_key_equal(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-')
			a++;
		while (*b == '-')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (toupper((unsigned char)*a) != toupper((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
}

static int
act_offline_fail(kp_rpc_ctx *ctx, int st)
{
	if (st == KP_OFFLINE_NOMEM)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
	return kp_rpc_fail(ctx, KP_EINVAL, kp_offline_code(st), "%s",
	                   kp_offline_strerror(st));
}

typedef struct act_sign_arg {
	kp_rpc_ctx *ctx;
	const char *product_id;
} act_sign_arg;

/* act_offline_sign is kp_offline's signing callback: the product's key
 * through the service's signer; a failure is already ctx's answer. */
static int
act_offline_sign(void *arg, const unsigned char *msg, size_t len,
                 unsigned char sig[KP_TOKEN_SIG_BYTES])
{
	act_sign_arg *a = arg;
	act_app *app = kp_service_app(kp_service_of(a->ctx));
	int rv =
	    act_signer_sign(app->signer, a->ctx, a->product_id, msg, len, sig);

	return rv == KP_OK ? 0 : 1000 + rv;
}

/* act_copy copies src into a claims field, refusing what does not fit. */
static int
act_copy(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int
act_offline_activate(kp_rpc_ctx *ctx)
{
	Keyport__Activation__OfflineActivateRequest *req = NULL;
	Keyport__Activation__OfflineActivateReply rep =
	    KEYPORT__ACTIVATION__OFFLINE_ACTIVATE_REPLY__INIT;
	Keyport__Activation__ActivateRequest areq =
	    KEYPORT__ACTIVATION__ACTIVATE_REQUEST__INIT;
	Keyport__License__LicenseReply *lic = NULL, *started = NULL;
	const Keyport__License__License *l;
	kp_offline_request oreq;
	kp_token_claims claims;
	act_sign_arg sarg;
	PGresult *row = NULL;
	json_t *meta = NULL;
	char *file = NULL;
	int64_t now = kp_now(), validity;
	int rv, st, created = 0;
	act_row ar;

	memset(&claims, 0, sizeof(claims));
	rv = kp_rpc_unpack(
	    ctx, &keyport__activation__offline_activate_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	validity = req->response_validity > 0 ? req->response_validity
	                                      : KP_OFFLINE_RESPONSE_VALIDITY;
	if (!kp_uuid_valid(req->license_id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
		goto out;
	}
	/* the caller must see the license before the file is looked at */
	if ((rv = act_get_license(ctx, req->license_id, &lic)) != KP_OK)
		goto out;
	l = lic->license;
	st = kp_offline_request_parse((const char *)req->file.data,
	                              req->file.len, now, &oreq);
	if (st != KP_OFFLINE_OK) {
		rv = act_offline_fail(ctx, st);
		goto out;
	}
	if (!act_key_equal(oreq.key, l->key) ||
	    strcmp(oreq.product_id, l->product_id) != 0) {
		rv = act_offline_fail(ctx, KP_OFFLINE_KEY_MISMATCH);
		goto out;
	}
	if ((rv = act_license_usable(ctx, l, now)) != KP_OK)
		goto out;
	areq.key = oreq.key;
	areq.product_id = oreq.product_id;
	areq.fingerprint = oreq.fingerprint;
	areq.hostname = oreq.hostname;
	areq.os = oreq.os;
	areq.os_version = oreq.os_version;
	areq.app_version = oreq.app_version;
	areq.vm_name = "";
	areq.nonce = oreq.nonce;
	areq.offline = 1;
	areq.client_public_key = oreq.client_public_key;
	if ((rv = act_check_input(ctx, &areq)) != KP_OK)
		goto out;
	if ((rv = act_take_slot(ctx, l, &areq, now, &row, &created,
	                        &started)) != KP_OK)
		goto out;
	if (started != NULL)
		l = started->license;
	act_row_read(&ar, row, 0, 0);

	meta = act_metadata(l);
	claims.metadata_json = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	claims.expires_at = act_parse_time(l->expires_at);
	claims.issued_at = now;
	if (claims.metadata_json == NULL ||
	    act_copy(claims.activation_id, sizeof(claims.activation_id),
	             ar.msg.id) ||
	    act_copy(claims.license_id, sizeof(claims.license_id), l->id) ||
	    act_copy(claims.product_id, sizeof(claims.product_id),
	             l->product_id) ||
	    act_copy(claims.fingerprint, sizeof(claims.fingerprint),
	             oreq.fingerprint) ||
	    act_copy(claims.status, sizeof(claims.status),
	             act_license_status(l, now)) ||
	    act_copy(claims.nonce, sizeof(claims.nonce), oreq.nonce) ||
	    act_copy(claims.client_public_key, sizeof(claims.client_public_key),
	             oreq.client_public_key)) {
		rv = act_offline_fail(ctx, KP_OFFLINE_MALFORMED);
		goto out;
	}
	sarg.ctx = ctx;
	sarg.product_id = l->product_id;
	st = kp_offline_response_create(&claims, now + validity,
	                                act_offline_sign, &sarg, &file);
	if (st >= 1000) {
		rv = ctx->status != KP_OK ? ctx->status : KP_EINTERNAL;
		goto out;
	}
	if (st != KP_OFFLINE_OK) {
		rv = act_offline_fail(ctx, st);
		goto out;
	}
	rep.file.data = (uint8_t *)file;
	rep.file.len = strlen(file);
	rep.activation_id = ar.msg.id;
	rep.created = created != 0;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
out:
	free(file);
	free(claims.metadata_json);
	json_decref(meta);
	PQclear(row);
	if (started)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)started,
		                                 NULL);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

static const char *const act_sql_offline_find =
    "SELECT client_public_key, fingerprint, deactivated_at IS NOT NULL, "
    "EXISTS (SELECT 1 FROM deactivation_proofs WHERE proof_id = "
    "decode($3, 'hex')) FROM activations WHERE id = $1::uuid AND "
    "license_id = $2::uuid";

int
act_offline_deactivate(kp_rpc_ctx *ctx)
{
	Keyport__Activation__OfflineDeactivateRequest *req = NULL;
	Keyport__Activation__DeactivateReply rep =
	    KEYPORT__ACTIVATION__DEACTIVATE_REPLY__INIT;
	Keyport__License__LicenseReply *lic = NULL;
	kp_offline_deactivation d;
	kp_db *db = kp_service_db(ctx);
	PGresult *res = NULL, *row = NULL;
	int64_t now = kp_now();
	int rv, st, parsed = 0;
	act_row ar;

	memset(&d, 0, sizeof(d));
	rv = kp_rpc_unpack(
	    ctx, &keyport__activation__offline_deactivate_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->license_id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
		goto out;
	}
	if ((rv = act_get_license(ctx, req->license_id, &lic)) != KP_OK)
		goto out;
	st = kp_offline_deactivation_parse((const char *)req->file.data,
	                                   req->file.len, &d);
	if (st != KP_OFFLINE_OK) {
		rv = act_offline_fail(ctx, st);
		goto out;
	}
	parsed = 1;
	if (strcmp(d.license_id, lic->license->id) != 0 ||
	    strcmp(d.product_id, lic->license->product_id) != 0) {
		rv = act_offline_fail(ctx, KP_OFFLINE_KEY_MISMATCH);
		goto out;
	}
	if (!kp_uuid_valid(d.activation_id)) {
		rv = act_offline_fail(ctx, KP_OFFLINE_MALFORMED);
		goto out;
	}
	{
		const char *p[3] = {d.activation_id, lic->license->id,
		                    d.proof_id};

		if ((rv = kp_db_query(db, act_sql_offline_find, 3, p, &res)) !=
		    KP_OK) {
			rv = act_db_fail(ctx, db, rv);
			goto out;
		}
	}
	if (PQntuples(res) != 1) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
		goto out;
	}
	if (PQgetvalue(res, 0, 0)[0] == '\0') {
		/* activated online: no client key to check a proof with */
		rv = act_offline_fail(ctx, KP_OFFLINE_FORGED);
		goto out;
	}
	st = kp_offline_deactivation_verify(&d, PQgetvalue(res, 0, 0),
	                                    PQgetvalue(res, 0, 1));
	if (st != KP_OFFLINE_OK) {
		rv = act_offline_fail(ctx, st);
		goto out;
	}
	if (PQgetvalue(res, 0, 3)[0] == 't') {
		rv = act_offline_fail(ctx, KP_OFFLINE_REPLAYED);
		goto out;
	}
	if (PQgetvalue(res, 0, 2)[0] == 't') {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "the activation was already deactivated");
		goto out;
	}
	if ((rv = act_release(ctx, lic->license, d.activation_id, d.proof_id,
	                      now, &row)) != KP_OK)
		goto out;
	act_row_read(&ar, row, 0, 0);
	rep.activation = &ar.msg;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
out:
	if (parsed)
		kp_offline_deactivation_cleanup(&d);
	PQclear(res);
	PQclear(row);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}
