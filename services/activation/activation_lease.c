/* activation_lease: the lease sweep thread and its one pass (see
 * activation_lease.h; its statements are in activation_store_lease.c). */
#include "activation_lease.h"
#include "activation_store.h"

#include "rpc/kp_contract.h"
#include "kp_call.h"
#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "proto/license.pb-c.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* licenses looked at per round; a pass repeats rounds while they release */
#define ACT_SWEEP_BATCH  100
#define ACT_SWEEP_ROUNDS 20

struct act_sweeper {
	kp_service *svc;
	kp_db *db;
	int64_t every_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

/* act_leases asks license for the current lease of each id; leases[i] is 0
 * for an id license does not know. */
static int
act_leases(kp_rpc_client *license, char **ids, size_t n, int64_t *leases)
{
	Keyport__License__GetLicensesRequest req =
	    KEYPORT__LICENSE__GET_LICENSES_REQUEST__INIT;
	Keyport__License__GetLicensesReply *rep = NULL;
	kp_rpc_call call;
	kp_rpc_result res;
	int rv;

	memset(&call, 0, sizeof(call));
	req.n_ids = n;
	req.ids = ids;
	rv = kp_call_invoke(license, KP_RPC_LICENSE_GET_LICENSES, &call,
	                    (ProtobufCMessage *)&req, (ProtobufCMessage **)&rep,
	                    &res);
	if (rv != KP_OK) {
		kp_log_warn("lease sweep: %s: %s %s",
		            KP_RPC_LICENSE_GET_LICENSES->name, res.code,
		            res.message);
		return rv;
	}
	for (size_t i = 0; i < n; i++) {
		leases[i] = 0;
		for (size_t j = 0; j < rep->n_licenses; j++)
			if (strcasecmp(rep->licenses[j]->id, ids[i]) == 0)
				leases[i] =
				    rep->licenses[j]->lease_seconds > 0
				        ? rep->licenses[j]->lease_seconds
				        : 0;
	}
	protobuf_c_message_free_unpacked((ProtobufCMessage *)rep, NULL);
	return KP_OK;
}

/* act_sweep_round is one round of act_lease_sweep; *more tells whether a
 * full batch of licenses was looked at and something was released. */
static int
act_sweep_round(kp_db *db, kp_rpc_client *license, int64_t now,
                int64_t *released, int *more)
{
	act_id_set lapsed;
	int64_t *leases = NULL, n = 0;
	int rv;

	*more = 0;
	if ((rv = act_store_lapsed(db, now, ACT_SWEEP_BATCH, &lapsed)) != KP_OK)
		goto dbfail;
	if (lapsed.n == 0)
		goto out;
	rv = KP_EINTERNAL;
	if ((leases = calloc(lapsed.n, sizeof(*leases))) == NULL)
		goto out;
	if ((rv = act_leases(license, lapsed.ids, lapsed.n, leases)) != KP_OK)
		goto out;
	if ((rv = act_store_sweep(db, now, lapsed.ids, leases, lapsed.n, &n)) !=
	    KP_OK)
		goto dbfail;
	*released += n;
	*more = lapsed.n == ACT_SWEEP_BATCH && n > 0;
	goto out;
dbfail:
	kp_log_warn("lease sweep: database failure (%s, SQLSTATE %s)",
	            kp_strerror(rv), kp_db_sqlstate(db));
out:
	free(leases);
	act_id_set_clear(&lapsed);
	return rv;
}

int
act_lease_sweep(kp_db *db, kp_rpc_client *license, int64_t now,
                int64_t *released)
{
	int64_t total = 0;
	int rv = KP_OK, more = 1;

	for (int round = 0; more && round < ACT_SWEEP_ROUNDS; round++)
		if ((rv = act_sweep_round(db, license, now, &total, &more)) !=
		    KP_OK)
			break;
	if (released != NULL)
		*released = total;
	return rv;
}

static void *
act_sweeper_main(void *arg)
{
	act_sweeper *s = arg;
	kp_rpc_client *license = kp_service_client(s->svc, "license");
	struct timespec until;
	int64_t released;

	kp_log_set_request_id("lease-sweep");
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		kp_deadline(&until, CLOCK_MONOTONIC, s->every_ms);
		while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu,
		                                          &until) != ETIMEDOUT)
			;
		if (s->stop)
			break;
		pthread_mutex_unlock(&s->mu);
		released = 0;
		act_lease_sweep(s->db, license, kp_now(), &released);
		if (released > 0)
			kp_log_info("lease sweep: released %" PRId64
			            " lapsed activations",
			            released);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
act_sweeper_start(kp_service *svc, act_sweeper **out)
{
	pthread_condattr_t ca;
	act_sweeper *s = NULL;
	int64_t every = kp_cfg_int(KP_CFG_LEASE_SWEEP_MS);
	int rv;

	*out = NULL;
	if (every == 0) {
		kp_log_info("lease sweep off (KEYPORT_LEASE_SWEEP_MS=0)");
		return KP_OK;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KP_EINTERNAL;
	s->svc = svc;
	s->every_ms = every;
	if ((rv = kp_db_open(&s->db, kp_cfg_str(KP_CFG_DATABASE_URL),
	                     "activation", 1)) != KP_OK) {
		free(s);
		return rv;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, act_sweeper_main, s) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		kp_db_close(s->db);
		free(s);
		return KP_EINTERNAL;
	}
	*out = s;
	return KP_OK;
}

void
act_sweeper_stop(act_sweeper *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	kp_db_close(s->db);
	free(s);
}
