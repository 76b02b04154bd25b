/* gw_beat: heartbeats coalesced into activation.HeartbeatBatch (gw_beat.h).
 *
 * A leader/follower queue under one mutex: a heartbeat appends itself and,
 * while fewer than KEYPORT_HEARTBEAT_IN_FLIGHT calls are out, the head of
 * the queue (with up to KEYPORT_HEARTBEAT_BATCH - 1 beats behind it) is
 * made a leader and sends them; the others sleep on their own condition
 * variable until the leader hands them their answer. When a call returns,
 * its leader promotes the next head, so the queue drains as fast as calls
 * return and never waits for a timer. */
#include "gw_beat.h"

#include "gw_call.h"
#include "kp_call.h"
#include "kp_config.h"
#include "kp_err.h"
#include "rpc/kp_contract.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* the activation service's limit (activation_heartbeat.c, ACT_BATCH_MAX) */
#define GW_BEAT_MAX 256

enum gw_beat_state { GW_BEAT_WAIT, GW_BEAT_LEAD, GW_BEAT_DONE };

typedef struct gw_beat_slot {
	const Keyport__Activation__HeartbeatRequest *req;
	gw_request *r;
	pthread_cond_t cv;
	enum gw_beat_state state;
	/* in the queue, then in the leader's batch */
	struct gw_beat_slot *next;
	/* the answer */
	int rv;
	kp_rpc_result res;
	Keyport__Activation__ActivationReply *rep;
} gw_beat_slot;

static pthread_mutex_t gw_beat_mu = PTHREAD_MUTEX_INITIALIZER;
static gw_beat_slot *gw_beat_head; /* the queue, oldest first */
static int gw_beat_inflight;       /* calls out now */

/* gw_beat_promote makes the queue's head a leader of the beats behind it
 * (same gateway state, up to the batch size) while a call may go out.
 * Called with gw_beat_mu held. */
static void
gw_beat_promote(void)
{
	int most = (int)kp_cfg_int(KP_CFG_HEARTBEAT_BATCH);
	gw_beat_slot *lead, **pp, *s;
	int n = 1;

	if (gw_beat_head == NULL ||
	    gw_beat_inflight >= (int)kp_cfg_int(KP_CFG_HEARTBEAT_IN_FLIGHT))
		return;
	if (most < 1 || most > GW_BEAT_MAX)
		most = GW_BEAT_MAX;
	lead = gw_beat_head;
	gw_beat_head = lead->next;
	lead->next = NULL;
	/* take the beats of the same gateway (one per process in practice) */
	for (pp = &gw_beat_head, s = lead; *pp != NULL && n < most;) {
		if ((*pp)->r->gw != lead->r->gw) {
			pp = &(*pp)->next;
			continue;
		}
		s->next = *pp;
		s = *pp;
		*pp = s->next;
		s->next = NULL;
		n++;
	}
	gw_beat_inflight++;
	lead->state = GW_BEAT_LEAD;
	pthread_cond_signal(&lead->cv);
}

/* gw_beat_fail_all gives every beat of the batch the call's failure. */
static void
gw_beat_fail_all(gw_beat_slot *batch, int rv, const kp_rpc_result *res)
{
	for (gw_beat_slot *s = batch; s != NULL; s = s->next) {
		s->rv = rv;
		s->res = *res;
		s->rep = NULL;
	}
}

/* gw_beat_spread reads the batch's answer into its beats. */
static void
gw_beat_spread(gw_beat_slot *batch,
               const Keyport__Activation__HeartbeatBatchReply *brep, size_t n)
{
	kp_rpc_result bad = {.status = KP_EINTERNAL};
	size_t i = 0;

	if (brep->n_replies != n) {
		snprintf(bad.message, sizeof(bad.message),
		         "activation.HeartbeatBatch: %zu answers for %zu beats",
		         brep->n_replies, n);
		gw_beat_fail_all(batch, KP_EINTERNAL, &bad);
		return;
	}
	for (gw_beat_slot *s = batch; s != NULL; s = s->next, i++) {
		const Keyport__Reply *one = brep->replies[i];

		memset(&s->res, 0, sizeof(s->res));
		s->rep = NULL;
		s->rv = kp_err_valid((int)one->status) ? (int)one->status
		                                       : KP_EINTERNAL;
		s->res.status = s->rv;
		if (s->rv != KP_OK) {
			snprintf(s->res.code, sizeof(s->res.code), "%s",
			         one->code ? one->code : "");
			snprintf(s->res.message, sizeof(s->res.message), "%s",
			         one->message ? one->message : "");
			s->res.retry_after = one->retry_after;
			continue;
		}
		s->rep = keyport__activation__activation_reply__unpack(
		    NULL, one->payload.len, one->payload.data);
		if (s->rep == NULL) {
			s->rv = s->res.status = KP_EINTERNAL;
			snprintf(s->res.message, sizeof(s->res.message),
			         "activation.HeartbeatBatch: malformed answer");
		}
	}
}

