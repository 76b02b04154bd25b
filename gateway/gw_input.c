/* gw_input: reading and validating request input; every rejection is a 400
 * INVALID_INPUT that names the offending field. */
#include "gw_input.h"

#include "gw.h"
#include "gw_jw.h"
#include "gw_response.h"
#include "kp_text.h"
#include "kp_err.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void
gw_id_canon(char *s)
{
	if (!kp_uuid_valid(s))
		return;
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Whether a body key names ids: "id", "...Id" or "...Ids". */
static int
gw_input_id_key(const char *k)
{
	size_t n = strlen(k);

	return strcmp(k, "id") == 0 ||
	       (n > 2 && strcmp(k + n - 2, "Id") == 0) ||
	       (n > 3 && strcmp(k + n - 3, "Ids") == 0);
}

static void
gw_input_canon_str(json_t *v)
{
	char id[37];

	if (!json_is_string(v) || !kp_uuid_valid(json_string_value(v)))
		return;
	memcpy(id, json_string_value(v), sizeof(id));
	gw_id_canon(id);
	json_string_set(v, id);
}

/* Every UUID under an id key, at any depth, in lower case: the services
 * compare ids as text, so "ABC..." and "abc..." must be one id. */
static void
gw_input_canon(json_t *v, int depth)
{
	const char *k;
	json_t *m, *e;
	size_t i;

	if (depth > 32)
		return;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m) gw_input_canon(m, depth + 1);
		return;
	}
	json_object_foreach(v, k, m)
	{
		if (gw_input_id_key(k)) {
			gw_input_canon_str(m);
			if (json_is_array(m))
				json_array_foreach(m, i, e)
				    gw_input_canon_str(e);
		} else {
			gw_input_canon(m, depth + 1);
		}
	}
}

/* jansson's reason, in the API's words where jansson names its own flags
 * or says little. */
static const char *
gw_input_why(const json_error_t *e)
{
	switch (json_error_code(e)) {
	case json_error_null_character:
		return "a NUL character (\\u0000) is not allowed";
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_duplicate_key:
		return "duplicate object key";
	case json_error_numeric_overflow:
		return "number out of range (integers from -2^63 to 2^63-1, "
		       "finite reals)";
	case json_error_premature_end_of_input:
		return "the text ends too early";
	case json_error_end_of_input_expected:
		return "text after the JSON value";
	default:
		return e->text;
	}
}

int
gw_input_json_type(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return 1; /* no type said: read as JSON */
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	/* application/<anything>+json (problem+json, merge-patch+json...) */
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	       strncasecmp(ct + n - 5, "+json", 5) == 0;
}

json_t *
gw_input_object(gw_request *r, gw_response *w)
{
	json_error_t err;
	json_t *obj;
	const char *ct = r->conn ? MHD_lookup_connection_value(
	                               r->conn, MHD_HEADER_KIND, "Content-Type")
	                         : NULL;

	if (!gw_input_json_type(ct)) {
		gw_error(w, 415, "UNSUPPORTED_MEDIA_TYPE",
		         "Content-Type: must be application/json");
		return NULL;
	}
	if (r->body == NULL || r->body_len == 0) {
		gw_error(w, 400, "INVALID_INPUT",
			 "the body must be a JSON object");
		return NULL;
	}
	obj = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (obj == NULL) {
		gw_error(w, 400, "INVALID_INPUT",
		         "body: not valid JSON at byte %d (line %d, column "
		         "%d): %s",
		         err.position, err.line, err.column,
		         gw_input_why(&err));
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		gw_error(w, 400, "INVALID_INPUT",
			 "the body must be a JSON object");
		return NULL;
	}
	gw_input_canon(obj, 0);
	return obj;
}

/* The value of field name of obj for a gw_input_* reader, or NULL when it
 * is absent or null: then *rc is -1 (400 answered) when it is required,
 * else 0. */
static json_t *
gw_input_field(gw_response *w, json_t *obj, const char *name, int required,
               int *rc)
{
	json_t *v = json_object_get(obj, name);

	*rc = 0;
	if (v != NULL && !json_is_null(v))
		return v;
	if (required) {
		gw_error(w, 400, "INVALID_INPUT", "%s is required", name);
		*rc = -1;
	}
	return NULL;
}

int
gw_input_string(gw_response *w, json_t *obj, const char *name, int required,
		size_t maxlen, const char **out)
{
	int rc;
	json_t *v = gw_input_field(w, obj, name, required, &rc);

	*out = NULL;
	if (v == NULL)
		return rc;
	if (!json_is_string(v)) {
		gw_error(w, 400, "INVALID_INPUT", "%s must be a string", name);
		return -1;
	}
	if (kp_utf8_chars(json_string_value(v)) > maxlen) {
		gw_error(w, 400, "INVALID_INPUT",
		         "%s must be at most %zu characters", name, maxlen);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		gw_error(w, 400, "INVALID_INPUT",
			 "%s must not contain NUL characters", name);
		return -1;
	}
	if (required && json_string_length(v) == 0) {
		gw_error(w, 400, "INVALID_INPUT", "%s must not be empty",
			 name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int
gw_input_role(gw_response *w, json_t *obj, const char **out)
{
	if (gw_input_string(w, obj, "role", 0, 32, out) != 0)
		return -1;
	if (*out != NULL && (*out)[0] == '\0') {
		gw_error(w, 400, "INVALID_INPUT",
		         "role must be admin, organization-admin or user");
		*out = NULL;
		return -1;
	}
	return 0;
}

int
gw_input_int(gw_response *w, json_t *obj, const char *name, int required,
	     int64_t min, int64_t max, int64_t *out, int *present)
{
	int rc;
	json_t *v = gw_input_field(w, obj, name, required, &rc);

	if (present != NULL)
		*present = 0;
	if (v == NULL)
		return rc;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		gw_error(w, 400, "INVALID_INPUT",
			 "%s must be an integer from %lld to %lld", name,
			 (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	if (present != NULL)
		*present = 1;
	return 0;
}

int
gw_input_bool(gw_response *w, json_t *obj, const char *name, int required,
	      int *out, int *present)
{
	int rc;
	json_t *v = gw_input_field(w, obj, name, required, &rc);

	if (present != NULL)
		*present = 0;
	if (v == NULL)
		return rc;
	if (!json_is_boolean(v)) {
		gw_error(w, 400, "INVALID_INPUT", "%s must be true or false",
			 name);
		return -1;
	}
	*out = json_is_true(v);
	if (present != NULL)
		*present = 1;
	return 0;
}

const char *
gw_query(gw_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

static int
gw_query_int(gw_request *r, gw_response *w, const char *name, long def,
	     long min, long max, int *out)
{
	const char *s = gw_query(r, name);
	char *end = NULL;
	long v;

	if (s == NULL || s[0] == '\0') {
		*out = (int)def;
		return 0;
	}
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		gw_error(w, 400, "INVALID_INPUT",
			 "%s must be an integer from %ld to %ld", name, min,
			 max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int
gw_page(gw_request *r, gw_response *w, int *page, int *limit)
{
	if (gw_query_int(r, w, "page", 1, 1, 1000000, page) != 0 ||
	    gw_query_int(r, w, "limit", 50, 1, 100, limit) != 0)
		return -1;
	return 0;
}

const char *
gw_param_uuid(gw_request *r, gw_response *w, int i)
{
	const char *s = (i >= 0 && i < GW_MAX_PARAMS) ? r->params[i] : NULL;

	if (!kp_uuid_valid(s)) {
		gw_error(w, 404, "NOT_FOUND", "not found");
		return NULL;
	}
	return s;
}
