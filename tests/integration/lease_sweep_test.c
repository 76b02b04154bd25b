/* The lease sweep (services/activation/activation_lease.c) on two
 * activation replicas sweeping every 100 ms: a leased activation that stops
 * heartbeating is released by the service itself, with no other activation
 * call, once its lease is over; the license's current lease decides (a
 * longer or removed lease is honoured even though the activation rows still
 * carry the old one); offline activations never lapse. Time moves with the test
 * clock of both replicas; the tests only poll for the next sweep. */
#include "kp_err.h"
#include "kp_offline.h"
#include "kp_rpc.h"
#include "kpt.h"
#include "kpt_http.h"
#include "proto/license.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

KPT_SUITE(.activation_replicas = 2, .env = {"KEYPORT_LEASE_SWEEP_MS=100"})

/* ---- helpers --------------------------------------------------------------
 */

static kpt_resp
req(const char *method, const char *path, const char *body, long want)
{
	return kpt_req_want(method, path, kpt_admin_token(), body, want);
}

/* make_license creates a product and a hosted-floating license with lease
 * seconds; id and key copied out. */
static void
make_license(long long seats, long long lease, char *product, char *id,
             char *key)
{
	char name[64], *body;
	kpt_resp r;

	snprintf(name, sizeof(name), "sweep-%d-%ld", getpid(), random());
	body = kpt_jsonf("{s:s}", "name", name);
	r = req("POST", "/v1/products", body, 201);
	free(body);
	snprintf(product, 37, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	kpt_resp_free(&r);
	body =
	    kpt_jsonf("{s:s, s:s, s:I, s:i, s:i, s:s, s:I}", "productId",
	              product, "type", "hosted-floating", "allowedActivations",
	              seats, "allowedDeactivations", -1, "validity", 0,
	              "expirationStrategy", "immediate", "leaseSeconds", lease);
	r = req("POST", "/v1/licenses", body, 201);
	free(body);
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "leaseSeconds")), lease,
	    "%s", r.body);
	snprintf(id, 37, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	snprintf(key, 128, "%s",
	         json_string_value(json_object_get(r.json, "key")));
	kpt_resp_free(&r);
}

/* activate answers the new activation's id (status 201 asserted). */
static void
activate(const char *key, const char *product, const char *fp, char *id)
{
	char *body = kpt_jsonf("{s:s, s:s, s:s, s:s, s:s}", "key", key,
	                       "productId", product, "fingerprint", fp,
	                       "hostname", "sweep-host", "os", "linux");
	kpt_resp r;

	cr_assert_eq(kpt_http("POST", "/v1/activations", NULL, body, NULL, &r),
	             0);
	free(body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, 37, "%s",
	         json_string_value(json_object_get(r.json, "activationId")));
	kpt_resp_free(&r);
}

static long
heartbeat(const char *id, const char *key, char *code, size_t len)
{
	char path[128], *body = kpt_jsonf("{s:s}", "key", key);
	kpt_resp r;
	long st;

	snprintf(path, sizeof(path), "/v1/activations/%s/heartbeat", id);
	cr_assert_eq(kpt_http("POST", path, NULL, body, NULL, &r), 0);
	free(body);
	st = r.status;
	if (code != NULL)
		snprintf(code, len, "%s", kpt_error_code(&r));
	kpt_resp_free(&r);
	return st;
}

/* set_activation_clock moves the clock of both activation replicas. */
static void
set_activation_clock(long long seconds)
{
	const char *urls[2] = {NULL, getenv("KPT_ACTIVATION2_URL")};
	char first[256];

	snprintf(first, sizeof(first), "%s", kpt_service_url("activation"));
	first[strcspn(first, ",")] = '\0';
	urls[0] = first;
	for (int i = 0; i < 2; i++) {
		Keyport__ClockOffset creq = KEYPORT__CLOCK_OFFSET__INIT;
		kp_rpc_client *c = NULL;
		kp_rpc_call call = {0};
		kp_rpc_result res;

		cr_assert_not_null(urls[i]);
		creq.seconds = seconds;
		call.method = "activation.SetClockOffset";
		call.timeout_ms = 5000;
		cr_assert_eq(kp_rpc_client_open(&c, "activation", urls[i]),
		             KP_OK);
		for (int j = 0; j < 100 && kp_rpc_client_pipes(c) == 0; j++)
			usleep(20000);
		cr_assert_eq(
		    kp_rpc_invoke(c, &call, &creq.base, NULL, NULL, &res),
		    KP_OK, "%s", res.message);
		kp_rpc_client_close(c);
	}
}

