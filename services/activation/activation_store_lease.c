/* activation_store_lease: the statements of the lease sweep and of the
 * batched lastSeenAt writes (see activation_store.h). The sweep never waits
 * for a row lock (SKIP LOCKED), so it cannot deadlock with an activation
 * holding its license's lock; a skipped row is looked at again on the next
 * pass. */
#include "activation_store.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <stdlib.h>
#include <string.h>

/* licenses with at least one lapsed lease, by the rows' own lease (index
 * activations_lease_end, migration 002) */
static const char act_sql_lapsed_licenses[] =
    "SELECT DISTINCT license_id::text FROM activations WHERE "
    "lease_end(last_seen_at, lease_seconds) < to_timestamp($1) AND "
    "deactivated_at IS NULL AND lease_seconds > 0 AND NOT offline LIMIT $2";
enum act_lapsed_col { ACT_LAPSED_C_LICENSE_ID };

int
act_store_lapsed(kp_db *db, int64_t now, int limit, act_id_set *out)
{
	char t[KP_NOW_PARAM_LEN], lim[KP_NOW_PARAM_LEN];
	const char *p[2] = {kp_time_param(now, t), act_store_dec(limit, lim)};
	PGresult *res = NULL;
	size_t n;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, act_sql_lapsed_licenses, 2, p, &res)) !=
	    KP_OK)
		return rv;
	out->res_ = res;
	n = (size_t)PQntuples(res);
	if ((out->ids = kp_db_column(res, ACT_LAPSED_C_LICENSE_ID)) == NULL) {
		act_id_set_clear(out);
		return KP_EINTERNAL;
	}
	out->n = n;
	return KP_OK;
}

void
act_id_set_clear(act_id_set *s)
{
	if (s != NULL)
		kp_db_release(s->ids, s->res_, s, sizeof(*s));
}

/* the rows of those licenses take the license's current lease (0 for a
 * license that no longer exists: it has nothing left to release) */
static const char act_sql_refresh[] =
    "UPDATE activations SET lease_seconds = v.lease FROM (SELECT a.id, "
    "u.lease FROM activations a JOIN unnest($1::uuid[], $2::bigint[]) AS "
    "u(license_id, lease) ON a.license_id = u.license_id WHERE "
    "a.deactivated_at IS NULL AND a.lease_seconds <> u.lease FOR UPDATE OF "
    "a SKIP LOCKED) AS v WHERE activations.id = v.id";

/* release what is lapsed under the confirmed lease; deactivated_at is when
 * the lease ran out, whenever the sweep gets there */
static const char act_sql_release[] =
    "UPDATE activations SET deactivated_at = lease_end(last_seen_at, "
    "lease_seconds) WHERE deactivated_at IS NULL AND id IN (SELECT a.id "
    "FROM activations a JOIN unnest($2::uuid[], $3::bigint[]) AS "
    "u(license_id, lease) ON a.license_id = u.license_id AND "
    "a.lease_seconds = u.lease WHERE lease_end(a.last_seen_at, "
    "a.lease_seconds) < to_timestamp($1) AND a.deactivated_at IS NULL AND "
    "a.lease_seconds > 0 AND NOT a.offline FOR UPDATE OF a SKIP LOCKED)";

int
act_store_sweep(kp_db *db, int64_t now, char *const *ids, const int64_t *leases,
                size_t n, int64_t *released)
{
	kp_pgarr uuids = {0}, nums = {0};
	char t[KP_NOW_PARAM_LEN];
	PGresult *res = NULL;
	int rv = KP_EINTERNAL;

	*released = 0;
	for (size_t i = 0; i < n; i++)
		if (kp_pgarr_uuid(&uuids, ids[i]))
			kp_pgarr_int(&nums, leases[i]);
	if (kp_pgarr_text(&uuids) == NULL || kp_pgarr_text(&nums) == NULL)
		goto out;
	{
		const char *p[2] = {kp_pgarr_text(&uuids),
		                    kp_pgarr_text(&nums)};

		if ((rv = kp_db_exec(db, act_sql_refresh, 2, p)) != KP_OK)
			goto out;
	}
	{
		const char *p[3] = {kp_time_param(now, t),
		                    kp_pgarr_text(&uuids),
		                    kp_pgarr_text(&nums)};

		if ((rv = kp_db_query(db, act_sql_release, 3, p, &res)) !=
		    KP_OK)
			goto out;
	}
	*released = strtoll(PQcmdTuples(res), NULL, 10);
out:
	PQclear(res);
	kp_pgarr_free(&nums);
	kp_pgarr_free(&uuids);
	return rv;
}

/* Moves last_seen_at forward only, for live activations. */
static const char act_sql_seen[] =
    "UPDATE activations a SET last_seen_at = to_timestamp(v.at) FROM "
    "(SELECT id, max(at) AS at FROM unnest($1::uuid[], $2::bigint[]) AS "
    "u(id, at) GROUP BY id) v WHERE a.id = v.id AND a.deactivated_at IS "
    "NULL AND a.last_seen_at < to_timestamp(v.at)";

int
act_store_seen_write(kp_db *db, const act_seen_mark *marks, size_t n)
{
	kp_pgarr ids = {0}, ats = {0};
	const char *p[2];
	int rv = KP_EINTERNAL;

	for (size_t i = 0; i < n; i++)
		if (kp_pgarr_uuid(&ids, marks[i].id))
			kp_pgarr_int(&ats, marks[i].at);
	if ((p[0] = kp_pgarr_text(&ids)) == NULL ||
	    (p[1] = kp_pgarr_text(&ats)) == NULL)
		goto out;
	rv = kp_db_exec(db, act_sql_seen, 2, p);
out:
	kp_pgarr_free(&ids);
	kp_pgarr_free(&ats);
	return rv;
}
