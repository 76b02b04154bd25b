/* auth_keys: the Ed25519 keys that sign access tokens.
 *
 * Each key is a file KEYPORT_SECRET_DIR/auth-keys/<kid>.key holding the
 * 64-byte libsodium secret key, mode 0600. Key ids sort by creation time
 * (UTC timestamp + random suffix): the newest signs, every key verifies.
 * On first start one key is made under an flock, so two replicas starting
 * together agree. Rotation: KEYPORT_AUTH_KEY_MAX_AGE_DAYS (default 30) -
 * a newest key older than that makes a new one at start; to retire an old
 * key, delete its file once its tokens have expired (15 minutes).
 */
#include "auth_app.h"

#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUTH_KEYS_MAX KP_TOKEN_MAX_KEYS

static int
auth_keys_cmp(const void *a, const void *b)
{
	/* newest first */
	return -strcmp(((const auth_signing_key *)a)->kid,
	               ((const auth_signing_key *)b)->kid);
}

/* Creates a new key file in dir. Returns a kp_status. */
static int
auth_keys_create(const char *dir)
{
	unsigned char pk[32], *sk = sodium_malloc(64);
	unsigned char rnd[4];
	char kid[KP_TOKEN_KID_MAX], path[4200];
	struct tm tm;
	time_t now = (time_t)kp_now();
	int fd = -1, rv = KP_EINTERNAL;

	if (sk == NULL)
		return KP_EINTERNAL;
	randombytes_buf(rnd, sizeof(rnd));
	gmtime_r(&now, &tm);
	snprintf(kid, sizeof(kid), "%04d%02d%02d%02d%02d%02d-%02x%02x%02x%02x",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, rnd[0], rnd[1], rnd[2], rnd[3]);
	snprintf(path, sizeof(path), "%s/%s.key", dir, kid);
	crypto_sign_keypair(pk, sk);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		kp_log_error("cannot create signing key %s: %s", path,
		             strerror(errno));
		goto out;
	}
	if (write(fd, sk, 64) != 64 || fsync(fd) != 0) {
		kp_log_error("cannot write signing key %s", path);
		unlink(path);
		goto out;
	}
	kp_log_info("created access-token signing key %s", kid);
	rv = KP_OK;
out:
	if (fd >= 0)
		close(fd);
	sodium_free(sk);
	return rv;
}

/* Reads every key of dir into app. Returns a kp_status. */
static int
auth_keys_read(auth_app *app, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rv = KP_OK;

	if (d == NULL)
		return KP_EINTERNAL;
	app->nkeys = 0;
	while ((e = readdir(d)) != NULL && app->nkeys < AUTH_KEYS_MAX) {
		size_t n = strlen(e->d_name);
		auth_signing_key *k = &app->keys[app->nkeys];
		char path[4096];
		int fd;

		if (n < 5 || n - 4 >= KP_TOKEN_KID_MAX ||
		    strcmp(e->d_name + n - 4, ".key") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, k->sk, 64) != 64) {
			kp_log_error("cannot read signing key %s", e->d_name);
			if (fd >= 0)
				close(fd);
			rv = KP_EINTERNAL;
			break;
		}
		close(fd);
		memcpy(k->kid, e->d_name, n - 4);
		k->kid[n - 4] = '\0';
		crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
		app->nkeys++;
	}
	closedir(d);
	qsort(app->keys, app->nkeys, sizeof(app->keys[0]), auth_keys_cmp);
	return rv;
}

/* The age in seconds of a kid's timestamp (0 when unreadable). */
static int64_t
auth_keys_age(const char *kid)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(kid, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return kp_now() - (int64_t)timegm(&tm);
}

int
auth_keys_load(auth_app *app)
{
	const char *base = kp_config_str("KEYPORT_SECRET_DIR", "var/secrets");
	char dir[4096], lock[4200];
	int64_t max_age;
	int fd = -1, rv = KP_EINTERNAL;

	if (kp_config_int("KEYPORT_AUTH_KEY_MAX_AGE_DAYS", 30, 1, 3650,
	                  &max_age) != KP_OK)
		return KP_EINVAL;
	app->keys = sodium_allocarray(AUTH_KEYS_MAX, sizeof(*app->keys));
	if (app->keys == NULL)
		return KP_EINTERNAL;
	snprintf(dir, sizeof(dir), "%s/auth-keys", base);
	if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		kp_log_error("cannot create KEYPORT_SECRET_DIR %s: %s", base,
		             strerror(errno));
		return KP_EINTERNAL;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		kp_log_error("cannot create %s: %s", dir, strerror(errno));
		return KP_EINTERNAL;
	}
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		kp_log_error("cannot lock %s", lock);
		goto out;
	}
	if ((rv = auth_keys_read(app, dir)) != KP_OK)
		goto out;
	if (app->nkeys == 0 ||
	    auth_keys_age(app->keys[0].kid) > max_age * 86400) {
		if ((rv = auth_keys_create(dir)) != KP_OK ||
		    (rv = auth_keys_read(app, dir)) != KP_OK)
			goto out;
	}
	rv = app->nkeys > 0 ? KP_OK : KP_EINTERNAL;
	sodium_mprotect_readonly(app->keys);
	kp_log_info("%zu access-token key(s); signing with %s", app->nkeys,
	            app->nkeys ? app->keys[0].kid : "-");
out:
	if (fd >= 0)
		close(fd);
	return rv;
}

void
auth_keys_free(auth_app *app)
{
	if (app->keys != NULL)
		sodium_free(app->keys);
	app->keys = NULL;
	app->nkeys = 0;
}
