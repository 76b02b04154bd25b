/* The license routes over HTTP with real sign-ins: the vendor admin's
 * product and license management, 403 for every other role, and the
 * portal views of a user, an organization admin and a group member, with
 * 404 across tenants, and the portal list's exact total while licenses
 * change owners. Needs the auth and org services. */
#include "kpt.h"
#include "kpt_http.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

KPT_SUITE(0)

static char *
post_id(const char *path, const char *token, char *body)
{
	kpt_resp r = kpt_req_want("POST", path, token, body, 201);
	char *id = kpt_jdup(&r, "id");

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
	char *admin = kpt_login(kpt_admin_email(), kpt_admin_password());
	char *product, *pubkey, *lic, *key, path[256], *q;
	kpt_resp r;

	r = kpt_req_want("POST", "/v1/products", admin, "{\"name\":\"Http\"}",
	                 201);
	product = kpt_jdup(&r, "id");
	pubkey = kpt_jdup(&r, "publicKey");
	cr_assert_eq(strlen(pubkey), 44);
	kpt_resp_free(&r);
	r = kpt_req_want("POST", "/v1/products", admin, "{\"name\":\"\"}", 400);
	cr_assert_str_eq(kpt_error_code(&r), "INVALID_INPUT");
	cr_assert_not_null(strstr(r.body, "name"));
	kpt_resp_free(&r);
	r = kpt_req_want("GET", "/v1/products?limit=100", admin, NULL, 200);
	cr_assert(list_has(&r, product));
	kpt_resp_free(&r);

	q = kpt_jsonf("{s:s, s:s, s:i, s:i, s:i, s:s, s:{s:s}}", "productId",
	              product, "type", "hosted-floating", "allowedActivations",
	              3, "allowedDeactivations", -1, "validity", 3600,
	              "expirationStrategy", "immediate", "metadata", "plan",
	              "pro");
	r = kpt_req_want("POST", "/v1/licenses", admin, q, 201);
	free(q);
	lic = kpt_jdup(&r, "id");
	key = kpt_jdup(&r, "key");
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	                 "active");
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "productName")), "Http");
	/* the product's public key, for a portal user's offline-activate */
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "productPublicKey")),
	    pubkey);
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
	r = kpt_req_want("GET", path, admin, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1,
	             "%s: %s", path, r.body);
	kpt_resp_free(&r);
	r = kpt_req_want("GET", "/v1/licenses?sort=name", admin, NULL, 400);
	kpt_resp_free(&r);
	r = kpt_req_want("GET", "/v1/licenses?status=gone", admin, NULL, 400);
	kpt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	r = kpt_req_want(
	    "PATCH", path, admin,
	    "{\"allowedActivations\":-1,\"metadata\":{\"plan\":\"max\"}}", 200);
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "allowedActivations")),
	    -1);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(r.json, "metadata"), "plan")),
	                 "max");
	kpt_resp_free(&r);
	r = kpt_req_want("PATCH", path, admin, "{\"metadata\":{\"plan\":1}}",
	                 400);
	cr_assert_not_null(strstr(r.body, "metadata"));
	kpt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/licenses/%s/suspend", lic);
	r = kpt_req_want("POST", path, admin, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	                 "suspended");
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/unsuspend", lic);
	r = kpt_req_want("POST", path, admin, NULL, 200);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/renew", lic);
	r = kpt_req_want("POST", path, admin, NULL, 200);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/revoke", lic);
	r = kpt_req_want("POST", path, admin, NULL, 200);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "status")),
	                 "revoked");
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/unsuspend", lic);
	r = kpt_req_want("POST", path, admin, NULL, 409);
	cr_assert_str_eq(kpt_error_code(&r), "LICENSE_REVOKED");
	kpt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	r = kpt_req_want("DELETE", path, admin, NULL, 204);
	kpt_resp_free(&r);
	r = kpt_req_want("GET", path, admin, NULL, 404);
	kpt_resp_free(&r);
	r = kpt_req_want("GET", "/v1/licenses/not-a-uuid", admin, NULL, 404);
	kpt_resp_free(&r);
	free(admin);
	free(product);
	free(pubkey);
	free(lic);
	free(key);
}

/* Two organizations, each with an organization admin and a user; a group
 * in the first links one license to the user. */
