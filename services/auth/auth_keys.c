/* auth_keys: the Ed25519 keys that sign access tokens.
 *
 * Each key is a file KEYPORT_SECRET_DIR/auth-keys/<kid>.key holding the
 * 64-byte libsodium secret key, mode 0600. Key ids sort by creation time
 * (UTC timestamp + random suffix): the newest signs, every key verifies.
 * Replicas share the directory; every change of it happens under an flock
 * of auth-keys/.lock, so replicas agree on who creates or deletes a key.
 *
 * Rotation while running: at most once per KEYPORT_AUTH_KEY_CHECK_SECONDS
 * (default 3600) of kp_now(), the signing path (auth_keys_check, before a
 * token is signed) rereads the directory and, when the newest key is older
 * than KEYPORT_AUTH_KEY_MAX_AGE_DAYS (default 30), makes a new one, which
 * signs from then on. auth.PublicKeys rereads every time (so a replica
 * publishes a key another replica made at once; the gateway asks only for
 * a kid it does not know, at most once a second).
 *
 * Retirement: a key superseded at time S (its successor's creation) may
 * still be signing in a replica that has not checked yet until S + check
 * interval, and such a token lives KP_ACCESS_LIFETIME. So the key stays
 * published until S + interval + lifetime, then its file is deleted.
 *
 * With KEYPORT_AUTH_KEY_ROTATION=external the directory belongs to someone
 * else (a read-only Kubernetes Secret): auth takes no lock, creates and
 * deletes nothing, and refuses to start when it holds no key; the rest
 * (newest signs, rereads) is the same.
 */
#include "auth_app.h"

#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUTH_KEYS_MAX KP_ACCESS_MAX_KEYS

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
	char kid[KP_ACCESS_KID_MAX], path[4200];
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

/* Reads the keys of dir into set (AUTH_KEYS_MAX entries: the newest ones
 * when there are more files), newest first; *n receives the count.
 * Returns a kp_status. */
static int
auth_keys_read(auth_signing_key *set, size_t *n, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rv = KP_OK;

	if (d == NULL)
		return KP_EINTERNAL;
	*n = 0;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name), slot = *n;
		auth_signing_key *k;
		char path[4096];
		int fd;

		if (len < 5 || len - 4 >= KP_ACCESS_KID_MAX ||
		    strcmp(e->d_name + len - 4, ".key") != 0)
			continue;
		if (slot == AUTH_KEYS_MAX) {
			/* full: replace the oldest when this one is newer */
			slot = 0;
			for (size_t i = 1; i < AUTH_KEYS_MAX; i++)
				if (strcmp(set[i].kid, set[slot].kid) < 0)
					slot = i;
			if (strncmp(e->d_name, set[slot].kid, len - 4) <= 0)
				continue;
		}
		k = &set[slot];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			continue; /* retired by another replica meanwhile */
		if (fd < 0 || read(fd, k->sk, 64) != 64) {
			kp_log_error("cannot read signing key %s", e->d_name);
			if (fd >= 0)
				close(fd);
			rv = KP_EINTERNAL;
			break;
		}
		close(fd);
		memcpy(k->kid, e->d_name, len - 4);
		k->kid[len - 4] = '\0';
		crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
		if (slot == *n)
			(*n)++;
	}
	closedir(d);
	qsort(set, *n, sizeof(set[0]), auth_keys_cmp);
	return rv;
}

/* The creation time (unix seconds) of a kid's timestamp, 0 when
 * unreadable. */
