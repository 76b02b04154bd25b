/* The defects a hostile tester found (issue 19), one test each, over HTTP
 * and raw sockets against the whole stack: ids canonical at the boundary,
 * exact paths, no 500 on hostile text, per-address limits and deadlines,
 * lengths in characters, 400s that name the field, and the smaller ones. */
#include "kpt.h"
#include "kpt_http.h"

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

/* small limits, so that the tests reach them */
#define PER_IP_LIMIT 16
KPT_SUITE(.env = {"KEYPORT_HTTP_PER_IP_LIMIT=16",
                  "KEYPORT_HTTP_HEADER_TIMEOUT=2",
                  "KEYPORT_HTTP_BODY_TIMEOUT=3"})

static char *
my_id(const char *token)
{
	kpt_resp r;
	char *id;

	cr_assert_eq(kpt_req("GET", "/v1/me", token, NULL, &r), 200);
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
	cr_expect_eq(kpt_req("PATCH", path, admin, "{\"role\":\"user\"}", &r),
	             409, "PATCH own id in capitals: %s", r.body);
	cr_expect_str_eq(kpt_error_code(&r), "CANNOT_MODIFY_SELF");
	kpt_resp_free(&r);
	cr_expect_eq(kpt_req("PATCH", path, admin, "{\"disabled\":true}", &r),
	             409, "disable own id in capitals: %s", r.body);
	kpt_resp_free(&r);
	cr_expect_eq(kpt_req("DELETE", path, admin, NULL, &r), 409,
	             "DELETE own id in capitals: %s", r.body);
	cr_expect_str_eq(kpt_error_code(&r), "CANNOT_MODIFY_SELF");
	kpt_resp_free(&r);
	/* still the admin: the guard held */
	cr_assert_eq(kpt_req("GET", "/v1/users", admin, NULL, NULL), 200);
	free(id);
}

/* ---- raw HTTP --------------------------------------------------------- */

static int
gw_port(void)
{
	const char *u = strrchr(kpt_url(), ':');

	cr_assert_not_null(u);
	return atoi(u + 1);
}

/* A connection to the gateway from the loopback address from (e.g.
 * "127.0.0.2"; NULL: any). */
static int
raw_connect_from(const char *from)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	if (from != NULL) {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		inet_pton(AF_INET, from, &a.sin_addr);
		cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0,
		             "bind %s: %s", from, strerror(errno));
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)gw_port());
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0,
	             "connect: %s", strerror(errno));
	return fd;
}

static int
raw_connect(void)
{
	return raw_connect_from(NULL);
}

/* Reads until the peer closes, cap is full or timeout_ms of silence;
 * returns the bytes read. */
