/* gw_http: libmicrohttpd callbacks: routing, body limit, answer, metrics. */
#include "gw_http.h"

#include "gw_auth.h"
#include "gw_deadline.h"
#include "gw_file.h"
#include "gw_input.h"
#include "gw_jw.h"
#include "gw_metrics.h"
#include "gw_reqlog.h"
#include "gw_response.h"
#include "gw_router.h"
#include "gw_static.h"
#include "kp_call.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_stats.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Per-connection request state, from the first callback to completion. */
typedef struct gw_conn {
	gw_request req;
	gw_response resp;
	const gw_route *route;
	int route_index;
	char *path;     /* split in place by the router */
	size_t limit;   /* body limit of this request */
	size_t cap;     /* allocated size of req.body */
	int early;      /* answered before the body */
	int too_large;  /* the body went past the limit while arriving */
	int authed;     /* authenticated before the body (streamed routes) */
	gw_upload upload;
	struct timespec start;
	int begun;           /* gw_http_begin ran */
	int bad_uri;         /* the raw URI holds %00 or an encoded slash */
	const char *uri_end; /* the raw URI's terminating NUL (MHD's buffer) */
} gw_conn;

/* ---- the request's life --------------------------------------------------- */

static int
gw_http_request_id_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return 0;
	return 1;
}

static void
gw_http_request_id(struct MHD_Connection *conn, char out[65])
{
	const char *in = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     "X-Request-Id");
	unsigned char rnd[16];

	if (gw_http_request_id_ok(in)) {
		snprintf(out, 65, "%s", in);
		return;
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(out, 65, rnd, sizeof(rnd));
}

/* The headers of every answer, API and portal alike: the portal's pages
 * load only their own scripts and styles (no inline code), are never framed,
 * and send no Referer. Logos may come from a vendor's https address. A
 * handler's own (stricter) policy replaces the default one. */
static void
gw_http_security_headers(struct MHD_Response *resp, int csp_set)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (!csp_set)
		MHD_add_response_header(
		    resp, "Content-Security-Policy",
		    "default-src 'self'; script-src 'self'; style-src 'self'; "
		    "img-src 'self' data: https:; connect-src 'self'; "
		    "font-src 'self'; object-src 'none'; base-uri 'none'; "
		    "form-action 'self'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

/* Strict-Transport-Security on every answer when TLS is on: a browser
 * that saw it once will not speak plain HTTP to this host for a year. */
static void
gw_http_hsts(struct MHD_Response *resp, const gw_state *gw)
{
	if (gw != NULL && gw->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security",
		                        "max-age=31536000");
}

/* Hands the response's body (owned, static or a file) to libmicrohttpd. */
static struct MHD_Response *
gw_http_response(gw_response *w)
{
	struct MHD_Response *resp;

	if (w->has_fd) {
		resp = MHD_create_response_from_fd_at_offset64(
		    (uint64_t)w->len, w->fd, w->fd_offset);
		if (resp != NULL)
			w->has_fd = 0; /* MHD closes it now */
		return resp;
	}
	if (w->body_static)
		return MHD_create_response_from_buffer(w->len, w->body,
		                                       MHD_RESPMEM_PERSISTENT);
	resp = MHD_create_response_from_buffer(w->len, w->body,
	                                       MHD_RESPMEM_MUST_FREE);
	if (resp != NULL)
		w->body = NULL; /* MHD frees it now */
	return resp;
}

static enum MHD_Result
gw_http_send(struct MHD_Connection *conn, gw_conn *c)
{
	gw_response *w = &c->resp;
	struct MHD_Response *resp;
	struct timespec now;
	enum MHD_Result ret;
	int cache_set = 0, csp_set = 0;
	double secs;

	if (w->status == 0)
		gw_error(w, 500, "INTERNAL", "no answer (request %s)",
			 c->req.request_id);
	resp = gw_http_response(w);
	if (resp == NULL)
		return MHD_NO;
	if (w->content_type != NULL)
		MHD_add_response_header(resp, "Content-Type",
					w->content_type);
	MHD_add_response_header(resp, "X-Request-Id", c->req.request_id);
	for (int i = 0; i < w->nheaders; i++) {
		MHD_add_response_header(resp, w->headers[i][0],
					w->headers[i][1]);
		if (strcasecmp(w->headers[i][0], "Cache-Control") == 0)
			cache_set = 1;
		if (strcasecmp(w->headers[i][0], "Content-Security-Policy") ==
		    0)
			csp_set = 1;
	}
	if (!cache_set)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	gw_http_security_headers(resp, csp_set);
	gw_http_hsts(resp, c->req.gw);
	ret = MHD_queue_response(conn, (unsigned int)w->status, resp);
	MHD_destroy_response(resp);

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - c->start.tv_sec) +
	       (double)(now.tv_nsec - c->start.tv_nsec) / 1e9;
	gw_metrics_request(c->route_index, w->status, w->code, secs);
	kp_log_set_request_id(c->req.request_id);
	gw_reqlog_write(&c->req, w, c->route ? c->route->pattern : NULL, secs,
	                kp_stats_hops_take());
	kp_log_set_request_id(NULL);
	return ret;
}

