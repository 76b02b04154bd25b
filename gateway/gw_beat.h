/* gw_beat: the gateway's heartbeats to the activation service, coalesced.
 *
 * Heartbeats that arrive while KEYPORT_HEARTBEAT_IN_FLIGHT heartbeat calls
 * are already in flight wait in a queue; when a call returns, everything
 * queued (up to KEYPORT_HEARTBEAT_BATCH) leaves in one
 * activation.HeartbeatBatch envelope, answered beat by beat. Nothing waits
 * for a timer: a heartbeat that finds a free slot goes at once, alone, as
 * activation.Heartbeat, so a quiet gateway adds no latency; under load one
 * hop (its thread switches, its TLS records, its PostgreSQL round trip)
 * carries many heartbeats.
 *
 * Consistency: a beat is read by the service after the batch left, which
 * is after the beat arrived here, so it sees every license change whose
 * call returned before the beat arrived (the rule of
 * activation::heartbeat_sees_every_license_change_at_once). A batch is
 * idempotent like a heartbeat: resent to another replica when its replica
 * dies. One beat's failure (an unknown activation: 404) is its own.
 * A batch carries the request id of the heartbeat that sent it: the
 * service's log lines of its other beats are under that id.
 */
#ifndef GW_BEAT_H
#define GW_BEAT_H

#include "gw.h"
#include "proto/activation.pb-c.h"

/* gw_beat_call sends heartbeat req for r (alone or in a batch) and waits
 * for its answer, like gw_call with KP_RPC_ACTIVATION_HEARTBEAT: on KP_OK
 * *rep is owned by the caller; on failure the error response is written
 * into w and the status returned. req must stay valid until it returns. */
int gw_beat_call(gw_request *r, gw_response *w,
                 const Keyport__Activation__HeartbeatRequest *req,
                 Keyport__Activation__ActivationReply **rep);

#endif
