/* Releases through the gateway: the vendor's releases and their validation,
 * semver order, what a customer may see, the applications' update check,
 * hostile file names, signed links (expired, altered, another file's),
 * ranges, a 1 GiB file up and down (eight downloads at once) with the
 * gateway's and the release service's peak memory, an upload cut off
 * half-way that leaves nothing behind, and a full disk (a real one: a
 * 2 MiB tmpfs mounted as the release storage; the test runs as root). */
#include "kpt.h"
#include "kpt_http.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

KPT_SUITE(0, {"KEYPORT_RELEASE_MAX_FILE_SIZE=2147483648"})

/* ---- helpers ----------------------------------------------------------------
 */

/* kpt_req_want, freeing body (the callers build it with kpt_jsonf) */
static kpt_resp
req(const char *method, const char *path, const char *token, char *body,
    long want)
{
	kpt_resp r = kpt_req_want(method, path, token, body, want);

	free(body);
	return r;
}

static char *
post_id(const char *path, char *body)
{
	kpt_resp r = req("POST", path, kpt_admin_token(), body, 201);
	char *id = kpt_jdup(&r, "id");

	kpt_resp_free(&r);
	return id;
}

static char *
make_product(const char *name)
{
	return post_id("/v1/products", kpt_jsonf("{s:s}", "name", name));
}

static char *
make_release(const char *product, const char *version, const char *channel,
             const char *platform)
{
	return post_id("/v1/releases",
	               kpt_jsonf("{s:s, s:s, s:s, s:s, s:s, s:s}", "productId",
	                         product, "name", "Build", "version", version,
	                         "channel", channel, "platform", platform,
	                         "notes", "Fixes and features"));
}

static void
publish(const char *rel)
{
	char path[128];
	kpt_resp r;

	snprintf(path, sizeof(path), "/v1/releases/%s/publish", rel);
	r = req("POST", path, kpt_admin_token(), NULL, 200);
	cr_assert(json_is_true(json_object_get(r.json, "published")));
	kpt_resp_free(&r);
}

/* Uploads bytes as name; returns the file id. */
static char *
upload(const char *rel, const char *name, const void *data, size_t len)
{
	char path[600];
	kpt_resp r;
	char *id;

	snprintf(path, sizeof(path), "/v1/releases/%s/files?name=%s", rel,
	         name);
	cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), data, len,
	                          "application/octet-stream", NULL, &r),
	             0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	id = kpt_jdup(&r, "id");
	kpt_resp_free(&r);
	return id;
}

/* A user of a new organization, signed in; *id gets the user's id. */
static char *
make_user(const char *tag, char **id)
{
	char email[128];
	char *org, *token;
	kpt_resp r;

	snprintf(email, sizeof(email), "%s-%d@example.com", tag, (int)getpid());
	org = post_id("/v1/organizations",
	              kpt_jsonf("{s:s, s:s, s:i}", "name", tag, "email", email,
	                        "allowedUsers", -1));
	r = req("POST", "/v1/users", kpt_admin_token(),
	        kpt_jsonf("{s:s, s:s, s:s, s:s, s:s, s:s}", "email", email,
	                  "password", "release-pass-1", "firstName", "F",
	                  "lastName", "L", "role", "user", "organizationId",
	                  org),
	        201);
	*id = kpt_jdup(&r, "id");
	kpt_resp_free(&r);
	free(org);
	token = kpt_login(email, "release-pass-1");
	return token;
}

/* A license of product for user (NULL: none); *key gets its key. */
static char *
make_license(const char *product, const char *user, char **key)
{
	kpt_resp r = req(
	    "POST", "/v1/licenses", kpt_admin_token(),
	    user ? kpt_jsonf("{s:s, s:s, s:i, s:i, s:s}", "productId", product,
	                     "type", "node-locked", "allowedActivations", 3,
	                     "allowedDeactivations", 3, "userId", user)
	         : kpt_jsonf("{s:s, s:s, s:i, s:i}", "productId", product,
	                     "type", "node-locked", "allowedActivations", 3,
	                     "allowedDeactivations", 3),
	    201);
	char *id = kpt_jdup(&r, "id");

	*key = kpt_jdup(&r, "key");
	kpt_resp_free(&r);
	return id;
}

static void
license_op(const char *lic, const char *op)
{
	char path[128];
	kpt_resp r;

	snprintf(path, sizeof(path), "/v1/licenses/%s/%s", lic, op);
	r = req("POST", path, kpt_admin_token(), NULL, 200);
	kpt_resp_free(&r);
}

/* The path part of a download link ("/v1/downloads/..."). */
static const char *
link_path(const char *url)
{
	const char *p = strstr(url, "/v1/downloads/");

	cr_assert_not_null(p, "%s", url);
	return p;
}

static char *
download_url(const char *token, const char *rel, const char *file, long want)
{
	char path[256];
	kpt_resp r;
	char *url = NULL;

	snprintf(path, sizeof(path), "/v1/releases/%s/files/%s/download-url",
	         rel, file);
	r = req("POST", path, token, NULL, want);
	if (want == 200) {
		url = kpt_jdup(&r, "url");
		cr_assert(json_is_string(json_object_get(r.json, "expiresAt")));
	}
	kpt_resp_free(&r);
	return url;
}