/* Whether an unmatched request is the portal's: a GET or HEAD outside the
 * API's /v1/ prefix. */
static int
gw_http_is_page(const char *method, const char *url)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return 0;
	return strncmp(url, "/v1/", 4) != 0 && strcmp(url, "/v1") != 0;
}

/* The first callback of a streamed route: authenticate, check the name
 * and the size, and open the temporary file, all before the body. */
static void
gw_http_begin_upload(struct MHD_Connection *conn, gw_conn *c)
{
	const char *clen = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *name =
	    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "name");
	uint64_t max = gw_file_max();
	int err;

	c->early = 1;
	c->upload.fd = -1;
	if (gw_auth_check(&c->req, &c->resp, c->route->access) != 0)
		return;
	if (!gw_file_name_ok(name)) {
		gw_error(&c->resp, 400, "INVALID_FILE_NAME",
		         "name: 1 to 255 bytes, no '/', '\\', control "
		         "characters or leading dot");
		return;
	}
	if (clen != NULL && strtoull(clen, NULL, 10) > max) {
		gw_error(&c->resp, 413, "PAYLOAD_TOO_LARGE",
		         "the file is larger than %llu bytes",
		         (unsigned long long)max);
		return;
	}
	if ((err = gw_file_upload_open(&c->upload, max)) != 0) {
		kp_log_error("upload: cannot create a file in %s: %s",
		             gw_file_dir(), strerror(err));
		if (err == ENOSPC)
			gw_error(&c->resp, 507, "INSUFFICIENT_STORAGE",
			         "the release storage is full");
		else
			gw_error(&c->resp, 503, "STORAGE_UNAVAILABLE",
			         "the release storage is unavailable");
		return;
	}
	c->req.upload = &c->upload;
	c->authed = 1;
	c->early = 0;
}

typedef struct gw_http_clen {
	const char *first;
	int differ;
} gw_http_clen;

static enum MHD_Result
gw_http_clen_each(void *cls, enum MHD_ValueKind kind, const char *key,
                  const char *value)
{
	gw_http_clen *c = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
		return MHD_YES;
	if (c->first == NULL)
		c->first = value ? value : "";
	else if (strcmp(c->first, value ? value : "") != 0)
		c->differ = 1;
	return MHD_YES;
}

/* What libmicrohttpd lets through but HTTP forbids: an HTTP/1.1 request
 * without Host, and Content-Length headers that disagree (request
 * smuggling behind a proxy that reads the other one). Answers 400. */
static int
gw_http_framing_bad(struct MHD_Connection *conn, gw_conn *c,
                    const char *version)
{
	gw_http_clen clen = {NULL, 0};

	if (version != NULL && strcmp(version, "HTTP/1.1") == 0 &&
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host") ==
	        NULL) {
		gw_error(&c->resp, 400, "BAD_REQUEST",
		         "Host: required in HTTP/1.1");
		return 1;
	}
	MHD_get_connection_values(conn, MHD_HEADER_KIND, gw_http_clen_each,
	                          &clen);
	if (clen.differ) {
		gw_error(&c->resp, 400, "BAD_REQUEST",
		         "Content-Length: given twice with different values");
		return 1;
	}
	return 0;
}

typedef struct gw_http_badarg {
	char name[64];
	int bad;
} gw_http_badarg;

