/* kp_list: the two ends every list RPC of a service shares, so that a list
 * handler says only what it reads (the service-side twin of gw_list).
 *
 * A paged list request is a message with int32 fields "page" and "limit";
 * a list reply has one repeated field (the items) and, when paged, an int64
 * field "total". The fields are found by name through the message
 * descriptors, as gw_list_rpc finds them on the gateway side.
 */
#ifndef KP_LIST_H
#define KP_LIST_H

#include "kp_rpc.h"

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* kp_list_unpack unpacks ctx's request as desc and, when desc has "page"
 * and "limit", checks them (kp_service_page) and gives the page's first row
 * in *offset (0 otherwise). On KP_OK *req is the caller's to free
 * (protobuf_c_message_free_unpacked); on failure the answer is set, *req
 * is NULL and nothing is owned. offset may be NULL for an unpaged
 * request. */
int kp_list_unpack(kp_rpc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
                   ProtobufCMessage **req, int64_t *offset);

/* kp_list_reply answers a list handler's store call whose status is rv: on
 * KP_OK a reply of message type desc with its repeated field set to the n
 * items (borrowed: message pointers or strings, as the field holds) and its
 * "total" (when it has one) to total; otherwise kp_service_db_fail(ctx, rv,
 * NULL, what). Returns the answer's status. */
int kp_list_reply(kp_rpc_ctx *ctx, int rv,
                  const ProtobufCMessageDescriptor *desc, void *items, size_t n,
                  int64_t total, const char *what);

#endif
