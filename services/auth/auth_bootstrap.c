/* auth_bootstrap: the vendor admin of the first start (its generated
 * password written once to KEYPORT_DATA_DIR), and the token helpers every
 * auth module uses. */
#include "auth_app.h"

#include "kp_clock.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
auth_token_hash(const char *token, char out[65])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token,
	                   strlen(token), NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

void
auth_random_token(const char *prefix, char *out, size_t len)
{
	unsigned char rnd[32];
	size_t p = strlen(prefix);

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(out, len, "%s", prefix);
	sodium_bin2base64(out + p, len - p, rnd, sizeof(rnd),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));
}

/* Writes the generated password to $KEYPORT_DATA_DIR/admin-password, 0600. */
static int
auth_write_admin_password(const char *pw)
{
	const char *dir = kp_cfg_str(KP_CFG_DATA_DIR);
	char path[4096];
	int fd;
	size_t n = strlen(pw);

	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/admin-password", dir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		kp_log_error("cannot create %s: %s", path, strerror(errno));
		return KP_EINTERNAL;
	}
	if (write(fd, pw, n) != (ssize_t)n || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(path);
		return KP_EINTERNAL;
	}
	close(fd);
	kp_log_info("the vendor admin's generated password is in %s", path);
	return KP_OK;
}

int
auth_bootstrap(kp_db *db)
{
	const char *email = kp_cfg_str(KP_CFG_ADMIN_EMAIL);
	const char *pw = kp_cfg_str(KP_CFG_ADMIN_PASSWORD);
	char gen[64], hash[crypto_pwhash_STRBYTES];
	int64_t users = 0;
	int rv, generated = 0;

	if ((rv = kp_db_begin(db)) != KP_OK)
		return rv;
	/* two replicas starting together: one creates, the other sees it */
	if ((rv = auth_store_lock_bootstrap(db)) != KP_OK ||
	    (rv = auth_store_user_count(db, NULL, &users)) != KP_OK ||
	    users > 0)
		goto out;
	if (email == NULL || email[0] == '\0')
		email = "admin@localhost";
	if (pw == NULL || pw[0] == '\0') {
		auth_random_token("", gen, 44);
		pw = gen;
		generated = 1;
	}
	if (strlen(pw) < 8)
		kp_log_warn("KEYPORT_ADMIN_PASSWORD is shorter than 8 "
		            "characters");
	if (crypto_pwhash_str(hash, pw, strlen(pw),
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		rv = KP_EINTERNAL;
		goto out;
	}
	if ((rv = auth_store_admin_create(db, email, hash, kp_now())) != KP_OK)
		goto out;
	if (generated && (rv = auth_write_admin_password(pw)) != KP_OK)
		goto out;
	if ((rv = kp_db_commit(db)) != KP_OK)
		goto out;
	kp_log_info("created the vendor admin %s", email);
out:
	kp_db_rollback(db);
	sodium_memzero(gen, sizeof(gen));
	sodium_memzero(hash, sizeof(hash));
	return rv;
}
