/* The auth service through the gateway: login, tokens verified by the
 * gateway, refresh rotation and reuse, logout, profile, password change,
 * personal access tokens, vendor-admin user management, login throttling,
 * the bounded password-hashing pool, and no secret in any log. */
#include "kp_err.h"
#include "kp_rpc.h"
#include "kpt.h"
#include "kpt_http.h"
#include "proto/auth.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <fcntl.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The stack, with the gateway polling revocations every 100 ms so the test
 * of a disabled user's access token needs no long wait. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	kpt_opts o = {0};

	(void)set;
	setenv("KEYPORT_GW_REVOCATION_REFRESH_MS", "100", 1);
	kpt_stack_start(&o);
}

/* Polls GET /v1/me with token until it answers want (at most 3 s). */
static long
me_until(const char *token, long want)
{
	kpt_resp r;
	long st = 0;

	for (int i = 0; i < 60; i++) {
		cr_assert_eq(kpt_http("GET", "/v1/me", token, NULL, NULL, &r),
		             0);
		st = r.status;
		kpt_resp_free(&r);
		if (st == want)
			break;
		usleep(50000);
	}
	return st;
}

/* Secrets used by the tests; each is grepped for in the logs at the end. */
#define PW_USER  "Us3r-pass-7f3a9c"
#define PW_USER2 "Us3r-new-pass-0b1d"
#define PW_WRONG "Wr0ng-pass-91c2e4"

/* Remembers a secret (token) for the final log check: tests run in their
 * own processes, so the list lives in a file of the stack's directory. */
static void
remember(const char *secret)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/auth-test-secrets", kpt_dir());
	f = fopen(path, "a");
	cr_assert_not_null(f);
	fprintf(f, "%s\n", secret);
	fclose(f);
}

typedef struct session {
	char access[1024];
	char refresh[128];
	char user_id[64];
} session;

/* Logs in; returns the HTTP status (session filled on 200). */
static long
login(const char *email, const char *pw, session *s, kpt_resp *keep)
{
	char *body = kpt_jsonf("{s:s, s:s}", "email", email, "password", pw);
	kpt_resp r;
	long st;

	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
	             0);
	free(body);
	st = r.status;
	if (st == 200 && s != NULL) {
		const char *a =
		    json_string_value(json_object_get(r.json, "accessToken"));
		const char *f =
		    json_string_value(json_object_get(r.json, "refreshToken"));
		const char *id = json_string_value(
		    json_object_get(json_object_get(r.json, "user"), "id"));
		cr_assert_not_null(a);
		cr_assert_not_null(f);
		cr_assert_not_null(id);
		snprintf(s->access, sizeof(s->access), "%s", a);
		snprintf(s->refresh, sizeof(s->refresh), "%s", f);
		snprintf(s->user_id, sizeof(s->user_id), "%s", id);
		remember(a);
		remember(f);
	}
	if (keep != NULL)
		*keep = r;
	else
		kpt_resp_free(&r);
	return st;
}

static void
admin_login(session *s)
{
	cr_assert_eq(login(kpt_admin_email(), kpt_admin_password(), s, NULL),
	             200);
}

/* Creates a user through /v1/users as the admin; returns its id. */
static void
create_user(const session *admin, const char *email, const char *pw,
            const char *role, char id[64])
{
	char *body = kpt_jsonf("{s:s, s:s, s:s, s:s, s:s}", "email", email,
	                       "password", pw, "firstName", "  Ada ",
	                       "lastName", "Lovelace", "role", role);
	kpt_resp r;

	cr_assert_eq(
	    kpt_http("POST", "/v1/users", admin->access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, 64, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "firstName")), "Ada");
	kpt_resp_free(&r);
}

Test(auth, login_and_me, .timeout = 60)
{
	session s;
	kpt_resp r;
	json_t *u;

	cr_assert_eq(login(kpt_admin_email(), kpt_admin_password(), &s, &r),
	             200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "expiresIn")),
	             900);
	u = json_object_get(r.json, "user");
	cr_assert_str_eq(json_string_value(json_object_get(u, "role")),
	                 "admin");
	cr_assert_str_eq(json_string_value(json_object_get(u, "email")),
	                 kpt_admin_email());
	/* a JWT-like access token: three parts */
	cr_assert_not_null(strchr(s.access, '.'));
	kpt_resp_free(&r);

	cr_assert_eq(kpt_http("GET", "/v1/me", s.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "id")),
	                 s.user_id);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "email")),
	                 kpt_admin_email());
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "role")),
	                 "admin");
	cr_assert(json_is_null(json_object_get(r.json, "organizationId")));
	cr_assert_not_null(
	    json_string_value(json_object_get(r.json, "createdAt")));
	kpt_resp_free(&r);
}

Test(auth, login_rejections, .timeout = 60)
{
	kpt_resp a, b;

	cr_assert_eq(login(kpt_admin_email(), "wrong-password-1", NULL, &a),
	             401);
	cr_assert_eq(login("nobody@example.com", "wrong-password-1", NULL, &b),
	             401);
	/* same answer for unknown email and wrong password */
	cr_assert_str_eq(kpt_error_code(&a), "UNAUTHENTICATED");
	cr_assert_str_eq(a.body, b.body);
	/* and about the same time (both run Argon2id) */
	cr_assert_gt(b.seconds, a.seconds * 0.3, "%f vs %f", b.seconds,
	             a.seconds);
	kpt_resp_free(&a);
	kpt_resp_free(&b);
	/* the email is case-insensitive */
	{
		char up[128];
		snprintf(up, sizeof(up), "%s", kpt_admin_email());
		for (char *p = up; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 32);
		cr_assert_eq(login(up, kpt_admin_password(), NULL, NULL), 200);
	}
	/* missing field */
	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL,
	                      "{\"email\":\"a@b.c\"}", NULL, &a),
	             0);
	cr_assert_eq(a.status, 400);
	cr_assert_str_eq(kpt_error_code(&a), "INVALID_INPUT");
	cr_assert_not_null(strstr(a.body, "password"));
	kpt_resp_free(&a);
}

