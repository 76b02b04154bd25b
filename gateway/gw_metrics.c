/* gw_metrics: per-route request counts, error codes and latency. */
#include "gw_metrics.h"

#include "gw.h"
#include "gw_router.h"
#include "kp_metrics.h"

#include <stdio.h>

static kp_metric *gw_metrics_req, *gw_metrics_err, *gw_metrics_dur;
static int gw_metrics_n;

int
gw_metrics_init(int nroutes)
{
	gw_metrics_n = nroutes;
	gw_metrics_req =
	    kp_metrics_family("keyport_http_requests_total", KP_METRIC_COUNTER,
	                      "HTTP requests answered, by route and status.",
	                      "method,route,status", NULL, 0);
	gw_metrics_err = kp_metrics_family(
	    "keyport_http_errors_total", KP_METRIC_COUNTER,
	    "HTTP error answers (4xx and 5xx), by route and error code.",
	    "method,route,code", NULL, 0);
	gw_metrics_dur = kp_metrics_family(
	    "keyport_http_request_duration_seconds", KP_METRIC_HISTOGRAM,
	    "Time from request to answer, by route.", "method,route", NULL, 0);
	return gw_metrics_req && gw_metrics_err && gw_metrics_dur ? 0 : -1;
}

void
gw_metrics_request(int route, int status, const char *code, double seconds)
{
	const gw_route *rt =
	    route >= 0 && route < gw_metrics_n ? gw_router_at(route) : NULL;
	const char *method = rt ? rt->method : "";
	const char *pattern = rt ? rt->pattern : "unmatched";
	char st[8];

	snprintf(st, sizeof(st), "%d", status);
	kp_metrics_add(gw_metrics_req, KP_LABELS(method, pattern, st), 1);
	if (status >= 400)
		kp_metrics_add(
		    gw_metrics_err,
		    KP_LABELS(method, pattern, code && code[0] ? code : st), 1);
	kp_metrics_observe(gw_metrics_dur, KP_LABELS(method, pattern), seconds);
}

char *
gw_metrics_render(size_t *len)
{
	return kp_metrics_render(len);
}
