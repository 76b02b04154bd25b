/* routes_auth: sessions (/v1/auth/...), the caller's profile (/v1/me) and the
 * vendor admin's personal access tokens. */
#include "gw.h"
#include "gw_call.h"
#include "gw_input.h"
#include "gw_list.h"
#include "gw_response.h"
#include "gw_user.h"
#include "kp_config.h"
#include "kp_err.h"
#include "proto/auth.pb-c.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* The connection's peer address (X-Forwarded-For is not trusted). */
static void
auth_peer(gw_request *r, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	    r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t sl;

	snprintf(buf, len, "unknown");
	if (sa == NULL)
		return;
	sl = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                               : sizeof(struct sockaddr_in);
	if (getnameinfo(sa, sl, buf, (socklen_t)len, NULL, 0, NI_NUMERICHOST) !=
	    0)
		snprintf(buf, len, "unknown");
}

/* ---- the portal's session cookie -------------------------------------------
 * A login that asks for it ({"refreshCookie": true}) gets its refresh token
 * as an HttpOnly cookie scoped to /v1/auth, never in the JSON, so page
 * scripts never hold it. Refresh and logout take the cookie only with the
 * header AUTH_SESSION_HEADER: a cross-site form cannot send a custom header,
 * a defence beyond SameSite=Strict. The JSON form stays for API clients. */
#define AUTH_COOKIE         "kp_refresh"
#define AUTH_SESSION_HEADER "X-Keyport-Session"

/* Sets (token) or clears (NULL) the cookie; Secure when the client reached
 * us over TLS (a TLS-terminating proxy says so in X-Forwarded-Proto). */
static void
auth_cookie(gw_request *r, gw_response *w, const char *token)
{
	const char *proto = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");
	int secure = proto != NULL && strcasecmp(proto, "https") == 0;
	char v[512];

	snprintf(v, sizeof(v),
	         "%s=%s; Path=/v1/auth; Max-Age=%lld; HttpOnly; "
	         "SameSite=Strict%s",
	         AUTH_COOKIE, token ? token : "",
	         token ? (long long)kp_cfg_int(KP_CFG_REFRESH_TTL_DAYS) * 86400
	               : 0LL,
	         secure ? "; Secure" : "");
	gw_header(w, "Set-Cookie", v);
}

/* The refresh token of a refresh or logout: the body's refreshToken, else
 * the cookie when the session header says so. Answers 400 (nothing given)
 * or 403 (a cookie without the header) and returns -1. *from_cookie tells
 * which. */
static int
auth_refresh_token(gw_request *r, gw_response *w, json_t *in, const char **rt,
                   int *from_cookie)
{
	const char *hdr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	                                              AUTH_SESSION_HEADER);
	const char *cookie =
	    MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);

	*from_cookie = 0;
	if (gw_input_string(w, in, "refreshToken", 0, 256, rt) != 0)
		return -1;
	if (*rt != NULL)
		return 0;
	if (hdr != NULL && strcmp(hdr, "cookie") == 0) {
		if (cookie == NULL || *cookie == '\0' || strlen(cookie) > 256) {
			gw_error(w, 401, "UNAUTHENTICATED",
			         "no session: sign in again");
			return -1;
		}
		*rt = cookie;
		*from_cookie = 1;
		return 0;
	}
	if (cookie != NULL && *cookie != '\0') {
		gw_error(w, 403, "SESSION_HEADER_REQUIRED",
		         "the session cookie is taken only with the header "
		         "%s: cookie",
		         AUTH_SESSION_HEADER);
		return -1;
	}
	gw_error(w, 400, "INVALID_INPUT", "refreshToken is required");
	return -1;
}

/* Answers a token pair; in cookie mode the refresh token goes in the
 * cookie and not in the JSON. */
static void
auth_pair_json(gw_request *r, gw_response *w, Keyport__Auth__TokenPair *rep,
               int cookie)
{
	json_t *o = json_pack(
	    "{s:s, s:I, s:o}", "accessToken", rep->access_token, "expiresIn",
	    (json_int_t)rep->expires_in, "user", gw_user_json(rep->user));

	if (o != NULL && !cookie)
		json_object_set_new(o, "refreshToken",
		                    json_string(rep->refresh_token));
	gw_json(w, 200, o);
	if (cookie && w->status == 200)
		auth_cookie(r, w, rep->refresh_token);
	keyport__auth__token_pair__free_unpacked(rep, NULL);
}

