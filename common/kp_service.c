/* kp_service: start-up, migrations, RPC serving and orderly stop. */
#include "kp_service.h"

#include "kp_bus.h"

#include "kp_call.h"
#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_services.h"
#include "kp_stats.h"
#include "kp_metrics.h"
#include "rpc/kp_contract.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KP_SERVICE_N KP_SERVICES_COUNT

struct kp_service {
	const kp_service_def *def;
	const char *db_url;
	void *app;
	kp_rpc_client *clients[KP_SERVICE_N];
};

typedef struct kp_service_worker {
	kp_service *svc;
	kp_db *db;
} kp_service_worker;

void
kp_service_set_app(kp_service *svc, void *app)
{
	svc->app = app;
}

void *
kp_service_app(const kp_service *svc)
{
	return svc->app;
}

kp_service *
kp_service_of(const kp_rpc_ctx *ctx)
{
	return ((kp_service_worker *)ctx->worker)->svc;
}

kp_db *
kp_service_db(const kp_rpc_ctx *ctx)
{
	return ((kp_service_worker *)ctx->worker)->db;
}

kp_rpc_client *
kp_service_client(const kp_service *svc, const char *name)
{
	int i = kp_services_find(name);

	return i < 0 ? NULL : svc->clients[i];
}

int
kp_service_invoke(kp_rpc_ctx *ctx, const kp_rpc_desc *m,
                  const ProtobufCMessage *req, ProtobufCMessage **reply)
{
	return kp_service_invoke_as(ctx, m, ctx->caller, req, reply);
}

int
kp_service_invoke_as(kp_rpc_ctx *ctx, const kp_rpc_desc *m,
                     const Keyport__Caller *caller, const ProtobufCMessage *req,
                     ProtobufCMessage **reply)
{
	kp_service *svc = kp_service_of(ctx);
	kp_rpc_client *c = m->service >= 0 && m->service < KP_SERVICE_N
	                       ? svc->clients[m->service]
	                       : NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;

	if (c == NULL)
		return kp_rpc_fail(ctx, KP_EINTERNAL, NULL, "no client for %s",
		                   m->name);
	call.caller = caller;
	if (caller == ctx->caller)
		call.caller_proof = ctx->caller_proof; /* forwarded */
	call.request_id = ctx->request_id;
	if (kp_call_invoke(c, m, &call, req, reply, &res) != KP_OK) {
		ctx->retry_after = res.retry_after;
		return kp_rpc_fail(ctx, res.status, res.code, "%s",
		                   res.message);
	}
	return KP_OK;
}

static int
kp_service_worker_init(void *app, void **out)
{
	kp_service *svc = app;
	kp_service_worker *w = calloc(1, sizeof(*w));
	int rv;

	*out = NULL;
	if (w == NULL)
		return KP_EINTERNAL;
	w->svc = svc;
	/* lazy: a worker whose database is down still answers (503) */
	if ((rv = kp_db_open(&w->db, svc->db_url, svc->def->name, 1)) !=
	    KP_OK) {
		free(w);
		return rv;
	}
	*out = w;
	return KP_OK;
}

static void
kp_service_worker_fini(void *arg)
{
	kp_service_worker *w = arg;

	if (w == NULL)
		return;
	kp_db_close(w->db);
	free(w);
}

static int
kp_service_health(void *arg)
{
	kp_service_worker *w = arg;

	return w ? kp_db_ping(w->db) : KP_EUNAVAIL;
}

/* The address this process listens on: KEYPORT_LISTEN_URL, or the first
 * address of KEYPORT_<NAME>_URL. Written into buf. */
static void
kp_service_listen_url(const char *name, char *buf, size_t len)
{
	const char *v = kp_cfg_str(KP_CFG_LISTEN_URL);

	if (v == NULL)
		v = kp_config_service_url(name);
	snprintf(buf, len, "%s", v ? v : "");
	buf[strcspn(buf, ",")] = '\0';
}

/* The container probes: `--probe ready` (and `--check`) sends the health
 * RPC to the process's own listener and exits 0 when its database is
 * reachable; `--probe live` exits 0 when a worker answers at all, the
 * database up or down (a database outage must not restart the pod). The
 * live probe waits longer than libpq's connect_timeout (5 s, kp_db.c), so
 * a worker stuck reconnecting still counts as an answer. */
static int
kp_service_probe(const char *name, const char *url, int live)
{
	kp_rpc_client *c = NULL;
	kp_rpc_result res;
	int rv = 1;

	if (kp_rpc_client_open(&c, name, url) != KP_OK)
		goto out;
	/* give the dialer its moment before judging */
	for (int i = 0; i < 20 && kp_rpc_client_pipes(c) == 0; i++)
		usleep(50000);
	if (kp_rpc_health(c, live ? 8000 : 2000, &res) == KP_OK ||
	    (live && strcmp(res.code, "DATABASE_UNAVAILABLE") == 0))
		rv = 0;
	else
		kp_log_error("%s: %s", name, res.message);
out:
	kp_rpc_client_close(c);
	return rv;
}