static size_t
raw_read(int fd, char *out, size_t cap, int timeout_ms)
{
	size_t n = 0;

	while (n + 1 < cap) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t k;

		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		k = recv(fd, out + n, cap - 1 - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	out[n] = '\0';
	return n;
}

/* raw sends n bytes as one request and returns the status of the answer
 * (0 when none); *body (when given) gets the answer's body (malloc'd). */
static int
raw(const char *bytes, size_t n, char **body)
{
	char buf[65536];
	int fd = raw_connect(), status = 0;
	const char *b;

	cr_assert_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
	raw_read(fd, buf, sizeof(buf), 10000);
	close(fd);
	sscanf(buf, "HTTP/1.%*d %d", &status);
	b = strstr(buf, "\r\n\r\n");
	if (body != NULL)
		*body = strdup(b ? b + 4 : "");
	return status;
}

#define RAW(lit, body) raw((lit), sizeof(lit) - 1, (body))

/* A JSON error of the spec's shape: {"error":{"code":..,"message":..}}. */
static void
assert_error_shape(const char *body, const char *what)
{
	json_error_t e;
	json_t *j = json_loads(body, 0, &e), *err;

	cr_assert_not_null(j, "%s: not JSON: %s", what, body);
	err = json_object_get(j, "error");
	cr_assert(json_is_string(json_object_get(err, "code")) &&
	              json_is_string(json_object_get(err, "message")),
	          "%s: not an error: %s", what, body);
	json_decref(j);
}

/* ---- defect 3: NUL and encoded slashes, exact paths ------------------ */

Test(hostile, nul_and_encoded_slash_in_the_path_are_400, .timeout = 60)
{
	const char *admin = kpt_admin_token();
	static const char *const bad[] = {
	    "/v1/licenses/%00/suspend",
	    "/v1/activations/%00/heartbeat",
	    "/v1/users/%00x",
	    "/v1%2Fme",
	    "/v1%2fme",
	    "/v1/users?organizationId=%00",
	};
	char head[512], *body;
	int st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kpt_resp r;
		cr_expect_eq(kpt_req("POST", bad[i], admin, "{}", &r), 400,
		             "POST %s: %ld %s", bad[i], r.status, r.body);
		kpt_resp_free(&r);
		cr_expect_eq(kpt_req("GET", bad[i], admin, NULL, &r), 400,
		             "GET %s: %ld %s", bad[i], r.status, r.body);
		assert_error_shape(r.body, bad[i]);
		kpt_resp_free(&r);
	}
	/* a raw NUL byte in the request line */
	snprintf(
	    head, sizeof(head),
	    "GET /v1/users/ x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer "
	    "%s\r\nConnection: close\r\n\r\n",
	    admin);
	head[14] = '\0';
	st = raw(head, strlen(head + 15) + 15, &body);
	cr_expect(st == 400, "raw NUL in the path: %d %s", st, body);
	free(body);
	/* a route matches its exact path */
	cr_expect_eq(kpt_req("GET", "/v1/me/", admin, NULL, NULL), 404);
	cr_expect_eq(kpt_req("GET", "/v1//me", admin, NULL, NULL), 404);
	cr_expect_eq(kpt_req("GET", "/v1/users/", admin, NULL, NULL), 404);
	cr_expect_eq(kpt_req("GET", "/v1/me", admin, NULL, NULL), 200);
}

/* ---- defect 4: no 500, text cut on a character boundary -------------- */

Test(hostile, text_from_input_is_cut_on_a_character_boundary, .timeout = 60)
{
	const char *admin = kpt_admin_token();
	char key[80], body[256], *raw_body = NULL;
	kpt_resp r;
	int st;

	memset(key, 'k', 63);
	strcpy(key + 63, "\xc3\xa9"); /* é */
	snprintf(body, sizeof(body),
	         "{\"productId\":\"00000000-0000-4000-8000-000000000000\","
	         "\"metadata\":{\"%s\":1}}",
	         key);
	cr_assert_eq(kpt_req("POST", "/v1/licenses", admin, body, &r), 400,
	             "%ld %s", r.status, r.body);
	assert_error_shape(r.body, "metadata key");
	cr_expect_not_null(strstr(r.body, "metadata."), "%s", r.body);
	kpt_resp_free(&r);
	/* a method with byte 0xff */
	st = RAW(
	    "G\xff T /v1/me HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
	    &raw_body);
	cr_expect(st >= 400 && st < 500, "method 0xff: %d", st);
	assert_error_shape(raw_body, "method 0xff");
	free(raw_body);
}

/* ---- defect 5: per-address limit, header and body deadlines ---------- */

/* Sends a /healthz request on fd and returns the answer's status (0: the
 * connection was closed without one). The connection stays open. */