static enum MHD_Result
gw_http_arg_each(void *cls, enum MHD_ValueKind kind, const char *key,
                 const char *value)
{
	gw_http_badarg *b = cls;
	const unsigned char *s;

	(void)kind;
	for (int k = 0; k < 2; k++) {
		s = (const unsigned char *)(k ? value : key);
		for (size_t n; s != NULL && *s != '\0'; s += n)
			if ((n = gw_utf8_len(s)) == 0) {
				snprintf(b->name, sizeof(b->name), "%s",
				         key ? key : "");
				gw_utf8_clean(b->name);
				b->bad = 1;
				return MHD_NO;
			}
	}
	return MHD_YES;
}

/* Whether every query argument (name and value) is UTF-8: the services
 * store text, and PostgreSQL refuses anything else. Answers 400. */
static int
gw_http_args_bad(struct MHD_Connection *conn, gw_conn *c)
{
	gw_http_badarg b = {"", 0};

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, gw_http_arg_each,
	                          &b);
	if (b.bad)
		gw_error(&c->resp, 400, "INVALID_INPUT",
		         "%s: the query argument must be UTF-8", b.name);
	return b.bad;
}

/* The first callback: headers are in, the body is not. Decides the route
 * and whether to answer before reading the body. */
static void
gw_http_begin(gw_state *gw, struct MHD_Connection *conn, const char *url,
	      const char *method, gw_conn *c)
{
	const char *clen;
	int mismatch = 0;

	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->req.gw = gw;
	c->req.conn = conn;
	c->req.method = method;
	c->req.path = url;
	c->route_index = -1;
	gw_http_request_id(conn, c->req.request_id);
	if (c->bad_uri) {
		gw_error(&c->resp, 400, "INVALID_PATH",
		         "path: a NUL byte or an encoded '/' is not allowed");
		c->early = 1;
		return;
	}
	if ((c->path = strdup(url)) == NULL) {
		gw_error(&c->resp, 500, "INTERNAL", "out of memory");
		c->early = 1;
		return;
	}
	c->route = gw_router_match(method, c->path, c->req.params, &mismatch,
				   &c->route_index);
	if (c->route == NULL && !mismatch && gw_http_is_page(method, url)) {
		gw_static_serve(&c->req, &c->resp);
		c->early = 1;
		return;
	}
	if (c->route == NULL) {
		if (mismatch)
			gw_error(&c->resp, 405, "METHOD_NOT_ALLOWED",
				 "%s is not allowed on this path", method);
		else
			gw_error(&c->resp, 404, "NOT_FOUND",
				 "no such route");
		c->early = 1;
		return;
	}
	for (int i = 0; i < GW_MAX_PARAMS; i++)
		if (c->req.params[i] != NULL) /* they point into c->path */
			gw_id_canon((char *)c->req.params[i]);
	if (gw_http_args_bad(conn, c)) {
		c->early = 1;
		return;
	}
	if (c->route->body_limit == GW_BODY_STREAM) {
		gw_http_begin_upload(conn, c);
		return;
	}
	c->limit = c->route->body_limit ? c->route->body_limit
					 : gw->body_limit;
	clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen != NULL && strtoull(clen, NULL, 10) > c->limit) {
		gw_error(&c->resp, 413, "PAYLOAD_TOO_LARGE",
			 "the body is larger than %zu bytes", c->limit);
		c->early = 1;
	}
}

static void
gw_http_body(gw_conn *c, const char *data, size_t n)
{
	if (c->early || c->too_large)
		return;
	if (c->req.upload != NULL) {
		gw_file_upload_write(c->req.upload, data, n);
		return;
	}
	if (c->req.body_len + n > c->limit) {
		c->too_large = 1;
		free(c->req.body);
		c->req.body = NULL;
		c->req.body_len = 0;
		return;
	}
	if (c->req.body_len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 1024;
		while (cap < c->req.body_len + n + 1)
			cap *= 2;
		char *b = realloc(c->req.body, cap);
		if (b == NULL) {
			c->too_large = 1;
			return;
		}
		c->req.body = b;
		c->cap = cap;
	}
	memcpy(c->req.body + c->req.body_len, data, n);
	c->req.body_len += n;
	c->req.body[c->req.body_len] = '\0';
}

