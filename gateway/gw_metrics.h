/* gw_metrics: request counters, latency histograms and RPC error counters,
 * rendered in the Prometheus text format for GET /metrics. */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>

/* gw_metrics_init sizes the tables for nroutes routes (plus "unmatched").
 * Returns 0 or -1 (out of memory). Call once before serving. */
int gw_metrics_init(int nroutes);

/* gw_metrics_request records one answered request: route index (-1 for
 * unmatched), HTTP status and latency in seconds. Thread-safe. */
void gw_metrics_request(int route, int status, double seconds);

/* gw_metrics_rpc_error counts one failed RPC to service with kp status.
 * Thread-safe. */
void gw_metrics_rpc_error(int service, int status);

/* gw_metrics_render returns the exposition text (malloc'd, caller frees)
 * and its length in *len; NULL when out of memory. */
char *gw_metrics_render(size_t *len);

#endif
