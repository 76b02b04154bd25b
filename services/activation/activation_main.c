/* keyport-activation: the activation service process (see kp_service.h for its
 * life). */
#include "activation_rpc.h"
#include "kp_err.h"
#include "kp_service.h"

#include <stdlib.h>

extern const kp_migration activation_migrations[];
extern const size_t activation_migrations_count;

static act_app activation_app;

static int
activation_init(kp_service *svc, kp_db *db)
{
	int rv;

	(void)db;
	if ((rv = act_signer_open(&activation_app.signer)) != KP_OK)
		return rv;
	if ((rv = act_sweeper_start(svc, &activation_app.sweeper)) != KP_OK) {
		act_signer_close(activation_app.signer);
		activation_app.signer = NULL;
		return rv;
	}
	kp_service_set_app(svc, &activation_app);
	return KP_OK;
}

static void
activation_fini(kp_service *svc)
{
	(void)svc;
	act_sweeper_stop(activation_app.sweeper);
	activation_app.sweeper = NULL;
	act_signer_close(activation_app.signer);
	activation_app.signer = NULL;
}

int
main(int argc, char **argv)
{
	kp_service_def def = {
	    .name = "activation",
	    .migrations = activation_migrations,
	    .nmigrations = activation_migrations_count,
	    .methods = act_methods,
	    .nmethods = act_methods_count,
	    .init = activation_init,
	    .fini = activation_fini,
	};

	return kp_service_main(&def, argc, argv);
}
