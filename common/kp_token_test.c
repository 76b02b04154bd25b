/* kp_token_test: sign, verify and tamper with activation tokens. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "kp_token.h"

static unsigned char pk[KP_TOKEN_PK_BYTES], sk[KP_TOKEN_SK_BYTES];

static void
setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	crypto_sign_keypair(pk, sk);
}

static char *
sample_token(void)
{
	kp_token_claims c = {0};
	char *payload = NULL, *tok = NULL;

	strcpy(c.activation_id, "a1");
	strcpy(c.license_id, "l1");
	strcpy(c.product_id, "p1");
	strcpy(c.fingerprint, "fp");
	strcpy(c.status, "active");
	strcpy(c.nonce, "n0");
	c.issued_at = 1700000000;
	c.metadata_json = "{\"tier\":\"gold\"}";
	cr_assert_eq(kp_token_payload_build(&c, &payload), KP_TOKEN_OK);
	cr_assert_eq(kp_token_sign(payload, sk, &tok), KP_TOKEN_OK);
	free(payload);
	return tok;
}

Test(kp_token, sign_verify_round_trip, .init = setup)
{
	char *tok = sample_token();
	kp_token_claims c;

	cr_assert_eq(kp_token_verify_claims(tok, pk, &c), KP_TOKEN_OK);
	cr_assert_str_eq(c.activation_id, "a1");
	cr_assert_str_eq(c.license_id, "l1");
	cr_assert_str_eq(c.product_id, "p1");
	cr_assert_str_eq(c.fingerprint, "fp");
	cr_assert_str_eq(c.status, "active");
	cr_assert_str_eq(c.nonce, "n0");
	cr_assert_eq(c.issued_at, 1700000000);
	cr_assert_eq(c.expires_at, 0);
	cr_assert_eq(c.offline, 0);
	cr_assert_str_eq(c.metadata_json, "{\"tier\":\"gold\"}");
	kp_token_claims_cleanup(&c);
	free(tok);
}

/* the signature covers the raw payload bytes: checkable with libsodium only */
Test(kp_token, signature_is_over_raw_payload, .init = setup)
{
	char *tok = sample_token(), *dot = strchr(tok, '.');
	unsigned char payload[1024], sig[64];
	size_t plen, slen;

	cr_assert_eq(
	    sodium_base642bin(payload, sizeof(payload), tok,
	                      (size_t)(dot - tok), NULL, &plen, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	    0);
	cr_assert_eq(sodium_base642bin(
	                 sig, sizeof(sig), dot + 1, strlen(dot + 1), NULL,
	                 &slen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
	             0);
	cr_assert_eq(slen, 64);
	cr_assert_eq(crypto_sign_verify_detached(sig, payload, plen, pk), 0);
	cr_assert_eq(payload[0], '{');
	free(tok);
}

Test(kp_token, tampered_payload_is_forged, .init = setup)
{
	char *tok = sample_token();

	/* flip one character of the payload part */
	tok[5] = tok[5] == 'A' ? 'B' : 'A';
	cr_assert_neq(kp_token_verify(tok, pk, NULL), KP_TOKEN_OK);
	free(tok);
}

Test(kp_token, other_key_is_forged, .init = setup)
{
	unsigned char pk2[32], sk2[64];
	char *tok = sample_token();

	crypto_sign_keypair(pk2, sk2);
	cr_assert_eq(kp_token_verify(tok, pk2, NULL), KP_TOKEN_FORGED);
	free(tok);
}

Test(kp_token, malformed_tokens, .init = setup)
{
	cr_assert_eq(kp_token_verify("", pk, NULL), KP_TOKEN_MALFORMED);
	cr_assert_eq(kp_token_verify("abc", pk, NULL), KP_TOKEN_MALFORMED);
	cr_assert_eq(kp_token_verify("a.b.c", pk, NULL), KP_TOKEN_MALFORMED);
	cr_assert_eq(kp_token_verify(".abc", pk, NULL), KP_TOKEN_MALFORMED);
	cr_assert_eq(kp_token_verify("e30.AAAA", pk, NULL), KP_TOKEN_MALFORMED);
	cr_assert_eq(kp_token_verify("e3*.AAAA", pk, NULL), KP_TOKEN_MALFORMED);
}

Test(kp_token, payload_requires_fields, .init = setup)
{
	kp_token_claims c;

	cr_assert_eq(kp_token_payload_parse("{}", &c), KP_TOKEN_MALFORMED);
	cr_assert_eq(kp_token_payload_parse("[1]", &c), KP_TOKEN_MALFORMED);
	cr_assert_eq(kp_token_payload_parse(
	                 "{\"activationId\":\"a\",\"licenseId\":\"l\","
	                 "\"productId\":\"p\",\"fingerprint\":\"f\","
	                 "\"status\":\"active\",\"issuedAt\":\"soon\"}",
	                 &c),
	             KP_TOKEN_MALFORMED);
	cr_assert_eq(kp_token_payload_parse(
	                 "{\"activationId\":\"a\",\"licenseId\":\"l\","
	                 "\"productId\":\"p\",\"fingerprint\":\"f\","
	                 "\"status\":\"active\",\"issuedAt\":5,"
	                 "\"expiresAt\":null}",
	                 &c),
	             KP_TOKEN_OK);
	cr_assert_eq(c.issued_at, 5);
	cr_assert_str_eq(c.metadata_json, "{}");
	kp_token_claims_cleanup(&c);
}

Test(kp_token, key_decode_accepts_base64_variants, .init = setup)
{
	char std[64], url[64];
	unsigned char out[32];

	sodium_bin2base64(std, sizeof(std), pk, 32,
	                  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(url, sizeof(url), pk, 32,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	cr_assert_eq(kp_token_key_decode(std, out, 32), KP_TOKEN_OK);
	cr_assert_eq(memcmp(out, pk, 32), 0);
	cr_assert_eq(kp_token_key_decode(url, out, 32), KP_TOKEN_OK);
	cr_assert_eq(memcmp(out, pk, 32), 0);
	cr_assert_eq(kp_token_key_decode("short", out, 32), KP_TOKEN_MALFORMED);
}
