/* gw_router: matching a method and path against the route tables. */
#ifndef GW_ROUTER_H
#define GW_ROUTER_H

#include "gw.h"

/* The route tables of every area (gw_routes.c). */
extern const gw_route_table *const gw_route_tables[];
extern const size_t gw_route_tables_count;

/* gw_router_match finds the route for method and path. path is modified in
 * place (segments are NUL-split) and params point into it. Returns the
 * route, or NULL; *method_mismatch is set when some route has the path but
 * not the method (405). *index is a stable number of the route, for
 * metrics. */
const gw_route *gw_router_match(const char *method, char *path,
				const char *params[GW_MAX_PARAMS],
				int *method_mismatch, int *index);

/* gw_router_count returns how many routes exist; gw_router_at the i-th. */
int gw_router_count(void);
const gw_route *gw_router_at(int i);

#endif
