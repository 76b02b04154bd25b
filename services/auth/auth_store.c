/* auth_store: the users of the auth schema: statements and row readers (see
 * auth_store.h; sessions, tokens and the outbox are auth_store_session.c). */
#include "auth_store.h"
#include "auth_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <stdlib.h>
#include <string.h>

/* ---- the row reader --------------------------------------------------------
 */

char *
auth_store_time(const PGresult *res, int row, int col, char buf[32])
{
	int64_t t = strtoll(PQgetvalue(res, row, col), NULL, 10);

	buf[0] = '\0';
	if (t > 0)
		kp_time_format(t, buf, 32);
	return buf;
}

/* Reads row of res into an auth_user_row; the password hash when the
 * statement reads it (as column USER_C_HASH). */
static void
auth_user_read(void *elem, const PGresult *res, int row)
{
	auth_user_row *r = elem;
	Keyport__Auth__User *u = &r->msg;
	int hash = PQnfields(res) > USER_C_HASH &&
	           strcmp(PQfname(res, USER_C_HASH), "password_hash") == 0;

	keyport__auth__user__init(u);
	u->id = PQgetvalue(res, row, USER_C_ID);
	u->email = PQgetvalue(res, row, USER_C_EMAIL);
	u->first_name = PQgetvalue(res, row, USER_C_FIRST_NAME);
	u->last_name = PQgetvalue(res, row, USER_C_LAST_NAME);
	u->role = PQgetvalue(res, row, USER_C_ROLE);
	u->organization_id = PQgetvalue(res, row, USER_C_ORG);
	u->disabled = PQgetvalue(res, row, USER_C_DISABLED)[0] == 't';
	u->created_at = auth_store_time(res, row, USER_C_CREATED, r->created);
	u->updated_at = auth_store_time(res, row, USER_C_UPDATED, r->updated);
	r->password_hash = hash ? PQgetvalue(res, row, USER_C_HASH) : "";
}

void
auth_user_set_clear(auth_user_set *s)
{
	if (s != NULL)
		kp_db_release(s->ptrs, s->res_, s, sizeof(*s));
}

/* Runs a statement answering users into out; one: KP_ENOTFOUND when it
 * answers none. */
static int
auth_user_query(kp_db *db, const char *sql, int np, const char *const *p,
                int one, auth_user_set *out)
{
	kp_db_rowset r;
	int rv = kp_db_query_rows(db, sql, np, p, one, sizeof(auth_user_row),
	                          auth_user_read, &r);

	*out = (auth_user_set){r.n, r.rows, (Keyport__Auth__User **)r.ptrs, 0,
	                       r.res};
	return rv;
}

/* Runs a statement answering one count. */
int
auth_store_count(kp_db *db, const char *sql, int np, const char *const *p,
                 int64_t *count)
{
	PGresult *res = NULL;
	int rv;

	*count = 0;
	if ((rv = kp_db_query(db, sql, np, p, &res)) == KP_OK)
		*count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rv;
}

/* ---- reading users ---------------------------------------------------------
 */

static const char auth_sql_user_get[] =
    "SELECT " USER_COLS ", password_hash FROM users WHERE id = $1 AND "
    "($2 = '' OR organization_id::text = $2)";
static const char auth_sql_user_get_lock[] =
    "SELECT " USER_COLS ", password_hash FROM users WHERE id = $1 AND "
    "($2 = '' OR organization_id::text = $2) FOR UPDATE";

int
auth_store_user_get(kp_db *db, const char *id, const char *scope, int lock,
                    auth_user_set *out)
{
	const char *p[2] = {id, scope ? scope : ""};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	return auth_user_query(
	    db, lock ? auth_sql_user_get_lock : auth_sql_user_get, 2, p, 1,
	    out);
}

static const char auth_sql_user_by_email[] =
    "SELECT " USER_COLS ", password_hash FROM users WHERE lower(email) = $1";

int
auth_store_user_by_email(kp_db *db, const char *email, auth_user_set *out)
{
	const char *p[1] = {email};

	return auth_user_query(db, auth_sql_user_by_email, 1, p, 1, out);
}

static const char auth_sql_user_list[] =
    "SELECT " USER_COLS ", count(*) OVER () FROM users WHERE ($1 = '' OR "
    "organization_id::text = $1) ORDER BY created_at, id LIMIT $2::int "
    "OFFSET $3::bigint";
