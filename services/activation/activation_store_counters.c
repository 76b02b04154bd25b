/* activation_store_counters: license_counters (the per-license lock, the
 * totals, the version heartbeat caches compare) and deactivation_proofs,
 * with the activation an offline deactivation checks (see
 * activation_store.h).
 *
 * Limits are enforced under the per-license lock: the license's row of
 * license_counters, created on first use and locked by the same upsert
 * (INSERT ... ON CONFLICT DO UPDATE ... RETURNING locks the row until the
 * transaction ends), so concurrent activations of one license, from any
 * number of service replicas, are serialised by PostgreSQL. */
#include "activation_store.h"
#include "activation_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <stdlib.h>
#include <string.h>

/* ids as a uuid[] literal (not-UUIDs skipped) into a; KP_EINTERNAL when
 * out of memory. */
static int
act_uuid_array(kp_pgarr *a, char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		(void)kp_pgarr_uuid(a, ids[i]);
	return kp_pgarr_text(a) != NULL ? KP_OK : KP_EINTERNAL;
}

static const char act_sql_lock[] =
    "INSERT INTO license_counters (license_id) VALUES ($1::uuid) "
    "ON CONFLICT (license_id) DO UPDATE SET license_id = "
    "EXCLUDED.license_id RETURNING total_activations, "
    "total_deactivations";
enum act_lock_col { ACT_LOCK_C_ACTIVATIONS, ACT_LOCK_C_DEACTIVATIONS };

int
act_store_lock(kp_db *db, const char *license_id, int64_t *deactivations)
{
	PGresult *res = NULL;
	int rv;

	if ((rv = kp_db_begin(db)) != KP_OK)
		return rv;
	if ((rv = kp_db_query(db, act_sql_lock, 1, &license_id, &res)) !=
	    KP_OK) {
		kp_db_rollback(db);
		return rv;
	}
	if (deactivations != NULL)
		*deactivations = act_int(res, 0, ACT_LOCK_C_DEACTIVATIONS);
	PQclear(res);
	return KP_OK;
}

/* One statement per enum act_count, each adding one to a column of the
 * license's row. */
static const char *const act_sql_count[] = {
    [ACT_COUNT_ACTIVATION] = "UPDATE license_counters SET total_activations "
                             "= total_activations + 1 WHERE license_id = "
                             "$1::uuid",
    [ACT_COUNT_DEACTIVATION] = "UPDATE license_counters SET "
                               "total_deactivations = total_deactivations "
                               "+ 1 WHERE license_id = $1::uuid",
    [ACT_COUNT_VERSION] = "UPDATE license_counters SET version = version + "
                          "1 WHERE license_id = $1::uuid",
};

int
act_store_count(kp_db *db, const char *license_id, act_count what)
{
	return kp_db_exec(db, act_sql_count[what], 1, &license_id);
}

/* Bumps the version of each license (creating its counters row: a license
 * with no activation yet may already sit in a heartbeat cache). */
static const char act_sql_license_changed[] =
    "INSERT INTO license_counters (license_id, version) SELECT "
    "DISTINCT unnest($1::uuid[]), 1 ON CONFLICT (license_id) DO UPDATE "
    "SET version = license_counters.version + 1";

int
act_store_licenses_changed(kp_db *db, char *const *ids, size_t n)
{
	kp_pgarr arr = {0};
	const char *p[1];
	int rv;

	if ((rv = act_uuid_array(&arr, ids, n)) != KP_OK)
		goto out;
	p[0] = kp_pgarr_text(&arr);
	if (arr.n > 0)
		rv = kp_db_exec(db, act_sql_license_changed, 1, p);
out:
	kp_pgarr_free(&arr);
	return rv;
}

static const char act_sql_proof[] =
    "INSERT INTO deactivation_proofs (proof_id, activation_id, license_id, "
    "created_at) VALUES (decode($1, 'hex'), $2::uuid, $3::uuid, "
    "to_timestamp($4))";

int
act_store_proof(kp_db *db, const char *proof_hex, const char *activation_id,
                const char *license_id, int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[4] = {proof_hex, activation_id, license_id,
	                    kp_time_param(now, t)};

	return kp_db_exec(db, act_sql_proof, 4, p);
}

