/* Unit tests of the activation store against a real PostgreSQL (kpt_pg.h):
 * each statement's reader, the seat statements under the license lock, the
 * heartbeat read and write, the counters, the lease sweep and the batched
 * lastSeenAt, with tables of cases. Each test uses licenses of its own. */
#include "activation_store.h"
#include "kpt_pg.h"

#include "kp_clock.h"
#include "kp_err.h"

#include <criterion/criterion.h>
#include <string.h>

KPT_PG_SUITE()

extern const kp_migration activation_migrations[];
extern const size_t activation_migrations_count;

#define T0 1780000000 /* a fixed "now" of the tests: 2026-05-28T20:26:40Z */

static kp_db *
open_db(void)
{
	return kpt_pg_open("activation", activation_migrations,
	                   activation_migrations_count);
}

/* insert makes an activation of license on machine fp at now. */
static void
insert(kp_db *db, const char *license, const char *product, const char *fp,
       int offline, int64_t now, int64_t lease, act_row *out)
{
	Keyport__Activation__ActivateRequest req =
	    KEYPORT__ACTIVATION__ACTIVATE_REQUEST__INIT;
	act_new n = {license, product, &req, now, lease};

	req.fingerprint = (char *)fp;
	req.hostname = "host-1";
	req.os = "linux";
	req.os_version = "6.1";
	req.app_version = "2.0";
	req.vm_name = "";
	req.offline = offline;
	req.client_public_key = offline ? "cpk" : "";
	cr_assert_eq(act_store_insert(db, &n, out), KP_OK, "insert %s", fp);
}

Test(activation_store, row_reader_fills_every_field)
{
	static const struct {
		const char *name;
		int offline;
		int64_t now;
	} cases[] = {
	    {"online", 0, T0},
	    {"offline", 1, T0 + 1},
	    {"another second", 0, T0 + 86399},
	};
	kp_db *db = open_db();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char lic[37], prod[37], want[32];
		act_row r;

		insert(db, kpt_pg_uuid(lic), kpt_pg_uuid(prod), "fp-1",
		       cases[i].offline, cases[i].now, 0, &r);
		cr_assert_eq(strlen(r.msg.id), 36, "%s", cases[i].name);
		cr_assert_str_eq(r.msg.license_id, lic, "%s", cases[i].name);
		cr_assert_str_eq(r.msg.product_id, prod, "%s", cases[i].name);
		cr_assert_str_eq(r.msg.fingerprint, "fp-1");
		cr_assert_str_eq(r.msg.hostname, "host-1");
		cr_assert_str_eq(r.msg.os, "linux");
		cr_assert_str_eq(r.msg.os_version, "6.1");
		cr_assert_str_eq(r.msg.app_version, "2.0");
		cr_assert_str_eq(r.msg.vm_name, "");
		cr_assert_eq(r.msg.offline, cases[i].offline, "%s",
		             cases[i].name);
		cr_assert_eq(r.created_t, cases[i].now, "%s", cases[i].name);
		cr_assert_eq(r.seen_t, cases[i].now, "%s", cases[i].name);
		cr_assert_eq(r.deact_t, 0, "%s", cases[i].name);
		kp_time_format(cases[i].now, want, sizeof(want));
		cr_assert_str_eq(r.msg.created_at, want, "%s", cases[i].name);
		cr_assert_str_eq(r.msg.last_seen_at, want, "%s", cases[i].name);
		cr_assert_str_eq(r.msg.deactivated_at, "", "%s", cases[i].name);
		act_row_clear(&r);
		act_row_clear(&r); /* idempotent */
	}
	kp_db_close(db);
}