static char *
release_dir(const char *sub)
{
	static char buf[600];

	snprintf(buf, sizeof(buf), "%s/data/releases/%s", kpt_dir(), sub);
	return buf;
}

/* Entries of a directory besides . and .. */
static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- releases and their rules -------------------------------------------- */

Test(release, create_update_publish_list_delete)
{
	char *p = make_product("CRUD"), *rel, path[160];
	char *user_id, *user = make_user("crud-user", &user_id);
	int stored;
	kpt_resp r;

	rel = make_release(p, "1.0.0", "stable", "linux-x86_64");
	/* the same (product, version, channel, platform) again: 409 */
	r = req("POST", "/v1/releases", kpt_admin_token(),
	        kpt_jsonf("{s:s, s:s, s:s, s:s}", "productId", p, "name", "x",
	                  "version", "1.0.0", "platform", "linux-x86_64"),
	        409);
	cr_expect_str_eq(kpt_error_code(&r), "RELEASE_EXISTS");
	kpt_resp_free(&r);
	/* bad input: each refused naming its field */
	r = req("POST", "/v1/releases", kpt_admin_token(),
	        kpt_jsonf("{s:s, s:s, s:s, s:s}", "productId", p, "name", "x",
	                  "version", "1.0", "platform", "linux"),
	        400);
	cr_expect_str_eq(kpt_error_code(&r), "INVALID_VERSION");
	cr_expect(strstr(r.body, "version") != NULL);
	kpt_resp_free(&r);
	r = req("POST", "/v1/releases", kpt_admin_token(),
	        kpt_jsonf("{s:s, s:s, s:s, s:s, s:s}", "productId", p, "name",
	                  "x", "version", "1.0.1", "platform", "linux",
	                  "channel", "Not A Channel"),
	        400);
	cr_expect(strstr(r.body, "channel") != NULL, "%s", r.body);
	kpt_resp_free(&r);
	r = req("POST", "/v1/releases", kpt_admin_token(),
	        kpt_jsonf("{s:s, s:s, s:s, s:s}", "productId",
	                  "00000000-0000-4000-8000-000000000000", "name", "x",
	                  "version", "1.0.0", "platform", "linux"),
	        404);
	cr_expect_str_eq(kpt_error_code(&r), "PRODUCT_NOT_FOUND");
	kpt_resp_free(&r);
	r = req("POST", "/v1/releases", kpt_admin_token(),
	        kpt_jsonf("{s:s, s:s}", "productId", p, "name", "x"), 400);
	kpt_resp_free(&r);
	/* a plain user may not manage releases */
	r = req("POST", "/v1/releases", user,
	        kpt_jsonf("{s:s, s:s, s:s, s:s}", "productId", p, "name", "x",
	                  "version", "9.0.0", "platform", "linux"),
	        403);
	kpt_resp_free(&r);

	snprintf(path, sizeof(path), "/v1/releases/%s", rel);
	r = req("PATCH", path, kpt_admin_token(),
	        kpt_jsonf("{s:s, s:s}", "notes", "New notes", "version",
	                  "1.0.1-rc.1"),
	        200);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "notes")),
	                 "New notes");
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "version")),
	                 "1.0.1-rc.1");
	cr_expect(json_is_false(json_object_get(r.json, "published")));
	cr_expect(json_is_null(json_object_get(r.json, "publishedAt")));
	kpt_resp_free(&r);
	r = req("PATCH", path, kpt_admin_token(),
	        kpt_jsonf("{s:s}", "version", "x.y.z"), 400);
	kpt_resp_free(&r);
	publish(rel);
	snprintf(path, sizeof(path), "/v1/releases?productId=%s&published=true",
	         p);
	r = req("GET", path, kpt_admin_token(), NULL, 200);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "total")), 1);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/releases/%s/unpublish", rel);
	r = req("POST", path, kpt_admin_token(), NULL, 200);
	cr_expect(json_is_false(json_object_get(r.json, "published")));
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/releases?productId=%s&published=true",
	         p);
	r = req("GET", path, kpt_admin_token(), NULL, 200);
	cr_expect_eq(json_integer_value(json_object_get(r.json, "total")), 0);
	kpt_resp_free(&r);
	r = req("GET", "/v1/releases?published=maybe", kpt_admin_token(), NULL,
	        400);
	kpt_resp_free(&r);

	/* deleting removes the release and its stored files */
	stored = dir_entries(release_dir("files"));
	free(upload(rel, "app.tar.gz", "0123456789", 10));
	cr_expect_eq(dir_entries(release_dir("files")), stored + 1);
	snprintf(path, sizeof(path), "/v1/releases/%s", rel);
	r = req("DELETE", path, kpt_admin_token(), NULL, 204);
	kpt_resp_free(&r);
	r = req("GET", path, kpt_admin_token(), NULL, 404);
	cr_expect_str_eq(kpt_error_code(&r), "RELEASE_NOT_FOUND");
	kpt_resp_free(&r);
	cr_expect_eq(dir_entries(release_dir("files")), stored);
	r = req("GET", "/v1/releases/not-a-uuid", kpt_admin_token(), NULL, 404);
	kpt_resp_free(&r);
	free(p);
	free(rel);
	free(user);
	free(user_id);
}

