/* Unit tests of the license store against a real PostgreSQL (kpt_pg.h):
 * the row readers of licenses and products, the admin and portal lists,
 * the changes, and the statuses of failures, with tables of cases. Each
 * test makes products and owners of its own. */
#include "kpt_pg.h"
#include "license_store.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

KPT_PG_SUITE()

extern const kp_migration license_migrations[];
extern const size_t license_migrations_count;

#define T0  1780000000 /* a fixed creation time: 2026-05-28T20:26:40Z */
#define PK  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define BOX "0123456789abcdef"

static kp_db *
open_db(void)
{
	return kpt_pg_open("license", license_migrations,
	                   license_migrations_count);
}

/* product makes a product; its id goes into id (37 bytes). */
static void
product(kp_db *db, const char *name, int64_t now, char *id)
{
	license_product_set s;

	cr_assert_eq(license_store_product_create(db, name, PK, BOX, now, &s),
	             KP_OK);
	cr_assert_eq(s.n, 1);
	snprintf(id, 37, "%s", s.ptrs[0]->id);
	license_product_set_clear(&s);
}

/* create makes a license of product for user / org at now. */
static void
create(kp_db *db, const char *prod, const char *user, const char *org,
       const char *strategy, int64_t validity, int64_t now, license_set *out)
{
	license_new n = {
	    prod, "node-locked", strategy, user, org, "{\"seat\":\"a\"}", 3,
	    -1,   validity,      0,        now};

	cr_assert_eq(license_store_create(db, &n, out), KP_OK);
	cr_assert_eq(out->n, 1);
}

Test(license_store, create_reads_every_field)
{
	static const struct {
		const char *name, *strategy;
		int64_t validity;
		const char *expires, *status;
	} cases[] = {
	    {"immediate, a day", "immediate", 86400, "2026-05-29T20:26:40Z",
	     "expired"},
	    {"delayed: not started", "delayed", 86400, "", "active"},
	    {"perpetual", "immediate", 0, "", "active"},
	};
	char prod[37], user[37], created[32];
	kp_db *db = open_db();

	product(db, "Store product", T0, prod);
	kpt_pg_uuid(user);
	kp_time_format(T0, created, sizeof(created));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const Keyport__License__License *l;
		license_set s, again;

		create(db, prod, user, "", cases[i].strategy, cases[i].validity,
		       T0, &s);
		l = s.ptrs[0];
		cr_assert_eq(strlen(l->id), 36, "%s", cases[i].name);
		cr_assert_eq(strlen(l->key), LICENSE_KEY_LEN, "%s: %s",
		             cases[i].name, l->key);
		cr_assert_eq(l->key[5], '-', "%s", cases[i].name);
		cr_assert_str_eq(l->product_id, prod);
		cr_assert_str_eq(l->product_name, "Store product");
		cr_assert_str_eq(l->type, "node-locked");
		cr_assert_eq(l->allowed_activations, 3);
		cr_assert_eq(l->allowed_deactivations, -1);
		cr_assert_eq(l->validity, cases[i].validity);
		cr_assert_str_eq(l->expiration_strategy, cases[i].strategy);
		cr_assert_str_eq(l->expires_at, cases[i].expires, "%s",
		                 cases[i].name);
		cr_assert_str_eq(l->status, cases[i].status, "%s",
		                 cases[i].name);
		cr_assert_str_eq(l->user_id, user);
		cr_assert_str_eq(l->organization_id, "");
		cr_assert_str_eq(l->created_at, created);
		cr_assert_str_eq(l->updated_at, created);
		cr_assert_eq(l->n_metadata, 1);
		cr_assert_str_eq(l->metadata[0]->key, "seat");
		cr_assert_str_eq(l->metadata[0]->value, "a");
		/* by id and by key: the same license */
		cr_assert_eq(license_store_get(db, l->id, &again), KP_OK);
		cr_assert_str_eq(again.ptrs[0]->key, l->key);
		license_set_clear(&again);
		{
			char norm[40];

			cr_assert_eq(
			    license_key_normalise(l->key, norm, sizeof(norm)),
			    0);
			cr_assert_eq(license_store_by_key(db, norm, &again),
			             KP_OK);
			cr_assert_str_eq(again.ptrs[0]->id, l->id);
			license_set_clear(&again);
		}
		license_set_clear(&s);
		license_set_clear(&s); /* idempotent */
	}
	kp_db_close(db);
}

