/* kp_rpc: NNG req/rep with contexts, the Envelope protocol, dispatch. */
#include "kp_rpc.h"

#include "kp_bus.h"

#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_stats.h"
#include "kp_resolve.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Translation of NNG errors into kp_status: the one boundary for NNG. */
static int
kp_rpc_nng_status(int nng_rv)
{
	switch (nng_rv) {
	case 0:
		return KP_OK;
	case NNG_ENOMEM:
		return KP_EINTERNAL;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
		return KP_EINVAL;
	default: /* timeouts, refused, closed, ... */
		return KP_EUNAVAIL;
	}
}

/* ---- server ---------------------------------------------------------- */

typedef struct kp_rpc_worker {
	kp_rpc_server *server;
	nng_thread *thread;
	nng_ctx ctx;
	nng_aio *aio;
	void *state;
} kp_rpc_worker;

struct kp_rpc_server {
	const kp_rpc_server_config *cfg;
	kp_rpc_method *sorted; /* cfg->methods by name, for bsearch */
	nng_socket sock;
	nng_listener listener;
	char health_method[64];
	int nworkers;
	kp_rpc_worker *workers;
	atomic_ulong served; /* requests received, for Health */
};

int
kp_rpc_reply(kp_rpc_ctx *ctx, const ProtobufCMessage *msg)
{
	size_t n = msg ? protobuf_c_message_get_packed_size(msg) : 0;

	free(ctx->reply);
	ctx->reply = NULL;
	ctx->reply_len = 0;
	if (n > 0) {
		if ((ctx->reply = malloc(n)) == NULL)
			return kp_rpc_fail(ctx, KP_EINTERNAL, NULL,
					   "out of memory");
		ctx->reply_len = protobuf_c_message_pack(msg, ctx->reply);
	}
	ctx->status = KP_OK;
	return KP_OK;
}

int
kp_rpc_fail(kp_rpc_ctx *ctx, int status, const char *code, const char *fmt,
	    ...)
{
	va_list ap;

	ctx->status = kp_err_valid(status) && status != KP_OK ? status
							      : KP_EINTERNAL;
	snprintf(ctx->code, sizeof(ctx->code), "%s",
		 code ? code : kp_err_code(ctx->status));
	va_start(ap, fmt);
	vsnprintf(ctx->message, sizeof(ctx->message), fmt, ap);
	va_end(ap);
	return ctx->status;
}

int
kp_rpc_unpack(kp_rpc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
	      ProtobufCMessage **out)
{
	*out = protobuf_c_message_unpack(desc, NULL, ctx->payload.len,
					 ctx->payload.data);
	if (*out == NULL)
		return kp_rpc_fail(ctx, KP_EINVAL, NULL,
				   "malformed %s request", ctx->method);
	return KP_OK;
}

static int
kp_rpc_health_handler(kp_rpc_ctx *ctx)
{
	kp_rpc_server *s = ctx->app;
	Keyport__HealthReply hr = KEYPORT__HEALTH_REPLY__INIT;
	int rv = KP_OK;

	hr.service = (char *)s->cfg->service;
	hr.version = KEYPORT_VERSION;
	hr.served = atomic_load(&s->served);
	if (s->cfg->health != NULL)
		rv = s->cfg->health(ctx->worker);
	hr.database = rv == KP_OK;
	if (rv != KP_OK)
		return kp_rpc_fail(ctx, KP_EUNAVAIL, "DATABASE_UNAVAILABLE",
				   "%s: database unreachable",
				   s->cfg->service);
	return kp_rpc_reply(ctx, &hr.base);
}

/* Whether ctx's peer may call its method, for its caller: the method's
 * callers must include the peer's rights (built-ins and test-only methods,
 * served only under the test flag, take any proven peer); a user caller
 * is believed from the gateway's rights, else only with the gateway's
 * proof. A refusal is logged with the peer. */
