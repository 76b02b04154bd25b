/* keyport_client: online activation over HTTP, token checks and rollback
 * detection, and the offline activation files. */
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

static const char *const status_texts[] = {
    "ok",
    "invalid argument",
    "input/output error",
    "the server could not be reached",
    "the server refused the request",
    "the token's signature is not the product's",
    "the answer does not echo this request's nonce (replayed)",
    "a token or the clock went backwards (rollback)",
    "this machine is not activated",
    "the offline file was refused",
    "out of memory",
    "the token is for another machine or product",
    "no published release matches",
};

const char *
keyport_strerror(int status)
{
	if (status >= 0 &&
	    status < (int)(sizeof(status_texts) / sizeof(status_texts[0])))
		return status_texts[status];
	return "unknown error";
}

keyport_client *
keyport_client_new(const char *state_path)
{
	keyport_client *c;

	if (sodium_init() < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->timeout = KEYPORT_DEFAULT_TIMEOUT;
	c->interval = KEYPORT_DEFAULT_INTERVAL;
	c->grace = KEYPORT_DEFAULT_GRACE;
	if (state_path == NULL || state_path[0] == '\0')
		state_path = getenv("KEYPORT_STATE");
	if (state_path != NULL && state_path[0] != '\0') {
		snprintf(c->path, sizeof(c->path), "%s", state_path);
	} else if (keyport_plat_state_path(c->path, sizeof(c->path)) != 0) {
		snprintf(c->path, sizeof(c->path), "keyport-state.json");
	}
	return c;
}

void
keyport_client_free(keyport_client *c)
{
	if (c == NULL)
		return;
	keyport_sync_stop(c);
	json_decref(c->cache);
	if (c->cache_text != NULL) {
		sodium_memzero(c->cache_text, strlen(c->cache_text));
		free(c->cache_text);
	}
	sodium_memzero(c, sizeof(*c));
	free(c);
}

const char *
keyport_version(void)
{
	return KEYPORT_VERSION;
}

const char *
keyport_server_code(const keyport_client *c)
{
	return c->server_code;
}

static int
set_str(keyport_client *c, char *dst, size_t n, const char *v, const char *what)
{
	if (v == NULL)
		v = "";
	if (strlen(v) >= n)
		return keyport_fail(c, KEYPORT_EINVAL, "the %s is too long",
		                    what);
	snprintf(dst, n, "%s", v);
	return KEYPORT_OK;
}

int
keyport_set_timeout(keyport_client *c, long seconds)
{
	if (seconds < 1 || seconds > 3600)
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "the timeout must be 1 to 3600 seconds");
	c->timeout = seconds;
	return KEYPORT_OK;
}

int
keyport_set_proxy(keyport_client *c, const char *proxy)
{
	return set_str(c, c->proxy, sizeof(c->proxy), proxy, "proxy URL");
}

int
keyport_set_ca_file(keyport_client *c, const char *path)
{
	return set_str(c, c->ca_file, sizeof(c->ca_file), path, "CA file path");
}

int
keyport_set_server_key(keyport_client *c, const char *pin)
{
	return set_str(c, c->server_key, sizeof(c->server_key), pin,
	               "server key pin");
}

int
keyport_set_app_version(keyport_client *c, const char *version)
{
	return set_str(c, c->app_version, sizeof(c->app_version), version,
	               "application version (64 bytes at most)");
}

int
keyport_set_heartbeat_interval(keyport_client *c, long long seconds)
{
	if (seconds < 1 || seconds >= c->grace)
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "the heartbeat interval must be positive "
		                    "and below the grace period");
	c->interval = seconds;
	return KEYPORT_OK;
}

int
keyport_set_grace_period(keyport_client *c, long long seconds)
{
	if (seconds <= c->interval)
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "the grace period must be above the "
		                    "heartbeat interval");
	c->grace = seconds;
	return KEYPORT_OK;
}

const char *
keyport_error(const keyport_client *c)
{
	return c->err[0] != '\0' ? c->err : "no error";
}

int
keyport_set_product_key(keyport_client *c, const char *public_key)
{
	if (kp_token_key_decode(public_key, c->pk, sizeof(c->pk)) != 0)
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "the product key is not a base64 Ed25519 "
		                    "public key");
	c->have_pk = 1;
	return KEYPORT_OK;
}

/* ---- clock and token checks -------------------------------------------- */

static int64_t
newest_seen(json_t *st)
{
	int64_t a = keyport_st_int(st, "newestIssuedAt");
	int64_t b = keyport_st_int(st, "lastSeenClock");

	return a > b ? a : b;
}

