/* The gateway's side of the portal: static files at `/` (content types,
 * the index.html fallback, ETag and 304, gzip variants, caching, nothing
 * outside the table, the security headers), and the session cookie of
 * /v1/auth (HttpOnly, rotation, the required header, logout). The files are
 * a fixture made here, so the test does not depend on the portal's own. */
#include "kpt.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char web[] = "/tmp/kp-web-XXXXXX";

static void
put(const char *rel, const char *text, size_t repeat)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", web, rel);
	f = fopen(path, "w");
	if (f == NULL)
		abort();
	for (size_t i = 0; i < repeat; i++)
		fputs(text, f);
	fclose(f);
}

/* A web directory: the page, a script big enough to compress, a vendored
 * (versioned) file, a dot file and a link out of the tree. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	kpt_opts o = {0};
	char buf[600];

	(void)set;
	if (mkdtemp(web) == NULL)
		abort();
	snprintf(buf, sizeof(buf), "%s/vendor", web);
	if (mkdir(buf, 0755) != 0)
		abort();
	snprintf(buf, sizeof(buf), "%s/vendor/lib@1.2.3", web);
	if (mkdir(buf, 0755) != 0)
		abort();
	put("index.html", "<!doctype html><title>Portal</title>INDEX-PAGE\n",
	    1);
	put("app.js", "export const hello = 'portal application code';\n", 200);
	put("vendor/lib@1.2.3/lib.js", "export default 1;\n", 1);
	put(".secret", "SECRET-DOTFILE\n", 1);
	snprintf(buf, sizeof(buf), "%s/passwd.txt", web);
	if (symlink("/etc/passwd", buf) != 0)
		abort();
	setenv("KEYPORT_WEB_DIR", web, 1);
	kpt_stack_start(&o);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char cmd[600];

	(void)stats;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", web);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", web);
}

static void
get(const char *path, const char *const *hdrs, kpt_resp *r)
{
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdrs, r), 0, "%s", path);
}

static void
expect_header(const kpt_resp *r, const char *name, const char *want)
{
	char *v = kpt_header(r, name);

	cr_assert_not_null(v, "no %s header", name);
	cr_expect_str_eq(v, want, "%s", name);
	free(v);
}

Test(portal_static, index_and_client_routes)
{
	const char *paths[] = {"/", "/index.html", "/licenses",
	                       "/licenses/3f2a/activations", "/a/b/c/"};
	kpt_resp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(paths[i], NULL, &r);
		cr_assert_eq(r.status, 200, "%s", paths[i]);
		cr_expect(strstr(r.body, "INDEX-PAGE") != NULL, "%s", paths[i]);
		expect_header(&r, "Content-Type", "text/html; charset=utf-8");
		expect_header(&r, "Cache-Control", "no-cache");
		kpt_resp_free(&r);
	}
}

Test(portal_static, security_headers)
{
	kpt_resp r;
	char *csp;

	get("/", NULL, &r);
	expect_header(&r, "X-Content-Type-Options", "nosniff");
	expect_header(&r, "Referrer-Policy", "no-referrer");
	csp = kpt_header(&r, "Content-Security-Policy");
	cr_assert_not_null(csp);
	cr_expect(strstr(csp, "default-src 'self'") != NULL, "%s", csp);
	cr_expect(strstr(csp, "frame-ancestors 'none'") != NULL, "%s", csp);
	cr_expect(strstr(csp, "unsafe-inline") == NULL, "%s", csp);
	free(csp);
	kpt_resp_free(&r);
}

Test(portal_static, scripts_etag_and_revalidation)
{
	kpt_resp r;
	char *etag, inm[128];
	const char *h[2] = {inm, NULL};

	get("/app.js", NULL, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Type", "text/javascript; charset=utf-8");
	expect_header(&r, "Cache-Control", "no-cache");
	cr_expect_eq(r.len, 200 * strlen("export const hello = 'portal "
	                                 "application code';\n"));
	etag = kpt_header(&r, "ETag");
	cr_assert_not_null(etag);
	cr_expect(etag[0] == '"', "a strong ETag: %s", etag);
	kpt_resp_free(&r);
	snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
	get("/app.js", h, &r);
	cr_expect_eq(r.status, 304);
	cr_expect_eq(r.len, 0);
	kpt_resp_free(&r);
	snprintf(inm, sizeof(inm), "If-None-Match: \"0000000000000000\"");
	get("/app.js", h, &r);
	cr_expect_eq(r.status, 200);
	kpt_resp_free(&r);
	free(etag);
}

Test(portal_static, gzip_when_accepted)
{
	const char *gz[] = {"Accept-Encoding: br, gzip", NULL};
	const char *nogz[] = {"Accept-Encoding: gzip;q=0, identity", NULL};
	kpt_resp r;

	get("/app.js", gz, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Content-Encoding", "gzip");
	expect_header(&r, "Vary", "Accept-Encoding");
	cr_assert(r.len > 2 && (unsigned char)r.body[0] == 0x1f &&
	          (unsigned char)r.body[1] == 0x8b);
	cr_expect_lt(r.len, 1000, "compressed to %zu bytes", r.len);
	kpt_resp_free(&r);
	get("/app.js", nogz, &r);
	cr_assert_eq(r.status, 200);
	cr_expect_null(kpt_header(&r, "Content-Encoding"));
	cr_expect(strstr(r.body, "portal application code") != NULL);
	kpt_resp_free(&r);
}

Test(portal_static, versioned_files_cached_long)
{
	kpt_resp r;

	get("/vendor/lib@1.2.3/lib.js", NULL, &r);
	cr_assert_eq(r.status, 200);
	expect_header(&r, "Cache-Control",
	              "public, max-age=31536000, immutable");
	kpt_resp_free(&r);
}

Test(portal_static, nothing_outside_the_table)
{
	const char *paths[] = {"/.secret", "/passwd.txt", "/../../etc/passwd",
	                       "/%2e%2e/%2e%2e/etc/passwd",
	                       "/vendor/../.secret"};
	kpt_resp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		get(paths[i], NULL, &r);
		cr_expect(r.status == 200 || r.status == 404 || r.status == 400,
		          "%s: %ld", paths[i], r.status);
		cr_expect(r.body == NULL || (strstr(r.body, "SECRET") == NULL &&
		                             strstr(r.body, "root:") == NULL),
		          "%s leaked", paths[i]);
		kpt_resp_free(&r);
	}
}

Test(portal_static, api_paths_stay_api)
{
	kpt_resp r;

	get("/v1/no-such-route", NULL, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(kpt_error_code(&r), "NOT_FOUND");
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("POST", "/", NULL, "{}", NULL, &r), 0);
	cr_expect_eq(r.status, 404);
	kpt_resp_free(&r);
	get("/healthz", NULL, &r);
	cr_expect_eq(r.status, 200);
	expect_header(&r, "Cache-Control", "no-store");
	kpt_resp_free(&r);
}

/* ---- the session cookie ------------------------------------------------ */