static int
kp_rpc_authorise(kp_rpc_ctx *ctx)
{
	unsigned rights = kp_bus_rights(ctx->peer);

	if (ctx->desc != NULL && !ctx->desc->test_only &&
	    (ctx->desc->callers & rights) == 0) {
		kp_log_warn("bus: %s may not call %s: refused", ctx->peer,
		            ctx->method);
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
		                   "%s may not call %s", ctx->peer,
		                   ctx->method);
	}
	if (!kp_bus_caller_empty(ctx->caller) &&
	    (rights & KP_RPC_FROM_GATEWAY) == 0 &&
	    kp_bus_caller_verify(ctx->caller, ctx->request_id,
	                         ctx->caller_proof.data,
	                         ctx->caller_proof.len) != KP_OK) {
		kp_log_warn("bus: %s sent %s a caller without the gateway's "
		            "proof: refused",
		            ctx->peer, ctx->method);
		return kp_rpc_fail(ctx, KP_EFORBIDDEN, NULL,
		                   "the caller of %s is not proven",
		                   ctx->method);
	}
	return KP_OK;
}

/* Serves one unpacked envelope into ctx (status, code, payload). */
static int
kp_rpc_method_cmp(const void *a, const void *b)
{
	return strcmp(((const kp_rpc_method *)a)->name,
	              ((const kp_rpc_method *)b)->name);
}

static void
kp_rpc_dispatch(kp_rpc_server *s, kp_rpc_worker *w, const Keyport__Envelope *env,
		kp_rpc_ctx *ctx)
{
	static const Keyport__Caller anonymous = KEYPORT__CALLER__INIT;
	const kp_rpc_server_config *cfg = s->cfg;
	kp_rpc_handler fn = NULL;
	void *app = cfg->app;
	int rv;

	ctx->method = env->method;
	ctx->request_id = env->request_id;
	ctx->caller = env->caller ? env->caller : &anonymous;
	ctx->caller_proof = env->caller_proof;
	ctx->payload = env->payload;
	ctx->worker = w->state;
	if (strcmp(env->method, s->health_method) == 0) {
		fn = kp_rpc_health_handler;
		app = s;
	}
	if (fn == NULL) {
		kp_rpc_method key = {.name = env->method};
		const kp_rpc_method *m =
		    bsearch(&key, s->sorted, cfg->nmethods, sizeof(key),
		            kp_rpc_method_cmp);

		if (m != NULL) {
			fn = m->fn;
			ctx->desc = m->desc;
		}
	}
	ctx->app = app;
	if (fn == NULL) {
		kp_rpc_fail(ctx, KP_ENOTFOUND, "UNKNOWN_METHOD",
			    "%s has no method %s", cfg->service, env->method);
		return;
	}
	if (kp_rpc_authorise(ctx) != KP_OK)
		return;
	rv = fn(ctx);
	if (rv != KP_OK && ctx->status == KP_OK) {
		/* the handler failed without saying how */
		kp_rpc_fail(ctx, rv, NULL, "%s", kp_strerror(rv));
	}
	if (ctx->status == KP_EINTERNAL)
		kp_log_error("%s failed: %s", env->method, ctx->message);
}

/* Builds the reply message for ctx. NULL on allocation failure. */
static nng_msg *
kp_rpc_pack_reply(const kp_rpc_ctx *ctx)
{
	Keyport__Reply r = KEYPORT__REPLY__INIT;
	nng_msg *m = NULL;
	size_t n;

	r.status = (Keyport__Status)ctx->status;
	r.code = ctx->status == KP_OK ? (char *)"" : (char *)ctx->code;
	r.message = ctx->status == KP_OK ? (char *)"" : (char *)ctx->message;
	r.retry_after = ctx->retry_after;
	if (ctx->status == KP_OK) {
		r.payload.data = ctx->reply;
		r.payload.len = ctx->reply_len;
	}
	n = keyport__reply__get_packed_size(&r);
	if (nng_msg_alloc(&m, n) != 0)
		return NULL;
	keyport__reply__pack(&r, nng_msg_body(m));
	return m;
}

