/* gw_jw: JSON text written straight into one buffer (see gw_jw.h). */
#include "gw_jw.h"

#include "gw_response.h"

#include <stdio.h>
#include <stdlib.h>

static int
jw_reserve(gw_jw *w, size_t n)
{
	size_t cap;
	char *b;

	if (w->failed)
		return -1;
	if (w->len + n + 1 <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n + 1)
		cap *= 2;
	if ((b = realloc(w->buf, cap)) == NULL) {
		w->failed = 1;
		return -1;
	}
	w->buf = b;
	w->cap = cap;
	return 0;
}

void
gw_jw_raw(gw_jw *w, const char *s, size_t n)
{
	if (jw_reserve(w, n) != 0)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

size_t
gw_utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned v;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07;
	} else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
	    (n == 4 && (v < 0x10000 || v > 0x10FFFF)))
		return 0;
	return n;
}

void
gw_jw_str(gw_jw *w, const char *str)
{
	static const char hex[] = "0123456789ABCDEF"; /* as jansson */
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t run = 0;

	gw_jw_lit(w, "\"");
	/* copy runs of plain bytes at once; escape the rest one by one */
	while (s[run] != '\0') {
		unsigned char c = s[run];
		size_t n;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			continue;
		}
		if (c >= 0x80 && (n = gw_utf8_len(s + run)) > 0) {
			run += n;
			continue;
		}
		gw_jw_raw(w, (const char *)s, run);
		s += run;
		run = 0;
		switch (c) {
		case '"':
			gw_jw_lit(w, "\\\"");
			break;
		case '\\':
			gw_jw_lit(w, "\\\\");
			break;
		case '\n':
			gw_jw_lit(w, "\\n");
			break;
		case '\r':
			gw_jw_lit(w, "\\r");
			break;
		case '\t':
			gw_jw_lit(w, "\\t");
			break;
		case '\b':
			gw_jw_lit(w, "\\b");
			break;
		case '\f':
			gw_jw_lit(w, "\\f");
			break;
		default:
			if (c < 0x20) {
				char u[6] = {'\\', 'u',         '0',
				             '0',  hex[c >> 4], hex[c & 15]};

				gw_jw_raw(w, u, sizeof(u));
			} else {
				gw_jw_lit(w, "\xEF\xBF\xBD"); /* U+FFFD */
			}
		}
		s++;
	}
	gw_jw_raw(w, (const char *)s, run);
	gw_jw_lit(w, "\"");
}

void
gw_jw_str_or_null(gw_jw *w, const char *s)
{
	if (s == NULL || s[0] == '\0')
		gw_jw_lit(w, "null");
	else
		gw_jw_str(w, s);
}

void
gw_jw_int(gw_jw *w, int64_t v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lld", (long long)v);

	gw_jw_raw(w, b, (size_t)n);
}

void
gw_jw_bool(gw_jw *w, int v)
{
	if (v)
		gw_jw_lit(w, "true");
	else
		gw_jw_lit(w, "false");
}

void
gw_jw_answer(gw_jw *jw, gw_response *w, int status)
{
	if (jw->failed || jw->buf == NULL) {
		gw_jw_cleanup(jw);
		gw_error(w, 500, "INTERNAL", "out of memory");
		return;
	}
	jw->buf[jw->len] = '\0';
	free(w->body);
	w->body = jw->buf;
	w->len = jw->len;
	w->status = status;
	w->content_type = "application/json; charset=utf-8";
	jw->buf = NULL;
	jw->len = jw->cap = 0;
}

void
gw_jw_cleanup(gw_jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
	w->failed = 0;
}

void
gw_utf8_clean(char *text)
{
	unsigned char *s = (unsigned char *)text, *o = s;

	while (*s != '\0') {
		size_t n = gw_utf8_len(s);

		if (n > 0) {
			memmove(o, s, n);
			o += n;
			s += n;
			continue;
		}
		/* a sequence cut short by the end of the text is dropped */
		size_t k = 1;
		while (s[k] != '\0' && (s[k] & 0xC0) == 0x80 && k < 4)
			k++;
		if (s[k] == '\0' && *s >= 0xC2 && *s <= 0xF4)
			break;
		*o++ = '?';
		s++;
	}
	*o = '\0';
}
