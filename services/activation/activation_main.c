/* keyport-activation: the activation service process (see kp_service.h for its
 * life). */
#include "activation_app.h"
#include "rpc/kp_contract.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_service.h"

#include <stdlib.h>

extern const kp_migration activation_migrations[];
extern const size_t activation_migrations_count;

static act_app activation_app;

/* One handler per method of the generated contract (rpc/kp_contract.h). */
static const kp_rpc_handler act_handlers[KP_M_ACTIVATION_COUNT] = {
    [KP_M_ACTIVATION_ACTIVATE] = act_activate,
    [KP_M_ACTIVATION_HEARTBEAT] = act_heartbeat,
    [KP_M_ACTIVATION_LICENSE_CHANGED] = act_license_changed,
    [KP_M_ACTIVATION_DEACTIVATE] = act_deactivate,
    [KP_M_ACTIVATION_LIST_ACTIVATIONS] = act_list,
    [KP_M_ACTIVATION_COUNTERS] = act_counters,
    [KP_M_ACTIVATION_OFFLINE_ACTIVATE] = act_offline_activate,
    [KP_M_ACTIVATION_OFFLINE_DEACTIVATE] = act_offline_deactivate,
};

static void activation_fini(kp_service *svc);

static int
activation_init(kp_service *svc, kp_db *db)
{
	int64_t ttl_ms = kp_cfg_int(KP_CFG_LICENSE_CACHE_MS);
	int64_t slots = kp_cfg_int(KP_CFG_LICENSE_CACHE_SLOTS);
	int64_t flush_ms = kp_cfg_int(KP_CFG_SEEN_FLUSH_MS);
	int rv;

	(void)db;
	/* the signer initialises libsodium, which the cache's hash needs */
	if ((rv = act_signer_open(&activation_app.signer)) != KP_OK)
		goto out;
	if ((activation_app.lcache =
	         act_lcache_open((uint32_t)slots, ttl_ms)) == NULL) {
		kp_log_error("out of memory for the license cache");
		rv = KP_EINTERNAL;
		goto out;
	}
	if ((rv = act_seen_open(&activation_app.seen,
	                        kp_cfg_str(KP_CFG_DATABASE_URL), flush_ms)) !=
	        KP_OK ||
	    (rv = act_sweeper_start(svc, &activation_app.sweeper)) != KP_OK)
		goto out;
	kp_service_set_app(svc, &activation_app);
out:
	if (rv != KP_OK)
		activation_fini(svc);
	return rv;
}

static void
activation_fini(kp_service *svc)
{
	(void)svc;
	act_sweeper_stop(activation_app.sweeper);
	activation_app.sweeper = NULL;
	act_signer_close(activation_app.signer);
	activation_app.signer = NULL;
	act_lcache_close(activation_app.lcache);
	activation_app.lcache = NULL;
	act_seen_close(activation_app.seen); /* writes what is pending */
	activation_app.seen = NULL;
}

int
main(int argc, char **argv)
{
	kp_service_def def = {
	    .name = "activation",
	    .migrations = activation_migrations,
	    .nmigrations = activation_migrations_count,
	    .handlers = act_handlers,
	    .nhandlers = KP_M_ACTIVATION_COUNT,
	    .init = activation_init,
	    .fini = activation_fini,
	};

	return kp_service_main(&def, argc, argv);
}
