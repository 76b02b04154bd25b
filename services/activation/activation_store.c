/* activation_store: the activations table (see activation_store.h). */
#include "activation_store.h"
#include "activation_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
act_store_dec(int64_t v, char *buf)
{
	snprintf(buf, KP_NOW_PARAM_LEN, "%lld", (long long)v);
	return buf;
}

void
act_row_read(act_row *r, const PGresult *res, int row)
{
	Keyport__Activation__Activation init =
	    KEYPORT__ACTIVATION__ACTIVATION__INIT;
	Keyport__Activation__Activation *m = &r->msg;

	*m = init;
	m->id = PQgetvalue(res, row, ACT_C_ID);
	m->license_id = PQgetvalue(res, row, ACT_C_LICENSE_ID);
	m->product_id = PQgetvalue(res, row, ACT_C_PRODUCT_ID);
	m->fingerprint = PQgetvalue(res, row, ACT_C_FINGERPRINT);
	m->hostname = PQgetvalue(res, row, ACT_C_HOSTNAME);
	m->os = PQgetvalue(res, row, ACT_C_OS);
	m->os_version = PQgetvalue(res, row, ACT_C_OS_VERSION);
	m->app_version = PQgetvalue(res, row, ACT_C_APP_VERSION);
	m->vm_name = PQgetvalue(res, row, ACT_C_VM_NAME);
	m->offline = PQgetvalue(res, row, ACT_C_OFFLINE)[0] == 't';
	r->created_t = act_int(res, row, ACT_C_CREATED);
	r->seen_t = act_int(res, row, ACT_C_SEEN);
	r->deact_t = act_int(res, row, ACT_C_DEACTIVATED);
	kp_time_format(r->created_t, r->created, sizeof(r->created));
	kp_time_format(r->seen_t, r->seen, sizeof(r->seen));
	r->deact[0] = '\0';
	if (r->deact_t != 0)
		kp_time_format(r->deact_t, r->deact, sizeof(r->deact));
	m->created_at = r->created;
	m->last_seen_at = r->seen;
	m->deactivated_at = r->deact;
}

void
act_row_clear(act_row *r)
{
	if (r == NULL)
		return;
	PQclear(r->res_);
	memset(r, 0, sizeof(*r));
}

/* act_row_query runs sql, which returns one activation (ACT_COLS), into
 * *out; KP_ENOTFOUND when it returned none. */
static int
act_row_query(kp_db *db, const char *sql, int n, const char *const *p,
              act_row *out)
{
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, sql, n, p, &res)) != KP_OK)
		return rv;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return KP_ENOTFOUND;
	}
	act_row_read(out, res, 0);
	out->res_ = res;
	return KP_OK;
}

/* ---- taking a seat ------------------------------------------------------- */

/* the license's live activations carry its current lease (for the sweep) */
static const char act_sql_lease_sync[] =
    "UPDATE activations SET lease_seconds = $2::bigint WHERE license_id = "
    "$1::uuid AND deactivated_at IS NULL AND lease_seconds <> $2::bigint";

int
act_store_lease_sync(kp_db *db, const char *license_id, int64_t lease_seconds)
{
	char lease[KP_NOW_PARAM_LEN];
	const char *p[2] = {license_id, act_store_dec(lease_seconds, lease)};

	return kp_db_exec(db, act_sql_lease_sync, 2, p);
}

/* a lapsed lease ends when it ran out (as the sweep records it) */
static const char act_sql_release_lapsed[] =
    "UPDATE activations SET deactivated_at = lease_end(last_seen_at, "
    "$3::bigint) WHERE license_id = $1::uuid AND deactivated_at IS NULL AND "
    "NOT offline AND last_seen_at < to_timestamp($2) - make_interval(secs "
    "=> $3::bigint)";

/* released as of the end of its lease, like the sweep does */
static const char act_sql_release_one[] =
    "UPDATE activations SET deactivated_at = least(to_timestamp($2), "
    "lease_end(last_seen_at, $3::bigint)) WHERE id = $1::uuid AND "
    "deactivated_at IS NULL";

/* One statement per enum act_release. */
static const char *const act_sql_release[] = {
    [ACT_RELEASE_LAPSED] = act_sql_release_lapsed,
    [ACT_RELEASE_ONE] = act_sql_release_one,
};

