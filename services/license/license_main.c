/* keyport-license: the license service process (see kp_service.h for its
 * life): products and their signing keys, licenses. */
#include "rpc/kp_contract.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"
#include "license_app.h"

#include <stdlib.h>
#include <string.h>

extern const kp_migration license_migrations[];
extern const size_t license_migrations_count;

static const kp_rpc_handler license_handlers[KP_M_LICENSE_COUNT] = {
    [KP_M_LICENSE_CREATE_PRODUCT] = license_product_create,
    [KP_M_LICENSE_LIST_PRODUCTS] = license_product_list,
    [KP_M_LICENSE_SIGN_TOKEN] = license_sign_token,
    [KP_M_LICENSE_GET_SIGNING_KEY] = license_get_signing_key,
    [KP_M_LICENSE_CREATE_LICENSE] = license_create,
    [KP_M_LICENSE_LIST_LICENSES] = license_list,
    [KP_M_LICENSE_LIST_MY_LICENSES] = license_list_mine,
    [KP_M_LICENSE_GET_LICENSE] = license_get,
    [KP_M_LICENSE_GET_LICENSES] = license_get_many,
    [KP_M_LICENSE_RESOLVE_KEY] = license_resolve_key,
    [KP_M_LICENSE_UPDATE_LICENSE] = license_update,
    [KP_M_LICENSE_DELETE_LICENSE] = license_delete,
    [KP_M_LICENSE_SUSPEND_LICENSE] = license_suspend,
    [KP_M_LICENSE_UNSUSPEND_LICENSE] = license_unsuspend,
    [KP_M_LICENSE_REVOKE_LICENSE] = license_revoke,
    [KP_M_LICENSE_RENEW_LICENSE] = license_renew,
    [KP_M_LICENSE_START_EXPIRY] = license_start_expiry,
    [KP_M_LICENSE_COUNT_ORGANIZATION_LICENSES] = license_count_org,
    [KP_M_LICENSE_DELETE_ORGANIZATION_LICENSES] = license_delete_org,
    [KP_M_LICENSE_STATS] = license_stats,
    [KP_M_LICENSE_SEED_LICENSES] = license_seed,
};

static int
license_init(kp_service *svc, kp_db *db)
{
	const char *dir = kp_config_str("KEYPORT_SECRET_DIR", NULL);
	license_app *app = NULL;
	int rv;

	(void)db;
	if (sodium_init() < 0)
		return KP_EINTERNAL;
	if (dir == NULL) {
		kp_log_error("KEYPORT_SECRET_DIR is not set");
		return KP_EINVAL;
	}
	if ((app = calloc(1, sizeof(*app))) == NULL ||
	    (app->master = sodium_malloc(crypto_secretbox_KEYBYTES)) == NULL) {
		free(app);
		return KP_EINTERNAL;
	}
	if ((rv = license_master_load(dir, app->master)) != KP_OK) {
		kp_log_error("cannot load or create the master key in %s", dir);
		sodium_free(app->master);
		free(app);
		return rv;
	}
	sodium_mprotect_readonly(app->master);
	/* the contract's test-only methods are served: count their costs */
	app->testing = kp_cfg_int(KP_CFG_TEST_CLOCK) == 1;
	kp_service_set_app(svc, app);
	return KP_OK;
}

static void
license_fini(kp_service *svc)
{
	license_app *app = kp_service_app(svc);

	if (app == NULL)
		return;
	sodium_free(app->master); /* wipes */
	free(app);
}

int
main(int argc, char **argv)
{
	kp_service_def def = {
	    .name = "license",
	    .migrations = license_migrations,
	    .nmigrations = license_migrations_count,
	    .handlers = license_handlers,
	    .nhandlers = KP_M_LICENSE_COUNT,
	    .init = license_init,
	    .fini = license_fini,
	};

	return kp_service_main(&def, argc, argv);
}
