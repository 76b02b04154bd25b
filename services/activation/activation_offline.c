/* activation_offline: the offline file exchange of the activation service,
 * activation.OfflineActivate (a request file in, a signed response file out)
 * and activation.OfflineDeactivate (a deactivation proof signed by the
 * client's key frees the seat once). Seats are taken and released with the
 * same code as online activations (activation_seat.c), under the same
 * per-license lock; file formats are common/kp_offline.h's.
 */
#include "activation_app.h"

#include "kp_pgarr.h"
#include "kp_clock.h"
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
	if (kp_offline_detail()[0] != '\0') /* the field, first */
		return kp_rpc_fail(ctx, KP_EINVAL, kp_offline_code(st),
		                   "%s (%s)", kp_offline_detail(),
		                   kp_offline_strerror(st));
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
	act_app *app = act_app_of(a->ctx);
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

/* act_offline_seat takes a seat of license l for the machine of an offline
 * request file (activation_seat.c). */
static int
act_offline_seat(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                 const kp_offline_request *oreq, int64_t now, act_row *row,
                 int *created, Keyport__License__LicenseReply **started)
{
	Keyport__Activation__ActivateRequest areq =
	    KEYPORT__ACTIVATION__ACTIVATE_REQUEST__INIT;
	int rv;

	areq.key = (char *)oreq->key;
	areq.product_id = (char *)oreq->product_id;
	areq.fingerprint = (char *)oreq->fingerprint;
	areq.hostname = (char *)oreq->hostname;
	areq.os = (char *)oreq->os;
	areq.os_version = (char *)oreq->os_version;
	areq.app_version = (char *)oreq->app_version;
	areq.vm_name = "";
	areq.nonce = (char *)oreq->nonce;
	areq.offline = 1;
	areq.client_public_key = (char *)oreq->client_public_key;
	if ((rv = act_check_input(ctx, &areq)) != KP_OK)
		return rv;
	return act_take_slot(ctx, l, &areq, now, row, created, started);
}

/* act_offline_claims fills the claims of the response file for activation
 * a of license l (claims->metadata_json malloc'd: the caller frees it). */
static int
act_offline_claims(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                   const kp_offline_request *oreq,
                   const Keyport__Activation__Activation *a, int64_t now,
                   kp_token_claims *claims)
{
	json_t *meta = act_metadata(l);

	claims->metadata_json = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(meta);
	claims->expires_at = act_parse_time(l->expires_at);
	claims->issued_at = now;
	if (claims->metadata_json == NULL ||
	    act_copy(claims->activation_id, sizeof(claims->activation_id),
	             a->id) ||
	    act_copy(claims->license_id, sizeof(claims->license_id), l->id) ||
	    act_copy(claims->product_id, sizeof(claims->product_id),
	             l->product_id) ||
	    act_copy(claims->fingerprint, sizeof(claims->fingerprint),
	             oreq->fingerprint) ||
	    act_copy(claims->status, sizeof(claims->status),
	             act_license_status(l, now)) ||
	    act_copy(claims->nonce, sizeof(claims->nonce), oreq->nonce) ||
	    act_copy(claims->client_public_key,
	             sizeof(claims->client_public_key),
	             oreq->client_public_key))
		return act_offline_fail(ctx, KP_OFFLINE_MALFORMED);
	return KP_OK;
}

/* act_offline_file signs the response file of claims (*file malloc'd). */
static int
act_offline_file(kp_rpc_ctx *ctx, const kp_token_claims *claims,
                 const char *product_id, int64_t until, char **file)
{
	act_sign_arg sarg = {ctx, product_id};
	int st = kp_offline_response_create(claims, until, act_offline_sign,
	                                    &sarg, file);

	if (st >= 1000)
		return ctx->status != KP_OK ? ctx->status : KP_EINTERNAL;
	if (st != KP_OFFLINE_OK)
		return act_offline_fail(ctx, st);
	return KP_OK;
}

