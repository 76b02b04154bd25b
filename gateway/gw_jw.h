/* gw_jw: a JSON text writer for the hot list routes. Builds the response
 * text directly into one growing buffer, where jansson (an object, a hash
 * table and a copied string per field, then a dump) cost ~0.36 ms per page
 * of 50 licenses on this machine, most of the gateway's CPU per page.
 *
 * Usage: gw_jw w = GW_JW_INIT; append with the gw_jw_* calls (literal
 * punctuation and keys with gw_jw_lit); hand the text to the response with
 * gw_jw_answer, or free it with gw_jw_cleanup. An allocation failure is
 * sticky: later calls do nothing and gw_jw_answer answers 500.
 */
#ifndef GW_JW_H
#define GW_JW_H

#include "gw.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct gw_jw {
	char *buf; /* malloc'd, owned by the writer until gw_jw_answer */
	size_t len, cap;
	int failed;
} gw_jw;

#define GW_JW_INIT                                                             \
	{                                                                      \
		NULL, 0, 0, 0                                                  \
	}

/* gw_jw_raw appends n bytes as they are (JSON the caller vouches for). */
void gw_jw_raw(gw_jw *w, const char *s, size_t n);

/* gw_jw_lit appends a string literal as it is: punctuation and keys,
 * e.g. gw_jw_lit(w, ",\"key\":"). */
#define gw_jw_lit(w, lit) gw_jw_raw((w), "" lit, sizeof(lit) - 1)

/* gw_jw_str appends s as a JSON string: quoted, with '"', '\\' and control
 * characters escaped; bytes that are not UTF-8 become U+FFFD (jansson
 * would refuse the whole value). NULL writes "". */
void gw_jw_str(gw_jw *w, const char *s);

/* gw_jw_str_or_null is gw_jw_str, but NULL or "" writes null. */
void gw_jw_str_or_null(gw_jw *w, const char *s);

/* gw_jw_int appends a decimal integer. */
void gw_jw_int(gw_jw *w, int64_t v);

/* gw_jw_bool appends true or false. */
void gw_jw_bool(gw_jw *w, int v);

/* gw_jw_answer hands the text to w as a status answer with the JSON
 * content type (500 when the writer failed); the writer is left empty. */
void gw_jw_answer(gw_jw *jw, gw_response *w, int status);

/* gw_utf8_len is the length of the valid UTF-8 sequence at s (1..4), or 0
 * when the bytes there are not one (overlong forms, surrogates and values
 * past U+10FFFF included, as jansson rejects them). */
size_t gw_utf8_len(const unsigned char *s);

/* gw_utf8_clean makes text valid UTF-8 in place: a character cut short at
 * the end (text cut by a byte count) is dropped, any other invalid byte
 * becomes '?'. */
void gw_utf8_clean(char *text);

/* gw_jw_cleanup frees the text (NULL-safe, idempotent). */
void gw_jw_cleanup(gw_jw *w);

#endif
