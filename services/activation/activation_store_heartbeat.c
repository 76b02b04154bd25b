/* activation_store_heartbeat: the statements of the hot path, a
 * heartbeat's read (and, with a lease, write) of its activation (see
 * activation_store.h). */
#include "activation_store.h"
#include "activation_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <string.h>

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