Test(activation_store, live_finds_the_machine)
{
	static const struct {
		const char *fingerprint;
		int same; /* index of the activation found, -1 for none */
	} cases[] = {
	    {"fp-a", 0},
	    {"fp-b", 1},
	    {"fp-c", -1}, /* deactivated below */
	    {"fp-none", -1},
	};
	char lic[37], prod[37];
	act_row rows[3];
	kp_db *db = open_db();

	kpt_pg_uuid(lic);
	kpt_pg_uuid(prod);
	insert(db, lic, prod, "fp-a", 0, T0, 0, &rows[0]);
	insert(db, lic, prod, "fp-b", 0, T0, 0, &rows[1]);
	insert(db, lic, prod, "fp-c", 0, T0, 0, &rows[2]);
	{
		act_row d;

		cr_assert_eq(
		    act_store_deactivate(db, rows[2].msg.id, T0 + 5, &d),
		    KP_OK);
		cr_assert_eq(d.deact_t, T0 + 5);
		act_row_clear(&d);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		act_live live;

		cr_assert_eq(
		    act_store_live(db, lic, cases[i].fingerprint, &live),
		    KP_OK);
		cr_assert_eq(live.count, 2, "%s", cases[i].fingerprint);
		cr_assert_str_eq(live.same_id,
		                 cases[i].same < 0 ? ""
		                                   : rows[cases[i].same].msg.id,
		                 "%s", cases[i].fingerprint);
	}
	for (int i = 0; i < 3; i++)
		act_row_clear(&rows[i]);
	kp_db_close(db);
}

Test(activation_store, touch_and_lapsed_leases)
{
	char lic[37], prod[37];
	act_row a, b, t;
	act_live live;
	kp_db *db = open_db();

	kpt_pg_uuid(lic);
	kpt_pg_uuid(prod);
	insert(db, lic, prod, "fp-old", 0, T0, 60, &a);
	insert(db, lic, prod, "fp-new", 0, T0 + 100, 60, &b);
	/* an offline re-activation takes the new client key */
	cr_assert_eq(act_store_touch(db, b.msg.id, T0 + 110, 1, "k2", &t),
	             KP_OK);
	cr_assert_eq(t.seen_t, T0 + 110);
	cr_assert(t.msg.offline);
	act_row_clear(&t);
	/* at T0 + 100 the first one was not seen for 100 s > 60 s */
	cr_assert_eq(
	    act_store_release(db, ACT_RELEASE_LAPSED, lic, T0 + 100, 60),
	    KP_OK);
	cr_assert_eq(act_store_live(db, lic, "fp-old", &live), KP_OK);
	cr_assert_eq(live.count, 1);
	cr_assert_str_eq(live.same_id, "");
	cr_assert_eq(act_store_touch(db, kpt_pg_uuid(lic), T0, 0, "", &t),
	             KP_ENOTFOUND);
	act_row_clear(&a);
	act_row_clear(&b);
	kp_db_close(db);
}

Test(activation_store, heartbeat_reads_and_writes)
{
	static const struct {
		const char *name;
		int64_t lease, every, now;
		int written;
	} cases[] = {
	    {"no lease: read only", 0, 60, T0 + 3600, 0},
	    {"lease, seen long ago: written", 600, 60, T0 + 120, 1},
	    {"lease, seen just now: not written", 600, 60, T0 + 10, 0},
	    {"lease ran out: not written", 100, 25, T0 + 200, 0},
	};
	kp_db *db = open_db();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char lic[37], prod[37], other[37];
		act_row a;
		act_beat b;

		kpt_pg_uuid(lic);
		insert(db, lic, kpt_pg_uuid(prod), "fp", 0, T0, cases[i].lease,
		       &a);
		cr_assert_eq(act_store_licenses_changed(
		                 db, (char *[]){lic, "not-a-uuid"}, 2),
		             KP_OK);
		cr_assert_eq(act_store_count(db, lic, ACT_COUNT_VERSION),
		             KP_OK);
		cr_assert_eq(act_store_heartbeat(db, a.msg.id, lic,
		                                 cases[i].now, cases[i].lease,
		                                 cases[i].every, &b),
		             KP_OK, "%s", cases[i].name);
		cr_assert(b.found, "%s", cases[i].name);
		cr_assert_eq(b.written, cases[i].written, "%s", cases[i].name);
		cr_assert_eq(b.version, 2, "%s", cases[i].name);
		cr_assert_str_eq(b.a.msg.id, a.msg.id, "%s", cases[i].name);
		cr_assert_eq(b.a.seen_t, T0, "%s: the row as it was read",
		             cases[i].name);
		act_beat_clear(&b);
		/* another license's activation is not found */
		cr_assert_eq(act_store_heartbeat(
		                 db, a.msg.id, kpt_pg_uuid(other), cases[i].now,
		                 cases[i].lease, cases[i].every, &b),
		             KP_OK);
		cr_assert_not(b.found, "%s", cases[i].name);
		act_beat_clear(&b);
		act_row_clear(&a);
	}
	kp_db_close(db);
}

