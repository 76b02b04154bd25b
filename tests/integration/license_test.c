/* The license service as its callers meet it: products and their signing
 * keys, license keys (format, uniqueness over 100,000, lookup), derived
 * status and both expiry strategies under a moved clock, suspend /
 * unsuspend / revoke / renew, metadata limits, the portal visibility rules
 * and the constant cost of a page. Most checks speak RPC with an explicit
 * caller (the role the gateway would pass on); the HTTP checks cover the
 * routes' access rules. */
#include "kp_err.h"
#include "kp_rpc.h"
#include "kpt.h"
#include "proto/license.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <regex.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

KPT_SUITE(0)

/* ---- helpers ------------------------------------------------------------- */

static kp_rpc_client *
lic_client(void)
{
	static kp_rpc_client *c;

	if (c == NULL) {
		cr_assert_eq(kp_rpc_client_open(&c, "license",
		                                kpt_service_url("license")),
		             KP_OK);
		for (int i = 0; i < 100 && kp_rpc_client_pipes(c) == 0; i++)
			usleep(20000);
	}
	return c;
}

/* A caller: role NULL = internal (no caller). */
typedef struct who {
	const char *role, *user_id, *org_id;
} who;

static const who internal = {NULL, NULL, NULL};
static const who admin = {"admin", "", ""};

/* Calls method; on KP_OK *reply (when desc) is the caller's. */
static int
lic_call(const who *w, const char *method, const ProtobufCMessage *req,
         const ProtobufCMessageDescriptor *desc, void *reply,
         kp_rpc_result *res)
{
	Keyport__Caller c = KEYPORT__CALLER__INIT;
	kp_rpc_call call = {0};

	call.method = method;
	call.timeout_ms = 30000;
	if (w->role != NULL) {
		c.role = (char *)w->role;
		c.user_id = (char *)(w->user_id ? w->user_id : "");
		c.organization_id = (char *)(w->org_id ? w->org_id : "");
		call.caller = &c;
	}
	return kp_rpc_invoke(lic_client(), &call, req, desc,
	                     (ProtobufCMessage **)reply, res);
}

static void
uuid_new(char out[37])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	         "%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	         b[10], b[11], b[12], b[13], b[14], b[15]);
}

static Keyport__License__Product *
product_new(const char *name)
{
	Keyport__License__CreateProductRequest req =
	    KEYPORT__LICENSE__CREATE_PRODUCT_REQUEST__INIT;
	Keyport__License__ProductReply *rep = NULL;
	Keyport__License__Product *p;
	kp_rpc_result res;

	req.name = (char *)name;
	cr_assert_eq(lic_call(&admin, "license.CreateProduct", &req.base,
	                      &keyport__license__product_reply__descriptor,
	                      &rep, &res),
	             KP_OK, "CreateProduct: %s", res.message);
	p = rep->product;
	rep->product = NULL; /* keep the product, free the envelope */
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return p;
}

typedef struct lic_spec {
	const char *type, *strategy, *user_id, *org_id;
	int64_t validity, allowed;
} lic_spec;

