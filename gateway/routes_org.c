/* routes_org: organizations (vendor admin), the organization admin's users
 * and user groups, and the vendor's portal customization. Every route
 * calls the org service, which scopes by the caller it is passed. */
#include "gw.h"
#include "gw_call.h"
#include "gw_input.h"
#include "gw_list.h"
#include "gw_response.h"
#include "gw_user.h"
#include "kp_err.h"
#include "proto/org.pb-c.h"

#include <stdlib.h>
#include <string.h>

#define ORG_LOGO_MAX (1024 * 1024)

/* ---- JSON --------------------------------------------------------------- */

static json_t *
str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
org_json(const Keyport__Org__Organization *o)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "id", o->id,
	                 "name", o->name, "email", o->email, "description",
	                 o->description, "allowedUsers",
	                 (json_int_t)o->allowed_users, "createdAt",
	                 o->created_at, "updatedAt", o->updated_at);
}

static json_t *
license_json(const Keyport__License__License *l)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", l->id, "key",
	    l->key, "productId", l->product_id, "productName", l->product_name,
	    "type", l->type, "status", l->status, "expiresAt",
	    str_or_null(l->expires_at), "userId", str_or_null(l->user_id),
	    "organizationId", str_or_null(l->organization_id));
}

static json_t *
group_json(const Keyport__Org__Group *g, int members)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", g->id, "name", g->name,
	              "description", g->description, "createdAt", g->created_at,
	              "updatedAt", g->updated_at);

	if (o != NULL && members) {
		json_t *users = json_array(), *lics = json_array();

		for (size_t i = 0; i < g->n_users; i++)
			json_array_append_new(users, gw_user_json(g->users[i]));
		for (size_t i = 0; i < g->n_licenses; i++)
			json_array_append_new(lics,
			                      license_json(g->licenses[i]));
		json_object_set_new(o, "users", users);
		json_object_set_new(o, "licenses", lics);
	}
	return o;
}

static json_t *
custom_json(const Keyport__Org__Customization *c)
{
	return json_pack("{s:s, s:o, s:o}", "portalName", c->portal_name,
	                 "logoUrl", str_or_null(c->logo_url), "customDomain",
	                 str_or_null(c->custom_domain));
}

/* ---- organizations (vendor admin) --------------------------------------- */

static int
org_input_fields(gw_response *w, json_t *in, int create, const char **name,
                 const char **email, const char **desc, int64_t *allowed,
                 int *has_allowed)
{
	if (gw_input_string(w, in, "name", create, 200, name) != 0 ||
	    gw_input_string(w, in, "email", 0, 254, email) != 0 ||
	    gw_input_string(w, in, "description", 0, 2000, desc) != 0 ||
	    gw_input_int(w, in, "allowedUsers", 0, -1, INT32_MAX, allowed,
	                 has_allowed) != 0)
		return -1;
	return 0;
}

