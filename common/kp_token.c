/* kp_token: activation tokens (base64url(payload).base64url(Ed25519 sig)). */
#include "kp_token.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

void
kp_token_claims_cleanup(kp_token_claims *c)
{
	if (c == NULL)
		return;
	free(c->metadata_json);
	memset(c, 0, sizeof(*c));
}

static char *
b64url(const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, B64URL);
	char *s = malloc(n);

	if (s != NULL)
		sodium_bin2base64(s, n, bin, len, B64URL);
	return s;
}

int
kp_token_payload_build(const kp_token_claims *c, char **out)
{
	int rc = KP_TOKEN_MALFORMED;
	json_t *o = NULL, *meta = NULL;
	char *s;

	if (c->metadata_json != NULL && c->metadata_json[0] != '\0') {
		meta = json_loads(c->metadata_json, 0, NULL);
		if (!json_is_object(meta))
			goto out;
	} else {
		meta = json_object();
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:O, s:s, s:b}",
	              "activationId", c->activation_id, "licenseId",
	              c->license_id, "productId", c->product_id, "fingerprint",
	              c->fingerprint, "status", c->status, "issuedAt",
	              (json_int_t)c->issued_at, "metadata", meta, "nonce",
	              c->nonce, "offline", c->offline ? 1 : 0);
	rc = KP_TOKEN_NOMEM;
	if (o == NULL)
		goto out;
	json_object_set_new(o, "expiresAt",
	                    c->expires_at ? json_integer(c->expires_at)
	                                  : json_null());
	if (c->client_public_key[0] != '\0')
		json_object_set_new(o, "clientPublicKey",
		                    json_string(c->client_public_key));
	if (c->response_expires_at != 0)
		json_object_set_new(o, "responseExpiresAt",
		                    json_integer(c->response_expires_at));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	if (s == NULL)
		goto out;
	*out = s;
	rc = KP_TOKEN_OK;
out:
	json_decref(o);
	json_decref(meta);
	return rc;
}

static int
copy_str(json_t *o, const char *name, char *dst, size_t n, int required)
{
	json_t *v = json_object_get(o, name);
	const char *s;

	if (v == NULL || json_is_null(v))
		return required ? -1 : 0;
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (strlen(s) >= n)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int
get_time(json_t *o, const char *name, int64_t *dst, int required)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL || json_is_null(v))
		return required ? -1 : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*dst = (int64_t)json_integer_value(v);
	return 0;
}

int
kp_token_payload_parse(const char *payload_json, kp_token_claims *out)
{
	int rc = KP_TOKEN_MALFORMED;
	json_t *o, *meta, *off;

	memset(out, 0, sizeof(*out));
	o = json_loads(payload_json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o))
		goto out;
	if (copy_str(o, "activationId", out->activation_id,
	             sizeof(out->activation_id), 1) ||
	    copy_str(o, "licenseId", out->license_id, sizeof(out->license_id),
	             1) ||
	    copy_str(o, "productId", out->product_id, sizeof(out->product_id),
	             1) ||
	    copy_str(o, "fingerprint", out->fingerprint,
	             sizeof(out->fingerprint), 1) ||
	    copy_str(o, "status", out->status, sizeof(out->status), 1) ||
	    copy_str(o, "nonce", out->nonce, sizeof(out->nonce), 0) ||
	    copy_str(o, "clientPublicKey", out->client_public_key,
	             sizeof(out->client_public_key), 0) ||
	    get_time(o, "issuedAt", &out->issued_at, 1) ||
	    get_time(o, "expiresAt", &out->expires_at, 0) ||
	    get_time(o, "responseExpiresAt", &out->response_expires_at, 0))
		goto out;
	off = json_object_get(o, "offline");
	if (off != NULL && !json_is_boolean(off))
		goto out;
	out->offline = json_is_true(off);
	meta = json_object_get(o, "metadata");
	if (meta != NULL && !json_is_null(meta) && !json_is_object(meta))
		goto out;
	rc = KP_TOKEN_NOMEM;
	out->metadata_json =
	    meta != NULL && !json_is_null(meta)
	        ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS)
	        : strdup("{}");
	if (out->metadata_json == NULL)
		goto out;
	rc = KP_TOKEN_OK;
out:
	json_decref(o);
	if (rc != KP_TOKEN_OK)
		kp_token_claims_cleanup(out);
	return rc;
}

