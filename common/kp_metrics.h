/* kp_metrics: counters, gauges and histograms with labels, rendered in the
 * Prometheus text format (version 0.0.4), and the listener that serves them.
 *
 * A family is registered once (a name, a type, a help text, its label
 * names) and lives as long as the process; its series are made on first
 * use from their label values (copied). Every operation is thread-safe.
 * Collectors are called at each render to refresh figures read elsewhere
 * (the process's /proc figures, connection counts).
 *
 * The listener is NNG's HTTP server: every process links NNG already (the
 * five services do not link libmicrohttpd), it writes nothing to stderr,
 * and it serves on NNG's own threads; it answers GET /metrics only. It
 * listens on its own port (KEYPORT_<PROCESS>_METRICS_PORT on
 * KEYPORT_METRICS_ADDR), never on the public API port.
 */
#ifndef KP_METRICS_H
#define KP_METRICS_H

#include <stddef.h>

typedef enum kp_metric_type {
	KP_METRIC_COUNTER,
	KP_METRIC_GAUGE,
	KP_METRIC_HISTOGRAM,
} kp_metric_type;

typedef struct kp_metric kp_metric;

/* The label values of one series, in the order of the family's label
 * names: kp_metrics_add(m, KP_LABELS("GET", "/v1/x"), 1). */
#define KP_LABELS(...) ((const char *const[]){__VA_ARGS__})

/* Latency buckets in seconds (1 ms to 10 s), the default of histograms. */
extern const double kp_metrics_latency_bounds[];
extern const size_t kp_metrics_latency_nbounds;

/* kp_metrics_family registers a family: name (static), help (static),
 * labels a comma-separated list of label names ("method,code") or NULL,
 * bounds (histograms; copied; NULL: kp_metrics_latency_bounds). The same
 * name registered again returns the first family. NULL when out of room
 * (64 families) or memory; the operations below accept NULL and do
 * nothing. Never freed. */
kp_metric *kp_metrics_family(const char *name, kp_metric_type type,
                             const char *help, const char *labels,
                             const double *bounds, size_t nbounds);

/* kp_metrics_add adds v to a counter or a gauge (v may be negative for a
 * gauge); values as many as the family has labels (NULL when none). */
void kp_metrics_add(kp_metric *m, const char *const *values, double v);

/* kp_metrics_set sets a gauge, or a counter that a collector mirrors from
 * a count kept elsewhere (the process's CPU seconds). */
void kp_metrics_set(kp_metric *m, const char *const *values, double v);

/* kp_metrics_observe records one observation of a histogram. */
void kp_metrics_observe(kp_metric *m, const char *const *values, double v);

/* kp_metrics_value returns a counter's or gauge's value (0 when the series
 * does not exist); for a histogram, its count. For tests. */
double kp_metrics_value(kp_metric *m, const char *const *values);

/* kp_metrics_collector registers fn(arg), called before each render (not
 * under any lock of this module). At most 16. Returns 0 or -1. */
int kp_metrics_collector(void (*fn)(void *arg), void *arg);

/* kp_metrics_render runs the collectors and returns the exposition text of
 * every family, in registration order (malloc'd, the caller frees), its
 * length in *len; NULL when out of memory. */
char *kp_metrics_render(size_t *len);

/* kp_metrics_serve starts the listener on http://addr:port/metrics (port 0:
 * none, returns 0). Returns 0, or -1 after logging why (the port is taken,
 * a bad address). Call once, after signals are blocked. */
int kp_metrics_serve(const char *addr, int port);

/* kp_metrics_stop stops the listener; safe when none runs. */
void kp_metrics_stop(void);

#endif