static int
healthz_on(int fd)
{
	static const char q[] = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
	char buf[4096];
	int status = 0;
	size_t n = 0;

	if (send(fd, q, sizeof(q) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(q) - 1)
		return 0;
	/* one answer: read until its body (small, JSON) has come */
	while (n + 1 < sizeof(buf)) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t k;
		char *h;
		long len;

		if (poll(&p, 1, 10000) <= 0)
			break;
		if ((k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0)) <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
		if ((h = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "Content-Length:");
			len = cl ? atol(cl + 15) : 0;
			if ((size_t)(h + 4 - buf) + (size_t)len <= n)
				break;
		}
	}
	buf[n] = '\0';
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

/* Whether the peer closed fd within timeout_ms (recv sees the end). */
static int
closed_within(int fd, int timeout_ms)
{
	char b[512];
	struct pollfd p = {fd, POLLIN, 0};

	while (poll(&p, 1, timeout_ms) > 0) {
		ssize_t k = recv(fd, b, sizeof(b), 0);
		if (k <= 0)
			return 1;
	}
	return 0;
}

Test(hostile, one_address_cannot_take_every_connection, .timeout = 60)
{
	int fds[PER_IP_LIMIT], extra, other;

	for (int i = 0; i < PER_IP_LIMIT; i++) {
		fds[i] = raw_connect();
		cr_assert_eq(healthz_on(fds[i]), 200, "connection %d", i);
	}
	/* the address is at its limit: one more is closed, unanswered */
	extra = raw_connect();
	cr_expect_eq(healthz_on(extra), 0,
	             "connection %d past the per-address limit answered",
	             PER_IP_LIMIT + 1);
	close(extra);
	/* another address is served all the same */
	other = raw_connect_from("127.0.0.2");
	cr_expect_eq(healthz_on(other), 200, "another address was refused");
	close(other);
	for (int i = 0; i < PER_IP_LIMIT; i++)
		close(fds[i]);
}

Test(hostile, slowloris_headers_and_body_are_closed, .timeout = 60)
{
	static const char head[] = "POST /v1/auth/login HTTP/1.1\r\nHost: a\r\n"
	                           "Content-Type: application/json\r\n"
	                           "Content-Length: 200\r\n\r\n";
	int fd = raw_connect(), closed = 0, sent = 0;

	/* headers trickled a byte every 0.25 s: never idle, never complete;
	 * the header deadline (2 s here) closes it long before 60 bytes */
	cr_assert_eq(
	    send(fd, "GET /healthz HTTP/1.1\r\nX-A: ", 29, MSG_NOSIGNAL), 29);
	for (; sent < 60 && !closed; sent++) {
		if (send(fd, "a", 1, MSG_NOSIGNAL) != 1)
			closed = 1;
		else
			closed = closed_within(fd, 250);
	}
	cr_expect(closed, "a trickled header was still open after %d bytes",
	          sent);
	close(fd);
	/* the same with the body (deadline 3 s): 200 bytes announced */
	fd = raw_connect();
	cr_assert_eq(send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL),
	             (ssize_t)sizeof(head) - 1);
	closed = 0;
	for (sent = 0; sent < 60 && !closed; sent++) {
		if (send(fd, " ", 1, MSG_NOSIGNAL) != 1)
			closed = 1;
		else
			closed = closed_within(fd, 250);
	}
	cr_expect(closed, "a trickled body was still open after %d bytes",
	          sent);
	close(fd);
	/* the gateway still answers */
	cr_assert_eq(kpt_req("GET", "/healthz", NULL, NULL, NULL), 200);
}

/* ---- defect 7: length limits count characters ------------------------ */

