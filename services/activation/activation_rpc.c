/* activation_rpc: activate, heartbeat, deactivate, list and counters (the
 * offline file exchange is in activation_offline.c).
 *
 * Limits are enforced under the per-license lock: the license's row of
 * license_counters, created on first use and locked by the same upsert
 * (INSERT ... ON CONFLICT DO UPDATE ... RETURNING locks the row until the
 * transaction ends), so concurrent activations of one license, from any
 * number of service replicas, are serialised by PostgreSQL.
 *
 * Leases (license.lease_seconds > 0): an activation not seen for longer is
 * released at activation time under the license lock, and a heartbeat that
 * arrives after its lease ran out finds its activation released (404); the
 * lease sweep (activation_lease.c) releases the others without any call.
 */
#include "activation_internal.h"
#include "activation_rpc.h"

#include "kp_pgarr.h"
#include "kp_clock.h"
#include "kp_db.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"
#include "proto/activation.pb-c.h"
#include "proto/license.pb-c.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* last_seen_at is written at most once a minute per activation */
#define ACT_SEEN_EVERY 60

/* ---- rows ---------------------------------------------------------------- */

void
act_row_read(act_row *r, PGresult *res, int row, int col)
{
	Keyport__Activation__Activation init =
	    KEYPORT__ACTIVATION__ACTIVATION__INIT;

	r->msg = init;
	r->msg.id = PQgetvalue(res, row, col + 0);
	r->msg.license_id = PQgetvalue(res, row, col + 1);
	r->msg.product_id = PQgetvalue(res, row, col + 2);
	r->msg.fingerprint = PQgetvalue(res, row, col + 3);
	r->msg.hostname = PQgetvalue(res, row, col + 4);
	r->msg.os = PQgetvalue(res, row, col + 5);
	r->msg.os_version = PQgetvalue(res, row, col + 6);
	r->msg.app_version = PQgetvalue(res, row, col + 7);
	r->msg.vm_name = PQgetvalue(res, row, col + 8);
	r->msg.offline = PQgetvalue(res, row, col + 9)[0] == 't';
	r->created_t = strtoll(PQgetvalue(res, row, col + 10), NULL, 10);
	r->seen_t = strtoll(PQgetvalue(res, row, col + 11), NULL, 10);
	r->deact_t = strtoll(PQgetvalue(res, row, col + 12), NULL, 10);
	kp_time_format(r->created_t, r->created, sizeof(r->created));
	kp_time_format(r->seen_t, r->seen, sizeof(r->seen));
	r->deact[0] = '\0';
	if (r->deact_t != 0)
		kp_time_format(r->deact_t, r->deact, sizeof(r->deact));
	r->msg.created_at = r->created;
	r->msg.last_seen_at = r->seen;
	r->msg.deactivated_at = r->deact;
}

/* act_parse_time reads the RFC 3339 UTC prefix "YYYY-MM-DDTHH:MM:SS";
 * 0 for "" or garbage. */
int64_t
act_parse_time(const char *s)
{
	struct tm tm;

	if (s == NULL || s[0] == '\0')
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

/* act_license_status derives the license's status at now. */
const char *
act_license_status(const Keyport__License__License *l, int64_t now)
{
	int64_t exp = act_parse_time(l->expires_at);

	if (l->revoked || strcmp(l->status, "revoked") == 0)
		return "revoked";
	if (l->suspended || strcmp(l->status, "suspended") == 0)
		return "suspended";
	if (strcmp(l->status, "expired") == 0 || (exp != 0 && exp <= now))
		return "expired";
	return "active";
}

/* act_license_usable answers 403 unless the license is active. */
int
act_license_usable(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                   int64_t now)
{
	const char *st = act_license_status(l, now);

	if (strcmp(st, "revoked") == 0)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, "LICENSE_REVOKED",
		                   "the license is revoked");
	if (strcmp(st, "suspended") == 0)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, "LICENSE_SUSPENDED",
		                   "the license is suspended");
	if (strcmp(st, "expired") == 0)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, "LICENSE_EXPIRED",
		                   "the license has expired");
	return KP_OK;
}

/* act_license_call calls the license service as an internal caller (key
 * resolution is not subject to a portal user's visibility). */
static int
act_license_call(kp_rpc_ctx *ctx, const char *method,
                 const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *desc,
                 ProtobufCMessage **reply)
{
	kp_rpc_client *c = kp_service_client(kp_service_of(ctx), "license");
	kp_rpc_call call;
	kp_rpc_result res;

	memset(&call, 0, sizeof(call));
	call.method = method;
	call.request_id = ctx->request_id;
	call.idempotent = true;
	if (c == NULL)
		return kp_rpc_fail(ctx, KP_EUNAVAIL, NULL, "no license client");
	if (kp_rpc_invoke(c, &call, req, desc, reply, &res) != KP_OK) {
		ctx->retry_after = res.retry_after;
		return kp_rpc_fail(ctx, res.status, res.code, "%s",
		                   res.message);
	}
	return KP_OK;
}

