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

/* gw_body_static answers bytes that outlive the daemon (not copied). */
void gw_body_static(gw_response *w, int status, const char *content_type,
                    const void *data, size_t len);

/* gw_file answers len bytes of fd from offset, sent with sendfile where the
 * platform can; fd is stolen (closed after sending, or by the reset). */
void gw_file(gw_response *w, int status, const char *content_type, int fd,
             uint64_t offset, uint64_t len);

/* gw_response_reset frees what the response owns and zeroes it. */
void gw_response_reset(gw_response *w);

/* gw_header adds a response header (at most GW_MAX_HEADERS); name is
 * static, value is copied. A Cache-Control given here replaces the default
 * `no-store`. */
void gw_header(gw_response *w, const char *name, const char *value);

#endif
