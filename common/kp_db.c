/* kp_db: libpq with parameterised statements, reconnect and SQLSTATE map. */
#include "kp_db.h"

#include "kp_err.h"
#include "kp_log.h"
#include "kp_stats.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Statements prepared on the current connection, at most KP_DB_STMTS of
 * them; past that, statements go unnamed (parsed and planned each time). */
#define KP_DB_STMTS 256

typedef struct kp_db_stmt {
	uint64_t hash;
	char *sql; /* owned */
} kp_db_stmt;

struct kp_db {
	PGconn *conn;
	char *url;
	char options[160];
	char schema[64];
	int in_tx;
	int busy; /* counted in keyport_db_connections_in_use */
	unsigned long queries;
	unsigned long prepares;
	char sqlstate[6];
	char message[256];
	kp_db_stmt stmts[KP_DB_STMTS]; /* name is "kp" + index */
	int nstmts;
};

/* The pool figure: a connection is in use while a statement runs on it or
 * a transaction is open. */
static void
kp_db_mark(kp_db *db, int running)
{
	int busy = running || db->in_tx;

	if (busy != db->busy)
		kp_stats_db_in_use(busy ? 1 : -1);
	db->busy = busy;
}

/* SQLSTATE → kp_status, by exact code first, then by class (first two). */
static const struct {
	const char *state;
	int status;
} kp_db_states[] = {
    {"23505", KP_ECONFLICT}, /* unique_violation */
    {"23503", KP_ECONFLICT}, /* foreign_key_violation */
    {"23514", KP_EINVAL},    /* check_violation */
    {"23502", KP_EINVAL},    /* not_null_violation */
    {"40001", KP_ECONFLICT}, /* serialization_failure */
    {"40P01", KP_ECONFLICT}, /* deadlock_detected */
    {"55P03", KP_ECONFLICT}, /* lock_not_available */
    {"57014", KP_EUNAVAIL},  /* query_canceled (statement timeout) */
    {"57P01", KP_EUNAVAIL},  /* admin_shutdown */
    {"57P02", KP_EUNAVAIL},  /* crash_shutdown */
    {"57P03", KP_EUNAVAIL},  /* cannot_connect_now */
    {"22", KP_EINVAL},       /* data exception */
    {"08", KP_EUNAVAIL},     /* connection exception */
    {"53", KP_EUNAVAIL},     /* insufficient resources */
};

int
kp_db_sqlstate_status(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return KP_EUNAVAIL; /* no server answer: the link is down */
	for (size_t i = 0; i < sizeof(kp_db_states) / sizeof(kp_db_states[0]);
	     i++) {
		size_t n = strlen(kp_db_states[i].state);
		if (strncmp(s, kp_db_states[i].state, n) == 0)
			return kp_db_states[i].status;
	}
	return KP_EINTERNAL;
}

static void
kp_db_note(kp_db *db, const PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : NULL;

	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(db->conn);
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
	snprintf(db->message, sizeof(db->message), "%s", msg ? msg : "");
	/* libpq messages end with a newline; keep log lines single. */
	db->message[strcspn(db->message, "\n")] = '\0';
}

/* Forgets every prepared statement (the connection that held them is gone
 * or was reset). */
static void
kp_db_forget(kp_db *db)
{
	for (int i = 0; i < db->nstmts; i++)
		free(db->stmts[i].sql);
	db->nstmts = 0;
}

static uint64_t
kp_db_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* kp_db_prepared finds sql among the connection's prepared statements, or
 * prepares it, and writes the statement's name into name. Returns 1 when
 * the statement is prepared, 0 when it is to be sent unnamed (the table is
 * full), and -1 when the prepare failed: *fail then owns the failed result,
 * which is the statement's answer (a statement that cannot be prepared
 * cannot run). */
static int
kp_db_prepared(kp_db *db, const char *sql, int nparams, char *name,
               size_t namesz, PGresult **fail)
{
	uint64_t h = kp_db_hash(sql);
	PGresult *r;
	int i;

	*fail = NULL;
	for (i = 0; i < db->nstmts; i++) {
		if (db->stmts[i].hash == h &&
		    strcmp(db->stmts[i].sql, sql) == 0)
			goto found;
	}
	if (db->nstmts == KP_DB_STMTS)
		return 0;
	i = db->nstmts;
	snprintf(name, namesz, "kp%d", i);
	r = PQprepare(db->conn, name, sql, nparams, NULL);
	if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
		*fail = r;
		return -1;
	}
	PQclear(r);
	if ((db->stmts[i].sql = strdup(sql)) == NULL) {
		/* prepared but not remembered: free the name again (the name
		 * is ours, "kp" and a number, never input) */
		char drop[32];

		snprintf(drop, sizeof(drop), "DEALLOCATE %s", name);
		PQclear(PQexec(db->conn, drop));
		return 0;
	}
	db->stmts[i].hash = h;
	db->nstmts++;
	db->prepares++;
