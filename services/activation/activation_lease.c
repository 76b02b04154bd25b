/* activation_lease: the lease sweep thread and its one pass (see
 * activation_lease.h). The pass never waits for a row lock (SKIP LOCKED), so
 * it cannot deadlock with an activation holding its license's lock; a
 * skipped row is looked at again on the next pass. */
#include "activation_lease.h"

#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_pgarr.h"
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

/* licenses with at least one lapsed lease, by the rows' own lease (index
 * activations_lease_end, migration 002) */
static const char *const act_sql_lapsed_licenses =
    "SELECT DISTINCT license_id::text FROM activations WHERE "
    "lease_end(last_seen_at, lease_seconds) < to_timestamp($1) AND "
    "deactivated_at IS NULL AND lease_seconds > 0 AND NOT offline LIMIT $2";

/* the rows of those licenses take the license's current lease (0 for a
 * license that no longer exists: it has nothing left to release) */
static const char *const act_sql_refresh =
    "UPDATE activations SET lease_seconds = v.lease FROM (SELECT a.id, "
    "u.lease FROM activations a JOIN unnest($1::uuid[], $2::bigint[]) AS "
    "u(license_id, lease) ON a.license_id = u.license_id WHERE "
    "a.deactivated_at IS NULL AND a.lease_seconds <> u.lease FOR UPDATE OF "
    "a SKIP LOCKED) AS v WHERE activations.id = v.id";

/* release what is lapsed under the confirmed lease; deactivated_at is when
 * the lease ran out, whenever the sweep gets there */
static const char *const act_sql_release =
    "UPDATE activations SET deactivated_at = lease_end(last_seen_at, "
    "lease_seconds) WHERE deactivated_at IS NULL AND id IN (SELECT a.id "
    "FROM activations a JOIN unnest($2::uuid[], $3::bigint[]) AS "
    "u(license_id, lease) ON a.license_id = u.license_id AND "
    "a.lease_seconds = u.lease WHERE lease_end(a.last_seen_at, "
    "a.lease_seconds) < to_timestamp($1) AND a.deactivated_at IS NULL AND "
    "a.lease_seconds > 0 AND NOT a.offline FOR UPDATE OF a SKIP LOCKED)";

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
	call.method = "license.GetLicenses";
	call.idempotent = true;
	req.n_ids = n;
	req.ids = ids;
	rv = kp_rpc_invoke(license, &call, (ProtobufCMessage *)&req,
	                   &keyport__license__get_licenses_reply__descriptor,
	                   (ProtobufCMessage **)&rep, &res);
	if (rv != KP_OK) {
		kp_log_warn("lease sweep: license.GetLicenses: %s %s", res.code,
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

/* act_arrays writes ids and leases as PostgreSQL array literals into a and
 * b (the caller frees them with kp_pgarr_free). */
static int
act_arrays(char **ids, const int64_t *leases, size_t n, kp_pgarr *a,
           kp_pgarr *b)
{
	for (size_t i = 0; i < n; i++)
		if (kp_pgarr_uuid(a, ids[i]))
			kp_pgarr_int(b, leases[i]);
	return kp_pgarr_text(a) != NULL && kp_pgarr_text(b) != NULL
	           ? KP_OK
	           : KP_EINTERNAL;
}

/* act_sweep_round is one round of act_lease_sweep; *more tells whether a
 * full batch of licenses was looked at and something was released. */
static int
act_sweep_round(kp_db *db, kp_rpc_client *license, const char *nowbuf,
                int64_t *released, int *more)
{
	PGresult *res = NULL, *up = NULL;
	char batch[16], **ids = NULL;
	kp_pgarr uuids = {0}, nums = {0};
	int64_t *leases = NULL;
	int rv, n;

	*more = 0;
	snprintf(batch, sizeof(batch), "%d", ACT_SWEEP_BATCH);
	{
		const char *p[2] = {nowbuf, batch};

		if ((rv = kp_db_query(db, act_sql_lapsed_licenses, 2, p,
		                      &res)) != KP_OK)
			goto dbfail;
	}
	if ((n = PQntuples(res)) == 0)
		goto out;
	ids = calloc((size_t)n, sizeof(*ids));
	leases = calloc((size_t)n, sizeof(*leases));
	rv = KP_EINTERNAL;
	if (ids == NULL || leases == NULL)
		goto out;
	for (int i = 0; i < n; i++)
		ids[i] = PQgetvalue(res, i, 0);
	if ((rv = act_leases(license, ids, (size_t)n, leases)) != KP_OK)
		goto out;
	if ((rv = act_arrays(ids, leases, (size_t)n, &uuids, &nums)) != KP_OK)
		goto out;
	{
		const char *p[2] = {kp_pgarr_text(&uuids),
		                    kp_pgarr_text(&nums)};

		if ((rv = kp_db_exec(db, act_sql_refresh, 2, p)) != KP_OK)
			goto dbfail;
	}
	{
		const char *p[3] = {nowbuf, kp_pgarr_text(&uuids),
		                    kp_pgarr_text(&nums)};

		if ((rv = kp_db_query(db, act_sql_release, 3, p, &up)) != KP_OK)
			goto dbfail;
	}
	*released += strtoll(PQcmdTuples(up), NULL, 10);
	*more = n == ACT_SWEEP_BATCH && strtoll(PQcmdTuples(up), NULL, 10) > 0;
	goto out;
dbfail:
	kp_log_warn("lease sweep: database: %s (%s)", kp_db_message(db),
	            kp_db_sqlstate(db));
out:
	kp_pgarr_free(&nums);
	kp_pgarr_free(&uuids);
	free(leases);
	free(ids);
	PQclear(up);
	PQclear(res);
	return rv;
}

int
act_lease_sweep(kp_db *db, kp_rpc_client *license, int64_t now,
                int64_t *released)
{
	char nowbuf[24];
	int64_t total = 0;
	int rv = KP_OK, more = 1;

	snprintf(nowbuf, sizeof(nowbuf), "%" PRId64, now);
	for (int round = 0; more && round < ACT_SWEEP_ROUNDS; round++)
		if ((rv = act_sweep_round(db, license, nowbuf, &total,
		                          &more)) != KP_OK)
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
	int64_t every;
	int rv;

	*out = NULL;
	if ((rv = kp_config_int("KEYPORT_LEASE_SWEEP_MS", 5000, 0, 3600000,
	                        &every)) != KP_OK)
		return rv;
	if (every == 0) {
		kp_log_info("lease sweep off (KEYPORT_LEASE_SWEEP_MS=0)");
		return KP_OK;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KP_EINTERNAL;
	s->svc = svc;
	s->every_ms = every;
	if ((rv = kp_db_open(&s->db, kp_config_str("KEYPORT_DATABASE_URL", ""),
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
