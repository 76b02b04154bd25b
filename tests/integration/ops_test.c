/* Operations as an operator meets them (issue 18): the request log (a
 * refused activation leaves its line, the client behind a trusted proxy),
 * every log line JSON and free of the tests' secrets, every process's
 * metrics endpoint passing `promtool check metrics`, and figures that move
 * when they should (a heartbeat's outcome, an RPC error by code). */
#include "kp_err.h"
#include "kp_rpc.h"
#include "kpt.h"
#include "proto/license.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

KPT_SUITE(.env = {"KEYPORT_TRUSTED_PROXIES=127.0.0.1/32, ::1"})

static const char *const ops_processes[] = {"gateway", "auth",       "org",
                                            "license", "activation", "release"};
#define OPS_NPROC (sizeof(ops_processes) / sizeof(ops_processes[0]))

/* ---- helpers ------------------------------------------------------------ */

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

static void
make_product(char id[37])
{
	Keyport__License__CreateProductRequest req =
	    KEYPORT__LICENSE__CREATE_PRODUCT_REQUEST__INIT;
	Keyport__License__ProductReply *rep = NULL;
	char name[64];

	snprintf(name, sizeof(name), "ops-product-%d-%ld", getpid(), random());
	req.name = name;
	lic_rpc("license.CreateProduct", &req.base,
	        &keyport__license__product_reply__descriptor,
	        (ProtobufCMessage **)&rep);
	snprintf(id, 37, "%s", rep->product->id);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void
make_license(const char *product, char id[37], char key[128])
{
	Keyport__License__CreateLicenseRequest req =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__INIT;
	Keyport__License__LicenseReply *rep = NULL;

	req.product_id = (char *)product;
	req.type = "node-locked";
	req.allowed_activations = -1;
	req.allowed_deactivations = -1;
	req.expiration_strategy = "immediate";
	lic_rpc("license.CreateLicense", &req.base,
	        &keyport__license__license_reply__descriptor,
	        (ProtobufCMessage **)&rep);
	snprintf(id, 37, "%s", rep->license->id);
	snprintf(key, 128, "%s", rep->license->key);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void
activate(const char *key, const char *product, const char *fp,
         const char *const *headers, kpt_resp *r)
{
	char *body = kpt_jsonf("{s:s, s:s, s:s, s:s, s:s}", "key", key,
	                       "productId", product, "fingerprint", fp,
	                       "hostname", "ops-host", "os", "linux");

	cr_assert_eq(
	    kpt_http("POST", "/v1/activations", NULL, body, headers, r), 0);
	free(body);
}

/* The request-log line of the gateway with this request id (a new
 * reference), or NULL. The line is written right after the answer is
 * queued: looked for a few times. */
static json_t *
request_line(const char *rid)
{
	char path[1024], line[65536], needle[128];

	snprintf(path, sizeof(path), "%s/logs/gateway.log", kpt_dir());
	snprintf(needle, sizeof(needle), "\"requestId\":\"%s\"", rid);
	for (int tries = 0; tries < 100; tries++) {
		FILE *f = fopen(path, "r");

		cr_assert_not_null(f, "%s", path);
		while (fgets(line, sizeof(line), f) != NULL) {
			json_t *j;

			if (strstr(line, needle) == NULL ||
			    strstr(line, "\"route\":") == NULL)
				continue;
			j = json_loads(line, 0, NULL);
			fclose(f);
			return j;
		}
		fclose(f);
		usleep(50000);
	}
	return NULL;
}

/* The value of one sample line ("name{labels}") in a process's metrics,
 * or -1 when absent. */
static double
metric(const char *process, const char *sample)
{
	kpt_resp r;
	double v = -1;
	const char *p;

	cr_assert_eq(
	    kpt_http("GET", kpt_metrics_url(process), NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s /metrics: %ld", process, r.status);
	for (p = r.body; (p = strstr(p, sample)) != NULL; p++)
		if ((p == r.body || p[-1] == '\n') &&
		    p[strlen(sample)] == ' ') {
			v = strtod(p + strlen(sample) + 1, NULL);
			break;
		}
	kpt_resp_free(&r);
	return v;
}

/* ---- the request log ------------------------------------------------------
 */

Test(ops, forbidden_activation_leaves_a_request_log_line, .timeout = 60)
{
	char product[37], other[37], lic[37], key[128], rid[64], hdr[96];
	const char *h[] = {hdr, NULL};
	json_t *line, *hops;
	kpt_resp r;
	int rpc_seen = 0;

	make_product(product);
	make_product(other);
	make_license(product, lic, key);
	snprintf(rid, sizeof(rid), "ops-403-%d-%ld", getpid(), random());
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
	activate(key, other, "ops-fp", h, &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "PRODUCT_MISMATCH");
	kpt_resp_free(&r);

	line = request_line(rid);
	cr_assert_not_null(line, "no request-log line for %s", rid);
	cr_assert_str_eq(json_string_value(json_object_get(line, "level")),
	                 "info");
	cr_assert_str_eq(json_string_value(json_object_get(line, "method")),
	                 "POST");
	cr_assert_str_eq(json_string_value(json_object_get(line, "route")),
	                 "/v1/activations");
	cr_assert_eq(json_integer_value(json_object_get(line, "status")), 403);
	cr_assert_str_eq(json_string_value(json_object_get(line, "code")),
	                 "PRODUCT_MISMATCH");
	cr_assert(json_is_number(json_object_get(line, "latencyMs")));
	cr_assert_gt(json_integer_value(json_object_get(line, "bytes")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(line, "clientAddr")),
	                 "127.0.0.1");
	hops = json_object_get(line, "hops");
	cr_assert(json_is_array(hops), "no hops in the line");
	for (size_t i = 0; i < json_array_size(hops); i++) {
		json_t *hop = json_array_get(hops, i);

		if (strcmp(json_string_value(json_object_get(hop, "method")),
		           "activation.Activate") == 0) {
			rpc_seen = 1;
			cr_assert_str_eq(
			    json_string_value(json_object_get(hop, "code")),
			    "FORBIDDEN");
		}
	}
	cr_assert(rpc_seen, "the activation RPC is not among the hops");
	/* the key was in the body: never in the log */
	cr_assert_eq(kpt_log_grep(key), 0, "the license key is in a log");
	json_decref(line);
}

Test(ops, a_successful_activation_names_its_license, .timeout = 60)
{
	char product[37], lic[37], key[128], rid[64], hdr[96];
	const char *h[] = {hdr, NULL};
	json_t *line;
	kpt_resp r;

	make_product(product);
	make_license(product, lic, key);
	snprintf(rid, sizeof(rid), "ops-201-%d-%ld", getpid(), random());
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
	activate(key, product, "ops-fp-ok", h, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_not_null(line = request_line(rid));
	cr_assert_str_eq(json_string_value(json_object_get(line, "licenseId")),
	                 lic);
	cr_assert_null(json_object_get(line, "code"));
	json_decref(line);
}

Test(ops, the_client_behind_a_trusted_proxy, .timeout = 60)
{
	char rid[64], hdr[96];
	const char *one[] = {hdr, "X-Forwarded-For: 203.0.113.7", NULL};
	const char *chain[] = {
	    hdr, "X-Forwarded-For: 198.51.100.9, 203.0.113.8, 127.0.0.1", NULL};
	const char *junk[] = {hdr, "X-Forwarded-For: not-an-address", NULL};
	struct {
		const char *const *h;
		const char *want;
	} cases[] = {
	    {one, "203.0.113.7"}, {chain, "203.0.113.8"}, {junk, "127.0.0.1"}};
	kpt_resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *line;

		snprintf(rid, sizeof(rid), "ops-xff-%zu-%d-%ld", i, getpid(),
		         random());
		snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
		cr_assert_eq(
		    kpt_http("GET", "/healthz", NULL, NULL, cases[i].h, &r), 0);
		kpt_resp_free(&r);
		cr_assert_not_null(line = request_line(rid));
		cr_assert_str_eq(
		    json_string_value(json_object_get(line, "clientAddr")),
		    cases[i].want, "case %zu", i);
		json_decref(line);
	}
}

Test(ops, a_signed_in_request_names_its_user, .timeout = 60)
{
	char rid[64], hdr[96];
	const char *h[] = {hdr, NULL};
	json_t *line;
	kpt_resp r;

	snprintf(rid, sizeof(rid), "ops-me-%d-%ld", getpid(), random());
	snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", rid);
	cr_assert_eq(kpt_http("GET", "/v1/me", kpt_admin_token(), NULL, h, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_not_null(line = request_line(rid));
	cr_assert_str_eq(json_string_value(json_object_get(line, "userId")),
	                 json_string_value(json_object_get(r.json, "id")));
	cr_assert_str_eq(json_string_value(json_object_get(line, "route")),
	                 "/v1/me");
	kpt_resp_free(&r);
	json_decref(line);
}

/* ---- every log line ---------------------------------------------------------
 */

Test(ops, every_line_is_json_and_holds_no_secret, .timeout = 90)
{
	char product[37], lic[37], key[128], pat[160] = "";
	char path[1024], line[65536];
	const char *secrets[4];
	char *token = kpt_login(kpt_admin_email(), kpt_admin_password());
	struct dirent *e;
	kpt_resp r;
	DIR *d;
	int files = 0, lines = 0;

	/* secrets of every kind pass through the stack */
	make_product(product);
	make_license(product, lic, key);
	activate(key, product, "ops-secret-fp", NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("POST", "/v1/personal-access-tokens", token,
	                      "{\"name\":\"ops\",\"expiresInDays\":1}", NULL,
	                      &r),
	             0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(pat, sizeof(pat), "%s",
	         json_string_value(json_object_get(r.json, "token")));
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/me", pat, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	kpt_resp_free(&r);
	secrets[0] = kpt_admin_password();
	secrets[1] = token;
	secrets[2] = key;
	secrets[3] = pat;

	snprintf(path, sizeof(path), "%s/logs", kpt_dir());
	cr_assert_not_null(d = opendir(path));
	while ((e = readdir(d)) != NULL) {
		FILE *f;
		int no = 0;

		if (e->d_name[0] == '.' || strstr(e->d_name, ".log") == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/logs/%s", kpt_dir(),
		         e->d_name);
		cr_assert_not_null(f = fopen(path, "r"), "%s", path);
		files++;
		while (fgets(line, sizeof(line), f) != NULL) {
			json_t *j = json_loads(line, 0, NULL);

			no++;
			cr_expect(json_is_object(j), "%s:%d is not JSON: %s",
			          e->d_name, no, line);
			json_decref(j);
			for (int s = 0; s < 4; s++)
				cr_expect_null(strstr(line, secrets[s]),
				               "%s:%d holds secret %d",
				               e->d_name, no, s);
			lines++;
		}
		fclose(f);
	}
	closedir(d);
	cr_assert_geq(files, 6, "the logs of the stack: %d files", files);
	cr_assert_gt(lines, 0);
	free(token);
}

/* ---- metrics ------------------------------------------------------------- */

Test(ops, promtool_accepts_every_process_metrics, .timeout = 90)
{
	for (size_t i = 0; i < OPS_NPROC; i++) {
		char file[1024], cmd[2200], out[4096] = "";
		kpt_resp r;
		FILE *f;
		int rc;
		size_t n;

		cr_assert_eq(kpt_http("GET", kpt_metrics_url(ops_processes[i]),
		                      NULL, NULL, NULL, &r),
		             0);
		cr_assert_eq(r.status, 200, "%s: %ld", ops_processes[i],
		             r.status);
		cr_assert_not_null(
		    strstr(r.body, "keyport_build_info{version="), "%s",
		    ops_processes[i]);
		cr_assert_not_null(
		    strstr(r.body, "process_cpu_seconds_total "));
		cr_assert_not_null(strstr(r.body, "process_open_fds "));
		cr_assert_not_null(
		    strstr(r.body, "keyport_rpc_peer_connected{"));
		if (strcmp(ops_processes[i], "gateway") != 0) {
			cr_assert_not_null(
			    strstr(r.body, "keyport_db_connections "), "%s",
			    ops_processes[i]);
			cr_assert_not_null(strstr(
			    r.body, "keyport_rpc_server_requests_total{"));
		}
		snprintf(file, sizeof(file), "%s/metrics-%s.txt", kpt_dir(),
		         ops_processes[i]);
		cr_assert_not_null(f = fopen(file, "w"));
		cr_assert_eq(fwrite(r.body, 1, r.len, f), r.len);
		fclose(f);
		kpt_resp_free(&r);
		snprintf(cmd, sizeof(cmd), "promtool check metrics <'%s' 2>&1",
		         file);
		cr_assert_not_null(f = popen(cmd, "r"));
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		rc = pclose(f);
		cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
		          "promtool on %s's metrics: %s", ops_processes[i],
		          out);
	}
}

Test(ops, metrics_are_not_on_the_public_port, .timeout = 60)
{
	kpt_resp r;

	cr_assert_eq(kpt_http("GET", "/metrics", NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 404);
	kpt_resp_free(&r);
}

Test(ops, heartbeat_outcome_and_rpc_error_codes_move, .timeout = 60)
{
	char product[37], other[37], lic[37], key[128], path[128];
	const char *hb_ok = "keyport_activation_outcomes_total{kind="
	                    "\"heartbeat\",outcome=\"OK\"}";
	const char *act_mismatch =
	    "keyport_activation_outcomes_total{kind="
	    "\"activation\",outcome=\"PRODUCT_MISMATCH\"}";
	const char *gw_forbidden =
	    "keyport_rpc_errors_total{service=\"activation\",code="
	    "\"FORBIDDEN\"}";
	const char *gw_route =
	    "keyport_http_errors_total{method=\"POST\",route=\"/v1/"
	    "activations\",code=\"PRODUCT_MISMATCH\"}";
	double hb0, mm0, fb0, rt0, v;
	char *body;
	kpt_resp r;

	make_product(product);
	make_product(other);
	make_license(product, lic, key);
	hb0 = metric("activation", hb_ok);
	mm0 = metric("activation", act_mismatch);
	fb0 = metric("gateway", gw_forbidden);
	rt0 = metric("gateway", gw_route);
	cr_assert_geq(fb0, 0, "every code of a peer is shown, at 0 first");

	activate(key, product, "ops-hb-fp", NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(path, sizeof(path), "/v1/activations/%s/heartbeat",
	         json_string_value(json_object_get(r.json, "activationId")));
	kpt_resp_free(&r);
	body = kpt_jsonf("{s:s}", "key", key);
	cr_assert_eq(kpt_http("POST", path, NULL, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	activate(key, other, "ops-hb-fp", NULL, &r);
	cr_assert_eq(r.status, 403, "%s", r.body);
	kpt_resp_free(&r);

	v = metric("activation", hb_ok);
	cr_assert_geq(v, (hb0 < 0 ? 0 : hb0) + 1, "heartbeats OK: %g -> %g",
	              hb0, v);
	v = metric("activation", act_mismatch);
	cr_assert_geq(v, (mm0 < 0 ? 0 : mm0) + 1, "mismatches: %g -> %g", mm0,
	              v);
	v = metric("gateway", gw_forbidden);
	cr_assert_geq(v, fb0 + 1, "FORBIDDEN from activation: %g -> %g", fb0,
	              v);
	v = metric("gateway", gw_route);
	cr_assert_geq(v, (rt0 < 0 ? 0 : rt0) + 1, "route errors: %g -> %g", rt0,
	              v);
	/* the server side counted the same call by its code */
	cr_assert_geq(metric("activation",
	                     "keyport_rpc_server_requests_total{method="
	                     "\"activation.Activate\",code=\"FORBIDDEN\"}"),
	              1);
}
