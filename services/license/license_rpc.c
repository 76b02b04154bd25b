/* license_rpc: licenses: create, read (admin list, portal list, one, batch,
 * by key), change (PATCH, suspend, unsuspend, revoke, renew, start of a
 * delayed expiry), delete. Status is derived from the row and kp_now(). */
#include "license_app.h"
#include "license_key.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_pgarr.h"
#include "proto/activation.pb-c.h"
#include "proto/auth.pb-c.h"
#include "proto/org.pb-c.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Timestamps travel as whole epoch seconds and are formatted here
 * (license_ts): to_char() was ~25% of PostgreSQL's time for a page of 50
 * licenses. floor(): to_char() dropped the fraction too. */
#define TS(col) "floor(extract(epoch FROM " col "))::bigint"

/* The columns every license query selects, in license_row's order; the
 * query names the license table l and the products table p. */
#define LICENSE_COLS                                                           \
	"l.id, l.key, l.product_id, p.name, l.type, l.allowed_activations, "   \
	"l.allowed_deactivations, l.validity, l.expiration_strategy, " TS(     \
	    "l.expires_at") ", l.suspended, l.revoked, "                       \
	                    "coalesce(l.user_id::text, ''), "                  \
	                    "coalesce(l.organization_id::text, ''), "          \
	                    "l.metadata::text, " TS("l.created_at") ", " TS(   \
	                        "l.updated_at") ", "                           \
	                                        "l.lease_seconds, "            \
	                                        "extract(epoch FROM "          \
	                                        "l.expires_at)::bigint"
#define LICENSE_FROM " FROM licenses l JOIN products p ON p.id = l.product_id "

#define LICENSE_TS_LEN 32 /* "2026-11-29T07:03:33Z" */

#define META_MAX_ENTRIES 50
#define META_MAX_KEY     64
#define META_MAX_VALUE   4096

/* ---- rows -> messages ------------------------------------------------- */

/* A page of licenses built from one PGresult. Strings are borrowed from
 * the result (and from the metadata JSON, kept alive here). */
typedef struct license_set {
	size_t n;
	Keyport__License__License *items;
	Keyport__License__License **ptrs;
	Keyport__License__License__MetadataEntry *meta;
	Keyport__License__License__MetadataEntry **meta_ptrs;
	json_t **meta_json;
	char (*keys)[LICENSE_KEY_LEN + 1];
	char (*ts)[3][LICENSE_TS_LEN]; /* expiresAt, createdAt, updatedAt */
} license_set;

static void
license_set_cleanup(license_set *s)
{
	if (s->meta_json != NULL)
		for (size_t i = 0; i < s->n; i++)
			json_decref(s->meta_json[i]);
	free(s->items);
	free(s->ptrs);
	free(s->meta);
	free(s->meta_ptrs);
	free(s->meta_json);
	free(s->keys);
	free(s->ts);
	memset(s, 0, sizeof(*s));
}

static const char *
license_status(int revoked, int suspended, const char *expires_epoch)
{
	if (revoked)
		return "revoked";
	if (suspended)
		return "suspended";
	if (expires_epoch[0] != '\0' &&
	    strtoll(expires_epoch, NULL, 10) <= kp_now())
		return "expired";
	return "active";
}

/* Formats epoch seconds (text; "" for NULL) as to_char(ts AT TIME ZONE
 * 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') did into buf, and answers buf. */
