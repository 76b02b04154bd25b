/* keyport_http: the one HTTP path of libkeyport and the keyport tool
 * (libcurl), with the client's timeout, proxy, CA file and pinned server
 * key applied to every request. */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyport_int.h"

#define KEYPORT_MAX_REPLY (4u << 20)

typedef struct buf {
	char *p;
	size_t n;
} buf;

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->n + n > KEYPORT_MAX_REPLY)
		return 0;
	p = realloc(b->p, b->n + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->n, data, n);
	b->p = p;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

char *
keyport_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = s != NULL ? strlen(s) : 0, i, o = 0;
	char *out = malloc(n * 3 + 1);

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return out;
}

int
keyport_url(char *out, size_t n, const char *server, const char *path)
{
	size_t len = strlen(server);

	while (len > 0 && server[len - 1] == '/')
		len--;
	if ((size_t)snprintf(out, n, "%.*s%s", (int)len, server, path) >= n)
		return -1;
	return 0;
}

int
keyport_http(keyport_client *c, const char *method, const char *url,
             const char *bearer, const char *header, json_t *body,
             const void *raw, size_t rawlen, const char *content_type,
             long *status, json_t **reply)
{
	CURL *h = NULL;
	struct curl_slist *hdr = NULL, *l;
	char line[1200], *text = NULL;
	buf b = {0};
	int rc = KEYPORT_ENOMEM;
	CURLcode cr;

	*reply = NULL;
	*status = 0;
	c->server_code[0] = '\0';
	h = curl_easy_init();
	if (h == NULL)
		goto out;
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL)
			goto out;
		content_type = "application/json";
	}
	if (content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", content_type);
		if ((l = curl_slist_append(hdr, line)) == NULL)
			goto out;
		hdr = l;
	}
	if (bearer != NULL && bearer[0] != '\0') {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
		         bearer);
		l = curl_slist_append(hdr, line);
		sodium_memzero(line, sizeof(line));
		if (l == NULL)
			goto out;
		hdr = l;
	}
	if (header != NULL) {
		if ((l = curl_slist_append(hdr, header)) == NULL)
			goto out;
		hdr = l;
	}
	/* no "Expect: 100-continue" round trip for a small body */
	if ((l = curl_slist_append(hdr, "Expect:")) == NULL)
		goto out;
	hdr = l;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (text != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	} else if (raw != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, raw);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)rawlen);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "libkeyport/" KEYPORT_VERSION);
	keyport_http_transport(c, h);
	cr = curl_easy_perform(h);
	if (cr != CURLE_OK) {
		rc = keyport_fail(c, KEYPORT_ENET, "%s: %s", url,
		                  curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	*reply = b.p != NULL ? json_loads(b.p, 0, NULL) : NULL;
	rc = KEYPORT_OK;
out:
	free(b.p);
	free(text);
	curl_slist_free_all(hdr);
	if (h != NULL)
		curl_easy_cleanup(h);
	if (rc == KEYPORT_ENOMEM)
		keyport_fail(c, rc, "out of memory");
	return rc;
}

void
keyport_http_transport(keyport_client *c, void *h)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->proxy[0] != '\0')
		curl_easy_setopt(h, CURLOPT_PROXY, c->proxy);
	if (c->ca_file[0] != '\0')
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	if (c->server_key[0] != '\0')
		curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->server_key);
}

int
keyport_http_refused(keyport_client *c, long status, const json_t *reply)
{
	const json_t *e = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));

	/* keyport_fail does not touch server_code */
	snprintf(c->server_code, sizeof(c->server_code), "%s",
	         code != NULL ? code : "");
	return keyport_fail(c, KEYPORT_ESERVER, "server answered %ld %s: %s",
	                    status, code != NULL ? code : "",
	                    msg != NULL ? msg : "");
}

int
keyport_http_ok(keyport_client *c, const char *method, const char *url,
                const char *bearer, const char *header, json_t *body,
                long *status, json_t **reply)
{
	int rc;

	rc = keyport_http(c, method, url, bearer, header, body, NULL, 0, NULL,
	                  status, reply);
	if (rc != KEYPORT_OK)
		return rc;
	if (*status < 200 || *status > 299) {
		rc = keyport_http_refused(c, *status, *reply);
		goto out;
	}
	if (*status != 204 && !json_is_object(*reply)) {
		rc = keyport_fail(c, KEYPORT_ESERVER,
		                  "server answered %ld without a JSON object",
		                  *status);
		goto out;
	}
	return KEYPORT_OK;
out:
	json_decref(*reply);
	*reply = NULL;
	return rc;
}
