/* keyport_offline: the offline activation files: the request written,
 * the vendor's response read and checked (keyport_trust.c), and the
 * deactivation proof. */
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

/* ---- offline ------------------------------------------------------------- */

static int
offline_fail(keyport_client *c, int code, const char *file)
{
	return keyport_fail(c, KEYPORT_EOFFLINE, "%s: %s (%s)", file,
	                    kp_offline_strerror(code), kp_offline_code(code));
}

int
keyport_offline_request(keyport_client *c, const char *key,
                        const char *product_id, const char *out_path)
{
	kp_offline_request r;
	unsigned char sk[KP_TOKEN_SK_BYTES];
	char skb[sodium_base64_ENCODED_LEN(KP_TOKEN_SK_BYTES, B64URL)];
	json_t *st = NULL, *p;
	char *file = NULL;
	int64_t now = keyport_now();
	int rc;

	if (key == NULL || product_id == NULL || out_path == NULL || !key[0] ||
	    !product_id[0] || !out_path[0])
		return keyport_fail(
		    c, KEYPORT_EINVAL,
		    "key, product and output file are required");
	memset(&r, 0, sizeof(r));
	if (strlen(key) >= sizeof(r.key) ||
	    strlen(product_id) >= sizeof(r.product_id))
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "key or product too long");
	rc = keyport_state_load_at(c, &st, now);
	if (rc != KEYPORT_OK)
		return rc;
	if (keyport_st_str(st, "activationId")[0] != '\0') {
		rc = keyport_fail(c, KEYPORT_EINVAL,
		                  "this machine is already activated");
		goto out;
	}
	rc = keyport_fingerprint(r.fingerprint);
	if (rc != KEYPORT_OK) {
		keyport_fail(c, rc, "cannot compute the machine fingerprint");
		goto out;
	}
	strcpy(r.key, key);
	strcpy(r.product_id, product_id);
	keyport_plat_hostname(r.hostname, sizeof(r.hostname));
	if (r.hostname[0] == '\0')
		strcpy(r.hostname, "unknown");
	keyport_plat_os(r.os, sizeof(r.os), r.os_version, sizeof(r.os_version));
	rc = kp_offline_request_create(&r, now, sk, &file);
	if (rc != KP_OFFLINE_OK) {
		rc = keyport_fail(c, KEYPORT_ENOMEM, "out of memory");
		goto out;
	}
	sodium_bin2base64(skb, sizeof(skb), sk, sizeof(sk), B64URL);
	sodium_memzero(sk, sizeof(sk));
	p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "key",
	              r.key, "productId", r.product_id, "fingerprint",
	              r.fingerprint, "hostname", r.hostname, "os", r.os,
	              "nonce", r.nonce, "clientPublicKey", r.client_public_key,
	              "clientSecretKey", skb, "createdAt",
	              (json_int_t)r.created_at);
	sodium_memzero(skb, sizeof(skb));
	if (p == NULL) {
		rc = keyport_fail(c, KEYPORT_ENOMEM, "out of memory");
		goto out;
	}
	json_object_set_new(st, "pending", p);
	keyport_note_clock(st, now, 0);
	/* state first: a request file without its secret would be useless */
	rc = keyport_state_save(c, st);
	if (rc != KEYPORT_OK)
		goto out;
	if (keyport_write_file(out_path, file) != 0)
		rc = keyport_fail(c, KEYPORT_EIO, "cannot write %s: %s",
		                  out_path, strerror(errno));
out:
	free(file);
	json_decref(st);
	return rc;
}

