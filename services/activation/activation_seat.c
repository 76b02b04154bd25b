/* activation_seat: seats taken and released under the per-license lock
 * (activation_store_counters.c), for online and offline activations alike.
 *
 * Leases (license.lease_seconds > 0): an activation not seen for longer is
 * released at activation time under the license lock, and a heartbeat that
 * arrives after its lease ran out finds its activation released (404); the
 * lease sweep (activation_lease.c) releases the others without any call.
 */
#include "activation_app.h"

#include "kp_err.h"
#include "kp_log.h"
#include "kp_pgarr.h"
#include "kp_service.h"

#include <inttypes.h>
#include <string.h>

int
act_check_text(kp_rpc_ctx *ctx, const char *name, const char *v, size_t max,
               int required)
{
	size_t n = v ? strlen(v) : 0;

	if (required && n == 0)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL, "%s is required",
		                   name);
	if (n > max)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL, "%s is too long",
		                   name);
	return KP_OK;
}

/* act_check_input validates an activation's machine description. */
int
act_check_input(kp_rpc_ctx *ctx, const Keyport__Activation__ActivateRequest *r)
{
	int rv;

	if ((rv = act_check_text(ctx, "key", r->key, 128, 1)) != KP_OK ||
	    (rv = act_check_text(ctx, "fingerprint", r->fingerprint, 256, 1)) !=
	        KP_OK ||
	    (rv = act_check_text(ctx, "hostname", r->hostname, 255, 0)) !=
	        KP_OK ||
	    (rv = act_check_text(ctx, "os", r->os, 64, 0)) != KP_OK ||
	    (rv = act_check_text(ctx, "osVersion", r->os_version, 64, 0)) !=
	        KP_OK ||
	    (rv = act_check_text(ctx, "appVersion", r->app_version, 64, 0)) !=
	        KP_OK ||
	    (rv = act_check_text(ctx, "vmName", r->vm_name, 255, 0)) != KP_OK ||
	    (rv = act_check_text(ctx, "nonce", r->nonce, 128, 0)) != KP_OK ||
	    (rv = act_check_text(ctx, "clientPublicKey", r->client_public_key,
	                         128, 0)) != KP_OK)
		return rv;
	if (!kp_uuid_valid(r->product_id))
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "productId must be a UUID");
	return KP_OK;
}

/* act_seat_abort ends a failed seat change: the transaction is rolled back
 * and *row emptied. Returns rv. */
static int
act_seat_abort(kp_db *db, act_row *row, int rv)
{
	kp_db_rollback(db);
	act_row_clear(row);
	return rv;
}

/* act_seat_take is the locked part of act_take_slot: lapsed leases are
 * released, then the machine's live activation is touched or a new one is
 * made within the limit, and the transaction committed. */
static int
act_seat_take(kp_rpc_ctx *ctx, kp_db *db, const Keyport__License__License *l,
              const Keyport__Activation__ActivateRequest *req, int64_t now,
              act_row *row, int *created)
{
	int64_t lease = l->lease_seconds > 0 ? l->lease_seconds : 0;
	act_new n = {l->id, l->product_id, req, now, lease};
	act_live live;
	int rv;

	if ((rv = act_store_lock(db, l->id, NULL)) != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "activation: lock the license");
	if ((rv = act_store_lease_sync(db, l->id, lease)) != KP_OK ||
	    (lease > 0 && (rv = act_store_release(db, ACT_RELEASE_LAPSED, l->id,
	                                          now, lease)) != KP_OK) ||
	    (rv = act_store_live(db, l->id, req->fingerprint, &live)) != KP_OK)
		goto dbfail;
	if (live.same_id[0] != '\0') {
		/* the same machine again: its activation, no new slot */
		if ((rv = act_store_touch(db, live.same_id, now, req->offline,
		                          req->client_public_key, row)) !=
		    KP_OK)
			goto dbfail;
	} else {
		if (l->allowed_activations >= 0 &&
		    live.count >= l->allowed_activations) {
			rv = kp_rpc_fail(
			    ctx, KP_ECONFLICT, "ACTIVATION_LIMIT_REACHED",
			    "the license allows %" PRId64 " activations",
			    l->allowed_activations);
			goto out;
		}
		if ((rv = act_store_insert(db, &n, row)) != KP_OK ||
		    (rv = act_store_count(db, l->id, ACT_COUNT_ACTIVATION)) !=
		        KP_OK)
			goto dbfail;
		*created = 1;
	}
	if ((rv = kp_db_commit(db)) == KP_OK) {
		kp_service_crash_point("activation.activate");
		return KP_OK;
	}
dbfail:
	rv = kp_service_db_fail(ctx, rv, NULL, "activation: take a seat");
out:
	return act_seat_abort(db, row, rv);
}

