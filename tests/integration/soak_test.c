/* it-soak: faults under load, with the accounting of docs/reliability.md.
 *
 * Worker threads activate new machines (each a fingerprint of its own, on
 * licenses with room) and heartbeat the machines they activated, through
 * the gateway, while a fault thread kills processes with SIGKILL (the
 * gateway, auth, org, license, both activation replicas) and restarts
 * PostgreSQL, one fault after another, waiting for /readyz between them.
 * A client retries an activation with the same fingerprint until it is
 * answered 2xx, as the C client does: the same machine again is 200 with
 * the existing activation, so a reply lost after its commit costs nothing.
 *
 * Afterwards: every acknowledged activation is in the database, no
 * fingerprint is there twice, the counters agree with the rows, every
 * machine's heartbeat is answered, and no request hung (each has a 30 s
 * limit; the test's timeout bounds the whole). The figures go to the log
 * ("soak:" lines). SOAK_SECONDS (default 0: one round of every fault, the
 * short form `make test` runs) keeps the faults going longer: `make soak`.
 *
 * commit_then_crash_counts_once places the kill by a test hook (the
 * KEYPORT_TEST_CRASH_FILE setting): activation, then license, kill
 * themselves right after the commit of an activation (or of the start of
 * a delayed expiry), before the reply.
 */
#include "kpt.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The stack, with a crash file for the test hook of
 * commit_then_crash_counts_once (kp_service_crash_point). */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	kpt_opts o = {.activation_replicas = 2};
	char path[64];

	(void)set;
	snprintf(path, sizeof(path), "/tmp/kp-soak-crash-%d", (int)getpid());
	setenv("KEYPORT_TEST_CRASH_FILE", path, 1);
	kpt_stack_start(&o);
}

#define SOAK_LICENSES 8
#define SOAK_WORKERS  4
#define SOAK_MAX      65536 /* activations per run at most */

typedef struct soak_machine {
	int license;
	char fp[48];
	char id[40];
	int acked; /* answered 2xx: the id is known */
} soak_machine;

static struct {
	char product[40];
	char lic_id[SOAK_LICENSES][40];
	char lic_key[SOAK_LICENSES][40];
	soak_machine m[SOAK_MAX];
	atomic_int n;         /* machines started */
	atomic_int stop;      /* the workers stop */
	atomic_long requests; /* HTTP requests sent by the workers */
	atomic_long errors;   /* answers that were neither 2xx nor expected */
	atomic_long no_answer;
	atomic_long retries; /* activation attempts after the first */
} soak;

static char *
soak_field(const kpt_resp *r, const char *k)
{
	const char *v = json_string_value(json_object_get(r->json, k));

	cr_assert_not_null(v, "%s missing in %s", k, r->body);
	return strdup(v);
}

static void
soak_setup(void)
{
	const char *admin = kpt_admin_token();
	kpt_resp r;
	char *body, *s;

	cr_assert_eq(kpt_http("POST", "/v1/products", admin,
	                      "{\"name\":\"Soak\"}", NULL, &r),
	             0);
	cr_assert_eq(r.status, 201, "%s", r.body);
	s = soak_field(&r, "id");
	snprintf(soak.product, sizeof(soak.product), "%s", s);
	free(s);
	kpt_resp_free(&r);
	for (int i = 0; i < SOAK_LICENSES; i++) {
		body = kpt_jsonf("{s:s, s:s, s:i, s:i, s:i}", "productId",
		                 soak.product, "type", "node-locked",
		                 "allowedActivations", -1,
		                 "allowedDeactivations", -1, "validity", 0);
		cr_assert_eq(
		    kpt_http("POST", "/v1/licenses", admin, body, NULL, &r), 0);
		free(body);
		cr_assert_eq(r.status, 201, "%s", r.body);
		s = soak_field(&r, "id");
		snprintf(soak.lic_id[i], sizeof(soak.lic_id[i]), "%s", s);
		free(s);
		s = soak_field(&r, "key");
		snprintf(soak.lic_key[i], sizeof(soak.lic_key[i]), "%s", s);
		free(s);
		kpt_resp_free(&r);
	}
}

