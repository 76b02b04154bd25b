/* release_store: the release schema's statements and row readers. */
#include "release_store.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_pgarr.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "coalesce(floor(extract(epoch FROM " col "))::bigint, 0)"

/* The columns of a release (table r), in enum rel_col's order. */
#define REL_COLS                                                               \
	"r.id, r.product_id, r.product_name, r.name, r.version, r.channel, "   \
	"r.platform, r.notes, r.published, " TS("r.published_at") ", " TS(     \
	    "r.created_at") ", " TS("r.updated_at")

enum rel_col {
	REL_C_ID,
	REL_C_PRODUCT_ID,
	REL_C_PRODUCT_NAME,
	REL_C_NAME,
	REL_C_VERSION,
	REL_C_CHANNEL,
	REL_C_PLATFORM,
	REL_C_NOTES,
	REL_C_PUBLISHED,
	REL_C_PUBLISHED_AT,
	REL_C_CREATED,
	REL_C_UPDATED,
	REL_NCOLS
};

/* The columns of a file (table f), in enum file_col's order. */
#define FILE_COLS                                                              \
	"f.id, f.release_id, f.name, f.size, f.sha256, f.downloads, " TS(      \
	    "f.created_at")

enum file_col {
	FILE_C_ID,
	FILE_C_RELEASE,
	FILE_C_NAME,
	FILE_C_SIZE,
	FILE_C_SHA256,
	FILE_C_DOWNLOADS,
	FILE_C_CREATED,
	FILE_NCOLS
};

static int64_t
rel_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static const char *
rel_str(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col);
}

static void
release_read(void *elem, const PGresult *res, int row)
{
	release_row *r = elem;
	int64_t pub = rel_int(res, row, REL_C_PUBLISHED_AT);

	keyport__release__release__init(&r->msg);
	r->msg.id = (char *)rel_str(res, row, REL_C_ID);
	r->msg.product_id = (char *)rel_str(res, row, REL_C_PRODUCT_ID);
	r->msg.product_name = (char *)rel_str(res, row, REL_C_PRODUCT_NAME);
	r->msg.name = (char *)rel_str(res, row, REL_C_NAME);
	r->msg.version = (char *)rel_str(res, row, REL_C_VERSION);
	r->msg.channel = (char *)rel_str(res, row, REL_C_CHANNEL);
	r->msg.platform = (char *)rel_str(res, row, REL_C_PLATFORM);
	r->msg.notes = (char *)rel_str(res, row, REL_C_NOTES);
	r->msg.published = rel_str(res, row, REL_C_PUBLISHED)[0] == 't';
	r->published[0] = '\0';
	if (pub > 0)
		kp_time_format(pub, r->published, sizeof(r->published));
	r->msg.published_at = r->published;
	kp_time_format(rel_int(res, row, REL_C_CREATED), r->created,
	               sizeof(r->created));
	r->msg.created_at = r->created;
	kp_time_format(rel_int(res, row, REL_C_UPDATED), r->updated,
	               sizeof(r->updated));
	r->msg.updated_at = r->updated;
}

static void
release_file_read(void *elem, const PGresult *res, int row)
{
	release_file_row *f = elem;
	keyport__release__file__init(&f->msg);
	f->msg.id = (char *)rel_str(res, row, FILE_C_ID);
	f->msg.name = (char *)rel_str(res, row, FILE_C_NAME);
	f->msg.size = rel_int(res, row, FILE_C_SIZE);
	f->msg.sha256 = (char *)rel_str(res, row, FILE_C_SHA256);
	f->msg.downloads = rel_int(res, row, FILE_C_DOWNLOADS);
	kp_time_format(rel_int(res, row, FILE_C_CREATED), f->created,
	               sizeof(f->created));
	f->msg.created_at = f->created;
}

void
release_store_res_free(void *res)
{
	PQclear(res);
}

void
release_set_clear(release_set *s)
{
	if (s == NULL)
		return;
	free(s->ptrs);
	free(s->file_ptrs);
	PQclear(s->res_);
	PQclear(s->files_res_);
	memset(s, 0, sizeof(*s));
}

static const char release_sql_files_of[] =
    "SELECT " FILE_COLS " FROM files f WHERE f.release_id = ANY($1::uuid[]) "
    "ORDER BY f.release_id, f.name";

/* Reads the files of the set's releases (one statement) and hangs each on
 * its release: the files of one release are contiguous in the answer. */
