/* release_peers: what the release service asks the license service. */
#include "release_app.h"

#include "kp_err.h"
#include "kp_service.h"
#include "rpc/kp_contract.h"

#include <stdio.h>
#include <string.h>

int
release_peer_product_name(kp_rpc_ctx *ctx, const char *product_id, char *name,
                          size_t len)
{
	Keyport__License__ListProductsRequest q =
	    KEYPORT__LICENSE__LIST_PRODUCTS_REQUEST__INIT;
	int rv;

	/* products are few (a vendor's catalogue): a page at a time */
	q.limit = 100;
	for (q.page = 1;; q.page++) {
		Keyport__License__ListProductsReply *rep = NULL;
		int found = 0;

		if ((rv = kp_service_invoke(
		         ctx, KP_RPC_LICENSE_LIST_PRODUCTS, &q.base,
		         (ProtobufCMessage **)&rep)) != KP_OK)
			return rv;
		for (size_t i = 0; i < rep->n_products; i++)
			if (strcmp(rep->products[i]->id, product_id) == 0) {
				snprintf(name, len, "%s",
				         rep->products[i]->name);
				found = 1;
			}
		if (found || rep->n_products < (size_t)q.limit ||
		    (int64_t)q.page * q.limit >= rep->total) {
			keyport__license__list_products_reply__free_unpacked(
			    rep, NULL);
			if (found)
				return KP_OK;
			break;
		}
		keyport__license__list_products_reply__free_unpacked(rep, NULL);
	}
	return kp_rpc_fail(ctx, KP_ENOTFOUND, "PRODUCT_NOT_FOUND",
	                   "productId: no such product");
}

int
release_peer_visible_products(kp_rpc_ctx *ctx, kp_pgarr *ids)
{
	Keyport__License__ListMyLicensesRequest q =
	    KEYPORT__LICENSE__LIST_MY_LICENSES_REQUEST__INIT;
	int rv;

	q.limit = 100;
	for (q.page = 1;; q.page++) {
		Keyport__License__ListLicensesReply *rep = NULL;
		int last;

		if ((rv = kp_service_invoke(
		         ctx, KP_RPC_LICENSE_LIST_MY_LICENSES, &q.base,
		         (ProtobufCMessage **)&rep)) != KP_OK)
			return rv;
		for (size_t i = 0; i < rep->n_licenses; i++)
			if (!rep->licenses[i]->revoked)
				kp_pgarr_uuid(ids,
				              rep->licenses[i]->product_id);
		last = rep->n_licenses < (size_t)q.limit ||
		       (int64_t)q.page * q.limit >= rep->total;
		keyport__license__list_licenses_reply__free_unpacked(rep, NULL);
		if (last)
			return KP_OK;
	}
}

int
release_peer_product_visible(kp_rpc_ctx *ctx, const char *product_id,
                             int *visible)
{
	kp_pgarr ids = {0};
	const char *text;
	int rv;

	*visible = 0;
	if (release_is_admin(ctx)) {
		*visible = 1;
		return KP_OK;
	}
	if ((rv = release_peer_visible_products(ctx, &ids)) == KP_OK &&
	    (text = kp_pgarr_text(&ids)) != NULL)
		*visible = strstr(text, product_id) != NULL;
	kp_pgarr_free(&ids);
	return rv;
}

int
release_peer_license(kp_rpc_ctx *ctx, const char *key, const char *product_id,
                     Keyport__License__LicenseReply **out)
{
	Keyport__License__ResolveKeyRequest q =
	    KEYPORT__LICENSE__RESOLVE_KEY_REQUEST__INIT;

	q.key = (char *)key;
	q.product_id = (char *)product_id;
	return kp_service_invoke_as(ctx, KP_RPC_LICENSE_RESOLVE_KEY, NULL,
	                            &q.base, (ProtobufCMessage **)out);
}
