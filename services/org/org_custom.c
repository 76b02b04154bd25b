/* org_custom: the vendor's portal customization (one tenant, "vendor"):
 * portal name, logo URL, custom domain (unique), and the uploaded logo the
 * gateway serves. Branding (public) answers the customization whose custom
 * domain is the request's host, otherwise the built-in default. */
#include "org_app.h"

#include "kp_clock.h"
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
/* custom_answer answers the outcome of a store call: the row, or the
 * default when none is stored. */
static int
custom_answer(kp_rpc_ctx *ctx, int rv, org_custom_row *r, const char *what)
{
	Keyport__Org__CustomizationReply rep =
	    KEYPORT__ORG__CUSTOMIZATION_REPLY__INIT;
	Keyport__Org__Customization def = KEYPORT__ORG__CUSTOMIZATION__INIT;

	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL, what);
	def.portal_name = (char *)CUSTOM_DEFAULT;
	rep.customization = r->found ? &r->msg : &def;
	return kp_rpc_reply(ctx, &rep.base);
}

int
org_custom_get(kp_rpc_ctx *ctx)
{
	org_custom_row r = {0};
	int rv;

	if ((rv = org_require_role(ctx, ORG_ROLE_ADMIN)) != KP_OK)
		return rv;
	rv = org_store_custom_get(kp_service_db(ctx), CUSTOM_TENANT, &r);
	rv = custom_answer(ctx, rv, &r, "org.GetCustomization");
	org_custom_row_clear(&r);
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
	org_custom_row r = {0};
	char *domain = NULL;
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
	rv = org_store_custom_put(kp_service_db(ctx), CUSTOM_TENANT,
	                          req->portal_name, req->logo_url, domain,
	                          kp_now(), &r);
	if (rv == KP_ECONFLICT) {
		rv = kp_rpc_fail(ctx, KP_ECONFLICT, "DOMAIN_TAKEN",
		                 "customDomain: already used by another "
		                 "portal");
		goto out;
	}
	rv = custom_answer(ctx, rv, &r, "org.PutCustomization");
out:
	free(domain);
	org_custom_row_clear(&r);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_logo_put(kp_rpc_ctx *ctx)
{
	Keyport__Org__PutLogoRequest *req = NULL;
	org_custom_row r = {0};
	const char *type;
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
	rv = org_store_logo_put(kp_service_db(ctx), CUSTOM_TENANT,
	                        req->data.data, req->data.len, type,
	                        CUSTOM_DEFAULT, CUSTOM_LOGO_PATH, kp_now(), &r);
	rv = custom_answer(ctx, rv, &r, "org.PutLogo");
out:
	org_custom_row_clear(&r);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
org_logo_get(kp_rpc_ctx *ctx)
{
	Keyport__Org__LogoReply rep = KEYPORT__ORG__LOGO_REPLY__INIT;
	org_logo l = {0};
	int rv;

	rv = org_store_logo_get(kp_service_db(ctx), CUSTOM_TENANT, &l);
	if (rv == KP_ENOTFOUND) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, NULL, "no logo uploaded");
	} else if (rv != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL, "org.GetLogo");
	} else {
		rep.data.data = l.data;
		rep.data.len = l.len;
		rep.content_type = (char *)l.type;
		rv = kp_rpc_reply(ctx, &rep.base);
	}
	org_logo_clear(&l);
	return rv;
}

int
org_branding(kp_rpc_ctx *ctx)
{
	Keyport__Org__BrandingRequest *req = NULL;
	org_custom_row r = {0};
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
	/* a host that cannot be a custom domain has the default */
	rv = org_valid_host(host)
	         ? org_store_custom_by_domain(kp_service_db(ctx), host, &r)
	         : KP_OK;
	rv = custom_answer(ctx, rv, &r, "org.Branding");
out:
	free(host);
	org_custom_row_clear(&r);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