Test(license_http, portal_visibility_for_every_role, .timeout = 120)
{
	char *admin = kpt_login(kpt_admin_email(), kpt_admin_password());
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
	t_oadm1 = kpt_login("oadm1@example.com", "portal-pass-1");
	t_user1 = kpt_login("user1@example.com", "portal-pass-1");
	t_user2 = kpt_login("user2@example.com", "portal-pass-1");
	t_oadm2 = kpt_login("oadm2@example.com", "portal-pass-1");
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
	r = kpt_req_want("GET", path, admin, NULL, 200);
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "organizationId")), org1);
	kpt_resp_free(&r);

	/* a group of org1 with user1 and l_group */
	r = kpt_req_want("POST", "/v1/organization/user-groups", t_oadm1,
	                 "{\"name\":\"team\",\"description\":\"d\"}", 201);
	group = kpt_jdup(&r, "id");
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/organization/user-groups/%s/users/%s",
	         group, user1);
	r = kpt_req_want("PUT", path, t_oadm1, NULL, 204);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path),
	         "/v1/organization/user-groups/%s/licenses/%s", group, l_group);
	r = kpt_req_want("PUT", path, t_oadm1, NULL, 204);
	kpt_resp_free(&r);

	/* user1: own + group */
	r = kpt_req_want("GET", "/v1/me/licenses", t_user1, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 2,
	             "%s", r.body);
	cr_assert(list_has(&r, l_own));
	cr_assert(list_has(&r, l_group));
	cr_assert_str_eq(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(r.json, "items"), 0),
	        "productName")),
	    "Portal");
	cr_assert_eq(strlen(json_string_value(json_object_get(
	                 json_array_get(json_object_get(r.json, "items"), 0),
	                 "productPublicKey"))),
	             44, "%s", r.body);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_group);
	r = kpt_req_want("GET", path, t_user1, NULL, 200);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_org);
	r = kpt_req_want("GET", path, t_user1, NULL, 404);
	cr_assert_str_eq(kpt_error_code(&r), "NOT_FOUND");
	kpt_resp_free(&r);
	/* user2: own only (not in the group) */
	r = kpt_req_want("GET", "/v1/me/licenses", t_user2, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1);
	cr_assert(list_has(&r, l_group));
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_own);
	r = kpt_req_want("GET", path, t_user2, NULL, 404);
	kpt_resp_free(&r);
	/* organization admin of org1: the whole organization */
	r = kpt_req_want("GET", "/v1/me/licenses", t_oadm1, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 3,
	             "%s", r.body);
	cr_assert(!list_has(&r, l_other));
	kpt_resp_free(&r);
	/* across tenants: 404 both ways */
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_other);
	r = kpt_req_want("GET", path, t_oadm1, NULL, 404);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_org);
	r = kpt_req_want("GET", path, t_oadm2, NULL, 404);
	kpt_resp_free(&r);
	r = kpt_req_want("GET", "/v1/me/licenses", t_oadm2, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1);
	kpt_resp_free(&r);

	/* vendor-admin routes refuse everyone else */
	r = kpt_req_want("GET", "/v1/licenses", t_oadm1, NULL, 403);
	kpt_resp_free(&r);
	r = kpt_req_want("POST", "/v1/products", t_user1, "{\"name\":\"x\"}",
	                 403);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s/revoke", l_own);
	r = kpt_req_want("POST", path, t_oadm1, NULL, 403);
	kpt_resp_free(&r);

	/* deleting a license drops it from the group */
	snprintf(path, sizeof(path), "/v1/licenses/%s", l_group);
	r = kpt_req_want("DELETE", path, admin, NULL, 204);
	kpt_resp_free(&r);
	r = kpt_req_want("GET", "/v1/me/licenses", t_user1, NULL, 200);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "total")), 1);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/organization/user-groups/%s", group);
	r = kpt_req_want("GET", path, t_oadm1, NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(r.json, "licenses")), 0,
	             "%s", r.body);
	kpt_resp_free(&r);
}

/* GET /v1/me/licenses with token: asserts total, walks every page of
 * limit and asserts the ids are the n expected ones, each once, newest
 * first. */
static void
mine_is(const char *token, int limit, size_t n, char *const *want)
{
	char path[96], prev_at[32] = "";
	int once[16] = {0};
	size_t seen = 0;

	cr_assert_leq(n, 16);

	for (int page = 1; page <= (int)n / limit + 1; page++) {
		kpt_resp r;
		json_t *items, *it;
		size_t i;

		snprintf(path, sizeof(path), "/v1/me/licenses?page=%d&limit=%d",
		         page, limit);
		r = kpt_req_want("GET", path, token, NULL, 200);
		cr_assert_eq(
		    json_integer_value(json_object_get(r.json, "total")),
		    (json_int_t)n, "%s", r.body);
		items = json_object_get(r.json, "items");
		json_array_foreach(items, i, it)
		{
			const char *id =
			    json_string_value(json_object_get(it, "id"));
			const char *at =
			    json_string_value(json_object_get(it, "createdAt"));
			size_t k;

			for (k = 0; k < n && strcmp(want[k], id) != 0; k++)
				;
			cr_assert_lt(k, n, "unexpected %s on page %d", id,
			             page);
			cr_assert_eq(once[k]++, 0, "%s listed twice", id);
			/* newest first (createdAt shows whole seconds) */
			cr_assert(prev_at[0] == '\0' ||
			              strcmp(at, prev_at) <= 0,
			          "order: %s after %s", at, prev_at);
			snprintf(prev_at, sizeof(prev_at), "%s", at);
			seen++;
		}
		kpt_resp_free(&r);
	}
	cr_assert_eq(seen, n, "%zu of %zu licenses listed", seen, n);
}

