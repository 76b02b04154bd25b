/* kpt_pg: a throw-away PostgreSQL for store unit tests (see kpt_pg.h). */
#include "kpt_pg.h"

#include "kp_err.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs scripts/pg.sh cmd dir with PG_FAST=1; with out, its standard output
 * is read into out (len bytes, NUL-terminated). Not system(): PostgreSQL
 * must not inherit Criterion's IPC descriptors, or the runner waits on them
 * forever. Returns the exit status (-1 when it could not run). */
static int
kpt_pg_sh(const char *cmd, const char *dir, char *out, size_t len)
{
	const char *root = getenv("KEYPORT_ROOT");
	char script[1024];
	char *argv[] = {script, (char *)cmd, (char *)dir, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2] = {-1, -1}, status = -1;
	size_t got = 0;
	ssize_t n;
	pid_t pid = -1;

	snprintf(script, sizeof(script), "%s/scripts/pg.sh", root ? root : ".");
	setenv("PG_FAST", "1", 1);
	if (out != NULL && pipe(fds) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	if (out != NULL)
		posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (posix_spawn(&pid, script, &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	if (out != NULL) {
		close(fds[1]);
		while (got + 1 < len &&
		       (n = read(fds[0], out + got, len - 1 - got)) > 0)
			got += (size_t)n;
		out[got] = '\0';
		close(fds[0]);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return pid > 0 ? status : -1;
}

void
kpt_pg_start(void)
{
	char dir[] = "/tmp/keyport-store-XXXXXX", pg[64], url[1024];

	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "kpt_pg: mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	chmod(dir, 0755); /* PostgreSQL runs as nobody when we are root */
	snprintf(pg, sizeof(pg), "%s/pg", dir);
	setenv("KPT_PG_DIR", dir, 1);
	if (kpt_pg_sh("start", pg, NULL, 0) != 0 ||
	    kpt_pg_sh("url", pg, url, sizeof(url)) != 0) {
		fprintf(stderr, "kpt_pg: cannot start PostgreSQL in %s\n", pg);
		kpt_pg_stop();
		exit(1);
	}
	url[strcspn(url, "\n")] = '\0';
	setenv("KPT_PG_URL", url, 1);
}

void
kpt_pg_stop(void)
{
	const char *dir = getenv("KPT_PG_DIR");
	char pg[64], cmd[128];

	if (dir == NULL)
		return;
	snprintf(pg, sizeof(pg), "%s/pg", dir);
	if (kpt_pg_sh("stop", pg, NULL, 0) != 0)
		fprintf(stderr, "kpt_pg: stopping PostgreSQL failed\n");
	if (getenv("KPT_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "kpt_pg: cannot remove %s\n", dir);
	} else {
		fprintf(stderr, "kpt_pg: kept %s\n", dir);
	}
	unsetenv("KPT_PG_DIR");
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	kpt_pg_stop();
}

kp_db *
kpt_pg_open(const char *schema, const kp_migration *m, size_t n)
{
	const char *url = getenv("KPT_PG_URL");
	kp_db *db = NULL;

	cr_assert_not_null(url, "KPT_PG_URL is not set (KPT_PG_SUITE?)");
	cr_assert_eq(kp_db_open(&db, url, schema, 0), KP_OK,
	             "cannot connect to %s", url);
	cr_assert_eq(kp_migrate(db, schema, m, n), KP_OK,
	             "the %s migrations failed", schema);
	return db;
}

char *
kpt_pg_uuid(char out[37])
{
	unsigned char b[16];
	FILE *f = fopen("/dev/urandom", "r");

	cr_assert(f != NULL && fread(b, 1, sizeof(b), f) == sizeof(b));
	fclose(f);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
	         "%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
	         b[10], b[11], b[12], b[13], b[14], b[15]);
	return out;
}