int
act_store_release(kp_db *db, act_release_scope what, const char *id,
                  int64_t now, int64_t lease_seconds)
{
	char t[KP_NOW_PARAM_LEN], lease[KP_NOW_PARAM_LEN];
	const char *p[3] = {id, kp_time_param(now, t),
	                    act_store_dec(lease_seconds, lease)};

	return kp_db_exec(db, act_sql_release[what], 3, p);
}

static const char act_sql_live[] =
    "SELECT count(*), (array_agg(id::text) FILTER (WHERE fingerprint = "
    "$2))[1] FROM activations WHERE license_id = $1::uuid AND "
    "deactivated_at IS NULL";
enum act_live_col { ACT_LIVE_C_COUNT, ACT_LIVE_C_SAME_ID };

int
act_store_live(kp_db *db, const char *license_id, const char *fingerprint,
               act_live *out)
{
	const char *p[2] = {license_id, fingerprint};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, act_sql_live, 2, p, &res)) != KP_OK)
		return rv;
	out->count = act_int(res, 0, ACT_LIVE_C_COUNT);
	snprintf(out->same_id, sizeof(out->same_id), "%s",
	         PQgetvalue(res, 0, ACT_LIVE_C_SAME_ID));
	PQclear(res);
	return KP_OK;
}

/* an offline re-activation of the same machine takes the new request's
 * client key (the one its deactivation proof will be signed with) */
static const char act_sql_touch[] =
    "UPDATE activations SET last_seen_at = to_timestamp($2), offline = "
    "offline OR $3::boolean, client_public_key = CASE WHEN $3::boolean THEN "
    "$4 ELSE client_public_key END WHERE id = $1::uuid RETURNING " ACT_COLS;

int
act_store_touch(kp_db *db, const char *id, int64_t now, int offline,
                const char *client_public_key, act_row *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[4] = {id, kp_time_param(now, t),
	                    offline ? "true" : "false", client_public_key};

	return act_row_query(db, act_sql_touch, 4, p, out);
}

static const char act_sql_insert[] =
    "INSERT INTO activations (license_id, product_id, fingerprint, "
    "hostname, os, os_version, app_version, vm_name, offline, "
    "client_public_key, created_at, last_seen_at, lease_seconds) VALUES "
    "($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9::boolean, $10, "
    "to_timestamp($11), to_timestamp($11), $12::bigint) RETURNING " ACT_COLS;

int
act_store_insert(kp_db *db, const act_new *n, act_row *out)
{
	const Keyport__Activation__ActivateRequest *r = n->req;
	char t[KP_NOW_PARAM_LEN], lease[KP_NOW_PARAM_LEN];
	const char *p[12] = {n->license_id,
	                     n->product_id,
	                     r->fingerprint,
	                     r->hostname,
	                     r->os,
	                     r->os_version,
	                     r->app_version,
	                     r->vm_name,
	                     r->offline ? "true" : "false",
	                     r->client_public_key,
	                     kp_time_param(n->now, t),
	                     act_store_dec(n->lease_seconds, lease)};

	return act_row_query(db, act_sql_insert, 12, p, out);
}

/* ---- heartbeats (the hot path) ----------------------------------------- */

/* One statement: read the activation and the license's version (see
 * activation_lcache.h) and, when the activation is live, inside its lease
 * and last seen over a minute ago, record now as last_seen_at. */
static const char act_sql_heartbeat[] =
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
static const char act_sql_heartbeat_read[] =
    "SELECT " ACT_COLS ", last_seen_at, deactivated_at, lease_seconds, 0, "
    "coalesce((SELECT "
    "version FROM license_counters WHERE license_id = $2::uuid), 0) FROM "
    "activations WHERE id = $1::uuid AND license_id = $2::uuid";

/* both heartbeat statements: ACT_COLS, then these */
enum act_beat_col {
	ACT_BEAT_C_SEEN_RAW = ACT_NCOLS,
	ACT_BEAT_C_DEACT_RAW,
	ACT_BEAT_C_LEASE,
	ACT_BEAT_C_WRITTEN,
	ACT_BEAT_C_VERSION
};