static time_t
parse_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	cr_assert_not_null(s);
	cr_assert_not_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm), "%s", s);
	return timegm(&tm);
}

/* list_item finds activation id in the license's list (r must stay alive
 * while the item is used); asserts the list's total. */
static json_t *
list_item(kpt_resp *r, const char *lic, const char *id, long long total)
{
	char path[160];
	json_t *it;
	size_t i;

	snprintf(path, sizeof(path), "/v1/licenses/%s/activations", lic);
	*r = req("GET", path, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r->json, "total")),
	             total, "%s", r->body);
	json_array_foreach(json_object_get(r->json, "items"), i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "id")), id) ==
		    0)
			return it;
	}
	cr_assert_fail("activation %s not listed: %s", id, r->body);
	return NULL;
}

/* released_within polls the list until id shows as deactivated, for at
 * most secs; answers whether it did. */
static int
released_within(const char *lic, const char *id, long long total, double secs)
{
	double end = kpt_now() + secs;

	for (;;) {
		kpt_resp r;
		json_t *it = list_item(&r, lic, id, total);
		int done = json_is_string(json_object_get(it, "deactivatedAt"));

		kpt_resp_free(&r);
		if (done)
			return 1;
		if (kpt_now() >= end)
			return 0;
		usleep(50000);
	}
}

/* ---- tests ----------------------------------------------------------------
 */

Test(lease_sweep, silent_leased_activation_is_released_by_the_service,
     .timeout = 60)
{
	char product[37], lic[37], key[128], a[37], b[37], c[37], path[160];
	char code[64], seen[40];
	kpt_resp r;
	json_t *it;

	make_license(2, 600, product, lic, key);
	activate(key, product, "sweep-fp-a", a);
	activate(key, product, "sweep-fp-b", b);
	it = list_item(&r, lic, a, 2);
	snprintf(seen, sizeof(seen), "%s",
	         json_string_value(json_object_get(it, "lastSeenAt")));
	kpt_resp_free(&r);

	/* b heartbeats at +500, a stays silent */
	set_activation_clock(500);
	cr_assert_eq(heartbeat(b, key, NULL, 0), 200);
	/* within a's lease: several sweeps later, nothing is released */
	usleep(400000);
	it = list_item(&r, lic, a, 2);
	cr_assert(json_is_null(json_object_get(it, "deactivatedAt")),
	          "released inside its lease: %s", r.body);
	kpt_resp_free(&r);

	/* +700: a's lease ended at +600; no activation call but the list */
	set_activation_clock(700);
	cr_assert(released_within(lic, a, 2, 2.0),
	          "the sweep did not release a within 2 s");
	it = list_item(&r, lic, a, 2);
	/* released when its lease ran out, not when the sweep came by */
	cr_assert_eq(
	    parse_time(json_string_value(json_object_get(it, "deactivatedAt"))),
	    parse_time(seen) + 600, "%s", r.body);
	kpt_resp_free(&r);
	it = list_item(&r, lic, b, 2);
	cr_assert(json_is_null(json_object_get(it, "deactivatedAt")),
	          "b heartbeated at +500: %s", r.body);
	kpt_resp_free(&r);

	/* a's heartbeat finds it released; b keeps its seat */
	cr_assert_eq(heartbeat(a, key, code, sizeof(code)), 404);
	cr_assert_str_eq(code, "ACTIVATION_NOT_FOUND");
	cr_assert_eq(heartbeat(b, key, NULL, 0), 200);

	/* counts: the release is no deactivation, and the seat is free */
	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	r = req("GET", path, NULL, 200);
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "totalActivations")), 2,
	    "%s", r.body);
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "totalDeactivations")),
	    0, "%s", r.body);
	/* one machine (b) holds a seat now */
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "activeActivations")), 1,
	    "%s", r.body);
	kpt_resp_free(&r);
	activate(key, product, "sweep-fp-c", c);
	set_activation_clock(0);
}

