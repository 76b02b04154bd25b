/* org_app: what the org service's modules share: the RPC handlers
 * (org_orgs.c organizations and the organization admin's users,
 * org_groups.c user groups and visibility, org_custom.c customization) and
 * small helpers (org_util.c); every statement is org_store's (org_store.h).
 * Handlers follow kp_rpc_handler: they answer through ctx. */
#ifndef ORG_APP_H
#define ORG_APP_H

#include "kp_rpc.h"
#include "kp_service.h"
#include "org_store.h"
#include "proto/org.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define ORG_ROLE_ADMIN     "admin"
#define ORG_ROLE_ORG_ADMIN "organization-admin"
#define ORG_ROLE_USER      "user"

/* org_require_role answers FORBIDDEN unless the caller's role is role;
 * returns KP_OK or the failure. */
int org_require_role(kp_rpc_ctx *ctx, const char *role);

/* org_require_org_admin: the caller is an organization-admin with an
 * organization; returns KP_OK or FORBIDDEN (answered). */
int org_require_org_admin(kp_rpc_ctx *ctx);

/* org_valid_host: a lower-case DNS host name (labels of a-z, 0-9 and inner
 * dashes, at most 63 bytes each, 253 in all, not all digits). */
int org_valid_host(const char *h);

/* org_image_type names the image type of d by its magic bytes (PNG, JPEG,
 * WebP, SVG), or NULL. */
const char *org_image_type(const unsigned char *d, size_t n);

/* organizations and users (org_orgs.c) */
int org_create(kp_rpc_ctx *ctx);
int org_list(kp_rpc_ctx *ctx);
int org_get(kp_rpc_ctx *ctx);
int org_update(kp_rpc_ctx *ctx);
int org_delete(kp_rpc_ctx *ctx);
int org_user_create(kp_rpc_ctx *ctx);
int org_user_list(kp_rpc_ctx *ctx);
int org_user_get(kp_rpc_ctx *ctx);
int org_user_update(kp_rpc_ctx *ctx);
int org_user_delete(kp_rpc_ctx *ctx);

/* groups (org_groups.c) */
int org_group_create(kp_rpc_ctx *ctx);
int org_group_list(kp_rpc_ctx *ctx);
int org_group_get(kp_rpc_ctx *ctx);
int org_group_update(kp_rpc_ctx *ctx);
int org_group_delete(kp_rpc_ctx *ctx);
int org_group_add_user(kp_rpc_ctx *ctx);
int org_group_remove_user(kp_rpc_ctx *ctx);
int org_group_add_license(kp_rpc_ctx *ctx);
int org_group_remove_license(kp_rpc_ctx *ctx);
int org_visible_licenses(kp_rpc_ctx *ctx);
int org_user_removed(kp_rpc_ctx *ctx);

int org_license_removed(kp_rpc_ctx *ctx);

/* customization (org_custom.c) */
int org_custom_get(kp_rpc_ctx *ctx);
int org_custom_put(kp_rpc_ctx *ctx);
int org_logo_put(kp_rpc_ctx *ctx);
int org_logo_get(kp_rpc_ctx *ctx);
int org_branding(kp_rpc_ctx *ctx);

#endif
