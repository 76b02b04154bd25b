/* license_store: reading licenses (see license_store.h). */
#include "license_store.h"
#include "license_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <stdio.h>
#include <string.h>

char *
license_store_dec(int64_t v, char *buf)
{
	snprintf(buf, KP_NOW_PARAM_LEN, "%lld", (long long)v);
	return buf;
}

/* ---- the row reader --------------------------------------------------------
 */

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

/* license_time formats an epoch column into buf; "" for NULL. */
static char *
license_time(const PGresult *res, int row, int col, char buf[32])
{
	buf[0] = '\0';
	if (!PQgetisnull(res, row, col))
		kp_time_format(lic_int(res, row, col), buf, 32);
	return buf;
}

/* license_row_read fills r from row of res; its metadata entries go to
 * entries (as many as the object has, counted by the caller). */
static void
license_row_read(license_row *r, const PGresult *res, int row,
                 Keyport__License__License__MetadataEntry *entries,
                 Keyport__License__License__MetadataEntry **ptrs)
{
	Keyport__License__License *l = &r->msg;
	const char *k;
	json_t *v;

	keyport__license__license__init(l);
	l->id = PQgetvalue(res, row, LIC_C_ID);
	license_key_format(PQgetvalue(res, row, LIC_C_KEY), r->key);
	l->key = r->key;
	l->product_id = PQgetvalue(res, row, LIC_C_PRODUCT_ID);
	l->product_name = PQgetvalue(res, row, LIC_C_PRODUCT_NAME);
	l->product_public_key = PQgetvalue(res, row, LIC_C_PRODUCT_PUBLIC_KEY);
	l->type = PQgetvalue(res, row, LIC_C_TYPE);
	l->allowed_activations = lic_int(res, row, LIC_C_ALLOWED_ACTIVATIONS);
	l->allowed_deactivations =
	    lic_int(res, row, LIC_C_ALLOWED_DEACTIVATIONS);
	l->validity = lic_int(res, row, LIC_C_VALIDITY);
	l->expiration_strategy =
	    PQgetvalue(res, row, LIC_C_EXPIRATION_STRATEGY);
	l->expires_at = license_time(res, row, LIC_C_EXPIRES, r->expires);
	l->suspended = PQgetvalue(res, row, LIC_C_SUSPENDED)[0] == 't';
	l->revoked = PQgetvalue(res, row, LIC_C_REVOKED)[0] == 't';
	l->user_id = PQgetvalue(res, row, LIC_C_USER_ID);
	l->organization_id = PQgetvalue(res, row, LIC_C_ORGANIZATION_ID);
	l->created_at = license_time(res, row, LIC_C_CREATED, r->created);
	l->updated_at = license_time(res, row, LIC_C_UPDATED, r->updated);
	l->lease_seconds = lic_int(res, row, LIC_C_LEASE_SECONDS);
	l->status =
	    (char *)license_status(l->revoked, l->suspended,
	                           PQgetvalue(res, row, LIC_C_EXPIRES_EPOCH));
	l->metadata = ptrs;
	if (!json_is_object(r->meta))
		return;
	json_object_foreach(r->meta, k, v)
	{
		Keyport__License__License__MetadataEntry *e =
		    &entries[l->n_metadata];

		keyport__license__license__metadata_entry__init(e);
		e->key = (char *)k;
		e->value =
		    (char *)(json_string_value(v) ? json_string_value(v) : "");
		ptrs[l->n_metadata++] = e;
	}
}