Test(license_store, failures_are_statuses)
{
	static const struct {
		const char *name, *id;
		int want;
	} cases[] = {
	    {"not a UUID", "not-a-uuid", KP_EINVAL},
	    {"no such license", "00000000-0000-4000-8000-000000000000",
	     KP_ENOTFOUND},
	};
	license_new n = {"00000000-0000-4000-8000-000000000000",
	                 "node-locked",
	                 "immediate",
	                 "",
	                 "",
	                 "{}",
	                 1,
	                 1,
	                 0,
	                 0,
	                 T0};
	kp_db *db = open_db();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		license_set s;

		cr_assert_eq(license_store_get(db, cases[i].id, &s),
		             cases[i].want, "%s", cases[i].name);
		cr_assert_eq(s.n, 0, "%s: empty after a failure",
		             cases[i].name);
		license_set_clear(&s);
	}
	{
		license_set s;

		/* no such product, and a product id that is not a UUID */
		cr_assert_eq(license_store_create(db, &n, &s), KP_EINVAL);
		n.product_id = "nope";
		cr_assert_eq(license_store_create(db, &n, &s), KP_EINVAL);
		license_set_clear(&s);
	}
	kp_db_close(db);
}

Test(license_store, state_changes)
{
	static const struct {
		license_op op;
		int64_t at;
		const char *status, *expires;
	} steps[] = {
	    /* created at T0 with a 1000 s validity: expires T0 + 1000 */
	    {LICENSE_OP_SUSPEND, T0 + 10, "suspended", "2026-05-28T20:43:20Z"},
	    {LICENSE_OP_UNSUSPEND, T0 + 20, "expired", "2026-05-28T20:43:20Z"},
	    /* renewal from the later of now and the expiry */
	    {LICENSE_OP_RENEW, T0 + 30, "expired", "2026-05-28T21:00:00Z"},
	    {LICENSE_OP_REVOKE, T0 + 40, "revoked", "2026-05-28T21:00:00Z"},
	};
	char prod[37], user[37];
	license_set s;
	kp_db *db = open_db();

	product(db, "States", T0, prod);
	create(db, prod, kpt_pg_uuid(user), "", "immediate", 1000, T0, &s);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		license_set now;
		char upd[32];

		cr_assert_eq(license_store_op(db, s.ptrs[0]->id, steps[i].op,
		                              steps[i].at),
		             KP_OK, "step %zu", i);
		cr_assert_eq(license_store_get(db, s.ptrs[0]->id, &now), KP_OK);
		cr_assert_str_eq(now.ptrs[0]->status, steps[i].status,
		                 "step %zu", i);
		cr_assert_str_eq(now.ptrs[0]->expires_at, steps[i].expires,
		                 "step %zu", i);
		kp_time_format(steps[i].at, upd, sizeof(upd));
		cr_assert_str_eq(now.ptrs[0]->updated_at, upd, "step %zu", i);
		license_set_clear(&now);
	}
	license_set_clear(&s);
	kp_db_close(db);
}

Test(license_store, start_expiry_and_update)
{
	char prod[37], user[37], org[37];
	license_set s, now;
	license_change c = {0};
	kp_db *db = open_db();

	product(db, "Changes", T0, prod);
	create(db, prod, kpt_pg_uuid(user), "", "delayed", 600, T0, &s);
	cr_assert_eq(license_store_start_expiry(db, s.ptrs[0]->id, T0 + 100),
	             KP_OK);
	c.id = s.ptrs[0]->id;
	c.has_validity = 1;
	c.validity = 1200; /* the running term gets the new length */
	c.has_owner = 1;
	c.user_id = user;
	c.organization_id = kpt_pg_uuid(org);
	c.has_metadata = 1;
	c.metadata_json = "{\"k\":\"v\",\"n\":\"2\"}";
	c.now = T0 + 200;
	cr_assert_eq(license_store_update(db, &c), KP_OK);
	cr_assert_eq(license_store_get(db, s.ptrs[0]->id, &now), KP_OK);
	/* started at T0 + 100 with 600, moved by 1200 - 600 */
	cr_assert_str_eq(now.ptrs[0]->expires_at, "2026-05-28T20:48:20Z");
	cr_assert_eq(now.ptrs[0]->validity, 1200);
	cr_assert_str_eq(now.ptrs[0]->organization_id, org);
	cr_assert_eq(now.ptrs[0]->n_metadata, 2);
	license_set_clear(&now);
	license_set_clear(&s);
	kp_db_close(db);
}