/* POST /v1/auth/login {email,password,refreshCookie?} */
static void
auth_login(gw_request *r, gw_response *w)
{
	Keyport__Auth__LoginRequest req = KEYPORT__AUTH__LOGIN_REQUEST__INIT;
	Keyport__Auth__TokenPair *rep = NULL;
	json_t *in = gw_input_object(r, w);
	const char *email, *pw;
	int cookie = 0;
	char peer[64];

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "email", 1, 254, &email) != 0 ||
	    gw_input_string(w, in, "password", 1, 1024, &pw) != 0 ||
	    gw_input_bool(w, in, "refreshCookie", 0, &cookie, NULL) != 0)
		goto out;
	auth_peer(r, peer, sizeof(peer));
	req.email = (char *)email;
	req.password = (char *)pw;
	req.client_address = peer;
	if (gw_call(r, w, KP_RPC_AUTH_LOGIN, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		auth_pair_json(r, w, rep, cookie);
out:
	json_decref(in);
}

/* The input of a refresh or logout: its body (JSON, or nothing at all in
 * cookie mode), which *rt points into, and the refresh token as
 * auth_refresh_token reads it. Returns the body (the caller decrefs) or
 * NULL with the failure answered. */
static json_t *
auth_session_in(gw_request *r, gw_response *w, const char **rt, int *cookie)
{
	json_t *in = r->body_len == 0 ? json_object() : gw_input_object(r, w);

	if (in != NULL && auth_refresh_token(r, w, in, rt, cookie) != 0) {
		json_decref(in);
		in = NULL;
	}
	return in;
}

/* POST /v1/auth/refresh {refreshToken} or, for the portal, the cookie */
static void
auth_refresh(gw_request *r, gw_response *w)
{
	Keyport__Auth__RefreshRequest req =
	    KEYPORT__AUTH__REFRESH_REQUEST__INIT;
	Keyport__Auth__TokenPair *rep = NULL;
	const char *rt;
	int cookie;
	json_t *in = auth_session_in(r, w, &rt, &cookie);

	if (in == NULL)
		return;
	req.refresh_token = (char *)rt;
	if (gw_call(r, w, KP_RPC_AUTH_REFRESH, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		auth_pair_json(r, w, rep, cookie);
	else if (cookie && w->status == 401)
		auth_cookie(r, w, NULL); /* a dead session: forget it */
	json_decref(in);
}

/* POST /v1/auth/logout {refreshToken} or the cookie -> 204 */
static void
auth_logout(gw_request *r, gw_response *w)
{
	Keyport__Auth__LogoutRequest req = KEYPORT__AUTH__LOGOUT_REQUEST__INIT;
	const char *rt;
	int cookie;
	json_t *in = auth_session_in(r, w, &rt, &cookie);

	if (in == NULL)
		return;
	req.refresh_token = (char *)rt;
	if (gw_call(r, w, KP_RPC_AUTH_LOGOUT, &req.base, NULL) == KP_OK)
		gw_empty(w, 204);
	if (cookie && (w->status == 204 || w->status == 401))
		auth_cookie(r, w, NULL);
	json_decref(in);
}

/* Answers a UserReply as the profile. */
static void
auth_user_reply(gw_response *w, int status, Keyport__Auth__UserReply *rep)
{
	gw_json(w, status, gw_user_json(rep->user));
	keyport__auth__user_reply__free_unpacked(rep, NULL);
}

/* GET /v1/me */
static void
auth_me(gw_request *r, gw_response *w)
{
	Keyport__Auth__GetUserRequest req =
	    KEYPORT__AUTH__GET_USER_REQUEST__INIT;
	Keyport__Auth__UserReply *rep = NULL;

	req.id = r->caller.user_id;
	if (gw_call(r, w, KP_RPC_AUTH_GET_USER, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		auth_user_reply(w, 200, rep);
}

/* PATCH /v1/me {firstName?,lastName?,email?} */
static void
auth_me_patch(gw_request *r, gw_response *w)
{
	Keyport__Auth__UpdateUserRequest req =
	    KEYPORT__AUTH__UPDATE_USER_REQUEST__INIT;
	Keyport__Auth__UserReply *rep = NULL;
	json_t *in = gw_input_object(r, w);
	const char *first, *last, *email;

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "firstName", 0, 400, &first) != 0 ||
	    gw_input_string(w, in, "lastName", 0, 400, &last) != 0 ||
	    gw_input_string(w, in, "email", 0, 254, &email) != 0)
		goto out;
	req.id = r->caller.user_id;
	req.has_first_name = first != NULL;
	req.first_name = (char *)(first ? first : "");
	req.has_last_name = last != NULL;
	req.last_name = (char *)(last ? last : "");
	req.has_email = email != NULL;
	req.email = (char *)(email ? email : "");
	if (gw_call(r, w, KP_RPC_AUTH_UPDATE_USER, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		auth_user_reply(w, 200, rep);
out:
	json_decref(in);
}

/* POST /v1/me/password {currentPassword,newPassword} -> 204 */
static void
auth_me_password(gw_request *r, gw_response *w)
{
	Keyport__Auth__ChangePasswordRequest req =
	    KEYPORT__AUTH__CHANGE_PASSWORD_REQUEST__INIT;
	json_t *in = gw_input_object(r, w);
	const char *cur, *nw;

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "currentPassword", 1, 1024, &cur) != 0 ||
	    gw_input_string(w, in, "newPassword", 1, 1024, &nw) != 0)
		goto out;
	req.current_password = (char *)cur;
	req.new_password = (char *)nw;
	req.session_id = r->session_id;
	if (gw_call(r, w, KP_RPC_AUTH_CHANGE_PASSWORD, &req.base, NULL) ==
	    KP_OK)
		gw_empty(w, 204);
out:
	json_decref(in);
}

/* ---- personal access tokens -------------------------------------------- */

static json_t *
auth_pat_json(const Keyport__Auth__PersonalAccessToken *t)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:o, s:o, s:s}", "id", t->id, "name", t->name,
	    "expiresAt",
	    t->expires_at[0] ? json_string(t->expires_at) : json_null(),
	    "lastUsedAt",
	    t->last_used_at[0] ? json_string(t->last_used_at) : json_null(),
	    "createdAt", t->created_at);

	if (o != NULL && t->token != NULL && t->token[0] != '\0')
		json_object_set_new(o, "token", json_string(t->token));
	return o;
}