found:
	snprintf(name, namesz, "kp%d", i);
	return 1;
}

/* PostgreSQL's NOTICE and WARNING messages (a migration's "already exists,
 * skipping", for example) go through the logger as JSON, never as libpq's
 * plain text on stderr. */
static void
kp_db_notice(void *arg, const char *message)
{
	size_t n = strlen(message);

	(void)arg;
	while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == ' '))
		n--;
	kp_log_info("postgres: %.*s", (int)n, message);
}

static int
kp_db_connect(kp_db *db)
{
	const char *keys[] = {"dbname", "options", "application_name",
	                      "connect_timeout", NULL};
	const char *vals[] = {db->url, db->options, "keyport", "5", NULL};
	const char *params[] = {db->schema};
	PGresult *r;

	if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
		return KP_OK;
	kp_db_forget(db);
	kp_stats_db_waiting(1);
	if (db->conn != NULL) {
		PQreset(db->conn);
		kp_stats_db_reconnect(PQstatus(db->conn) == CONNECTION_OK);
	} else {
		db->conn = PQconnectdbParams(keys, vals, 1);
		if (db->conn != NULL)
			PQsetNoticeProcessor(db->conn, kp_db_notice, NULL);
	}
	kp_stats_db_waiting(-1);
	if (db->conn == NULL)
		return KP_EUNAVAIL;
	if (PQstatus(db->conn) != CONNECTION_OK) {
		kp_db_note(db, NULL);
		return KP_EUNAVAIL;
	}
	/* the schema once more as a statement: a connection pooler
	 * (PgBouncer, CloudNativePG's Pooler) drops the options startup
	 * parameter, and the session would run in "public" */
	r = PQexecParams(
	    db->conn, "SELECT pg_catalog.set_config('search_path', $1, false)",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		kp_db_note(db, r);
		PQclear(r);
		return KP_EUNAVAIL;
	}
	PQclear(r);
	db->in_tx = 0;
	return KP_OK;
}

int
kp_db_open(kp_db **out, const char *url, const char *schema, int lazy)
{
	kp_db *db = NULL;
	int rv = KP_EINVAL;

	*out = NULL;
	if (url == NULL || schema == NULL)
		goto out;
	rv = KP_EUNAVAIL;
	if ((db = calloc(1, sizeof(*db))) == NULL ||
	    (db->url = strdup(url)) == NULL)
		goto out;
	snprintf(db->options, sizeof(db->options), "-c search_path=%s", schema);
	snprintf(db->schema, sizeof(db->schema), "%s", schema);
	kp_stats_db_open(1);
	rv = kp_db_connect(db);
	if (rv != KP_OK && !lazy) {
		kp_log_error("database connection failed: %s", db->message);
		goto out;
	}
	*out = db;
	db = NULL;
	rv = KP_OK;
out:
	kp_db_close(db);
	return rv;
}

void
kp_db_close(kp_db *db)
{
	if (db == NULL)
		return;
	if (db->busy)
		kp_stats_db_in_use(-1);
	kp_stats_db_open(-1);
	if (db->conn != NULL)
		PQfinish(db->conn);
	kp_db_forget(db);
	free(db->url);
	free(db);
}

/* One attempt. Returns the status; *broken is set when the connection was
 * lost (and so a retry on a new connection is meaningful). */
static int
kp_db_try(kp_db *db, const char *sql, int nparams, const char *const *params,
          int simple, PGresult **res, int *broken)
{
	PGresult *r = NULL;
	char name[16];
	int rv, prep;
	ExecStatusType st;

	*broken = 0;
	if ((rv = kp_db_connect(db)) != KP_OK) {
		*broken = 1;
		return rv;
	}
	db->queries++;
	if (simple)
		r = PQexec(db->conn, sql);
	else if ((prep = kp_db_prepared(db, sql, nparams, name, sizeof(name),
	                                &r)) > 0)
		r = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL,
		                   0);
	else if (prep == 0)
		r = PQexecParams(db->conn, sql, nparams, NULL, params, NULL,
		                 NULL, 0);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		db->sqlstate[0] = '\0';
		db->message[0] = '\0';
		if (res != NULL)
			*res = r;
		else
			PQclear(r);
		return KP_OK;
	}
	kp_db_note(db, r);
	PQclear(r);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		*broken = 1;
		return KP_EUNAVAIL;
	}
	return kp_db_sqlstate_status(db->sqlstate);
}

