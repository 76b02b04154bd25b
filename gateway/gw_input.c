/* gw_input: reading and validating request input; every rejection is a 400
 * INVALID_INPUT that names the offending field. */
#include "gw.h"
#include "gw_jw.h"
#include "kp_err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

json_t *
gw_input_object(gw_request *r, gw_response *w)
{
	json_error_t err;
	json_t *obj;

	if (r->body == NULL || r->body_len == 0) {
		gw_error(w, 400, "INVALID_INPUT",
			 "the body must be a JSON object");
		return NULL;
	}
	obj = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (obj == NULL) {
		gw_error(w, 400, "INVALID_INPUT",
			 "the body is not valid JSON (line %d, column %d)",
			 err.line, err.column);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		gw_error(w, 400, "INVALID_INPUT",
			 "the body must be a JSON object");
		return NULL;
	}
	return obj;
}

int
gw_input_string(gw_response *w, json_t *obj, const char *name, int required,
		size_t maxlen, const char **out)
{
	json_t *v = json_object_get(obj, name);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		gw_error(w, 400, "INVALID_INPUT", "%s is required", name);
		return -1;
	}
	if (!json_is_string(v)) {
		gw_error(w, 400, "INVALID_INPUT", "%s must be a string", name);
		return -1;
	}
	if (json_string_length(v) > maxlen) {
		gw_error(w, 400, "INVALID_INPUT",
			 "%s must be at most %zu bytes", name, maxlen);
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
gw_input_int(gw_response *w, json_t *obj, const char *name, int required,
	     int64_t min, int64_t max, int64_t *out, int *present)
{
	json_t *v = json_object_get(obj, name);

	if (present != NULL)
		*present = 0;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		gw_error(w, 400, "INVALID_INPUT", "%s is required", name);
		return -1;
	}
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
	json_t *v = json_object_get(obj, name);

	if (present != NULL)
		*present = 0;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		gw_error(w, 400, "INVALID_INPUT", "%s is required", name);
		return -1;
	}
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

json_t *
gw_list(json_t *items, int page, int limit, int64_t total)
{
	return json_pack("{s:o, s:i, s:i, s:I}", "items",
			 items ? items : json_array(), "page", page, "limit",
			 limit, "total", (json_int_t)total);
}

/* gw_list_field: field name of desc when it has the label and type. */
static const ProtobufCFieldDescriptor *
gw_list_field(const ProtobufCMessageDescriptor *desc, const char *name,
              ProtobufCLabel label, ProtobufCType type)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(desc, name);

	return f != NULL && f->label == label && f->type == type ? f : NULL;
}

#define GW_FIELD(msg, f, type) (*(type *)((char *)(msg) + (f)->offset))

/* The common part of the list routes: reads the page into req, calls
 * method m and leaves the reply (*rep, the caller's), its items and total.
 * Returns 0, or -1 with the failure answered. */
static int
gw_list_call(gw_request *r, gw_response *w, const kp_rpc_desc *m,
             ProtobufCMessage *req, const char *items_field,
             gw_list_filter filter, ProtobufCMessage **rep,
             ProtobufCMessage ***items, size_t *n, int *page, int *limit,
             int64_t *total)
{
	const ProtobufCMessageDescriptor *reply_desc = m->reply;
	const ProtobufCFieldDescriptor *fpage, *flimit, *fitems, *ftotal;

	*rep = NULL;
	fpage = gw_list_field(req->descriptor, "page", PROTOBUF_C_LABEL_NONE,
	                      PROTOBUF_C_TYPE_INT32);
	flimit = gw_list_field(req->descriptor, "limit", PROTOBUF_C_LABEL_NONE,
	                       PROTOBUF_C_TYPE_INT32);
	fitems =
	    gw_list_field(reply_desc, items_field, PROTOBUF_C_LABEL_REPEATED,
	                  PROTOBUF_C_TYPE_MESSAGE);
	ftotal = gw_list_field(reply_desc, "total", PROTOBUF_C_LABEL_NONE,
	                       PROTOBUF_C_TYPE_INT64);
	if (fpage == NULL || flimit == NULL || fitems == NULL ||
	    ftotal == NULL) {
		gw_error(w, 500, "INTERNAL", "%s: not a list method", m->name);
		return -1;
	}
	if (gw_page(r, w, page, limit) != 0 ||
	    (filter != NULL && filter(r, w, req) != 0))
		return -1;
	GW_FIELD(req, fpage, int32_t) = *page;
	GW_FIELD(req, flimit, int32_t) = *limit;
	if (gw_call(r, w, m, req, rep) != KP_OK)
		return -1;
	*n = *(size_t *)((char *)*rep + fitems->quantifier_offset);
	*items = GW_FIELD(*rep, fitems, ProtobufCMessage **);
	*total = GW_FIELD(*rep, ftotal, int64_t);
	return 0;
}

void
gw_list_rpc(gw_request *r, gw_response *w, const kp_rpc_desc *m,
            ProtobufCMessage *req, const char *items_field,
            gw_item_json to_json, gw_list_filter filter)
{
	ProtobufCMessage *rep = NULL, **items;
	json_t *arr;
	size_t n;
	int page, limit;
	int64_t total;

	if (gw_list_call(r, w, m, req, items_field, filter, &rep, &items, &n,
	                 &page, &limit, &total) != 0)
		return;
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, to_json(items[i]));
	gw_json(w, 200, gw_list(arr, page, limit, total));
	protobuf_c_message_free_unpacked(rep, NULL);
}

void
gw_list_rpc_text(gw_request *r, gw_response *w, const kp_rpc_desc *m,
                 ProtobufCMessage *req, const char *items_field,
                 gw_item_text to_text, gw_list_filter filter)
{
	ProtobufCMessage *rep = NULL, **items;
	gw_jw jw = GW_JW_INIT;
	size_t n;
	int page, limit;
	int64_t total;

	if (gw_list_call(r, w, m, req, items_field, filter, &rep, &items, &n,
	                 &page, &limit, &total) != 0)
		return;
	/* the key order of gw_list */
	gw_jw_lit(&jw, "{\"items\":[");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			gw_jw_lit(&jw, ",");
		to_text(&jw, items[i]);
	}
	gw_jw_lit(&jw, "],\"page\":");
	gw_jw_int(&jw, page);
	gw_jw_lit(&jw, ",\"limit\":");
	gw_jw_int(&jw, limit);
	gw_jw_lit(&jw, ",\"total\":");
	gw_jw_int(&jw, total);
	gw_jw_lit(&jw, "}");
	gw_jw_answer(&jw, w, 200);
	protobuf_c_message_free_unpacked(rep, NULL);
}
