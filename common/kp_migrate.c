/* kp_migrate: apply embedded migrations under an advisory lock. */
#include "kp_migrate.h"

#include "kp_err.h"
#include "kp_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kp_migrate_lock_sql =
	"SELECT pg_advisory_xact_lock(hashtext('keyport.migrate.' || $1))";
static const char *kp_migrate_applied_sql =
	"SELECT 1 FROM schema_migrations WHERE version = $1::int";
static const char *kp_migrate_record_sql =
	"INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)";

/* Schema names come from the service's code, never from input; they are
 * still checked so that only [a-z_] can reach the DDL below. */
static int
kp_migrate_name_ok(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return 0;
	return 1;
}

int
kp_migrate(kp_db *db, const char *schema, const kp_migration *m, size_t n)
{
	char ddl[256];
	char ver[16];
	int rv = KP_EINVAL;
	int applied = 0;
	PGresult *r = NULL;

	if (!kp_migrate_name_ok(schema))
		goto out;
	if ((rv = kp_db_begin(db)) != KP_OK)
		goto out;
	{
		const char *p[] = {schema};
		if ((rv = kp_db_exec(db, kp_migrate_lock_sql, 1, p)) != KP_OK)
			goto out;
	}
	snprintf(ddl, sizeof(ddl),
		 "CREATE SCHEMA IF NOT EXISTS %s;"
		 "CREATE TABLE IF NOT EXISTS %s.schema_migrations ("
		 " version int PRIMARY KEY, name text NOT NULL,"
		 " applied_at timestamptz NOT NULL DEFAULT now())",
		 schema, schema);
	if ((rv = kp_db_script(db, ddl)) != KP_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *p[] = {ver, m[i].name};
		snprintf(ver, sizeof(ver), "%d", m[i].version);
		if ((rv = kp_db_query(db, kp_migrate_applied_sql, 1, p, &r)) !=
		    KP_OK)
			goto out;
		int done = PQntuples(r) > 0;
		PQclear(r);
		r = NULL;
		if (done)
			continue;
		if ((rv = kp_db_script(db, m[i].sql)) != KP_OK) {
			kp_log_error("migration %s of schema %s failed: %s",
				     m[i].name, schema, kp_db_message(db));
			goto out;
		}
		if ((rv = kp_db_exec(db, kp_migrate_record_sql, 2, p)) != KP_OK)
			goto out;
		applied++;
	}
	if ((rv = kp_db_commit(db)) != KP_OK)
		goto out;
	if (applied > 0)
		kp_log_info("schema %s: applied %d migration(s)", schema,
			    applied);
out:
	PQclear(r);
	if (rv != KP_OK) {
		if (rv != KP_EINVAL || kp_db_message(db)[0] != '\0')
			kp_log_error("migrations of schema %s failed: %s",
				     schema ? schema : "?", kp_db_message(db));
		kp_db_rollback(db);
	}
	return rv;
}