static char *
license_ts(const char *epoch, char buf[LICENSE_TS_LEN])
{
	time_t t;
	struct tm tm;

	buf[0] = '\0';
	if (epoch[0] == '\0')
		return buf;
	t = (time_t)strtoll(epoch, NULL, 10);
	if (gmtime_r(&t, &tm) != NULL)
		strftime(buf, LICENSE_TS_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Fills s from res (LICENSE_COLS). Returns a kp_status. */
static int
license_set_fill(license_set *s, PGresult *res)
{
	size_t n = (size_t)PQntuples(res), nmeta = 0, m = 0;

	memset(s, 0, sizeof(*s));
	s->items = calloc(n + 1, sizeof(*s->items));
	s->ptrs = calloc(n + 1, sizeof(*s->ptrs));
	s->meta_json = calloc(n + 1, sizeof(*s->meta_json));
	s->keys = calloc(n + 1, sizeof(*s->keys));
	s->ts = calloc(n + 1, sizeof(*s->ts));
	if (!s->items || !s->ptrs || !s->meta_json || !s->keys || !s->ts)
		return KP_EINTERNAL;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->meta_json[i] =
		    json_loads(PQgetvalue(res, (int)i, 14), 0, NULL);
		if (json_is_object(s->meta_json[i]))
			nmeta += json_object_size(s->meta_json[i]);
	}
	s->meta = calloc(nmeta + 1, sizeof(*s->meta));
	s->meta_ptrs = calloc(nmeta + 1, sizeof(*s->meta_ptrs));
	if (!s->meta || !s->meta_ptrs)
		return KP_EINTERNAL;
	for (size_t i = 0; i < n; i++) {
		Keyport__License__License *l = &s->items[i];
		int r = (int)i;
		const char *k;
		json_t *v;

		keyport__license__license__init(l);
		s->ptrs[i] = l;
		l->id = PQgetvalue(res, r, 0);
		license_key_format(PQgetvalue(res, r, 1), s->keys[i]);
		l->key = s->keys[i];
		l->product_id = PQgetvalue(res, r, 2);
		l->product_name = PQgetvalue(res, r, 3);
		l->type = PQgetvalue(res, r, 4);
		l->allowed_activations =
		    strtoll(PQgetvalue(res, r, 5), NULL, 10);
		l->allowed_deactivations =
		    strtoll(PQgetvalue(res, r, 6), NULL, 10);
		l->validity = strtoll(PQgetvalue(res, r, 7), NULL, 10);
		l->expiration_strategy = PQgetvalue(res, r, 8);
		l->expires_at = license_ts(PQgetvalue(res, r, 9), s->ts[i][0]);
		l->suspended = PQgetvalue(res, r, 10)[0] == 't';
		l->revoked = PQgetvalue(res, r, 11)[0] == 't';
		l->user_id = PQgetvalue(res, r, 12);
		l->organization_id = PQgetvalue(res, r, 13);
		l->created_at = license_ts(PQgetvalue(res, r, 15), s->ts[i][1]);
		l->updated_at = license_ts(PQgetvalue(res, r, 16), s->ts[i][2]);
		l->lease_seconds = strtoll(PQgetvalue(res, r, 17), NULL, 10);
		l->status = (char *)license_status(l->revoked, l->suspended,
		                                   PQgetvalue(res, r, 18));
		l->metadata = &s->meta_ptrs[m];
		if (json_is_object(s->meta_json[i])) {
			json_object_foreach(s->meta_json[i], k, v)
			{
				Keyport__License__License__MetadataEntry *e =
				    &s->meta[m];

				keyport__license__license__metadata_entry__init(
				    e);
				e->key = (char *)k;
				e->value = (char *)(json_string_value(v)
				                        ? json_string_value(v)
				                        : "");
				s->meta_ptrs[m++] = e;
				l->n_metadata++;
			}
		}
	}
	return KP_OK;
}

/* ---- helpers ---------------------------------------------------------- */

static void
epoch_str(char *buf, size_t len, int64_t t)
{
	snprintf(buf, len, "%lld", (long long)t);
}

static int
is_internal_or_admin(const kp_rpc_ctx *ctx)
{
	return ctx->caller->role[0] == '\0' ||
	       strcmp(ctx->caller->role, "admin") == 0;
}

static atomic_int license_peer_warned; /* log a missing peer once */

/* Forgets a failed call's answer on ctx when the other service has no such
 * method yet (its branch not built): returns 1 then, else 0. */
static int
call_unknown_method(kp_rpc_ctx *ctx)
{
	if (strcmp(ctx->code, "UNKNOWN_METHOD") != 0)
		return 0;
	if (atomic_exchange(&license_peer_warned, 1) == 0)
		kp_log_warn("%s: peer method missing (%s); treated as empty",
		            ctx->method, ctx->message);
	ctx->status = KP_OK;
	ctx->code[0] = '\0';
	ctx->message[0] = '\0';
	return 1;
}

/* Checks metadata entries: keys 1..64, values <= 4 KiB, <= 50 entries.
 * Builds the JSON text (*out, caller frees). Returns a kp_status (answered). */
typedef struct meta_kv {
	const char *key;
	const char *value;
} meta_kv;

/* Copies n map entries (any message with key/value strings) into kv. */
#define META_KV(kv, n, entries)                                                \
	do {                                                                   \
		for (size_t i_ = 0; i_ < (n) && i_ < META_MAX_ENTRIES + 1;     \
		     i_++) {                                                   \
			(kv)[i_].key = (entries)[i_]->key;                     \
			(kv)[i_].value = (entries)[i_]->value;                 \
		}                                                              \
	} while (0)

static int
metadata_json(kp_rpc_ctx *ctx, size_t n, const meta_kv *e, char **out)
{
	json_t *o = json_object();
	int rv = KP_EINVAL;

	*out = NULL;
	if (n > META_MAX_ENTRIES) {
		kp_rpc_fail(ctx, KP_EINVAL, NULL,
		            "metadata: at most %d entries", META_MAX_ENTRIES);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(e[i].key);

		if (kl == 0 || kl > META_MAX_KEY) {
			kp_rpc_fail(ctx, KP_EINVAL, NULL,
			            "metadata: keys are 1 to %d characters",
			            META_MAX_KEY);
			goto out;
		}
		if (strlen(e[i].value) > META_MAX_VALUE) {
			kp_rpc_fail(ctx, KP_EINVAL, NULL,
			            "metadata.%s: values are at most %d bytes",
			            e[i].key, META_MAX_VALUE);
			goto out;
		}
		json_object_set_new(o, e[i].key, json_string(e[i].value));
	}
	if ((*out = json_dumps(o, JSON_COMPACT)) == NULL) {
		kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		rv = KP_EINTERNAL;
		goto out;
	}
	rv = KP_OK;
out:
	json_decref(o);
	return rv;
}

/* Checks that user_id (when not "") names a user, and that its organization
 * agrees with *org_id; an empty *org_id takes the user's organization
 * (copied into org_buf). Returns a kp_status (answered). */
static int
owner_check(kp_rpc_ctx *ctx, const char *user_id, const char **org_id,
            char *org_buf, size_t org_len)
{
	Keyport__Auth__GetUserRequest ureq =
	    KEYPORT__AUTH__GET_USER_REQUEST__INIT;
	Keyport__Org__GetOrganizationRequest oreq =
	    KEYPORT__ORG__GET_ORGANIZATION_REQUEST__INIT;
	Keyport__Auth__UserReply *u = NULL;
	int rv = KP_OK;

	if (user_id[0] != '\0') {
		ureq.id = (char *)user_id;
		rv = kp_service_call(ctx, "auth", "auth.GetUser", 1, &ureq.base,
		                     &keyport__auth__user_reply__descriptor,
		                     (ProtobufCMessage **)&u);
		if (rv != KP_OK) {
			if (call_unknown_method(ctx))
				rv = KP_OK;
			else if (rv == KP_ENOTFOUND || rv == KP_EINVAL)
				rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
				                 "userId: no such user");
			goto out;
		}
		if (u->user != NULL && u->user->organization_id[0] != '\0') {
			if ((*org_id)[0] == '\0') {
				snprintf(org_buf, org_len, "%s",
				         u->user->organization_id);
				*org_id = org_buf;
			} else if (strcasecmp(*org_id,
			                      u->user->organization_id) != 0) {
				rv = kp_rpc_fail(
				    ctx, KP_EINVAL, NULL,
				    "userId: the user belongs to another "
				    "organization than organizationId");
				goto out;
			}
		}
	}
	if ((*org_id)[0] != '\0' &&
	    (u == NULL || u->user == NULL ||
	     strcasecmp(*org_id, u->user->organization_id) != 0)) {
		oreq.id = (char *)*org_id;
		rv = kp_service_call(ctx, "org", "org.GetOrganization", 1,
		                     &oreq.base, NULL, NULL);
		if (rv != KP_OK) {
			if (call_unknown_method(ctx))
				rv = KP_OK;
			else if (rv == KP_ENOTFOUND || rv == KP_EINVAL)
				rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
				                 "organizationId: no such "
				                 "organization");
		}
	}
out:
	if (u != NULL)
		protobuf_c_message_free_unpacked(&u->base, NULL);
	return rv;
}

