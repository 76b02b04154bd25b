/* release_admin: the vendor admin's releases. */
#include "release_app.h"

#include "kp_text.h"
#include "kp_clock.h"
#include "kp_err.h"
#include "kp_list.h"
#include "kp_service.h"
#include "release_semver.h"

#include <stdio.h>
#include <string.h>

int
release_is_admin(const kp_rpc_ctx *ctx)
{
	return ctx->caller->role != NULL &&
	       strcmp(ctx->caller->role, "admin") == 0;
}

static int
release_admin_only(kp_rpc_ctx *ctx)
{
	if (release_is_admin(ctx))
		return KP_OK;
	return kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
	                   "only the vendor admin manages releases");
}

int
release_reply_one(kp_rpc_ctx *ctx, release_set *set)
{
	Keyport__Release__ReleaseReply rep =
	    KEYPORT__RELEASE__RELEASE_REPLY__INIT;
	int rv;

	rep.release = set->n > 0 ? set->ptrs[0] : NULL;
	rv = kp_rpc_reply(ctx, &rep.base);
	release_set_clear(set);
	return rv;
}

/* A text field of at most max characters with no control character; "" is
 * refused when required. Answers 400 naming field. */
static int
release_check_text(kp_rpc_ctx *ctx, const char *field, const char *v,
                   size_t max, int required)
{
	size_t n = v ? strlen(v) : 0;

	if (required && n == 0)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL, "%s is required",
		                   field);
	if (kp_utf8_chars(v) > max)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "%s: at most %zu characters", field, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 &&
		    !(max > 1000 &&
		      (v[i] == '\n' || v[i] == '\t' || v[i] == '\r')))
			return kp_rpc_fail(ctx, KP_EINVAL, NULL,
			                   "%s: no control characters", field);
	return KP_OK;
}

/* A channel: stable, beta, alpha or a vendor's own word (a-z, 0-9, -). */
static int
release_check_channel(kp_rpc_ctx *ctx, const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 32)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                   "channel: 1 to 32 characters");
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
		      (v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
			return kp_rpc_fail(
			    ctx, KP_EINVAL, NULL,
			    "channel: lower-case letters, digits "
			    "and '-' only");
	return KP_OK;
}

/* Validates the fields given (NULL: not given) and makes the sort key. */
static int
release_check_fields(kp_rpc_ctx *ctx, release_fields *f, char *key,
                     size_t keylen, int create)
{
	if (release_check_text(ctx, "name", f->name, 200, create) != KP_OK ||
	    release_check_text(ctx, "platform", f->platform, 64, create) !=
	        KP_OK ||
	    release_check_text(ctx, "notes", f->notes, 20000, 0) != KP_OK)
		return ctx->status;
	if (f->channel != NULL &&
	    release_check_channel(ctx, f->channel) != KP_OK)
		return ctx->status;
	if (f->version != NULL) {
		if (release_semver_key(f->version, key, keylen) != 0)
			return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_VERSION",
			                   "version: not a semantic version "
			                   "(MAJOR.MINOR.PATCH[-pre][+build])");
		f->sort_key = key;
	}
	return KP_OK;
}

static int
release_store_fail(kp_rpc_ctx *ctx, int rv, const char *what)
{
	if (rv == KP_ENOTFOUND)
		return kp_rpc_fail(ctx, rv, "RELEASE_NOT_FOUND",
		                   "no such release");
	if (rv == KP_ECONFLICT)
		return kp_rpc_fail(
		    ctx, rv, "RELEASE_EXISTS",
		    "a release of this product with this version, "
		    "channel and platform exists");
	return kp_service_db_fail(ctx, rv, NULL, what);
}

int
release_create(kp_rpc_ctx *ctx)
{
	Keyport__Release__CreateReleaseRequest *q = NULL;
	release_fields f = {0};
	release_set set = {0};
	char key[RELEASE_SORT_KEY_MAX], pname[256];
	int rv;

	if ((rv = release_admin_only(ctx)) != KP_OK ||
	    (rv = kp_rpc_unpack(
	         ctx, &keyport__release__create_release_request__descriptor,
	         (ProtobufCMessage **)&q)) != KP_OK)
		goto out;
	f.product_id = q->product_id;
	f.name = q->name;
	f.version = q->version;
	f.channel = q->channel[0] ? q->channel : "stable";
	f.platform = q->platform;
	f.notes = q->notes;
	if ((rv = release_check_fields(ctx, &f, key, sizeof(key), 1)) != KP_OK)
		goto out;
	if (!kp_uuid_valid(q->product_id)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "PRODUCT_NOT_FOUND",
		                 "productId: no such product");
		goto out;
	}
	if ((rv = release_peer_product_name(ctx, q->product_id, pname,
	                                    sizeof(pname))) != KP_OK)
		goto out;
	f.product_name = pname;
	if ((rv = release_store_create(kp_service_db(ctx), &f, kp_now(),
	                               &set)) != KP_OK) {
		rv = release_store_fail(ctx, rv,
		                        "release.CreateRelease: insert");
		goto out;
	}
	rv = release_reply_one(ctx, &set);
out:
	keyport__release__create_release_request__free_unpacked(q, NULL);
	return rv;
}

