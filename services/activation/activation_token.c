/* activation_token: signing activation tokens (cached key or license RPC),
 * and the answer of an activation or heartbeat that carries one. */
#include "activation_token.h"
#include "activation_app.h"

#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"
#include "proto/license.pb-c.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ACT_KEYS     64  /* products whose keys are cached at once */
#define ACT_KEY_TTL  300 /* seconds before a cached key is fetched again */
#define ACT_SK_BYTES crypto_sign_SECRETKEYBYTES

typedef struct act_key {
	char product_id[40];
	int64_t fetched; /* kp_now() of the fetch; 0 = empty */
} act_key;

struct act_signer {
	int use_cache;
	pthread_rwlock_t lock;
	act_key keys[ACT_KEYS];
	unsigned char *secrets; /* ACT_KEYS * ACT_SK_BYTES, mlock'd */
	unsigned next;          /* round-robin replacement */
};

int
act_signer_open(act_signer **out)
{
	const char *mode = kp_cfg_str(KP_CFG_ACTIVATION_SIGNING);
	act_signer *s;

	*out = NULL;
	if (sodium_init() < 0)
		return KP_EINTERNAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KP_EINTERNAL;
	s->use_cache = strcmp(mode, "rpc") != 0;
	pthread_rwlock_init(&s->lock, NULL);
	if (s->use_cache) {
		s->secrets = calloc(ACT_KEYS, ACT_SK_BYTES);
		if (s->secrets == NULL) {
			free(s);
			return KP_EINTERNAL;
		}
		if (sodium_mlock(s->secrets, ACT_KEYS * ACT_SK_BYTES) != 0)
			kp_log_warn("sodium_mlock failed: signing keys may be "
			            "swapped out");
	}
	kp_log_info("token signing: %s", s->use_cache ? "cache" : "rpc");
	*out = s;
	return KP_OK;
}

void
act_signer_close(act_signer *s)
{
	if (s == NULL)
		return;
	if (s->secrets != NULL) {
		/* zeroes the memory, then unlocks it */
		sodium_munlock(s->secrets, ACT_KEYS * ACT_SK_BYTES);
		free(s->secrets);
	}
	pthread_rwlock_destroy(&s->lock);
	free(s);
}

/* act_sign_cached signs with the cached key, fetching it when missing. */
static int
act_sign_cached(act_signer *s, kp_rpc_ctx *ctx, const char *product_id,
                const unsigned char *msg, size_t len, unsigned char *sig)
{
	Keyport__License__GetSigningKeyRequest req =
	    KEYPORT__LICENSE__GET_SIGNING_KEY_REQUEST__INIT;
	Keyport__License__GetSigningKeyReply *reply = NULL;
	int64_t now = kp_now();
	int rv, slot = -1;

	pthread_rwlock_rdlock(&s->lock);
	for (int i = 0; i < ACT_KEYS; i++)
		if (s->keys[i].fetched != 0 &&
		    now - s->keys[i].fetched < ACT_KEY_TTL &&
		    now >= s->keys[i].fetched &&
		    strcmp(s->keys[i].product_id, product_id) == 0) {
			crypto_sign_detached(sig, NULL, msg, len,
			                     s->secrets + i * ACT_SK_BYTES);
			slot = i;
			break;
		}
	pthread_rwlock_unlock(&s->lock);
	if (slot >= 0)
		return KP_OK;

	req.product_id = (char *)product_id;
	rv = act_license_call(ctx, KP_RPC_LICENSE_GET_SIGNING_KEY,
	                      (ProtobufCMessage *)&req,
	                      (ProtobufCMessage **)&reply);
	if (rv != KP_OK)
		return rv;
	if (reply->secret_key.len != ACT_SK_BYTES) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL,
		                 "signing key of unexpected size");
		goto out;
	}
	pthread_rwlock_wrlock(&s->lock);
	for (int i = 0; i < ACT_KEYS && slot < 0; i++)
		if (strcmp(s->keys[i].product_id, product_id) == 0)
			slot = i;
	if (slot < 0)
		slot = (int)(s->next++ % ACT_KEYS);
	memcpy(s->secrets + slot * ACT_SK_BYTES, reply->secret_key.data,
	       ACT_SK_BYTES);
	snprintf(s->keys[slot].product_id, sizeof(s->keys[slot].product_id),
	         "%s", product_id);
	s->keys[slot].fetched = now;
	crypto_sign_detached(sig, NULL, msg, len,
	                     s->secrets + slot * ACT_SK_BYTES);
	pthread_rwlock_unlock(&s->lock);
	rv = KP_OK;
out:
	sodium_memzero(reply->secret_key.data, reply->secret_key.len);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)reply, NULL);
	return rv;
}

