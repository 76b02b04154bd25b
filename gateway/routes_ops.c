/* routes_ops: /healthz, /readyz and /metrics. */
#include "gw.h"
#include "gw_metrics.h"
#include "gw_input.h"
#include "gw_response.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET /healthz: the gateway process is up. */
static void
ops_healthz(gw_request *r, gw_response *w)
{
	(void)r;
	gw_json(w, 200, json_pack("{s:s}", "status", "ok"));
}

/* GET /readyz?scope=self: the gateway itself can serve (its HTTP server
 * answers, its clients are open), whatever the services' state: the
 * readiness probe of gateway pods, so that one dead service takes only its
 * own routes out (they answer 503), not the whole API. The body shows how
 * many replicas of each service are connected, without asking them. */
static void
ops_readyz_self(gw_request *r, gw_response *w)
{
	json_t *services = json_object();

	for (int i = 0; i < GW_NSERVICES; i++)
		json_object_set_new(
		    services, kp_services_name(i),
		    json_pack("{s:i}", "connected",
		              kp_rpc_client_pipes(r->gw->clients[i])));
	gw_json(w, 200,
	        json_pack("{s:s, s:s, s:o}", "status", "ready", "scope", "self",
	                  "services", services));
}

/* GET /readyz: every service answers its health RPC (which checks its own
 * database). A service with no connected replica is down at once; one that
 * is connected gets a short deadline. */
static void
ops_readyz(gw_request *r, gw_response *w)
{
	json_t *services;
	char down[512] = "";
	size_t used = 0;
	int db_down = 0;
	const char *scope = gw_query(r, "scope");

	if (scope != NULL && strcmp(scope, "self") == 0) {
		ops_readyz_self(r, w);
		return;
	}
	if (scope != NULL && strcmp(scope, "all") != 0) {
		gw_error(w, 400, "INVALID_INPUT",
		         "scope: must be self or all");
		return;
	}
	services = json_object();

	for (int i = 0; i < GW_NSERVICES; i++) {
		kp_rpc_client *c = r->gw->clients[i];
		kp_rpc_result res;
		const char *why = NULL;

		if (kp_rpc_client_pipes(c) == 0)
			why = "not connected";
		else if (kp_rpc_health(c, 700, &res) != KP_OK)
			why = strcmp(res.code, "DATABASE_UNAVAILABLE") == 0
				      ? "database unreachable"
				      : "not answering";
		if (why != NULL && strcmp(why, "database unreachable") == 0)
			db_down = 1;
		json_object_set_new(services, kp_services_name(i),
		                    json_string(why ? why : "ok"));
		if (why != NULL && used < sizeof(down))
			used += (size_t)snprintf(
			    down + used, sizeof(down) - used, "%s%s (%s)",
			    used ? ", " : "", kp_services_name(i), why);
	}
	json_object_set_new(services, "database",
			    json_string(db_down ? "unreachable" : "ok"));
	if (down[0] == '\0') {
		gw_json(w, 200,
			json_pack("{s:s, s:o}", "status", "ready", "services",
				  services));
		return;
	}
	gw_json(w, 503,
		json_pack("{s:{s:s, s:s+}, s:o}", "error", "code",
			  "SERVICE_UNAVAILABLE", "message", "not ready: ", down,
			  "services", services));
}

/* GET /metrics: Prometheus text format, with KEYPORT_METRICS_ON_API=1. */
static void
ops_metrics(gw_request *r, gw_response *w)
{
	size_t len = 0;
	char *text;

	(void)r;
	/* the metrics port (KEYPORT_GATEWAY_METRICS_PORT) serves them; the
	 * public port only when the operator asks */
	if (kp_cfg_int(KP_CFG_METRICS_ON_API) != 1) {
		gw_error(w, 404, "NOT_FOUND", "no such route");
		return;
	}
	if ((text = gw_metrics_render(&len)) == NULL) {
		gw_error(w, 500, "INTERNAL", "out of memory");
		return;
	}
	free(w->body);
	w->body = text;
	w->len = len;
	w->status = 200;
	w->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static const gw_route ops_routes[] = {
	{"GET", "/healthz", GW_PUBLIC, 0, ops_healthz},
	{"GET", "/readyz", GW_PUBLIC, 0, ops_readyz},
	{"GET", "/metrics", GW_PUBLIC, 0, ops_metrics},
};

const gw_route_table gw_routes_ops = {ops_routes,
				      sizeof(ops_routes) / sizeof(ops_routes[0])};
