/* org_util: the org service's small helpers: caller
 * checks, host name validation and image type detection. */
#include "org_app.h"

#include "kp_pgarr.h"
#include "kp_clock.h"
#include "kp_err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int
org_require_role(kp_rpc_ctx *ctx, const char *role)
{
	if (strcmp(ctx->caller->role, role) != 0)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
		                   "this needs the %s role", role);
	return KP_OK;
}

int
org_require_org_admin(kp_rpc_ctx *ctx)
{
	if (strcmp(ctx->caller->role, ORG_ROLE_ORG_ADMIN) != 0 ||
	    !kp_uuid_valid(ctx->caller->organization_id))
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
		                   "this needs an organization admin");
	return KP_OK;
}

int
org_valid_host(const char *h)
{
	size_t n = h != NULL ? strlen(h) : 0, label = 0;
	int alpha = 0;

	if (n == 0 || n > 253 || h[0] == '.' || h[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!(islower(c) || isdigit(c) || c == '-'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (islower(c))
			alpha = 1;
		if (++label > 63)
			return 0;
	}
	if (h[n - 1] == '-')
		return 0;
	return alpha; /* a bare IPv4 address is not a domain */
}

const char *
org_image_type(const unsigned char *d, size_t n)
{
	static const unsigned char png[] = {0x89, 'P',  'N',  'G',
	                                    '\r', '\n', 0x1a, '\n'};
	size_t i = 0;

	if (n >= sizeof(png) && memcmp(d, png, sizeof(png)) == 0)
		return "image/png";
	if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return "image/jpeg";
	if (n >= 12 && memcmp(d, "RIFF", 4) == 0 &&
	    memcmp(d + 8, "WEBP", 4) == 0)
		return "image/webp";
	/* SVG: optional BOM and white space, then "<?xml" or "<svg", and an
	 * "<svg" element within the first KiB */
	if (n >= 3 && d[0] == 0xef && d[1] == 0xbb && d[2] == 0xbf)
		i = 3;
	while (i < n && isspace(d[i]))
		i++;
	if (n - i >= 5 &&
	    (memcmp(d + i, "<?xml", 5) == 0 || memcmp(d + i, "<svg", 4) == 0)) {
		size_t lim = n < 1024 ? n : 1024;

		for (size_t j = i; j + 4 <= lim; j++)
			if (memcmp(d + j, "<svg", 4) == 0)
				return "image/svg+xml";
	}
	return NULL;
}