/* Activates m until a 2xx answer (or the stop flag and 60 s of trying). */
static void
soak_activate(soak_machine *m)
{
	char *body = kpt_jsonf("{s:s, s:s, s:s, s:s, s:s}", "key",
	                       soak.lic_key[m->license], "productId",
	                       soak.product, "fingerprint", m->fp, "hostname",
	                       "soak-host", "os", "linux");
	double until = kpt_now() + 60;

	for (int attempt = 0; kpt_now() < until; attempt++) {
		kpt_resp r;

		if (attempt > 0) {
			atomic_fetch_add(&soak.retries, 1);
			usleep(100000);
		}
		atomic_fetch_add(&soak.requests, 1);
		if (kpt_http("POST", "/v1/activations", NULL, body, NULL, &r) !=
		    0) {
			atomic_fetch_add(&soak.no_answer, 1);
			kpt_resp_free(&r);
			continue;
		}
		if (r.status == 200 || r.status == 201) {
			const char *id = json_string_value(
			    json_object_get(r.json, "activationId"));

			snprintf(m->id, sizeof(m->id), "%s", id ? id : "");
			m->acked = id != NULL;
			kpt_resp_free(&r);
			break;
		}
		if (r.status != 503 && r.status != 502)
			atomic_fetch_add(&soak.errors, 1);
		kpt_resp_free(&r);
	}
	free(body);
}

static long
soak_heartbeat(const soak_machine *m)
{
	char path[96],
	    *body = kpt_jsonf("{s:s}", "key", soak.lic_key[m->license]);
	kpt_resp r;
	long st = 0;

	snprintf(path, sizeof(path), "/v1/activations/%s/heartbeat", m->id);
	if (kpt_http("POST", path, NULL, body, NULL, &r) == 0)
		st = r.status;
	kpt_resp_free(&r);
	free(body);
	return st;
}

static void *
soak_worker(void *arg)
{
	int w = (int)(intptr_t)arg, mine = 0;

	while (!atomic_load(&soak.stop)) {
		int i = atomic_fetch_add(&soak.n, 1);
		soak_machine *m;

		if (i >= SOAK_MAX) {
			atomic_fetch_sub(&soak.n, 1);
			break;
		}
		m = &soak.m[i];
		m->license = i % SOAK_LICENSES;
		snprintf(m->fp, sizeof(m->fp), "soak-%d-%d-%d", w, mine++, i);
		soak_activate(m);
		/* a heartbeat of a machine this worker made before: the
		 * idempotent path under the same faults */
		if (i >= SOAK_WORKERS && soak.m[i - SOAK_WORKERS].acked) {
			long st;

			atomic_fetch_add(&soak.requests, 1);
			st = soak_heartbeat(&soak.m[i - SOAK_WORKERS]);
			if (st == 0)
				atomic_fetch_add(&soak.no_answer, 1);
			else if (st != 200 && st != 503 && st != 502)
				atomic_fetch_add(&soak.errors, 1);
		}
	}
	return NULL;
}

static const char *const soak_faults[] = {
    "activation", "license", "gateway", "activation#2", "auth", "org", "pg",
};

/* One fault: SIGKILL and restart (or a PostgreSQL restart), then /readyz. */
static void
soak_fault(const char *what)
{
	if (strcmp(what, "pg") == 0) {
		kpt_pg_restart();
	} else {
		kpt_kill(what, SIGKILL);
		usleep(300000); /* calls meet the dead process meanwhile */
		kpt_restart(what);
	}
	cr_assert_eq(kpt_wait_ready(60), 0, "the stack did not recover from %s",
	             what);
	usleep(700000); /* load on the recovered stack before the next */
}

