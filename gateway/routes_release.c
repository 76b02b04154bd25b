/* routes_release: releases (/v1/releases...), their files' upload and
 * download links, the portal's releases (/v1/me/releases), the
 * applications' update check (/v1/products/{id}/releases/latest) and the
 * download itself (/v1/downloads/{token}, served from the shared release
 * directory with sendfile). */
#include "gw.h"
#include "gw_call.h"
#include "gw_file.h"
#include "gw_input.h"
#include "gw_list.h"
#include "gw_response.h"
#include "kp_err.h"
#include "proto/release.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the JSON view of a release ------------------------------------------ */

static json_t *
release_opt_str(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
release_file_json(const Keyport__Release__File *f)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "id", f->id, "name",
	                 f->name, "size", (json_int_t)f->size, "sha256",
	                 f->sha256, "downloads", (json_int_t)f->downloads,
	                 "createdAt", f->created_at);
}

static json_t *
release_json(const Keyport__Release__Release *r)
{
	json_t *files = json_array();

	for (size_t i = 0; i < r->n_files; i++)
		json_array_append_new(files, release_file_json(r->files[i]));
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o, "
	    "s:s, s:s, s:o}",
	    "id", r->id, "productId", r->product_id, "productName",
	    r->product_name, "name", r->name, "version", r->version, "channel",
	    r->channel, "platform", r->platform, "notes", r->notes, "published",
	    r->published, "publishedAt", release_opt_str(r->published_at),
	    "createdAt", r->created_at, "updatedAt", r->updated_at, "files",
	    files);
}

static json_t *
release_item_json(const ProtobufCMessage *m)
{
	return release_json((const Keyport__Release__Release *)m);
}

static void
release_reply(gw_response *w, int status, Keyport__Release__ReleaseReply *rep)
{
	gw_json(w, status, release_json(rep->release));
	keyport__release__release_reply__free_unpacked(rep, NULL);
}

/* The absolute address of a download token, from the request's Host (and
 * X-Forwarded-Proto behind a TLS proxy); a path when there is no Host. */
static void
release_link(gw_request *r, const char *token, char *out, size_t len)
{
	const char *host =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	const char *proto = MHD_lookup_connection_value(
	    r->conn, MHD_HEADER_KIND, "X-Forwarded-Proto");

	if (host == NULL || host[0] == '\0' ||
	    strpbrk(host, "/\\ \"<>") != NULL)
		snprintf(out, len, "/v1/downloads/%s", token);
	else
		snprintf(out, len, "%s://%s/v1/downloads/%s",
		         proto && strcasecmp(proto, "https") == 0 ? "https"
		                                                  : "http",
		         host, token);
}

/* ---- the vendor admin's releases ------------------------------------------
 */

