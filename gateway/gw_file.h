/* gw_file: release files through the gateway: uploads streamed into the
 * release directory, and the byte ranges of downloads.
 *
 * The gateway and the release service share the release directory
 * (KEYPORT_RELEASE_DIR, default $KEYPORT_DATA_DIR/releases; a shared volume
 * when they run apart: docs/design.md). An upload is written to
 * tmp/up-<32 hex> as it arrives, in libmicrohttpd's chunks (never the whole
 * body in memory), hashed (SHA-256) and counted on the way; the release
 * service renames it into files/ when it inserts the row. Whatever happens
 * to the request, the gateway removes its temporary file at the end
 * (gw_file_upload_discard), so an interrupted upload leaves nothing.
 *
 * A route whose body_limit is GW_BODY_STREAM (gw.h) receives its body this
 * way: gw_http opens the upload after authenticating the request and
 * checking its size, and the handler finds it in gw_request.upload.
 */
#ifndef GW_FILE_H
#define GW_FILE_H

#include "gw.h"

#include <sodium.h>
#include <stdint.h>

typedef struct gw_upload {
	int fd;
	char tmp[40];    /* "up-<32 hex>" */
	char path[1100]; /* its full path */
	uint64_t size, max;
	crypto_hash_sha256_state sha;
	char sha256[65]; /* hex, after gw_file_upload_finish */
	int err;         /* errno of a failed write (ENOSPC: disk full) */
	int too_large;   /* the body went past max */
} gw_upload;

/* gw_file_dir is the release directory. */
const char *gw_file_dir(void);

/* gw_file_max is the largest file accepted (KEYPORT_RELEASE_MAX_FILE_SIZE). */
uint64_t gw_file_max(void);

/* gw_file_name_ok: a file name the release service accepts: 1 to 255
 * bytes, no '/', '\\', control character or leading dot. */
int gw_file_name_ok(const char *name);

/* gw_file_upload_open creates the temporary file. 0, or an errno. */
int gw_file_upload_open(gw_upload *u, uint64_t max);

/* gw_file_upload_write appends n bytes (or records why it cannot). */
void gw_file_upload_write(gw_upload *u, const char *data, size_t n);

/* gw_file_upload_finish flushes the file to disk and writes the hash.
 * 0, or an errno. */
int gw_file_upload_finish(gw_upload *u);

/* gw_file_upload_discard closes and removes the temporary file (a no-op
 * for the name once the release service renamed it). */
void gw_file_upload_discard(gw_upload *u);

/* gw_file_range reads a Range header against a file of size bytes: 0 and
 * *off, *len for one satisfiable range; 1 to serve the whole file (no
 * header, several ranges, or a unit other than bytes); -1 when
 * unsatisfiable (416). */
int gw_file_range(const char *header, uint64_t size, uint64_t *off,
                  uint64_t *len);

#endif