/* n copies of the two-byte "é" (malloc'd). */
static char *
e_acute(int n)
{
	char *s = malloc((size_t)n * 2 + 1);

	for (int i = 0; i < n; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[2 * n] = '\0';
	return s;
}

Test(hostile, length_limits_count_characters, .timeout = 60)
{
	const char *admin = kpt_admin_token();
	char *e200 = e_acute(200), *e201 = e_acute(201), *body, pid[64];
	char *e100 = e_acute(100);
	kpt_resp r;

	/* a product's name: at most 200 characters (400 bytes here) */
	body = kpt_jsonf("{s:s}", "name", e200);
	cr_assert_eq(kpt_req("POST", "/v1/products", admin, body, &r), 201,
	             "name of 200 x é: %ld %s", r.status, r.body);
	snprintf(pid, sizeof(pid), "%s",
	         json_string_value(json_object_get(r.json, "id")));
	kpt_resp_free(&r);
	free(body);
	body = kpt_jsonf("{s:s}", "name", e201);
	cr_expect_eq(kpt_req("POST", "/v1/products", admin, body, &r), 400);
	cr_expect_not_null(strstr(r.body, "characters"), "%s", r.body);
	kpt_resp_free(&r);
	free(body);
	/* an organization's name, and a user's first name */
	body = kpt_jsonf("{s:s}", "name", e200);
	cr_expect_eq(kpt_req("POST", "/v1/organizations", admin, body, &r), 201,
	             "organization of 200 x é: %ld %s", r.status, r.body);
	kpt_resp_free(&r);
	free(body);
	body = kpt_jsonf("{s:s}", "firstName", e100);
	cr_expect_eq(kpt_req("PATCH", "/v1/me", admin, body, &r), 200,
	             "firstName of 100 x é: %ld %s", r.status, r.body);
	kpt_resp_free(&r);
	free(body);
	/* a license's metadata value */
	body = kpt_jsonf("{s:s, s:{s:s}}", "productId", pid, "metadata", "k",
	                 e200);
	cr_expect_eq(kpt_req("POST", "/v1/licenses", admin, body, &r), 201,
	             "metadata of 200 x é: %ld %s", r.status, r.body);
	kpt_resp_free(&r);
	free(body);
	free(e100);
	free(e200);
	free(e201);
}

/* ---- defect 8: 400s name the field or the byte and the reason -------- */

static char *
create_license(const char *admin)
{
	char *body = kpt_jsonf("{s:s}", "name", "hostile product"), *lid;
	kpt_resp r;

	cr_assert_eq(kpt_req("POST", "/v1/products", admin, body, &r), 201);
	free(body);
	body = kpt_jsonf("{s:s}", "productId",
	                 json_string_value(json_object_get(r.json, "id")));
	kpt_resp_free(&r);
	cr_assert_eq(kpt_req("POST", "/v1/licenses", admin, body, &r), 201,
	             "%s", r.body);
	free(body);
	lid = strdup(json_string_value(json_object_get(r.json, "id")));
	kpt_resp_free(&r);
	return lid;
}

Test(hostile, bad_json_gets_the_byte_and_the_reason, .timeout = 60)
{
	const char *admin = kpt_admin_token();
	static const struct {
		const char *body;
		size_t len;
		const char *reason;
	} cases[] = {
#define C(lit, why) {lit, sizeof(lit) - 1, why}
	    C("{\"name\":\"a\0b\"}", "control character 0x0"),
	    C("{\"name\":\"\\u0000\"}", "NUL"),
	    C("{\"name\":\"\xff\"}", "UTF-8"),
	    C("{\"name\":\"\\ud800\"}", "Unicode"),
	    C("{\"n\":9223372036854775808}", "range"),
	    C("{\"n\":1e309}", "range"),
	    C("{\"n\":NaN}", "invalid token"),
	    C("{\"name\":\"a\",\"name\":\"b\"}", "duplicate"),
#undef C
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kpt_resp r;
		const char *msg;

		cr_assert_eq(kpt_http_raw("POST", "/v1/products", admin,
		                          cases[i].body, cases[i].len,
		                          "application/json", NULL, &r),
		             0);
		cr_expect_eq(r.status, 400, "case %zu: %ld %s", i, r.status,
		             r.body);
		msg = json_string_value(json_object_get(
		    json_object_get(r.json, "error"), "message"));
		cr_expect(msg != NULL && strstr(msg, "at byte ") != NULL &&
		              strstr(msg, cases[i].reason) != NULL,
		          "case %zu: no byte or reason '%s': %s", i,
		          cases[i].reason, r.body);
		kpt_resp_free(&r);
	}
}

Test(hostile, offline_routes_name_the_bad_field, .timeout = 60)
{
	const char *admin = kpt_admin_token();
	char *lid = create_license(admin), path[128];
	static const struct {
		const char *file, *field;
	} cases[] = {
	    {"{\"format\":\"nope\"}", "format"},
	    {"{\"format\":\"keyport-offline\",\"version\":\"1\"}", "version"},
	    {"{\"format\":\"keyport-offline\",\"version\":2}", "version"},
	    {"{\"format\":\"keyport-offline\",\"version\":1,\"type\":\"x\"}",
	     "type"},
	    {"{\"format\":\"keyport-offline\",\"version\":1,"
	     "\"type\":\"activation-request\",\"checksum\":\"!!\"}",
	     "checksum"},
	    {"{\"format\":\"keyport-offline\",\"version\":1,"
	     "\"type\":\"activation-request\",\"checksum\":"
	     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
	     "checksum"},
	    {"{\"format\":", "byte"},
	};

	snprintf(path, sizeof(path), "/v1/licenses/%s/offline-activations",
	         lid);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kpt_resp r;
		const char *msg;

		cr_assert_eq(kpt_req("POST", path, admin, cases[i].file, &r) /
		                 100,
		             4, "case %zu: %ld %s", i, r.status, r.body);
		msg = json_string_value(json_object_get(
		    json_object_get(r.json, "error"), "message"));
		cr_expect(msg != NULL && strstr(msg, cases[i].field) != NULL,
		          "case %zu: %s not named: %s", i, cases[i].field,
		          r.body);
		kpt_resp_free(&r);
	}
	free(lid);
}

