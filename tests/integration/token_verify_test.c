/* An application's view of an activation token: it verifies with the
 * product's public key using libsodium alone (no Keyport code is involved
 * in the check), its payload carries what the contract says, and a
 * changed byte or another product's key fails the check. */
#include "kpt.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

KPT_SUITE(0)

static const char *
field(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	cr_assert_not_null(v, "%s missing", k);
	return v;
}

static void
post(const char *path, const char *token, const char *body, kpt_resp *r)
{
	cr_assert_eq(kpt_http("POST", path, token, body, NULL, r), 0);
}

/* decode_key reads the product's publicKey (standard base64, padded). */
static void
decode_key(const char *b64, unsigned char pk[crypto_sign_PUBLICKEYBYTES])
{
	size_t n = 0;

	cr_assert_eq(sodium_base642bin(pk, crypto_sign_PUBLICKEYBYTES, b64,
	                               strlen(b64), NULL, &n, NULL,
	                               sodium_base64_VARIANT_ORIGINAL),
	             0);
	cr_assert_eq(n, crypto_sign_PUBLICKEYBYTES);
}

/* verify splits the token and checks it; returns the payload (json_t,
 * caller decrefs) or NULL when the signature is wrong. */
static json_t *
verify(const char *token, const unsigned char *pk)
{
	const char *dot = strchr(token, '.');
	unsigned char payload[8192], sig[crypto_sign_BYTES];
	size_t plen = 0, slen = 0;

	cr_assert_not_null(dot);
	cr_assert_eq(
	    sodium_base642bin(payload, sizeof(payload), token,
	                      (size_t)(dot - token), NULL, &plen, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	    0);
	cr_assert_eq(sodium_base642bin(
	                 sig, sizeof(sig), dot + 1, strlen(dot + 1), NULL,
	                 &slen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	             0);
	cr_assert_eq(slen, crypto_sign_BYTES);
	if (crypto_sign_verify_detached(sig, payload, plen, pk) != 0)
		return NULL;
	return json_loadb((const char *)payload, plen, 0, NULL);
}

Test(token, online_token_verifies_with_the_product_public_key, .timeout = 90)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES],
	    other_pk[crypto_sign_PUBLICKEYBYTES];
	char access[4096], product[64], other[64], lic[64], key[128], aid[64],
	    name[64], *body, *tampered;
	json_t *p;
	kpt_resp r;

	cr_assert_geq(sodium_init(), 0);
	body = kpt_jsonf("{s:s, s:s}", "email", kpt_admin_email(), "password",
	                 kpt_admin_password());
	post("/v1/auth/login", NULL, body, &r);
	free(body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	snprintf(access, sizeof(access), "%s", field(r.json, "accessToken"));
	kpt_resp_free(&r);

	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "token-product-%d-%d", getpid(),
		         i);
		body = kpt_jsonf("{s:s}", "name", name);
		post("/v1/products", access, body, &r);
		free(body);
		cr_assert_eq(r.status, 201, "%s", r.body);
		snprintf(i ? other : product, 64, "%s", field(r.json, "id"));
		decode_key(field(r.json, "publicKey"), i ? other_pk : pk);
		kpt_resp_free(&r);
	}
	body = kpt_jsonf("{s:s, s:s, s:i, s:i, s:i, s:s, s:{s:s}}", "productId",
	                 product, "type", "node-locked", "allowedActivations",
	                 2, "allowedDeactivations", 2, "validity", 0,
	                 "expirationStrategy", "immediate", "metadata", "seats",
	                 "ten");
	post("/v1/licenses", access, body, &r);
	free(body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(lic, sizeof(lic), "%s", field(r.json, "id"));
	snprintf(key, sizeof(key), "%s", field(r.json, "key"));
	kpt_resp_free(&r);

	body =
	    kpt_jsonf("{s:s, s:s, s:s, s:s, s:s, s:s}", "key", key, "productId",
	              product, "fingerprint", "fp-token", "hostname", "h", "os",
	              "linux", "nonce", "nonce-abc-123");
	post("/v1/activations", NULL, body, &r);
	free(body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(aid, sizeof(aid), "%s", field(r.json, "activationId"));

	p = verify(field(r.json, "token"), pk);
	cr_assert_not_null(p, "the token does not verify");
	cr_assert_str_eq(field(p, "activationId"), aid);
	cr_assert_str_eq(field(p, "licenseId"), lic);
	cr_assert_str_eq(field(p, "productId"), product);
	cr_assert_str_eq(field(p, "fingerprint"), "fp-token");
	cr_assert_str_eq(field(p, "status"), "active");
	cr_assert_str_eq(field(p, "nonce"), "nonce-abc-123");
	cr_assert(json_is_null(json_object_get(p, "expiresAt")),
	          "perpetual: expiresAt is null");
	cr_assert(json_is_integer(json_object_get(p, "issuedAt")));
	cr_assert_str_eq(field(json_object_get(p, "metadata"), "seats"), "ten");
	json_decref(p);

	/* another product's key does not verify it */
	cr_assert_null(verify(field(r.json, "token"), other_pk));
	/* nor does a token with one changed payload character */
	tampered = strdup(field(r.json, "token"));
	tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
	cr_assert_null(verify(tampered, pk));
	free(tampered);
	kpt_resp_free(&r);

	/* the heartbeat's fresh token too, echoing its own nonce */
	{
		char path[128];

		snprintf(path, sizeof(path), "/v1/activations/%s/heartbeat",
		         aid);
		body = kpt_jsonf("{s:s, s:s}", "key", key, "nonce", "hb-nonce");
		post(path, NULL, body, &r);
		free(body);
		cr_assert_eq(r.status, 200, "%s", r.body);
		p = verify(field(r.json, "token"), pk);
		cr_assert_not_null(p);
		cr_assert_str_eq(field(p, "nonce"), "hb-nonce");
		cr_assert_str_eq(field(p, "activationId"), aid);
		json_decref(p);
		kpt_resp_free(&r);
	}
}