/* The whole upload is on disk (or failed): answer why, or run the route. */
static void
gw_http_serve_upload(gw_conn *c)
{
	gw_upload *u = c->req.upload;
	int err;

	if (u->too_large) {
		gw_error(&c->resp, 413, "PAYLOAD_TOO_LARGE",
		         "the file is larger than %llu bytes",
		         (unsigned long long)u->max);
	} else if ((err = gw_file_upload_finish(u)) != 0) {
		kp_log_error("upload: writing %s failed: %s", u->tmp,
		             strerror(err));
		if (err == ENOSPC || err == EDQUOT)
			gw_error(&c->resp, 507, "INSUFFICIENT_STORAGE",
			         "the release storage is full");
		else
			gw_error(&c->resp, 503, "STORAGE_UNAVAILABLE",
			         "the release storage is unavailable");
	} else {
		c->route->handler(&c->req, &c->resp);
	}
}

static void
gw_http_serve(gw_conn *c)
{
	kp_log_set_request_id(c->req.request_id);
	kp_stats_hops_begin(); /* the request log lists the RPCs made */
	if (strncmp(c->route->pattern, "/v1/licenses/{id}", 17) == 0 &&
	    c->req.params[0] != NULL)
		snprintf(c->req.license_id, sizeof(c->req.license_id), "%s",
		         c->req.params[0]);
	if (c->too_large) {
		gw_error(&c->resp, 413, "PAYLOAD_TOO_LARGE",
			 "the body is larger than %zu bytes", c->limit);
	} else if (c->req.upload != NULL) {
		gw_http_serve_upload(c);
	} else if (gw_auth_check(&c->req, &c->resp, c->route->access) == 0) {
		c->route->handler(&c->req, &c->resp);
	}
	kp_log_set_request_id(NULL);
}

/* Whether the raw request target smuggles a NUL ("%00" anywhere) or a
 * '/' or '\\' inside a path segment ("%2F", "%5C"): libmicrohttpd would
 * unescape them into a truncated or a different path. */
int
gw_http_uri_bad(const char *uri)
{
	const char *q = strchr(uri, '?');
	size_t path_len = q ? (size_t)(q - uri) : strlen(uri);

	for (const char *p = uri; (p = strchr(p, '%')) != NULL; p++) {
		if (p[1] == '0' && p[2] == '0')
			return 1;
		if ((size_t)(p - uri) < path_len &&
		    ((p[1] == '2' && (p[2] == 'f' || p[2] == 'F')) ||
		     (p[1] == '5' && (p[2] == 'c' || p[2] == 'C'))))
			return 1;
	}
	return 0;
}

/* Whether a raw NUL byte cut the request target short: libmicrohttpd
 * splits the request line in its own buffer, so the version follows the
 * target's end with only blanks between; anything else there is what came
 * after a NUL in the target. */
static int
gw_http_uri_cut(const gw_conn *c, const char *version)
{
	if (c->uri_end == NULL || version == NULL || version <= c->uri_end ||
	    version - c->uri_end > 8192)
		return 0; /* not the layout this check knows: no opinion */
	for (const char *p = c->uri_end + 1; p < version; p++)
		if (*p != ' ' && *p != '\t')
			return 1;
	return 0;
}

/* The first look at a request, with its raw target: the request's state
 * starts here (it becomes *con_cls of the access handler). */
static void *
gw_http_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	gw_conn *c = calloc(1, sizeof(*c));

	(void)cls;
	(void)conn;
	if (c != NULL) {
		c->bad_uri = uri == NULL || gw_http_uri_bad(uri);
		c->uri_end = uri ? uri + strlen(uri) : NULL;
	}
	return c;
}

static enum MHD_Result
gw_http_access(void *cls, struct MHD_Connection *conn, const char *url,
	       const char *method, const char *version,
	       const char *upload_data, size_t *upload_data_size,
	       void **con_cls)
{
	gw_conn *c = *con_cls;

	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return MHD_NO;
		*con_cls = c;
	}
	if (!c->begun) {
		c->begun = 1;
		if (gw_http_uri_cut(c, version))
			c->bad_uri = 1;
		if (gw_http_framing_bad(conn, c, version)) {
			clock_gettime(CLOCK_MONOTONIC, &c->start);
			c->route_index = -1; /* counted as unmatched */
			c->req.method = method;
			gw_http_request_id(conn, c->req.request_id);
			c->early = 1;
		} else {
			gw_http_begin(cls, conn, url, method, c);
		}
		gw_deadline_headers_in(conn,
		                       !c->early && c->req.upload == NULL);
		/* Answering now, before the body: MHD then never reads it
		 * (no 100-continue) and closes the connection after. */
		return c->early ? gw_http_send(conn, c) : MHD_YES;
	}
	if (*upload_data_size > 0) {
		gw_http_body(c, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->early)
		return MHD_YES; /* already answered */
	gw_http_serve(c);
	gw_deadline_answered(conn);
	c->early = 1; /* answered: later callbacks only drain */
	return gw_http_send(conn, c);
}

