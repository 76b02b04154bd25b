/* release_link: the links' key, and making and checking tokens. */
#include "release_link.h"

#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_pgarr.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t release_link_key[crypto_auth_KEYBYTES];

int
release_link_init(void)
{
	const char *dir = kp_cfg_str(KP_CFG_SECRET_DIR);
	uint8_t key[crypto_auth_KEYBYTES];
	char path[1024], tmp[1100];
	int fd, rv = KP_EINTERNAL;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/release-links.key", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT) {
		/* the first start: write a key under a temporary name and
		 * link it into place; a replica that loses the race reads the
		 * winner's */
		crypto_auth_keygen(key);
		snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 && write(fd, key, sizeof(key)) == sizeof(key) &&
		    fsync(fd) == 0) {
			if (link(tmp, path) != 0 && errno != EEXIST)
				kp_log_error("cannot create %s: %s", path,
				             strerror(errno));
		}
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		sodium_memzero(key, sizeof(key));
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		kp_log_error("cannot read %s: %s", path, strerror(errno));
		return KP_EINTERNAL;
	}
	n = read(fd, release_link_key, sizeof(release_link_key));
	close(fd);
	if (n == (ssize_t)sizeof(release_link_key))
		rv = KP_OK;
	else
		kp_log_error("%s is not a %zu-byte key", path,
		             sizeof(release_link_key));
	return rv;
}

static void
release_link_mac(const char *msg, size_t n, char out[64])
{
	uint8_t mac[crypto_auth_BYTES];

	crypto_auth(mac, (const uint8_t *)msg, n, release_link_key);
	sodium_bin2base64(out, 64, mac, sizeof(mac),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int
release_link_make(const char *file_id, int64_t expires,
                  char token[RELEASE_LINK_MAX])
{
	char mac[64];
	int n;

	n = snprintf(token, RELEASE_LINK_MAX, "%s.%lld", file_id,
	             (long long)expires);
	if (n < 0 || n >= RELEASE_LINK_MAX - 50)
		return KP_EINTERNAL;
	release_link_mac(token, (size_t)n, mac);
	snprintf(token + n, RELEASE_LINK_MAX - (size_t)n, ".%s", mac);
	return KP_OK;
}

int
release_link_check(const char *token, int64_t now, char file_id[37])
{
	const char *dot1, *dot2;
	char signed_part[RELEASE_LINK_MAX], want[64], *end;
	size_t n = token ? strlen(token) : 0;
	long long exp;

	if (n == 0 || n >= RELEASE_LINK_MAX ||
	    (dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL || dot1 - token != 36)
		return KP_EFORBIDDEN;
	memcpy(signed_part, token, (size_t)(dot2 - token));
	signed_part[dot2 - token] = '\0';
	release_link_mac(signed_part, (size_t)(dot2 - token), want);
	if (strlen(dot2 + 1) != strlen(want) ||
	    sodium_memcmp(dot2 + 1, want, strlen(want)) != 0)
		return KP_EFORBIDDEN;
	errno = 0;
	exp = strtoll(dot1 + 1, &end, 10);
	if (errno != 0 || end != dot2)
		return KP_EFORBIDDEN;
	memcpy(file_id, token, 36);
	file_id[36] = '\0';
	if (!kp_uuid_valid(file_id))
		return KP_EFORBIDDEN;
	return exp < now ? KP_EUNAUTH : KP_OK;
}