/* gw_beat_send sends the leader's batch (alone: activation.Heartbeat) and
 * fills every beat's answer. */
static void
gw_beat_send(gw_beat_slot *batch)
{
	const Keyport__Activation__HeartbeatRequest *beats[GW_BEAT_MAX];
	Keyport__Activation__HeartbeatBatchRequest breq =
	    KEYPORT__ACTIVATION__HEARTBEAT_BATCH_REQUEST__INIT;
	Keyport__Activation__HeartbeatBatchReply *brep = NULL;
	kp_rpc_client *c = batch->r->gw->clients[GW_ACTIVATION];
	kp_rpc_call call = {0};
	size_t n = 0;

	call.request_id = batch->r->request_id;
	if (batch->next == NULL) {
		batch->rv = kp_call_invoke(
		    c, KP_RPC_ACTIVATION_HEARTBEAT, &call,
		    (const ProtobufCMessage *)batch->req,
		    (ProtobufCMessage **)&batch->rep, &batch->res);
		return;
	}
	for (gw_beat_slot *s = batch; s != NULL; s = s->next)
		beats[n++] = s->req;
	breq.n_beats = n;
	breq.beats = (Keyport__Activation__HeartbeatRequest **)beats;
	batch->rv =
	    kp_call_invoke(c, KP_RPC_ACTIVATION_HEARTBEAT_BATCH, &call,
	                   &breq.base, (ProtobufCMessage **)&brep, &batch->res);
	if (batch->rv != KP_OK) {
		kp_rpc_result res = batch->res;

		gw_beat_fail_all(batch, batch->rv, &res);
		return;
	}
	gw_beat_spread(batch, brep, n);
	protobuf_c_message_free_unpacked(&brep->base, NULL);
}

int
gw_beat_call(gw_request *r, gw_response *w,
             const Keyport__Activation__HeartbeatRequest *req,
             Keyport__Activation__ActivationReply **rep)
{
	gw_beat_slot me = {.req = req, .r = r, .state = GW_BEAT_WAIT};
	gw_beat_slot **pp;

	*rep = NULL;
	if (kp_cfg_int(KP_CFG_HEARTBEAT_BATCH) <= 1) /* no coalescing at all */
		return gw_call(r, w, KP_RPC_ACTIVATION_HEARTBEAT,
		               (const ProtobufCMessage *)req,
		               (ProtobufCMessage **)rep);
	pthread_cond_init(&me.cv, NULL);
	pthread_mutex_lock(&gw_beat_mu);
	for (pp = &gw_beat_head; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = &me;
	gw_beat_promote();
	while (me.state == GW_BEAT_WAIT)
		pthread_cond_wait(&me.cv, &gw_beat_mu);
	if (me.state == GW_BEAT_LEAD) {
		pthread_mutex_unlock(&gw_beat_mu);
		gw_beat_send(&me);
		pthread_mutex_lock(&gw_beat_mu);
		for (gw_beat_slot *s = me.next, *next; s != NULL; s = next) {
			next = s->next; /* s belongs to its thread once DONE */
			s->state = GW_BEAT_DONE;
			pthread_cond_signal(&s->cv);
		}
		gw_beat_inflight--;
		gw_beat_promote();
	}
	pthread_mutex_unlock(&gw_beat_mu);
	pthread_cond_destroy(&me.cv);
	if (me.rv != KP_OK)
		return gw_call_answer(r, w, me.rv, &me.res);
	*rep = me.rep;
	return KP_OK;
}
