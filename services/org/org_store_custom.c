/* org_store_custom: the portal customization and its logo: statements and
 * row readers (see org_store.h). */
#include "org_store.h"
#include "org_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <stdlib.h>
#include <string.h>

#define CUSTOM_COLS                                                            \
	"portal_name, logo_url, coalesce(custom_domain, ''), " TS(             \
	    "updated_at") ", logo IS NOT NULL"

enum custom_col {
	CUSTOM_C_NAME,
	CUSTOM_C_LOGO_URL,
	CUSTOM_C_DOMAIN,
	CUSTOM_C_UPDATED,
	CUSTOM_C_HAS_LOGO
};

void
org_custom_row_clear(org_custom_row *r)
{
	if (r == NULL)
		return;
	PQclear(r->res_);
	memset(r, 0, sizeof(*r));
}

/* Runs a statement answering at most one customization into out. */
static int
custom_query(kp_db *db, const char *sql, int np, const char *const *p,
             org_custom_row *out)
{
	Keyport__Org__Customization *c = &out->msg;
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	keyport__org__customization__init(c);
	if ((rv = kp_db_query(db, sql, np, p, &res)) != KP_OK)
		return rv;
	out->res_ = res;
	if (PQntuples(res) == 0)
		return KP_OK;
	out->found = 1;
	c->portal_name = PQgetvalue(res, 0, CUSTOM_C_NAME);
	c->logo_url = PQgetvalue(res, 0, CUSTOM_C_LOGO_URL);
	c->custom_domain = PQgetvalue(res, 0, CUSTOM_C_DOMAIN);
	c->updated_at = org_store_time(res, 0, CUSTOM_C_UPDATED, out->updated);
	c->has_logo = PQgetvalue(res, 0, CUSTOM_C_HAS_LOGO)[0] == 't';
	return KP_OK;
}

static const char custom_sql_get[] =
    "SELECT " CUSTOM_COLS " FROM customizations WHERE tenant = $1";

int
org_store_custom_get(kp_db *db, const char *tenant, org_custom_row *out)
{
	const char *p[1] = {tenant};

	return custom_query(db, custom_sql_get, 1, p, out);
}

static const char custom_sql_by_domain[] =
    "SELECT " CUSTOM_COLS " FROM customizations WHERE custom_domain = $1";

int
org_store_custom_by_domain(kp_db *db, const char *domain, org_custom_row *out)
{
	const char *p[1] = {domain};

	return custom_query(db, custom_sql_by_domain, 1, p, out);
}

static const char custom_sql_put[] =
    "INSERT INTO customizations (tenant, portal_name, logo_url, "
    "custom_domain, updated_at) VALUES ($1, $2, $3, $4, "
    "to_timestamp($5::bigint)) ON CONFLICT (tenant) DO UPDATE SET "
    "portal_name = $2, logo_url = $3, custom_domain = $4, updated_at = "
    "to_timestamp($5::bigint) RETURNING " CUSTOM_COLS;

int
org_store_custom_put(kp_db *db, const char *tenant, const char *name,
                     const char *logo_url, const char *domain, int64_t now,
                     org_custom_row *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[5] = {tenant, name, logo_url, domain,
	                    kp_time_param(now, t)};

	return custom_query(db, custom_sql_put, 5, p, out);
}

static const char custom_sql_logo_put[] =
    "INSERT INTO customizations (tenant, portal_name, logo_url, logo, "
    "logo_type, updated_at) VALUES ($1, $5, $6, $2::bytea, $3, "
    "to_timestamp($4::bigint)) ON CONFLICT (tenant) DO UPDATE SET logo = "
    "$2::bytea, logo_type = $3, logo_url = $6, updated_at = "
    "to_timestamp($4::bigint) RETURNING " CUSTOM_COLS;

int
org_store_logo_put(kp_db *db, const char *tenant, const unsigned char *data,
                   size_t len, const char *type, const char *default_name,
                   const char *logo_path, int64_t now, org_custom_row *out)
{
	static const char digits[] = "0123456789abcdef";
	/* bytea in text form: the hex escape keeps it a plain parameter */
	char *hex = malloc(len * 2 + 3), t[KP_NOW_PARAM_LEN];
	int rv;

	memset(out, 0, sizeof(*out));
	if (hex == NULL)
		return KP_EINTERNAL;
	hex[0] = '\\';
	hex[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		hex[2 + 2 * i] = digits[data[i] >> 4];
		hex[3 + 2 * i] = digits[data[i] & 15];
	}
	hex[len * 2 + 2] = '\0';
	{
		const char *p[6] = {tenant,       hex,
		                    type,         kp_time_param(now, t),
		                    default_name, logo_path};

		rv = custom_query(db, custom_sql_logo_put, 6, p, out);
	}
	free(hex);
	return rv;
}

void
org_logo_clear(org_logo *l)
{
	if (l == NULL)
		return;
	PQfreemem(l->data);
	PQclear(l->res_);
	memset(l, 0, sizeof(*l));
}

static const char custom_sql_logo_get[] =
    "SELECT logo, logo_type FROM customizations WHERE tenant = $1 AND logo "
    "IS NOT NULL";

enum logo_col { LOGO_C_DATA, LOGO_C_TYPE };

int
org_store_logo_get(kp_db *db, const char *tenant, org_logo *out)
{
	const char *p[1] = {tenant};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, custom_sql_logo_get, 1, p, &res)) != KP_OK)
		return rv;
	out->res_ = res;
	if (PQntuples(res) == 0) {
		org_logo_clear(out);
		return KP_ENOTFOUND;
	}
	out->data = PQunescapeBytea(
	    (const unsigned char *)PQgetvalue(res, 0, LOGO_C_DATA), &out->len);
	if (out->data == NULL) {
		org_logo_clear(out);
		return KP_EINTERNAL;
	}
	out->type = PQgetvalue(res, 0, LOGO_C_TYPE);
	return KP_OK;
}
