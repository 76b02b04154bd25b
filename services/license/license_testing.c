/* license_testing: what only tests and benchmarks use, off the hot path:
 * license.Stats (what the last portal request cost) and
 * license.SeedLicenses (many licenses in one statement). Both methods are
 * served only under KEYPORT_TEST_CLOCK=1 (license_main.c), and the cost is
 * only counted then. */
#include "license_app.h"

#include "kp_clock.h"
#include "kp_err.h"

static unsigned long
license_rpc_calls(kp_rpc_ctx *ctx)
{
	kp_service *svc = kp_service_of(ctx);

	return kp_rpc_client_calls(kp_service_client(svc, "org")) +
	       kp_rpc_client_calls(kp_service_client(svc, "activation")) +
	       kp_rpc_client_calls(kp_service_client(svc, "auth"));
}

void
license_cost_start(kp_rpc_ctx *ctx, license_cost *c)
{
	c->on = license_app_of(ctx)->testing;
	if (!c->on)
		return;
	c->queries = kp_db_queries(kp_service_db(ctx));
	c->rpcs = license_rpc_calls(ctx);
}

void
license_cost_record(kp_rpc_ctx *ctx, const license_cost *c)
{
	license_app *app = license_app_of(ctx);

	if (!c->on)
		return;
	atomic_store(&app->last_queries,
	             (long)(kp_db_queries(kp_service_db(ctx)) - c->queries));
	atomic_store(&app->last_rpcs, (long)(license_rpc_calls(ctx) - c->rpcs));
}

int
license_stats(kp_rpc_ctx *ctx)
{
	license_app *app = license_app_of(ctx);
	Keyport__License__StatsReply reply =
	    KEYPORT__LICENSE__STATS_REPLY__INIT;

	reply.queries = atomic_load(&app->last_queries);
	reply.rpcs = atomic_load(&app->last_rpcs);
	reply.method = (char *)"";
	return kp_rpc_reply(ctx, &reply.base);
}

int
license_seed(kp_rpc_ctx *ctx)
{
	Keyport__License__SeedLicensesRequest *req = NULL;
	Keyport__License__CountReply reply =
	    KEYPORT__LICENSE__COUNT_REPLY__INIT;
	int rv;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__seed_licenses_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (req->count < 1 || req->count > 200000) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL, "count: 1 to 200000");
		goto out;
	}
	if ((rv = license_store_seed(
	         kp_service_db(ctx), req->count, req->product_id, req->user_id,
	         req->organization_id, kp_now(), &reply.count)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "license.SeedLicenses: insert");
		goto out;
	}
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	return license_end(rv, NULL, (ProtobufCMessage *)req);
}