/* act_sign_rpc asks license.SignToken for the signature. */
static int
act_sign_rpc(kp_rpc_ctx *ctx, const char *product_id, const unsigned char *msg,
             size_t len, unsigned char *sig)
{
	Keyport__License__SignTokenRequest req =
	    KEYPORT__LICENSE__SIGN_TOKEN_REQUEST__INIT;
	Keyport__License__SignTokenReply *reply = NULL;
	int rv;

	req.product_id = (char *)product_id;
	req.payload.data = (uint8_t *)msg;
	req.payload.len = len;
	rv = act_license_call(ctx, KP_RPC_LICENSE_SIGN_TOKEN,
	                      (ProtobufCMessage *)&req,
	                      (ProtobufCMessage **)&reply);
	if (rv != KP_OK)
		return rv;
	if (reply->signature.len != crypto_sign_BYTES)
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL,
		                 "signature of unexpected size");
	else
		memcpy(sig, reply->signature.data, crypto_sign_BYTES);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)reply, NULL);
	return rv;
}

int
act_signer_sign(act_signer *s, kp_rpc_ctx *ctx, const char *product_id,
                const unsigned char *msg, size_t len, unsigned char *sig)
{
	return s->use_cache ? act_sign_cached(s, ctx, product_id, msg, len, sig)
	                    : act_sign_rpc(ctx, product_id, msg, len, sig);
}

int
act_token_sign(act_signer *s, kp_rpc_ctx *ctx, const char *product_id,
               json_t *payload, char **token)
{
	unsigned char sig[crypto_sign_BYTES];
	char *text = NULL, *out = NULL;
	size_t len, plen, slen;
	int rv;

	*token = NULL;
	text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
	len = strlen(text);
	rv = s->use_cache ? act_sign_cached(s, ctx, product_id,
	                                    (unsigned char *)text, len, sig)
	                  : act_sign_rpc(ctx, product_id, (unsigned char *)text,
	                                 len, sig);
	if (rv != KP_OK)
		goto out;
	plen = sodium_base64_ENCODED_LEN(
	    len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	slen = sodium_base64_ENCODED_LEN(
	    sizeof(sig), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((out = malloc(plen + slen + 1)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	sodium_bin2base64(out, plen, (unsigned char *)text, len,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	len = strlen(out);
	out[len] = '.';
	sodium_bin2base64(out + len + 1, slen, sig, sizeof(sig),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*token = out;
	out = NULL;
out:
	free(text);
	free(out);
	return rv;
}

/* act_token builds and signs the token of an activation (payload format:
 * common/kp_token.h, version 1); *token malloc'd. */
static int
act_token(kp_rpc_ctx *ctx, const Keyport__License__License *l,
          const Keyport__Activation__Activation *a, const char *status,
          const char *nonce, int64_t now, char **token)
{
	act_app *app = act_app_of(ctx);
	int64_t exp = act_parse_time(l->expires_at);
	json_t *p;
	int rv;

	p = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:s, s:b, "
	    "s:s, s:I, s:I, s:I, s:s, s:s}",
	    "activationId", a->id, "licenseId", l->id, "productId",
	    l->product_id, "fingerprint", a->fingerprint, "status", status,
	    "expiresAt", exp != 0 ? json_integer(exp) : json_null(), "issuedAt",
	    (json_int_t)now, "metadata", act_metadata(l), "nonce",
	    nonce ? nonce : "", "offline", a->offline, "type",
	    l->type ? l->type : "", "leaseSeconds",
	    (json_int_t)l->lease_seconds, "allowedActivations",
	    (json_int_t)l->allowed_activations, "allowedDeactivations",
	    (json_int_t)l->allowed_deactivations, "userId",
	    l->user_id ? l->user_id : "", "organizationId",
	    l->organization_id ? l->organization_id : "");
	if (p == NULL)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "token payload");
	rv = act_token_sign(app->signer, ctx, l->product_id, p, token);
	json_decref(p);
	return rv;
}

/* act_answer: see activation_app.h. */
int
act_answer(kp_rpc_ctx *ctx, const Keyport__License__License *l,
           Keyport__Activation__Activation *a, int created, const char *nonce,
           int64_t now)
{
	Keyport__Activation__ActivationReply rep =
	    KEYPORT__ACTIVATION__ACTIVATION_REPLY__INIT;
	const char *status = act_license_status(l, now);
	char issued[32];
	char *token = NULL;
	int rv;

	if ((rv = act_token(ctx, l, a, status, nonce, now, &token)) != KP_OK)
		return rv;
	kp_time_format(now, issued, sizeof(issued));
	rep.activation = a;
	rep.created = created != 0;
	rep.token = token;
	rep.license_status = (char *)status;
	rep.expires_at = l->expires_at;
	rep.lease_seconds = l->lease_seconds;
	rep.issued_at = issued;
	rep.license_id = l->id;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
	free(token);
	return rv;
}