Test(license_store, admin_list_filters_sorts_pages)
{
	static const struct {
		const char *name, *status, *key;
		int sort, limit;
		int64_t offset;
		int64_t total;
		size_t n;
		int first; /* index of the first license in the page */
	} cases[] = {
	    {"newest first", NULL, NULL, LICENSE_SORT_CREATED_DESC, 10, 0, 3, 3,
	     2},
	    {"oldest first", NULL, NULL, LICENSE_SORT_CREATED, 10, 0, 3, 3, 0},
	    {"a page", NULL, NULL, LICENSE_SORT_CREATED, 1, 1, 3, 1, 1},
	    {"past the end", NULL, NULL, LICENSE_SORT_CREATED, 10, 5, 3, 0, -1},
	    {"expiring first", NULL, NULL, LICENSE_SORT_EXPIRES, 10, 0, 3, 3,
	     1},
	    {"expired only", "expired", NULL, LICENSE_SORT_CREATED, 10, 0, 1, 1,
	     1},
	    {"active only", "active", NULL, LICENSE_SORT_CREATED, 10, 0, 2, 2,
	     0},
	    {"by key", NULL, "KEY", LICENSE_SORT_CREATED, 10, 0, 1, 1, 2},
	};
	char prod[37], user[37], ids[3][37], keys[3][40];
	kp_db *db = open_db();

	product(db, "Listed", T0, prod);
	kpt_pg_uuid(user);
	for (int i = 0; i < 3; i++) {
		license_set s;

		/* the second expires (T0 + 1 + 10), the others never */
		create(db, prod, user, "", "immediate", i == 1 ? 10 : 0, T0 + i,
		       &s);
		snprintf(ids[i], sizeof(ids[i]), "%s", s.ptrs[0]->id);
		cr_assert_eq(license_key_normalise(s.ptrs[0]->key, keys[i],
		                                   sizeof(keys[i])),
		             0);
		license_set_clear(&s);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		license_filter f = {
		    prod,    NULL,          NULL,           cases[i].status,
		    NULL,    cases[i].sort, cases[i].limit, cases[i].offset,
		    T0 + 100};
		license_set s;

		if (cases[i].key != NULL)
			f.key = keys[2] + 3; /* a part of the third's key */
		cr_assert_eq(license_store_list(db, &f, &s), KP_OK, "%s",
		             cases[i].name);
		cr_assert_eq(s.total, cases[i].total, "%s", cases[i].name);
		cr_assert_eq(s.n, cases[i].n, "%s", cases[i].name);
		if (cases[i].first >= 0)
			cr_assert_str_eq(s.ptrs[0]->id, ids[cases[i].first],
			                 "%s", cases[i].name);
		license_set_clear(&s);
	}
	kp_db_close(db);
}

Test(license_store, portal_list_and_batches)
{
	char prod[37], me[37], other[37], org[37], ids[4][37];
	char *visible[2], *batch[3];
	license_set s;
	kp_db *db = open_db();

	product(db, "Portal", T0, prod);
	kpt_pg_uuid(me);
	kpt_pg_uuid(other);
	kpt_pg_uuid(org);
	/* mine, my organization's, another's linked to my group, another's */
	create(db, prod, me, "", "immediate", 0, T0, &s);
	snprintf(ids[0], 37, "%s", s.ptrs[0]->id);
	license_set_clear(&s);
	create(db, prod, "", org, "immediate", 0, T0 + 1, &s);
	snprintf(ids[1], 37, "%s", s.ptrs[0]->id);
	license_set_clear(&s);
	for (int i = 2; i < 4; i++) {
		create(db, prod, other, "", "immediate", 0, T0 + i, &s);
		snprintf(ids[i], 37, "%s", s.ptrs[0]->id);
		license_set_clear(&s);
	}
	visible[0] = ids[2];
	visible[1] = "not-a-uuid";
	cr_assert_eq(
	    license_store_list_visible(db, me, org, visible, 2, 10, 0, &s),
	    KP_OK);
	cr_assert_eq(s.total, 3);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.ptrs[0]->id, ids[2], "newest first");
	license_set_clear(&s);
	cr_assert_eq(
	    license_store_list_visible(db, me, "", visible, 1, 1, 1, &s),
	    KP_OK);
	cr_assert_eq(s.total, 2, "without the organization");
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.ptrs[0]->id, ids[0]);
	license_set_clear(&s);
	/* a batch: not-UUIDs skipped, an organization filter */
	batch[0] = ids[0];
	batch[1] = ids[1];
	batch[2] = "nope";
	cr_assert_eq(license_store_get_many(db, batch, 3, "", &s), KP_OK);
	cr_assert_eq(s.n, 2);
	license_set_clear(&s);
	cr_assert_eq(license_store_get_many(db, batch, 3, org, &s), KP_OK);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.ptrs[0]->id, ids[1]);
	license_set_clear(&s);
	kp_db_close(db);
}