/* Asserts that license.license_owner_counts agrees with a count of
 * license.licenses by owner. */
static void
owner_counts_agree(void)
{
	PGconn *c = PQconnectdb(kpt_database_url());
	PGresult *r;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, "SELECT count(*) FROM (SELECT coalesce(user_id, "
	              "'00000000-0000-0000-0000-000000000000') AS u, "
	              "coalesce(organization_id, "
	              "'00000000-0000-0000-0000-000000000000') AS o, count(*) "
	              "AS n FROM license.licenses GROUP BY 1, 2) t FULL JOIN "
	              "(SELECT * FROM license.license_owner_counts WHERE n <> "
	              "0) c ON c.user_id = t.u AND c.organization_id = t.o "
	              "WHERE t.n IS DISTINCT FROM c.n");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s",
	             PQerrorMessage(c));
	cr_assert_str_eq(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	PQfinish(c);
}

Test(license_http, portal_total_is_exact_as_owners_change, .timeout = 120)
{
	char *admin = kpt_login(kpt_admin_email(), kpt_admin_password());
	char *product, *org1, *org2, *oadm, *ua, *ub, *uc, *group;
	char *t_oadm, *t_ua, *t_ub, *t_uc, path[256];
	char *a1, *a2, *a3, *b1, *b2, *o1, *c1, *body;
	kpt_resp r;

	product = post_id("/v1/products", admin,
	                  kpt_jsonf("{s:s}", "name", "Totals"));
	org1 =
	    post_id("/v1/organizations", admin,
	            kpt_jsonf("{s:s, s:s, s:i}", "name", "Totals One", "email",
	                      "t1@example.com", "allowedUsers", -1));
	org2 =
	    post_id("/v1/organizations", admin,
	            kpt_jsonf("{s:s, s:s, s:i}", "name", "Totals Two", "email",
	                      "t2@example.com", "allowedUsers", -1));
	oadm = NEW_USER("t-oadm@example.com", "organization-admin", org1);
	ua = NEW_USER("t-ua@example.com", "user", org1);
	ub = NEW_USER("t-ub@example.com", "user", org1);
	uc = NEW_USER("t-uc@example.com", "user", org2);
	t_oadm = kpt_login("t-oadm@example.com", "portal-pass-1");
	t_ua = kpt_login("t-ua@example.com", "portal-pass-1");
	t_ub = kpt_login("t-ub@example.com", "portal-pass-1");
	t_uc = kpt_login("t-uc@example.com", "portal-pass-1");
	a1 = NEW_LICENSE(ua, NULL);
	a2 = NEW_LICENSE(ua, NULL);
	a3 = NEW_LICENSE(ua, NULL);
	b1 = NEW_LICENSE(ub, NULL);
	b2 = NEW_LICENSE(ub, NULL);
	o1 = NEW_LICENSE(NULL, org1);
	c1 = NEW_LICENSE(uc, NULL);
	owner_counts_agree();

	/* a group of ua and the organization admin with b1 and ua's own a1:
	 * a license reached twice is counted once */
	r = kpt_req_want("POST", "/v1/organization/user-groups", t_oadm,
	                 "{\"name\":\"totals\",\"description\":\"d\"}", 201);
	group = kpt_jdup(&r, "id");
	kpt_resp_free(&r);
	{
		const char *users[] = {ua, oadm}, *lics[] = {b1, a1};

		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path),
			         "/v1/organization/user-groups/%s/users/%s",
			         group, users[i]);
			r = kpt_req_want("PUT", path, t_oadm, NULL, 204);
			kpt_resp_free(&r);
			snprintf(path, sizeof(path),
			         "/v1/organization/user-groups/%s/licenses/%s",
			         group, lics[i]);
			r = kpt_req_want("PUT", path, t_oadm, NULL, 204);
			kpt_resp_free(&r);
		}
	}
	{
		char *w_ua[] = {a1, a2, a3, b1}, *w_ub[] = {b1, b2};
		char *w_oadm[] = {a1, a2, a3, b1, b2, o1}, *w_uc[] = {c1};

		mine_is(t_ua, 1, 4, w_ua);
		mine_is(t_ua, 3, 4, w_ua);
		mine_is(t_ub, 50, 2, w_ub);
		mine_is(t_oadm, 4, 6, w_oadm);
		mine_is(t_uc, 50, 1, w_uc);
	}

	/* a2 moves to ub: one less for ua, one more for ub */
	snprintf(path, sizeof(path), "/v1/licenses/%s", a2);
	body = kpt_jsonf("{s:s}", "userId", ub);
	r = kpt_req_want("PATCH", path, admin, body, 200);
	free(body);
	kpt_resp_free(&r);
	/* b2 moves to the other tenant */
	snprintf(path, sizeof(path), "/v1/licenses/%s", b2);
	body = kpt_jsonf("{s:s, s:s}", "userId", uc, "organizationId", org2);
	r = kpt_req_want("PATCH", path, admin, body, 200);
	free(body);
	kpt_resp_free(&r);
	owner_counts_agree();
	{
		char *w_ua[] = {a1, a3, b1}, *w_ub[] = {a2, b1};
		char *w_oadm[] = {a1, a2, a3, b1, o1}, *w_uc[] = {b2, c1};

		mine_is(t_ua, 2, 3, w_ua);
		mine_is(t_ub, 1, 2, w_ub);
		mine_is(t_oadm, 50, 5, w_oadm);
		mine_is(t_uc, 1, 2, w_uc);
	}

	/* deleted licenses leave every total */
	snprintf(path, sizeof(path), "/v1/licenses/%s", a3);
	r = kpt_req_want("DELETE", path, admin, NULL, 204);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", b1);
	r = kpt_req_want("DELETE", path, admin, NULL, 204);
	kpt_resp_free(&r);
	owner_counts_agree();
	{
		char *w_ua[] = {a1}, *w_ub[] = {a2}, *w_oadm[] = {a1, a2, o1};

		mine_is(t_ua, 50, 1, w_ua);
		mine_is(t_ub, 50, 1, w_ub);
		mine_is(t_oadm, 2, 3, w_oadm);
	}
}

