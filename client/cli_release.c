/* cli_release: `keyport release create|upload|publish|list`, the vendor's
 * release commands for CI jobs (issue 12), authenticated by a personal
 * access token in $KEYPORT_TOKEN. An upload streams the file from disk
 * (never whole in memory) and shows its progress when stderr is a
 * terminal. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char cli_release_help[] =
    "usage: keyport release create --product ID --name NAME --version V\n"
    "           [--channel stable|beta|alpha|...] [--platform P] [--notes "
    "T]\n"
    "       keyport release upload RELEASE-ID FILE [--name NAME]\n"
    "       keyport release publish RELEASE-ID\n"
    "       keyport release list [--product ID] [--channel C] [--platform "
    "P]\n"
    "                            [--page N] [--limit N]\n"
    "Vendor admin commands for a CI job. The server comes from --server\n"
    "or $KEYPORT_SERVER, the personal access token from $KEYPORT_TOKEN.\n"
    "upload streams FILE (its base name unless --name) and shows progress\n"
    "on a terminal. Exit 9 when the server refuses, 12 without a token or\n"
    "with a refused one.\n";

static int
release_call(keyport_client *c, const cli_opts *o, const char *method,
             const char *path, json_t *body)
{
	const char *server, *token;
	char url[2048];
	json_t *reply = NULL;
	long status;
	int rc;

	if ((rc = cli_vendor(c, o, &server, &token)) != 0)
		return rc;
	if (keyport_url(url, sizeof(url), server, path) != 0)
		return cli_usage(o, "the server URL is too long");
	rc =
	    keyport_http_ok(c, method, url, token, NULL, body, &status, &reply);
	if (rc != KEYPORT_OK)
		return cli_fail(c, o, rc);
	cli_print(o, reply);
	return CLI_OK;
}

static int
release_create(keyport_client *c, const cli_opts *o)
{
	json_t *body;
	int rc;

	if (o->product == NULL || o->name == NULL || o->version == NULL)
		return cli_usage(o, "release create needs --product, --name "
		                    "and --version");
	body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "productId",
	                 o->product, "name", o->name, "version", o->version,
	                 "channel", o->channel != NULL ? o->channel : "stable",
	                 "platform", o->platform != NULL ? o->platform : "",
	                 "notes", o->notes != NULL ? o->notes : "");
	if (body == NULL)
		return CLI_ERROR;
	rc = release_call(c, o, "POST", "/v1/releases", body);
	json_decref(body);
	return rc;
}

static int
release_list(keyport_client *c, const cli_opts *o)
{
	char path[1024], *p, *ch, *pl;
	long long page = o->page != NULL ? strtoll(o->page, NULL, 10) : 1;
	long long limit = o->limit != NULL ? strtoll(o->limit, NULL, 10) : 50;

	p = keyport_escape(o->product);
	ch = keyport_escape(o->channel);
	pl = keyport_escape(o->platform);
	if (p == NULL || ch == NULL || pl == NULL) {
		free(p);
		free(ch);
		free(pl);
		return CLI_ERROR;
	}
	snprintf(path, sizeof(path),
	         "/v1/releases?page=%lld&limit=%lld%s%s%s%s%s%s", page, limit,
	         p[0] ? "&productId=" : "", p, ch[0] ? "&channel=" : "", ch,
	         pl[0] ? "&platform=" : "", pl);
	free(p);
	free(ch);
	free(pl);
	return release_call(c, o, "GET", path, NULL);
}

static int
release_publish(keyport_client *c, const cli_opts *o)
{
	char path[256], *id;
	int rc;

	if (o->npos < 2)
		return cli_usage(o, "release publish needs a RELEASE-ID");
	if ((id = keyport_escape(o->pos[1])) == NULL)
		return CLI_ERROR;
	snprintf(path, sizeof(path), "/v1/releases/%.64s/publish", id);
	free(id);
	rc = release_call(c, o, "POST", path, NULL);
	return rc;
}

typedef struct upload {
	FILE *f;
	int tty;
	curl_off_t last;
} upload;

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	upload *u = arg;

	return fread(buf, size, n, u->f);
}

static size_t
on_reply(char *data, size_t size, size_t n, void *arg)
{
	char **b = arg;
	size_t have = *b != NULL ? strlen(*b) : 0, add = size * n;
	char *p;

	if (have + add > (1u << 20))
		return 0;
	p = realloc(*b, have + add + 1);
	if (p == NULL)
		return 0;
	memcpy(p + have, data, add);
	p[have + add] = '\0';
	*b = p;
	return add;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
            curl_off_t un)
{
	upload *u = arg;

	(void)dt;
	(void)dn;
	if (u->tty && ut > 0 && (un - u->last > ut / 200 || un == ut)) {
		u->last = un;
		fprintf(stderr, "\rupload: %3d%% %lld/%lld bytes",
		        (int)(un * 100 / ut), (long long)un, (long long)ut);
	}
	return 0;
}

/* Sets the upload's request on h: POST of the file u reads (size bytes)
 * to url with headers hdr, the reply into *body, progress on u; no overall
 * timeout (a large file takes longer than a request), but a connection
 * that moves nothing for c's timeout is given up. */