/* Connects and migrates, waiting up to KEYPORT_DB_WAIT_SECONDS for the
 * database to come up (it may start together with us). */
static int
kp_service_prepare(kp_service *svc)
{
	kp_db *db = NULL;
	time_t deadline = time(NULL) + kp_cfg_int(KP_CFG_DB_WAIT_SECONDS);
	int rv;

	for (;;) {
		rv = kp_db_open(&db, svc->db_url, svc->def->name, 1);
		if (rv == KP_OK)
			rv = kp_migrate(db, svc->def->name,
					svc->def->migrations,
					svc->def->nmigrations);
		if (rv != KP_EUNAVAIL || time(NULL) >= deadline)
			break;
		kp_db_close(db);
		db = NULL;
		kp_log_info("waiting for the database");
		sleep(1);
	}
	if (rv == KP_OK && svc->def->init != NULL)
		rv = svc->def->init(svc, db);
	kp_db_close(db);
	return rv;
}

void
kp_service_crash_point(const char *point)
{
	const char *path = kp_cfg_str(KP_CFG_TEST_CRASH_FILE);
	char want[128];
	size_t n;
	FILE *f;

	if (path == NULL || path[0] == '\0' ||
	    kp_cfg_int(KP_CFG_TEST_CLOCK) != 1 || (f = fopen(path, "r")) == NULL)
		return;
	n = fread(want, 1, sizeof(want) - 1, f);
	fclose(f);
	want[n] = '\0';
	want[strcspn(want, "\r\n")] = '\0';
	/* unlink decides between replicas: one of them crashes */
	if (strcmp(want, point) != 0 || unlink(path) != 0)
		return;
	kp_log_warn("test crash point %s: SIGKILL", point);
	raise(SIGKILL);
}

/* "<service>.SetClockOffset", served only with KEYPORT_TEST_CLOCK=1. */
static int
kp_service_set_clock(kp_rpc_ctx *ctx)
{
	Keyport__ClockOffset *req = NULL;
	Keyport__ClockOffset reply = KEYPORT__CLOCK_OFFSET__INIT;
	int rv;

	rv = kp_rpc_unpack(ctx, &keyport__clock_offset__descriptor,
			   (ProtobufCMessage **)&req);
	if (rv != KP_OK)
		goto out;
	kp_clock_set_offset(req->seconds);
	kp_log_info("test clock offset set to %lld s",
		    (long long)req->seconds);
	reply.seconds = req->seconds;
	rv = kp_rpc_reply(ctx, &reply.base);
out:
	if (req != NULL)
		protobuf_c_message_free_unpacked(&req->base, NULL);
	return rv;
}

/* The dispatch table of a service: one entry per method of its contract
 * (test-only ones only with KEYPORT_TEST_CLOCK=1, together with
 * "<service>.SetClockOffset", named by clock_method). *out is malloc'd. A
 * contract method without a handler, or a handler table of another size,
 * is an error at start-up. */
static int
kp_service_methods(const kp_service_def *def, const char *clock_method,
                   kp_rpc_method **out, size_t *n)
{
	int id = kp_services_find(def->name);
	int test = kp_cfg_int(KP_CFG_TEST_CLOCK) == 1;
	const kp_rpc_desc *contract;
	size_t count, used = 0;
	kp_rpc_method *m;

	*out = NULL;
	*n = 0;
	if (id < 0) {
		kp_log_error("%s is not in kp_services.def", def->name);
		return KP_EINVAL;
	}
	contract = kp_contract[id];
	count = kp_contract_n[id];
	if (def->nhandlers != count) {
		kp_log_error("%s has %zu handlers for the %zu methods of its "
		             "contract",
		             def->name, def->nhandlers, count);
		return KP_EINVAL;
	}
	if ((m = calloc(count + 1, sizeof(*m))) == NULL)
		return KP_EINTERNAL;
	for (size_t i = 0; i < count; i++) {
		if (def->handlers[i] == NULL) {
			kp_log_error("%s has no handler", contract[i].name);
			free(m);
			return KP_EINVAL;
		}
		if (contract[i].test_only && !test)
			continue;
		m[used].name = contract[i].name;
		m[used].fn = def->handlers[i];
		m[used].desc = &contract[i];
		used++;
	}
	if (test) {
		m[used].name = clock_method;
		m[used].fn = kp_service_set_clock;
		used++;
		kp_log_warn("KEYPORT_TEST_CLOCK=1: the clock can be moved "
		            "over RPC; never use this in production");
	}
	*out = m;
	*n = used;
	return KP_OK;
}

