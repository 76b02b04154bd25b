/* keyport_online: online activation over HTTP: activate, heartbeat,
 * deactivate, status and token verification (the checks are
 * keyport_trust.c). */
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

/* ---- HTTP --------------------------------------------------------------- */

/* POST body to server+path; on 2xx *reply is the parsed JSON object. */
static int
post_json(keyport_client *c, const char *server, const char *path, json_t *body,
          json_t **reply)
{
	char url[2048];
	long status;

	*reply = NULL;
	if (keyport_url(url, sizeof(url), server, path) != 0)
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "the server URL is too long");
	return keyport_http_ok(c, "POST", url, NULL, NULL, body, &status,
	                       reply);
}

static void
make_nonce(char out[32])
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	sodium_bin2base64(out, 32, r, sizeof(r), B64URL);
}

/* ---- online -------------------------------------------------------------- */

/* undo an activation the state could not keep, so no seat is lost */
static void
undo_activation(keyport_client *c, const char *server, const char *key,
                const char *activation_id)
{
	char path[256], err[sizeof(c->err)];
	json_t *req, *reply = NULL;

	memcpy(err, c->err, sizeof(err));
	snprintf(path, sizeof(path), "/v1/activations/%s/deactivate",
	         activation_id);
	req = json_pack("{s:s}", "key", key);
	if (req != NULL)
		post_json(c, server, path, req, &reply);
	json_decref(req);
	json_decref(reply);
	memcpy(c->err, err, sizeof(err));
}

int
keyport_activate(keyport_client *c, const char *server_url, const char *key,
                 const char *product_id)
{
	char fp[65], nonce[32], host[256] = "", os[64], osv[64], server[1024];
	json_t *st = NULL, *req = NULL, *reply = NULL;
	kp_token_claims k = {0};
	const char *token;
	int64_t now = keyport_now();
	size_t len;
	int rc;

	if (server_url == NULL || key == NULL || product_id == NULL ||
	    !server_url[0] || !key[0] || !product_id[0])
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "server, key and product are required");
	/* the base without its trailing slashes: ".../" + "/v1/..." would
	 * be another route */
	len = strlen(server_url);
	while (len > 0 && server_url[len - 1] == '/')
		len--;
	if (len == 0 || len >= sizeof(server))
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "the server URL is empty or too long");
	snprintf(server, sizeof(server), "%.*s", (int)len, server_url);
	rc = keyport_state_load_at(c, &st, now);
	if (rc != KEYPORT_OK)
		return rc;
	rc = keyport_fingerprint(fp);
	if (rc != KEYPORT_OK) {
		keyport_fail(c, rc, "cannot compute the machine fingerprint");
		goto out;
	}
	/* The state is written before the server is told: a state that
	 * cannot be written stops here, before a seat is taken. */
	keyport_note_clock(st, now, 0);
	rc = keyport_state_save(c, st);
	if (rc != KEYPORT_OK)
		goto out;
	keyport_plat_hostname(host, sizeof(host));
	if (host[0] == '\0')
		snprintf(host, sizeof(host), "unknown");
	keyport_plat_os(os, sizeof(os), osv, sizeof(osv));
	make_nonce(nonce);
	rc = KEYPORT_ENOMEM;
	req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "key", key,
	                "productId", product_id, "fingerprint", fp, "hostname",
	                host, "os", os[0] ? os : "unknown", "osVersion", osv,
	                "appVersion", c->app_version, "nonce", nonce);
	if (req == NULL)
		goto out;
	rc = post_json(c, server, "/v1/activations", req, &reply);
	if (rc != KEYPORT_OK)
		goto out;
	token = json_string_value(json_object_get(reply, "token"));
	if (token == NULL) {
		rc = keyport_fail(c, KEYPORT_ESERVER,
		                  "the server's answer has no token");
		goto out;
	}
	rc = keyport_check_token(c, st, token, nonce, fp, product_id, now, &k);
	if (rc != KEYPORT_OK)
		goto out;
	json_object_clear(st);
	json_object_set_new(st, "server", json_string(server));
	json_object_set_new(st, "key", json_string(key));
	keyport_store_activation(c, st, &k, token, 0);
	keyport_note_clock(st, now, k.issued_at);
	rc = keyport_state_save(c, st);
	if (rc != KEYPORT_OK)
		undo_activation(c, server, key, k.activation_id);
out:
	kp_token_claims_cleanup(&k);
	json_decref(st);
	json_decref(req);
	json_decref(reply);
	return rc;
}

/* load the state of an active online activation and check the clock
 * against it (keyport_check_clock) */
static int
load_online(keyport_client *c, json_t **st, int64_t now)
{
	int rc = keyport_state_load(c, st);

	if (rc != KEYPORT_OK)
		return rc;
	if (keyport_st_str(*st, "activationId")[0] == '\0') {
		json_decref(*st);
		*st = NULL;
		return keyport_fail(c, KEYPORT_ENOTACTIVE,
		                    "this machine is not activated");
	}
	if (json_is_true(json_object_get(*st, "offline"))) {
		json_decref(*st);
		*st = NULL;
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "the activation is offline: use "
		                    "offline-deactivate");
	}
	if (!c->have_pk && keyport_st_str(*st, "productKey")[0] != '\0')
		keyport_set_product_key(c, keyport_st_str(*st, "productKey"));
	if ((rc = keyport_check_clock(c, *st, now)) != KEYPORT_OK) {
		json_decref(*st);
		*st = NULL;
	}
	return rc;
}

