/* auth_store_session: sessions, access-token revocations, login throttling,
 * personal access tokens and the org outbox: statements and row readers
 * (see auth_store.h). */
#include "auth_store.h"
#include "auth_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sessions and revocations ----------------------------------------------
 */

static const char auth_sql_sessions_revoke[] =
    "UPDATE refresh_tokens SET revoked_at = to_timestamp($2::bigint) WHERE "
    "user_id = $1 AND revoked_at IS NULL AND family_id::text <> $3";

int
auth_store_sessions_revoke(kp_db *db, const char *user_id, const char *keep,
                           int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[3] = {user_id, kp_time_param(now, t), keep ? keep : ""};

	return kp_db_exec(db, auth_sql_sessions_revoke, 3, p);
}

static const char auth_sql_tokens_revoke[] =
    "INSERT INTO token_revocations (user_id, revoked_at) VALUES ($1, "
    "to_timestamp($2::bigint)) ON CONFLICT (user_id) DO UPDATE SET "
    "revoked_at = EXCLUDED.revoked_at";

int
auth_store_tokens_revoke(kp_db *db, const char *user_id, int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[2] = {user_id, kp_time_param(now, t)};

	return kp_db_exec(db, auth_sql_tokens_revoke, 2, p);
}

void
auth_revocation_set_clear(auth_revocation_set *s)
{
	if (s != NULL)
		kp_db_release(s->ptrs, s->res_, s, sizeof(*s));
}

static const char auth_sql_revocations[] =
    "SELECT user_id::text, extract(epoch FROM revoked_at)::bigint FROM "
    "token_revocations WHERE revoked_at > to_timestamp($1::bigint - 960) "
    "ORDER BY revoked_at DESC LIMIT 4096";

enum revocation_col { REV_C_USER, REV_C_AT };

static void
auth_revocation_read(void *elem, const PGresult *res, int row)
{
	Keyport__Auth__Revocation *r = elem;

	keyport__auth__revocation__init(r);
	r->user_id = PQgetvalue(res, row, REV_C_USER);
	r->revoked_at = strtoll(PQgetvalue(res, row, REV_C_AT), NULL, 10);
}

int
auth_store_revocations(kp_db *db, int64_t now, auth_revocation_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[1] = {kp_time_param(now, t)};
	kp_db_rowset r;
	int rv = kp_db_query_rows(db, auth_sql_revocations, 1, p, 0,
	                          sizeof(*out->rows), auth_revocation_read, &r);

	*out = (auth_revocation_set){
	    r.n, r.rows, (Keyport__Auth__Revocation **)r.ptrs, r.res};
	return rv;
}

static const char auth_sql_revocations_prune[] =
    "DELETE FROM token_revocations WHERE revoked_at < "
    "to_timestamp($1::bigint - 86400)";

int
auth_store_revocations_prune(kp_db *db, int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[1] = {kp_time_param(now, t)};

	return kp_db_exec(db, auth_sql_revocations_prune, 1, p);
}

void
auth_session_ids_clear(auth_session_ids *s)
{
	if (s != NULL)
		kp_db_release(s->ids, s->res_, s, sizeof(*s));
}

static const char auth_sql_revoked_sessions[] =
    "SELECT family_id::text FROM refresh_tokens WHERE revoked_at > "
    "to_timestamp($1::bigint - 960) GROUP BY family_id ORDER BY "
    "max(revoked_at) DESC LIMIT 4096";

int
auth_store_revoked_sessions(kp_db *db, int64_t now, auth_session_ids *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[1] = {kp_time_param(now, t)};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, auth_sql_revoked_sessions, 1, p, &res)) !=
	    KP_OK)
		return rv;
	if ((out->ids = kp_db_column(res, 0)) == NULL) {
		PQclear(res);
		return KP_EINTERNAL;
	}
	out->n = (size_t)PQntuples(res);
	out->res_ = res;
	return KP_OK;
}

/* ---- refresh tokens --------------------------------------------------------
 */

void
auth_refresh_row_clear(auth_refresh_row *r)
{
	if (r == NULL)
		return;
	PQclear(r->res_);
	memset(r, 0, sizeof(*r));
}

static const char auth_sql_refresh_find[] =
    "SELECT id::text, family_id::text, user_id::text, rotated_at IS NOT "
    "NULL, revoked_at IS NOT NULL, expires_at <= to_timestamp($2::bigint) "
    "FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE";

enum refresh_col {
	RT_C_ID,
	RT_C_FAMILY,
	RT_C_USER,
	RT_C_ROTATED,
	RT_C_REVOKED,
	RT_C_EXPIRED
};

