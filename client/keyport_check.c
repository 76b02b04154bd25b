/* keyport_check: the one decision call (keyport_check), the getters of the
 * stored token, the background sync thread and the update check. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyport_int.h"
#include "kp_token.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

json_t *
keyport_token_payload(const char *token)
{
	const char *dot = strchr(token, '.');
	unsigned char *buf;
	size_t len = 0;
	json_t *p = NULL;

	if (dot == NULL || dot == token)
		return NULL;
	buf = malloc((size_t)(dot - token) + 1);
	if (buf == NULL)
		return NULL;
	if (sodium_base642bin(buf, (size_t)(dot - token), token,
	                      (size_t)(dot - token), NULL, &len, NULL,
	                      B64URL) == 0)
		p = json_loadb((const char *)buf, len, 0, NULL);
	free(buf);
	if (!json_is_object(p)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static const char *const check_texts[] = {
    "ok",        "grace",       "expired",
    "suspended", "revoked",     "not-activated",
    "tampered",  "unreachable", "error",
};

const char *
keyport_check_str(int result)
{
	if (result >= 0 &&
	    result < (int)(sizeof(check_texts) / sizeof(check_texts[0])))
		return check_texts[result];
	return "error";
}

/* The stored token against this machine's clock: not behind the newest
 * time seen, not before the token's issue, not older than one seen. */
static int
check_time(keyport_client *c, json_t *st, const kp_token_claims *k, int64_t now)
{
	int64_t seen = keyport_st_int(st, "lastSeenClock");

	if (keyport_st_int(st, "newestIssuedAt") > seen)
		seen = keyport_st_int(st, "newestIssuedAt");
	if (now + KEYPORT_CLOCK_SKEW < seen)
		return keyport_fail(
		    c, KEYPORT_EROLLBACK,
		    "the system clock went backwards: now %lld, "
		    "already seen %lld",
		    (long long)now, (long long)seen);
	if (k->issued_at > now + KEYPORT_CLOCK_SKEW)
		return keyport_fail(
		    c, KEYPORT_EROLLBACK,
		    "the system clock is behind the token's issue "
		    "time (issuedAt %lld, now %lld)",
		    (long long)k->issued_at, (long long)now);
	if (k->issued_at < keyport_st_int(st, "newestIssuedAt"))
		return keyport_fail(
		    c, KEYPORT_EROLLBACK,
		    "the stored token is older than one already "
		    "seen");
	return KEYPORT_OK;
}

/* The stored token against this machine and the stored activation:
 * KEYPORT_CHECK_OK, _TAMPERED or _ERROR (no fingerprint). */
static int
check_binding(keyport_client *c, json_t *st, const kp_token_claims *k)
{
	char fp[65];

	if (keyport_fingerprint(fp) != KEYPORT_OK) {
		keyport_fail(c, KEYPORT_EIO,
		             "cannot compute the machine fingerprint");
		return KEYPORT_CHECK_ERROR;
	}
	if (strcmp(fp, k->fingerprint) != 0 ||
	    strcmp(k->fingerprint, keyport_st_str(st, "fingerprint")) != 0) {
		keyport_fail(c, KEYPORT_EMISMATCH,
		             "the token is for another machine");
		return KEYPORT_CHECK_TAMPERED;
	}
	if (strcmp(k->product_id, keyport_st_str(st, "productId")) != 0 ||
	    strcmp(k->activation_id, keyport_st_str(st, "activationId")) != 0) {
		keyport_fail(c, KEYPORT_EMISMATCH,
		             "the token is not the stored activation's");
		return KEYPORT_CHECK_TAMPERED;
	}
	return KEYPORT_CHECK_OK;
}

/* The verdict of a genuine token's license status and expiry
 * (KEYPORT_CHECK_OK when active and unexpired); c's error says why. */
static int
check_status(keyport_client *c, const kp_token_claims *k, int64_t now)
{
	int rc = KEYPORT_CHECK_OK;

	if (strcmp(k->status, "revoked") == 0) {
		rc = KEYPORT_CHECK_REVOKED;
		keyport_fail(c, KEYPORT_OK, "the license was revoked");
	} else if (strcmp(k->status, "suspended") == 0) {
		rc = KEYPORT_CHECK_SUSPENDED;
		keyport_fail(c, KEYPORT_OK, "the license is suspended");
	} else if (strcmp(k->status, "expired") == 0 ||
	           (k->expires_at != 0 && now >= k->expires_at)) {
		rc = KEYPORT_CHECK_EXPIRED;
		keyport_fail(c, KEYPORT_OK, "the license expired at %lld",
		             (long long)k->expires_at);
	} else if (strcmp(k->status, "active") != 0) {
		rc = KEYPORT_CHECK_TAMPERED;
		keyport_fail(c, KEYPORT_EFORGED, "unknown license status %s",
		             k->status);
	}
	return rc;
}