static void
gw_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		  enum MHD_RequestTerminationCode toe)
{
	gw_conn *c = *con_cls;

	(void)cls;
	(void)toe;
	gw_deadline_request_done(conn);
	if (c == NULL)
		return;
	if (c->req.upload != NULL)
		gw_file_upload_discard(c->req.upload); /* renamed, or dropped */
	gw_response_reset(&c->resp);
	free(c->req.body);
	free(c->path);
	free(c);
	*con_cls = NULL;
}

/* Query arguments (and the path) are unescaped as libmicrohttpd does, and
 * an argument that is a UUID is written in lower case (gw_id_canon). */
static size_t
gw_http_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	size_t n;

	(void)cls;
	(void)conn;
	n = MHD_http_unescape(s);
	gw_id_canon(s);
	return n;
}

/* Reads a whole PEM file (at most 1 MiB) into a malloc'd string. */
static char *
gw_http_read_pem(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (f == NULL)
		return NULL;
	buf = malloc(1024 * 1024 + 1);
	if (buf != NULL)
		n = fread(buf, 1, 1024 * 1024, f);
	if (buf == NULL || ferror(f) || !feof(f) || n == 0) {
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/* Loads the certificate and key named by KEYPORT_TLS_CERT/KEY into gw's
 * slot (the daemon started with them reads them at start). 0, or -1
 * (logged) when a file cannot be read. */
static int
gw_http_tls_load(gw_state *gw, int slot)
{
	const char *cp = kp_cfg_str(KP_CFG_TLS_CERT),
	           *kp = kp_cfg_str(KP_CFG_TLS_KEY);
	char *cert = gw_http_read_pem(cp), *key = gw_http_read_pem(kp);

	if (cert == NULL || key == NULL) {
		kp_log_error("TLS: cannot read %s", cert == NULL ? cp : kp);
		free(cert);
		if (key != NULL)
			sodium_memzero(key, strlen(key));
		free(key);
		return -1;
	}
	free(gw->tls_cert[slot]);
	if (gw->tls_key[slot] != NULL)
		sodium_memzero(gw->tls_key[slot], strlen(gw->tls_key[slot]));
	free(gw->tls_key[slot]);
	gw->tls_cert[slot] = cert;
	gw->tls_key[slot] = key;
	return 0;
}

/* libmicrohttpd's own error messages (MHD_USE_ERROR_LOG) go through the
 * logger as JSON lines, never as plain text on stderr. */
static void
gw_http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	kp_log_warn("libmicrohttpd: %s", msg);
}

static struct MHD_Daemon *
gw_http_daemon(gw_state *gw, int port, int threads, int listen_fd, int slot)
{
	struct MHD_OptionItem o[17];
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                     MHD_USE_ERROR_LOG | MHD_USE_ITC;
	int n = 0;

#define GW_OPT(opt, v, p)                                                      \
	o[n++] = (struct MHD_OptionItem){(opt), (intptr_t)(v), (void *)(p)}
	GW_OPT(MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
	GW_OPT(MHD_OPTION_CONNECTION_TIMEOUT,
	       kp_cfg_int(KP_CFG_HTTP_IDLE_TIMEOUT), NULL);
	GW_OPT(MHD_OPTION_CONNECTION_LIMIT, 4096, NULL);
	GW_OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	       kp_cfg_int(KP_CFG_HTTP_PER_IP_LIMIT), NULL);
	GW_OPT(MHD_OPTION_NOTIFY_CONNECTION, gw_deadline_notify, NULL);
	GW_OPT(MHD_OPTION_NOTIFY_COMPLETED, gw_http_completed, NULL);
	GW_OPT(MHD_OPTION_UNESCAPE_CALLBACK, gw_http_unescape, NULL);
	GW_OPT(MHD_OPTION_URI_LOG_CALLBACK, gw_http_uri, NULL);
	GW_OPT(MHD_OPTION_EXTERNAL_LOGGER, gw_http_mhd_log, NULL);
	if (listen_fd >= 0)
		GW_OPT(MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL);
	if (gw->tls) {
		flags |= MHD_USE_TLS;
		GW_OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, gw->tls_cert[slot]);
		GW_OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, gw->tls_key[slot]);
	}
	GW_OPT(MHD_OPTION_END, 0, NULL);
