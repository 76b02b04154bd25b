/* license_store_write: changing licenses (see license_store.h). */
#include "license_store.h"
#include "license_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <stdio.h>
#include <string.h>

/* ---- create ----------------------------------------------------------------
 */

static const char license_sql_create[] =
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
license_store_create(kp_db *db, const license_new *n, license_set *out)
{
	char key[LICENSE_KEY_CHARS + 1], aa[KP_NOW_PARAM_LEN],
	    ad[KP_NOW_PARAM_LEN], val[KP_NOW_PARAM_LEN],
	    lease[KP_NOW_PARAM_LEN], now[KP_NOW_PARAM_LEN];
	const char *params[12] = {
	    key,
	    n->product_id,
	    n->type,
	    license_store_dec(n->allowed_activations, aa),
	    license_store_dec(n->allowed_deactivations, ad),
	    license_store_dec(n->validity, val),
	    n->expiration_strategy,
	    n->user_id,
	    n->organization_id,
	    n->metadata_json,
	    license_store_dec(n->lease_seconds, lease),
	    kp_time_param(n->now, now)};
	const char *state;
	int rv;

	/* a collision of 25 random characters is ~never; retry anyway */
	for (int attempt = 0; attempt < 5; attempt++) {
		license_key_generate(key);
		rv = license_store_one(db, license_sql_create, 12, params, out);
		if (rv != KP_ECONFLICT ||
		    strcmp(kp_db_sqlstate(db), "23505") != 0)
			break;
	}
	state = kp_db_sqlstate(db);
	if (rv != KP_OK &&
	    (strcmp(state, "23503") == 0 || strncmp(state, "22", 2) == 0))
		rv = KP_EINVAL; /* no such product, or not a UUID */
	return rv;
}

/* ---- changes ----------------------------------------------------------------
 */

/* A new validity (docs/design.md, "Changing validity"): 0 makes the license
 * perpetual; a running expiry moves by (new - old validity), so the current
 * term gets the new length and renewals already granted are kept; an
 * immediate license without an expiry starts at created_at; a delayed one
 * still starts at its first activation. (SET expressions read the old row.) */
static const char license_sql_update[] =
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

static const char *
tf(int b)
{
	return b ? "t" : "f";
}

int
license_store_update(kp_db *db, const license_change *c)
{
	char aa[KP_NOW_PARAM_LEN], ad[KP_NOW_PARAM_LEN], val[KP_NOW_PARAM_LEN],
	    lease[KP_NOW_PARAM_LEN], now[KP_NOW_PARAM_LEN];
	const char *params[16] = {
	    c->id,
	    tf(c->has_allowed_activations),
	    license_store_dec(c->allowed_activations, aa),
	    tf(c->has_allowed_deactivations),
	    license_store_dec(c->allowed_deactivations, ad),
	    tf(c->has_validity),
	    license_store_dec(c->validity, val),
	    tf(c->has_user_id),
	    c->user_id,
	    tf(c->has_owner),
	    c->organization_id,
	    tf(c->has_metadata),
	    c->metadata_json ? c->metadata_json : "{}",
	    tf(c->has_lease_seconds),
	    license_store_dec(c->lease_seconds, lease),
	    kp_time_param(c->now, now)};

	return kp_db_exec(db, license_sql_update, 16, params);
}

/* one statement per license_op */
static const char *const license_sql_ops[] = {
    [LICENSE_OP_SUSPEND] = "UPDATE licenses SET suspended = true, "
                           "updated_at = to_timestamp($2::bigint) WHERE id "
                           "= $1",
    [LICENSE_OP_UNSUSPEND] = "UPDATE licenses SET suspended = false, "
                             "updated_at = to_timestamp($2::bigint) WHERE "
                             "id = $1",
    [LICENSE_OP_REVOKE] = "UPDATE licenses SET revoked = true, updated_at = "
                          "to_timestamp($2::bigint) WHERE id = $1",
    [LICENSE_OP_RENEW] = "UPDATE licenses SET expires_at = "
                         "greatest(to_timestamp($2::bigint), expires_at) + "
                         "validity * interval '1 second', updated_at = "
                         "to_timestamp($2::bigint) WHERE id = $1",
};

static const char license_sql_start_expiry[] =
    "UPDATE licenses SET expires_at = to_timestamp($2::bigint) + validity "
    "* interval '1 second', updated_at = to_timestamp($2::bigint) "
    "WHERE id = $1 AND expiration_strategy = 'delayed' AND expires_at IS "
    "NULL AND validity > 0";

/* license_exec_at runs sql with (id, now). */
static int
license_exec_at(kp_db *db, const char *sql, const char *id, int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *params[2] = {id, kp_time_param(now, t)};

	return kp_db_exec(db, sql, 2, params);
}

