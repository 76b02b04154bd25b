/* kpt: starts and stops the real stack for integration tests; HTTP client. */
#include "kpt.h"

#include "kp_err.h"
#include "kp_rpc.h"


#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kpt_services[] = {"auth", "org", "license",
					   "activation", "release"};
#define KPT_NSVC 5

static void __attribute__((noreturn, format(printf, 1, 2)))
kpt_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kpt: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	kpt_stack_stop();
	exit(1);
}

static const char *
kpt_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL)
		kpt_die("%s is not set: is this test binary run through "
			"`make test` (the KPT_SUITE hook)?", name);
	return v;
}

const char *
kpt_url(void)
{
	return kpt_env("KPT_URL");
}

const char *
kpt_dir(void)
{
	return kpt_env("KPT_DIR");
}

const char *
kpt_admin_email(void)
{
	return kpt_env("KEYPORT_ADMIN_EMAIL");
}

const char *
kpt_admin_password(void)
{
	return kpt_env("KEYPORT_ADMIN_PASSWORD");
}

const char *
kpt_database_url(void)
{
	return kpt_env("KEYPORT_DATABASE_URL");
}

double
kpt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
kpt_root(void)
{
	const char *r = getenv("KEYPORT_ROOT");

	return r ? r : ".";
}

static void
kpt_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* Runs a shell command line; dies when it fails. */
static void
kpt_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rv;

	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* Not system(): the command (PostgreSQL among them) must not inherit
	 * Criterion's IPC descriptors, or the runner waits on them forever. */
	pid = fork();
	if (pid < 0)
		kpt_die("fork: %s", strerror(errno));
	if (pid == 0) {
		close_range(3, ~0U, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &rv, 0) < 0 && errno == EINTR)
		;
	if (rv != 0)
		kpt_die("command failed (%d): %s", rv, cmd);
}

/* Reserves n distinct free loopback ports (all sockets held until every
 * port is known, so they differ). */
void
kpt_free_ports(int *ports, int n)
{
	int fds[16];

	if (n > 16)
		kpt_die("kpt_free_ports: at most 16 ports");
	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = {0};
		socklen_t len = sizeof(a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof(a)) ||
		    getsockname(fds[i], (struct sockaddr *)&a, &len))
			kpt_die("cannot reserve a port: %s", strerror(errno));
		ports[i] = ntohs(a.sin_port);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* name → binary and listen override. "activation#2" is the second replica
 * of activation, listening on KPT_ACTIVATION2_URL. */
static void
kpt_binary(const char *name, char *bin, size_t len, const char **listen)
{
	const char *bindir = getenv("KEYPORT_BIN_DIR");
	char base[64];

	static char own[256];
	char lpath[512];
	FILE *f;

	snprintf(base, sizeof(base), "%s", name);
	base[strcspn(base, "#")] = '\0';
	*listen = strchr(name, '#') ? getenv("KPT_ACTIVATION2_URL") : NULL;
	/* a replica of kpt_replica_start names its own address */
	kpt_path(lpath, sizeof(lpath), "%s/pids/%s.listen", kpt_dir(), name);
	if ((f = fopen(lpath, "r")) != NULL) {
		if (fgets(own, sizeof(own), f) != NULL) {
			own[strcspn(own, "\n")] = '\0';
			*listen = own;
		}
		fclose(f);
	}
	if (bindir != NULL)
		kpt_path(bin, len, "%s/keyport-%s", bindir, base);
	else
		kpt_path(bin, len, "%s/build/bin/keyport-%s", kpt_root(), base);
}

static void
kpt_pidfile(const char *name, char *buf, size_t len)
{
	kpt_path(buf, len, "%s/pids/%s.pid", kpt_dir(), name);
}

