/* Gaps closed after the first merge, over HTTP with the whole stack:
 * organizationId of the vendor admin's users must name an organization;
 * no group membership outlives its user (organization deletion with
 * cascade, a user moved to another organization); a license's new validity
 * keeps the renewals already granted. */
#include "kp_err.h"
#include "kp_rpc.h"
#include "kpt.h"
#include "kpt_http.h"
#include "proto/auth.pb-c.h"
#include "proto/org.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

KPT_SUITE(0)

#define PW "correct horse 1"

static int uniq;

static char *
create_org(const char *admin, const char *name)
{
	char *body = kpt_jsonf("{s:s}", "name", name);
	kpt_resp r;
	char *id;

	cr_assert_eq(kpt_req("POST", "/v1/organizations", admin, body, &r), 201,
	             "%s", r.body);
	id = strdup(kpt_jstr(r.json, "id"));
	kpt_resp_free(&r);
	free(body);
	return id;
}

/* POST /v1/users as the vendor admin; answers the status, *id the new id
 * (malloc'd) on 201, *resp (when given) the response. */
static long
vendor_user(const char *admin, const char *org, const char *role,
            char *email_out, char **id, kpt_resp *resp)
{
	char *body;
	kpt_resp r;
	long st;

	snprintf(email_out, 96, "g%d-%d@example.com", getpid(), ++uniq);
	body = kpt_jsonf("{s:s, s:s, s:s, s:s}", "email", email_out, "password",
	                 PW, "role", role, "organizationId", org);
	st = kpt_req("POST", "/v1/users", admin, body, &r);
	if (id != NULL)
		*id = st == 201 ? strdup(kpt_jstr(r.json, "id")) : NULL;
	if (resp != NULL)
		*resp = r;
	else
		kpt_resp_free(&r);
	free(body);
	return st;
}

static char *
must_vendor_user(const char *admin, const char *org, const char *role,
                 char *email_out)
{
	char *id = NULL;
	kpt_resp r;

	cr_assert_eq(vendor_user(admin, org, role, email_out, &id, &r), 201,
	             "%s", r.body);
	kpt_resp_free(&r);
	return id;
}

static char *
create_group(const char *oa, const char *name)
{
	char *body = kpt_jsonf("{s:s}", "name", name);
	kpt_resp r;
	char *id;

	cr_assert_eq(
	    kpt_req("POST", "/v1/organization/user-groups", oa, body, &r), 201,
	    "%s", r.body);
	id = strdup(kpt_jstr(r.json, "id"));
	kpt_resp_free(&r);
	free(body);
	return id;
}

static void
add_member(const char *oa, const char *group, const char *user)
{
	char path[256];
	kpt_resp r;
	long st;

	snprintf(path, sizeof(path), "/v1/organization/user-groups/%s/users/%s",
	         group, user);
	st = kpt_req("PUT", path, oa, NULL, &r);
	cr_assert(st == 200 || st == 204, "PUT %s: %ld %s", path, st, r.body);
	kpt_resp_free(&r);
}

/* Runs one statement on the stack's database; answers the first column of
 * the first row as a number (0 when there is none). */
static long long
sql(const char *stmt, int n, const char *const *params)
{
	PGconn *c = PQconnectdb(kpt_database_url());
	PGresult *r;
	long long v = 0;

	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexecParams(c, stmt, n, NULL, params, NULL, NULL, 0);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK ||
	              PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s", PQerrorMessage(c));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		v = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return v;
}

/* How many groups hold user (org's own table: what no route shows). */
static long long
memberships(const char *user)
{
	const char *p[] = {user};

	return sql("SELECT count(*) FROM org.group_users WHERE user_id = $1", 1,
	           p);
}

/* org.UserRemoved {user_ids: [user], organization_id: org}. */
static void
user_removed(const char *user, const char *org)
{
	Keyport__Org__UserRemovedRequest q =
	    KEYPORT__ORG__USER_REMOVED_REQUEST__INIT;
	char *ids[1] = {(char *)user};

	q.user_ids = ids;
	q.n_user_ids = 1;
	q.organization_id = (char *)org;
	cr_assert_eq(
	    kpt_rpc("org", "org.UserRemoved", NULL, &q.base, NULL, NULL),
	    KP_OK);
}

