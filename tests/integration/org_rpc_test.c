/* The org service at the RPC level (org.* called directly, as the gateway
 * and the other services do), plus the public portal routes and the
 * unauthenticated column of the authorization matrix over HTTP. Group
 * members are inserted in the org schema directly where adding them would
 * need auth's users (the HTTP tests in org_test.c add them for real). */
#include "kpt.h"

#include "kp_err.h"
#include "kp_rpc.h"
#include "proto/license.pb-c.h"
#include "proto/org.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

KPT_SUITE(0)

/* ---- helpers ---------------------------------------------------------------
 */

static kp_rpc_client *
client(const char *svc)
{
	kp_rpc_client *c = NULL;

	cr_assert_eq(kp_rpc_client_open(&c, svc, kpt_service_url(svc)), KP_OK);
	for (int i = 0; i < 100 && kp_rpc_client_pipes(c) == 0; i++)
		usleep(20000);
	return c;
}

/* call invokes method on svc as (role, org); answers the status and the
 * result's code in code (may be NULL). */
static int
call(const char *svc, const char *method, const char *role, const char *org,
     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
     ProtobufCMessage **reply, char *code)
{
	static const char uid[] = "00000000-0000-4000-8000-000000000001";
	Keyport__Caller caller = KEYPORT__CALLER__INIT;
	kp_rpc_call c = {0};
	kp_rpc_result res;
	kp_rpc_client *cl = client(svc);
	int rv;

	caller.user_id = (char *)(role[0] ? uid : "");
	caller.role = (char *)role;
	caller.organization_id = (char *)org;
	c.method = method;
	c.caller = &caller;
	c.timeout_ms = 5000;
	rv = kp_rpc_invoke(cl, &c, req, desc, reply, &res);
	if (code != NULL)
		strcpy(code, rv == KP_OK ? "" : res.code);
	if (rv != KP_OK)
		cr_log_info("%s: %s %s", method, res.code, res.message);
	kp_rpc_client_close(cl);
	return rv;
}

static char *
make_org(const char *name, long long allowed)
{
	Keyport__Org__CreateOrganizationRequest q =
	    KEYPORT__ORG__CREATE_ORGANIZATION_REQUEST__INIT;
	Keyport__Org__OrganizationReply *rep = NULL;
	char *id;

	q.name = (char *)name;
	q.email = (char *)"ops@example.com";
	q.description = (char *)"";
	q.allowed_users = allowed;
	q.has_allowed_users = 1;
	cr_assert_eq(call("org", "org.CreateOrganization", "admin", "", &q.base,
	                  &keyport__org__organization_reply__descriptor,
	                  (ProtobufCMessage **)&rep, NULL),
	             KP_OK);
	cr_assert_str_eq(rep->organization->name, name);
	cr_assert_eq(rep->organization->allowed_users, allowed);
	id = strdup(rep->organization->id);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return id;
}

static char *
make_group(const char *org, const char *name)
{
	Keyport__Org__CreateGroupRequest q =
	    KEYPORT__ORG__CREATE_GROUP_REQUEST__INIT;
	Keyport__Org__GroupReply *rep = NULL;
	char *id;

	q.name = (char *)name;
	q.description = (char *)"d";
	cr_assert_eq(call("org", "org.CreateGroup", "organization-admin", org,
	                  &q.base, &keyport__org__group_reply__descriptor,
	                  (ProtobufCMessage **)&rep, NULL),
	             KP_OK);
	id = strdup(rep->group->id);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return id;
}

static char *
make_license(const char *org)
{
	Keyport__License__CreateProductRequest pq =
	    KEYPORT__LICENSE__CREATE_PRODUCT_REQUEST__INIT;
	Keyport__License__ProductReply *prod = NULL;
	Keyport__License__SeedLicensesRequest sq =
	    KEYPORT__LICENSE__SEED_LICENSES_REQUEST__INIT;
	Keyport__License__ListLicensesRequest ls =
	    KEYPORT__LICENSE__LIST_LICENSES_REQUEST__INIT;
	Keyport__License__ListLicensesReply *lic = NULL;
	char *id, code[64];

	pq.name = (char *)"Org test product";
	cr_assert_eq(call("license", "license.CreateProduct", "admin", "",
	                  &pq.base,
	                  &keyport__license__product_reply__descriptor,
	                  (ProtobufCMessage **)&prod, NULL),
	             KP_OK);
	/* license.SeedLicenses (test-only) then ListLicenses: written when
	 * the license branch's CreateLicense answered NOT_FOUND for the row
	 * it inserted (fixed on that branch since) */
	sq.product_id = prod->product->id;
	sq.count = 1;
	sq.organization_id = (char *)org;
	cr_assert_eq(call("license", "license.SeedLicenses", "admin", "",
	                  &sq.base, NULL, NULL, code),
	             KP_OK, "%s", code);
	ls.product_id = prod->product->id;
	ls.page = 1;
	ls.limit = 10;
	cr_assert_eq(call("license", "license.ListLicenses", "admin", "",
	                  &ls.base,
	                  &keyport__license__list_licenses_reply__descriptor,
	                  (ProtobufCMessage **)&lic, code),
	             KP_OK, "%s", code);
	cr_assert_eq(lic->n_licenses, 1);
	cr_assert_str_eq(lic->licenses[0]->organization_id, org);
	id = strdup(lic->licenses[0]->id);
	protobuf_c_message_free_unpacked(&lic->base, NULL);
	protobuf_c_message_free_unpacked(&prod->base, NULL);
	return id;
}