/* ---- defect 9: the smaller ones --------------------------------------- */

Test(hostile, empty_role_is_refused, .timeout = 60)
{
	const char *admin = kpt_admin_token();
	char *body =
	    kpt_jsonf("{s:s, s:s, s:s}", "email", "empty-role@example.com",
	              "password", "correct horse 1", "role", "");
	kpt_resp r;

	cr_expect_eq(kpt_req("POST", "/v1/users", admin, body, &r), 400,
	             "%ld %s", r.status, r.body);
	cr_expect_not_null(strstr(r.body, "role"), "%s", r.body);
	kpt_resp_free(&r);
	free(body);
	/* nobody was made */
	cr_expect_eq(kpt_req("GET", "/v1/users?q=empty-role", admin, NULL, &r),
	             200);
	cr_expect_null(strstr(r.body, "empty-role@example.com"), "%s", r.body);
	kpt_resp_free(&r);
}

Test(hostile, json_routes_refuse_other_content_types, .timeout = 60)
{
	const char *admin = kpt_admin_token();
	static const char body[] = "{\"name\":\"typed\"}";
	static const char *const bad[] = {"text/plain", "application/xml",
	                                  "application/x-www-form-urlencoded",
	                                  "multipart/form-data; boundary=x"};
	kpt_resp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(kpt_http_raw("POST", "/v1/products", admin, body,
		                          sizeof(body) - 1, bad[i], NULL, &r),
		             0);
		cr_expect_eq(r.status, 415, "%s: %ld %s", bad[i], r.status,
		             r.body);
		cr_expect_str_eq(kpt_error_code(&r), "UNSUPPORTED_MEDIA_TYPE");
		kpt_resp_free(&r);
	}
	cr_assert_eq(kpt_http_raw("POST", "/v1/products", admin, body,
	                          sizeof(body) - 1,
	                          "application/json; charset=utf-8", NULL, &r),
	             0);
	cr_expect_eq(r.status, 201, "%ld %s", r.status, r.body);
	kpt_resp_free(&r);
}

Test(hostile, http_framing_errors_are_json_400s, .timeout = 60)
{
	char *body = NULL;
	int st;

	st = RAW("POST /v1/auth/login HTTP/1.1\r\nHost: a\r\n"
	         "Content-Type: application/json\r\nContent-Length: 2\r\n"
	         "Content-Length: 40\r\nConnection: close\r\n\r\n{}",
	         &body);
	cr_expect_eq(st, 400, "two Content-Length: %d %s", st, body);
	assert_error_shape(body, "two Content-Length");
	free(body);
	st = RAW("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", &body);
	cr_expect_eq(st, 400, "HTTP/1.1 without Host: %d %s", st, body);
	assert_error_shape(body, "no Host");
	free(body);
	/* HTTP/1.0 needs no Host */
	st = RAW("GET /healthz HTTP/1.0\r\n\r\n", &body);
	cr_expect_eq(st, 200, "HTTP/1.0: %d %s", st, body);
	free(body);
}

Test(hostile, logs_are_private, .timeout = 60)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/logs", kpt_dir());
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0700, "logs/ is %o", st.st_mode & 0777);
	snprintf(path, sizeof(path), "%s/logs/gateway.log", kpt_dir());
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "gateway.log is %o",
	             st.st_mode & 0777);
}
