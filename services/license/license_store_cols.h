/* license_store_cols: what the license store's files share about a license
 * row: its columns and their reader. Private to license_store*.c (callers
 * of the store see license_set only). */
#ifndef LICENSE_STORE_COLS_H
#define LICENSE_STORE_COLS_H

#include "license_store.h"

#include <libpq-fe.h>
#include <stdlib.h>

/* Timestamps travel as whole epoch seconds and are formatted in C: to_char()
 * was ~25% of PostgreSQL's time for a page of 50 licenses. floor():
 * to_char() dropped the fraction too. */
#define TS(col) "floor(extract(epoch FROM " col "))::bigint"

/* The columns every license query selects, in enum license_col's order;
 * the query names the license table l and the products table p. */
#define LICENSE_COLS                                                           \
	"l.id, l.key, l.product_id, p.name, l.type, l.allowed_activations, "   \
	"l.allowed_deactivations, l.validity, l.expiration_strategy, " TS(     \
	    "l.expires_at") ", l.suspended, l.revoked, "                       \
	                    "coalesce(l.user_id::text, ''), "                  \
	                    "coalesce(l.organization_id::text, ''), "          \
	                    "l.metadata::text, " TS("l.created_at") ", " TS(   \
	                        "l.updated_at") ", "                           \
	                                        "l.lease_seconds, "            \
	                                        "extract(epoch FROM "          \
	                                        "l.expires_at)::bigint, "      \
	                                        "encode(p.public_key, "        \
	                                        "'base64')"
#define LICENSE_FROM " FROM licenses l JOIN products p ON p.id = l.product_id "

enum license_col {
	LIC_C_ID,
	LIC_C_KEY,
	LIC_C_PRODUCT_ID,
	LIC_C_PRODUCT_NAME,
	LIC_C_TYPE,
	LIC_C_ALLOWED_ACTIVATIONS,
	LIC_C_ALLOWED_DEACTIVATIONS,
	LIC_C_VALIDITY,
	LIC_C_EXPIRATION_STRATEGY,
	LIC_C_EXPIRES,
	LIC_C_SUSPENDED,
	LIC_C_REVOKED,
	LIC_C_USER_ID,
	LIC_C_ORGANIZATION_ID,
	LIC_C_METADATA,
	LIC_C_CREATED,
	LIC_C_UPDATED,
	LIC_C_LEASE_SECONDS,
	LIC_C_EXPIRES_EPOCH,      /* for the status: NULL when there is none */
	LIC_C_PRODUCT_PUBLIC_KEY, /* base64, the products table's */
	LIC_NCOLS
};

/* license_set_read fills s from every row of res (enum license_col) and
 * takes res (also on failure, when s is cleared). Returns a kp_status. */
int license_set_read(license_set *s, PGresult *res);

/* license_store_one runs sql, whose rows are licenses, into *out;
 * KP_ENOTFOUND when it returned none. */
int license_store_one(kp_db *db, const char *sql, int n,
                      const char *const *params, license_set *out);

/* lic_int reads a bigint column. */
static inline int64_t
lic_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

#endif
