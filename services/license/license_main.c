/* keyport-license: the license service process (see kp_service.h for its
 * life): products and their signing keys, licenses. */
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"
#include "license_app.h"

#include <stdlib.h>
#include <string.h>

extern const kp_migration license_migrations[];
extern const size_t license_migrations_count;

static const kp_rpc_method license_methods[] = {
    {"license.CreateProduct", license_product_create},
    {"license.ListProducts", license_product_list},
    {"license.SignToken", license_sign_token},
    {"license.GetSigningKey", license_get_signing_key},
    {"license.CreateLicense", license_create},
    {"license.ListLicenses", license_list},
    {"license.ListMyLicenses", license_list_mine},
    {"license.GetLicense", license_get},
    {"license.GetLicenses", license_get_many},
    {"license.ResolveKey", license_resolve_key},
    {"license.UpdateLicense", license_update},
    {"license.DeleteLicense", license_delete},
    {"license.SuspendLicense", license_suspend},
    {"license.UnsuspendLicense", license_unsuspend},
    {"license.RevokeLicense", license_revoke},
    {"license.RenewLicense", license_renew},
    {"license.StartExpiry", license_start_expiry},
    {"license.CountOrganizationLicenses", license_count_org},
    {"license.DeleteOrganizationLicenses", license_delete_org},
    /* test-only: the last two, served under KEYPORT_TEST_CLOCK=1 */
    {"license.Stats", license_stats},
    {"license.SeedLicenses", license_seed},
};
#define LICENSE_NMETHODS (sizeof(license_methods) / sizeof(license_methods[0]))
#define LICENSE_NTEST    2

/* the test-only methods are served (KEYPORT_TEST_CLOCK=1) */
static int license_testing;

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
	app->testing = license_testing;
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
	license_testing =
	    strcmp(kp_config_str("KEYPORT_TEST_CLOCK", "0"), "1") == 0;
	kp_service_def def = {
	    .name = "license",
	    .migrations = license_migrations,
	    .nmigrations = license_migrations_count,
	    .methods = license_methods,
	    .nmethods = LICENSE_NMETHODS - LICENSE_NTEST,
	    .init = license_init,
	    .fini = license_fini,
	};

	if (license_testing)
		def.nmethods = LICENSE_NMETHODS;
	return kp_service_main(&def, argc, argv);
}
