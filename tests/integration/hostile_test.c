/* The defects a hostile tester found (issue 19), one test each, over HTTP
 * and raw sockets against the whole stack: ids canonical at the boundary,
 * exact paths, no 500 on hostile text, per-address limits and deadlines,
 * lengths in characters, 400s that name the field, and the smaller ones. */
#include "kpt.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

KPT_SUITE(0)

/* req sends and returns the status; *out (when given) keeps the response. */
static long
req(const char *method, const char *path, const char *token, const char *body,
    kpt_resp *out)
{
	kpt_resp r;
	long st;

	cr_assert_eq(kpt_http(method, path, token, body, NULL, &r), 0,
	             "%s %s: no answer", method, path);
	st = r.status;
	if (out != NULL)
		*out = r;
	else
		kpt_resp_free(&r);
	return st;
}

static char *
my_id(const char *token)
{
	kpt_resp r;
	char *id;

	cr_assert_eq(req("GET", "/v1/me", token, NULL, &r), 200);
	id = strdup(json_string_value(json_object_get(r.json, "id")));
	kpt_resp_free(&r);
	return id;
}

/* ---- defect 1: ids canonical at the boundary ------------------------- */

Test(hostile, ids_in_capitals_are_the_same_object, .timeout = 60)
{
	const char *admin = kpt_admin_token();
	char *id = my_id(admin), path[128];
	kpt_resp r;

	for (char *p = id; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	snprintf(path, sizeof(path), "/v1/users/%s", id);
	cr_expect_eq(req("PATCH", path, admin, "{\"role\":\"user\"}", &r), 409,
	             "PATCH own id in capitals: %s", r.body);
	cr_expect_str_eq(kpt_error_code(&r), "CANNOT_MODIFY_SELF");
	kpt_resp_free(&r);
	cr_expect_eq(req("PATCH", path, admin, "{\"disabled\":true}", &r), 409,
	             "disable own id in capitals: %s", r.body);
	kpt_resp_free(&r);
	cr_expect_eq(req("DELETE", path, admin, NULL, &r), 409,
	             "DELETE own id in capitals: %s", r.body);
	cr_expect_str_eq(kpt_error_code(&r), "CANNOT_MODIFY_SELF");
	kpt_resp_free(&r);
	/* still the admin: the guard held */
	cr_assert_eq(req("GET", "/v1/users", admin, NULL, NULL), 200);
	free(id);
}
