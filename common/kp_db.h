/* kp_db: one PostgreSQL connection owned by one worker, through libpq.
 *
 * Only parameterised statements: values travel as text parameters, never
 * inside the SQL string. The connection is pinned to its service's schema
 * (search_path) and reconnects transparently after the database restarts:
 * a statement outside a transaction that fails because the connection broke
 * is retried once on a fresh connection. SQLSTATE is translated into
 * kp_status here, once (see kp_db.c for the table).
 *
 * Statements are prepared on first use, once per connection (PQprepare,
 * then PQexecPrepared by name), so the server parses and plans a statement
 * text once rather than on every call; up to 256 distinct texts per
 * connection, beyond which they go unnamed. Reconnecting forgets them.
 *
 * Ownership: a kp_db belongs to the thread that opened it; it is not safe
 * for concurrent use. Results returned through PGresult** are the caller's
 * to PQclear.
 */
#ifndef KP_DB_H
#define KP_DB_H

#include <libpq-fe.h>
#include <stddef.h>

typedef struct kp_db kp_db;

/* kp_db_open connects to url (a libpq URL or conninfo string) with
 * search_path set to schema. On success *out owns the connection (free with
 * kp_db_close); on failure *out is NULL and KP_EUNAVAIL or KP_EINVAL is
 * returned. A connection that cannot be made now is NOT an error when lazy
 * is non-zero: the handle is returned and connects on first use. */
int kp_db_open(kp_db **out, const char *url, const char *schema, int lazy);

/* kp_db_close closes and frees; NULL-safe. */
void kp_db_close(kp_db *db);

/* kp_db_query runs sql with nparams text parameters (NULL entries are SQL
 * NULL). On KP_OK, *res (when res is not NULL) receives the result, which
 * the caller must PQclear. On failure *res is NULL and the status is the
 * translation of the SQLSTATE; kp_db_sqlstate and kp_db_message tell more. */
int kp_db_query(kp_db *db, const char *sql, int nparams,
                const char *const *params, PGresult **res);

/* kp_db_exec is kp_db_query without a result. */
int kp_db_exec(kp_db *db, const char *sql, int nparams,
               const char *const *params);

/* kp_db_script runs a multi-statement script with the simple query protocol.
 * For migrations only (files of the project, never input). */
int kp_db_script(kp_db *db, const char *sql);

/* Transactions. kp_db_rollback is safe to call when no transaction is open
 * and after a failed statement; it never fails the caller. */
int kp_db_begin(kp_db *db);
int kp_db_commit(kp_db *db);
void kp_db_rollback(kp_db *db);

/* kp_db_ping runs SELECT 1 (reconnecting when needed). */
int kp_db_ping(kp_db *db);

/* The SQLSTATE ("" when none) and server message of the last failure. */
const char *kp_db_sqlstate(const kp_db *db);
const char *kp_db_message(const kp_db *db);

/* kp_db_queries counts the statements sent on this connection: tests use it
 * to show that a request costs a constant number of queries. */
unsigned long kp_db_queries(const kp_db *db);

/* kp_db_sqlstate_status translates a SQLSTATE into a kp_status. */
int kp_db_sqlstate_status(const char *sqlstate);

/* kp_db_row_reader fills one element (a store's row struct) from row i of
 * res; its strings may point into res. */
typedef void (*kp_db_row_reader)(void *elem, const PGresult *res, int i);

/* kp_db_rows reads every row of res with read into one allocation: an
 * array of PQntuples(res) + 1 pointers (NULL-terminated), then as many
 * zeroed elements of size bytes each; pointer i points at element i, whose
 * first member must be the message a repeated field points at. *elems
 * receives the elements. Returns the pointer array (freeing it frees the
 * elements too) or NULL when out of memory (nothing allocated). */
void **kp_db_rows(const PGresult *res, size_t size, kp_db_row_reader read,
                  void **elems);

/* kp_db_column gives column col of every row of res as a NULL-terminated
 * array of strings borrowed from res (free the array only), or NULL when
 * out of memory. */
char **kp_db_column(const PGresult *res, int col);

/* A result read by kp_db_query_rows: res owns the strings, ptrs (one
 * allocation with rows, see kp_db_rows) the n rows. */
typedef struct kp_db_rowset {
	size_t n;
	void *rows;
	void **ptrs;
	PGresult *res;
} kp_db_rowset;

/* kp_db_query_rows runs sql and reads every row of its answer with read
 * (kp_db_rows) into out, the caller's to release with kp_db_rowset_clear
 * (or by PQclear(out->res) and free(out->ptrs)). one: KP_ENOTFOUND when no
 * row. On failure out holds nothing. */
int kp_db_query_rows(kp_db *db, const char *sql, int nparams,
                     const char *const *params, int one, size_t size,
                     kp_db_row_reader read, kp_db_rowset *out);

/* kp_db_rowset_clear frees what out holds and zeroes it; NULL-safe. */
void kp_db_rowset_clear(kp_db_rowset *out);

/* kp_db_release frees what a store's set holds, its allocation (one
 * free) and its result, then zeroes the set (set, size bytes): the body
 * of every set's *_clear. */
void kp_db_release(void *alloc, void *res, void *set, size_t size);

#endif