static pid_t
kpt_pid_of(const char *name)
{
	char path[512];
	FILE *f;
	long pid = 0;

	kpt_pidfile(name, path, sizeof(path));
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* A pid is gone when it no longer exists or is a zombie (its parent, the
 * runner, reaps it later). */
static int
kpt_gone(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;
	int gone = 1;

	if (pid <= 0 || kill(pid, 0) != 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		gone = p[2] == 'Z' || p[2] == 'X';
	fclose(f);
	return gone;
}

/* Sanitizer settings of a stack process (used only by `make SAN=1`
 * builds; other binaries ignore them): the inherited ASAN_/UBSAN_OPTIONS,
 * then stop at the first error, check leaks at exit (services free
 * everything on SIGTERM) with the tree's suppressions, and write every
 * report to <KPT_DIR>/san/<name>.<pid>, where kpt_stack_stop finds it. */
static void
kpt_san_env(const char *name, char *asan, char *ubsan, char *lsan, size_t len)
{
	const char *a = getenv("ASAN_OPTIONS"), *u = getenv("UBSAN_OPTIONS");
	const char *l = getenv("LSAN_OPTIONS");

	kpt_path(asan, len,
		 "%s:halt_on_error=1:detect_leaks=1:log_path=%s/san/%s",
		 a ? a : "", kpt_dir(), name);
	kpt_path(ubsan, len,
		 "%s:halt_on_error=1:print_stacktrace=1:log_path=%s/san/%s",
		 u ? u : "", kpt_dir(), name);
	kpt_path(lsan, len, "suppressions=%s/tests/harness/lsan.supp:%s",
		 kpt_root(), l ? l : "");
}

static void
kpt_spawn(const char *name)
{
	char bin[512], logp[512], pidp[512];
	char asan[1024], ubsan[1024], lsan[1024];
	const char *listen;
	pid_t pid = -1, mid;
	int pfd[2];
	FILE *f;

	kpt_binary(name, bin, sizeof(bin), &listen);
	kpt_path(logp, sizeof(logp), "%s/logs/%s.log", kpt_dir(), name);
	kpt_san_env(name, asan, ubsan, lsan, sizeof(asan));
	/* Double fork: the service is not a child of the Criterion runner
	 * (whose reaper loops on unknown children when they die) nor of a
	 * test worker; the pid comes back through a pipe. */
	if (pipe2(pfd, O_CLOEXEC) != 0)
		kpt_die("pipe: %s", strerror(errno));
	mid = fork();
	if (mid < 0)
		kpt_die("fork: %s", strerror(errno));
	if (mid == 0) {
		pid = fork();
		if (pid == 0) {
			int fd =
			    open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
			sigset_t none;
			setpgid(0, 0);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
				close(fd);
			}
			/* keep Criterion's IPC descriptors out of it */
			close_range(3, ~0U, 0);
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			if (listen != NULL) {
				/* a replica: its own metrics port too */
				char var[64], val[16];
				int mp;

				setenv("KEYPORT_LISTEN_URL", listen, 1);
				snprintf(var, sizeof(var),
				         "KEYPORT_%.*s_METRICS_PORT",
				         (int)strcspn(name, "#"), name);
				for (char *p = var; *p; p++)
					if (*p >= 'a' && *p <= 'z')
						*p = (char)(*p - 'a' + 'A');
				kpt_free_ports(&mp, 1);
				snprintf(val, sizeof(val), "%d", mp);
				setenv(var, val, 1);
			}
			setenv("ASAN_OPTIONS", asan, 1);
			setenv("UBSAN_OPTIONS", ubsan, 1);
			setenv("LSAN_OPTIONS", lsan, 1);
			execl(bin, bin, (char *)NULL);
			fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
			_exit(127);
		}
		if (write(pfd[1], &pid, sizeof(pid)) != sizeof(pid))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &pid, sizeof(pid)) != sizeof(pid) || pid <= 0)
		kpt_die("cannot start %s", name);
	close(pfd[0]);
	while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
		;
	kpt_pidfile(name, pidp, sizeof(pidp));
	if ((f = fopen(pidp, "w")) == NULL)
		kpt_die("cannot write %s", pidp);
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
}

void
kpt_kill(const char *name, int sig)
{
	pid_t pid = kpt_pid_of(name);

	if (pid <= 0)
		return;
	kill(pid, sig);
	if (sig != SIGKILL)
		return;
	for (int i = 0; i < 500 && !kpt_gone(pid); i++)
		usleep(10000);
}

void
kpt_restart(const char *name)
{
	kpt_spawn(name);
}

void
kpt_pg_restart(void)
{
	kpt_sh("PG_FAST=1 '%s/scripts/pg.sh' stop '%s/pg' && PG_FAST=1 "
	       "'%s/scripts/pg.sh' start '%s/pg'",
	       kpt_root(), kpt_dir(), kpt_root(), kpt_dir());
}

