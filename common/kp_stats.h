/* kp_stats: Keyport's own metrics (kp_metrics.h families), fed by small
 * hooks in the RPC server and client (kp_rpc.c), the database connection
 * (kp_db.c) and the processes' start-up (kp_service.c, gw_main.c).
 *
 * Every process: keyport_build_info, process_* figures from /proc/self,
 * RPC RED figures server side (keyport_rpc_server_*) and client side
 * (keyport_rpc_client_*, keyport_rpc_errors_total), NNG connections per
 * peer (keyport_rpc_peer_*); the services: the database pool
 * (keyport_db_*); activation: keyport_activation_outcomes_total. The
 * gateway adds its HTTP figures (gw_metrics.c). docs/operations.md lists
 * them all.
 *
 * The RPCs a thread makes between kp_stats_hops_begin and
 * kp_stats_hops_take are remembered too: the gateway's request log lists
 * them as the request's service hops.
 */
#ifndef KP_STATS_H
#define KP_STATS_H

#include "kp_rpc.h"

#include <jansson.h>

/* kp_stats_init registers the process-wide families (build information,
 * process figures). Idempotent; thread-safe after the first call. */
void kp_stats_init(void);

/* kp_stats_serve starts the metrics listener of process ("gateway", or a
 * service name) on KEYPORT_METRICS_ADDR and the process's
 * KEYPORT_<PROCESS>_METRICS_PORT (0: none). Returns 0: a port that cannot
 * be bound is logged, and the process serves without metrics. */
int kp_stats_serve(const char *process);

/* kp_stats_now returns a monotonic time in seconds. */
double kp_stats_now(void);

/* Server side: one request of method answered with kp status and, on a
 * failure, its API code (may be NULL), in seconds. in_flight moves the
 * requests being served by +1 / -1. */
void kp_stats_rpc_served(const char *method, int status, const char *code,
                         double seconds);
void kp_stats_rpc_in_flight(int delta);

/* Client side: one call to service's method, its status and seconds. */
void kp_stats_rpc_called(const char *service, const char *method, int status,
                         double seconds);

/* A client opened (its connections are counted per peer) or about to be
 * closed (call before freeing it). */
void kp_stats_rpc_client_add(kp_rpc_client *c);
void kp_stats_rpc_client_remove(kp_rpc_client *c);

/* The database connections: opened (+1) or closed (-1); in use (a
 * statement runs or a transaction is open: +1 / -1); waiting for the
 * database to accept a connection (+1 / -1); a reconnection after a loss,
 * ok or not. */
void kp_stats_db_open(int delta);
void kp_stats_db_in_use(int delta);
void kp_stats_db_waiting(int delta);
void kp_stats_db_reconnect(int ok);

/* kp_stats_hops_begin starts remembering this thread's RPCs;
 * kp_stats_hops_take returns them as a JSON array of {"method","code",
 * "ms"} (new reference, NULL when none) and stops. */
void kp_stats_hops_begin(void);
json_t *kp_stats_hops_take(void);

#endif
