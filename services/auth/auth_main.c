/* keyport-auth: the auth service process (see kp_service.h for its life
 * and auth_app.h for its modules). */
#include "auth_app.h"

#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"

#include <string.h>

extern const kp_migration auth_migrations[];
extern const size_t auth_migrations_count;

static auth_app auth_state;

auth_app *
auth_app_get(void)
{
	return &auth_state;
}

static int
auth_init(kp_service *svc, kp_db *db)
{
	int rv;

	if (sodium_init() < 0)
		return KP_EINTERNAL;
	if ((rv = auth_keys_load(&auth_state)) != KP_OK ||
	    (rv = auth_pw_init(&auth_state)) != KP_OK)
		return rv;
	if ((rv = auth_bootstrap(db)) != KP_OK) {
		kp_log_error("cannot create the vendor admin: %s",
		             kp_strerror(rv));
		return rv;
	}
	kp_service_set_app(svc, &auth_state);
	return KP_OK;
}

static void
auth_fini(kp_service *svc)
{
	(void)svc;
	auth_pw_fini(&auth_state);
	auth_keys_free(&auth_state);
}

static const kp_rpc_method auth_methods[] = {
    {"auth.Login", auth_login},
    {"auth.Refresh", auth_refresh},
    {"auth.Logout", auth_logout},
    {"auth.PublicKeys", auth_public_keys},
    {"auth.Revocations", auth_revocations},
    {"auth.Authenticate", auth_authenticate},
    {"auth.ChangePassword", auth_change_password},
    {"auth.CreateUser", auth_create_user},
    {"auth.GetUser", auth_get_user},
    {"auth.UpdateUser", auth_update_user},
    {"auth.DeleteUser", auth_delete_user},
    {"auth.ListUsers", auth_list_users},
    {"auth.GetUsers", auth_get_users},
    {"auth.CountUsers", auth_count_users},
    {"auth.DeleteOrganizationUsers", auth_delete_org_users},
    {"auth.CreatePersonalAccessToken", auth_pat_create},
    {"auth.ListPersonalAccessTokens", auth_pat_list},
    {"auth.DeletePersonalAccessToken", auth_pat_delete},
};

static const kp_service_def auth_service = {
    .name = "auth",
    .migrations = auth_migrations,
    .nmigrations = 0,
    .methods = auth_methods,
    .nmethods = sizeof(auth_methods) / sizeof(auth_methods[0]),
    .init = auth_init,
    .fini = auth_fini,
};

int
main(int argc, char **argv)
{
	kp_service_def def = auth_service;

	def.nmigrations = auth_migrations_count;
	return kp_service_main(&def, argc, argv);
}
