/* gw_input: reading a route's input: the JSON body, query and path parameters.
 *
 * Every reader answers 400 (or 404 for an impossible id) naming the field
 * itself and returns -1 or NULL, so a handler only returns. */
#ifndef GW_INPUT_H
#define GW_INPUT_H

#include "gw.h"

/* gw_id_canon writes a UUID in lower case, in place; other text is left
 * as it is. Every id is made canonical at the boundary (path, query and
 * body ids), as the services compare ids as text. */
void gw_id_canon(char *s);

/* gw_input_json_type: whether a Content-Type (NULL: none given) is JSON:
 * application/json or application/...+json, any parameters. */
int gw_input_json_type(const char *content_type);

/* gw_input_object parses the body as a JSON object. On failure writes 400
 * INVALID_INPUT (415 UNSUPPORTED_MEDIA_TYPE for a Content-Type that is
 * not JSON) and returns NULL. UUIDs under id keys ("id", "...Id",
 * "...Ids") are lower-cased (gw_id_canon). The caller owns (json_decref) the
 * result. */
json_t *gw_input_object(gw_request *r, gw_response *w);

/* gw_input_string reads field `name` of obj as a string of at most maxlen
 * characters (code points, as OpenAPI's maxLength; UTF-8 checked by
 * jansson). Missing: *out = NULL, and 400 when
 * required. Wrong type or too long: 400 naming the field. Returns 0 or -1
 * (response written). *out is borrowed from obj. */
int gw_input_string(gw_response *w, json_t *obj, const char *name, int required,
                    size_t maxlen, const char **out);

/* gw_input_role reads the optional "role" field: absent is *out = NULL;
 * "" or a wrong type is 400 (an empty role is not "user"). Returns 0 or
 * -1. The service checks the word itself. */
int gw_input_role(gw_response *w, json_t *obj, const char **out);

/* gw_input_int reads an integer field in [min, max]; *present tells
 * whether it was there (may be NULL when required). Returns 0 or -1. */
int gw_input_int(gw_response *w, json_t *obj, const char *name, int required,
                 int64_t min, int64_t max, int64_t *out, int *present);

/* gw_input_bool reads a boolean field; returns 0 or -1. */
int gw_input_bool(gw_response *w, json_t *obj, const char *name, int required,
                  int *out, int *present);

/* gw_query returns a query-string argument (borrowed) or NULL. */
const char *gw_query(gw_request *r, const char *name);

/* gw_page reads ?page= (≥1, default 1) and ?limit= (1..100, default 50);
 * returns 0 or -1 with 400 written. */
int gw_page(gw_request *r, gw_response *w, int *page, int *limit);

/* gw_param_uuid returns path parameter i when it is a UUID; otherwise
 * writes 404 NOT_FOUND (an id that cannot exist is simply not found) and
 * returns NULL. */
const char *gw_param_uuid(gw_request *r, gw_response *w, int i);

#endif
