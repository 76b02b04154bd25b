/* kp_offline: offline activation request/response/deactivation files (v1). */
#include "kp_offline.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define B64URL     sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define HASH_BYTES 32

static const char *const codes[] = {
    "OK",
    "OFFLINE_MALFORMED",
    "OFFLINE_UNSUPPORTED_VERSION",
    "OFFLINE_ALTERED",
    "OFFLINE_FORGED",
    "OFFLINE_EXPIRED",
    "OFFLINE_WRONG_MACHINE",
    "OFFLINE_KEY_MISMATCH",
    "OFFLINE_REPLAYED",
};

static const char *const texts[] = {
    "ok",
    "the offline file is malformed",
    "the offline file's version is not supported",
    "the offline file was altered",
    "the offline file's signature is forged",
    "the offline file has expired",
    "the offline file belongs to another machine",
    "the offline file is for another license key or product",
    "the offline file was already used or answers another request",
};

const char *
kp_offline_code(int status)
{
	if (status >= 0 && status < (int)(sizeof(codes) / sizeof(codes[0])))
		return codes[status];
	return "INTERNAL";
}

const char *
kp_offline_strerror(int status)
{
	if (status >= 0 && status < (int)(sizeof(texts) / sizeof(texts[0])))
		return texts[status];
	return "internal error";
}

/* ---- helpers ------------------------------------------------------------ */

static void
b64url_into(char *dst, size_t n, const unsigned char *bin, size_t len)
{
	sodium_bin2base64(dst, n, bin, len, B64URL);
}

/* canonical text of o without the named members (NULL-terminated list). */
static char *
canonical(json_t *o, const char *const *without)
{
	json_t *c = json_copy(o);
	char *s = NULL;

	if (c == NULL)
		return NULL;
	for (; *without != NULL; without++)
		json_object_del(c, *without);
	s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	return s;
}

static void
hash_text(const char *s, unsigned char h[HASH_BYTES])
{
	crypto_generichash(h, HASH_BYTES, (const unsigned char *)s, strlen(s),
	                   NULL, 0);
}

/* Why the last parse in this thread failed, naming the field (the status
 * alone says only "malformed"). */
static _Thread_local char kp_offline_why[200];

static void
why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kp_offline_why, sizeof(kp_offline_why), fmt, ap);
	va_end(ap);
}

const char *
kp_offline_detail(void)
{
	return kp_offline_why;
}

/* decode a base64url field of exactly n bytes; -1 when absent or bad. */
static int
get_b64(json_t *o, const char *name, unsigned char *bin, size_t n)
{
	json_t *v = json_object_get(o, name);
	const char *s, *end;
	size_t len;

	if (!json_is_string(v)) {
		why("%s: %s", name,
		    v == NULL ? "is required" : "must be a string");
		return -1;
	}
	s = json_string_value(v);
	if (sodium_base642bin(bin, n, s, strlen(s), NULL, &len, &end, B64URL) !=
	        0 ||
	    *end != '\0' || len != n) {
		why("%s: must be base64url of %zu bytes", name, n);
		return -1;
	}
	return 0;
}

static int
get_str(json_t *o, const char *name, char *dst, int required)
{
	json_t *v = json_object_get(o, name);
	const char *s;

	dst[0] = '\0';
	if (v == NULL) {
		if (required)
			why("%s: is required", name);
		return required ? -1 : 0;
	}
	if (!json_is_string(v)) {
		why("%s: must be a string", name);
		return -1;
	}
	s = json_string_value(v);
	if (strlen(s) >= KP_OFFLINE_FIELD_MAX || (required && s[0] == '\0')) {
		why("%s: must be 1 to %d bytes", name,
		    KP_OFFLINE_FIELD_MAX - 1);
		return -1;
	}
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int
get_int(json_t *o, const char *name, int64_t *dst)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		why("%s: must be a non-negative integer", name);
		return -1;
	}
	*dst = (int64_t)json_integer_value(v);
	return 0;
}

