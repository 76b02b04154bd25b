/* gw_routes: the one list of route tables. Each area of the API keeps its
 * routes in gateway/routes_<area>.c and is listed here once. */
#include "gw_router.h"

extern const gw_route_table gw_routes_ops;

const gw_route_table *const gw_route_tables[] = {
	&gw_routes_ops,
};
const size_t gw_route_tables_count =
	sizeof(gw_route_tables) / sizeof(gw_route_tables[0]);
