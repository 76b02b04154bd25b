/* release_files: the stored files of releases and their download links.
 *
 * The release directory holds files/<file id> (complete, verified files
 * with a row) and tmp/<upload name> (uploads the gateway is writing). A
 * file is renamed from tmp/ into files/ inside the transaction that
 * inserts its row (release_store_file_add), so a row always has its bytes;
 * the opposite (bytes without a row, after a crash) is removed by the
 * sweep, at start and then at most hourly, with uploads left stale. */
#include "release_app.h"

#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_filename.h"
#include "kp_log.h"
#include "kp_service.h"
#include "release_link.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RELEASE_SWEEP_EVERY 3600 /* seconds */
#define RELEASE_GRACE       600  /* a file younger than this is left alone */
#define RELEASE_TMP_STALE   86400

static char release_dir_buf[1024];
static atomic_llong release_last_sweep;

const char *
release_dir(void)
{
	return release_dir_buf;
}

int
release_files_init(void)
{
	const char *d = kp_cfg_str(KP_CFG_RELEASE_DIR);
	char sub[1100];

	if (d != NULL && d[0] != '\0')
		snprintf(release_dir_buf, sizeof(release_dir_buf), "%s", d);
	else
		snprintf(release_dir_buf, sizeof(release_dir_buf),
		         "%s/releases", kp_cfg_str(KP_CFG_DATA_DIR));
	if (mkdir(release_dir_buf, 0750) != 0 && errno != EEXIST)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/files", release_dir_buf);
	if (mkdir(sub, 0750) != 0 && errno != EEXIST)
		goto fail;
	snprintf(sub, sizeof(sub), "%s/tmp", release_dir_buf);
	if (mkdir(sub, 0750) != 0 && errno != EEXIST)
		goto fail;
	return release_link_init();
fail:
	kp_log_error("cannot create the release directory %s: %s",
	             release_dir_buf, strerror(errno));
	return KP_EINTERNAL;
}

void
release_files_remove(const char *const *ids, size_t n)
{
	char path[1200];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/files/%s", release_dir_buf,
		         ids[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			kp_log_warn("cannot remove release file %s: %s", ids[i],
			            strerror(errno));
	}
}

/* Removes stale uploads in tmp/ (the gateway removes its own; these are a
 * crashed gateway's). */
static void
release_sweep_tmp(time_t now)
{
	char dir[1100], path[1400];
	struct dirent *e;
	struct stat st;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tmp", release_dir_buf);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 &&
		    now - st.st_mtime > RELEASE_TMP_STALE)
			unlink(path);
	}
	closedir(d);
}

void
release_files_sweep(kp_db *db)
{
	char dir[1100], path[1400];
	kp_pgarr ids = {0};
	release_ids known = {0};
	struct dirent *e;
	struct stat st;
	time_t now = time(NULL);
	size_t removed = 0;
	const char *text;
	DIR *d;

	atomic_store(&release_last_sweep, (long long)now);
	release_sweep_tmp(now);
	snprintf(dir, sizeof(dir), "%s/files", release_dir_buf);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || lstat(path, &st) != 0 ||
		    now - st.st_mtime < RELEASE_GRACE)
			continue;
		if (!kp_pgarr_uuid(&ids, e->d_name)) {
			kp_log_warn(
			    "release directory: %s is not a file of ours",
			    e->d_name);
			continue;
		}
	}
	if (ids.n == 0 || (text = kp_pgarr_text(&ids)) == NULL ||
	    release_store_files_known(db, text, &known) != KP_OK)
		goto out;
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		int has = 0;
		if (e->d_name[0] == '.' || strstr(text, e->d_name) == NULL)
			continue;
		for (size_t i = 0; i < known.n && !has; i++)
			has = strcmp(known.ids[i], e->d_name) == 0;
		if (!has) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (unlink(path) == 0)
				removed++;
		}
	}
	if (removed > 0)
		kp_log_info("release sweep: removed %zu file(s) without a row",
		            removed);
out:
	closedir(d);
	release_ids_clear(&known);
	kp_pgarr_free(&ids);
}

