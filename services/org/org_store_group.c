/* org_store_group: user groups, their members and license links, and
 * visibility: statements and row readers (see org_store.h). */
#include "org_store.h"
#include "org_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <stdlib.h>
#include <string.h>

#define GROUP_COLS                                                             \
	"id::text, name, description, " TS("created_at") ", " TS("updated_at")

enum group_col {
	GROUP_C_ID,
	GROUP_C_NAME,
	GROUP_C_DESCRIPTION,
	GROUP_C_CREATED,
	GROUP_C_UPDATED
};

static void
group_read(void *elem, const PGresult *res, int row)
{
	org_group_row *r = elem;
	Keyport__Org__Group *g = &r->msg;

	keyport__org__group__init(g);
	g->id = PQgetvalue(res, row, GROUP_C_ID);
	g->name = PQgetvalue(res, row, GROUP_C_NAME);
	g->description = PQgetvalue(res, row, GROUP_C_DESCRIPTION);
	g->created_at = org_store_time(res, row, GROUP_C_CREATED, r->created);
	g->updated_at = org_store_time(res, row, GROUP_C_UPDATED, r->updated);
}

void
org_group_set_clear(org_group_set *s)
{
	if (s != NULL)
		kp_db_release(s->ptrs, s->res_, s, sizeof(*s));
}

/* Runs a statement answering groups into out; one: KP_ENOTFOUND when it
 * answers none. */
static int
group_query(kp_db *db, const char *sql, int np, const char *const *p, int one,
            org_group_set *out)
{
	kp_db_rowset r;
	int rv = kp_db_query_rows(db, sql, np, p, one, sizeof(org_group_row),
	                          group_read, &r);

	*out = (org_group_set){r.n, r.rows, (Keyport__Org__Group **)r.ptrs, 0,
	                       r.res};
	return rv;
}

static const char group_sql_create[] =
    "INSERT INTO user_groups (organization_id, name, description, "
    "created_at, updated_at) VALUES ($1, $2, $3, to_timestamp($4::bigint), "
    "to_timestamp($4::bigint)) RETURNING " GROUP_COLS;

int
org_store_group_create(kp_db *db, const char *org, const char *name,
                       const char *desc, int64_t now, org_group_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[4] = {org, name, desc, kp_time_param(now, t)};

	return group_query(db, group_sql_create, 4, p, 1, out);
}

static const char group_sql_list[] =
    "SELECT " GROUP_COLS " FROM user_groups WHERE organization_id = $1 "
    "ORDER BY created_at, id LIMIT $2::int OFFSET $3::bigint";
static const char group_sql_count[] =
    "SELECT count(*) FROM user_groups WHERE organization_id = $1";

int
org_store_group_list(kp_db *db, const char *org, int limit, int64_t offset,
                     org_group_set *out)
{
	char lim[KP_NOW_PARAM_LEN], off[KP_NOW_PARAM_LEN];
	const char *p[3] = {org, org_dec(limit, lim), org_dec(offset, off)};
	PGresult *c = NULL;
	int rv;

	if ((rv = group_query(db, group_sql_list, 3, p, 0, out)) != KP_OK)
		return rv;
	if ((rv = kp_db_query(db, group_sql_count, 1, p, &c)) != KP_OK) {
		org_group_set_clear(out);
		return rv;
	}
	out->total = strtoll(PQgetvalue(c, 0, 0), NULL, 10);
	PQclear(c);
	return KP_OK;
}

static const char group_sql_get[] =
    "SELECT " GROUP_COLS " FROM user_groups WHERE id = $1 AND "
    "organization_id = $2";

int
org_store_group_get(kp_db *db, const char *id, const char *org,
                    org_group_set *out)
{
	const char *p[2] = {id, org};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	return group_query(db, group_sql_get, 2, p, 1, out);
}

static const char group_sql_update[] =
    "UPDATE user_groups SET name = coalesce($3, name), description = "
    "coalesce($4, description), updated_at = to_timestamp($5::bigint) "
    "WHERE id = $1 AND organization_id = $2 RETURNING " GROUP_COLS;

int
org_store_group_update(kp_db *db, const char *id, const char *org,
                       const char *name, const char *desc, int64_t now,
                       org_group_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[5] = {id, org, name, desc, kp_time_param(now, t)};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	return group_query(db, group_sql_update, 5, p, 1, out);
}

static const char group_sql_delete[] =
    "DELETE FROM user_groups WHERE id = $1 AND organization_id = $2 "
    "RETURNING id";

