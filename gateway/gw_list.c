/* gw_list: list routes answered from a list RPC. */
#include "gw_list.h"

#include "gw_call.h"
#include "gw_input.h"
#include "gw_jw.h"
#include "gw_response.h"
#include "kp_err.h"

#include <stdlib.h>

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
/* One page of a list reply, as gw_list_call reads it: rep owns items. */
typedef struct gw_list_page {
	ProtobufCMessage *rep, **items;
	size_t n;
	int page, limit;
	int64_t total;
} gw_list_page;

static int
gw_list_call(gw_request *r, gw_response *w, const kp_rpc_desc *m,
             ProtobufCMessage *req, const char *items_field,
             gw_list_filter filter, gw_list_page *p)
{
	const ProtobufCMessageDescriptor *reply_desc = m->reply;
	const ProtobufCFieldDescriptor *fpage, *flimit, *fitems, *ftotal;

	p->rep = NULL;
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
	if (gw_page(r, w, &p->page, &p->limit) != 0 ||
	    (filter != NULL && filter(r, w, req) != 0))
		return -1;
	GW_FIELD(req, fpage, int32_t) = p->page;
	GW_FIELD(req, flimit, int32_t) = p->limit;
	if (gw_call(r, w, m, req, &p->rep) != KP_OK)
		return -1;
	p->n = *(size_t *)((char *)p->rep + fitems->quantifier_offset);
	p->items = GW_FIELD(p->rep, fitems, ProtobufCMessage **);
	p->total = GW_FIELD(p->rep, ftotal, int64_t);
	return 0;
}

void
gw_list_rpc(gw_request *r, gw_response *w, const kp_rpc_desc *m,
            ProtobufCMessage *req, const char *items_field,
            gw_item_json to_json, gw_list_filter filter)
{
	gw_list_page p = {0};
	json_t *arr;

	if (gw_list_call(r, w, m, req, items_field, filter, &p) != 0)
		return;
	arr = json_array();
	for (size_t i = 0; i < p.n; i++)
		json_array_append_new(arr, to_json(p.items[i]));
	gw_json(w, 200, gw_list(arr, p.page, p.limit, p.total));
	protobuf_c_message_free_unpacked(p.rep, NULL);
}

void
gw_list_rpc_text(gw_request *r, gw_response *w, const kp_rpc_desc *m,
                 ProtobufCMessage *req, const char *items_field,
                 gw_item_text to_text, gw_list_filter filter)
{
	gw_list_page p = {0};
	gw_jw jw = GW_JW_INIT;

	if (gw_list_call(r, w, m, req, items_field, filter, &p) != 0)
		return;
	/* the key order of gw_list */
	gw_jw_lit(&jw, "{\"items\":[");
	for (size_t i = 0; i < p.n; i++) {
		if (i > 0)
			gw_jw_lit(&jw, ",");
		to_text(&jw, p.items[i]);
	}
	gw_jw_lit(&jw, "],\"page\":");
	gw_jw_int(&jw, p.page);
	gw_jw_lit(&jw, ",\"limit\":");
	gw_jw_int(&jw, p.limit);
	gw_jw_lit(&jw, ",\"total\":");
	gw_jw_int(&jw, p.total);
	gw_jw_lit(&jw, "}");
	gw_jw_answer(&jw, w, 200);
	protobuf_c_message_free_unpacked(p.rep, NULL);
}
