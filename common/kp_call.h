/* kp_call: calling a method of the generated RPC contract.
 *
 * The method's descriptor (rpc/kp_contract.h, e.g. KP_RPC_LICENSE_GET_LICENSE)
 * gives its name, whether a resend is safe and its reply message, so a
 * caller never pairs a method-name string with a descriptor by hand. The
 * request must be the method's request message (checked: another message
 * is refused with KP_EINTERNAL and logged, never sent).
 */
#ifndef KP_CALL_H
#define KP_CALL_H

#include "kp_rpc.h"

/* kp_call_invoke calls m on c (a client of m's service). call gives the
 * caller, request id and timeout (NULL: anonymous, this thread's request
 * id, the client's default); its method and idempotent fields are ignored.
 * req may be NULL for an empty request. On KP_OK and when reply is not
 * NULL, *reply owns the unpacked reply (free with
 * protobuf_c_message_free_unpacked); otherwise *reply is NULL. res is
 * required and tells the outcome. Returns res->status. */
int kp_call_invoke(kp_rpc_client *c, const kp_rpc_desc *m,
                   const kp_rpc_call *call, const ProtobufCMessage *req,
                   ProtobufCMessage **reply, kp_rpc_result *res);

#endif