/* act_resolve_key: license.ResolveKey; *out owned by the caller. */
static int
act_resolve_key(kp_rpc_ctx *ctx, const char *key, const char *product_id,
                Keyport__License__LicenseReply **out)
{
	Keyport__License__ResolveKeyRequest req =
	    KEYPORT__LICENSE__RESOLVE_KEY_REQUEST__INIT;
	int rv;

	req.key = (char *)key;
	req.product_id = (char *)product_id;
	rv = act_license_call(ctx, "license.ResolveKey",
	                      (ProtobufCMessage *)&req,
	                      &keyport__license__license_reply__descriptor,
	                      (ProtobufCMessage **)out);
	if (rv == KP_OK && (*out)->license == NULL) {
		protobuf_c_message_free_unpacked((ProtobufCMessage *)*out,
		                                 NULL);
		*out = NULL;
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "license missing");
	}
	return rv;
}

/* act_get_license: license.GetLicense with the envelope's caller (portal
 * visibility; NOT_FOUND for what the caller may not see). */
int
act_get_license(kp_rpc_ctx *ctx, const char *id,
                Keyport__License__LicenseReply **out)
{
	Keyport__License__GetLicenseRequest req =
	    KEYPORT__LICENSE__GET_LICENSE_REQUEST__INIT;
	int rv;

	req.id = (char *)id;
	rv = kp_service_call(ctx, "license", "license.GetLicense", 1,
	                     (ProtobufCMessage *)&req,
	                     &keyport__license__license_reply__descriptor,
	                     (ProtobufCMessage **)out);
	if (rv == KP_OK && (*out)->license == NULL) {
		protobuf_c_message_free_unpacked((ProtobufCMessage *)*out,
		                                 NULL);
		*out = NULL;
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "license missing");
	}
	return rv;
}

int
act_db_fail(kp_rpc_ctx *ctx, kp_db *db, int rv)
{
	kp_log_error("database: %s (%s)", kp_db_message(db),
	             kp_db_sqlstate(db));
	return kp_rpc_fail(ctx, rv, NULL, "database error");
}

/* act_metadata returns the license's metadata as a JSON object (new ref). */
json_t *
act_metadata(const Keyport__License__License *l)
{
	json_t *meta = json_object();

	for (size_t i = 0; i < l->n_metadata; i++)
		json_object_set_new(meta, l->metadata[i]->key,
		                    json_string(l->metadata[i]->value
		                                    ? l->metadata[i]->value
		                                    : ""));
	return meta;
}

/* act_token builds and signs the token of an activation (payload format:
 * common/kp_token.h, version 1); *token malloc'd. */
static int
act_token(kp_rpc_ctx *ctx, const Keyport__License__License *l,
          const Keyport__Activation__Activation *a, const char *status,
          const char *nonce, int64_t now, char **token)
{
	act_app *app = kp_service_app(kp_service_of(ctx));
	int64_t exp = act_parse_time(l->expires_at);
	json_t *p;
	int rv;

	p = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:s, s:b, "
	    "s:s, s:I, s:I, s:I, s:s, s:s}",
	    "activationId", a->id, "licenseId", l->id, "productId",
	    l->product_id, "fingerprint", a->fingerprint, "status", status,
	    "expiresAt", exp != 0 ? json_integer(exp) : json_null(), "issuedAt",
	    (json_int_t)now, "metadata", act_metadata(l), "nonce",
	    nonce ? nonce : "", "offline", a->offline, "type",
	    l->type ? l->type : "", "leaseSeconds",
	    (json_int_t)l->lease_seconds, "allowedActivations",
	    (json_int_t)l->allowed_activations, "allowedDeactivations",
	    (json_int_t)l->allowed_deactivations, "userId",
	    l->user_id ? l->user_id : "", "organizationId",
	    l->organization_id ? l->organization_id : "");
	if (p == NULL)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "token payload");
	rv = act_token_sign(app->signer, ctx, l->product_id, p, token);
	json_decref(p);
	return rv;
}

/* act_answer replies with an ActivationReply carrying a fresh token. */
static int
act_answer(kp_rpc_ctx *ctx, const Keyport__License__License *l,
           Keyport__Activation__Activation *a, int created, const char *nonce,
           int64_t now)
{
	Keyport__Activation__ActivationReply rep =
	    KEYPORT__ACTIVATION__ACTIVATION_REPLY__INIT;
	const char *status = act_license_status(l, now);
	char issued[32];
	char *token = NULL;
	int rv;

	if ((rv = act_token(ctx, l, a, status, nonce, now, &token)) != KP_OK)
		return rv;
	kp_time_format(now, issued, sizeof(issued));
	rep.activation = a;
	rep.created = created != 0;
	rep.token = token;
	rep.license_status = (char *)status;
	rep.expires_at = l->expires_at;
	rep.lease_seconds = l->lease_seconds;
	rep.issued_at = issued;
	rep.license_id = l->id;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
	free(token);
	return rv;
}

/* ---- the per-license lock ------------------------------------------------ */

static const char *const act_sql_version_bump =
    "UPDATE license_counters SET version = version + 1 WHERE license_id = "
    "$1::uuid";