Test(release, semver_order_and_latest)
{
	/* created in a shuffled order; expected newest first */
	static const char *const made[] = {
	    "1.9.0",        "2.0.0-rc.1",    "1.10.0",
	    "2.0.0-alpha",  "2.0.0-beta.11", "1.0.0+b.1",
	    "2.0.0-beta.2", "2.0.0+build.7", "2.0.0-alpha.1"};
	static const char *const newest_first[] = {
	    "2.0.0+build.7", "2.0.0-rc.1",    "2.0.0-beta.11",
	    "2.0.0-beta.2",  "2.0.0-alpha.1", "2.0.0-alpha",
	    "1.10.0",        "1.9.0",         "1.0.0+b.1"};
	char *p = make_product("Semver"), *key, *lic, path[200], kh[200];
	const char *hdr[2] = {kh, NULL};
	json_t *items, *it;
	kpt_resp r;
	size_t i;

	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		char *rel = make_release(p, made[i], "stable", "linux-x86_64");
		publish(rel);
		free(rel);
	}
	free(
	    make_release(p, "3.0.0", "beta", "linux-x86_64")); /* unpublished */
	snprintf(path, sizeof(path), "/v1/releases?productId=%s&channel=stable",
	         p);
	r = req("GET", path, kpt_admin_token(), NULL, 200);
	items = json_object_get(r.json, "items");
	cr_assert_eq(json_array_size(items), 9, "%s", r.body);
	json_array_foreach(items, i, it)
	    cr_expect_str_eq(json_string_value(json_object_get(it, "version")),
	                     newest_first[i], "position %zu", i);
	kpt_resp_free(&r);

	lic = make_license(p, NULL, &key);
	snprintf(kh, sizeof(kh), "X-License-Key: %s", key);
	snprintf(path, sizeof(path), "/v1/products/%s/releases/latest", p);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdr, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_expect_str_eq(json_string_value(json_object_get(r.json, "version")),
	                 "2.0.0+build.7");
	kpt_resp_free(&r);
	/* the beta channel has only an unpublished release */
	snprintf(path, sizeof(path),
	         "/v1/products/%s/releases/latest?channel=beta", p);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdr, &r), 0);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(kpt_error_code(&r), "NO_RELEASE");
	kpt_resp_free(&r);
	free(p);
	free(lic);
	free(key);
}

Test(release, latest_follows_the_license)
{
	char *p = make_product("Latest"), *other = make_product("Other");
	char *key, *lic, *rel, *file, path[200], kh[200];
	const char *hdr[2] = {kh, NULL};
	const char *furl;
	kpt_resp r, d;

	rel = make_release(p, "4.2.0", "stable", "windows-x86_64");
	file = upload(rel, "setup.exe", "MZ-installer-bytes", 18);
	publish(rel);
	lic = make_license(p, NULL, &key);
	snprintf(kh, sizeof(kh), "X-License-Key: %s", key);
	snprintf(path, sizeof(path),
	         "/v1/products/%s/releases/latest?platform=windows-x86_64", p);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdr, &r), 0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	furl = json_string_value(json_object_get(
	    json_array_get(json_object_get(r.json, "files"), 0), "url"));
	cr_assert_not_null(furl, "%s", r.body);
	/* the link needs no header */
	cr_assert_eq(kpt_http("GET", link_path(furl), NULL, NULL, NULL, &d), 0);
	cr_expect_eq(d.status, 200);
	cr_expect_eq(d.len, 18);
	cr_expect_eq(memcmp(d.body, "MZ-installer-bytes", 18), 0);
	kpt_resp_free(&d);
	kpt_resp_free(&r);
	/* another platform has nothing */
	snprintf(path, sizeof(path),
	         "/v1/products/%s/releases/latest?platform=macos-arm64", p);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdr, &r), 0);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(kpt_error_code(&r), "NO_RELEASE");
	kpt_resp_free(&r);
	/* the key of another product, an unknown key, no key */
	snprintf(path, sizeof(path), "/v1/products/%s/releases/latest", other);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdr, &r), 0);
	cr_expect_eq(r.status, 403, "%s", r.body);
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/products/%s/releases/latest", p);
	{
		const char *bad[] = {"X-License-Key: NOPE-NOPE-NOPE-NOPE",
		                     NULL};
		cr_assert_eq(kpt_http("GET", path, NULL, NULL, bad, &r), 0);
		cr_expect_eq(r.status, 404);
		cr_expect_str_eq(kpt_error_code(&r), "LICENSE_NOT_FOUND");
		kpt_resp_free(&r);
	}
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 401);
	kpt_resp_free(&r);
	/* suspended, then revoked: 403 with the status's code */
	license_op(lic, "suspend");
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdr, &r), 0);
	cr_expect_eq(r.status, 403);
	cr_expect_str_eq(kpt_error_code(&r), "LICENSE_SUSPENDED");
	kpt_resp_free(&r);
	license_op(lic, "unsuspend");
	license_op(lic, "revoke");
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdr, &r), 0);
	cr_expect_eq(r.status, 403);
	cr_expect_str_eq(kpt_error_code(&r), "LICENSE_REVOKED");
	kpt_resp_free(&r);
	free(p);
	free(other);
	free(key);
	free(lic);
	free(rel);
	free(file);
}

