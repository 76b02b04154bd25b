/* keyport_int: internals shared by the libkeyport source files. */
#ifndef KEYPORT_INT_H
#define KEYPORT_INT_H

#include <jansson.h>

#include "keyport.h"

struct keyport_client {
	char path[4096];
	char err[512];
	unsigned char pk[32];
	int have_pk;
};

/* kp_client_fail records a one-line reason and returns status. */
int keyport_fail(keyport_client *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* keyport_state_load reads the state file into *out (a new object, {} when
 * the file does not exist). The caller decrefs it. */
int keyport_state_load(keyport_client *c, json_t **out);

/* keyport_state_save writes st atomically with mode 0600 (creating the
 * directory 0700 when missing). */
int keyport_state_save(keyport_client *c, json_t *st);

/* keyport_state_write_file writes text to path atomically with mode 0600. */
int keyport_write_file(const char *path, const char *text);

/* keyport_read_file reads up to max bytes of a file; *out malloc'd, NUL
 * terminated. Returns 0 or -1 (errno set). */
int keyport_read_file(const char *path, size_t max, char **out, size_t *len);

/* state helpers: string member or "" */
const char *keyport_st_str(json_t *st, const char *name);
int64_t keyport_st_int(json_t *st, const char *name);

/* keyport_now: local wall clock, unix seconds. */
int64_t keyport_now(void);

#endif
