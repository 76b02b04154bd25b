/* kp_err: the one status convention of Keyport, and its one mapping table.
 *
 * Every function that can fail returns KP_OK (0) or a kp_status. Errors of
 * libraries are translated into it once, at their boundary (kp_db for
 * SQLSTATE, kp_rpc for NNG); the gateway maps it to HTTP with the table in
 * kp_err.c. The numbering equals keyport.Status in proto/keyport.proto.
 */
#ifndef KP_ERR_H
#define KP_ERR_H

typedef enum kp_status {
	KP_OK = 0,
	KP_EINVAL = 1,       /* 400 INVALID_INPUT */
	KP_EUNAUTH = 2,      /* 401 UNAUTHENTICATED */
	KP_EFORBIDDEN = 3,   /* 403 FORBIDDEN */
	KP_ENOTFOUND = 4,    /* 404 NOT_FOUND */
	KP_ECONFLICT = 5,    /* 409 CONFLICT */
	KP_ETOOLARGE = 6,    /* 413 PAYLOAD_TOO_LARGE */
	KP_ERATELIMIT = 7,   /* 429 RATE_LIMITED */
	KP_EUNAVAIL = 8,     /* 503 SERVICE_UNAVAILABLE */
	KP_EINTERNAL = 9,    /* 500 INTERNAL */
	KP_STATUS_COUNT = 10 /* not a status: the size of the table */
} kp_status;

/* kp_strerror returns a static, human-readable text for a status. */
const char *kp_strerror(int status);

/* kp_err_http returns the HTTP status for a kp_status (500 for unknown). */
int kp_err_http(int status);

/* kp_err_code returns the default API error code (UPPER_SNAKE, static) for a
 * status, used when a service did not name a more specific one. */
const char *kp_err_code(int status);

/* kp_err_valid reports whether the integer is a known kp_status. */
int kp_err_valid(int status);

#endif
