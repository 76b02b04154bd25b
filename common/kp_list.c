/* kp_list: a list RPC's request checks and reply, by field name. */
#include "kp_list.h"

#include "kp_err.h"
#include "kp_service.h"

#include <stdlib.h>

/* The field name of desc when it has type type (any label), or NULL. */
static const ProtobufCFieldDescriptor *
kp_list_field(const ProtobufCMessageDescriptor *desc, const char *name,
              ProtobufCType type)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(desc, name);

	return f != NULL && f->type == type ? f : NULL;
}

#define KP_LIST_AT(msg, f, type) ((type *)((char *)(msg) + (f)->offset))

int
kp_list_unpack(kp_rpc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
               ProtobufCMessage **req, int64_t *offset)
{
	const ProtobufCFieldDescriptor *fp =
	    kp_list_field(desc, "page", PROTOBUF_C_TYPE_INT32);
	const ProtobufCFieldDescriptor *fl =
	    kp_list_field(desc, "limit", PROTOBUF_C_TYPE_INT32);
	int rv;

	if (offset != NULL)
		*offset = 0;
	if ((rv = kp_rpc_unpack(ctx, desc, req)) != KP_OK)
		return rv;
	if (offset == NULL || fp == NULL || fl == NULL)
		return KP_OK;
	if ((rv = kp_service_page(ctx, *KP_LIST_AT(*req, fp, int32_t),
	                          *KP_LIST_AT(*req, fl, int32_t), offset)) !=
	    KP_OK) {
		protobuf_c_message_free_unpacked(*req, NULL);
		*req = NULL;
	}
	return rv;
}

int
kp_list_reply(kp_rpc_ctx *ctx, int rv, const ProtobufCMessageDescriptor *desc,
              void *items, size_t n, int64_t total, const char *what)
{
	const ProtobufCFieldDescriptor *fi = NULL, *ft;
	ProtobufCMessage *msg;
	unsigned i;

	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL, what);
	for (i = 0; i < desc->n_fields && fi == NULL; i++)
		if (desc->fields[i].label == PROTOBUF_C_LABEL_REPEATED)
			fi = &desc->fields[i];
	if (fi == NULL || (msg = calloc(1, desc->sizeof_message)) == NULL)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "%s: no reply",
		                   what);
	protobuf_c_message_init(desc, msg);
	*KP_LIST_AT(msg, fi, void *) = items;
	*(size_t *)((char *)msg + fi->quantifier_offset) = n;
	if ((ft = kp_list_field(desc, "total", PROTOBUF_C_TYPE_INT64)) != NULL)
		*KP_LIST_AT(msg, ft, int64_t) = total;
	rv = kp_rpc_reply(ctx, msg);
	free(msg); /* its fields are borrowed */
	return rv;
}