#undef GW_OPT
	/* an item holds a callback in value and its argument in ptr_value,
	 * a single pointer (the PEM texts) in ptr_value, a number in value */
	return MHD_start_daemon(flags, (uint16_t)port, NULL, NULL,
	                        gw_http_access, gw, MHD_OPTION_ARRAY, o,
	                        MHD_OPTION_END);
}

struct MHD_Daemon *
gw_http_start(gw_state *gw, int port, int threads)
{
	struct MHD_Daemon *d;

	if (gw_deadline_start((int)kp_cfg_int(KP_CFG_HTTP_HEADER_TIMEOUT),
	                      (int)kp_cfg_int(KP_CFG_HTTP_BODY_TIMEOUT)) != 0)
		return NULL;

	gw->tls = kp_cfg_str(KP_CFG_TLS_CERT)[0] != '\0';
	if (gw->tls != (kp_cfg_str(KP_CFG_TLS_KEY)[0] != '\0')) {
		kp_log_error("TLS: set both KEYPORT_TLS_CERT and "
		             "KEYPORT_TLS_KEY, or neither");
		gw_deadline_stop();
		return NULL;
	}
	if (gw->tls && gw_http_tls_load(gw, 0) != 0) {
		gw_deadline_stop();
		return NULL;
	}
	gw->tls_slot = 0;
	d = gw_http_daemon(gw, port, threads, -1, 0);
	if (d == NULL) {
		kp_log_error("cannot listen on HTTP%s port %d",
		             gw->tls ? "S" : "", port);
		gw_deadline_stop();
		return NULL;
	}
	if (gw->tls)
		kp_log_info("TLS on (certificate %s); SIGHUP reloads it",
		            kp_cfg_str(KP_CFG_TLS_CERT));
	kp_log_info("connections: at most %d per address; %d s for the "
	            "headers, %d s for a body, %d s idle",
	            (int)kp_cfg_int(KP_CFG_HTTP_PER_IP_LIMIT),
	            (int)kp_cfg_int(KP_CFG_HTTP_HEADER_TIMEOUT),
	            (int)kp_cfg_int(KP_CFG_HTTP_BODY_TIMEOUT),
	            (int)kp_cfg_int(KP_CFG_HTTP_IDLE_TIMEOUT));
	return d;
}

struct MHD_Daemon *
gw_http_reload(gw_state *gw, struct MHD_Daemon *d, int port, int threads)
{
	const union MHD_DaemonInfo *di;
	struct MHD_Daemon *nd;
	int slot = 1 - gw->tls_slot, fd;

	if (!gw->tls) {
		kp_log_info("SIGHUP: TLS is off, nothing to reload");
		return d;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	if (di == NULL || gw_http_tls_load(gw, slot) != 0)
		return d;
	/* the new daemon takes a copy of the listening socket (a daemon that
	 * fails to start closes the one it was given); the old one stops
	 * accepting, its connections end with it, and its copy is closed */
	if ((fd = dup(di->listen_fd)) < 0) {
		kp_log_error("SIGHUP: %s", strerror(errno));
		return d;
	}
	nd = gw_http_daemon(gw, port, threads, fd, slot);
	if (nd == NULL) {
		kp_log_error("SIGHUP: the new certificate or key was refused; "
		             "still serving the previous one");
		return d;
	}
	fd = MHD_quiesce_daemon(d);
	MHD_stop_daemon(d);
	if (fd >= 0)
		close(fd);
	gw->tls_slot = slot;
	kp_log_info("SIGHUP: TLS certificate reloaded from %s",
	            kp_cfg_str(KP_CFG_TLS_CERT));
	return nd;
}
