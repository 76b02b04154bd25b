/* org_store: the org schema's statements and row readers (see org_store.h;
 * customization is org_store_custom.c). */
#include "org_store.h"
#include "org_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <stdlib.h>
#include <string.h>

char *
org_store_time(const PGresult *res, int row, int col, char buf[32])
{
	int64_t t = strtoll(PQgetvalue(res, row, col), NULL, 10);

	buf[0] = '\0';
	if (t > 0)
		kp_time_format(t, buf, 32);
	return buf;
}

/* ---- organizations ------------------------------------------------------- */

#define ORG_COLS                                                               \
	"id::text, name, email, description, allowed_users, " TS(              \
	    "created_at") ", " TS("updated_at")

enum org_col {
	ORG_C_ID,
	ORG_C_NAME,
	ORG_C_EMAIL,
	ORG_C_DESCRIPTION,
	ORG_C_ALLOWED_USERS,
	ORG_C_CREATED,
	ORG_C_UPDATED,
	ORG_C_TOTAL /* lists only */
};

static void
org_read(void *elem, const PGresult *res, int row)
{
	org_row *r = elem;
	Keyport__Org__Organization *o = &r->msg;

	keyport__org__organization__init(o);
	o->id = PQgetvalue(res, row, ORG_C_ID);
	o->name = PQgetvalue(res, row, ORG_C_NAME);
	o->email = PQgetvalue(res, row, ORG_C_EMAIL);
	o->description = PQgetvalue(res, row, ORG_C_DESCRIPTION);
	o->allowed_users =
	    strtoll(PQgetvalue(res, row, ORG_C_ALLOWED_USERS), NULL, 10);
	o->created_at = org_store_time(res, row, ORG_C_CREATED, r->created);
	o->updated_at = org_store_time(res, row, ORG_C_UPDATED, r->updated);
}

void
org_set_clear(org_set *s)
{
	if (s != NULL)
		kp_db_release(s->ptrs, s->res_, s, sizeof(*s));
}

/* Runs a statement answering organizations into out; one: KP_ENOTFOUND
 * when it answers none. */
static int
org_query(kp_db *db, const char *sql, int np, const char *const *p, int one,
          org_set *out)
{
	kp_db_rowset r;
	int rv = kp_db_query_rows(db, sql, np, p, one, sizeof(org_row),
	                          org_read, &r);

	*out = (org_set){r.n, r.rows, (Keyport__Org__Organization **)r.ptrs, 0,
	                 r.res};
	return rv;
}

static const char org_sql_create[] =
    "INSERT INTO organizations (name, email, description, allowed_users, "
    "created_at, updated_at) VALUES ($1, $2, $3, $4, "
    "to_timestamp($5::bigint), to_timestamp($5::bigint)) RETURNING " ORG_COLS;

int
org_store_create(kp_db *db, const org_fields *f, int64_t now, org_set *out)
{
	char allowed[KP_NOW_PARAM_LEN], t[KP_NOW_PARAM_LEN];
	const char *p[5] = {
	    f->name, f->email, f->description,
	    org_dec(f->has_allowed_users ? f->allowed_users : -1, allowed),
	    kp_time_param(now, t)};

	return org_query(db, org_sql_create, 5, p, 1, out);
}

static const char org_sql_list[] =
    "SELECT " ORG_COLS ", count(*) OVER () FROM organizations ORDER BY "
    "created_at, id LIMIT $1::int OFFSET $2::bigint";
static const char org_sql_count[] = "SELECT count(*) FROM organizations";

int
org_store_list(kp_db *db, int limit, int64_t offset, org_set *out)
{
	char lim[KP_NOW_PARAM_LEN], off[KP_NOW_PARAM_LEN];
	const char *p[2] = {org_dec(limit, lim), org_dec(offset, off)};
	PGresult *c = NULL;
	int rv;

	if ((rv = org_query(db, org_sql_list, 2, p, 0, out)) != KP_OK)
		return rv;
	if (out->n > 0) {
		out->total =
		    strtoll(PQgetvalue(out->res_, 0, ORG_C_TOTAL), NULL, 10);
	} else if (kp_db_query(db, org_sql_count, 0, NULL, &c) == KP_OK) {
		/* a page past the end still tells the total */
		out->total = strtoll(PQgetvalue(c, 0, 0), NULL, 10);
	}
	PQclear(c);
	return KP_OK;
}

static const char org_sql_get[] =
    "SELECT " ORG_COLS " FROM organizations WHERE id = $1";

int
org_store_get(kp_db *db, const char *id, org_set *out)
{
	const char *p[1] = {id};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	return org_query(db, org_sql_get, 1, p, 1, out);
}

static const char org_sql_update[] =
    "UPDATE organizations SET name = coalesce($2, name), email = "
    "coalesce($3, email), description = coalesce($4, description), "
    "allowed_users = coalesce($5::bigint, allowed_users), updated_at = "
    "to_timestamp($6::bigint) WHERE id = $1 RETURNING " ORG_COLS;

int
org_store_update(kp_db *db, const char *id, const org_fields *f, int64_t now,
                 org_set *out)
{
	char allowed[KP_NOW_PARAM_LEN], t[KP_NOW_PARAM_LEN];
	const char *p[6] = {
	    id,
	    f->name,
	    f->email,
	    f->description,
	    f->has_allowed_users ? org_dec(f->allowed_users, allowed) : NULL,
	    kp_time_param(now, t)};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	return org_query(db, org_sql_update, 6, p, 1, out);
}

static const char org_sql_delete[] = "DELETE FROM organizations WHERE id = $1";

int
org_store_delete(kp_db *db, const char *id)
{
	const char *p[1] = {id};

	return kp_db_exec(db, org_sql_delete, 1, p);
}

/* ---- id lists --------------------------------------------------------------
 */

void
org_ids_clear(org_ids *s)
{
	if (s != NULL)
		kp_db_release(s->ids, s->res_, s, sizeof(*s));
}

int
org_store_ids(kp_db *db, const char *sql, int np, const char *const *p,
              org_ids *out)
{
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, sql, np, p, &res)) != KP_OK)
		return rv;
	out->res_ = res;
	out->n = (size_t)PQntuples(res);
	if ((out->ids = kp_db_column(res, 0)) == NULL) {
		org_ids_clear(out);
		return KP_EINTERNAL;
	}
	return KP_OK;
}