Test(auth, gateway_rejects_bad_tokens, .timeout = 60)
{
	session s;
	kpt_resp r;
	char bad[1100];

	admin_login(&s);
	cr_assert_eq(kpt_http("GET", "/v1/me", NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	/* tampered signature */
	snprintf(bad, sizeof(bad), "%s", s.access);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
	cr_assert_eq(kpt_http("GET", "/v1/me", bad, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(kpt_error_code(&r), "UNAUTHENTICATED");
	kpt_resp_free(&r);
	/* garbage, unknown kid */
	cr_assert_eq(kpt_http("GET", "/v1/me", "a.b.c", NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/me", "kp_pat_nope", NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
}

/* Sends {"refreshToken":rt} to path; returns the response. */
static void
post_refresh(const char *path, const char *rt, kpt_resp *r)
{
	char *body = kpt_jsonf("{s:s}", "refreshToken", rt);

	cr_assert_eq(kpt_http("POST", path, NULL, body, NULL, r), 0);
	free(body);
}

Test(auth, refresh_rotates_and_reuse_revokes_session, .timeout = 60)
{
	session s;
	kpt_resp r;
	char rt2[128], at2[1024];

	admin_login(&s);
	post_refresh("/v1/auth/refresh", s.refresh, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	snprintf(rt2, sizeof(rt2), "%s",
	         json_string_value(json_object_get(r.json, "refreshToken")));
	snprintf(at2, sizeof(at2), "%s",
	         json_string_value(json_object_get(r.json, "accessToken")));
	remember(rt2);
	remember(at2);
	cr_assert_str_neq(rt2, s.refresh);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "expiresIn")),
	             900);
	kpt_resp_free(&r);
	/* the new access token works */
	cr_assert_eq(kpt_http("GET", "/v1/me", at2, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	kpt_resp_free(&r);
	/* reuse of the rotated token: 401, and the whole session ends */
	post_refresh("/v1/auth/refresh", s.refresh, &r);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(kpt_error_code(&r), "UNAUTHENTICATED");
	kpt_resp_free(&r);
	post_refresh("/v1/auth/refresh", rt2, &r);
	cr_assert_eq(r.status, 401,
	             "the newest token of a replayed session "
	             "must be revoked too");
	kpt_resp_free(&r);
	/* garbage and missing */
	post_refresh("/v1/auth/refresh", "kp_rt_garbage", &r);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("POST", "/v1/auth/refresh", NULL, "{}", NULL, &r),
	             0);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(r.body, "refreshToken"));
	kpt_resp_free(&r);
}

Test(auth, logout_revokes_the_session, .timeout = 60)
{
	session a, b;
	kpt_resp r;

	admin_login(&a);
	admin_login(&b);
	post_refresh("/v1/auth/logout", a.refresh, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	kpt_resp_free(&r);
	post_refresh("/v1/auth/refresh", a.refresh, &r);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	/* another session of the same user is untouched */
	post_refresh("/v1/auth/refresh", b.refresh, &r);
	cr_assert_eq(r.status, 200);
	remember(json_string_value(json_object_get(r.json, "refreshToken")));
	kpt_resp_free(&r);
	/* logging out twice is fine */
	post_refresh("/v1/auth/logout", a.refresh, &r);
	cr_assert_eq(r.status, 204);
	kpt_resp_free(&r);
}

Test(auth, expired_access_token_is_refused_by_the_gateway, .timeout = 60)
{
	session s;
	kpt_resp r;

	/* a token issued 16 minutes ago has expired (15 min lifetime) */
	kpt_set_clock("auth", -16 * 60);
	admin_login(&s);
	kpt_set_clock("auth", 0);
	cr_assert_eq(kpt_http("GET", "/v1/me", s.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	/* issued 14 minutes ago: still valid */
	kpt_set_clock("auth", -14 * 60);
	admin_login(&s);
	kpt_set_clock("auth", 0);
	cr_assert_eq(kpt_http("GET", "/v1/me", s.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	kpt_resp_free(&r);
}

Test(auth, profile_update_and_conflicts, .timeout = 60)
{
	session admin, u;
	char id[64], id2[64];
	kpt_resp r;
	char *body;

	admin_login(&admin);
	create_user(&admin, "profile1@example.com", PW_USER, "user", id);
	create_user(&admin, "profile2@example.com", PW_USER, "user", id2);
	cr_assert_eq(login("profile1@example.com", PW_USER, &u, NULL), 200);

	body = kpt_jsonf("{s:s, s:s}", "firstName", "  Grace  ", "lastName",
	                 "Hopper");
	cr_assert_eq(kpt_http("PATCH", "/v1/me", u.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "firstName")), "Grace");
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "role")),
	                 "user");
	kpt_resp_free(&r);

	/* another user's email, in other case */
	cr_assert_eq(kpt_http("PATCH", "/v1/me", u.access,
	                      "{\"email\":\"PROFILE2@example.com\"}", NULL, &r),
	             0);
	cr_assert_eq(r.status, 409);
	cr_assert_str_eq(kpt_error_code(&r), "EMAIL_TAKEN");
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("PATCH", "/v1/me", u.access,
	                      "{\"email\":\"not-an-email\"}", NULL, &r),
	             0);
	cr_assert_eq(r.status, 400);
	cr_assert_str_eq(kpt_error_code(&r), "INVALID_INPUT");
	cr_assert_not_null(strstr(r.body, "email"));
	kpt_resp_free(&r);
	{
		char big[600];
		memset(big, 'x', 300);
		big[300] = '\0';
		body = kpt_jsonf("{s:s}", "lastName", big);
	}
	cr_assert_eq(kpt_http("PATCH", "/v1/me", u.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(r.body, "lastName"));
	kpt_resp_free(&r);
	/* a new email works and is the login from then on */
	cr_assert_eq(kpt_http("PATCH", "/v1/me", u.access,
	                      "{\"email\":\"profile1b@example.com\"}", NULL,
	                      &r),
	             0);
	cr_assert_eq(r.status, 200);
	kpt_resp_free(&r);
	cr_assert_eq(login("profile1b@example.com", PW_USER, NULL, NULL), 200);
	cr_assert_eq(kpt_http("GET", "/v1/me", u.access, NULL, NULL, &r), 0);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "email")),
	                 "profile1b@example.com");
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "lastName")),
	                 "Hopper");
	kpt_resp_free(&r);
	/* users may not manage users or tokens */
	cr_assert_eq(kpt_http("GET", "/v1/users", u.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 403);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/personal-access-tokens", u.access,
	                      NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 403);
	kpt_resp_free(&r);
}