int
release_update(kp_rpc_ctx *ctx)
{
	Keyport__Release__UpdateReleaseRequest *q = NULL;
	release_fields f = {0};
	release_set set = {0};
	char key[RELEASE_SORT_KEY_MAX];
	int rv;

	if ((rv = release_admin_only(ctx)) != KP_OK ||
	    (rv = kp_rpc_unpack(
	         ctx, &keyport__release__update_release_request__descriptor,
	         (ProtobufCMessage **)&q)) != KP_OK)
		goto out;
	f.name = q->has_name ? q->name : NULL;
	f.version = q->has_version ? q->version : NULL;
	f.channel = q->has_channel ? q->channel : NULL;
	f.platform = q->has_platform ? q->platform : NULL;
	f.notes = q->has_notes ? q->notes : NULL;
	if ((rv = release_check_fields(ctx, &f, key, sizeof(key), 0)) != KP_OK)
		goto out;
	if ((q->has_name && q->name[0] == '\0') ||
	    (q->has_platform && q->platform[0] == '\0')) {
		rv = kp_rpc_fail(
		    ctx, KP_EINVAL, NULL, "%s may not be empty",
		    q->has_name && q->name[0] == '\0' ? "name" : "platform");
		goto out;
	}
	if ((rv = release_store_update(kp_service_db(ctx), q->id, &f, kp_now(),
	                               &set)) != KP_OK) {
		rv = release_store_fail(ctx, rv,
		                        "release.UpdateRelease: update");
		goto out;
	}
	rv = release_reply_one(ctx, &set);
out:
	keyport__release__update_release_request__free_unpacked(q, NULL);
	return rv;
}

/* Unpacks a ReleaseIdRequest after the admin check. */
static int
release_id_request(kp_rpc_ctx *ctx, Keyport__Release__ReleaseIdRequest **q)
{
	int rv;

	*q = NULL;
	if ((rv = release_admin_only(ctx)) != KP_OK)
		return rv;
	return kp_rpc_unpack(ctx,
	                     &keyport__release__release_id_request__descriptor,
	                     (ProtobufCMessage **)q);
}

int
release_get(kp_rpc_ctx *ctx)
{
	Keyport__Release__ReleaseIdRequest *q = NULL;
	release_set set = {0};
	int rv;

	if ((rv = release_id_request(ctx, &q)) != KP_OK)
		goto out;
	if ((rv = release_store_get(kp_service_db(ctx), q->id, &set)) != KP_OK)
		rv = release_store_fail(ctx, rv, "release.GetRelease: read");
	else
		rv = release_reply_one(ctx, &set);
out:
	keyport__release__release_id_request__free_unpacked(q, NULL);
	return rv;
}

static int
release_set_published(kp_rpc_ctx *ctx, int published)
{
	Keyport__Release__ReleaseIdRequest *q = NULL;
	release_set set = {0};
	int rv;

	if ((rv = release_id_request(ctx, &q)) != KP_OK)
		goto out;
	if ((rv = release_store_publish(kp_service_db(ctx), q->id, published,
	                                kp_now(), &set)) != KP_OK)
		rv = release_store_fail(ctx, rv,
		                        "release.PublishRelease: update");
	else
		rv = release_reply_one(ctx, &set);
out:
	keyport__release__release_id_request__free_unpacked(q, NULL);
	return rv;
}

int
release_publish(kp_rpc_ctx *ctx)
{
	return release_set_published(ctx, 1);
}

int
release_unpublish(kp_rpc_ctx *ctx)
{
	return release_set_published(ctx, 0);
}

int
release_delete(kp_rpc_ctx *ctx)
{
	Keyport__Release__ReleaseIdRequest *q = NULL;
	Keyport__Release__Empty e = KEYPORT__RELEASE__EMPTY__INIT;
	release_ids files = {0};
	int rv;

	if ((rv = release_id_request(ctx, &q)) != KP_OK)
		goto out;
	if ((rv = release_store_delete(kp_service_db(ctx), q->id, &files)) !=
	    KP_OK) {
		rv = release_store_fail(ctx, rv,
		                        "release.DeleteRelease: delete");
		goto out;
	}
	/* the rows are gone; a crash before this line leaves files that the
	 * sweep removes */
	release_files_remove(files.ids, files.n);
	rv = kp_rpc_reply(ctx, &e.base);
out:
	release_ids_clear(&files);
	keyport__release__release_id_request__free_unpacked(q, NULL);
	return rv;
}

int
release_list(kp_rpc_ctx *ctx)
{
	Keyport__Release__ListReleasesRequest *q = NULL;
	release_set set = {0};
	int64_t off = 0;
	int rv;

	if ((rv = release_admin_only(ctx)) != KP_OK ||
	    (rv = kp_list_unpack(
	         ctx, &keyport__release__list_releases_request__descriptor,
	         (ProtobufCMessage **)&q, &off)) != KP_OK)
		return rv;
	if (q->published < 0 || q->published > 2)
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "published: out of range");
	else if (q->product_id[0] && !kp_uuid_valid(q->product_id))
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "productId: not a product id");
	else {
		release_filter f = {q->product_id, q->channel, q->platform,
		                    q->published};

		rv = release_store_list(kp_service_db(ctx), &f, q->limit, off,
		                        &set);
		rv = kp_list_reply(
		    ctx, rv, &keyport__release__list_releases_reply__descriptor,
		    set.ptrs, set.n, set.total, "release.ListReleases: read");
	}
	release_set_clear(&set);
	keyport__release__list_releases_request__free_unpacked(q, NULL);
	return rv;
}
