/* gw_user: the JSON form of an auth user (see gw_user.h). */
#include "gw_user.h"

static json_t *
gw_user_str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

json_t *
gw_user_json(const Keyport__Auth__User *u)
{
	if (u == NULL)
		return NULL;
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:s, s:s}", "id", u->id,
	    "email", u->email, "firstName", u->first_name, "lastName",
	    u->last_name, "role", u->role, "organizationId",
	    gw_user_str_or_null(u->organization_id), "disabled", u->disabled,
	    "createdAt", u->created_at, "updatedAt", u->updated_at);
}

json_t *
gw_user_item_json(const ProtobufCMessage *item)
{
	return gw_user_json((const Keyport__Auth__User *)item);
}
