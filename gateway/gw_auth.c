/* gw_auth: bearer tokens -> caller, then the route's access level.
 *
 * Access tokens (kp_access.h) are verified here, locally, with the public
 * keys of auth: fetched with auth.PublicKeys at start and again when a
 * token names a key id the cache does not know (at most once a second, so
 * garbage kids cannot turn into an RPC storm). Personal access tokens
 * ("kp_pat_...") are opaque and resolved by auth.Authenticate.
 */
#include "gw_auth.h"

#include "gw_call.h"
#include "gw_response.h"
#include "kp_access.h"
#include "kp_call.h"
#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "proto/auth.pb-c.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <strings.h>
#include <time.h>

#define GW_AUTH_PAT_PREFIX "kp_pat_"

static pthread_rwlock_t gw_auth_lock = PTHREAD_RWLOCK_INITIALIZER;
static kp_access_keyset gw_auth_keys;     /* under gw_auth_lock */
static double gw_auth_last_fetch = -1e9; /* monotonic s, under the lock */
/* One fetch at a time: a request that meets a fetch in flight waits for
 * it and uses its keys (it answered 401 before, with the old keys). The
 * generation counts finished fetches. */
static pthread_mutex_t gw_auth_fetch_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint gw_auth_fetch_gen;

static double
gw_auth_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fetches the public keys from auth into the cache unless that was done
 * less than a second ago; waits for a fetch in flight instead of starting
 * another. Returns a kp_status. */
static int
gw_auth_fetch(gw_state *gw, int timeout_ms)
{
	Keyport__Auth__PublicKeysReply *rep = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	kp_access_keyset ks;
	unsigned seen = atomic_load(&gw_auth_fetch_gen);
	double now;
	int rv = KP_OK;

	pthread_mutex_lock(&gw_auth_fetch_lock);
	if (atomic_load(&gw_auth_fetch_gen) != seen)
		goto out; /* a fetch finished while this one waited */
	now = gw_auth_mono();
	pthread_rwlock_wrlock(&gw_auth_lock);
	if (now - gw_auth_last_fetch < 1.0) {
		pthread_rwlock_unlock(&gw_auth_lock);
		goto out;
	}
	gw_auth_last_fetch = now;
	pthread_rwlock_unlock(&gw_auth_lock);

	call.timeout_ms = timeout_ms;
	rv = kp_call_invoke(gw->clients[GW_AUTH], KP_RPC_AUTH_PUBLIC_KEYS,
	                    &call, NULL, (ProtobufCMessage **)&rep, &res);
	if (rv != KP_OK) {
		kp_log_warn("%s: %s", KP_RPC_AUTH_PUBLIC_KEYS->name,
		            res.message);
		goto out;
	}
	memset(&ks, 0, sizeof(ks));
	for (size_t i = 0; i < rep->n_keys && ks.count < KP_ACCESS_MAX_KEYS;
	     i++) {
		Keyport__Auth__PublicKey *k = rep->keys[i];
		if (k->key.len != 32 || strlen(k->kid) >= KP_ACCESS_KID_MAX)
			continue;
		snprintf(ks.keys[ks.count].kid, KP_ACCESS_KID_MAX, "%s", k->kid);
		memcpy(ks.keys[ks.count].pk, k->key.data, 32);
		ks.count++;
	}
	keyport__auth__public_keys_reply__free_unpacked(rep, NULL);
	pthread_rwlock_wrlock(&gw_auth_lock);
	gw_auth_keys = ks;
	pthread_rwlock_unlock(&gw_auth_lock);
	atomic_fetch_add(&gw_auth_fetch_gen, 1);
	kp_log_info("access-token keys: %zu", ks.count);
out:
	pthread_mutex_unlock(&gw_auth_fetch_lock);
	return rv;
}

/* Users whose tokens issued at or before `at` are void (disabled,
 * deleted, given another role or organization since), and sessions whose
 * tokens are all void (revoked: refresh-token reuse, a password change,
 * logout), polled from auth.Revocations at most every
 * KEYPORT_GW_REVOCATION_REFRESH_MS (default 5000): one RPC per interval,
 * not per request. A revoked session's entry has user_id "" and carries
 * the session id in sid. */
