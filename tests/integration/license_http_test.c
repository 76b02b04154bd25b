/* The license routes over HTTP with real sign-ins: the vendor admin's
 * product and license management, 403 for every other role, and the
 * portal views of a user, an organization admin and a group member, with
 * 404 across tenants. Needs the auth and org services. */
#include "kpt.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

KPT_SUITE(0)

/* Sends a request and asserts the status; returns the response (caller
 * frees with kpt_resp_free). */
static kpt_resp
req(const char *method, const char *path, const char *token, const char *body,
    long want)
{
	kpt_resp r;

	cr_assert_eq(kpt_http(method, path, token, body, NULL, &r), 0, "%s %s",
	             method, path);
	cr_assert_eq(r.status, want, "%s %s: %ld %s", method, path, r.status,
	             r.body);
	return r;
}

static char *
login(const char *email, const char *password)
{
	char *body =
	    kpt_jsonf("{s:s, s:s}", "email", email, "password", password);
	kpt_resp r = req("POST", "/v1/auth/login", NULL, body, 200);
	char *tok =
	    strdup(json_string_value(json_object_get(r.json, "accessToken")));

	free(body);
	kpt_resp_free(&r);
	return tok;
}

/* Returns a malloc'd copy of string field name of r's JSON. */
static char *
field(const kpt_resp *r, const char *name)
{
	const char *v = json_string_value(json_object_get(r->json, name));

	cr_assert_not_null(v, "%s missing in %s", name, r->body);
	return strdup(v);
}

static char *
post_id(const char *path, const char *token, char *body)
{
	kpt_resp r = req("POST", path, token, body, 201);
	char *id = field(&r, "id");

	free(body);
	kpt_resp_free(&r);
	return id;
}

static int
list_has(const kpt_resp *r, const char *id)
{
	json_t *items = json_object_get(r->json, "items"), *it;
	size_t i;

	json_array_foreach(items, i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "id")), id) ==
		    0)
			return 1;
	}
	return 0;
}

Test(license_http, admin_manages_products_and_licenses, .timeout = 90)
{
	char *admin = login(kpt_admin_email(), kpt_admin_password());
	char *product, *lic, *key, path[256], *q;
	kpt_resp r;

	r = req("POST", "/v1/products", admin, "{\"name\":\"Http\"}", 201);
	product = field(&r, "id");
	cr_assert_eq(
	    strlen(json_string_value(json_object_get(r.json, "publicKey"))),
	    44);
	kpt_resp_free(&r);
	r = req("POST", "/v1/products", admin, "{\"name\":\"\"}", 400);
	cr_assert_str_eq(kpt_error_code(&r), "INVALID_INPUT");
	cr_assert_not_null(strstr(r.body, "name"));
	kpt_resp_free(&r);
	r = req("GET", "/v1/products?limit=100", admin, NULL, 200);
	cr_assert(list_has(&r, product));
	kpt_resp_free(&r);

	q = kpt_jsonf("{s:s, s:s, s:i, s:i, s:i, s:s, s:{s:s}}", "productId",
	              product, "type", "hosted-floating", "allowedActivations",
	              3, "allowedDeactivations", -1, "validity", 3600,
	              "expirationStrategy", "immediate", "metadata", "plan",
	              "pro");
	r = req("POST", "/v1/licenses", admin, q, 201);
	free(q);
	lic = field(&r, "id");
	key = field(&r, "key");
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	                 "active");
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "productName")), "Http");
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(r.json, "metadata"), "plan")),
	                 "pro");
	cr_assert(json_is_null(json_object_get(r.json, "userId")));
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "totalActivations")), 0);
	kpt_resp_free(&r);

	/* filters: key substring (lower case, dashes ignored), product */
	snprintf(path, sizeof(path), "/v1/licenses?key=%.2s-%.3s&productId=%s",
	         key + 9, key + 12, product);
	for (char *c = path + strlen("/v1/licenses?key="); *c != '&'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	r = req("GET", path, admin, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1,
	             "%s: %s", path, r.body);
	kpt_resp_free(&r);
	r = req("GET", "/v1/licenses?sort=name", admin, NULL, 400);
	kpt_resp_free(&r);
	r = req("GET", "/v1/licenses?status=gone", admin, NULL, 400);
	kpt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	r = req("PATCH", path, admin,
	        "{\"allowedActivations\":-1,\"metadata\":{\"plan\":\"max\"}}",
	        200);
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "allowedActivations")),
	    -1);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(r.json, "metadata"), "plan")),
	                 "max");
	kpt_resp_free(&r);
	r = req("PATCH", path, admin, "{\"metadata\":{\"plan\":1}}", 400);
	cr_assert_not_null(strstr(r.body, "metadata"));
	kpt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/licenses/%s/suspend", lic);
	r = req("POST", path, admin, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	                 "suspended");
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/unsuspend", lic);
	r = req("POST", path, admin, NULL, 200);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/renew", lic);
	r = req("POST", path, admin, NULL, 200);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/revoke", lic);
	r = req("POST", path, admin, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	                 "revoked");
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/unsuspend", lic);
	r = req("POST", path, admin, NULL, 409);
	cr_assert_str_eq(kpt_error_code(&r), "LICENSE_REVOKED");
	kpt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	r = req("DELETE", path, admin, NULL, 204);
	kpt_resp_free(&r);
	r = req("GET", path, admin, NULL, 404);
	kpt_resp_free(&r);
	r = req("GET", "/v1/licenses/not-a-uuid", admin, NULL, 404);
	kpt_resp_free(&r);
	free(admin);
	free(product);
	free(lic);
	free(key);
}

