/* Replicas found by name: three processes each of license and activation on
 * loopback addresses (127.0.0.2-4), which the gateway and the services
 * find through the resolver (Debian's libnss-wrapper serves a hosts file
 * the test rewrites), under a steady stream of heartbeats, license reads
 * and activations through the gateway. One replica of each is killed with
 * SIGKILL, a fourth (127.0.0.5) is added to the name, and one (127.0.0.2)
 * is removed from it. Every idempotent request is answered, no activation
 * is counted twice, the new replicas receive traffic and the removed ones
 * none. The error rate of the activations (not idempotent: never resent,
 * 503 when their replica dies) around the kill is printed. */
#include "kp_err.h"
#include "kp_rpc.h"
#include "kpt.h"
#include "proto/license.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the stack: license and activation dialled by name ---------------- */

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	static char lic[128], act[128], lport[16], aport[16];
	kpt_opts o = {0};
	int ports[2];

	(void)set;
	kpt_free_ports(ports, 2);
	snprintf(lic, sizeof(lic),
	         "KEYPORT_LICENSE_URL=tls+tcp://kp-license:%d", ports[0]);
	snprintf(act, sizeof(act),
	         "KEYPORT_ACTIVATION_URL=tls+tcp://kp-activation:%d", ports[1]);
	snprintf(lport, sizeof(lport), "%d", ports[0]);
	snprintf(aport, sizeof(aport), "%d", ports[1]);
	setenv("KPT_LICENSE_PORT", lport, 1);
	setenv("KPT_ACTIVATION_PORT", aport, 1);
	o.env[0] = lic;
	o.env[1] = act;
	o.env[2] = "KEYPORT_RESOLVE_INTERVAL_MS=200";
	/* the stack's own license and activation bind what the names give
	 * first: 127.0.0.2 */
	kpt_names_env(&o, "127.0.0.2 kp-license\n127.0.0.2 kp-activation\n");
	kpt_stack_start(&o);
}

/* ---- helpers ------------------------------------------------------------ */

/* The address of replica host (2..5) of service, e.g.
 * tls+tcp://127.0.0.3:41234. */
static const char *
at(const char *service, int host)
{
	static char buf[8][96];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, sizeof(buf[0]), "tls+tcp://127.0.0.%d:%s", host,
	         getenv(strcmp(service, "license") == 0 ? "KPT_LICENSE_PORT"
	                                                 : "KPT_ACTIVATION_PORT"));
	return b;
}

/* The hosts file: both names resolve to each host of the list. */
static void
names(const int *hosts, int n)
{
	char buf[1024] = "";

	for (int i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		         "127.0.0.%d kp-license\n127.0.0.%d kp-activation\n",
		         hosts[i], hosts[i]);
	kpt_names_set(buf);
}

/* Waits (60 s at most) until process `name`'s log has a line with both
 * parts; fails the test otherwise. */
static void
wait_log(const char *name, const char *what, const char *url)
{
	char needle[256];

	snprintf(needle, sizeof(needle), "%s %s", what, url);
	for (int i = 0; i < 3000 && kpt_log_count(name, needle) == 0; i++)
		usleep(20000);
	cr_assert_gt(kpt_log_count(name, needle), 0,
	             "%s never logged '%s'", name, needle);
}

/* Starts the replicas of license and activation on host and waits until
 * both serve. */
static void
start_replicas(int n, int host)
{
	static const char *const svc[] = {"license", "activation"};

	for (int s = 0; s < 2; s++) {
		char name[32];
		long long served = -1;

		snprintf(name, sizeof(name), "%s#%d", svc[s], n);
		kpt_replica_start(name, at(svc[s], host));
		/* a generous timeout: each try is a new TLS handshake,
		 * slow under ASan on a busy machine */
		for (int i = 0; i < 40 && served < 0; i++)
			if ((served = kpt_served(svc[s], at(svc[s], host),
			                         3000)) < 0)
				usleep(250000);
		cr_assert_geq(served, 0, "%s on 127.0.0.%d does not serve",
		              name, host);
	}
}

