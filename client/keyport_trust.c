/* keyport_trust: what makes a token believable on this machine: its
 * signature (the pinned product key), the request's nonce, the machine,
 * the product, and the rollback state (the newest time seen), and writing
 * an accepted activation into the state (see keyport_int.h). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyport_int.h"
#include "keyport_plat.h"
#include "kp_offline.h"
#include "kp_token.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* ---- clock and token checks -------------------------------------------- */

static int64_t
newest_seen(json_t *st)
{
	int64_t a = keyport_st_int(st, "newestIssuedAt");
	int64_t b = keyport_st_int(st, "lastSeenClock");

	return a > b ? a : b;
}

int
keyport_check_clock(keyport_client *c, json_t *st, int64_t now)
{
	int64_t seen = newest_seen(st);

	if (now + KEYPORT_CLOCK_SKEW < seen)
		return keyport_fail(
		    c, KEYPORT_EROLLBACK,
		    "the system clock went backwards: now %lld, "
		    "already seen %lld",
		    (long long)now, (long long)seen);
	return KEYPORT_OK;
}

int
keyport_state_load_at(keyport_client *c, json_t **st, int64_t now)
{
	int rc = keyport_state_load(c, st);

	if (rc == KEYPORT_OK &&
	    (rc = keyport_check_clock(c, *st, now)) != KEYPORT_OK) {
		json_decref(*st);
		*st = NULL;
	}
	return rc;
}

void
keyport_note_clock(json_t *st, int64_t now, int64_t issued_at)
{
	if (now > keyport_st_int(st, "lastSeenClock"))
		json_object_set_new(st, "lastSeenClock", json_integer(now));
	if (issued_at > keyport_st_int(st, "newestIssuedAt"))
		json_object_set_new(st, "newestIssuedAt",
		                    json_integer(issued_at));
}

/* decode a token's payload without a key (no pinned key: not verified) */
static int
decode_unverified(const char *token, kp_token_claims *out)
{
	const char *dot = strchr(token, '.');
	char *buf;
	size_t len = 0;
	int rc = KP_TOKEN_MALFORMED;

	memset(out, 0, sizeof(*out));
	if (dot == NULL)
		return rc;
	buf = malloc((size_t)(dot - token) + 1);
	if (buf == NULL)
		return KP_TOKEN_NOMEM;
	if (sodium_base642bin((unsigned char *)buf, (size_t)(dot - token),
	                      token, (size_t)(dot - token), NULL, &len, NULL,
	                      B64URL) == 0) {
		buf[len] = '\0';
		rc = kp_token_payload_parse(buf, out);
	}
	free(buf);
	return rc;
}

/* Check a token against the pinned key, the expected nonce, this machine
 * and the rollback state; fill *claims. */
int
keyport_check_token(keyport_client *c, json_t *st, const char *token,
                    const char *nonce, const char *fingerprint,
                    const char *product_id, int64_t now,
                    kp_token_claims *claims)
{
	int rc;

	rc = c->have_pk ? kp_token_verify_claims(token, c->pk, claims)
	                : decode_unverified(token, claims);
	if (rc == KP_TOKEN_FORGED)
		return keyport_fail(
		    c, KEYPORT_EFORGED,
		    "the token is not signed by the product key");
	if (rc != KP_TOKEN_OK)
		return keyport_fail(c, KEYPORT_EFORGED, "malformed token");
	rc = KEYPORT_EREPLAY;
	if (nonce != NULL &&
	    (strlen(claims->nonce) != strlen(nonce) ||
	     sodium_memcmp(claims->nonce, nonce, strlen(nonce)) != 0)) {
		keyport_fail(c, rc,
		             "the token does not echo this request's "
		             "nonce: an old answer was replayed");
		goto out;
	}
	rc = KEYPORT_EMISMATCH;
	if (strcmp(claims->fingerprint, fingerprint) != 0) {
		keyport_fail(c, rc, "the token is for another machine");
		goto out;
	}
	if (product_id != NULL && strcmp(claims->product_id, product_id) != 0) {
		keyport_fail(c, rc, "the token is for another product");
		goto out;
	}
	rc = keyport_check_clock(c, st, now);
	if (rc != KEYPORT_OK)
		goto out;
	rc = KEYPORT_EROLLBACK;
	if (claims->issued_at < keyport_st_int(st, "newestIssuedAt")) {
		keyport_fail(c, rc,
		             "the token is older than one already seen "
		             "(issuedAt %lld < %lld)",
		             (long long)claims->issued_at,
		             (long long)keyport_st_int(st, "newestIssuedAt"));
		goto out;
	}
	if (claims->issued_at > now + KEYPORT_CLOCK_SKEW) {
		keyport_fail(c, rc,
		             "the system clock is behind the token's issue "
		             "time (issuedAt %lld, now %lld)",
		             (long long)claims->issued_at, (long long)now);
		goto out;
	}
	rc = KEYPORT_OK;
out:
	if (rc != KEYPORT_OK)
		kp_token_claims_cleanup(claims);
	return rc;
}

void
keyport_store_activation(keyport_client *c, json_t *st,
                         const kp_token_claims *k, const char *token,
                         int offline)
{
	char pk[64];

	json_object_set_new(st, "activationId", json_string(k->activation_id));
	json_object_set_new(st, "licenseId", json_string(k->license_id));
	json_object_set_new(st, "productId", json_string(k->product_id));
	json_object_set_new(st, "fingerprint", json_string(k->fingerprint));
	json_object_set_new(st, "token", json_string(token));
	json_object_set_new(st, "offline", json_boolean(offline));
	json_object_set_new(st, "verified", json_boolean(c->have_pk));
	if (c->have_pk) {
		sodium_bin2base64(pk, sizeof(pk), c->pk, sizeof(c->pk),
		                  sodium_base64_VARIANT_ORIGINAL);
		json_object_set_new(st, "productKey", json_string(pk));
	}
}

void
keyport_clear_activation(json_t *st)
{
	static const char *const drop[] = {
	    "activationId", "licenseId", "token",  "offline",
	    "verified",     "key",       "server", "clientSecretKey",
	    "pending",      NULL};
	const char *const *p;

	for (p = drop; *p != NULL; p++)
		json_object_del(st, *p);
}