/* Add "checksum" to o and dump it (pretty, for humans) into *out. */
static int
seal(json_t *o, char **out)
{
	static const char *const none[] = {"checksum", NULL};
	unsigned char h[HASH_BYTES];
	char b[sodium_base64_ENCODED_LEN(HASH_BYTES, B64URL)];
	char *c = canonical(o, none);

	if (c == NULL)
		return KP_OFFLINE_NOMEM;
	hash_text(c, h);
	free(c);
	b64url_into(b, sizeof(b), h, sizeof(h));
	if (json_object_set_new(o, "checksum", json_string(b)) != 0)
		return KP_OFFLINE_NOMEM;
	*out = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	return *out != NULL ? KP_OFFLINE_OK : KP_OFFLINE_NOMEM;
}

/* Signs o's canonical text (without the fields of unsigned_) with sk, adds
 * the signature as field and seals o into *out (seal). KP_OFFLINE_NOMEM
 * when out of memory. */
static int
sign_seal(json_t *o, const char *const *unsigned_, const unsigned char *sk,
          const char *field, char **out)
{
	unsigned char sig[KP_TOKEN_SIG_BYTES];
	char sigb[sodium_base64_ENCODED_LEN(KP_TOKEN_SIG_BYTES, B64URL)];
	char *c = canonical(o, unsigned_);

	if (c == NULL)
		return KP_OFFLINE_NOMEM;
	crypto_sign_detached(sig, NULL, (const unsigned char *)c, strlen(c),
	                     sk);
	free(c);
	b64url_into(sigb, sizeof(sigb), sig, sizeof(sig));
	if (json_object_set_new(o, field, json_string(sigb)) != 0)
		return KP_OFFLINE_NOMEM;
	return seal(o, out);
}

/* Load a file, check format, version, type and checksum. */
static int
open_file(const char *file, size_t len, const char *type, json_t **out)
{
	static const char *const none[] = {"checksum", NULL};
	int rc = KP_OFFLINE_MALFORMED;
	json_t *o = NULL, *v;
	unsigned char want[HASH_BYTES], got[HASH_BYTES];
	char *c = NULL;

	json_error_t err;

	kp_offline_why[0] = '\0';
	if (file == NULL || len == 0 || len > KP_OFFLINE_MAX_FILE) {
		why("file: 1 to %d bytes", KP_OFFLINE_MAX_FILE);
		goto out;
	}
	o = json_loadb(file, len, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL) {
		why("file: not valid JSON at byte %d: %s", err.position,
		    err.text);
		goto out;
	}
	if (!json_is_object(o)) {
		why("file: must be a JSON object");
		goto out;
	}
	v = json_object_get(o, "format");
	if (!json_is_string(v) ||
	    strcmp(json_string_value(v), KP_OFFLINE_FORMAT) != 0) {
		why("format: must be \"%s\"", KP_OFFLINE_FORMAT);
		goto out;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v)) {
		why("version: must be an integer");
		goto out;
	}
	if (json_integer_value(v) != KP_OFFLINE_VERSION) {
		why("version: must be %d", KP_OFFLINE_VERSION);
		rc = KP_OFFLINE_UNSUPPORTED_VERSION;
		goto out;
	}
	v = json_object_get(o, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), type) != 0) {
		why("type: must be \"%s\"", type);
		goto out;
	}
	if (get_b64(o, "checksum", want, sizeof(want)) != 0)
		goto out;
	rc = KP_OFFLINE_NOMEM;
	c = canonical(o, none);
	if (c == NULL)
		goto out;
	hash_text(c, got);
	rc = KP_OFFLINE_ALTERED;
	if (sodium_memcmp(want, got, sizeof(got)) != 0) {
		why("checksum: does not match the file's content");
		goto out;
	}
	*out = o;
	o = NULL;
	rc = KP_OFFLINE_OK;
out:
	free(c);
	json_decref(o);
	return rc;
}

static json_t *
header(const char *type)
{
	return json_pack("{s:s, s:i, s:s}", "format", KP_OFFLINE_FORMAT,
	                 "version", KP_OFFLINE_VERSION, "type", type);
}

static void
make_nonce(char *dst, size_t n)
{
	unsigned char r[16];

	randombytes_buf(r, sizeof(r));
	b64url_into(dst, n, r, sizeof(r));
}