static char kpt_url_buf[64];

const char *
kpt_service_url(const char *service)
{
	char var[64];

	snprintf(var, sizeof(var), "KEYPORT_%s_URL", service);
	for (char *p = var; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return kpt_env(var);
}

const char *
kpt_metrics_url(const char *process)
{
	static char url[8][96];
	static int next;
	char var[64];
	const char *port;
	char *out = url[next++ % 8];

	snprintf(var, sizeof(var), "KEYPORT_%s_METRICS_PORT", process);
	for (char *p = var; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	port = kpt_env(var);
	snprintf(out, 96, "http://127.0.0.1:%s/metrics", port);
	return out;
}

int
kpt_wait_ready(double timeout_s)
{
	double end = kpt_now() + timeout_s;

	while (kpt_now() < end) {
		kpt_resp r;
		if (kpt_http("GET", "/readyz", NULL, NULL, NULL, &r) == 0 &&
		    r.status == 200) {
			kpt_resp_free(&r);
			return 0;
		}
		kpt_resp_free(&r);
		usleep(50000);
	}
	return -1;
}

/* Without KEYPORT_BIN_DIR, the binaries of the build this test binary
 * belongs to (<build>/test/it-x -> <build>/bin): a test binary of
 * build-san/ run by hand then starts the sanitized services too. */
static void
kpt_default_bin_dir(void)
{
	char exe[512], *p;
	ssize_t n;

	if (getenv("KEYPORT_BIN_DIR") != NULL)
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
	if (n <= 0)
		return;
	exe[n] = '\0';
	for (int i = 0; i < 2; i++)
		if ((p = strrchr(exe, '/')) != NULL)
			*p = '\0';
	strcat(exe, "/bin");
	if (p != NULL && access(exe, X_OK) == 0)
		setenv("KEYPORT_BIN_DIR", exe, 1);
}

void
kpt_stack_start(const kpt_opts *o)
{
	char dir[] = "/tmp/keyport-it-XXXXXX";
	char buf[1024], pw[64];
	int ports[2 * KPT_NSVC + 3], *mports = ports + KPT_NSVC + 2;
	unsigned char rnd[12];
	FILE *f;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	kpt_default_bin_dir();
	if (mkdtemp(dir) == NULL)
		kpt_die("mkdtemp: %s", strerror(errno));
	chmod(dir, 0755); /* PostgreSQL runs as nobody when we are root */
	setenv("KPT_DIR", dir, 1);
	kpt_sh("mkdir -p '%s/pids' '%s/data' '%s/san' && mkdir -m 0700 "
	       "'%s/secrets' '%s/logs'",
	       dir, dir, dir, dir, dir);

	/* PostgreSQL first: a private throw-away cluster. */
	kpt_sh("PG_FAST=1 '%s/scripts/pg.sh' start '%s/pg'", kpt_root(), dir);
	snprintf(buf, sizeof(buf), "'%s/scripts/pg.sh' url '%s/pg'",
		 kpt_root(), dir);
	if ((f = popen(buf, "r")) == NULL || fgets(buf, sizeof(buf), f) == NULL)
		kpt_die("cannot read the database URL");
	pclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	setenv("KEYPORT_DATABASE_URL", buf, 1);

	kpt_free_ports(ports, 2 * KPT_NSVC + 3);
	for (int i = 0; i < KPT_NSVC; i++) {
		char var[64], url[64];
		snprintf(var, sizeof(var), "KEYPORT_%s_URL", kpt_services[i]);
		for (char *p = var; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", ports[i]);
		setenv(var, url, 1);
	}
	if (o != NULL && o->activation_replicas >= 2) {
		char both[160], second[64];
		snprintf(second, sizeof(second), "tls+tcp://127.0.0.1:%d",
		         ports[KPT_NSVC + 1]);
		snprintf(both, sizeof(both), "%s,%s",
			 getenv("KEYPORT_ACTIVATION_URL"), second);
		setenv("KPT_ACTIVATION2_URL", second, 1);
		setenv("KEYPORT_ACTIVATION_URL", both, 1);
	}
	/* every process's metrics port (kpt_metrics_url) */
	for (int i = 0; i <= KPT_NSVC; i++) {
		char var[64];

		snprintf(var, sizeof(var), "KEYPORT_%s_METRICS_PORT",
		         i < KPT_NSVC ? kpt_services[i] : "gateway");
		for (char *p = var; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		snprintf(buf, sizeof(buf), "%d", mports[i]);
		setenv(var, buf, 1);
	}
	snprintf(buf, sizeof(buf), "%d", ports[KPT_NSVC]);
	setenv("KEYPORT_HTTP_PORT", buf, 1);
	snprintf(kpt_url_buf, sizeof(kpt_url_buf), "http://127.0.0.1:%d",
		 ports[KPT_NSVC]);
	setenv("KPT_URL", kpt_url_buf, 1);
	snprintf(buf, sizeof(buf), "%s/secrets", dir);
	setenv("KEYPORT_SECRET_DIR", buf, 1);
	/* the bus's CA and credentials; the tests' own RPC clients speak as
	 * the harness's identity, which plays every caller under the test flag
	 * (a test may take a real identity with kp_bus_init) */
	kpt_sh("'%s/scripts/bus-certs.sh' init '%s/secrets/bus' && "
	       "'%s/scripts/bus-certs.sh' issue '%s/secrets/bus' kpt "
	       ">/dev/null",
	       kpt_root(), dir, kpt_root(), dir);
	setenv("KEYPORT_BUS_IDENTITY", "kpt", 1);
	snprintf(buf, sizeof(buf), "%s/data", dir);
	setenv("KEYPORT_DATA_DIR", buf, 1);
	snprintf(buf, sizeof(buf), "%s/web", kpt_root());
	setenv("KEYPORT_WEB_DIR", buf, 0); /* a test may bring its own */
	setenv("KEYPORT_ADMIN_EMAIL", "admin@example.com", 1);
	f = fopen("/dev/urandom", "r");
	if (f == NULL || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd))
		kpt_die("cannot read /dev/urandom");
	fclose(f);
	snprintf(pw, sizeof(pw), "Adm1n-");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(pw + strlen(pw), 3, "%02x", rnd[i]);
	setenv("KEYPORT_ADMIN_PASSWORD", pw, 1);
	setenv("KEYPORT_LOG_LEVEL", "debug", 1);
	setenv("KEYPORT_TEST_CLOCK", "1", 1);
	setenv("KEYPORT_DB_WAIT_SECONDS", "30", 1);
	for (size_t i = 0; o != NULL && i < KPT_NENV && o->env[i] != NULL; i++) {
		const char *eq = strchr(o->env[i], '=');

		if (eq == NULL || eq == o->env[i])
			kpt_die("kpt_opts.env: not NAME=value: %s", o->env[i]);
		snprintf(buf, sizeof(buf), "%.*s", (int)(eq - o->env[i]),
			 o->env[i]);
		setenv(buf, eq + 1, 1);
	}

	for (int i = 0; i < KPT_NSVC; i++)
		kpt_spawn(kpt_services[i]);
	if (o != NULL && o->activation_replicas >= 2)
		kpt_spawn("activation#2");
	kpt_spawn("gateway");
	if (kpt_wait_ready(60) != 0)
		kpt_die("the stack was not ready within 60 s; logs in %s/logs",
			dir);
}

/* Sanitizer reports written by stack processes (kpt_san_env); main() fails
 * the test binary when there was any. */
static int kpt_san_reports;

/* Whether a line starts or is a sanitizer report. */
static int
kpt_san_line(const char *line)
{
	return (strstr(line, "==ERROR: ") != NULL &&
		strstr(line, "Sanitizer") != NULL) ||
	       strstr(line, ": runtime error: ") != NULL;
}

/* Prints every sanitizer report to stderr and counts it: the files under
 * <dir>/san (kpt_san_env), and reports in <dir>/logs/ from processes that
 * tests start themselves (printed from the first report line on). A
 * service that died of one otherwise only shows as 503s in later tests. */
static void
kpt_san_collect(const char *dir)
{
	static const char *const sub[] = {"san", "logs"};
	char path[1024], line[1024];
	struct dirent *e;
	DIR *d;
	FILE *f;

	for (int s = 0; s < 2; s++) {
		kpt_path(path, sizeof(path), "%s/%s", dir, sub[s]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			int on = s == 0;

			if (e->d_name[0] == '.')
				continue;
			kpt_path(path, sizeof(path), "%s/%s/%s", dir, sub[s],
				 e->d_name);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			while (fgets(line, sizeof(line), f) != NULL) {
				if (!on && kpt_san_line(line))
					on = 1;
				else if (!on)
					continue;
				if (on == 1) {
					kpt_san_reports++;
					fprintf(stderr,
						"kpt: SANITIZER REPORT from a "
						"stack process (%s/%s):\n",
						sub[s], e->d_name);
					on = 2;
				}
				fputs(line, stderr);
			}
			fclose(f);
		}
		closedir(d);
	}
}

void
kpt_stack_stop(void)
{
	static const char *const names[] = {"gateway", "auth", "org",
					    "license", "activation",
					    "activation#2", "release"};
	const char *dir = getenv("KPT_DIR");
	const char *hosts = getenv("KPT_HOSTS");
	/* the fixed names, then the replicas of kpt_replica_start */
	enum { KPT_MAXP = 7 + 24 };
	char extra[KPT_MAXP][64];
	const char *all[KPT_MAXP];
	pid_t pids[KPT_MAXP];
	int n = 7;

	if (dir == NULL)
		return;
	for (int i = 0; i < 7; i++)
		all[i] = names[i];
	{
		char path[1024];
		struct dirent *e;
		DIR *d;

		kpt_path(path, sizeof(path), "%s/pids", dir);
		for (d = opendir(path); d != NULL && n < KPT_MAXP &&
		                        (e = readdir(d)) != NULL;) {
			size_t len = strlen(e->d_name);
			int known = 0;

			if (len <= 4 || len >= sizeof(extra[0]) + 4 ||
			    strcmp(e->d_name + len - 4, ".pid") != 0)
				continue;
			snprintf(extra[n], sizeof(extra[n]), "%.*s",
			         (int)(len - 4), e->d_name);
			for (int i = 0; i < 7; i++)
				known |= strcmp(extra[n], names[i]) == 0;
			if (!known) {
				all[n] = extra[n];
				n++;
			}
		}
		if (d != NULL)
			closedir(d);
	}
	for (int i = 0; i < n; i++) {
		pids[i] = kpt_pid_of(all[i]);
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	}
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 500 && !kpt_gone(pids[i]); k++)
			usleep(10000);
		if (!kpt_gone(pids[i])) {
			/* no exit, so no leak check either: say so */
			fprintf(stderr, "kpt: %s ignored SIGTERM for 5 s; "
					"killed\n",
				all[i]);
			kill(pids[i], SIGKILL);
		}
		if (pids[i] > 0)
			waitpid(pids[i], NULL, WNOHANG);
	}
	/* only now: nss_wrapper crashes on a hosts file that vanished */
	if (hosts != NULL) {
		unlink(hosts);
		unsetenv("KPT_HOSTS");
	}
	kpt_san_collect(dir);
	if (system(NULL)) {
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "'%s/scripts/pg.sh' stop '%s/pg'",
			 kpt_root(), dir);
		if (system(cmd) != 0)
			fprintf(stderr, "kpt: stopping PostgreSQL failed\n");
		if (getenv("KPT_KEEP") == NULL) {
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
			if (system(cmd) != 0)
				fprintf(stderr, "kpt: cannot remove %s\n", dir);
		} else {
			fprintf(stderr, "kpt: kept %s\n", dir);
		}
	}
	unsetenv("KPT_DIR");
}