/* Fills total_activations / total_deactivations of every license of s with
 * one activation.Counters call. */
static int
license_counters(kp_rpc_ctx *ctx, license_set *s)
{
	Keyport__Activation__CountersRequest req =
	    KEYPORT__ACTIVATION__COUNTERS_REQUEST__INIT;
	Keyport__Activation__CountersReply *reply = NULL;
	char **ids = NULL;
	int rv = KP_OK;

	if (s->n == 0)
		return KP_OK;
	if ((ids = calloc(s->n, sizeof(*ids))) == NULL)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		ids[i] = s->items[i].id;
	req.n_license_ids = s->n;
	req.license_ids = ids;
	rv = kp_service_call(ctx, "activation", "activation.Counters", 1,
	                     &req.base,
	                     &keyport__activation__counters_reply__descriptor,
	                     (ProtobufCMessage **)&reply);
	if (rv != KP_OK) {
		if (call_unknown_method(ctx))
			rv = KP_OK; /* no activation service yet: zeros */
		goto out;
	}
	for (size_t c = 0; c < reply->n_counters; c++)
		for (size_t i = 0; i < s->n; i++)
			if (strcasecmp(s->items[i].id,
			               reply->counters[c]->license_id) == 0) {
				s->items[i].total_activations =
				    reply->counters[c]->total_activations;
				s->items[i].total_deactivations =
				    reply->counters[c]->total_deactivations;
			}
out:
	free(ids);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rv;
}

/* license_changed tells the activation service that n licenses changed or
 * are gone, after the change is committed and before its caller is
 * answered: heartbeats answer from a cache of licenses that this call
 * invalidates on every replica (services/activation/activation_lcache.h).
 * Best effort: a failure is logged and the change stands; cached entries
 * then expire within KEYPORT_LICENSE_CACHE_MS. ctx's outcome is left as it
 * was. */
static void
license_changed(kp_rpc_ctx *ctx, size_t n, char **ids)
{
	Keyport__Activation__LicenseChangedRequest req =
	    KEYPORT__ACTIVATION__LICENSE_CHANGED_REQUEST__INIT;

	if (n == 0)
		return;
	req.n_license_ids = n;
	req.license_ids = ids;
	if (kp_service_call(ctx, "activation", "activation.LicenseChanged", 1,
	                    &req.base, NULL, NULL) != KP_OK) {
		kp_log_warn("activation.LicenseChanged (%zu licenses) failed: "
		            "%s",
		            n, ctx->message);
		ctx->status = KP_OK;
		ctx->code[0] = '\0';
		ctx->message[0] = '\0';
	}
}

/* license_changed_one is license_changed for one license. */
static void
license_changed_one(kp_rpc_ctx *ctx, const char *id)
{
	char *ids[1] = {(char *)id};

	license_changed(ctx, 1, ids);
}

/* The ids of licenses linked to the caller's groups, as a PostgreSQL array
 * literal "{...}" (*out, caller frees). */
static int
visible_ids(kp_rpc_ctx *ctx, char **out)
{
	Keyport__Org__VisibleLicensesRequest req =
	    KEYPORT__ORG__VISIBLE_LICENSES_REQUEST__INIT;
	Keyport__Org__VisibleLicensesReply *reply = NULL;
	kp_pgarr ids = {0};
	const char *text;
	int rv;

	*out = NULL;
	req.user_id = (char *)ctx->caller->user_id;
	rv = kp_service_call(ctx, "org", "org.VisibleLicenses", 1, &req.base,
	                     &keyport__org__visible_licenses_reply__descriptor,
	                     (ProtobufCMessage **)&reply);
	if (rv != KP_OK && !call_unknown_method(ctx))
		return rv;
	/* ids are UUIDs; kp_pgarr refuses anything else */
	for (size_t i = 0; reply != NULL && i < reply->n_license_ids; i++)
		(void)kp_pgarr_uuid(&ids, reply->license_ids[i]);
	if ((text = kp_pgarr_text(&ids)) == NULL ||
	    (*out = strdup(text)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	rv = KP_OK;
out:
	kp_pgarr_free(&ids);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	return rv;
}

/* Answers one license from res (first row) or NOT_FOUND. */
static int
reply_one(kp_rpc_ctx *ctx, PGresult *res, int with_counters)
{
	Keyport__License__LicenseReply reply =
	    KEYPORT__LICENSE__LICENSE_REPLY__INIT;
	license_set s;
	int rv;

	if (PQntuples(res) == 0)
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
	if ((rv = license_set_fill(&s, res)) != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "out of memory");
		goto out;
	}
	if (with_counters && (rv = license_counters(ctx, &s)) != KP_OK)
		goto out;
	reply.license = s.ptrs[0];
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	license_set_cleanup(&s);
	return rv;
}

static int
reply_set(kp_rpc_ctx *ctx, PGresult *res, int64_t total, int with_counters)
{
	Keyport__License__ListLicensesReply reply =
	    KEYPORT__LICENSE__LIST_LICENSES_REPLY__INIT;
	license_set s;
	int rv;

	if ((rv = license_set_fill(&s, res)) != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "out of memory");
		goto out;
	}
	if (with_counters && (rv = license_counters(ctx, &s)) != KP_OK)
		goto out;
	reply.n_licenses = s.n;
	reply.licenses = s.ptrs;
	reply.total = total;
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	license_set_cleanup(&s);
	return rv;
}

/* Maps a database failure to an answer. */
static int
db_fail(kp_rpc_ctx *ctx, int rv)
{
	if (rv == KP_EINVAL)
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
	return kp_rpc_fail(ctx, rv, NULL, "%s",
	                   kp_db_message(kp_service_db(ctx)));
}

/* ---- create ----------------------------------------------------------- */

static const char *const sql_create =
    "WITH l AS (INSERT INTO licenses (key, product_id, type, "
    "allowed_activations, allowed_deactivations, validity, "
    "expiration_strategy, expires_at, user_id, organization_id, metadata, "
    "lease_seconds, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, "
    "$6::bigint, $7::text, CASE WHEN $7::text = 'immediate' AND "
    "$6::bigint > 0 THEN to_timestamp($12::bigint + $6::bigint) END, "
    "NULLIF($8, '')::uuid, NULLIF($9, '')::uuid, $10::jsonb, $11, "
    "to_timestamp($12::bigint), to_timestamp($12::bigint)) RETURNING *) "
    "SELECT " LICENSE_COLS " FROM l JOIN products p ON p.id = l.product_id";

