/* gw_metrics: fixed tables under one mutex; rendering walks them. */
#include "gw_metrics.h"

#include "gw.h"
#include "gw_router.h"
#include "kp_err.h"
#include "kp_services.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double gw_metrics_bounds[] = {0.001, 0.0025, 0.005, 0.01,
					   0.025, 0.05,   0.1,   0.25,
					   0.5,   1,      2.5,   5};
#define GW_NBOUNDS  (sizeof(gw_metrics_bounds) / sizeof(gw_metrics_bounds[0]))
#define GW_NSTATUS  16 /* distinct statuses remembered per route */

typedef struct gw_metrics_route {
	int statuses[GW_NSTATUS];
	unsigned long counts[GW_NSTATUS];
	unsigned long buckets[GW_NBOUNDS];
	unsigned long total;
	double sum;
} gw_metrics_route;

static pthread_mutex_t gw_metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static gw_metrics_route *gw_metrics_routes; /* [nroutes + 1], last unmatched */
static int gw_metrics_n;
static unsigned long gw_metrics_rpc[GW_NSERVICES][KP_STATUS_COUNT];

int
gw_metrics_init(int nroutes)
{
	gw_metrics_routes = calloc((size_t)nroutes + 1,
				   sizeof(*gw_metrics_routes));
	gw_metrics_n = nroutes;
	return gw_metrics_routes ? 0 : -1;
}

void
gw_metrics_request(int route, int status, double seconds)
{
	gw_metrics_route *m;

	if (gw_metrics_routes == NULL)
		return;
	if (route < 0 || route >= gw_metrics_n)
		route = gw_metrics_n;
	m = &gw_metrics_routes[route];
	pthread_mutex_lock(&gw_metrics_mu);
	for (int i = 0; i < GW_NSTATUS; i++) {
		if (m->statuses[i] == status || m->statuses[i] == 0) {
			m->statuses[i] = status;
			m->counts[i]++;
			break;
		}
	}
	for (size_t b = 0; b < GW_NBOUNDS; b++)
		if (seconds <= gw_metrics_bounds[b])
			m->buckets[b]++;
	m->total++;
	m->sum += seconds;
	pthread_mutex_unlock(&gw_metrics_mu);
}

void
gw_metrics_rpc_error(int service, int status)
{
	if (service < 0 || service >= GW_NSERVICES || !kp_err_valid(status))
		return;
	pthread_mutex_lock(&gw_metrics_mu);
	gw_metrics_rpc[service][status]++;
	pthread_mutex_unlock(&gw_metrics_mu);
}

typedef struct gw_buf {
	char *p;
	size_t len, cap;
	int failed;
} gw_buf;

static void __attribute__((format(printf, 2, 3)))
gw_buf_printf(gw_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (b->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2);
		if (np == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap *= 2;
	}
}

static void
gw_metrics_labels(int i, const char **method, const char **route)
{
	const gw_route *rt = i < gw_metrics_n ? gw_router_at(i) : NULL;

	*method = rt ? rt->method : "";
	*route = rt ? rt->pattern : "unmatched";
}

char *
gw_metrics_render(size_t *len)
{
	gw_buf b = {malloc(16384), 0, 16384, 0};
	const char *method, *route;

	if (b.p == NULL)
		return NULL;
	pthread_mutex_lock(&gw_metrics_mu);
	gw_buf_printf(&b, "# HELP keyport_http_requests_total HTTP requests "
			  "answered, by route and status.\n"
			  "# TYPE keyport_http_requests_total counter\n");
	for (int i = 0; i <= gw_metrics_n; i++) {
		gw_metrics_route *m = &gw_metrics_routes[i];
		gw_metrics_labels(i, &method, &route);
		for (int s = 0; s < GW_NSTATUS && m->statuses[s]; s++)
			gw_buf_printf(&b,
				      "keyport_http_requests_total{method=\"%s\","
				      "route=\"%s\",status=\"%d\"} %lu\n",
				      method, route, m->statuses[s],
				      m->counts[s]);
	}
	gw_buf_printf(&b, "# HELP keyport_http_request_duration_seconds "
			  "Time from request to answer, by route.\n"
			  "# TYPE keyport_http_request_duration_seconds "
			  "histogram\n");
	for (int i = 0; i <= gw_metrics_n; i++) {
		gw_metrics_route *m = &gw_metrics_routes[i];
		if (m->total == 0)
			continue;
		gw_metrics_labels(i, &method, &route);
		for (size_t k = 0; k < GW_NBOUNDS; k++)
			gw_buf_printf(&b,
				      "keyport_http_request_duration_seconds_"
				      "bucket{method=\"%s\",route=\"%s\","
				      "le=\"%g\"} %lu\n",
				      method, route, gw_metrics_bounds[k],
				      m->buckets[k]);
		gw_buf_printf(&b,
			      "keyport_http_request_duration_seconds_bucket{"
			      "method=\"%s\",route=\"%s\",le=\"+Inf\"} %lu\n"
			      "keyport_http_request_duration_seconds_sum{"
			      "method=\"%s\",route=\"%s\"} %.6f\n"
			      "keyport_http_request_duration_seconds_count{"
			      "method=\"%s\",route=\"%s\"} %lu\n",
			      method, route, m->total, method, route, m->sum,
			      method, route, m->total);
	}
	gw_buf_printf(&b, "# HELP keyport_rpc_errors_total Failed RPCs from "
			  "the gateway, by service and status.\n"
			  "# TYPE keyport_rpc_errors_total counter\n");
	for (int s = 0; s < GW_NSERVICES; s++)
		for (int k = 1; k < KP_STATUS_COUNT; k++)
			gw_buf_printf(&b,
			              "keyport_rpc_errors_total{service=\"%s\","
			              "code=\"%s\"} %lu\n",
			              kp_services_name(s), kp_err_code(k),
			              gw_metrics_rpc[s][k]);
	pthread_mutex_unlock(&gw_metrics_mu);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