/* The verdict of an active token of an online activation: how long ago
 * the server was reached. */
static int
check_reached(keyport_client *c, const kp_token_claims *k, int64_t now)
{
	int64_t age = now - k->issued_at;

	if (k->offline)
		return KEYPORT_CHECK_OK;
	if (age > c->grace) {
		keyport_fail(c, KEYPORT_ENET,
		             "the server was last reached %lld s ago, beyond "
		             "the grace period of %lld s",
		             (long long)age, c->grace);
		return KEYPORT_CHECK_UNREACHABLE;
	}
	if (age > c->interval) {
		keyport_fail(c, KEYPORT_OK,
		             "the server was last reached %lld s ago (grace "
		             "period: %lld s)",
		             (long long)age, c->grace);
		return KEYPORT_CHECK_GRACE;
	}
	return KEYPORT_CHECK_OK;
}

/* The key the stored token is checked with: the pinned one, or the one
 * stored with the activation. */
static int
check_key(keyport_client *c, json_t *st, unsigned char pk[32])
{
	if (c->have_pk) {
		memcpy(pk, c->pk, 32);
		return KEYPORT_OK;
	}
	if (kp_token_key_decode(keyport_st_str(st, "productKey"), pk, 32) != 0)
		return keyport_fail(c, KEYPORT_EINVAL,
		                    "no product key: pin it with "
		                    "keyport_set_product_key");
	return KEYPORT_OK;
}

int
keyport_check(keyport_client *c)
{
	json_t *st = NULL;
	kp_token_claims k = {0};
	unsigned char pk[32];
	const char *token;
	int64_t now = keyport_now();
	int rc = KEYPORT_CHECK_ERROR, r;

	c->verified = 0;
	if (keyport_state_load(c, &st) != KEYPORT_OK)
		return KEYPORT_CHECK_ERROR;
	token = keyport_st_str(st, "token");
	if (token[0] == '\0' || keyport_st_str(st, "activationId")[0] == '\0') {
		rc = KEYPORT_CHECK_NOT_ACTIVATED;
		keyport_fail(c, KEYPORT_ENOTACTIVE,
		             "this machine is not activated");
		goto out;
	}
	if (check_key(c, st, pk) != KEYPORT_OK)
		goto out;
	r = kp_token_verify_claims(token, pk, &k);
	if (r != KP_TOKEN_OK) {
		rc = KEYPORT_CHECK_TAMPERED;
		keyport_fail(c, KEYPORT_EFORGED,
		             r == KP_TOKEN_FORGED
		                 ? "the token is not signed by the product key"
		                 : "the stored token is malformed");
		goto out;
	}
	c->verified = 1;
	rc = KEYPORT_CHECK_TAMPERED;
	if (check_time(c, st, &k, now) != KEYPORT_OK ||
	    (rc = check_binding(c, st, &k)) != KEYPORT_CHECK_OK)
		goto out;
	/* the token is genuine: note the local time (rollback detection) */
	if (now > keyport_st_int(st, "lastSeenClock")) {
		json_object_set_new(st, "lastSeenClock", json_integer(now));
		if (keyport_state_save(c, st) != KEYPORT_OK) {
			rc = KEYPORT_CHECK_ERROR;
			goto out;
		}
	}
	if ((rc = check_status(c, &k, now)) == KEYPORT_CHECK_OK &&
	    (rc = check_reached(c, &k, now)) == KEYPORT_CHECK_OK)
		c->err[0] = '\0';
out:
	kp_token_claims_cleanup(&k);
	sodium_memzero(pk, sizeof(pk));
	json_decref(st);
	return rc;
}

/* ---- getters ------------------------------------------------------------ */

/* c->cache: {"state": <state>, "token": <payload or {}>}, parsed again
 * only when the state file's text changed, so the strings handed out stay
 * valid until the state changes */
static json_t *
cache(keyport_client *c)
{
	json_t *st = NULL, *p = NULL, *n;
	char *text = NULL;

	if (keyport_read_file(c->path, 1 << 20, &text, NULL) != 0)
		text = NULL;
	if (c->cache != NULL && ((text == NULL && c->cache_text == NULL) ||
	                         (text != NULL && c->cache_text != NULL &&
	                          strcmp(text, c->cache_text) == 0))) {
		free(text);
		return c->cache;
	}
	st = text != NULL ? json_loads(text, 0, NULL) : NULL;
	if (!json_is_object(st)) {
		json_decref(st);
		st = json_object();
	}
	if (keyport_st_str(st, "token")[0] != '\0')
		p = keyport_token_payload(keyport_st_str(st, "token"));
	if (p == NULL)
		p = json_object();
	n = json_pack("{s:o*, s:o*}", "state", st, "token", p);
	if (n == NULL) {
		free(text);
		return c->cache; /* keep the old one: its strings stay valid */
	}
	json_decref(c->cache);
	free(c->cache_text);
	c->cache = n;
	c->cache_text = text;
	return n;
}

