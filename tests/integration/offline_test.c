/* Offline activation end to end with the keyport tool: offline-request ->
 * POST /v1/licenses/{id}/offline-activations -> offline-activate ->
 * offline-deactivate -> POST /v1/licenses/{id}/offline-deactivations, on
 * the real stack; and every tampered, forged, replayed, malformed, foreign
 * or expired file refused with the code that says which. */
#include "kp_err.h"
#include "kp_offline.h"
#include "kp_rpc.h"
#include "kpt.h"
#include "kpt_http.h"
#include "proto/activation.pb-c.h"
#include "proto/license.pb-c.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

KPT_SUITE()

/* ---- helpers ------------------------------------------------------------ */

static void
make_product(char id[37], char *pk, size_t pklen)
{
	kpt_resp r;
	char name[64], *body;

	snprintf(name, sizeof(name), "offline-%d-%ld", getpid(), random());
	body = kpt_jsonf("{s:s}", "name", name);
	cr_assert_eq(
	    kpt_http("POST", "/v1/products", kpt_admin_token(), body, NULL, &r),
	    0);
	free(body);
	cr_assert_eq(r.status, 201, "product: %s", r.body);
	snprintf(id, 37, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	snprintf(pk, pklen, "%s",
	         json_string_value(json_object_get(r.json, "publicKey")));
	kpt_resp_free(&r);
}

static void
make_license(const char *product, char id[37], char key[128])
{
	kpt_resp r;
	char *body;

	body = kpt_jsonf("{s:s, s:s, s:i, s:i, s:i, s:s}", "productId", product,
	                 "type", "node-locked", "allowedActivations", 1,
	                 "allowedDeactivations", 5, "validity", 0,
	                 "expirationStrategy", "immediate");
	cr_assert_eq(
	    kpt_http("POST", "/v1/licenses", kpt_admin_token(), body, NULL, &r),
	    0);
	free(body);
	cr_assert_eq(r.status, 201, "license: %s", r.body);
	snprintf(id, 37, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	snprintf(key, 128, "%s",
	         json_string_value(json_object_get(r.json, "key")));
	kpt_resp_free(&r);
}

static char workdir[256];

static const char *
wpath(const char *name)
{
	static char p[8][512];
	static int i;

	if (workdir[0] == '\0') {
		/* under the stack's state directory, which kpt_stack_stop
		 * removes: each test process makes one */
		snprintf(workdir, sizeof(workdir), "%s/kp-offline-XXXXXX",
		         kpt_dir());
		cr_assert_not_null(mkdtemp(workdir));
	}
	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", workdir, name);
	return p[i];
}

static char last_err[1024], last_out[4096];

/* keyport runs the keyport tool with a private state file; returns its
 * exit status and keeps its stdout/stderr in last_out/last_err. */
static int
keyport(const char *state, const char *fmt, ...)
{
	char args[2048], cmd[4096];
	const char *bin = getenv("KEYPORT_BIN_DIR");
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "'%s/keyport' --state '%s' %s >'%s' 2>'%s'",
	         bin != NULL ? bin : "build/bin", wpath(state), args,
	         wpath("cli.out"), wpath("cli.err"));
	rc = system(cmd);
	kpt_slurp(wpath("cli.out"), last_out, sizeof(last_out));
	kpt_slurp(wpath("cli.err"), last_err, sizeof(last_err));
	cr_assert(WIFEXITED(rc), "keyport did not exit: %s", cmd);
	return WEXITSTATUS(rc);
}

static char *
read_all(const char *file)
{
	FILE *f = fopen(file, "r");
	char *buf = malloc(65537);
	size_t n;

	cr_assert_not_null(f, "%s", file);
	n = fread(buf, 1, 65536, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
write_all(const char *file, const char *text, size_t len)
{
	FILE *f = fopen(file, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* post a file's bytes to /v1/licenses/{lic}/{what}[query] */
static void
post_file(const char *lic, const char *what, const char *query,
          const char *text, kpt_resp *r)
{
	char path[256];

	snprintf(path, sizeof(path), "/v1/licenses/%s/%s%s", lic, what,
	         query != NULL ? query : "");
	cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), text,
	                          strlen(text), "application/json", NULL, r),
	             0);
}

/* a copy of a JSON file with one member replaced (checksum kept as is) */
static char *
edited(const char *text, const char *member, json_t *value)
{
	json_t *o = json_loads(text, 0, NULL);
	char *s;

	cr_assert_not_null(o);
	json_object_set_new(o, member, value);
	s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	return s;
}

static void
expect_refused(const char *lic, const char *what, const char *text,
               const char *code)
{
	kpt_resp r;

	post_file(lic, what, NULL, text, &r);
	cr_assert_eq(r.status, 400, "%s: %s", code, r.body);
	cr_assert_str_eq(kpt_error_code(&r), code, "%s", r.body);
	kpt_resp_free(&r);
}

/* request + answer: writes <name>.req and <name>.resp in the workdir */
static void
request_and_answer(const char *state, const char *key, const char *product,
                   const char *lic, const char *query, const char *name)
{
	char req[64], resp[64], *text, *cd;
	kpt_resp r;

	snprintf(req, sizeof(req), "%s.req", name);
	snprintf(resp, sizeof(resp), "%s.resp", name);
	cr_assert_eq(keyport(state,
	                     "offline-request --key '%s' --product '%s' "
	                     "--out '%s'",
	                     key, product, wpath(req)),
	             0, "%s", last_err);
	text = read_all(wpath(req));
	post_file(lic, "offline-activations", query, text, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cd = kpt_header(&r, "Content-Disposition");
	cr_assert_not_null(cd);
	cr_assert_eq(strncmp(cd, "attachment", 10), 0, "%s", cd);
	free(cd);
	write_all(wpath(resp), r.body, r.len);
	kpt_resp_free(&r);
	free(text);
}

static json_t *
activations(const char *lic)
{
	char path[128];
	kpt_resp r;
	json_t *items;

	snprintf(path, sizeof(path), "/v1/licenses/%s/activations", lic);
	cr_assert_eq(kpt_http("GET", path, kpt_admin_token(), NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	items = json_object_get(r.json, "items");
	cr_assert(json_is_array(items), "%s", r.body);
	json_incref(items);
	kpt_resp_free(&r);
	return items;
}

/* ---- the round trip ------------------------------------------------------ */

Test(offline, round_trip_with_the_keyport_tool, .timeout = 90)
{
	char product[37], pk[128], lic[37], key[128], *deact;
	json_t *items, *a;
	struct stat st;
	kpt_resp r;

	make_product(product, pk, sizeof(pk));
	make_license(product, lic, key);
	request_and_answer("rt.json", key, product, lic, NULL, "rt");

	cr_assert_eq(keyport("rt.json",
	                     "offline-activate --response '%s' "
	                     "--product-key '%s'",
	                     wpath("rt.resp"), pk),
	             0, "%s", last_err);
	cr_assert_eq(stat(wpath("rt.json"), &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(keyport("rt.json", "status"), 0, "%s", last_err);
	cr_assert(strstr(last_out, "mode: offline") != NULL, "%s", last_out);
	cr_assert(strstr(last_out, "verified: yes") != NULL, "%s", last_out);
	cr_assert(strstr(last_out, lic) != NULL, "%s", last_out);

	/* the portal sees one offline activation, which holds the only seat */
	items = activations(lic);
	cr_assert_eq(json_array_size(items), 1);
	a = json_array_get(items, 0);
	cr_assert(json_is_true(json_object_get(a, "offline")));
	cr_assert(strstr(last_out,
	                 json_string_value(json_object_get(a, "id"))) != NULL);
	json_decref(items);

	cr_assert_eq(keyport("rt.json", "offline-deactivate --out '%s'",
	                     wpath("rt.deact")),
	             0, "%s", last_err);
	cr_assert_neq(keyport("rt.json", "status"), 0);
	deact = read_all(wpath("rt.deact"));
	post_file(lic, "offline-deactivations", NULL, deact, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	/* the proof is accepted once */
	expect_refused(lic, "offline-deactivations", deact, "OFFLINE_REPLAYED");
	items = activations(lic);
	a = json_array_get(items, 0);
	cr_assert(json_is_string(json_object_get(a, "deactivatedAt")),
	          "the activation is released");
	json_decref(items);
	free(deact);

	/* the seat is free again for a new offline activation */
	request_and_answer("rt2.json", key, product, lic, NULL, "rt2");
	cr_assert_eq(keyport("rt2.json",
	                     "offline-activate --response '%s' "
	                     "--product-key '%s'",
	                     wpath("rt2.resp"), pk),
	             0, "%s", last_err);
}

/* ---- tampering ----------------------------------------------------------- */

Test(offline, tampered_files_are_refused_by_the_server, .timeout = 90)
{
	char product[37], pk[128], lic[37], key[128], lic2[37], key2[128];
	char *req, *bad, *deact;
	unsigned char other_sk[KP_TOKEN_SK_BYTES], other_pk[KP_TOKEN_PK_BYTES];
	kp_token_claims c = {0};
	kp_offline_deactivation d;
	json_t *o;

	make_product(product, pk, sizeof(pk));
	make_license(product, lic, key);
	make_license(product, lic2, key2);
	cr_assert_eq(keyport("t.json",
	                     "offline-request --key '%s' --product '%s' "
	                     "--out '%s'",
	                     key, product, wpath("t.req")),
	             0, "%s", last_err);
	req = read_all(wpath("t.req"));

	expect_refused(lic, "offline-activations", "{\"not\": \"a file\"",
	               "OFFLINE_MALFORMED");
	expect_refused(lic, "offline-activations", "", "OFFLINE_MALFORMED");
	bad = edited(req, "version", json_integer(99));
	expect_refused(lic, "offline-activations", bad,
	               "OFFLINE_UNSUPPORTED_VERSION");
	free(bad);
	bad = edited(req, "hostname", json_string("someone-else"));
	expect_refused(lic, "offline-activations", bad, "OFFLINE_ALTERED");
	free(bad);
	/* the key in the file belongs to another license than the path's */
	expect_refused(lic2, "offline-activations", req,
	               "OFFLINE_KEY_MISMATCH");
	/* nothing of that took a seat */
	o = activations(lic);
	cr_assert_eq(json_array_size(o), 0);
	json_decref(o);

	/* a real activation, then deactivation requests that are not its own
	 */
	request_and_answer("t2.json", key, product, lic, NULL, "t2");
	cr_assert_eq(keyport("t2.json",
	                     "offline-activate --response '%s' "
	                     "--product-key '%s'",
	                     wpath("t2.resp"), pk),
	             0, "%s", last_err);
	cr_assert_eq(keyport("t2.json", "offline-deactivate --out '%s'",
	                     wpath("t2.deact")),
	             0, "%s", last_err);
	deact = read_all(wpath("t2.deact"));
	cr_assert_eq(kp_offline_deactivation_parse(deact, strlen(deact), &d),
	             0);
	/* signed by a machine that never held the activation's secret */
	snprintf(c.activation_id, sizeof(c.activation_id), "%.127s",
	         d.activation_id);
	snprintf(c.license_id, sizeof(c.license_id), "%.127s", d.license_id);
	snprintf(c.product_id, sizeof(c.product_id), "%.127s", d.product_id);
	snprintf(c.fingerprint, sizeof(c.fingerprint), "%.127s", d.fingerprint);
	kp_offline_deactivation_cleanup(&d);
	crypto_sign_keypair(other_pk, other_sk);
	cr_assert_eq(kp_offline_deactivation_create(&c, other_sk,
	                                            (int64_t)time(NULL), &bad),
	             0);
	expect_refused(lic, "offline-deactivations", bad, "OFFLINE_FORGED");
	free(bad);
	bad = edited(deact, "fingerprint", json_string("another-machine"));
	expect_refused(lic, "offline-deactivations", bad, "OFFLINE_ALTERED");
	free(bad);
	bad = edited(deact, "version", json_integer(2));
	expect_refused(lic, "offline-deactivations", bad,
	               "OFFLINE_UNSUPPORTED_VERSION");
	free(bad);
	expect_refused(lic, "offline-deactivations", "[]", "OFFLINE_MALFORMED");
	/* the genuine one still works after all that */
	{
		kpt_resp r;

		post_file(lic, "offline-deactivations", NULL, deact, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		kpt_resp_free(&r);
	}
	free(deact);
	free(req);
}

Test(offline, the_client_refuses_bad_responses, .timeout = 90)
{
	char product[37], pk[128], lic[37], key[128];
	char product2[37], pk2[128];
	char *resp, *bad;

	make_product(product, pk, sizeof(pk));
	make_product(product2, pk2, sizeof(pk2));
	make_license(product, lic, key);
	request_and_answer("c.json", key, product, lic, NULL, "c");
	resp = read_all(wpath("c.resp"));

	/* signed by the product's key, but the app pins another product's */
	cr_assert_neq(keyport("c.json",
	                      "offline-activate --response '%s' "
	                      "--product-key '%s'",
	                      wpath("c.resp"), pk2),
	              0);
	cr_assert(strstr(last_err, "OFFLINE_FORGED") != NULL, "%s", last_err);
	cr_assert_eq(strchr(last_err, '\n'), last_err + strlen(last_err) - 1,
	             "one line: %s", last_err);
	/* a longer life written into the file */
	bad = edited(resp, "responseExpiresAt",
	             json_integer((json_int_t)time(NULL) + 10 * 365 * 86400));
	write_all(wpath("c.bad"), bad, strlen(bad));
	free(bad);
	cr_assert_neq(keyport("c.json",
	                      "offline-activate --response '%s' "
	                      "--product-key '%s'",
	                      wpath("c.bad"), pk),
	              0);
	cr_assert(strstr(last_err, "OFFLINE_ALTERED") != NULL, "%s", last_err);
	/* malformed */
	write_all(wpath("c.bad"), "garbage", 7);
	cr_assert_neq(keyport("c.json",
	                      "offline-activate --response '%s' "
	                      "--product-key '%s'",
	                      wpath("c.bad"), pk),
	              0);
	cr_assert(strstr(last_err, "OFFLINE_MALFORMED") != NULL, "%s",
	          last_err);
	/* an answer to another request (another state, its own nonce) */
	cr_assert_eq(keyport("other.json",
	                     "offline-request --key '%s' --product '%s' "
	                     "--out '%s'",
	                     key, product, wpath("other.req")),
	             0);
	cr_assert_neq(keyport("other.json",
	                      "offline-activate --response '%s' "
	                      "--product-key '%s'",
	                      wpath("c.resp"), pk),
	              0);
	cr_assert(strstr(last_err, "OFFLINE_REPLAYED") != NULL, "%s", last_err);
	/* the untouched file is accepted by the machine that asked */
	cr_assert_eq(keyport("c.json",
	                     "offline-activate --response '%s' "
	                     "--product-key '%s'",
	                     wpath("c.resp"), pk),
	             0, "%s", last_err);
	free(resp);
}

Test(offline, an_expired_response_is_refused, .timeout = 90)
{
	char product[37], pk[128], lic[37], key[128];

	make_product(product, pk, sizeof(pk));
	make_license(product, lic, key);
	/* the server's clock 23 hours behind and a one-hour validity: the
	 * response ran out 22 hours ago by the client's clock */
	kpt_set_clock("activation", -23 * 3600);
	request_and_answer("e.json", key, product, lic,
	                   "?responseValidity=3600", "e");
	kpt_set_clock("activation", 0);
	cr_assert_neq(keyport("e.json",
	                      "offline-activate --response '%s' "
	                      "--product-key '%s'",
	                      wpath("e.resp"), pk),
	              0);
	cr_assert(strstr(last_err, "OFFLINE_EXPIRED") != NULL, "%s", last_err);
	cr_assert_neq(keyport("e.json", "status"), 0);
}

/* ---- the same round trip one level down ----------------------------------
 * The keyport tool's files against the activation service's RPCs directly
 * (the portal routes above are thin wrappers of these), so the client and
 * the service are checked against each other without the HTTP login. */

static kp_rpc_client *
rpc(const char *service)
{
	kp_rpc_client *c = NULL;

	cr_assert_eq(kp_rpc_client_open(&c, service, kpt_service_url(service)),
	             KP_OK);
	for (int j = 0; j < 250 && kp_rpc_client_pipes(c) == 0; j++)
		usleep(20000);
	return c;
}

static int
call(const char *service, const char *method, ProtobufCMessage *req,
     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **rep,
     kp_rpc_result *res)
{
	Keyport__Caller admin = KEYPORT__CALLER__INIT;
	kp_rpc_client *c = rpc(service);
	kp_rpc_call k = {0};
	int rc;

	admin.user_id = "00000000-0000-0000-0000-000000000001";
	admin.role = "admin";
	k.method = method;
	k.caller = &admin;
	k.timeout_ms = 10000;
	rc = kp_rpc_invoke(c, &k, req, desc, rep, res);
	kp_rpc_client_close(c);
	return rc;
}

Test(offline, keyport_tool_against_the_activation_service, .timeout = 90)
{
	Keyport__License__CreateProductRequest cp =
	    KEYPORT__LICENSE__CREATE_PRODUCT_REQUEST__INIT;
	Keyport__License__CreateLicenseRequest cl =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__INIT;
	Keyport__Activation__OfflineActivateRequest oa =
	    KEYPORT__ACTIVATION__OFFLINE_ACTIVATE_REQUEST__INIT;
	Keyport__Activation__OfflineDeactivateRequest od =
	    KEYPORT__ACTIVATION__OFFLINE_DEACTIVATE_REQUEST__INIT;
	Keyport__License__ProductReply *prod = NULL;
	Keyport__License__LicenseReply *lic = NULL;
	Keyport__Activation__OfflineActivateReply *resp = NULL;
	Keyport__Activation__DeactivateReply *dr = NULL;
	char name[64], *req, *deact, *bad;
	kp_rpc_result res;

	snprintf(name, sizeof(name), "offline-rpc-%d", getpid());
	cp.name = name;
	cr_assert_eq(call("license", "license.CreateProduct", &cp.base,
	                  &keyport__license__product_reply__descriptor,
	                  (ProtobufCMessage **)&prod, &res),
	             KP_OK, "%s", res.message);
	cl.product_id = prod->product->id;
	cl.type = "node-locked";
	cl.allowed_activations = 1;
	cl.allowed_deactivations = 5;
	cl.expiration_strategy = "immediate";
	cr_assert_eq(call("license", "license.CreateLicense", &cl.base,
	                  &keyport__license__license_reply__descriptor,
	                  (ProtobufCMessage **)&lic, &res),
	             KP_OK, "%s", res.message);

	cr_assert_eq(keyport("s.json",
	                     "offline-request --key '%s' --product '%s' "
	                     "--out '%s'",
	                     lic->license->key, prod->product->id,
	                     wpath("s.req")),
	             0, "%s", last_err);
	req = read_all(wpath("s.req"));
	/* an edited request is refused with its code */
	bad = edited(req, "hostname", json_string("elsewhere"));
	oa.license_id = lic->license->id;
	oa.file.data = (uint8_t *)bad;
	oa.file.len = strlen(bad);
	cr_assert_neq(
	    call("activation", "activation.OfflineActivate", &oa.base,
	         &keyport__activation__offline_activate_reply__descriptor,
	         (ProtobufCMessage **)&resp, &res),
	    KP_OK);
	cr_assert_str_eq(res.code, "OFFLINE_ALTERED");
	free(bad);
	oa.file.data = (uint8_t *)req;
	oa.file.len = strlen(req);
	oa.response_validity = 3600;
	cr_assert_eq(
	    call("activation", "activation.OfflineActivate", &oa.base,
	         &keyport__activation__offline_activate_reply__descriptor,
	         (ProtobufCMessage **)&resp, &res),
	    KP_OK, "%s %s", res.code, res.message);
	write_all(wpath("s.resp"), (const char *)resp->file.data,
	          resp->file.len);
	/* another product's key: forged */
	cr_assert_neq(keyport("s.json",
	                      "offline-activate --response '%s' "
	                      "--product-key '%s'",
	                      wpath("s.resp"),
	                      "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
	              0);
	cr_assert(strstr(last_err, "OFFLINE_FORGED") != NULL, "%s", last_err);
	cr_assert_eq(keyport("s.json",
	                     "offline-activate --response '%s' "
	                     "--product-key '%s'",
	                     wpath("s.resp"), prod->product->public_key),
	             0, "%s", last_err);
	cr_assert_eq(keyport("s.json", "status"), 0, "%s", last_err);
	cr_assert(strstr(last_out, resp->activation_id) != NULL, "%s",
	          last_out);
	cr_assert(strstr(last_out, "verified: yes") != NULL, "%s", last_out);

	cr_assert_eq(keyport("s.json", "offline-deactivate --out '%s'",
	                     wpath("s.deact")),
	             0, "%s", last_err);
	deact = read_all(wpath("s.deact"));
	od.license_id = lic->license->id;
	od.file.data = (uint8_t *)deact;
	od.file.len = strlen(deact);
	cr_assert_eq(call("activation", "activation.OfflineDeactivate",
	                  &od.base,
	                  &keyport__activation__deactivate_reply__descriptor,
	                  (ProtobufCMessage **)&dr, &res),
	             KP_OK, "%s %s", res.code, res.message);
	protobuf_c_message_free_unpacked(&dr->base, NULL);
	dr = NULL;
	cr_assert_neq(call("activation", "activation.OfflineDeactivate",
	                   &od.base,
	                   &keyport__activation__deactivate_reply__descriptor,
	                   (ProtobufCMessage **)&dr, &res),
	              KP_OK);
	cr_assert_str_eq(res.code, "OFFLINE_REPLAYED");
	free(deact);
	free(req);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	protobuf_c_message_free_unpacked(&lic->base, NULL);
	protobuf_c_message_free_unpacked(&prod->base, NULL);
}

/* ---- the keyport tool online (the client routes need no login) ---------- */

static void
rpc_license(char product[37], char *pk, size_t pklen, char lic[37],
            char key[128])
{
	Keyport__License__CreateProductRequest cp =
	    KEYPORT__LICENSE__CREATE_PRODUCT_REQUEST__INIT;
	Keyport__License__CreateLicenseRequest cl =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__INIT;
	Keyport__License__ProductReply *prod = NULL;
	Keyport__License__LicenseReply *l = NULL;
	kp_rpc_result res;
	char name[64];

	snprintf(name, sizeof(name), "online-%d-%ld", getpid(), random());
	cp.name = name;
	cr_assert_eq(call("license", "license.CreateProduct", &cp.base,
	                  &keyport__license__product_reply__descriptor,
	                  (ProtobufCMessage **)&prod, &res),
	             KP_OK, "%s", res.message);
	cl.product_id = prod->product->id;
	cl.type = "node-locked";
	cl.allowed_activations = 1;
	cl.allowed_deactivations = 5;
	cl.expiration_strategy = "immediate";
	cr_assert_eq(call("license", "license.CreateLicense", &cl.base,
	                  &keyport__license__license_reply__descriptor,
	                  (ProtobufCMessage **)&l, &res),
	             KP_OK, "%s", res.message);
	snprintf(product, 37, "%s", prod->product->id);
	snprintf(pk, pklen, "%s", prod->product->public_key);
	snprintf(lic, 37, "%s", l->license->id);
	snprintf(key, 128, "%s", l->license->key);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	protobuf_c_message_free_unpacked(&prod->base, NULL);
}

Test(offline, keyport_tool_online_over_http, .timeout = 90)
{
	char product[37], pk[128], lic[37], key[128];
	char product2[37], pk2[128], lic2[37], key2[128];
	json_t *st;

	rpc_license(product, pk, sizeof(pk), lic, key);
	rpc_license(product2, pk2, sizeof(pk2), lic2, key2);

	cr_assert_eq(keyport("on.json",
	                     "activate --server '%s' --key '%s' --product '%s' "
	                     "--product-key '%s'",
	                     kpt_url(), key, product, pk),
	             0, "%s", last_err);
	cr_assert(strstr(last_out, "activated:") != NULL, "%s", last_out);
	cr_assert_eq(keyport("on.json", "status"), 0, "%s", last_err);
	cr_assert(strstr(last_out, "mode: online") != NULL, "%s", last_out);
	cr_assert(strstr(last_out, "verified: yes") != NULL, "%s", last_out);
	cr_assert(strstr(last_out, "status: active") != NULL, "%s", last_out);
	cr_assert(strstr(last_out, lic) != NULL, "%s", last_out);
	cr_assert_eq(keyport("on.json", "heartbeat"), 0, "%s", last_err);

	/* the token must be the product's: pinning another key refuses it */
	cr_assert_eq(keyport("forged.json",
	                     "activate --server '%s' --key '%s' --product '%s' "
	                     "--product-key '%s'",
	                     kpt_url(), key, product, pk2),
	             7, "%s", last_err);
	cr_assert(strstr(last_err, "not signed by the product key") != NULL,
	          "%s", last_err);
	/* the server's refusals come back as one line with the code */
	cr_assert_eq(keyport("nokey.json",
	                     "activate --server '%s' --key 'NOPE-NOPE' "
	                     "--product '%s' --product-key '%s'",
	                     kpt_url(), product, pk),
	             9);
	cr_assert(strstr(last_err, "LICENSE_NOT_FOUND") != NULL, "%s",
	          last_err);
	cr_assert_eq(strchr(last_err, '\n'), last_err + strlen(last_err) - 1,
	             "one line: %s", last_err);

	/* a clock set back below what the state has seen is refused */
	st = json_load_file(wpath("on.json"), 0, NULL);
	cr_assert_not_null(st);
	json_object_set_new(st, "lastSeenClock",
	                    json_integer((json_int_t)time(NULL) + 86400));
	cr_assert_eq(json_dump_file(st, wpath("rollback.json"), 0), 0);
	json_decref(st);
	cr_assert_eq(keyport("rollback.json", "status"), 7);
	cr_assert(strstr(last_err, "clock went backwards") != NULL, "%s",
	          last_err);
	cr_assert_eq(keyport("rollback.json", "heartbeat"), 7);

	cr_assert_eq(keyport("on.json", "deactivate"), 0, "%s", last_err);
	cr_assert_eq(keyport("on.json", "status"), 3);
	cr_assert_eq(keyport("on.json", "heartbeat"), 3);
	/* the seat is free: activating again works */
	cr_assert_eq(keyport("on.json",
	                     "activate --server '%s' --key '%s' --product '%s' "
	                     "--product-key '%s'",
	                     kpt_url(), key, product, pk),
	             0, "%s", last_err);
}

/* The expired-response case at the service level too (no login needed). */
Test(offline, expired_response_from_the_service_is_refused, .timeout = 90)
{
	Keyport__Activation__OfflineActivateRequest oa =
	    KEYPORT__ACTIVATION__OFFLINE_ACTIVATE_REQUEST__INIT;
	Keyport__Activation__OfflineActivateReply *resp = NULL;
	char product[37], pk[128], lic[37], key[128], *req;
	kp_rpc_result res;

	rpc_license(product, pk, sizeof(pk), lic, key);
	cr_assert_eq(keyport("x.json",
	                     "offline-request --key '%s' --product '%s' "
	                     "--out '%s'",
	                     key, product, wpath("x.req")),
	             0, "%s", last_err);
	req = read_all(wpath("x.req"));
	oa.license_id = lic;
	oa.file.data = (uint8_t *)req;
	oa.file.len = strlen(req);
	oa.response_validity = 3600;
	/* the service's clock 23 hours behind, one hour of validity */
	kpt_set_clock("activation", -23 * 3600);
	cr_assert_eq(
	    call("activation", "activation.OfflineActivate", &oa.base,
	         &keyport__activation__offline_activate_reply__descriptor,
	         (ProtobufCMessage **)&resp, &res),
	    KP_OK, "%s %s", res.code, res.message);
	kpt_set_clock("activation", 0);
	write_all(wpath("x.resp"), (const char *)resp->file.data,
	          resp->file.len);
	cr_assert_neq(keyport("x.json",
	                      "offline-activate --response '%s' "
	                      "--product-key '%s'",
	                      wpath("x.resp"), pk),
	              0);
	cr_assert(strstr(last_err, "OFFLINE_EXPIRED") != NULL, "%s", last_err);
	cr_assert_eq(keyport("x.json", "status"), 3);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	free(req);
}
