/* gw_http: the libmicrohttpd side of the gateway. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gw.h"

/* gw_http_start starts the daemon on port with threads pool threads; the
 * state is borrowed and must outlive the daemon. NULL on failure (logged). */
struct MHD_Daemon *gw_http_start(gw_state *gw, int port, int threads);

#endif