static void
org_reply(gw_request *r, gw_response *w, int status, const kp_rpc_desc *method,
          const ProtobufCMessage *req)
{
	Keyport__Org__OrganizationReply *rep = NULL;

	if (gw_call(r, w, method, req, (ProtobufCMessage **)&rep) != KP_OK)
		return;
	gw_json(w, status, org_json(rep->organization));
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void
orgs_create(gw_request *r, gw_response *w)
{
	Keyport__Org__CreateOrganizationRequest q =
	    KEYPORT__ORG__CREATE_ORGANIZATION_REQUEST__INIT;
	const char *name, *email, *desc;
	int64_t allowed = -1;
	int has = 0;
	json_t *in = gw_input_object(r, w);

	if (in == NULL)
		return;
	if (org_input_fields(w, in, 1, &name, &email, &desc, &allowed, &has) ==
	    0) {
		q.name = (char *)name;
		q.email = (char *)(email ? email : "");
		q.description = (char *)(desc ? desc : "");
		q.allowed_users = allowed;
		q.has_allowed_users = has;
		org_reply(r, w, 201, KP_RPC_ORG_CREATE_ORGANIZATION, &q.base);
	}
	json_decref(in);
}

static json_t *
org_item_json(const ProtobufCMessage *m)
{
	return org_json((const Keyport__Org__Organization *)m);
}

static void
orgs_list(gw_request *r, gw_response *w)
{
	Keyport__Org__ListOrganizationsRequest q =
	    KEYPORT__ORG__LIST_ORGANIZATIONS_REQUEST__INIT;

	gw_list_rpc(r, w, KP_RPC_ORG_LIST_ORGANIZATIONS, &q.base,
	            "organizations", org_item_json, NULL);
}

static void
orgs_get(gw_request *r, gw_response *w)
{
	Keyport__Org__GetOrganizationRequest q =
	    KEYPORT__ORG__GET_ORGANIZATION_REQUEST__INIT;

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	org_reply(r, w, 200, KP_RPC_ORG_GET_ORGANIZATION, &q.base);
}

static void
orgs_update(gw_request *r, gw_response *w)
{
	Keyport__Org__UpdateOrganizationRequest q =
	    KEYPORT__ORG__UPDATE_ORGANIZATION_REQUEST__INIT;
	const char *name, *email, *desc;
	int64_t allowed = 0;
	int has = 0;
	json_t *in;

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL ||
	    (in = gw_input_object(r, w)) == NULL)
		return;
	if (org_input_fields(w, in, 0, &name, &email, &desc, &allowed, &has) ==
	    0) {
		q.has_name = name != NULL;
		q.name = (char *)(name ? name : "");
		q.has_email = email != NULL;
		q.email = (char *)(email ? email : "");
		q.has_description = desc != NULL;
		q.description = (char *)(desc ? desc : "");
		q.has_allowed_users = has;
		q.allowed_users = allowed;
		org_reply(r, w, 200, KP_RPC_ORG_UPDATE_ORGANIZATION, &q.base);
	}
	json_decref(in);
}

static void
orgs_delete(gw_request *r, gw_response *w)
{
	Keyport__Org__DeleteOrganizationRequest q =
	    KEYPORT__ORG__DELETE_ORGANIZATION_REQUEST__INIT;
	const char *cascade = gw_query(r, "cascade");

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	if (cascade != NULL && strcmp(cascade, "true") != 0 &&
	    strcmp(cascade, "false") != 0) {
		gw_error(w, 400, "INVALID_INPUT",
		         "cascade must be true or false");
		return;
	}
	q.cascade = cascade != NULL && strcmp(cascade, "true") == 0;
	if (gw_call(r, w, KP_RPC_ORG_DELETE_ORGANIZATION, &q.base, NULL) ==
	    KP_OK)
		gw_empty(w, 204);
}

/* GET /v1/organization: the caller's own organization (any member). */
static void
org_mine(gw_request *r, gw_response *w)
{
	Keyport__Org__GetOrganizationRequest q =
	    KEYPORT__ORG__GET_ORGANIZATION_REQUEST__INIT;

	if (r->caller.organization_id == NULL ||
	    r->caller.organization_id[0] == '\0') {
		gw_error(w, 404, "NOT_FOUND",
		         "the caller belongs to no organization");
		return;
	}
	q.id = r->caller.organization_id;
	org_reply(r, w, 200, KP_RPC_ORG_GET_ORGANIZATION, &q.base);
}

/* ---- the organization admin's users ------------------------------------- */

