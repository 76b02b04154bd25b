/* kpt: the integration-test harness. Starts a real PostgreSQL (a throw-away
 * cluster of its own, via scripts/pg.sh), the five services and the gateway
 * on free ports, and gives tests an HTTP client and process control.
 *
 * Criterion runs each test in its own process, so the stack is started once
 * per test binary from a PRE_ALL report hook (KPT_SUITE below) and described
 * to the tests through environment variables and a state directory with
 * one pid file per process. Tests may kill and restart processes; the
 * POST_ALL hook stops whatever the pid files name, PostgreSQL last.
 */
#ifndef KPT_H
#define KPT_H

#include <jansson.h>
#include <stddef.h>

/* Options of a stack (all zero: one replica of everything). */
#define KPT_NENV 8
typedef struct kpt_opts {
	int activation_replicas; /* 0 or 1: one; 2: two processes */
	/* extra "NAME=value" settings for every process of the stack (set
	 * after the harness's own, so they win), up to the first NULL */
	const char *env[KPT_NENV];
} kpt_opts;

/* kpt_stack_start starts everything and waits for /readyz (60 s). Aborts
 * the test binary with a message on failure. */
void kpt_stack_start(const kpt_opts *o);

/* kpt_stack_stop stops every process of the stack and PostgreSQL, and
 * removes the state directory unless KPT_KEEP=1. */
void kpt_stack_stop(void);

/* Declares the PRE_ALL report hook that starts the stack for one test
 * binary, with the given kpt_opts initialiser; the POST_ALL hook that stops
 * it lives in kpt.c. */
#define KPT_SUITE(...)                                                      \
	ReportHook(PRE_ALL)(struct criterion_test_set * kpt_set_)           \
	{                                                                   \
		kpt_opts kpt_o_ = {__VA_ARGS__};                           \
		(void)kpt_set_;                                             \
		kpt_stack_start(&kpt_o_);                                   \
	}

/* The gateway's base URL, e.g. http://127.0.0.1:41234 (no trailing /). */
const char *kpt_url(void);

/* The state directory (logs/ holds each process's log). */
const char *kpt_dir(void);

/* The vendor admin's credentials the stack was started with. */
const char *kpt_admin_email(void);
const char *kpt_admin_password(void);

/* The database URL of the stack. */
const char *kpt_database_url(void);

/* The NNG address of a service (first replica). */
const char *kpt_service_url(const char *service);

/* The metrics URL of a process ("gateway", "auth", ...; first replica):
 * http://127.0.0.1:<its KEYPORT_<NAME>_METRICS_PORT>/metrics. The
 * pointer is valid for the next 7 calls. */
const char *kpt_metrics_url(const char *process);

/* ---- HTTP ------------------------------------------------------------- */

typedef struct kpt_resp {
	long status;
	char *body;       /* NUL-terminated, malloc'd */
	size_t len;
	json_t *json;     /* parsed body, or NULL when not JSON */
	char *headers;    /* raw response headers, malloc'd */
	double seconds;   /* time to the answer */
} kpt_resp;

/* kpt_http sends a request (path is under kpt_url, or a whole http://
 * URL such as kpt_metrics_url's). token (may be NULL) goes in Authorization:
 * Bearer; body (may be NULL) is sent as application/json; extra_headers is
 * a NULL-terminated list of "Name: value" (may be NULL). Returns 0, or -1
 * when no HTTP answer came (out->status is then 0). Free with
 * kpt_resp_free. */
int kpt_http(const char *method, const char *path, const char *token,
	     const char *body, const char *const *extra_headers,
	     kpt_resp *out);

/* kpt_http_raw is kpt_http with a body of any bytes and content type. */
int kpt_http_raw(const char *method, const char *path, const char *token,
		 const void *body, size_t len, const char *content_type,
		 const char *const *extra_headers, kpt_resp *out);