int
auth_store_refresh_find(kp_db *db, const char *hash, int64_t now,
                        auth_refresh_row *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[2] = {hash, kp_time_param(now, t)};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, auth_sql_refresh_find, 2, p, &res)) != KP_OK)
		return rv;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return KP_ENOTFOUND;
	}
	out->res_ = res;
	out->id = PQgetvalue(res, 0, RT_C_ID);
	out->family_id = PQgetvalue(res, 0, RT_C_FAMILY);
	out->user_id = PQgetvalue(res, 0, RT_C_USER);
	out->rotated = PQgetvalue(res, 0, RT_C_ROTATED)[0] == 't';
	out->revoked = PQgetvalue(res, 0, RT_C_REVOKED)[0] == 't';
	out->expired = PQgetvalue(res, 0, RT_C_EXPIRED)[0] == 't';
	return KP_OK;
}

static const char auth_sql_refresh_add[] =
    "INSERT INTO refresh_tokens (family_id, user_id, token_hash, "
    "created_at, expires_at) VALUES (coalesce($1::uuid, "
    "gen_random_uuid()), $2, $3, to_timestamp($4::bigint), "
    "to_timestamp($4::bigint + $5::bigint)) RETURNING family_id::text";

int
auth_store_refresh_add(kp_db *db, const char *family, const char *user_id,
                       const char *hash, int64_t now, int64_t ttl, char fam[40])
{
	char t[KP_NOW_PARAM_LEN], d[KP_NOW_PARAM_LEN];
	const char *p[5] = {family, user_id, hash, kp_time_param(now, t),
	                    auth_dec(ttl, d)};
	PGresult *res = NULL;
	int rv;

	if ((rv = kp_db_query(db, auth_sql_refresh_add, 5, p, &res)) == KP_OK)
		snprintf(fam, 40, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rv;
}

static const char auth_sql_refresh_rotate[] =
    "UPDATE refresh_tokens SET rotated_at = to_timestamp($2::bigint) WHERE "
    "id = $1";
static const char auth_sql_family_revoke[] =
    "UPDATE refresh_tokens SET revoked_at = to_timestamp($2::bigint) WHERE "
    "family_id = $1::uuid AND revoked_at IS NULL";
static const char auth_sql_logout[] =
    "UPDATE refresh_tokens SET revoked_at = to_timestamp($2::bigint) WHERE "
    "family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = "
    "$1) AND revoked_at IS NULL";

/* Runs a statement of (key, now). */
static int
auth_exec_at(kp_db *db, const char *sql, const char *key, int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[2] = {key, kp_time_param(now, t)};

	return kp_db_exec(db, sql, 2, p);
}

int
auth_store_refresh_rotate(kp_db *db, const char *id, int64_t now)
{
	return auth_exec_at(db, auth_sql_refresh_rotate, id, now);
}

int
auth_store_family_revoke(kp_db *db, const char *family, int64_t now)
{
	return auth_exec_at(db, auth_sql_family_revoke, family, now);
}

int
auth_store_logout(kp_db *db, const char *hash, int64_t now)
{
	return auth_exec_at(db, auth_sql_logout, hash, now);
}

/* ---- login throttling ------------------------------------------------------
 */

static const char auth_sql_failures[] =
    "SELECT kind, count(*), extract(epoch FROM min(at))::bigint FROM "
    "login_failures WHERE ((kind = 'email' AND key = $1) OR (kind = "
    "'address' AND key = $2)) AND at > to_timestamp($3::bigint - "
    "$4::bigint) AND at <= to_timestamp($3::bigint) GROUP BY kind";

enum failure_col { FAIL_C_KIND, FAIL_C_COUNT, FAIL_C_OLDEST };

int
auth_store_failures(kp_db *db, const char *email, const char *addr, int64_t now,
                    int64_t window, auth_failures *out)
{
	char t[KP_NOW_PARAM_LEN], w[KP_NOW_PARAM_LEN];
	const char *p[4] = {email, addr, kp_time_param(now, t),
	                    auth_dec(window, w)};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, auth_sql_failures, 4, p, &res)) != KP_OK)
		return rv;
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t n = strtoll(PQgetvalue(res, i, FAIL_C_COUNT), NULL, 10);
		int64_t t0 =
		    strtoll(PQgetvalue(res, i, FAIL_C_OLDEST), NULL, 10);

		if (strcmp(PQgetvalue(res, i, FAIL_C_KIND), "email") == 0) {
			out->email_n = n;
			out->email_oldest = t0;
		} else {
			out->addr_n = n;
			out->addr_oldest = t0;
		}
	}
	PQclear(res);
	return KP_OK;
}

static const char auth_sql_failure_add[] =
    "INSERT INTO login_failures (kind, key, at) VALUES ('email', $1, "
    "to_timestamp($3::bigint)), ('address', $2, to_timestamp($3::bigint))";