static int
check_clock(keyport_client *c, json_t *st, int64_t now)
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

static void
note_clock(json_t *st, int64_t now, int64_t issued_at)
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
static int
check_token(keyport_client *c, json_t *st, const char *token, const char *nonce,
            const char *fingerprint, const char *product_id, int64_t now,
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
	rc = check_clock(c, st, now);
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

static void
store_activation(keyport_client *c, json_t *st, const kp_token_claims *k,
                 const char *token, int offline)
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
	rc = keyport_state_load(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	rc = check_clock(c, st, now);
	if (rc != KEYPORT_OK)
		goto out;
	rc = keyport_fingerprint(fp);
	if (rc != KEYPORT_OK) {
		keyport_fail(c, rc, "cannot compute the machine fingerprint");
		goto out;
	}
	/* The state is written before the server is told: a state that
	 * cannot be written stops here, before a seat is taken. */
	note_clock(st, now, 0);
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
	rc = check_token(c, st, token, nonce, fp, product_id, now, &k);
	if (rc != KEYPORT_OK)
		goto out;
	json_object_clear(st);
	json_object_set_new(st, "server", json_string(server));
	json_object_set_new(st, "key", json_string(key));
	store_activation(c, st, &k, token, 0);
	note_clock(st, now, k.issued_at);
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

static void clear_activation(json_t *st);

/* load the state of an active online activation */
static int
load_online(keyport_client *c, json_t **st)
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
	return KEYPORT_OK;
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

	rc = load_online(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	rc = check_clock(c, st, now);
	if (rc != KEYPORT_OK)
		goto out;
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
		clear_activation(st);
		note_clock(st, now, 0);
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
	rc = check_token(c, st, token, nonce, keyport_st_str(st, "fingerprint"),
	                 keyport_st_str(st, "productId"), now, &k);
	if (rc != KEYPORT_OK)
		goto out;
	store_activation(c, st, &k, token, 0);
	note_clock(st, now, k.issued_at);
	rc = keyport_state_save(c, st);
out:
	kp_token_claims_cleanup(&k);
	json_decref(st);
	json_decref(req);
	json_decref(reply);
	return rc;
}

static void
clear_activation(json_t *st)
{
	static const char *const drop[] = {
	    "activationId", "licenseId", "token",  "offline",
	    "verified",     "key",       "server", "clientSecretKey",
	    "pending",      NULL};
	const char *const *p;

	for (p = drop; *p != NULL; p++)
		json_object_del(st, *p);
}

int
keyport_deactivate(keyport_client *c)
{
	json_t *st = NULL, *req = NULL, *reply = NULL;
	char path[512];
	int rc;

	rc = load_online(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	rc = check_clock(c, st, keyport_now());
	if (rc != KEYPORT_OK)
		goto out;
	snprintf(path, sizeof(path), "/v1/activations/%s/deactivate",
	         keyport_st_str(st, "activationId"));
	rc = KEYPORT_ENOMEM;
	req = json_pack("{s:s}", "key", keyport_st_str(st, "key"));
	if (req == NULL)
		goto out;
	rc = post_json(c, keyport_st_str(st, "server"), path, req, &reply);
	if (rc != KEYPORT_OK)
		goto out;
	clear_activation(st);
	note_clock(st, keyport_now(), 0);
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
	rc = check_clock(c, st, now);
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
	rc = check_token(c, st, token, NULL, keyport_st_str(st, "fingerprint"),
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
	note_clock(st, now, 0);
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
	rc = check_token(c, st, token, NULL, fp, NULL, keyport_now(), &k);
	memcpy(c->pk, saved, sizeof(saved));
	c->have_pk = had;
out:
	kp_token_claims_cleanup(&k);
	json_decref(st);
	return rc;
}

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
	rc = keyport_state_load(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	rc = check_clock(c, st, now);
	if (rc != KEYPORT_OK)
		goto out;
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
	note_clock(st, now, 0);
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
	rc = keyport_state_load(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	rc = check_clock(c, st, now);
	if (rc != KEYPORT_OK)
		goto out;
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
	store_activation(c, st, &k, token, 1);
	json_object_del(st, "pending");
	note_clock(st, now, k.issued_at);
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

	rc = keyport_state_load(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	rc = check_clock(c, st, now);
	if (rc != KEYPORT_OK)
		goto out;
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
	clear_activation(st);
	note_clock(st, now, 0);
	rc = keyport_state_save(c, st);
out:
	free(file);
	json_decref(st);
	return rc;
}