int
keyport_heartbeat(keyport_client *c)
{
	json_t *st = NULL, *req = NULL, *reply = NULL;
	kp_token_claims k = {0};
	char path[512], nonce[32];
	const char *token;
	int64_t now = keyport_now();
	int rc;

	rc = load_online(c, &st, now);
	if (rc != KEYPORT_OK)
		return rc;
	make_nonce(nonce);
	snprintf(path, sizeof(path), "/v1/activations/%s/heartbeat",
	         keyport_st_str(st, "activationId"));
	rc = KEYPORT_ENOMEM;
	req = json_pack("{s:s, s:s}", "key", keyport_st_str(st, "key"), "nonce",
	                nonce);
	if (req == NULL)
		goto out;
	rc = post_json(c, keyport_st_str(st, "server"), path, req, &reply);
	if (rc == KEYPORT_ESERVER &&
	    strcmp(c->server_code, "ACTIVATION_NOT_FOUND") == 0) {
		/* deactivated elsewhere (the portal freed the seat, or the
		 * lease ran out): this machine is no longer activated */
		keyport_clear_activation(st);
		keyport_note_clock(st, now, 0);
		rc = keyport_state_save(c, st);
		if (rc == KEYPORT_OK)
			rc = keyport_fail(c, KEYPORT_ENOTACTIVE,
			                  "the server no longer knows this "
			                  "activation: it was deactivated");
		goto out;
	}
	if (rc != KEYPORT_OK)
		goto out;
	token = json_string_value(json_object_get(reply, "token"));
	if (token == NULL) {
		rc = keyport_fail(c, KEYPORT_ESERVER,
		                  "the server's answer has no token");
		goto out;
	}
	rc = keyport_check_token(c, st, token, nonce,
	                         keyport_st_str(st, "fingerprint"),
	                         keyport_st_str(st, "productId"), now, &k);
	if (rc != KEYPORT_OK)
		goto out;
	keyport_store_activation(c, st, &k, token, 0);
	keyport_note_clock(st, now, k.issued_at);
	rc = keyport_state_save(c, st);
out:
	kp_token_claims_cleanup(&k);
	json_decref(st);
	json_decref(req);
	json_decref(reply);
	return rc;
}

int
keyport_deactivate(keyport_client *c)
{
	json_t *st = NULL, *req = NULL, *reply = NULL;
	char path[512];
	int rc;

	rc = load_online(c, &st, keyport_now());
	if (rc != KEYPORT_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/activations/%s/deactivate",
	         keyport_st_str(st, "activationId"));
	rc = KEYPORT_ENOMEM;
	req = json_pack("{s:s}", "key", keyport_st_str(st, "key"));
	if (req == NULL)
		goto out;
	rc = post_json(c, keyport_st_str(st, "server"), path, req, &reply);
	if (rc != KEYPORT_OK)
		goto out;
	keyport_clear_activation(st);
	keyport_note_clock(st, keyport_now(), 0);
	rc = keyport_state_save(c, st);
out:
	json_decref(st);
	json_decref(req);
	json_decref(reply);
	return rc;
}

int
keyport_status(keyport_client *c, keyport_info *info)
{
	json_t *st = NULL;
	kp_token_claims k = {0};
	const char *token;
	int64_t now = keyport_now();
	int rc;

	memset(info, 0, sizeof(*info));
	rc = keyport_state_load(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	info->pending_request = json_is_object(json_object_get(st, "pending"));
	rc = keyport_check_clock(c, st, now);
	if (rc != KEYPORT_OK)
		goto out;
	token = keyport_st_str(st, "token");
	if (token[0] == '\0') {
		rc = keyport_fail(c, KEYPORT_ENOTACTIVE,
		                  "this machine is not activated");
		goto out;
	}
	if (!c->have_pk && keyport_st_str(st, "productKey")[0] != '\0')
		keyport_set_product_key(c, keyport_st_str(st, "productKey"));
	rc = keyport_check_token(c, st, token, NULL,
	                         keyport_st_str(st, "fingerprint"),
	                         keyport_st_str(st, "productId"), now, &k);
	if (rc != KEYPORT_OK)
		goto out;
	info->active = 1;
	info->offline = json_is_true(json_object_get(st, "offline"));
	info->verified = c->have_pk;
	snprintf(info->activation_id, sizeof(info->activation_id), "%s",
	         k.activation_id);
	snprintf(info->license_id, sizeof(info->license_id), "%s",
	         k.license_id);
	snprintf(info->product_id, sizeof(info->product_id), "%s",
	         k.product_id);
	snprintf(info->status, sizeof(info->status), "%s", k.status);
	snprintf(info->fingerprint, sizeof(info->fingerprint), "%s",
	         k.fingerprint);
	snprintf(info->server, sizeof(info->server), "%s",
	         keyport_st_str(st, "server"));
	info->expires_at = k.expires_at;
	info->issued_at = k.issued_at;
	/* remember the newest local time seen, so a later rollback shows */
	keyport_note_clock(st, now, 0);
	rc = keyport_state_save(c, st);
out:
	kp_token_claims_cleanup(&k);
	json_decref(st);
	return rc;
}

int
keyport_verify_token(keyport_client *c, const char *token,
                     const unsigned char public_key[32])
{
	json_t *st = NULL;
	kp_token_claims k = {0};
	char fp[65];
	int rc, had = c->have_pk;
	unsigned char saved[32];

	rc = keyport_state_load(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	rc = keyport_fingerprint(fp);
	if (rc != KEYPORT_OK) {
		keyport_fail(c, rc, "cannot compute the machine fingerprint");
		goto out;
	}
	memcpy(saved, c->pk, sizeof(saved));
	memcpy(c->pk, public_key, sizeof(c->pk));
	c->have_pk = 1;
	rc = keyport_check_token(c, st, token, NULL, fp, NULL, keyport_now(),
	                         &k);
	memcpy(c->pk, saved, sizeof(saved));
	c->have_pk = had;
out:
	kp_token_claims_cleanup(&k);
	json_decref(st);
	return rc;
}
