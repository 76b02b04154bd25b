/* gw_call: one RPC of a route, its failure answered as HTTP. */
#include "gw_call.h"

#include "gw_response.h"
#include "kp_call.h"
#include "kp_err.h"

#include <stdio.h>

int
gw_call(gw_request *r, gw_response *w, const kp_rpc_desc *m,
        const ProtobufCMessage *req, ProtobufCMessage **reply)
{
	gw_service service = (gw_service)m->service;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	int rv;

	call.caller = r->authenticated ? &r->caller : NULL;
	call.request_id = r->request_id;
	rv =
	    kp_call_invoke(r->gw->clients[service], m, &call, req, reply, &res);
	if (rv == KP_OK)
		return KP_OK;
	if (rv == KP_EINTERNAL) {
		/* internals stay in the service's log, under this request id */
		gw_error(w, 500, "INTERNAL", "internal error (request %s)",
		         r->request_id);
		return rv;
	}
	gw_error(w, kp_err_http(rv), res.code, "%s", res.message);
	if (rv == KP_ERATELIMIT) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u",
		         res.retry_after > 0 ? res.retry_after : 1);
		gw_header(w, "Retry-After", ra);
	}
	return rv;
}
