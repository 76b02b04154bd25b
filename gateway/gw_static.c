/* gw_static: the portal's files, loaded once and served from memory. */
#include "gw_static.h"

#include "gw_response.h"
#include "kp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define GW_STATIC_MAX_FILES 4096
#define GW_STATIC_MAX_BYTES (64u << 20) /* the whole table */

typedef struct gw_static_file {
	char *path;          /* URL path: "/index.html" */
	unsigned char *data; /* the file's bytes */
	size_t len;
	unsigned char *gz; /* gzip variant, or NULL */
	size_t gz_len;
	const char *type;           /* Content-Type */
	char etag[20], gz_etag[23]; /* "\"<16 hex>\"", "\"<16 hex>-gz\"" */
	int immutable;
} gw_static_file;

static gw_static_file *gw_static_files;
static size_t gw_static_n, gw_static_cap, gw_static_bytes;
static const gw_static_file *gw_static_index;
static const char *gw_static_root; /* during the walk only */
static int gw_static_failed;       /* during the walk only */

static const struct {
	const char *ext, *type;
	int text; /* compressible */
} gw_static_types[] = {
    {".html", "text/html; charset=utf-8", 1},
    {".js", "text/javascript; charset=utf-8", 1},
    {".mjs", "text/javascript; charset=utf-8", 1},
    {".css", "text/css; charset=utf-8", 1},
    {".json", "application/json; charset=utf-8", 1},
    {".map", "application/json; charset=utf-8", 1},
    {".webmanifest", "application/manifest+json", 1},
    {".svg", "image/svg+xml", 1},
    {".txt", "text/plain; charset=utf-8", 1},
    {".png", "image/png", 0},
    {".jpg", "image/jpeg", 0},
    {".jpeg", "image/jpeg", 0},
    {".webp", "image/webp", 0},
    {".ico", "image/x-icon", 0},
    {".woff2", "font/woff2", 0},
};

static const char *
gw_static_type(const char *path, int *text)
{
	size_t n = strlen(path);

	for (size_t i = 0;
	     i < sizeof(gw_static_types) / sizeof(gw_static_types[0]); i++) {
		size_t e = strlen(gw_static_types[i].ext);
		if (n > e &&
		    strcasecmp(path + n - e, gw_static_types[i].ext) == 0) {
			*text = gw_static_types[i].text;
			return gw_static_types[i].type;
		}
	}
	*text = 0;
	return "application/octet-stream";
}

/* A versioned path never changes its bytes: a segment "name@<digit>..."
 * (vendored packages) or a file name part of 8 or more hex digits between
 * dots ("app.3f2a9c1d.js"). */
static int
gw_static_versioned(const char *path)
{
	const char *base = strrchr(path, '/');

	for (const char *p = path; *p; p++)
		if (*p == '@' && p[1] >= '0' && p[1] <= '9')
			return 1;
	for (const char *p = base ? base : path; *p; p++) {
		size_t h = 0;
		if (*p != '.')
			continue;
		while (p[1 + h] && strchr("0123456789abcdef", p[1 + h]))
			h++;
		if (h >= 8 && p[1 + h] == '.')
			return 1;
	}
	return 0;
}

/* Reads a whole regular file; NULL on failure. */
static unsigned char *
gw_static_read(const char *file, size_t len)
{
	unsigned char *buf = malloc(len ? len : 1);
	size_t got = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (buf == NULL || fd < 0)
		goto fail;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	close(fd);
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* gzip (RFC 1952) of data at the best level; NULL when it does not pay. */
static unsigned char *
gw_static_gzip(const unsigned char *data, size_t len, size_t *out_len)
{
	z_stream z;
	unsigned char *out = NULL;
	size_t cap;

	memset(&z, 0, sizeof(z));
	if (len < 256 || deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED,
	                              15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&z, len);
	if ((out = malloc(cap)) == NULL)
		goto out;
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END ||
	    z.total_out >= len - len / 20) {
		free(out);
		out = NULL;
		goto out;
	}
	*out_len = z.total_out;
out:
	deflateEnd(&z);
	return out;
}

static void
gw_static_etag(char *out, size_t n, const unsigned char *data, size_t len,
               const char *suffix)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[17];

	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(hex, sizeof(hex), h, 8);
	snprintf(out, n, "\"%s%s\"", hex, suffix);
}

static int
gw_static_skip(const char *rel)
{
	/* dot files and dot directories anywhere in the path */
	for (const char *p = rel; *p; p++)
		if (*p == '.' && (p == rel || p[-1] == '/'))
			return 1;
	return 0;
}