int
license_create(kp_rpc_ctx *ctx)
{
	Keyport__License__CreateLicenseRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char key[LICENSE_KEY_CHARS + 1], aa[24], ad[24], val[24], lease[24];
	char now[24], org_buf[64];
	meta_kv kv[META_MAX_ENTRIES + 1];
	const char *org_id;
	char *meta = NULL;
	PGresult *res = NULL;
	int rv;

	rv = kp_rpc_unpack(
	    ctx, &keyport__license__create_license_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (!is_internal_or_admin(ctx)) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL, "admin only");
		goto out;
	}
	rv = KP_EINVAL;
	if (strcmp(req->type, "node-locked") != 0 &&
	    strcmp(req->type, "hosted-floating") != 0) {
		kp_rpc_fail(ctx, rv, NULL,
		            "type: node-locked or hosted-floating");
		goto out;
	}
	if (strcmp(req->expiration_strategy, "immediate") != 0 &&
	    strcmp(req->expiration_strategy, "delayed") != 0) {
		kp_rpc_fail(ctx, rv, NULL,
		            "expirationStrategy: immediate or delayed");
		goto out;
	}
	if (req->allowed_activations < -1 || req->allowed_deactivations < -1) {
		kp_rpc_fail(ctx, rv, NULL,
		            "allowedActivations/allowedDeactivations: -1 "
		            "(unlimited) or more");
		goto out;
	}
	if (req->validity < 0 || req->lease_seconds < 0) {
		kp_rpc_fail(ctx, rv, NULL,
		            "validity/leaseSeconds: 0 or more seconds");
		goto out;
	}
	META_KV(kv, req->n_metadata, req->metadata);
	if ((rv = metadata_json(ctx, req->n_metadata, kv, &meta)) != KP_OK)
		goto out;
	org_id = req->organization_id;
	if ((rv = owner_check(ctx, req->user_id, &org_id, org_buf,
	                      sizeof(org_buf))) != KP_OK)
		goto out;
	epoch_str(aa, sizeof(aa), req->allowed_activations);
	epoch_str(ad, sizeof(ad), req->allowed_deactivations);
	epoch_str(val, sizeof(val), req->validity);
	epoch_str(lease, sizeof(lease), req->lease_seconds);
	epoch_str(now, sizeof(now), kp_now());
	/* a collision of 25 random characters is ~never; retry anyway */
	for (int attempt = 0; attempt < 5; attempt++) {
		const char *params[12] = {key,
		                          req->product_id,
		                          req->type,
		                          aa,
		                          ad,
		                          val,
		                          req->expiration_strategy,
		                          req->user_id,
		                          org_id,
		                          meta,
		                          lease,
		                          now};

		license_key_generate(key);
		rv = kp_db_query(db, sql_create, 12, params, &res);
		if (rv != KP_ECONFLICT ||
		    strcmp(kp_db_sqlstate(db), "23505") != 0)
			break;
	}
	if (rv != KP_OK) {
		if (strcmp(kp_db_sqlstate(db), "23503") == 0 ||
		    strncmp(kp_db_sqlstate(db), "22", 2) == 0)
			rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
			                 "productId: no such product");
		else
			rv = db_fail(ctx, rv);
		goto out;
	}
	rv = reply_one(ctx, res, 0);
out:
	free(meta);
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- admin list --------------------------------------------------------- */

#define LIST_WHERE                                                             \
	" WHERE ($1::uuid IS NULL OR l.product_id = $1::uuid) "                \
	"AND ($2::uuid IS NULL OR l.user_id = $2::uuid) "                      \
	"AND ($3::uuid IS NULL OR l.organization_id = $3::uuid) "              \
	"AND ($4::text IS NULL OR CASE WHEN l.revoked THEN 'revoked' "         \
	"WHEN l.suspended THEN 'suspended' WHEN l.expires_at IS NOT NULL AND " \
	"l.expires_at <= to_timestamp($6::bigint) THEN 'expired' "             \
	"ELSE 'active' END = $4::text) "                                       \
	"AND ($5::text IS NULL OR strpos(l.key, $5::text) > 0) "
#define LIST_PAGE " LIMIT $7 OFFSET $8"

static const char *const sql_list[] = {
    "SELECT " LICENSE_COLS LICENSE_FROM LIST_WHERE
    "ORDER BY l.created_at DESC, l.id DESC" LIST_PAGE,
    "SELECT " LICENSE_COLS LICENSE_FROM LIST_WHERE
    "ORDER BY l.created_at, l.id" LIST_PAGE,
    "SELECT " LICENSE_COLS LICENSE_FROM LIST_WHERE
    "ORDER BY l.expires_at NULLS LAST, l.id" LIST_PAGE,
    "SELECT " LICENSE_COLS LICENSE_FROM LIST_WHERE
    "ORDER BY l.expires_at DESC NULLS LAST, l.id DESC" LIST_PAGE,
};
static const char *const sql_list_count =
    "SELECT count(*) FROM licenses l" LIST_WHERE
    "AND $7::int IS NOT NULL AND $8::int IS NOT NULL";

static const char *
nz(const char *s)
{
	return s[0] == '\0' ? NULL : s;
}

