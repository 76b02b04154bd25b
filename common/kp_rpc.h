/* kp_rpc: request/reply RPC over NNG with the keyport.Envelope protocol.
 *
 * Server: a rep0 socket with N workers; each worker owns one nng_ctx, one
 * nng_aio and its own per-worker state (a database connection), receives an
 * Envelope, finds its method by name in a sorted table (binary search; the
 * table is built by kp_service from the generated contract) and sends a
 * Reply.
 * Every service also answers "<service>.Health".
 *
 * Every request is authenticated (common/kp_bus.h): mutual TLS on the
 * connection, then the frame's identity and MAC; a frame that fails is
 * dropped unanswered. The method's `callers` must include the identity
 * (else FORBIDDEN, logged with the peer), and a user caller must come from
 * the gateway or carry its proof. kp_bus_init must run before a server or
 * client opens.
 *
 * Client: a req0 socket that dials one or more addresses (replicas), one
 * context per call, a per-call timeout, and resends only for calls marked
 * idempotent (NNG's own resend timer). A service with no connected replica
 * fails fast with KP_EUNAVAIL instead of waiting for the whole timeout.
 * A URL whose host is a name is resolved (common/kp_resolve.h) at open and
 * every KEYPORT_RESOLVE_INTERVAL_MS: one dialer per address, added and
 * dropped as addresses come and go. NNG's req0 spreads the calls over the
 * connected replicas; when a replica dies (its connection closes), its
 * idempotent calls in flight are resent at once to another replica and
 * the others fail with KP_EUNAVAIL (503): a call that may not be repeated
 * is never sent twice. When an address leaves the name, a new socket
 * dials the remaining ones and takes the new calls; the old one finishes
 * its calls in flight (the leaving replica's too) before it closes.
 */
#ifndef KP_RPC_H
#define KP_RPC_H

#include "proto/keyport.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the contract ---------------------------------------------------- */

/* Who may call a method: the gateway, or a service by kp_services_id. */
#define KP_RPC_FROM_GATEWAY     (1u << 0)
#define KP_RPC_FROM_SERVICE(id) (1u << (1 + (id)))

/* One method of the RPC contract. The tables are generated from the service
 * blocks of proto/<service>.proto ($(GEN)/rpc/kp_contract.h, by
 * common/tools/rpc_gen.c): kp_contract_auth[KP_M_AUTH_LOGIN], also named
 * KP_RPC_AUTH_LOGIN. Static; never freed. */
typedef struct kp_rpc_desc {
	const char *name; /* "<service>.<Method>" */
	int service;      /* kp_services_id of the service serving it */
	int index;        /* in that service's table */
	const ProtobufCMessageDescriptor *request;
	const ProtobufCMessageDescriptor *reply;
	bool idempotent;  /* a resend (to another replica) is safe */
	bool test_only;   /* served only with KEYPORT_TEST_CLOCK=1 */
	unsigned callers; /* KP_RPC_FROM_* of who may call it */
} kp_rpc_desc;

/* ---- server ---------------------------------------------------------- */

/* One request being served. Handlers read the request fields and answer
 * with kp_rpc_reply or kp_rpc_fail. The fields are borrowed for the
 * duration of the handler call only. */
typedef struct kp_rpc_ctx {
	const char *method;
	const kp_rpc_desc *desc; /* the contract's method; NULL for built-ins */
	const char *request_id;
	const Keyport__Caller *caller; /* never NULL; fields may be "" */
	ProtobufCBinaryData caller_proof; /* the gateway's, to forward */
	const char *peer; /* the proven bus identity of the calling process */
	ProtobufCBinaryData payload;
	void *app;    /* kp_rpc_server_config.app */
	void *worker; /* what worker_init made for this worker */

	/* the answer, filled by kp_rpc_reply / kp_rpc_fail */
	int status;
	char code[64];
	char message[512];
	uint32_t retry_after;
	uint8_t *reply;
	size_t reply_len;
} kp_rpc_ctx;

/* A handler returns the status it answered with. Returning a failure
 * without calling kp_rpc_fail answers with the status's default code. */
typedef int (*kp_rpc_handler)(kp_rpc_ctx *ctx);

typedef struct kp_rpc_method {
	const char *name; /* "<service>.<Name>" */
	kp_rpc_handler fn;
	const kp_rpc_desc *desc; /* NULL for a method outside the contract */
} kp_rpc_method;