static void
release_sweep_maybe(kp_rpc_ctx *ctx)
{
	long long last = atomic_load(&release_last_sweep);

	if ((long long)time(NULL) - last >= RELEASE_SWEEP_EVERY &&
	    atomic_compare_exchange_strong(&release_last_sweep, &last,
	                                   (long long)time(NULL)))
		release_files_sweep(kp_service_db(ctx));
}

/* ---- adding a file (the gateway's upload) -------------------------------- */

/* The gateway's upload names: "up-" and 32 hex digits. */
static int
release_tmp_ok(const char *s)
{
	if (strncmp(s, "up-", 3) != 0 || strlen(s) != 35)
		return 0;
	for (const char *p = s + 3; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

typedef struct release_place {
	const char *tmp;
	int64_t size;
	int err;
} release_place;

static int
release_place_file(const char *file_id, void *arg)
{
	release_place *p = arg;
	char from[1200], to[1200];
	struct stat st;

	snprintf(from, sizeof(from), "%s/tmp/%s", release_dir_buf, p->tmp);
	snprintf(to, sizeof(to), "%s/files/%s", release_dir_buf, file_id);
	if (lstat(from, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (int64_t)st.st_size != p->size) {
		p->err = ENOENT;
		return KP_EINVAL;
	}
	if (rename(from, to) != 0) {
		p->err = errno;
		return KP_EINTERNAL;
	}
	return KP_OK;
}

static void
release_unplace_file(const char *file_id, void *arg)
{
	(void)arg;
	release_files_remove(&file_id, 1);
}

int
release_file_add(kp_rpc_ctx *ctx)
{
	Keyport__Release__AddFileRequest *q = NULL;
	Keyport__Release__FileReply rep = KEYPORT__RELEASE__FILE_REPLY__INIT;
	release_set rel = {0};
	release_file_row row;
	release_place place = {0};
	void *res = NULL;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__release__add_file_request__descriptor,
	                        (ProtobufCMessage **)&q)) != KP_OK)
		goto out;
	if (!release_is_admin(ctx)) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
		                 "only the vendor admin uploads files");
		goto out;
	}
	if (!kp_filename_ok(q->name)) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, "INVALID_FILE_NAME",
		                 "name: 1 to 255 bytes, no '/', '\\', control "
		                 "characters or leading dot");
		goto out;
	}
	if (!release_tmp_ok(q->tmp_name) || q->size < 0 ||
	    strlen(q->sha256) != 64) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL, "malformed upload");
		goto out;
	}
	if ((rv = release_store_get(kp_service_db(ctx), q->release_id, &rel)) !=
	    KP_OK) {
		rv = rv == KP_ENOTFOUND
		         ? kp_rpc_fail(ctx, rv, "RELEASE_NOT_FOUND",
		                       "no such release")
		         : kp_service_db_fail(ctx, rv, NULL,
		                              "release.AddFile: read");
		goto out;
	}
	place.tmp = q->tmp_name;
	place.size = q->size;
	rv = release_store_file_add(kp_service_db(ctx), q->release_id, q->name,
	                            q->size, q->sha256, kp_now(),
	                            release_place_file, release_unplace_file,
	                            &place, &row, &res);
	if (rv == KP_ECONFLICT)
		rv = kp_rpc_fail(ctx, rv, "FILE_EXISTS",
		                 "name: this release has a file of that name");
	else if (rv != KP_OK && place.err != 0)
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL,
		                 "the upload could not be stored");
	else if (rv != KP_OK)
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "release.AddFile: insert");
	if (rv != KP_OK)
		goto out;
	rep.file = &row.msg;
	rv = kp_rpc_reply(ctx, &rep.base);
	release_sweep_maybe(ctx);
out:
	release_store_res_free(res);
	release_set_clear(&rel);
	keyport__release__add_file_request__free_unpacked(q, NULL);
	return rv;
}

