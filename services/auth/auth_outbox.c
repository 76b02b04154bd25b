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
	return auth_store_outbox_add(db, user_id, org, kp_now());
}

int
auth_outbox_queue_org(kp_db *db, const char *org)
{
	return auth_store_outbox_add_org(db, org, kp_now());
}

/* Sends rows [from, to) of s (one scope) to org and deletes them when org
 * confirms. Returns a kp_status. */
static int
auth_outbox_send(kp_rpc_ctx *ctx, kp_rpc_client *c, const auth_outbox_set *s,
                 size_t from, size_t to)
{
	Keyport__Auth__OrgUserRemovedRequest req =
	    KEYPORT__AUTH__ORG_USER_REMOVED_REQUEST__INIT;
	kp_rpc_call call = {0};
	kp_rpc_result r;
	int rv;

	req.user_id = (char *)"";
	req.user_ids = s->user_ids + from;
	req.n_user_ids = to - from;
	req.organization_id = s->orgs[from];
	call.method = "org.UserRemoved";
	call.request_id = ctx->request_id;
	call.timeout_ms = 2000;
	call.idempotent = true;
	if ((rv = kp_rpc_invoke(c, &call, &req.base, NULL, NULL, &r)) !=
	    KP_OK) {
		kp_log_warn("org.UserRemoved of %zu user(s) failed (%s: %s); "
		            "kept for a retry",
		            to - from, r.code, r.message);
		return rv;
	}
	return auth_store_outbox_done(kp_service_db(ctx), req.user_ids,
	                              req.n_user_ids, req.organization_id);
}

void
auth_outbox_flush(kp_rpc_ctx *ctx)
{
	kp_rpc_client *c = kp_service_client(kp_service_of(ctx), "org");

	if (c == NULL) {
		kp_log_warn("org.UserRemoved: no org client");
		return;
	}
	for (int round = 0; round < AUTH_OUTBOX_ROUNDS; round++) {
		auth_outbox_set s = {0};
		size_t from = 0, n;
		int rv = KP_OK;

		/* by scope, so each run of one organization_id is one call */
		if (auth_store_outbox_pending(kp_service_db(ctx),
		                              AUTH_OUTBOX_BATCH, &s) != KP_OK)
			return;
		n = s.n;
		for (size_t i = 1; i <= n && rv == KP_OK; i++)
			if (i == n || strcmp(s.orgs[i], s.orgs[from]) != 0) {
				rv = auth_outbox_send(ctx, c, &s, from, i);
				from = i;
			}
		auth_outbox_set_clear(&s);
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
