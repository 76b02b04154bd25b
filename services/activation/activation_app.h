/* activation_app: the activation service's state and what its handler files
 * share. Not an API of the service: nothing outside services/activation
 * includes it.
 *
 *   activation_activate.c   activation.Activate, activation.Deactivate
 *   activation_heartbeat.c  activation.Heartbeat, activation.LicenseChanged
 *   activation_list.c       activation.ListActivations, activation.Counters
 *   activation_offline.c    activation.OfflineActivate / OfflineDeactivate
 *   activation_seat.c       seats taken and released under the license lock
 *   activation_license.c    the license as the license service answers it
 *   activation_token.c      signed tokens and the answer that carries one
 *   activation_store*.c     every statement (activation_store.h)
 *
 * Every function that takes a kp_rpc_ctx sets ctx's answer on failure (the
 * caller just returns the status); the ones named act_check_* and
 * act_license_usable answer 400/403 that way too.
 */
#ifndef ACTIVATION_APP_H
#define ACTIVATION_APP_H

#include "rpc/kp_contract.h"
#include "activation_lcache.h"
#include "activation_lease.h"
#include "activation_seen.h"
#include "activation_store.h"
#include "activation_token.h"
#include "kp_rpc.h"
#include "proto/activation.pb-c.h"
#include "proto/license.pb-c.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The service's state (kp_service_set_app), made by activation_init. */
typedef struct act_app {
	act_signer *signer;
	act_lcache *lcache;   /* license keys seen by heartbeats */
	act_seen *seen;       /* batched lastSeenAt writes */
	act_sweeper *sweeper; /* NULL when KEYPORT_LEASE_SWEEP_MS=0 */
} act_app;

/* act_app_of returns the state of the service serving ctx (borrowed). */
act_app *act_app_of(const kp_rpc_ctx *ctx);

/* ---- the license (activation_license.c) ---------------------------------- */

/* act_parse_time reads the RFC 3339 UTC prefix "YYYY-MM-DDTHH:MM:SS";
 * 0 for "" or garbage. */
int64_t act_parse_time(const char *s);

/* act_license_status derives the license's status at now ("active",
 * "suspended", "revoked" or "expired"; a static string). */
const char *act_license_status(const Keyport__License__License *l, int64_t now);

/* act_license_usable answers 403 unless the license is active. */
int act_license_usable(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                       int64_t now);

/* act_license_call calls method m of the license service's contract as an
 * internal caller (key resolution is not subject to a portal user's
 * visibility); *reply (m's reply) owned by the caller on KP_OK. */
int act_license_call(kp_rpc_ctx *ctx, const kp_rpc_desc *m,
                     const ProtobufCMessage *req, ProtobufCMessage **reply);

/* act_resolve_key: license.ResolveKey; *out owned by the caller on KP_OK
 * (its license is never NULL). */
int act_resolve_key(kp_rpc_ctx *ctx, const char *key, const char *product_id,
                    Keyport__License__LicenseReply **out);

/* act_get_license: license.GetLicense with the envelope's caller (portal
 * visibility; NOT_FOUND for what the caller may not see, and for an id that
 * is not a UUID); *out owned by the caller on KP_OK (its license is never
 * NULL). */
int act_get_license(kp_rpc_ctx *ctx, const char *id,
                    Keyport__License__LicenseReply **out);

/* act_license_free frees a license reply; NULL-safe. */
void act_license_free(Keyport__License__LicenseReply *r);

/* act_metadata returns the license's metadata as a JSON object (new ref). */
json_t *act_metadata(const Keyport__License__License *l);

/* ---- seats (activation_seat.c) ------------------------------------------- */

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
 * within allowedActivations. On KP_OK *row holds the activation (the
 * caller clears it). The delayed expiry is started on a first activation
 * and *started then owns the license as it is now. */
int act_take_slot(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                  const Keyport__Activation__ActivateRequest *req, int64_t now,
                  act_row *row, int *created,
                  Keyport__License__LicenseReply **started);

/* act_release deactivates a live activation of license l under the license
 * lock, within allowedDeactivations; proof_hex (may be "") is recorded once
 * (a second use answers 400 OFFLINE_REPLAYED). On KP_OK *row holds the
 * activation (the caller clears it). */
int act_release(kp_rpc_ctx *ctx, const Keyport__License__License *l,
                const char *activation_id, const char *proof_hex, int64_t now,
                act_row *row);

/* act_answer_released replies with the DeactivateReply of a released
 * activation (activation_seat.c). */
int act_answer_released(kp_rpc_ctx *ctx, act_row *row);

/* ---- answers (activation_token.c) ---------------------------------------- */

/* act_answer replies with an ActivationReply for activation a of license l
 * carrying a fresh signed token (payload: common/kp_token.h, version 1). */
int act_answer(kp_rpc_ctx *ctx, const Keyport__License__License *l,
               Keyport__Activation__Activation *a, int created,
               const char *nonce, int64_t now);

/* ---- the RPC methods ----------------------------------------------------- */

int act_activate(kp_rpc_ctx *ctx);           /* activation_activate.c */
int act_deactivate(kp_rpc_ctx *ctx);         /* activation_activate.c */
int act_heartbeat(kp_rpc_ctx *ctx);          /* activation_heartbeat.c */
int act_license_changed(kp_rpc_ctx *ctx);    /* activation_heartbeat.c */
int act_list(kp_rpc_ctx *ctx);               /* activation_list.c */
int act_counters(kp_rpc_ctx *ctx);           /* activation_list.c */
int act_offline_activate(kp_rpc_ctx *ctx);   /* activation_offline.c */
int act_offline_deactivate(kp_rpc_ctx *ctx); /* activation_offline.c */

#endif