static void
lic_rpc(const char *method, const ProtobufCMessage *req,
        const ProtobufCMessageDescriptor *desc, ProtobufCMessage **reply)
{
	kp_rpc_client *c = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;

	call.method = method;
	call.timeout_ms = 10000;
	cr_assert_eq(kp_rpc_client_open(&c, "license", at("license", 2)),
	             KP_OK);
	for (int j = 0; j < 100 && kp_rpc_client_pipes(c) == 0; j++)
		usleep(20000);
	cr_assert_eq(kp_rpc_invoke(c, &call, req, desc, reply, &res), KP_OK,
	             "%s: %s %s", method, res.code, res.message);
	kp_rpc_client_close(c);
}

/* ---- the stream of requests --------------------------------------------- */

enum { NTHREADS = 4, NHB = 8, MAXREC = 40000 };
enum { KIND_HEARTBEAT, KIND_LICENSE, KIND_ACTIVATE };
enum { PHASE_STEADY, PHASE_KILL, PHASE_ADDED, PHASE_REMOVED, NPHASES };
static const char *const phase_name[] = {"steady", "after the kill",
                                         "after the add",
                                         "after the removal"};

typedef struct rec {
	double t0, t1; /* sent, answered */
	int kind, phase;
	long status;
	char id[40]; /* activation id of a 201 */
	char code[40];
	char body[160]; /* of a failure */
} rec;

static struct {
	char product[40], license[40], key[128];
	char hb[NHB][40];
	const char *token;
	atomic_int stop, phase;
	atomic_long done;
	rec *recs[NTHREADS];
	int nrec[NTHREADS];
} g;

/* The body of an activation of fingerprint fp (malloc'd). */
static char *
activation_body(const char *fp)
{
	return kpt_jsonf("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "key", g.key,
	                 "productId", g.product, "fingerprint", fp, "hostname",
	                 "host-1", "os", "linux", "osVersion", "6.1", "nonce",
	                 "n-1");
}

static void *
stream(void *arg)
{
	int t = (int)(intptr_t)arg;
	unsigned seq = 0;

	while (!atomic_load(&g.stop) && g.nrec[t] < MAXREC) {
		rec *r = &g.recs[t][g.nrec[t]];
		char path[160], fp[64], *body = NULL;
		const char *tok = NULL;
		kpt_resp resp;

		memset(r, 0, sizeof(*r));
		r->kind = (int)(seq++ % 3);
		r->phase = atomic_load(&g.phase);
		r->t0 = kpt_now();
		if (r->kind == KIND_HEARTBEAT) {
			snprintf(path, sizeof(path),
			         "/v1/activations/%s/heartbeat",
			         g.hb[(seq / 3 + (unsigned)t) % NHB]);
			body = kpt_jsonf("{s:s}", "key", g.key);
		} else if (r->kind == KIND_LICENSE) {
			snprintf(path, sizeof(path), "/v1/licenses/%s",
			         g.license);
			tok = g.token;
		} else {
			snprintf(path, sizeof(path), "/v1/activations");
			snprintf(fp, sizeof(fp), "stream-%d-%u", t, seq);
			body = activation_body(fp);
		}
		kpt_http(body ? "POST" : "GET", path, tok, body, NULL, &resp);
		r->status = resp.status;
		r->t1 = kpt_now();
		/* the phase the answer came in: a call in flight at the kill
		 * belongs to the kill */
		r->phase = atomic_load(&g.phase);
		snprintf(r->code, sizeof(r->code), "%s", kpt_error_code(&resp));
		if (resp.status != 200 && resp.status != 201)
			snprintf(r->body, sizeof(r->body), "%s",
			         resp.body ? resp.body : "");
		if (r->kind == KIND_ACTIVATE && resp.status == 201 &&
		    resp.json != NULL)
			snprintf(r->id, sizeof(r->id), "%s",
			         json_string_value(json_object_get(
			             resp.json, "activationId")));
		kpt_resp_free(&resp);
		free(body);
		g.nrec[t]++;
		atomic_fetch_add(&g.done, 1);
	}
	return NULL;
}

