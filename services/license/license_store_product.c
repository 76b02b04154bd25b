/* license_store_product: products and their keys (see license_store.h). */
#include "license_store.h"
#include "license_store_cols.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* The columns of a product, in enum product_col's order. */
#define PRODUCT_COLS "id, name, encode(public_key, 'hex'), " TS("created_at")

enum product_col {
	PROD_C_ID,
	PROD_C_NAME,
	PROD_C_PUBLIC_KEY,
	PROD_C_CREATED,
	PROD_NCOLS
};

/* license_product_read fills r from row of res: the public key goes from
 * hex to base64. */
static void
license_product_read(void *elem, const PGresult *res, int row)
{
	license_product_row *r = elem;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	size_t pk_len = 0;

	keyport__license__product__init(&r->msg);
	r->msg.id = PQgetvalue(res, row, PROD_C_ID);
	r->msg.name = PQgetvalue(res, row, PROD_C_NAME);
	r->public_key[0] = '\0';
	if (sodium_hex2bin(pk, sizeof(pk),
	                   PQgetvalue(res, row, PROD_C_PUBLIC_KEY),
	                   (size_t)PQgetlength(res, row, PROD_C_PUBLIC_KEY),
	                   NULL, &pk_len, NULL) == 0 &&
	    pk_len == sizeof(pk))
		sodium_bin2base64(r->public_key, sizeof(r->public_key), pk,
		                  pk_len, sodium_base64_VARIANT_ORIGINAL);
	r->msg.public_key = r->public_key;
	kp_time_format(lic_int(res, row, PROD_C_CREATED), r->created,
	               sizeof(r->created));
	r->msg.created_at = r->created;
}

/* license_product_set_read fills s from every row of res and takes res. */
static int
license_product_set_read(license_product_set *s, PGresult *res)
{
	void *rows;

	memset(s, 0, sizeof(*s));
	s->res_ = res;
	if ((s->ptrs = (Keyport__License__Product **)kp_db_rows(
	         res, sizeof(license_product_row), license_product_read,
	         &rows)) == NULL) {
		license_product_set_clear(s);
		return KP_EINTERNAL;
	}
	s->rows = rows;
	s->n = (size_t)PQntuples(res);
	return KP_OK;
}

void
license_product_set_clear(license_product_set *s)
{
	if (s != NULL)
		kp_db_release(s->ptrs, s->res_, s, sizeof(*s));
}

static const char license_sql_product_insert[] =
    "INSERT INTO products (name, public_key, secret_box, created_at) "
    "VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), "
    "to_timestamp($4::bigint)) RETURNING " PRODUCT_COLS;

int
license_store_product_create(kp_db *db, const char *name,
                             const char *public_key_hex,
                             const char *secret_box_hex, int64_t now,
                             license_product_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *params[4] = {name, public_key_hex, secret_box_hex,
	                         kp_time_param(now, t)};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, license_sql_product_insert, 4, params,
	                      &res)) != KP_OK)
		return rv;
	return license_product_set_read(out, res);
}

/* the total rides on every row; a page past the end asks for it apart */
static const char license_sql_product_list[] =
    "SELECT " PRODUCT_COLS ", count(*) OVER () FROM products ORDER BY "
    "created_at DESC, id LIMIT $1 OFFSET $2";
enum product_list_col { PROD_LIST_C_TOTAL = PROD_NCOLS };

static const char license_sql_product_count[] = "SELECT count(*) FROM products";
enum product_count_col { PROD_COUNT_C_COUNT };

int
license_store_product_list(kp_db *db, int limit, int64_t offset,
                           license_product_set *out)
{
	char lim[KP_NOW_PARAM_LEN], off[KP_NOW_PARAM_LEN];
	const char *params[2] = {license_store_dec(limit, lim),
	                         license_store_dec(offset, off)};
	PGresult *res = NULL, *cnt = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, license_sql_product_list, 2, params, &res)) !=
	        KP_OK ||
	    (rv = license_product_set_read(out, res)) != KP_OK)
		return rv;
	if (out->n > 0) {
		out->total = lic_int(res, 0, PROD_LIST_C_TOTAL);
		return KP_OK;
	}
	if ((rv = kp_db_query(db, license_sql_product_count, 0, NULL, &cnt)) !=
	    KP_OK) {
		license_product_set_clear(out);
		return rv;
	}
	out->total = lic_int(cnt, 0, PROD_COUNT_C_COUNT);
	PQclear(cnt);
	return KP_OK;
}

static const char license_sql_product_keys[] =
    "SELECT encode(public_key, 'hex'), encode(secret_box, 'hex') "
    "FROM products WHERE id = $1";
enum product_keys_col { PROD_KEYS_C_PUBLIC, PROD_KEYS_C_SECRET_BOX };

int
license_store_product_keys(kp_db *db, const char *id, license_product_keys *out)
{
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	rv = kp_db_query(db, license_sql_product_keys, 1, &id, &res);
	if (rv == KP_EINVAL || (rv == KP_OK && PQntuples(res) == 0))
		rv = KP_ENOTFOUND;
	if (rv == KP_OK) {
		snprintf(out->public_key, sizeof(out->public_key), "%s",
		         PQgetvalue(res, 0, PROD_KEYS_C_PUBLIC));
		snprintf(out->secret_box, sizeof(out->secret_box), "%s",
		         PQgetvalue(res, 0, PROD_KEYS_C_SECRET_BOX));
	}
	PQclear(res);
	return rv;
}
