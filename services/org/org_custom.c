/* org_custom: the vendor's portal customization (one tenant, "vendor"):
 * portal name, logo URL, custom domain (unique), and the uploaded logo the
 * gateway serves. Branding (public) answers the customization whose custom
 * domain is the request's host, otherwise the built-in default. */
#include "org_app.h"

#include "kp_text.h"
#include "kp_err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define CUSTOM_TENANT    "vendor"
#define CUSTOM_DEFAULT   "Keyport"
#define CUSTOM_NAME_MAX  100
#define CUSTOM_URL_MAX   2048
#define CUSTOM_LOGO_MAX  (1024 * 1024)
#define CUSTOM_LOGO_PATH "/v1/portal/logo"
#define CUSTOM_COLS                                                            \
	"portal_name, logo_url, coalesce(custom_domain, ''), " ORG_TS(         \
	    "updated_at") ", logo IS NOT NULL"

/* custom_reply answers row 0 of res, or the default when res is empty. */
static int
custom_reply(kp_rpc_ctx *ctx, PGresult *res)
{
	Keyport__Org__CustomizationReply rep =
	    KEYPORT__ORG__CUSTOMIZATION_REPLY__INIT;
	Keyport__Org__Customization c = KEYPORT__ORG__CUSTOMIZATION__INIT;

	c.portal_name = (char *)CUSTOM_DEFAULT;
	if (res != NULL && PQntuples(res) > 0) {
		c.portal_name = PQgetvalue(res, 0, 0);
		c.logo_url = PQgetvalue(res, 0, 1);
		c.custom_domain = PQgetvalue(res, 0, 2);
		c.updated_at = PQgetvalue(res, 0, 3);
		c.has_logo = PQgetvalue(res, 0, 4)[0] == 't';
	}
	rep.customization = &c;
	return kp_rpc_reply(ctx, &rep.base);
}

int
org_custom_get(kp_rpc_ctx *ctx)
{
	const char *p[] = {CUSTOM_TENANT};
	PGresult *res = NULL;
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	rv = kp_db_query(kp_service_db(ctx),
	                 "SELECT " CUSTOM_COLS
	                 " FROM customizations WHERE tenant = $1",
	                 1, p, &res);
	if (rv != KP_OK)
		return kp_rpc_fail(ctx, rv, NULL, "cannot read customization");
	rv = custom_reply(ctx, res);
	PQclear(res);
	return rv;
}

static int
custom_url_ok(const char *u)
{
	if (u[0] == '\0')
		return 1;
	if (strlen(u) > CUSTOM_URL_MAX)
		return 0;
	for (const char *s = u; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '"' || *s == '<' ||
		    *s == '>')
			return 0;
	return strncmp(u, "https://", 8) == 0 ||
	       strncmp(u, "http://", 7) == 0 || (u[0] == '/' && u[1] != '/');
}

int
org_custom_put(kp_rpc_ctx *ctx)
{
	Keyport__Org__PutCustomizationRequest *req = NULL;
	PGresult *res = NULL;
	char now[32], *domain = NULL;
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__org__put_customization_request__descriptor,
	         (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->portal_name[0] == '\0' ||
	    kp_utf8_chars(req->portal_name) > CUSTOM_NAME_MAX) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "portalName: 1 to %d characters",
		                 CUSTOM_NAME_MAX);
		goto out;
	}
	if (!custom_url_ok(req->logo_url)) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "logoUrl: an http(s) URL or an absolute path");
		goto out;
	}
	if (req->custom_domain[0] != '\0') {
		if ((domain = strdup(req->custom_domain)) == NULL) {
			rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "memory");
			goto out;
		}
		for (char *s = domain; *s; s++)
			*s = (char)tolower((unsigned char)*s);
		if (!org_valid_host(domain)) {
			rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
			                 "customDomain: not a valid host name");
			goto out;
		}
	}
	org_epoch(now, sizeof(now));
	{
		const char *p[] = {CUSTOM_TENANT, req->portal_name,
		                   req->logo_url, domain, now};

		rv = kp_db_query(
		    kp_service_db(ctx),
		    "INSERT INTO customizations (tenant, portal_name, "
		    "logo_url, custom_domain, updated_at) VALUES ($1, $2, "
		    "$3, $4, to_timestamp($5)) ON CONFLICT (tenant) DO "
		    "UPDATE SET portal_name = $2, logo_url = $3, "
		    "custom_domain = $4, updated_at = to_timestamp($5) "
		    "RETURNING " CUSTOM_COLS,
		    5, p, &res);
	}
	if (rv == KP_ECONFLICT) {
		rv = kp_rpc_fail(ctx, KP_ECONFLICT, "DOMAIN_TAKEN",
		                 "customDomain: already used by another "
		                 "portal");
		goto out;
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot save customization");
		goto out;
	}
	rv = custom_reply(ctx, res);
