/* release_store: every statement of the release schema, and the only code of
 * the release service that talks to PostgreSQL.
 *
 * Each statement is a static const char beside an enum of its columns; the
 * readers fill typed rows (messages of proto/release.proto); callers never
 * see a PGresult or a column number. Times come out of SQL as epoch
 * seconds and are formatted here (kp_time_format); "now" goes in as a text
 * parameter made by kp_time_param, read by to_timestamp($n).
 *
 * Every function returns a kp_status: KP_OK, or the translation of the
 * SQLSTATE (kp_db.h), which the caller answers with kp_service_db_fail; an
 * id that is not a UUID is KP_ENOTFOUND (an id that cannot exist is simply
 * not found). A release_set borrows from the store's results; free it with
 * release_set_clear (NULL-safe, idempotent; also after a failure).
 */
#ifndef RELEASE_STORE_H
#define RELEASE_STORE_H

#include "kp_db.h"
#include "proto/release.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef struct release_file_row {
	Keyport__Release__File msg;
	char created[32];
} release_file_row;

typedef struct release_row {
	Keyport__Release__Release msg;
	char published[32], created[32], updated[32];
} release_row;

/* Releases read by one statement with their files (each release's
 * msg.files point into files); total is a list's whole count. */
typedef struct release_set {
	size_t n;
	release_row *rows;
	Keyport__Release__Release **ptrs;
	release_file_row *files;
	Keyport__Release__File **file_ptrs;
	int64_t total;
	void *res_, *files_res_;
} release_set;

void release_set_clear(release_set *s);

/* The fields of a release as written (create and update). */
typedef struct release_fields {
	const char *product_id, *product_name, *name, *version, *sort_key,
	    *channel, *platform, *notes;
} release_fields;

/* release_store_create inserts a release (unpublished): KP_ECONFLICT when
 * (product, version, channel, platform) exists. */
int release_store_create(kp_db *db, const release_fields *f, int64_t now,
                         release_set *out);

/* release_store_get reads release id with its files: KP_ENOTFOUND. */
int release_store_get(kp_db *db, const char *id, release_set *out);

/* release_store_update writes the fields that are not NULL (product_id
 * and product_name are not changed; sort_key goes with version). */
int release_store_update(kp_db *db, const char *id, const release_fields *f,
                         int64_t now, release_set *out);

/* release_store_publish sets published (1) or not (0); publishing keeps the
 * first publication's time. */
int release_store_publish(kp_db *db, const char *id, int published, int64_t now,
                          release_set *out);

/* File ids (of a deleted release, or known among a sweep's names). */
typedef struct release_ids {
	size_t n;
	const char **ids;
	void *res_;
} release_ids;

void release_ids_clear(release_ids *s);

/* release_store_delete deletes release id and its file rows, and gives the
 * ids of the files to remove from storage. KP_ENOTFOUND. */
int release_store_delete(kp_db *db, const char *id, release_ids *files);

/* A list's filter: NULL or "" for none; published 0 any, 1 yes, 2 no. */
typedef struct release_filter {
	const char *product_id, *channel, *platform;
	int published;
} release_filter;

/* release_store_list reads a page (newest version first, by product). */
int release_store_list(kp_db *db, const release_filter *f, int limit,
                       int64_t offset, release_set *out);

/* release_store_visible reads the published releases of the products in
 * product_ids (a kp_pgarr uuid[] literal), by product name, newest first. */
int release_store_visible(kp_db *db, const char *product_ids, release_set *out);

/* release_store_latest reads the published release of product with the
 * highest precedence in channel (for platform, unless ""): KP_ENOTFOUND
 * when there is none. */
int release_store_latest(kp_db *db, const char *product_id, const char *channel,
                         const char *platform, release_set *out);

/* release_store_file_add inserts a file row of release_id and, inside the
 * same transaction, calls place(file_id, arg) to put the bytes where the
 * id says; the row is committed only when place answers KP_OK, and a
 * failed commit calls unplace(file_id, arg). KP_ECONFLICT: a file of
 * that name exists (or the release was deleted meanwhile). out borrows
 * from *res_out: free that with release_store_res_free after out's use. */
int release_store_file_add(kp_db *db, const char *release_id, const char *name,
                           int64_t size, const char *sha256, int64_t now,
                           int (*place)(const char *, void *),
                           void (*unplace)(const char *, void *), void *arg,
                           release_file_row *out, void **res_out);

/* release_store_res_free frees a result a store call handed out as a
 * void ** (NULL-safe). */
void release_store_res_free(void *res);

/* The file of a download: its release's product and published flag. */
typedef struct release_file_ref {
	const char *file_id, *name, *sha256, *product_id;
	int64_t size;
	int published;
	void *res_;
} release_file_ref;

void release_file_ref_clear(release_file_ref *r);

/* release_store_file_ref reads file_id of release_id: KP_ENOTFOUND. */
int release_store_file_ref(kp_db *db, const char *release_id,
                           const char *file_id, release_file_ref *out);

/* release_store_file_fetch reads file_id for a download, counting it when
 * count is non-zero: KP_ENOTFOUND. */
int release_store_file_fetch(kp_db *db, const char *file_id, int count,
                             release_file_ref *out);

/* release_store_file_delete deletes file_id of release_id: KP_ENOTFOUND. */
int release_store_file_delete(kp_db *db, const char *release_id,
                              const char *file_id);

/* release_store_files_known gives which of ids (a uuid[] literal) have a
 * row (the sweep removes the others). */
int release_store_files_known(kp_db *db, const char *ids, release_ids *out);

#endif
