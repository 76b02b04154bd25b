/* keyport-auth: the auth service process (see kp_service.h for its life
 * and auth_app.h for its modules). */
#include "rpc/kp_contract.h"
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

static const kp_rpc_handler auth_handlers[KP_M_AUTH_COUNT] = {
    [KP_M_AUTH_LOGIN] = auth_login,
    [KP_M_AUTH_REFRESH] = auth_refresh,
    [KP_M_AUTH_LOGOUT] = auth_logout,
    [KP_M_AUTH_PUBLIC_KEYS] = auth_public_keys,
    [KP_M_AUTH_REVOCATIONS] = auth_revocations,
    [KP_M_AUTH_AUTHENTICATE] = auth_authenticate,
    [KP_M_AUTH_CHANGE_PASSWORD] = auth_change_password,
    [KP_M_AUTH_CREATE_USER] = auth_create_user,
    [KP_M_AUTH_GET_USER] = auth_get_user,
    [KP_M_AUTH_UPDATE_USER] = auth_update_user,
    [KP_M_AUTH_DELETE_USER] = auth_delete_user,
    [KP_M_AUTH_LIST_USERS] = auth_list_users,
    [KP_M_AUTH_GET_USERS] = auth_get_users,
    [KP_M_AUTH_COUNT_USERS] = auth_count_users,
    [KP_M_AUTH_DELETE_ORGANIZATION_USERS] = auth_delete_org_users,
    [KP_M_AUTH_CREATE_PERSONAL_ACCESS_TOKEN] = auth_pat_create,
    [KP_M_AUTH_LIST_PERSONAL_ACCESS_TOKENS] = auth_pat_list,
    [KP_M_AUTH_DELETE_PERSONAL_ACCESS_TOKEN] = auth_pat_delete,
};

static const kp_service_def auth_service = {
    .name = "auth",
    .migrations = auth_migrations,
    .nmigrations = 0,
    .handlers = auth_handlers,
    .nhandlers = KP_M_AUTH_COUNT,
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
