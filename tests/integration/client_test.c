/* The client library and the keyport tool against the real stack (issue
 * 17): every keyport_check outcome reached for real (suspend, revoke,
 * expiry and grace with the test clock, a tampered token and a clock set
 * back), the tool's exit codes, help and JSON, a trailing slash in
 * --server, --app-version reaching the server, a state that cannot be
 * written losing no seat, the license commands with a personal access
 * token, the background sync's callback, and the Python binding. */
#include "keyport.h"
#include "kpt.h"
#include "kpt_http.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

KPT_SUITE()

/* ---- helpers ------------------------------------------------------------ */

static char workdir[256];

static const char *
wpath(const char *name)
{
	static char p[8][512];
	static int i;

	if (workdir[0] == '\0') {
		/* under the stack's state directory, which kpt_stack_stop
		 * removes: each test process makes one */
		snprintf(workdir, sizeof(workdir), "%s/kp-client-XXXXXX",
		         kpt_dir());
		cr_assert_not_null(mkdtemp(workdir));
	}
	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", workdir, name);
	return p[i];
}

static char last_err[4096], last_out[8192];

#if defined(__SANITIZE_ADDRESS__)
static const char tool_san[] = "ASAN_OPTIONS=halt_on_error=1:detect_leaks=1";
#else
static const char tool_san[] = "";
#endif

/* kp runs the keyport tool with env settings (e.g. "KEYPORT_TOKEN=x", ""
 * for none) and the arguments; returns its exit status, keeps its output
 * in last_out / last_err. */