/* kpt_header returns a response header's value (malloc'd, caller frees) or
 * NULL. Case-insensitive name. */
char *kpt_header(const kpt_resp *r, const char *name);

/* kpt_error_code returns error.code of a JSON error body, or "". */
const char *kpt_error_code(const kpt_resp *r);

void kpt_resp_free(kpt_resp *r);

/* kpt_login logs in over HTTP (POST /v1/auth/login), asserts 200 and
 * returns the access token (malloc'd; the caller frees it). */
char *kpt_login(const char *email, const char *password);

/* kpt_admin_token is the vendor admin's access token, logged in once per
 * test process (borrowed; valid until the process ends). */
const char *kpt_admin_token(void);

/* kpt_jsonf formats a JSON document with json_pack and dumps it compactly
 * (malloc'd, caller frees). Aborts on a bad format. */
char *kpt_jsonf(const char *fmt, ...);

/* ---- processes ------------------------------------------------------ */

/* kpt_kill sends sig to a stack process ("auth", ..., "gateway",
 * "activation#2" for the second replica) and, for SIGKILL, waits until it
 * is gone. */
void kpt_kill(const char *name, int sig);

/* kpt_restart starts a killed process again with the same environment;
 * does not wait for readiness. */
void kpt_restart(const char *name);

/* kpt_pg_restart stops PostgreSQL (fast shutdown) and starts it again on
 * the same port. */
void kpt_pg_restart(void);

/* kpt_free_ports writes n (at most 16) distinct loopback ports that were
 * free a moment ago, for a process a test starts itself. */
void kpt_free_ports(int *ports, int n);

/* kpt_wait_ready polls /readyz until 200 or the timeout; returns 0 or -1. */
int kpt_wait_ready(double timeout_s);

/* kpt_now returns a monotonic time in seconds. */
double kpt_now(void);

/* kpt_log_grep counts lines of every process log that contain needle. */
int kpt_log_grep(const char *needle);

/* kpt_set_clock moves service's clock (kp_clock.h) to now + seconds; every
 * stack started by the harness runs with KEYPORT_TEST_CLOCK=1. */
void kpt_set_clock(const char *service, long long seconds);

/* ---- replicas found by name (discovery) ------------------------------ */

/* kpt_names_env makes the stack resolve host names from a hosts file of
 * the test binary's own, with Debian's libnss-wrapper: it adds
 * LD_PRELOAD=libnss_wrapper.so, NSS_WRAPPER_HOSTS, and what lets it run
 * under ASan (NSS_WRAPPER_DISABLE_DEEPBIND, verify_asan_link_order=0) to
 * o->env (4 settings at its first free slots; dies when there is no room) and writes hosts into the file (lines "address name";
 * "127.0.0.1 localhost" is added). Call before kpt_stack_start; the file
 * is removed by kpt_stack_stop. */
void kpt_names_env(kpt_opts *o, const char *hosts);

/* kpt_names_set replaces the hosts file of kpt_names_env with hosts, in
 * one rename (a process reads the old or the new file, never half of
 * one); the stack's processes see it at their next lookup. */
void kpt_names_set(const char *hosts);

/* kpt_replica_start starts one more process of a service, named
 * "<service>#<n>" (n >= 3, or 2 when the stack has no second activation),
 * listening on listen_url with the stack's environment. kpt_kill and
 * kpt_restart take its name; kpt_stack_stop stops it. Does not wait for
 * readiness (kpt_served answers once it serves). */
void kpt_replica_start(const char *name, const char *listen_url);

/* kpt_served asks the process of service at url (an address, not a name)
 * for its Health and returns how many requests it has received (this
 * call included), or -1 when it does not answer within timeout_ms. */
long long kpt_served(const char *service, const char *url, int timeout_ms);

/* kpt_log_count counts the lines of one process's log ("gateway",
 * "license#3") that contain needle. */
int kpt_log_count(const char *name, const char *needle);

#endif