static const char auth_sql_user_list_count[] =
    "SELECT count(*) FROM users WHERE ($1 = '' OR organization_id::text = "
    "$1)";

int
auth_store_user_list(kp_db *db, const char *org, int limit, int64_t offset,
                     auth_user_set *out)
{
	char lim[KP_NOW_PARAM_LEN], off[KP_NOW_PARAM_LEN];
	const char *p[3] = {org, auth_dec(limit, lim), auth_dec(offset, off)};
	int rv;

	if ((rv = auth_user_query(db, auth_sql_user_list, 3, p, 0, out)) !=
	    KP_OK)
		return rv;
	if (out->n > 0)
		out->total =
		    strtoll(PQgetvalue(out->res_, 0, USER_C_HASH), NULL, 10);
	else /* past the last page: count separately (best effort) */
		(void)auth_store_count(db, auth_sql_user_list_count, 1, p,
		                       &out->total);
	return KP_OK;
}

static const char auth_sql_users_get[] =
    "SELECT " USER_COLS " FROM users WHERE id = ANY($1::uuid[]) AND ($2 = "
    "'' OR organization_id::text = $2) ORDER BY email";

int
auth_store_users_get(kp_db *db, char *const *ids, size_t n, const char *scope,
                     auth_user_set *out)
{
	kp_pgarr arr = {0};
	const char *p[2];
	int rv;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		(void)kp_pgarr_uuid(&arr, ids[i]);
	if ((p[0] = kp_pgarr_text(&arr)) == NULL) {
		kp_pgarr_free(&arr);
		return KP_EINTERNAL;
	}
	p[1] = scope;
	rv = auth_user_query(db, auth_sql_users_get, 2, p, 0, out);
	kp_pgarr_free(&arr);
	return rv;
}

static const char auth_sql_user_count_org[] =
    "SELECT count(*) FROM users WHERE organization_id = $1";
static const char auth_sql_user_count_all[] = "SELECT count(*) FROM users";

int
auth_store_user_count(kp_db *db, const char *org, int64_t *count)
{
	const char *p[1] = {org};

	if (org == NULL)
		return auth_store_count(db, auth_sql_user_count_all, 0, NULL,
		                        count);
	return auth_store_count(db, auth_sql_user_count_org, 1, p, count);
}

static const char auth_sql_org_admins_besides[] =
    "SELECT count(*) FROM users WHERE organization_id = $1 AND role = "
    "'organization-admin' AND NOT disabled AND id <> $2";

int
auth_store_org_admins_besides(kp_db *db, const char *org, const char *user_id,
                              int64_t *count)
{
	const char *p[2] = {org, user_id};

	return auth_store_count(db, auth_sql_org_admins_besides, 2, p, count);
}

static const char auth_sql_lock_org[] =
    "SELECT pg_advisory_xact_lock(hashtext('auth.org.' || $1))";
static const char auth_sql_lock_bootstrap[] =
    "SELECT pg_advisory_xact_lock(hashtext('auth.bootstrap'))";

int
auth_store_lock_org(kp_db *db, const char *org)
{
	const char *p[1] = {org};

	return kp_db_exec(db, auth_sql_lock_org, 1, p);
}

int
auth_store_lock_bootstrap(kp_db *db)
{
	return kp_db_exec(db, auth_sql_lock_bootstrap, 0, NULL);
}

/* ---- writing users ---------------------------------------------------------
 */

static const char auth_sql_user_create[] =
    "INSERT INTO users (email, first_name, last_name, role, "
    "organization_id, password_hash, created_at, updated_at) VALUES ($1, "
    "$2, $3, $4, $5, $6, to_timestamp($7::bigint), "
    "to_timestamp($7::bigint)) RETURNING " USER_COLS;

int
auth_store_user_create(kp_db *db, const auth_user_new *u, int64_t now,
                       auth_user_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[7] = {u->email,
	                    u->first_name,
	                    u->last_name,
	                    u->role,
	                    u->organization_id && u->organization_id[0]
	                        ? u->organization_id
	                        : NULL,
	                    u->password_hash,
	                    kp_time_param(now, t)};

	return auth_user_query(db, auth_sql_user_create, 7, p, 1, out);
}

