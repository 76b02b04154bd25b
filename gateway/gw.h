/* gw: the HTTP gateway's shared types: requests, responses, routes.
 *
 * libmicrohttpd delivers a request; gw_http matches it against the route
 * table (gw_routes.c collects each area's table), authenticates it when the
 * route asks for it, and calls the route's handler on the complete request.
 * A handler turns JSON into a protobuf request, calls one service over NNG
 * with gw_call, and turns the reply into JSON with gw_json / gw_error. A
 * paged list route is one gw_list_rpc call.
 */
#ifndef GW_H
#define GW_H

#include "kp_pgarr.h" /* kp_uuid_valid */
#include "kp_rpc.h"
#include "rpc/kp_contract.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

#define GW_MAX_PARAMS  4
#define GW_MAX_HEADERS 6

/* Who may call a route. */
typedef enum gw_access {
	GW_PUBLIC = 0, /* no token needed (client routes use the license key) */
	GW_USER,       /* any signed-in user: admin, organization-admin, user */
	GW_ORG_ADMIN,  /* organization-admin (and no one else) */
	GW_ADMIN,      /* the vendor admin */
} gw_access;

/* The services the gateway talks to, indexes into gw_state.clients, in the
 * order of common/kp_services.def (the same as kp_services_id). */
typedef enum gw_service {
#define KP_SERVICE(id, name, port) GW_##id,
#include "kp_services.def"
#undef KP_SERVICE
	GW_NSERVICES,
} gw_service;

typedef struct gw_state {
	kp_rpc_client *clients[GW_NSERVICES];
	size_t body_limit; /* default for JSON routes */
	int64_t started;   /* unix time */
} gw_state;

typedef struct gw_request {
	gw_state *gw;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	char request_id[65];
	const char *params[GW_MAX_PARAMS]; /* {…} segments of the pattern */
	char *body;                       /* NUL-terminated; may be NULL */
	size_t body_len;
	Keyport__Caller caller; /* filled for authenticated routes */
	char caller_buf[3][64]; /* storage of the caller's strings */
	int authenticated;
	char session_id[64]; /* the access token's session ("" for PATs) */
} gw_request;

typedef struct gw_response {
	int status;
	char *body; /* malloc'd, owned by the response */
	size_t len;
	const char *content_type;
	const char *headers[GW_MAX_HEADERS][2]; /* static names, copied values */
	char *header_values[GW_MAX_HEADERS];
	int nheaders;
} gw_response;

/* A handler answers with gw_json, gw_error, gw_empty or gw_body. */
typedef void (*gw_handler)(gw_request *r, gw_response *w);

typedef struct gw_route {
	const char *method;  /* "GET", "POST", ... */
	const char *pattern; /* "/v1/licenses/{id}/activations" */
	gw_access access;
	size_t body_limit; /* 0: gw_state.body_limit */
	gw_handler handler;
} gw_route;

/* A named table of routes; gw_routes.c lists every table. */
typedef struct gw_route_table {
	const gw_route *routes;
	size_t count;
} gw_route_table;

/* ---- responses (gw_http.c) -------------------------------------------- */

/* gw_json answers status with the JSON value (reference stolen; NULL
 * answers 500). */
void gw_json(gw_response *w, int status, json_t *body);

/* gw_error answers {"error":{"code","message"}}; message is printf-style. */
void gw_error(gw_response *w, int status, const char *code, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));

/* gw_empty answers a status with no body (204). */
void gw_empty(gw_response *w, int status);

/* gw_body answers raw bytes (copied) with a content type. */
void gw_body(gw_response *w, int status, const char *content_type,
	     const void *data, size_t len);

/* gw_header adds a response header; name is static, value is copied. */
void gw_header(gw_response *w, const char *name, const char *value);

/* ---- RPC (gw_http.c) --------------------------------------------------- */

/* gw_call calls method m of the contract (rpc/kp_contract.h, e.g.
 * KP_RPC_AUTH_LOGIN) on its service with the request's caller and request
 * id. On KP_OK and when reply is not NULL, *reply (m's reply message) is
 * owned by the caller (free with protobuf_c_message_free_unpacked). On
 * failure the error response is already written into w (status from the
 * kp_err table, the service's code and message, Retry-After when rate
 * limited) and the status is returned. The contract's idempotent flag lets
 * NNG resend the call (to another replica) when no answer came within a
 * third of the timeout: only methods whose second answer is the first
 * (reads, heartbeats) have it. A resent delete would answer 404 for what
 * the first attempt deleted, and a resent activation 200 instead of 201. */
