/* auth_store_cols: what the auth store's files share: the columns of a
 * user and their enum, and two small readers. Private to auth_store*.c
 * (callers of the store see the typed rows of auth_store.h only). */
#ifndef AUTH_STORE_COLS_H
#define AUTH_STORE_COLS_H

#include "auth_store.h"

#include <libpq-fe.h>
#include <stdint.h>

/* A timestamptz as whole epoch seconds, 0 for NULL (formatted in C by
 * auth_store_time; floor(): the RFC 3339 text has no fraction). */
#define TS(col) "coalesce(floor(extract(epoch FROM " col "))::bigint, 0)"

/* The columns of a user, in enum user_col's order; a statement may add
 * the password hash or a list's count as column USER_C_HASH. */
#define USER_COLS                                                              \
	"id::text, email, first_name, last_name, role, "                       \
	"coalesce(organization_id::text, ''), disabled, " TS(                  \
	    "created_at") ", " TS("updated_at")

enum user_col {
	USER_C_ID,
	USER_C_EMAIL,
	USER_C_FIRST_NAME,
	USER_C_LAST_NAME,
	USER_C_ROLE,
	USER_C_ORG,
	USER_C_DISABLED,
	USER_C_CREATED,
	USER_C_UPDATED,
	USER_C_HASH /* or count(*) OVER () */
};

/* auth_store_time formats the epoch column col of row into buf ("" for 0)
 * and returns buf. */
char *auth_store_time(const PGresult *res, int row, int col, char buf[32]);

/* auth_store_count runs a statement answering one count into *count. */
int auth_store_count(kp_db *db, const char *sql, int np, const char *const *p,
                     int64_t *count);

/* auth_dec writes v as decimal text for a parameter (KP_NOW_PARAM_LEN). */
#define auth_dec kp_time_param

#endif
