/* kp_log: JSON log lines, escaped by jansson, one write(2) per line. */
#include "kp_log.h"

#include "kp_config.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char kp_log_component[32] = "keyport";
static kp_log_level kp_log_threshold = KP_LOG_INFO;
static _Thread_local char kp_log_rid[65];

static const char *const kp_log_names[] = {"debug", "info", "warn", "error"};

void
kp_log_init(const char *component)
{
	const char *lvl = kp_cfg_str(KP_CFG_LOG_LEVEL);

	snprintf(kp_log_component, sizeof(kp_log_component), "%s",
		 component ? component : "keyport");
	if (lvl == NULL)
		return;
	for (int i = 0; i < 4; i++)
		if (strcasecmp(lvl, kp_log_names[i]) == 0)
			kp_log_threshold = (kp_log_level)i;
}

void
kp_log_set_request_id(const char *request_id)
{
	snprintf(kp_log_rid, sizeof(kp_log_rid), "%s",
		 request_id ? request_id : "");
}

const char *
kp_log_request_id(void)
{
	return kp_log_rid;
}

int
kp_log_enabled(kp_log_level level)
{
	return level >= kp_log_threshold && level <= KP_LOG_ERROR;
}

static void
kp_log_v(kp_log_level level, json_t *fields, const char *fmt, va_list ap)
{
	char msg[1024];
	char ts[80];
	struct timespec now;
	struct tm tm;
	json_t *line = NULL;
	char *text = NULL;

	if (!kp_log_enabled(level))
		goto out;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);

	line = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level",
			 kp_log_names[level], "component", kp_log_component,
			 "msg", msg);
	if (line == NULL)
		goto out;
	if (kp_log_rid[0] != '\0')
		json_object_set_new(line, "requestId",
				    json_string(kp_log_rid));
	if (json_is_object(fields))
		json_object_update_missing(line, fields);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER |
	                            JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
	if (text == NULL)
		goto out;
	{
		size_t n = strlen(text);
		text[n] = '\n'; /* replaces the NUL: we write n + 1 bytes */
		if (write(STDERR_FILENO, text, n + 1) < 0) {
			/* nowhere left to report a failing stderr */
		}
	}
out:
	free(text);
	json_decref(line);
	json_decref(fields);
}

void
kp_log(kp_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kp_log_v(level, NULL, fmt, ap);
	va_end(ap);
}

void
kp_log_fields(kp_log_level level, json_t *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kp_log_v(level, fields, fmt, ap);
	va_end(ap);
}