static int
kp_db_run(kp_db *db, const char *sql, int nparams, const char *const *params,
          int simple, PGresult **res)
{
	int broken = 0;
	int rv;

	if (res != NULL)
		*res = NULL;
	kp_db_mark(db, 1);
	rv = kp_db_try(db, sql, nparams, params, simple, res, &broken);
	/* A statement outside a transaction on a connection that broke (the
	 * server restarted) is sent once more on a new connection. Inside a
	 * transaction the caller must start over, so we only report. */
	if (rv != KP_OK && broken && !db->in_tx) {
		kp_log_warn("database connection lost, reconnecting");
		rv = kp_db_try(db, sql, nparams, params, simple, res, &broken);
	}
	if (rv != KP_OK && broken)
		db->in_tx = 0;
	kp_db_mark(db, 0);
	return rv;
}

int
kp_db_query(kp_db *db, const char *sql, int nparams, const char *const *params,
            PGresult **res)
{
	return kp_db_run(db, sql, nparams, params, 0, res);
}

int
kp_db_exec(kp_db *db, const char *sql, int nparams, const char *const *params)
{
	return kp_db_run(db, sql, nparams, params, 0, NULL);
}

int
kp_db_script(kp_db *db, const char *sql)
{
	return kp_db_run(db, sql, 0, NULL, 1, NULL);
}

int
kp_db_begin(kp_db *db)
{
	int rv = kp_db_run(db, "BEGIN", 0, NULL, 0, NULL);

	if (rv == KP_OK)
		db->in_tx = 1;
	kp_db_mark(db, 0);
	return rv;
}

int
kp_db_commit(kp_db *db)
{
	int rv = kp_db_run(db, "COMMIT", 0, NULL, 0, NULL);

	db->in_tx = 0;
	kp_db_mark(db, 0);
	return rv;
}

void
kp_db_rollback(kp_db *db)
{
	int broken;

	if (db == NULL || db->conn == NULL ||
	    PQstatus(db->conn) != CONNECTION_OK) {
		if (db != NULL) {
			db->in_tx = 0;
			kp_db_mark(db, 0);
		}
		return;
	}
	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		(void)kp_db_try(db, "ROLLBACK", 0, NULL, 0, NULL, &broken);
	db->in_tx = 0;
	kp_db_mark(db, 0);
}

int
kp_db_ping(kp_db *db)
{
	return kp_db_exec(db, "SELECT 1", 0, NULL);
}

const char *
kp_db_sqlstate(const kp_db *db)
{
	return db->sqlstate;
}

const char *
kp_db_message(const kp_db *db)
{
	return db->message;
}

unsigned long
kp_db_queries(const kp_db *db)
{
	return db->queries;
}

void **
kp_db_rows(const PGresult *res, size_t size, kp_db_row_reader read,
           void **elems)
{
	size_t n = (size_t)PQntuples(res);
	/* the elements start where a pointer array of n + 1 ends, rounded
	 * up so that any row struct is aligned */
	size_t head = ((n + 1) * sizeof(void *) + 15) & ~(size_t)15;
	void **ptrs = calloc(1, head + (n + 1) * size);
	char *base;

	*elems = NULL;
	if (ptrs == NULL)
		return NULL;
	base = (char *)ptrs + head;
	for (size_t i = 0; i < n; i++) {
		ptrs[i] = base + i * size;
		read(ptrs[i], res, (int)i);
	}
	*elems = base;
	return ptrs;
}

char **
kp_db_column(const PGresult *res, int col)
{
	size_t n = (size_t)PQntuples(res);
	char **out = calloc(n + 1, sizeof(*out));

	for (size_t i = 0; out != NULL && i < n; i++)
		out[i] = PQgetvalue(res, (int)i, col);
	return out;
}

void
kp_db_rowset_clear(kp_db_rowset *out)
{
	if (out == NULL)
		return;
	free(out->ptrs);
	PQclear(out->res);
	memset(out, 0, sizeof(*out));
}

int
kp_db_query_rows(kp_db *db, const char *sql, int nparams,
                 const char *const *params, int one, size_t size,
                 kp_db_row_reader read, kp_db_rowset *out)
{
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, sql, nparams, params, &out->res)) != KP_OK)
		return rv;
	out->n = (size_t)PQntuples(out->res);
	if (one && out->n == 0)
		rv = KP_ENOTFOUND;
	else if ((out->ptrs = kp_db_rows(out->res, size, read, &out->rows)) ==
	         NULL)
		rv = KP_EINTERNAL;
	if (rv != KP_OK)
		kp_db_rowset_clear(out);
	return rv;
}

void
kp_db_release(void *alloc, void *res, void *set, size_t size)
{
	free(alloc);
	PQclear(res);
	memset(set, 0, size);
}
