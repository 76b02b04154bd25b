/* keyport-org: the org service process (see kp_service.h for its life):
 * organizations, the organization admin's users (through auth), user
 * groups, license visibility through groups, portal customization. */
#include "rpc/kp_contract.h"
#include "org_app.h"

extern const kp_migration org_migrations[];
extern const size_t org_migrations_count;

static const kp_rpc_handler org_handlers[KP_M_ORG_COUNT] = {
    [KP_M_ORG_CREATE_ORGANIZATION] = org_create,
    [KP_M_ORG_LIST_ORGANIZATIONS] = org_list,
    [KP_M_ORG_GET_ORGANIZATION] = org_get,
    [KP_M_ORG_UPDATE_ORGANIZATION] = org_update,
    [KP_M_ORG_DELETE_ORGANIZATION] = org_delete,
    [KP_M_ORG_CREATE_ORG_USER] = org_user_create,
    [KP_M_ORG_LIST_ORG_USERS] = org_user_list,
    [KP_M_ORG_GET_ORG_USER] = org_user_get,
    [KP_M_ORG_UPDATE_ORG_USER] = org_user_update,
    [KP_M_ORG_DELETE_ORG_USER] = org_user_delete,
    [KP_M_ORG_CREATE_GROUP] = org_group_create,
    [KP_M_ORG_LIST_GROUPS] = org_group_list,
    [KP_M_ORG_GET_GROUP] = org_group_get,
    [KP_M_ORG_UPDATE_GROUP] = org_group_update,
    [KP_M_ORG_DELETE_GROUP] = org_group_delete,
    [KP_M_ORG_ADD_GROUP_USER] = org_group_add_user,
    [KP_M_ORG_REMOVE_GROUP_USER] = org_group_remove_user,
    [KP_M_ORG_ADD_GROUP_LICENSE] = org_group_add_license,
    [KP_M_ORG_REMOVE_GROUP_LICENSE] = org_group_remove_license,
    [KP_M_ORG_VISIBLE_LICENSES] = org_visible_licenses,
    [KP_M_ORG_USER_REMOVED] = org_user_removed,
    [KP_M_ORG_LICENSE_REMOVED] = org_license_removed,
    [KP_M_ORG_GET_CUSTOMIZATION] = org_custom_get,
    [KP_M_ORG_PUT_CUSTOMIZATION] = org_custom_put,
    [KP_M_ORG_PUT_LOGO] = org_logo_put,
    [KP_M_ORG_GET_LOGO] = org_logo_get,
    [KP_M_ORG_GET_BRANDING] = org_branding,
};

int
main(int argc, char **argv)
{
	kp_service_def def = {
	    .name = "org",
	    .migrations = org_migrations,
	    .nmigrations = org_migrations_count,
	    .handlers = org_handlers,
	    .nhandlers = KP_M_ORG_COUNT,
	};

	return kp_service_main(&def, argc, argv);
}
