/* gw_response: the answer of a route. */
#include "gw_response.h"

#include "gw_jw.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void gw_response_drop(gw_response *w);

void
gw_body(gw_response *w, int status, const char *content_type, const void *data,
        size_t len)
{
	gw_response_drop(w);
	w->body = malloc(len + 1);
	w->len = 0;
	w->status = status;
	w->content_type = content_type;
	if (w->body == NULL) {
		w->status = 500;
		return;
	}
	if (len > 0)
		memcpy(w->body, data, len);
	w->body[len] = '\0';
	w->len = len;
}

void
gw_json(gw_response *w, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	gw_response_drop(w);
	w->content_type = "application/json; charset=utf-8";
	if (text == NULL) {
		/* never an empty 500: the error still has the spec's shape */
		static const char internal[] =
		    "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"the "
		    "answer could not be encoded\"}}";
		w->body = (char *)internal;
		w->body_static = 1;
		w->len = sizeof(internal) - 1;
		w->status = 500;
		return;
	}
	w->body = text;
	w->len = strlen(text);
	w->status = status;
}

void
gw_error(gw_response *w, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* the text may quote input, cut by a byte count (or by msg's size) */
	gw_utf8_clean(msg);
	gw_json(
	    w, status,
	    json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
	snprintf(w->code, sizeof(w->code), "%s", code); /* for the logs */
}

void
gw_empty(gw_response *w, int status)
{
	gw_response_drop(w);
	w->status = status;
	w->content_type = NULL;
}

void
gw_header(gw_response *w, const char *name, const char *value)
{
	if (w->nheaders == GW_MAX_HEADERS)
		return;
	w->headers[w->nheaders][0] = name;
	w->header_values[w->nheaders] = strdup(value);
	w->headers[w->nheaders][1] = w->header_values[w->nheaders];
	if (w->header_values[w->nheaders] != NULL)
		w->nheaders++;
}

/* Frees what the response owns now, before it answers something else. */
static void
gw_response_drop(gw_response *w)
{
	w->code[0] = '\0';
	if (!w->body_static)
		free(w->body);
	if (w->has_fd)
		close(w->fd);
	w->body = NULL;
	w->body_static = 0;
	w->has_fd = 0;
	w->len = 0;
}

void
gw_body_static(gw_response *w, int status, const char *content_type,
               const void *data, size_t len)
{
	gw_response_drop(w);
	w->body = (char *)data;
	w->body_static = 1;
	w->len = len;
	w->status = status;
	w->content_type = content_type;
}

void
gw_file(gw_response *w, int status, const char *content_type, int fd,
        uint64_t offset, uint64_t len)
{
	gw_response_drop(w);
	w->has_fd = 1;
	w->fd = fd;
	w->fd_offset = offset;
	w->len = (size_t)len;
	w->status = status;
	w->content_type = content_type;
}

void
gw_response_reset(gw_response *w)
{
	gw_response_drop(w);
	for (int i = 0; i < w->nheaders; i++)
		free(w->header_values[i]);
	memset(w, 0, sizeof(*w));
}
