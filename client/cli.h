/* cli: what the keyport tool's command files share: the parsed options,
 * the exit codes, and the output helpers (text or --json). */
#ifndef KEYPORT_CLI_H
#define KEYPORT_CLI_H

#include <jansson.h>

#include "keyport_int.h"

/* Exit codes of the keyport tool (docs/client.md, keyport --help). */
enum {
	CLI_OK = 0,            /* success; for status/heartbeat: valid */
	CLI_ERROR = 1,         /* I/O, memory, an unexpected answer */
	CLI_USAGE = 2,         /* bad command line */
	CLI_NOT_ACTIVATED = 3, /* no activation on this machine */
	CLI_EXPIRED = 4,
	CLI_SUSPENDED = 5,
	CLI_REVOKED = 6,
	CLI_TAMPERED = 7,    /* forged, replayed, rolled back, other machine */
	CLI_UNREACHABLE = 8, /* no answer / not reached within the grace */
	CLI_REFUSED = 9,     /* the server refused (not found, limit, ...) */
	CLI_OFFLINE = 10,    /* an offline file was refused */
	CLI_NO_RELEASE = 11, /* update-check: no published release */
	CLI_AUTH = 12,       /* vendor commands: token missing or refused */
};

#define CLI_MAXPOS 4

typedef struct cli_opts {
	const char *cmd, *state, *server, *key, *product, *product_key, *out,
	    *response, *app_version, *timeout, *proxy, *ca_file, *server_key,
	    *grace, *interval, *platform, *channel, *type, *allowed_act,
	    *allowed_deact, *validity, *strategy, *metadata, *user, *org, *page,
	    *limit, *name, *version, *notes, *status, *file;
	const char *pos[CLI_MAXPOS]; /* positional arguments after cmd */
	int npos;
	int json, help, version_req;
} cli_opts;

/* cli_num reads the number v of option flag into *out (def when v is
 * NULL); 1, or 0 with the usage error printed. */
int cli_num(const cli_opts *o, const char *v, const char *flag, long long def,
            long long *out);

/* cli_usage prints "keyport: <msg>" and a hint to stderr, returns
 * CLI_USAGE. */
int cli_usage(const cli_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_fail reports a library failure (keyport_error) in text or JSON and
 * returns the exit code for rc. */
int cli_fail(keyport_client *c, const cli_opts *o, int rc);

/* cli_exit_of maps a keyport_err (with the server's error code) to an
 * exit code. */
int cli_exit_of(keyport_client *c, int rc);

/* cli_print prints a JSON object: with --json as one line on stdout,
 * otherwise as "name: value" lines. Steals o. */
void cli_print(const cli_opts *o, json_t *obj);

/* cli_vendor: base URL and token of the vendor commands; 0 or an exit
 * code after a message. */
int cli_vendor(keyport_client *c, const cli_opts *o, const char **server,
               const char **token);

/* the vendor command groups (cli_admin.c, cli_release.c) */
int cli_license(keyport_client *c, const cli_opts *o);
int cli_release(keyport_client *c, const cli_opts *o);

/* help texts of the command groups, for keyport help <group> */
extern const char cli_license_help[];
extern const char cli_release_help[];

#endif
