/* Activations as a client application and a portal user meet them: limits
 * under concurrency with two activation-service processes (over HTTP and
 * at the RPC level), idempotent re-activation, every error code,
 * deactivation limits, leases, delayed expiry, the heartbeat's cost, and
 * 404 on the activation routes of a license the portal user cannot see. */
#include "kp_err.h"
#include "kp_rpc.h"
#include "kp_token.h"
#include "kpt.h"
#include "proto/activation.pb-c.h"
#include "proto/license.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

KPT_SUITE(.activation_replicas = 2)

/* ---- helpers --------------------------------------------------------------
 */

/* lic_rpc calls the license service as an internal caller: products and
 * licenses are set up directly, so these tests need only the activation
 * routes (and a login for the portal routes). */
static void
lic_rpc(const char *method, const ProtobufCMessage *req,
        const ProtobufCMessageDescriptor *desc, ProtobufCMessage **reply)
{
	kp_rpc_client *c = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;

	call.method = method;
	call.timeout_ms = 10000;
	cr_assert_eq(
	    kp_rpc_client_open(&c, "license", kpt_service_url("license")),
	    KP_OK);
	for (int j = 0; j < 100 && kp_rpc_client_pipes(c) == 0; j++)
		usleep(20000);
	cr_assert_eq(kp_rpc_invoke(c, &call, req, desc, reply, &res), KP_OK,
	             "%s: %s %s", method, res.code, res.message);
	kp_rpc_client_close(c);
}

