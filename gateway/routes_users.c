/* routes_users: the vendor admin's user management (/v1/users). */
#include "gw.h"
#include "gw_call.h"
#include "gw_input.h"
#include "gw_list.h"
#include "gw_response.h"
#include "gw_user.h"
#include "kp_err.h"
#include "proto/auth.pb-c.h"

#include <stdio.h>
#include <string.h>

static void
users_reply(gw_response *w, int status, Keyport__Auth__UserReply *rep)
{
	gw_json(w, status, gw_user_json(rep->user));
	keyport__auth__user_reply__free_unpacked(rep, NULL);
}

/* Reads organizationId: absent, null (none) or a UUID. */
static int
users_org(gw_response *w, json_t *in, const char **org, int *present)
{
	json_t *v = json_object_get(in, "organizationId");

	*present = v != NULL;
	*org = "";
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !kp_uuid_valid(json_string_value(v))) {
		gw_error(w, 400, "INVALID_INPUT",
		         "organizationId must be a UUID or null");
		return -1;
	}
	*org = json_string_value(v);
	return 0;
}

/* POST /v1/users {email,password,firstName?,lastName?,role?,organizationId?} */
static void
users_create(gw_request *r, gw_response *w)
{
	Keyport__Auth__CreateUserRequest req =
	    KEYPORT__AUTH__CREATE_USER_REQUEST__INIT;
	Keyport__Auth__UserReply *rep = NULL;
	json_t *in = gw_input_object(r, w);
	const char *email, *pw, *first, *last, *role, *org;
	int has_org;

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "email", 1, 254, &email) != 0 ||
	    gw_input_string(w, in, "password", 1, 1024, &pw) != 0 ||
	    gw_input_string(w, in, "firstName", 0, 400, &first) != 0 ||
	    gw_input_string(w, in, "lastName", 0, 400, &last) != 0 ||
	    gw_input_role(w, in, &role) != 0 ||
	    users_org(w, in, &org, &has_org) != 0)
		goto out;
	req.email = (char *)email;
	req.password = (char *)pw;
	req.first_name = (char *)(first ? first : "");
	req.last_name = (char *)(last ? last : "");
	req.role = (char *)(role ? role : "user");
	req.organization_id = (char *)org;
	if (gw_call(r, w, KP_RPC_AUTH_CREATE_USER, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		users_reply(w, 201, rep);
out:
	json_decref(in);
}

/* GET /v1/users[?organizationId=] */
/* organizationId: "" (all) or a UUID. */
static int
users_list_filter(gw_request *r, gw_response *w, ProtobufCMessage *m)
{
	Keyport__Auth__ListUsersRequest *req =
	    (Keyport__Auth__ListUsersRequest *)m;
	const char *org = gw_query(r, "organizationId");

	if (org != NULL && org[0] != '\0' && !kp_uuid_valid(org)) {
		gw_error(w, 400, "INVALID_INPUT",
		         "organizationId must be a UUID");
		return -1;
	}
	req->organization_id = (char *)(org ? org : "");
	return 0;
}

static void
users_list(gw_request *r, gw_response *w)
{
	Keyport__Auth__ListUsersRequest req =
	    KEYPORT__AUTH__LIST_USERS_REQUEST__INIT;

	gw_list_rpc(r, w, KP_RPC_AUTH_LIST_USERS, &req.base, "users",
	            gw_user_item_json, users_list_filter);
}

/* GET /v1/users/{id} */
static void
users_get(gw_request *r, gw_response *w)
{
	Keyport__Auth__GetUserRequest req =
	    KEYPORT__AUTH__GET_USER_REQUEST__INIT;
	Keyport__Auth__UserReply *rep = NULL;
	const char *id = gw_param_uuid(r, w, 0);

	if (id == NULL)
		return;
	req.id = (char *)id;
	if (gw_call(r, w, KP_RPC_AUTH_GET_USER, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		users_reply(w, 200, rep);
}

/* PATCH /v1/users/{id} {email?,password?,firstName?,lastName?,role?,
 * disabled?,organizationId?} */
static void
users_patch(gw_request *r, gw_response *w)
{
	Keyport__Auth__UpdateUserRequest req =
	    KEYPORT__AUTH__UPDATE_USER_REQUEST__INIT;
	Keyport__Auth__UserReply *rep = NULL;
	const char *id = gw_param_uuid(r, w, 0);
	const char *email, *pw, *first, *last, *role, *org;
	int disabled = 0, has_disabled = 0, has_org = 0;
	json_t *in;

	if (id == NULL || (in = gw_input_object(r, w)) == NULL)
		return;
	if (gw_input_string(w, in, "email", 0, 254, &email) != 0 ||
	    gw_input_string(w, in, "password", 0, 1024, &pw) != 0 ||
	    gw_input_string(w, in, "firstName", 0, 400, &first) != 0 ||
	    gw_input_string(w, in, "lastName", 0, 400, &last) != 0 ||
	    gw_input_role(w, in, &role) != 0 ||
	    gw_input_bool(w, in, "disabled", 0, &disabled, &has_disabled) !=
	        0 ||
	    users_org(w, in, &org, &has_org) != 0)
		goto out;
	/* the vendor admin cannot lock themselves out */
	if (strcmp(id, r->caller.user_id) == 0 &&
	    ((has_disabled && disabled) ||
	     (role != NULL && strcmp(role, "admin") != 0))) {
		gw_error(w, 409, "CANNOT_MODIFY_SELF",
		         "you cannot disable or demote yourself");
		goto out;
	}
	req.id = (char *)id;
	req.has_email = email != NULL;
	req.email = (char *)(email ? email : "");
	req.has_password = pw != NULL;
	req.password = (char *)(pw ? pw : "");
	req.has_first_name = first != NULL;
	req.first_name = (char *)(first ? first : "");
	req.has_last_name = last != NULL;
	req.last_name = (char *)(last ? last : "");
	req.has_role = role != NULL;
	req.role = (char *)(role ? role : "");
	req.has_disabled = has_disabled;
	req.disabled = disabled;
	req.has_organization_id = has_org;
	req.organization_id = (char *)org;
	if (gw_call(r, w, KP_RPC_AUTH_UPDATE_USER, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		users_reply(w, 200, rep);
out:
	json_decref(in);
}

/* DELETE /v1/users/{id} -> 204 */
static void
users_delete(gw_request *r, gw_response *w)
{
	Keyport__Auth__DeleteUserRequest req =
	    KEYPORT__AUTH__DELETE_USER_REQUEST__INIT;
	const char *id = gw_param_uuid(r, w, 0);

	if (id == NULL)
		return;
	if (strcmp(id, r->caller.user_id) == 0) {
		gw_error(w, 409, "CANNOT_MODIFY_SELF",
		         "you cannot delete yourself");
		return;
	}
	req.id = (char *)id;
	if (gw_call(r, w, KP_RPC_AUTH_DELETE_USER, &req.base, NULL) == KP_OK)
		gw_empty(w, 204);
}

static const gw_route users_routes[] = {
    {"POST", "/v1/users", GW_ADMIN, 8192, users_create},
    {"GET", "/v1/users", GW_ADMIN, 0, users_list},
    {"GET", "/v1/users/{id}", GW_ADMIN, 0, users_get},
    {"PATCH", "/v1/users/{id}", GW_ADMIN, 8192, users_patch},
    {"DELETE", "/v1/users/{id}", GW_ADMIN, 0, users_delete},
};

const gw_route_table gw_routes_users = {
    users_routes, sizeof(users_routes) / sizeof(users_routes[0])};
