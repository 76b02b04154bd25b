/* `make run` (scripts/run.sh) on a shared host: with the harness's stack
 * running, a second run whose ports are taken refuses to start and names
 * each port, before it starts anything; a run on free ports prints the
 * admin email it was given and leaves nothing behind when stopped. */
#include "kpt.h"
#include "kpt_http.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

KPT_SUITE(0)

/* Runs a shell command line (no Criterion descriptors inherited); returns
 * its exit status, or -1. */
static int
sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return kpt_sh(cmd);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	cr_assert_not_null(buf);
	if (f == NULL)
		return buf;
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *
root(void)
{
	const char *r = getenv("KEYPORT_ROOT");
	return r ? r : ".";
}

/* The port of a tcp://host:port address. */
static int
port_of(const char *url)
{
	const char *c = strrchr(url, ':');
	return c ? atoi(c + 1) : 0;
}

Test(run, refuses_when_the_stacks_ports_are_taken, .timeout = 120)
{
	static const char *const svcs[] = {"auth", "org", "license",
	                                   "activation", "release"};
	char data[512], err[600], needle[700];
	char *e;
	kpt_resp r;

	/* Every port of the running stack: the gateway's and the five
	 * services' (the environment of this process is the stack's). */
	snprintf(data, sizeof(data), "%s/second-run", kpt_dir());
	snprintf(err, sizeof(err), "%s/second-run.err", kpt_dir());
	cr_assert_eq(sh("unset KEYPORT_DATABASE_URL; KEYPORT_DATA_DIR='%s' "
	                "'%s/scripts/run.sh' >/dev/null 2>'%s'",
	                data, root(), err),
	             1);
	e = slurp(err);
	snprintf(needle, sizeof(needle), "port %s (gateway, KEYPORT_HTTP_PORT)",
	         getenv("KEYPORT_HTTP_PORT"));
	cr_assert_not_null(strstr(e, needle), "%s not in: %s", needle, e);
	for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		snprintf(needle, sizeof(needle), "port %d (%s, ",
		         port_of(kpt_service_url(svcs[i])), svcs[i]);
		cr_assert_not_null(strstr(e, needle), "%s not in: %s", needle,
		                   e);
	}
	cr_assert_not_null(strstr(e, "not starting"));
	cr_assert_null(strstr(e, "Keyport is running"));
	free(e);
	/* nothing was started: no cluster, no logs */
	snprintf(needle, sizeof(needle), "%s/pg", data);
	cr_assert_neq(access(needle, F_OK), 0, "a cluster was made");
	snprintf(needle, sizeof(needle), "%s/logs", data);
	cr_assert_neq(access(needle, F_OK), 0, "logs were made");
	/* and the first stack is untouched */
	cr_assert_eq(kpt_http("GET", "/readyz", NULL, NULL, NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	kpt_resp_free(&r);
}

Test(run, refuses_when_one_service_port_is_taken, .timeout = 120)
{
	char data[512], err[600], needle[700];
	int ports[7];
	char *e;

	/* Free ports for everything but license, which is given the running
	 * stack's license port. */
	kpt_free_ports(ports, 7);
	snprintf(data, sizeof(data), "%s/third-run", kpt_dir());
	snprintf(err, sizeof(err), "%s/third-run.err", kpt_dir());
	cr_assert_eq(
	    sh("unset KEYPORT_DATABASE_URL; KEYPORT_DATA_DIR='%s' "
	       "KEYPORT_HTTP_PORT=%d KEYPORT_AUTH_URL=tls+tcp://127.0.0.1:%d "
	       "KEYPORT_ORG_URL=tls+tcp://127.0.0.1:%d "
	       "KEYPORT_ACTIVATION_URL=tls+tcp://127.0.0.1:%d "
	       "KEYPORT_RELEASE_URL=tls+tcp://127.0.0.1:%d "
	       "'%s/scripts/run.sh' >/dev/null 2>'%s'",
	       data, ports[0], ports[1], ports[2], ports[3], ports[4], root(),
	       err),
	    1);
	e = slurp(err);
	snprintf(needle, sizeof(needle),
	         "port %d (license, KEYPORT_LICENSE_URL)",
	         port_of(kpt_service_url("license")));
	cr_assert_not_null(strstr(e, needle), "%s not in: %s", needle, e);
	snprintf(needle, sizeof(needle), "port %d ", ports[0]);
	cr_assert_null(strstr(e, needle), "a free port named: %s", e);
	free(e);
}

/* A whole `make run` on free ports, with its own PostgreSQL: it prints the
 * admin email it was given, and SIGTERM stops every process and the
 * cluster, all of which lived under the data directory. */
Test(run, prints_the_admin_email_and_leaves_nothing_running, .timeout = 240)
{
	char data[512], out[600], pidf[600], path[700];
	int ports[6];
	char *o = NULL;
	long pid = 0;
	FILE *f;

	kpt_free_ports(ports, 6);
	snprintf(data, sizeof(data), "%s/own-run", kpt_dir());
	snprintf(out, sizeof(out), "%s/own-run.out", kpt_dir());
	snprintf(pidf, sizeof(pidf), "%s/own-run.pid", kpt_dir());
	cr_assert_eq(
	    sh("unset KEYPORT_DATABASE_URL KEYPORT_SECRET_DIR "
	       "KEYPORT_ADMIN_PASSWORD; export KEYPORT_DATA_DIR='%s' "
	       "KEYPORT_ADMIN_EMAIL=ops@vendor.example "
	       "KEYPORT_HTTP_PORT=%d KEYPORT_AUTH_URL=tls+tcp://127.0.0.1:%d "
	       "KEYPORT_ORG_URL=tls+tcp://127.0.0.1:%d "
	       "KEYPORT_LICENSE_URL=tls+tcp://127.0.0.1:%d "
	       "KEYPORT_ACTIVATION_URL=tls+tcp://127.0.0.1:%d "
	       "KEYPORT_RELEASE_URL=tls+tcp://127.0.0.1:%d; "
	       "setsid '%s/scripts/run.sh' >'%s' 2>&1 </dev/null & echo $! "
	       ">'%s'",
	       data, ports[0], ports[1], ports[2], ports[3], ports[4], ports[5],
	       root(), out, pidf),
	    0);
	f = fopen(pidf, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	/* until it says it runs, or exits (bounded: 180 s) */
	for (int i = 0; i < 1800; i++) {
		free(o);
		o = slurp(out);
		if (strstr(o, "Press Ctrl-C") != NULL ||
		    kill((pid_t)pid, 0) != 0)
			break;
		usleep(100000);
	}
	cr_assert_not_null(strstr(o, "Keyport is running"), "%s", o);
	cr_assert_not_null(strstr(o, "Vendor admin:   ops@vendor.example / "),
	                   "%s", o);
	cr_assert_null(strstr(o, "admin@localhost"), "%s", o);
	free(o);
	o = NULL;
	kill((pid_t)pid, SIGTERM);
	for (int i = 0; i < 600 && kill((pid_t)pid, 0) == 0; i++)
		usleep(100000);
	cr_assert_neq(kill((pid_t)pid, 0), 0, "run.sh did not stop");
	o = slurp(out);
	cr_assert_not_null(strstr(o, "keyport: stopped"), "%s", o);
	free(o);
	/* the cluster is stopped, and it is a directory under the data
	 * directory, not a link to somewhere else */
	cr_assert_neq(sh("'%s/scripts/pg.sh' status '%s/pg'", root(), data), 0);
	{
		struct stat st;
		snprintf(path, sizeof(path), "%s/pg", data);
		cr_assert_eq(lstat(path, &st), 0);
		cr_assert(S_ISDIR(st.st_mode), "%s is not a directory", path);
		snprintf(path, sizeof(path), "%s/pg/data/PG_VERSION", data);
		cr_assert_eq(access(path, F_OK), 0);
	}
	/* no process of it is left: no PostgreSQL of its data directory, no
	 * listener on any of its ports */
	cr_assert_neq(sh("pgrep -f '%s/p[g]/data' >/dev/null", data), 0);
	for (int i = 0; i < 6; i++)
		cr_assert_neq(
		    sh("ss -Hltn 'sport = :%d' | grep -q .", ports[i]), 0,
		    "port %d still listened on", ports[i]);
}
