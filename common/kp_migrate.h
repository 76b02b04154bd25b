/* kp_migrate: numbered SQL migrations of one service's schema.
 *
 * Migrations are the files services/<name>/sql/NNN_what.sql, embedded into
 * the service binary at build time (scripts/embed-sql.sh), applied at start-
 * up in one transaction and recorded in <schema>.schema_migrations. A
 * transaction-scoped advisory lock keyed by the schema name makes replicas
 * that start together apply them once: the second waits, then finds nothing
 * left to do.
 */
#ifndef KP_MIGRATE_H
#define KP_MIGRATE_H

#include "kp_db.h"

#include <stddef.h>

typedef struct kp_migration {
	int version;      /* NNN of the file name, strictly increasing */
	const char *name; /* the file name, for the record and the log */
	const char *sql;  /* the whole file */
} kp_migration;

/* kp_migrate creates schema when missing and applies, in order, every
 * migration whose version is not recorded yet. All or nothing: on failure
 * the transaction is rolled back and the status returned (the log names the
 * failing file). The migrations array is borrowed. */
int kp_migrate(kp_db *db, const char *schema, const kp_migration *m,
	       size_t n);

#endif