Test(activation_store, lock_counts_and_proofs)
{
	char lic[37], prod[37], missing[37], act[37];
	char *ids[] = {lic, missing, "not-a-uuid"};
	act_counter_set set;
	int64_t deacts = -1;
	kp_db *db = open_db();

	kpt_pg_uuid(lic);
	kpt_pg_uuid(prod);
	kpt_pg_uuid(missing);
	kpt_pg_uuid(act);
	cr_assert_eq(act_store_lock(db, lic, &deacts), KP_OK);
	cr_assert_eq(deacts, 0);
	cr_assert_eq(act_store_count(db, lic, ACT_COUNT_ACTIVATION), KP_OK);
	cr_assert_eq(act_store_count(db, lic, ACT_COUNT_ACTIVATION), KP_OK);
	cr_assert_eq(act_store_count(db, lic, ACT_COUNT_DEACTIVATION), KP_OK);
	cr_assert_eq(act_store_proof(db, "00ff", act, lic, T0), KP_OK);
	cr_assert_eq(kp_db_commit(db), KP_OK);
	/* a proof is accepted once */
	cr_assert_eq(act_store_proof(db, "00ff", act, lic, T0), KP_ECONFLICT);
	cr_assert_eq(act_store_lock(db, lic, &deacts), KP_OK);
	cr_assert_eq(deacts, 1);
	kp_db_rollback(db);
	cr_assert_eq(act_store_counters(db, ids, 3, &set), KP_OK);
	cr_assert_eq(set.n, 1, "only licenses with counters");
	cr_assert_str_eq(set.ptrs[0]->license_id, lic);
	cr_assert_eq(set.ptrs[0]->total_activations, 2);
	cr_assert_eq(set.ptrs[0]->total_deactivations, 1);
	act_counter_set_clear(&set);
	act_counter_set_clear(&set);
	kp_db_close(db);
}

Test(activation_store, list_pages_and_totals)
{
	static const struct {
		int limit;
		int64_t offset;
		size_t n;
		const char *first;
	} cases[] = {
	    {2, 0, 2, "fp-0"},
	    {2, 2, 1, "fp-2"},
	    {50, 0, 3, "fp-0"},
	    {2, 4, 0, NULL}, /* past the end: the total still comes */
	};
	char lic[37], prod[37];
	kp_db *db = open_db();

	kpt_pg_uuid(lic);
	kpt_pg_uuid(prod);
	for (int i = 0; i < 3; i++) {
		char fp[8];
		act_row r;

		snprintf(fp, sizeof(fp), "fp-%d", i);
		insert(db, lic, prod, fp, 0, T0 + i, 0, &r);
		act_row_clear(&r);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		act_set s;

		cr_assert_eq(act_store_list(db, lic, cases[i].limit,
		                            cases[i].offset, &s),
		             KP_OK);
		cr_assert_eq(s.total, 3, "case %zu", i);
		cr_assert_eq(s.n, cases[i].n, "case %zu", i);
		if (cases[i].first != NULL)
			cr_assert_str_eq(s.msgs[0]->fingerprint, cases[i].first,
			                 "case %zu", i);
		act_set_clear(&s);
	}
	kp_db_close(db);
}

