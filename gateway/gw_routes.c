/* gw_routes: the one list of route tables. Each area of the API keeps its
 * routes in gateway/routes_<area>.c, defining gw_routes_<area>. The areas
 * are declared weak so that an area not yet built links as an empty table;
 * every area that exists in the tree is linked in and served. */
#include "gw_router.h"

#define GW_AREA(name)                                                          \
	extern const gw_route_table gw_routes_##name __attribute__((weak))

GW_AREA(ops);
GW_AREA(auth);
GW_AREA(users);
GW_AREA(org);
GW_AREA(license);
GW_AREA(activation);
GW_AREA(release);
GW_AREA(portal);

/* An area that is not linked in is a NULL entry; the router skips it. */
#define GW_TABLE(name) (&gw_routes_##name)

const gw_route_table *const gw_route_tables[] = {
	GW_TABLE(ops),	      GW_TABLE(auth),	    GW_TABLE(users),
	GW_TABLE(org),	      GW_TABLE(license),    GW_TABLE(activation),
	GW_TABLE(release),    GW_TABLE(portal),
};
const size_t gw_route_tables_count =
	sizeof(gw_route_tables) / sizeof(gw_route_tables[0]);
