/* kpt_http: asserting request, JSON, RPC, shell and file helpers. */
#include "kpt_http.h"

#include "kp_err.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

long
kpt_req(const char *method, const char *path, const char *token,
        const char *body, kpt_resp *out)
{
	kpt_resp r;
	long st;

	cr_assert_eq(kpt_http(method, path, token, body, NULL, &r), 0,
	             "%s %s: no answer", method, path);
	st = r.status;
	if (out != NULL)
		*out = r;
	else
		kpt_resp_free(&r);
	return st;
}

kpt_resp
kpt_req_want(const char *method, const char *path, const char *token,
             const char *body, long want)
{
	kpt_resp r;

	cr_assert_eq(kpt_http(method, path, token, body, NULL, &r), 0, "%s %s",
	             method, path);
	cr_assert_eq(r.status, want, "%s %s: %ld %s", method, path, r.status,
	             r.body);
	return r;
}

const char *
kpt_jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	cr_assert_not_null(s, "no string %s", k);
	return s;
}

char *
kpt_jdup(const kpt_resp *r, const char *name)
{
	const char *v = json_string_value(json_object_get(r->json, name));

	cr_assert_not_null(v, "%s missing in %s", name, r->body);
	return strdup(v);
}

kp_rpc_client *
kpt_rpc_open(const char *svc)
{
	kp_rpc_client *c = NULL;

	cr_assert_eq(kp_rpc_client_open(&c, svc, kpt_service_url(svc)), KP_OK);
	for (int i = 0; i < 100 && kp_rpc_client_pipes(c) == 0; i++)
		usleep(20000);
	return c;
}

int
kpt_rpc(const char *svc, const char *method, const Keyport__Caller *caller,
        const ProtobufCMessage *q, const ProtobufCMessageDescriptor *desc,
        ProtobufCMessage **rep)
{
	kp_rpc_client *c = kpt_rpc_open(svc);
	kp_rpc_call call = {0};
	kp_rpc_result res;
	int rv;

	call.method = method;
	call.caller = caller;
	call.timeout_ms = 5000;
	rv = kp_rpc_invoke(c, &call, q, desc, rep, &res);
	if (rv != KP_OK)
		cr_log_info("%s: %s %s", method, res.code, res.message);
	kp_rpc_client_close(c);
	return rv;
}

int
kpt_sh(const char *cmd)
{
	pid_t pid;
	int st = 0;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		close_range(3, ~0U, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
kpt_slurp(const char *file, char *buf, size_t n)
{
	FILE *f = fopen(file, "r");
	size_t k = 0;

	buf[0] = '\0';
	if (f == NULL)
		return;
	k = fread(buf, 1, n - 1, f);
	buf[k] = '\0';
	fclose(f);
}
