/* KEYPORT_AUTH_KEY_ROTATION=external, the Kubernetes way of holding the
 * access-token keys (a read-only Secret made by scripts/k8s-init.sh): auth
 * signs with the newest key it is given, creates, rotates and deletes
 * nothing (not even with its clock two months on), and refuses to start
 * without a key. Its own stack: the test restarts auth and moves its
 * clock. */
#include "kp_access.h"
#include "kp_err.h"
#include "kpt.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

KPT_SUITE(0)

#define DAY 86400LL

/* Logs the admin in and writes the access token's kid; returns the HTTP
 * status. */
static long
login_kid(char kid[KP_ACCESS_KID_MAX])
{
	char *body = kpt_jsonf("{s:s, s:s}", "email", kpt_admin_email(),
	                       "password", kpt_admin_password());
	long status;
	kpt_resp r;

	kid[0] = '\0';
	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
	             0);
	free(body);
	status = r.status;
	if (status == 200)
		cr_assert_eq(kp_access_kid(json_string_value(json_object_get(
		                               r.json, "accessToken")),
		                           kid, KP_ACCESS_KID_MAX),
		             KP_OK);
	kpt_resp_free(&r);
	return status;
}

/* The entries of the key directory, "." and ".." left out. */
static int
entries(void)
{
	char dir[1024];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/secrets/auth-keys", kpt_dir());
	cr_assert_not_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Removes every entry of the key directory. */
static void
empty_dir(void)
{
	char dir[1024], path[1400];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/secrets/auth-keys", kpt_dir());
	cr_assert_not_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' &&
		    (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

/* Waits (bounded) for the gateway to log in again after auth restarted. */
static long
login_when_back(char kid[KP_ACCESS_KID_MAX])
{
	long st = 0;

	for (int i = 0; i < 300 && st != 200; i++) {
		if ((st = login_kid(kid)) != 200)
			usleep(100000);
	}
	return st;
}

Test(authkeys, external_keys_sign_and_are_never_rotated, .timeout = 120)
{
	char kid[KP_ACCESS_KID_MAX], path[1400], name[64];
	unsigned char pk[32], sk[64];
	time_t now = time(NULL);
	struct tm tm;
	int fd, before;

	/* auth made its own key at start (self); now it is given one of the
	 * operator's, newer, in the directory k8s-init.sh would fill */
	kpt_kill("auth", SIGKILL);
	empty_dir();
	gmtime_r(&now, &tm);
	snprintf(name, sizeof(name), "%04d%02d%02d%02d%02d%02d-0badc0de",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec);
	cr_assert_geq(sodium_init(), 0);
	crypto_sign_keypair(pk, sk);
	snprintf(path, sizeof(path), "%s/secrets/auth-keys/%s.key", kpt_dir(),
	         name);
	cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
	cr_assert_eq(write(fd, sk, sizeof(sk)), (ssize_t)sizeof(sk));
	close(fd);
	setenv("KEYPORT_AUTH_KEY_ROTATION", "external", 1);
	kpt_restart("auth");
	cr_assert_eq(login_when_back(kid), 200);
	cr_assert_str_eq(kid, name, "signed with %s, not the given key", kid);
	before = entries();
	cr_assert_eq(before, 1, "auth wrote into the external directory");

	/* two months on, a self-rotating auth would make a new key (and
	 * its lock file): this one signs with the given key still */
	kpt_set_clock("auth", 60 * DAY);
	cr_assert_eq(login_kid(kid), 200);
	cr_assert_str_eq(kid, name);
	cr_assert_eq(entries(), before, "auth rotated an external key");
	kpt_set_clock("auth", 0);

	/* no key at all: auth refuses to start, saying why */
	kpt_kill("auth", SIGKILL);
	empty_dir();
	kpt_restart("auth");
	for (int i = 0; i < 300 && kpt_log_grep("no access-token key in") == 0;
	     i++)
		usleep(100000);
	cr_assert_gt(kpt_log_grep("no access-token key in"), 0);
	cr_assert_eq(entries(), 0, "auth created a key in external mode");
}