int
org_store_group_delete(kp_db *db, const char *id, const char *org)
{
	const char *p[2] = {id, org};
	PGresult *res = NULL;
	int rv;

	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	if ((rv = kp_db_query(db, group_sql_delete, 2, p, &res)) == KP_OK &&
	    PQntuples(res) == 0)
		rv = KP_ENOTFOUND;
	PQclear(res);
	return rv;
}

static const char group_sql_users[] =
    "SELECT user_id::text FROM group_users WHERE group_id = $1 ORDER BY "
    "user_id";
static const char group_sql_licenses[] =
    "SELECT license_id::text FROM group_licenses WHERE group_id = $1 ORDER "
    "BY license_id";

int
org_store_group_members(kp_db *db, const char *group, org_ids *users,
                        org_ids *licenses)
{
	const char *p[1] = {group};
	int rv;

	memset(licenses, 0, sizeof(*licenses));
	if ((rv = org_store_ids(db, group_sql_users, 1, p, users)) != KP_OK)
		return rv;
	if ((rv = org_store_ids(db, group_sql_licenses, 1, p, licenses)) !=
	    KP_OK)
		org_ids_clear(users);
	return rv;
}

static const char group_sql_add_license[] =
    "INSERT INTO group_licenses (group_id, license_id) VALUES ($1, $2) ON "
    "CONFLICT DO NOTHING";
static const char group_sql_remove_license[] =
    "DELETE FROM group_licenses WHERE group_id = $1 AND license_id = $2";
static const char group_sql_add_user[] =
    "INSERT INTO group_users (group_id, user_id) VALUES ($1, $2) ON "
    "CONFLICT DO NOTHING";
static const char group_sql_remove_user[] =
    "DELETE FROM group_users WHERE group_id = $1 AND user_id = $2";

int
org_store_group_link(kp_db *db, const char *group, const char *member,
                     int license, int add)
{
	const char *p[2] = {group, member};
	const char *sql =
	    license ? (add ? group_sql_add_license : group_sql_remove_license)
	            : (add ? group_sql_add_user : group_sql_remove_user);

	return kp_db_exec(db, sql, 2, p);
}

/* One indexed query: group_users (user_id), then the primary key of
 * group_licenses, which starts with group_id. */
static const char group_sql_visible[] =
    "SELECT DISTINCT gl.license_id::text FROM group_users gu JOIN "
    "group_licenses gl ON gl.group_id = gu.group_id WHERE gu.user_id = $1";

int
org_store_visible(kp_db *db, const char *user_id, org_ids *out)
{
	const char *p[1] = {user_id};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(user_id))
		return KP_OK;
	return org_store_ids(db, group_sql_visible, 1, p, out);
}

static const char group_sql_drop_users[] =
    "DELETE FROM group_users WHERE user_id = ANY($1::uuid[])";
static const char group_sql_drop_org_users[] =
    "DELETE FROM group_users gu USING user_groups g WHERE g.id = "
    "gu.group_id AND g.organization_id = $2::uuid AND gu.user_id = "
    "ANY($1::uuid[])";

int
org_store_drop_users(kp_db *db, const char *first, char *const *ids, size_t n,
                     const char *org)
{
	kp_pgarr arr = {0};
	const char *p[2];
	int rv = KP_OK;

	/* the well-formed ids (others cannot be members) */
	if (first != NULL)
		(void)kp_pgarr_uuid(&arr, first);
	for (size_t i = 0; i < n; i++)
		(void)kp_pgarr_uuid(&arr, ids[i]);
	if ((p[0] = kp_pgarr_text(&arr)) == NULL) {
		rv = KP_EINTERNAL;
		goto out;
	}
	p[1] = org;
	if (arr.n == 0)
		goto out;
	if (org == NULL || org[0] == '\0')
		rv = kp_db_exec(db, group_sql_drop_users, 1, p);
	else if (kp_uuid_valid(org)) /* else: no such organization */
		rv = kp_db_exec(db, group_sql_drop_org_users, 2, p);
out:
	kp_pgarr_free(&arr);
	return rv;
}

static const char group_sql_drop_license[] =
    "DELETE FROM group_licenses WHERE license_id = $1";

int
org_store_drop_license(kp_db *db, const char *license_id)
{
	const char *p[1] = {license_id};

	if (!kp_uuid_valid(license_id))
		return KP_OK;
	return kp_db_exec(db, group_sql_drop_license, 1, p);
}