/* The kp_refresh value of a Set-Cookie (malloc'd; "" when cleared). */
static char *
cookie_of(const kpt_resp *r, char **attrs)
{
	char *v = kpt_header(r, "Set-Cookie"), *semi, *out;

	cr_assert_not_null(v, "no Set-Cookie");
	cr_assert(strncmp(v, "kp_refresh=", 11) == 0, "%s", v);
	semi = strchr(v, ';');
	out = strndup(v + 11, semi ? (size_t)(semi - v - 11) : strlen(v + 11));
	if (attrs != NULL)
		*attrs = v;
	else
		free(v);
	return out;
}

static char *
cookie_login(void)
{
	char *body =
	    kpt_jsonf("{s:s, s:s, s:b}", "email", kpt_admin_email(), "password",
	              kpt_admin_password(), "refreshCookie", 1);
	kpt_resp r;
	char *c, *attrs;

	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_null(json_object_get(r.json, "refreshToken"),
	               "the refresh token must not be readable by scripts");
	cr_expect(json_is_string(json_object_get(r.json, "accessToken")));
	c = cookie_of(&r, &attrs);
	cr_expect(strstr(attrs, "HttpOnly") != NULL, "%s", attrs);
	cr_expect(strstr(attrs, "SameSite=Strict") != NULL, "%s", attrs);
	cr_expect(strstr(attrs, "Path=/v1/auth") != NULL, "%s", attrs);
	cr_expect(strstr(attrs, "Secure") == NULL, "plain HTTP: %s", attrs);
	cr_expect_gt(strlen(c), 20);
	free(attrs);
	kpt_resp_free(&r);
	free(body);
	return c;
}