/* POST /v1/personal-access-tokens {name, expiresInDays?} -> 201 */
static void
auth_pat_create(gw_request *r, gw_response *w)
{
	Keyport__Auth__CreatePatRequest req =
	    KEYPORT__AUTH__CREATE_PAT_REQUEST__INIT;
	Keyport__Auth__PatReply *rep = NULL;
	json_t *in = gw_input_object(r, w);
	const char *name;
	int64_t days = 0;

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "name", 1, 100, &name) != 0 ||
	    gw_input_int(w, in, "expiresInDays", 0, 0, 3650, &days, NULL) != 0)
		goto out;
	req.name = (char *)name;
	req.expires_in_days = days;
	if (gw_call(r, w, KP_RPC_AUTH_CREATE_PERSONAL_ACCESS_TOKEN, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK) {
		gw_json(w, 201, auth_pat_json(rep->token));
		keyport__auth__pat_reply__free_unpacked(rep, NULL);
	}
out:
	json_decref(in);
}

static json_t *
auth_pat_item_json(const ProtobufCMessage *m)
{
	return auth_pat_json((const Keyport__Auth__PersonalAccessToken *)m);
}

/* GET /v1/personal-access-tokens */
static void
auth_pat_list(gw_request *r, gw_response *w)
{
	Keyport__Auth__ListPatsRequest req =
	    KEYPORT__AUTH__LIST_PATS_REQUEST__INIT;

	gw_list_rpc(r, w, KP_RPC_AUTH_LIST_PERSONAL_ACCESS_TOKENS, &req.base,
	            "tokens", auth_pat_item_json, NULL);
}

/* DELETE /v1/personal-access-tokens/{id} -> 204 */
static void
auth_pat_delete(gw_request *r, gw_response *w)
{
	Keyport__Auth__DeletePatRequest req =
	    KEYPORT__AUTH__DELETE_PAT_REQUEST__INIT;
	const char *id = gw_param_uuid(r, w, 0);

	if (id == NULL)
		return;
	req.id = (char *)id;
	if (gw_call(r, w, KP_RPC_AUTH_DELETE_PERSONAL_ACCESS_TOKEN, &req.base,
	            NULL) == KP_OK)
		gw_empty(w, 204);
}

static const gw_route auth_routes[] = {
    {"POST", "/v1/auth/login", GW_PUBLIC, 4096, auth_login},
    {"POST", "/v1/auth/refresh", GW_PUBLIC, 4096, auth_refresh},
    {"POST", "/v1/auth/logout", GW_PUBLIC, 4096, auth_logout},
    {"GET", "/v1/me", GW_USER, 0, auth_me},
    {"PATCH", "/v1/me", GW_USER, 4096, auth_me_patch},
    {"POST", "/v1/me/password", GW_USER, 4096, auth_me_password},
    {"POST", "/v1/personal-access-tokens", GW_ADMIN, 4096, auth_pat_create},
    {"GET", "/v1/personal-access-tokens", GW_ADMIN, 0, auth_pat_list},
    {"DELETE", "/v1/personal-access-tokens/{id}", GW_ADMIN, 0, auth_pat_delete},
};

const gw_route_table gw_routes_auth = {auth_routes, sizeof(auth_routes) /
                                                        sizeof(auth_routes[0])};