Test(auth, password_change_revokes_other_sessions, .timeout = 60)
{
	session admin, a, b;
	char id[64];
	kpt_resp r;
	char *body;

	admin_login(&admin);
	create_user(&admin, "pwchange@example.com", PW_USER, "user", id);
	cr_assert_eq(login("pwchange@example.com", PW_USER, &a, NULL), 200);
	cr_assert_eq(login("pwchange@example.com", PW_USER, &b, NULL), 200);

	body = kpt_jsonf("{s:s, s:s}", "currentPassword", PW_WRONG,
	                 "newPassword", PW_USER2);
	cr_assert_eq(
	    kpt_http("POST", "/v1/me/password", a.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 403, "%s", r.body);
	kpt_resp_free(&r);

	body = kpt_jsonf("{s:s, s:s}", "currentPassword", PW_USER,
	                 "newPassword", "short");
	cr_assert_eq(
	    kpt_http("POST", "/v1/me/password", a.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(r.body, "newPassword"));
	kpt_resp_free(&r);

	body = kpt_jsonf("{s:s, s:s}", "currentPassword", PW_USER,
	                 "newPassword", "PWChange@Example.com");
	cr_assert_eq(
	    kpt_http("POST", "/v1/me/password", a.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 400, "the email is not a password");
	cr_assert_not_null(strstr(r.body, "newPassword"));
	kpt_resp_free(&r);

	body = kpt_jsonf("{s:s, s:s}", "currentPassword", PW_USER,
	                 "newPassword", PW_USER2);
	cr_assert_eq(
	    kpt_http("POST", "/v1/me/password", a.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 204, "%s", r.body);
	kpt_resp_free(&r);
	/* the other session is gone, this one lives on */
	post_refresh("/v1/auth/refresh", b.refresh, &r);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	post_refresh("/v1/auth/refresh", a.refresh, &r);
	cr_assert_eq(r.status, 200);
	remember(json_string_value(json_object_get(r.json, "refreshToken")));
	kpt_resp_free(&r);
	cr_assert_eq(login("pwchange@example.com", PW_USER, NULL, NULL), 401);
	cr_assert_eq(login("pwchange@example.com", PW_USER2, NULL, NULL), 200);
}

Test(auth, personal_access_tokens, .timeout = 60)
{
	session admin;
	kpt_resp r;
	char pat[128], id[64], path[128];
	json_t *item;

	admin_login(&admin);
	cr_assert_eq(
	    kpt_http("POST", "/v1/personal-access-tokens", admin.access,
	             "{\"name\":\"ci\",\"expiresInDays\":30}", NULL, &r),
	    0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(pat, sizeof(pat), "%s",
	         json_string_value(json_object_get(r.json, "token")));
	snprintf(id, sizeof(id), "%s",
	         json_string_value(json_object_get(r.json, "id")));
	remember(pat);
	cr_assert_eq(strncmp(pat, "kp_pat_", 7), 0);
	cr_assert_not_null(
	    json_string_value(json_object_get(r.json, "expiresAt")));
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("POST", "/v1/personal-access-tokens",
	                      admin.access, "{}", NULL, &r),
	             0);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(r.body, "name"));
	kpt_resp_free(&r);

	/* the PAT authenticates as the admin */
	cr_assert_eq(kpt_http("GET", "/v1/me", pat, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "id")),
	                 admin.user_id);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/users", pat, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	kpt_resp_free(&r);

	/* listed without the secret, with lastUsedAt */
	cr_assert_eq(kpt_http("GET", "/v1/personal-access-tokens", admin.access,
	                      NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200);
	cr_assert_geq(json_integer_value(json_object_get(r.json, "total")), 1);
	item = json_array_get(json_object_get(r.json, "items"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(item, "id")), id);
	cr_assert_str_eq(json_string_value(json_object_get(item, "name")),
	                 "ci");
	cr_assert_null(json_object_get(item, "token"));
	cr_assert_not_null(
	    json_string_value(json_object_get(item, "lastUsedAt")));
	cr_assert_null(strstr(r.body, pat));
	kpt_resp_free(&r);

	/* revoked */
	snprintf(path, sizeof(path), "/v1/personal-access-tokens/%s", id);
	cr_assert_eq(kpt_http("DELETE", path, admin.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 204);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/me", pat, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("DELETE", path, admin.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 404);
	kpt_resp_free(&r);

	/* an expired PAT (made 31 days ago with 30 days) does not work */
	kpt_set_clock("auth", -31 * 86400);
	cr_assert_eq(
	    kpt_http("POST", "/v1/personal-access-tokens", admin.access,
	             "{\"name\":\"old\",\"expiresInDays\":30}", NULL, &r),
	    0);
	kpt_set_clock("auth", 0);
	cr_assert_eq(r.status, 201);
	snprintf(pat, sizeof(pat), "%s",
	         json_string_value(json_object_get(r.json, "token")));
	remember(pat);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/me", pat, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
}

Test(auth, vendor_admin_manages_users, .timeout = 60)
{
	session admin, u;
	char id[64], path[128], dup[64];
	kpt_resp r;
	char *body;

	admin_login(&admin);
	create_user(&admin, "Managed@Example.com", PW_USER, "user", id);
	snprintf(path, sizeof(path), "/v1/users/%s", id);

	/* duplicate email, any case */
	body = kpt_jsonf("{s:s, s:s}", "email", "managed@example.COM",
	                 "password", PW_USER);
	cr_assert_eq(
	    kpt_http("POST", "/v1/users", admin.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 409);
	cr_assert_str_eq(kpt_error_code(&r), "EMAIL_TAKEN");
	kpt_resp_free(&r);
	/* invalid input names the field */
	{
		const char *cases[][2] = {
		    {"{\"email\":\"x@example.com\",\"password\":\"short\"}",
		     "password"},
		    {"{\"email\":\"bad\",\"password\":\"Long-enough-1\"}",
		     "email"},
		    {"{\"email\":\"y@example.com\",\"password\":"
		     "\"y@example.com\"}",
		     "password"},
		    {"{\"email\":\"z@example.com\",\"password\":"
		     "\"Long-enough-1\",\"role\":\"root\"}",
		     "role"},
		    {"{\"email\":\"z@example.com\",\"password\":"
		     "\"Long-enough-1\",\"organizationId\":\"nope\"}",
		     "organizationId"},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			cr_assert_eq(kpt_http("POST", "/v1/users", admin.access,
			                      cases[i][0], NULL, &r),
			             0);
			cr_assert_eq(r.status, 400, "%s: %s", cases[i][0],
			             r.body);
			cr_assert_not_null(strstr(r.body, cases[i][1]), "%s",
			                   r.body);
			kpt_resp_free(&r);
		}
	}
	/* get, list */
	cr_assert_eq(kpt_http("GET", path, admin.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "email")),
	                 "Managed@Example.com");
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/users?page=1&limit=100", admin.access,
	                      NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200);
	cr_assert_geq(json_integer_value(json_object_get(r.json, "total")), 2);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "limit")), 100);
	cr_assert_not_null(strstr(r.body, id));
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/users?limit=1000", admin.access, NULL,
	                      NULL, &r),
	             0);
	cr_assert_eq(r.status, 400);
	kpt_resp_free(&r);

	/* patch: name and role */
	cr_assert_eq(login("managed@example.com", PW_USER, &u, NULL), 200);
	cr_assert_eq(kpt_http("PATCH", path, admin.access,
	                      "{\"lastName\":\"Byron\",\"role\":\"admin\"}",
	                      NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "role")),
	                 "admin");
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("PATCH", path, admin.access,
	                      "{\"role\":\"user\",\"disabled\":\"yes\"}", NULL,
	                      &r),
	             0);
	cr_assert_eq(r.status, 400);
	cr_assert_not_null(strstr(r.body, "disabled"));
	kpt_resp_free(&r);
	/* disabling revokes the sessions and refuses logins */
	cr_assert_eq(kpt_http("PATCH", path, admin.access,
	                      "{\"role\":\"user\",\"disabled\":true}", NULL,
	                      &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_is_true(json_object_get(r.json, "disabled")));
	kpt_resp_free(&r);
	/* the gateway refuses the disabled user's access token at once */
	cr_assert_eq(me_until(u.access, 401), 401);
	post_refresh("/v1/auth/refresh", u.refresh, &r);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	cr_assert_eq(login("managed@example.com", PW_USER, NULL, NULL), 401);
	cr_assert_eq(kpt_http("PATCH", path, admin.access,
	                      "{\"disabled\":false}", NULL, &r),
	             0);
	cr_assert_eq(r.status, 200);
	kpt_resp_free(&r);
	cr_assert_eq(login("managed@example.com", PW_USER, &u, NULL), 200);
	/* a token issued after re-enabling works (a later second) */
	kpt_set_clock("auth", 2);
	cr_assert_eq(login("managed@example.com", PW_USER, &u, NULL), 200);
	kpt_set_clock("auth", 0);
	cr_assert_eq(me_until(u.access, 200), 200);

	/* the admin cannot remove or disable themselves */
	snprintf(dup, sizeof(dup), "%s", admin.user_id);
	{
		char self[128];
		snprintf(self, sizeof(self), "/v1/users/%s", dup);
		cr_assert_eq(
		    kpt_http("DELETE", self, admin.access, NULL, NULL, &r), 0);
		cr_assert_eq(r.status, 409);
		kpt_resp_free(&r);
		cr_assert_eq(kpt_http("PATCH", self, admin.access,
		                      "{\"disabled\":true}", NULL, &r),
		             0);
		cr_assert_eq(r.status, 409);
		kpt_resp_free(&r);
	}

	/* delete: 204, then 404, sessions gone (on the clock the last token
	 * was issued with) */
	kpt_set_clock("auth", 2);
	cr_assert_eq(kpt_http("DELETE", path, admin.access, NULL, NULL, &r), 0);
	kpt_set_clock("auth", 0);
	cr_assert_eq(r.status, 204, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", path, admin.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 404);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("DELETE", path, admin.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 404);
	kpt_resp_free(&r);
	cr_assert_eq(me_until(u.access, 401), 401);
	post_refresh("/v1/auth/refresh", u.refresh, &r);
	cr_assert_eq(r.status, 401);
	kpt_resp_free(&r);
	cr_assert_eq(kpt_http("GET", "/v1/users/not-a-uuid", admin.access, NULL,
	                      NULL, &r),
	             0);
	cr_assert_eq(r.status, 404);
	kpt_resp_free(&r);
}

Test(auth, login_throttle_per_email, .timeout = 60)
{
	session admin;
	char id[64], *ra;
	kpt_resp r;

	admin_login(&admin);
	create_user(&admin, "throttle@example.com", PW_USER, "user", id);
	/* a private stretch of time, so other tests' failures do not count */
	kpt_set_clock("auth", 10 * 86400);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(
		    login("throttle@example.com", PW_WRONG, NULL, NULL), 401);
	cr_assert_eq(login("throttle@example.com", PW_USER, NULL, &r), 429);
	cr_assert_str_eq(kpt_error_code(&r), "RATE_LIMITED");
	ra = kpt_header(&r, "Retry-After");
	cr_assert_not_null(ra);
	cr_assert(atoi(ra) > 0 && atoi(ra) <= 900, "%s", ra);
	free(ra);
	kpt_resp_free(&r);
	/* other emails are not affected */
	cr_assert_eq(login(kpt_admin_email(), kpt_admin_password(), NULL, NULL),
	             200);
	/* 15 minutes later the email may try again */
	kpt_set_clock("auth", 10 * 86400 + 901);
	cr_assert_eq(login("throttle@example.com", PW_USER, NULL, NULL), 200);
	kpt_set_clock("auth", 0);
}

/* ---- raw HTTP from a chosen local address ------------------------------ */

static size_t
sink(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

/* POSTs a login from source address src (127.x.y.z); returns the status. */
static long
login_from(const char *src, const char *email, const char *pw, const char *xff)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256], *body, xh[128];
	long st = 0;

	cr_assert_not_null(c);
	snprintf(url, sizeof(url), "%s/v1/auth/login", kpt_url());
	body = kpt_jsonf("{s:s, s:s}", "email", email, "password", pw);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (xff != NULL) {
		snprintf(xh, sizeof(xh), "X-Forwarded-For: %s", xff);
		h = curl_slist_append(h, xh);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_INTERFACE, src);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(body);
	return st;
}