int
keyport_offline_activate(keyport_client *c, const char *response_path)
{
	json_t *st = NULL, *p;
	kp_offline_request r;
	kp_token_claims k = {0};
	char *file = NULL, *token = NULL;
	size_t len = 0;
	int64_t now = keyport_now();
	int rc;

	if (!c->have_pk)
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "the product's public key is required");
	rc = keyport_state_load_at(c, &st, now);
	if (rc != KEYPORT_OK)
		return rc;
	p = json_object_get(st, "pending");
	if (!json_is_object(p)) {
		rc = keyport_fail(c, KEYPORT_EINVAL,
		                  "no offline request is pending on this "
		                  "machine");
		goto out;
	}
	if (keyport_read_file(response_path, KP_OFFLINE_MAX_FILE, &file,
	                      &len) != 0) {
		rc = keyport_fail(c, KEYPORT_EIO, "cannot read %s: %s",
		                  response_path, strerror(errno));
		goto out;
	}
	memset(&r, 0, sizeof(r));
	snprintf(r.product_id, sizeof(r.product_id), "%s",
	         keyport_st_str(p, "productId"));
	snprintf(r.nonce, sizeof(r.nonce), "%s", keyport_st_str(p, "nonce"));
	snprintf(r.client_public_key, sizeof(r.client_public_key), "%s",
	         keyport_st_str(p, "clientPublicKey"));
	rc = keyport_fingerprint(r.fingerprint);
	if (rc != KEYPORT_OK) {
		keyport_fail(c, rc, "cannot compute the machine fingerprint");
		goto out;
	}
	rc = kp_offline_response_load(file, len, c->pk, &r, now, &k, &token);
	if (rc != KP_OFFLINE_OK) {
		rc = offline_fail(c, rc, response_path);
		goto out;
	}
	rc = KEYPORT_EROLLBACK;
	if (k.issued_at < keyport_st_int(st, "newestIssuedAt")) {
		keyport_fail(c, rc,
		             "the response is older than a token "
		             "already seen");
		goto out;
	}
	if (k.issued_at > now + KEYPORT_CLOCK_SKEW) {
		keyport_fail(c, rc,
		             "the system clock is behind the response's "
		             "issue time");
		goto out;
	}
	json_object_set_new(st, "key", json_string(keyport_st_str(p, "key")));
	json_object_set_new(st, "clientSecretKey",
	                    json_string(keyport_st_str(p, "clientSecretKey")));
	keyport_store_activation(c, st, &k, token, 1);
	json_object_del(st, "pending");
	keyport_note_clock(st, now, k.issued_at);
	rc = keyport_state_save(c, st);
out:
	kp_token_claims_cleanup(&k);
	free(token);
	free(file);
	json_decref(st);
	return rc;
}

int
keyport_offline_deactivate(keyport_client *c, const char *out_path)
{
	json_t *st = NULL;
	kp_token_claims k = {0};
	unsigned char sk[KP_TOKEN_SK_BYTES];
	char *file = NULL;
	int64_t now = keyport_now();
	int rc;

	rc = keyport_state_load_at(c, &st, now);
	if (rc != KEYPORT_OK)
		return rc;
	if (!json_is_true(json_object_get(st, "offline")) ||
	    keyport_st_str(st, "activationId")[0] == '\0') {
		rc = keyport_fail(c, KEYPORT_ENOTACTIVE,
		                  "this machine has no offline activation");
		goto out;
	}
	if (kp_token_key_decode(keyport_st_str(st, "clientSecretKey"), sk,
	                        sizeof(sk)) != 0) {
		rc = keyport_fail(c, KEYPORT_EIO,
		                  "the state has no valid client secret key");
		goto out;
	}
	snprintf(k.activation_id, sizeof(k.activation_id), "%s",
	         keyport_st_str(st, "activationId"));
	snprintf(k.license_id, sizeof(k.license_id), "%s",
	         keyport_st_str(st, "licenseId"));
	snprintf(k.product_id, sizeof(k.product_id), "%s",
	         keyport_st_str(st, "productId"));
	snprintf(k.fingerprint, sizeof(k.fingerprint), "%s",
	         keyport_st_str(st, "fingerprint"));
	rc = kp_offline_deactivation_create(&k, sk, now, &file);
	sodium_memzero(sk, sizeof(sk));
	if (rc != KP_OFFLINE_OK) {
		rc = keyport_fail(c, KEYPORT_ENOMEM, "out of memory");
		goto out;
	}
	/* the file first: once the state forgets the key, no proof can be
	 * made any more */
	if (keyport_write_file(out_path, file) != 0) {
		rc = keyport_fail(c, KEYPORT_EIO, "cannot write %s: %s",
		                  out_path, strerror(errno));
		goto out;
	}
	keyport_clear_activation(st);
	keyport_note_clock(st, now, 0);
	rc = keyport_state_save(c, st);
out:
	free(file);
	json_decref(st);
	return rc;
}