/* ---- activation request ------------------------------------------------ */

static const char *const req_unsigned[] = {"checksum", "signature", NULL};

int
kp_offline_request_create(kp_offline_request *req, int64_t now,
                          unsigned char client_sk[KP_TOKEN_SK_BYTES],
                          char **out)
{
	int rc = KP_OFFLINE_NOMEM;
	unsigned char pk[KP_TOKEN_PK_BYTES];
	json_t *o = NULL;

	if (sodium_init() < 0)
		goto out;
	req->version = KP_OFFLINE_VERSION;
	req->created_at = now;
	make_nonce(req->nonce, sizeof(req->nonce));
	crypto_sign_keypair(pk, client_sk);
	b64url_into(req->client_public_key, sizeof(req->client_public_key), pk,
	            sizeof(pk));
	o = header("activation-request");
	if (o == NULL)
		goto out;
	if (json_object_update_new(
	        o, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, "
	                     "s:s}",
	                     "key", req->key, "productId", req->product_id,
	                     "fingerprint", req->fingerprint, "hostname",
	                     req->hostname, "os", req->os, "osVersion",
	                     req->os_version, "appVersion", req->app_version,
	                     "nonce", req->nonce, "createdAt", (json_int_t)now,
	                     "clientPublicKey", req->client_public_key)) != 0)
		goto out;
	rc = sign_seal(o, req_unsigned, client_sk, "signature", out);
out:
	json_decref(o);
	return rc;
}