Test(auth, login_throttle_per_client_address, .timeout = 120)
{
	char email[64];

	kpt_set_clock("auth", 20 * 86400);
	/* 20 failures from one address, each for another email; a spoofed
	 * X-Forwarded-For does not help */
	for (int i = 0; i < 20; i++) {
		snprintf(email, sizeof(email), "addr%d@example.com", i);
		cr_assert_eq(login_from("127.0.0.7", email, PW_WRONG,
		                        i % 2 ? "10.9.8.7" : NULL),
		             401, "attempt %d", i);
	}
	cr_assert_eq(login_from("127.0.0.7", kpt_admin_email(),
	                        kpt_admin_password(), "10.1.1.1"),
	             429);
	/* another address is not throttled */
	cr_assert_eq(login_from("127.0.0.8", kpt_admin_email(),
	                        kpt_admin_password(), NULL),
	             200);
	kpt_set_clock("auth", 0);
}

/* ---- memory of the hashing pool ----------------------------------------- */

typedef struct par_arg {
	int i;
	long status;
} par_arg;

static void *
par_login(void *p)
{
	par_arg *a = p;
	char src[32], email[64];

	/* each from its own address and email: no throttle interferes */
	snprintf(src, sizeof(src), "127.0.%d.%d", 10 + a->i / 200,
	         1 + a->i % 200);
	snprintf(email, sizeof(email), "rss%d@example.com", a->i);
	a->status = login_from(src, email, PW_WRONG, NULL);
	return NULL;
}