static int
release_set_files(kp_db *db, release_set *s)
{
	kp_pgarr ids = {0};
	const char *params[1];
	PGresult *res = NULL;
	void *rows;
	size_t n;
	int rv;

	for (size_t i = 0; i < s->n; i++)
		kp_pgarr_uuid(&ids, s->rows[i].msg.id);
	if (s->n == 0 || (params[0] = kp_pgarr_text(&ids)) == NULL) {
		kp_pgarr_free(&ids);
		return s->n == 0 ? KP_OK : KP_EINTERNAL;
	}
	rv = kp_db_query(db, release_sql_files_of, 1, params, &res);
	kp_pgarr_free(&ids);
	if (rv != KP_OK)
		return rv;
	s->files_res_ = res;
	n = (size_t)PQntuples(res);
	if ((s->file_ptrs = (Keyport__Release__File **)kp_db_rows(
	         res, sizeof(release_file_row), release_file_read, &rows)) ==
	    NULL)
		return KP_EINTERNAL;
	s->files = rows;
	for (size_t r = 0; r < s->n; r++)
		for (size_t i = 0; i < n; i++)
			if (strcmp(rel_str(res, (int)i, FILE_C_RELEASE),
			           s->rows[r].msg.id) == 0) {
				if (s->rows[r].msg.n_files == 0)
					s->rows[r].msg.files = &s->file_ptrs[i];
				s->rows[r].msg.n_files++;
			}
	return KP_OK;
}

/* Fills s from res (taken) and reads the releases' files. with_total: the
 * list's count is the last column. */
static int
release_set_read(kp_db *db, release_set *s, PGresult *res, int with_total)
{
	size_t n = (size_t)PQntuples(res);
	void *rows;
	int rv;

	memset(s, 0, sizeof(*s));
	s->res_ = res;
	if ((s->ptrs = (Keyport__Release__Release **)kp_db_rows(
	         res, sizeof(release_row), release_read, &rows)) == NULL) {
		release_set_clear(s);
		return KP_EINTERNAL;
	}
	s->rows = rows;
	s->n = n;
	if (with_total && n > 0)
		s->total = rel_int(res, 0, REL_NCOLS);
	if ((rv = release_set_files(db, s)) != KP_OK)
		release_set_clear(s);
	return rv;
}

/* Runs a statement answering releases; none is KP_ENOTFOUND when one_row. */
static int
release_query(kp_db *db, const char *sql, int n, const char *const *params,
              int one_row, int with_total, release_set *out)
{
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, sql, n, params, &res)) != KP_OK)
		return rv;
	if (one_row && PQntuples(res) == 0) {
		PQclear(res);
		return KP_ENOTFOUND;
	}
	return release_set_read(db, out, res, with_total);
}

static const char release_sql_insert[] =
    "INSERT INTO releases AS r (product_id, product_name, name, version, "
    "sort_key, channel, platform, notes, created_at, updated_at) VALUES "
    "($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9::bigint), "
    "to_timestamp($9::bigint)) RETURNING " REL_COLS;

int
release_store_create(kp_db *db, const release_fields *f, int64_t now,
                     release_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[9] = {f->product_id,
	                    f->product_name,
	                    f->name,
	                    f->version,
	                    f->sort_key,
	                    f->channel,
	                    f->platform,
	                    f->notes ? f->notes : "",
	                    kp_time_param(now, t)};

	return release_query(db, release_sql_insert, 9, p, 1, 0, out);
}

static const char release_sql_get[] =
    "SELECT " REL_COLS " FROM releases r WHERE r.id = $1";

int
release_store_get(kp_db *db, const char *id, release_set *out)
{
	const char *p[1] = {id};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	return release_query(db, release_sql_get, 1, p, 1, 0, out);
}

/* NULL parameters keep the column (coalesce). */
static const char release_sql_update[] =
    "UPDATE releases r SET name = coalesce($2, name), "
    "version = coalesce($3, version), sort_key = coalesce($4, sort_key), "
    "channel = coalesce($5, channel), platform = coalesce($6, platform), "
    "notes = coalesce($7, notes), updated_at = to_timestamp($8::bigint) "
    "WHERE r.id = $1 RETURNING " REL_COLS;

int
release_store_update(kp_db *db, const char *id, const release_fields *f,
                     int64_t now, release_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[8] = {
	    id,         f->name,     f->version, f->sort_key,
	    f->channel, f->platform, f->notes,   kp_time_param(now, t)};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	return release_query(db, release_sql_update, 8, p, 1, 0, out);
}

static const char release_sql_publish[] =
    "UPDATE releases r SET published = $2::boolean, published_at = CASE "
    "WHEN $2::boolean THEN coalesce(published_at, to_timestamp($3::bigint)) "
    "ELSE published_at END, updated_at = to_timestamp($3::bigint) "
    "WHERE r.id = $1 RETURNING " REL_COLS;