typedef struct gw_revocation {
	char user_id[40];
	char sid[40];
	int64_t at;
} gw_revocation;

static gw_revocation *gw_revs; /* under gw_auth_lock */
static size_t gw_nrevs;        /* under gw_auth_lock */
static pthread_mutex_t gw_rev_fetch = PTHREAD_MUTEX_INITIALIZER;
static double gw_rev_last = -1e9; /* under gw_rev_fetch */
static int64_t gw_rev_interval_ms = 5000;

static void
gw_auth_revocations_refresh(gw_state *gw)
{
	Keyport__Auth__RevocationsReply *rep = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	gw_revocation *nr, *old;
	double now = gw_auth_mono();
	size_t n;

	if (pthread_mutex_trylock(&gw_rev_fetch) != 0)
		return; /* another request is fetching: use the current list */
	if ((now - gw_rev_last) * 1000.0 < (double)gw_rev_interval_ms) {
		pthread_mutex_unlock(&gw_rev_fetch);
		return;
	}
	gw_rev_last = now;
	call.timeout_ms = 1000;
	if (kp_call_invoke(gw->clients[GW_AUTH], KP_RPC_AUTH_REVOCATIONS, &call,
	                   NULL, (ProtobufCMessage **)&rep, &res) != KP_OK) {
		kp_log_warn("%s: %s", KP_RPC_AUTH_REVOCATIONS->name,
		            res.message);
		pthread_mutex_unlock(&gw_rev_fetch);
		return;
	}
	n = rep->n_revocations + rep->n_session_ids;
	nr = calloc(n + 1, sizeof(*nr));
	if (nr != NULL) {
		for (size_t i = 0; i < rep->n_revocations; i++) {
			snprintf(nr[i].user_id, sizeof(nr[i].user_id), "%s",
			         rep->revocations[i]->user_id);
			nr[i].at = rep->revocations[i]->revoked_at;
		}
		for (size_t i = 0; i < rep->n_session_ids; i++)
			snprintf(nr[rep->n_revocations + i].sid,
			         sizeof(nr[0].sid), "%s", rep->session_ids[i]);
		pthread_rwlock_wrlock(&gw_auth_lock);
		old = gw_revs;
		gw_revs = nr;
		gw_nrevs = n;
		pthread_rwlock_unlock(&gw_auth_lock);
		free(old);
	}
	keyport__auth__revocations_reply__free_unpacked(rep, NULL);
	pthread_mutex_unlock(&gw_rev_fetch);
}

/* Whether the token of c (user, session, issued at) was revoked since. */
static int
gw_auth_revoked(gw_state *gw, const kp_access_claims *c)
{
	int revoked = 0;

	gw_auth_revocations_refresh(gw);
	pthread_rwlock_rdlock(&gw_auth_lock);
	for (size_t i = 0; i < gw_nrevs && !revoked; i++)
		revoked = gw_revs[i].user_id[0] != '\0'
		              ? c->issued_at <= gw_revs[i].at &&
		                    strcmp(gw_revs[i].user_id, c->user_id) == 0
		              : c->session_id[0] != '\0' &&
		                    strcasecmp(gw_revs[i].sid, c->session_id) == 0;
	pthread_rwlock_unlock(&gw_auth_lock);
	return revoked;
}

int
gw_auth_init(gw_state *gw)
{
	gw_rev_interval_ms = kp_cfg_int(KP_CFG_GW_REVOCATION_REFRESH_MS);
	/* auth may start after the gateway: a miss is retried on demand */
	if (kp_rpc_client_pipes(gw->clients[GW_AUTH]) > 0)
		gw_auth_fetch(gw, 1000);
	return KP_OK;
}

