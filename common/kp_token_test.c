/* Unit tests of kp_token: signing, verification, tampering, expiry and key
 * rotation. */
#include "kp_err.h"
#include "kp_token.h"

#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static unsigned char sk1[64], sk2[64];
static kp_token_keyset ks;

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	memset(&ks, 0, sizeof(ks));
	crypto_sign_keypair(ks.keys[0].pk, sk1);
	strcpy(ks.keys[0].kid, "k1");
	crypto_sign_keypair(ks.keys[1].pk, sk2);
	strcpy(ks.keys[1].kid, "k2");
	ks.count = 2;
}

static kp_token_claims
claims(void)
{
	kp_token_claims c;

	memset(&c, 0, sizeof(c));
	strcpy(c.user_id, "0b7c7b3e-8a7e-4c1f-9f63-3f4b1f3e2a10");
	strcpy(c.role, "organization-admin");
	strcpy(c.organization_id, "5d0b5b9e-1111-4c1f-9f63-3f4b1f3e2a10");
	strcpy(c.session_id, "s-1");
	c.issued_at = 1000;
	c.expires_at = 1000 + KP_TOKEN_LIFETIME;
	return c;
}

TestSuite(token, .init = setup);

Test(token, sign_and_verify)
{
	kp_token_claims c = claims(), v;
	char *t = NULL;

	cr_assert_eq(kp_token_sign(&c, "k1", sk1, &t), KP_OK);
	cr_assert_eq(strchr(strchr(strchr(t, '.') + 1, '.') + 1, '.'), NULL);
	cr_assert_eq(kp_token_verify(t, &ks, 1001, &v), KP_OK);
	cr_assert_str_eq(v.user_id, c.user_id);
	cr_assert_str_eq(v.role, c.role);
	cr_assert_str_eq(v.organization_id, c.organization_id);
	cr_assert_str_eq(v.session_id, "s-1");
	cr_assert_str_eq(v.kid, "k1");
	cr_assert_eq(v.issued_at, 1000);
	cr_assert_eq(v.expires_at, 1900);
	free(t);
}

Test(token, expiry)
{
	kp_token_claims c = claims(), v;
	char *t = NULL;

	cr_assert_eq(kp_token_sign(&c, "k1", sk1, &t), KP_OK);
	cr_assert_eq(kp_token_verify(t, &ks, 1899, &v), KP_OK);
	cr_assert_eq(kp_token_verify(t, &ks, 1900, &v), KP_EUNAUTH);
	cr_assert_eq(kp_token_verify(t, &ks, 5000, &v), KP_EUNAUTH);
	cr_assert_str_eq(v.user_id, "");
	free(t);
}

Test(token, tampering)
{
	kp_token_claims c = claims(), v;
	char *t = NULL, *d1, *d2, saved;

	cr_assert_eq(kp_token_sign(&c, "k1", sk1, &t), KP_OK);
	d1 = strchr(t, '.');
	d2 = strchr(d1 + 1, '.');
	/* flip one character of the claims */
	saved = d1[3];
	d1[3] = saved == 'A' ? 'B' : 'A';
	cr_assert_eq(kp_token_verify(t, &ks, 1001, &v), KP_EUNAUTH);
	d1[3] = saved;
	cr_assert_eq(kp_token_verify(t, &ks, 1001, &v), KP_OK);
	/* flip one character of the signature */
	d2[5] = d2[5] == 'A' ? 'B' : 'A';
	cr_assert_eq(kp_token_verify(t, &ks, 1001, &v), KP_EUNAUTH);
	free(t);

	/* claims re-signed by a foreign key under a known kid */
	{
		unsigned char pk[32], sk[64];
		crypto_sign_keypair(pk, sk);
		cr_assert_eq(kp_token_sign(&c, "k1", sk, &t), KP_OK);
		cr_assert_eq(kp_token_verify(t, &ks, 1001, &v), KP_EUNAUTH);
		free(t);
	}
	/* malformed */
	cr_assert_eq(kp_token_verify("", &ks, 1001, &v), KP_EUNAUTH);
	cr_assert_eq(kp_token_verify("a.b", &ks, 1001, &v), KP_EUNAUTH);
	cr_assert_eq(kp_token_verify("a.b.c.d", &ks, 1001, &v), KP_EUNAUTH);
	cr_assert_eq(kp_token_verify("kp_pat_abc", &ks, 1001, &v), KP_EUNAUTH);
}

Test(token, key_rotation)
{
	kp_token_claims c = claims(), v;
	char *t1 = NULL, *t2 = NULL, kid[KP_TOKEN_KID_MAX];
	kp_token_keyset only_old;

	cr_assert_eq(kp_token_sign(&c, "k1", sk1, &t1), KP_OK);
	cr_assert_eq(kp_token_sign(&c, "k2", sk2, &t2), KP_OK);
	cr_assert_eq(kp_token_kid(t2, kid, sizeof(kid)), KP_OK);
	cr_assert_str_eq(kid, "k2");
	/* both keys verify */
	cr_assert_eq(kp_token_verify(t1, &ks, 1001, &v), KP_OK);
	cr_assert_eq(kp_token_verify(t2, &ks, 1001, &v), KP_OK);
	cr_assert_str_eq(v.kid, "k2");
	/* a verifier that does not know the new key reports the kid unknown */
	memset(&only_old, 0, sizeof(only_old));
	only_old.keys[0] = ks.keys[0];
	only_old.count = 1;
	cr_assert_eq(kp_token_verify(t2, &only_old, 1001, &v), KP_ENOTFOUND);
	cr_assert_str_eq(v.kid, "k2");
	/* a token naming k2 but signed with k1 does not verify */
	free(t2);
	cr_assert_eq(kp_token_sign(&c, "k2", sk1, &t2), KP_OK);
	cr_assert_eq(kp_token_verify(t2, &ks, 1001, &v), KP_EUNAUTH);
	free(t1);
	free(t2);
}
