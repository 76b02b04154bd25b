/* The foundation as a user meets it: health, readiness, metrics, request
 * ids, error format, and the stack surviving a killed service or a
 * restarted PostgreSQL without restarting anything else. */
#include "kpt.h"
#include "kpt_http.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

KPT_SUITE(0)

Test(foundation, healthz_answers_json_with_request_id, .timeout = 60)
{
	kpt_resp r;
	char *rid;

	cr_assert_eq(kpt_http("GET", "/healthz", NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	                 "ok");
	rid = kpt_header(&r, "X-Request-Id");
	cr_assert_not_null(rid);
	cr_assert_geq(strlen(rid), 16);
	free(rid);
	kpt_resp_free(&r);
}

Test(foundation, request_id_is_passed_through, .timeout = 60)
{
	const char *h[] = {"X-Request-Id: test-req-1234", NULL};
	const char *bad[] = {"X-Request-Id: has spaces & \"quotes\"", NULL};
	kpt_resp r;
	char *rid;

	cr_assert_eq(kpt_http("GET", "/readyz", NULL, NULL, h, &r), 0);
	rid = kpt_header(&r, "X-Request-Id");
	cr_assert_str_eq(rid, "test-req-1234");
	free(rid);
	kpt_resp_free(&r);
	/* the id reaches the services' logs (the health RPC carries it) */
	cr_assert_gt(kpt_log_grep("\"requestId\":\"test-req-1234\""), 0);

	/* an unsafe id is replaced, not echoed */
	cr_assert_eq(kpt_http("GET", "/healthz", NULL, NULL, bad, &r), 0);
	rid = kpt_header(&r, "X-Request-Id");
	cr_assert_not_null(rid);
	cr_assert_null(strchr(rid, ' '));
	free(rid);
	kpt_resp_free(&r);
}

Test(foundation, readyz_lists_every_service, .timeout = 60)
{
	const char *names[] = {"auth",       "org",     "license",
	                       "activation", "release", "database"};
	kpt_resp r;
	json_t *s;

	cr_assert_eq(kpt_http("GET", "/readyz", NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "readyz: %s", r.body);
	s = json_object_get(r.json, "services");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_str_eq(
		    json_string_value(json_object_get(s, names[i])), "ok", "%s",
		    names[i]);
	kpt_resp_free(&r);
}

Test(foundation, unknown_route_and_method_answer_json_errors, .timeout = 60)
{
	kpt_resp r;

	cr_assert_eq(kpt_http("GET", "/v1/no-such-thing", NULL, NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(kpt_error_code(&r), "NOT_FOUND");
	kpt_resp_free(&r);

	cr_assert_eq(kpt_http("DELETE", "/healthz", NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 405);
	cr_assert_str_eq(kpt_error_code(&r), "METHOD_NOT_ALLOWED");
	kpt_resp_free(&r);

	/* API paths that cannot be routed at all are still JSON 404s (other
	 * paths are the portal's: it-portal_http) */
	cr_assert_eq(kpt_http("GET", "/v1/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", NULL,
	                      NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 404);
	cr_assert_str_eq(kpt_error_code(&r), "NOT_FOUND");
	kpt_resp_free(&r);
}

Test(foundation, metrics_are_prometheus_text, .timeout = 60)
{
	kpt_resp r;
	char *ct;

	kpt_http("GET", "/healthz", NULL, NULL, NULL, &r);
	kpt_resp_free(&r);
	/* not on the public port (KEYPORT_METRICS_ON_API is off) */
	cr_assert_eq(kpt_http("GET", "/metrics", NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 404);
	kpt_resp_free(&r);
	cr_assert_eq(
	    kpt_http("GET", kpt_metrics_url("gateway"), NULL, NULL, NULL, &r),
	    0);
	cr_assert_eq(r.status, 200);
	ct = kpt_header(&r, "Content-Type");
	cr_assert(ct != NULL && strncmp(ct, "text/plain", 10) == 0);
	free(ct);
	cr_assert_not_null(strstr(r.body, "# TYPE keyport_http_requests_total "
	                                  "counter"));
	cr_assert_not_null(strstr(r.body, "keyport_http_requests_total{method="
	                                  "\"GET\",route=\"/healthz\",status="
	                                  "\"200\"}"));
	cr_assert_not_null(strstr(r.body, "keyport_http_request_duration_"
	                                  "seconds_bucket{method=\"GET\","
	                                  "route=\"/healthz\",le=\"+Inf\"}"));
	cr_assert_not_null(strstr(r.body, "keyport_rpc_errors_total{service="
	                                  "\"auth\""));
	kpt_resp_free(&r);
}

/* Polls /readyz until it answers `status`; returns the seconds it took, or
 * a negative number after timeout_s. The last body is left in *last. */
static double
wait_readyz(long status, double timeout_s, kpt_resp *last)
{
	double t0 = kpt_now();

	memset(last, 0, sizeof(*last));
	while (kpt_now() - t0 < timeout_s) {
		kpt_resp_free(last);
		if (kpt_http("GET", "/readyz", NULL, NULL, NULL, last) == 0 &&
		    last->status == status)
			return kpt_now() - t0;
		usleep(20000);
	}
	return -1;
}

Test(foundation, killed_service_is_named_then_recovers, .timeout = 180)
{
	const char *svcs[] = {"auth", "org", "license", "activation",
	                      "release"};

	for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		kpt_resp r;
		double took;

		kpt_kill(svcs[i], SIGKILL);
		took = wait_readyz(503, 2.0, &r);
		cr_assert_geq(took, 0, "%s killed: readyz still %ld after 2 s",
		              svcs[i], r.status);
		cr_assert_str_eq(kpt_error_code(&r), "SERVICE_UNAVAILABLE");
		cr_assert_not_null(strstr(r.body, svcs[i]),
		                   "readyz does not name %s: %s", svcs[i],
		                   r.body);
		kpt_resp_free(&r);

		kpt_restart(svcs[i]);
		took = wait_readyz(200, 20.0, &r);
		cr_assert_geq(took, 0, "%s restarted: readyz %ld: %s", svcs[i],
		              r.status, r.body);
		kpt_resp_free(&r);
	}
}

Test(foundation, postgres_restart_needs_no_service_restart, .timeout = 180)
{
	kpt_resp r;
	double took;

	kpt_pg_restart();
	/* the services reconnect on their own: no process is restarted */
	took = wait_readyz(200, 20.0, &r);
	cr_assert_geq(took, 0, "after PostgreSQL restart: %ld %s", r.status,
	              r.body);
	kpt_resp_free(&r);
}

/* Runs `keyport-<service> <args>` (the container probes) with the stack's
 * environment; returns its exit status, or -1. */
static int
probe(const char *service, const char *a1, const char *a2)
{
	const char *bin = getenv("KEYPORT_BIN_DIR");
	char path[1024];
	pid_t pid;
	int st = 0;

	snprintf(path, sizeof(path), "%s/keyport-%s", bin ? bin : "build/bin",
	         service);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		close_range(3, ~0U, 0);
		execl(path, path, a1, a2, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The Kubernetes probes: `--probe live` answers whether the process
 * answers, whatever its database does; `--probe ready` whether its
 * database is reachable. With PostgreSQL stopped, live stays 0 and ready
 * fails; a killed process fails live; a bad mode is a usage error. */
Test(foundation, probes_live_and_ready_mean_what_they_say, .timeout = 180)
{
	char cmd[2048];
	const char *root = getenv("KEYPORT_ROOT");
	int rv = -1;
	kpt_resp r;

	cr_assert_eq(probe("org", "--probe", "live"), 0);
	cr_assert_eq(probe("org", "--probe", "ready"), 0);
	cr_assert_eq(probe("org", "--check", NULL), 0);
	cr_assert_eq(probe("org", "--probe", "sideways"), 2);

	snprintf(cmd, sizeof(cmd), "PG_FAST=1 '%s/scripts/pg.sh' stop '%s/pg'",
	         root ? root : ".", kpt_dir());
	cr_assert_eq(kpt_sh(cmd), 0);
	cr_assert_neq(probe("org", "--probe", "ready"), 0,
	              "ready with PostgreSQL stopped");
	cr_assert_eq(probe("org", "--probe", "live"), 0,
	             "not live with PostgreSQL stopped");
	cr_assert_eq(probe("license", "--probe", "live"), 0);
	snprintf(cmd, sizeof(cmd), "PG_FAST=1 '%s/scripts/pg.sh' start '%s/pg'",
	         root ? root : ".", kpt_dir());
	cr_assert_eq(kpt_sh(cmd), 0);
	for (int i = 0; i < 100 && rv != 0; i++) {
		if ((rv = probe("org", "--probe", "ready")) != 0)
			usleep(200000);
	}
	cr_assert_eq(rv, 0, "not ready again after PostgreSQL came back");

	kpt_kill("org", SIGKILL);
	cr_assert_neq(probe("org", "--probe", "live"), 0, "live when killed");
	cr_assert_neq(probe("org", "--probe", "ready"), 0);
	kpt_restart("org");
	cr_assert_geq(wait_readyz(200, 30.0, &r), 0, "org restarted: %ld",
	              r.status);
	kpt_resp_free(&r);
}

/* A route whose service is down answers 503 SERVICE_UNAVAILABLE at once
 * (the RPC client fails fast when no replica is connected) instead of
 * hanging, and works again once the service is back. */
Test(foundation, route_of_a_dead_service_answers_503, .timeout = 120)
{
	kpt_resp r;
	char *body = kpt_jsonf("{s:s, s:s}", "email", kpt_admin_email(),
	                       "password", kpt_admin_password());
	double t0, took;

	kpt_kill("auth", SIGKILL);
	took = wait_readyz(503, 2.0, &r);
	cr_assert_geq(took, 0, "readyz still %ld", r.status);
	kpt_resp_free(&r);
	t0 = kpt_now();
	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
	             0);
	took = kpt_now() - t0;
	cr_assert_eq(r.status, 503, "login with auth down: %ld %s", r.status,
	             r.body);
	cr_assert_str_eq(kpt_error_code(&r), "SERVICE_UNAVAILABLE");
	cr_assert_lt(took, 3.0, "login with auth down took %.2f s", took);
	kpt_resp_free(&r);

	kpt_restart("auth");
	took = wait_readyz(200, 20.0, &r);
	cr_assert_geq(took, 0, "auth restarted: readyz %ld", r.status);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "login after restart: %ld %s", r.status,
	             r.body);
	kpt_resp_free(&r);
	free(body);
}

/* One dead service takes out its own routes only: the gateway's own
 * readiness (/readyz?scope=self, the gateway pods' probe) stays 200, the
 * other services' routes work, /readyz names the dead one. */
Test(foundation, a_dead_service_fails_its_routes_only, .timeout = 120)
{
	const char *tok = kpt_admin_token();
	kpt_resp r;
	json_t *org;

	kpt_kill("org", SIGKILL);
	cr_assert_geq(wait_readyz(503, 2.0, &r), 0, "readyz still %ld",
	              r.status);
	/* the dead pipe goes within a moment (first "not answering") */
	for (int i = 0; i < 40; i++) {
		const char *st = json_string_value(json_object_get(
		    json_object_get(r.json, "services"), "org"));
		if (st != NULL && strcmp(st, "not connected") == 0)
			break;
		kpt_resp_free(&r);
		usleep(50000);
		cr_assert_eq(kpt_http("GET", "/readyz", NULL, NULL, NULL, &r),
		             0);
	}
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(r.json, "services"), "org")),
	                 "not connected", "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(r.json, "services"), "license")),
	                 "ok", "%s", r.body);
	kpt_resp_free(&r);

	cr_assert_eq(kpt_http("GET", "/readyz?scope=self", NULL, NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "scope")),
	                 "self");
	org = json_object_get(json_object_get(r.json, "services"), "org");
	cr_assert_eq(json_integer_value(json_object_get(org, "connected")), 0,
	             "%s", r.body);
	kpt_resp_free(&r);

	cr_assert_eq(kpt_http("GET", "/v1/organizations", tok, NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 503, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "SERVICE_UNAVAILABLE");
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/products", tok, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);

	cr_assert_eq(kpt_http("GET", "/readyz?scope=nope", NULL, NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 400, "%s", r.body);
	kpt_resp_free(&r);

	kpt_restart("org");
	cr_assert_geq(wait_readyz(200, 20.0, &r), 0, "org restarted: %s",
	              r.body);
	kpt_resp_free(&r);
}

/* Every line every process of the stack wrote is JSON (PostgreSQL's
 * notices included: they go through the logger), and none holds the
 * vendor admin's password. */
Test(foundation, every_log_line_is_json, .timeout = 60)
{
	char path[1024], line[65536];
	struct dirent *e;
	DIR *d;
	int files = 0, lines = 0;

	/* a request, so the gateway and auth have written something, and a
	 * restart: the migrations of a second start make PostgreSQL say
	 * NOTICE ("already exists, skipping") */
	cr_assert_str_not_empty(kpt_admin_token());
	kpt_kill("org", SIGKILL);
	kpt_restart("org");
	cr_assert_eq(kpt_wait_ready(30), 0);
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
			json_error_t err;
			json_t *j;

			no++;
			if (line[0] == '\n')
				continue;
			j = json_loads(line, 0, &err);
			cr_expect_not_null(j, "%s:%d is not JSON: %s",
			                   e->d_name, no, line);
			json_decref(j);
			cr_expect_null(strstr(line, kpt_admin_password()),
			               "%s:%d holds the admin password",
			               e->d_name, no);
			lines++;
		}
		fclose(f);
	}
	closedir(d);
	cr_assert_geq(files, 6, "the logs of the stack: %d files", files);
	cr_assert_gt(lines, 0);
}
