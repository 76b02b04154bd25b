/* gw_call: calling a service for a route, errors answered in the response. */
#ifndef GW_CALL_H
#define GW_CALL_H

#include "gw.h"

/* gw_call calls method m of the contract (rpc/kp_contract.h, e.g.
 * KP_RPC_AUTH_LOGIN) on its service with the request's caller and request
 * id. On KP_OK and when reply is not NULL, *reply (m's reply message) is
 * owned by the caller (free with protobuf_c_message_free_unpacked). On
 * failure the error response is already written into w (status from the
 * kp_err table, the service's code and message, Retry-After when rate
 * limited) and the status is returned. The contract's idempotent flag lets
 * NNG resend the call (to another replica) when no answer came within a
 * third of the timeout: only methods whose second answer is the first
 * (reads, heartbeats) have it. A resent delete would answer 404 for what
 * the first attempt deleted, and a resent activation 200 instead of 201. */
int gw_call(gw_request *r, gw_response *w, const kp_rpc_desc *m,
            const ProtobufCMessage *req, ProtobufCMessage **reply);

#endif
