/* kp_service: the one main() of every Keyport service.
 *
 * A service is a table: its name (which is also its PostgreSQL schema), its
 * embedded migrations and one handler per method of its generated contract
 * (rpc/kp_contract.h, from the service block of proto/<name>.proto), plus
 * optional start-up and shut-down hooks. A contract method without a
 * handler stops the start, naming it; test-only methods are served only
 * with KEYPORT_TEST_CLOCK=1. kp_service_main does the rest the same way for all
 * five: blocks SIGINT/SIGTERM before any library starts a thread, waits for the
 * database, applies the migrations under an advisory lock, runs init, serves
 * RPC with KEYPORT_WORKERS workers (each with its own database connection),
 * and on a signal stops in order. The container probes send one health RPC
 * to the service's own address: `--probe ready` (or `--check`) exits 0 when
 * the service answers with its database reachable, `--probe live` when it
 * answers at all (the database down included).
 */
#ifndef KP_SERVICE_H
#define KP_SERVICE_H

#include "kp_db.h"
#include "kp_migrate.h"
#include "kp_rpc.h"

#include <stddef.h>

typedef struct kp_service kp_service;

typedef struct kp_service_def {
	const char *name; /* "auth", "org", ...: schema and RPC prefix */
	const kp_migration *migrations;
	size_t nmigrations;
	/* handlers[KP_M_<NAME>_...]: one per method of the contract, in its
	 * order (a designated initializer per method); nhandlers is the
	 * table's KP_M_<NAME>_COUNT. */
	const kp_rpc_handler *handlers;
	size_t nhandlers;
	/* Once, after migrations, with a connection of its own (borrowed for
	 * the call). Sets the service's state with kp_service_set_app.
	 * Returns a kp_status; a failure stops the start. */
	int (*init)(kp_service *svc, kp_db *db);
	/* Once, after the last request; frees what init made. */
	void (*fini)(kp_service *svc);
} kp_service_def;

/* kp_service_main runs the service described by def; returns the process
 * exit status. */
int kp_service_main(const kp_service_def *def, int argc, char **argv);

/* The service's own state, set by init and read by handlers through
 * kp_service_of(ctx). Ownership stays with the service's init/fini. */
void kp_service_set_app(kp_service *svc, void *app);
void *kp_service_app(const kp_service *svc);

/* kp_service_crash_point is a test hook: with KEYPORT_TEST_CLOCK=1 and
 * KEYPORT_TEST_CRASH_FILE naming a file whose text is point, the first
 * process to get there deletes the file and kills itself with SIGKILL (a
 * crash placed between a commit and its reply). Otherwise it does
 * nothing. */
void kp_service_crash_point(const char *point);

/* kp_service_of returns the service serving ctx. */
kp_service *kp_service_of(const kp_rpc_ctx *ctx);

/* kp_service_db returns the database connection of the worker serving ctx
 * (borrowed; valid during the handler call). */
kp_db *kp_service_db(const kp_rpc_ctx *ctx);

/* kp_service_client returns the RPC client of another service ("auth",
 * "org", "license", "activation", "release"), opened at start-up from
 * KEYPORT_<NAME>_URL; NULL for an unknown name. Borrowed, thread-safe. */
kp_rpc_client *kp_service_client(const kp_service *svc, const char *name);

/* kp_service_invoke calls method m of the contract (rpc/kp_contract.h,
 * e.g. KP_RPC_LICENSE_GET_LICENSE) on its service, passing on the caller
 * and request id of ctx; name, resend safety and reply message come from
 * m. On KP_OK and when reply is not NULL, *reply owns m's reply. On failure
 * the outcome is also set as ctx's answer (so a handler can just return the
 * status). */
int kp_service_invoke(kp_rpc_ctx *ctx, const kp_rpc_desc *m,
                      const ProtobufCMessage *req, ProtobufCMessage **reply);

/* kp_service_invoke_as is kp_service_invoke with another caller: NULL calls
 * as the service itself (an internal caller, not subject to the portal
 * user's visibility). */
int kp_service_invoke_as(kp_rpc_ctx *ctx, const kp_rpc_desc *m,
                         const Keyport__Caller *caller,
                         const ProtobufCMessage *req, ProtobufCMessage **reply);

/* kp_service_db_fail answers a failed database call of a handler: it logs
 * what (a static description such as "license.UpdateLicense: update"), the
 * status and the SQLSTATE of the worker's connection (never the server's
 * message, which may quote input), and sets ctx's answer to rv with a fixed
 * sentence for rv ("the database is unavailable, try again", "a conflicting
 * record exists", ...): libpq's own text never reaches a caller. code may
 * name the API error code (NULL: the status's default). Returns rv. */
int kp_service_db_fail(kp_rpc_ctx *ctx, int rv, const char *code,
		       const char *what);

/* kp_service_db_sentence returns the fixed sentence kp_service_db_fail
 * answers for a status (static). */
const char *kp_service_db_sentence(int status);

/* kp_service_page checks a list request's page (>= 1) and limit (1 to
 * 100): KP_OK with *offset the first row of the page, or the answered 400
 * INVALID_INPUT naming both. */
int kp_service_page(kp_rpc_ctx *ctx, int32_t page, int32_t limit,
                    int64_t *offset);

#endif
