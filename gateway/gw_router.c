/* gw_router: segment-by-segment matching with {param} placeholders. */
#include "gw_router.h"

#include <string.h>

#define GW_MAX_SEGMENTS 12

int
gw_router_count(void)
{
	int n = 0;

	for (size_t t = 0; t < gw_route_tables_count; t++)
		if (gw_route_tables[t] != NULL)
			n += (int)gw_route_tables[t]->count;
	return n;
}

const gw_route *
gw_router_at(int i)
{
	for (size_t t = 0; t < gw_route_tables_count; t++) {
		if (gw_route_tables[t] == NULL)
			continue;
		if (i < (int)gw_route_tables[t]->count)
			return &gw_route_tables[t]->routes[i];
		i -= (int)gw_route_tables[t]->count;
	}
	return NULL;
}

/* Splits path into segments in place; returns the count, -1 when too many
 * or when the path is not absolute. */
static int
gw_router_split(char *path, char *seg[GW_MAX_SEGMENTS])
{
	int n = 0;

	if (path[0] != '/')
		return -1;
	/* every '/' starts a segment, an empty one too: "/v1/me/" is three
	 * segments, not "/v1/me" */
	for (char *p = path + 1;;) {
		char *slash = strchr(p, '/');
		if (n == GW_MAX_SEGMENTS)
			return -1;
		seg[n++] = p;
		if (slash == NULL)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

/* Does the pattern match the segments? Fills params when it does. */
static int
gw_router_try(const char *pattern, char *seg[], int nseg,
	      const char *params[GW_MAX_PARAMS])
{
	int i = 0, np = 0;
	const char *p = pattern + 1;

	while (i < nseg) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len > 1 && p[0] == '{' && p[len - 1] == '}') {
			if (seg[i][0] == '\0' || np == GW_MAX_PARAMS)
				return 0;
			params[np++] = seg[i];
		} else if (strlen(seg[i]) != len ||
			   strncmp(seg[i], p, len) != 0) {
			return 0;
		}
		i++;
		if (end == NULL)
			return i == nseg;
		p = end + 1;
	}
	return 0;
}

const gw_route *
gw_router_match(const char *method, char *path,
		const char *params[GW_MAX_PARAMS], int *method_mismatch,
		int *index)
{
	char *seg[GW_MAX_SEGMENTS];
	int nseg = gw_router_split(path, seg);
	int idx = 0;

	*method_mismatch = 0;
	*index = -1;
	if (nseg < 0)
		return NULL;
	for (size_t t = 0; t < gw_route_tables_count; t++) {
		if (gw_route_tables[t] == NULL)
			continue;
		for (size_t k = 0; k < gw_route_tables[t]->count; k++, idx++) {
			const gw_route *rt = &gw_route_tables[t]->routes[k];
			const char *tmp[GW_MAX_PARAMS] = {0};
			if (!gw_router_try(rt->pattern, seg, nseg, tmp))
				continue;
			if (strcmp(rt->method, method) != 0) {
				*method_mismatch = 1;
				continue;
			}
			memcpy(params, tmp, sizeof(tmp));
			*index = idx;
			return rt;
		}
	}
	return NULL;
}
