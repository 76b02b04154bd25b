/* kp_call: kp_rpc_invoke with what the contract says about the method. */
#include "kp_call.h"

#include "kp_err.h"
#include "kp_log.h"

#include <stdio.h>
#include <string.h>

int
kp_call_invoke(kp_rpc_client *c, const kp_rpc_desc *m, const kp_rpc_call *call,
               const ProtobufCMessage *req, ProtobufCMessage **reply,
               kp_rpc_result *res)
{
	kp_rpc_call k = {0};

	if (reply != NULL)
		*reply = NULL;
	if (req != NULL && req->descriptor != m->request) {
		kp_log_error("%s called with a %s instead of a %s", m->name,
		             req->descriptor->name, m->request->name);
		memset(res, 0, sizeof(*res));
		res->status = KP_EINTERNAL;
		snprintf(res->code, sizeof(res->code), "%s",
		         kp_err_code(KP_EINTERNAL));
		snprintf(res->message, sizeof(res->message), "%s",
		         "wrong request message");
		return res->status;
	}
	if (call != NULL)
		k = *call;
	k.method = m->name;
	k.idempotent = m->idempotent;
	return kp_rpc_invoke(c, &k, req, reply != NULL ? m->reply : NULL, reply,
	                     res);
}
