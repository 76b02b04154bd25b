/* kpt_http: the asserting helpers the integration tests share (HTTP
 * requests, JSON fields, internal RPC calls, shell commands, files), so
 * that no test file keeps its own copy. Every helper fails the calling
 * test (cr_assert) when the stack does not answer. */
#ifndef KPT_HTTP_H
#define KPT_HTTP_H

#include "kpt.h"

#include "kp_rpc.h"

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* kpt_req sends a request and returns its status; *out (when given)
 * keeps the response (free with kpt_resp_free). */
long kpt_req(const char *method, const char *path, const char *token,
             const char *body, kpt_resp *out);

/* kpt_req_want sends a request and asserts its status is want; returns
 * the response (free with kpt_resp_free). body is borrowed. */
kpt_resp kpt_req_want(const char *method, const char *path, const char *token,
                      const char *body, long want);

/* kpt_jstr is string field k of o (borrowed from o); asserts it is one. */
const char *kpt_jstr(const json_t *o, const char *k);

/* kpt_jdup is a malloc'd copy of string field name of r's JSON; asserts
 * it is one. */
char *kpt_jdup(const kpt_resp *r, const char *name);

/* kpt_rpc_open opens an RPC client of service svc (kpt_service_url) and
 * waits up to 2 s for its connection; asserts it opens. The caller closes
 * it (kp_rpc_client_close). */
kp_rpc_client *kpt_rpc_open(const char *svc);

/* kpt_rpc calls method of service svc as caller (NULL: an internal
 * caller) and returns the status (the failure's code and message go to
 * the test log); on KP_OK and when rep is given, *rep owns the reply of
 * type desc. */
int kpt_rpc(const char *svc, const char *method, const Keyport__Caller *caller,
            const ProtobufCMessage *q, const ProtobufCMessageDescriptor *desc,
            ProtobufCMessage **rep);

/* kpt_sh runs the shell command line cmd without Criterion's descriptors;
 * returns its exit status, or -1. */
int kpt_sh(const char *cmd);

/* kpt_slurp reads up to n - 1 bytes of file into buf (NUL-terminated;
 * empty when the file cannot be read). */
void kpt_slurp(const char *file, char *buf, size_t n);

#endif
