/* license_product: products, their Ed25519 key pairs sealed at rest with
 * the master key, and signing on behalf of the activation service. */
#include "license_app.h"

#include "kp_clock.h"
#include "kp_err.h"
#include "kp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TS(col)                                                                \
	"to_char(" col " AT TIME ZONE 'UTC', "                                 \
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

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

static void
product_fill(Keyport__License__Product *p, PGresult *res, int row, char *pk_b64,
             size_t pk_b64_len)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	size_t pk_len = 0;

	p->id = PQgetvalue(res, row, 0);
	p->name = PQgetvalue(res, row, 1);
	pk_b64[0] = '\0';
	if (sodium_hex2bin(pk, sizeof(pk), PQgetvalue(res, row, 2),
	                   (size_t)PQgetlength(res, row, 2), NULL, &pk_len,
	                   NULL) == 0 &&
	    pk_len == sizeof(pk))
		sodium_bin2base64(pk_b64, pk_b64_len, pk, pk_len,
		                  sodium_base64_VARIANT_ORIGINAL);
	p->public_key = pk_b64;
	p->created_at = PQgetvalue(res, row, 3);
}

static const char *const sql_product_insert =
    "INSERT INTO products (name, public_key, secret_box, created_at) "
    "VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), "
    "to_timestamp($4::bigint)) "
    "RETURNING id, name, encode(public_key, 'hex'), " TS("created_at");

