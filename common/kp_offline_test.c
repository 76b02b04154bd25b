/* kp_offline_test: the offline file formats and every refusal code. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_offline.h"

#define NOW 1800000000

static unsigned char ppk[32], psk[64]; /* product key */
static unsigned char csk[64];          /* client secret key */
static kp_offline_request req;

static void
setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	crypto_sign_keypair(ppk, psk);
	memset(&req, 0, sizeof(req));
	strcpy(req.key, "KEY-1234");
	strcpy(req.product_id, "prod-1");
	strcpy(req.fingerprint, "fp-1");
	strcpy(req.hostname, "host");
	strcpy(req.os, "linux");
}

static int
sign_with_product(void *arg, const unsigned char *msg, size_t len,
                  unsigned char sig[64])
{
	(void)arg;
	crypto_sign_detached(sig, NULL, msg, len, psk);
	return 0;
}

static int
sign_fails(void *arg, const unsigned char *msg, size_t len,
           unsigned char sig[64])
{
	(void)arg, (void)msg, (void)len, (void)sig;
	return 42;
}

static char *
make_request(void)
{
	char *f = NULL;

	cr_assert_eq(kp_offline_request_create(&req, NOW, csk, &f), 0);
	return f;
}

static char *
make_response(const kp_offline_request *r, int64_t expires)
{
	kp_token_claims c = {0};
	char *f = NULL;

	strcpy(c.activation_id, "act-1");
	strcpy(c.license_id, "lic-1");
	strcpy(c.product_id, r->product_id);
	strcpy(c.fingerprint, r->fingerprint);
	strcpy(c.status, "active");
	strcpy(c.nonce, r->nonce);
	strcpy(c.client_public_key, r->client_public_key);
	c.issued_at = NOW;
	cr_assert_eq(kp_offline_response_create(&c, expires, sign_with_product,
	                                        NULL, &f),
	             0);
	return f;
}