static int
glink(const char *method, const char *org, const char *group,
      const char *member, char *code)
{
	Keyport__Org__GroupMemberRequest q =
	    KEYPORT__ORG__GROUP_MEMBER_REQUEST__INIT;

	q.group_id = (char *)group;
	q.member_id = (char *)member;
	return call("org", method, "organization-admin", org, &q.base, NULL,
	            NULL, code);
}

/* visible answers how many licenses user sees, and whether lic is one. */
static size_t
visible(const char *user, const char *lic, int *has)
{
	Keyport__Org__VisibleLicensesRequest q =
	    KEYPORT__ORG__VISIBLE_LICENSES_REQUEST__INIT;
	Keyport__Org__VisibleLicensesReply *rep = NULL;
	size_t n;

	q.user_id = (char *)user;
	cr_assert_eq(call("org", "org.VisibleLicenses", "", "", &q.base,
	                  &keyport__org__visible_licenses_reply__descriptor,
	                  (ProtobufCMessage **)&rep, NULL),
	             KP_OK);
	n = rep->n_license_ids;
	*has = 0;
	for (size_t i = 0; i < n; i++)
		if (lic != NULL && strcmp(rep->license_ids[i], lic) == 0)
			*has = 1;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return n;
}

static void
sql(const char *stmt, int n, const char *const *params)
{
	PGconn *c = PQconnectdb(kpt_database_url());
	PGresult *r;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexecParams(c, stmt, n, NULL, params, NULL, NULL, 0);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK ||
	              PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

/* ---- tests ------------------------------------------------------------------
 */

Test(org_rpc, organization_crud_and_tenancy, .timeout = 60)
{
	Keyport__Org__GetOrganizationRequest g =
	    KEYPORT__ORG__GET_ORGANIZATION_REQUEST__INIT;
	Keyport__Org__UpdateOrganizationRequest u =
	    KEYPORT__ORG__UPDATE_ORGANIZATION_REQUEST__INIT;
	Keyport__Org__CreateOrganizationRequest c =
	    KEYPORT__ORG__CREATE_ORGANIZATION_REQUEST__INIT;
	Keyport__Org__OrganizationReply *rep = NULL;
	char *a = make_org("Acme", 3), *b = make_org("Beta", -1);
	char code[64];

	/* a member reads their own organization, not another */
	g.id = a;
	cr_assert_eq(call("org", "org.GetOrganization", "user", a, &g.base,
	                  &keyport__org__organization_reply__descriptor,
	                  (ProtobufCMessage **)&rep, NULL),
	             KP_OK);
	cr_assert_str_eq(rep->organization->id, a);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	cr_assert_eq(call("org", "org.GetOrganization", "organization-admin", b,
	                  &g.base, NULL, NULL, code),
	             KP_ENOTFOUND);
	/* only the vendor admin creates and changes organizations */
	c.name = (char *)"X";
	cr_assert_eq(call("org", "org.CreateOrganization", "organization-admin",
	                  a, &c.base, NULL, NULL, code),
	             KP_EFORBIDDEN);
	c.has_allowed_users = 1;
	c.allowed_users = -2;
	cr_assert_eq(call("org", "org.CreateOrganization", "admin", "", &c.base,
	                  NULL, NULL, code),
	             KP_EINVAL);
	u.id = a;
	u.has_allowed_users = 1;
	u.allowed_users = 10;
	u.has_name = 1;
	u.name = (char *)"Acme Inc";
	cr_assert_eq(call("org", "org.UpdateOrganization", "admin", "", &u.base,
	                  &keyport__org__organization_reply__descriptor,
	                  (ProtobufCMessage **)&rep, NULL),
	             KP_OK);
	cr_assert_str_eq(rep->organization->name, "Acme Inc");
	cr_assert_eq(rep->organization->allowed_users, 10);
	cr_assert_str_eq(rep->organization->email, "ops@example.com");
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	free(a);
	free(b);
}

Test(org_rpc, group_life_cycle_and_visibility, .timeout = 90)
{
	static const char user[] = "11111111-2222-4333-8444-555555555555";
	char *a = make_org("Gamma", -1), *b = make_org("Delta", -1);
	char *ga = make_group(a, "Engineering"), *gb = make_group(b, "Ops");
	char *la = make_license(a), *lb = make_license(b);
	Keyport__Org__GroupIdRequest gq = KEYPORT__ORG__GROUP_ID_REQUEST__INIT;
	Keyport__Org__GroupReply *grep = NULL;
	char code[64];
	int has;

	/* another organization's group, license: not found */
	gq.id = ga;
	cr_assert_eq(call("org", "org.GetGroup", "organization-admin", b,
	                  &gq.base, NULL, NULL, code),
	             KP_ENOTFOUND);
	cr_assert_eq(glink("org.AddGroupLicense", b, ga, lb, code),
	             KP_ENOTFOUND);
	cr_assert_eq(glink("org.AddGroupLicense", a, ga, lb, code),
	             KP_ENOTFOUND);
	cr_assert_eq(glink("org.AddGroupLicense", a, gb, la, code),
	             KP_ENOTFOUND);
	/* a plain user cannot manage groups */
	cr_assert_eq(
	    call("org", "org.GetGroup", "user", a, &gq.base, NULL, NULL, code),
	    KP_EFORBIDDEN);

	/* link a license of the same organization (asked of license) */
	cr_assert_eq(glink("org.AddGroupLicense", a, ga, la, code), KP_OK);
	cr_assert_eq(glink("org.AddGroupLicense", a, ga, la, code), KP_OK,
	             "linking twice is fine");

	/* the group shows its license (from the license service) */
	cr_assert_eq(call("org", "org.GetGroup", "organization-admin", a,
	                  &gq.base, &keyport__org__group_reply__descriptor,
	                  (ProtobufCMessage **)&grep, code),
	             KP_OK, "%s", code);
	cr_assert_eq(grep->group->n_licenses, 1);
	cr_assert_str_eq(grep->group->licenses[0]->id, la);
	cr_assert_str_eq(grep->group->licenses[0]->organization_id, a);
	protobuf_c_message_free_unpacked(&grep->base, NULL);

	/* a member (auth's user, inserted directly: adding one over RPC
	 * needs auth.GetUser) sees it */
	cr_assert_eq(visible(user, la, &has), 0);
	{
		const char *p[] = {ga, user};

		sql("INSERT INTO org.group_users (group_id, user_id) VALUES "
		    "($1, $2)",
		    2, p);
	}
	cr_assert_eq(visible(user, la, &has), 1);
	cr_assert(has);

	/* unlink: gone */
	cr_assert_eq(glink("org.RemoveGroupLicense", a, ga, la, code), KP_OK);
	cr_assert_eq(visible(user, la, &has), 0);

	/* the owning services' notifications clean every group */
	cr_assert_eq(glink("org.AddGroupLicense", a, ga, la, code), KP_OK);
	cr_assert_eq(visible(user, la, &has), 1);
	{
		Keyport__Org__LicenseRemovedRequest q =
		    KEYPORT__ORG__LICENSE_REMOVED_REQUEST__INIT;

		q.license_id = la;
		cr_assert_eq(call("org", "org.LicenseRemoved", "", "", &q.base,
		                  NULL, NULL, code),
		             KP_OK);
		cr_assert_eq(call("org", "org.LicenseRemoved", "", "", &q.base,
		                  NULL, NULL, code),
		             KP_OK, "idempotent");
	}
	cr_assert_eq(visible(user, la, &has), 0);
	cr_assert_eq(glink("org.AddGroupLicense", a, ga, la, code), KP_OK);
	{
		Keyport__Org__UserRemovedRequest q =
		    KEYPORT__ORG__USER_REMOVED_REQUEST__INIT;

		q.user_id = (char *)user;
		cr_assert_eq(call("org", "org.UserRemoved", "", "", &q.base,
		                  NULL, NULL, code),
		             KP_OK);
	}
	cr_assert_eq(visible(user, la, &has), 0);

	/* deleting the group takes its links with it; B cannot delete A's */
	cr_assert_eq(call("org", "org.DeleteGroup", "organization-admin", b,
	                  &gq.base, NULL, NULL, code),
	             KP_ENOTFOUND);
	cr_assert_eq(call("org", "org.DeleteGroup", "organization-admin", a,
	                  &gq.base, NULL, NULL, code),
	             KP_OK);
	cr_assert_eq(call("org", "org.GetGroup", "organization-admin", a,
	                  &gq.base, NULL, NULL, code),
	             KP_ENOTFOUND);
	free(a);
	free(b);
	free(ga);
	free(gb);
	free(la);
	free(lb);
}

Test(org_rpc, visibility_is_one_indexed_query, .timeout = 120)
{
	/* 10,000 groups with 100,000 license links, one user in 5 groups */
	static const char user[] = "22222222-2222-4333-8444-555555555555";
	char *a = make_org("Big", -1);
	int has;
	double t0;
	size_t n;

	{
		const char *p[] = {a};

		sql("INSERT INTO org.user_groups (id, organization_id, name, "
		    "created_at, updated_at) SELECT gen_random_uuid(), $1, "
		    "'g' || i, now(), now() FROM generate_series(1, 10000) i",
		    1, p);
		sql("INSERT INTO org.group_licenses (group_id, license_id) "
		    "SELECT g.id, gen_random_uuid() FROM org.user_groups g, "
		    "generate_series(1, 10) WHERE g.organization_id = $1",
		    1, p);
		/* 50,000 other memberships, so the planner must use the
		 * index on group_users (user_id) */
		sql("INSERT INTO org.group_users (group_id, user_id) SELECT "
		    "g.id, gen_random_uuid() FROM org.user_groups g, "
		    "generate_series(1, 5) WHERE g.organization_id = $1",
		    1, p);
		sql("INSERT INTO org.group_users (group_id, user_id) SELECT "
		    "id, '22222222-2222-4333-8444-555555555555' FROM "
		    "org.user_groups WHERE organization_id = $1 ORDER BY id "
		    "LIMIT 5",
		    1, p);
		sql("ANALYZE org.group_users", 0, NULL);
		sql("ANALYZE org.group_licenses", 0, NULL);
	}
	t0 = kpt_now();
	n = visible(user, NULL, &has);
	cr_assert_eq(n, 50);
	cr_log_info("VisibleLicenses over 10k groups/100k links: %.1f ms",
	            (kpt_now() - t0) * 1000);
	cr_assert_lt(kpt_now() - t0, 0.5, "visibility took %.3f s",
	             kpt_now() - t0);
	/* the plan uses the indexes, no sequential scan */
	{
		PGconn *c = PQconnectdb(kpt_database_url());
		const char *p[] = {user};
		PGresult *r = PQexecParams(
		    c,
		    "EXPLAIN SELECT DISTINCT gl.license_id::text FROM "
		    "org.group_users gu JOIN org.group_licenses gl ON "
		    "gl.group_id = gu.group_id WHERE gu.user_id = $1",
		    1, NULL, p, NULL, NULL, 0);
		char plan[4096] = "";

		for (int i = 0; i < PQntuples(r); i++) {
			strncat(plan, PQgetvalue(r, i, 0),
			        sizeof(plan) - strlen(plan) - 2);
			strcat(plan, "\n");
		}
		cr_assert_null(strstr(plan, "Seq Scan"), "%s", plan);
		PQclear(r);
		PQfinish(c);
	}
	free(a);
}

Test(org_rpc, customization_branding_and_logo, .timeout = 60)
{
	Keyport__Org__PutCustomizationRequest q =
	    KEYPORT__ORG__PUT_CUSTOMIZATION_REQUEST__INIT;
	Keyport__Org__PutLogoRequest lq = KEYPORT__ORG__PUT_LOGO_REQUEST__INIT;
	const char *host[] = {"Host: portal.example.com:8443", NULL};
	const char *other[] = {"Host: elsewhere.example.org", NULL};
	static const char svg[] =
	    "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/"
	    "svg\"><script>alert(1)</script></svg>";
	char code[64], *csp;
	kpt_resp r;

	/* invalid domain, name naming the field; not for an org admin */
	q.portal_name = (char *)"Acme Licensing";
	q.custom_domain = (char *)"not a host";
	cr_assert_eq(call("org", "org.PutCustomization", "admin", "", &q.base,
	                  NULL, NULL, code),
	             KP_EINVAL);
	q.custom_domain = (char *)"Portal.Example.com";
	cr_assert_eq(call("org", "org.PutCustomization", "organization-admin",
	                  "00000000-0000-4000-8000-0000000000aa", &q.base, NULL,
	                  NULL, code),
	             KP_EFORBIDDEN);
	cr_assert_eq(call("org", "org.PutCustomization", "admin", "", &q.base,
	                  NULL, NULL, code),
	             KP_OK);

	/* a domain another tenant's portal holds: 409 DOMAIN_TAKEN (the
	 * second tenant only exists in SQL: there is one vendor tenant) */
	sql("INSERT INTO org.customizations (tenant, portal_name, "
	    "custom_domain, updated_at) VALUES ('other', 'Other', "
	    "'taken.example.com', now())",
	    0, NULL);
	q.custom_domain = (char *)"taken.example.com";
	cr_assert_eq(call("org", "org.PutCustomization", "admin", "", &q.base,
	                  NULL, NULL, code),
	             KP_ECONFLICT);
	cr_assert_str_eq(code, "DOMAIN_TAKEN");
	q.custom_domain = (char *)"Portal.Example.com";
	cr_assert_eq(call("org", "org.PutCustomization", "admin", "", &q.base,
	                  NULL, NULL, code),
	             KP_OK);

	/* branding picks the customization by Host (port dropped) */
	cr_assert_eq(
	    kpt_http("GET", "/v1/portal/branding", NULL, NULL, host, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "portalName")),
	    "Acme Licensing");
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "customDomain")),
	    "portal.example.com");
	kpt_resp_free(&r);
	cr_assert_eq(
	    kpt_http("GET", "/v1/portal/branding", NULL, NULL, other, &r), 0);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(
	    json_string_value(json_object_get(r.json, "portalName")),
	    "Keyport");
	cr_assert(json_is_null(json_object_get(r.json, "customDomain")));
	kpt_resp_free(&r);

	/* logo: magic bytes decide; SVG served with a strict CSP */
	lq.data.data = (uint8_t *)"GIF89a....";
	lq.data.len = 10;
	cr_assert_eq(
	    call("org", "org.PutLogo", "admin", "", &lq.base, NULL, NULL, code),
	    KP_EINVAL);
	lq.data.data = (uint8_t *)svg;
	lq.data.len = strlen(svg);
	cr_assert_eq(
	    call("org", "org.PutLogo", "admin", "", &lq.base, NULL, NULL, code),
	    KP_OK);
	cr_assert_eq(kpt_http("GET", "/v1/portal/logo", NULL, NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, strlen(svg));
	cr_assert_eq(memcmp(r.body, svg, r.len), 0);
	csp = kpt_header(&r, "Content-Security-Policy");
	cr_assert_not_null(csp);
	cr_assert_str_eq(csp, "default-src 'none'; style-src 'unsafe-inline'");
	free(csp);
	csp = kpt_header(&r, "X-Content-Type-Options");
	cr_assert_str_eq(csp, "nosniff");
	free(csp);
	csp = kpt_header(&r, "Content-Type");
	cr_assert_str_eq(csp, "image/svg+xml");
	free(csp);
	kpt_resp_free(&r);
	cr_assert_eq(
	    kpt_http("GET", "/v1/portal/branding", NULL, NULL, host, &r), 0);
	cr_assert_str_eq(json_string_value(json_object_get(r.json, "logoUrl")),
	                 "/v1/portal/logo");
	kpt_resp_free(&r);

	/* a PNG replaces it, without the SVG policy */
	lq.data.data = (uint8_t *)"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
	lq.data.len = 16;
	cr_assert_eq(
	    call("org", "org.PutLogo", "admin", "", &lq.base, NULL, NULL, code),
	    KP_OK);
	cr_assert_eq(kpt_http("GET", "/v1/portal/logo", NULL, NULL, NULL, &r),
	             0);
	csp = kpt_header(&r, "Content-Type");
	cr_assert_str_eq(csp, "image/png");
	free(csp);
	csp = kpt_header(&r, "Content-Security-Policy"); /* the gateway's own */
	cr_assert_not_null(csp);
	cr_assert(strstr(csp, "default-src 'self'") != NULL, "%s", csp);
	cr_assert(strstr(csp, "unsafe-inline") == NULL, "%s", csp);
	free(csp);
	kpt_resp_free(&r);
}

Test(org_rpc, logo_upload_over_1mib_is_413, .timeout = 60)
{
	size_t n = 1024 * 1024 + 1;
	char *big = calloc(1, n);
	kpt_resp r;

	memcpy(big, "\x89PNG\r\n\x1a\n", 8);
	cr_assert_eq(kpt_http_raw("PUT", "/v1/settings/customization/logo",
	                          NULL, big, n, "image/png", NULL, &r),
	             0);
	cr_assert_eq(r.status, 413);
	cr_assert_str_eq(kpt_error_code(&r), "PAYLOAD_TOO_LARGE");
	kpt_resp_free(&r);
	free(big);
}