static void
kp_rpc_worker_main(void *arg)
{
	kp_rpc_worker *w = arg;
	kp_rpc_server *s = w->server;
	int rv;

	if (s->cfg->worker_init != NULL &&
	    (rv = s->cfg->worker_init(s->cfg->app, &w->state)) != KP_OK) {
		kp_log_error("%s: worker start failed: %s", s->cfg->service,
			     kp_strerror(rv));
		w->state = NULL;
	}
	for (;;) {
		kp_rpc_ctx ctx;
		Keyport__Envelope *env = NULL;
		char peer[KP_BUS_ID_MAX];
		nng_msg *in, *out;

		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if ((rv = nng_aio_result(w->aio)) != 0) {
			if (rv == NNG_ECLOSED)
				break;
			continue;
		}
		in = nng_aio_get_msg(w->aio);
		memset(&ctx, 0, sizeof(ctx));
		if (kp_bus_open(in, peer) != KP_OK) {
			/* not a proven peer: no answer at all */
			kp_log_warn("%s: dropped a request that failed the bus "
			            "authentication",
			            s->cfg->service);
			nng_msg_free(in);
			continue;
		}
		ctx.peer = peer;
		atomic_fetch_add(&s->served, 1);
		env = keyport__envelope__unpack(NULL, nng_msg_len(in),
						nng_msg_body(in));
		nng_msg_free(in);
		if (env == NULL) {
			kp_rpc_fail(&ctx, KP_EINVAL, NULL,
				    "malformed envelope");
		} else {
			double t0 = kp_stats_now();

			kp_stats_rpc_in_flight(1);
			kp_log_set_request_id(env->request_id);
			if (w->state == NULL && s->cfg->worker_init != NULL)
				(void)s->cfg->worker_init(s->cfg->app,
							  &w->state);
			if (w->state == NULL && s->cfg->worker_init != NULL)
				kp_rpc_fail(&ctx, KP_EUNAVAIL, NULL,
					    "%s is starting", s->cfg->service);
			else
				kp_rpc_dispatch(s, w, env, &ctx);
			kp_stats_rpc_served(
			    ctx.desc || strcmp(ctx.code, "UNKNOWN_METHOD") != 0
			        ? env->method
			        : "unknown",
			    ctx.status, ctx.code, kp_stats_now() - t0);
			kp_stats_rpc_in_flight(-1);
		}
		out = kp_rpc_pack_reply(&ctx);
		free(ctx.reply);
		keyport__envelope__free_unpacked(env, NULL);
		kp_log_set_request_id(NULL);
		if (out == NULL)
			continue; /* the client times out; nothing else to do */
		nng_aio_set_msg(w->aio, out);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		/* Ownership of out moved to NNG only when the send worked. */
		if (nng_aio_result(w->aio) != 0)
			nng_msg_free(out);
	}
	if (s->cfg->worker_fini != NULL)
		s->cfg->worker_fini(w->state);
	w->state = NULL;
}