static void
upload_options(keyport_client *c, CURL *h, const char *url,
               struct curl_slist *hdr, upload *u, curl_off_t size, char **body)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, u);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, size);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, u);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->timeout);
	keyport_http_transport(c, h);
}

static int
release_upload(keyport_client *c, const cli_opts *o)
{
	const char *server, *token, *file, *base;
	char path[1024], url[2048], auth[1200], *id = NULL, *nm = NULL;
	char *body = NULL;
	struct curl_slist *hdr = NULL;
	struct stat sb;
	upload u = {0};
	CURL *h = NULL;
	CURLcode cr;
	long status = 0;
	json_t *reply = NULL;
	int rc;

	if (o->npos < 3)
		return cli_usage(o, "release upload needs RELEASE-ID and FILE");
	if ((rc = cli_vendor(c, o, &server, &token)) != 0)
		return rc;
	file = o->pos[2];
	base = strrchr(file, '/') != NULL ? strrchr(file, '/') + 1 : file;
	u.f = fopen(file, "rb");
	if (u.f == NULL || fstat(fileno(u.f), &sb) != 0) {
		rc = CLI_ERROR;
		fprintf(stderr, "keyport: cannot read %s: %s\n", file,
		        strerror(errno));
		goto out;
	}
	u.tty = isatty(2) && !o->json;
	rc = CLI_ERROR;
	id = keyport_escape(o->pos[1]);
	nm = keyport_escape(o->name != NULL ? o->name : base);
	if (id == NULL || nm == NULL)
		goto out;
	snprintf(path, sizeof(path), "/v1/releases/%.64s/files?name=%s", id,
	         nm);
	if (keyport_url(url, sizeof(url), server, path) != 0) {
		rc = cli_usage(o, "the server URL is too long");
		goto out;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdr = curl_slist_append(NULL, auth);
	if (hdr == NULL ||
	    curl_slist_append(hdr, "Content-Type: application/octet-stream") ==
	        NULL ||
	    (h = curl_easy_init()) == NULL)
		goto out;
	upload_options(c, h, url, hdr, &u, (curl_off_t)sb.st_size, &body);
	cr = curl_easy_perform(h);
	if (u.tty)
		fprintf(stderr, "\n");
	if (cr != CURLE_OK) {
		keyport_fail(c, KEYPORT_ENET, "%s: %s", url,
		             curl_easy_strerror(cr));
		rc = cli_fail(c, o, KEYPORT_ENET);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	reply = body != NULL ? json_loads(body, 0, NULL) : NULL;
	if (status < 200 || status > 299) {
		keyport_http_refused(c, status, reply);
		rc = cli_fail(c, o, KEYPORT_ESERVER);
		goto out;
	}
	cli_print(o, reply);
	reply = NULL;
	rc = CLI_OK;
out:
	memset(auth, 0, sizeof(auth));
	json_decref(reply);
	free(body);
	free(id);
	free(nm);
	curl_slist_free_all(hdr);
	if (h != NULL)
		curl_easy_cleanup(h);
	if (u.f != NULL)
		fclose(u.f);
	return rc;
}

int
cli_release(keyport_client *c, const cli_opts *o)
{
	const char *sub = o->npos > 0 ? o->pos[0] : "";

	if (strcmp(sub, "create") == 0)
		return release_create(c, o);
	if (strcmp(sub, "upload") == 0)
		return release_upload(c, o);
	if (strcmp(sub, "publish") == 0)
		return release_publish(c, o);
	if (strcmp(sub, "list") == 0)
		return release_list(c, o);
	return cli_usage(o, "release needs create, upload, publish or list");
}
