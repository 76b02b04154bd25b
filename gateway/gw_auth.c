/* gw_auth: bearer tokens → caller, then the route's access level. */
#include "gw_auth.h"

#include "kp_err.h"
#include "proto/auth.pb-c.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int
gw_auth_init(gw_state *gw)
{
	(void)gw;
	return KP_OK;
}

/* Copies the caller into the request's own storage. */
static void
gw_auth_set_caller(gw_request *r, const Keyport__Caller *c)
{
	keyport__caller__init(&r->caller);
	snprintf(r->caller_buf[0], sizeof(r->caller_buf[0]), "%s",
		 c->user_id ? c->user_id : "");
	snprintf(r->caller_buf[1], sizeof(r->caller_buf[1]), "%s",
		 c->role ? c->role : "");
	snprintf(r->caller_buf[2], sizeof(r->caller_buf[2]), "%s",
		 c->organization_id ? c->organization_id : "");
	r->caller.user_id = r->caller_buf[0];
	r->caller.role = r->caller_buf[1];
	r->caller.organization_id = r->caller_buf[2];
	r->authenticated = 1;
}

static int
gw_auth_bearer(gw_request *r, gw_response *w)
{
	Keyport__Auth__AuthenticateRequest req =
		KEYPORT__AUTH__AUTHENTICATE_REQUEST__INIT;
	Keyport__Auth__AuthenticateReply *rep = NULL;
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    "Authorization");
	int rv;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		gw_error(w, 401, "UNAUTHENTICATED",
			 "an Authorization: Bearer token is required");
		gw_header(w, "WWW-Authenticate", "Bearer");
		return -1;
	}
	req.token = (char *)(h + 7);
	rv = gw_rpc(r, w, GW_AUTH, "auth.Authenticate", 1, &req.base,
		    &keyport__auth__authenticate_reply__descriptor,
		    (ProtobufCMessage **)&rep);
	if (rv != KP_OK)
		return -1;
	if (rep->caller == NULL || rep->caller->user_id == NULL ||
	    rep->caller->user_id[0] == '\0') {
		gw_error(w, 401, "UNAUTHENTICATED", "invalid token");
		rv = -1;
	} else {
		gw_auth_set_caller(r, rep->caller);
	}
	keyport__auth__authenticate_reply__free_unpacked(rep, NULL);
	return rv == KP_OK ? 0 : -1;
}

int
gw_auth_check(gw_request *r, gw_response *w, gw_access access)
{
	const char *role;

	if (access == GW_PUBLIC)
		return 0;
	if (gw_auth_bearer(r, w) != 0)
		return -1;
	role = r->caller.role;
	if ((access == GW_ADMIN && strcmp(role, "admin") != 0) ||
	    (access == GW_ORG_ADMIN &&
	     strcmp(role, "organization-admin") != 0)) {
		gw_error(w, 403, "FORBIDDEN",
			 "this route is not for the %s role", role);
		return -1;
	}
	return 0;
}
