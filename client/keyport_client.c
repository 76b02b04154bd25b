/* keyport_client: the client handle (keyport_client_new/free) and its
 * settings, status texts and the last error. Online activation is
 * keyport_online.c, offline files keyport_offline.c, the token and clock
 * checks keyport_trust.c. */
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