static const char auth_sql_failures_prune[] =
    "DELETE FROM login_failures WHERE at < to_timestamp($1::bigint - "
    "86400)";
static const char auth_sql_failures_clear[] =
    "DELETE FROM login_failures WHERE kind = 'email' AND key = $1";

int
auth_store_failure_add(kp_db *db, const char *email, const char *addr,
                       int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[3] = {email, addr, kp_time_param(now, t)};
	int rv = kp_db_exec(db, auth_sql_failure_add, 3, p);

	/* old rows are of no use */
	(void)kp_db_exec(db, auth_sql_failures_prune, 1, p + 2);
	return rv;
}

int
auth_store_failures_clear(kp_db *db, const char *email)
{
	const char *p[1] = {email};

	return kp_db_exec(db, auth_sql_failures_clear, 1, p);
}

/* ---- personal access tokens ------------------------------------------------
 */

#define PAT_COLS                                                               \
	"id::text, name, " TS("expires_at") ", " TS("last_used_at") ", " TS(   \
	    "created_at")

enum pat_col {
	PAT_C_ID,
	PAT_C_NAME,
	PAT_C_EXPIRES,
	PAT_C_USED,
	PAT_C_CREATED,
	PAT_C_TOTAL /* lists only */
};

void
auth_pat_set_clear(auth_pat_set *s)
{
	if (s != NULL)
		kp_db_release(s->ptrs, s->res_, s, sizeof(*s));
}

static void
auth_pat_read(void *elem, const PGresult *res, int row)
{
	auth_pat_row *r = elem;
	Keyport__Auth__PersonalAccessToken *t = &r->msg;

	keyport__auth__personal_access_token__init(t);
	t->id = PQgetvalue(res, row, PAT_C_ID);
	t->name = PQgetvalue(res, row, PAT_C_NAME);
	t->expires_at = auth_store_time(res, row, PAT_C_EXPIRES, r->expires);
	t->last_used_at = auth_store_time(res, row, PAT_C_USED, r->used);
	t->created_at = auth_store_time(res, row, PAT_C_CREATED, r->created);
}

/* Runs a statement answering tokens into out (list: with the count). */
static int
auth_pat_query(kp_db *db, const char *sql, int np, const char *const *p,
               int list, auth_pat_set *out)
{
	kp_db_rowset r;
	int rv = kp_db_query_rows(db, sql, np, p, 0, sizeof(auth_pat_row),
	                          auth_pat_read, &r);

	*out = (auth_pat_set){r.n, r.rows,
	                      (Keyport__Auth__PersonalAccessToken **)r.ptrs, 0,
	                      r.res};
	if (rv == KP_OK && list && r.n > 0)
		out->total =
		    strtoll(PQgetvalue(r.res, 0, PAT_C_TOTAL), NULL, 10);
	return rv;
}

static const char auth_sql_pat_create[] =
    "INSERT INTO personal_access_tokens (user_id, name, token_hash, "
    "created_at, expires_at) VALUES ($1, $2, $3, to_timestamp($4::bigint), "
    "CASE WHEN $5::int > 0 THEN to_timestamp($4::bigint + $5::int * "
    "86400.0) END) RETURNING " PAT_COLS;

int
auth_store_pat_create(kp_db *db, const char *user_id, const char *name,
                      const char *hash, int64_t now, int64_t days,
                      auth_pat_set *out)
{
	char t[KP_NOW_PARAM_LEN], d[KP_NOW_PARAM_LEN];
	const char *p[5] = {user_id, name, hash, kp_time_param(now, t),
	                    auth_dec(days, d)};

	return auth_pat_query(db, auth_sql_pat_create, 5, p, 0, out);
}

static const char auth_sql_pat_list[] =
    "SELECT " PAT_COLS ", count(*) OVER () FROM personal_access_tokens "
    "WHERE user_id = $1 ORDER BY created_at, id LIMIT $2::int OFFSET "
    "$3::bigint";

int
auth_store_pat_list(kp_db *db, const char *user_id, int limit, int64_t offset,
                    auth_pat_set *out)
{
	char lim[KP_NOW_PARAM_LEN], off[KP_NOW_PARAM_LEN];
	const char *p[3] = {user_id, auth_dec(limit, lim),
	                    auth_dec(offset, off)};

	return auth_pat_query(db, auth_sql_pat_list, 3, p, 1, out);
}

static const char auth_sql_pat_delete[] =
    "DELETE FROM personal_access_tokens WHERE id = $1 AND user_id = $2 "
    "RETURNING id";

