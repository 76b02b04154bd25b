/* The gateway's optional TLS (issue 19): a second gateway of the stack,
 * started with KEYPORT_TLS_CERT and KEYPORT_TLS_KEY, answers HTTPS with
 * HSTS, refuses plain HTTP, and serves a new certificate after SIGHUP
 * without a restart. The stack's own gateway stays plain (no HSTS). */
#include "kpt.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

KPT_SUITE(0)

static size_t
tls_sink(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

static size_t
tls_header(char *p, size_t s, size_t n, void *u)
{
	if (strncasecmp(p, "Strict-Transport-Security:", 26) == 0)
		*(int *)u = 1;
	return s * n;
}

/* GET url trusting only the certificate in ca (NULL: plain HTTP); returns
 * the status, 0 when the exchange failed (TLS or connection). */
static long
tls_get(const char *url, const char *ca, int *hsts)
{
	CURL *c = curl_easy_init();
	long st = 0;
	int h = 0;

	cr_assert_not_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tls_sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tls_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (ca != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_easy_cleanup(c);
	if (hsts != NULL)
		*hsts = h;
	return st;
}

/* A self-signed certificate for 127.0.0.1 into dir/cert.pem, key.pem,
 * and a copy of the certificate as dir/<copy>. */
static void
tls_make_cert(const char *dir, const char *copy)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && openssl req -x509 -newkey ec -pkeyopt "
	         "ec_paramgen_curve:P-256 -nodes -keyout key.new -out "
	         "cert.new -days 2 -subj /CN=127.0.0.1 -addext "
	         "subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 && chmod 600 "
	         "key.new && mv key.new key.pem && mv cert.new cert.pem && cp "
	         "cert.pem '%s'",
	         dir, copy);
	cr_assert_eq(system(cmd), 0, "openssl failed: %s", cmd);
}

/* Starts a gateway with the environment of the stack's, on port, with the
 * certificate of dir; returns its pid. */
static pid_t
tls_gateway(int port, const char *dir)
{
	char path[1024], *envbuf, *envv[256];
	int n = 0, fd, envc = 0;
	size_t cap = 1 << 16, len = 0;
	FILE *f;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/pids/gateway.pid", kpt_dir());
	f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%d", &n), 1);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/environ", n);
	envbuf = malloc(cap);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "no environment of the gateway");
	for (ssize_t k; (k = read(fd, envbuf + len, cap - len - 1)) > 0;)
		len += (size_t)k;
	close(fd);
	envbuf[len] = '\0';
	for (size_t i = 0; i < len && envc < 250; i += strlen(envbuf + i) + 1)
		if (strncmp(envbuf + i, "KEYPORT_HTTP_PORT=", 18) != 0)
			envv[envc++] = envbuf + i;
	envv[envc] = malloc(64);
	snprintf(envv[envc++], 64, "KEYPORT_HTTP_PORT=%d", port);
	envv[envc] = malloc(1100);
	snprintf(envv[envc++], 1100, "KEYPORT_TLS_CERT=%s/cert.pem", dir);
	envv[envc] = malloc(1100);
	snprintf(envv[envc++], 1100, "KEYPORT_TLS_KEY=%s/key.pem", dir);
	envv[envc] = NULL;
	snprintf(path, sizeof(path), "%s/keyport-gateway",
	         getenv("KEYPORT_BIN_DIR"));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char logp[1100];
		int lf;

		snprintf(logp, sizeof(logp), "%s/logs/gateway-tls.log",
		         kpt_dir());
		lf = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (lf >= 0) {
			dup2(lf, 1);
			dup2(lf, 2);
		}
		execve(path, (char *const[]){path, NULL}, envv);
		_exit(127);
	}
	return pid;
}

Test(tls, https_with_hsts_and_reload_on_sighup, .timeout = 120)
{
	char dir[1024], url[128], plain[128], ca1[1100], ca2[1100];
	int port, hsts = 0;
	long st = 0;
	pid_t pid;
	double t0;

	snprintf(dir, sizeof(dir), "%s/tls", kpt_dir());
	mkdir(dir, 0700);
	snprintf(ca1, sizeof(ca1), "%s/ca1.pem", dir);
	snprintf(ca2, sizeof(ca2), "%s/ca2.pem", dir);
	tls_make_cert(dir, ca1);
	kpt_free_ports(&port, 1);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/healthz", port);
	snprintf(plain, sizeof(plain), "http://127.0.0.1:%d/healthz", port);
	pid = tls_gateway(port, dir);
	for (t0 = kpt_now(); kpt_now() - t0 < 30 && st != 200; usleep(200000))
		st = tls_get(url, ca1, &hsts);
	cr_assert_eq(st, 200, "no HTTPS answer (log: %s/logs/gateway-tls.log)",
	             kpt_dir());
	cr_expect(hsts, "no Strict-Transport-Security over HTTPS");
	cr_expect_neq(tls_get(plain, NULL, NULL), 200,
	              "plain HTTP answered on the TLS port");
	/* the stack's own, plain gateway sends no HSTS */
	{
		char u[256];
		snprintf(u, sizeof(u), "%s/healthz", kpt_url());
		cr_expect_eq(tls_get(u, NULL, &hsts), 200);
		cr_expect(!hsts, "HSTS over plain HTTP");
	}
	/* a new certificate, then SIGHUP: served without a restart */
	tls_make_cert(dir, ca2);
	cr_assert_eq(kill(pid, SIGHUP), 0);
	st = 0;
	for (t0 = kpt_now(); kpt_now() - t0 < 30 && st != 200; usleep(200000))
		st = tls_get(url, ca2, NULL);
	cr_expect_eq(st, 200, "the new certificate is not served");
	cr_expect_eq(tls_get(url, ca1, NULL), 0,
	             "the old certificate is still served");
	cr_expect_eq(waitpid(pid, NULL, WNOHANG), 0,
	             "the gateway exited on SIGHUP");
	/* a broken certificate on reload keeps the one in use */
	{
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "echo broken > '%s/cert.pem'", dir);
		cr_assert_eq(system(cmd), 0);
	}
	cr_assert_eq(kill(pid, SIGHUP), 0);
	usleep(500000);
	cr_expect_eq(tls_get(url, ca2, NULL), 200,
	             "a bad certificate on reload broke HTTPS");
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}