int
license_list(kp_rpc_ctx *ctx)
{
	static const char *const sorts[] = {"-createdAt", "createdAt",
	                                    "expiresAt", "-expiresAt"};
	Keyport__License__ListLicensesRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char key[80], now[24], lim[16], off[24];
	const char *params[8];
	PGresult *res = NULL, *cnt = NULL;
	size_t sort = 0;
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__list_licenses_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (!is_internal_or_admin(ctx)) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL, "admin only");
		goto out;
	}
	rv = KP_EINVAL;
	if (req->page < 1 || req->limit < 1 || req->limit > 100) {
		kp_rpc_fail(ctx, rv, NULL, "page/limit: out of range");
		goto out;
	}
	if (req->sort[0] != '\0') {
		for (sort = 0; sort < 4; sort++)
			if (strcmp(req->sort, sorts[sort]) == 0)
				break;
		if (sort == 4) {
			kp_rpc_fail(ctx, rv, NULL,
			            "sort: createdAt, -createdAt, expiresAt "
			            "or -expiresAt");
			goto out;
		}
	}
	if (req->status[0] != '\0' && strcmp(req->status, "active") != 0 &&
	    strcmp(req->status, "expired") != 0 &&
	    strcmp(req->status, "suspended") != 0 &&
	    strcmp(req->status, "revoked") != 0) {
		kp_rpc_fail(ctx, rv, NULL,
		            "status: active, expired, suspended or revoked");
		goto out;
	}
	if (license_key_normalise(req->key, key, sizeof(key)) != 0) {
		kp_rpc_fail(ctx, rv, NULL, "key: at most 64 characters");
		goto out;
	}
	epoch_str(now, sizeof(now), kp_now());
	snprintf(lim, sizeof(lim), "%d", req->limit);
	snprintf(off, sizeof(off), "%lld",
	         (long long)(req->page - 1) * req->limit);
	params[0] = nz(req->product_id);
	params[1] = nz(req->user_id);
	params[2] = nz(req->organization_id);
	params[3] = nz(req->status);
	params[4] = nz(key);
	params[5] = now;
	params[6] = lim;
	params[7] = off;
	if ((rv = kp_db_query(db, sql_list[sort], 8, params, &res)) != KP_OK ||
	    (rv = kp_db_query(db, sql_list_count, 8, params, &cnt)) != KP_OK) {
		rv = rv == KP_EINVAL
		         ? kp_rpc_fail(ctx, rv, NULL,
		                       "productId/userId/organizationId: "
		                       "not a UUID")
		         : db_fail(ctx, rv);
		goto out;
	}
	rv = reply_set(ctx, res, strtoll(PQgetvalue(cnt, 0, 0), NULL, 10), 0);
out:
	PQclear(res);
	PQclear(cnt);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- portal ------------------------------------------------------------ */

/* The page and its exact total come from two functions of
 * sql/003_visible_page.sql (the three disjoint sets a caller sees, each
 * read in page order from its own index; the total from per-owner counters
 * that triggers keep, sql/002_owner_counts.sql), whose plans PostgreSQL
 * keeps: as plain statements both were planned again on every call. The
 * cost of a page grows with the page, not with the caller's licenses. */
/* products: one primary-key lookup per row (a hash join read the whole
 * products table for every page) */
static const char *const sql_mine =
    "SELECT " LICENSE_COLS
    " FROM license_visible_page(NULLIF($1, '')::uuid, NULLIF($2, '')::uuid, "
    "$3::uuid[], $4::int, $5::bigint) l CROSS JOIN LATERAL (SELECT p.name "
    "FROM products p WHERE p.id = l.product_id OFFSET 0) p ORDER BY "
    "l.created_at DESC, l.id DESC";
static const char *const sql_mine_count =
    "SELECT license_visible_count(NULLIF($1, '')::uuid, NULLIF($2, "
    "'')::uuid, $3::uuid[]) + 0 * ($4::int + $5::bigint)";

static unsigned long
rpc_calls_now(kp_rpc_ctx *ctx)
{
	kp_service *svc = kp_service_of(ctx);

	return kp_rpc_client_calls(kp_service_client(svc, "org")) +
	       kp_rpc_client_calls(kp_service_client(svc, "activation")) +
	       kp_rpc_client_calls(kp_service_client(svc, "auth"));
}

/* Records the cost of a portal request for license.Stats (tests). */
static void
cost_record(kp_rpc_ctx *ctx, unsigned long q0, unsigned long r0)
{
	license_app *app = license_app_of(ctx);

	atomic_store(&app->last_queries,
	             (long)(kp_db_queries(kp_service_db(ctx)) - q0));
	atomic_store(&app->last_rpcs, (long)(rpc_calls_now(ctx) - r0));
}

int
license_list_mine(kp_rpc_ctx *ctx)
{
	Keyport__License__ListMyLicensesRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	unsigned long q0 = kp_db_queries(db), r0 = rpc_calls_now(ctx);
	const char *role = ctx->caller->role;
	char *visible = NULL, lim[16], off[24];
	const char *params[5];
	PGresult *res = NULL, *cnt = NULL;
	int rv;

	rv = kp_rpc_unpack(
	    ctx, &keyport__license__list_my_licenses_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (ctx->caller->user_id[0] == '\0') {
		rv = kp_rpc_fail(ctx, KP_EUNAUTH, NULL, "sign in first");
		goto out;
	}
	if (req->page < 1 || req->limit < 1 || req->limit > 100) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "page/limit: out of range");
		goto out;
	}
	if ((rv = visible_ids(ctx, &visible)) != KP_OK)
		goto out;
	snprintf(lim, sizeof(lim), "%d", req->limit);
	snprintf(off, sizeof(off), "%lld",
	         (long long)(req->page - 1) * req->limit);
	params[0] = ctx->caller->user_id;
	params[1] = strcmp(role, "organization-admin") == 0
	                ? ctx->caller->organization_id
	                : "";
	params[2] = visible;
	params[3] = lim;
	params[4] = off;
	if ((rv = kp_db_query(db, sql_mine, 5, params, &res)) != KP_OK ||
	    (rv = kp_db_query(db, sql_mine_count, 5, params, &cnt)) != KP_OK) {
		rv = db_fail(ctx, rv);
		goto out;
	}
	rv = reply_set(ctx, res, strtoll(PQgetvalue(cnt, 0, 0), NULL, 10), 1);
	cost_record(ctx, q0, r0);
out:
	free(visible);
	PQclear(res);
	PQclear(cnt);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- one, many, by key --------------------------------------------------- */

static const char *const sql_get =
    "SELECT " LICENSE_COLS LICENSE_FROM "WHERE l.id = $1";

/* Reads license id into *res (NULL when it does not exist or id is not a
 * UUID: NOT_FOUND answered). */
static int
license_read(kp_rpc_ctx *ctx, const char *id, PGresult **res)
{
	int rv = kp_db_query(kp_service_db(ctx), sql_get, 1, &id, res);

	if (rv != KP_OK)
		return db_fail(ctx, rv);
	if (PQntuples(*res) == 0) {
		PQclear(*res);
		*res = NULL;
		return kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
	}
	return KP_OK;
}

/* May the caller of ctx see the license in row 0 of res? Applies the portal
 * rule; asks org for group links only when the direct rules fail. */
