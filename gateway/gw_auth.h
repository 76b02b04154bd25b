/* gw_auth: who is calling. Verifies the bearer token of a request and fills
 * gw_request.caller, then checks the route's access level. */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "gw.h"

/* gw_auth_init prepares verification (keys, caches). Returns a kp_status. */
int gw_auth_init(gw_state *gw);

/* gw_auth_check authenticates r for a route of the given access level.
 * Returns 0 when the request may proceed; otherwise writes 401 or 403 into
 * w and returns -1. GW_PUBLIC routes always proceed (a token, when sent,
 * is still verified so handlers may use the caller). */
int gw_auth_check(gw_request *r, gw_response *w, gw_access access);

#endif