Test(activation_store, offline_find)
{
	char lic[37], prod[37];
	act_offline_row o;
	act_row a;
	kp_db *db = open_db();

	kpt_pg_uuid(lic);
	insert(db, lic, kpt_pg_uuid(prod), "fp-off", 1, T0, 0, &a);
	cr_assert_eq(act_store_offline_find(db, a.msg.id, lic, "abcd", &o),
	             KP_OK);
	cr_assert(o.found);
	cr_assert_str_eq(o.client_public_key, "cpk");
	cr_assert_str_eq(o.fingerprint, "fp-off");
	cr_assert_not(o.deactivated);
	cr_assert_not(o.proof_used);
	act_offline_row_clear(&o);
	cr_assert_eq(act_store_proof(db, "abcd", a.msg.id, lic, T0), KP_OK);
	cr_assert_eq(act_store_offline_find(db, a.msg.id, lic, "abcd", &o),
	             KP_OK);
	cr_assert(o.proof_used);
	act_offline_row_clear(&o);
	cr_assert_eq(act_store_offline_find(db, a.msg.id, prod, "abcd", &o),
	             KP_OK);
	cr_assert_not(o.found, "another license's activation");
	act_offline_row_clear(&o);
	act_row_clear(&a);
	kp_db_close(db);
}

Test(activation_store, sweep_and_seen_marks)
{
	char lic[37], prod[37];
	int64_t lease = 60, released = -1;
	act_seen_mark mark;
	act_id_set lapsed;
	act_row a, b;
	act_beat beat;
	kp_db *db = open_db();

	kpt_pg_uuid(lic);
	kpt_pg_uuid(prod);
	insert(db, lic, prod, "fp-a", 0, T0, lease, &a);
	insert(db, lic, prod, "fp-b", 0, T0, lease, &b);
	/* b was seen later (batched mark); a mark never moves back */
	snprintf(mark.id, sizeof(mark.id), "%s", b.msg.id);
	mark.at = T0 + 50;
	cr_assert_eq(act_store_seen_write(db, &mark, 1), KP_OK);
	mark.at = T0 + 10;
	cr_assert_eq(act_store_seen_write(db, &mark, 1), KP_OK);
	cr_assert_eq(
	    act_store_heartbeat(db, b.msg.id, lic, T0 + 90, 0, 60, &beat),
	    KP_OK);
	cr_assert_eq(beat.a.seen_t, T0 + 50);
	act_beat_clear(&beat);
	/* at T0 + 100 a's lease (60 s from T0) has ended, b's not */
	cr_assert_eq(act_store_lapsed(db, T0 + 100, 100, &lapsed), KP_OK);
	{
		int seen = 0;

		for (size_t i = 0; i < lapsed.n; i++)
			seen += strcmp(lapsed.ids[i], lic) == 0;
		cr_assert_eq(seen, 1);
	}
	act_id_set_clear(&lapsed);
	cr_assert_eq(act_store_sweep(db, T0 + 100, (char *[]){lic}, &lease, 1,
	                             &released),
	             KP_OK);
	cr_assert_eq(released, 1);
	cr_assert_eq(
	    act_store_heartbeat(db, a.msg.id, lic, T0 + 100, 0, 60, &beat),
	    KP_OK);
	cr_assert_eq(beat.a.deact_t, T0 + lease, "released as of its end");
	act_beat_clear(&beat);
	act_row_clear(&a);
	act_row_clear(&b);
	kp_db_close(db);
}

Test(activation_store, failures_are_statuses)
{
	static const struct {
		const char *name;
		const char *license_id;
		int want;
	} cases[] = {
	    {"not a UUID", "not-a-uuid", KP_EINVAL},
	    {"empty", "", KP_EINVAL},
	};
	kp_db *db = open_db();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		act_live live;
		act_set s;

		cr_assert_eq(
		    act_store_live(db, cases[i].license_id, "fp", &live),
		    cases[i].want, "%s", cases[i].name);
		cr_assert_eq(act_store_list(db, cases[i].license_id, 10, 0, &s),
		             cases[i].want, "%s", cases[i].name);
		cr_assert_eq(s.n, 0, "%s: empty after a failure",
		             cases[i].name);
		act_set_clear(&s);
		cr_assert_eq(act_store_lock(db, cases[i].license_id, NULL),
		             cases[i].want, "%s", cases[i].name);
		/* no transaction was left open: a statement works */
		cr_assert_eq(act_store_lease_sync(
		                 db, "00000000-0000-4000-8000-000000000000", 0),
		             KP_OK, "%s", cases[i].name);
	}
	kp_db_close(db);
}