Test(license_store, deletes_and_organizations)
{
	char prod[37], org[37];
	license_set s;
	license_ids gone;
	int64_t count = -1, made = -1;
	int deleted = -1;
	kp_db *db = open_db();

	product(db, "Deleted", T0, prod);
	kpt_pg_uuid(org);
	cr_assert_eq(license_store_seed(db, 3, prod, "", org, T0, &made),
	             KP_OK);
	cr_assert_eq(made, 3);
	create(db, prod, "", org, "immediate", 0, T0, &s);
	cr_assert_eq(license_store_count_org(db, org, &count), KP_OK);
	cr_assert_eq(count, 4);
	cr_assert_eq(license_store_delete(db, s.ptrs[0]->id, &deleted), KP_OK);
	cr_assert_eq(deleted, 1);
	cr_assert_eq(license_store_delete(db, s.ptrs[0]->id, &deleted), KP_OK);
	cr_assert_eq(deleted, 0, "gone already");
	license_set_clear(&s);
	cr_assert_eq(license_store_delete_org(db, org, &gone), KP_OK);
	cr_assert_eq(gone.n, 3);
	for (size_t i = 0; i < gone.n; i++)
		cr_assert_eq(strlen(gone.ids[i]), 36);
	license_ids_clear(&gone);
	cr_assert_eq(license_store_count_org(db, org, &count), KP_OK);
	cr_assert_eq(count, 0);
	kp_db_close(db);
}

Test(license_store, products)
{
	static const struct {
		const char *name, *id;
		int want;
	} lookups[] = {
	    {"no such product", "00000000-0000-4000-8000-000000000000",
	     KP_ENOTFOUND},
	    {"not a UUID", "nope", KP_ENOTFOUND},
	};
	char id[37], created[32];
	license_product_keys keys;
	license_product_set s;
	kp_db *db = open_db();

	product(db, "Keys", T0, id);
	cr_assert_eq(license_store_product_keys(db, id, &keys), KP_OK);
	cr_assert_str_eq(keys.public_key, PK);
	cr_assert_str_eq(keys.secret_box, BOX);
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++)
		cr_assert_eq(
		    license_store_product_keys(db, lookups[i].id, &keys),
		    lookups[i].want, "%s", lookups[i].name);
	cr_assert_eq(license_store_product_list(db, 1, 0, &s), KP_OK);
	cr_assert_eq(s.n, 1);
	cr_assert_geq(s.total, 1);
	license_product_set_clear(&s);
	/* past the end: the total still comes */
	cr_assert_eq(license_store_product_list(db, 1, 100000, &s), KP_OK);
	cr_assert_eq(s.n, 0);
	cr_assert_geq(s.total, 1);
	license_product_set_clear(&s);
	cr_assert_eq(license_store_product_create(db, "Shown", PK, BOX, T0, &s),
	             KP_OK);
	kp_time_format(T0, created, sizeof(created));
	cr_assert_str_eq(s.ptrs[0]->created_at, created);
	cr_assert_str_eq(s.ptrs[0]->name, "Shown");
	cr_assert_str_eq(s.ptrs[0]->public_key,
	                 "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=");
	license_product_set_clear(&s);
	kp_db_close(db);
}
