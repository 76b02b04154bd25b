/* license_app: the license service's process state and the handlers of its
 * RPC methods (products in license_product.c, licenses in license_rpc.c). */
#ifndef LICENSE_APP_H
#define LICENSE_APP_H

#include "kp_rpc.h"
#include "kp_service.h"
#include "proto/license.pb-c.h"

#include <sodium.h>
#include <stdatomic.h>

typedef struct license_app {
	/* crypto_secretbox_KEYBYTES, sodium_malloc'd (locked, guarded) */
	unsigned char *master;
	/* cost of the last ListMyLicenses / GetLicense (license.Stats) */
	atomic_long last_queries;
	atomic_long last_rpcs;
} license_app;

/* license_app_of returns the state of the service serving ctx. */
license_app *license_app_of(const kp_rpc_ctx *ctx);

/* license_master_load reads the 32-byte master key from
 * dir/license-master.key, creating it (0600) on the first start. Creation
 * is atomic (a complete temporary file is link()ed into place), so replicas
 * starting together agree on one key. Returns a kp_status. */
int license_master_load(const char *dir, unsigned char *key);

/* Products (license_product.c). */
int license_product_create(kp_rpc_ctx *ctx);
int license_product_list(kp_rpc_ctx *ctx);
int license_sign_token(kp_rpc_ctx *ctx);
int license_get_signing_key(kp_rpc_ctx *ctx);

/* Licenses (license_rpc.c). */
int license_create(kp_rpc_ctx *ctx);
int license_list(kp_rpc_ctx *ctx);
int license_list_mine(kp_rpc_ctx *ctx);
int license_get(kp_rpc_ctx *ctx);
int license_get_many(kp_rpc_ctx *ctx);
int license_resolve_key(kp_rpc_ctx *ctx);
int license_update(kp_rpc_ctx *ctx);
int license_delete(kp_rpc_ctx *ctx);
int license_suspend(kp_rpc_ctx *ctx);
int license_unsuspend(kp_rpc_ctx *ctx);
int license_revoke(kp_rpc_ctx *ctx);
int license_renew(kp_rpc_ctx *ctx);
int license_start_expiry(kp_rpc_ctx *ctx);
int license_count_org(kp_rpc_ctx *ctx);
int license_delete_org(kp_rpc_ctx *ctx);
int license_stats(kp_rpc_ctx *ctx);
int license_seed(kp_rpc_ctx *ctx);

#endif