int
release_store_publish(kp_db *db, const char *id, int published, int64_t now,
                      release_set *out)
{
	char t[KP_NOW_PARAM_LEN];
	const char *p[3] = {id, published ? "true" : "false",
	                    kp_time_param(now, t)};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	return release_query(db, release_sql_publish, 3, p, 1, 0, out);
}

void
release_ids_clear(release_ids *s)
{
	if (s != NULL)
		kp_db_release(s->ids, s->res_, s, sizeof(*s));
}

/* Takes res: column 0 of every row. */
static int
release_ids_read(release_ids *out, PGresult *res)
{
	size_t n = (size_t)PQntuples(res);

	out->res_ = res;
	if ((out->ids = (const char **)kp_db_column(res, 0)) == NULL) {
		release_ids_clear(out);
		return KP_EINTERNAL;
	}
	out->n = n;
	return KP_OK;
}

/* the file rows go with the release (ON DELETE CASCADE); their ids are
 * read in the same statement, before the delete */
static const char release_sql_delete[] =
    "WITH gone AS (DELETE FROM releases WHERE id = $1 RETURNING id) "
    "SELECT f.id::text FROM files f WHERE f.release_id = $1 UNION ALL "
    "SELECT '' FROM gone";

int
release_store_delete(kp_db *db, const char *id, release_ids *files)
{
	const char *p[1] = {id};
	PGresult *res = NULL;
	int rv, found = 0;

	memset(files, 0, sizeof(*files));
	if (!kp_uuid_valid(id))
		return KP_ENOTFOUND;
	if ((rv = kp_db_query(db, release_sql_delete, 1, p, &res)) != KP_OK)
		return rv;
	if ((rv = release_ids_read(files, res)) != KP_OK)
		return rv;
	/* the '' row says the release existed; it is not a file */
	for (size_t i = 0; i < files->n; i++)
		if (files->ids[i][0] == '\0') {
			found = 1;
			files->ids[i] = files->ids[--files->n];
			i--;
		}
	if (!found) {
		release_ids_clear(files);
		return KP_ENOTFOUND;
	}
	return KP_OK;
}

static const char release_sql_list[] =
    "SELECT " REL_COLS ", count(*) OVER () FROM releases r "
    "WHERE ($1 = '' OR r.product_id::text = $1) "
    "AND ($2 = '' OR r.channel = $2) AND ($3 = '' OR r.platform = $3) "
    "AND ($4 = 0 OR r.published = ($4 = 1)) "
    "ORDER BY r.product_name, r.product_id, r.sort_key DESC, r.channel, "
    "r.platform LIMIT $5 OFFSET $6";

int
release_store_list(kp_db *db, const release_filter *f, int limit,
                   int64_t offset, release_set *out)
{
	char pub[4], lim[16], off[24];
	const char *p[6] = {f->product_id ? f->product_id : "",
	                    f->channel ? f->channel : "",
	                    f->platform ? f->platform : "",
	                    pub,
	                    lim,
	                    off};

	snprintf(pub, sizeof(pub), "%d", f->published);
	snprintf(lim, sizeof(lim), "%d", limit);
	snprintf(off, sizeof(off), "%lld", (long long)offset);
	return release_query(db, release_sql_list, 6, p, 0, 1, out);
}

static const char release_sql_visible[] =
    "SELECT " REL_COLS " FROM releases r WHERE r.published AND "
    "r.product_id = ANY($1::uuid[]) ORDER BY r.product_name, r.product_id, "
    "r.sort_key DESC, r.channel, r.platform";

int
release_store_visible(kp_db *db, const char *product_ids, release_set *out)
{
	const char *p[1] = {product_ids};

	return release_query(db, release_sql_visible, 1, p, 0, 0, out);
}

static const char release_sql_latest[] =
    "SELECT " REL_COLS " FROM releases r WHERE r.published AND "
    "r.product_id = $1 AND r.channel = $2 AND ($3 = '' OR r.platform = $3) "
    "ORDER BY r.sort_key DESC, r.published_at DESC LIMIT 1";

int
release_store_latest(kp_db *db, const char *product_id, const char *channel,
                     const char *platform, release_set *out)
{
	const char *p[3] = {product_id, channel, platform ? platform : ""};

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(product_id))
		return KP_ENOTFOUND;
	return release_query(db, release_sql_latest, 3, p, 1, 0, out);
}

static const char release_sql_file_insert[] =
    "INSERT INTO files AS f (release_id, name, size, sha256, created_at) "
    "VALUES ($1, $2, $3::bigint, $4, to_timestamp($5::bigint)) "
    "RETURNING " FILE_COLS;