static void
user_reply(gw_request *r, gw_response *w, int status, const kp_rpc_desc *method,
           const ProtobufCMessage *req)
{
	Keyport__Auth__UserReply *rep = NULL;

	if (gw_call(r, w, method, req, (ProtobufCMessage **)&rep) != KP_OK)
		return;
	gw_json(w, status, gw_user_json(rep->user));
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void
users_create(gw_request *r, gw_response *w)
{
	Keyport__Auth__CreateUserRequest q =
	    KEYPORT__AUTH__CREATE_USER_REQUEST__INIT;
	const char *email, *pw, *first, *last, *role;
	json_t *in = gw_input_object(r, w);

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "email", 1, 254, &email) == 0 &&
	    gw_input_string(w, in, "password", 1, 1024, &pw) == 0 &&
	    gw_input_string(w, in, "firstName", 0, 200, &first) == 0 &&
	    gw_input_string(w, in, "lastName", 0, 200, &last) == 0 &&
	    gw_input_role(w, in, &role) == 0) {
		q.email = (char *)email;
		q.password = (char *)pw;
		q.first_name = (char *)(first ? first : "");
		q.last_name = (char *)(last ? last : "");
		q.role = (char *)(role ? role : "user");
		user_reply(r, w, 201, KP_RPC_ORG_CREATE_ORG_USER, &q.base);
	}
	json_decref(in);
}

static void
users_list(gw_request *r, gw_response *w)
{
	Keyport__Org__ListOrganizationsRequest q =
	    KEYPORT__ORG__LIST_ORGANIZATIONS_REQUEST__INIT;

	gw_list_rpc(r, w, KP_RPC_ORG_LIST_ORG_USERS, &q.base, "users",
	            gw_user_item_json, NULL);
}

static void
users_get(gw_request *r, gw_response *w)
{
	Keyport__Auth__GetUserRequest q = KEYPORT__AUTH__GET_USER_REQUEST__INIT;

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	user_reply(r, w, 200, KP_RPC_ORG_GET_ORG_USER, &q.base);
}

static void
users_update(gw_request *r, gw_response *w)
{
	Keyport__Auth__UpdateUserRequest q =
	    KEYPORT__AUTH__UPDATE_USER_REQUEST__INIT;
	const char *email, *pw, *first, *last, *role;
	int disabled = 0, has_disabled = 0;
	json_t *in;

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL ||
	    (in = gw_input_object(r, w)) == NULL)
		return;
	if (gw_input_string(w, in, "email", 0, 254, &email) == 0 &&
	    gw_input_string(w, in, "password", 0, 1024, &pw) == 0 &&
	    gw_input_string(w, in, "firstName", 0, 200, &first) == 0 &&
	    gw_input_string(w, in, "lastName", 0, 200, &last) == 0 &&
	    gw_input_role(w, in, &role) == 0 &&
	    gw_input_bool(w, in, "disabled", 0, &disabled, &has_disabled) ==
	        0) {
#define SET(f, v)                                                              \
	do {                                                                   \
		q.has_##f = (v) != NULL;                                       \
		q.f = (char *)((v) ? (v) : "");                                \
	} while (0)
		SET(email, email);
		SET(password, pw);
		SET(first_name, first);
		SET(last_name, last);
		SET(role, role);
#undef SET
		q.has_disabled = has_disabled;
		q.disabled = disabled;
		user_reply(r, w, 200, KP_RPC_ORG_UPDATE_ORG_USER, &q.base);
	}
	json_decref(in);
}

static void
users_delete(gw_request *r, gw_response *w)
{
	Keyport__Auth__GetUserRequest q = KEYPORT__AUTH__GET_USER_REQUEST__INIT;

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	if (gw_call(r, w, KP_RPC_ORG_DELETE_ORG_USER, &q.base, NULL) == KP_OK)
		gw_empty(w, 204);
}

/* ---- user groups --------------------------------------------------------- */

static void
group_reply(gw_request *r, gw_response *w, int status,
            const kp_rpc_desc *method, const ProtobufCMessage *req, int members)
{
	Keyport__Org__GroupReply *rep = NULL;

	if (gw_call(r, w, method, req, (ProtobufCMessage **)&rep) != KP_OK)
		return;
	gw_json(w, status, group_json(rep->group, members));
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void
groups_create(gw_request *r, gw_response *w)
{
	Keyport__Org__CreateGroupRequest q =
	    KEYPORT__ORG__CREATE_GROUP_REQUEST__INIT;
	const char *name, *desc;
	json_t *in = gw_input_object(r, w);

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "name", 1, 200, &name) == 0 &&
	    gw_input_string(w, in, "description", 0, 2000, &desc) == 0) {
		q.name = (char *)name;
		q.description = (char *)(desc ? desc : "");
		group_reply(r, w, 201, KP_RPC_ORG_CREATE_GROUP, &q.base, 0);
	}
	json_decref(in);
}

