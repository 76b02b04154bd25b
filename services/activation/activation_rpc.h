/* activation_rpc: the activation service's RPC methods and state. */
#ifndef ACTIVATION_RPC_H
#define ACTIVATION_RPC_H

#include "activation_lcache.h"
#include "activation_lease.h"
#include "activation_seen.h"
#include "activation_token.h"
#include "kp_rpc.h"
#include "rpc/kp_contract.h"

#include <stddef.h>

/* The service's state (kp_service_set_app), made by act_init. */
typedef struct act_app {
	act_signer *signer;
	act_lcache *lcache;   /* license keys seen by heartbeats */
	act_seen *seen;       /* batched lastSeenAt writes */
	act_sweeper *sweeper; /* NULL when KEYPORT_LEASE_SWEEP_MS=0 */
} act_app;

/* One handler per method of the generated contract (rpc/kp_contract.h). */
extern const kp_rpc_handler act_handlers[KP_M_ACTIVATION_COUNT];

#endif
