/* gw_file: streamed uploads and download ranges. */
#include "gw_file.h"
#include "kp_filename.h"

#include "kp_config.h"
#include "kp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
gw_file_dir(void)
{
	static char dir[1024];
	const char *d;

	if (dir[0] != '\0')
		return dir;
	d = kp_cfg_str(KP_CFG_RELEASE_DIR);
	if (d != NULL && d[0] != '\0')
		snprintf(dir, sizeof(dir), "%s", d);
	else
		snprintf(dir, sizeof(dir), "%s/releases",
		         kp_cfg_str(KP_CFG_DATA_DIR));
	return dir;
}

uint64_t
gw_file_max(void)
{
	return (uint64_t)kp_cfg_int(KP_CFG_RELEASE_MAX_FILE_SIZE);
}

int
gw_file_name_ok(const char *s)
{
	return kp_filename_ok(s);
}

int
gw_file_upload_open(gw_upload *u, uint64_t max)
{
	unsigned char rnd[16];
	char tmpdir[1060];

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->max = max;
	crypto_hash_sha256_init(&u->sha);
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", gw_file_dir());
	if (mkdir(gw_file_dir(), 0750) != 0 && errno != EEXIST)
		return errno;
	if (mkdir(tmpdir, 0750) != 0 && errno != EEXIST)
		return errno;
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(u->tmp, "up-", 3);
	sodium_bin2hex(u->tmp + 3, sizeof(u->tmp) - 3, rnd, sizeof(rnd));
	snprintf(u->path, sizeof(u->path), "%s/%s", tmpdir, u->tmp);
	u->fd = open(u->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	return u->fd < 0 ? errno : 0;
}

void
gw_file_upload_write(gw_upload *u, const char *data, size_t n)
{
	if (u->err != 0 || u->too_large)
		return; /* drain the rest; the answer says why */
	if (u->size + n > u->max) {
		u->too_large = 1;
		return;
	}
	crypto_hash_sha256_update(&u->sha, (const unsigned char *)data, n);
	while (n > 0) {
		ssize_t w = write(u->fd, data, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			u->err = w < 0 ? errno : EIO;
			/* free the space now: a full disk must not stay full */
			if (ftruncate(u->fd, 0) != 0)
				kp_log_warn("upload: cannot truncate");
			return;
		}
		data += w;
		n -= (size_t)w;
		u->size += (uint64_t)w;
	}
}

int
gw_file_upload_finish(gw_upload *u)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	if (u->err != 0)
		return u->err;
	if (fdatasync(u->fd) != 0)
		return errno;
	crypto_hash_sha256_final(&u->sha, h);
	sodium_bin2hex(u->sha256, sizeof(u->sha256), h, sizeof(h));
	return 0;
}

void
gw_file_upload_discard(gw_upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	if (u->path[0] != '\0' && unlink(u->path) != 0 && errno != ENOENT)
		kp_log_warn("upload: cannot remove %s", u->tmp);
	u->path[0] = '\0';
}

/* Reads an unsigned decimal; -1 when absent or malformed. */
static int
gw_file_num(const char **p, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	while (**p >= '0' && **p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
		digits++;
	}
	*out = v;
	return digits > 0 ? 0 : -1;
}

int
gw_file_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
	uint64_t a, b;
	const char *p;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 1;
	p = h + 6;
	while (*p == ' ')
		p++;
	if (*p == '-') { /* the last b bytes */
		p++;
		if (gw_file_num(&p, &b) != 0 || *p != '\0')
			return 1;
		if (b == 0 || size == 0)
			return -1;
		if (b > size)
			b = size;
		*off = size - b;
		*len = b;
		return 0;
	}
	if (gw_file_num(&p, &a) != 0 || *p++ != '-')
		return 1;
	if (*p == '\0') {
		b = size ? size - 1 : 0;
	} else if (gw_file_num(&p, &b) != 0 || *p != '\0' || b < a) {
		return 1;
	}
	if (a >= size)
		return -1;
	if (b >= size)
		b = size - 1;
	*off = a;
	*len = b - a + 1;
	return 0;
}
