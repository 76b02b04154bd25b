/* license_store: every statement of the license schema, and the only code of
 * the service that talks to PostgreSQL (license_store.c: reading licenses;
 * license_store_write.c: changing them; license_store_product.c: products).
 *
 * Each statement is a static const char beside an enum of its columns and
 * the typed row struct its reader fills; callers never see a PGresult or a
 * column number. Times come out of SQL as epoch seconds and are formatted
 * here (kp_time_format); "now" goes in as a text parameter made by
 * kp_time_param / kp_now_param, read by to_timestamp($n).
 *
 * Every function returns a kp_status: KP_OK, or the translation of the
 * SQLSTATE (kp_db.h; KP_EINVAL for an id that is not a UUID), which the
 * caller answers with kp_service_db_fail. No function answers an RPC. A
 * struct that borrows from the store's result says so; free it with its
 * *_clear (NULL-safe, idempotent; also after a failure, which leaves it
 * empty).
 */
#ifndef LICENSE_STORE_H
#define LICENSE_STORE_H

#include "kp_db.h"
#include "license_key.h"
#include "proto/license.pb-c.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* ---- reading licenses (license_store.c) ---------------------------------- */

/* One license as a message (status derived from the row and kp_now()).
 * Strings borrow from the store's result, the buffers here and meta (the
 * metadata object its entries borrow from). */
typedef struct license_row {
	Keyport__License__License msg;
	char key[LICENSE_KEY_LEN + 1];
	char expires[32], created[32], updated[32];
	json_t *meta;
} license_row;

/* Licenses read by one statement: rows[i].msg, also as ptrs[i] for a
 * reply; total is the count of a list's whole filter (lists only). */
typedef struct license_set {
	size_t n;
	license_row *rows;
	Keyport__License__License **ptrs;
	Keyport__License__License__MetadataEntry *entries, **entry_ptrs;
	int64_t total;
	void *res_;
} license_set;

void license_set_clear(license_set *s);

/* license_store_get reads license id: KP_ENOTFOUND when there is none. */
int license_store_get(kp_db *db, const char *id, license_set *out);

/* license_store_by_key reads the license of a normalised key
 * (license_key_normalise): KP_ENOTFOUND when there is none. */
int license_store_by_key(kp_db *db, const char *key, license_set *out);

/* license_store_get_many reads the n licenses ids (those that exist; ids
 * that are not UUIDs are skipped), of organization org_id when it is not
 * "", by creation. */
int license_store_get_many(kp_db *db, char *const *ids, size_t n,
                           const char *org_id, license_set *out);

/* The admin list's filter and page: NULL (or "") for no filter; key is
 * normalised; sort is LICENSE_SORT_*. */
enum {
	LICENSE_SORT_CREATED_DESC,
	LICENSE_SORT_CREATED,
	LICENSE_SORT_EXPIRES,
	LICENSE_SORT_EXPIRES_DESC,
	LICENSE_NSORTS
};

typedef struct license_filter {
	const char *product_id, *user_id, *organization_id, *status, *key;
	int sort, limit;
	int64_t offset, now;
} license_filter;

/* license_store_list reads a page of the admin list and its total. */
int license_store_list(kp_db *db, const license_filter *f, license_set *out);

/* license_store_list_visible reads a page (newest first) of what a portal
 * user sees: their own licenses, their organization's (org_id, "" for
 * none) and the nvisible ids linked to their groups; and the exact total. */
int license_store_list_visible(kp_db *db, const char *user_id,
                               const char *org_id, char *const *visible,
                               size_t nvisible, int limit, int64_t offset,
                               license_set *out);

/* ---- changing licenses (license_store_write.c) --------------------------- */

/* A new license (strings borrowed; metadata_json a JSON object's text). */
typedef struct license_new {
	const char *product_id, *type, *expiration_strategy, *user_id,
	    *organization_id, *metadata_json;
	int64_t allowed_activations, allowed_deactivations, validity,
	    lease_seconds, now;
} license_new;

/* license_store_create makes a license under a fresh key (a colliding key
 * is drawn again) and reads it into *out. KP_EINVAL when product_id names
 * no product. */