/* Two organizations, each with an organization admin and a user; a group
 * in the first links one license to the user. */
Test(license_http, portal_visibility_for_every_role, .timeout = 120)
{
	char *admin = login(kpt_admin_email(), kpt_admin_password());
	char *product, *org1, *org2, *oadm1, *user1, *user2, *oadm2;
	char *t_oadm1, *t_user1, *t_user2, *t_oadm2;
	char *l_own, *l_group, *l_org, *l_other, *group, path[256];
	kpt_resp r;

	product = post_id("/v1/products", admin,
	                  kpt_jsonf("{s:s}", "name", "Portal"));
	org1 = post_id("/v1/organizations", admin,
	               kpt_jsonf("{s:s, s:s, s:i}", "name", "Org One", "email",
	                         "one@example.com", "allowedUsers", -1));
	org2 = post_id("/v1/organizations", admin,
	               kpt_jsonf("{s:s, s:s, s:i}", "name", "Org Two", "email",
	                         "two@example.com", "allowedUsers", -1));
#define NEW_USER(email, role, org)                                             \
	post_id("/v1/users", admin,                                            \
	        kpt_jsonf("{s:s, s:s, s:s, s:s, s:s, s:s}", "email", email,    \
	                  "password", "portal-pass-1", "firstName", "F",       \
	                  "lastName", "L", "role", role, "organizationId",     \
	                  org))
	oadm1 = NEW_USER("oadm1@example.com", "organization-admin", org1);
	user1 = NEW_USER("user1@example.com", "user", org1);
	user2 = NEW_USER("user2@example.com", "user", org1);
	oadm2 = NEW_USER("oadm2@example.com", "organization-admin", org2);
	(void)oadm1;
	t_oadm1 = login("oadm1@example.com", "portal-pass-1");
	t_user1 = login("user1@example.com", "portal-pass-1");
	t_user2 = login("user2@example.com", "portal-pass-1");
	t_oadm2 = login("oadm2@example.com", "portal-pass-1");
#define NEW_LICENSE(user, org)                                                 \
	post_id("/v1/licenses", admin,                                         \
	        kpt_jsonf("{s:s, s:s*, s:s*}", "productId", product, "userId", \
	                  user, "organizationId", org))
	l_own = NEW_LICENSE(user1, NULL);   /* organization from the user */
	l_group = NEW_LICENSE(user2, NULL); /* reaches user1 by a group */
	l_org = NEW_LICENSE(NULL, org1);    /* organization only */
	l_other = NEW_LICENSE(oadm2, NULL); /* the other tenant */

	/* organizationId taken from the user */
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_own);
	r = req("GET", path, admin, NULL, 200);
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "organizationId")), org1);
	kpt_resp_free(&r);

	/* a group of org1 with user1 and l_group */
	r = req("POST", "/v1/organization/user-groups", t_oadm1,
	        "{\"name\":\"team\",\"description\":\"d\"}", 201);
	group = field(&r, "id");
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/organization/user-groups/%s/users/%s",
	         group, user1);
	r = req("PUT", path, t_oadm1, NULL, 204);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path),
	         "/v1/organization/user-groups/%s/licenses/%s", group, l_group);
	r = req("PUT", path, t_oadm1, NULL, 204);
	kpt_resp_free(&r);

	/* user1: own + group */
	r = req("GET", "/v1/me/licenses", t_user1, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2,
	             "%s", r.body);
	cr_assert(list_has(&r, l_own));
	cr_assert(list_has(&r, l_group));
	cr_assert_str_eq(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(r.json, "items"), 0),
	        "productName")),
	    "Portal");
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_group);
	r = req("GET", path, t_user1, NULL, 200);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_org);
	r = req("GET", path, t_user1, NULL, 404);
	cr_assert_str_eq(kpt_error_code(&r), "NOT_FOUND");
	kpt_resp_free(&r);
	/* user2: own only (not in the group) */
	r = req("GET", "/v1/me/licenses", t_user2, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1);
	cr_assert(list_has(&r, l_group));
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_own);
	r = req("GET", path, t_user2, NULL, 404);
	kpt_resp_free(&r);
	/* organization admin of org1: the whole organization */
	r = req("GET", "/v1/me/licenses", t_oadm1, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 3,
	             "%s", r.body);
	cr_assert(!list_has(&r, l_other));
	kpt_resp_free(&r);
	/* across tenants: 404 both ways */
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_other);
	r = req("GET", path, t_oadm1, NULL, 404);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_org);
	r = req("GET", path, t_oadm2, NULL, 404);
	kpt_resp_free(&r);
	r = req("GET", "/v1/me/licenses", t_oadm2, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1);
	kpt_resp_free(&r);

	/* vendor-admin routes refuse everyone else */
	r = req("GET", "/v1/licenses", t_oadm1, NULL, 403);
	kpt_resp_free(&r);
	r = req("POST", "/v1/products", t_user1, "{\"name\":\"x\"}", 403);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/revoke", l_own);
	r = req("POST", path, t_oadm1, NULL, 403);
	kpt_resp_free(&r);

	/* deleting a license drops it from the group */
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_group);
	r = req("DELETE", path, admin, NULL, 204);
	kpt_resp_free(&r);
	r = req("GET", "/v1/me/licenses", t_user1, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/organization/user-groups/%s", group);
	r = req("GET", path, t_oadm1, NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(r.json, "licenses")), 0,
	             "%s", r.body);
	kpt_resp_free(&r);
}
