/* keyport_int: internals shared by the libkeyport source files and the
 * keyport tool (which links the static library). Not installed. */
#ifndef KEYPORT_INT_H
#define KEYPORT_INT_H

#include <jansson.h>

#include "keyport.h"

typedef struct keyport_sync keyport_sync;

struct keyport_client {
	char path[4096];
	char err[512];
	char server_code[64];
	unsigned char pk[32];
	int have_pk;
	int verified; /* the last keyport_check verified the signature */
	long timeout;
	char proxy[1024];
	char ca_file[4096];
	char server_key[1024];
	char app_version[65];
	long long interval;
	long long grace;
	json_t *cache;      /* what the getters' strings point into */
	char *cache_text;   /* the state file's text cache was parsed from */
	keyport_sync *sync; /* keyport_sync_start's thread, or NULL */
};

/* keyport_fail records a one-line reason and returns status. */
int keyport_fail(keyport_client *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* keyport_state_load reads the state file into *out (a new object, {} when
 * the file does not exist). The caller decrefs it. */
int keyport_state_load(keyport_client *c, json_t **out);

/* keyport_state_save writes st atomically with mode 0600 (creating the
 * directory 0700 when missing). */
int keyport_state_save(keyport_client *c, json_t *st);

/* keyport_write_file writes text to path atomically with mode 0600. */
int keyport_write_file(const char *path, const char *text);

/* keyport_read_file reads up to max bytes of a file; *out malloc'd, NUL
 * terminated. Returns 0 or -1 (errno set). */
int keyport_read_file(const char *path, size_t max, char **out, size_t *len);

/* state helpers: string member or "" */
const char *keyport_st_str(json_t *st, const char *name);
int64_t keyport_st_int(json_t *st, const char *name);

/* keyport_now: local wall clock, unix seconds, plus
 * $KEYPORT_TEST_CLOCK_OFFSET when that is a non-negative number (tests
 * move the client's clock forward with it; it cannot move it back, so it
 * cannot stretch a license). */
int64_t keyport_now(void);

/* keyport_http sends one request to url: method, optional bearer token,
 * optional extra header line ("X-License-Key: ..."), optional JSON body
 * (or raw bytes with content_type when raw != NULL). On an HTTP answer it
 * returns KEYPORT_OK with *status and *reply (parsed JSON or NULL; the
 * caller decrefs); KEYPORT_ENET when no answer came. Uses c's timeout,
 * proxy, CA file and server key. */
int keyport_http(keyport_client *c, const char *method, const char *url,
                 const char *bearer, const char *header, json_t *body,
                 const void *raw, size_t rawlen, const char *content_type,
                 long *status, json_t **reply);

/* keyport_http_ok is keyport_http that turns a non-2xx answer into
 * KEYPORT_ESERVER (reason and server_code set) and requires a JSON object
 * body unless status is 204. */
int keyport_http_ok(keyport_client *c, const char *method, const char *url,
                    const char *bearer, const char *header, json_t *body,
                    long *status, json_t **reply);

/* keyport_http_transport sets on the curl handle h (a void * so that this
 * header needs no curl.h) what every request of c shares: no signals,
 * http(s) only, and c's proxy, CA file and pinned server key. */
void keyport_http_transport(keyport_client *c, void *h);

/* keyport_http_refused records a non-2xx answer (status, its JSON reply,
 * which may be NULL): server_code and the reason. Returns
 * KEYPORT_ESERVER. */
int keyport_http_refused(keyport_client *c, long status, const json_t *reply);

/* keyport_url joins a server base (trailing slashes dropped) and a path
 * into out; -1 when it does not fit. */
int keyport_url(char *out, size_t n, const char *server, const char *path);

/* keyport_escape percent-encodes s for a query string (NULL: ""); the
 * result is malloc'd (caller frees) or NULL on out of memory. */
char *keyport_escape(const char *s);

/* keyport_token_payload decodes a token's payload (no verification) into
 * a new JSON object, or NULL. */
json_t *keyport_token_payload(const char *token);

/* ---- keyport_trust ---------------------------------------------------- */

#include "kp_token.h"

/* keyport_check_clock refuses (KEYPORT_EROLLBACK) a clock now behind the
 * newest time st has seen. */
int keyport_check_clock(keyport_client *c, json_t *st, int64_t now);

/* keyport_state_load_at loads the state (keyport_state_load) into *st and
 * checks the clock against it (keyport_check_clock): on KEYPORT_OK *st is
 * the caller's to decref; on failure *st is NULL and the reason set. */
int keyport_state_load_at(keyport_client *c, json_t **st, int64_t now);

/* keyport_note_clock remembers now and issued_at as seen in st. */
void keyport_note_clock(json_t *st, int64_t now, int64_t issued_at);

/* keyport_check_token checks token against the pinned key (unverified
 * when none), the expected nonce (NULL: none), this machine's
 * fingerprint, product_id (NULL: any) and the rollback state; on
 * KEYPORT_OK *claims is filled (the caller cleans it up with
 * kp_token_claims_cleanup), otherwise cleaned here and c's error set. */
int keyport_check_token(keyport_client *c, json_t *st, const char *token,
                        const char *nonce, const char *fingerprint,
                        const char *product_id, int64_t now,
                        kp_token_claims *claims);

/* keyport_store_activation writes the accepted activation k (its token,
 * online or offline, the pinned key) into st; keyport_clear_activation
 * removes every activation member of st. */
void keyport_store_activation(keyport_client *c, json_t *st,
                              const kp_token_claims *k, const char *token,
                              int offline);
void keyport_clear_activation(json_t *st);

#endif