static json_t *
group_item_json(const ProtobufCMessage *m)
{
	return group_json((const Keyport__Org__Group *)m, 0);
}

static void
groups_list(gw_request *r, gw_response *w)
{
	Keyport__Org__ListGroupsRequest q =
	    KEYPORT__ORG__LIST_GROUPS_REQUEST__INIT;

	gw_list_rpc(r, w, KP_RPC_ORG_LIST_GROUPS, &q.base, "groups",
	            group_item_json, NULL);
}

static void
groups_get(gw_request *r, gw_response *w)
{
	Keyport__Org__GroupIdRequest q = KEYPORT__ORG__GROUP_ID_REQUEST__INIT;

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	group_reply(r, w, 200, KP_RPC_ORG_GET_GROUP, &q.base, 1);
}

static void
groups_update(gw_request *r, gw_response *w)
{
	Keyport__Org__UpdateGroupRequest q =
	    KEYPORT__ORG__UPDATE_GROUP_REQUEST__INIT;
	const char *name, *desc;
	json_t *in;

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL ||
	    (in = gw_input_object(r, w)) == NULL)
		return;
	if (gw_input_string(w, in, "name", 0, 200, &name) == 0 &&
	    gw_input_string(w, in, "description", 0, 2000, &desc) == 0) {
		q.has_name = name != NULL;
		q.name = (char *)(name ? name : "");
		q.has_description = desc != NULL;
		q.description = (char *)(desc ? desc : "");
		group_reply(r, w, 200, KP_RPC_ORG_UPDATE_GROUP, &q.base, 0);
	}
	json_decref(in);
}