Test(release, customers_see_only_their_products)
{
	char *pa = make_product("Visible A"), *pb = make_product("Visible B");
	char *u1_id, *u1 = make_user("vis-one", &u1_id);
	char *u2_id, *u2 = make_user("vis-two", &u2_id);
	char *u3_id, *u3 = make_user("vis-three", &u3_id);
	char *k1, *k2, *l1, *l2, *ra, *rb, *ru, *fa, *fb, *url;
	json_t *items;
	kpt_resp r;

	l1 = make_license(pa, u1_id, &k1);
	l2 = make_license(pa, u2_id, &k2);
	license_op(l2, "revoke");
	ra = make_release(pa, "1.0.0", "stable", "linux-x86_64");
	rb = make_release(pb, "1.0.0", "stable", "linux-x86_64");
	ru = make_release(pa, "1.1.0", "stable", "linux-x86_64");
	fa = upload(ra, "a.tar.gz", "AAAA", 4);
	fb = upload(rb, "b.tar.gz", "BBBB", 4);
	publish(ra);
	publish(rb);
	/* u1: product A's published release only, with its files */
	r = req("GET", "/v1/me/releases", u1, NULL, 200);
	items = json_object_get(r.json, "items");
	cr_assert_eq(json_array_size(items), 1, "%s", r.body);
	cr_expect_str_eq(
	    json_string_value(json_object_get(json_array_get(items, 0), "id")),
	    ra);
	cr_expect_str_eq(json_string_value(json_object_get(
	                     json_array_get(items, 0), "productName")),
	                 "Visible A");
	cr_expect_eq(
	    json_array_size(json_object_get(json_array_get(items, 0), "files")),
	    1);
	kpt_resp_free(&r);
	/* u2's license is revoked, u3 has none: nothing */
	r = req("GET", "/v1/me/releases", u2, NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(r.json, "items")), 0, "%s",
	             r.body);
	kpt_resp_free(&r);
	r = req("GET", "/v1/me/releases", u3, NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(r.json, "items")), 0);
	kpt_resp_free(&r);
	/* links: u1 for A's file; not B's, not for u2 or u3 */
	url = download_url(u1, ra, fa, 200);
	free(url);
	free(download_url(u1, rb, fb, 404));
	free(download_url(u2, ra, fa, 404));
	free(download_url(u3, ra, fa, 404));
	free(download_url(kpt_admin_token(), rb, fb, 200));
	/* an unpublished release is not anyone's but the vendor's */
	free(upload(ru, "u.tar.gz", "UUUU", 4));
	r = req("GET", "/v1/me/releases", u1, NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(r.json, "items")), 1);
	kpt_resp_free(&r);
	free(pa), free(pb), free(u1_id), free(u1), free(u2_id), free(u2);
	free(u3_id), free(u3), free(k1), free(k2), free(l1), free(l2);
	free(ra), free(rb), free(ru), free(fa), free(fb);
}

Test(release, hostile_file_names_are_refused)
{
	static const char *const names[] = {"..%2Fetc%2Fpasswd",
	                                    "a%2Fb",
	                                    "a%5Cb",
	                                    ".hidden",
	                                    "",
	                                    "a%01b",
	                                    "a%0Ab",
	                                    "..",
	                                    "."};
	char *p = make_product("Names"), *rel, path[800], longname[300];
	kpt_resp r;

	rel = make_release(p, "1.0.0", "stable", "any");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "/v1/releases/%s/files?name=%s",
		         rel, names[i]);
		cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), "x",
		                          1, "application/octet-stream", NULL,
		                          &r),
		             0);
		cr_expect_eq(r.status, 400, "%s: %ld", names[i], r.status);
		cr_expect_str_eq(kpt_error_code(&r), "INVALID_FILE_NAME");
		cr_expect(strstr(r.body, "name") != NULL);
		kpt_resp_free(&r);
	}
	memset(longname, 'a', 256);
	longname[256] = '\0';
	snprintf(path, sizeof(path), "/v1/releases/%s/files?name=%s", rel,
	         longname);
	cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), "x", 1,
	                          "application/octet-stream", NULL, &r),
	             0);
	cr_expect_eq(r.status, 400);
	kpt_resp_free(&r);
	/* no name at all; and a file name taken twice */
	snprintf(path, sizeof(path), "/v1/releases/%s/files", rel);
	cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), "x", 1,
	                          "application/octet-stream", NULL, &r),
	             0);
	cr_expect_eq(r.status, 400);
	kpt_resp_free(&r);
	free(upload(rel, "ok%20name%C3%A9.zip", "x", 1));
	snprintf(path, sizeof(path),
	         "/v1/releases/%s/files?name=ok%%20name%%C3%%A9.zip", rel);
	cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), "y", 1,
	                          "application/octet-stream", NULL, &r),
	             0);
	cr_expect_eq(r.status, 409);
	cr_expect_str_eq(kpt_error_code(&r), "FILE_EXISTS");
	kpt_resp_free(&r);
	/* a plain user cannot upload, before any byte is stored */
	{
		char *uid, *u = make_user("names-user", &uid);
		snprintf(path, sizeof(path), "/v1/releases/%s/files?name=x",
		         rel);
		cr_assert_eq(kpt_http_raw("POST", path, u, "x", 1,
		                          "application/octet-stream", NULL, &r),
		             0);
		cr_expect_eq(r.status, 403);
		kpt_resp_free(&r);
		free(u);
		free(uid);
	}
	cr_expect_eq(dir_entries(release_dir("tmp")), 0);
	free(p);
	free(rel);
}