static int
gw_static_add(const char *file, const struct stat *st, int flag,
              struct FTW *ftw)
{
	const char *rel = file + strlen(gw_static_root);
	gw_static_file *f;
	char gzname[4096];
	struct stat gst;
	int text;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode) || *rel != '/' ||
	    gw_static_skip(rel + 1))
		return 0;
	if (strlen(rel) > 3 && strcmp(rel + strlen(rel) - 3, ".gz") == 0)
		return 0; /* a variant, taken with its original below */
	if (gw_static_n == GW_STATIC_MAX_FILES ||
	    gw_static_bytes + (size_t)st->st_size > GW_STATIC_MAX_BYTES) {
		kp_log_error("web directory %s is over %d files or %u bytes",
		             gw_static_root, GW_STATIC_MAX_FILES,
		             GW_STATIC_MAX_BYTES);
		gw_static_failed = 1;
		return 1;
	}
	if (gw_static_n == gw_static_cap) {
		size_t cap = gw_static_cap ? gw_static_cap * 2 : 64;
		gw_static_file *a = realloc(gw_static_files, cap * sizeof(*a));
		if (a == NULL)
			goto fail;
		gw_static_files = a;
		gw_static_cap = cap;
	}
	f = &gw_static_files[gw_static_n];
	memset(f, 0, sizeof(*f));
	if ((f->path = strdup(rel)) == NULL)
		goto fail;
	f->len = (size_t)st->st_size;
	if ((f->data = gw_static_read(file, f->len)) == NULL) {
		free(f->path);
		goto fail;
	}
	f->type = gw_static_type(rel, &text);
	f->immutable = gw_static_versioned(rel);
	gw_static_etag(f->etag, sizeof(f->etag), f->data, f->len, "");
	snprintf(gzname, sizeof(gzname), "%s.gz", file);
	if (lstat(gzname, &gst) == 0 && S_ISREG(gst.st_mode)) {
		f->gz_len = (size_t)gst.st_size;
		f->gz = gw_static_read(gzname, f->gz_len);
	} else if (text) {
		f->gz = gw_static_gzip(f->data, f->len, &f->gz_len);
	}
	if (f->gz != NULL)
		gw_static_etag(f->gz_etag, sizeof(f->gz_etag), f->data, f->len,
		               "-gz");
	gw_static_bytes += f->len + (f->gz ? f->gz_len : 0);
	gw_static_n++;
	return 0;
fail:
	kp_log_error("cannot read %s", file);
	gw_static_failed = 1;
	return 1;
}

static int
gw_static_cmp(const void *a, const void *b)
{
	return strcmp(((const gw_static_file *)a)->path,
	              ((const gw_static_file *)b)->path);
}

static const gw_static_file *
gw_static_find(const char *path)
{
	gw_static_file key;

	key.path = (char *)path;
	return bsearch(&key, gw_static_files, gw_static_n, sizeof(key),
	               gw_static_cmp);
}

int
gw_static_load(const char *dir)
{
	char *root = realpath(dir, NULL);
	int rc = -1;

	if (root == NULL) {
		kp_log_warn("web directory %s not found: the portal is not "
		            "served",
		            dir);
		return 0;
	}
	gw_static_root = root;
	gw_static_failed = 0;
	if (nftw(root, gw_static_add, 16, FTW_PHYS) != 0 || gw_static_failed)
		goto out;
	qsort(gw_static_files, gw_static_n, sizeof(*gw_static_files),
	      gw_static_cmp);
	gw_static_index = gw_static_find("/index.html");
	kp_log_info("portal: %zu files (%zu bytes with variants) from %s",
	            gw_static_n, gw_static_bytes, root);
	rc = 0;
out:
	gw_static_root = NULL;
	free(root);
	if (rc != 0)
		gw_static_free();
	return rc;
}

void
gw_static_free(void)
{
	for (size_t i = 0; i < gw_static_n; i++) {
		free(gw_static_files[i].path);
		free(gw_static_files[i].data);
		free(gw_static_files[i].gz);
	}
	free(gw_static_files);
	gw_static_files = NULL;
	gw_static_n = gw_static_cap = gw_static_bytes = 0;
	gw_static_index = NULL;
}

/* Whether Accept-Encoding takes gzip (a "gzip" token whose q is not 0). */
static int
gw_static_accepts_gzip(const char *ae)
{
	const char *p = ae;

	while (p != NULL && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char tok[64];

		while (n > 0 && (*p == ' ' || *p == '\t'))
			p++, n--;
		if (n < sizeof(tok)) {
			char *q;
			memcpy(tok, p, n);
			tok[n] = '\0';
			q = strchr(tok, ';');
			if (q != NULL)
				*q++ = '\0';
			tok[strcspn(tok, " \t")] = '\0';
			if (strcasecmp(tok, "gzip") == 0 ||
			    strcmp(tok, "*") == 0)
				return !(q && strstr(q, "q=0") &&
				         !strstr(q, "q=0."));
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* Whether If-None-Match lists etag (or is "*"). */
static int
gw_static_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	if (inm == NULL)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag))
		if (p[n] == '\0' || p[n] == ',' || p[n] == ' ')
			return 1;
	return 0;
}

void
gw_static_serve(gw_request *r, gw_response *w)
{
	const gw_static_file *f = gw_static_find(r->path);
	const char *ae, *inm, *etag;
	char dir[1024];
	int gz;

	if (f == NULL &&
	    snprintf(dir, sizeof(dir), "%s%sindex.html", r->path,
	             r->path[strlen(r->path) - 1] == '/' ? "" : "/") <
	        (int)sizeof(dir))
		f = gw_static_find(dir);
	if (f == NULL)
		f = gw_static_index; /* a client-side route */
	if (f == NULL) {
		gw_error(w, 404, "NOT_FOUND", "no such page");
		return;
	}
	ae = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	                                 MHD_HTTP_HEADER_ACCEPT_ENCODING);
	inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
	gz = f->gz != NULL && ae != NULL && gw_static_accepts_gzip(ae);
	etag = gz ? f->gz_etag : f->etag;
	if (gw_static_matches(inm, etag))
		gw_empty(w, 304);
	else if (gz)
		gw_body_static(w, 200, f->type, f->gz, f->gz_len);
	else
		gw_body_static(w, 200, f->type, f->data, f->len);
	if (gz && w->status == 200)
		gw_header(w, "Content-Encoding", "gzip");
	gw_header(w, "ETag", etag);
	if (f->gz != NULL)
		gw_header(w, "Vary", "Accept-Encoding");
	gw_header(w, "Cache-Control",
	          f->immutable && f != gw_static_index
	              ? "public, max-age=31536000, immutable"
	              : "no-cache");
}