int license_store_create(kp_db *db, const license_new *n, license_set *out);

/* A change of license id: only the fields whose has_* is set (owner: both
 * user_id and organization_id, as they will be). */
typedef struct license_change {
	const char *id;
	int has_allowed_activations, has_allowed_deactivations, has_validity,
	    has_user_id, has_owner, has_metadata, has_lease_seconds;
	int64_t allowed_activations, allowed_deactivations, validity,
	    lease_seconds, now;
	const char *user_id, *organization_id, *metadata_json;
} license_change;

/* license_store_update applies c (docs/design.md, "Changing validity"). */
int license_store_update(kp_db *db, const license_change *c);

/* The state changes of license_store_op. */
typedef enum license_op {
	LICENSE_OP_SUSPEND,
	LICENSE_OP_UNSUSPEND,
	LICENSE_OP_REVOKE,
	LICENSE_OP_RENEW
} license_op;

/* license_store_op changes the state of license id at now (renewal: one
 * more validity from the later of now and the expiry). */
int license_store_op(kp_db *db, const char *id, license_op op, int64_t now);

/* license_store_start_expiry starts the expiry of delayed license id at now
 * (nothing when it runs already, is immediate or perpetual). */
int license_store_start_expiry(kp_db *db, const char *id, int64_t now);

/* license_store_delete deletes license id; *deleted is 0 when there was
 * none. */
int license_store_delete(kp_db *db, const char *id, int *deleted);

/* license_store_count_org counts the licenses of organization org_id. */
int license_store_count_org(kp_db *db, const char *org_id, int64_t *count);

/* The ids of deleted licenses (ids[i] borrow from res_). */
typedef struct license_ids {
	size_t n;
	char **ids;
	void *res_;
} license_ids;

void license_ids_clear(license_ids *s);

/* license_store_delete_org deletes the licenses of organization org_id and
 * reads their ids. */
int license_store_delete_org(kp_db *db, const char *org_id, license_ids *out);

/* license_store_seed makes count licenses (fresh keys, node-locked,
 * perpetual) of product_id for user_id / org_id ("" for none), created a
 * microsecond apart from now, in one statement; *made receives how many
 * (tests and benchmarks only: license.SeedLicenses). */
int license_store_seed(kp_db *db, int64_t count, const char *product_id,
                       const char *user_id, const char *org_id, int64_t now,
                       int64_t *made);

/* ---- products (license_store_product.c) --------------------------------- */

/* A product as a message: public_key base64; strings borrow from res_ and
 * the buffers here. */
typedef struct license_product_row {
	Keyport__License__Product msg;
	char public_key[64], created[32];
} license_product_row;

/* Products read by one statement: rows[i].msg, also as ptrs[i]; total is
 * the count of all products (lists only). */
typedef struct license_product_set {
	size_t n;
	license_product_row *rows;
	Keyport__License__Product **ptrs;
	int64_t total;
	void *res_;
} license_product_set;

void license_product_set_clear(license_product_set *s);

/* license_store_product_create stores a product with its public key and
 * its sealed secret key (both hex) and reads it into *out (one row). */
int license_store_product_create(kp_db *db, const char *name,
                                 const char *public_key_hex,
                                 const char *secret_box_hex, int64_t now,
                                 license_product_set *out);

/* license_store_product_list reads a page of products (newest first) and
 * the total. */
int license_store_product_list(kp_db *db, int limit, int64_t offset,
                               license_product_set *out);

/* The keys of a product, hex (license_store_product_keys). */
typedef struct license_product_keys {
	char public_key[2 * 32 + 1];
	char secret_box[2 * 128 + 1];
} license_product_keys;

/* license_store_product_keys reads the keys of product id: KP_ENOTFOUND
 * when there is none (or id is not a UUID). */
int license_store_product_keys(kp_db *db, const char *id,
                               license_product_keys *out);

/* license_store_dec writes v as a decimal text parameter into buf (at least
 * KP_NOW_PARAM_LEN bytes) and returns buf (counts, limits, durations; times
 * go through kp_time_param). For the store's files. */
char *license_store_dec(int64_t v, char *buf);

#endif
