/* activation_internal: what the activation service's source files share
 * (activation_rpc.c: online activations, lists, counters; activation_offline.c:
 * the offline file exchange; activation_lease.c: the lease sweep). Not an API
 * of the service: nothing outside services/activation includes it.
 *
 * Every function that takes a kp_rpc_ctx sets ctx's answer on failure (the
 * caller just returns the status); the ones named act_check_* and
 * act_license_usable answer 400/403 that way too.
 */
#ifndef ACTIVATION_INTERNAL_H
#define ACTIVATION_INTERNAL_H

#include "kp_db.h"
#include "kp_rpc.h"
#include "proto/activation.pb-c.h"
#include "proto/license.pb-c.h"

#include <jansson.h>
#include <stdint.h>

/* ---- rows ---------------------------------------------------------------- */

#define ACT_COLS                                                               \
	"id::text, license_id::text, product_id::text, fingerprint, "          \
	"hostname, "                                                           \
	"os, os_version, app_version, vm_name, offline, "                      \
	"extract(epoch from created_at)::bigint, "                             \
	"extract(epoch from last_seen_at)::bigint, "                           \
	"coalesce(extract(epoch from deactivated_at)::bigint, 0)"
#define ACT_NCOLS 13

/* One activation row as a message; strings borrowed from the PGresult or
 * from the time buffers here. */
typedef struct act_row {
	Keyport__Activation__Activation msg;
	char created[32], seen[32], deact[32];
	int64_t created_t, seen_t, deact_t;
} act_row;

/* act_row_read fills r from columns col.. (ACT_COLS order) of row of res;
 * r borrows res, which must outlive it. */
void act_row_read(act_row *r, PGresult *res, int row, int col);

/* ---- helpers ------------------------------------------------------------- */

/* act_parse_time reads the RFC 3339 UTC prefix "YYYY-MM-DDTHH:MM:SS";
 * 0 for "" or garbage. */
int64_t act_parse_time(const char *s);

/* act_license_status derives the license's status at now ("active",
 * "suspended", "revoked" or "expired"; a static string). */
const char *act_license_status(const Keyport__License__License *l, int64_t now);

/* act_license_usable answers 403 unless the license is active. */
int act_license_usable(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                       int64_t now);

/* act_get_license: license.GetLicense with the envelope's caller (portal
 * visibility; NOT_FOUND for what the caller may not see); *out owned by the
 * caller on KP_OK. */
int act_get_license(kp_rpc_ctx *ctx, const char *id,
                    Keyport__License__LicenseReply **out);

/* act_db_fail logs db's failure and answers ctx with rv. */
int act_db_fail(kp_rpc_ctx *ctx, kp_db *db, int rv);

/* act_metadata returns the license's metadata as a JSON object (new ref). */
json_t *act_metadata(const Keyport__License__License *l);

/* act_check_text answers 400 naming the field when v is missing (and
 * required) or longer than max bytes. */
int act_check_text(kp_rpc_ctx *ctx, const char *name, const char *v, size_t max,
                   int required);

/* act_check_input validates an activation's machine description. */
int act_check_input(kp_rpc_ctx *ctx,
                    const Keyport__Activation__ActivateRequest *r);

/* act_take_slot activates the machine of req on license l (already checked
 * usable) under the license lock: the live activation of the same
 * fingerprint is answered again (*created = 0), otherwise a new one is made
 * within allowedActivations. On KP_OK *row owns the activation's row (one
 * row, ACT_COLS). The delayed expiry is started on a first activation and
 * *started then owns the license as it is now. */
int act_take_slot(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                  const Keyport__Activation__ActivateRequest *req, int64_t now,
                  PGresult **row, int *created,
                  Keyport__License__LicenseReply **started);

/* act_release deactivates a live activation of license l under the license
 * lock, within allowedDeactivations; proof_hex (may be "") is recorded once
 * (a second use answers 400 OFFLINE_REPLAYED). On KP_OK *row owns the
 * activation's row. */
int act_release(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                const char *activation_id, const char *proof_hex, int64_t now,
                PGresult **row);

/* ---- RPC methods of activation_offline.c --------------------------------- */

/* activation.OfflineActivate / activation.OfflineDeactivate */
int act_offline_activate(kp_rpc_ctx *ctx);
int act_offline_deactivate(kp_rpc_ctx *ctx);

#endif