int
kp_token_assemble(const char *payload, size_t len,
                  const unsigned char sig[KP_TOKEN_SIG_BYTES], char **out)
{
	char *p = b64url((const unsigned char *)payload, len);
	char *s = b64url(sig, KP_TOKEN_SIG_BYTES);
	char *t = NULL;
	int rc = KP_TOKEN_NOMEM;

	if (p == NULL || s == NULL)
		goto out;
	t = malloc(strlen(p) + strlen(s) + 2);
	if (t == NULL)
		goto out;
	strcpy(t, p);
	strcat(t, ".");
	strcat(t, s);
	*out = t;
	rc = KP_TOKEN_OK;
out:
	free(p);
	free(s);
	return rc;
}

int
kp_token_sign(const char *payload_json,
              const unsigned char sk[KP_TOKEN_SK_BYTES], char **out)
{
	unsigned char sig[KP_TOKEN_SIG_BYTES];
	size_t len = strlen(payload_json);

	if (sodium_init() < 0)
		return KP_TOKEN_NOMEM;
	crypto_sign_detached(sig, NULL, (const unsigned char *)payload_json,
	                     len, sk);
	return kp_token_assemble(payload_json, len, sig, out);
}

int
kp_token_verify(const char *token, const unsigned char pk[KP_TOKEN_PK_BYTES],
                char **payload_json)
{
	int rc = KP_TOKEN_MALFORMED;
	const char *dot, *end;
	unsigned char sig[KP_TOKEN_SIG_BYTES];
	unsigned char *payload = NULL;
	size_t plen = 0, slen = 0, cap;

	if (token == NULL || sodium_init() < 0)
		goto out;
	dot = strchr(token, '.');
	if (dot == NULL || dot == token || strchr(dot + 1, '.') != NULL)
		goto out;
	cap = (size_t)(dot - token);
	if (cap > 1u << 20)
		goto out;
	payload = malloc(cap + 1);
	if (payload == NULL) {
		rc = KP_TOKEN_NOMEM;
		goto out;
	}
	if (sodium_base642bin(payload, cap, token, (size_t)(dot - token), NULL,
	                      &plen, &end, B64URL) != 0 ||
	    end != dot)
		goto out;
	if (sodium_base642bin(sig, sizeof(sig), dot + 1, strlen(dot + 1), NULL,
	                      &slen, &end, B64URL) != 0 ||
	    *end != '\0' || slen != sizeof(sig))
		goto out;
	if (memchr(payload, '\0', plen) != NULL)
		goto out;
	payload[plen] = '\0';
	if (crypto_sign_verify_detached(sig, payload, plen, pk) != 0) {
		rc = KP_TOKEN_FORGED;
		goto out;
	}
	if (payload_json != NULL) {
		*payload_json = (char *)payload;
		payload = NULL;
	}
	rc = KP_TOKEN_OK;
out:
	free(payload);
	return rc;
}

int
kp_token_verify_claims(const char *token,
                       const unsigned char pk[KP_TOKEN_PK_BYTES],
                       kp_token_claims *out)
{
	char *payload = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = kp_token_verify(token, pk, &payload);
	if (rc == KP_TOKEN_OK)
		rc = kp_token_payload_parse(payload, out);
	free(payload);
	return rc;
}

int
kp_token_key_decode(const char *text, unsigned char *key, size_t n)
{
	static const int variants[] = {
	    sodium_base64_VARIANT_ORIGINAL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	    sodium_base64_VARIANT_URLSAFE,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING,
	};
	size_t len, i;
	const char *end;

	if (text == NULL || (n != KP_TOKEN_PK_BYTES && n != KP_TOKEN_SK_BYTES))
		return KP_TOKEN_MALFORMED;
	if (sodium_init() < 0)
		return KP_TOKEN_NOMEM;
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		if (sodium_base642bin(key, n, text, strlen(text), NULL, &len,
		                      &end, variants[i]) == 0 &&
		    *end == '\0' && len == n)
			return KP_TOKEN_OK;
	}
	return KP_TOKEN_MALFORMED;
}

const char *
kp_token_strerror(int status)
{
	switch (status) {
	case KP_TOKEN_OK:
		return "ok";
	case KP_TOKEN_MALFORMED:
		return "malformed token";
	case KP_TOKEN_FORGED:
		return "token signature does not verify with the product key";
	case KP_TOKEN_NOMEM:
		return "out of memory";
	}
	return "unknown token error";
}