static int
license_visible(kp_rpc_ctx *ctx, PGresult *res, int *visible)
{
	const Keyport__Caller *c = ctx->caller;
	const char *id = PQgetvalue(res, 0, 0);
	char *ids = NULL;
	int rv = KP_OK;

	*visible = 0;
	if (is_internal_or_admin(ctx)) {
		*visible = 1;
		return KP_OK;
	}
	if (c->user_id[0] != '\0' &&
	    strcasecmp(PQgetvalue(res, 0, 12), c->user_id) == 0) {
		*visible = 1;
		return KP_OK;
	}
	if (strcmp(c->role, "organization-admin") == 0 &&
	    c->organization_id[0] != '\0' &&
	    strcasecmp(PQgetvalue(res, 0, 13), c->organization_id) == 0) {
		*visible = 1;
		return KP_OK;
	}
	if (c->user_id[0] == '\0')
		return KP_OK;
	if ((rv = visible_ids(ctx, &ids)) != KP_OK)
		return rv;
	*visible = strcasestr(ids, id) != NULL;
	free(ids);
	return KP_OK;
}

int
license_get(kp_rpc_ctx *ctx)
{
	Keyport__License__GetLicenseRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	unsigned long q0 = kp_db_queries(db), r0 = rpc_calls_now(ctx);
	PGresult *res = NULL;
	int rv, visible = 0;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__get_license_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if ((rv = license_read(ctx, req->id, &res)) != KP_OK)
		goto out;
	if ((rv = license_visible(ctx, res, &visible)) != KP_OK)
		goto out;
	if (!visible) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
		goto out;
	}
	rv = reply_one(ctx, res, req->with_counters);
	cost_record(ctx, q0, r0);
out:
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

static const char *const sql_get_many =
    "SELECT " LICENSE_COLS LICENSE_FROM "WHERE l.id = ANY($1::uuid[]) "
    "AND ($2 = '' OR l.organization_id = NULLIF($2, '')::uuid) "
    "ORDER BY l.created_at, l.id";

int
license_get_many(kp_rpc_ctx *ctx)
{
	Keyport__License__GetLicensesRequest *req = NULL;
	Keyport__License__GetLicensesReply reply =
	    KEYPORT__LICENSE__GET_LICENSES_REPLY__INIT;
	license_set s = {0};
	kp_pgarr ids = {0};
	const char *params[2];
	PGresult *res = NULL;
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__get_licenses_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	/* an id that is not a UUID is not found */
	for (size_t i = 0; i < req->n_ids; i++)
		(void)kp_pgarr_uuid(&ids, req->ids[i]);
	if ((params[0] = kp_pgarr_text(&ids)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	params[1] = req->organization_id;
	if ((rv = kp_db_query(kp_service_db(ctx), sql_get_many, 2, params,
	                      &res)) != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "%s",
		                 kp_db_message(kp_service_db(ctx)));
		goto out;
	}
	if ((rv = license_set_fill(&s, res)) != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "out of memory");
		goto out;
	}
	reply.n_licenses = s.n;
	reply.licenses = s.ptrs;
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	license_set_cleanup(&s);
	kp_pgarr_free(&ids);
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

static const char *const sql_by_key =
    "SELECT " LICENSE_COLS LICENSE_FROM "WHERE l.key = $1";

int
license_resolve_key(kp_rpc_ctx *ctx)
{
	Keyport__License__ResolveKeyRequest *req = NULL;
	char key[80];
	const char *kp = key;
	PGresult *res = NULL;
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__resolve_key_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (license_key_normalise(req->key, key, sizeof(key)) != 0 ||
	    key[0] == '\0') {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "LICENSE_NOT_FOUND",
		                 "no license with this key");
		goto out;
	}
	if ((rv = kp_db_query(kp_service_db(ctx), sql_by_key, 1, &kp, &res)) !=
	    KP_OK) {
		rv = db_fail(ctx, rv);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "LICENSE_NOT_FOUND",
		                 "no license with this key");
		goto out;
	}
	if (req->product_id[0] != '\0' &&
	    strcasecmp(req->product_id, PQgetvalue(res, 0, 2)) != 0) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, "PRODUCT_MISMATCH",
		                 "the license is for another product");
		goto out;
	}
	rv = reply_one(ctx, res, 0);
out:
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- changes ----------------------------------------------------------- */

/* A new validity (docs/design.md, "Changing validity"): 0 makes the license
 * perpetual; a running expiry moves by (new - old validity), so the current
 * term gets the new length and renewals already granted are kept; an
 * immediate license without an expiry starts at created_at; a delayed one
 * still starts at its first activation. (SET expressions read the old row.) */
static const char *const sql_update =
    "UPDATE licenses SET "
    "allowed_activations = CASE WHEN $2 THEN $3::bigint ELSE "
    "allowed_activations END, "
    "allowed_deactivations = CASE WHEN $4 THEN $5::bigint ELSE "
    "allowed_deactivations END, "
    "expires_at = CASE WHEN NOT $6 THEN expires_at "
    "WHEN $7::bigint = 0 THEN NULL "
    "WHEN expires_at IS NOT NULL THEN expires_at + ($7::bigint - validity) "
    "* interval '1 second' "
    "WHEN expiration_strategy = 'immediate' THEN created_at + $7::bigint * "
    "interval '1 second' ELSE expires_at END, "
    "validity = CASE WHEN $6 THEN $7::bigint ELSE validity END, "
    "user_id = CASE WHEN $8 THEN NULLIF($9, '')::uuid ELSE user_id END, "
    "organization_id = CASE WHEN $10 THEN NULLIF($11, '')::uuid ELSE "
    "organization_id END, "
    "metadata = CASE WHEN $12 THEN $13::jsonb ELSE metadata END, "
    "lease_seconds = CASE WHEN $14 THEN $15::bigint ELSE lease_seconds END, "
    "updated_at = to_timestamp($16::bigint) WHERE id = $1";