/* Rows of auth's outbox for user (clean-ups org has not confirmed). */
static long long
pending(const char *user)
{
	const char *p[] = {user};

	return sql("SELECT count(*) FROM auth.org_outbox WHERE user_id = $1", 1,
	           p);
}

static void
delete_org_cascade(const char *admin, const char *org)
{
	char path[256];
	kpt_resp r;

	snprintf(path, sizeof(path), "/v1/organizations/%s?cascade=true", org);
	cr_assert_eq(kpt_req("DELETE", path, admin, NULL, &r), 204, "%s",
	             r.body);
	kpt_resp_free(&r);
}

/* ---- 1. organizationId of POST/PATCH /v1/users ------------------------- */

Test(gaps, user_organization_must_exist, .timeout = 60)
{
	char *admin = kpt_login(kpt_admin_email(), kpt_admin_password());
	char *org = create_org(admin, "Gap one");
	char *gone = create_org(admin, "Gap one, deleted");
	char email[96], path[256], *id = NULL, *oa = NULL, *oa_tok, *body;
	const char *unknown = "8c5bd0f4-1c8e-4e0f-9a39-5d1f3c0b7a11";
	kpt_resp r;

	/* an organization that never existed */
	cr_assert_eq(vendor_user(admin, unknown, "user", email, &id, &r), 400,
	             "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "INVALID_INPUT");
	cr_assert_not_null(strstr(r.body, "organizationId"), "%s", r.body);
	kpt_resp_free(&r);
	/* nothing was created under that email */
	body = kpt_jsonf("{s:s, s:s}", "email", email, "password", PW);
	cr_assert_eq(kpt_req("POST", "/v1/auth/login", NULL, body, NULL), 401);
	free(body);

	/* an organization that was deleted */
	snprintf(path, sizeof(path), "/v1/organizations/%s", gone);
	cr_assert_eq(kpt_req("DELETE", path, admin, NULL, NULL), 204);
	cr_assert_eq(
	    vendor_user(admin, gone, "organization-admin", email, &id, &r), 400,
	    "%s", r.body);
	cr_assert_not_null(strstr(r.body, "organizationId"), "%s", r.body);
	kpt_resp_free(&r);

	/* an existing one works, and its admin still creates users */
	oa = must_vendor_user(admin, org, "organization-admin", email);
	oa_tok = kpt_login(email, PW);
	snprintf(email, sizeof(email), "g%d-%d@example.com", getpid(), ++uniq);
	body = kpt_jsonf("{s:s, s:s}", "email", email, "password", PW);
	cr_assert_eq(
	    kpt_req("POST", "/v1/organization/users", oa_tok, body, &r), 201,
	    "%s", r.body);
	cr_assert_str_eq(kpt_jstr(r.json, "organizationId"), org);
	kpt_resp_free(&r);
	free(body);

	/* PATCH checks it too; null (no organization) needs no check */
	id = must_vendor_user(admin, org, "user", email);
	snprintf(path, sizeof(path), "/v1/users/%s", id);
	body = kpt_jsonf("{s:s}", "organizationId", unknown);
	cr_assert_eq(kpt_req("PATCH", path, admin, body, &r), 400, "%s",
	             r.body);
	cr_assert_str_eq(kpt_error_code(&r), "INVALID_INPUT");
	cr_assert_not_null(strstr(r.body, "organizationId"), "%s", r.body);
	kpt_resp_free(&r);
	free(body);
	cr_assert_eq(kpt_req("GET", path, admin, NULL, &r), 200);
	cr_assert_str_eq(kpt_jstr(r.json, "organizationId"), org);
	kpt_resp_free(&r);
	cr_assert_eq(
	    kpt_req("PATCH", path, admin, "{\"organizationId\":null}", &r), 200,
	    "%s", r.body);
	cr_assert(json_is_null(json_object_get(r.json, "organizationId")), "%s",
	          r.body);
	kpt_resp_free(&r);

	free(admin);
	free(org);
	free(gone);
	free(id);
	free(oa);
	free(oa_tok);
}

/* ---- 2. group memberships never outlive their users -------------------- */

/* Deleting an organization with cascade: its own groups go with it (ON
 * DELETE CASCADE), and a deleted user found in another organization's
 * group is dropped from it too (auth answers and notifies the ids). */
Test(gaps, organization_delete_leaves_no_membership, .timeout = 60)
{
	char *admin = kpt_login(kpt_admin_email(), kpt_admin_password());
	char *doomed = create_org(admin, "Gap two, doomed");
	char *other = create_org(admin, "Gap two, other");
	char email[96], *oa, *oa_tok, *u, *g, *oa2, *oa2_tok, *g2;

	/* a member of a group of the doomed organization */
	oa = must_vendor_user(admin, doomed, "organization-admin", email);
	oa_tok = kpt_login(email, PW);
	u = must_vendor_user(admin, doomed, "user", email);
	g = create_group(oa_tok, "doomed group");
	add_member(oa_tok, g, u);
	cr_assert_eq(memberships(u), 1);
	/* the same user left in another organization's group (a membership
	 * no route can make now: as after a lost notification) */
	oa2 = must_vendor_user(admin, other, "organization-admin", email);
	oa2_tok = kpt_login(email, PW);
	g2 = create_group(oa2_tok, "other group");
	{
		const char *p[] = {g2, u};

		sql("INSERT INTO org.group_users (group_id, user_id) VALUES "
		    "($1, $2)",
		    2, p);
	}
	cr_assert_eq(memberships(u), 2);
	cr_assert_eq(memberships(oa), 0);

	delete_org_cascade(admin, doomed);
	cr_assert_eq(memberships(u), 0, "a deleted user is still in a group");
	cr_assert_eq(memberships(oa), 0);
	{
		const char *p[] = {g};

		cr_assert_eq(sql("SELECT count(*) FROM org.user_groups WHERE "
		                 "id = $1",
		                 1, p),
		             0);
	}
	/* the other organization's group is intact, just without u */
	{
		char path[256];
		kpt_resp r;

		snprintf(path, sizeof(path), "/v1/organization/user-groups/%s",
		         g2);
		cr_assert_eq(kpt_req("GET", path, oa2_tok, NULL, &r), 200, "%s",
		             r.body);
		cr_assert_eq(json_array_size(json_object_get(r.json, "users")),
		             0, "%s", r.body);
		kpt_resp_free(&r);
	}
	free(admin);
	free(doomed);
	free(other);
	free(oa);
	free(oa_tok);
	free(u);
	free(g);
	free(oa2);
	free(oa2_tok);
	free(g2);
}

/* Groups are per organization: the vendor admin moving a user to another
 * organization (or to none) drops them from the old one's groups. */
Test(gaps, moved_user_leaves_old_groups, .timeout = 60)
{
	char *admin = kpt_login(kpt_admin_email(), kpt_admin_password());
	char *from = create_org(admin, "Gap two, from");
	char *to = create_org(admin, "Gap two, to");
	char email[96], path[256], *oa, *oa_tok, *u, *g, *body;
	kpt_resp r;

	oa = must_vendor_user(admin, from, "organization-admin", email);
	oa_tok = kpt_login(email, PW);
	u = must_vendor_user(admin, from, "user", email);
	g = create_group(oa_tok, "from group");
	add_member(oa_tok, g, u);
	cr_assert_eq(memberships(u), 1);

	/* a change that keeps the organization keeps the membership */
	snprintf(path, sizeof(path), "/v1/users/%s", u);
	body = kpt_jsonf("{s:s, s:s}", "organizationId", from, "firstName",
	                 "Kept");
	cr_assert_eq(kpt_req("PATCH", path, admin, body, &r), 200, "%s",
	             r.body);
	kpt_resp_free(&r);
	free(body);
	cr_assert_eq(memberships(u), 1);

	body = kpt_jsonf("{s:s}", "organizationId", to);
	cr_assert_eq(kpt_req("PATCH", path, admin, body, &r), 200, "%s",
	             r.body);
	kpt_resp_free(&r);
	free(body);
	cr_assert_eq(memberships(u), 0,
	             "a moved user is still in a group of "
	             "the old organization");
	cr_assert_eq(pending(u), 0, "org confirmed the clean-up");

	/* in a group of the new organization, a late (repeated) clean-up of
	 * the old one does not touch them: it names the old organization */
	{
		char *oa2 =
		    must_vendor_user(admin, to, "organization-admin", email);
		char *oa2_tok = kpt_login(email, PW);
		char *g2 = create_group(oa2_tok, "to group");

		add_member(oa2_tok, g2, u);
		cr_assert_eq(memberships(u), 1);
		user_removed(u, from);
		cr_assert_eq(memberships(u), 1);
		user_removed(u, to);
		cr_assert_eq(memberships(u), 0);
		free(oa2);
		free(oa2_tok);
		free(g2);
	}
	free(admin);
	free(from);
	free(to);
	free(oa);
	free(oa_tok);
	free(u);
	free(g);
}

/* A clean-up org did not receive (org down when the user was deleted) is
 * kept by auth and sent again: the membership does not stay. */
Test(gaps, lost_notification_is_retried, .timeout = 90)
{
	char *admin = kpt_login(kpt_admin_email(), kpt_admin_password());
	char *org = create_org(admin, "Gap two, retried");
	char email[96], path[256], *oa, *oa_tok, *u, *g;
	int i;

	oa = must_vendor_user(admin, org, "organization-admin", email);
	oa_tok = kpt_login(email, PW);
	u = must_vendor_user(admin, org, "user", email);
	g = create_group(oa_tok, "retried group");
	add_member(oa_tok, g, u);
	cr_assert_eq(memberships(u), 1);

	kpt_kill("org", SIGKILL);
	snprintf(path, sizeof(path), "/v1/users/%s", u);
	{
		kpt_resp r;
		long st = kpt_req("DELETE", path, admin, NULL, &r);

		/* expect, not assert: org is restarted below either way, so
		 * a failure here does not take the later tests down with it */
		cr_expect_eq(st, 204, "DELETE with org down: %ld %s", st,
		             r.body);
		kpt_resp_free(&r);
	}
	cr_expect_eq(memberships(u), 1, "org was down: nothing removed yet");
	cr_expect_eq(pending(u), 1, "the clean-up must be kept for a retry");

	kpt_restart("org");
	cr_assert_eq(kpt_wait_ready(30), 0);
	/* the retry rides on auth.Revocations (the gateway polls it), at
	 * most every 30 s of auth's clock: move it on, then ask once */
	kpt_set_clock("auth", 120);
	{
		Keyport__Auth__RevocationsReply *rep = NULL;

		cr_assert_eq(
		    kpt_rpc("auth", "auth.Revocations", NULL, NULL,
		            &keyport__auth__revocations_reply__descriptor,
		            (ProtobufCMessage **)&rep),
		    KP_OK);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	/* the resend runs after that answer: wait for it (at most 5 s) */
	for (i = 0; i < 100 && (memberships(u) != 0 || pending(u) != 0); i++)
		usleep(50000);
	kpt_set_clock("auth", 0);
	cr_assert_eq(memberships(u), 0, "the membership outlived its user");
	cr_assert_eq(pending(u), 0);
	free(admin);
	free(org);
	free(oa);
	free(oa_tok);
	free(u);
	free(g);
}

/* ---- 3. PATCH validity keeps renewals ----------------------------------- */

/* Parses an RFC 3339 UTC time of a license field (0 for null). */
static long long
jtime(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	struct tm tm;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	cr_assert_not_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm), "%s", s);
	return (long long)timegm(&tm);
}