Test(soak, faults_lose_no_acknowledged_activation, .timeout = 900)
{
	const char *secs = getenv("SOAK_SECONDS");
	double until = kpt_now() + (secs ? atof(secs) : 0);
	pthread_t th[SOAK_WORKERS];
	int faults = 0, lost = 0, dup = 0, acked = 0, hb_bad = 0;
	const char *admin = kpt_admin_token();

	soak_setup();
	for (int i = 0; i < SOAK_WORKERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, soak_worker,
		                            (void *)(intptr_t)i),
		             0);
	usleep(500000);
	do {
		for (size_t f = 0;
		     f < sizeof(soak_faults) / sizeof(*soak_faults); f++) {
			soak_fault(soak_faults[f]);
			faults++;
		}
	} while (kpt_now() < until && atomic_load(&soak.n) < SOAK_MAX - 64);
	atomic_store(&soak.stop, 1);
	for (int i = 0; i < SOAK_WORKERS; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(kpt_wait_ready(60), 0);

	/* every machine: acknowledged, in the database once, answered */
	for (int l = 0; l < SOAK_LICENSES; l++) {
		char path[160];
		kpt_resp r;
		json_t *items;
		int want = 0;

		/* up to SOAK_MAX / SOAK_LICENSES per license: every page */
		items = json_array();
		for (int page = 1;; page++) {
			json_t *got;

			snprintf(
			    path, sizeof(path),
			    "/v1/licenses/%s/activations?limit=100&page=%d",
			    soak.lic_id[l], page);
			cr_assert_eq(
			    kpt_http("GET", path, admin, NULL, NULL, &r), 0);
			cr_assert_eq(r.status, 200, "%s", r.body);
			got = json_object_get(r.json, "items");
			json_array_extend(items, got);
			if (json_array_size(got) < 100) {
				kpt_resp_free(&r);
				break;
			}
			kpt_resp_free(&r);
		}
		for (int i = 0; i < atomic_load(&soak.n); i++) {
			soak_machine *m = &soak.m[i];
			int seen = 0;

			if (m->license != l)
				continue;
			if (m->acked) {
				acked++;
				want++;
			}
			for (size_t k = 0; k < json_array_size(items); k++) {
				const char *fp = json_string_value(
				    json_object_get(json_array_get(items, k),
				                    "fingerprint"));

				if (fp != NULL && strcmp(fp, m->fp) == 0)
					seen++;
			}
			if (m->acked && seen == 0)
				lost++;
			if (seen > 1)
				dup++;
		}
		/* the license's counters agree with its rows */
		snprintf(path, sizeof(path), "/v1/licenses/%s", soak.lic_id[l]);
		cr_assert_eq(kpt_http("GET", path, admin, NULL, NULL, &r), 0);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_expect_eq(json_integer_value(
		                 json_object_get(r.json, "totalActivations")),
		             (json_int_t)json_array_size(items), "%s", r.body);
		cr_expect_eq(json_integer_value(
		                 json_object_get(r.json, "activeActivations")),
		             (json_int_t)json_array_size(items), "%s", r.body);
		cr_expect_geq((int)json_array_size(items), want);
		kpt_resp_free(&r);
		json_decref(items);
	}
	for (int i = 0; i < atomic_load(&soak.n); i++)
		if (soak.m[i].acked && soak_heartbeat(&soak.m[i]) != 200)
			hb_bad++;
	fprintf(stderr,
	        "soak: %d faults injected, %ld requests sent, %d activations "
	        "acknowledged of %d started, %ld retries, %ld unanswered, "
	        "%ld unexpected answers, lost %d, duplicated %d, heartbeats "
	        "refused afterwards %d\n",
	        faults, atomic_load(&soak.requests), acked,
	        atomic_load(&soak.n), atomic_load(&soak.retries),
	        atomic_load(&soak.no_answer), atomic_load(&soak.errors), lost,
	        dup, hb_bad);
	cr_assert_eq(lost, 0, "acknowledged activations lost");
	cr_assert_eq(dup, 0, "activations counted twice");
	cr_assert_eq(hb_bad, 0, "heartbeats refused after the faults");
	cr_assert_eq(acked, atomic_load(&soak.n),
	             "an activation was never answered 2xx within 60 s");
	cr_assert_eq(atomic_load(&soak.errors), 0,
	             "answers other than 2xx, 502 or 503 under faults");
	cr_assert_gt(faults, 0);
}

/* ---- a kill placed between a commit and its reply ------------------- */

/* A license of the soak product: delayed expiry (validity 30 days) when
 * delayed, else perpetual; its id and key. */
static void
crash_license(int delayed, char id[40], char key[40])
{
	char *body = kpt_jsonf("{s:s, s:s, s:i, s:i, s:i, s:s}", "productId",
	                       soak.product, "type", "node-locked",
	                       "allowedActivations", 5, "allowedDeactivations",
	                       5, "validity", delayed ? 30 * 86400 : 0,
	                       "expirationStrategy",
	                       delayed ? "delayed" : "immediate");
	kpt_resp r;

	cr_assert_eq(kpt_http("POST", "/v1/licenses", kpt_admin_token(), body,
	                      NULL, &r),
	             0);
	free(body);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(id, 40, "%s",
	         json_string_value(json_object_get(r.json, "id")));
	snprintf(key, 40, "%s",
	         json_string_value(json_object_get(r.json, "key")));
	kpt_resp_free(&r);
}

/* POST /v1/activations of fingerprint fp on key; the status, 0 for no
 * answer. */
