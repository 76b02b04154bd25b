/* release_customer: the portal's releases and the applications' update
 * check. */
#include "release_app.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_service.h"
#include "release_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
release_mine(kp_rpc_ctx *ctx)
{
	Keyport__Release__ListReleasesReply rep =
	    KEYPORT__RELEASE__LIST_RELEASES_REPLY__INIT;
	release_set set = {0};
	kp_pgarr ids = {0};
	const char *text;
	int rv;

	if ((rv = release_peer_visible_products(ctx, &ids)) != KP_OK)
		goto out;
	if ((text = kp_pgarr_text(&ids)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	if (ids.n > 0 && (rv = release_store_visible(kp_service_db(ctx), text,
	                                             &set)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL, "release.MyReleases");
		goto out;
	}
	rep.releases = set.ptrs;
	rep.n_releases = set.n;
	rep.total = (int64_t)set.n;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	release_set_clear(&set);
	kp_pgarr_free(&ids);
	return rv;
}

/* The 403 code of a license that may not update: its status's. */
static const char *
release_status_code(const char *status)
{
	if (strcmp(status, "suspended") == 0)
		return "LICENSE_SUSPENDED";
	if (strcmp(status, "revoked") == 0)
		return "LICENSE_REVOKED";
	if (strcmp(status, "expired") == 0)
		return "LICENSE_EXPIRED";
	return NULL;
}

/* The license of a Latest request: its key for the product, in a status
 * that may download (*lic is the caller's to free). */
static int
release_latest_license(kp_rpc_ctx *ctx,
                       const Keyport__Release__LatestRequest *q,
                       Keyport__License__LicenseReply **lic)
{
	const char *code;
	int rv;

	if (q->license_key[0] == '\0')
		return kp_rpc_fail(ctx, KP_EUNAUTH, NULL,
		                   "X-License-Key is required");
	if (!kp_uuid_valid(q->product_id))
		return kp_rpc_fail(ctx, KP_ENOTFOUND, "LICENSE_NOT_FOUND",
		                   "no license with this key for this product");
	if ((rv = release_peer_license(ctx, q->license_key, q->product_id,
	                               lic)) != KP_OK)
		return rv;
	if ((code = release_status_code((*lic)->license->status)) != NULL)
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, code,
		                   "the license is %s",
		                   (*lic)->license->status);
	return KP_OK;
}

int
release_latest(kp_rpc_ctx *ctx)
{
	Keyport__Release__LatestRequest *q = NULL;
	Keyport__Release__LatestReply rep =
	    KEYPORT__RELEASE__LATEST_REPLY__INIT;
	Keyport__License__LicenseReply *lic = NULL;
	Keyport__Release__DownloadUrlReply *links = NULL, **lptrs = NULL;
	char(*tokens)[RELEASE_LINK_MAX] = NULL, exp[32];
	int64_t until = kp_now() + RELEASE_LINK_TTL;
	release_set set = {0};
	Keyport__Release__Release *r;
	int rv;

	if ((rv = kp_rpc_unpack(ctx,
	                        &keyport__release__latest_request__descriptor,
	                        (ProtobufCMessage **)&q)) != KP_OK)
		goto out;
	if ((rv = release_latest_license(ctx, q, &lic)) != KP_OK)
		goto out;
	rv = release_store_latest(kp_service_db(ctx), q->product_id,
	                          q->channel[0] ? q->channel : "stable",
	                          q->platform, &set);
	if (rv == KP_ENOTFOUND) {
		rv = kp_rpc_fail(
		    ctx, rv, "NO_RELEASE",
		    "no published release for this product, channel "
		    "and platform");
		goto out;
	}
	if (rv != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL, "release.Latest");
		goto out;
	}
	r = set.ptrs[0];
	links = calloc(r->n_files + 1, sizeof(*links));
	lptrs = calloc(r->n_files + 1, sizeof(*lptrs));
	tokens = calloc(r->n_files + 1, sizeof(*tokens));
	if (links == NULL || lptrs == NULL || tokens == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	kp_time_format(until, exp, sizeof(exp));
	for (size_t i = 0; i < r->n_files; i++) {
		keyport__release__download_url_reply__init(&links[i]);
		if ((rv = release_link_make(r->files[i]->id, until,
		                            tokens[i])) != KP_OK) {
			rv = kp_rpc_fail(ctx, rv, NULL, "cannot sign the link");
			goto out;
		}
		links[i].token = tokens[i];
		links[i].expires_at = exp;
		lptrs[i] = &links[i];
	}
	rep.release = r;
	rep.links = lptrs;
	rep.n_links = r->n_files;
	rv = kp_rpc_reply(ctx, &rep.base);
out:
	free(links);
	free(lptrs);
	free(tokens);
	release_set_clear(&set);
	if (lic != NULL)
		keyport__license__license_reply__free_unpacked(lic, NULL);
	keyport__release__latest_request__free_unpacked(q, NULL);
	return rv;
}