static const char *const act_sql_lock =
    "INSERT INTO license_counters (license_id) VALUES ($1::uuid) "
    "ON CONFLICT (license_id) DO UPDATE SET license_id = "
    "EXCLUDED.license_id RETURNING total_activations, "
    "total_deactivations";

/* act_lock_license opens a transaction and locks the license's counters
 * row; *deact receives total_deactivations. */
static int
act_lock_license(kp_db *db, const char *license_id, int64_t *acts,
                 int64_t *deacts)
{
	const char *p[1] = {license_id};
	PGresult *res = NULL;
	int rv;

	if ((rv = kp_db_begin(db)) != KP_OK)
		return rv;
	if ((rv = kp_db_query(db, act_sql_lock, 1, p, &res)) != KP_OK)
		return rv;
	if (acts)
		*acts = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (deacts)
		*deacts = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return KP_OK;
}

/* a lapsed lease ends when it ran out (as the sweep, activation_lease.c,
 * records it) */
static const char *const act_sql_release_lapsed =
    "UPDATE activations SET deactivated_at = lease_end(last_seen_at, "
    "$3::bigint) WHERE license_id = $1::uuid AND deactivated_at IS NULL AND "
    "NOT offline AND last_seen_at < to_timestamp($2) - make_interval(secs "
    "=> $3::bigint)";

/* the license's live activations carry its current lease (for the sweep) */
static const char *const act_sql_lease_sync =
    "UPDATE activations SET lease_seconds = $2::bigint WHERE license_id = "
    "$1::uuid AND deactivated_at IS NULL AND lease_seconds <> $2::bigint";

/* ---- activation.Activate --------------------------------------------------
 */

static const char *const act_sql_live =
    "SELECT count(*), (array_agg(id::text) FILTER (WHERE fingerprint = "
    "$2))[1] FROM activations WHERE license_id = $1::uuid AND "
    "deactivated_at IS NULL";

/* an offline re-activation of the same machine takes the new request's
 * client key (the one its deactivation proof will be signed with) */
static const char *const act_sql_touch =
    "UPDATE activations SET last_seen_at = to_timestamp($2), offline = "
    "offline OR $3::boolean, client_public_key = CASE WHEN $3::boolean THEN "
    "$4 ELSE client_public_key END WHERE id = $1::uuid RETURNING " ACT_COLS;

static const char *const act_sql_insert =
    "INSERT INTO activations (license_id, product_id, fingerprint, "
    "hostname, os, os_version, app_version, vm_name, offline, "
    "client_public_key, created_at, last_seen_at, lease_seconds) VALUES "
    "($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9::boolean, $10, "
    "to_timestamp($11), to_timestamp($11), $12::bigint) RETURNING " ACT_COLS;

static const char *const act_sql_count_act =
    "UPDATE license_counters SET total_activations = total_activations + 1 "
    "WHERE license_id = $1::uuid";

int
act_check_text(kp_rpc_ctx *ctx, const char *name, const char *v, size_t max,
               int required)
{
	size_t n = v ? strlen(v) : 0;

	if (required && n == 0)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL, "%s is required",
		                   name);
	if (n > max)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL, "%s is too long",
		                   name);
	return KP_OK;
}

/* act_check_input validates an activation's machine description. */
int
act_check_input(kp_rpc_ctx *ctx, const Keyport__Activation__ActivateRequest *r)
{
	int rv;

	if ((rv = act_check_text(ctx, "key", r->key, 128, 1)) != KP_OK ||
	    (rv = act_check_text(ctx, "fingerprint", r->fingerprint, 256, 1)) !=
	        KP_OK ||
	    (rv = act_check_text(ctx, "hostname", r->hostname, 255, 0)) !=
	        KP_OK ||
	    (rv = act_check_text(ctx, "os", r->os, 64, 0)) != KP_OK ||
	    (rv = act_check_text(ctx, "osVersion", r->os_version, 64, 0)) !=
	        KP_OK ||
	    (rv = act_check_text(ctx, "appVersion", r->app_version, 64, 0)) !=
	        KP_OK ||
	    (rv = act_check_text(ctx, "vmName", r->vm_name, 255, 0)) != KP_OK ||
	    (rv = act_check_text(ctx, "nonce", r->nonce, 128, 0)) != KP_OK ||
	    (rv = act_check_text(ctx, "clientPublicKey", r->client_public_key,
	                         128, 0)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(r->product_id))
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "productId must be a UUID");
	return KP_OK;
}

/* act_take_slot activates the machine of req on license l (already checked
 * usable) under the license lock: the live activation of the same
 * fingerprint is answered again (*created = 0), otherwise a new one is made
 * within allowedActivations. On KP_OK *row owns the activation's row (one
 * row, ACT_COLS). The delayed expiry is started on a first activation and
 * *started then owns the license as it is now. */
