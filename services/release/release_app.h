/* release_app: the release service's handlers (one file per method group)
 * and what they share. Handlers read their request, check it, call the
 * store (release_store.h, the only code that talks to PostgreSQL) or the
 * license service (release_peers.c), and answer; none touches libpq.
 *
 *   release_admin.c     the vendor admin's releases: create, update, get,
 *                       list, publish, unpublish, delete
 *   release_files.c     files: add (the gateway's upload), delete, the
 *                       signed download link and its check, the sweep
 *   release_customer.c  the portal's releases and the applications' latest
 *   release_peers.c     the license service: products, visible licenses,
 *                       a license key's license
 *   release_link.c      the links' key and tokens
 *   release_semver.c    versions and their precedence
 */
#ifndef RELEASE_APP_H
#define RELEASE_APP_H

#include "kp_rpc.h"
#include "kp_pgarr.h"
#include "proto/license.pb-c.h"
#include "proto/release.pb-c.h"
#include "release_store.h"

/* handlers */
int release_create(kp_rpc_ctx *ctx);
int release_update(kp_rpc_ctx *ctx);
int release_get(kp_rpc_ctx *ctx);
int release_list(kp_rpc_ctx *ctx);
int release_publish(kp_rpc_ctx *ctx);
int release_unpublish(kp_rpc_ctx *ctx);
int release_delete(kp_rpc_ctx *ctx);
int release_file_add(kp_rpc_ctx *ctx);
int release_file_delete(kp_rpc_ctx *ctx);
int release_download_url(kp_rpc_ctx *ctx);
int release_resolve_download(kp_rpc_ctx *ctx);
int release_mine(kp_rpc_ctx *ctx);
int release_latest(kp_rpc_ctx *ctx);

/* release_is_admin: the caller is the vendor admin. */
int release_is_admin(const kp_rpc_ctx *ctx);

/* release_reply_one answers a set's first release and clears the set. */
int release_reply_one(kp_rpc_ctx *ctx, release_set *set);

/* release_dir is the release directory (KEYPORT_RELEASE_DIR, or
 * $KEYPORT_DATA_DIR/releases), made with files/ and tmp/ at start. */
const char *release_dir(void);
int release_files_init(void);

/* release_files_remove removes the stored bytes of ids (missing ones are
 * fine) and release_files_sweep those of no row and stale uploads. */
void release_files_remove(const char *const *ids, size_t n);
void release_files_sweep(kp_db *db);

/* ---- the license service (release_peers.c) ------------------------------ */

/* release_peer_product_name writes the name of product_id (asked as the
 * caller): KP_ENOTFOUND (answered) when there is none. */
int release_peer_product_name(kp_rpc_ctx *ctx, const char *product_id,
                              char *name, size_t len);

/* release_peer_visible_products adds to ids the products of the caller's
 * visible licenses that are not revoked. Answers ctx on failure. */
int release_peer_visible_products(kp_rpc_ctx *ctx, kp_pgarr *ids);

/* release_peer_product_visible: whether the caller holds a visible,
 * non-revoked license of product_id (the vendor admin: always). */
int release_peer_product_visible(kp_rpc_ctx *ctx, const char *product_id,
                                 int *visible);

/* release_peer_license resolves a license key of product_id; *out is the
 * caller's to free. Answers ctx on failure (LICENSE_NOT_FOUND, ...). */
int release_peer_license(kp_rpc_ctx *ctx, const char *key,
                         const char *product_id,
                         Keyport__License__LicenseReply **out);

#endif