out:
	free(domain);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_logo_put(kp_rpc_ctx *ctx)
{
	Keyport__Org__PutLogoRequest *req = NULL;
	PGresult *res = NULL;
	const char *type;
	char now[32];
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	if ((rv =
	         kp_rpc_unpack(ctx, &keyport__org__put_logo_request__descriptor,
	                       (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if (req->data.len > CUSTOM_LOGO_MAX) {
		rv =
		    kp_rpc_fail(ctx, KP_ETOOLARGE, NULL, "logo: at most 1 MiB");
		goto out;
	}
	if ((type = org_image_type(req->data.data, req->data.len)) == NULL) {
		rv =
		    kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                "logo: must be a PNG, JPEG, SVG or WebP image");
		goto out;
	}
	org_epoch(now, sizeof(now));
	{
		/* bytea travels as a binary parameter would; in text form
		 * the hex escape keeps it a plain parameter */
		size_t hexlen = req->data.len * 2 + 3;
		char *hex = malloc(hexlen);
		static const char digits[] = "0123456789abcdef";

		if (hex == NULL) {
			rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "memory");
			goto out;
		}
		hex[0] = '\\';
		hex[1] = 'x';
		for (size_t i = 0; i < req->data.len; i++) {
			hex[2 + 2 * i] = digits[req->data.data[i] >> 4];
			hex[3 + 2 * i] = digits[req->data.data[i] & 15];
		}
		hex[hexlen - 1] = '\0';
		{
			const char *p[] = {CUSTOM_TENANT,  hex,
			                   type,           now,
			                   CUSTOM_DEFAULT, CUSTOM_LOGO_PATH};

			rv = kp_db_query(
			    kp_service_db(ctx),
			    "INSERT INTO customizations (tenant, "
			    "portal_name, logo_url, logo, logo_type, "
			    "updated_at) VALUES ($1, $5, $6, $2::bytea, $3, "
			    "to_timestamp($4)) ON CONFLICT (tenant) DO "
			    "UPDATE SET logo = $2::bytea, logo_type = $3, "
			    "logo_url = $6, updated_at = to_timestamp($4) "
			    "RETURNING " CUSTOM_COLS,
			    6, p, &res);
		}
		free(hex);
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot save logo");
		goto out;
	}
	rv = custom_reply(ctx, res);
out:
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_logo_get(kp_rpc_ctx *ctx)
{
	Keyport__Org__LogoReply rep = KEYPORT__ORG__LOGO_REPLY__INIT;
	const char *p[] = {CUSTOM_TENANT};
	PGresult *res = NULL;
	unsigned char *bytes = NULL;
	size_t n = 0;
	int rv;

	rv = kp_db_query(kp_service_db(ctx),
	                 "SELECT logo, logo_type FROM customizations WHERE "
	                 "tenant = $1 AND logo IS NOT NULL",
	                 1, p, &res);
	if (rv != KP_OK)
		return kp_rpc_fail(ctx, rv, NULL, "cannot read logo");
	if (PQntuples(res) == 0) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no logo uploaded");
		goto out;
	}
	bytes =
	    PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), &n);
	if (bytes == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "memory");
		goto out;
	}
	rep.data.data = bytes;
	rep.data.len = n;
	rep.content_type = PQgetvalue(res, 0, 1);
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	PQfreemem(bytes);
	PQclear(res);
	return rv;
}

int
org_branding(kp_rpc_ctx *ctx)
{
	Keyport__Org__BrandingRequest *req = NULL;
	PGresult *res = NULL;
	char *host = NULL;
	int rv;

	if ((rv =
	         kp_rpc_unpack(ctx, &keyport__org__branding_request__descriptor,
	                       (ProtobufCMessage **)&req)) != KP_OK)
		return rv;
	if ((host = strdup(req->host)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "memory");
		goto out;
	}
	for (char *s = host; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	if (org_valid_host(host)) {
		const char *p[] = {host};

		rv = kp_db_query(kp_service_db(ctx),
		                 "SELECT " CUSTOM_COLS " FROM customizations "
		                 "WHERE custom_domain = $1",
		                 1, p, &res);
		if (rv != KP_OK) {
			rv = kp_rpc_fail(ctx, rv, NULL, "cannot read branding");
			goto out;
		}
	}
	rv = custom_reply(ctx, res);
out:
	free(host);
	PQclear(res);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