/* act_start_expiry starts the delayed expiry of license l at its first
 * activation; *started owns the license as it is now (NULL when the
 * answer had none). */
static int
act_start_expiry(kp_rpc_ctx *ctx, kp_db *db, const Keyport__License__License *l,
                 Keyport__License__LicenseReply **started)
{
	Keyport__License__StartExpiryRequest sreq =
	    KEYPORT__LICENSE__START_EXPIRY_REQUEST__INIT;
	int rv;

	sreq.license_id = l->id;
	rv = act_license_call(ctx, KP_RPC_LICENSE_START_EXPIRY,
	                      (ProtobufCMessage *)&sreq,
	                      (ProtobufCMessage **)started);
	if (rv != KP_OK)
		return rv;
	/* the license changed: heartbeat caches must see it (the license
	 * service does not notify us of StartExpiry, which we ask for) */
	if ((rv = act_store_count(db, l->id, ACT_COUNT_VERSION)) != KP_OK)
		kp_log_warn("license %s: version bump failed (%s, SQLSTATE %s)",
		            l->id, kp_strerror(rv), kp_db_sqlstate(db));
	if ((*started)->license == NULL) {
		protobuf_c_message_free_unpacked((ProtobufCMessage *)*started,
		                                 NULL);
		*started = NULL;
	}
	return KP_OK;
}

int
act_take_slot(kp_rpc_ctx *ctx, const Keyport__License__License *l,
              const Keyport__Activation__ActivateRequest *req, int64_t now,
              act_row *row, int *created,
              Keyport__License__LicenseReply **started)
{
	kp_db *db = kp_service_db(ctx);
	int rv;

	memset(row, 0, sizeof(*row));
	*created = 0;
	*started = NULL;
	if ((rv = act_seat_take(ctx, db, l, req, now, row, created)) != KP_OK)
		return rv;
	/* delayed expiry starts with the license's first activation; the
	 * same machine again starts it too when it has not started (license
	 * was unreachable after the first one's commit, whose client saw an
	 * error and retries; StartExpiry is idempotent) */
	if (strcmp(l->expiration_strategy, "delayed") == 0 &&
	    l->expires_at[0] == '\0' && l->validity > 0 &&
	    (rv = act_start_expiry(ctx, db, l, started)) != KP_OK)
		act_row_clear(row);
	return rv;
}

int
act_release(kp_rpc_ctx *ctx, const Keyport__License__License *l,
            const char *activation_id, const char *proof_hex, int64_t now,
            act_row *row)
{
	kp_db *db = kp_service_db(ctx);
	int64_t deacts = 0;
	int rv, found = 0;

	memset(row, 0, sizeof(*row));
	if ((rv = act_store_lock(db, l->id, &deacts)) != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "activation: lock the license");
	if ((rv = act_store_find_live(db, activation_id, l->id, &found)) !=
	    KP_OK)
		goto dbfail;
	if (!found) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
		goto out;
	}
	if (l->allowed_deactivations >= 0 &&
	    deacts >= l->allowed_deactivations) {
		rv =
		    kp_rpc_fail(ctx, KP_ECONFLICT, "DEACTIVATION_LIMIT_REACHED",
		                "the license allows %" PRId64 " deactivations",
		                l->allowed_deactivations);
		goto out;
	}
	if (proof_hex != NULL && proof_hex[0] != '\0') {
		rv = act_store_proof(db, proof_hex, activation_id, l->id, now);
		if (rv == KP_ECONFLICT) {
			rv = kp_rpc_fail(ctx, KP_EINVAL, "OFFLINE_REPLAYED",
			                 "this deactivation proof was already "
			                 "used");
			goto out;
		}
		if (rv != KP_OK)
			goto dbfail;
	}
	if ((rv = act_store_deactivate(db, activation_id, now, row)) != KP_OK ||
	    (rv = act_store_count(db, l->id, ACT_COUNT_DEACTIVATION)) !=
	        KP_OK ||
	    (rv = kp_db_commit(db)) != KP_OK)
		goto dbfail;
	return KP_OK;
dbfail:
	rv = kp_service_db_fail(ctx, rv, NULL, "activation: release a seat");
out:
	return act_seat_abort(db, row, rv);
}

int
act_answer_released(kp_rpc_ctx *ctx, act_row *row)
{
	Keyport__Activation__DeactivateReply rep =
	    KEYPORT__ACTIVATION__DEACTIVATE_REPLY__INIT;

	rep.activation = &row->msg;
	return kp_rpc_reply(ctx, (ProtobufCMessage *)&rep);
}