int
license_set_read(license_set *s, PGresult *res)
{
	size_t n = (size_t)PQntuples(res), nmeta = 0, m = 0;

	memset(s, 0, sizeof(*s));
	s->res_ = res;
	s->rows = calloc(n + 1, sizeof(*s->rows));
	s->ptrs = calloc(n + 1, sizeof(*s->ptrs));
	if (s->rows == NULL || s->ptrs == NULL)
		goto fail;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		s->rows[i].meta = json_loads(
		    PQgetvalue(res, (int)i, LIC_C_METADATA), 0, NULL);
		if (json_is_object(s->rows[i].meta))
			nmeta += json_object_size(s->rows[i].meta);
	}
	s->entries = calloc(nmeta + 1, sizeof(*s->entries));
	s->entry_ptrs = calloc(nmeta + 1, sizeof(*s->entry_ptrs));
	if (s->entries == NULL || s->entry_ptrs == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		license_row_read(&s->rows[i], res, (int)i, &s->entries[m],
		                 &s->entry_ptrs[m]);
		m += s->rows[i].msg.n_metadata;
		s->ptrs[i] = &s->rows[i].msg;
	}
	return KP_OK;
fail:
	license_set_clear(s);
	return KP_EINTERNAL;
}

void
license_set_clear(license_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; s->rows != NULL && i < s->n; i++)
		json_decref(s->rows[i].meta);
	free(s->rows);
	free(s->ptrs);
	free(s->entries);
	free(s->entry_ptrs);
	PQclear(s->res_);
	memset(s, 0, sizeof(*s));
}

int
license_store_one(kp_db *db, const char *sql, int n, const char *const *params,
                  license_set *out)
{
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, sql, n, params, &res)) != KP_OK)
		return rv;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return KP_ENOTFOUND;
	}
	return license_set_read(out, res);
}

/* ---- one, many, by key -----------------------------------------------------
 */

static const char license_sql_get[] =
    "SELECT " LICENSE_COLS LICENSE_FROM "WHERE l.id = $1";

int
license_store_get(kp_db *db, const char *id, license_set *out)
{
	return license_store_one(db, license_sql_get, 1, &id, out);
}

static const char license_sql_by_key[] =
    "SELECT " LICENSE_COLS LICENSE_FROM "WHERE l.key = $1";

int
license_store_by_key(kp_db *db, const char *key, license_set *out)
{
	return license_store_one(db, license_sql_by_key, 1, &key, out);
}

static const char license_sql_get_many[] =
    "SELECT " LICENSE_COLS LICENSE_FROM "WHERE l.id = ANY($1::uuid[]) "
    "AND ($2 = '' OR l.organization_id = NULLIF($2, '')::uuid) "
    "ORDER BY l.created_at, l.id";

/* license_query_set runs sql (rows are licenses) into *out, none or more. */
static int
license_query_set(kp_db *db, const char *sql, int n, const char *const *params,
                  license_set *out)
{
	int rv = license_store_one(db, sql, n, params, out);

	return rv == KP_ENOTFOUND ? KP_OK : rv;
}

int
license_store_get_many(kp_db *db, char *const *ids, size_t n,
                       const char *org_id, license_set *out)
{
	kp_pgarr arr = {0};
	const char *params[2];
	int rv = KP_EINTERNAL;

	memset(out, 0, sizeof(*out));
	/* an id that is not a UUID is not found */
	for (size_t i = 0; i < n; i++)
		(void)kp_pgarr_uuid(&arr, ids[i]);
	if ((params[0] = kp_pgarr_text(&arr)) != NULL) {
		params[1] = org_id;
		rv =
		    license_query_set(db, license_sql_get_many, 2, params, out);
	}
	kp_pgarr_free(&arr);
	return rv;
}

/* ---- the admin list --------------------------------------------------------
 */

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

/* one statement per LICENSE_SORT_* */
static const char *const license_sql_list[LICENSE_NSORTS] = {
    "SELECT " LICENSE_COLS LICENSE_FROM LIST_WHERE
    "ORDER BY l.created_at DESC, l.id DESC" LIST_PAGE,
    "SELECT " LICENSE_COLS LICENSE_FROM LIST_WHERE
    "ORDER BY l.created_at, l.id" LIST_PAGE,
    "SELECT " LICENSE_COLS LICENSE_FROM LIST_WHERE
    "ORDER BY l.expires_at NULLS LAST, l.id" LIST_PAGE,
    "SELECT " LICENSE_COLS LICENSE_FROM LIST_WHERE
    "ORDER BY l.expires_at DESC NULLS LAST, l.id DESC" LIST_PAGE,
};
static const char license_sql_list_count[] =
    "SELECT count(*) FROM licenses l" LIST_WHERE
    "AND $7::int IS NOT NULL AND $8::int IS NOT NULL";