/* VmHWM or VmRSS of a process in KiB. */
static long
proc_kib(long pid, const char *field)
{
	char path[64], line[256];
	FILE *f;
	long v = -1;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			v = atol(line + strlen(field) + 1);
	fclose(f);
	return v;
}

Test(auth, parallel_logins_keep_memory_bounded, .timeout = 120)
{
	pthread_t t[32];
	par_arg a[32];
	char path[512];
	const char *pool_env = getenv("KEYPORT_HASH_CONCURRENCY");
	long pid = 0, base, hwm, bound, pool = pool_env ? atol(pool_env) : 2;
	int n401 = 0, nbusy = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pids/auth.pid", kpt_dir());
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	base = proc_kib(pid, "VmRSS:");
	kpt_set_clock("auth", 30 * 86400);
	for (int i = 0; i < 32; i++) {
		a[i].i = i;
		a[i].status = 0;
		cr_assert_eq(pthread_create(&t[i], NULL, par_login, &a[i]), 0);
	}
	for (int i = 0; i < 32; i++) {
		pthread_join(t[i], NULL);
		if (a[i].status == 401)
			n401++;
		else if (a[i].status == 429 || a[i].status == 503)
			nbusy++;
		else
			cr_assert_fail("unexpected status %ld", a[i].status);
	}
	kpt_set_clock("auth", 0);
	hwm = proc_kib(pid, "VmHWM:");
	/* base + pool * 64 MiB (Argon2id INTERACTIVE) + 48 MiB margin */
	bound = base + pool * 64 * 1024 + 48 * 1024;
	cr_log_info("auth RSS before %ld KiB, VmHWM after 32 parallel "
	            "logins %ld KiB, bound %ld KiB (pool %ld); %d x 401, "
	            "%d x busy",
	            base, hwm, bound, pool, n401, nbusy);
	fprintf(stderr,
	        "MEASURED auth RSS before %ld KiB, VmHWM %ld KiB, bound %ld "
	        "KiB (pool %ld); %d x 401, %d x 429/503\n",
	        base, hwm, bound, pool, n401, nbusy);
	cr_assert_leq(hwm, bound);
	cr_assert_gt(n401, 0);
	/* the service is still fine afterwards */
	cr_assert_eq(login(kpt_admin_email(), kpt_admin_password(), NULL, NULL),
	             200);
}

static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Starts keyport-auth on an empty database as replica i of a bootstrap
 * test; its log goes to the stack's logs (so log greps cover it). */
static pid_t
boot_spawn(int i, const char *url, const char *dir, int port)
{
	char bin[512], logp[512], v[640];
	const char *bindir = getenv("KEYPORT_BIN_DIR");
	pid_t pid;

	if (bindir != NULL)
		snprintf(bin, sizeof(bin), "%s/keyport-auth", bindir);
	else
		snprintf(bin, sizeof(bin), "build/bin/keyport-auth");
	snprintf(logp, sizeof(logp), "%s/logs/auth-boot-%d.log", kpt_dir(), i);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		unsetenv("KEYPORT_ADMIN_EMAIL");
		unsetenv("KEYPORT_ADMIN_PASSWORD");
		setenv("KEYPORT_DATABASE_URL", url, 1);
		snprintf(v, sizeof(v), "%s/data", dir);
		setenv("KEYPORT_DATA_DIR", v, 1);
		snprintf(v, sizeof(v), "%s/secrets", dir);
		setenv("KEYPORT_SECRET_DIR", v, 1);
		snprintf(v, sizeof(v), "%s/secrets/bus", kpt_dir());
		setenv("KEYPORT_BUS_DIR", v, 1); /* the stack's credentials */
		snprintf(v, sizeof(v), "tls+tcp://127.0.0.1:%d", port);
		setenv("KEYPORT_LISTEN_URL", v, 1);
		execl(bin, bin, (char *)NULL);
		_exit(127);
	}
	return pid;
}

