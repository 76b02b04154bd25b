/* routes_portal: the public portal branding (chosen by the request's Host)
 * and the vendor's uploaded logo. */
#include "gw.h"
#include "gw_call.h"
#include "gw_response.h"
#include "kp_err.h"
#include "proto/org.pb-c.h"

#include <string.h>

/* The logo is served from our own origin: an SVG must not run scripts or
 * load anything. */
#define PORTAL_SVG_CSP "default-src 'none'; style-src 'unsafe-inline'"

static json_t *
portal_str(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* GET /v1/portal/branding: the customization whose customDomain is the
 * Host (without port), or the default. */
static void
portal_branding(gw_request *r, gw_response *w)
{
	Keyport__Org__BrandingRequest q = KEYPORT__ORG__BRANDING_REQUEST__INIT;
	Keyport__Org__CustomizationReply *rep = NULL;
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	                                            MHD_HTTP_HEADER_HOST);
	char host[256] = "";

	if (h != NULL && h[0] != '[' && strlen(h) < sizeof(host)) {
		char *colon;

		strcpy(host, h);
		if ((colon = strchr(host, ':')) != NULL)
			*colon = '\0';
	}
	q.host = host;
	if (gw_call(r, w, KP_RPC_ORG_GET_BRANDING, &q.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	gw_json(w, 200,
	        json_pack("{s:s, s:o, s:o}", "portalName",
	                  rep->customization->portal_name, "logoUrl",
	                  portal_str(rep->customization->logo_url),
	                  "customDomain",
	                  portal_str(rep->customization->custom_domain)));
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

/* GET /v1/portal/logo: the uploaded logo, with its checked type. */
static void
portal_logo(gw_request *r, gw_response *w)
{
	Keyport__Org__Empty q = KEYPORT__ORG__EMPTY__INIT;
	Keyport__Org__LogoReply *rep = NULL;
	const char *type;

	if (gw_call(r, w, KP_RPC_ORG_GET_LOGO, &q.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	/* the type was decided by magic bytes at upload; only these four */
	if (strcmp(rep->content_type, "image/png") == 0)
		type = "image/png";
	else if (strcmp(rep->content_type, "image/jpeg") == 0)
		type = "image/jpeg";
	else if (strcmp(rep->content_type, "image/webp") == 0)
		type = "image/webp";
	else
		type = "image/svg+xml";
	gw_body(w, 200, type, rep->data.data, rep->data.len);
	if (strcmp(type, "image/svg+xml") == 0)
		gw_header(w, "Content-Security-Policy", PORTAL_SVG_CSP);
	gw_header(w, "Cache-Control", "public, max-age=300");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static const gw_route portal_routes[] = {
    {"GET", "/v1/portal/branding", GW_PUBLIC, 0, portal_branding},
    {"GET", "/v1/portal/logo", GW_PUBLIC, 0, portal_logo},
};

const gw_route_table gw_routes_portal = {
    portal_routes, sizeof(portal_routes) / sizeof(portal_routes[0])};