/* ---- replicas found by name ------------------------------------------- */

static char kpt_names_buf[4][1200];

static void
kpt_hosts_write(const char *path, const char *hosts)
{
	char tmp[1100];
	FILE *f;

	kpt_path(tmp, sizeof(tmp), "%s.new", path);
	if ((f = fopen(tmp, "w")) == NULL)
		kpt_die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "127.0.0.1 localhost\n%s", hosts ? hosts : "");
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		kpt_die("cannot replace %s: %s", path, strerror(errno));
}

void
kpt_names_env(kpt_opts *o, const char *hosts)
{
	const char *asan = getenv("ASAN_OPTIONS");
	char path[] = "/tmp/kpt-hosts-XXXXXX";
	size_t free_at = 0;
	int fd;

	while (free_at < KPT_NENV && o->env[free_at] != NULL)
		free_at++;
	if (free_at + 4 > KPT_NENV)
		kpt_die("kpt_names_env: no room for 4 settings in kpt_opts.env");
	if ((fd = mkstemp(path)) < 0)
		kpt_die("mkstemp: %s", strerror(errno));
	close(fd);
	setenv("KPT_HOSTS", path, 1);
	kpt_hosts_write(path, hosts);
	/* the preloaded library comes before ASan's runtime: tell it */
	kpt_path(kpt_names_buf[0], sizeof(kpt_names_buf[0]),
	         "ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "",
	         asan && asan[0] ? ":" : "");
	kpt_path(kpt_names_buf[1], sizeof(kpt_names_buf[1]),
	         "NSS_WRAPPER_HOSTS=%s", path);
	kpt_path(kpt_names_buf[2], sizeof(kpt_names_buf[2]),
	         "LD_PRELOAD=libnss_wrapper.so");
	/* its dlopen of libc with RTLD_DEEPBIND is refused by ASan */
	kpt_path(kpt_names_buf[3], sizeof(kpt_names_buf[3]),
	         "NSS_WRAPPER_DISABLE_DEEPBIND=1");
	for (int i = 0; i < 4; i++)
		o->env[free_at + i] = kpt_names_buf[i];
}