Test(lease_sweep, the_licenses_current_lease_decides, .timeout = 60)
{
	char product[37], lic[37], key[128], a[37], path[160], *body;
	kpt_resp r;

	make_license(1, 600, product, lic, key);
	activate(key, product, "sweep-fp-long", a);

	/* the lease grows to 3000 s after the activation: at +700 the row's
	 * copy (600) is stale and the sweep must ask the license */
	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	body = kpt_jsonf("{s:i}", "leaseSeconds", 3000);
	r = req("PATCH", path, body, 200);
	free(body);
	kpt_resp_free(&r);
	set_activation_clock(700);
	cr_assert(!released_within(lic, a, 1, 0.6),
	          "released by a lease the license no longer has");
	cr_assert_eq(heartbeat(a, key, NULL, 0), 200);

	/* silent past the new lease (seen at +700): released */
	set_activation_clock(3800);
	cr_assert(released_within(lic, a, 1, 2.0),
	          "not released past the license's current lease");
	cr_assert_eq(heartbeat(a, key, NULL, 0), 404);
	set_activation_clock(0);
}

Test(lease_sweep, a_removed_lease_releases_nothing, .timeout = 60)
{
	char product[37], lic[37], key[128], a[37], path[160], *body;
	kpt_resp r;

	make_license(1, 600, product, lic, key);
	activate(key, product, "sweep-fp-nolease", a);
	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	body = kpt_jsonf("{s:i}", "leaseSeconds", 0);
	r = req("PATCH", path, body, 200);
	free(body);
	kpt_resp_free(&r);
	set_activation_clock(5000);
	cr_assert(!released_within(lic, a, 1, 0.6),
	          "released although the license has no lease any more");
	cr_assert_eq(heartbeat(a, key, NULL, 0), 200);
	set_activation_clock(0);
}

Test(lease_sweep, offline_activations_never_lapse, .timeout = 60)
{
	char product[37], lic[37], key[128], path[160], *file = NULL;
	unsigned char sk[KP_TOKEN_SK_BYTES];
	kp_offline_request oreq;
	const char *id;
	kpt_resp r;

	make_license(1, 600, product, lic, key);
	memset(&oreq, 0, sizeof(oreq));
	snprintf(oreq.key, sizeof(oreq.key), "%s", key);
	snprintf(oreq.product_id, sizeof(oreq.product_id), "%s", product);
	snprintf(oreq.fingerprint, sizeof(oreq.fingerprint), "sweep-offline");
	snprintf(oreq.hostname, sizeof(oreq.hostname), "air-gapped");
	snprintf(oreq.os, sizeof(oreq.os), "linux");
	cr_assert_eq(
	    kp_offline_request_create(&oreq, (int64_t)time(NULL), sk, &file),
	    0);
	snprintf(path, sizeof(path), "/v1/licenses/%s/offline-activations",
	         lic);
	cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), file,
	                          strlen(file), "application/json", NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	free(file);
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations", lic);
	r = req("GET", path, NULL, 200);
	id = json_string_value(json_object_get(
	    json_array_get(json_object_get(r.json, "items"), 0), "id"));
	cr_assert_not_null(id, "%s", r.body);
	set_activation_clock(5000);
	cr_assert(!released_within(lic, id, 1, 0.6),
	          "an offline activation was released by the sweep");
	kpt_resp_free(&r);
	set_activation_clock(0);
}