Test(release, links_expire_and_cannot_be_altered)
{
	char *p = make_product("Links"), *rel, *f1, *f2, *u1, *u2,
	     tampered[400];
	const char *path;
	char *dot;
	kpt_resp r;

	rel = make_release(p, "1.0.0", "stable", "any");
	f1 = upload(rel, "one.bin", "first file", 10);
	f2 = upload(rel, "two.bin", "second file", 11);
	publish(rel);
	u1 = download_url(kpt_admin_token(), rel, f1, 200);
	u2 = download_url(kpt_admin_token(), rel, f2, 200);
	path = link_path(u1);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.len, 10);
	kpt_resp_free(&r);
	/* altered: one character of the signature */
	snprintf(tampered, sizeof(tampered), "%s", path);
	tampered[strlen(tampered) - 1] =
	    tampered[strlen(tampered) - 1] == 'A' ? 'B' : 'A';
	cr_assert_eq(kpt_http("GET", tampered, NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403);
	cr_expect_str_eq(kpt_error_code(&r), "LINK_INVALID");
	kpt_resp_free(&r);
	/* another file's id under this link's signature */
	snprintf(tampered, sizeof(tampered), "/v1/downloads/%s%s", f2,
	         strchr(path + strlen("/v1/downloads/"), '.'));
	cr_assert_eq(kpt_http("GET", tampered, NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403);
	kpt_resp_free(&r);
	/* a later expiry under the old signature */
	snprintf(tampered, sizeof(tampered), "%s", link_path(u2));
	dot = strchr(tampered + strlen("/v1/downloads/"), '.');
	cr_assert_not_null(dot);
	dot[1] = '9';
	cr_assert_eq(kpt_http("GET", tampered, NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403);
	kpt_resp_free(&r);
	/* expired: five minutes and a little later */
	kpt_set_clock("release", 301);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 403);
	cr_expect_str_eq(kpt_error_code(&r), "LINK_EXPIRED");
	kpt_resp_free(&r);
	kpt_set_clock("release", 0);
	free(p), free(rel), free(f1), free(f2), free(u1), free(u2);
}

/* GET path with a Range header. */
static void
ranged(const char *path, const char *range, kpt_resp *r)
{
	char h[128];
	const char *hdr[2] = {h, NULL};

	snprintf(h, sizeof(h), "Range: %s", range);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, hdr, r), 0);
}