static kpt_resp
license_call(const char *method, const char *path, const char *admin,
             const char *body)
{
	kpt_resp r;

	cr_assert_eq(kpt_req(method, path, admin, body, &r), 200, "%s %s: %s",
	             method, path, r.body);
	return r;
}

Test(gaps, validity_change_keeps_renewals, .timeout = 60)
{
	char *admin = kpt_login(kpt_admin_email(), kpt_admin_password());
	const long long day = 86400;
	char path[256], *q, *product, *lic, *delayed, *key;
	long long created, exp;
	kpt_resp r;

	cr_assert_eq(
	    kpt_req("POST", "/v1/products", admin, "{\"name\":\"Gap3\"}", &r),
	    201, "%s", r.body);
	product = strdup(kpt_jstr(r.json, "id"));
	kpt_resp_free(&r);
	q = kpt_jsonf("{s:s, s:s, s:i, s:i, s:I, s:s}", "productId", product,
	              "type", "node-locked", "allowedActivations", 1,
	              "allowedDeactivations", -1, "validity",
	              (json_int_t)(30 * day), "expirationStrategy",
	              "immediate");
	cr_assert_eq(kpt_req("POST", "/v1/licenses", admin, q, &r), 201, "%s",
	             r.body);
	lic = strdup(kpt_jstr(r.json, "id"));
	created = jtime(r.json, "createdAt");
	cr_assert_eq(jtime(r.json, "expiresAt"), created + 30 * day);
	kpt_resp_free(&r);
	free(q);

	/* one renewal: 60 days in all */
	snprintf(path, sizeof(path), "/v1/licenses/%s/renew", lic);
	r = license_call("POST", path, admin, NULL);
	cr_assert_eq(jtime(r.json, "expiresAt"), created + 60 * day, "%s",
	             r.body);
	kpt_resp_free(&r);

	/* a longer term: the current one grows by 60 days, the renewal
	 * stays (it was created_at + 90 days, dropping the renewal) */
	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	r = license_call("PATCH", path, admin, "{\"validity\":7776000}");
	exp = jtime(r.json, "expiresAt");
	cr_assert_eq(exp, created + 120 * day, "expiresAt %lld, want %lld: %s",
	             exp, created + 120 * day, r.body);
	cr_assert_eq(json_integer_value(json_object_get(r.json, "validity")),
	             90 * day);
	kpt_resp_free(&r);
	/* a shorter one moves it back by the difference */
	r = license_call("PATCH", path, admin, "{\"validity\":864000}");
	cr_assert_eq(jtime(r.json, "expiresAt"), created + 40 * day, "%s",
	             r.body);
	kpt_resp_free(&r);
	/* the next renewal adds the new validity */
	snprintf(path, sizeof(path), "/v1/licenses/%s/renew", lic);
	r = license_call("POST", path, admin, NULL);
	cr_assert_eq(jtime(r.json, "expiresAt"), created + 50 * day, "%s",
	             r.body);
	kpt_resp_free(&r);
	/* other fields leave expiresAt alone */
	snprintf(path, sizeof(path), "/v1/licenses/%s", lic);
	r = license_call("PATCH", path, admin, "{\"allowedActivations\":2}");
	cr_assert_eq(jtime(r.json, "expiresAt"), created + 50 * day);
	kpt_resp_free(&r);
	/* 0: perpetual; back to a validity: counted from creation again */
	r = license_call("PATCH", path, admin, "{\"validity\":0}");
	cr_assert(json_is_null(json_object_get(r.json, "expiresAt")), "%s",
	          r.body);
	kpt_resp_free(&r);
	r = license_call("PATCH", path, admin, "{\"validity\":2592000}");
	cr_assert_eq(jtime(r.json, "expiresAt"), created + 30 * day, "%s",
	             r.body);
	kpt_resp_free(&r);

	/* a delayed license not yet activated keeps no expiry */
	q = kpt_jsonf("{s:s, s:s, s:i, s:i, s:I, s:s}", "productId", product,
	              "type", "node-locked", "allowedActivations", 1,
	              "allowedDeactivations", -1, "validity",
	              (json_int_t)(30 * day), "expirationStrategy", "delayed");
	cr_assert_eq(kpt_req("POST", "/v1/licenses", admin, q, &r), 201, "%s",
	             r.body);
	delayed = strdup(kpt_jstr(r.json, "id"));
	kpt_resp_free(&r);
	free(q);
	snprintf(path, sizeof(path), "/v1/licenses/%s", delayed);
	r = license_call("PATCH", path, admin, "{\"validity\":7776000}");
	cr_assert(json_is_null(json_object_get(r.json, "expiresAt")), "%s",
	          r.body);
	key = strdup(kpt_jstr(r.json, "key"));
	kpt_resp_free(&r);
	/* its first activation starts the clock with the new validity; a
	 * change after that moves the running expiry like an immediate one */
	q = kpt_jsonf("{s:s, s:s, s:s, s:s, s:s}", "key", key, "productId",
	              product, "fingerprint", "gap3-machine", "hostname",
	              "gap3", "os", "linux");
	cr_assert_eq(kpt_req("POST", "/v1/activations", NULL, q, &r), 201, "%s",
	             r.body);
	kpt_resp_free(&r);
	free(q);
	r = license_call("GET", path, admin, NULL);
	exp = jtime(r.json, "expiresAt");
	cr_assert_gt(exp, jtime(r.json, "createdAt") + 89 * day, "%s", r.body);
	kpt_resp_free(&r);
	r = license_call("PATCH", path, admin, "{\"validity\":2592000}");
	cr_assert_eq(jtime(r.json, "expiresAt"), exp - 60 * day, "%s", r.body);
	kpt_resp_free(&r);
	free(key);

	free(admin);
	free(product);
	free(lic);
	free(delayed);
}