enum license_count_col { LIC_COUNT_C_COUNT };

static const char *
nz(const char *s)
{
	return s == NULL || s[0] == '\0' ? NULL : s;
}

/* license_page runs a page statement and its count statement (the same
 * parameters) into *out. */
static int
license_page(kp_db *db, const char *sql, const char *count_sql, int n,
             const char *const *params, license_set *out)
{
	PGresult *cnt = NULL;
	int rv;

	if ((rv = license_query_set(db, sql, n, params, out)) != KP_OK)
		return rv;
	if ((rv = kp_db_query(db, count_sql, n, params, &cnt)) != KP_OK) {
		license_set_clear(out);
		return rv;
	}
	out->total = lic_int(cnt, 0, LIC_COUNT_C_COUNT);
	PQclear(cnt);
	return KP_OK;
}

int
license_store_list(kp_db *db, const license_filter *f, license_set *out)
{
	char now[KP_NOW_PARAM_LEN], lim[KP_NOW_PARAM_LEN],
	    off[KP_NOW_PARAM_LEN];
	const char *params[8] = {nz(f->product_id),
	                         nz(f->user_id),
	                         nz(f->organization_id),
	                         nz(f->status),
	                         nz(f->key),
	                         kp_time_param(f->now, now),
	                         license_store_dec(f->limit, lim),
	                         license_store_dec(f->offset, off)};

	memset(out, 0, sizeof(*out));
	if (f->sort < 0 || f->sort >= LICENSE_NSORTS)
		return KP_EINVAL;
	return license_page(db, license_sql_list[f->sort],
	                    license_sql_list_count, 8, params, out);
}

/* ---- the portal list -------------------------------------------------------
 */

/* The page and its exact total come from two functions of
 * sql/003_visible_page.sql (the three disjoint sets a caller sees, each
 * read in page order from its own index; the total from per-owner counters
 * that triggers keep, sql/002_owner_counts.sql), whose plans PostgreSQL
 * keeps: as plain statements both were planned again on every call. The
 * cost of a page grows with the page, not with the caller's licenses. */
/* products: one primary-key lookup per row (a hash join read the whole
 * products table for every page) */
static const char license_sql_visible[] =
    "SELECT " LICENSE_COLS
    " FROM license_visible_page(NULLIF($1, '')::uuid, NULLIF($2, '')::uuid, "
    "$3::uuid[], $4::int, $5::bigint) l CROSS JOIN LATERAL (SELECT p.name, "
    "p.public_key FROM products p WHERE p.id = l.product_id OFFSET 0) p ORDER "
    "BY "
    "l.created_at DESC, l.id DESC";
static const char license_sql_visible_count[] =
    "SELECT license_visible_count(NULLIF($1, '')::uuid, NULLIF($2, "
    "'')::uuid, $3::uuid[]) + 0 * ($4::int + $5::bigint)";

int
license_store_list_visible(kp_db *db, const char *user_id, const char *org_id,
                           char *const *visible, size_t nvisible, int limit,
                           int64_t offset, license_set *out)
{
	char lim[KP_NOW_PARAM_LEN], off[KP_NOW_PARAM_LEN];
	kp_pgarr ids = {0};
	const char *params[5];
	int rv = KP_EINTERNAL;

	memset(out, 0, sizeof(*out));
	/* ids are UUIDs; kp_pgarr refuses anything else */
	for (size_t i = 0; i < nvisible; i++)
		(void)kp_pgarr_uuid(&ids, visible[i]);
	if ((params[2] = kp_pgarr_text(&ids)) != NULL) {
		params[0] = user_id;
		params[1] = org_id;
		params[3] = license_store_dec(limit, lim);
		params[4] = license_store_dec(offset, off);
		rv = license_page(db, license_sql_visible,
		                  license_sql_visible_count, 5, params, out);
	}
	kp_pgarr_free(&ids);
	return rv;
}