int
kp_rpc_server_start(kp_rpc_server **out, const kp_rpc_server_config *cfg)
{
	kp_rpc_server *s = NULL;
	int rv, nrv;

	*out = NULL;
	rv = KP_EINTERNAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	s->cfg = cfg;
	s->nworkers = cfg->workers > 0 ? cfg->workers : 1;
	snprintf(s->health_method, sizeof(s->health_method), "%s.Health",
		 cfg->service);
	if ((s->workers = calloc(s->nworkers, sizeof(*s->workers))) == NULL ||
	    (s->sorted = calloc(cfg->nmethods + 1, sizeof(*s->sorted))) == NULL)
		goto out;
	if (cfg->nmethods > 0)
		memcpy(s->sorted, cfg->methods,
		       cfg->nmethods * sizeof(*s->sorted));
	qsort(s->sorted, cfg->nmethods, sizeof(*s->sorted), kp_rpc_method_cmp);
	for (size_t i = 1; i < cfg->nmethods; i++)
		if (strcmp(s->sorted[i - 1].name, s->sorted[i].name) == 0) {
			kp_log_error("%s: method %s is served twice",
			             cfg->service, s->sorted[i].name);
			rv = KP_EINVAL;
			goto out;
		}
	if ((nrv = nng_rep0_open(&s->sock)) != 0) {
		rv = kp_rpc_nng_status(nrv);
		goto out;
	}
	if ((nrv = kp_bus_listener(s->sock, cfg->listen_url, &s->listener)) !=
	        0 ||
	    (nrv = nng_listener_start(s->listener, 0)) != 0) {
		kp_log_error("%s: cannot listen on %s: %s", cfg->service,
			     cfg->listen_url, nng_strerror(nrv));
		rv = KP_EUNAVAIL;
		goto out;
	}
	for (int i = 0; i < s->nworkers; i++) {
		kp_rpc_worker *w = &s->workers[i];
		w->server = s;
		if ((nrv = nng_ctx_open(&w->ctx, s->sock)) != 0 ||
		    (nrv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0) {
			rv = kp_rpc_nng_status(nrv);
			goto out;
		}
	}
	for (int i = 0; i < s->nworkers; i++) {
		kp_rpc_worker *w = &s->workers[i];
		if ((nrv = nng_thread_create(&w->thread, kp_rpc_worker_main,
					     w)) != 0) {
			rv = kp_rpc_nng_status(nrv);
			goto out;
		}
	}
	kp_log_info("%s: serving %s with %d workers", cfg->service,
		    cfg->listen_url, s->nworkers);
	*out = s;
	s = NULL;
	rv = KP_OK;
out:
	kp_rpc_server_stop(s);
	return rv;
}

void
kp_rpc_server_stop(kp_rpc_server *s)
{
	if (s == NULL)
		return;
	nng_close(s->sock); /* every pending receive ends with NNG_ECLOSED */
	for (int i = 0; s->workers != NULL && i < s->nworkers; i++) {
		kp_rpc_worker *w = &s->workers[i];
		if (w->thread != NULL)
			nng_thread_destroy(w->thread); /* joins */
		if (w->aio != NULL)
			nng_aio_free(w->aio);
	}
	free(s->workers);
	free(s->sorted);
	free(s);
}

/* ---- client ---------------------------------------------------------- */

/* One dialled address (a replica). */
typedef struct kp_rpc_dial {
	char url[KP_RESOLVE_URL_MAX];
	int entry;  /* the list entry it came from (kp_resolve_addr.entry) */
	bool named; /* that entry names a host */
	nng_dialer d;
} kp_rpc_dial;

/* One req0 socket and its dialers. New calls use the client's current
 * one; when an address leaves, a new socket dials the remaining ones and
 * the old one serves its calls in flight to their end before it closes,
 * so that a replica leaving the name loses no call. */
typedef struct kp_rpc_gen {
	nng_socket sock;
	atomic_int pipes;
	int refs; /* calls using it (under the client's mtx) */
	kp_rpc_dial *dials;
	size_t ndials, cap;
	struct kp_rpc_gen *next; /* in the client's retired list */
} kp_rpc_gen;

struct kp_rpc_client {
	char service[32];
	int timeout_ms;
	atomic_ulong calls;
	/* discovery: the configured list, the sockets (current and retired)
	 * and the thread resolving its names again (only when it has
	 * names) */
	char *urls;
	nng_mtx *mtx; /* guards cur, retired, the gens' refs and dials, stop */
	nng_cv *cv;
	kp_rpc_gen *cur;
	kp_rpc_gen *retired; /* out of use, calls still in flight */
	bool stop;
	int interval_ms;
	nng_thread *resolver;
};

static void
kp_rpc_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	kp_rpc_gen *g = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&g->pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&g->pipes, 1);
}

/* Closes a socket (and so its dialers) and frees it; NULL-safe. */
static void
kp_rpc_gen_close(kp_rpc_gen *g)
{
	if (g == NULL)
		return;
	if (nng_socket_id(g->sock) > 0)
		nng_close(g->sock);
	free(g->dials);
	free(g);
}