Test(release, ranges)
{
	char data[1000], *p = make_product("Ranges"), *rel, *f, *url, *v;
	const char *path;
	kpt_resp r;

	for (int i = 0; i < 1000; i++)
		data[i] = (char)('a' + i % 26);
	rel = make_release(p, "1.0.0", "stable", "any");
	f = upload(rel, "r.bin", data, sizeof(data));
	url = download_url(kpt_admin_token(), rel, f, 200);
	path = link_path(url);
	cr_assert_eq(kpt_http("GET", path, NULL, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.len, 1000);
	v = kpt_header(&r, "Accept-Ranges");
	cr_expect_str_eq(v, "bytes");
	free(v);
	v = kpt_header(&r, "Content-Disposition");
	cr_expect(v && strstr(v, "filename=\"r.bin\""), "%s", v);
	free(v);
	v = kpt_header(&r, "ETag");
	cr_expect(v && strlen(v) == 66, "%s", v);
	free(v);
	kpt_resp_free(&r);
	ranged(path, "bytes=0-9", &r);
	cr_expect_eq(r.status, 206);
	cr_expect_eq(r.len, 10);
	cr_expect_eq(memcmp(r.body, data, 10), 0);
	v = kpt_header(&r, "Content-Range");
	cr_expect_str_eq(v, "bytes 0-9/1000");
	free(v);
	kpt_resp_free(&r);
	ranged(path, "bytes=500-599", &r);
	cr_expect_eq(r.status, 206);
	cr_expect_eq(r.len, 100);
	cr_expect_eq(memcmp(r.body, data + 500, 100), 0);
	kpt_resp_free(&r);
	ranged(path, "bytes=-50", &r);
	cr_expect_eq(r.status, 206);
	cr_expect_eq(r.len, 50);
	cr_expect_eq(memcmp(r.body, data + 950, 50), 0);
	kpt_resp_free(&r);
	ranged(path, "bytes=990-", &r);
	cr_expect_eq(r.status, 206);
	cr_expect_eq(r.len, 10);
	kpt_resp_free(&r);
	ranged(path, "bytes=1000-1010", &r);
	cr_expect_eq(r.status, 416);
	v = kpt_header(&r, "Content-Range");
	cr_expect_str_eq(v, "bytes */1000");
	free(v);
	kpt_resp_free(&r);
	ranged(path, "bytes=0-1,5-6", &r); /* several: the whole file */
	cr_expect_eq(r.status, 200);
	cr_expect_eq(r.len, 1000);
	kpt_resp_free(&r);
	free(p), free(rel), free(f), free(url);
}

/* ---- a 1 GiB file -------------------------------------------------------- */

#define BIG_SIZE (1024LL * 1024 * 1024)

/* Deterministic bytes (xorshift), generated as they are sent. */
typedef struct big_src {
	uint64_t state, sent;
	crypto_hash_sha256_state sha;
} big_src;

static size_t
big_read(char *buf, size_t size, size_t n, void *arg)
{
	big_src *s = arg;
	size_t want = size * n;

	if ((uint64_t)want > (uint64_t)BIG_SIZE - s->sent)
		want = (size_t)((uint64_t)BIG_SIZE - s->sent);
	want &= ~(size_t)7;
	if (want == 0 && s->sent < (uint64_t)BIG_SIZE)
		want = (size_t)((uint64_t)BIG_SIZE - s->sent);
	for (size_t i = 0; i + 8 <= want; i += 8) {
		s->state ^= s->state << 13;
		s->state ^= s->state >> 7;
		s->state ^= s->state << 17;
		memcpy(buf + i, &s->state, 8);
	}
	crypto_hash_sha256_update(&s->sha, (unsigned char *)buf, want);
	s->sent += want;
	return want;
}

typedef struct big_sink {
	uint64_t got;
	crypto_hash_sha256_state sha;
	char hex[65];
	long status;
	char url[600];
} big_sink;

static size_t
big_write(char *buf, size_t size, size_t n, void *arg)
{
	big_sink *s = arg;

	crypto_hash_sha256_update(&s->sha, (unsigned char *)buf, size * n);
	s->got += size * n;
	return size * n;
}

static void *
big_download(void *arg)
{
	big_sink *s = arg;
	unsigned char h[32];
	CURL *c = curl_easy_init();

	crypto_hash_sha256_init(&s->sha);
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, big_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
	curl_easy_cleanup(c);
	crypto_hash_sha256_final(&s->sha, h);
	sodium_bin2hex(s->hex, sizeof(s->hex), h, sizeof(h));
	return NULL;
}

/* VmHWM (peak resident memory) of a stack process, in KiB. */
static long
peak_kib(const char *name)
{
	char path[600], line[256];
	long kib = -1;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/pids/%s.pid", kpt_dir(), name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

Test(release, one_gib_up_and_down, .timeout = 600)
{
	char *p = make_product("Big"), *rel, *f, *url, upurl[600], auth[600];
	big_src src = {.state = 0x9e3779b97f4a7c15ULL};
	big_sink sinks[8];
	pthread_t th[8];
	struct curl_slist *hs = NULL;
	unsigned char h[32];
	char want[65], body[4096] = "";
	kpt_resp r;
	long status = 0, gw0, rel0, gw1, rel1;
	CURL *c;

	rel = make_release(p, "1.0.0", "stable", "linux-x86_64");
	gw0 = peak_kib("gateway");
	rel0 = peak_kib("release");
	crypto_hash_sha256_init(&src.sha);
	snprintf(upurl, sizeof(upurl), "%s/v1/releases/%s/files?name=big.bin",
	         kpt_url(), rel);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	         kpt_admin_token());
	hs = curl_slist_append(hs, auth);
	hs = curl_slist_append(hs, "Content-Type: application/octet-stream");
	hs = curl_slist_append(hs, "Expect:");
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, upurl);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, big_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &src);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)BIG_SIZE);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
	{
		FILE *mem = fmemopen(body, sizeof(body) - 1, "w");
		curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
		cr_assert_eq(curl_easy_perform(c), CURLE_OK);
		fclose(mem);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hs);
	cr_assert_eq(status, 201, "%s", body);
	crypto_hash_sha256_final(&src.sha, h);
	sodium_bin2hex(want, sizeof(want), h, sizeof(h));
	{
		json_t *j = json_loads(body, 0, NULL);
		cr_assert_not_null(j, "%s", body);
		cr_expect_str_eq(
		    json_string_value(json_object_get(j, "sha256")), want);
		cr_expect_eq(json_integer_value(json_object_get(j, "size")),
		             BIG_SIZE);
		f = strdup(json_string_value(json_object_get(j, "id")));
		json_decref(j);
	}
	url = download_url(kpt_admin_token(), rel, f, 200);
	/* eight downloads at once, each hashed as it arrives */
	memset(sinks, 0, sizeof(sinks));
	for (int i = 0; i < 8; i++) {
		snprintf(sinks[i].url, sizeof(sinks[i].url), "%s%s", kpt_url(),
		         link_path(url));
		cr_assert_eq(
		    pthread_create(&th[i], NULL, big_download, &sinks[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(sinks[i].status, 200);
		cr_expect_eq(sinks[i].got, (uint64_t)BIG_SIZE);
		cr_expect_str_eq(sinks[i].hex, want, "download %d", i);
	}
	gw1 = peak_kib("gateway");
	rel1 = peak_kib("release");
	cr_log_info("1 GiB up, 8 x 1 GiB down: peak memory (VmHWM) gateway "
	            "%ld KiB (%ld before), release %ld KiB (%ld before)",
	            gw1, gw0, rel1, rel0);
	fprintf(stderr,
	        "release: VmHWM gateway %ld KiB, release %ld KiB after 1 GiB "
	        "up and 8 x 1 GiB down\n",
	        gw1, rel1);
	/* the file's size never shows in memory: the peak grows by less than
	 * a few MiB over the run. The bound (64 MiB in all) holds for
	 * a normal build; under ASan the shadow memory alone is above it */
	cr_expect_lt(gw1 - gw0, 16 * 1024, "gateway grew %ld KiB", gw1 - gw0);
	cr_expect_lt(rel1 - rel0, 16 * 1024, "release grew %ld KiB",
	             rel1 - rel0);
#ifndef __SANITIZE_ADDRESS__
	cr_expect_lt(gw1, 64 * 1024, "gateway peak %ld KiB", gw1);
	cr_expect_lt(rel1, 64 * 1024, "release peak %ld KiB", rel1);
#endif
	/* the downloads are counted */
	{
		char path[128];
		snprintf(path, sizeof(path), "/v1/releases/%s", rel);
		r = req("GET", path, kpt_admin_token(), NULL, 200);
		cr_expect_eq(
		    json_integer_value(json_object_get(
		        json_array_get(json_object_get(r.json, "files"), 0),
		        "downloads")),
		    8);
		kpt_resp_free(&r);
		r = req("DELETE", path, kpt_admin_token(), NULL, 204);
		kpt_resp_free(&r);
	}
	free(p), free(rel), free(f), free(url);
}

/* Sends the headers of an upload of declared bytes and only sent of them,
 * then closes; returns the first line of the answer read ("" if none). */
static void
raw_upload(const char *rel, long long declared, long long sent, char *line,
           size_t len)
{
	struct sockaddr_in a = {0};
	const char *u = kpt_url(), *port = strrchr(u, ':');
	char head[2048], chunk[65536];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;

	cr_assert(fd >= 0 && port != NULL);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(port + 1));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(head, sizeof(head),
	         "POST /v1/releases/%s/files?name=cut.bin HTTP/1.1\r\n"
	         "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
	         "Content-Type: application/octet-stream\r\n"
	         "Content-Length: %lld\r\n\r\n",
	         rel, kpt_admin_token(), declared);
	cr_assert_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	memset(chunk, 'z', sizeof(chunk));
	for (long long done = 0; done < sent;) {
		size_t k = sent - done < (long long)sizeof(chunk)
		               ? (size_t)(sent - done)
		               : sizeof(chunk);
		if ((n = write(fd, chunk, k)) <= 0)
			break;
		done += n;
	}
	line[0] = '\0';
	if (sent == 0) {
		n = read(fd, line, len - 1);
		line[n > 0 ? n : 0] = '\0';
	} else {
		/* cut off: the connection is reset, as when a client or a
		 * proxy between dies (a plain close is noticed at the
		 * connection timeout instead) */
		struct linger lg = {1, 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
}

Test(release, interrupted_upload_leaves_nothing)
{
	char *p = make_product("Cut"), *rel, path[128], line[512];
	int stored = dir_entries(release_dir("files"));
	kpt_resp r;

	rel = make_release(p, "1.0.0", "stable", "any");
	raw_upload(rel, 64LL * 1024 * 1024, 32LL * 1024 * 1024, line,
	           sizeof(line));
	/* the gateway notices the close and removes its temporary file */
	for (int i = 0; i < 200 && dir_entries(release_dir("tmp")) > 0; i++)
		usleep(50000);
	cr_expect_eq(dir_entries(release_dir("tmp")), 0);
	cr_expect_eq(dir_entries(release_dir("files")), stored);
	snprintf(path, sizeof(path), "/v1/releases/%s", rel);
	r = req("GET", path, kpt_admin_token(), NULL, 200);
	cr_expect_eq(json_array_size(json_object_get(r.json, "files")), 0);
	kpt_resp_free(&r);
	/* over the size limit: 413 before any byte is stored */
	raw_upload(rel, 3LL * 1024 * 1024 * 1024, 0, line, sizeof(line));
	cr_expect(strstr(line, " 413 ") != NULL, "%s", line);
	cr_expect_eq(dir_entries(release_dir("tmp")), 0);
	free(p);
	free(rel);
}

/* ---- a full disk ----------------------------------------------------------
 */

/* Unmounts the tmpfs of full_disk_upload_is_507_and_leaves_nothing, also
 * when the test failed (the stack's own files are under it). */
static void
full_disk_fini(void)
{
	umount2(release_dir(""), MNT_DETACH);
}

static unsigned long long
free_bytes(const char *dir)
{
	struct statvfs v;

	cr_assert_eq(statvfs(dir, &v), 0);
	return (unsigned long long)v.f_bavail * v.f_frsize;
}

/* The release storage on a file system that fills up: an upload larger
 * than what is left is 507 INSUFFICIENT_STORAGE in the spec's shape, and
 * nothing is half-written: no temporary file, no file row, no stored file,
 * the space free again. A file that fits is stored on the same storage. */
Test(release, full_disk_upload_is_507_and_leaves_nothing, .timeout = 120,
     .fini = full_disk_fini)
{
	char *p = make_product("Full"), *rel, *fid, path[160];
	size_t big = 3 * 1024 * 1024, small = 512 * 1024;
	char *data = malloc(big);
	unsigned long long before;
	kpt_resp r;

	cr_assert_not_null(data);
	memset(data, 'k', big);
	rel = make_release(p, "1.0.0", "stable", "any");
	cr_assert_eq(mount("tmpfs", release_dir(""), "tmpfs", MS_NOSUID | MS_NODEV,
	                   "size=2m,mode=0750"),
	             0, "mounting a tmpfs on %s needs root: %s", release_dir(""),
	             strerror(errno));
	cr_assert_eq(mkdir(release_dir("files"), 0750), 0);
	cr_assert_eq(mkdir(release_dir("tmp"), 0750), 0);
	before = free_bytes(release_dir(""));
	cr_assert_lt(before, big);

	snprintf(path, sizeof(path), "/v1/releases/%s/files?name=big.bin", rel);
	cr_assert_eq(kpt_http_raw("POST", path, kpt_admin_token(), data, big,
	                          "application/octet-stream", NULL, &r),
	             0);
	cr_assert_eq(r.status, 507, "%s", r.body);
	cr_assert_str_eq(kpt_error_code(&r), "INSUFFICIENT_STORAGE");
	cr_assert(json_is_string(json_object_get(
	              json_object_get(r.json, "error"), "message")),
	          "%s", r.body);
	kpt_resp_free(&r);
	/* the gateway removes its temporary file when the request ends */
	for (int i = 0; i < 200 && dir_entries(release_dir("tmp")) > 0; i++)
		usleep(50000);
	cr_assert_eq(dir_entries(release_dir("tmp")), 0,
	             "a half-written upload was left");
	cr_assert_eq(dir_entries(release_dir("files")), 0);
	cr_assert_eq(free_bytes(release_dir("")), before);
	snprintf(path, sizeof(path), "/v1/releases/%s", rel);
	r = req("GET", path, kpt_admin_token(), NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(r.json, "files")), 0,
	             "a file row claims the failed upload: %s", r.body);
	kpt_resp_free(&r);

	/* the same storage takes a file that fits, then gives the space back */
	fid = upload(rel, "small.bin", data, small);
	cr_assert_eq(dir_entries(release_dir("files")), 1);
	snprintf(path, sizeof(path), "/v1/releases/%s/files/%s", rel, fid);
	r = req("DELETE", path, kpt_admin_token(), NULL, 204);
	kpt_resp_free(&r);
	cr_assert_eq(dir_entries(release_dir("files")), 0);
	cr_assert_eq(dir_entries(release_dir("tmp")), 0);
	free(fid);
	free(rel);
	free(p);
	free(data);
}

/* ---- the keyport tool, as a CI job uses it ---------------------------------
 */

/* Runs the keyport tool with the environment given; its stdout into out. */
static int
tool(const char *env, const char *args, char *out, size_t len)
{
	char cmd[2048];
	size_t n;
	FILE *f;
	int st;

	snprintf(cmd, sizeof(cmd), "%s '%s/keyport' %s 2>&1", env,
	         getenv("KEYPORT_BIN_DIR"), args);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(release, keyport_tool_publishes_a_build, .timeout = 120)
{
	char *p = make_product("Pipeline"), env[600], out[8192], args[1200],
	     file[600], *rel;
	kpt_resp r;
	json_t *j;
	FILE *f;

	r = req("POST", "/v1/personal-access-tokens", kpt_admin_token(),
	        kpt_jsonf("{s:s, s:i}", "name", "ci", "expiresInDays", 1), 201);
	snprintf(env, sizeof(env), "KEYPORT_SERVER='%s' KEYPORT_TOKEN='%s'",
	         kpt_url(),
	         json_string_value(json_object_get(r.json, "token")));
	kpt_resp_free(&r);
	snprintf(
	    args, sizeof(args),
	    "--json release create --product %s --name 'Build 7' --version "
	    "2.1.0 --platform linux-x86_64",
	    p);
	cr_assert_eq(tool(env, args, out, sizeof(out)), 0, "%s", out);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	rel = strdup(json_string_value(json_object_get(j, "id")));
	json_decref(j);
	snprintf(file, sizeof(file), "%s/app-2.1.0.tar.gz", kpt_dir());
	f = fopen(file, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 100000; i++)
		fputs("release bytes ", f);
	fclose(f);
	snprintf(args, sizeof(args), "--json release upload %s '%s'", rel,
	         file);
	cr_assert_eq(tool(env, args, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, "app-2.1.0.tar.gz") != NULL, "%s", out);
	cr_expect(strstr(out, "1400000") != NULL, "%s", out);
	snprintf(args, sizeof(args), "--json release publish %s", rel);
	cr_assert_eq(tool(env, args, out, sizeof(out)), 0, "%s", out);
	snprintf(args, sizeof(args), "--json release list --product %s", p);
	cr_assert_eq(tool(env, args, out, sizeof(out)), 0, "%s", out);
	cr_expect(strstr(out, rel) != NULL && strstr(out, "2.1.0") != NULL,
	          "%s", out);
	/* a refused token: exit 12 */
	cr_expect_eq(tool("KEYPORT_TOKEN=kp_pat_wrong KEYPORT_SERVER=http://"
	                  "127.0.0.1:1",
	                  "release list", out, sizeof(out)) != 0,
	             1);
	free(p);
	free(rel);
}
