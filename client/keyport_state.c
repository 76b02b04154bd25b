/* keyport_state: the local state file, written atomically with 0600 through
 * the platform interface, and the small helpers every file uses. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyport_int.h"
#include "keyport_plat.h"

int
keyport_fail(keyport_client *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return status;
}

int64_t
keyport_now(void)
{
	const char *off = getenv("KEYPORT_TEST_CLOCK_OFFSET");
	char *end;
	long long o;

	if (off != NULL && off[0] != '\0') {
		o = strtoll(off, &end, 10);
		if (*end == '\0' && o > 0)
			return (int64_t)time(NULL) + o;
	}
	return (int64_t)time(NULL);
}

const char *
keyport_st_str(json_t *st, const char *name)
{
	const char *s = json_string_value(json_object_get(st, name));

	return s != NULL ? s : "";
}

int64_t
keyport_st_int(json_t *st, const char *name)
{
	return (int64_t)json_integer_value(json_object_get(st, name));
}

int
keyport_read_file(const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n;
	int rc = -1;

	if (f == NULL)
		return -1;
	buf = malloc(max + 1);
	if (buf == NULL)
		goto out;
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		errno = n > max ? EFBIG : EIO;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	if (len != NULL)
		*len = n;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

int
keyport_write_file(const char *path, const char *text)
{
	return keyport_plat_write_atomic(path, text, strlen(text));
}

int
keyport_state_load(keyport_client *c, json_t **out)
{
	char *text = NULL;
	json_t *st;
	json_error_t e;

	if (keyport_read_file(c->path, 1 << 20, &text, NULL) != 0) {
		if (errno == ENOENT) {
			*out = json_object();
			return *out != NULL ? KEYPORT_OK : KEYPORT_ENOMEM;
		}
		return keyport_fail(c, KEYPORT_EIO, "cannot read state %s: %s",
		                    c->path, strerror(errno));
	}
	st = json_loads(text, 0, &e);
	free(text);
	if (!json_is_object(st)) {
		json_decref(st);
		return keyport_fail(c, KEYPORT_EIO, "state %s is corrupt: %s",
		                    c->path, e.text);
	}
	*out = st;
	return KEYPORT_OK;
}

int
keyport_state_save(keyport_client *c, json_t *st)
{
	char *text;
	int rc = KEYPORT_OK;

	json_object_set_new(st, "version", json_integer(1));
	text = json_dumps(st, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL)
		return keyport_fail(c, KEYPORT_ENOMEM, "out of memory");
	if (keyport_plat_mkdir_parent(c->path) != 0 ||
	    keyport_write_file(c->path, text) != 0)
		rc = keyport_fail(c, KEYPORT_EIO, "cannot write state %s: %s",
		                  c->path, strerror(errno));
	free(text);
	return rc;
}