/* make_product creates a product; id and public key copied out. */
static void
make_product(char *id, char *pk, size_t pklen)
{
	Keyport__License__CreateProductRequest req =
	    KEYPORT__LICENSE__CREATE_PRODUCT_REQUEST__INIT;
	Keyport__License__ProductReply *rep = NULL;
	char name[64];

	snprintf(name, sizeof(name), "act-product-%d-%ld", getpid(), random());
	req.name = name;
	lic_rpc("license.CreateProduct", &req.base,
	        &keyport__license__product_reply__descriptor,
	        (ProtobufCMessage **)&rep);
	snprintf(id, 37, "%s", rep->product->id);
	if (pk != NULL)
		snprintf(pk, pklen, "%s", rep->product->public_key);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

typedef struct lic_opts {
	long long activations, deactivations, validity, lease;
	const char *strategy, *type;
} lic_opts;

/* make_license creates a license of product; id and key copied out. */
static void
make_license(const char *product, lic_opts o, char *id, char *key)
{
	Keyport__License__CreateLicenseRequest req =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__INIT;
	Keyport__License__CreateLicenseRequest__MetadataEntry meta =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__METADATA_ENTRY__INIT;
	Keyport__License__CreateLicenseRequest__MetadataEntry *metas[1] = {
	    &meta};
	Keyport__License__LicenseReply *rep = NULL;

	req.product_id = (char *)product;
	req.type = (char *)(o.type ? o.type : "node-locked");
	req.allowed_activations = o.activations;
	req.allowed_deactivations = o.deactivations;
	req.validity = o.validity;
	req.expiration_strategy =
	    (char *)(o.strategy ? o.strategy : "immediate");
	req.lease_seconds = o.lease;
	meta.key = "plan";
	meta.value = "pro";
	req.n_metadata = 1;
	req.metadata = metas;
	lic_rpc("license.CreateLicense", &req.base,
	        &keyport__license__license_reply__descriptor,
	        (ProtobufCMessage **)&rep);
	snprintf(id, 37, "%s", rep->license->id);
	snprintf(key, 128, "%s", rep->license->key);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

/* license_action: "suspend", "unsuspend", "revoke". */
static void
license_action(const char *id, const char *action)
{
	Keyport__License__LicenseIdRequest req =
	    KEYPORT__LICENSE__LICENSE_ID_REQUEST__INIT;
	char method[64];

	snprintf(method, sizeof(method), "license.%c%sLicense",
	         action[0] - 'a' + 'A', action + 1);
	req.id = (char *)id;
	lic_rpc(method, &req.base, NULL, NULL);
}

/* license_expires_at tells whether the license has an expiry now. */
static int
license_has_expiry(const char *id)
{
	Keyport__License__GetLicenseRequest req =
	    KEYPORT__LICENSE__GET_LICENSE_REQUEST__INIT;
	Keyport__License__LicenseReply *rep = NULL;
	int has;

	req.id = (char *)id;
	lic_rpc("license.GetLicense", &req.base,
	        &keyport__license__license_reply__descriptor,
	        (ProtobufCMessage **)&rep);
	has = rep->license->expires_at[0] != '\0';
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return has;
}

static void
activate(const char *key, const char *product, const char *fp, kpt_resp *r)
{
	char *body = kpt_jsonf("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "key",
	                       key, "productId", product, "fingerprint", fp,
	                       "hostname", "host-1", "os", "linux", "osVersion",
	                       "6.1", "nonce", "n-123");

	cr_assert_eq(kpt_http("POST", "/v1/activations", NULL, body, NULL, r),
	             0);
	free(body);
}

static void
client_call(const char *id, const char *what, const char *key, kpt_resp *r)
{
	char path[128], *body = kpt_jsonf("{s:s}", "key", key);

	snprintf(path, sizeof(path), "/v1/activations/%s/%s", id, what);
	cr_assert_eq(kpt_http("POST", path, NULL, body, NULL, r), 0);
	free(body);
}

/* set_activation_clock moves the clock of both activation replicas (the
 * harness's kpt_set_clock reaches only the first). */
static void
set_activation_clock(long long seconds)
{
	const char *urls[2] = {NULL, getenv("KPT_ACTIVATION2_URL")};
	char first[256];
	const char *all = kpt_service_url("activation");

	snprintf(first, sizeof(first), "%s", all);
	first[strcspn(first, ",")] = '\0';
	urls[0] = first;
	for (int i = 0; i < 2; i++) {
		Keyport__ClockOffset req = KEYPORT__CLOCK_OFFSET__INIT;
		kp_rpc_client *c = NULL;
		kp_rpc_call call = {0};
		kp_rpc_result res;

		cr_assert_not_null(urls[i]);
		req.seconds = seconds;
		call.method = "activation.SetClockOffset";
		call.timeout_ms = 5000;
		cr_assert_eq(kp_rpc_client_open(&c, "activation", urls[i]),
		             KP_OK);
		for (int j = 0; j < 100 && kp_rpc_client_pipes(c) == 0; j++)
			usleep(20000);
		cr_assert_eq(
		    kp_rpc_invoke(c, &call, &req.base, NULL, NULL, &res), KP_OK,
		    "%s", res.message);
		kp_rpc_client_close(c);
	}
}

/* counters asks activation.Counters for one license. */
static void
counters(const char *license, long long *acts, long long *deacts)
{
	Keyport__Activation__CountersRequest req =
	    KEYPORT__ACTIVATION__COUNTERS_REQUEST__INIT;
	Keyport__Activation__CountersReply *rep = NULL;
	char *ids[2] = {(char *)license,
	                "00000000-0000-0000-0000-000000000000"};
	kp_rpc_client *c = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;

	req.n_license_ids = 2;
	req.license_ids = ids;
	call.method = "activation.Counters";
	call.idempotent = true;
	cr_assert_eq(
	    kp_rpc_client_open(&c, "activation", kpt_service_url("activation")),
	    KP_OK);
	for (int j = 0; j < 100 && kp_rpc_client_pipes(c) == 0; j++)
		usleep(20000);
	cr_assert_eq(
	    kp_rpc_invoke(c, &call, &req.base,
	                  &keyport__activation__counters_reply__descriptor,
	                  (ProtobufCMessage **)&rep, &res),
	    KP_OK, "%s", res.message);
	*acts = *deacts = 0;
	cr_assert_leq(rep->n_counters, 1);
	if (rep->n_counters == 1) {
		cr_assert_str_eq(rep->counters[0]->license_id, license);
		*acts = rep->counters[0]->total_activations;
		*deacts = rep->counters[0]->total_deactivations;
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	kp_rpc_client_close(c);
}

static const char *
jstr(const kpt_resp *r, const char *k)
{
	const char *v = json_string_value(json_object_get(r->json, k));

	return v ? v : "";
}

/* ---- 50 simultaneous activations of a 3-seat license ----------------------
 */

typedef struct race_arg {
	const char *key, *product;
	int n;
	long status;
	char code[64];
	pthread_barrier_t *go;
} race_arg;

static void *
race_http(void *p)
{
	race_arg *a = p;
	char fp[64];
	kpt_resp r;

	snprintf(fp, sizeof(fp), "race-machine-%d", a->n);
	pthread_barrier_wait(a->go);
	activate(a->key, a->product, fp, &r);
	a->status = r.status;
	snprintf(a->code, sizeof(a->code), "%s", kpt_error_code(&r));
	kpt_resp_free(&r);
	return NULL;
}

Test(activation, fifty_concurrent_over_http_two_replicas_yield_three,
     .timeout = 120)
{
	char product[37], lic[37], key[128];
	pthread_t th[50];
	race_arg args[50];
	pthread_barrier_t go;
	int ok = 0, full = 0;
	long long acts, deacts;
	kp_rpc_client *c = NULL;

	/* both replicas are up and the gateway dials both */
	cr_assert_not_null(strchr(kpt_service_url("activation"), ','));
	cr_assert_eq(
	    kp_rpc_client_open(&c, "activation", kpt_service_url("activation")),
	    KP_OK);
	for (int j = 0; j < 200 && kp_rpc_client_pipes(c) < 2; j++)
		usleep(20000);
	cr_assert_eq(kp_rpc_client_pipes(c), 2);
	kp_rpc_client_close(c);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	make_product(product, NULL, 0);
	make_license(product, (lic_opts){.activations = 3, .deactivations = -1},
	             lic, key);
	pthread_barrier_init(&go, NULL, 50);
	for (int i = 0; i < 50; i++) {
		args[i] = (race_arg){key, product, i, 0, "", &go};
		pthread_create(&th[i], NULL, race_http, &args[i]);
	}
	for (int i = 0; i < 50; i++) {
		pthread_join(th[i], NULL);
		if (args[i].status == 201)
			ok++;
		else if (args[i].status == 409 &&
		         strcmp(args[i].code, "ACTIVATION_LIMIT_REACHED") == 0)
			full++;
		else
			cr_assert_fail("unexpected %ld %s", args[i].status,
			               args[i].code);
	}
	cr_assert_eq(ok, 3);
	cr_assert_eq(full, 47);
	counters(lic, &acts, &deacts);
	cr_assert_eq(acts, 3);
	cr_assert_eq(deacts, 0);
}

typedef struct rpc_arg {
	kp_rpc_client *c;
	const char *key, *product;
	int n, status;
	char code[64];
	pthread_barrier_t *go;
} rpc_arg;

static void *
race_rpc(void *p)
{
	rpc_arg *a = p;
	Keyport__Activation__ActivateRequest req =
	    KEYPORT__ACTIVATION__ACTIVATE_REQUEST__INIT;
	ProtobufCMessage *rep = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	char fp[64];

	snprintf(fp, sizeof(fp), "rpc-machine-%d", a->n);
	req.key = (char *)a->key;
	req.product_id = (char *)a->product;
	req.fingerprint = fp;
	req.hostname = "h";
	req.os = "linux";
	call.method = "activation.Activate";
	call.timeout_ms = 20000;
	pthread_barrier_wait(a->go);
	a->status = kp_rpc_invoke(
	    a->c, &call, &req.base,
	    &keyport__activation__activation_reply__descriptor, &rep, &res);
	snprintf(a->code, sizeof(a->code), "%s", res.code);
	if (rep != NULL)
		protobuf_c_message_free_unpacked(rep, NULL);
	return NULL;
}

Test(activation, fifty_concurrent_at_the_service_level_yield_three,
     .timeout = 120)
{
	char product[37], lic[37], key[128];
	pthread_t th[50];
	rpc_arg args[50];
	pthread_barrier_t go;
	kp_rpc_client *c = NULL;
	int ok = 0, full = 0;

	make_product(product, NULL, 0);
	make_license(product, (lic_opts){.activations = 3, .deactivations = -1},
	             lic, key);
	cr_assert_eq(
	    kp_rpc_client_open(&c, "activation", kpt_service_url("activation")),
	    KP_OK);
	for (int j = 0; j < 200 && kp_rpc_client_pipes(c) < 2; j++)
		usleep(20000);
	cr_assert_eq(kp_rpc_client_pipes(c), 2);
	pthread_barrier_init(&go, NULL, 50);
	for (int i = 0; i < 50; i++) {
		args[i] = (rpc_arg){c, key, product, i, -1, "", &go};
		pthread_create(&th[i], NULL, race_rpc, &args[i]);
	}
	for (int i = 0; i < 50; i++) {
		pthread_join(th[i], NULL);
		if (args[i].status == KP_OK)
			ok++;
		else if (args[i].status == KP_ECONFLICT &&
		         strcmp(args[i].code, "ACTIVATION_LIMIT_REACHED") == 0)
			full++;
		else
			cr_assert_fail("unexpected %d %s", args[i].status,
			               args[i].code);
	}
	kp_rpc_client_close(c);
	cr_assert_eq(ok, 3);
	cr_assert_eq(full, 47);
}

/* ---- idempotence, errors ------------------------------------------------- */

Test(activation, same_fingerprint_answers_the_same_activation, .timeout = 60)
{
	char product[37], lic[37], key[128], id[64];
	long long acts, deacts;
	kpt_resp r;

	make_product(product, NULL, 0);
	make_license(product, (lic_opts){.activations = 1, .deactivations = -1},
	             lic, key);
	activate(key, product, "fp-same", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, sizeof(id), "%s", jstr(&r, "activationId"));
	cr_assert_str_eq(jstr(&r, "licenseId"), lic);
	cr_assert_str_eq(jstr(&r, "status"), "active");
	cr_assert_not_null(strchr(jstr(&r, "token"), '.'));
	kpt_resp_free(&r);
	activate(key, product, "fp-same", &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(jstr(&r, "activationId"), id);
	kpt_resp_free(&r);
	/* the one seat is taken: another machine is refused */
	activate(key, product, "fp-other", &r);
	cr_assert_eq(r.status, 409);
	cr_assert_str_eq(kpt_error_code(&r), "ACTIVATION_LIMIT_REACHED");
	kpt_resp_free(&r);
	counters(lic, &acts, &deacts);
	cr_assert_eq(acts, 1);
}

Test(activation, every_error_code, .timeout = 60)
{
	char product[37], other[37], lic[37], key[128];
	kpt_resp r;

	make_product(product, NULL, 0);
	make_product(other, NULL, 0);
	make_license(product,
	             (lic_opts){.activations = -1, .deactivations = -1}, lic,
	             key);

	activate("NOPE-NOPE-NOPE-NOPE", product, "fp", &r);
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "LICENSE_NOT_FOUND");
	kpt_resp_free(&r);

	activate(key, other, "fp", &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "PRODUCT_MISMATCH");
	kpt_resp_free(&r);

	cr_assert_eq(kpt_http("POST", "/v1/activations", NULL,
	                      "{\"key\":\"k\",\"productId\":\"x\"}", NULL, &r),
	             0);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(kpt_error_code(&r), "INVALID_INPUT");
	cr_assert_not_null(strstr(r.body, "fingerprint"), "%s", r.body);
	kpt_resp_free(&r);

	/* unlimited: many machines */
	for (int i = 0; i < 5; i++) {
		char fp[32];

		snprintf(fp, sizeof(fp), "unlimited-%d", i);
		activate(key, product, fp, &r);
		cr_assert_eq(r.status, 201, "%s", r.body);
		kpt_resp_free(&r);
	}

	license_action(lic, "suspend");
	activate(key, product, "fp-s", &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "LICENSE_SUSPENDED");
	kpt_resp_free(&r);
	license_action(lic, "unsuspend");
	activate(key, product, "fp-s", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	kpt_resp_free(&r);

	license_action(lic, "revoke");
	activate(key, product, "fp-r", &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "LICENSE_REVOKED");
	kpt_resp_free(&r);

	/* no seats at all */
	make_license(product, (lic_opts){.activations = 0, .deactivations = -1},
	             lic, key);
	activate(key, product, "fp-0", &r);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "ACTIVATION_LIMIT_REACHED");
	kpt_resp_free(&r);
}

Test(activation, expired_license_is_refused_and_delayed_expiry_starts,
     .timeout = 60)
{
	char product[37], lic[37], key[128], lic2[37], key2[128];
	kpt_resp r;

	make_product(product, NULL, 0);
	make_license(product,
	             (lic_opts){.activations = 5,
	                        .deactivations = -1,
	                        .validity = 3600,
	                        .strategy = "immediate"},
	             lic, key);
	make_license(product,
	             (lic_opts){.activations = 5,
	                        .deactivations = -1,
	                        .validity = 3600,
	                        .strategy = "delayed"},
	             lic2, key2);
	cr_assert_not(license_has_expiry(lic2),
	              "a delayed license has no expiry before activation");
	activate(key2, product, "fp-delayed", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert(json_is_string(json_object_get(r.json, "expiresAt")), "%s",
	          r.body);
	kpt_resp_free(&r);
	cr_assert(license_has_expiry(lic2), "the first activation starts it");

	/* two hours later the immediate license has run out */
	set_activation_clock(7200);
	activate(key, product, "fp-late", &r);
	set_activation_clock(0);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "LICENSE_EXPIRED");
	kpt_resp_free(&r);
}

/* ---- deactivation, heartbeat, leases --------------------------------------
 */

Test(activation, deactivation_limits_and_heartbeat_after_deactivate,
     .timeout = 60)
{
	char product[37], lic[37], key[128], a[64], b[64], c[64], path[160];
	long long acts, deacts;
	kpt_resp r;

	make_product(product, NULL, 0);
	make_license(product, (lic_opts){.activations = 3, .deactivations = 1},
	             lic, key);
	activate(key, product, "fp-a", &r);
	snprintf(a, sizeof(a), "%s", jstr(&r, "activationId"));
	kpt_resp_free(&r);
	activate(key, product, "fp-b", &r);
	snprintf(b, sizeof(b), "%s", jstr(&r, "activationId"));
	kpt_resp_free(&r);
	activate(key, product, "fp-c", &r);
	snprintf(c, sizeof(c), "%s", jstr(&r, "activationId"));
	kpt_resp_free(&r);

	client_call(a, "heartbeat", key, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(jstr(&r, "status"), "active");
	kpt_resp_free(&r);

	client_call(a, "deactivate", "WRONG-KEY", &r);
	cr_assert_eq(r.status, 404, "%s", r.body);
	kpt_resp_free(&r);
	client_call(a, "deactivate", key, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	client_call(a, "heartbeat", key, &r);
	cr_assert_eq(r.status, 404, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "ACTIVATION_NOT_FOUND");
	kpt_resp_free(&r);
	client_call(b, "deactivate", key, &r);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "DEACTIVATION_LIMIT_REACHED");
	kpt_resp_free(&r);
	/* the portal route counts against the same limit */
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations/%s", lic, c);
	cr_assert_eq(kpt_http("DELETE", path, kpt_admin_token(), NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 409, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "DEACTIVATION_LIMIT_REACHED");
	kpt_resp_free(&r);
	counters(lic, &acts, &deacts);
	cr_assert_eq(acts, 3);
	cr_assert_eq(deacts, 1);

	/* the list shows every activation, the deactivated one with its time */
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations", lic);
	cr_assert_eq(kpt_http("GET", path, kpt_admin_token(), NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 3);
	{
		json_t *items = json_object_get(r.json, "items"), *it;
		size_t i;
		int seen = 0;

		json_array_foreach(items, i, it)
		{
			const char *id =
			    json_string_value(json_object_get(it, "id"));
			json_t *d = json_object_get(it, "deactivatedAt");

			cr_assert_str_eq(
			    json_string_value(json_object_get(it, "hostname")),
			    "host-1");
			if (strcmp(id, a) == 0) {
				cr_assert(json_is_string(d));
				seen++;
			} else
				cr_assert(json_is_null(d));
		}
		cr_assert_eq(seen, 1);
	}
	kpt_resp_free(&r);
}

Test(activation, portal_delete_frees_a_seat, .timeout = 60)
{
	char product[37], lic[37], key[128], a[64], path[160];
	kpt_resp r;

	make_product(product, NULL, 0);
	make_license(product, (lic_opts){.activations = 1, .deactivations = -1},
	             lic, key);
	activate(key, product, "fp-p1", &r);
	snprintf(a, sizeof(a), "%s", jstr(&r, "activationId"));
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations/%s", lic, a);
	cr_assert_eq(kpt_http("DELETE", path, NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("DELETE", path, kpt_admin_token(), NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 204, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("DELETE", path, kpt_admin_token(), NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 404, "%s", r.body);
	kpt_resp_free(&r);
	activate(key, product, "fp-p2", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	kpt_resp_free(&r);
}

Test(activation, lease_releases_a_silent_activation, .timeout = 60)
{
	char product[37], lic[37], key[128], a[64], b[64];
	kpt_resp r;

	make_product(product, NULL, 0);
	make_license(product,
	             (lic_opts){.activations = 1,
	                        .deactivations = -1,
	                        .lease = 600,
	                        .type = "hosted-floating"},
	             lic, key);
	activate(key, product, "fp-lease-a", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "leaseSeconds")), 600);
	snprintf(a, sizeof(a), "%s", jstr(&r, "activationId"));
	kpt_resp_free(&r);

	/* a heartbeat within the lease keeps it */
	set_activation_clock(500);
	client_call(a, "heartbeat", key, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	set_activation_clock(1000);
	activate(key, product, "fp-lease-b", &r);
	cr_assert_eq(r.status, 409, "lease renewed at +500: %s", r.body);
	kpt_resp_free(&r);

	/* silent past its lease: the seat goes to another machine */
	set_activation_clock(1200);
	activate(key, product, "fp-lease-b", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(b, sizeof(b), "%s", jstr(&r, "activationId"));
	kpt_resp_free(&r);
	client_call(a, "heartbeat", key, &r);
	cr_assert_eq(r.status, 404, "%s", r.body);
	kpt_resp_free(&r);
	client_call(b, "heartbeat", key, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	set_activation_clock(0);
}

Test(activation, heartbeat_writes_last_seen_at_most_once_a_minute,
     .timeout = 60)
{
	char product[37], lic[37], key[128], a[64], seen0[40], path[160];
	kpt_resp r;

	make_product(product, NULL, 0);
	make_license(product, (lic_opts){.activations = 1, .deactivations = -1},
	             lic, key);
	activate(key, product, "fp-hb", &r);
	snprintf(a, sizeof(a), "%s", jstr(&r, "activationId"));
	snprintf(seen0, sizeof(seen0), "%s",
	         json_string_value(json_object_get(
	             json_object_get(r.json, "activation"), "lastSeenAt")));
	kpt_resp_free(&r);

	set_activation_clock(30);
	client_call(a, "heartbeat", key, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(
	    json_string_value(json_object_get(
	        json_object_get(r.json, "activation"), "lastSeenAt")),
	    seen0, "written again within a minute");
	kpt_resp_free(&r);
	set_activation_clock(90);
	client_call(a, "heartbeat", key, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_neq(
	    json_string_value(json_object_get(
	        json_object_get(r.json, "activation"), "lastSeenAt")),
	    seen0);
	kpt_resp_free(&r);
	set_activation_clock(0);
	/* without a lease, lastSeenAt reaches the row in the next batch
	 * (KEYPORT_SEEN_FLUSH_MS, 1 s by default): wait for it, 10 s at most */
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations", lic);
	{
		int written = 0;

		for (int i = 0; i < 100 && !written; i++) {
			if (i > 0)
				usleep(100000);
			cr_assert_eq(kpt_http("GET", path, kpt_admin_token(), NULL,
			                      NULL, &r),
			             0);
			cr_assert_eq(r.status, 200, "%s", r.body);
			written =
			    strcmp(json_string_value(json_object_get(
			               json_array_get(
			                   json_object_get(r.json, "items"), 0),
			               "lastSeenAt")),
			           seen0) != 0;
			kpt_resp_free(&r);
		}
		cr_assert(written, "lastSeenAt never written");
	}

	/* a suspended license: the heartbeat reports it, signed */
	license_action(lic, "suspend");
	client_call(a, "heartbeat", key, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(jstr(&r, "status"), "suspended");
	kpt_resp_free(&r);
}

/* heartbeat_token checks a heartbeat's answer and returns its verified
 * claims (clean with kp_token_claims_cleanup). */
static void
heartbeat_token(const char *a, const char *key, const unsigned char *pk,
                kp_token_claims *claims)
{
	kpt_resp r;

	client_call(a, "heartbeat", key, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(kp_token_verify_claims(jstr(&r, "token"), pk, claims), 0);
	cr_assert_str_eq(claims->status, jstr(&r, "status"));
	kpt_resp_free(&r);
}

/* Heartbeats answer from a per-replica license cache; every change of the
 * license must still show in the very next heartbeat, on either replica
 * (activation.LicenseChanged bumps the version the heartbeat reads). */
Test(activation, heartbeat_sees_every_license_change_at_once, .timeout = 90)
{
	char product[37], pkb64[128], lic[37], key[128], a[64];
	unsigned char pk[KP_TOKEN_PK_BYTES];
	kp_token_claims c;
	kpt_resp r;

	make_product(product, pkb64, sizeof(pkb64));
	cr_assert_eq(kp_token_key_decode(pkb64, pk, sizeof(pk)), 0);
	make_license(
	    product,
	    (lic_opts){.activations = 1, .deactivations = -1, .validity = 1000},
	    lic, key);
	activate(key, product, "fp-cache", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(a, sizeof(a), "%s", jstr(&r, "activationId"));
	kpt_resp_free(&r);
	/* enough heartbeats that both replicas hold the license */
	for (int i = 0; i < 8; i++) {
		heartbeat_token(a, key, pk, &c);
		cr_assert_str_eq(c.status, "active");
		cr_assert(strstr(c.metadata_json, "\"pro\"") != NULL, "%s",
		          c.metadata_json);
		kp_token_claims_cleanup(&c);
	}

	/* metadata */
	{
		Keyport__License__UpdateLicenseRequest req =
		    KEYPORT__LICENSE__UPDATE_LICENSE_REQUEST__INIT;
		Keyport__License__UpdateLicenseRequest__MetadataEntry meta =
		    KEYPORT__LICENSE__UPDATE_LICENSE_REQUEST__METADATA_ENTRY__INIT;
		Keyport__License__UpdateLicenseRequest__MetadataEntry
		    *metas[1] = {&meta};

		req.id = lic;
		req.has_metadata = 1;
		meta.key = "plan";
		meta.value = "enterprise";
		req.n_metadata = 1;
		req.metadata = metas;
		lic_rpc("license.UpdateLicense", &req.base, NULL, NULL);
	}
	for (int i = 0; i < 8; i++) {
		heartbeat_token(a, key, pk, &c);
		cr_assert(strstr(c.metadata_json, "\"enterprise\"") != NULL,
		          "heartbeat %d after the change: %s", i,
		          c.metadata_json);
		kp_token_claims_cleanup(&c);
	}

	/* status changes */
	license_action(lic, "suspend");
	for (int i = 0; i < 8; i++) {
		heartbeat_token(a, key, pk, &c);
		cr_assert_str_eq(c.status, "suspended", "heartbeat %d", i);
		kp_token_claims_cleanup(&c);
	}
	license_action(lic, "unsuspend");
	for (int i = 0; i < 8; i++) {
		heartbeat_token(a, key, pk, &c);
		cr_assert_str_eq(c.status, "active", "heartbeat %d", i);
		kp_token_claims_cleanup(&c);
	}

	/* expiry needs no change: it is derived at the heartbeat's time */
	set_activation_clock(2000);
	for (int i = 0; i < 4; i++) {
		heartbeat_token(a, key, pk, &c);
		cr_assert_str_eq(c.status, "expired", "heartbeat %d", i);
		kp_token_claims_cleanup(&c);
	}
	set_activation_clock(0);

	license_action(lic, "revoke");
	for (int i = 0; i < 8; i++) {
		heartbeat_token(a, key, pk, &c);
		cr_assert_str_eq(c.status, "revoked", "heartbeat %d", i);
		kp_token_claims_cleanup(&c);
	}

	/* a deleted license: its activations answer 404 */
	{
		Keyport__License__LicenseIdRequest req =
		    KEYPORT__LICENSE__LICENSE_ID_REQUEST__INIT;

		req.id = lic;
		lic_rpc("license.DeleteLicense", &req.base, NULL, NULL);
	}
	for (int i = 0; i < 8; i++) {
		client_call(a, "heartbeat", key, &r);
		cr_assert_eq(r.status, 404, "heartbeat %d: %s", i, r.body);
		kpt_resp_free(&r);
	}
}

/* ---- offline routes: the portal side of the file exchange -----------------
 */

#include "kp_offline.h"

/* offline_request makes a request file for key/product (file malloc'd). */
static char *
offline_request(const char *key, const char *product, const char *fp,
                kp_offline_request *req, unsigned char *sk)
{
	char *file = NULL;

	memset(req, 0, sizeof(*req));
	snprintf(req->key, sizeof(req->key), "%s", key);
	snprintf(req->product_id, sizeof(req->product_id), "%s", product);
	snprintf(req->fingerprint, sizeof(req->fingerprint), "%s", fp);
	snprintf(req->hostname, sizeof(req->hostname), "air-gapped");
	snprintf(req->os, sizeof(req->os), "linux");
	cr_assert_eq(
	    kp_offline_request_create(req, (int64_t)time(NULL), sk, &file), 0);
	return file;
}

static void
post_file(const char *lic, const char *what, const char *file, kpt_resp *r)
{
	char path[160];

	snprintf(path, sizeof(path), "/v1/licenses/%s/%s", lic, what);
	cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), file,
	                          strlen(file), "application/json", NULL, r),
	             0);
}

Test(activation, offline_routes_round_trip_and_refuse_bad_files, .timeout = 90)
{
	char product[37], pkb64[128], lic[37], key[128], lic2[37], key2[128];
	unsigned char pk[KP_TOKEN_PK_BYTES], sk[KP_TOKEN_SK_BYTES],
	    sk2[KP_TOKEN_SK_BYTES];
	kp_offline_request req, req2;
	kp_token_claims claims;
	char *file, *bad, *deact, *cd;
	long long acts, deacts;
	kpt_resp r;

	make_product(product, pkb64, sizeof(pkb64));
	cr_assert_eq(kp_token_key_decode(pkb64, pk, sizeof(pk)), 0);
	make_license(product, (lic_opts){.activations = 1, .deactivations = 5},
	             lic, key);
	make_license(product, (lic_opts){.activations = 1, .deactivations = 5},
	             lic2, key2);

	/* not a file at all */
	post_file(lic, "offline-activations", "this is not json", &r);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "OFFLINE_MALFORMED");
	kpt_resp_free(&r);

	/* an edited file */
	file = offline_request(key, product, "offline-fp", &req, sk);
	bad = strdup(file);
	{
		char *h = strstr(bad, "air-gapped");

		cr_assert_not_null(h);
		h[0] = 'A';
	}
	post_file(lic, "offline-activations", bad, &r);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "OFFLINE_ALTERED");
	kpt_resp_free(&r);
	free(bad);

	/* the key in the file is another license's */
	post_file(lic2, "offline-activations", file, &r);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "OFFLINE_KEY_MISMATCH");
	kpt_resp_free(&r);

	/* the real thing: a response file the client accepts */
	{
		char path[200];

		snprintf(path, sizeof(path),
		         "/v1/licenses/%s/offline-activations?responseValidity="
		         "3600",
		         lic);
		cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), file,
		                          strlen(file), "application/json",
		                          NULL, &r),
		             0);
	}
	cr_assert_eq(r.status, 200, "%s", r.body);
	cd = kpt_header(&r, "Content-Disposition");
	cr_assert_not_null(cd);
	cr_assert_eq(strncmp(cd, "attachment", 10), 0, "%s", cd);
	free(cd);
	memset(&claims, 0, sizeof(claims));
	cr_assert_eq(kp_offline_response_load(r.body, r.len, pk, &req,
	                                      (int64_t)time(NULL), &claims,
	                                      NULL),
	             0, "the client refuses the response");
	cr_assert_str_eq(claims.license_id, lic);
	cr_assert_eq(claims.offline, 1);
	cr_assert_leq(claims.response_expires_at, (int64_t)time(NULL) + 3700);
	kpt_resp_free(&r);
	free(file);

	/* it took the license's only seat, like an online activation */
	activate(key, product, "online-fp", &r);
	cr_assert_eq(r.status, 409, "%s", r.body);
	kpt_resp_free(&r);

	/* a deactivation signed by another key pair is forged */
	{
		kp_token_claims other = claims;
		unsigned char pk2[KP_TOKEN_PK_BYTES];

		other.metadata_json = NULL;
		crypto_sign_keypair(pk2, sk2);
		cr_assert_eq(kp_offline_deactivation_create(
		                 &other, sk2, (int64_t)time(NULL), &deact),
		             0);
		post_file(lic, "offline-deactivations", deact, &r);
		cr_assert_eq(r.status, 400, "%s", r.body);
		cr_assert_str_eq(kpt_error_code(&r), "OFFLINE_FORGED");
		kpt_resp_free(&r);
		/* and one posted to another license does not match it */
		post_file(lic2, "offline-deactivations", deact, &r);
		cr_assert_eq(r.status, 400, "%s", r.body);
		cr_assert_str_eq(kpt_error_code(&r), "OFFLINE_KEY_MISMATCH");
		kpt_resp_free(&r);
		free(deact);
	}

	/* the client's own proof frees the seat, once */
	cr_assert_eq(kp_offline_deactivation_create(
	                 &claims, sk, (int64_t)time(NULL), &deact),
	             0);
	post_file(lic, "offline-deactivations", deact, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	post_file(lic, "offline-deactivations", deact, &r);
	cr_assert_eq(r.status, 400, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "OFFLINE_REPLAYED");
	kpt_resp_free(&r);
	free(deact);
	counters(lic, &acts, &deacts);
	cr_assert_eq(acts, 1);
	cr_assert_eq(deacts, 1);
	activate(key, product, "online-fp", &r);
	cr_assert_eq(r.status, 201, "the seat is free again: %s", r.body);
	kpt_resp_free(&r);
	kp_token_claims_cleanup(&claims);
	(void)req2;
}

/* ---- the activation routes of a license the caller cannot see -------------
 */

static char *
login_as(const char *email, const char *password)
{
	char *body =
	    kpt_jsonf("{s:s, s:s}", "email", email, "password", password);
	kpt_resp r;
	char *tok;

	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
	             0);
	free(body);
	cr_assert_eq(r.status, 200, "login %s: %s", email, r.body);
	tok = strdup(json_string_value(json_object_get(r.json, "accessToken")));
	kpt_resp_free(&r);
	return tok;
}

/* admin_post creates something as the vendor admin; *id copied out. */
static void
admin_post(const char *path, char *body, char *id)
{
	kpt_resp r;

	cr_assert_eq(kpt_http("POST", path, kpt_admin_token(), body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 201, "POST %s: %s", path, r.body);
	snprintf(id, 37, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	kpt_resp_free(&r);
}

/* as sends a request as token (body: NULL or a file sent as is). */
static void
as(const char *token, const char *method, const char *path, const char *body,
   kpt_resp *r)
{
	if (body == NULL)
		cr_assert_eq(kpt_http(method, path, token, NULL, NULL, r), 0);
	else
		cr_assert_eq(kpt_http_raw(method, path, token, body,
		                          strlen(body), "application/json",
		                          NULL, r),
		             0);
}

/* A license of org1's user1: user2 (org1, no access to it), the
 * organization admin and a user of org2 get 404 on every activation route
 * of it, with the answer of a license that does not exist, and change
 * nothing; user1 and org1's organization admin are served. */
Test(activation, invisible_license_answers_404_on_activation_routes,
     .timeout = 90)
{
	char org1[37], org2[37], user1[37], product[37], pkb64[128], lic[37];
	char key[128], a[64], path[200], email[96], none[37], what[4][200];
	unsigned char pk[KP_TOKEN_PK_BYTES], sk[KP_TOKEN_SK_BYTES];
	const char *methods[4] = {"GET", "DELETE", "POST", "POST"};
	char *tokens[4], *file, *deact, *body;
	kp_offline_request oreq;
	kp_token_claims claims;
	long long acts, deacts;
	int pid = getpid();
	kpt_resp r;

	admin_post("/v1/organizations",
	           kpt_jsonf("{s:s, s:s, s:i}", "name", "Vis One", "email",
	                     "vis-one@example.com", "allowedUsers", -1),
	           org1);
	admin_post("/v1/organizations",
	           kpt_jsonf("{s:s, s:s, s:i}", "name", "Vis Two", "email",
	                     "vis-two@example.com", "allowedUsers", -1),
	           org2);
	{
		/* user1 owns the license; the others may not see it */
		static const char *const who[5][2] = {
		    {"user1", "user"},
		    {"user2", "user"},
		    {"oadm2", "organization-admin"},
		    {"user3", "user"},
		    {"oadm1", "organization-admin"}};
		char id[37];

		for (int i = 0; i < 5; i++) {
			snprintf(email, sizeof(email), "vis-%s-%d@example.com",
			         who[i][0], pid);
			admin_post("/v1/users",
			           kpt_jsonf("{s:s, s:s, s:s, s:s, s:s, s:s}",
			                     "email", email, "password",
			                     "portal-pass-1", "firstName", "F",
			                     "lastName", "L", "role", who[i][1],
			                     "organizationId",
			                     i == 2 || i == 3 ? org2 : org1),
			           id);
			if (i == 0)
				snprintf(user1, sizeof(user1), "%s", id);
			if (i < 4)
				tokens[i] = login_as(email, "portal-pass-1");
		}
		/* email is now oadm1's (the last one made) */
	}
	make_product(product, pkb64, sizeof(pkb64));
	cr_assert_eq(kp_token_key_decode(pkb64, pk, sizeof(pk)), 0);
	body = kpt_jsonf("{s:s, s:s, s:i, s:i, s:s}", "productId", product,
	                 "type", "node-locked", "allowedActivations", 3,
	                 "allowedDeactivations", 5, "userId", user1);
	admin_post("/v1/licenses", body, lic);
	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	as(kpt_admin_token(), "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(jstr(&r, "organizationId"), org1);
	snprintf(key, sizeof(key), "%s", jstr(&r, "key"));
	kpt_resp_free(&r);
	activate(key, product, "vis-fp-online", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(a, sizeof(a), "%s", jstr(&r, "activationId"));
	kpt_resp_free(&r);

	/* real files, so nothing but visibility can refuse them: a request,
	 * and a deactivation proof of an offline activation the owner made */
	file = offline_request(key, product, "vis-fp-offline", &oreq, sk);
	snprintf(path, sizeof(path), "/v1/licenses/%s/offline-activations",
	         lic);
	as(tokens[0], "POST", path, file, &r);
	cr_assert_eq(r.status, 200, "the owner's offline activation: %s",
	             r.body);
	memset(&claims, 0, sizeof(claims));
	cr_assert_eq(kp_offline_response_load(r.body, r.len, pk, &oreq,
	                                      (int64_t)time(NULL), &claims,
	                                      NULL),
	             0);
	kpt_resp_free(&r);
	cr_assert_eq(kp_offline_deactivation_create(
	                 &claims, sk, (int64_t)time(NULL), &deact),
	             0);
	free(file);
	file = offline_request(key, product, "vis-fp-offline-2", &oreq, sk);
	counters(lic, &acts, &deacts);
	cr_assert_eq(acts, 2);
	cr_assert_eq(deacts, 0);

	/* the four routes, asked about this license and about none at all */
	snprintf(none, sizeof(none), "00000000-0000-4000-8000-%012d", pid);
	for (int n = 0; n < 2; n++) {
		const char *id = n == 0 ? lic : none;

		snprintf(what[0], sizeof(what[0]),
		         "/v1/licenses/%s/activations", id);
		snprintf(what[1], sizeof(what[1]),
		         "/v1/licenses/%s/activations/%s", id, a);
		snprintf(what[2], sizeof(what[2]),
		         "/v1/licenses/%s/offline-activations", id);
		snprintf(what[3], sizeof(what[3]),
		         "/v1/licenses/%s/offline-deactivations", id);
		for (int t = 1; t < 4; t++)
			for (int k = 0; k < 4; k++) {
				as(tokens[t], methods[k], what[k],
				   k == 2   ? file
				   : k == 3 ? deact
				            : NULL,
				   &r);
				cr_assert_eq(
				    r.status, 404, "caller %d: %s %s: %ld %s",
				    t, methods[k], what[k], r.status, r.body);
				/* the same answer as for no license at all */
				cr_assert_str_eq(kpt_error_code(&r),
				                 "NOT_FOUND", "%s %s: %s",
				                 methods[k], what[k], r.body);
				kpt_resp_free(&r);
			}
	}

	/* nothing changed: no seat taken, none freed, no proof used */
	counters(lic, &acts, &deacts);
	cr_assert_eq(acts, 2);
	cr_assert_eq(deacts, 0);
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations", lic);
	as(tokens[0], "GET", path, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2);
	{
		json_t *it;
		size_t i;

		json_array_foreach(json_object_get(r.json, "items"), i, it)
		    cr_assert(
		        json_is_null(json_object_get(it, "deactivatedAt")),
		        "%s", r.body);
	}
	kpt_resp_free(&r);

	/* the organization admin of org1 sees it, and the owner's proof
	 * still works (it was refused for visibility only) */
	{
		char *oadm1 = login_as(email, "portal-pass-1");

		as(oadm1, "GET", path, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		kpt_resp_free(&r);
		free(oadm1);
	}
	snprintf(path, sizeof(path), "/v1/licenses/%s/offline-deactivations",
	         lic);
	as(tokens[0], "POST", path, deact, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations/%s", lic, a);
	as(tokens[0], "DELETE", path, NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	kpt_resp_free(&r);
	counters(lic, &acts, &deacts);
	cr_assert_eq(deacts, 2);

	kp_token_claims_cleanup(&claims);
	free(deact);
	free(file);
	for (int t = 0; t < 4; t++)
		free(tokens[t]);
}
