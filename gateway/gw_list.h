/* gw_list: the paged list routes: {items,page,limit,total} from a list RPC. */
#ifndef GW_LIST_H
#define GW_LIST_H

#include "gw.h"

/* gw_list wraps items (stolen) in {items,page,limit,total}. */
json_t *gw_list(json_t *items, int page, int limit, int64_t total);

/* The JSON form of one item of a list reply (a new reference; NULL skips
 * the item). The item is borrowed. */
typedef json_t *(*gw_item_json)(const ProtobufCMessage *item);

/* The JSON text of one item of a list reply, appended to w (gw_jw.h): the
 * fast form of gw_item_json for the hot lists. The item is borrowed. */
struct gw_jw;
typedef void (*gw_item_text)(struct gw_jw *w, const ProtobufCMessage *item);

/* A list route's own query filters: reads them into req after the page
 * parameters were read; returns 0, or -1 with 400 written. */
typedef int (*gw_list_filter)(gw_request *r, gw_response *w,
                              ProtobufCMessage *req);

/* gw_list_rpc answers a paged list route: reads ?page= and ?limit=
 * (gw_page) into req's int32 fields "page" and "limit", runs filter (may be
 * NULL), calls method m (gw_call), converts every item of the
 * reply's repeated message field items_field with to_json and answers 200
 * {items,page,limit,total} (total: the reply's int64 field "total").
 * req and the strings it points to are borrowed (the caller's, typically
 * on its stack); the reply is unpacked and freed inside. Every failure is
 * answered in w (400 from gw_page or filter, the service's error, 500 when
 * req or m's reply lack those fields). */
void gw_list_rpc(gw_request *r, gw_response *w, const kp_rpc_desc *m,
                 ProtobufCMessage *req, const char *items_field,
                 gw_item_json to_json, gw_list_filter filter);

/* gw_list_rpc_text is gw_list_rpc with to_text writing each item's JSON
 * straight into the response text: the same answer, without building a
 * jansson tree (~10x less CPU for a page of 50 licenses). */
void gw_list_rpc_text(gw_request *r, gw_response *w, const kp_rpc_desc *m,
                      ProtobufCMessage *req, const char *items_field,
                      gw_item_text to_text, gw_list_filter filter);

#endif