static const char auth_sql_user_update[] =
    "UPDATE users SET "
    "email = CASE WHEN $2::bool THEN $3 ELSE email END, "
    "first_name = CASE WHEN $4::bool THEN $5 ELSE first_name END, "
    "last_name = CASE WHEN $6::bool THEN $7 ELSE last_name END, "
    "role = CASE WHEN $8::bool THEN $9 ELSE role END, "
    "disabled = CASE WHEN $10::bool THEN $11::bool ELSE disabled END, "
    "password_hash = CASE WHEN $12::bool THEN $13 ELSE password_hash END, "
    "organization_id = CASE WHEN $14::bool THEN $15::uuid ELSE "
    "organization_id END, "
    "updated_at = to_timestamp($16::bigint) "
    "WHERE id = $1 RETURNING " USER_COLS;

#define AUTH_FLAG(b) ((b) ? "t" : "f")

int
auth_store_user_update(kp_db *db, const char *id, const auth_user_change *c,
                       int64_t now, auth_user_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[16] = {id,
	                     AUTH_FLAG(c->has_email),
	                     c->email ? c->email : "",
	                     AUTH_FLAG(c->has_first_name),
	                     c->first_name ? c->first_name : "",
	                     AUTH_FLAG(c->has_last_name),
	                     c->last_name ? c->last_name : "",
	                     AUTH_FLAG(c->has_role),
	                     c->role ? c->role : "",
	                     AUTH_FLAG(c->has_disabled),
	                     AUTH_FLAG(c->disabled),
	                     AUTH_FLAG(c->has_password),
	                     c->password_hash ? c->password_hash : "",
	                     AUTH_FLAG(c->has_organization_id),
	                     c->organization_id && c->organization_id[0]
	                         ? c->organization_id
	                         : NULL,
	                     kp_time_param(now, t)};

	return auth_user_query(db, auth_sql_user_update, 16, p, 1, out);
}

static const char auth_sql_user_delete[] = "DELETE FROM users WHERE id = $1";

int
auth_store_user_delete(kp_db *db, const char *id)
{
	const char *p[1] = {id};

	return kp_db_exec(db, auth_sql_user_delete, 1, p);
}

static const char auth_sql_admin_create[] =
    "INSERT INTO users (email, role, password_hash, created_at, "
    "updated_at) VALUES ($1, 'admin', $2, to_timestamp($3::bigint), "
    "to_timestamp($3::bigint))";

int
auth_store_admin_create(kp_db *db, const char *email, const char *hash,
                        int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[3] = {email, hash, kp_time_param(now, t)};

	return kp_db_exec(db, auth_sql_admin_create, 3, p);
}

static const char auth_sql_password_change[] =
    "UPDATE users SET password_hash = $2, updated_at = "
    "to_timestamp($3::bigint) WHERE id = $1";
static const char auth_sql_password_renew[] =
    "UPDATE users SET password_hash = $2 WHERE id = $1";

int
auth_store_password_set(kp_db *db, const char *id, const char *hash,
                        int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[3] = {id, hash, kp_time_param(now, t)};

	return kp_db_exec(
	    db, now > 0 ? auth_sql_password_change : auth_sql_password_renew,
	    now > 0 ? 3 : 2, p);
}

void
auth_ids_clear(auth_ids *s)
{
	if (s != NULL)
		kp_db_release(s->ids, s->res_, s, sizeof(*s));
}

static const char auth_sql_org_tokens_revoke[] =
    "INSERT INTO token_revocations (user_id, revoked_at) SELECT id, "
    "to_timestamp($2::bigint) FROM users WHERE organization_id = $1 ON "
    "CONFLICT (user_id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at";
static const char auth_sql_org_users_delete[] =
    "DELETE FROM users WHERE organization_id = $1 RETURNING id::text";

int
auth_store_org_users_delete(kp_db *db, const char *org, int64_t now,
                            auth_ids *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[2] = {org, kp_time_param(now, t)};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_exec(db, auth_sql_org_tokens_revoke, 2, p)) != KP_OK ||
	    (rv = kp_db_query(db, auth_sql_org_users_delete, 1, p, &res)) !=
	        KP_OK)
		return rv;
	out->res_ = res;
	out->n = (size_t)PQntuples(res);
	if ((out->ids = kp_db_column(res, 0)) == NULL) {
		auth_ids_clear(out);
		return KP_EINTERNAL;
	}
	return KP_OK;
}