int
release_store_file_add(kp_db *db, const char *release_id, const char *name,
                       int64_t size, const char *sha256, int64_t now,
                       int (*place)(const char *, void *),
                       void (*unplace)(const char *, void *), void *arg,
                       release_file_row *out, void **res_out)
{
	char t[KP_NOW_PARAM_LEN], sz[24];
	const char *p[5] = {release_id, name, sz, sha256,
	                    kp_time_param(now, t)};
	PGresult *res = NULL;
	int rv;

	*res_out = NULL;
	if (!kp_uuid_valid(release_id))
		return KP_ENOTFOUND;
	snprintf(sz, sizeof(sz), "%lld", (long long)size);
	if ((rv = kp_db_begin(db)) != KP_OK)
		return rv;
	if ((rv = kp_db_query(db, release_sql_file_insert, 5, p, &res)) !=
	    KP_OK)
		goto fail;
	release_file_read(out, res, 0);
	if ((rv = place(out->msg.id, arg)) != KP_OK)
		goto fail;
	if ((rv = kp_db_commit(db)) != KP_OK) {
		unplace(out->msg.id, arg);
		goto fail;
	}
	*res_out = res;
	return KP_OK;
fail:
	kp_db_rollback(db);
	PQclear(res);
	return rv;
}

void
release_file_ref_clear(release_file_ref *r)
{
	if (r == NULL)
		return;
	PQclear(r->res_);
	memset(r, 0, sizeof(*r));
}

enum ref_col {
	REF_C_ID,
	REF_C_NAME,
	REF_C_SIZE,
	REF_C_SHA256,
	REF_C_PRODUCT,
	REF_C_PUBLISHED
};

static int
release_ref_read(release_file_ref *out, PGresult *res)
{
	if (PQntuples(res) == 0) {
		PQclear(res);
		return KP_ENOTFOUND;
	}
	out->res_ = res;
	out->file_id = rel_str(res, 0, REF_C_ID);
	out->name = rel_str(res, 0, REF_C_NAME);
	out->size = rel_int(res, 0, REF_C_SIZE);
	out->sha256 = rel_str(res, 0, REF_C_SHA256);
	out->product_id = rel_str(res, 0, REF_C_PRODUCT);
	out->published = rel_str(res, 0, REF_C_PUBLISHED)[0] == 't';
	return KP_OK;
}

static const char release_sql_file_ref[] =
    "SELECT f.id, f.name, f.size, f.sha256, r.product_id, r.published "
    "FROM files f JOIN releases r ON r.id = f.release_id "
    "WHERE f.id = $2 AND f.release_id = $1";

int
release_store_file_ref(kp_db *db, const char *release_id, const char *file_id,
                       release_file_ref *out)
{
	const char *p[2] = {release_id, file_id};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(release_id) || !kp_uuid_valid(file_id))
		return KP_ENOTFOUND;
	if ((rv = kp_db_query(db, release_sql_file_ref, 2, p, &res)) != KP_OK)
		return rv;
	return release_ref_read(out, res);
}

static const char release_sql_file_fetch[] =
    "WITH f AS (UPDATE files SET downloads = downloads + $2::int "
    "WHERE id = $1 RETURNING id, name, size, sha256, release_id) "
    "SELECT f.id, f.name, f.size, f.sha256, r.product_id, r.published "
    "FROM f JOIN releases r ON r.id = f.release_id";

int
release_store_file_fetch(kp_db *db, const char *file_id, int count,
                         release_file_ref *out)
{
	const char *p[2] = {file_id, count ? "1" : "0"};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if (!kp_uuid_valid(file_id))
		return KP_ENOTFOUND;
	if ((rv = kp_db_query(db, release_sql_file_fetch, 2, p, &res)) != KP_OK)
		return rv;
	return release_ref_read(out, res);
}

static const char release_sql_file_delete[] =
    "DELETE FROM files WHERE id = $2 AND release_id = $1 RETURNING id";

int
release_store_file_delete(kp_db *db, const char *release_id,
                          const char *file_id)
{
	const char *p[2] = {release_id, file_id};
	PGresult *res = NULL;
	int rv, n;

	if (!kp_uuid_valid(release_id) || !kp_uuid_valid(file_id))
		return KP_ENOTFOUND;
	if ((rv = kp_db_query(db, release_sql_file_delete, 2, p, &res)) !=
	    KP_OK)
		return rv;
	n = PQntuples(res);
	PQclear(res);
	return n == 0 ? KP_ENOTFOUND : KP_OK;
}

static const char release_sql_files_known[] =
    "SELECT id::text FROM files WHERE id = ANY($1::uuid[])";

int
release_store_files_known(kp_db *db, const char *ids, release_ids *out)
{
	const char *p[1] = {ids};
	PGresult *res = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = kp_db_query(db, release_sql_files_known, 1, p, &res)) !=
	    KP_OK)
		return rv;
	return release_ids_read(out, res);
}