int
auth_store_pat_delete(kp_db *db, const char *id, const char *user_id)
{
	const char *p[2] = {id, user_id};
	PGresult *res = NULL;
	int rv;

	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	if ((rv = kp_db_query(db, auth_sql_pat_delete, 2, p, &res)) == KP_OK &&
	    PQntuples(res) == 0)
		rv = KP_ENOTFOUND;
	PQclear(res);
	return rv;
}

void
auth_caller_row_clear(auth_caller_row *r)
{
	if (r == NULL)
		return;
	PQclear(r->res_);
	memset(r, 0, sizeof(*r));
}

static const char auth_sql_pat_use[] =
    "UPDATE personal_access_tokens p SET last_used_at = "
    "to_timestamp($2::bigint) FROM users u WHERE p.token_hash = $1 AND "
    "u.id = p.user_id AND NOT u.disabled AND (p.expires_at IS NULL OR "
    "p.expires_at > to_timestamp($2::bigint)) RETURNING u.id::text, "
    "u.role, coalesce(u.organization_id::text, '')";

enum caller_col { CALLER_C_USER, CALLER_C_ROLE, CALLER_C_ORG };

int
auth_store_pat_use(kp_db *db, const char *hash, int64_t now,
                   auth_caller_row *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[2] = {hash, kp_time_param(now, t)};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, auth_sql_pat_use, 2, p, &res)) != KP_OK)
		return rv;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return KP_ENOTFOUND;
	}
	out->res_ = res;
	out->user_id = PQgetvalue(res, 0, CALLER_C_USER);
	out->role = PQgetvalue(res, 0, CALLER_C_ROLE);
	out->organization_id = PQgetvalue(res, 0, CALLER_C_ORG);
	return KP_OK;
}

/* ---- the org outbox --------------------------------------------------------
 */

static const char auth_sql_outbox_add[] =
    "INSERT INTO org_outbox (user_id, organization_id, queued_at) VALUES "
    "($1, $2, to_timestamp($3::bigint)) ON CONFLICT DO NOTHING";
static const char auth_sql_outbox_add_org[] =
    "INSERT INTO org_outbox (user_id, organization_id, queued_at) SELECT "
    "id, '', to_timestamp($2::bigint) FROM users WHERE organization_id = "
    "$1 ON CONFLICT DO NOTHING";

int
auth_store_outbox_add(kp_db *db, const char *user_id, const char *org,
                      int64_t now)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[3] = {user_id, org ? org : "", kp_time_param(now, t)};

	return kp_db_exec(db, auth_sql_outbox_add, 3, p);
}

int
auth_store_outbox_add_org(kp_db *db, const char *org, int64_t now)
{
	return auth_exec_at(db, auth_sql_outbox_add_org, org, now);
}

void
auth_outbox_set_clear(auth_outbox_set *s)
{
	if (s == NULL)
		return;
	free(s->user_ids);
	free(s->orgs);
	PQclear(s->res_);
	memset(s, 0, sizeof(*s));
}

static const char auth_sql_outbox_pending[] =
    "SELECT user_id::text, organization_id FROM org_outbox ORDER BY "
    "organization_id, queued_at, user_id LIMIT $1::int";

enum outbox_col { OUTBOX_C_USER, OUTBOX_C_ORG };

int
auth_store_outbox_pending(kp_db *db, int limit, auth_outbox_set *out)
{
	char lim[KP_NOW_PARAM_LEN];
	const char *p[1] = {auth_dec(limit, lim)};
	PGresult *res = NULL;
	size_t n;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, auth_sql_outbox_pending, 1, p, &res)) !=
	    KP_OK)
		return rv;
	n = (size_t)PQntuples(res);
	out->res_ = res;
	out->user_ids = kp_db_column(res, OUTBOX_C_USER);
	out->orgs = kp_db_column(res, OUTBOX_C_ORG);
	if (out->user_ids == NULL || out->orgs == NULL) {
		auth_outbox_set_clear(out);
		return KP_EINTERNAL;
	}
	out->n = n;
	return KP_OK;
}

static const char auth_sql_outbox_done[] =
    "DELETE FROM org_outbox WHERE organization_id = $2 AND user_id = "
    "ANY($1::uuid[])";

int
auth_store_outbox_done(kp_db *db, char *const *ids, size_t n, const char *org)
{
	kp_pgarr arr = {0};
	const char *p[2];
	int rv = KP_EINTERNAL;

	for (size_t i = 0; i < n; i++)
		(void)kp_pgarr_uuid(&arr, ids[i]);
	if ((p[0] = kp_pgarr_text(&arr)) != NULL) {
		p[1] = org;
		rv = kp_db_exec(db, auth_sql_outbox_done, 2, p);
	}
	kp_pgarr_free(&arr);
	return rv;
}