/* Creates a license; the returned reply is the caller's to free. */
static Keyport__License__LicenseReply *
license_new(const char *product_id, const lic_spec *s)
{
	Keyport__License__CreateLicenseRequest req =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__INIT;
	Keyport__License__LicenseReply *rep = NULL;
	kp_rpc_result res;

	req.product_id = (char *)product_id;
	req.type = (char *)(s->type ? s->type : "node-locked");
	req.expiration_strategy =
	    (char *)(s->strategy ? s->strategy : "immediate");
	req.user_id = (char *)(s->user_id ? s->user_id : "");
	req.organization_id = (char *)(s->org_id ? s->org_id : "");
	req.validity = s->validity;
	req.allowed_activations = s->allowed ? s->allowed : 1;
	req.allowed_deactivations = -1;
	cr_assert_eq(lic_call(&admin, "license.CreateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &rep, &res),
	             KP_OK, "CreateLicense: %s", res.message);
	return rep;
}

/* Calls a method taking LicenseIdRequest; answers the status, *out the
 * reply when OK (else NULL). */
static int
license_op(const char *method, const char *id,
           Keyport__License__LicenseReply **out, kp_rpc_result *res)
{
	Keyport__License__LicenseIdRequest req =
	    KEYPORT__LICENSE__LICENSE_ID_REQUEST__INIT;

	*out = NULL;
	req.id = (char *)id;
	return lic_call(&admin, method, &req.base,
	                &keyport__license__license_reply__descriptor, out, res);
}

static int
license_get(const who *w, const char *id, Keyport__License__LicenseReply **out,
            kp_rpc_result *res)
{
	Keyport__License__GetLicenseRequest req =
	    KEYPORT__LICENSE__GET_LICENSE_REQUEST__INIT;

	*out = NULL;
	req.id = (char *)id;
	req.with_counters = 1;
	return lic_call(w, "license.GetLicense", &req.base,
	                &keyport__license__license_reply__descriptor, out, res);
}

static const char *
status_of(const char *id)
{
	static char st[32];
	Keyport__License__LicenseReply *rep;
	kp_rpc_result res;

	cr_assert_eq(license_get(&internal, id, &rep, &res), KP_OK, "%s",
	             res.message);
	snprintf(st, sizeof(st), "%s", rep->license->status);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return st;
}

static int64_t
mine_total(const who *w, int limit, Keyport__License__ListLicensesReply **out)
{
	Keyport__License__ListMyLicensesRequest req =
	    KEYPORT__LICENSE__LIST_MY_LICENSES_REQUEST__INIT;
	Keyport__License__ListLicensesReply *rep = NULL;
	kp_rpc_result res;
	int64_t total;

	req.page = 1;
	req.limit = limit;
	cr_assert_eq(
	    lic_call(w, "license.ListMyLicenses", &req.base,
	             &keyport__license__list_licenses_reply__descriptor, &rep,
	             &res),
	    KP_OK, "ListMyLicenses: %s", res.message);
	total = rep->total;
	if (out != NULL)
		*out = rep;
	else
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	return total;
}

/* ---- products --------------------------------------------------------------
 */

Test(license, product_keys_sign_and_are_sealed_at_rest, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Signer");
	Keyport__License__SignTokenRequest sreq =
	    KEYPORT__LICENSE__SIGN_TOKEN_REQUEST__INIT;
	Keyport__License__SignTokenReply *sig = NULL;
	Keyport__License__GetSigningKeyRequest kreq =
	    KEYPORT__LICENSE__GET_SIGNING_KEY_REQUEST__INIT;
	Keyport__License__GetSigningKeyReply *key = NULL;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], derived[32];
	const char *payload = "{\"activationId\":\"x\"}";
	const who user = {"user", "00000000-0000-4000-8000-000000000001", ""};
	char path[4096];
	struct stat st;
	size_t pklen = 0;
	kp_rpc_result res;

	cr_assert(sodium_init() >= 0);
	cr_assert_eq(sodium_base642bin(pk, sizeof(pk), p->public_key,
	                               strlen(p->public_key), NULL, &pklen,
	                               NULL, sodium_base64_VARIANT_ORIGINAL),
	             0);
	cr_assert_eq(pklen, 32);
	cr_assert_neq(p->created_at[0], '\0');

	sreq.product_id = p->id;
	sreq.payload.data = (uint8_t *)payload;
	sreq.payload.len = strlen(payload);
	cr_assert_eq(lic_call(&internal, "license.SignToken", &sreq.base,
	                      &keyport__license__sign_token_reply__descriptor,
	                      &sig, &res),
	             KP_OK, "%s", res.message);
	cr_assert_eq(sig->signature.len, 64);
	cr_assert_eq(crypto_sign_verify_detached(sig->signature.data,
	                                         (const unsigned char *)payload,
	                                         strlen(payload), pk),
	             0, "signature does not verify with publicKey");

	kreq.product_id = p->id;
	cr_assert_eq(
	    lic_call(&internal, "license.GetSigningKey", &kreq.base,
	             &keyport__license__get_signing_key_reply__descriptor, &key,
	             &res),
	    KP_OK, "%s", res.message);
	cr_assert_eq(key->secret_key.len, 64);
	cr_assert_eq(
	    crypto_sign_ed25519_sk_to_pk(derived, key->secret_key.data), 0);
	cr_assert_eq(memcmp(derived, pk, 32), 0);
	/* a request on behalf of a signed-in user never gets the key */
	cr_assert_eq(
	    lic_call(&user, "license.GetSigningKey", &kreq.base,
	             &keyport__license__get_signing_key_reply__descriptor, &key,
	             &res),
	    KP_EFORBIDDEN);
	sreq.product_id = p->id;
	cr_assert_eq(lic_call(&user, "license.SignToken", &sreq.base,
	                      &keyport__license__sign_token_reply__descriptor,
	                      &sig, &res),
	             KP_EFORBIDDEN);
	/* unknown product */
	sreq.product_id = (char *)"00000000-0000-4000-8000-00000000ffff";
	cr_assert_eq(lic_call(&internal, "license.SignToken", &sreq.base,
	                      &keyport__license__sign_token_reply__descriptor,
	                      &sig, &res),
	             KP_ENOTFOUND);

	/* the master key file: 32 bytes, owner-only */
	snprintf(path, sizeof(path), "%s/license-master.key",
	         getenv("KEYPORT_SECRET_DIR"));
	cr_assert_eq(stat(path, &st), 0, "%s", path);
	cr_assert_eq(st.st_size, 32);
	cr_assert_eq(st.st_mode & 0777, 0600);
	/* the secret key is not stored in clear: no 64-byte secret equals
	 * anything but a sealed box in the products table (checked by
	 * decrypting only through the service above) */
}

