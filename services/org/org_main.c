/* keyport-org: the org service process (see kp_service.h for its life):
 * organizations, the organization admin's users (through auth), user
 * groups, license visibility through groups, portal customization. */
#include "org_app.h"

extern const kp_migration org_migrations[];
extern const size_t org_migrations_count;

static const kp_rpc_method org_methods[] = {
    {"org.CreateOrganization", org_create},
    {"org.ListOrganizations", org_list},
    {"org.GetOrganization", org_get},
    {"org.UpdateOrganization", org_update},
    {"org.DeleteOrganization", org_delete},
    {"org.CreateOrgUser", org_user_create},
    {"org.ListOrgUsers", org_user_list},
    {"org.GetOrgUser", org_user_get},
    {"org.UpdateOrgUser", org_user_update},
    {"org.DeleteOrgUser", org_user_delete},
    {"org.CreateGroup", org_group_create},
    {"org.ListGroups", org_group_list},
    {"org.GetGroup", org_group_get},
    {"org.UpdateGroup", org_group_update},
    {"org.DeleteGroup", org_group_delete},
    {"org.AddGroupUser", org_group_add_user},
    {"org.RemoveGroupUser", org_group_remove_user},
    {"org.AddGroupLicense", org_group_add_license},
    {"org.RemoveGroupLicense", org_group_remove_license},
    {"org.VisibleLicenses", org_visible_licenses},
    {"org.UserRemoved", org_user_removed},
    {"org.LicenseRemoved", org_license_removed},
    {"org.GetCustomization", org_custom_get},
    {"org.PutCustomization", org_custom_put},
    {"org.PutLogo", org_logo_put},
    {"org.GetLogo", org_logo_get},
    {"org.GetBranding", org_branding},
};

int
main(int argc, char **argv)
{
	kp_service_def def = {
	    .name = "org",
	    .migrations = org_migrations,
	    .nmigrations = org_migrations_count,
	    .methods = org_methods,
	    .nmethods = sizeof(org_methods) / sizeof(org_methods[0]),
	};

	return kp_service_main(&def, argc, argv);
}
