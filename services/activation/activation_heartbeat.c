/* activation_heartbeat: activation.Heartbeat, the hot path (a running
 * application proves it is still there and gets a fresh token), and
 * activation.LicenseChanged, which keeps the license cache the heartbeat
 * answers from honest (activation_lcache.h). */
#include "activation_app.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"
#include "kp_service.h"

#include <string.h>

/* last_seen_at is written at most once a minute per activation */
#define ACT_SEEN_EVERY 60

/* act_seen_every: how old last_seen_at may grow before a heartbeat writes
 * it again: a minute, or a quarter of a shorter lease (the seat of a leased
 * license depends on it). */
static int64_t
act_seen_every(const Keyport__License__License *l)
{
	int64_t every = ACT_SEEN_EVERY;

	if (l->lease_seconds > 0 && l->lease_seconds / 4 < every)
		every = l->lease_seconds / 4 > 0 ? l->lease_seconds / 4 : 1;
	return every;
}

/* act_beat_query reads the activation of license l into *b (and, with a
 * lease, records now as its lastSeenAt in the same statement). */
static int
act_beat_query(kp_rpc_ctx *ctx, const char *activation_id,
               const Keyport__License__License *l, int64_t now, act_beat *b)
{
	int rv = act_store_heartbeat(
	    kp_service_db(ctx), activation_id, l->id, now,
	    l->lease_seconds > 0 ? l->lease_seconds : 0, act_seen_every(l), b);

	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "activation.Heartbeat: read");
	return KP_OK;
}

/* A heartbeat asks the license service nothing when the key is in the
 * license cache at the version the activation schema holds; otherwise it
 * resolves the key (license.ResolveKey) and remembers the answer. On KP_OK
 * *l is the license of *cached or of *lic (whichever is set; the caller
 * frees both) and *b the activation (found 0 for an unknown one). */
static int
act_beat_read(kp_rpc_ctx *ctx, const Keyport__Activation__HeartbeatRequest *req,
              int64_t now, act_beat *b, Keyport__License__License **cached,
              Keyport__License__LicenseReply **lic,
              const Keyport__License__License **l)
{
	act_app *app = act_app_of(ctx);
	int64_t now_ms = kp_now_ms(), cver = 0;
	int rv;

	if (act_lcache_get(app->lcache, req->key, now_ms, cached, &cver)) {
		*l = *cached;
	} else {
		if ((rv = act_resolve_key(ctx, req->key, "", lic)) != KP_OK)
			return rv;
		*l = (*lic)->license;
	}
	if ((rv = act_beat_query(ctx, req->activation_id, *l, now, b)) != KP_OK)
		return rv;
	/* (no row: an unknown activation, 404 whatever the license says) */
	if (*cached != NULL && b->found && b->version != cver) {
		/* the license changed since it was cached: read it again, and
		 * the activation with it (its lease may have changed) */
		act_beat_clear(b);
		if ((rv = act_resolve_key(ctx, req->key, "", lic)) != KP_OK)
			return rv;
		*l = (*lic)->license;
		if ((rv = act_beat_query(ctx, req->activation_id, *l, now,
		                         b)) != KP_OK)
			return rv;
	}
	if (*lic != NULL && b->found)
		act_lcache_put(app->lcache, req->key, *l, b->version, now_ms);
	return KP_OK;
}

/* act_beat_live answers 404 for an activation that is gone: deactivated,
 * or (released now) out of its lease. */
static int
act_beat_live(kp_rpc_ctx *ctx, const Keyport__License__License *l,
              const act_beat *b, int64_t now)
{
	int rv;

	if (!b->found)
		return kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                   "no such activation");
	if (b->a.deact_t != 0)
		return kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                   "the activation was deactivated");
	if (l->lease_seconds <= 0 || b->a.msg.offline ||
	    b->a.seen_t >= now - l->lease_seconds)
		return KP_OK;
	/* the lease ran out: the seat is released, not renewed */
	if ((rv = act_store_release(kp_service_db(ctx), ACT_RELEASE_ONE,
	                            b->a.msg.id, now, l->lease_seconds)) !=
	    KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "activation.Heartbeat: release");
	return kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
	                   "the activation's lease expired");
}

int
act_heartbeat(kp_rpc_ctx *ctx)
{
	Keyport__Activation__HeartbeatRequest *req = NULL;
	Keyport__License__LicenseReply *lic = NULL;
	Keyport__License__License *cached = NULL;
	const Keyport__License__License *l = NULL;
	int64_t now = kp_now();
	act_beat b = {0};
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__activation__heartbeat_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if ((rv = act_check_text(ctx, "key", req->key, 128, 1)) != KP_OK ||
	    (rv = act_check_text(ctx, "nonce", req->nonce, 128, 0)) != KP_OK)
		goto out;
	if (!kp_uuid_valid(req->activation_id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "ACTIVATION_NOT_FOUND",
		                 "no such activation");
		goto out;
	}
	if ((rv = act_beat_read(ctx, req, now, &b, &cached, &lic, &l)) !=
	        KP_OK ||
	    (rv = act_beat_live(ctx, l, &b, now)) != KP_OK)
		goto out;
	if (b.written) {
		b.a.seen_t = now; /* written by the statement */
		kp_time_format(now, b.a.seen, sizeof(b.a.seen));
	} else if (l->lease_seconds <= 0 &&
	           b.a.seen_t < now - act_seen_every(l)) {
		act_seen_note(act_app_of(ctx)->seen, req->activation_id, now);
		b.a.seen_t = now;
		kp_time_format(now, b.a.seen, sizeof(b.a.seen));
	}
	rv = act_answer(ctx, l, &b.a.msg, 0, req->nonce, now);
out:
	act_beat_clear(&b);
	if (cached)
		protobuf_c_message_free_unpacked((ProtobufCMessage *)cached,
		                                 NULL);
	act_license_free(lic);
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}

int
act_license_changed(kp_rpc_ctx *ctx)
{
	Keyport__Activation__LicenseChangedRequest *req = NULL;
	Keyport__Activation__LicenseChangedReply rep =
	    KEYPORT__ACTIVATION__LICENSE_CHANGED_REPLY__INIT;
	int rv;

	rv = kp_rpc_unpack(
	    ctx, &keyport__activation__license_changed_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		return rv;
	if (req->n_license_ids > 10000) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "license_ids: at most 10000 per call");
		goto out;
	}
	/* an id that is no UUID was never a license: nothing cached */
	if ((rv = act_store_licenses_changed(kp_service_db(ctx),
	                                     req->license_ids,
	                                     req->n_license_ids)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "activation.LicenseChanged: bump");
		goto out;
	}
	rep.count = (int64_t)req->n_license_ids;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	return rv;
}