static long
cookie_call(const char *path, const char *cookie, int with_header, kpt_resp *r)
{
	char ch[400];
	const char *h[3] = {
	    ch, with_header ? "X-Keyport-Session: cookie" : NULL, NULL};

	snprintf(ch, sizeof(ch), "Cookie: kp_refresh=%s", cookie);
	cr_assert_eq(kpt_http("POST", path, NULL, NULL, h, r), 0);
	return r->status;
}

Test(portal_cookie, login_refresh_rotation_logout)
{
	char *c1 = cookie_login(), *c2, *cleared;
	kpt_resp r;

	/* without the custom header, the cookie alone is refused */
	cr_expect_eq(cookie_call("/v1/auth/refresh", c1, 0, &r), 403);
	cr_expect_str_eq(kpt_error_code(&r), "SESSION_HEADER_REQUIRED");
	kpt_resp_free(&r);
	/* with it: a new access token and a rotated cookie */
	cr_assert_eq(cookie_call("/v1/auth/refresh", c1, 1, &r), 200, "%s",
	             r.body);
	cr_expect_null(json_object_get(r.json, "refreshToken"));
	cr_expect(json_is_string(json_object_get(r.json, "accessToken")));
	c2 = cookie_of(&r, NULL);
	cr_expect_str_neq(c1, c2);
	kpt_resp_free(&r);
	/* the rotated-out cookie is refused, and the answer forgets it */
	cr_expect_eq(cookie_call("/v1/auth/refresh", c1, 1, &r), 401);
	cleared = cookie_of(&r, NULL);
	cr_expect_str_eq(cleared, "");
	free(cleared);
	kpt_resp_free(&r);
	free(c1);
	free(c2);

	/* a fresh session: logout clears the cookie and ends the session */
	c1 = cookie_login();
	cr_expect_eq(cookie_call("/v1/auth/logout", c1, 1, &r), 204);
	cleared = cookie_of(&r, NULL);
	cr_expect_str_eq(cleared, "");
	free(cleared);
	kpt_resp_free(&r);
	cr_expect_eq(cookie_call("/v1/auth/refresh", c1, 1, &r), 401);
	kpt_resp_free(&r);
	free(c1);
}

Test(portal_cookie, no_cookie_and_json_form_unchanged)
{
	const char *h[] = {"X-Keyport-Session: cookie", NULL};
	char *body = kpt_jsonf("{s:s, s:s}", "email", kpt_admin_email(),
	                       "password", kpt_admin_password());
	kpt_resp r;

	cr_assert_eq(kpt_http("POST", "/v1/auth/refresh", NULL, NULL, h, &r),
	             0);
	cr_expect_eq(r.status, 401);
	cr_expect_str_eq(kpt_error_code(&r), "UNAUTHENTICATED");
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("POST", "/v1/auth/refresh", NULL, "{}", NULL, &r),
	             0);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(r.body, "refreshToken") != NULL, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200);
	cr_expect(json_is_string(json_object_get(r.json, "refreshToken")));
	cr_expect_null(kpt_header(&r, "Set-Cookie"));
	kpt_resp_free(&r);
	free(body);
}
