/* org_store_cols: what the org store's files share: the time column and
 * small readers. Private to org_store*.c (callers of the store see the
 * typed rows of org_store.h only). */
#ifndef ORG_STORE_COLS_H
#define ORG_STORE_COLS_H

#include "org_store.h"

#include <libpq-fe.h>

/* A timestamptz as whole epoch seconds, 0 for NULL (formatted in C by
 * org_store_time; floor(): the RFC 3339 text has no fraction). */
#define TS(col) "coalesce(floor(extract(epoch FROM " col "))::bigint, 0)"

/* org_store_time formats the epoch column col of row into buf ("" for 0)
 * and returns buf. */
char *org_store_time(const PGresult *res, int row, int col, char buf[32]);

/* org_store_ids runs a statement answering ids (column 0) into out. */
int org_store_ids(kp_db *db, const char *sql, int np, const char *const *p,
                  org_ids *out);

/* org_dec writes v as decimal text for a parameter (KP_NOW_PARAM_LEN). */
#define org_dec kp_time_param

#endif