int
release_file_delete(kp_rpc_ctx *ctx)
{
	Keyport__Release__FileIdRequest *q = NULL;
	Keyport__Release__Empty e = KEYPORT__RELEASE__EMPTY__INIT;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__release__file_id_request__descriptor,
	                        (ProtobufCMessage **)&q)) != KP_OK)
		goto out;
	if (!release_is_admin(ctx)) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
		                 "only the vendor admin deletes files");
		goto out;
	}
	rv = release_store_file_delete(kp_service_db(ctx), q->release_id,
	                               q->file_id);
	if (rv == KP_ENOTFOUND)
		rv = kp_rpc_fail(ctx, rv, "FILE_NOT_FOUND", "no such file");
	else if (rv != KP_OK)
		rv = kp_service_db_fail(ctx, rv, NULL, "release.DeleteFile");
	if (rv != KP_OK)
		goto out;
	release_files_remove((const char *const *)&q->file_id, 1);
	rv = kp_rpc_reply(ctx, &e.base);
out:
	keyport__release__file_id_request__free_unpacked(q, NULL);
	return rv;
}

/* ---- download links -------------------------------------------------------
 */

int
release_download_url(kp_rpc_ctx *ctx)
{
	Keyport__Release__FileIdRequest *q = NULL;
	Keyport__Release__DownloadUrlReply rep =
	    KEYPORT__RELEASE__DOWNLOAD_URL_REPLY__INIT;
	release_file_ref ref = {0};
	char token[RELEASE_LINK_MAX], exp[32];
	int64_t until = kp_now() + RELEASE_LINK_TTL;
	int rv, visible = 0;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__release__file_id_request__descriptor,
	                        (ProtobufCMessage **)&q)) != KP_OK)
		goto out;
	rv = release_store_file_ref(kp_service_db(ctx), q->release_id,
	                            q->file_id, &ref);
	if (rv != KP_OK && rv != KP_ENOTFOUND) {
		rv = kp_service_db_fail(ctx, rv, NULL, "release.DownloadUrl");
		goto out;
	}
	/* a file the caller may not see is not found, like one that is not */
	if (rv == KP_OK && (release_is_admin(ctx) || ref.published) &&
	    (rv = release_peer_product_visible(ctx, ref.product_id,
	                                       &visible)) != KP_OK)
		goto out;
	if (!visible) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "FILE_NOT_FOUND",
		                 "no such file");
		goto out;
	}
	if ((rv = release_link_make(ref.file_id, until, token)) != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot sign the link");
		goto out;
	}
	rep.token = token;
	rep.expires_at = kp_time_format(until, exp, sizeof(exp));
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	release_file_ref_clear(&ref);
	keyport__release__file_id_request__free_unpacked(q, NULL);
	return rv;
}

int
release_resolve_download(kp_rpc_ctx *ctx)
{
	Keyport__Release__ResolveDownloadRequest *q = NULL;
	Keyport__Release__ResolveDownloadReply rep =
	    KEYPORT__RELEASE__RESOLVE_DOWNLOAD_REPLY__INIT;
	release_file_ref ref = {0};
	char file_id[37], path[64];
	int rv;

	if ((rv = kp_rpc_unpack(
	         ctx, &keyport__release__resolve_download_request__descriptor,
	         (ProtobufCMessage **)&q)) != KP_OK)
		goto out;
	rv = release_link_check(q->token, kp_now(), file_id);
	if (rv == KP_EUNAUTH) {
		rv =
		    kp_rpc_fail(ctx, KP_EFORBIDDEN, "LINK_EXPIRED",
		                "this download link has expired: ask for a new "
		                "one");
		goto out;
	}
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, KP_EFORBIDDEN, "LINK_INVALID",
		                 "this download link is not valid");
		goto out;
	}
	rv = release_store_file_fetch(kp_service_db(ctx), file_id, q->count,
	                              &ref);
	if (rv == KP_ENOTFOUND)
		rv = kp_rpc_fail(ctx, rv, "FILE_NOT_FOUND",
		                 "this file was removed");
	else if (rv != KP_OK)
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "release.ResolveDownload");
	if (rv != KP_OK)
		goto out;
	snprintf(path, sizeof(path), "files/%s", ref.file_id);
	rep.path = path;
	rep.name = (char *)ref.name;
	rep.size = ref.size;
	rep.sha256 = (char *)ref.sha256;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	release_file_ref_clear(&ref);
	keyport__release__resolve_download_request__free_unpacked(q, NULL);
	return rv;
}
