/* gw_reqlog: the request log, one JSON line per answered request at info
 * (warn for a 5xx).
 *
 * Fields (keys of the line, docs/operations.md): requestId, method, route
 * (the pattern, never the raw path), status, code (of an error answer),
 * latencyMs, bytes (of the body sent), userId / organizationId (an
 * authenticated caller), licenseId (when the route knows it), hops (the
 * RPCs made: method, code, ms) and clientAddr: the socket's peer, or the
 * client X-Forwarded-For names when the peer is one of
 * KEYPORT_TRUSTED_PROXIES. Never a body, a header's value, a token or a
 * key: only these fields.
 */
#ifndef GW_REQLOG_H
#define GW_REQLOG_H

#include "gw.h"

/* gw_reqlog_init reads KEYPORT_TRUSTED_PROXIES. Returns 0, or -1 after
 * logging an entry that is no address or CIDR. */
int gw_reqlog_init(void);

/* gw_reqlog_trusted says whether a textual address is a trusted proxy
 * (for tests). */
int gw_reqlog_trusted(const char *addr);

/* gw_reqlog_client_addr writes the client's address of conn into out. */
void gw_reqlog_client_addr(struct MHD_Connection *conn, char *out, size_t n);

/* gw_reqlog_write logs r's answer w: its route pattern (NULL: unmatched),
 * the latency in seconds and the RPC hops (stolen, may be NULL). */
void gw_reqlog_write(const gw_request *r, const gw_response *w,
                     const char *route, double seconds, json_t *hops);

#endif