static int
kp_rpc_gen_open(kp_rpc_gen **out)
{
	kp_rpc_gen *g = calloc(1, sizeof(*g));
	int nrv;

	*out = NULL;
	if (g == NULL)
		return KP_EINTERNAL;
	if ((nrv = nng_req0_open(&g->sock)) != 0) {
		free(g);
		return kp_rpc_nng_status(nrv);
	}
	nng_pipe_notify(g->sock, NNG_PIPE_EV_ADD_POST, kp_rpc_pipe_event, g);
	nng_pipe_notify(g->sock, NNG_PIPE_EV_REM_POST, kp_rpc_pipe_event, g);
	/* Reconnect quickly: a restarted service is back within a second. */
	nng_socket_set_ms(g->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(g->sock, NNG_OPT_RECONNMAXT, 500);
	*out = g;
	return KP_OK;
}

/* Dials a on g. The server name is the service (its identity), whatever
 * address the replica has. Returns KP_OK or KP_EINVAL (logged). */
static int
kp_rpc_gen_dial(kp_rpc_client *c, kp_rpc_gen *g, const char *url, int entry,
                bool named)
{
	kp_rpc_dial *d;
	int nrv;

	if (g->ndials == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 4;
		kp_rpc_dial *nd = realloc(g->dials, ncap * sizeof(*nd));

		if (nd == NULL)
			return KP_EINTERNAL;
		g->dials = nd;
		g->cap = ncap;
	}
	d = &g->dials[g->ndials];
	memset(d, 0, sizeof(*d));
	snprintf(d->url, sizeof(d->url), "%s", url);
	d->entry = entry;
	d->named = named;
	if ((nrv = kp_bus_dialer(g->sock, d->url, c->service, &d->d)) != 0 ||
	    (nrv = nng_dialer_start(d->d, NNG_FLAG_NONBLOCK)) != 0) {
		kp_log_error("%s: bad address %s: %s", c->service, d->url,
		             nng_strerror(nrv));
		return KP_EINVAL;
	}
	if (named)
		kp_log_info("%s: dialling replica %s", c->service, d->url);
	g->ndials++;
	return KP_OK;
}

/* Whether address url of list entry `entry` stays: it is in the set, or
 * its entry's lookup failed for a while (keep what was dialled). */
static bool
kp_rpc_keeps(const kp_resolve_set *set, const char *url, int entry)
{
	if ((size_t)entry < set->entries && set->failed[entry])
		return true;
	for (size_t j = 0; j < set->n; j++)
		if (strcmp(set->addrs[j].url, url) == 0)
			return true;
	return false;
}

static bool
kp_rpc_gen_has(const kp_rpc_gen *g, const char *url)
{
	for (size_t i = 0; i < g->ndials; i++)
		if (strcmp(g->dials[i].url, url) == 0)
			return true;
	return false;
}

/* Takes g out of use: closed now when no call holds it, else by the last
 * call that does (kp_rpc_gen_release). Call with c->mtx held; returns the
 * socket to close after unlocking, or NULL. */
static kp_rpc_gen *
kp_rpc_gen_retire(kp_rpc_client *c, kp_rpc_gen *g)
{
	if (g->refs == 0)
		return g;
	g->next = c->retired;
	c->retired = g;
	return NULL;
}

/* Ends a call's hold on g; closes g when it was retired and this was its
 * last call. */
static void
kp_rpc_gen_release(kp_rpc_client *c, kp_rpc_gen *g)
{
	kp_rpc_gen *done = NULL;

	nng_mtx_lock(c->mtx);
	if (--g->refs == 0 && g != c->cur)
		for (kp_rpc_gen **p = &c->retired; *p != NULL; p = &(*p)->next)
			if (*p == g) {
				*p = g->next;
				done = g;
				break;
			}
	nng_mtx_unlock(c->mtx);
	kp_rpc_gen_close(done);
}

/* Makes the replicas of c match set. New addresses are dialled on the
 * current socket. When an address left, a new socket dials every address
 * that stays, takes the new calls once it is connected (2 s at most) and
 * the old socket finishes its calls in flight, the leaving replica's
 * included, before it closes. (A replica that dies is another matter: its
 * connection closes, and NNG resends the idempotent calls in flight on
 * it to another replica at once and fails the others with
 * NNG_ECONNRESET, which kp_rpc_invoke answers as UNAVAILABLE.) Called by
 * the resolver thread and by open, never at once. Returns KP_OK or the
 * status of the first dialer that could not be made (logged). */
static int
kp_rpc_client_sync(kp_rpc_client *c, const kp_resolve_set *set)
{
	kp_rpc_gen *cur = c->cur, *ng = NULL, *old = NULL;
	bool leaving = false;
	int rv = KP_OK, r;

	for (size_t i = 0; i < cur->ndials; i++)
		if (!kp_rpc_keeps(set, cur->dials[i].url, cur->dials[i].entry))
			leaving = true;
	if (!leaving) {
		for (size_t j = 0; j < set->n; j++) {
			const kp_resolve_addr *a = &set->addrs[j];

			if (kp_rpc_gen_has(cur, a->url))
				continue;
			nng_mtx_lock(c->mtx);
			r = kp_rpc_gen_dial(c, cur, a->url, a->entry,
			                    set->named[a->entry]);
			nng_mtx_unlock(c->mtx);
			if (r != KP_OK && rv == KP_OK)
				rv = r;
		}
		return rv;
	}
	if ((rv = kp_rpc_gen_open(&ng)) != KP_OK)
		return rv;
	for (size_t i = 0; i < cur->ndials; i++) {
		const kp_rpc_dial *d = &cur->dials[i];

		if (kp_rpc_keeps(set, d->url, d->entry) &&
		    (r = kp_rpc_gen_dial(c, ng, d->url, d->entry, false)) !=
		        KP_OK &&
		    rv == KP_OK)
			rv = r;
	}
	for (size_t j = 0; j < set->n; j++) {
		const kp_resolve_addr *a = &set->addrs[j];

		if (!kp_rpc_gen_has(ng, a->url) &&
		    (r = kp_rpc_gen_dial(c, ng, a->url, a->entry,
		                         set->named[a->entry])) != KP_OK &&
		    rv == KP_OK)
			rv = r;
	}
	/* the new socket takes over once connected, so that no call meets
	 * a socket without a pipe */
	for (int i = 0;
	     i < 200 && ng->ndials > 0 && atomic_load(&ng->pipes) == 0; i++)
		nng_msleep(10);
	nng_mtx_lock(c->mtx);
	c->cur = ng;
	/* said once no new call can reach them (cur is still ours here) */
	for (size_t i = 0; i < cur->ndials; i++)
		if (!kp_rpc_keeps(set, cur->dials[i].url, cur->dials[i].entry))
			kp_log_info("%s: replica %s is gone from the name: "
			            "dropped",
			            c->service, cur->dials[i].url);
	old = kp_rpc_gen_retire(c, cur);
	nng_mtx_unlock(c->mtx);
	kp_rpc_gen_close(old);
	return rv;
}

/* The resolver thread: every interval, the list's names again. The lookup
 * runs without the lock (it may block on DNS). */
static void
kp_rpc_resolver_main(void *arg)
{
	kp_rpc_client *c = arg;

	nng_mtx_lock(c->mtx);
	while (!c->stop) {
		nng_time until = nng_clock() + (nng_time)c->interval_ms;
		kp_resolve_set set;

		while (!c->stop && nng_clock() < until)
			(void)nng_cv_until(c->cv, until);
		if (c->stop)
			break;
		nng_mtx_unlock(c->mtx);
		if (kp_resolve_list(c->urls, &set) == KP_OK)
			(void)kp_rpc_client_sync(c, &set);
		kp_resolve_set_cleanup(&set);
		nng_mtx_lock(c->mtx);
	}
	nng_mtx_unlock(c->mtx);
}

int
kp_rpc_client_open(kp_rpc_client **out, const char *service,
		   const char *urls)
{
	kp_rpc_client *c = NULL;
	kp_resolve_set set = {0};
	int rv = KP_EINTERNAL, nrv;
	int64_t timeout;

	*out = NULL;
	if ((rv = kp_config_int("KEYPORT_RPC_TIMEOUT_MS", 5000, 10, 600000,
				&timeout)) != KP_OK)
		goto out;
	/* a process that is not one of Keyport's own names its identity */
	if (kp_bus_identity()[0] == '\0' &&
	    (rv = kp_bus_init(kp_cfg_str(KP_CFG_BUS_IDENTITY)
	                          ? kp_cfg_str(KP_CFG_BUS_IDENTITY)
	                          : "")) != KP_OK)
		goto out;
	rv = KP_EINTERNAL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->urls = strdup(urls ? urls : "")) == NULL)
		goto out;
	snprintf(c->service, sizeof(c->service), "%s", service);
	c->timeout_ms = (int)timeout;
	c->interval_ms = (int)kp_cfg_int(KP_CFG_RESOLVE_INTERVAL_MS);
	if (c->interval_ms <= 0)
		c->interval_ms = 5000;
	if ((nrv = nng_mtx_alloc(&c->mtx)) != 0 ||
	    (nrv = nng_cv_alloc(&c->cv, c->mtx)) != 0) {
		rv = kp_rpc_nng_status(nrv);
		goto out;
	}
	if ((rv = kp_rpc_gen_open(&c->cur)) != KP_OK ||
	    (rv = kp_resolve_list(c->urls, &set)) != KP_OK)
		goto out;
	if (set.entries == 0) {
		kp_log_error("%s: no address configured", service);
		rv = KP_EINVAL;
		goto out;
	}
	if ((rv = kp_rpc_client_sync(c, &set)) != KP_OK)
		goto out;
	if (c->cur->ndials == 0)
		kp_log_warn("%s: %s resolves to no address yet", service, urls);
	/* names are looked up again: replicas come and go */
	if (kp_resolve_has_names(&set) &&
	    (nrv = nng_thread_create(&c->resolver, kp_rpc_resolver_main, c)) !=
	        0) {
		rv = kp_rpc_nng_status(nrv);
		goto out;
	}
	kp_stats_rpc_client_add(c);
	*out = c;
	c = NULL;