int
act_take_slot(kp_rpc_ctx *ctx, const Keyport__License__License *l,
              const Keyport__Activation__ActivateRequest *req, int64_t now,
              PGresult **row, int *created,
              Keyport__License__LicenseReply **started)
{
	kp_db *db = kp_service_db(ctx);
	PGresult *res = NULL;
	char nowbuf[24], leasebuf[24];
	int64_t live;
	int rv, in_tx = 0;

	*row = NULL;
	*created = 0;
	*started = NULL;
	snprintf(nowbuf, sizeof(nowbuf), "%" PRId64, now);
	if ((rv = act_lock_license(db, l->id, NULL, NULL)) != KP_OK)
		goto dbfail;
	in_tx = 1;
	snprintf(leasebuf, sizeof(leasebuf), "%" PRId64,
	         l->lease_seconds > 0 ? l->lease_seconds : 0);
	{
		const char *p[2] = {l->id, leasebuf};

		if ((rv = kp_db_exec(db, act_sql_lease_sync, 2, p)) != KP_OK)
			goto dbfail;
	}
	if (l->lease_seconds > 0) {
		const char *p[3] = {l->id, nowbuf, leasebuf};

		if ((rv = kp_db_exec(db, act_sql_release_lapsed, 3, p)) !=
		    KP_OK)
			goto dbfail;
	}
	{
		const char *p[2] = {l->id, req->fingerprint};

		if ((rv = kp_db_query(db, act_sql_live, 2, p, &res)) != KP_OK)
			goto dbfail;
	}
	live = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if (!PQgetisnull(res, 0, 1)) {
		/* the same machine again: its activation, no new slot */
		const char *p[4] = {PQgetvalue(res, 0, 1), nowbuf,
		                    req->offline ? "true" : "false",
		                    req->client_public_key};

		if ((rv = kp_db_query(db, act_sql_touch, 4, p, row)) != KP_OK)
			goto dbfail;
	} else {
		const char *p[12];
		const char *q[1] = {l->id};

		if (l->allowed_activations >= 0 &&
		    live >= l->allowed_activations) {
			rv = kp_rpc_fail(
			    ctx, KP_ECONFLICT, "ACTIVATION_LIMIT_REACHED",
			    "the license allows %" PRId64 " activations",
			    l->allowed_activations);
			goto out;
		}
		p[0] = l->id;
		p[1] = l->product_id;
		p[2] = req->fingerprint;
		p[3] = req->hostname;
		p[4] = req->os;
		p[5] = req->os_version;
		p[6] = req->app_version;
		p[7] = req->vm_name;
		p[8] = req->offline ? "true" : "false";
		p[9] = req->client_public_key;
		p[10] = nowbuf;
		p[11] = leasebuf;
		if ((rv = kp_db_query(db, act_sql_insert, 12, p, row)) != KP_OK)
			goto dbfail;
		if ((rv = kp_db_exec(db, act_sql_count_act, 1, q)) != KP_OK)
			goto dbfail;
		*created = 1;
	}
	if ((rv = kp_db_commit(db)) != KP_OK)
		goto dbfail;
	in_tx = 0;

	/* delayed expiry starts with the license's first activation */
	if (*created && strcmp(l->expiration_strategy, "delayed") == 0 &&
	    l->expires_at[0] == '\0' && l->validity > 0) {
		Keyport__License__StartExpiryRequest sreq =
		    KEYPORT__LICENSE__START_EXPIRY_REQUEST__INIT;

		sreq.license_id = l->id;
		rv = act_license_call(
		    ctx, "license.StartExpiry", (ProtobufCMessage *)&sreq,
		    &keyport__license__license_reply__descriptor,
		    (ProtobufCMessage **)started);
		if (rv != KP_OK)
			goto out;
		/* the license changed: heartbeat caches must see it (the
		 * license service does not notify us of StartExpiry, which
		 * we ask for) */
		{
			const char *q[1] = {l->id};

			if (kp_db_exec(db, act_sql_version_bump, 1, q) != KP_OK)
				kp_log_warn("license %s: version bump failed: "
				            "%s",
				            l->id, kp_db_message(db));
		}
		if ((*started)->license == NULL) {
			protobuf_c_message_free_unpacked(
			    (ProtobufCMessage *)*started, NULL);
			*started = NULL;
		}
	}
	rv = KP_OK;
	goto out;
dbfail:
	rv = act_db_fail(ctx, db, rv);
out:
	if (in_tx)
		kp_db_rollback(db);
	PQclear(res);
	if (rv != KP_OK) {
		PQclear(*row);
		*row = NULL;
	}
	return rv;
}

static int
act_activate(kp_rpc_ctx *ctx)
{
	Keyport__Activation__ActivateRequest *req = NULL;
	Keyport__License__LicenseReply *lic = NULL, *started = NULL;
	const Keyport__License__License *l;
	PGresult *row = NULL;
	int64_t now = kp_now();
	int rv, created = 0;
	char *cpk;
	act_row ar;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__activation__activate_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	/* offline activations come through activation.OfflineActivate */
	req->offline = 0;
	cpk = req->client_public_key; /* restored before the free below */
	req->client_public_key = (char *)protobuf_c_empty_string;
	if ((rv = act_check_input(ctx, req)) != KP_OK)
		goto out;
	if ((rv = act_resolve_key(ctx, req->key, req->product_id, &lic)) !=
	    KP_OK)
		goto out;
	l = lic->license;
	if ((rv = act_license_usable(ctx, l, now)) != KP_OK)
		goto out;
	if ((rv = act_take_slot(ctx, l, req, now, &row, &created, &started)) !=
	    KP_OK)
		goto out;
	act_row_read(&ar, row, 0, 0);
	rv = act_answer(ctx, started ? started->license : l, &ar.msg, created,
	                req->nonce, now);
out:
	PQclear(row);
	if (started)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)started,
		                                 NULL);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	req->client_public_key = cpk;
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