int
license_update(kp_rpc_ctx *ctx)
{
	Keyport__License__UpdateLicenseRequest *req = NULL;
	kp_db *db = kp_service_db(ctx);
	char aa[24], ad[24], val[24], lease[24], now[24], org_buf[64];
	meta_kv kv[META_MAX_ENTRIES + 1];
	const char *org_id, *user_id;
	char *meta = NULL;
	PGresult *res = NULL;
	int rv;

	rv = kp_rpc_unpack(
	    ctx, &keyport__license__update_license_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (!is_internal_or_admin(ctx)) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL, "admin only");
		goto out;
	}
	if ((rv = license_read(ctx, req->id, &res)) != KP_OK)
		goto out;
	rv = KP_EINVAL;
	if ((req->has_allowed_activations && req->allowed_activations < -1) ||
	    (req->has_allowed_deactivations &&
	     req->allowed_deactivations < -1)) {
		kp_rpc_fail(ctx, rv, NULL,
		            "allowedActivations/allowedDeactivations: -1 "
		            "(unlimited) or more");
		goto out;
	}
	if ((req->has_validity && req->validity < 0) ||
	    (req->has_lease_seconds && req->lease_seconds < 0)) {
		kp_rpc_fail(ctx, rv, NULL,
		            "validity/leaseSeconds: 0 or more seconds");
		goto out;
	}
	META_KV(kv, req->n_metadata, req->metadata);
	if (req->has_metadata &&
	    (rv = metadata_json(ctx, req->n_metadata, kv, &meta)) != KP_OK)
		goto out;
	/* the owner pair as it will be, checked together */
	user_id = req->has_user_id ? req->user_id : PQgetvalue(res, 0, 12);
	org_id = req->has_organization_id ? req->organization_id
	                                  : PQgetvalue(res, 0, 13);
	if ((req->has_user_id || req->has_organization_id) &&
	    (rv = owner_check(ctx, user_id, &org_id, org_buf,
	                      sizeof(org_buf))) != KP_OK)
		goto out;
	epoch_str(aa, sizeof(aa), req->allowed_activations);
	epoch_str(ad, sizeof(ad), req->allowed_deactivations);
	epoch_str(val, sizeof(val), req->validity);
	epoch_str(lease, sizeof(lease), req->lease_seconds);
	epoch_str(now, sizeof(now), kp_now());
	{
		const char *params[16] = {
		    req->id,
		    req->has_allowed_activations ? "t" : "f",
		    aa,
		    req->has_allowed_deactivations ? "t" : "f",
		    ad,
		    req->has_validity ? "t" : "f",
		    val,
		    req->has_user_id ? "t" : "f",
		    user_id,
		    (req->has_user_id || req->has_organization_id) ? "t" : "f",
		    org_id,
		    req->has_metadata ? "t" : "f",
		    meta ? meta : "{}",
		    req->has_lease_seconds ? "t" : "f",
		    lease,
		    now};

		/* user_id / org_id may point into res: clear it only after */
		rv = kp_db_exec(db, sql_update, 16, params);
		PQclear(res);
		res = NULL;
		if (rv != KP_OK) {
			rv = db_fail(ctx, rv);
			goto out;
		}
	}
	license_changed_one(ctx, req->id);
	if ((rv = license_read(ctx, req->id, &res)) != KP_OK)
		goto out;
	rv = reply_one(ctx, res, 0);
out:
	free(meta);
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

typedef enum { OP_SUSPEND, OP_UNSUSPEND, OP_REVOKE, OP_RENEW } license_op;

static const char *const sql_ops[] = {
    "UPDATE licenses SET suspended = true, updated_at = "
    "to_timestamp($2::bigint) WHERE id = $1",
    "UPDATE licenses SET suspended = false, updated_at = "
    "to_timestamp($2::bigint) WHERE id = $1",
    "UPDATE licenses SET revoked = true, updated_at = "
    "to_timestamp($2::bigint) WHERE id = $1",
    "UPDATE licenses SET expires_at = greatest(to_timestamp($2::bigint), "
    "expires_at) + validity * interval '1 second', updated_at = "
    "to_timestamp($2::bigint) WHERE id = $1",
};

/* One state change of a license; revocation is final. */
static int
license_change(kp_rpc_ctx *ctx, license_op op)
{
	Keyport__License__LicenseIdRequest *req = NULL;
	PGresult *res = NULL;
	char now[24];
	const char *params[2];
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__license_id_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (!is_internal_or_admin(ctx)) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL, "admin only");
		goto out;
	}
	if ((rv = license_read(ctx, req->id, &res)) != KP_OK)
		goto out;
	if (PQgetvalue(res, 0, 11)[0] == 't' && op != OP_REVOKE) {
		rv = kp_rpc_fail(ctx, KP_ECONFLICT, "LICENSE_REVOKED",
		                 "the license is revoked; revocation is final");
		goto out;
	}
	if (op == OP_RENEW && strtoll(PQgetvalue(res, 0, 7), NULL, 10) == 0) {
		rv = kp_rpc_fail(ctx, KP_ECONFLICT, "LICENSE_PERPETUAL",
		                 "a perpetual license (validity 0) has no "
		                 "expiry to extend");
		goto out;
	}
	if (op == OP_RENEW && PQgetisnull(res, 0, 18)) {
		rv = kp_rpc_fail(ctx, KP_ECONFLICT, "EXPIRY_NOT_STARTED",
		                 "a delayed license's expiry starts at its "
		                 "first activation");
		goto out;
	}
	PQclear(res);
	res = NULL;
	epoch_str(now, sizeof(now), kp_now());
	params[0] = req->id;
	params[1] = now;
	if ((rv = kp_db_exec(kp_service_db(ctx), sql_ops[op], 2, params)) !=
	    KP_OK) {
		rv = db_fail(ctx, rv);
		goto out;
	}
	license_changed_one(ctx, req->id);
	if ((rv = license_read(ctx, req->id, &res)) != KP_OK)
		goto out;
	rv = reply_one(ctx, res, 0);
out:
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
license_suspend(kp_rpc_ctx *ctx)
{
	return license_change(ctx, OP_SUSPEND);
}

int
license_unsuspend(kp_rpc_ctx *ctx)
{
	return license_change(ctx, OP_UNSUSPEND);
}

int
license_revoke(kp_rpc_ctx *ctx)
{
	return license_change(ctx, OP_REVOKE);
}

int
license_renew(kp_rpc_ctx *ctx)
{
	return license_change(ctx, OP_RENEW);
}

static const char *const sql_start_expiry =
    "UPDATE licenses SET expires_at = to_timestamp($2::bigint) + validity "
    "* interval '1 second', updated_at = to_timestamp($2::bigint) "
    "WHERE id = $1 AND expiration_strategy = 'delayed' AND expires_at IS "
    "NULL AND validity > 0";