static long
crash_activate(const char *key, const char *fp)
{
	char *body = kpt_jsonf("{s:s, s:s, s:s, s:s, s:s}", "key", key,
	                       "productId", soak.product, "fingerprint", fp,
	                       "hostname", "crash-host", "os", "linux");
	kpt_resp r;
	long st = 0;

	if (kpt_http("POST", "/v1/activations", NULL, body, NULL, &r) == 0)
		st = r.status;
	cr_assert(st == 0 || st >= 400 || json_object_get(r.json,
	                                                  "activationId"),
	          "%s", r.body);
	kpt_resp_free(&r);
	free(body);
	return st;
}

/* The license's rows with fingerprint fp, and its counters, which must
 * agree with its rows; *expires tells whether expiresAt is set. */
static int
crash_rows(const char *id, const char *fp, int *expires)
{
	char path[160];
	kpt_resp r;
	json_t *items;
	int seen = 0;
	size_t n;

	snprintf(path, sizeof(path), "/v1/licenses/%s/activations?limit=100",
	         id);
	cr_assert_eq(kpt_http("GET", path, kpt_admin_token(), NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	items = json_object_get(r.json, "items");
	n = json_array_size(items);
	for (size_t k = 0; k < n; k++)
		seen += strcmp(json_string_value(json_object_get(
		                   json_array_get(items, k), "fingerprint")),
		               fp) == 0;
	kpt_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/licenses/%s", id);
	cr_assert_eq(kpt_http("GET", path, kpt_admin_token(), NULL, NULL, &r),
	             0);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "totalActivations")),
	    (json_int_t)n, "%s", r.body);
	cr_assert_eq(
	    json_integer_value(json_object_get(r.json, "activeActivations")),
	    (json_int_t)n, "%s", r.body);
	*expires = json_is_string(json_object_get(r.json, "expiresAt"));
	kpt_resp_free(&r);
	return seen;
}

/* Arms the crash point, activates fp on key (the client sees an error:
 * the process died after the commit, before the reply), restarts who
 * died, and checks: the row is there once, the counters agree, a retry
 * with the same fingerprint is 200 (not 201) and counts nothing twice;
 * when license died (a delayed license), the expiry has started after
 * the retry. Returns whether expiresAt was set before the retry. */
static int
crash_case(const char *point, const char *who, const char *id,
           const char *key, const char *fp)
{
	const char *file = getenv("KEYPORT_TEST_CRASH_FILE");
	int expires = 0, expires_after = 0;
	long st;
	FILE *f;

	cr_assert_not_null(file);
	cr_assert_not_null(f = fopen(file, "w"));
	fprintf(f, "%s\n", point);
	fclose(f);
	st = crash_activate(key, fp);
	cr_assert(access(file, F_OK) != 0, "%s was not reached", point);
	cr_assert_eq(st, 503, "%s: the client was answered %ld", point, st);
	kpt_kill(who, SIGKILL); /* gone already: waits until it is */
	kpt_restart(who);
	cr_assert_eq(kpt_wait_ready(60), 0);
	cr_assert_eq(crash_rows(id, fp, &expires), 1,
	             "%s: the committed activation is not there once", point);
	cr_assert_eq(crash_activate(key, fp), 200,
	             "%s: the retry is not the existing activation", point);
	cr_assert_eq(crash_rows(id, fp, &expires_after), 1,
	             "%s: the retry counted twice", point);
	cr_assert(expires_after || strcmp(who, "license") != 0,
	          "%s: the delayed expiry never started", point);
	return expires;
}

Test(soak, commit_then_crash_counts_once, .timeout = 300)
{
	char id[3][40], key[3][40];

	soak_setup();
	crash_license(0, id[0], key[0]);
	crash_license(1, id[1], key[1]);
	crash_license(1, id[2], key[2]);
	/* one activation replica: the one that holds the crash point */
	kpt_kill("activation#2", SIGKILL);
	cr_assert_eq(kpt_wait_ready(60), 0);
	/* activation dies after committing a new activation */
	(void)crash_case("activation.activate", "activation", id[0], key[0],
	                 "crash-activation");
	/* license dies after committing the start of a delayed expiry that
	 * a first activation asked for; activation had committed already */
	cr_assert(crash_case("license.start_expiry", "license", id[1], key[1],
	                     "crash-license"),
	          "the committed expiry is gone");
	/* and before it: the retry (the same machine) starts the expiry */
	cr_assert_not(crash_case("license.start_expiry.before", "license",
	                         id[2], key[2], "crash-license-before"),
	              "the expiry started without its commit");
	kpt_restart("activation#2");
	cr_assert_eq(kpt_wait_ready(60), 0);
}