static int
kp(const char *env, const char *fmt, ...)
{
	char args[4096], cmd[8192];
	const char *bin = getenv("KEYPORT_BIN_DIR");
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* (a sanitized tool checks its leaks too; its stderr goes to the
	 * stack's logs/, where the harness looks for sanitizer reports) */
	snprintf(cmd, sizeof(cmd),
	         "env %s %s '%s/keyport' %s >'%s' 2>'%s'; rc=$?; "
	         "cat '%s' >>'%s/logs/keyport-cli.log'; exit $rc",
	         tool_san, env != NULL ? env : "",
	         bin != NULL ? bin : "build/bin", args, wpath("cli.out"),
	         wpath("cli.err"), wpath("cli.err"), kpt_dir());
	rc = system(cmd);
	kpt_slurp(wpath("cli.out"), last_out, sizeof(last_out));
	kpt_slurp(wpath("cli.err"), last_err, sizeof(last_err));
	cr_assert(WIFEXITED(rc), "keyport did not exit: %s", cmd);
	return WEXITSTATUS(rc);
}

/* the member of the JSON the last --json command printed */
static json_t *
out_json(void)
{
	static json_t *j;

	json_decref(j);
	j = json_loads(last_out, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", last_out);
	return j;
}

static const char *
out_str(const char *name)
{
	const char *s = json_string_value(json_object_get(out_json(), name));

	return s != NULL ? s : "";
}

typedef struct product {
	char id[37];
	char pk[128];
} product;

static void
make_product(product *p)
{
	kpt_resp r;
	char name[64], *body;

	snprintf(name, sizeof(name), "client-%d-%ld", getpid(), random());
	body = kpt_jsonf("{s:s}", "name", name);
	cr_assert_eq(
	    kpt_http("POST", "/v1/products", kpt_admin_token(), body, NULL, &r),
	    0);
	free(body);
	cr_assert_eq(r.status, 201, "product: %s", r.body);
	snprintf(p->id, sizeof(p->id), "%s",
	         json_string_value(json_object_get(r.json, "id")));
	snprintf(p->pk, sizeof(p->pk), "%s",
	         json_string_value(json_object_get(r.json, "publicKey")));
	kpt_resp_free(&r);
}

typedef struct license {
	char id[37];
	char key[128];
} license;

static void
make_license(const product *p, int allowed, long validity, license *l)
{
	kpt_resp r;
	char *body;

	body = kpt_jsonf("{s:s, s:s, s:i, s:i, s:I, s:s, s:{s:s}}", "productId",
	                 p->id, "type", "node-locked", "allowedActivations",
	                 allowed, "allowedDeactivations", 10, "validity",
	                 (json_int_t)validity, "expirationStrategy",
	                 "immediate", "metadata", "tier", "pro");
	cr_assert_eq(
	    kpt_http("POST", "/v1/licenses", kpt_admin_token(), body, NULL, &r),
	    0);
	free(body);
	cr_assert_eq(r.status, 201, "license: %s", r.body);
	snprintf(l->id, sizeof(l->id), "%s",
	         json_string_value(json_object_get(r.json, "id")));
	snprintf(l->key, sizeof(l->key), "%s",
	         json_string_value(json_object_get(r.json, "key")));
	kpt_resp_free(&r);
}

static void
admin_post(const char *fmt, const char *id)
{
	char path[256];
	kpt_resp r;

	snprintf(path, sizeof(path), fmt, id);
	cr_assert_eq(kpt_http("POST", path, kpt_admin_token(), "{}", NULL, &r),
	             0);
	cr_assert_eq(r.status / 100, 2, "%s: %ld %s", path, r.status, r.body);
	kpt_resp_free(&r);
}

/* the license's totalActivations as the server counts them */
static long long
total_activations(const char *lic)
{
	char path[128];
	kpt_resp r;
	long long n;

	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	cr_assert_eq(kpt_http("GET", path, kpt_admin_token(), NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	n = json_integer_value(json_object_get(r.json, "totalActivations"));
	kpt_resp_free(&r);
	return n;
}

static char *
make_pat(void)
{
	kpt_resp r;
	char *tok;

	cr_assert_eq(kpt_http("POST", "/v1/personal-access-tokens",
	                      kpt_admin_token(), "{\"name\":\"client-test\"}",
	                      NULL, &r),
	             0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	tok = strdup(json_string_value(json_object_get(r.json, "token")));
	kpt_resp_free(&r);
	return tok;
}

#define ACTIVATE(state, p, l, extra)                                           \
	kp("",                                                                 \
	   "--state '%s' activate --server '%s' --key '%s' --product '%s' "    \
	   "--product-key '%s' %s",                                            \
	   wpath(state), kpt_url(), (l)->key, (p)->id, (p)->pk, extra)

/* ---- the tool's command line -------------------------------------------- */

Test(client, help_version_and_usage_errors, .timeout = 60)
{
	cr_assert_eq(kp("", "--help"), 0);
	cr_assert(strstr(last_out, "Exit codes:") != NULL, "%s", last_out);
	cr_assert(strstr(last_out, "update-check") != NULL);
	cr_assert(strstr(last_out, "license create|list|suspend|revoke") !=
	          NULL);
	cr_assert_eq(kp("", "-h"), 0);
	cr_assert_eq(kp("", "help activate"), 0);
	cr_assert(strstr(last_out, "--app-version") != NULL, "%s", last_out);
	cr_assert_eq(kp("", "status --help"), 0);
	cr_assert(strstr(last_out, "usage: keyport status") != NULL);
	cr_assert_eq(kp("", "license --help"), 0);
	cr_assert(strstr(last_out, "KEYPORT_TOKEN") != NULL);
	cr_assert_eq(kp("", "release --help"), 0);
	cr_assert(strstr(last_out, "release upload") != NULL);
	cr_assert_eq(kp("", "--version"), 0);
	cr_assert(strstr(last_out, "keyport 0.") != NULL, "%s", last_out);
	cr_assert_eq(kp("", "--version --json"), 0);
	cr_assert_str_eq(out_str("libkeyport"), keyport_version());
	/* usage errors: 2 */
	cr_assert_eq(kp("", ""), 2);
	cr_assert_eq(kp("", "frobnicate"), 2);
	cr_assert_eq(kp("", "status --no-such-flag"), 2);
	cr_assert_eq(kp("", "activate --server http://x"), 2);
	cr_assert(strstr(last_err, "--key is required") != NULL, "%s",
	          last_err);
	cr_assert_eq(
	    kp("", "--state '%s' status --timeout abc", wpath("none.json")), 2);
	/* not activated: 3, in text and JSON */
	cr_assert_eq(kp("", "--state '%s' status", wpath("none.json")), 3);
	cr_assert_eq(kp("", "--state '%s' status --json", wpath("none.json")),
	             3);
	cr_assert_str_eq(out_str("result"), "not-activated");
	cr_assert_eq(kp("", "--state '%s' heartbeat", wpath("none.json")), 3);
	/* vendor commands without a token: 12 */
	cr_assert_eq(
	    kp("KEYPORT_TOKEN=", "license list --server '%s'", kpt_url()), 12);
	cr_assert_eq(kp("KEYPORT_TOKEN=kp_pat_wrong",
	                "license list --server '%s'", kpt_url()),
	             12, "%s", last_err);
	/* nothing listens on port 1: unreachable, 8 */
	cr_assert_eq(kp("",
	                "--state '%s' activate --server http://127.0.0.1:1 "
	                "--key K --product P --timeout 5",
	                wpath("none.json")),
	             8);
}

/* ---- online, through the tool ------------------------------------------- */

Test(client, activate_with_slash_and_app_version_then_valid, .timeout = 90)
{
	product p;
	license l;
	char path[256];
	kpt_resp r;
	json_t *a;

	make_product(&p);
	make_license(&p, 2, 0, &l);
	/* a trailing slash (or two) in --server is the same server */
	cr_assert_eq(kp("",
	                "--state '%s' activate --server '%s//' --key '%s' "
	                "--product '%s' --product-key '%s' "
	                "--app-version 2.3.4 --json",
	                wpath("on.json"), kpt_url(), l.key, p.id, p.pk),
	             0, "%s", last_err);
	cr_assert_str_eq(out_str("licenseId"), l.id);
	/* the server saw the application's version */
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations", l.id);
	cr_assert_eq(kpt_http("GET", path, kpt_admin_token(), NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	a = json_array_get(json_object_get(r.json, "items"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(a, "appVersion")),
	                 "2.3.4", "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(kp("", "--state '%s' status --json", wpath("on.json")), 0,
	             "%s", last_err);
	cr_assert_str_eq(out_str("result"), "ok");
	cr_assert_str_eq(out_str("type"), "node-locked");
	cr_assert_str_eq(out_str("status"), "active");
	cr_assert_eq(json_integer_value(
	                 json_object_get(out_json(), "allowedActivations")),
	             2);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(out_json(), "metadata"), "tier")),
	                 "pro");
	/* the state keeps the server without the slash: heartbeat works */
	cr_assert_eq(kp("", "--state '%s' heartbeat", wpath("on.json")), 0,
	             "%s", last_err);
	cr_assert(strstr(last_out, "result: ok") != NULL, "%s", last_out);
	cr_assert_eq(kp("", "--state '%s' deactivate", wpath("on.json")), 0,
	             "%s", last_err);
	cr_assert_eq(kp("", "--state '%s' status", wpath("on.json")), 3);
	/* the server's refusals: 9 */
	cr_assert_eq(kp("",
	                "--state '%s' activate --server '%s' --key NOPE "
	                "--product '%s' --json",
	                wpath("x.json"), kpt_url(), p.id),
	             9);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(out_json(), "error"), "code")),
	                 "LICENSE_NOT_FOUND");
}

Test(client, seat_freed_on_the_server_is_not_activated_here, .timeout = 90)
{
	product p;
	license l;
	char path[256];
	kpt_resp r;

	make_product(&p);
	make_license(&p, 1, 0, &l);
	cr_assert_eq(ACTIVATE("freed.json", &p, &l, "--json"), 0, "%s",
	             last_err);
	/* the vendor (or a portal user) frees the machine's seat */
	snprintf(path, sizeof(path), "/v1/licenses/%s/activations/%s", l.id,
	         out_str("activated"));
	cr_assert_eq(
	    kpt_http("DELETE", path, kpt_admin_token(), NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 204, "%s: %s", path, r.body);
	kpt_resp_free(&r);
	cr_assert_eq(kp("", "--state '%s' heartbeat", wpath("freed.json")), 3,
	             "%s", last_err);
	cr_assert(strstr(last_err, "deactivated") != NULL, "%s", last_err);
	cr_assert_eq(kp("", "--state '%s' status", wpath("freed.json")), 3);
}

Test(client, suspended_and_revoked_exit_nonzero_via_license_commands,
     .timeout = 90)
{
	product p;
	license l;
	char env[512], *pat = make_pat();

	snprintf(env, sizeof(env), "KEYPORT_TOKEN='%s'", pat);
	make_product(&p);
	/* keyport license create with the personal access token */
	cr_assert_eq(
	    kp(env,
	       "license create --server '%s/' --product '%s' "
	       "--allowed-activations 3 --metadata '{\"tier\":\"pro\"}' "
	       "--json",
	       kpt_url(), p.id),
	    0, "%s", last_err);
	snprintf(l.id, sizeof(l.id), "%s", out_str("id"));
	snprintf(l.key, sizeof(l.key), "%s", out_str("key"));
	cr_assert_eq(strlen(l.id), 36, "%s", last_out);
	cr_assert_eq(kp(env, "license list --server '%s' --product '%s'",
	                kpt_url(), p.id),
	             0, "%s", last_err);
	cr_assert(strstr(last_out, l.id) != NULL, "%s", last_out);
	cr_assert(strstr(last_out, "total: 1") != NULL, "%s", last_out);

	cr_assert_eq(ACTIVATE("s.json", &p, &l, ""), 0, "%s", last_err);
	cr_assert_eq(
	    kp(env, "license suspend --server '%s' %s", kpt_url(), l.id), 0,
	    "%s", last_err);
	/* the heartbeat brings the signed "suspended": exit 5, both */
	cr_assert_eq(kp("", "--state '%s' heartbeat", wpath("s.json")), 5,
	             "%s %s", last_out, last_err);
	cr_assert(strstr(last_out, "result: suspended") != NULL, "%s",
	          last_out);
	cr_assert_eq(kp("", "--state '%s' status --json", wpath("s.json")), 5);
	cr_assert_str_eq(out_str("result"), "suspended");
	/* a suspended license cannot be activated on another machine
	 * state either: the server says so, and the exit code too */
	cr_assert_eq(ACTIVATE("s2.json", &p, &l, ""), 5, "%s", last_err);
	admin_post("/v1/licenses/%s/unsuspend", l.id);
	cr_assert_eq(kp("", "--state '%s' heartbeat", wpath("s.json")), 0, "%s",
	             last_err);
	cr_assert_eq(
	    kp(env, "license revoke --server '%s' %s", kpt_url(), l.id), 0,
	    "%s", last_err);
	cr_assert_eq(kp("", "--state '%s' heartbeat --json", wpath("s.json")),
	             6, "%s", last_err);
	cr_assert_str_eq(out_str("result"), "revoked");
	cr_assert_eq(kp("", "--state '%s' status", wpath("s.json")), 6);
	free(pat);
}

Test(client, expired_with_the_test_clock, .timeout = 90)
{
	product p;
	license l;

	make_product(&p);
	/* the server two hours in the past: a license valid one hour from
	 * its creation, activated then, has expired by now */
	kpt_set_clock("license", -7200);
	kpt_set_clock("activation", -7200);
	make_license(&p, 1, 3600, &l);
	cr_assert_eq(ACTIVATE("e.json", &p, &l, ""), 0, "%s", last_err);
	kpt_set_clock("license", 0);
	kpt_set_clock("activation", 0);
	cr_assert_eq(kp("", "--state '%s' status --json", wpath("e.json")), 4,
	             "%s", last_out);
	cr_assert_str_eq(out_str("result"), "expired");
	cr_assert_eq(kp("", "--state '%s' heartbeat", wpath("e.json")), 4,
	             "%s %s", last_out, last_err);
}

Test(client, tampered_token_is_refused, .timeout = 90)
{
	product p, other;
	license l;
	json_t *st;
	char *tok;
	size_t n;

	make_product(&p);
	make_product(&other);
	make_license(&p, 1, 0, &l);
	cr_assert_eq(ACTIVATE("t.json", &p, &l, ""), 0, "%s", last_err);
	cr_assert_eq(kp("", "--state '%s' status", wpath("t.json")), 0);
	/* one character of the signature changed */
	st = json_load_file(wpath("t.json"), 0, NULL);
	cr_assert_not_null(st);
	tok = strdup(json_string_value(json_object_get(st, "token")));
	n = strlen(tok);
	tok[n - 3] = tok[n - 3] == 'A' ? 'B' : 'A';
	json_object_set_new(st, "token", json_string(tok));
	cr_assert_eq(json_dump_file(st, wpath("t2.json"), 0), 0);
	cr_assert_eq(kp("", "--state '%s' status --json", wpath("t2.json")), 7);
	cr_assert_str_eq(out_str("result"), "tampered");
	cr_assert(strstr(out_str("reason"), "not signed") != NULL, "%s",
	          last_out);
	cr_assert_str_eq(out_str("verified"), "no");
	/* the genuine token checked with another product's key */
	cr_assert_eq(kp("", "--state '%s' status --product-key '%s'",
	                wpath("t.json"), other.pk),
	             7);
	json_decref(st);
	free(tok);
}

/* whatever the test below did, the next one finds the gateway up and
 * the activation service's clock right */
static void
gateway_back(void)
{
	if (kpt_wait_ready(1) != 0) {
		kpt_restart("gateway");
		kpt_wait_ready(30);
	}
	kpt_set_clock("activation", 0);
}

Test(client, grace_unreachable_recovery_and_clock_set_back, .timeout = 120,
     .fini = gateway_back)
{
	product p;
	license l;
	const char *day2 = "KEYPORT_TEST_CLOCK_OFFSET=7200";
	const char *day8 = "KEYPORT_TEST_CLOCK_OFFSET=691200";

	make_product(&p);
	make_license(&p, 1, 0, &l);
	cr_assert_eq(ACTIVATE("g.json", &p, &l, ""), 0, "%s", last_err);
	/* the server is cut */
	kpt_kill("gateway", SIGKILL);
	cr_assert_eq(
	    kp("", "--state '%s' heartbeat --timeout 5", wpath("g.json")), 8,
	    "%s", last_err);
	/* two hours on: beyond the heartbeat interval, within the grace */
	cr_assert_eq(kp(day2, "--state '%s' status --json", wpath("g.json")), 0,
	             "%s", last_out);
	cr_assert_str_eq(out_str("result"), "grace");
	cr_assert_eq(json_is_true(json_object_get(out_json(), "valid")), 1);
	/* a shorter grace period is an option */
	cr_assert_eq(kp(day2, "--state '%s' status --grace 3600 --interval 60",
	                wpath("g.json")),
	             8, "%s", last_out);
	/* eight days on: beyond the 7-day grace */
	cr_assert_eq(kp(day8, "--state '%s' status --json", wpath("g.json")), 8,
	             "%s", last_out);
	cr_assert_str_eq(out_str("result"), "unreachable");
	/* the server is back (its clock eight days on too): valid again */
	kpt_restart("gateway");
	cr_assert_eq(kpt_wait_ready(30), 0);
	kpt_set_clock("activation", 691200);
	cr_assert_eq(kp(day8, "--state '%s' heartbeat", wpath("g.json")), 0,
	             "%s %s", last_out, last_err);
	cr_assert_eq(kp(day8, "--state '%s' status", wpath("g.json")), 0);
	kpt_set_clock("activation", 0);
	/* the local clock set back eight days: tampering */
	cr_assert_eq(kp("", "--state '%s' status --json", wpath("g.json")), 7,
	             "%s", last_out);
	cr_assert_str_eq(out_str("result"), "tampered");
	cr_assert(strstr(out_str("reason"), "clock") != NULL, "%s", last_out);
	cr_assert_str_eq(out_str("verified"), "yes",
	                 "genuine, the clock is not");
}

Test(client, failed_state_write_loses_no_seat, .timeout = 90)
{
	product p;
	license l;
	FILE *f;

	make_product(&p);
	make_license(&p, 1, 0, &l);
	/* a state path under a regular file cannot be written, even by root */
	f = fopen(wpath("afile"), "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(ACTIVATE("afile/state.json", &p, &l, ""), 1, "%s",
	             last_err);
	cr_assert(strstr(last_err, "cannot read state") != NULL, "%s",
	          last_err);
	cr_assert_eq(total_activations(l.id), 0);
	/* a state that reads as absent but cannot be written (its
	 * directory cannot be made under /proc, even by root): refused
	 * before the server is asked */
	cr_assert_eq(kp("",
	                "--state /proc/keyport-no-such-dir/state.json "
	                "activate --server '%s' --key '%s' --product '%s' "
	                "--product-key '%s'",
	                kpt_url(), l.key, p.id, p.pk),
	             1, "%s", last_err);
	cr_assert(strstr(last_err, "cannot write state") != NULL, "%s",
	          last_err);
	cr_assert_eq(total_activations(l.id), 0);
	/* the one seat is still there for a state that works */
	cr_assert_eq(ACTIVATE("ok.json", &p, &l, ""), 0, "%s", last_err);
	cr_assert_eq(total_activations(l.id), 1);
}

/* ---- TLS: the CA file and the pinned server key ------------------------ */

static char tls_pid[512];

/* stops the HTTPS front of the test below (the pid it recorded) */
static void
tls_stop(void)
{
	char cmd[1024];

	if (tls_pid[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "kill \"$(cat '%s')\" 2>/dev/null", tls_pid);
	if (system(cmd) != 0)
		fprintf(stderr, "the TLS front had already stopped\n");
}

Test(client, ca_file_and_pinned_server_key_over_tls, .timeout = 120,
     .fini = tls_stop)
{
	const char *root = getenv("KEYPORT_ROOT");
	char cmd[4096], pin[256], url[128], pf[512];
	product p;
	license l;
	FILE *f;
	int port = 0;

	if (root == NULL)
		root = ".";
	wpath("cert.pem"); /* makes workdir */
	/* a self-signed certificate for 127.0.0.1 and the sha256 pin of its
	 * public key, as curl --pinnedpubkey takes it */
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
	         "ec_paramgen_curve:P-256 -nodes -keyout key.pem -out cert.pem "
	         "-days 2 -subj /CN=127.0.0.1 -addext "
	         "subjectAltName=IP:127.0.0.1 2>/dev/null && openssl x509 "
	         "-in cert.pem -pubkey -noout | openssl pkey -pubin -outform "
	         "der | openssl dgst -sha256 -binary | base64 >pin.txt",
	         workdir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	kpt_slurp(wpath("pin.txt"), pin + 8, sizeof(pin) - 8);
	memcpy(pin, "sha256//", 8);
	pin[strcspn(pin, "\n")] = '\0';
	snprintf(tls_pid, sizeof(tls_pid), "%s", wpath("tls.pid"));
	snprintf(pf, sizeof(pf), "%s", wpath("tls.port"));
	snprintf(cmd, sizeof(cmd),
	         "python3 '%s/tests/integration/client_tls_proxy.py' '%s' '%s' "
	         "'%s' '%s' >/dev/null 2>&1 & echo $! >'%s'",
	         root, wpath("cert.pem"), wpath("key.pem"), kpt_url(), pf,
	         tls_pid);
	cr_assert_eq(system(cmd), 0);
	for (int i = 0; i < 300 && access(pf, R_OK) != 0; i++)
		usleep(100000);
	f = fopen(pf, "r");
	cr_assert_not_null(f, "the TLS front did not start");
	cr_assert_eq(fscanf(f, "%d", &port), 1);
	fclose(f);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);

	make_product(&p);
	make_license(&p, 1, 0, &l);
	/* the system's CAs do not know the certificate: no answer */
	cr_assert_eq(kp("",
	                "--state '%s' activate --server '%s' --key '%s' "
	                "--product '%s' --product-key '%s'",
	                wpath("tls.json"), url, l.key, p.id, p.pk),
	             8, "%s", last_err);
	cr_assert_eq(total_activations(l.id), 0);
	/* with its CA file it is trusted */
	cr_assert_eq(kp("",
	                "--state '%s' activate --server '%s' --key '%s' "
	                "--product '%s' --product-key '%s' --ca-file '%s'",
	                wpath("tls.json"), url, l.key, p.id, p.pk,
	                wpath("cert.pem")),
	             0, "%s", last_err);
	/* the right pin is accepted, another refused */
	cr_assert_eq(kp("",
	                "--state '%s' heartbeat --ca-file '%s' "
	                "--server-key '%s'",
	                wpath("tls.json"), wpath("cert.pem"), pin),
	             0, "%s %s", pin, last_err);
	cr_assert_eq(kp("",
	                "--state '%s' heartbeat --ca-file '%s' "
	                "--server-key "
	                "'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	                "'",
	                wpath("tls.json"), wpath("cert.pem")),
	             8, "%s", last_err);
	cr_assert(strstr(last_err, "public key") != NULL ||
	              strstr(last_err, "pinned") != NULL,
	          "%s", last_err);
}

/* ---- the library itself ----------------------------------------------- */

static int sync_pipe[2];

static void
on_change(int result, void *arg)
{
	unsigned char b = (unsigned char)result;

	(void)arg;
	cr_assert_eq(write(sync_pipe[1], &b, 1), 1);
}

/* the next result the callback reported (waits for it, up to 60 s) */
static int
next_result(void)
{
	struct pollfd pfd = {.fd = sync_pipe[0], .events = POLLIN};
	unsigned char b;

	cr_assert_eq(poll(&pfd, 1, 60000), 1, "no callback");
	cr_assert_eq(read(sync_pipe[0], &b, 1), 1);
	return b;
}

Test(client, library_check_getters_and_sync_callback, .timeout = 120)
{
	product p;
	license l;
	keyport_client *c;
	char url[512];
	int r;

	make_product(&p);
	make_license(&p, 3, 0, &l);
	c = keyport_client_new(wpath("lib.json"));
	cr_assert_not_null(c);
	cr_assert_eq(keyport_check(c), KEYPORT_CHECK_NOT_ACTIVATED);
	cr_assert_eq(keyport_set_product_key(c, p.pk), KEYPORT_OK);
	cr_assert_eq(keyport_set_app_version(c, "9.9.9"), KEYPORT_OK);
	cr_assert_eq(keyport_set_timeout(c, 0), KEYPORT_EINVAL);
	cr_assert_eq(keyport_set_timeout(c, 20), KEYPORT_OK);
	cr_assert_eq(keyport_set_heartbeat_interval(c, 10 * 86400),
	             KEYPORT_EINVAL, "the interval must be below the grace");
	snprintf(url, sizeof(url), "%s/", kpt_url());
	cr_assert_eq(keyport_activate(c, url, l.key, p.id), KEYPORT_OK, "%s",
	             keyport_error(c));
	cr_assert_eq(keyport_check(c), KEYPORT_CHECK_OK, "%s",
	             keyport_error(c));
	cr_assert_str_eq(keyport_license_id(c), l.id);
	cr_assert_str_eq(keyport_license_key(c), l.key);
	cr_assert_str_eq(keyport_product_id(c), p.id);
	cr_assert_str_eq(keyport_license_type(c), "node-locked");
	cr_assert_str_eq(keyport_license_status(c), "active");
	cr_assert_str_eq(keyport_license_metadata(c, "tier"), "pro");
	cr_assert_str_eq(keyport_license_metadata(c, "nope"), "");
	cr_assert_eq(keyport_license_allowed_activations(c), 3);
	cr_assert_eq(keyport_license_expires_at(c), 0);
	cr_assert_str_eq(keyport_license_user_id(c), "");
	cr_assert_eq(strlen(keyport_activation_id(c)), 36);
	cr_assert_gt(keyport_last_contact(c), 0);
	/* the background sync: the first result, then the change a
	 * suspension brings, without waiting for the interval */
	cr_assert_eq(pipe(sync_pipe), 0);
	cr_assert_eq(keyport_sync_start(c, on_change, NULL), KEYPORT_OK);
	cr_assert_eq(keyport_sync_start(c, on_change, NULL), KEYPORT_EINVAL);
	cr_assert_eq(next_result(), KEYPORT_CHECK_OK);
	admin_post("/v1/licenses/%s/suspend", l.id);
	keyport_sync_now(c);
	r = next_result();
	cr_assert_eq(r, KEYPORT_CHECK_SUSPENDED, "%s", keyport_check_str(r));
	admin_post("/v1/licenses/%s/unsuspend", l.id);
	keyport_sync_now(c);
	cr_assert_eq(next_result(), KEYPORT_CHECK_OK);
	keyport_sync_stop(c);
	keyport_sync_stop(c);
	cr_assert_eq(keyport_deactivate(c), KEYPORT_OK, "%s", keyport_error(c));
	cr_assert_eq(keyport_check(c), KEYPORT_CHECK_NOT_ACTIVATED);
	/* a proxy that does not answer is used: unreachable */
	cr_assert_eq(keyport_set_proxy(c, "http://127.0.0.1:1"), KEYPORT_OK);
	cr_assert_eq(keyport_activate(c, kpt_url(), l.key, p.id), KEYPORT_ENET);
	cr_assert(strstr(keyport_error(c), "proxy") != NULL ||
	              strstr(keyport_error(c), "onnect") != NULL,
	          "%s", keyport_error(c));
	keyport_client_free(c);
	close(sync_pipe[0]);
	close(sync_pipe[1]);
}

/* A sanitized libkeyport (make SAN=1) needs the sanitizer runtimes loaded
 * first in a python3 that was not built with them; python's own leaks at
 * exit are not libkeyport's. */
#if defined(__SANITIZE_ADDRESS__)
static const char san_preload[] =
    "LD_PRELOAD=\"$(cc -print-file-name=libasan.so) "
    "$(cc -print-file-name=libubsan.so)\" "
    "ASAN_OPTIONS=halt_on_error=1:detect_leaks=0";
#else
static const char san_preload[] = "";
#endif

Test(client, python_binding_activate_check_deactivate, .timeout = 120)
{
	product p;
	license l;
	char cmd[4096];
	const char *root = getenv("KEYPORT_ROOT");
	const char *bin = getenv("KEYPORT_BIN_DIR");
	int rc;

	make_product(&p);
	make_license(&p, 3, 0, &l);
	if (root == NULL)
		root = ".";
	snprintf(
	    cmd, sizeof(cmd),
	    "env %s KEYPORT_LIB='%s/../lib/libkeyport.so.1' KPT_SERVER='%s' "
	    "KPT_KEY='%s' KPT_PRODUCT='%s' KPT_PRODUCT_KEY='%s' "
	    "KPT_LICENSE='%s' python3 '%s/client/python/test_keyport.py' "
	    ">'%s' 2>&1",
	    san_preload, bin != NULL ? bin : "build/bin", kpt_url(), l.key,
	    p.id, p.pk, l.id, root, wpath("py.log"));
	rc = system(cmd);
	kpt_slurp(wpath("py.log"), last_out, sizeof(last_out));
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "python: %s",
	          last_out);
	cr_assert(strstr(last_out, "OK") != NULL, "%s", last_out);
	/* the binding deactivated: the seat is back */
	cr_assert_eq(total_activations(l.id), 1, "one activation counted");
}