int
license_store_op(kp_db *db, const char *id, license_op op, int64_t now)
{
	return license_exec_at(db, license_sql_ops[op], id, now);
}

int
license_store_start_expiry(kp_db *db, const char *id, int64_t now)
{
	return license_exec_at(db, license_sql_start_expiry, id, now);
}

/* ---- deletes, organizations --------------------------------------------- */

static const char license_sql_delete[] =
    "DELETE FROM licenses WHERE id = $1 RETURNING id";

int
license_store_delete(kp_db *db, const char *id, int *deleted)
{
	PGresult *res = NULL;
	int rv;

	*deleted = 0;
	if ((rv = kp_db_query(db, license_sql_delete, 1, &id, &res)) != KP_OK)
		return rv;
	*deleted = PQntuples(res) > 0;
	PQclear(res);
	return KP_OK;
}

static const char license_sql_count_org[] =
    "SELECT count(*) FROM licenses WHERE organization_id = $1";
enum license_count_org_col { LIC_ORG_C_COUNT };

int
license_store_count_org(kp_db *db, const char *org_id, int64_t *count)
{
	PGresult *res = NULL;
	int rv;

	*count = 0;
	if ((rv = kp_db_query(db, license_sql_count_org, 1, &org_id, &res)) !=
	    KP_OK)
		return rv;
	*count = lic_int(res, 0, LIC_ORG_C_COUNT);
	PQclear(res);
	return KP_OK;
}

static const char license_sql_delete_org[] =
    "DELETE FROM licenses WHERE organization_id = $1 RETURNING id::text";
enum license_delete_org_col { LIC_DEL_C_ID };

int
license_store_delete_org(kp_db *db, const char *org_id, license_ids *out)
{
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, license_sql_delete_org, 1, &org_id, &res)) !=
	    KP_OK)
		return rv;
	out->res_ = res;
	out->n = (size_t)PQntuples(res);
	if ((out->ids = calloc(out->n + 1, sizeof(*out->ids))) == NULL) {
		license_ids_clear(out);
		return KP_EINTERNAL;
	}
	for (size_t i = 0; i < out->n; i++)
		out->ids[i] = PQgetvalue(res, (int)i, LIC_DEL_C_ID);
	return KP_OK;
}

void
license_ids_clear(license_ids *s)
{
	if (s != NULL)
		kp_db_release(s->ids, s->res_, s, sizeof(*s));
}

/* ---- seeding (tests, benchmarks) ----------------------------------------- */

static const char license_sql_seed[] =
    "WITH l AS (INSERT INTO licenses (key, product_id, type, "
    "allowed_activations, allowed_deactivations, validity, "
    "expiration_strategy, user_id, organization_id, created_at, "
    "updated_at) SELECT k, $2::uuid, 'node-locked', 1, 1, 0, 'immediate', "
    "NULLIF($3, '')::uuid, NULLIF($4, '')::uuid, "
    "to_timestamp($5::bigint) + n * interval '1 microsecond', "
    "to_timestamp($5::bigint) FROM unnest($1::text[]) WITH ORDINALITY AS "
    "t(k, n) RETURNING 1) SELECT count(*) FROM l";
enum license_seed_col { LIC_SEED_C_COUNT };

/* license_seed_keys writes count fresh keys as a text[] literal (malloc'd,
 * NULL when out of memory). */
static char *
license_seed_keys(int64_t count)
{
	char *arr = malloc((size_t)count * (LICENSE_KEY_CHARS + 1) + 3);
	size_t o = 0;

	if (arr == NULL)
		return NULL;
	arr[o++] = '{';
	for (int64_t i = 0; i < count; i++) {
		if (i > 0)
			arr[o++] = ',';
		license_key_generate(arr + o);
		o += LICENSE_KEY_CHARS;
	}
	arr[o++] = '}';
	arr[o] = '\0';
	return arr;
}

int
license_store_seed(kp_db *db, int64_t count, const char *product_id,
                   const char *user_id, const char *org_id, int64_t now,
                   int64_t *made)
{
	char t[KP_NOW_PARAM_LEN], *arr = license_seed_keys(count);
	const char *params[5] = {arr, product_id, user_id, org_id,
	                         kp_time_param(now, t)};
	PGresult *res = NULL;
	int rv;

	*made = 0;
	if (arr == NULL)
		return KP_EINTERNAL;
	/* one statement: a duplicate key fails all of it (unique index) */
	if ((rv = kp_db_query(db, license_sql_seed, 5, params, &res)) == KP_OK)
		*made = lic_int(res, 0, LIC_SEED_C_COUNT);
	PQclear(res);
	free(arr);
	return rv;
}
