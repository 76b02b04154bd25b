/* gw_http: the libmicrohttpd side of the gateway. */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gw.h"

/* gw_http_start starts the daemon on port with threads pool threads, with
 * TLS when KEYPORT_TLS_CERT and KEYPORT_TLS_KEY are set; the state is
 * borrowed and must outlive the daemon. NULL on failure (logged). */
struct MHD_Daemon *gw_http_start(gw_state *gw, int port, int threads);

/* gw_http_reload serves the certificate and key files again (SIGHUP): a
 * new daemon on d's listening socket, then d stopped. Returns the daemon
 * now serving: d itself when TLS is off or the new files were refused
 * (logged; the old certificate stays). */
struct MHD_Daemon *gw_http_reload(gw_state *gw, struct MHD_Daemon *d, int port,
                                  int threads);

/* gw_http_uri_bad: whether a raw request target (as it came, before any
 * unescaping) smuggles a NUL ("%00") or a '/' or '\\' inside a path
 * segment ("%2F", "%5C"): such a request is 400 INVALID_PATH. */
int gw_http_uri_bad(const char *uri);

#endif