int
kp_service_main(const kp_service_def *def, int argc, char **argv)
{
	kp_rpc_method *methods = NULL;
	size_t nmethods = 0;
	char clock_method[96];
	kp_service svc;
	kp_rpc_server *server = NULL;
	kp_rpc_server_config cfg;
	char listen_url[256];
	int64_t workers;
	sigset_t sigs;
	int sig, rv, status = 1, inited = 0;

	/* Before any library starts a thread: signals go to sigwait only. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&svc, 0, sizeof(svc));
	svc.def = def;
	kp_log_init(def->name);
	if (kp_config_load(kp_config_reader(def->name)) != KP_OK ||
	    kp_bus_init(def->name) != KP_OK)
		return 2;
	kp_service_listen_url(def->name, listen_url, sizeof(listen_url));
	if (argc == 2 && strcmp(argv[1], "--check") == 0)
		return kp_service_probe(def->name, listen_url, 0);
	if (argc == 3 && strcmp(argv[1], "--probe") == 0 &&
	    (strcmp(argv[2], "live") == 0 || strcmp(argv[2], "ready") == 0))
		return kp_service_probe(def->name, listen_url,
		                        strcmp(argv[2], "live") == 0);
	if (argc > 1) {
		fprintf(stderr,
		        "usage: keyport-%s [--check | --probe live|ready]\n"
		        "Configuration comes from KEYPORT_* environment "
		        "variables; see README.md.\n",
		        def->name);
		return strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	snprintf(clock_method, sizeof(clock_method), "%s.SetClockOffset",
	         def->name);
	if (kp_service_methods(def, clock_method, &methods, &nmethods) != KP_OK)
		goto out;
	if (kp_stats_serve(def->name) != 0)
		goto out;
	svc.db_url = kp_cfg_str(KP_CFG_DATABASE_URL);
	if (svc.db_url == NULL) {
		kp_log_error("KEYPORT_DATABASE_URL is not set");
		goto out;
	}
	workers = kp_cfg_int(KP_CFG_WORKERS);
	for (int i = 0; i < KP_SERVICE_N; i++) {
		const char *peer = kp_services_name(i);

		if (strcmp(peer, def->name) == 0)
			continue;
		if (kp_rpc_client_open(&svc.clients[i], peer,
		                       kp_config_service_url(peer)) != KP_OK)
			goto out;
	}
	if ((rv = kp_service_prepare(&svc)) != KP_OK) {
		kp_log_error("start-up failed: %s", kp_strerror(rv));
		goto out;
	}
	inited = 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.service = def->name;
	cfg.listen_url = listen_url;
	cfg.workers = (int)workers;
	cfg.methods = methods;
	cfg.nmethods = nmethods;
	cfg.app = &svc;
	cfg.worker_init = kp_service_worker_init;
	cfg.worker_fini = kp_service_worker_fini;
	cfg.health = kp_service_health;
	if (kp_rpc_server_start(&server, &cfg) != KP_OK)
		goto out;
	kp_log_info("%s ready", def->name);
	sigwait(&sigs, &sig);
	kp_log_info("%s stopping on signal %d", def->name, sig);
	status = 0;
out:
	kp_rpc_server_stop(server);
	kp_metrics_stop();
	if (inited && def->fini != NULL)
		def->fini(&svc);
	for (int i = 0; i < KP_SERVICE_N; i++)
		kp_rpc_client_close(svc.clients[i]);
	free(methods);
	return status;
}

const char *
kp_service_db_sentence(int status)
{
	switch (status) {
	case KP_EINVAL:
		return "a value is out of range or malformed";
	case KP_ECONFLICT:
		return "a conflicting record exists";
	case KP_ENOTFOUND:
		return "not found";
	case KP_EUNAVAIL:
		return "the database is unavailable, try again";
	default:
		return "the database could not complete the request";
	}
}

int
kp_service_db_fail(kp_rpc_ctx *ctx, int rv, const char *code,
		   const char *what)
{
	const char *state = kp_db_sqlstate(kp_service_db(ctx));

	if (rv == KP_OK)
		rv = KP_EINTERNAL;
	if (rv == KP_EUNAVAIL || rv == KP_EINTERNAL)
		kp_log_error("%s: database failure (%s, SQLSTATE %s)", what,
			     kp_strerror(rv), state[0] ? state : "none");
	else
		kp_log_warn("%s: database refused (%s, SQLSTATE %s)", what,
			    kp_strerror(rv), state[0] ? state : "none");
	return kp_rpc_fail(ctx, rv, code, "%s", kp_service_db_sentence(rv));
}

int
kp_service_page(kp_rpc_ctx *ctx, int32_t page, int32_t limit, int64_t *offset)
{
	*offset = 0;
	if (page < 1 || limit < 1 || limit > 100)
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "page: must be >= 1; limit: 1..100");
	*offset = (int64_t)(page - 1) * limit;
	return KP_OK;
}