int
license_start_expiry(kp_rpc_ctx *ctx)
{
	Keyport__License__StartExpiryRequest *req = NULL;
	PGresult *res = NULL;
	char now[24];
	const char *params[2];
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__start_expiry_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	epoch_str(now, sizeof(now), kp_now());
	params[0] = req->license_id;
	params[1] = now;
	if ((rv = kp_db_exec(kp_service_db(ctx), sql_start_expiry, 2,
	                     params)) != KP_OK) {
		rv = db_fail(ctx, rv);
		goto out;
	}
	if ((rv = license_read(ctx, req->license_id, &res)) != KP_OK)
		goto out;
	rv = reply_one(ctx, res, 0);
out:
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

static const char *const sql_delete =
    "DELETE FROM licenses WHERE id = $1 RETURNING id";

int
license_delete(kp_rpc_ctx *ctx)
{
	Keyport__License__LicenseIdRequest *req = NULL;
	Keyport__Org__LicenseRemovedRequest removed =
	    KEYPORT__ORG__LICENSE_REMOVED_REQUEST__INIT;
	Keyport__License__Empty reply = KEYPORT__LICENSE__EMPTY__INIT;
	const char *id;
	PGresult *res = NULL;
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__license_id_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (!is_internal_or_admin(ctx)) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL, "admin only");
		goto out;
	}
	id = req->id;
	if ((rv = kp_db_query(kp_service_db(ctx), sql_delete, 1, &id, &res)) !=
	    KP_OK) {
		rv = db_fail(ctx, rv);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no such license");
		goto out;
	}
	license_changed_one(ctx, id);
	/* best effort: org drops the id from its groups (idempotent there) */
	removed.license_id = (char *)id;
	if (kp_service_call(ctx, "org", "org.LicenseRemoved", 1, &removed.base,
	                    NULL, NULL) != KP_OK) {
		kp_log_warn("org.LicenseRemoved %s failed: %s", id,
		            ctx->message);
		ctx->status = KP_OK;
		ctx->code[0] = '\0';
		ctx->message[0] = '\0';
	}
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* ---- organizations ------------------------------------------------------- */

static const char *const sql_count_org =
    "SELECT count(*) FROM licenses WHERE organization_id = $1";
static const char *const sql_delete_org =
    "DELETE FROM licenses WHERE organization_id = $1 RETURNING id::text";

static int
license_org_op(kp_rpc_ctx *ctx, const char *sql)
{
	Keyport__License__OrganizationRequest *req = NULL;
	Keyport__License__CountReply reply =
	    KEYPORT__LICENSE__COUNT_REPLY__INIT;
	const char *id;
	PGresult *res = NULL;
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__organization_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (!is_internal_or_admin(ctx)) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL, "admin only");
		goto out;
	}
	id = req->organization_id;
	if ((rv = kp_db_query(kp_service_db(ctx), sql, 1, &id, &res)) !=
	    KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "%s",
		                 kp_db_message(kp_service_db(ctx)));
		goto out;
	}
	if (sql == sql_delete_org) {
		/* one row per deleted license: their caches go too */
		size_t n = (size_t)PQntuples(res);
		char **ids = calloc(n ? n : 1, sizeof(*ids));

		if (ids == NULL) {
			rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL,
			                 "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			ids[i] = PQgetvalue(res, (int)i, 0);
		for (size_t i = 0; i < n; i += 10000)
			license_changed(ctx, n - i < 10000 ? n - i : 10000,
			                ids + i);
		free(ids);
		reply.count = (int64_t)n;
	} else {
		reply.count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	}
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
license_count_org(kp_rpc_ctx *ctx)
{
	return license_org_op(ctx, sql_count_org);
}

int
license_delete_org(kp_rpc_ctx *ctx)
{
	return license_org_op(ctx, sql_delete_org);
}

/* ---- test-only ------------------------------------------------------------
 */

int
license_stats(kp_rpc_ctx *ctx)
{
	license_app *app = license_app_of(ctx);
	Keyport__License__StatsReply reply =
	    KEYPORT__LICENSE__STATS_REPLY__INIT;

	reply.queries = atomic_load(&app->last_queries);
	reply.rpcs = atomic_load(&app->last_rpcs);
	reply.method = (char *)"";
	return kp_rpc_reply(ctx, &reply.base);
}

static const char *const sql_seed =
    "WITH l AS (INSERT INTO licenses (key, product_id, type, "
    "allowed_activations, allowed_deactivations, validity, "
    "expiration_strategy, user_id, organization_id, created_at, "
    "updated_at) SELECT k, $2::uuid, 'node-locked', 1, 1, 0, 'immediate', "
    "NULLIF($3, '')::uuid, NULLIF($4, '')::uuid, "
    "to_timestamp($5::bigint) + n * interval '1 microsecond', "
    "to_timestamp($5::bigint) FROM unnest($1::text[]) WITH ORDINALITY AS "
    "t(k, n) RETURNING 1) SELECT count(*) FROM l";

int
license_seed(kp_rpc_ctx *ctx)
{
	Keyport__License__SeedLicensesRequest *req = NULL;
	Keyport__License__CountReply reply =
	    KEYPORT__LICENSE__COUNT_REPLY__INIT;
	char *arr = NULL, now[24];
	const char *params[5];
	PGresult *res = NULL;
	size_t o = 0;
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__seed_licenses_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (req->count < 1 || req->count > 200000) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL, "count: 1 to 200000");
		goto out;
	}
	arr = malloc((size_t)req->count * (LICENSE_KEY_CHARS + 1) + 3);
	if (arr == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	arr[o++] = '{';
	for (int64_t i = 0; i < req->count; i++) {
		if (i > 0)
			arr[o++] = ',';
		license_key_generate(arr + o);
		o += LICENSE_KEY_CHARS;
	}
	arr[o++] = '}';
	arr[o] = '\0';
	epoch_str(now, sizeof(now), kp_now());
	params[0] = arr;
	params[1] = req->product_id;
	params[2] = req->user_id;
	params[3] = req->organization_id;
	params[4] = now;
	/* one statement: a duplicate key fails all of it (unique index) */
	if ((rv = kp_db_query(kp_service_db(ctx), sql_seed, 5, params, &res)) !=
	    KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "%s",
		                 kp_db_message(kp_service_db(ctx)));
		goto out;
	}
	reply.count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	free(arr);
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