typedef struct kp_rpc_server_config {
	const char *service;    /* "auth", ... */
	const char *listen_url; /* e.g. tcp://127.0.0.1:7101 */
	int workers;            /* concurrent requests, each its own state */
	const kp_rpc_method *methods;
	size_t nmethods;
	void *app;
	/* Makes one worker's state (e.g. opens its database connection);
	 * returns a kp_status. Called in the worker's thread before it
	 * serves. */
	int (*worker_init)(void *app, void **worker);
	void (*worker_fini)(void *worker); /* NULL-safe on its argument */
	/* Answers the health check for one worker: KP_OK when its database
	 * answers. */
	int (*health)(void *worker);
} kp_rpc_server_config;

typedef struct kp_rpc_server kp_rpc_server;

/* kp_rpc_server_start listens and starts the workers. cfg and the arrays it
 * points at are borrowed and must outlive the server. */
int kp_rpc_server_start(kp_rpc_server **out, const kp_rpc_server_config *cfg);

/* kp_rpc_server_stop closes the socket, waits for the workers to finish
 * their current request and frees the server. NULL-safe. */
void kp_rpc_server_stop(kp_rpc_server *s);

/* kp_rpc_reply packs msg as the OK answer. Returns KP_OK or KP_EINTERNAL. */
int kp_rpc_reply(kp_rpc_ctx *ctx, const ProtobufCMessage *msg);

/* kp_rpc_fail sets a failure answer: status, API code (NULL for the
 * status's default) and a printf-formatted message. Returns status. */
int kp_rpc_fail(kp_rpc_ctx *ctx, int status, const char *code,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* kp_rpc_unpack unpacks the request payload. On failure answers
 * INVALID_INPUT and returns KP_EINVAL. On success the caller owns *out and
 * frees it with protobuf_c_message_free_unpacked(*out, NULL). */
int kp_rpc_unpack(kp_rpc_ctx *ctx, const ProtobufCMessageDescriptor *desc,
		  ProtobufCMessage **out);

/* ---- client ---------------------------------------------------------- */

typedef struct kp_rpc_client kp_rpc_client;

/* The outcome of a call as the service (or the transport) stated it. */
typedef struct kp_rpc_result {
	int status;
	char code[64];
	char message[512];
	uint32_t retry_after;
} kp_rpc_result;

typedef struct kp_rpc_call {
	const char *method;            /* "<service>.<Name>" */
	const Keyport__Caller *caller; /* NULL: anonymous */
	/* the gateway's proof of caller (forwarded by services); when empty
	 * and this process is the gateway, kp_rpc_invoke signs one */
	ProtobufCBinaryData caller_proof;
	const char *request_id;        /* NULL: this thread's log request id */
	int timeout_ms;                /* 0: the client's default */
	bool idempotent;               /* may be resent to another replica */
} kp_rpc_call;

/* kp_rpc_client_open makes a client for service, dialing every address of
 * the comma-separated urls in the background (reconnecting forever); an
 * entry naming a host dials every address it resolves to, now and at each
 * KEYPORT_RESOLVE_INTERVAL_MS (a name that resolves to nothing yet is not
 * an error: it is looked up again). The default timeout is
 * KEYPORT_RPC_TIMEOUT_MS (5000). KP_EINVAL for an entry that is no
 * address or that the bus refuses (plain tcp://). */
int kp_rpc_client_open(kp_rpc_client **out, const char *service,
		       const char *urls);

/* kp_rpc_client_close closes and frees; NULL-safe. No call may be running. */
void kp_rpc_client_close(kp_rpc_client *c);

/* kp_rpc_client_service returns the service name given at open. */
const char *kp_rpc_client_service(const kp_rpc_client *c);

/* kp_rpc_client_pipes returns how many replicas are connected now. */
int kp_rpc_client_pipes(kp_rpc_client *c);

/* kp_rpc_client_replicas returns how many addresses are dialled now
 * (connected or not). */
int kp_rpc_client_replicas(kp_rpc_client *c);

/* kp_rpc_invoke sends req (may be NULL for an empty payload) and waits for
 * the reply. On KP_OK and when reply_desc is not NULL, *reply owns the
 * unpacked answer (free with protobuf_c_message_free_unpacked). On failure
 * *reply is NULL and res (required) tells status, code and message. Returns
 * res->status. Thread-safe: many calls may run at once on one client. */
int kp_rpc_invoke(kp_rpc_client *c, const kp_rpc_call *call,
		  const ProtobufCMessage *req,
		  const ProtobufCMessageDescriptor *reply_desc,
		  ProtobufCMessage **reply, kp_rpc_result *res);

/* kp_rpc_client_calls counts the calls made through this client since it
 * was opened (tests use it to show a request's RPC cost is constant). */
unsigned long kp_rpc_client_calls(kp_rpc_client *c);

/* kp_rpc_health calls "<service>.Health" with a short timeout; KP_OK only
 * when the service answers and its database is reachable. */
int kp_rpc_health(kp_rpc_client *c, int timeout_ms, kp_rpc_result *res);

#endif
