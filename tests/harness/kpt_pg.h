/* kpt_pg: a throw-away PostgreSQL for the unit tests of a service's store
 * (no services, no gateway: kpt.h starts the whole stack).
 *
 * KPT_PG_SUITE() in one test file of a unit-test binary starts a private
 * cluster (scripts/pg.sh, PG_FAST=1) before the first test and stops and
 * removes it after the last; its URL reaches Criterion's test processes
 * through the environment (KPT_PG_URL). Each test opens its own connection
 * with kpt_pg_open, which applies the service's migrations first (the same
 * kp_migrate the service runs at start-up), and keeps to rows of its own
 * (fresh ids from kpt_pg_uuid), so tests need no cleanup between them.
 */
#ifndef KPT_PG_H
#define KPT_PG_H

#include "kp_db.h"
#include "kp_migrate.h"

#include <stddef.h>

/* kpt_pg_start starts the cluster and sets KPT_PG_DIR and KPT_PG_URL;
 * exits the binary with a message when it cannot. */
void kpt_pg_start(void);

/* kpt_pg_stop stops the cluster and removes its directory (kept when
 * KPT_KEEP=1). */
void kpt_pg_stop(void);

/* kpt_pg_open connects to the cluster pinned to schema and applies the
 * migrations (borrowed). The caller closes it with kp_db_close. Fails the
 * test when it cannot. */
kp_db *kpt_pg_open(const char *schema, const kp_migration *m, size_t n);

/* kpt_pg_uuid writes a fresh random UUID (text form) into out and returns
 * out. */
char *kpt_pg_uuid(char out[37]);

/* The PRE_ALL hook of a store test binary (in one of its test files); the
 * POST_ALL hook that stops the cluster is kpt_pg.c's (a no-op in binaries
 * that did not start one). */
#define KPT_PG_SUITE()                                                         \
	ReportHook(PRE_ALL)(struct criterion_test_set * kpt_pg_set_)           \
	{                                                                      \
		(void)kpt_pg_set_;                                             \
		kpt_pg_start();                                                \
	}

#endif