/* ---- activation.Heartbeat -------------------------------------------------
 */

/* One statement: read the activation and the license's version (see
 * activation_lcache.h) and, when the activation is live, inside its lease
 * and last seen over a minute ago, record now as last_seen_at. */
static const char *const act_sql_heartbeat =
    "WITH a AS (SELECT " ACT_COLS ", last_seen_at AS ls, deactivated_at AS "
    "da, lease_seconds AS lease FROM activations WHERE id = $1::uuid AND "
    "license_id = $2::uuid), "
    "u AS (UPDATE activations SET last_seen_at = to_timestamp($3), "
    "lease_seconds = $4::bigint FROM a WHERE activations.id = $1::uuid AND "
    "a.da IS NULL AND (a.ls < to_timestamp($3) - make_interval(secs => $5) "
    "OR a.lease IS DISTINCT FROM $4::bigint) AND ($4::bigint = 0 OR a.ls >= "
    "to_timestamp($3) - make_interval(secs => $4)) RETURNING 1) "
    "SELECT a.*, (SELECT count(*) FROM u), coalesce((SELECT version FROM "
    "license_counters WHERE license_id = $2::uuid), 0) FROM a";

/* The same row layout without a write: for licenses without a lease,
 * whose lastSeenAt is written in batches (activation_seen.h). */
static const char *const act_sql_heartbeat_read =
    "SELECT " ACT_COLS ", last_seen_at, deactivated_at, lease_seconds, 0, "
    "coalesce((SELECT "
    "version FROM license_counters WHERE license_id = $2::uuid), 0) FROM "
    "activations WHERE id = $1::uuid AND license_id = $2::uuid";

/* released as of the end of its lease, like the sweep does */
static const char *const act_sql_release_one =
    "UPDATE activations SET deactivated_at = least(to_timestamp($2), "
    "lease_end(last_seen_at, $3::bigint)) WHERE id = $1::uuid AND "
    "deactivated_at IS NULL";

/* act_seen_every: how old last_seen_at may grow before a heartbeat writes
 * it again: a minute, or a quarter of a shorter lease (the seat of a leased
 * license depends on it). */
static int64_t
act_seen_every(const Keyport__License__License *l)
{
	int64_t every = ACT_SEEN_EVERY;

	if (l->lease_seconds > 0 && l->lease_seconds / 4 < every)
		every = l->lease_seconds / 4 > 0 ? l->lease_seconds / 4 : 1;
	return every;
}

/* act_heartbeat_row runs act_sql_heartbeat for the activation of license
 * l; *res owns the result (one row, or none for an unknown activation). */
static int
act_heartbeat_row(kp_rpc_ctx *ctx, const char *activation_id,
                  const Keyport__License__License *l, int64_t now,
                  PGresult **res)
{
	kp_db *db = kp_service_db(ctx);
	char nowbuf[24], leasebuf[24], every[24];
	const char *p[5] = {activation_id, l->id, nowbuf, leasebuf, every};
	int rv;

	snprintf(nowbuf, sizeof(nowbuf), "%" PRId64, now);
	snprintf(leasebuf, sizeof(leasebuf), "%" PRId64,
	         l->lease_seconds > 0 ? l->lease_seconds : 0);
	snprintf(every, sizeof(every), "%" PRId64, act_seen_every(l));
	if (l->lease_seconds > 0)
		rv = kp_db_query(db, act_sql_heartbeat, 5, p, res);
	else
		rv = kp_db_query(db, act_sql_heartbeat_read, 2, p, res);
	if (rv != KP_OK)
		rv = act_db_fail(ctx, db, rv);
	return rv;
}

/* A heartbeat asks the license service nothing when the key is in the
 * license cache at the version the activation schema holds; otherwise it
 * resolves the key (license.ResolveKey) and remembers the answer. */
