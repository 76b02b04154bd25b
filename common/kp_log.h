/* kp_log: structured JSON log lines on stderr, one object per line.
 *
 * Each line carries the time, level, the process's component name and the
 * request id of the calling thread (set by the RPC server or the gateway for
 * the duration of a request). Never pass a password, token, key or hash to
 * these functions: log ids and outcomes, not secrets.
 */
#ifndef KP_LOG_H
#define KP_LOG_H

#include <jansson.h>

typedef enum kp_log_level {
	KP_LOG_DEBUG = 0,
	KP_LOG_INFO = 1,
	KP_LOG_WARN = 2,
	KP_LOG_ERROR = 3,
} kp_log_level;

/* kp_log_init sets the component name (copied) and reads KEYPORT_LOG_LEVEL
 * (debug, info, warn, error; default info). Call once, before threads. */
void kp_log_init(const char *component);

/* kp_log_set_request_id sets (copies, truncated to 64 bytes) or clears (NULL)
 * the request id attached to this thread's log lines. */
void kp_log_set_request_id(const char *request_id);

/* kp_log_request_id returns this thread's request id, or "" when none. The
 * pointer is valid until the next kp_log_set_request_id on this thread. */
const char *kp_log_request_id(void);

/* kp_log writes one line at the given level when it passes the threshold.
 * The message is printf-formatted; the line is written with one write(2) so
 * lines of different threads never interleave. */
void kp_log(kp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* kp_log_fields is kp_log with structured fields: the members of fields
 * (a JSON object; the reference is stolen, NULL allowed) become keys of the
 * line beside ts, level, component, msg and requestId (which win on a
 * clash). */
void kp_log_fields(kp_log_level level, json_t *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* kp_log_enabled says whether a line at level would be written. */
int kp_log_enabled(kp_log_level level);

#define kp_log_debug(...) kp_log(KP_LOG_DEBUG, __VA_ARGS__)
#define kp_log_info(...)  kp_log(KP_LOG_INFO, __VA_ARGS__)
#define kp_log_warn(...)  kp_log(KP_LOG_WARN, __VA_ARGS__)
#define kp_log_error(...) kp_log(KP_LOG_ERROR, __VA_ARGS__)

#endif
