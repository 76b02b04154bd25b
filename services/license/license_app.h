/* license_app: the license service's process state and what its handler
 * files share. Not an API of the service.
 *
 *   license_admin.c    CreateLicense, UpdateLicense, DeleteLicense
 *   license_list.c     ListLicenses, GetLicenses, ResolveKey
 *   license_portal.c   ListMyLicenses, GetLicense (portal visibility)
 *   license_state.c    Suspend/Unsuspend/Revoke/RenewLicense, StartExpiry,
 *                      Count/DeleteOrganizationLicenses
 *   license_product.c  products, their keys, signing for activation
 *   license_testing.c  Stats, SeedLicenses (tests only)
 *   license_peers.c    what license asks of auth, org and activation
 *   license_reply.c    answers shared by the handlers
 *   license_store*.c   every statement (license_store.h)
 */
#ifndef LICENSE_APP_H
#define LICENSE_APP_H

#include "kp_rpc.h"
#include "kp_service.h"
#include "license_store.h"
#include "proto/license.pb-c.h"
#include "proto/org.pb-c.h"

#include <sodium.h>
#include <stdatomic.h>

typedef struct license_app {
	/* crypto_secretbox_KEYBYTES, sodium_malloc'd (locked, guarded) */
	unsigned char *master;
	/* served test methods (KEYPORT_TEST_CLOCK=1), and the cost of the
	 * last ListMyLicenses / GetLicense then (license.Stats) */
	int testing;
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

/* ---- shared by the handlers ------------------------------------------- */

/* license_is_admin: the caller is another service or the vendor admin. */
int license_is_admin(const kp_rpc_ctx *ctx);

/* license_unpack_admin unpacks the request (*req the caller's on KP_OK
 * and on a 403, see kp_rpc_unpack) and answers 403 unless the caller is
 * another service or the vendor admin. (license_reply.c) */
int license_unpack_admin(kp_rpc_ctx *ctx,
                         const ProtobufCMessageDescriptor *desc,
                         ProtobufCMessage **req);

/* license_end ends a handler: clears s (may be NULL), frees the unpacked
 * request (may be NULL) and returns rv. (license_reply.c) */
int license_end(int rv, license_set *s, ProtobufCMessage *req);

/* license_db_fail answers a failed store call rv of a handler about one
 * license: NOT_FOUND "no such license" for KP_ENOTFOUND and KP_EINVAL (an
 * id that is not a UUID), else kp_service_db_fail(what). Returns the
 * status answered. (license_reply.c) */
int license_db_fail(kp_rpc_ctx *ctx, int rv, const char *what);

/* license_reply_one answers the first license of s (NOT_FOUND when s is
 * empty); license_reply_set answers all of s with its total. With
 * with_counters, the activation totals are asked of the activation
 * service first. (license_reply.c) */
int license_reply_one(kp_rpc_ctx *ctx, license_set *s, int with_counters);
int license_reply_set(kp_rpc_ctx *ctx, license_set *s, int with_counters);

/* ---- the other services (license_peers.c) ------------------------------ */

/* license_peer_missing forgets a failed call's answer on ctx when the other
 * service has no such method yet (its branch not built): returns 1 then,
 * else 0. */
int license_peer_missing(kp_rpc_ctx *ctx);

/* license_counters fills total_activations / total_deactivations of every
 * license of s with one activation.Counters call. */
int license_counters(kp_rpc_ctx *ctx, license_set *s);

/* license_changed tells the activation service that n licenses changed or
 * are gone, after the change is committed and before its caller is
 * answered (heartbeat caches, services/activation/activation_lcache.h).
 * Best effort: a failure is logged and the change stands; ctx's outcome is
 * left as it was. license_changed_one is the same for one license. */
void license_changed(kp_rpc_ctx *ctx, size_t n, char **ids);
void license_changed_one(kp_rpc_ctx *ctx, const char *id);

/* license_visible_ids asks org for the ids of licenses linked to the
 * caller's groups: *out (NULL when org has no such method) is the caller's
 * to free with protobuf_c_message_free_unpacked. */
int license_visible_ids(kp_rpc_ctx *ctx,
                        Keyport__Org__VisibleLicensesReply **out);

/* license_owner_check checks that user_id (when not "") names a user, and
 * that its organization agrees with *org_id; an empty *org_id takes the
 * user's organization (copied into org_buf). Answered. */
int license_owner_check(kp_rpc_ctx *ctx, const char *user_id,
                        const char **org_id, char *org_buf, size_t org_len);

/* ---- test-only (license_testing.c) -------------------------------------- */

/* A portal request's cost, for license.Stats: license_cost_start notes the
 * counters when the test methods are served (KEYPORT_TEST_CLOCK=1), and
 * license_cost_record stores what the request cost since; both do nothing
 * otherwise. */
typedef struct license_cost {
	unsigned long queries, rpcs;
	int on;
} license_cost;

void license_cost_start(kp_rpc_ctx *ctx, license_cost *c);
void license_cost_record(kp_rpc_ctx *ctx, const license_cost *c);

/* ---- the RPC methods ----------------------------------------------------- */

/* Products (license_product.c). */
int license_product_create(kp_rpc_ctx *ctx);
int license_product_list(kp_rpc_ctx *ctx);
int license_sign_token(kp_rpc_ctx *ctx);
int license_get_signing_key(kp_rpc_ctx *ctx);

/* license_admin.c */
int license_create(kp_rpc_ctx *ctx);
int license_update(kp_rpc_ctx *ctx);
int license_delete(kp_rpc_ctx *ctx);

/* license_list.c */
int license_list(kp_rpc_ctx *ctx);
int license_get_many(kp_rpc_ctx *ctx);
int license_resolve_key(kp_rpc_ctx *ctx);

/* license_portal.c */
int license_list_mine(kp_rpc_ctx *ctx);
int license_get(kp_rpc_ctx *ctx);

/* license_state.c */
int license_suspend(kp_rpc_ctx *ctx);
int license_unsuspend(kp_rpc_ctx *ctx);
int license_revoke(kp_rpc_ctx *ctx);
int license_renew(kp_rpc_ctx *ctx);
int license_start_expiry(kp_rpc_ctx *ctx);
int license_count_org(kp_rpc_ctx *ctx);
int license_delete_org(kp_rpc_ctx *ctx);

/* license_testing.c (served under KEYPORT_TEST_CLOCK=1 only) */
int license_stats(kp_rpc_ctx *ctx);
int license_seed(kp_rpc_ctx *ctx);

#endif
