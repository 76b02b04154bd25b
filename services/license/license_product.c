/* license_product: products, their Ed25519 key pairs sealed at rest with
 * the master key (license_store_product.c keeps them), and signing on
 * behalf of the activation service. */
#include "license_app.h"

#include "kp_text.h"
#include "kp_clock.h"
#include "kp_err.h"
#include "kp_list.h"
#include "kp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

license_app *
license_app_of(const kp_rpc_ctx *ctx)
{
	return kp_service_app(kp_service_of(ctx));
}

static int
master_read(const char *path, unsigned char *key)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return KP_EINTERNAL;
	n = read(fd, key, crypto_secretbox_KEYBYTES);
	close(fd);
	return n == crypto_secretbox_KEYBYTES ? KP_OK : KP_EINTERNAL;
}

int
license_master_load(const char *dir, unsigned char *key)
{
	char path[4096], tmp[4200];
	unsigned char fresh[crypto_secretbox_KEYBYTES];
	int fd = -1, rv = KP_EINTERNAL;

	snprintf(path, sizeof(path), "%s/license-master.key", dir);
	if (master_read(path, key) == KP_OK)
		return KP_OK;
	/* write a complete file under a private name, then link() it into
	 * place: link fails with EEXIST when another replica won the race,
	 * and either way the file at path is whole */
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		kp_log_error("cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	crypto_secretbox_keygen(fresh);
	if (write(fd, fresh, sizeof(fresh)) != (ssize_t)sizeof(fresh) ||
	    fsync(fd) != 0) {
		kp_log_error("cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) != 0 && errno != EEXIST) {
		kp_log_error("cannot link %s: %s", path, strerror(errno));
		goto out;
	}
	rv = master_read(path, key);
out:
	sodium_memzero(fresh, sizeof(fresh));
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	return rv;
}

int
license_product_create(kp_rpc_ctx *ctx)
{
	license_app *app = license_app_of(ctx);
	Keyport__License__CreateProductRequest *req = NULL;
	Keyport__License__ProductReply reply =
	    KEYPORT__LICENSE__PRODUCT_REPLY__INIT;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = NULL;
	unsigned char box[crypto_secretbox_NONCEBYTES +
	                  crypto_secretbox_MACBYTES +
	                  crypto_sign_SECRETKEYBYTES];
	char pk_hex[sizeof(pk) * 2 + 1], box_hex[sizeof(box) * 2 + 1];
	license_product_set set = {0};
	size_t namelen;
	int rv;

	rv = kp_rpc_unpack(
	    ctx, &keyport__license__create_product_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	namelen = kp_utf8_chars(req->name);
	if (namelen == 0 || namelen > 200) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "name: required, at most 200 characters");
		goto out;
	}
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	crypto_sign_keypair(pk, sk);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, sk,
	                      crypto_sign_SECRETKEYBYTES, box, app->master);
	sodium_bin2hex(pk_hex, sizeof(pk_hex), pk, sizeof(pk));
	sodium_bin2hex(box_hex, sizeof(box_hex), box, sizeof(box));
	if ((rv = license_store_product_create(kp_service_db(ctx), req->name,
	                                       pk_hex, box_hex, kp_now(),
	                                       &set)) != KP_OK) {
		rv = kp_service_db_fail(ctx, rv, NULL,
		                        "license.CreateProduct: insert");
		goto out;
	}
	reply.product = set.ptrs[0];
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	license_product_set_clear(&set);
	sodium_free(sk);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
license_product_list(kp_rpc_ctx *ctx)
{
	Keyport__License__ListProductsRequest *req = NULL;
	license_product_set set = {0};
	int64_t off = 0;
	int rv;

	if ((rv = kp_list_unpack(
	         ctx, &keyport__license__list_products_request__descriptor,
	         (ProtobufCMessage **)&req, &off)) != KP_OK)
		return rv;
	rv = license_store_product_list(kp_service_db(ctx), req->limit, off,
	                                &set);
	rv = kp_list_reply(
	    ctx, rv, &keyport__license__list_products_reply__descriptor,
	    set.ptrs, set.n, set.total, "license.ListProducts: read");
	license_product_set_clear(&set);
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* Opens the sealed secret key of product_id into *skp (sodium_malloc'd,
 * crypto_sign_SECRETKEYBYTES: the caller sodium_frees it, also on failure)
 * and its public key into pk. */
static int
product_open_key(kp_rpc_ctx *ctx, const char *product_id, unsigned char **skp,
                 unsigned char *pk)
{
	unsigned char *sk;
	unsigned char box[crypto_secretbox_NONCEBYTES +
	                  crypto_secretbox_MACBYTES +
	                  crypto_sign_SECRETKEYBYTES];
	size_t len = 0, pklen = 0;
	license_product_keys keys;
	int rv;

	if ((sk = *skp = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
	rv = license_store_product_keys(kp_service_db(ctx), product_id, &keys);
	if (rv == KP_ENOTFOUND)
		return kp_rpc_fail(ctx, KP_ENOTFOUND, "PRODUCT_NOT_FOUND",
		                   "no such product");
	if (rv != KP_OK)
		return kp_service_db_fail(ctx, rv, NULL,
		                          "license: product keys");
	if (sodium_hex2bin(pk, crypto_sign_PUBLICKEYBYTES, keys.public_key,
	                   strlen(keys.public_key), NULL, &pklen, NULL) != 0 ||
	    sodium_hex2bin(box, sizeof(box), keys.secret_box,
	                   strlen(keys.secret_box), NULL, &len, NULL) != 0 ||
	    len != sizeof(box) ||
	    crypto_secretbox_open_easy(sk, box + crypto_secretbox_NONCEBYTES,
	                               len - crypto_secretbox_NONCEBYTES, box,
	                               license_app_of(ctx)->master) != 0) {
		sodium_memzero(&keys, sizeof(keys));
		return kp_rpc_fail(
		    ctx, KP_EINTERNAL, NULL,
		    "the product key cannot be opened (master key?)");
	}
	sodium_memzero(&keys, sizeof(keys));
	sodium_memzero(box, sizeof(box));
	return KP_OK;
}

/* product_internal_only answers the 403 of a request carried for an HTTP
 * user (it has a role): activation signs as itself. */
static int
product_internal_only(kp_rpc_ctx *ctx)
{
	return kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL, "internal callers only");
}

int
license_sign_token(kp_rpc_ctx *ctx)
{
	Keyport__License__SignTokenRequest *req = NULL;
	Keyport__License__SignTokenReply reply =
	    KEYPORT__LICENSE__SIGN_TOKEN_REPLY__INIT;
	unsigned char *sk = NULL, pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	int rv;

	if (ctx->caller->role[0] != '\0')
		return product_internal_only(ctx);
	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__sign_token_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if ((rv = product_open_key(ctx, req->product_id, &sk, pk)) != KP_OK)
		goto out;
	crypto_sign_detached(sig, NULL, req->payload.data, req->payload.len,
	                     sk);
	reply.signature.data = sig;
	reply.signature.len = sizeof(sig);
	reply.key_id = req->product_id;
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	sodium_free(sk);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

int
license_get_signing_key(kp_rpc_ctx *ctx)
{
	Keyport__License__GetSigningKeyRequest *req = NULL;
	Keyport__License__GetSigningKeyReply reply =
	    KEYPORT__LICENSE__GET_SIGNING_KEY_REPLY__INIT;
	unsigned char *sk = NULL, pk[crypto_sign_PUBLICKEYBYTES];
	int rv;

	if (ctx->caller->role[0] != '\0')
		return product_internal_only(ctx);
	rv = kp_rpc_unpack(
	    ctx, &keyport__license__get_signing_key_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if ((rv = product_open_key(ctx, req->product_id, &sk, pk)) != KP_OK)
		goto out;
	reply.secret_key.data = sk;
	reply.secret_key.len = crypto_sign_SECRETKEYBYTES;
	reply.public_key.data = pk;
	reply.public_key.len = sizeof(pk);
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	sodium_free(sk); /* wipes */
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}
