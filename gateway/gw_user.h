/* gw_user: the JSON form of an auth user, shared by the auth, users (and
 * organization) routes. */
#ifndef GW_USER_H
#define GW_USER_H

#include "gw.h"
#include "proto/auth.pb-c.h"

/* gw_user_json returns {id,email,firstName,lastName,role,organizationId,
 * disabled,createdAt,updatedAt} (new reference; organizationId is null
 * when the user has none). */
json_t *gw_user_json(const Keyport__Auth__User *u);

/* gw_user_item_json is gw_user_json as a gw_item_json (for gw_list_rpc);
 * item is a Keyport__Auth__User. */
json_t *gw_user_item_json(const ProtobufCMessage *item);

#endif
