/* gw_http: the libmicrohttpd side of the gateway. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gw.h"

/* gw_http_start starts the daemon on port with threads pool threads; the
 * state is borrowed and must outlive the daemon. NULL on failure (logged). */
struct MHD_Daemon *gw_http_start(gw_state *gw, int port, int threads);

/* gw_http_uri_bad: whether a raw request target (as it came, before any
 * unescaping) smuggles a NUL ("%00") or a '/' or '\\' inside a path
 * segment ("%2F", "%5C"): such a request is 400 INVALID_PATH. */
int gw_http_uri_bad(const char *uri);

#endif
