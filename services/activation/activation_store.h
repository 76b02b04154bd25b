/* activation_store: every statement of the activation schema, and the only
 * code of the service that talks to PostgreSQL (activation_store.c: the
 * activations table, the heartbeat's statements among them;
 * activation_store_counters.c: license_counters and
 * deactivation_proofs; activation_store_lease.c: the lease sweep and the
 * batched lastSeenAt writes).
 *
 * Each statement is a static const char beside an enum of its columns and
 * the typed row struct its reader fills; callers never see a PGresult or a
 * column number. Times come out of SQL as epoch seconds and are formatted
 * here (kp_time_format); times go in as text parameters made by
 * kp_time_param, read by to_timestamp($n).
 *
 * Every function returns a kp_status: KP_OK, or the translation of the
 * SQLSTATE (kp_db.h), which the caller answers with kp_service_db_fail. No
 * function answers an RPC. A row struct that borrows strings from the store's
 * result says so; free it with its *_clear (NULL-safe, idempotent; also
 * after a failure, which leaves the struct empty).
 */
#ifndef ACTIVATION_STORE_H
#define ACTIVATION_STORE_H

#include "kp_db.h"
#include "proto/activation.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/* act_store_dec writes v as a decimal text parameter into buf (at least
 * KP_NOW_PARAM_LEN bytes) and returns buf: counts, limits and durations
 * (times go through kp_time_param). For the store's files. */
char *act_store_dec(int64_t v, char *buf);

/* ---- activations (activation_store.c) ----------------------------------- */

/* One activations row as a message. The strings of msg borrow from the
 * store's result (res_) and the time buffers here; the *_t fields are the
 * epoch seconds (deact_t 0 while live). */
typedef struct act_row {
	Keyport__Activation__Activation msg;
	char created[32], seen[32], deact[32];
	int64_t created_t, seen_t, deact_t;
	void *res_;
} act_row;

/* act_row_clear frees what r borrows from. */
void act_row_clear(act_row *r);

/* A page of activations (act_store_list): rows[i].msg, also as msgs[i]
 * for a reply, and the total of the license's activations. */
typedef struct act_set {
	size_t n;
	act_row *rows;
	Keyport__Activation__Activation **msgs;
	int64_t total;
	void *res_;
} act_set;

void act_set_clear(act_set *s);

/* The live activations of a license (act_store_live): how many, and the one
 * of the fingerprint asked about (same_id "" when none). */
typedef struct act_live {
	int64_t count;
	char same_id[40];
} act_live;

/* What a new activation is made of (act_store_insert); strings borrowed. */
typedef struct act_new {
	const char *license_id, *product_id;
	const Keyport__Activation__ActivateRequest *req; /* the machine */
	int64_t now, lease_seconds;
} act_new;

/* A heartbeat's read (act_store_heartbeat): found is 0 for an unknown
 * activation (the rest is then empty); written tells that the statement
 * recorded now as last_seen_at; version is the license's version
 * (activation_lcache.h). */
typedef struct act_beat {
	act_row a;
	int found, written;
	int64_t version;
} act_beat;

void act_beat_clear(act_beat *b);

/* act_store_lease_sync gives the license's live activations its current
 * lease (lease_seconds, 0 for none): the sweep reads it from the rows. */
int act_store_lease_sync(kp_db *db, const char *license_id,
                         int64_t lease_seconds);

/* What act_store_release releases, as of the end of the lease
 * (lease_seconds): ACT_RELEASE_LAPSED, id is a license's: its online
 * activations not seen for longer than the lease before now;
 * ACT_RELEASE_ONE, id is a live activation's (at the latest now). */
typedef enum act_release_scope {
	ACT_RELEASE_LAPSED,
	ACT_RELEASE_ONE
} act_release_scope;

int act_store_release(kp_db *db, act_release_scope what, const char *id,
                      int64_t now, int64_t lease_seconds);

/* act_store_live counts the license's live activations and finds the one of
 * fingerprint. */
int act_store_live(kp_db *db, const char *license_id, const char *fingerprint,
                   act_live *out);

/* act_store_touch records now as last_seen_at of activation id (an offline
 * one also takes client_public_key) and reads it back into *out. */
int act_store_touch(kp_db *db, const char *id, int64_t now, int offline,
                    const char *client_public_key, act_row *out);

/* act_store_insert makes an activation and reads it into *out. */
int act_store_insert(kp_db *db, const act_new *n, act_row *out);

/* act_store_heartbeat reads activation id of license_id with the license's
 * version; for a license with a lease (lease_seconds > 0) the same
 * statement records now as last_seen_at when the activation is live, inside
 * its lease and last seen more than every seconds ago (or its lease
 * changed). Without a lease nothing is written (activation_seen.h). */
