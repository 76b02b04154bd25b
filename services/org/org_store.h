/* org_store: every statement of the org schema, and the only code of the
 * org service that talks to PostgreSQL.
 *
 * Each statement is a static const char beside an enum of its columns; the
 * readers fill typed rows (messages of proto/org.proto); callers never see
 * a PGresult or a column number. Times come out of SQL as epoch seconds and
 * are formatted here (kp_time_format); "now" goes in as the caller's
 * int64_t, passed with kp_time_param and read by to_timestamp($n::bigint).
 *
 * Every function returns a kp_status: KP_OK, KP_ENOTFOUND where one row is
 * looked up or changed (an id that is not a UUID cannot exist and is
 * simply not found), or the translation of the SQLSTATE (kp_db.h), which
 * the caller answers with kp_service_db_fail. A set borrows its strings
 * from the store's result; free it with its *_clear (NULL-safe,
 * idempotent; also after a failure, which leaves it empty).
 */
#ifndef ORG_STORE_H
#define ORG_STORE_H

#include "kp_db.h"
#include "proto/org.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* ---- organizations ------------------------------------------------------- */

typedef struct org_row {
	Keyport__Org__Organization msg;
	char created[32], updated[32];
} org_row;

typedef struct org_set {
	size_t n;
	org_row *rows;
	Keyport__Org__Organization **ptrs;
	int64_t total; /* a list's whole count */
	void *res_;
} org_set;

void org_set_clear(org_set *s);

/* The fields of an organization: NULL is "not changed" for an update. */
typedef struct org_fields {
	const char *name, *email, *description;
	int has_allowed_users;
	int64_t allowed_users;
} org_fields;

/* org_store_create inserts an organization (allowed_users -1 when not
 * given). */
int org_store_create(kp_db *db, const org_fields *f, int64_t now, org_set *out);

/* org_store_list reads a page of organizations, oldest first. */
int org_store_list(kp_db *db, int limit, int64_t offset, org_set *out);

/* org_store_get reads organization id: KP_ENOTFOUND. */
int org_store_get(kp_db *db, const char *id, org_set *out);

/* org_store_update writes the fields of f that are set: KP_ENOTFOUND. */
int org_store_update(kp_db *db, const char *id, const org_fields *f,
                     int64_t now, org_set *out);

/* org_store_delete deletes organization id (its groups go with it). */
int org_store_delete(kp_db *db, const char *id);

/* ---- user groups -----------------------------------------------------------
 */

typedef struct org_group_row {
	Keyport__Org__Group msg;
	char created[32], updated[32];
} org_group_row;

typedef struct org_group_set {
	size_t n;
	org_group_row *rows;
	Keyport__Org__Group **ptrs;
	int64_t total; /* a list's whole count */
	void *res_;
} org_group_set;

void org_group_set_clear(org_group_set *s);

/* org_store_group_create inserts a group of org: KP_EINVAL when org is
 * gone (foreign key). */
int org_store_group_create(kp_db *db, const char *org, const char *name,
                           const char *desc, int64_t now, org_group_set *out);

/* org_store_group_list reads a page of org's groups, oldest first. */
int org_store_group_list(kp_db *db, const char *org, int limit, int64_t offset,
                         org_group_set *out);

/* org_store_group_get reads org's group id: KP_ENOTFOUND. */
int org_store_group_get(kp_db *db, const char *id, const char *org,
                        org_group_set *out);

/* org_store_group_update writes name and desc unless NULL: KP_ENOTFOUND. */
int org_store_group_update(kp_db *db, const char *id, const char *org,
                           const char *name, const char *desc, int64_t now,
                           org_group_set *out);

/* org_store_group_delete deletes org's group id: KP_ENOTFOUND. */
int org_store_group_delete(kp_db *db, const char *id, const char *org);

/* A list of ids (members, licenses). */
typedef struct org_ids {
	size_t n;
	char **ids;
	void *res_;
} org_ids;

void org_ids_clear(org_ids *s);

/* org_store_group_members reads the user and the license ids of group. */
int org_store_group_members(kp_db *db, const char *group, org_ids *users,
                            org_ids *licenses);

/* org_store_group_link adds (add != 0) or removes a user (license == 0) or
 * a license of group; both are idempotent. KP_EINVAL: the group is gone. */
int org_store_group_link(kp_db *db, const char *group, const char *member,
                         int license, int add);

/* org_store_visible reads the licenses user_id sees through its groups. */
int org_store_visible(kp_db *db, const char *user_id, org_ids *out);

/* org_store_drop_users removes the users first (may be NULL) and
 * ids[0..n) (others than UUIDs skipped) from every group, or, when org is
 * not "", from the groups of organization org only (no such organization
 * when org is not a UUID); one statement. */
int org_store_drop_users(kp_db *db, const char *first, char *const *ids,
                         size_t n, const char *org);

/* org_store_drop_license removes license_id from every group. */
int org_store_drop_license(kp_db *db, const char *license_id);

/* ---- customization ---------------------------------------------------------
 */

typedef struct org_custom_row {
	Keyport__Org__Customization msg;
	int found; /* 0: none stored (msg is empty) */
	char updated[32];
	void *res_;
} org_custom_row;

void org_custom_row_clear(org_custom_row *r);

/* org_store_custom_get reads tenant's customization (found 0: none). */
int org_store_custom_get(kp_db *db, const char *tenant, org_custom_row *out);

/* org_store_custom_by_domain reads the customization of domain. */
int org_store_custom_by_domain(kp_db *db, const char *domain,
                               org_custom_row *out);

/* org_store_custom_put writes tenant's portal name, logo URL and domain
 * (NULL: none): KP_ECONFLICT when another portal has the domain. */
int org_store_custom_put(kp_db *db, const char *tenant, const char *name,
                         const char *logo_url, const char *domain, int64_t now,
                         org_custom_row *out);

/* org_store_logo_put stores tenant's logo (type, its bytes) and points its
 * logo URL at logo_path; a first row gets portal name default_name. */
int org_store_logo_put(kp_db *db, const char *tenant, const unsigned char *data,
                       size_t len, const char *type, const char *default_name,
                       const char *logo_path, int64_t now, org_custom_row *out);

/* A logo's bytes (malloc'd by libpq) and type (borrowed). */
typedef struct org_logo {
	unsigned char *data;
	size_t len;
	const char *type;
	void *res_;
} org_logo;

void org_logo_clear(org_logo *l);

/* org_store_logo_get reads tenant's logo: KP_ENOTFOUND. */
int org_store_logo_get(kp_db *db, const char *tenant, org_logo *out);

#endif