int
kp_offline_request_parse(const char *file, size_t len, int64_t now,
                         kp_offline_request *out)
{
	int rc;
	json_t *o = NULL;
	unsigned char pk[KP_TOKEN_PK_BYTES], sig[KP_TOKEN_SIG_BYTES];
	char *c = NULL;

	memset(out, 0, sizeof(*out));
	if (sodium_init() < 0)
		return KP_OFFLINE_NOMEM;
	rc = open_file(file, len, "activation-request", &o);
	if (rc != KP_OFFLINE_OK)
		goto out;
	rc = KP_OFFLINE_MALFORMED;
	if (get_str(o, "key", out->key, 1) ||
	    get_str(o, "productId", out->product_id, 1) ||
	    get_str(o, "fingerprint", out->fingerprint, 1) ||
	    get_str(o, "hostname", out->hostname, 1) ||
	    get_str(o, "os", out->os, 1) ||
	    get_str(o, "osVersion", out->os_version, 0) ||
	    get_str(o, "appVersion", out->app_version, 0) ||
	    get_str(o, "nonce", out->nonce, 1) ||
	    get_str(o, "clientPublicKey", out->client_public_key, 1) ||
	    get_int(o, "createdAt", &out->created_at) ||
	    get_b64(o, "clientPublicKey", pk, sizeof(pk)) ||
	    get_b64(o, "signature", sig, sizeof(sig)))
		goto out;
	out->version = KP_OFFLINE_VERSION;
	rc = KP_OFFLINE_NOMEM;
	c = canonical(o, req_unsigned);
	if (c == NULL)
		goto out;
	/* The request is self-signed: a bad signature means an edit (with a
	 * recomputed checksum), not a forgery of someone's authority. */
	rc = KP_OFFLINE_ALTERED;
	if (crypto_sign_verify_detached(sig, (const unsigned char *)c,
	                                strlen(c), pk) != 0) {
		why("signature: does not match the file's content");
		goto out;
	}
	rc = KP_OFFLINE_EXPIRED;
	if (out->created_at + KP_OFFLINE_REQUEST_MAX_AGE < now ||
	    out->created_at > now + 86400) {
		why("createdAt: more than %d days ago or a day ahead",
		    KP_OFFLINE_REQUEST_MAX_AGE / 86400);
		goto out;
	}
	rc = KP_OFFLINE_OK;
out:
	free(c);
	json_decref(o);
	if (rc != KP_OFFLINE_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- activation response ----------------------------------------------- */

int
kp_offline_response_create(const kp_token_claims *claims,
                           int64_t response_expires_at, kp_offline_sign_fn sign,
                           void *arg, char **out)
{
	kp_token_claims c = *claims;
	unsigned char sig[KP_TOKEN_SIG_BYTES];
	char *payload = NULL, *token = NULL;
	json_t *o = NULL;
	int rc;

	c.offline = 1;
	c.response_expires_at = response_expires_at;
	rc = kp_token_payload_build(&c, &payload);
	if (rc != KP_TOKEN_OK) {
		rc = rc == KP_TOKEN_NOMEM ? KP_OFFLINE_NOMEM
		                          : KP_OFFLINE_MALFORMED;
		goto out;
	}
	rc = sign(arg, (const unsigned char *)payload, strlen(payload), sig);
	if (rc != 0)
		goto out;
	rc = KP_OFFLINE_NOMEM;
	if (kp_token_assemble(payload, strlen(payload), sig, &token) != 0)
		goto out;
	o = header("activation-response");
	if (o == NULL ||
	    json_object_update_new(
	        o, json_pack(
	               "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s}",
	               "activationId", c.activation_id, "licenseId",
	               c.license_id, "productId", c.product_id, "fingerprint",
	               c.fingerprint, "nonce", c.nonce, "issuedAt",
	               (json_int_t)c.issued_at, "responseExpiresAt",
	               (json_int_t)response_expires_at, "token", token)) != 0)
		goto out;
	rc = seal(o, out);
out:
	free(payload);
	free(token);
	json_decref(o);
	return rc;
}

static int
outer_matches(json_t *o, const char *name, const char *want)
{
	json_t *v = json_object_get(o, name);

	return json_is_string(v) && strcmp(json_string_value(v), want) == 0;
}

int
kp_offline_response_load(const char *file, size_t len,
                         const unsigned char product_pk[KP_TOKEN_PK_BYTES],
                         const kp_offline_request *req, int64_t now,
                         kp_token_claims *claims, char **token)
{
	int rc;
	json_t *o = NULL, *v;
	const char *tok;
	int64_t t;

	memset(claims, 0, sizeof(*claims));
	if (sodium_init() < 0)
		return KP_OFFLINE_NOMEM;
	rc = open_file(file, len, "activation-response", &o);
	if (rc != KP_OFFLINE_OK)
		goto out;
	rc = KP_OFFLINE_MALFORMED;
	v = json_object_get(o, "token");
	if (!json_is_string(v))
		goto out;
	tok = json_string_value(v);
	rc = kp_token_verify_claims(tok, product_pk, claims);
	if (rc != KP_TOKEN_OK) {
		rc = rc == KP_TOKEN_FORGED  ? KP_OFFLINE_FORGED
		     : rc == KP_TOKEN_NOMEM ? KP_OFFLINE_NOMEM
		                            : KP_OFFLINE_MALFORMED;
		goto out;
	}
	/* the human-readable copies must say what the signed token says */
	rc = KP_OFFLINE_ALTERED;
	if (!claims->offline || claims->response_expires_at == 0 ||
	    !outer_matches(o, "activationId", claims->activation_id) ||
	    !outer_matches(o, "licenseId", claims->license_id) ||
	    !outer_matches(o, "productId", claims->product_id) ||
	    !outer_matches(o, "fingerprint", claims->fingerprint) ||
	    !outer_matches(o, "nonce", claims->nonce) ||
	    get_int(o, "responseExpiresAt", &t) != 0 ||
	    t != claims->response_expires_at ||
	    get_int(o, "issuedAt", &t) != 0 || t != claims->issued_at)
		goto out;
	rc = KP_OFFLINE_EXPIRED;
	if (now >= claims->response_expires_at)
		goto out;
	rc = KP_OFFLINE_KEY_MISMATCH;
	if (strcmp(claims->product_id, req->product_id) != 0)
		goto out;
	rc = KP_OFFLINE_WRONG_MACHINE;
	if (strcmp(claims->fingerprint, req->fingerprint) != 0)
		goto out;
	rc = KP_OFFLINE_REPLAYED;
	if (strcmp(claims->nonce, req->nonce) != 0 ||
	    strcmp(claims->client_public_key, req->client_public_key) != 0)
		goto out;
	rc = KP_OFFLINE_NOMEM;
	if (token != NULL && (*token = strdup(tok)) == NULL)
		goto out;
	rc = KP_OFFLINE_OK;
out:
	json_decref(o);
	if (rc != KP_OFFLINE_OK)
		kp_token_claims_cleanup(claims);
	return rc;
}

/* ---- deactivation request ---------------------------------------------- */

static const char *const deact_unsigned[] = {"checksum", "proof", NULL};

int
kp_offline_deactivation_create(const kp_token_claims *claims,
                               const unsigned char client_sk[KP_TOKEN_SK_BYTES],
                               int64_t now, char **out)
{
	int rc = KP_OFFLINE_NOMEM;
	char nonce[sodium_base64_ENCODED_LEN(16, B64URL)];
	json_t *o = NULL;

	if (sodium_init() < 0)
		goto out;
	make_nonce(nonce, sizeof(nonce));
	o = header("deactivation-request");
	if (o == NULL ||
	    json_object_update_new(
	        o,
	        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "activationId",
	                  claims->activation_id, "licenseId",
	                  claims->license_id, "productId", claims->product_id,
	                  "fingerprint", claims->fingerprint, "nonce", nonce,
	                  "createdAt", (json_int_t)now)) != 0)
		goto out;
	rc = sign_seal(o, deact_unsigned, client_sk, "proof", out);
out:
	json_decref(o);
	return rc;
}

int
kp_offline_deactivation_parse(const char *file, size_t len,
                              kp_offline_deactivation *out)
{
	int rc;
	json_t *o = NULL;
	unsigned char h[HASH_BYTES];

	memset(out, 0, sizeof(*out));
	if (sodium_init() < 0)
		return KP_OFFLINE_NOMEM;
	rc = open_file(file, len, "deactivation-request", &o);
	if (rc != KP_OFFLINE_OK)
		goto out;
	rc = KP_OFFLINE_MALFORMED;
	if (get_str(o, "activationId", out->activation_id, 1) ||
	    get_str(o, "licenseId", out->license_id, 1) ||
	    get_str(o, "productId", out->product_id, 1) ||
	    get_str(o, "fingerprint", out->fingerprint, 1) ||
	    get_str(o, "nonce", out->nonce, 1) ||
	    get_int(o, "createdAt", &out->created_at) ||
	    get_b64(o, "proof", out->proof, sizeof(out->proof)))
		goto out;
	out->version = KP_OFFLINE_VERSION;
	crypto_generichash(h, sizeof(h), out->proof, sizeof(out->proof), NULL,
	                   0);
	sodium_bin2hex(out->proof_id, sizeof(out->proof_id), h, sizeof(h));
	rc = KP_OFFLINE_NOMEM;
	out->signed_text = canonical(o, deact_unsigned);
	if (out->signed_text == NULL)
		goto out;
	rc = KP_OFFLINE_OK;
out:
	json_decref(o);
	if (rc != KP_OFFLINE_OK)
		kp_offline_deactivation_cleanup(out);
	return rc;
}

int
kp_offline_deactivation_verify(const kp_offline_deactivation *d,
                               const char *client_public_key,
                               const char *fingerprint)
{
	unsigned char pk[KP_TOKEN_PK_BYTES];
	const char *end;
	size_t len;

	if (d->signed_text == NULL || client_public_key == NULL ||
	    sodium_base642bin(pk, sizeof(pk), client_public_key,
	                      strlen(client_public_key), NULL, &len, &end,
	                      B64URL) != 0 ||
	    *end != '\0' || len != sizeof(pk))
		return KP_OFFLINE_FORGED;
	if (crypto_sign_verify_detached(d->proof,
	                                (const unsigned char *)d->signed_text,
	                                strlen(d->signed_text), pk) != 0)
		return KP_OFFLINE_FORGED;
	if (fingerprint == NULL || strcmp(fingerprint, d->fingerprint) != 0)
		return KP_OFFLINE_WRONG_MACHINE;
	return KP_OFFLINE_OK;
}

void
kp_offline_deactivation_cleanup(kp_offline_deactivation *d)
{
	if (d == NULL)
		return;
	free(d->signed_text);
	memset(d, 0, sizeof(*d));
}