int
act_offline_activate(kp_rpc_ctx *ctx)
{
	Keyport__Activation__OfflineActivateRequest *req = NULL;
	Keyport__Activation__OfflineActivateReply rep =
	    KEYPORT__ACTIVATION__OFFLINE_ACTIVATE_REPLY__INIT;
	Keyport__License__LicenseReply *lic = NULL, *started = NULL;
	const Keyport__License__License *l;
	kp_offline_request oreq;
	kp_token_claims claims;
	char *file = NULL;
	int64_t now = kp_now(), validity;
	int rv, st, created = 0;
	act_row row = {0};

	memset(&claims, 0, sizeof(claims));
	rv = kp_rpc_unpack(
	    ctx, &keyport__activation__offline_activate_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	validity = req->response_validity > 0 ? req->response_validity
	                                      : KP_OFFLINE_RESPONSE_VALIDITY;
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
	if ((rv = act_license_usable(ctx, l, now)) != KP_OK ||
	    (rv = act_offline_seat(ctx, l, &oreq, now, &row, &created,
	                           &started)) != KP_OK)
		goto out;
	if (started != NULL)
		l = started->license;
	if ((rv = act_offline_claims(ctx, l, &oreq, &row.msg, now, &claims)) !=
	        KP_OK ||
	    (rv = act_offline_file(ctx, &claims, l->product_id, now + validity,
	                           &file)) != KP_OK)
		goto out;
	rep.file.data = (uint8_t *)file;
	rep.file.len = strlen(file);
	rep.activation_id = row.msg.id;
	rep.created = created != 0;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
out:
	free(file);
	free(claims.metadata_json);
	act_row_clear(&row);
	act_license_free(started);
	act_license_free(lic);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

/* act_offline_check checks deactivation proof d of license l against the
 * activation it names: signed by the activation's client key, for its
 * machine, not used before, and the activation still live. */
static int
act_offline_check(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                  const kp_offline_deactivation *d)
{
	act_offline_row a;
	int rv, st;

	if (!kp_uuid_valid(d->activation_id))
		return act_offline_fail(ctx, KP_OFFLINE_MALFORMED);
	if ((rv = act_store_offline_find(kp_service_db(ctx), d->activation_id,
	                                 l->id, d->proof_id, &a)) != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "activation.OfflineDeactivate: read");
	if (!a.found)
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
	else if (a.client_public_key[0] == '\0')
		/* activated online: no client key to check a proof with */
		rv = act_offline_fail(ctx, KP_OFFLINE_FORGED);
	else if ((st = kp_offline_deactivation_verify(
	              d, a.client_public_key, a.fingerprint)) != KP_OFFLINE_OK)
		rv = act_offline_fail(ctx, st);
	else if (a.proof_used)
		rv = act_offline_fail(ctx, KP_OFFLINE_REPLAYED);
	else if (a.deactivated)
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "the activation was already deactivated");
	act_offline_row_clear(&a);
	return rv;
}

int
act_offline_deactivate(kp_rpc_ctx *ctx)
{
	Keyport__Activation__OfflineDeactivateRequest *req = NULL;
	Keyport__License__LicenseReply *lic = NULL;
	kp_offline_deactivation d;
	int64_t now = kp_now();
	int rv, st, parsed = 0;
	act_row row = {0};

	memset(&d, 0, sizeof(d));
	rv = kp_rpc_unpack(
	    ctx, &keyport__activation__offline_deactivate_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
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
	if ((rv = act_offline_check(ctx, lic->license, &d)) != KP_OK ||
	    (rv = act_release(ctx, lic->license, d.activation_id, d.proof_id,
	                      now, &row)) != KP_OK)
		goto out;
	rv = act_answer_released(ctx, &row);
out:
	if (parsed)
		kp_offline_deactivation_cleanup(&d);
	act_row_clear(&row);
	act_license_free(lic);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}