static const char *
token_str(keyport_client *c, const char *name)
{
	const char *s = json_string_value(
	    json_object_get(json_object_get(cache(c), "token"), name));

	return s != NULL ? s : "";
}

static long long
token_int(keyport_client *c, const char *name, long long absent)
{
	json_t *v = json_object_get(json_object_get(cache(c), "token"), name);

	return json_is_integer(v) ? (long long)json_integer_value(v) : absent;
}

const char *
keyport_license_id(keyport_client *c)
{
	return token_str(c, "licenseId");
}

const char *
keyport_license_key(keyport_client *c)
{
	const char *s = json_string_value(
	    json_object_get(json_object_get(cache(c), "state"), "key"));

	return s != NULL ? s : "";
}

const char *
keyport_license_type(keyport_client *c)
{
	return token_str(c, "type");
}

const char *
keyport_license_status(keyport_client *c)
{
	return token_str(c, "status");
}

const char *
keyport_license_user_id(keyport_client *c)
{
	return token_str(c, "userId");
}

const char *
keyport_license_organization_id(keyport_client *c)
{
	return token_str(c, "organizationId");
}

const char *
keyport_activation_id(keyport_client *c)
{
	return token_str(c, "activationId");
}

const char *
keyport_product_id(keyport_client *c)
{
	return token_str(c, "productId");
}

const char *
keyport_license_metadata(keyport_client *c, const char *name)
{
	const char *s;

	if (name == NULL)
		return "";
	s = json_string_value(json_object_get(
	    json_object_get(json_object_get(cache(c), "token"), "metadata"),
	    name));
	return s != NULL ? s : "";
}

long long
keyport_license_expires_at(keyport_client *c)
{
	return token_int(c, "expiresAt", 0);
}

long long
keyport_license_allowed_activations(keyport_client *c)
{
	return token_int(c, "allowedActivations", -2);
}

long long
keyport_license_total_activations(keyport_client *c)
{
	return token_int(c, "totalActivations", -2);
}

long long
keyport_last_contact(keyport_client *c)
{
	return token_int(c, "issuedAt", 0);
}

/* ---- background sync ---------------------------------------------------- */

struct keyport_sync {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop, wake;
	keyport_client *own; /* the thread's own client (same settings) */
	keyport_callback cb;
	void *arg;
};

static void *
sync_main(void *arg)
{
	keyport_sync *s = arg;
	struct timespec until;
	int last = -1, r;

	for (;;) {
		/* a failed heartbeat is retried on the next round; the check
		 * below says what the application may do meanwhile */
		keyport_heartbeat(s->own);
		r = keyport_check(s->own);
		if (r != last) {
			last = r;
			s->cb(r, s->arg);
		}
		pthread_mutex_lock(&s->mu);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)s->own->interval;
		while (!s->stop && !s->wake)
			if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0)
				break;
		s->wake = 0;
		r = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (r)
			break;
	}
	return NULL;
}

int
keyport_sync_start(keyport_client *c, keyport_callback cb, void *arg)
{
	keyport_sync *s;
	pthread_condattr_t ca;

	if (c->sync != NULL || cb == NULL)
		return keyport_fail(c, KEYPORT_EINVAL,
		                    c->sync != NULL ? "sync already started"
		                                    : "a callback is required");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return keyport_fail(c, KEYPORT_ENOMEM, "out of memory");
	s->own = calloc(1, sizeof(*s->own));
	if (s->own == NULL) {
		free(s);
		return keyport_fail(c, KEYPORT_ENOMEM, "out of memory");
	}
	memcpy(s->own, c, sizeof(*c));
	s->own->cache = NULL;
	s->own->cache_text = NULL;
	s->own->sync = NULL;
	s->cb = cb;
	s->arg = arg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, sync_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		keyport_client_free(s->own);
		free(s);
		return keyport_fail(c, KEYPORT_ENOMEM,
		                    "cannot start the sync thread");
	}
	c->sync = s;
	return KEYPORT_OK;
}

