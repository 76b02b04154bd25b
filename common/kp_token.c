/* kp_token: signing and verifying access tokens (see kp_token.h). */
#include "kp_token.h"

#include "kp_err.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define KP_TOKEN_PART_MAX 1024

static const int kp_token_b64 = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

/* Appends base64url(data) to buf at *used. Returns 0 or -1 (no room). */
static int
kp_token_put64(char *buf, size_t cap, size_t *used, const void *data,
               size_t len)
{
	size_t need = sodium_base64_encoded_len(len, kp_token_b64);

	if (*used + need > cap)
		return -1;
	sodium_bin2base64(buf + *used, need, data, len, kp_token_b64);
	*used += need - 1;
	return 0;
}

int
kp_token_sign(const kp_token_claims *c, const char *kid,
              const unsigned char sk[64], char **out)
{
	json_t *h = NULL, *p = NULL;
	char *hs = NULL, *ps = NULL, *buf = NULL;
	unsigned char sig[crypto_sign_BYTES];
	size_t cap = 4096, used = 0;
	int rv = KP_EINTERNAL;

	*out = NULL;
	h = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "JWT", "kid",
	              kid);
	p = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "sub", c->user_id,
	              "role", c->role, "org", c->organization_id, "sid",
	              c->session_id, "iat", (json_int_t)c->issued_at, "exp",
	              (json_int_t)c->expires_at);
	if (h == NULL || p == NULL)
		goto out;
	hs = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
	ps = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	buf = malloc(cap);
	if (hs == NULL || ps == NULL || buf == NULL)
		goto out;
	if (kp_token_put64(buf, cap, &used, hs, strlen(hs)) != 0 ||
	    used + 1 >= cap)
		goto out;
	buf[used++] = '.';
	if (kp_token_put64(buf, cap, &used, ps, strlen(ps)) != 0)
		goto out;
	crypto_sign_detached(sig, NULL, (const unsigned char *)buf, used, sk);
	if (used + 1 >= cap)
		goto out;
	buf[used++] = '.';
	if (kp_token_put64(buf, cap, &used, sig, sizeof(sig)) != 0)
		goto out;
	*out = buf;
	buf = NULL;
	rv = KP_OK;
out:
	json_decref(h);
	json_decref(p);
	free(hs);
	free(ps);
	free(buf);
	return rv;
}

/* Decodes the base64url part [s, s+len) into a JSON object (caller
 * decrefs) or NULL. */
static json_t *
kp_token_part_json(const char *s, size_t len)
{
	unsigned char bin[KP_TOKEN_PART_MAX];
	size_t blen = 0;
	json_t *j;

	if (len == 0 || len > sizeof(bin) ||
	    sodium_base642bin(bin, sizeof(bin), s, len, NULL, &blen, NULL,
	                      kp_token_b64) != 0)
		return NULL;
	j = json_loadb((const char *)bin, blen, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Splits a token at its two dots. Returns 0 or -1. */
static int
kp_token_split(const char *t, const char **dot1, const char **dot2)
{
	if (t == NULL)
		return -1;
	*dot1 = strchr(t, '.');
	if (*dot1 == NULL)
		return -1;
	*dot2 = strchr(*dot1 + 1, '.');
	if (*dot2 == NULL || strchr(*dot2 + 1, '.') != NULL)
		return -1;
	return 0;
}

/* Copies a string member of o into buf; -1 when missing or too long. */
static int
kp_token_str(json_t *o, const char *name, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(o, name));

	if (s == NULL || strlen(s) >= len)
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

int
kp_token_kid(const char *token, char *kid, size_t len)
{
	const char *d1, *d2;
	json_t *h;
	int rv = KP_EUNAUTH;

	if (kp_token_split(token, &d1, &d2) != 0)
		return KP_EUNAUTH;
	h = kp_token_part_json(token, (size_t)(d1 - token));
	if (h == NULL)
		return KP_EUNAUTH;
	if (strcmp(json_string_value(json_object_get(h, "alg"))
	               ? json_string_value(json_object_get(h, "alg"))
	               : "",
	           "EdDSA") == 0 &&
	    kp_token_str(h, "kid", kid, len) == 0)
		rv = KP_OK;
	json_decref(h);
	return rv;
}

const kp_token_key *
kp_token_keyset_find(const kp_token_keyset *ks, const char *kid)
{
	for (size_t i = 0; ks != NULL && i < ks->count; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return &ks->keys[i];
	return NULL;
}

int
kp_token_verify(const char *token, const kp_token_keyset *ks, int64_t now,
                kp_token_claims *out)
{
	const char *d1, *d2;
	const kp_token_key *key;
	unsigned char sig[crypto_sign_BYTES + 8];
	size_t slen = 0;
	json_t *p = NULL;
	json_t *iat, *exp;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_token_kid(token, out->kid, sizeof(out->kid))) != KP_OK)
		return rv;
	key = kp_token_keyset_find(ks, out->kid);
	if (key == NULL)
		return KP_ENOTFOUND;
	rv = KP_EUNAUTH;
	kp_token_split(token, &d1, &d2);
	if (sodium_base642bin(sig, sizeof(sig), d2 + 1, strlen(d2 + 1), NULL,
	                      &slen, NULL, kp_token_b64) != 0 ||
	    slen != crypto_sign_BYTES)
		goto out;
	if (crypto_sign_verify_detached(sig, (const unsigned char *)token,
	                                (unsigned long long)(d2 - token),
	                                key->pk) != 0)
		goto out;
	p = kp_token_part_json(d1 + 1, (size_t)(d2 - d1 - 1));
	if (p == NULL)
		goto out;
	iat = json_object_get(p, "iat");
	exp = json_object_get(p, "exp");
	if (kp_token_str(p, "sub", out->user_id, sizeof(out->user_id)) != 0 ||
	    out->user_id[0] == '\0' ||
	    kp_token_str(p, "role", out->role, sizeof(out->role)) != 0 ||
	    kp_token_str(p, "org", out->organization_id,
	                 sizeof(out->organization_id)) != 0 ||
	    kp_token_str(p, "sid", out->session_id, sizeof(out->session_id)) !=
	        0 ||
	    !json_is_integer(iat) || !json_is_integer(exp))
		goto out;
	out->issued_at = json_integer_value(iat);
	out->expires_at = json_integer_value(exp);
	if (now >= out->expires_at)
		goto out;
	rv = KP_OK;
out:
	json_decref(p);
	if (rv != KP_OK) {
		char kid[KP_TOKEN_KID_MAX];
		memcpy(kid, out->kid, sizeof(kid));
		memset(out, 0, sizeof(*out));
		memcpy(out->kid, kid, sizeof(kid));
	}
	return rv;
}