static void
groups_delete(gw_request *r, gw_response *w)
{
	Keyport__Org__GroupIdRequest q = KEYPORT__ORG__GROUP_ID_REQUEST__INIT;

	if ((q.id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	if (gw_call(r, w, KP_RPC_ORG_DELETE_GROUP, &q.base, NULL) == KP_OK)
		gw_empty(w, 204);
}

static void
groups_member(gw_request *r, gw_response *w, const kp_rpc_desc *method)
{
	Keyport__Org__GroupMemberRequest q =
	    KEYPORT__ORG__GROUP_MEMBER_REQUEST__INIT;

	if ((q.group_id = (char *)gw_param_uuid(r, w, 0)) == NULL ||
	    (q.member_id = (char *)gw_param_uuid(r, w, 1)) == NULL)
		return;
	if (gw_call(r, w, method, &q.base, NULL) == KP_OK)
		gw_empty(w, 204);
}

static void
groups_add_user(gw_request *r, gw_response *w)
{
	groups_member(r, w, KP_RPC_ORG_ADD_GROUP_USER);
}

static void
groups_remove_user(gw_request *r, gw_response *w)
{
	groups_member(r, w, KP_RPC_ORG_REMOVE_GROUP_USER);
}

static void
groups_add_license(gw_request *r, gw_response *w)
{
	groups_member(r, w, KP_RPC_ORG_ADD_GROUP_LICENSE);
}

static void
groups_remove_license(gw_request *r, gw_response *w)
{
	groups_member(r, w, KP_RPC_ORG_REMOVE_GROUP_LICENSE);
}

/* ---- customization (vendor admin) ---------------------------------------- */

static void
custom_reply(gw_request *r, gw_response *w, const kp_rpc_desc *method,
             const ProtobufCMessage *req)
{
	Keyport__Org__CustomizationReply *rep = NULL;

	if (gw_call(r, w, method, req, (ProtobufCMessage **)&rep) != KP_OK)
		return;
	gw_json(w, 200, custom_json(rep->customization));
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void
custom_get(gw_request *r, gw_response *w)
{
	Keyport__Org__Empty q = KEYPORT__ORG__EMPTY__INIT;

	custom_reply(r, w, KP_RPC_ORG_GET_CUSTOMIZATION, &q.base);
}

static void
custom_put(gw_request *r, gw_response *w)
{
	Keyport__Org__PutCustomizationRequest q =
	    KEYPORT__ORG__PUT_CUSTOMIZATION_REQUEST__INIT;
	const char *name, *logo, *domain;
	json_t *in = gw_input_object(r, w);

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "portalName", 1, 100, &name) == 0 &&
	    gw_input_string(w, in, "logoUrl", 0, 2048, &logo) == 0 &&
	    gw_input_string(w, in, "customDomain", 0, 253, &domain) == 0) {
		q.portal_name = (char *)name;
		q.logo_url = (char *)(logo ? logo : "");
		q.custom_domain = (char *)(domain ? domain : "");
		custom_reply(r, w, KP_RPC_ORG_PUT_CUSTOMIZATION, &q.base);
	}
	json_decref(in);
}

static void
custom_logo(gw_request *r, gw_response *w)
{
	Keyport__Org__PutLogoRequest q = KEYPORT__ORG__PUT_LOGO_REQUEST__INIT;

	q.data.data = (uint8_t *)r->body;
	q.data.len = r->body != NULL ? r->body_len : 0;
	custom_reply(r, w, KP_RPC_ORG_PUT_LOGO, &q.base);
}

static const gw_route org_routes[] = {
    {"POST", "/v1/organizations", GW_ADMIN, 0, orgs_create},
    {"GET", "/v1/organizations", GW_ADMIN, 0, orgs_list},
    {"GET", "/v1/organizations/{id}", GW_ADMIN, 0, orgs_get},
    {"PATCH", "/v1/organizations/{id}", GW_ADMIN, 0, orgs_update},
    {"DELETE", "/v1/organizations/{id}", GW_ADMIN, 0, orgs_delete},
    {"GET", "/v1/organization", GW_USER, 0, org_mine},
    {"GET", "/v1/organization/users", GW_ORG_ADMIN, 0, users_list},
    {"POST", "/v1/organization/users", GW_ORG_ADMIN, 0, users_create},
    {"GET", "/v1/organization/users/{id}", GW_ORG_ADMIN, 0, users_get},
    {"PATCH", "/v1/organization/users/{id}", GW_ORG_ADMIN, 0, users_update},
    {"DELETE", "/v1/organization/users/{id}", GW_ORG_ADMIN, 0, users_delete},
    {"GET", "/v1/organization/user-groups", GW_ORG_ADMIN, 0, groups_list},
    {"POST", "/v1/organization/user-groups", GW_ORG_ADMIN, 0, groups_create},
    {"GET", "/v1/organization/user-groups/{id}", GW_ORG_ADMIN, 0, groups_get},
    {"PATCH", "/v1/organization/user-groups/{id}", GW_ORG_ADMIN, 0,
     groups_update},
    {"DELETE", "/v1/organization/user-groups/{id}", GW_ORG_ADMIN, 0,
     groups_delete},
    {"PUT", "/v1/organization/user-groups/{id}/users/{userId}", GW_ORG_ADMIN, 0,
     groups_add_user},
    {"DELETE", "/v1/organization/user-groups/{id}/users/{userId}", GW_ORG_ADMIN,
     0, groups_remove_user},
    {"PUT", "/v1/organization/user-groups/{id}/licenses/{licenseId}",
     GW_ORG_ADMIN, 0, groups_add_license},
    {"DELETE", "/v1/organization/user-groups/{id}/licenses/{licenseId}",
     GW_ORG_ADMIN, 0, groups_remove_license},
    {"GET", "/v1/settings/customization", GW_ADMIN, 0, custom_get},
    {"PUT", "/v1/settings/customization", GW_ADMIN, 0, custom_put},
    {"PUT", "/v1/settings/customization/logo", GW_ADMIN, ORG_LOGO_MAX,
     custom_logo},
};

const gw_route_table gw_routes_org = {org_routes, sizeof(org_routes) /
                                                      sizeof(org_routes[0])};