int act_store_heartbeat(kp_db *db, const char *id, const char *license_id,
                        int64_t now, int64_t lease_seconds, int64_t every,
                        act_beat *out);

/* act_store_find_live locks live activation id of license_id (FOR UPDATE,
 * inside the caller's transaction); *found is 0 when there is none. */
int act_store_find_live(kp_db *db, const char *id, const char *license_id,
                        int *found);

/* act_store_deactivate sets deactivated_at of activation id to now and
 * reads it into *out. */
int act_store_deactivate(kp_db *db, const char *id, int64_t now, act_row *out);

/* act_store_list reads a page (limit rows from offset, by creation) of the
 * license's activations and their total. */
int act_store_list(kp_db *db, const char *license_id, int limit, int64_t offset,
                   act_set *out);

/* ---- license_counters, deactivation_proofs (activation_store_counters.c) */

/* act_store_lock opens a transaction and locks the license's counters row
 * (made on first use): every change of a license's seats holds it until
 * kp_db_commit / kp_db_rollback. *deactivations (may be NULL) receives
 * total_deactivations. On failure no transaction is left open. */
int act_store_lock(kp_db *db, const char *license_id, int64_t *deactivations);

/* What act_store_count adds one to: the license's total activations or
 * deactivations, or its version (heartbeat caches read it again). */
typedef enum act_count {
	ACT_COUNT_ACTIVATION,
	ACT_COUNT_DEACTIVATION,
	ACT_COUNT_VERSION
} act_count;

/* act_store_count adds one to what of the license's counters row. */
int act_store_count(kp_db *db, const char *license_id, act_count what);

/* act_store_licenses_changed moves the version of n licenses on, making
 * their counters rows; ids that are not UUIDs are skipped (never
 * licenses). */
int act_store_licenses_changed(kp_db *db, char *const *ids, size_t n);

/* act_store_proof records deactivation proof proof_hex of activation_id:
 * KP_ECONFLICT when it was recorded before. */
int act_store_proof(kp_db *db, const char *proof_hex, const char *activation_id,
                    const char *license_id, int64_t now);

/* An activation as the offline deactivation checks it: found 0 when there
 * is none of this license; client_public_key "" when it was activated
 * online. Strings borrow from res_. */
typedef struct act_offline_row {
	int found, deactivated, proof_used;
	const char *client_public_key, *fingerprint;
	void *res_;
} act_offline_row;

void act_offline_row_clear(act_offline_row *r);

/* act_store_offline_find reads what an offline deactivation of activation
 * id of license_id checks, and whether proof_hex was used already. */
int act_store_offline_find(kp_db *db, const char *id, const char *license_id,
                           const char *proof_hex, act_offline_row *out);

/* The totals of licenses (act_store_counters): items[i], also as ptrs[i]
 * for a reply; license_id strings borrow from res_. */
typedef struct act_counter_set {
	size_t n;
	Keyport__Activation__LicenseCounters *items, **ptrs;
	void *res_;
} act_counter_set;

void act_counter_set_clear(act_counter_set *s);

/* act_store_counters reads the totals of the n licenses that have any
 * (ids that are not UUIDs have none). */
int act_store_counters(kp_db *db, char *const *ids, size_t n,
                       act_counter_set *out);

/* ---- the lease sweep, batched lastSeenAt (activation_store_lease.c) ----- */

/* Licenses with a lapsed lease (act_store_lapsed): ids[i] borrow from
 * res_. */
typedef struct act_id_set {
	size_t n;
	char **ids;
	void *res_;
} act_id_set;

void act_id_set_clear(act_id_set *s);

/* act_store_lapsed reads up to limit licenses with at least one online
 * activation whose own lease ended before now. */
int act_store_lapsed(kp_db *db, int64_t now, int limit, act_id_set *out);

/* act_store_sweep gives the live activations of the n licenses ids their
 * current leases[i] (rows locked elsewhere are skipped, SKIP LOCKED), then
 * releases the ones whose lease, so confirmed, ended before now, as of its
 * end. *released receives how many. */
int act_store_sweep(kp_db *db, int64_t now, char *const *ids,
                    const int64_t *leases, size_t n, int64_t *released);

/* One heartbeat's lastSeenAt, for act_store_seen_write. */
typedef struct act_seen_mark {
	char id[37];
	int64_t at;
} act_seen_mark;

/* act_store_seen_write moves last_seen_at of the n live activations
 * forward (never back) to their marks (the latest of an id wins). */
int act_store_seen_write(kp_db *db, const act_seen_mark *marks, size_t n);

#endif
