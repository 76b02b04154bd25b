/* auth_outbox: org.UserRemoved, delivered at least once.
 *
 * A user deleted (or moved out of an organization) must leave org's user
 * groups, which live in org's schema. The change writes a row into
 * org_outbox in its own transaction; after the commit auth_outbox_flush
 * sends every pending row to org (one org.UserRemoved per 500 users of one
 * scope) and deletes the rows org confirmed. Rows org did not confirm (org
 * down, a timeout) stay and are sent again by auth_outbox_retry, which the
 * gateway's poll of auth.Revocations drives every few seconds (at most one
 * attempt per AUTH_OUTBOX_RETRY_S of kp_now() per process). org.UserRemoved
 * is idempotent, so a duplicate (two replicas, a lost answer) is harmless;
 * a move carries the old organization, so a late delivery never touches
 * the groups of the organization the user belongs to now.
 */
#include "auth_app.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_pgarr.h"
#include "kp_service.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_OUTBOX_BATCH   500
#define AUTH_OUTBOX_ROUNDS  20 /* batches per flush, at most */
#define AUTH_OUTBOX_RETRY_S 30

static _Atomic int64_t auth_outbox_next_retry;

int
auth_outbox_queue(kp_db *db, const char *user_id, const char *org)
{
	char now[32];
	const char *p[3] = {user_id, org ? org : "",
	                    auth_now_param(now, sizeof(now))};

	return kp_db_exec(
	    db,
	    "INSERT INTO org_outbox (user_id, organization_id, "
	    "queued_at) VALUES ($1, $2, to_timestamp($3::float8)) "
	    "ON CONFLICT DO NOTHING",
	    3, p);
}

int
auth_outbox_queue_org(kp_db *db, const char *org)
{
	char now[32];
	const char *p[2] = {org, auth_now_param(now, sizeof(now))};

	return kp_db_exec(db,
	                  "INSERT INTO org_outbox (user_id, organization_id, "
	                  "queued_at) SELECT id, '', to_timestamp($2::float8) "
	                  "FROM users WHERE organization_id = $1 "
	                  "ON CONFLICT DO NOTHING",
	                  2, p);
}

/* Sends rows [from, to) of res (user_id, organization_id: one scope) to
 * org and deletes them when org confirms. Returns a kp_status. */
static int
auth_outbox_send(kp_rpc_ctx *ctx, kp_rpc_client *c, PGresult *res, int from,
                 int to)
{
	Keyport__Auth__OrgUserRemovedRequest req =
	    KEYPORT__AUTH__ORG_USER_REMOVED_REQUEST__INIT;
	kp_rpc_call call = {0};
	kp_rpc_result r;
	char **ids = calloc((size_t)(to - from), sizeof(*ids));
	kp_pgarr arr = {0};
	int rv = KP_EINTERNAL;

	if (ids == NULL)
		goto out;
	for (int i = from; i < to; i++) {
		ids[i - from] = PQgetvalue(res, i, 0);
		(void)kp_pgarr_uuid(&arr, ids[i - from]);
	}
	if (kp_pgarr_text(&arr) == NULL)
		goto out;
	req.user_id = (char *)"";
	req.user_ids = ids;
	req.n_user_ids = (size_t)(to - from);
	req.organization_id = PQgetvalue(res, from, 1);
	call.method = "org.UserRemoved";
	call.request_id = ctx->request_id;
	call.timeout_ms = 2000;
	call.idempotent = true;
	if ((rv = kp_rpc_invoke(c, &call, &req.base, NULL, NULL, &r)) !=
	    KP_OK) {
		kp_log_warn("org.UserRemoved of %d user(s) failed (%s: %s); "
		            "kept for a retry",
		            to - from, r.code, r.message);
		goto out;
	}
	{
		const char *p[2] = {kp_pgarr_text(&arr), req.organization_id};

		rv = kp_db_exec(kp_service_db(ctx),
		                "DELETE FROM org_outbox WHERE organization_id "
		                "= $2 AND user_id = ANY($1::uuid[])",
		                2, p);
	}
out:
	free(ids);
	kp_pgarr_free(&arr);
	return rv;
}

void
auth_outbox_flush(kp_rpc_ctx *ctx)
{
	kp_rpc_client *c = kp_service_client(kp_service_of(ctx), "org");
	char lim[16];
	const char *p[1] = {lim};

	snprintf(lim, sizeof(lim), "%d", AUTH_OUTBOX_BATCH);
	if (c == NULL) {
		kp_log_warn("org.UserRemoved: no org client");
		return;
	}
	for (int round = 0; round < AUTH_OUTBOX_ROUNDS; round++) {
		PGresult *res = NULL;
		int n, from = 0, rv = KP_OK;

		/* by scope, so each run of one organization_id is one call */
		if (kp_db_query(kp_service_db(ctx),
		                "SELECT user_id::text, organization_id FROM "
		                "org_outbox ORDER BY organization_id, "
		                "queued_at, user_id LIMIT $1::int",
		                1, p, &res) != KP_OK)
			return;
		n = PQntuples(res);
		for (int i = 1; i <= n && rv == KP_OK; i++)
			if (i == n || strcmp(PQgetvalue(res, i, 1),
			                     PQgetvalue(res, from, 1)) != 0) {
				rv = auth_outbox_send(ctx, c, res, from, i);
				from = i;
			}
		PQclear(res);
		if (rv != KP_OK || n < AUTH_OUTBOX_BATCH)
			return;
	}
}

void
auth_outbox_retry(kp_rpc_ctx *ctx)
{
	int64_t now = kp_now(), due = atomic_load(&auth_outbox_next_retry);

	if (now < due ||
	    !atomic_compare_exchange_strong(&auth_outbox_next_retry, &due,
	                                    now + AUTH_OUTBOX_RETRY_S))
		return;
	auth_outbox_flush(ctx);
}