static const char act_sql_counters[] =
    "SELECT c.license_id::text, c.total_activations, c.total_deactivations, "
    "(SELECT count(*) FROM activations a WHERE a.license_id = c.license_id "
    "AND a.deactivated_at IS NULL) FROM license_counters c WHERE "
    "c.license_id = ANY($1::uuid[])";
enum act_counters_col {
	ACT_CNT_C_LICENSE_ID,
	ACT_CNT_C_ACTIVATIONS,
	ACT_CNT_C_DEACTIVATIONS,
	ACT_CNT_C_ACTIVE
};

/* act_counters_read fills c from row of res (enum act_counters_col). */
static void
act_counters_read(void *elem, const PGresult *res, int row)
{
	Keyport__Activation__LicenseCounters *c = elem;

	keyport__activation__license_counters__init(c);
	c->license_id = PQgetvalue(res, row, ACT_CNT_C_LICENSE_ID);
	c->total_activations = act_int(res, row, ACT_CNT_C_ACTIVATIONS);
	c->total_deactivations = act_int(res, row, ACT_CNT_C_DEACTIVATIONS);
	c->active_activations = act_int(res, row, ACT_CNT_C_ACTIVE);
}

int
act_store_counters(kp_db *db, char *const *ids, size_t n, act_counter_set *out)
{
	kp_pgarr arr = {0};
	PGresult *res = NULL;
	const char *p[1];
	size_t rows;
	void *items;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = act_uuid_array(&arr, ids, n)) != KP_OK)
		goto out;
	p[0] = kp_pgarr_text(&arr);
	if ((rv = kp_db_query(db, act_sql_counters, 1, p, &res)) != KP_OK)
		goto out;
	out->res_ = res;
	rows = (size_t)PQntuples(res);
	if ((out->ptrs = (Keyport__Activation__LicenseCounters **)kp_db_rows(
	         res, sizeof(*out->items), act_counters_read, &items)) ==
	    NULL) {
		rv = KP_EINTERNAL;
		goto out;
	}
	out->items = items;
	out->n = rows;
out:
	kp_pgarr_free(&arr);
	if (rv != KP_OK)
		act_counter_set_clear(out);
	return rv;
}

void
act_counter_set_clear(act_counter_set *s)
{
	if (s != NULL)
		kp_db_release(s->ptrs, s->res_, s, sizeof(*s));
}

/* ---- offline deactivation: the activation and whether its proof was used */

static const char act_sql_offline_find[] =
    "SELECT client_public_key, fingerprint, deactivated_at IS NOT NULL, "
    "EXISTS (SELECT 1 FROM deactivation_proofs WHERE proof_id = "
    "decode($3, 'hex')) FROM activations WHERE id = $1::uuid AND "
    "license_id = $2::uuid";
enum act_offline_col {
	ACT_OFF_C_CLIENT_KEY,
	ACT_OFF_C_FINGERPRINT,
	ACT_OFF_C_DEACTIVATED,
	ACT_OFF_C_PROOF_USED
};

int
act_store_offline_find(kp_db *db, const char *id, const char *license_id,
                       const char *proof_hex, act_offline_row *out)
{
	const char *p[3] = {id, license_id, proof_hex};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, act_sql_offline_find, 3, p, &res)) != KP_OK)
		return rv;
	out->res_ = res;
	if (PQntuples(res) != 1)
		return KP_OK;
	out->found = 1;
	out->client_public_key = PQgetvalue(res, 0, ACT_OFF_C_CLIENT_KEY);
	out->fingerprint = PQgetvalue(res, 0, ACT_OFF_C_FINGERPRINT);
	out->deactivated = PQgetvalue(res, 0, ACT_OFF_C_DEACTIVATED)[0] == 't';
	out->proof_used = PQgetvalue(res, 0, ACT_OFF_C_PROOF_USED)[0] == 't';
	return KP_OK;
}

void
act_offline_row_clear(act_offline_row *r)
{
	if (r == NULL)
		return;
	PQclear(r->res_);
	memset(r, 0, sizeof(*r));
}