void
kpt_names_set(const char *hosts)
{
	kpt_hosts_write(kpt_env("KPT_HOSTS"), hosts);
}

void
kpt_replica_start(const char *name, const char *listen_url)
{
	char path[512];
	FILE *f;

	kpt_path(path, sizeof(path), "%s/pids/%s.listen", kpt_dir(), name);
	if ((f = fopen(path, "w")) == NULL)
		kpt_die("cannot write %s", path);
	fprintf(f, "%s\n", listen_url);
	fclose(f);
	kpt_spawn(name);
}

long long
kpt_served(const char *service, const char *url, int timeout_ms)
{
	Keyport__HealthReply *hr = NULL;
	kp_rpc_client *c = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	char method[64];
	long long served = -1;

	snprintf(method, sizeof(method), "%s.Health", service);
	call.method = method;
	call.timeout_ms = timeout_ms;
	call.idempotent = true;
	if (kp_rpc_client_open(&c, service, url) != KP_OK)
		return -1;
	for (int i = 0; i < timeout_ms / 20 && kp_rpc_client_pipes(c) == 0;
	     i++)
		usleep(20000);
	if (kp_rpc_invoke(c, &call, NULL, &keyport__health_reply__descriptor,
	                  (ProtobufCMessage **)&hr, &res) == KP_OK) {
		served = (long long)hr->served;
		keyport__health_reply__free_unpacked(hr, NULL);
	}
	kp_rpc_client_close(c);
	return served;
}