Test(auth, bootstrap_two_replicas_create_one_admin, .timeout = 120)
{
	PGconn *c = PQconnectdb(kpt_database_url());
	PGresult *res;
	char url[512], dir[512], path[600], pw[128] = "", *slash;
	pid_t pids[2];
	struct stat st;
	int ready = 0, nkeys = 0, ports[2];
	FILE *f;
	DIR *d;
	struct dirent *e;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	PQclear(PQexec(c, "DROP DATABASE IF EXISTS kpt_boot"));
	res = PQexec(c, "CREATE DATABASE kpt_boot");
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s",
	             PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	snprintf(url, sizeof(url), "%s", kpt_database_url());
	slash = strrchr(url, '/');
	cr_assert_not_null(slash);
	snprintf(slash, sizeof(url) - (size_t)(slash - url), "/kpt_boot");
	snprintf(dir, sizeof(dir), "%s/boot", kpt_dir());
	mkdir(dir, 0700);
	/* free ports: a port derived from the pid could be in use (an
	 * ephemeral port of some connection): "Address in use", 60 s lost */
	kpt_free_ports(ports, 2);
	for (int i = 0; i < 2; i++)
		pids[i] = boot_spawn(i, url, dir, ports[i]);
	/* both replicas come up (each logs "auth ready") */
	for (int k = 0; k < 600 && ready < 2; k++) {
		char cmd[700], line[32];
		snprintf(cmd, sizeof(cmd),
		         "cat '%s'/logs/auth-boot-*.log | grep -c 'auth ready'",
		         kpt_dir());
		f = popen(cmd, "r");
		ready = f && fgets(line, sizeof(line), f) ? atoi(line) : 0;
		if (f)
			pclose(f);
		if (ready < 2)
			usleep(100000);
	}
	cr_assert_eq(ready, 2, "the two replicas did not start");

	/* exactly one admin, admin@localhost */
	c = PQconnectdb(url);
	cr_assert_eq(PQstatus(c), CONNECTION_OK);
	res = PQexec(c, "SELECT count(*), min(email), min(role) FROM "
	                "auth.users");
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	cr_assert_str_eq(PQgetvalue(res, 0, 0), "1");
	cr_assert_str_eq(PQgetvalue(res, 0, 1), "admin@localhost");
	cr_assert_str_eq(PQgetvalue(res, 0, 2), "admin");
	PQclear(res);
	PQfinish(c);
	/* the generated password: a 0600 file, never in a log */
	snprintf(path, sizeof(path), "%s/data/admin-password", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(pw, sizeof(pw), f));
	fclose(f);
	pw[strcspn(pw, "\n")] = '\0';
	cr_assert_geq(strlen(pw), 16);
	cr_assert_eq(kpt_log_grep(pw), 0, "the generated password was logged");
	/* one signing key, 0600, shared by both */
	snprintf(path, sizeof(path), "%s/secrets/auth-keys", dir);
	d = opendir(path);
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char kp[900];
		if (strstr(e->d_name, ".key") == NULL)
			continue;
		nkeys++;
		snprintf(kp, sizeof(kp), "%s/%s", path, e->d_name);
		cr_assert_eq(stat(kp, &st), 0);
		cr_assert_eq(st.st_mode & 0777, 0600);
		cr_assert_eq(st.st_size, 64);
	}
	closedir(d);
	cr_assert_eq(nkeys, 1);
	for (int i = 0; i < 2; i++) {
		kill(pids[i], SIGTERM);
		waitpid(pids[i], NULL, 0);
	}
}

/* Runs last (Criterion orders by name): no password or token of this run
 * in any log line. */
Test(auth, zz_no_secret_in_logs, .timeout = 60)
{
	char path[512], line[1200];
	const char *pw[] = {PW_USER, PW_USER2, PW_WRONG, kpt_admin_password()};
	int checked = 0;
	FILE *f;

	/* make sure something is logged and remembered in this test too */
	admin_login(&(session){0});
	for (size_t i = 0; i < sizeof(pw) / sizeof(pw[0]); i++)
		cr_assert_eq(kpt_log_grep(pw[i]), 0, "password %zu logged", i);
	snprintf(path, sizeof(path), "%s/auth-test-secrets", kpt_dir());
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		/* the signature part of an access token, or the whole token */
		cr_assert_eq(kpt_log_grep(strrchr(line, '.')
		                              ? strrchr(line, '.') + 1
		                              : line),
		             0, "a token was logged");
		checked++;
	}
	fclose(f);
	cr_assert_gt(checked, 10, "only %d tokens checked", checked);
	/* the logs do exist and have content (the grep is not vacuous) */
	cr_assert_gt(kpt_log_grep("login of user"), 0);
}

/* ---- the user RPCs other services call (docs/rpc-contract.md) ------------ */

/* Calls method as an organization-admin of org; returns the status. */
static int
call(kp_rpc_client *c, const char *method, const ProtobufCMessage *req,
     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **rep,
     kp_rpc_result *res)
{
	Keyport__Caller caller = KEYPORT__CALLER__INIT;
	kp_rpc_call k = {0};

	caller.role = "organization-admin";
	k.method = method;
	k.caller = &caller;
	k.timeout_ms = 10000;
	return kp_rpc_invoke(c, &k, req, desc, rep, res);
}