/* Copies the caller into the request's own storage. */
static void
gw_auth_set_caller(gw_request *r, const char *user_id, const char *role,
                   const char *org)
{
	keyport__caller__init(&r->caller);
	snprintf(r->caller_buf[0], sizeof(r->caller_buf[0]), "%s",
	         user_id ? user_id : "");
	snprintf(r->caller_buf[1], sizeof(r->caller_buf[1]), "%s",
	         role ? role : "");
	snprintf(r->caller_buf[2], sizeof(r->caller_buf[2]), "%s",
	         org ? org : "");
	r->caller.user_id = r->caller_buf[0];
	r->caller.role = r->caller_buf[1];
	r->caller.organization_id = r->caller_buf[2];
	r->authenticated = 1;
}

/* A personal access token: ask auth. */
static int
gw_auth_pat(gw_request *r, gw_response *w, const char *token)
{
	Keyport__Auth__AuthenticateRequest req =
	    KEYPORT__AUTH__AUTHENTICATE_REQUEST__INIT;
	Keyport__Auth__AuthenticateReply *rep = NULL;
	int rv;

	req.token = (char *)token;
	rv = gw_call(r, w, KP_RPC_AUTH_AUTHENTICATE, &req.base,
	             (ProtobufCMessage **)&rep);
	if (rv != KP_OK)
		return -1;
	if (rep->caller == NULL || rep->caller->user_id == NULL ||
	    rep->caller->user_id[0] == '\0') {
		gw_error(w, 401, "UNAUTHENTICATED", "invalid token");
		rv = -1;
	} else {
		gw_auth_set_caller(r, rep->caller->user_id, rep->caller->role,
		                   rep->caller->organization_id);
		r->session_id[0] = '\0';
	}
	keyport__auth__authenticate_reply__free_unpacked(rep, NULL);
	return rv == KP_OK ? 0 : -1;
}

/* An access token: verify locally. */
static int
gw_auth_access(gw_request *r, gw_response *w, const char *token)
{
	kp_access_claims c;
	int rv;

	pthread_rwlock_rdlock(&gw_auth_lock);
	rv = kp_access_verify(token, &gw_auth_keys, kp_now(), &c);
	pthread_rwlock_unlock(&gw_auth_lock);
	if (rv == KP_ENOTFOUND) {
		/* a key we have not seen (auth rotated, or we started first) */
		if (gw_auth_fetch(r->gw, 2000) == KP_EUNAVAIL) {
			gw_error(w, 503, "SERVICE_UNAVAILABLE",
			         "cannot verify the token now");
			return -1;
		}
		pthread_rwlock_rdlock(&gw_auth_lock);
		rv = kp_access_verify(token, &gw_auth_keys, kp_now(), &c);
		pthread_rwlock_unlock(&gw_auth_lock);
	}
	if (rv == KP_OK && gw_auth_revoked(r->gw, &c))
		rv = KP_EUNAUTH;
	if (rv != KP_OK) {
		gw_error(w, 401, "UNAUTHENTICATED", "invalid or expired token");
		gw_header(w, "WWW-Authenticate",
		          "Bearer error=\"invalid_token\"");
		return -1;
	}
	gw_auth_set_caller(r, c.user_id, c.role, c.organization_id);
	snprintf(r->session_id, sizeof(r->session_id), "%s", c.session_id);
	return 0;
}

static int
gw_auth_bearer(gw_request *r, gw_response *w)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	                                            "Authorization");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		gw_error(w, 401, "UNAUTHENTICATED",
		         "an Authorization: Bearer token is required");
		gw_header(w, "WWW-Authenticate", "Bearer");
		return -1;
	}
	h += 7;
	if (strncmp(h, GW_AUTH_PAT_PREFIX, strlen(GW_AUTH_PAT_PREFIX)) == 0)
		return gw_auth_pat(r, w, h);
	return gw_auth_access(r, w, h);
}

int
gw_auth_check(gw_request *r, gw_response *w, gw_access access)
{
	const char *role;

	if (access == GW_PUBLIC)
		return 0;
	if (gw_auth_bearer(r, w) != 0)
		return -1;
	role = r->caller.role;
	if ((access == GW_ADMIN && strcmp(role, "admin") != 0) ||
	    (access == GW_ORG_ADMIN &&
	     strcmp(role, "organization-admin") != 0)) {
		gw_error(w, 403, "FORBIDDEN",
		         "this route is not for the %s role", role);
		return -1;
	}
	return 0;
}