static int
act_heartbeat(kp_rpc_ctx *ctx)
{
	act_app *app = kp_service_app(kp_service_of(ctx));
	Keyport__Activation__HeartbeatRequest *req = NULL;
	Keyport__License__LicenseReply *lic = NULL;
	Keyport__License__License *cached = NULL, *l = NULL;
	kp_db *db = kp_service_db(ctx);
	PGresult *res = NULL;
	int64_t now = kp_now(), now_ms = kp_now_ms(), cver = 0, ver;
	char nowbuf[24];
	act_row ar;
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__activation__heartbeat_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if ((rv = act_check_text(ctx, "key", req->key, 128, 1)) != KP_OK ||
	    (rv = act_check_text(ctx, "nonce", req->nonce, 128, 0)) != KP_OK)
		goto out;
	if (!kp_uuid_valid(req->activation_id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
		goto out;
	}
	if (act_lcache_get(app->lcache, req->key, now_ms, &cached, &cver)) {
		l = cached;
	} else {
		if ((rv = act_resolve_key(ctx, req->key, "", &lic)) != KP_OK)
			goto out;
		l = lic->license;
	}
	if ((rv = act_heartbeat_row(ctx, req->activation_id, l, now, &res)) !=
	    KP_OK)
		goto out;
	ver = PQntuples(res) == 1
	          ? strtoll(PQgetvalue(res, 0, ACT_NCOLS + 4), NULL, 10)
	          : 0;
	/* (no row: an unknown activation, 404 whatever the license says) */
	if (cached != NULL && PQntuples(res) == 1 && ver != cver) {
		/* the license changed since it was cached: read it again, and
		 * the activation with it (its lease may have changed) */
		PQclear(res);
		res = NULL;
		if ((rv = act_resolve_key(ctx, req->key, "", &lic)) != KP_OK)
			goto out;
		l = lic->license;
		if ((rv = act_heartbeat_row(ctx, req->activation_id, l, now,
		                            &res)) != KP_OK)
			goto out;
		ver = PQntuples(res) == 1
		          ? strtoll(PQgetvalue(res, 0, ACT_NCOLS + 4), NULL, 10)
		          : ver;
	}
	if (lic != NULL && PQntuples(res) == 1)
		act_lcache_put(app->lcache, req->key, l, ver, now_ms);
	if (PQntuples(res) != 1) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
		goto out;
	}
	act_row_read(&ar, res, 0, 0);
	if (ar.deact_t != 0) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "the activation was deactivated");
		goto out;
	}
	if (l->lease_seconds > 0 && !ar.msg.offline &&
	    ar.seen_t < now - l->lease_seconds) {
		/* the lease ran out: the seat is released, not renewed */
		char leasebuf[24];
		const char *p[3] = {req->activation_id, nowbuf, leasebuf};

		snprintf(nowbuf, sizeof(nowbuf), "%" PRId64, now);
		snprintf(leasebuf, sizeof(leasebuf), "%" PRId64,
		         l->lease_seconds);
		if ((rv = kp_db_exec(db, act_sql_release_one, 3, p)) != KP_OK) {
			rv = act_db_fail(ctx, db, rv);
			goto out;
		}
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "the activation's lease expired");
		goto out;
	}
	if (strtoll(PQgetvalue(res, 0, ACT_NCOLS + 3), NULL, 10) > 0) {
		ar.seen_t = now; /* written by the statement */
		kp_time_format(now, ar.seen, sizeof(ar.seen));
	} else if (l->lease_seconds <= 0 &&
	           ar.seen_t < now - act_seen_every(l)) {
		act_seen_note(app->seen, req->activation_id, now);
		ar.seen_t = now;
		kp_time_format(now, ar.seen, sizeof(ar.seen));
	}
	rv = act_answer(ctx, l, &ar.msg, 0, req->nonce, now);
out:
	PQclear(res);
	if (cached)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)cached,
		                                 NULL);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

/* ---- activation.LicenseChanged --------------------------------------------
 */

/* Bumps the version of each license (creating its counters row: a license
 * with no activation yet may already sit in a heartbeat cache). */
static const char *const act_sql_license_changed =
    "INSERT INTO license_counters (license_id, version) SELECT "
    "DISTINCT unnest($1::uuid[]), 1 ON CONFLICT (license_id) DO UPDATE "
    "SET version = license_counters.version + 1";