static int
rpc_create(kp_rpc_client *c, const char *email, const char *role,
           const char *org, int64_t max_users, char id[64], kp_rpc_result *res)
{
	Keyport__Auth__CreateUserRequest req =
	    KEYPORT__AUTH__CREATE_USER_REQUEST__INIT;
	Keyport__Auth__UserReply *rep = NULL;
	int rv;

	req.email = (char *)email;
	req.password = PW_USER;
	req.role = (char *)role;
	req.organization_id = (char *)org;
	req.capped = max_users >= 0;
	req.max_users = max_users;
	rv = call(c, "auth.CreateUser", &req.base,
	          &keyport__auth__user_reply__descriptor,
	          (ProtobufCMessage **)&rep, res);
	if (rv == KP_OK) {
		snprintf(id, 64, "%s", rep->user->id);
		cr_assert_str_eq(rep->user->organization_id, org);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	return rv;
}

/* Creates an organization through /v1/organizations; its id into id. */
static void
create_org(const session *admin, const char *name, char id[64])
{
	char *body = kpt_jsonf("{s:s}", "name", name);
	kpt_resp r;

	cr_assert_eq(kpt_http("POST", "/v1/organizations", admin->access, body,
	                      NULL, &r),
	             0);
	free(body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, 64, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	kpt_resp_free(&r);
}

Test(auth, user_rpcs_of_the_contract, .timeout = 120)
{
	char org[64], other[64];
	kp_rpc_client *c = kpt_rpc_open("auth");
	kp_rpc_result res;
	char admin1[64], user1[64], x[64], foreign[64];
	session admin;
	int rv;

	/* organizationId must name an organization of org's */
	admin_login(&admin);
	create_org(&admin, "rpc org", org);
	create_org(&admin, "rpc other", other);
	rv = rpc_create(c, "nowhere@rpc.example", "user",
	                "6f1c1b1e-0000-4000-8000-00000000a003", -1, x, &res);
	cr_assert_eq(rv, KP_EINVAL);
	cr_assert_not_null(strstr(res.message, "organizationId"), "%s",
	                   res.message);

	/* capped creation: at most 2 users */
	cr_assert_eq(rpc_create(c, "oa1@rpc.example", "organization-admin", org,
	                        2, admin1, &res),
	             KP_OK, "%s", res.message);
	cr_assert_eq(
	    rpc_create(c, "u1@rpc.example", "user", org, 2, user1, &res), KP_OK,
	    "%s", res.message);
	rv = rpc_create(c, "u2@rpc.example", "user", org, 2, x, &res);
	cr_assert_eq(rv, KP_ECONFLICT);
	cr_assert_str_eq(res.code, "USER_LIMIT_REACHED");
	rv = rpc_create(c, "OA1@rpc.example", "user", org, -1, x, &res);
	cr_assert_eq(rv, KP_ECONFLICT);
	cr_assert_str_eq(res.code, "EMAIL_TAKEN");
	cr_assert_eq(rpc_create(c, "f1@rpc.example", "organization-admin",
	                        other, -1, foreign, &res),
	             KP_OK);

	/* GetUser with scope: another organization's user is NOT_FOUND */
	{
		Keyport__Auth__GetUserRequest g =
		    KEYPORT__AUTH__GET_USER_REQUEST__INIT;
		Keyport__Auth__UserReply *rep = NULL;
		g.id = foreign;
		g.scope_organization_id = (char *)org;
		cr_assert_eq(call(c, "auth.GetUser", &g.base,
		                  &keyport__auth__user_reply__descriptor,
		                  (ProtobufCMessage **)&rep, &res),
		             KP_ENOTFOUND);
		g.id = user1;
		cr_assert_eq(call(c, "auth.GetUser", &g.base,
		                  &keyport__auth__user_reply__descriptor,
		                  (ProtobufCMessage **)&rep, &res),
		             KP_OK);
		cr_assert_str_eq(rep->user->email, "u1@rpc.example");
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	/* ListUsers / CountUsers / GetUsers */
	{
		Keyport__Auth__ListUsersRequest l =
		    KEYPORT__AUTH__LIST_USERS_REQUEST__INIT;
		Keyport__Auth__ListUsersReply *rep = NULL;
		Keyport__Auth__OrganizationRequest o =
		    KEYPORT__AUTH__ORGANIZATION_REQUEST__INIT;
		Keyport__Auth__CountReply *cnt = NULL;
		Keyport__Auth__GetUsersRequest gu =
		    KEYPORT__AUTH__GET_USERS_REQUEST__INIT;
		Keyport__Auth__GetUsersReply *gur = NULL;
		char *ids[4] = {user1, foreign, admin1, "not-a-uuid"};

		l.organization_id = (char *)org;
		l.page = 1;
		l.limit = 1;
		cr_assert_eq(call(c, "auth.ListUsers", &l.base,
		                  &keyport__auth__list_users_reply__descriptor,
		                  (ProtobufCMessage **)&rep, &res),
		             KP_OK);
		cr_assert_eq(rep->total, 2);
		cr_assert_eq(rep->n_users, 1);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		o.organization_id = (char *)org;
		cr_assert_eq(call(c, "auth.CountUsers", &o.base,
		                  &keyport__auth__count_reply__descriptor,
		                  (ProtobufCMessage **)&cnt, &res),
		             KP_OK);
		cr_assert_eq(cnt->count, 2);
		protobuf_c_message_free_unpacked(&cnt->base, NULL);
		gu.ids = ids;
		gu.n_ids = 4;
		gu.scope_organization_id = (char *)org;
		cr_assert_eq(call(c, "auth.GetUsers", &gu.base,
		                  &keyport__auth__get_users_reply__descriptor,
		                  (ProtobufCMessage **)&gur, &res),
		             KP_OK);
		cr_assert_eq(gur->n_users, 2, "unknown and foreign omitted");
		protobuf_c_message_free_unpacked(&gur->base, NULL);
	}
	/* the last organization-admin stays */
	{
		Keyport__Auth__UpdateUserRequest u =
		    KEYPORT__AUTH__UPDATE_USER_REQUEST__INIT;
		Keyport__Auth__DeleteUserRequest d =
		    KEYPORT__AUTH__DELETE_USER_REQUEST__INIT;
		Keyport__Auth__UserReply *rep = NULL;

		u.id = admin1;
		u.scope_organization_id = (char *)org;
		u.keep_org_admin = 1;
		u.has_role = 1;
		u.role = "user";
		cr_assert_eq(call(c, "auth.UpdateUser", &u.base,
		                  &keyport__auth__user_reply__descriptor,
		                  (ProtobufCMessage **)&rep, &res),
		             KP_ECONFLICT);
		cr_assert_str_eq(res.code, "LAST_ORGANIZATION_ADMIN");
		u.has_role = 0;
		u.has_disabled = 1;
		u.disabled = 1;
		cr_assert_eq(call(c, "auth.UpdateUser", &u.base,
		                  &keyport__auth__user_reply__descriptor,
		                  (ProtobufCMessage **)&rep, &res),
		             KP_ECONFLICT);
		d.id = admin1;
		d.scope_organization_id = (char *)org;
		d.keep_org_admin = 1;
		cr_assert_eq(
		    call(c, "auth.DeleteUser", &d.base, NULL, NULL, &res),
		    KP_ECONFLICT);
		cr_assert_str_eq(res.code, "LAST_ORGANIZATION_ADMIN");
		/* scope: deleting another organization's user is NOT_FOUND */
		d.id = foreign;
		cr_assert_eq(
		    call(c, "auth.DeleteUser", &d.base, NULL, NULL, &res),
		    KP_ENOTFOUND);
		/* promote the user, then the first admin may go (org may be
		 * down or absent: the delete still succeeds) */
		u.id = user1;
		u.has_disabled = 0;
		u.has_role = 1;
		u.role = "organization-admin";
		cr_assert_eq(call(c, "auth.UpdateUser", &u.base,
		                  &keyport__auth__user_reply__descriptor,
		                  (ProtobufCMessage **)&rep, &res),
		             KP_OK, "%s", res.message);
		cr_assert_str_eq(rep->user->role, "organization-admin");
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		d.id = admin1;
		cr_assert_eq(
		    call(c, "auth.DeleteUser", &d.base, NULL, NULL, &res),
		    KP_OK, "%s", res.message);
	}
	/* cascade delete of an organization's users */
	{
		Keyport__Auth__OrganizationRequest o =
		    KEYPORT__AUTH__ORGANIZATION_REQUEST__INIT;
		Keyport__Auth__CountReply *cnt = NULL;
		o.organization_id = (char *)org;
		cr_assert_eq(call(c, "auth.DeleteOrganizationUsers", &o.base,
		                  &keyport__auth__count_reply__descriptor,
		                  (ProtobufCMessage **)&cnt, &res),
		             KP_OK);
		cr_assert_eq(cnt->count, 1);
		protobuf_c_message_free_unpacked(&cnt->base, NULL);
		cr_assert_eq(call(c, "auth.CountUsers", &o.base,
		                  &keyport__auth__count_reply__descriptor,
		                  (ProtobufCMessage **)&cnt, &res),
		             KP_OK);
		cr_assert_eq(cnt->count, 0);
		protobuf_c_message_free_unpacked(&cnt->base, NULL);
	}
	kp_rpc_client_close(c);
}

/* GET path with token until it answers want (3 s at most); the status. */
static long
get_until(const char *path, const char *token, long want)
{
	kpt_resp r;
	long st = 0;

	for (int i = 0; i < 60; i++) {
		cr_assert_eq(kpt_http("GET", path, token, NULL, NULL, &r), 0);
		st = r.status;
		kpt_resp_free(&r);
		if (st == want)
			break;
		usleep(50000);
	}
	return st;
}

/* A changed role or organization voids the access tokens that carry the
 * old one (issue 19, defect 2): a demoted admin no longer lists users, an
 * organization admin moved elsewhere no longer reads the old one's. */
Test(auth, changed_role_or_organization_voids_old_tokens, .timeout = 60)
{
	session admin, a, o;
	char aid[64], oid[64], orgA[64], orgB[64], path[128];
	char *body;
	kpt_resp r;

	admin_login(&admin);
	create_user(&admin, "demoted@example.com", PW_USER, "admin", aid);
	cr_assert_eq(login("demoted@example.com", PW_USER, &a, NULL), 200);
	cr_assert_eq(get_until("/v1/users", a.access, 200), 200);
	snprintf(path, sizeof(path), "/v1/users/%s", aid);
	/* an edit that keeps the role keeps the token */
	cr_assert_eq(kpt_http("PATCH", path, admin.access,
	                      "{\"role\":\"admin\",\"lastName\":\"Kept\"}",
	                      NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	usleep(200000);
	cr_assert_eq(get_until("/v1/users", a.access, 200), 200);
	cr_assert_eq(kpt_http("PATCH", path, admin.access,
	                      "{\"role\":\"user\"}", NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(get_until("/v1/users", a.access, 401), 401,
	             "the demoted admin's old token still works");
	/* signing in again (a later second) gives the new role's rights */
	kpt_set_clock("auth", 2);
	cr_assert_eq(login("demoted@example.com", PW_USER, &a, NULL), 200);
	kpt_set_clock("auth", 0);
	cr_assert_eq(get_until("/v1/users", a.access, 403), 403);

	create_org(&admin, "Voids A", orgA);
	create_org(&admin, "Voids B", orgB);
	body = kpt_jsonf("{s:s, s:s, s:s, s:s}", "email", "moved@example.com",
	                 "password", PW_USER, "role", "organization-admin",
	                 "organizationId", orgA);
	cr_assert_eq(
	    kpt_http("POST", "/v1/users", admin.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(oid, sizeof(oid), "%s",
	         json_string_value(json_object_get(r.json, "id")));
	kpt_resp_free(&r);
	cr_assert_eq(login("moved@example.com", PW_USER, &o, NULL), 200);
	cr_assert_eq(get_until("/v1/organization/users", o.access, 200), 200);
	snprintf(path, sizeof(path), "/v1/users/%s", oid);
	body = kpt_jsonf("{s:s}", "organizationId", orgB);
	cr_assert_eq(kpt_http("PATCH", path, admin.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(get_until("/v1/organization/users", o.access, 401), 401,
	             "the moved admin's old token still reads the old "
	             "organization");
}

/* A revoked session's access tokens stop working within the gateway's
 * revocation interval, not the token's 15 minutes (issue 19, defect 2):
 * after reuse of a rotated refresh token, after a password change (the
 * other sessions; the current one keeps working), after logout. Another
 * session of the same user is untouched. */
Test(auth, revoked_sessions_void_their_access_tokens, .timeout = 60)
{
	session admin, s, a, b, c;
	char id[64], at2[1024];
	kpt_resp r;
	char *body;

	admin_login(&admin);
	create_user(&admin, "sessions@example.com", PW_USER, "user", id);
	cr_assert_eq(login("sessions@example.com", PW_USER, &s, NULL), 200);
	cr_assert_eq(login("sessions@example.com", PW_USER, &c, NULL), 200);
	/* reuse: the rotated session's old and new access tokens die */
	post_refresh("/v1/auth/refresh", s.refresh, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	snprintf(at2, sizeof(at2), "%s",
	         json_string_value(json_object_get(r.json, "accessToken")));
	remember(at2);
	remember(json_string_value(json_object_get(r.json, "refreshToken")));
	kpt_resp_free(&r);
	cr_assert_eq(me_until(at2, 200), 200);
	post_refresh("/v1/auth/refresh", s.refresh, &r);
	cr_assert_eq(r.status, 401, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(me_until(at2, 401), 401,
	             "the access token of a replayed session still works");
	cr_assert_eq(me_until(s.access, 401), 401);
	cr_assert_eq(me_until(c.access, 200), 200,
	             "another session of the user was voided");

	/* a password change: the other session's token dies, this one not */
	cr_assert_eq(login("sessions@example.com", PW_USER, &a, NULL), 200);
	cr_assert_eq(login("sessions@example.com", PW_USER, &b, NULL), 200);
	cr_assert_eq(me_until(b.access, 200), 200);
	body = kpt_jsonf("{s:s, s:s}", "currentPassword", PW_USER,
	                 "newPassword", PW_USER2);
	cr_assert_eq(
	    kpt_http("POST", "/v1/me/password", a.access, body, NULL, &r), 0);
	free(body);
	cr_assert_eq(r.status, 204, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(me_until(b.access, 401), 401,
	             "the other session's access token outlived the "
	             "password change");
	cr_assert_eq(me_until(c.access, 401), 401);
	cr_assert_eq(kpt_http("GET", "/v1/me", a.access, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200, "the current session was voided: %s",
	             r.body);
	kpt_resp_free(&r);

	/* logout ends the session's access token too */
	post_refresh("/v1/auth/logout", a.refresh, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_eq(me_until(a.access, 401), 401,
	             "the access token outlived its logout");
}
