/* gw_metrics: the gateway's HTTP figures (RED per route), as kp_metrics
 * families; served with every other family of the process on its metrics
 * port (kp_stats_serve) and, with KEYPORT_METRICS_ON_API=1, on the API
 * port's GET /metrics too. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>

/* gw_metrics_init registers the families. Returns 0 or -1 (out of
 * memory). Call once before serving. */
int gw_metrics_init(int nroutes);

/* gw_metrics_request records one answered request: route index (-1 for
 * unmatched), HTTP status, the error code of an error answer (NULL or ""
 * when none) and latency in seconds. Thread-safe. */
void gw_metrics_request(int route, int status, const char *code,
                        double seconds);

/* gw_metrics_render returns the exposition text of every family of the
 * process (malloc'd, caller frees) and its length in *len; NULL when out
 * of memory. */
char *gw_metrics_render(size_t *len);

#endif
