/* gw: the HTTP gateway's shared types: requests, responses, routes.
 *
 * libmicrohttpd delivers a request; gw_http matches it against the route
 * table (gw_routes.c collects each area's table), authenticates it when the
 * route asks for it, and calls the route's handler on the complete request.
 * A handler reads its input (gw_input.h), calls one service over NNG with
 * gw_call (gw_call.h), and answers with gw_json / gw_error
 * (gw_response.h). A paged list route is one gw_list_rpc call (gw_list.h).
 * This header holds only the types those modules share.
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
/* A route body_limit that streams the body to a file (gw_file.h). */
#define GW_BODY_STREAM ((size_t)-1)
#define GW_MAX_HEADERS 10

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
	int tls;           /* HTTPS (KEYPORT_TLS_CERT/KEY), with HSTS */
	int tls_slot;      /* which of the two below the daemon uses */
	char *tls_cert[2], *tls_key[2]; /* PEM text, owned (reload swaps) */
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
	struct gw_upload
	    *upload;            /* a GW_BODY_STREAM route's body (gw_file.h) */
	Keyport__Caller caller; /* filled for authenticated routes */
	char caller_buf[3][64]; /* storage of the caller's strings */
	int authenticated;
	char session_id[64]; /* the access token's session ("" for PATs) */
	char license_id[40]; /* for the request log, when a route learns it */
} gw_request;

typedef struct gw_response {
	int status;
	char *body; /* malloc'd, owned by the response (unless body_static) */
	size_t len; /* of body, or of the file range */
	int body_static; /* body is borrowed and outlives the daemon */
	int has_fd;      /* answer len bytes of fd from fd_offset (gw_file) */
	int fd;          /* owned by the response; libmicrohttpd closes it */
	uint64_t fd_offset;
	const char *content_type;
	char code[48]; /* the error code of a gw_error answer ("" if none) */
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

#endif