int
act_store_heartbeat(kp_db *db, const char *id, const char *license_id,
                    int64_t now, int64_t lease_seconds, int64_t every,
                    act_beat *out)
{
	char t[KP_NOW_PARAM_LEN], lease[KP_NOW_PARAM_LEN], ev[KP_NOW_PARAM_LEN];
	const char *p[5] = {id, license_id, kp_time_param(now, t),
	                    act_store_dec(lease_seconds, lease),
	                    act_store_dec(every, ev)};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if (lease_seconds > 0)
		rv = kp_db_query(db, act_sql_heartbeat, 5, p, &res);
	else
		rv = kp_db_query(db, act_sql_heartbeat_read, 2, p, &res);
	if (rv != KP_OK)
		return rv;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return KP_OK;
	}
	act_row_read(&out->a, res, 0);
	out->a.res_ = res;
	out->found = 1;
	out->written = act_int(res, 0, ACT_BEAT_C_WRITTEN) > 0;
	out->version = act_int(res, 0, ACT_BEAT_C_VERSION);
	return KP_OK;
}

void
act_beat_clear(act_beat *b)
{
	if (b == NULL)
		return;
	act_row_clear(&b->a);
	memset(b, 0, sizeof(*b));
}

/* ---- releasing a seat ---------------------------------------------------- */

static const char act_sql_find_live[] =
    "SELECT 1 FROM activations WHERE id = $1::uuid AND license_id = "
    "$2::uuid AND deactivated_at IS NULL FOR UPDATE";

int
act_store_find_live(kp_db *db, const char *id, const char *license_id,
                    int *found)
{
	const char *p[2] = {id, license_id};
	PGresult *res = NULL;
	int rv;

	*found = 0;
	if ((rv = kp_db_query(db, act_sql_find_live, 2, p, &res)) != KP_OK)
		return rv;
	*found = PQntuples(res) == 1;
	PQclear(res);
	return KP_OK;
}

static const char act_sql_deactivate[] =
    "UPDATE activations SET deactivated_at = to_timestamp($2) WHERE id = "
    "$1::uuid RETURNING " ACT_COLS;

int
act_store_deactivate(kp_db *db, const char *id, int64_t now, act_row *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[2] = {id, kp_time_param(now, t)};

	return act_row_query(db, act_sql_deactivate, 2, p, out);
}

/* ---- lists --------------------------------------------------------------- */

static const char act_sql_list[] =
    "SELECT " ACT_COLS ", count(*) OVER () FROM activations WHERE "
    "license_id = $1::uuid ORDER BY created_at, id LIMIT $2 OFFSET $3";
enum act_list_col { ACT_LIST_C_TOTAL = ACT_NCOLS };

static const char act_sql_count[] =
    "SELECT count(*) FROM activations WHERE license_id = $1::uuid";
enum act_count_col { ACT_COUNT_C_COUNT };

/* act_list_total reads the total when the page is empty (past the end). */
static int
act_list_total(kp_db *db, const char *license_id, int64_t *total)
{
	PGresult *res = NULL;
	int rv;

	if ((rv = kp_db_query(db, act_sql_count, 1, &license_id, &res)) !=
	    KP_OK)
		return rv;
	*total = act_int(res, 0, ACT_COUNT_C_COUNT);
	PQclear(res);
	return KP_OK;
}

int
act_store_list(kp_db *db, const char *license_id, int limit, int64_t offset,
               act_set *out)
{
	char lim[KP_NOW_PARAM_LEN], off[KP_NOW_PARAM_LEN];
	const char *p[3] = {license_id, act_store_dec(limit, lim),
	                    act_store_dec(offset, off)};
	PGresult *res = NULL;
	size_t n;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, act_sql_list, 3, p, &res)) != KP_OK)
		return rv;
	out->res_ = res;
	n = (size_t)PQntuples(res);
	if (n > 0)
		out->total = act_int(res, 0, ACT_LIST_C_TOTAL);
	else if ((rv = act_list_total(db, license_id, &out->total)) != KP_OK)
		goto out;
	out->rows = calloc(n + 1, sizeof(*out->rows));
	out->msgs = calloc(n + 1, sizeof(*out->msgs));
	if (out->rows == NULL || out->msgs == NULL) {
		rv = KP_EINTERNAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		act_row_read(&out->rows[i], res, (int)i);
		out->msgs[i] = &out->rows[i].msg;
	}
	out->n = n;
out:
	if (rv != KP_OK)
		act_set_clear(out);
	return rv;
}

void
act_set_clear(act_set *s)
{
	if (s == NULL)
		return;
	free(s->rows);
	free(s->msgs);
	PQclear(s->res_);
	memset(s, 0, sizeof(*s));
}