void
keyport_sync_now(keyport_client *c)
{
	keyport_sync *s = c->sync;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->wake = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void
keyport_sync_stop(keyport_client *c)
{
	keyport_sync *s = c->sync;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	keyport_client_free(s->own);
	free(s);
	c->sync = NULL;
}

/* ---- update check ------------------------------------------------------- */

/* compare dotted versions number by number ("1.10.0" > "1.9"); a
 * non-numeric part compares as text */
static int
version_cmp(const char *a, const char *b)
{
	char *ea, *eb;
	unsigned long long x, y;

	while (*a == 'v' || *a == 'V')
		a++;
	while (*b == 'v' || *b == 'V')
		b++;
	while (*a != '\0' || *b != '\0') {
		x = strtoull(a, &ea, 10);
		y = strtoull(b, &eb, 10);
		if (ea == a || eb == b)
			return strcmp(a, b) > 0 ? 1 : strcmp(a, b) < 0 ? -1 : 0;
		if (x != y)
			return x > y ? 1 : -1;
		a = *ea == '.' ? ea + 1 : ea;
		b = *eb == '.' ? eb + 1 : eb;
		if ((*ea != '.' && *ea != '\0') || (*eb != '.' && *eb != '\0'))
			return strcmp(a, b) > 0 ? 1 : strcmp(a, b) < 0 ? -1 : 0;
	}
	return 0;
}

static void
copy_member(char *dst, size_t n, json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	snprintf(dst, n, "%s", s != NULL ? s : "");
}

int
keyport_latest_release(keyport_client *c, const char *platform,
                       const char *channel, keyport_release *out)
{
	json_t *st = NULL, *reply = NULL;
	char path[1024], url[2048], hdr[256];
	char *ep = NULL, *ec = NULL;
	size_t n;
	long status;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = keyport_state_load(c, &st);
	if (rc != KEYPORT_OK)
		return rc;
	if (keyport_st_str(st, "productId")[0] == '\0' ||
	    keyport_st_str(st, "key")[0] == '\0' ||
	    keyport_st_str(st, "server")[0] == '\0') {
		rc = keyport_fail(c, KEYPORT_ENOTACTIVE,
		                  "this machine is not activated online");
		goto out;
	}
	rc = KEYPORT_ENOMEM;
	ep = keyport_escape(platform);
	ec = keyport_escape(channel);
	if (ep == NULL || ec == NULL) {
		keyport_fail(c, rc, "out of memory");
		goto out;
	}
	/* only the filters given: the server's defaults otherwise (channel
	 * stable) */
	if (strlen(ep) + strlen(ec) + 200 > sizeof(path)) {
		rc = keyport_fail(c, KEYPORT_EINVAL,
		                  "platform or channel too long");
		goto out;
	}
	n = (size_t)snprintf(path, sizeof(path),
	                     "/v1/products/%.128s/releases/latest",
	                     keyport_st_str(st, "productId"));
	if (ep[0] != '\0')
		n += (size_t)snprintf(path + n, sizeof(path) - n,
		                      "?platform=%s", ep);
	if (ec[0] != '\0')
		snprintf(path + n, sizeof(path) - n, "%cchannel=%s",
		         ep[0] != '\0' ? '&' : '?', ec);
	if (keyport_url(url, sizeof(url), keyport_st_str(st, "server"), path) !=
	        0 ||
	    (size_t)snprintf(hdr, sizeof(hdr), "X-License-Key: %s",
	                     keyport_st_str(st, "key")) >= sizeof(hdr)) {
		rc = keyport_fail(c, KEYPORT_EINVAL, "URL or key too long");
		goto out;
	}
	rc = keyport_http_ok(c, "GET", url, NULL, hdr, NULL, &status, &reply);
	sodium_memzero(hdr, sizeof(hdr));
	if (rc == KEYPORT_ESERVER &&
	    strcmp(c->server_code, "NO_RELEASE") == 0) {
		rc = keyport_fail(c, KEYPORT_ENORELEASE,
		                  "no published release for this license");
		goto out;
	}
	if (rc != KEYPORT_OK)
		goto out;
	copy_member(out->id, sizeof(out->id), reply, "id");
	copy_member(out->name, sizeof(out->name), reply, "name");
	copy_member(out->version, sizeof(out->version), reply, "version");
	copy_member(out->channel, sizeof(out->channel), reply, "channel");
	copy_member(out->platform, sizeof(out->platform), reply, "platform");
	copy_member(out->published_at, sizeof(out->published_at), reply,
	            "publishedAt");
	out->newer = c->app_version[0] != '\0' &&
	             version_cmp(out->version, c->app_version) > 0;
out:
	free(ep);
	free(ec);
	json_decref(reply);
	json_decref(st);
	return rc;
}