/* edit a member of a file: set key to a string value, re-seal or not */
static char *
edit(const char *file, const char *key, json_t *value, int reseal)
{
	json_t *o = json_loads(file, 0, NULL), *c;
	unsigned char h[32];
	char b[64], *s;

	cr_assert_not_null(o);
	json_object_set_new(o, key, value);
	if (reseal) {
		c = json_copy(o);
		json_object_del(c, "checksum");
		s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
		crypto_generichash(h, 32, (unsigned char *)s, strlen(s), NULL,
		                   0);
		sodium_bin2base64(b, sizeof(b), h, 32,
		                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		json_object_set_new(o, "checksum", json_string(b));
		free(s);
		json_decref(c);
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static int
parse_req(const char *f)
{
	kp_offline_request out;

	return kp_offline_request_parse(f, strlen(f), NOW, &out);
}

Test(kp_offline, request_round_trip, .init = setup)
{
	char *f = make_request();
	kp_offline_request out;

	cr_assert_eq(kp_offline_request_parse(f, strlen(f), NOW + 60, &out), 0);
	cr_assert_str_eq(out.key, "KEY-1234");
	cr_assert_str_eq(out.product_id, "prod-1");
	cr_assert_str_eq(out.fingerprint, "fp-1");
	cr_assert_str_eq(out.nonce, req.nonce);
	cr_assert_str_eq(out.client_public_key, req.client_public_key);
	cr_assert_eq(out.created_at, NOW);
	cr_assert_eq(out.version, 1);
	free(f);
}

Test(kp_offline, request_refusals, .init = setup)
{
	char *f = make_request(), *g;

	cr_assert_eq(parse_req("not json"), KP_OFFLINE_MALFORMED);
	cr_assert_eq(parse_req("{}"), KP_OFFLINE_MALFORMED);
	g = edit(f, "version", json_integer(2), 0);
	cr_assert_eq(parse_req(g), KP_OFFLINE_UNSUPPORTED_VERSION);
	free(g);
	g = edit(f, "type", json_string("deactivation-request"), 1);
	cr_assert_eq(parse_req(g), KP_OFFLINE_MALFORMED);
	free(g);
	/* edited without fixing the checksum */
	g = edit(f, "key", json_string("KEY-OTHER"), 0);
	cr_assert_eq(parse_req(g), KP_OFFLINE_ALTERED);
	free(g);
	/* edited with a recomputed checksum: the client signature catches it */
	g = edit(f, "key", json_string("KEY-OTHER"), 1);
	cr_assert_eq(parse_req(g), KP_OFFLINE_ALTERED);
	free(g);
	g = edit(f, "createdAt", json_string("yesterday"), 1);
	cr_assert_eq(parse_req(g), KP_OFFLINE_MALFORMED);
	free(g);
	cr_assert_eq(kp_offline_request_parse(
	                 f, strlen(f), NOW + KP_OFFLINE_REQUEST_MAX_AGE + 1,
	                 &(kp_offline_request){0}),
	             KP_OFFLINE_EXPIRED);
	cr_assert_eq(kp_offline_request_parse(f, strlen(f), NOW - 2 * 86400,
	                                      &(kp_offline_request){0}),
	             KP_OFFLINE_EXPIRED);
	free(f);
}

Test(kp_offline, response_round_trip, .init = setup)
{
	char *f = make_request(), *r = make_response(&req, NOW + 3600);
	kp_token_claims c;
	char *tok = NULL;

	cr_assert_eq(kp_offline_response_load(r, strlen(r), ppk, &req, NOW + 1,
	                                      &c, &tok),
	             0);
	cr_assert_str_eq(c.activation_id, "act-1");
	cr_assert_eq(c.offline, 1);
	cr_assert_eq(c.response_expires_at, NOW + 3600);
	cr_assert_str_eq(c.client_public_key, req.client_public_key);
	cr_assert_eq(kp_token_verify(tok, ppk, NULL), 0);
	kp_token_claims_cleanup(&c);
	free(tok);
	free(f);
	free(r);
}

static int
load(const char *r, int64_t now)
{
	kp_token_claims c;
	int rc =
	    kp_offline_response_load(r, strlen(r), ppk, &req, now, &c, NULL);

	kp_token_claims_cleanup(&c);
	return rc;
}

Test(kp_offline, response_refusals, .init = setup)
{
	char *f = make_request(), *r = make_response(&req, NOW + 3600), *g;
	unsigned char opk[32], osk[64];
	kp_offline_request other = req;

	cr_assert_eq(load("[]", NOW), KP_OFFLINE_MALFORMED);
	g = edit(r, "version", json_integer(7), 1);
	cr_assert_eq(load(g, NOW), KP_OFFLINE_UNSUPPORTED_VERSION);
	free(g);
	/* a longer expiry written into the outer copy */
	g = edit(r, "responseExpiresAt", json_integer(NOW + 99999999), 0);
	cr_assert_eq(load(g, NOW), KP_OFFLINE_ALTERED);
	free(g);
	g = edit(r, "responseExpiresAt", json_integer(NOW + 99999999), 1);
	cr_assert_eq(load(g, NOW), KP_OFFLINE_ALTERED);
	free(g);
	cr_assert_eq(load(r, NOW + 3600), KP_OFFLINE_EXPIRED);
	/* signed by another key: forged */
	crypto_sign_keypair(opk, osk);
	memcpy(psk, osk, 64);
	g = make_response(&req, NOW + 3600);
	cr_assert_eq(load(g, NOW), KP_OFFLINE_FORGED);
	free(g);
	/* answers another request (nonce) */
	strcpy(other.nonce, "someone-else");
	crypto_sign_keypair(ppk, psk);
	g = make_response(&other, NOW + 3600);
	cr_assert_eq(load(g, NOW), KP_OFFLINE_REPLAYED);
	free(g);
	other = req;
	strcpy(other.fingerprint, "fp-2");
	g = make_response(&other, NOW + 3600);
	cr_assert_eq(load(g, NOW), KP_OFFLINE_WRONG_MACHINE);
	free(g);
	other = req;
	strcpy(other.product_id, "prod-2");
	g = make_response(&other, NOW + 3600);
	cr_assert_eq(load(g, NOW), KP_OFFLINE_KEY_MISMATCH);
	free(g);
	free(f);
	free(r);
}

Test(kp_offline, sign_callback_error_is_passed_back, .init = setup)
{
	kp_token_claims c = {0};
	char *f = NULL;

	strcpy(c.activation_id, "a");
	cr_assert_eq(kp_offline_response_create(&c, NOW, sign_fails, NULL, &f),
	             42);
	cr_assert_null(f);
}

static char *
make_deactivation(void)
{
	kp_token_claims c = {0};
	char *d = NULL;

	strcpy(c.activation_id, "act-1");
	strcpy(c.license_id, "lic-1");
	strcpy(c.product_id, "prod-1");
	strcpy(c.fingerprint, "fp-1");
	cr_assert_eq(kp_offline_deactivation_create(&c, csk, NOW, &d), 0);
	return d;
}

static int
deact(const char *d, const char *pk, const char *fp)
{
	kp_offline_deactivation x;
	int rc = kp_offline_deactivation_parse(d, strlen(d), &x);

	if (rc == 0)
		rc = kp_offline_deactivation_verify(&x, pk, fp);
	kp_offline_deactivation_cleanup(&x);
	return rc;
}

Test(kp_offline, deactivation_round_trip_and_refusals, .init = setup)
{
	char *f = make_request(), *d = make_deactivation(), *g;
	kp_offline_deactivation x, y;
	kp_offline_request other;
	unsigned char osk[64];

	cr_assert_eq(kp_offline_deactivation_parse(d, strlen(d), &x), 0);
	cr_assert_str_eq(x.activation_id, "act-1");
	cr_assert_str_eq(x.license_id, "lic-1");
	cr_assert_eq(strlen(x.proof_id), 64);
	cr_assert_eq(
	    kp_offline_deactivation_verify(&x, req.client_public_key, "fp-1"),
	    0);
	/* the same file parses to the same proof id (replay detection key);
	 * a new file has a new one */
	cr_assert_eq(kp_offline_deactivation_parse(d, strlen(d), &y), 0);
	cr_assert_str_eq(x.proof_id, y.proof_id);
	kp_offline_deactivation_cleanup(&y);
	g = make_deactivation();
	cr_assert_eq(kp_offline_deactivation_parse(g, strlen(g), &y), 0);
	cr_assert_str_neq(x.proof_id, y.proof_id);
	kp_offline_deactivation_cleanup(&y);
	kp_offline_deactivation_cleanup(&x);
	free(g);

	cr_assert_eq(deact("{", req.client_public_key, "fp-1"),
	             KP_OFFLINE_MALFORMED);
	g = edit(d, "version", json_integer(0), 1);
	cr_assert_eq(deact(g, req.client_public_key, "fp-1"),
	             KP_OFFLINE_UNSUPPORTED_VERSION);
	free(g);
	g = edit(d, "activationId", json_string("act-2"), 0);
	cr_assert_eq(deact(g, req.client_public_key, "fp-1"),
	             KP_OFFLINE_ALTERED);
	free(g);
	/* re-sealed edit: the proof no longer matches */
	g = edit(d, "activationId", json_string("act-2"), 1);
	cr_assert_eq(deact(g, req.client_public_key, "fp-1"),
	             KP_OFFLINE_FORGED);
	free(g);
	/* another client's key (a machine that never activated) */
	memcpy(osk, csk, 64);
	other = req;
	free(make_request());
	cr_assert_eq(deact(d, req.client_public_key, "fp-1"),
	             KP_OFFLINE_FORGED);
	cr_assert_eq(deact(d, other.client_public_key, "fp-2"),
	             KP_OFFLINE_WRONG_MACHINE);
	free(f);
	free(d);
}

Test(kp_offline, codes_are_named)
{
	cr_assert_str_eq(kp_offline_code(KP_OFFLINE_ALTERED),
	                 "OFFLINE_ALTERED");
	cr_assert_str_eq(kp_offline_code(KP_OFFLINE_REPLAYED),
	                 "OFFLINE_REPLAYED");
	cr_assert_str_eq(kp_offline_code(99), "INTERNAL");
}
