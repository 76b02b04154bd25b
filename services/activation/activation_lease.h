/* activation_lease: the lease sweep. An online activation of a license with
 * leaseSeconds > 0 that is not seen (activation or heartbeat) for longer
 * than the lease is released: deactivated_at becomes the moment its lease
 * ran out. Besides the lazy releases (activation_seat.c: at activation time
 * under the license lock; activation_heartbeat.c: on the lapsed
 * activation's own heartbeat), a
 * thread of every activation process runs act_lease_sweep every
 * KEYPORT_LEASE_SWEEP_MS. Replicas may sweep at once: rows are claimed with
 * FOR UPDATE SKIP LOCKED and the release is idempotent. See docs/design.md
 * "Leases".
 */
#ifndef ACTIVATION_LEASE_H
#define ACTIVATION_LEASE_H

#include "kp_db.h"
#include "kp_rpc.h"
#include "kp_service.h"

#include <stdint.h>

typedef struct act_sweeper act_sweeper;

/* act_sweeper_start reads KEYPORT_LEASE_SWEEP_MS (default 5000, 0 = no
 * sweep) and starts the sweep thread of svc, with a database connection of
 * its own. On KP_OK *out owns the sweeper (NULL when disabled; stop it with
 * act_sweeper_stop before svc's clients close). KP_EINVAL for a bad value. */
int act_sweeper_start(kp_service *svc, act_sweeper **out);

/* act_sweeper_stop wakes and joins the thread and frees; NULL-safe. */
void act_sweeper_stop(act_sweeper *s);

/* act_lease_sweep releases the activations whose lease ended before now:
 * candidates by the activation rows' lease_seconds, confirmed and refreshed
 * with the licenses' current lease (license.GetLicenses through license, an
 * internal call), then released in one UPDATE. *released (may be NULL)
 * receives the number released. Returns a kp_status; nothing is released
 * when the license service cannot be asked. */
int act_lease_sweep(kp_db *db, kp_rpc_client *license, int64_t now,
                    int64_t *released);

#endif
