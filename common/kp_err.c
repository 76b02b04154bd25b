/* kp_err: the table from kp_status to text, HTTP status and API code. */
#include "kp_err.h"

static const struct {
	int http;
	const char *code;
	const char *text;
} kp_err_table[KP_STATUS_COUNT] = {
	[KP_OK] = {200, "OK", "success"},
	[KP_EINVAL] = {400, "INVALID_INPUT", "invalid input"},
	[KP_EUNAUTH] = {401, "UNAUTHENTICATED", "authentication required"},
	[KP_EFORBIDDEN] = {403, "FORBIDDEN", "forbidden"},
	[KP_ENOTFOUND] = {404, "NOT_FOUND", "not found"},
	[KP_ECONFLICT] = {409, "CONFLICT", "conflict"},
	[KP_ETOOLARGE] = {413, "PAYLOAD_TOO_LARGE", "payload too large"},
	[KP_ERATELIMIT] = {429, "RATE_LIMITED", "too many requests"},
	[KP_EUNAVAIL] = {503, "SERVICE_UNAVAILABLE", "service unavailable"},
	[KP_EINTERNAL] = {500, "INTERNAL", "internal error"},
};

int
kp_err_valid(int status)
{
	return status >= 0 && status < KP_STATUS_COUNT;
}

const char *
kp_strerror(int status)
{
	return kp_err_valid(status) ? kp_err_table[status].text
				    : "unknown error";
}

int
kp_err_http(int status)
{
	return kp_err_valid(status) ? kp_err_table[status].http : 500;
}

const char *
kp_err_code(int status)
{
	return kp_err_valid(status) ? kp_err_table[status].code : "INTERNAL";
}
