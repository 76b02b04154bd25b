/* gw_response: writing the answer of a route: JSON, errors, bytes, headers.
 *
 * Everything given is copied or stolen as said; the response owns its body
 * and header values until gw_http has sent it. */
#ifndef GW_RESPONSE_H
#define GW_RESPONSE_H

#include "gw.h"

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

#endif