/* Lets the stream run for n more answers. */
static void
run_for(long n)
{
	long until = atomic_load(&g.done) + n;

	while (atomic_load(&g.done) < until)
		usleep(5000);
}

/* ---- the test ----------------------------------------------------------- */

Test(replicas, found_by_name_survive_kill_add_and_removal, .timeout = 300)
{
	Keyport__License__CreateProductRequest preq =
	    KEYPORT__LICENSE__CREATE_PRODUCT_REQUEST__INIT;
	Keyport__License__ProductReply *prep = NULL;
	Keyport__License__CreateLicenseRequest lreq =
	    KEYPORT__LICENSE__CREATE_LICENSE_REQUEST__INIT;
	Keyport__License__LicenseReply *lrep = NULL;
	pthread_t th[NTHREADS];
	long long served5[2], served2[2];
	double t_kill;
	char pname[64];

	/* three replicas of each behind the names */
	start_replicas(2, 3);
	start_replicas(3, 4);
	names((const int[]){2, 3, 4}, 3);
	for (int h = 3; h <= 4; h++) {
		static const char *const callers[] = {
		    "activation", "activation#2", "activation#3"};

		wait_log("gateway", "license: dialling replica",
		         at("license", h));
		wait_log("gateway", "activation: dialling replica",
		         at("activation", h));
		for (int i = 0; i < 3; i++)
			wait_log(callers[i], "license: dialling replica",
			         at("license", h));
	}

	/* a product and a license with room for every activation */
	snprintf(pname, sizeof(pname), "replicas-%d", getpid());
	preq.name = pname;
	lic_rpc("license.CreateProduct", &preq.base,
	        &keyport__license__product_reply__descriptor,
	        (ProtobufCMessage **)&prep);
	snprintf(g.product, sizeof(g.product), "%s", prep->product->id);
	protobuf_c_message_free_unpacked(&prep->base, NULL);
	lreq.product_id = g.product;
	lreq.type = "node-locked";
	lreq.allowed_activations = 1000000;
	lreq.expiration_strategy = "immediate";
	lic_rpc("license.CreateLicense", &lreq.base,
	        &keyport__license__license_reply__descriptor,
	        (ProtobufCMessage **)&lrep);
	snprintf(g.license, sizeof(g.license), "%s", lrep->license->id);
	snprintf(g.key, sizeof(g.key), "%s", lrep->license->key);
	protobuf_c_message_free_unpacked(&lrep->base, NULL);
	g.token = kpt_admin_token();
	/* one use before the stream: the gateway's first sight of a new
	 * signing key, fetched by one request while concurrent ones with
	 * the same token answer 401 (gateway/gw_auth.c, gw_auth_fetch) */
	{
		char path[80];
		kpt_resp r;

		snprintf(path, sizeof(path), "/v1/licenses/%s", g.license);
		cr_assert_eq(kpt_http("GET", path, g.token, NULL, NULL, &r), 0);
		cr_assert_eq(r.status, 200, "%s", r.body);
		kpt_resp_free(&r);
	}
	for (int i = 0; i < NHB; i++) {
		char fp[32], *body;
		kpt_resp r;

		snprintf(fp, sizeof(fp), "heartbeat-%d", i);
		body = activation_body(fp);
		cr_assert_eq(kpt_http("POST", "/v1/activations", NULL, body,
		                      NULL, &r),
		             0);
		cr_assert_eq(r.status, 201, "%s", r.body);
		snprintf(g.hb[i], sizeof(g.hb[i]), "%s",
		         json_string_value(
		             json_object_get(r.json, "activationId")));
		kpt_resp_free(&r);
		free(body);
	}

	for (int t = 0; t < NTHREADS; t++) {
		g.recs[t] = calloc(MAXREC, sizeof(rec));
		cr_assert_not_null(g.recs[t]);
		pthread_create(&th[t], NULL, stream, (void *)(intptr_t)t);
	}
	run_for(300);

	/* SIGKILL: one replica of each dies mid-stream; the name still
	 * gives its address (a pod not yet out of the endpoints) */
	atomic_store(&g.phase, PHASE_KILL);
	t_kill = kpt_now();
	kpt_kill("activation#2", SIGKILL);
	kpt_kill("license#2", SIGKILL);
	run_for(600);

	/* a fourth replica joins the name */
	start_replicas(4, 5);
	served5[0] = kpt_served("activation", at("activation", 5), 5000);
	names((const int[]){2, 3, 4, 5}, 4);
	wait_log("gateway", "activation: dialling replica",
	         at("activation", 5));
	wait_log("gateway", "license: dialling replica", at("license", 5));
	atomic_store(&g.phase, PHASE_ADDED);
	run_for(600);
	for (int i = 0; i < 1500; i++) {
		served5[1] = kpt_served("activation", at("activation", 5), 5000);
		if (served5[1] > served5[0] + 1)
			break;
		usleep(20000);
	}
	{
		long long l0 = kpt_served("license", at("license", 5), 5000), l1;

		run_for(300);
		l1 = kpt_served("license", at("license", 5), 5000);
		cr_expect_gt(l1, l0 + 1,
		             "the new license replica got no request "
		             "(%lld, then %lld)",
		             l0, l1);
	}
	cr_expect_gt(served5[1], served5[0] + 1,
	             "the new activation replica got no request (%lld, then "
	             "%lld)",
	             served5[0], served5[1]);

	/* 127.0.0.2 (alive) and 127.0.0.3 (dead) leave the name */
	atomic_store(&g.phase, PHASE_REMOVED);
	names((const int[]){4, 5}, 2);
	wait_log("gateway", "activation: replica",
	         at("activation", 2));
	wait_log("gateway", "license: replica", at("license", 2));
	/* the license replicas call activation too (a license read asks
	 * its counters) */
	{
		static const char *const lics[] = {"license", "license#3",
		                                   "license#4"};

		for (int i = 0; i < 3; i++)
			wait_log(lics[i], "activation: replica",
			         at("activation", 2));
	}
	served2[0] = kpt_served("activation", at("activation", 2), 5000);
	run_for(600);
	served2[1] = kpt_served("activation", at("activation", 2), 5000);
	atomic_store(&g.stop, 1);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	/* its own two Health calls only: the gateway sends it nothing */
	cr_expect_eq(served2[1], served2[0] + 1,
	             "the removed activation replica still got requests "
	             "(%lld, then %lld)",
	             served2[0], served2[1]);

	/* the tally */
	long sent[3] = {0}, failed[3] = {0};
	long act_phase[NPHASES] = {0}, act_fail_phase[NPHASES] = {0};
	long win = 0, win_fail = 0, created = 0;
	for (int t = 0; t < NTHREADS; t++)
		for (int i = 0; i < g.nrec[t]; i++) {
			const rec *r = &g.recs[t][i];
			int ok = r->kind == KIND_ACTIVATE ? r->status == 201
			                                   : r->status == 200;

			sent[r->kind]++;
			failed[r->kind] += !ok;
			if (!ok)
				fprintf(stderr,
				        "replicas: a %s failed: %ld %s (%s) %s\n",
				        r->kind == KIND_ACTIVATE ? "activation"
				        : r->kind == KIND_HEARTBEAT
				            ? "heartbeat"
				            : "license read",
				        r->status, r->code, phase_name[r->phase],
				        r->body);
			if (r->kind != KIND_ACTIVATE)
				continue;
			created += r->status == 201;
			act_phase[r->phase]++;
			act_fail_phase[r->phase] += !ok;
			if (r->t1 >= t_kill && r->t0 < t_kill + 1.0) {
				win++;
				win_fail += !ok;
			}
			cr_expect(ok || r->status == 503,
			          "an activation answered %ld %s", r->status,
			          r->code);
		}
	fprintf(stderr,
	        "replicas: sent %ld heartbeats (%ld failed), %ld license reads "
	        "(%ld failed), %ld activations (%ld failed)\n",
	        sent[KIND_HEARTBEAT], failed[KIND_HEARTBEAT],
	        sent[KIND_LICENSE], failed[KIND_LICENSE], sent[KIND_ACTIVATE],
	        failed[KIND_ACTIVATE]);
	for (int p = 0; p < NPHASES; p++)
		fprintf(stderr,
		        "replicas: activations %s: %ld sent, %ld failed "
		        "(%.2f%%)\n",
		        phase_name[p], act_phase[p], act_fail_phase[p],
		        act_phase[p] ? 100.0 * (double)act_fail_phase[p] /
		                           (double)act_phase[p]
		                     : 0.0);
	fprintf(stderr,
	        "replicas: activations in flight at the SIGKILL or sent in "
	        "the second after it: %ld, failed %ld (error rate %.2f%%)\n",
	        win, win_fail,
	        win ? 100.0 * (double)win_fail / (double)win : 0.0);
	cr_expect_eq(failed[KIND_HEARTBEAT], 0, "heartbeats went unanswered");
	cr_expect_eq(failed[KIND_LICENSE], 0, "license reads went unanswered");
	cr_expect_gt(sent[KIND_ACTIVATE], 100);
	/* a live replica leaving the name finishes what it holds */
	cr_expect_eq(act_fail_phase[PHASE_REMOVED], 0,
	             "activations failed while a live replica left the name");

	/* no activation counted twice: one row per fingerprint, each 201 one
	 * row, the counter equal to the rows (an activation whose replica
	 * died after its commit is a row without a 201: at most the failed) */
	PGconn *db = PQconnectdb(kpt_database_url());
	PGresult *res;
	const char *lid[1] = {g.license};
	long rows, fps, counter;

	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	res = PQexecParams(db,
	                   "SELECT count(*), count(DISTINCT fingerprint), "
	                   "(SELECT total_activations FROM "
	                   "activation.license_counters WHERE license_id = "
	                   "$1::uuid) FROM activation.activations WHERE "
	                   "license_id = $1::uuid AND fingerprint LIKE "
	                   "'stream-%'",
	                   1, NULL, lid, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
	             PQerrorMessage(db));
	rows = atol(PQgetvalue(res, 0, 0));
	fps = atol(PQgetvalue(res, 0, 1));
	counter = atol(PQgetvalue(res, 0, 2));
	PQclear(res);
	fprintf(stderr,
	        "replicas: %ld activations answered 201, %ld rows, counter "
	        "%ld (with the %d of the heartbeats)\n",
	        created, rows, counter, NHB);
	cr_expect_eq(rows, fps, "a fingerprint was activated twice");
	cr_expect_geq(rows, created);
	cr_expect_leq(rows, created + failed[KIND_ACTIVATE]);
	cr_expect_eq(counter, rows + NHB,
	             "the license's counter does not match its activations");
	for (int t = 0; t < NTHREADS; t++)
		for (int i = 0; i < g.nrec[t]; i++) {
			const char *id[1] = {g.recs[t][i].id};

			if (g.recs[t][i].id[0] == '\0')
				continue;
			res = PQexecParams(db,
			                   "SELECT count(*) FROM "
			                   "activation.activations WHERE id = "
			                   "$1::uuid",
			                   1, NULL, id, NULL, NULL, 0);
			cr_expect_str_eq(PQgetvalue(res, 0, 0), "1",
			                 "activation %s", id[0]);
			PQclear(res);
		}
	PQfinish(db);
	for (int t = 0; t < NTHREADS; t++)
		free(g.recs[t]);
}