/* ---- keys ------------------------------------------------------------------
 */

Test(license, key_format_and_case_insensitive_lookup, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Keys");
	Keyport__License__Product *other = product_new("Other");
	lic_spec s = {0};
	Keyport__License__LicenseReply *l = license_new(p->id, &s), *found;
	Keyport__License__ResolveKeyRequest req =
	    KEYPORT__LICENSE__RESOLVE_KEY_REQUEST__INIT;
	char messy[64];
	size_t o = 0;
	kp_rpc_result res;
	regex_t re;

	cr_assert_eq(regcomp(&re,
	                     "^[2-9A-HJKMNP-Z]{5}(-[2-9A-HJKMNP-Z]{5}){4}$",
	                     REG_EXTENDED | REG_NOSUB),
	             0);
	cr_assert_eq(regexec(&re, l->license->key, 0, NULL, 0), 0, "key %s",
	             l->license->key);
	regfree(&re);
	/* lower case, dashes moved around */
	for (const char *k = l->license->key; *k; k++)
		if (*k != '-') {
			messy[o++] =
			    (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
			if (o % 7 == 0)
				messy[o++] = '-';
		}
	messy[o] = '\0';
	req.key = messy;
	req.product_id = p->id;
	cr_assert_eq(lic_call(&internal, "license.ResolveKey", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &found, &res),
	             KP_OK, "%s: %s", messy, res.message);
	cr_assert_str_eq(found->license->id, l->license->id);
	cr_assert_str_eq(found->license->product_name, "Keys");
	protobuf_c_message_free_unpacked(&found->base, NULL);

	req.product_id = other->id;
	cr_assert_eq(lic_call(&internal, "license.ResolveKey", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &found, &res),
	             KP_EFORBIDDEN);
	cr_assert_str_eq(res.code, "PRODUCT_MISMATCH");
	req.key = (char *)"22222-22222-22222-22222-22222";
	cr_assert_eq(lic_call(&internal, "license.ResolveKey", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &found, &res),
	             KP_ENOTFOUND);
	cr_assert_str_eq(res.code, "LICENSE_NOT_FOUND");
	protobuf_c_message_free_unpacked(&l->base, NULL);
}

Test(license, hundred_thousand_generated_keys_are_unique_in_the_database,
     .timeout = 120)
{
	Keyport__License__Product *p = product_new("Bulk");
	Keyport__License__SeedLicensesRequest seed =
	    KEYPORT__LICENSE__SEED_LICENSES_REQUEST__INIT;
	Keyport__License__CountReply *cnt = NULL;
	Keyport__License__ListLicensesRequest list =
	    KEYPORT__LICENSE__LIST_LICENSES_REQUEST__INIT;
	Keyport__License__ListLicensesReply *rep = NULL;
	kp_rpc_result res;

	/* the generator's 100,000 keys go in with one INSERT under the
	 * unique index: a single duplicate would fail all of it */
	seed.product_id = p->id;
	seed.count = 100000;
	cr_assert_eq(lic_call(&internal, "license.SeedLicenses", &seed.base,
	                      &keyport__license__count_reply__descriptor, &cnt,
	                      &res),
	             KP_OK, "%s", res.message);
	cr_assert_eq(cnt->count, 100000);
	protobuf_c_message_free_unpacked(&cnt->base, NULL);

	list.product_id = p->id;
	list.page = 1;
	list.limit = 50;
	cr_assert_eq(
	    lic_call(&admin, "license.ListLicenses", &list.base,
	             &keyport__license__list_licenses_reply__descriptor, &rep,
	             &res),
	    KP_OK, "%s", res.message);
	cr_assert_eq(rep->total, 100000);
	cr_assert_eq(rep->n_licenses, 50);
	cr_assert_eq(strlen(rep->licenses[0]->key), 29);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

/* ---- status and expiry
 * -------------------------------------------------------- */

Test(license, immediate_expiry_renew_suspend_revoke, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Expiring");
	lic_spec s = {.validity = 3600};
	Keyport__License__LicenseReply *l = license_new(p->id, &s), *r;
	char first_expiry[32], id[64];
	kp_rpc_result res;

	snprintf(id, sizeof(id), "%s", l->license->id);
	cr_assert_str_eq(l->license->status, "active");
	cr_assert_str_eq(l->license->expiration_strategy, "immediate");
	cr_assert_neq(l->license->expires_at[0], '\0');
	snprintf(first_expiry, sizeof(first_expiry), "%s",
	         l->license->expires_at);

	/* renew before expiry: from the old expiry */
	cr_assert_eq(license_op("license.RenewLicense", id, &r, &res), KP_OK,
	             "%s", res.message);
	cr_assert_gt(strcmp(r->license->expires_at, first_expiry), 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);

	kpt_set_clock("license", 2 * 3600 + 1);
	cr_assert_str_eq(status_of(id), "expired");
	/* renew after expiry: from now, so active again */
	cr_assert_eq(license_op("license.RenewLicense", id, &r, &res), KP_OK,
	             "%s", res.message);
	cr_assert_str_eq(r->license->status, "active");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	kpt_set_clock("license", 2 * 3600 + 1 + 1800);
	cr_assert_str_eq(status_of(id), "active");
	kpt_set_clock("license", 2 * 3600 + 1 + 3700);
	cr_assert_str_eq(status_of(id), "expired");
	kpt_set_clock("license", 0);

	cr_assert_eq(license_op("license.SuspendLicense", id, &r, &res), KP_OK);
	cr_assert_str_eq(r->license->status, "suspended");
	cr_assert(r->license->suspended);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	cr_assert_eq(license_op("license.UnsuspendLicense", id, &r, &res),
	             KP_OK);
	cr_assert_str_eq(r->license->status, "active");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* suspended and expired: suspended wins */
	cr_assert_eq(license_op("license.SuspendLicense", id, &r, &res), KP_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	kpt_set_clock("license", 10 * 3600);
	cr_assert_str_eq(status_of(id), "suspended");
	kpt_set_clock("license", 0);

	cr_assert_eq(license_op("license.RevokeLicense", id, &r, &res), KP_OK);
	cr_assert_str_eq(r->license->status, "revoked");
	cr_assert(r->license->revoked);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* revocation is final */
	cr_assert_eq(license_op("license.UnsuspendLicense", id, &r, &res),
	             KP_ECONFLICT);
	cr_assert_str_eq(res.code, "LICENSE_REVOKED");
	cr_assert_eq(license_op("license.RenewLicense", id, &r, &res),
	             KP_ECONFLICT);
	cr_assert_eq(license_op("license.SuspendLicense", id, &r, &res),
	             KP_ECONFLICT);
	cr_assert_str_eq(status_of(id), "revoked");
	protobuf_c_message_free_unpacked(&l->base, NULL);
}

Test(license, delayed_expiry_starts_at_first_activation, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Delayed");
	lic_spec s = {.validity = 86400, .strategy = "delayed"};
	Keyport__License__LicenseReply *l = license_new(p->id, &s), *r, *r2;
	Keyport__License__StartExpiryRequest req =
	    KEYPORT__LICENSE__START_EXPIRY_REQUEST__INIT;
	kp_rpc_result res;

	cr_assert_str_eq(l->license->expires_at, "");
	/* no clock yet: years later still active; renew refuses */
	kpt_set_clock("license", 400 * 86400);
	cr_assert_str_eq(status_of(l->license->id), "active");
	cr_assert_eq(
	    license_op("license.RenewLicense", l->license->id, &r, &res),
	    KP_ECONFLICT);
	cr_assert_str_eq(res.code, "EXPIRY_NOT_STARTED");

	req.license_id = l->license->id;
	cr_assert_eq(lic_call(&internal, "license.StartExpiry", &req.base,
	                      &keyport__license__license_reply__descriptor, &r,
	                      &res),
	             KP_OK, "%s", res.message);
	cr_assert_neq(r->license->expires_at[0], '\0');
	cr_assert_str_eq(r->license->status, "active");
	/* idempotent: a second activation does not move it */
	cr_assert_eq(lic_call(&internal, "license.StartExpiry", &req.base,
	                      &keyport__license__license_reply__descriptor, &r2,
	                      &res),
	             KP_OK);
	cr_assert_str_eq(r2->license->expires_at, r->license->expires_at);
	kpt_set_clock("license", 401 * 86400 + 1);
	cr_assert_str_eq(status_of(l->license->id), "expired");
	kpt_set_clock("license", 0);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	protobuf_c_message_free_unpacked(&r2->base, NULL);
	protobuf_c_message_free_unpacked(&l->base, NULL);
}

Test(license, perpetual_never_expires_and_cannot_be_renewed, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Forever");
	lic_spec s = {.validity = 0, .type = "hosted-floating"};
	Keyport__License__LicenseReply *l = license_new(p->id, &s), *r;
	kp_rpc_result res;

	cr_assert_str_eq(l->license->expires_at, "");
	cr_assert_str_eq(l->license->type, "hosted-floating");
	kpt_set_clock("license", 20LL * 365 * 86400);
	cr_assert_str_eq(status_of(l->license->id), "active");
	kpt_set_clock("license", 0);
	cr_assert_eq(
	    license_op("license.RenewLicense", l->license->id, &r, &res),
	    KP_ECONFLICT);
	cr_assert_str_eq(res.code, "LICENSE_PERPETUAL");
	protobuf_c_message_free_unpacked(&l->base, NULL);
}

/* ---- input -----------------------------------------------------------------
 */

Test(license, bad_input_is_400_naming_the_field, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Input");
	Keyport__License__CreateLicenseRequest req =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__INIT;
	Keyport__License__CreateLicenseRequest__MetadataEntry e[51], *ep[51];
	Keyport__License__LicenseReply *rep = NULL;
	char keys[51][80], big[4098];
	kp_rpc_result res;

	req.product_id = p->id;
	req.type = (char *)"node-locked";
	req.expiration_strategy = (char *)"immediate";
	req.user_id = (char *)"";
	req.organization_id = (char *)"";
	for (int i = 0; i < 51; i++) {
		keyport__license__create_license_request__metadata_entry__init(
		    &e[i]);
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		e[i].key = keys[i];
		e[i].value = (char *)"v";
		ep[i] = &e[i];
	}
	req.metadata = ep;
	req.n_metadata = 51;
	cr_assert_eq(lic_call(&admin, "license.CreateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &rep, &res),
	             KP_EINVAL);
	cr_assert_not_null(strstr(res.message, "metadata"));
	req.n_metadata = 1;
	memset(keys[0], 'k', 65);
	keys[0][65] = '\0';
	cr_assert_eq(lic_call(&admin, "license.CreateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &rep, &res),
	             KP_EINVAL);
	cr_assert_not_null(strstr(res.message, "metadata"));
	snprintf(keys[0], sizeof(keys[0]), "os");
	memset(big, 'x', 4097);
	big[4097] = '\0';
	e[0].value = big;
	cr_assert_eq(lic_call(&admin, "license.CreateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &rep, &res),
	             KP_EINVAL);
	cr_assert_not_null(strstr(res.message, "metadata.os"));
	big[4096] = '\0'; /* exactly 4 KiB is fine */
	cr_assert_eq(lic_call(&admin, "license.CreateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &rep, &res),
	             KP_OK, "%s", res.message);
	cr_assert_eq(rep->license->n_metadata, 1);
	cr_assert_eq(strlen(rep->license->metadata[0]->value), 4096);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	req.n_metadata = 0;

	req.type = (char *)"floating";
	cr_assert_eq(lic_call(&admin, "license.CreateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &rep, &res),
	             KP_EINVAL);
	cr_assert_not_null(strstr(res.message, "type"));
	req.type = (char *)"node-locked";
	req.expiration_strategy = (char *)"later";
	cr_assert_eq(lic_call(&admin, "license.CreateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &rep, &res),
	             KP_EINVAL);
	cr_assert_not_null(strstr(res.message, "expirationStrategy"));
	req.expiration_strategy = (char *)"immediate";
	req.product_id = (char *)"00000000-0000-4000-8000-0000000000aa";
	cr_assert_eq(lic_call(&admin, "license.CreateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor,
	                      &rep, &res),
	             KP_EINVAL);
	cr_assert_not_null(strstr(res.message, "productId"));
}

Test(license, patch_changes_the_named_fields_only, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Patch");
	lic_spec s = {.validity = 100};
	Keyport__License__LicenseReply *l = license_new(p->id, &s), *r = NULL;
	Keyport__License__UpdateLicenseRequest req =
	    KEYPORT__LICENSE__UPDATE_LICENSE_REQUEST__INIT;
	Keyport__License__UpdateLicenseRequest__MetadataEntry e, *ep = &e;
	kp_rpc_result res;

	keyport__license__update_license_request__metadata_entry__init(&e);
	e.key = (char *)"seats";
	e.value = (char *)"7";
	req.id = l->license->id;
	req.has_allowed_activations = 1;
	req.allowed_activations = -1;
	req.has_metadata = 1;
	req.metadata = &ep;
	req.n_metadata = 1;
	req.has_lease_seconds = 1;
	req.lease_seconds = 300;
	req.user_id = (char *)"";
	req.organization_id = (char *)"";
	cr_assert_eq(lic_call(&admin, "license.UpdateLicense", &req.base,
	                      &keyport__license__license_reply__descriptor, &r,
	                      &res),
	             KP_OK, "%s", res.message);
	cr_assert_eq(r->license->allowed_activations, -1);
	cr_assert_eq(r->license->allowed_deactivations, -1);
	cr_assert_eq(r->license->validity, 100);
	cr_assert_eq(r->license->lease_seconds, 300);
	cr_assert_eq(r->license->n_metadata, 1);
	cr_assert_str_eq(r->license->metadata[0]->value, "7");
	cr_assert_str_eq(r->license->key, l->license->key);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	/* a non-admin caller cannot */
	{
		const who u = {"user", "00000000-0000-4000-8000-000000000009",
		               ""};

		cr_assert_eq(
		    lic_call(&u, "license.UpdateLicense", &req.base,
		             &keyport__license__license_reply__descriptor, &r,
		             &res),
		    KP_EFORBIDDEN);
	}
	protobuf_c_message_free_unpacked(&l->base, NULL);
}

Test(license, admin_list_filters_and_sorts, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Listed");
	lic_spec a = {.validity = 100}, b = {.validity = 5000},
	         c = {.validity = 0};
	Keyport__License__LicenseReply *la = license_new(p->id, &a),
	                               *lb = license_new(p->id, &b),
	                               *lc = license_new(p->id, &c), *r;
	Keyport__License__ListLicensesRequest req =
	    KEYPORT__LICENSE__LIST_LICENSES_REQUEST__INIT;
	Keyport__License__ListLicensesReply *rep = NULL;
	char part[16];
	kp_rpc_result res;

	cr_assert_eq(
	    license_op("license.SuspendLicense", lc->license->id, &r, &res),
	    KP_OK);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	req.product_id = p->id;
	req.user_id = req.organization_id = req.status = req.key = (char *)"";
	req.sort = (char *)"expiresAt";
	req.page = 1;
	req.limit = 10;
	cr_assert_eq(
	    lic_call(&admin, "license.ListLicenses", &req.base,
	             &keyport__license__list_licenses_reply__descriptor, &rep,
	             &res),
	    KP_OK, "%s", res.message);
	cr_assert_eq(rep->total, 3);
	cr_assert_str_eq(rep->licenses[0]->id, la->license->id);
	cr_assert_str_eq(rep->licenses[1]->id, lb->license->id);
	cr_assert_str_eq(rep->licenses[2]->id, lc->license->id);
	protobuf_c_message_free_unpacked(&rep->base, NULL);

	kpt_set_clock("license", 1000);
	req.status = (char *)"expired";
	cr_assert_eq(
	    lic_call(&admin, "license.ListLicenses", &req.base,
	             &keyport__license__list_licenses_reply__descriptor, &rep,
	             &res),
	    KP_OK);
	cr_assert_eq(rep->total, 1);
	cr_assert_str_eq(rep->licenses[0]->id, la->license->id);
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	kpt_set_clock("license", 0);
	req.status = (char *)"suspended";
	cr_assert_eq(
	    lic_call(&admin, "license.ListLicenses", &req.base,
	             &keyport__license__list_licenses_reply__descriptor, &rep,
	             &res),
	    KP_OK);
	cr_assert_eq(rep->total, 1);
	cr_assert_str_eq(rep->licenses[0]->id, lc->license->id);
	protobuf_c_message_free_unpacked(&rep->base, NULL);

	/* key substring: lower case, across a dash */
	req.status = (char *)"";
	snprintf(part, sizeof(part), "%.8s", lb->license->key + 3);
	for (char *q = part; *q; q++)
		if (*q >= 'A' && *q <= 'Z')
			*q = (char)(*q + 32);
	req.key = part;
	cr_assert_eq(
	    lic_call(&admin, "license.ListLicenses", &req.base,
	             &keyport__license__list_licenses_reply__descriptor, &rep,
	             &res),
	    KP_OK);
	cr_assert_eq(rep->total, 1, "key %s", part);
	cr_assert_str_eq(rep->licenses[0]->id, lb->license->id);
	protobuf_c_message_free_unpacked(&rep->base, NULL);

	req.key = (char *)"";
	req.sort = (char *)"name";
	cr_assert_eq(
	    lic_call(&admin, "license.ListLicenses", &req.base,
	             &keyport__license__list_licenses_reply__descriptor, &rep,
	             &res),
	    KP_EINVAL);
	cr_assert_not_null(strstr(res.message, "sort"));
	protobuf_c_message_free_unpacked(&la->base, NULL);
	protobuf_c_message_free_unpacked(&lb->base, NULL);
	protobuf_c_message_free_unpacked(&lc->base, NULL);
}

/* ---- visibility
 * ------------------------------------------------------------------ */

Test(license, visibility_by_role_and_across_tenants, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Visible");
	char u1[37], u2[37], u3[37], o1[37], o2[37];
	Keyport__License__LicenseReply *l1, *l2, *l3, *r;
	kp_rpc_result res;

	uuid_new(u1);
	uuid_new(u2);
	uuid_new(u3);
	uuid_new(o1);
	uuid_new(o2);
	{
		lic_spec a = {.user_id = u1, .org_id = o1},
		         b = {.user_id = u2, .org_id = o1},
		         c = {.user_id = u3, .org_id = o2};

		l1 = license_new(p->id, &a);
		l2 = license_new(p->id, &b);
		l3 = license_new(p->id, &c);
	}
	{
		const who user1 = {"user", u1, o1};
		const who oadm1 = {"organization-admin", u2, o1};
		const who oadm2 = {"organization-admin", u3, o2};

		/* user: own license only */
		cr_assert_eq(license_get(&user1, l1->license->id, &r, &res),
		             KP_OK, "%s", res.message);
		cr_assert_str_eq(r->license->product_name, "Visible");
		protobuf_c_message_free_unpacked(&r->base, NULL);
		cr_assert_eq(license_get(&user1, l2->license->id, &r, &res),
		             KP_ENOTFOUND);
		cr_assert_eq(license_get(&user1, l3->license->id, &r, &res),
		             KP_ENOTFOUND);
		cr_assert_eq(mine_total(&user1, 50, NULL), 1);
		/* organization admin: the whole organization */
		cr_assert_eq(license_get(&oadm1, l1->license->id, &r, &res),
		             KP_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		cr_assert_eq(license_get(&oadm1, l3->license->id, &r, &res),
		             KP_ENOTFOUND);
		cr_assert_eq(mine_total(&oadm1, 50, NULL), 2);
		/* another tenant's admin sees nothing of o1 */
		cr_assert_eq(license_get(&oadm2, l1->license->id, &r, &res),
		             KP_ENOTFOUND);
		cr_assert_eq(license_get(&oadm2, l2->license->id, &r, &res),
		             KP_ENOTFOUND);
		cr_assert_eq(mine_total(&oadm2, 50, NULL), 1);
		/* the vendor admin sees all */
		cr_assert_eq(license_get(&admin, l3->license->id, &r, &res),
		             KP_OK);
		protobuf_c_message_free_unpacked(&r->base, NULL);
		/* counters come with the portal view (zeros: none yet) */
		cr_assert_eq(license_get(&user1, l1->license->id, &r, &res),
		             KP_OK);
		cr_assert_eq(r->license->total_activations, 0);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	/* a deleted license is gone for everyone */
	{
		Keyport__License__LicenseIdRequest d =
		    KEYPORT__LICENSE__LICENSE_ID_REQUEST__INIT;

		d.id = l1->license->id;
		cr_assert_eq(lic_call(&admin, "license.DeleteLicense", &d.base,
		                      NULL, NULL, &res),
		             KP_OK, "%s", res.message);
		cr_assert_eq(license_get(&admin, l1->license->id, &r, &res),
		             KP_ENOTFOUND);
		cr_assert_eq(lic_call(&admin, "license.DeleteLicense", &d.base,
		                      NULL, NULL, &res),
		             KP_ENOTFOUND);
	}
	protobuf_c_message_free_unpacked(&l1->base, NULL);
	protobuf_c_message_free_unpacked(&l2->base, NULL);
	protobuf_c_message_free_unpacked(&l3->base, NULL);
}

/* ---- cost of a page
 * ---------------------------------------------------------- */

Test(license, a_page_of_50_costs_what_a_page_of_5_costs, .timeout = 60)
{
	Keyport__License__Product *p = product_new("Paged");
	Keyport__License__SeedLicensesRequest seed =
	    KEYPORT__LICENSE__SEED_LICENSES_REQUEST__INIT;
	Keyport__License__CountReply *cnt = NULL;
	Keyport__License__StatsReply *st = NULL;
	Keyport__License__ListLicensesReply *rep = NULL;
	char u[37], o[37];
	int64_t q5, r5;
	kp_rpc_result res;

	uuid_new(u);
	uuid_new(o);
	seed.product_id = p->id;
	seed.count = 60;
	seed.user_id = u;
	seed.organization_id = o;
	cr_assert_eq(lic_call(&internal, "license.SeedLicenses", &seed.base,
	                      &keyport__license__count_reply__descriptor, &cnt,
	                      &res),
	             KP_OK, "%s", res.message);
	protobuf_c_message_free_unpacked(&cnt->base, NULL);
	{
		const who user = {"user", u, o};

		cr_assert_eq(mine_total(&user, 5, &rep), 60);
		cr_assert_eq(rep->n_licenses, 5);
		cr_assert_str_eq(rep->licenses[0]->product_name, "Paged");
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		cr_assert_eq(
		    lic_call(&internal, "license.Stats", NULL,
		             &keyport__license__stats_reply__descriptor, &st,
		             &res),
		    KP_OK);
		q5 = st->queries;
		r5 = st->rpcs;
		protobuf_c_message_free_unpacked(&st->base, NULL);

		cr_assert_eq(mine_total(&user, 50, &rep), 60);
		cr_assert_eq(rep->n_licenses, 50);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
		cr_assert_eq(
		    lic_call(&internal, "license.Stats", NULL,
		             &keyport__license__stats_reply__descriptor, &st,
		             &res),
		    KP_OK);
		cr_assert_eq(st->queries, q5,
		             "queries: page of 5 %lld, of 50 %lld",
		             (long long)q5, (long long)st->queries);
		cr_assert_eq(st->rpcs, r5);
		/* the page itself and its total; org.VisibleLicenses and
		 * activation.Counters once each */
		cr_assert_eq(q5, 2);
		cr_assert_eq(r5, 2);
		protobuf_c_message_free_unpacked(&st->base, NULL);
	}
}

/* ---- HTTP
 * ------------------------------------------------------------------------- */

Test(license, routes_need_a_token, .timeout = 60)
{
	static const char *const routes[][2] = {
	    {"GET", "/v1/products"},
	    {"POST", "/v1/products"},
	    {"GET", "/v1/licenses"},
	    {"POST", "/v1/licenses"},
	    {"GET", "/v1/me/licenses"},
	    {"GET", "/v1/licenses/00000000-0000-4000-8000-000000000001"},
	    {"PATCH", "/v1/licenses/00000000-0000-4000-8000-000000000001"},
	    {"POST",
	     "/v1/licenses/00000000-0000-4000-8000-000000000001/revoke"},
	};
	kpt_resp r;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		cr_assert_eq(
		    kpt_http(routes[i][0], routes[i][1], NULL, "{}", NULL, &r),
		    0);
		cr_assert_eq(r.status, 401, "%s %s: %ld", routes[i][0],
		             routes[i][1], r.status);
		cr_assert_str_eq(kpt_error_code(&r), "UNAUTHENTICATED");
		kpt_resp_free(&r);
	}
}