static int
act_license_changed(kp_rpc_ctx *ctx)
{
	Keyport__Activation__LicenseChangedRequest *req = NULL;
	Keyport__Activation__LicenseChangedReply rep =
	    KEYPORT__ACTIVATION__LICENSE_CHANGED_REPLY__INIT;
	kp_db *db = kp_service_db(ctx);
	kp_pgarr ids = {0};
	const char *p[1];
	int rv;

	rv = kp_rpc_unpack(
	    ctx, &keyport__activation__license_changed_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (req->n_license_ids > 10000) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "license_ids: at most 10000 per call");
		goto out;
	}
	/* an id that is no UUID was never a license: nothing cached */
	for (size_t i = 0; i < req->n_license_ids; i++)
		(void)kp_pgarr_uuid(&ids, req->license_ids[i]);
	if ((p[0] = kp_pgarr_text(&ids)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	if (ids.n > 0 &&
	    (rv = kp_db_exec(db, act_sql_license_changed, 1, p)) != KP_OK) {
		rv = act_db_fail(ctx, db, rv);
		goto out;
	}
	rep.count = (int64_t)req->n_license_ids;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	kp_pgarr_free(&ids);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

/* ---- activation.Deactivate ------------------------------------------------
 */

static const char *const act_sql_find_live =
    "SELECT 1 FROM activations WHERE id = $1::uuid AND license_id = "
    "$2::uuid AND deactivated_at IS NULL FOR UPDATE";

static const char *const act_sql_proof =
    "INSERT INTO deactivation_proofs (proof_id, activation_id, license_id, "
    "created_at) VALUES (decode($1, 'hex'), $2::uuid, $3::uuid, "
    "to_timestamp($4))";

static const char *const act_sql_deactivate =
    "UPDATE activations SET deactivated_at = to_timestamp($2) WHERE id = "
    "$1::uuid RETURNING " ACT_COLS;

static const char *const act_sql_count_deact =
    "UPDATE license_counters SET total_deactivations = "
    "total_deactivations + 1 WHERE license_id = $1::uuid";

/* act_release deactivates a live activation of license l under the license
 * lock, within allowedDeactivations; proof_hex (may be "") is recorded once
 * (a second use answers 400 OFFLINE_REPLAYED). On KP_OK *row owns the
 * activation's row. */
int
act_release(kp_rpc_ctx *ctx, const Keyport__License__License *l,
            const char *activation_id, const char *proof_hex, int64_t now,
            PGresult **row)
{
	kp_db *db = kp_service_db(ctx);
	PGresult *res = NULL;
	int64_t deacts = 0;
	char nowbuf[24];
	int rv, in_tx = 0;

	*row = NULL;
	snprintf(nowbuf, sizeof(nowbuf), "%" PRId64, now);
	if ((rv = act_lock_license(db, l->id, NULL, &deacts)) != KP_OK)
		goto dbfail;
	in_tx = 1;
	{
		const char *p[2] = {activation_id, l->id};

		if ((rv = kp_db_query(db, act_sql_find_live, 2, p, &res)) !=
		    KP_OK)
			goto dbfail;
	}
	if (PQntuples(res) != 1) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
		goto out;
	}
	if (l->allowed_deactivations >= 0 &&
	    deacts >= l->allowed_deactivations) {
		rv =
		    kp_rpc_fail(ctx, KP_ECONFLICT, "DEACTIVATION_LIMIT_REACHED",
		                "the license allows %" PRId64 " deactivations",
		                l->allowed_deactivations);
		goto out;
	}
	if (proof_hex != NULL && proof_hex[0] != '\0') {
		const char *p[4] = {proof_hex, activation_id, l->id, nowbuf};

		rv = kp_db_exec(db, act_sql_proof, 4, p);
		if (rv == KP_ECONFLICT) {
			rv = kp_rpc_fail(ctx, KP_EINVAL, "OFFLINE_REPLAYED",
			                 "this deactivation proof was already "
			                 "used");
			goto out;
		}
		if (rv != KP_OK)
			goto dbfail;
	}
	{
		const char *p[2] = {activation_id, nowbuf};

		if ((rv = kp_db_query(db, act_sql_deactivate, 2, p, row)) !=
		    KP_OK)
			goto dbfail;
	}
	{
		const char *p[1] = {l->id};

		if ((rv = kp_db_exec(db, act_sql_count_deact, 1, p)) != KP_OK)
			goto dbfail;
	}
	if ((rv = kp_db_commit(db)) != KP_OK)
		goto dbfail;
	in_tx = 0;
	goto out;
dbfail:
	rv = act_db_fail(ctx, db, rv);
out:
	if (in_tx)
		kp_db_rollback(db);
	PQclear(res);
	if (rv != KP_OK) {
		PQclear(*row);
		*row = NULL;
	}
	return rv;
}

static int
act_deactivate(kp_rpc_ctx *ctx)
{
	Keyport__Activation__DeactivateRequest *req = NULL;
	Keyport__Activation__DeactivateReply rep =
	    KEYPORT__ACTIVATION__DEACTIVATE_REPLY__INIT;
	Keyport__License__LicenseReply *lic = NULL;
	PGresult *row = NULL;
	int64_t now = kp_now();
	int rv;
	act_row ar;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__activation__deactivate_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->activation_id) ||
	    (req->license_id[0] && !kp_uuid_valid(req->license_id))) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
		goto out;
	}
	if (req->license_id[0] != '\0') {
		/* portal: the caller must see the license */
		if ((rv = act_get_license(ctx, req->license_id, &lic)) != KP_OK)
			goto out;
	} else {
		if ((rv = act_check_text(ctx, "key", req->key, 128, 1)) !=
		    KP_OK)
			goto out;
		if ((rv = act_resolve_key(ctx, req->key, "", &lic)) != KP_OK)
			goto out;
		/* a revoked license frees no seats through its key */
		if (strcmp(act_license_status(lic->license, now), "revoked") ==
		    0) {
			rv = act_license_usable(ctx, lic->license, now);
			goto out;
		}
	}
	/* proofs come only through activation.OfflineDeactivate */
	if ((rv = act_release(ctx, lic->license, req->activation_id, "", now,
	                      &row)) != KP_OK)
		goto out;
	act_row_read(&ar, row, 0, 0);
	rep.activation = &ar.msg;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
out:
	PQclear(row);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

/* ---- activation.ListActivations -------------------------------------------
 */

static const char *const act_sql_list =
    "SELECT " ACT_COLS ", count(*) OVER () FROM activations WHERE "
    "license_id = $1::uuid ORDER BY created_at, id LIMIT $2 OFFSET $3";

static const char *const act_sql_count =
    "SELECT count(*) FROM activations WHERE license_id = $1::uuid";