/* Runs one statement on the stack's database as its owner (asserts) and
 * returns the first value of its first row (malloc'd, "" for none). */
static char *
sql(const char *stmt)
{
	PGconn *c = PQconnectdb(kpt_database_url());
	PGresult *r;
	char *v;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, stmt);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK ||
	              PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s: %s", stmt, PQerrorMessage(c));
	v = strdup(PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
	return v;
}

/* A database failure of the license service reaches the HTTP client as a
 * fixed sentence, never as the server's text: for one request the function
 * behind the portal list's total fails with class 53 (insufficient
 * resources: 503) and a message of its own, which must not be answered
 * (the SQLSTATE goes to the service's log instead). */
Test(license_http, database_failure_answers_a_fixed_sentence, .timeout = 60)
{
	static const char fn[] =
	    "license.license_visible_count(u uuid, o uuid, ids uuid[])";
	static const char sig[] =
	    "license.license_visible_count(uuid, uuid, uuid[])";
	const char *admin = kpt_admin_token();
	char stmt[512], *def, *done;
	const char *msg;
	kpt_resp r;

	r = kpt_req_want("GET", "/v1/me/licenses?page=1&limit=5", admin, NULL,
	                 200);
	kpt_resp_free(&r);
	snprintf(stmt, sizeof(stmt),
	         "SELECT pg_get_functiondef('%s'::regprocedure)", sig);
	def = sql(stmt);
	snprintf(stmt, sizeof(stmt),
	         "CREATE OR REPLACE FUNCTION %s RETURNS bigint LANGUAGE "
	         "plpgsql AS $$BEGIN RAISE EXCEPTION 'server text: relation "
	         "secret_internal_thing' USING ERRCODE = '53000'; END$$",
	         fn);
	free(sql(stmt));
	cr_assert_eq(kpt_http("GET", "/v1/me/licenses?page=1&limit=5", admin,
	                      NULL, NULL, &r),
	             0);
	free(sql(def)); /* the function as the migration made it */
	free(def);
	cr_assert_eq(r.status, 503, "%ld %s", r.status, r.body);
	cr_assert_str_eq(kpt_error_code(&r), "SERVICE_UNAVAILABLE");
	msg = json_string_value(
	    json_object_get(json_object_get(r.json, "error"), "message"));
	cr_assert_not_null(msg, "%s", r.body);
	cr_assert_str_eq(msg, "the database is unavailable, try again", "%s",
	                 r.body);
	cr_assert_null(strstr(r.body, "secret"), "%s", r.body);
	kpt_resp_free(&r);
	cr_assert_gt(kpt_log_grep("SQLSTATE 53000"), 0,
	             "the license log names the SQLSTATE");
	cr_assert_eq(kpt_log_grep("secret_internal_thing"), 0,
	             "nor the server's text in any log");
	r = kpt_req_want("GET", "/v1/me/licenses?page=1&limit=5", admin, NULL,
	                 200);
	kpt_resp_free(&r);
	done = sql("SELECT 1");
	free(done);
}