/* POST /v1/releases {productId,name,version,channel?,platform,notes?} */
static void
releases_create(gw_request *r, gw_response *w)
{
	Keyport__Release__CreateReleaseRequest req =
	    KEYPORT__RELEASE__CREATE_RELEASE_REQUEST__INIT;
	Keyport__Release__ReleaseReply *rep = NULL;
	json_t *in = gw_input_object(r, w);
	const char *pid, *name, *version, *channel, *platform, *notes;

	if (in == NULL)
		return;
	if (gw_input_string(w, in, "productId", 1, 64, &pid) != 0 ||
	    gw_input_string(w, in, "name", 1, 200, &name) != 0 ||
	    gw_input_string(w, in, "version", 1, 128, &version) != 0 ||
	    gw_input_string(w, in, "channel", 0, 32, &channel) != 0 ||
	    gw_input_string(w, in, "platform", 1, 64, &platform) != 0 ||
	    gw_input_string(w, in, "notes", 0, 20000, &notes) != 0)
		goto out;
	req.product_id = (char *)pid;
	req.name = (char *)name;
	req.version = (char *)version;
	req.channel = (char *)(channel ? channel : "");
	req.platform = (char *)platform;
	req.notes = (char *)(notes ? notes : "");
	if (gw_call(r, w, KP_RPC_RELEASE_CREATE_RELEASE, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		release_reply(w, 201, rep);
out:
	json_decref(in);
}

/* GET /v1/releases?productId=&channel=&platform=&published= */
static int
releases_filter(gw_request *r, gw_response *w, ProtobufCMessage *m)
{
	Keyport__Release__ListReleasesRequest *q =
	    (Keyport__Release__ListReleasesRequest *)m;
	const char *pid = gw_query(r, "productId"),
	           *pub = gw_query(r, "published");

	if (pid != NULL && !kp_uuid_valid(pid)) {
		gw_error(w, 400, "INVALID_INPUT",
		         "productId: not a product id");
		return -1;
	}
	q->product_id = (char *)(pid ? pid : "");
	q->channel =
	    (char *)(gw_query(r, "channel") ? gw_query(r, "channel") : "");
	q->platform =
	    (char *)(gw_query(r, "platform") ? gw_query(r, "platform") : "");
	if (pub == NULL)
		q->published = 0;
	else if (strcmp(pub, "true") == 0)
		q->published = 1;
	else if (strcmp(pub, "false") == 0)
		q->published = 2;
	else {
		gw_error(w, 400, "INVALID_INPUT", "published: true or false");
		return -1;
	}
	return 0;
}

static void
releases_list(gw_request *r, gw_response *w)
{
	Keyport__Release__ListReleasesRequest req =
	    KEYPORT__RELEASE__LIST_RELEASES_REQUEST__INIT;

	gw_list_rpc(r, w, KP_RPC_RELEASE_LIST_RELEASES, &req.base, "releases",
	            release_item_json, releases_filter);
}

/* One release id in the path, one method answering a release. */
static void
releases_by_id(gw_request *r, gw_response *w, const kp_rpc_desc *m)
{
	Keyport__Release__ReleaseIdRequest req =
	    KEYPORT__RELEASE__RELEASE_ID_REQUEST__INIT;
	Keyport__Release__ReleaseReply *rep = NULL;

	if ((req.id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	if (gw_call(r, w, m, &req.base, (ProtobufCMessage **)&rep) == KP_OK)
		release_reply(w, 200, rep);
}

static void
releases_get(gw_request *r, gw_response *w)
{
	releases_by_id(r, w, KP_RPC_RELEASE_GET_RELEASE);
}

static void
releases_publish(gw_request *r, gw_response *w)
{
	releases_by_id(r, w, KP_RPC_RELEASE_PUBLISH_RELEASE);
}

static void
releases_unpublish(gw_request *r, gw_response *w)
{
	releases_by_id(r, w, KP_RPC_RELEASE_UNPUBLISH_RELEASE);
}

/* PATCH /v1/releases/{id} {name?,version?,channel?,platform?,notes?} */
static void
releases_patch(gw_request *r, gw_response *w)
{
	Keyport__Release__UpdateReleaseRequest req =
	    KEYPORT__RELEASE__UPDATE_RELEASE_REQUEST__INIT;
	Keyport__Release__ReleaseReply *rep = NULL;
	const char *id = gw_param_uuid(r, w, 0), *v;
	json_t *in;

	if (id == NULL || (in = gw_input_object(r, w)) == NULL)
		return;
	req.id = (char *)id;
#define RELEASE_FIELD(key, max, field)                                         \
	if (gw_input_string(w, in, key, 0, max, &v) != 0)                      \
		goto out;                                                      \
	if (v != NULL) {                                                       \
		req.has_##field = 1;                                           \
		req.field = (char *)v;                                         \
	}
	RELEASE_FIELD("name", 200, name)
	RELEASE_FIELD("version", 128, version)
	RELEASE_FIELD("channel", 32, channel)
	RELEASE_FIELD("platform", 64, platform)
	RELEASE_FIELD("notes", 20000, notes)
#undef RELEASE_FIELD
	if (gw_call(r, w, KP_RPC_RELEASE_UPDATE_RELEASE, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK)
		release_reply(w, 200, rep);
out:
	json_decref(in);
}

static void
releases_delete(gw_request *r, gw_response *w)
{
	Keyport__Release__ReleaseIdRequest req =
	    KEYPORT__RELEASE__RELEASE_ID_REQUEST__INIT;

	if ((req.id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	if (gw_call(r, w, KP_RPC_RELEASE_DELETE_RELEASE, &req.base, NULL) ==
	    KP_OK)
		gw_empty(w, 204);
}

/* ---- files -----------------------------------------------------------------
 */

/* POST /v1/releases/{id}/files?name=... (raw body, streamed by gw_http) */
static void
releases_upload(gw_request *r, gw_response *w)
{
	Keyport__Release__AddFileRequest req =
	    KEYPORT__RELEASE__ADD_FILE_REQUEST__INIT;
	Keyport__Release__FileReply *rep = NULL;

	if ((req.release_id = (char *)gw_param_uuid(r, w, 0)) == NULL)
		return;
	req.name = (char *)gw_query(r, "name");
	req.tmp_name = r->upload->tmp;
	req.size = (int64_t)r->upload->size;
	req.sha256 = r->upload->sha256;
	if (gw_call(r, w, KP_RPC_RELEASE_ADD_FILE, &req.base,
	            (ProtobufCMessage **)&rep) == KP_OK) {
		gw_json(w, 201, release_file_json(rep->file));
		keyport__release__file_reply__free_unpacked(rep, NULL);
	}
}

/* Reads {id} and {fileId} into req. */
static int
releases_file_ids(gw_request *r, gw_response *w,
                  Keyport__Release__FileIdRequest *req)
{
	if ((req->release_id = (char *)gw_param_uuid(r, w, 0)) == NULL ||
	    (req->file_id = (char *)gw_param_uuid(r, w, 1)) == NULL)
		return -1;
	return 0;
}

static void
releases_file_delete(gw_request *r, gw_response *w)
{
	Keyport__Release__FileIdRequest req =
	    KEYPORT__RELEASE__FILE_ID_REQUEST__INIT;

	if (releases_file_ids(r, w, &req) == 0 &&
	    gw_call(r, w, KP_RPC_RELEASE_DELETE_FILE, &req.base, NULL) == KP_OK)
		gw_empty(w, 204);
}

/* POST /v1/releases/{id}/files/{fileId}/download-url -> {url,expiresAt} */
static void
releases_download_url(gw_request *r, gw_response *w)
{
	Keyport__Release__FileIdRequest req =
	    KEYPORT__RELEASE__FILE_ID_REQUEST__INIT;
	Keyport__Release__DownloadUrlReply *rep = NULL;
	char url[1024];

	if (releases_file_ids(r, w, &req) != 0 ||
	    gw_call(r, w, KP_RPC_RELEASE_DOWNLOAD_URL, &req.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	release_link(r, rep->token, url, sizeof(url));
	gw_json(
	    w, 200,
	    json_pack("{s:s, s:s}", "url", url, "expiresAt", rep->expires_at));
	keyport__release__download_url_reply__free_unpacked(rep, NULL);
}

/* Content-Disposition for a stored name: an ASCII fallback with unsafe
 * characters replaced, and the exact name percent-encoded (RFC 6266). */
static void
release_disposition(const char *name, char *out, size_t len)
{
	char ascii[256], enc[800];
	size_t a = 0, e = 0;

	for (const unsigned char *p = (const unsigned char *)name;
	     *p && a + 1 < sizeof(ascii) && e + 4 < sizeof(enc); p++) {
		int plain = (*p >= 'a' && *p <= 'z') ||
		            (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || strchr("-._~", *p);
		ascii[a++] =
		    (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
		        ? (char)*p
		        : '_';
		if (plain)
			enc[e++] = (char)*p;
		else
			e += (size_t)snprintf(enc + e, sizeof(enc) - e,
			                      "%%%02X", *p);
	}
	ascii[a] = enc[e] = '\0';
	snprintf(out, len, "attachment; filename=\"%s\"; filename*=UTF-8''%s",
	         ascii, enc);
}

/* GET /v1/downloads/{token}: no header needed; ranges served. */
static void
releases_download(gw_request *r, gw_response *w)
{
	Keyport__Release__ResolveDownloadRequest req =
	    KEYPORT__RELEASE__RESOLVE_DOWNLOAD_REQUEST__INIT;
	Keyport__Release__ResolveDownloadReply *rep = NULL;
	const char *range =
	    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
	uint64_t off = 0, len = 0;
	char path[1200], hdr[1200];
	struct stat st;
	int fd = -1, rc;

	req.token = (char *)r->params[0];
	req.count = range == NULL || strncmp(range, "bytes=0-", 8) == 0;
	if (gw_call(r, w, KP_RPC_RELEASE_RESOLVE_DOWNLOAD, &req.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	snprintf(path, sizeof(path), "%s/%s", gw_file_dir(), rep->path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0 || (int64_t)st.st_size != rep->size) {
		gw_error(w, 503, "STORAGE_UNAVAILABLE",
		         "the file is not available right now");
		goto out;
	}
	rc = gw_file_range(range, (uint64_t)st.st_size, &off, &len);
	if (rc < 0) {
		gw_error(w, 416, "RANGE_NOT_SATISFIABLE",
		         "the range is outside the file (%lld bytes)",
		         (long long)st.st_size);
		snprintf(hdr, sizeof(hdr), "bytes */%lld",
		         (long long)st.st_size);
		gw_header(w, "Content-Range", hdr);
		goto out;
	}
	if (rc == 1) {
		off = 0;
		len = (uint64_t)st.st_size;
	}
	gw_file(w, rc == 0 ? 206 : 200, "application/octet-stream", fd, off,
	        len);
	fd = -1; /* the response's now */
	if (rc == 0) {
		snprintf(hdr, sizeof(hdr), "bytes %llu-%llu/%lld",
		         (unsigned long long)off,
		         (unsigned long long)(off + len - 1),
		         (long long)st.st_size);
		gw_header(w, "Content-Range", hdr);
	}
	release_disposition(rep->name, hdr, sizeof(hdr));
	gw_header(w, "Content-Disposition", hdr);
	snprintf(hdr, sizeof(hdr), "\"%s\"", rep->sha256);
	gw_header(w, "ETag", hdr);
	gw_header(w, "Accept-Ranges", "bytes");
	gw_header(w, "Cache-Control", "private, no-cache");
out:
	if (fd >= 0)
		close(fd);
	keyport__release__resolve_download_reply__free_unpacked(rep, NULL);
}

/* ---- customers and applications -------------------------------------------
 */

/* GET /v1/me/releases */
static void
releases_mine(gw_request *r, gw_response *w)
{
	Keyport__Release__MyReleasesRequest req =
	    KEYPORT__RELEASE__MY_RELEASES_REQUEST__INIT;
	Keyport__Release__ListReleasesReply *rep = NULL;
	json_t *items;

	if (gw_call(r, w, KP_RPC_RELEASE_MY_RELEASES, &req.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	items = json_array();
	for (size_t i = 0; i < rep->n_releases; i++)
		json_array_append_new(items, release_json(rep->releases[i]));
	gw_json(w, 200,
	        json_pack("{s:o, s:I}", "items", items, "total",
	                  (json_int_t)rep->n_releases));
	keyport__release__list_releases_reply__free_unpacked(rep, NULL);
}

/* GET /v1/products/{id}/releases/latest?platform=&channel= (X-License-Key) */
static void
releases_latest(gw_request *r, gw_response *w)
{
	Keyport__Release__LatestRequest req =
	    KEYPORT__RELEASE__LATEST_REQUEST__INIT;
	Keyport__Release__LatestReply *rep = NULL;
	const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	                                              "X-License-Key");
	json_t *o, *files;
	char url[1024];

	if (key == NULL || key[0] == '\0' || strlen(key) > 128) {
		gw_error(w, 401, "UNAUTHENTICATED",
		         "the X-License-Key header is required");
		return;
	}
	req.product_id = (char *)r->params[0];
	req.license_key = (char *)key;
	req.platform =
	    (char *)(gw_query(r, "platform") ? gw_query(r, "platform") : "");
	req.channel =
	    (char *)(gw_query(r, "channel") ? gw_query(r, "channel") : "");
	if (gw_call(r, w, KP_RPC_RELEASE_LATEST, &req.base,
	            (ProtobufCMessage **)&rep) != KP_OK)
		return;
	o = release_json(rep->release);
	files = json_object_get(o, "files");
	for (size_t i = 0; i < rep->n_links && i < json_array_size(files);
	     i++) {
		release_link(r, rep->links[i]->token, url, sizeof(url));
		json_object_set_new(json_array_get(files, i), "url",
		                    json_string(url));
		json_object_set_new(json_array_get(files, i), "expiresAt",
		                    json_string(rep->links[i]->expires_at));
	}
	gw_json(w, 200, o);
	keyport__release__latest_reply__free_unpacked(rep, NULL);
}

static const gw_route release_routes[] = {
    {"POST", "/v1/releases", GW_ADMIN, 0, releases_create},
    {"GET", "/v1/releases", GW_ADMIN, 0, releases_list},
    {"GET", "/v1/releases/{id}", GW_ADMIN, 0, releases_get},
    {"PATCH", "/v1/releases/{id}", GW_ADMIN, 0, releases_patch},
    {"DELETE", "/v1/releases/{id}", GW_ADMIN, 0, releases_delete},
    {"POST", "/v1/releases/{id}/publish", GW_ADMIN, 0, releases_publish},
    {"POST", "/v1/releases/{id}/unpublish", GW_ADMIN, 0, releases_unpublish},
    {"POST", "/v1/releases/{id}/files", GW_ADMIN, GW_BODY_STREAM,
     releases_upload},
    {"DELETE", "/v1/releases/{id}/files/{fileId}", GW_ADMIN, 0,
     releases_file_delete},
    {"POST", "/v1/releases/{id}/files/{fileId}/download-url", GW_USER, 0,
     releases_download_url},
    {"GET", "/v1/downloads/{token}", GW_PUBLIC, 0, releases_download},
    {"GET", "/v1/me/releases", GW_USER, 0, releases_mine},
    {"GET", "/v1/products/{id}/releases/latest", GW_PUBLIC, 0, releases_latest},
};

const gw_route_table gw_routes_release = {
    release_routes, sizeof(release_routes) / sizeof(release_routes[0])};
