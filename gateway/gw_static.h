/* gw_static: the customer portal's static files, served at `/`.
 *
 * gw_static_load reads every regular file under the web directory
 * (KEYPORT_WEB_DIR) once, at start-up, into memory: its bytes, a content
 * type from its extension, a strong ETag (from its sha256) and a gzip
 * variant (a `name.gz` sibling when the directory has one, else compressed
 * here with zlib) for text types. Nothing under the directory is read
 * afterwards, so a request can never name a file outside the table: no path
 * is ever joined from a URL. Dot files and symbolic links are skipped.
 *
 * gw_static_serve answers a GET or HEAD whose path is not an API route: the
 * file of that path, else `index.html` (client-side routes survive a
 * reload). index.html and unversioned files are `Cache-Control: no-cache`
 * (revalidated with If-None-Match, 304); versioned files (a path segment
 * `name@1.2.3`, or a file name with an 8+ digit hex part such as
 * `app.3f2a9c1d.js`) are cached for a year, immutable. The bodies are owned
 * by the table and handed to libmicrohttpd as persistent buffers.
 */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include "gw.h"

/* gw_static_load loads dir; a missing directory is logged once and leaves
 * the table empty (every non-API path then answers 404). -1 when the
 * directory exists but cannot be read or is over the size limits. */
int gw_static_load(const char *dir);

/* gw_static_serve answers r's path from the table into w. */
void gw_static_serve(gw_request *r, gw_response *w);

/* gw_static_free releases the table (at exit). */
void gw_static_free(void);

#endif
