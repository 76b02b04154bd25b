/* activation_store_cols: what the activation store's files share about an
 * activations row: its columns and their reader. Private to
 * activation_store*.c (callers of the store see act_row only). */
#ifndef ACTIVATION_STORE_COLS_H
#define ACTIVATION_STORE_COLS_H

#include "activation_store.h"

#include <libpq-fe.h>
#include <stdlib.h>

/* The columns of an activation, in enum act_col's order. */
#define ACT_COLS                                                               \
	"id::text, license_id::text, product_id::text, fingerprint, "          \
	"hostname, "                                                           \
	"os, os_version, app_version, vm_name, offline, "                      \
	"extract(epoch from created_at)::bigint, "                             \
	"extract(epoch from last_seen_at)::bigint, "                           \
	"coalesce(extract(epoch from deactivated_at)::bigint, 0)"

enum act_col {
	ACT_C_ID,
	ACT_C_LICENSE_ID,
	ACT_C_PRODUCT_ID,
	ACT_C_FINGERPRINT,
	ACT_C_HOSTNAME,
	ACT_C_OS,
	ACT_C_OS_VERSION,
	ACT_C_APP_VERSION,
	ACT_C_VM_NAME,
	ACT_C_OFFLINE,
	ACT_C_CREATED,
	ACT_C_SEEN,
	ACT_C_DEACTIVATED,
	ACT_NCOLS
};

/* act_row_read fills r from row of res (enum act_col, from column 0); r
 * borrows res (the caller sets r->res_ when r is to own it). */
void act_row_read(act_row *r, const PGresult *res, int row);

/* act_int reads a bigint column. */
static inline int64_t
act_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

#endif