out:
	kp_resolve_set_cleanup(&set);
	kp_rpc_client_close(c);
	return rv;
}

void
kp_rpc_client_close(kp_rpc_client *c)
{
	if (c == NULL)
		return;
	kp_stats_rpc_client_remove(c);
	if (c->resolver != NULL) {
		nng_mtx_lock(c->mtx);
		c->stop = true;
		nng_cv_wake(c->cv);
		nng_mtx_unlock(c->mtx);
		nng_thread_destroy(c->resolver); /* joins */
	}
	kp_rpc_gen_close(c->cur);
	while (c->retired != NULL) { /* none: no call may be running */
		kp_rpc_gen *g = c->retired;

		c->retired = g->next;
		kp_rpc_gen_close(g);
	}
	if (c->cv != NULL)
		nng_cv_free(c->cv);
	if (c->mtx != NULL)
		nng_mtx_free(c->mtx);
	free(c->urls);
	free(c);
}

const char *
kp_rpc_client_service(const kp_rpc_client *c)
{
	return c->service;
}

int
kp_rpc_client_pipes(kp_rpc_client *c)
{
	int n;

	nng_mtx_lock(c->mtx);
	n = atomic_load(&c->cur->pipes);
	nng_mtx_unlock(c->mtx);
	return n;
}