int gw_call(gw_request *r, gw_response *w, const kp_rpc_desc *m,
            const ProtobufCMessage *req, ProtobufCMessage **reply);

/* ---- input (gw_input.c) ------------------------------------------------ */

/* gw_input_object parses the body as a JSON object. On failure writes 400
 * INVALID_INPUT and returns NULL. The caller owns (json_decref) the result. */
json_t *gw_input_object(gw_request *r, gw_response *w);

/* gw_input_string reads field `name` of obj as a string of at most maxlen
 * bytes (UTF-8 checked by jansson). Missing: *out = NULL, and 400 when
 * required. Wrong type or too long: 400 naming the field. Returns 0 or -1
 * (response written). *out is borrowed from obj. */
int gw_input_string(gw_response *w, json_t *obj, const char *name,
		    int required, size_t maxlen, const char **out);

/* gw_input_int reads an integer field in [min, max]; *present tells
 * whether it was there (may be NULL when required). Returns 0 or -1. */
int gw_input_int(gw_response *w, json_t *obj, const char *name, int required,
		 int64_t min, int64_t max, int64_t *out, int *present);

/* gw_input_bool reads a boolean field; returns 0 or -1. */
int gw_input_bool(gw_response *w, json_t *obj, const char *name,
		  int required, int *out, int *present);

/* gw_query returns a query-string argument (borrowed) or NULL. */
const char *gw_query(gw_request *r, const char *name);

/* gw_page reads ?page= (≥1, default 1) and ?limit= (1..100, default 50);
 * returns 0 or -1 with 400 written. */
int gw_page(gw_request *r, gw_response *w, int *page, int *limit);


/* gw_param_uuid returns path parameter i when it is a UUID; otherwise
 * writes 404 NOT_FOUND (an id that cannot exist is simply not found) and
 * returns NULL. */
const char *gw_param_uuid(gw_request *r, gw_response *w, int i);

/* gw_list wraps items (stolen) in {items,page,limit,total}. */
json_t *gw_list(json_t *items, int page, int limit, int64_t total);

/* ---- list routes (gw_input.c) ------------------------------------------ */

/* The JSON form of one item of a list reply (a new reference; NULL skips
 * the item). The item is borrowed. */
typedef json_t *(*gw_item_json)(const ProtobufCMessage *item);

/* The JSON text of one item of a list reply, appended to w (gw_jw.h): the
 * fast form of gw_item_json for the hot lists. The item is borrowed. */
struct gw_jw;
typedef void (*gw_item_text)(struct gw_jw *w, const ProtobufCMessage *item);

/* A list route's own query filters: reads them into req after the page
 * parameters were read; returns 0, or -1 with 400 written. */
typedef int (*gw_list_filter)(gw_request *r, gw_response *w,
                              ProtobufCMessage *req);

/* gw_list_rpc answers a paged list route: reads ?page= and ?limit=
 * (gw_page) into req's int32 fields "page" and "limit", runs filter (may be
 * NULL), calls method m (gw_call), converts every item of the
 * reply's repeated message field items_field with to_json and answers 200
 * {items,page,limit,total} (total: the reply's int64 field "total").
 * req and the strings it points to are borrowed (the caller's, typically
 * on its stack); the reply is unpacked and freed inside. Every failure is
 * answered in w (400 from gw_page or filter, the service's error, 500 when
 * req or m's reply lack those fields). */
void gw_list_rpc(gw_request *r, gw_response *w, const kp_rpc_desc *m,
                 ProtobufCMessage *req, const char *items_field,
                 gw_item_json to_json, gw_list_filter filter);

/* gw_list_rpc_text is gw_list_rpc with to_text writing each item's JSON
 * straight into the response text: the same answer, without building a
 * jansson tree (~10x less CPU for a page of 50 licenses). */
void gw_list_rpc_text(gw_request *r, gw_response *w, const kp_rpc_desc *m,
                      ProtobufCMessage *req, const char *items_field,
                      gw_item_text to_text, gw_list_filter filter);

#endif