static int64_t
auth_keys_time(const char *kid)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(kid, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* Finds the newest key of set (newest first) superseded more than keep_for
 * seconds ago, deletes its file and those of every older key of set, and
 * answers how many keys remain. */
static size_t
auth_keys_retire(auth_signing_key *set, size_t n, const char *dir,
                 int64_t keep_for)
{
	int64_t now = kp_now();

	for (size_t i = 1; i < n; i++) {
		int64_t superseded = auth_keys_time(set[i - 1].kid);

		if (superseded == 0 || now <= superseded + keep_for)
			continue;
		for (size_t j = i; j < n; j++) {
			char path[4200];

			snprintf(path, sizeof(path), "%s/%s.key", dir,
			         set[j].kid);
			if (unlink(path) != 0 && errno != ENOENT)
				kp_log_warn("cannot delete signing key %s: %s",
				            set[j].kid, strerror(errno));
			else
				kp_log_info("retired access-token key %s",
				            set[j].kid);
		}
		sodium_memzero(&set[i], (n - i) * sizeof(*set));
		return i;
	}
	return n;
}

/* Reads the directory into a new key set (creating a key when may_create
 * and the newest is missing or too old, retiring expired ones) and makes
 * it the app's. Called under app->rotate_lock. Returns a kp_status; on
 * failure the app keeps its keys. */
static int
auth_keys_sync(auth_app *app, int may_create)
{
	auth_signing_key *set = NULL, *old;
	size_t n = 0;
	char lock[4200];
	int fd = -1, rv = KP_EINTERNAL;

	set = sodium_allocarray(AUTH_KEYS_MAX, sizeof(*set));
	if (set == NULL)
		return KP_EINTERNAL;
	if (app->keys_external) {
		if ((rv = auth_keys_read(set, &n, app->keys_dir)) != KP_OK)
			goto out;
		if (n == 0) {
			kp_log_error("no access-token key in %s "
			             "(KEYPORT_AUTH_KEY_ROTATION=external)",
			             app->keys_dir);
			rv = KP_EINTERNAL;
			goto out;
		}
		goto install;
	}
	snprintf(lock, sizeof(lock), "%s/.lock", app->keys_dir);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		kp_log_error("cannot lock %s", lock);
		goto out;
	}
	if ((rv = auth_keys_read(set, &n, app->keys_dir)) != KP_OK)
		goto out;
	if (may_create && (n == 0 || kp_now() - auth_keys_time(set[0].kid) >
	                                 app->key_max_age)) {
		if ((rv = auth_keys_create(app->keys_dir)) != KP_OK ||
		    (rv = auth_keys_read(set, &n, app->keys_dir)) != KP_OK)
			goto out;
	}
	n = auth_keys_retire(set, n, app->keys_dir,
	                     app->key_check_interval + KP_ACCESS_LIFETIME);
	if (n == 0) {
		rv = KP_EINTERNAL;
		goto out;
	}
install:
	sodium_mprotect_readonly(set);
	pthread_rwlock_wrlock(&app->keys_lock);
	old = app->keys;
	if (app->nkeys == 0 || strcmp(app->keys[0].kid, set[0].kid) != 0)
		kp_log_info("%zu access-token key(s); signing with %s", n,
		            set[0].kid);
	app->keys = set;
	app->nkeys = n;
	pthread_rwlock_unlock(&app->keys_lock);
	set = old;
	rv = KP_OK;
out:
	if (fd >= 0)
		close(fd);
	if (set != NULL)
		sodium_free(set);
	return rv;
}

int
auth_keys_load(auth_app *app)
{
	const char *base = kp_cfg_str(KP_CFG_SECRET_DIR);
	int64_t days, interval;
	int rv;

	/* validated at start-up (kp_config.def) */
	days = kp_cfg_int(KP_CFG_AUTH_KEY_MAX_AGE_DAYS);
	interval = kp_cfg_int(KP_CFG_AUTH_KEY_CHECK_SECONDS);
	app->key_max_age = days * 86400;
	app->key_check_interval = interval;
	app->keys_external =
	    strcmp(kp_cfg_str(KP_CFG_AUTH_KEY_ROTATION), "external") == 0;
	pthread_rwlock_init(&app->keys_lock, NULL);
	pthread_mutex_init(&app->rotate_lock, NULL);
	snprintf(app->keys_dir, sizeof(app->keys_dir), "%s/auth-keys", base);
	if (app->keys_external) {
		rv = auth_keys_sync(app, 0);
		atomic_store(&app->keys_next_check, kp_now() + interval);
		return rv;
	}
	if (mkdir(base, 0700) != 0 && errno != EEXIST) {
		kp_log_error("cannot create KEYPORT_SECRET_DIR %s: %s", base,
		             strerror(errno));
		return KP_EINTERNAL;
	}
	if (mkdir(app->keys_dir, 0700) != 0 && errno != EEXIST) {
		kp_log_error("cannot create %s: %s", app->keys_dir,
		             strerror(errno));
		return KP_EINTERNAL;
	}
	rv = auth_keys_sync(app, 1);
	atomic_store(&app->keys_next_check, kp_now() + interval);
	return rv;
}

void
auth_keys_check(auth_app *app, int force)
{
	if (!force && kp_now() < atomic_load(&app->keys_next_check))
		return;
	if (force)
		pthread_mutex_lock(&app->rotate_lock);
	else if (pthread_mutex_trylock(&app->rotate_lock) != 0)
		return; /* another worker is at it; sign with what we have */
	if (force || kp_now() >= atomic_load(&app->keys_next_check)) {
		if (auth_keys_sync(app, 1) != KP_OK)
			kp_log_warn("access-token keys: check failed; keeping "
			            "the current keys");
		atomic_store(&app->keys_next_check,
		             kp_now() + app->key_check_interval);
	}
	pthread_mutex_unlock(&app->rotate_lock);
}

void
auth_keys_rdlock(auth_app *app)
{
	pthread_rwlock_rdlock(&app->keys_lock);
}

void
auth_keys_unlock(auth_app *app)
{
	pthread_rwlock_unlock(&app->keys_lock);
}

void
auth_keys_free(auth_app *app)
{
	pthread_rwlock_wrlock(&app->keys_lock);
	if (app->keys != NULL)
		sodium_free(app->keys);
	app->keys = NULL;
	app->nkeys = 0;
	pthread_rwlock_unlock(&app->keys_lock);
}