int
kp_rpc_client_replicas(kp_rpc_client *c)
{
	int n;

	nng_mtx_lock(c->mtx);
	n = (int)c->cur->ndials;
	nng_mtx_unlock(c->mtx);
	return n;
}

unsigned long
kp_rpc_client_calls(kp_rpc_client *c)
{
	return atomic_load(&c->calls);
}

static int
kp_rpc_result_set(kp_rpc_result *res, int status, const char *code,
		  const char *msg)
{
	res->status = status;
	snprintf(res->code, sizeof(res->code), "%s",
		 code && code[0] ? code : kp_err_code(status));
	snprintf(res->message, sizeof(res->message), "%s", msg ? msg : "");
	return status;
}

int
kp_rpc_invoke(kp_rpc_client *c, const kp_rpc_call *call,
	      const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *reply_desc,
	      ProtobufCMessage **reply, kp_rpc_result *res)
{
	Keyport__Envelope env = KEYPORT__ENVELOPE__INIT;
	Keyport__Reply *r = NULL;
	nng_ctx ctx;
	nng_aio *aio = NULL;
	nng_msg *m = NULL;
	uint8_t *payload = NULL;
	uint8_t proof[KP_BUS_PROOF_LEN];
	char msg[160];
	int timeout, nrv, ctx_open = 0;
	kp_rpc_gen *g;
	double t0 = kp_stats_now();

	if (reply != NULL)
		*reply = NULL;
	memset(res, 0, sizeof(*res));
	atomic_fetch_add(&c->calls, 1);
	/* the socket new calls use; held until this call ends */
	nng_mtx_lock(c->mtx);
	g = c->cur;
	g->refs++;
	nng_mtx_unlock(c->mtx);
	kp_rpc_result_set(res, KP_EINTERNAL, NULL, "rpc failed");

	env.method = (char *)call->method;
	env.request_id = (char *)(call->request_id ? call->request_id
						   : kp_log_request_id());
	env.caller = (Keyport__Caller *)call->caller;
	env.caller_proof = call->caller_proof;
	if (env.caller_proof.len == 0 && !kp_bus_caller_empty(call->caller) &&
	    kp_bus_caller_sign(call->caller, env.request_id, proof) == 0) {
		env.caller_proof.data = proof;
		env.caller_proof.len = sizeof(proof);
	}
	if (req != NULL) {
		env.payload.len = protobuf_c_message_get_packed_size(req);
		if ((payload = malloc(env.payload.len + 1)) == NULL)
			goto out;
		protobuf_c_message_pack(req, payload);
		env.payload.data = payload;
	}
	/* room for the bus's frame head before the envelope (nng_msg_insert
	 * of NNG 1.5.2 overflows its buffer: not used) */
	if (nng_msg_alloc(&m, kp_bus_head_len() +
	                          keyport__envelope__get_packed_size(&env)) !=
	    0)
		goto out;
	keyport__envelope__pack(&env,
	                        (uint8_t *)nng_msg_body(m) + kp_bus_head_len());
	if (kp_bus_seal(m, c->service) != KP_OK) {
		kp_rpc_result_set(res, KP_EINTERNAL, NULL,
		                  "no bus credentials for this service");
		goto out;
	}

	timeout = call->timeout_ms > 0 ? call->timeout_ms : c->timeout_ms;
	/* No replica connected: give the dialer a short grace, not the full
	 * timeout, so a dead service answers 503 quickly. */
	if (atomic_load(&g->pipes) == 0 && timeout > 500)
		timeout = 500;
	if ((nrv = nng_ctx_open(&ctx, g->sock)) != 0 ||
	    (ctx_open = 1, nrv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		kp_rpc_result_set(res, kp_rpc_nng_status(nrv), NULL,
				  nng_strerror(nrv));
		goto out;
	}
	nng_ctx_set_ms(ctx, NNG_OPT_REQ_RESENDTIME,
		       call->idempotent ? (timeout / 3 > 0 ? timeout / 3 : 1)
					: NNG_DURATION_INFINITE);
	nng_aio_set_timeout(aio, timeout);
	nng_aio_set_msg(aio, m);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((nrv = nng_aio_result(aio)) != 0) {
		/* the message is still ours after a failed send */
		snprintf(msg, sizeof(msg), "%s did not answer (%s)",
			 c->service, nng_strerror(nrv));
		kp_rpc_result_set(res, KP_EUNAVAIL, NULL, msg);
		goto out;
	}
	m = NULL;
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((nrv = nng_aio_result(aio)) != 0) {
		/* ECONNRESET: the replica holding a call that may not be
		 * resent went away (an idempotent one moves to another
		 * replica inside NNG and never ends here) */
		if (nrv == NNG_ECONNRESET)
			snprintf(msg, sizeof(msg),
			         "the %s replica serving the call went away",
			         c->service);
		else
			snprintf(msg, sizeof(msg),
			         "%s did not answer in time (%s)", c->service,
			         nng_strerror(nrv));
		kp_rpc_result_set(res, KP_EUNAVAIL, NULL, msg);
		goto out;
	}
	m = nng_aio_get_msg(aio);
	r = keyport__reply__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	if (r == NULL) {
		kp_rpc_result_set(res, KP_EINTERNAL, NULL,
				  "malformed reply");
		goto out;
	}
	res->retry_after = r->retry_after;
	if (!kp_err_valid((int)r->status)) {
		kp_rpc_result_set(res, KP_EINTERNAL, NULL, "unknown status");
		goto out;
	}
	if (r->status != KEYPORT__STATUS__OK) {
		kp_rpc_result_set(res, (int)r->status, r->code, r->message);
		goto out;
	}
	if (reply_desc != NULL && reply != NULL) {
		*reply = protobuf_c_message_unpack(reply_desc, NULL,
						   r->payload.len,
						   r->payload.data);
		if (*reply == NULL) {
			kp_rpc_result_set(res, KP_EINTERNAL, NULL,
					  "malformed reply payload");
			goto out;
		}
	}
	kp_rpc_result_set(res, KP_OK, "", "");
out:
	if (r != NULL)
		keyport__reply__free_unpacked(r, NULL);
	if (m != NULL)
		nng_msg_free(m);
	if (aio != NULL)
		nng_aio_free(aio);
	if (ctx_open)
		nng_ctx_close(ctx);
	kp_rpc_gen_release(c, g);
	free(payload);
	kp_stats_rpc_called(c->service, call->method, res->status,
	                    kp_stats_now() - t0);
	return res->status;
}

int
kp_rpc_health(kp_rpc_client *c, int timeout_ms, kp_rpc_result *res)
{
	char method[64];
	kp_rpc_call call = {0};

	snprintf(method, sizeof(method), "%s.Health", c->service);
	call.method = method;
	call.timeout_ms = timeout_ms;
	call.idempotent = true;
	return kp_rpc_invoke(c, &call, NULL, NULL, NULL, res);
}