int
license_product_create(kp_rpc_ctx *ctx)
{
	license_app *app = license_app_of(ctx);
	Keyport__License__CreateProductRequest *req = NULL;
	Keyport__License__ProductReply reply =
	    KEYPORT__LICENSE__PRODUCT_REPLY__INIT;
	Keyport__License__Product p = KEYPORT__LICENSE__PRODUCT__INIT;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk = NULL;
	unsigned char box[crypto_secretbox_NONCEBYTES +
	                  crypto_secretbox_MACBYTES +
	                  crypto_sign_SECRETKEYBYTES];
	char pk_hex[sizeof(pk) * 2 + 1], box_hex[sizeof(box) * 2 + 1];
	char now[32], pk_b64[64];
	const char *params[4];
	PGresult *res = NULL;
	size_t namelen;
	int rv;

	rv = kp_rpc_unpack(
	    ctx, &keyport__license__create_product_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	namelen = strlen(req->name);
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
	snprintf(now, sizeof(now), "%lld", (long long)kp_now());
	params[0] = req->name;
	params[1] = pk_hex;
	params[2] = box_hex;
	params[3] = now;
	rv = kp_db_query(kp_service_db(ctx), sql_product_insert, 4, params,
	                 &res);
	if (rv != KP_OK) {
		rv = kp_rpc_fail(ctx, rv, NULL, "cannot store the product");
		goto out;
	}
	product_fill(&p, res, 0, pk_b64, sizeof(pk_b64));
	reply.product = &p;
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	sodium_free(sk);
	PQclear(res);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

static const char *const sql_product_list =
    "SELECT id, name, encode(public_key, 'hex'), " TS(
        "created_at") ", "
                      "count(*) OVER () FROM products ORDER BY created_at "
                      "DESC, id "
                      "LIMIT $1 OFFSET $2";
static const char *const sql_product_count = "SELECT count(*) FROM products";

int
license_product_list(kp_rpc_ctx *ctx)
{
	Keyport__License__ListProductsRequest *req = NULL;
	Keyport__License__ListProductsReply reply =
	    KEYPORT__LICENSE__LIST_PRODUCTS_REPLY__INIT;
	Keyport__License__Product *items = NULL, **ptrs = NULL;
	char(*b64)[64] = NULL;
	char lim[16], off[24];
	const char *params[2] = {lim, off};
	PGresult *res = NULL, *cnt = NULL;
	int rv, n;

	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__list_products_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if (req->page < 1 || req->limit < 1 || req->limit > 100) {
		rv = kp_rpc_fail(ctx, KP_EINVAL, NULL,
		                 "page, limit: out of range");
		goto out;
	}
	snprintf(lim, sizeof(lim), "%d", req->limit);
	snprintf(off, sizeof(off), "%lld",
	         (long long)(req->page - 1) * req->limit);
	if ((rv = kp_db_query(kp_service_db(ctx), sql_product_list, 2, params,
	                      &res)) != KP_OK)
		goto out;
	n = PQntuples(res);
	items = calloc((size_t)n + 1, sizeof(*items));
	ptrs = calloc((size_t)n + 1, sizeof(*ptrs));
	b64 = calloc((size_t)n + 1, sizeof(*b64));
	if (items == NULL || ptrs == NULL || b64 == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		keyport__license__product__init(&items[i]);
		product_fill(&items[i], res, i, b64[i], sizeof(b64[i]));
		ptrs[i] = &items[i];
	}
	if (n > 0) {
		reply.total = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	} else {
		if ((rv = kp_db_query(kp_service_db(ctx), sql_product_count, 0,
		                      NULL, &cnt)) != KP_OK)
			goto out;
		reply.total = strtoll(PQgetvalue(cnt, 0, 0), NULL, 10);
	}
	reply.n_products = (size_t)n;
	reply.products = ptrs;
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	free(items);
	free(ptrs);
	free(b64);
	PQclear(res);
	PQclear(cnt);
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

static const char *const sql_product_keys =
    "SELECT encode(public_key, 'hex'), encode(secret_box, 'hex') "
    "FROM products WHERE id = $1";

/* Opens the sealed secret key of product_id into sk (sodium_malloc'd by
 * the caller, crypto_sign_SECRETKEYBYTES) and its public key into pk. */
static int
product_open_key(kp_rpc_ctx *ctx, const char *product_id, unsigned char *sk,
                 unsigned char *pk)
{
	unsigned char box[crypto_secretbox_NONCEBYTES +
	                  crypto_secretbox_MACBYTES +
	                  crypto_sign_SECRETKEYBYTES];
	size_t len = 0, pklen = 0;
	PGresult *res = NULL;
	int rv;

	rv = kp_db_query(kp_service_db(ctx), sql_product_keys, 1, &product_id,
	                 &res);
	if (rv == KP_EINVAL || (rv == KP_OK && PQntuples(res) == 0)) {
		rv = kp_rpc_fail(ctx, KP_ENOTFOUND, "PRODUCT_NOT_FOUND",
		                 "no such product");
		goto out;
	}
	if (rv != KP_OK)
		goto out;
	if (sodium_hex2bin(
	        pk, crypto_sign_PUBLICKEYBYTES, PQgetvalue(res, 0, 0),
	        (size_t)PQgetlength(res, 0, 0), NULL, &pklen, NULL) != 0 ||
	    sodium_hex2bin(box, sizeof(box), PQgetvalue(res, 0, 1),
	                   (size_t)PQgetlength(res, 0, 1), NULL, &len,
	                   NULL) != 0 ||
	    len != sizeof(box) ||
	    crypto_secretbox_open_easy(sk, box + crypto_secretbox_NONCEBYTES,
	                               len - crypto_secretbox_NONCEBYTES, box,
	                               license_app_of(ctx)->master) != 0) {
		rv = kp_rpc_fail(
		    ctx, KP_EINTERNAL, NULL,
		    "the product key cannot be opened (master key?)");
		goto out;
	}
	rv = KP_OK;
out:
	PQclear(res);
	return rv;
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

	/* internal callers only (activation signs as itself) */
	if (ctx->caller->role[0] != '\0')
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
		                   "internal callers only");
	rv = kp_rpc_unpack(ctx,
	                   &keyport__license__sign_token_request__descriptor,
	                   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	if ((rv = product_open_key(ctx, req->product_id, sk, pk)) != KP_OK)
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

	/* internal callers only: a request carried for an HTTP user has a role
	 */
	if (ctx->caller->role[0] != '\0')
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
		                   "internal callers only");
	rv = kp_rpc_unpack(
	    ctx, &keyport__license__get_signing_key_request__descriptor,
	    (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	if ((sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL) {
		rv = kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	if ((rv = product_open_key(ctx, req->product_id, sk, pk)) != KP_OK)
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