int
kpt_log_count(const char *name, const char *needle)
{
	char path[512], line[4096];
	int n = 0;
	FILE *f;

	kpt_path(path, sizeof(path), "%s/logs/%s.log", kpt_dir(), name);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* ---- HTTP -------------------------------------------------------------- */

typedef struct kpt_buf {
	char *p;
	size_t len;
} kpt_buf;

static size_t
kpt_collect(char *data, size_t size, size_t n, void *arg)
{
	kpt_buf *b = arg;
	size_t add = size * n;
	char *np = realloc(b->p, b->len + add + 1);

	if (np == NULL)
		return 0;
	memcpy(np + b->len, data, add);
	b->p = np;
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

int
kpt_http_raw(const char *method, const char *path, const char *token,
	     const void *body, size_t len, const char *content_type,
	     const char *const *extra_headers, kpt_resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	kpt_buf b = {0}, hb = {0};
	char url[2048], line[4096];
	double t0 = kpt_now();
	CURLcode cr;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	if (strncmp(path, "http://", 7) ==
	    0) /* a whole URL (kpt_metrics_url) */
		snprintf(url, sizeof(url), "%s", path);
	else
		snprintf(url, sizeof(url), "%s%s", kpt_url(), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kpt_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, kpt_collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (body != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s",
			 content_type ? content_type : "application/json");
		h = curl_slist_append(h, line);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
	}
	/* Small bodies go at once. A large one asks first (100-continue), as
	 * real clients do: a gateway that refuses it early (413) answers
	 * before the upload, instead of closing the connection mid-upload,
	 * which can reset the connection before the answer is read. */
	h = curl_slist_append(h, body != NULL && len > 65536
				     ? "Expect: 100-continue"
				     : "Expect:");
	for (int i = 0; extra_headers != NULL && extra_headers[i] != NULL; i++)
		h = curl_slist_append(h, extra_headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cr = curl_easy_perform(c);
	if (cr == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	out->seconds = kpt_now() - t0;
	out->body = b.p ? b.p : strdup("");
	out->len = b.len;
	out->headers = hb.p ? hb.p : strdup("");
	out->json = out->len ? json_loadb(out->body, out->len, 0, NULL) : NULL;
	return cr == CURLE_OK ? 0 : -1;
}

int
kpt_http(const char *method, const char *path, const char *token,
	 const char *body, const char *const *extra_headers, kpt_resp *out)
{
	return kpt_http_raw(method, path, token, body,
			    body ? strlen(body) : 0, "application/json",
			    extra_headers, out);
}

char *
kpt_header(const kpt_resp *r, const char *name)
{
	size_t n = strlen(name);
	const char *p = r->headers;

	while (p != NULL && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
		if (linelen > n + 1 && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			return strndup(v, linelen - (size_t)(v - p));
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

const char *
kpt_error_code(const kpt_resp *r)
{
	const char *s = NULL;

	if (r->json != NULL)
		json_unpack(r->json, "{s:{s:s}}", "error", "code", &s);
	return s ? s : "";
}

void
kpt_resp_free(kpt_resp *r)
{
	free(r->body);
	free(r->headers);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

char *
kpt_jsonf(const char *fmt, ...)
{
	va_list ap;
	json_error_t err;
	json_t *v;
	char *s;

	va_start(ap, fmt);
	v = json_vpack_ex(&err, 0, fmt, ap);
	va_end(ap);
	if (v == NULL) {
		fprintf(stderr, "kpt_jsonf: %s\n", err.text);
		abort();
	}
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

int
kpt_log_grep(const char *needle)
{
	char cmd[2048];
	FILE *f;
	int n = 0;

	if (strchr(needle, '\'') != NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "cat '%s'/logs/*.log | grep -c -F -e '%s'",
		 kpt_dir(), needle);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	pclose(f);
	return n;
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	kpt_stack_stop();
}

/* Criterion's own main, plus: a sanitizer report of any stack process
 * fails the test binary even when every test passed. */
int
main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	int rv = 0;

	if (criterion_handle_args(argc, argv, true))
		rv = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	if (kpt_san_reports > 0) {
		fprintf(stderr, "kpt: FAILED: %d sanitizer report(s) from the "
				"stack (above)\n",
			kpt_san_reports);
		rv = 1;
	}
	return rv;
}

void
kpt_set_clock(const char *service, long long seconds)
{
	kp_rpc_client *c = NULL;
	Keyport__ClockOffset req = KEYPORT__CLOCK_OFFSET__INIT;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	char method[96];
	int rv;

	snprintf(method, sizeof(method), "%s.SetClockOffset", service);
	req.seconds = seconds;
	call.method = method;
	call.timeout_ms = 5000;
	call.idempotent = true;
	cr_assert_eq(kp_rpc_client_open(&c, service, kpt_service_url(service)),
		     KP_OK);
	for (int i = 0; i < 50 && kp_rpc_client_pipes(c) == 0; i++)
		usleep(20000);
	rv = kp_rpc_invoke(c, &call, &req.base, NULL, NULL, &res);
	kp_rpc_client_close(c);
	cr_assert_eq(rv, KP_OK, "%s: %s", method, res.message);
}

char *
kpt_login(const char *email, const char *password)
{
	char *body =
	    kpt_jsonf("{s:s, s:s}", "email", email, "password", password);
	const char *tok;
	char *out;
	kpt_resp r;

	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
		     0, "login %s: no answer", email);
	free(body);
	cr_assert_eq(r.status, 200, "login %s: %s", email, r.body);
	tok = json_string_value(json_object_get(r.json, "accessToken"));
	cr_assert_not_null(tok, "login %s: no accessToken", email);
	out = strdup(tok);
	cr_assert_not_null(out);
	kpt_resp_free(&r);
	return out;
}

const char *
kpt_admin_token(void)
{
	static char *tok;

	if (tok == NULL)
		tok = kpt_login(kpt_admin_email(), kpt_admin_password());
	return tok;
}