static int
act_list(kp_rpc_ctx *ctx)
{
	Keyport__Activation__ListActivationsRequest *req = NULL;
	Keyport__Activation__ListActivationsReply rep =
	    KEYPORT__ACTIVATION__LIST_ACTIVATIONS_REPLY__INIT;
	Keyport__License__LicenseReply *lic = NULL;
	Keyport__Activation__Activation **items = NULL;
	act_row *rows = NULL;
	kp_db *db = kp_service_db(ctx);
	PGresult *res = NULL, *cnt = NULL;
	char limbuf[16], offbuf[24];
	int rv, n;

	rv = kp_rpc_unpack(
	    ctx, &keyport__activation__list_activations_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (!kp_uuid_valid(req->license_id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
		goto out;
	}
	if (req->page < 1)
		req->page = 1;
	if (req->limit < 1 || req->limit > 100)
		req->limit = 50;
	if ((rv = act_get_license(ctx, req->license_id, &lic)) != KP_OK)
		goto out;
	snprintf(limbuf, sizeof(limbuf), "%d", req->limit);
	snprintf(offbuf, sizeof(offbuf), "%lld",
	         (long long)(req->page - 1) * req->limit);
	{
		const char *p[3] = {lic->license->id, limbuf, offbuf};

		if ((rv = kp_db_query(db, act_sql_list, 3, p, &res)) != KP_OK) {
			rv = act_db_fail(ctx, db, rv);
			goto out;
		}
	}
	n = PQntuples(res);
	if (n > 0) {
		rep.total = strtoll(PQgetvalue(res, 0, ACT_NCOLS), NULL, 10);
	} else {
		const char *p[1] = {lic->license->id};

		if ((rv = kp_db_query(db, act_sql_count, 1, p, &cnt)) !=
		    KP_OK) {
			rv = act_db_fail(ctx, db, rv);
			goto out;
		}
		rep.total = strtoll(PQgetvalue(cnt, 0, 0), NULL, 10);
	}
	rows = calloc((size_t)n + 1, sizeof(*rows));
	items = calloc((size_t)n + 1, sizeof(*items));
	if (rows == NULL || items == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		act_row_read(&rows[i], res, i, 0);
		items[i] = &rows[i].msg;
	}
	rep.n_activations = (size_t)n;
	rep.activations = items;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
out:
	free(items);
	free(rows);
	PQclear(res);
	PQclear(cnt);
	if (lic)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)lic, NULL);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

/* ---- activation.Counters --------------------------------------------------
 */

static const char *const act_sql_counters =
    "SELECT license_id::text, total_activations, total_deactivations FROM "
    "license_counters WHERE license_id = ANY($1::uuid[])";

static int
act_counters(kp_rpc_ctx *ctx)
{
	Keyport__Activation__CountersRequest *req = NULL;
	Keyport__Activation__CountersReply rep =
	    KEYPORT__ACTIVATION__COUNTERS_REPLY__INIT;
	Keyport__Activation__LicenseCounters *cs = NULL, **ptrs = NULL;
	kp_db *db = kp_service_db(ctx);
	PGresult *res = NULL;
	kp_pgarr ids = {0};
	const char *p[1];
	int rv, n;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__activation__counters_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (req->n_license_ids > 1000) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL, "too many license ids");
		goto out;
	}
	/* an id that is no UUID cannot exist: 0/0 like any missing id */
	for (size_t i = 0; i < req->n_license_ids; i++)
		(void)kp_pgarr_uuid(&ids, req->license_ids[i]);
	if ((p[0] = kp_pgarr_text(&ids)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	if ((rv = kp_db_query(db, act_sql_counters, 1, p, &res)) != KP_OK) {
		rv = act_db_fail(ctx, db, rv);
		goto out;
	}
	n = PQntuples(res);
	cs = calloc((size_t)n + 1, sizeof(*cs));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	if (cs == NULL || ptrs == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		keyport__activation__license_counters__init(&cs[i]);
		cs[i].license_id = PQgetvalue(res, i, 0);
		cs[i].total_activations =
		    strtoll(PQgetvalue(res, i, 1), NULL, 10);
		cs[i].total_deactivations =
		    strtoll(PQgetvalue(res, i, 2), NULL, 10);
		ptrs[i] = &cs[i];
	}
	rep.n_counters = (size_t)n;
	rep.counters = ptrs;
	rv = kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
out:
	free(ptrs);
	free(cs);
	kp_pgarr_free(&ids);
	PQclear(res);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

const kp_rpc_handler act_handlers[KP_M_ACTIVATION_COUNT] = {
    [KP_M_ACTIVATION_ACTIVATE] = act_activate,
    [KP_M_ACTIVATION_HEARTBEAT] = act_heartbeat,
    [KP_M_ACTIVATION_LICENSE_CHANGED] = act_license_changed,
    [KP_M_ACTIVATION_DEACTIVATE] = act_deactivate,
    [KP_M_ACTIVATION_LIST_ACTIVATIONS] = act_list,
    [KP_M_ACTIVATION_COUNTERS] = act_counters,
    [KP_M_ACTIVATION_OFFLINE_ACTIVATE] = act_offline_activate,
    [KP_M_ACTIVATION_OFFLINE_DEACTIVATE] = act_offline_deactivate,
};
