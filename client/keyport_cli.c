/* keyport: the command-line tool on top of libkeyport. `keyport --help`
 * lists the commands and exit codes; `keyport help <command>` (or
 * `keyport <command> --help`) details one. Vendor commands (license,
 * release) live in cli_admin.c and cli_release.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "keyport.h"

static const char global_help[] =
    "usage: keyport [global options] <command> [options]\n"
    "\n"
    "Commands on this machine (the application's license):\n"
    "  activate          activate this machine online\n"
    "  status            is the license valid here? (exit 0 only if so)\n"
    "  heartbeat         refresh the token from the server, then check\n"
    "  deactivate        give the seat back\n"
    "  update-check      the newest published release for this license\n"
    "  offline-request   write an offline activation request file\n"
    "  offline-activate  load the offline activation response file\n"
    "  offline-deactivate  write an offline deactivation request file\n"
    "  fingerprint       print this machine's fingerprint\n"
    "Vendor commands (personal access token in $KEYPORT_TOKEN):\n"
    "  license create|list|suspend|revoke\n"
    "  release create|upload|publish|list\n"
    "\n"
    "Global options (before or after the command; --opt VALUE or "
    "--opt=VALUE):\n"
    "  --state FILE        state file ($KEYPORT_STATE, else "
    "~/.keyport/state.json)\n"
    "  --server URL        Keyport server (vendor commands: else "
    "$KEYPORT_SERVER)\n"
    "  --product-key KEY   the product's public key ($KEYPORT_PRODUCT_KEY)\n"
    "  --json              one JSON object on stdout, for scripts\n"
    "  --timeout SECONDS   HTTP timeout (default 30)\n"
    "  --proxy URL         HTTP(S)/SOCKS proxy\n"
    "  --ca-file FILE      CA bundle to verify the server with\n"
    "  --server-key PIN    pin the server's TLS key (sha256//BASE64)\n"
    "  -h, --help          this help, or a command's with the command\n"
    "  -V, --version       the tool's and library's version\n"
    "\n"
    "Exit codes:\n"
    "  0  success; status/heartbeat: the license is valid (ok or grace)\n"
    "  1  error (input/output, memory, unexpected answer)\n"
    "  2  usage error\n"
    "  3  not activated\n"
    "  4  expired\n"
    "  5  suspended\n"
    "  6  revoked\n"
    "  7  tampered (forged token, replay, clock set back, other machine)\n"
    "  8  server unreachable (status: not reached within the grace "
    "period)\n"
    "  9  refused by the server (unknown key, activation limit, ...)\n"
    " 10  offline file refused\n"
    " 11  update-check: no published release\n"
    " 12  vendor commands: no token, or the token was refused\n";

typedef struct cmd_help {
	const char *name, *text;
} cmd_help;

static const cmd_help helps[] = {
    {"activate",
     "usage: keyport activate --server URL --key KEY --product ID\n"
     "                        [--product-key KEY] [--app-version V]\n"
     "Activates this machine. The state file is written before the server\n"
     "is asked, so an unwritable state loses no seat; the product key\n"
     "(recommended) verifies the token and is kept for later checks.\n"
     "Exit 0, or 4/5/6 when the license is expired/suspended/revoked,\n"
     "9 when the server refuses (unknown key, limit), 8 unreachable.\n"},
    {"status",
     "usage: keyport status [--product-key KEY] [--interval S] [--grace S]\n"
     "Checks the stored activation without the network (keyport_check):\n"
     "signature, clock, machine, status, expiry, last server contact.\n"
     "Prints result: ok|grace|expired|suspended|revoked|not-activated|\n"
     "tampered|unreachable and the license's fields. Exit 0 for ok and\n"
     "grace, else 3-8 (see keyport --help). --interval (default 3600) and\n"
     "--grace (default 604800) are in seconds.\n"},
    {"heartbeat",
     "usage: keyport heartbeat [--interval S] [--grace S]\n"
     "Asks the server for a fresh token, then checks it like status.\n"
     "Exit 0 only when the license is valid; 8 when the server cannot be\n"
     "reached; 3 when the server no longer knows the activation.\n"},
    {"deactivate",
     "usage: keyport deactivate\n"
     "Frees this machine's seat on the server and forgets it here.\n"},
    {"update-check",
     "usage: keyport update-check [--platform P] [--channel C]\n"
     "                            [--app-version V]\n"
     "GET /v1/products/{id}/releases/latest for the activated license.\n"
     "Prints the release; with --app-version, update: yes|no. Exit 0, or\n"
     "11 when no release is published for it.\n"},
    {"offline-request",
     "usage: keyport offline-request --key KEY --product ID --out FILE\n"
     "Writes an offline activation request to take to the portal.\n"},
    {"offline-activate",
     "usage: keyport offline-activate --response FILE --product-key KEY\n"
     "Loads the portal's response file. Exit 10 when it is refused.\n"},
    {"offline-deactivate",
     "usage: keyport offline-deactivate --out FILE\n"
     "Writes a deactivation request (the proof) and forgets the "
     "activation.\n"},
    {"fingerprint", "usage: keyport fingerprint\n"
                    "Prints this machine's fingerprint (64 hex digits).\n"},
    {"license", cli_license_help},
    {"release", cli_release_help},
};

static const cmd_help *
find_help(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(helps) / sizeof(helps[0]); i++)
		if (strcmp(helps[i].name, name) == 0)
			return &helps[i];
	return NULL;
}

int
cli_usage(const cli_opts *o, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "keyport: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see keyport %s--help)\n",
	        o != NULL && find_help(o->cmd) != NULL ? o->cmd : "");
	if (o != NULL && o->json)
		printf("{\"error\":{\"exit\":%d,\"code\":\"usage\"}}\n",
		       CLI_USAGE);
	return CLI_USAGE;
}

int
cli_exit_of(keyport_client *c, int rc)
{
	const char *code = keyport_server_code(c);

	switch (rc) {
	case KEYPORT_OK:
		return CLI_OK;
	case KEYPORT_EINVAL:
		return CLI_USAGE;
	case KEYPORT_ENET:
		return CLI_UNREACHABLE;
	case KEYPORT_ESERVER:
		if (strcmp(code, "LICENSE_EXPIRED") == 0)
			return CLI_EXPIRED;
		if (strcmp(code, "LICENSE_SUSPENDED") == 0)
			return CLI_SUSPENDED;
		if (strcmp(code, "LICENSE_REVOKED") == 0)
			return CLI_REVOKED;
		if (strcmp(code, "UNAUTHENTICATED") == 0 ||
		    strcmp(code, "FORBIDDEN") == 0)
			return CLI_AUTH;
		if (strcmp(code, "SERVICE_UNAVAILABLE") == 0)
			return CLI_UNREACHABLE;
		return code[0] != '\0' ? CLI_REFUSED : CLI_ERROR;
	case KEYPORT_EFORGED:
	case KEYPORT_EREPLAY:
	case KEYPORT_EROLLBACK:
	case KEYPORT_EMISMATCH:
		return CLI_TAMPERED;
	case KEYPORT_ENOTACTIVE:
		return CLI_NOT_ACTIVATED;
	case KEYPORT_EOFFLINE:
		return CLI_OFFLINE;
	case KEYPORT_ENORELEASE:
		return CLI_NO_RELEASE;
	default:
		return CLI_ERROR;
	}
}

static int
fail_with(const cli_opts *o, int code, const char *name, const char *msg)
{
	json_t *j;
	char *s;

	fprintf(stderr, "keyport: %s\n", msg);
	if (o->json) {
		j = json_pack("{s:{s:i, s:s, s:s}}", "error", "exit", code,
		              "code", name, "message", msg);
		s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s != NULL)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	}
	return code;
}

int
cli_fail(keyport_client *c, const cli_opts *o, int rc)
{
	const char *code = keyport_server_code(c);

	return fail_with(o, cli_exit_of(c, rc),
	                 code[0] != '\0' ? code : keyport_strerror(rc),
	                 keyport_error(c));
}

static void
print_value(const char *prefix, json_t *v)
{
	const char *k;
	json_t *m;
	char *s;

	if (json_is_object(v)) {
		json_object_foreach(v, k, m)
		{
			char p[256];

			snprintf(p, sizeof(p), "%s%s%s", prefix,
			         prefix[0] ? "." : "", k);
			if (json_is_object(m) && json_object_size(m) > 0) {
				print_value(p, m);
				continue;
			}
			print_value(p, m);
		}
		return;
	}
	if (json_is_string(v)) {
		printf("%s: %s\n", prefix, json_string_value(v));
		return;
	}
	if (json_is_null(v)) {
		printf("%s: -\n", prefix);
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("%s: %s\n", prefix, s != NULL ? s : "?");
	free(s);
}

void
cli_print(const cli_opts *o, json_t *obj)
{
	char *s;

	if (obj == NULL)
		return;
	if (o->json) {
		s = json_dumps(obj, JSON_COMPACT);
		if (s != NULL)
			printf("%s\n", s);
		free(s);
	} else {
		print_value("", obj);
	}
	json_decref(obj);
}

int
cli_vendor(keyport_client *c, const cli_opts *o, const char **server,
           const char **token)
{
	(void)c;
	*server = o->server != NULL ? o->server : getenv("KEYPORT_SERVER");
	*token = getenv("KEYPORT_TOKEN");
	if (*server == NULL || (*server)[0] == '\0')
		return cli_usage(o,
		                 "--server (or $KEYPORT_SERVER) is required");
	if (*token == NULL || (*token)[0] == '\0')
		return fail_with(o, CLI_AUTH, "UNAUTHENTICATED",
		                 "$KEYPORT_TOKEN must hold a personal access "
		                 "token");
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

/* The options that take a value, and where parse puts it. */
static const struct cli_flag {
	const char *name;
	size_t off;
} cli_flags[] = {
    {"--state", offsetof(cli_opts, state)},
    {"--server", offsetof(cli_opts, server)},
    {"--key", offsetof(cli_opts, key)},
    {"--product", offsetof(cli_opts, product)},
    {"--product-key", offsetof(cli_opts, product_key)},
    {"--out", offsetof(cli_opts, out)},
    {"--response", offsetof(cli_opts, response)},
    {"--app-version", offsetof(cli_opts, app_version)},
    {"--timeout", offsetof(cli_opts, timeout)},
    {"--proxy", offsetof(cli_opts, proxy)},
    {"--ca-file", offsetof(cli_opts, ca_file)},
    {"--server-key", offsetof(cli_opts, server_key)},
    {"--grace", offsetof(cli_opts, grace)},
    {"--interval", offsetof(cli_opts, interval)},
    {"--platform", offsetof(cli_opts, platform)},
    {"--channel", offsetof(cli_opts, channel)},
    {"--type", offsetof(cli_opts, type)},
    {"--allowed-activations", offsetof(cli_opts, allowed_act)},
    {"--allowed-deactivations", offsetof(cli_opts, allowed_deact)},
    {"--validity", offsetof(cli_opts, validity)},
    {"--expiration-strategy", offsetof(cli_opts, strategy)},
    {"--metadata", offsetof(cli_opts, metadata)},
    {"--user", offsetof(cli_opts, user)},
    {"--organization", offsetof(cli_opts, org)},
    {"--page", offsetof(cli_opts, page)},
    {"--limit", offsetof(cli_opts, limit)},
    {"--name", offsetof(cli_opts, name)},
    {"--version-name", offsetof(cli_opts, version)},
    {"--notes", offsetof(cli_opts, notes)},
    {"--status", offsetof(cli_opts, status)},
    {"--file", offsetof(cli_opts, file)},
};

static int
parse(int argc, char **argv, cli_opts *o)
{
	int i;
	size_t f, nf = sizeof(cli_flags) / sizeof(cli_flags[0]);

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = 1;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			/* a release's version, after "release create" */
			if (o->cmd != NULL && strcmp(o->cmd, "release") == 0 &&
			    i + 1 < argc && argv[i + 1][0] != '-') {
				o->version = argv[++i];
				continue;
			}
			o->version_req = 1;
			continue;
		}
		for (f = 0; f < nf; f++) {
			size_t n = strlen(cli_flags[f].name);

			if (strcmp(a, cli_flags[f].name) == 0) {
				if (i + 1 >= argc)
					return cli_usage(o, "%s needs a value",
					                 a);
				*(const char **)((char *)o + cli_flags[f].off) =
				    argv[++i];
				break;
			}
			if (strncmp(a, cli_flags[f].name, n) == 0 &&
			    a[n] == '=') {
				*(const char **)((char *)o + cli_flags[f].off) =
				    a + n + 1;
				break;
			}
		}
		if (f < nf)
			continue;
		if (a[0] == '-' && a[1] != '\0')
			return cli_usage(o, "unknown option %s", a);
		if (o->cmd == NULL) {
			o->cmd = a;
		} else if (o->npos < CLI_MAXPOS) {
			o->pos[o->npos++] = a;
		} else {
			return cli_usage(o, "unexpected argument %s", a);
		}
	}
	if (o->product_key == NULL)
		o->product_key = getenv("KEYPORT_PRODUCT_KEY");
	return 0;
}

static int
need(const cli_opts *o, const char *v, const char *flag)
{
	if (v == NULL || v[0] == '\0') {
		cli_usage(o, "%s is required", flag);
		return 0;
	}
	return 1;
}

int
cli_num(const cli_opts *o, const char *v, const char *flag, long long def,
        long long *out)
{
	char *end;

	*out = def;
	if (v == NULL)
		return 1;
	*out = strtoll(v, &end, 10);
	if (v[0] == '\0' || *end != '\0') {
		cli_usage(o, "%s must be a number", flag);
		return 0;
	}
	return 1;
}

/* ---- client commands ---------------------------------------------------- */

static json_t *
time_json(long long t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		return json_null();
#ifdef _WIN32
	gmtime_s(&tm, &tt);
#else
	gmtime_r(&tt, &tm);
#endif
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static const int check_exit[] = {
    CLI_OK,        CLI_OK,          CLI_EXPIRED,
    CLI_SUSPENDED, CLI_REVOKED,     CLI_NOT_ACTIVATED,
    CLI_TAMPERED,  CLI_UNREACHABLE, CLI_ERROR,
};

/* keyport_check, printed; the exit code says the outcome */
static int
print_check(keyport_client *c, const cli_opts *o)
{
	int r = keyport_check(c);
	json_t *j, *meta = NULL, *st = NULL;
	const char *why = keyport_error(c);
	int ex = r >= 0 && r <= KEYPORT_CHECK_ERROR ? check_exit[r] : CLI_ERROR;

	if (r == KEYPORT_CHECK_ERROR)
		return fail_with(o, CLI_ERROR, "error", why);
	if (keyport_state_load(c, &st) == KEYPORT_OK) {
		json_t *p = keyport_token_payload(keyport_st_str(st, "token"));

		meta = json_incref(json_object_get(p, "metadata"));
		json_decref(p);
	}
	j = json_pack(
	    "{s:s, s:b, s:s, s:s*, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, "
	    "s:o, s:o*, s:s}",
	    "result", keyport_check_str(r), "valid", ex == CLI_OK, "verified",
	    c->verified ? "yes" : "no", "reason",
	    r == KEYPORT_CHECK_OK ? NULL : why, "licenseId",
	    keyport_license_id(c), "activationId", keyport_activation_id(c),
	    "productId", keyport_product_id(c), "type", keyport_license_type(c),
	    "status", keyport_license_status(c), "mode",
	    json_is_true(json_object_get(st, "offline")) ? "offline" : "online",
	    "expiresAt", time_json(keyport_license_expires_at(c)),
	    "allowedActivations",
	    (json_int_t)keyport_license_allowed_activations(c), "lastContact",
	    time_json(keyport_last_contact(c)), "metadata", meta, "server",
	    keyport_st_str(st, "server"));
	json_decref(st);
	if (r == KEYPORT_CHECK_NOT_ACTIVATED) {
		json_decref(j);
		j = json_pack("{s:s, s:b}", "result", "not-activated", "valid",
		              0);
	}
	cli_print(o, j);
	if (ex != CLI_OK && !o->json)
		fprintf(stderr, "keyport: %s\n", why);
	return ex;
}

static int
cmd_activate(keyport_client *c, const cli_opts *o)
{
	int rc;

	if (!need(o, o->server, "--server") || !need(o, o->key, "--key") ||
	    !need(o, o->product, "--product"))
		return CLI_USAGE;
	rc = keyport_activate(c, o->server, o->key, o->product);
	if (rc != KEYPORT_OK)
		return cli_fail(c, o, rc);
	cli_print(o, json_pack("{s:s, s:s, s:s, s:s}", "activated",
	                       keyport_activation_id(c), "licenseId",
	                       keyport_license_id(c), "status",
	                       keyport_license_status(c), "type",
	                       keyport_license_type(c)));
	return CLI_OK;
}

static int
cmd_update_check(keyport_client *c, const cli_opts *o)
{
	keyport_release r;
	json_t *j;
	int rc = keyport_latest_release(c, o->platform, o->channel, &r);

	if (rc != KEYPORT_OK)
		return cli_fail(c, o, rc);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", r.id, "name",
	              r.name, "version", r.version, "channel", r.channel,
	              "platform", r.platform, "publishedAt", r.published_at);
	if (j != NULL && o->app_version != NULL)
		json_object_set_new(j, "update", json_boolean(r.newer));
	cli_print(o, j);
	return CLI_OK;
}

/* Applies the options to c (product key, transport, timings); CLI_OK or
 * the exit status of the failure (reported). */
static int
configure(keyport_client *c, const cli_opts *o)
{
	long long n, grace = 0, interval = 0;
	int rc;

	if (o->product_key != NULL && o->product_key[0] != '\0' &&
	    (rc = keyport_set_product_key(c, o->product_key)) != KEYPORT_OK)
		return cli_fail(c, o, rc);
	if (o->timeout != NULL) {
		if (!cli_num(o, o->timeout, "--timeout", 0, &n))
			return CLI_USAGE;
		if ((rc = keyport_set_timeout(c, (long)n)) != KEYPORT_OK)
			return cli_fail(c, o, rc);
	}
	if ((o->proxy && (rc = keyport_set_proxy(c, o->proxy)) != 0) ||
	    (o->ca_file && (rc = keyport_set_ca_file(c, o->ca_file)) != 0) ||
	    (o->server_key &&
	     (rc = keyport_set_server_key(c, o->server_key)) != 0) ||
	    (o->app_version &&
	     (rc = keyport_set_app_version(c, o->app_version)) != 0))
		return cli_fail(c, o, rc);
	if (!cli_num(o, o->grace, "--grace", 0, &grace) ||
	    !cli_num(o, o->interval, "--interval", 0, &interval))
		return CLI_USAGE;
	/* in the order that keeps the interval below the grace throughout */
	if (o->interval != NULL && interval < c->grace &&
	    (rc = keyport_set_heartbeat_interval(c, interval)) != KEYPORT_OK)
		return cli_fail(c, o, rc);
	if (o->grace != NULL &&
	    (rc = keyport_set_grace_period(c, grace)) != KEYPORT_OK)
		return cli_fail(c, o, rc);
	if (o->interval != NULL &&
	    (rc = keyport_set_heartbeat_interval(c, interval)) != KEYPORT_OK)
		return cli_fail(c, o, rc);
	return CLI_OK;
}

/* The offline commands (offline-request, -activate, -deactivate). */
static int
cmd_offline(keyport_client *c, const cli_opts *o)
{
	int rc;

	if (strcmp(o->cmd, "offline-request") == 0) {
		if (!need(o, o->key, "--key") ||
		    !need(o, o->product, "--product") ||
		    !need(o, o->out, "--out"))
			return CLI_USAGE;
		rc = keyport_offline_request(c, o->key, o->product, o->out);
		if (rc != KEYPORT_OK)
			return cli_fail(c, o, rc);
		cli_print(o, json_pack("{s:s}", "request", o->out));
		return CLI_OK;
	}
	if (strcmp(o->cmd, "offline-activate") == 0) {
		if (!need(o, o->response, "--response") ||
		    !need(o, o->product_key, "--product-key"))
			return CLI_USAGE;
		rc = keyport_offline_activate(c, o->response);
		if (rc != KEYPORT_OK)
			return cli_fail(c, o, rc);
		cli_print(o, json_pack("{s:s, s:s}", "activated offline",
		                       keyport_activation_id(c), "licenseId",
		                       keyport_license_id(c)));
		return CLI_OK;
	}
	if (strcmp(o->cmd, "offline-deactivate") == 0) {
		if (!need(o, o->out, "--out"))
			return CLI_USAGE;
		rc = keyport_offline_deactivate(c, o->out);
		if (rc != KEYPORT_OK)
			return cli_fail(c, o, rc);
		cli_print(o,
		          json_pack("{s:s}", "deactivation request", o->out));
		return CLI_OK;
	}
	return cli_usage(NULL, "unknown command %s", o->cmd);
}

static int
run(keyport_client *c, const cli_opts *o)
{
	char fp[65];
	int rc;

	if ((rc = configure(c, o)) != CLI_OK)
		return rc;
	if (strcmp(o->cmd, "activate") == 0)
		return cmd_activate(c, o);
	if (strcmp(o->cmd, "status") == 0)
		return print_check(c, o);
	if (strcmp(o->cmd, "heartbeat") == 0) {
		rc = keyport_heartbeat(c);
		if (rc != KEYPORT_OK)
			return cli_fail(c, o, rc);
		return print_check(c, o);
	}
	if (strcmp(o->cmd, "deactivate") == 0) {
		rc = keyport_deactivate(c);
		if (rc != KEYPORT_OK)
			return cli_fail(c, o, rc);
		cli_print(o, json_pack("{s:b}", "deactivated", 1));
		return CLI_OK;
	}
	if (strcmp(o->cmd, "update-check") == 0)
		return cmd_update_check(c, o);
	if (strncmp(o->cmd, "offline-", 8) == 0)
		return cmd_offline(c, o);
	if (strcmp(o->cmd, "fingerprint") == 0) {
		rc = keyport_fingerprint(fp);
		if (rc != KEYPORT_OK)
			return cli_fail(c, o, rc);
		if (o->json)
			cli_print(o, json_pack("{s:s}", "fingerprint", fp));
		else
			printf("%s\n", fp);
		return CLI_OK;
	}
	if (strcmp(o->cmd, "license") == 0)
		return cli_license(c, o);
	if (strcmp(o->cmd, "release") == 0)
		return cli_release(c, o);
	return cli_usage(NULL, "unknown command %s", o->cmd);
}

int
main(int argc, char **argv)
{
	cli_opts o = {0};
	keyport_client *c;
	const cmd_help *h;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc != 0)
		return rc;
	if (o.version_req) {
		if (o.json)
			printf("{\"keyport\":\"%s\",\"libkeyport\":\"%s\"}\n",
			       KEYPORT_VERSION, keyport_version());
		else
			printf("keyport %s (libkeyport %s)\n", KEYPORT_VERSION,
			       keyport_version());
		return CLI_OK;
	}
	if (o.cmd != NULL && strcmp(o.cmd, "help") == 0) {
		o.cmd = o.npos > 0 ? o.pos[0] : NULL;
		o.help = 1;
	}
	if (o.help) {
		if (o.cmd == NULL) {
			fputs(global_help, stdout);
			return CLI_OK;
		}
		if ((h = find_help(o.cmd)) == NULL)
			return cli_usage(NULL, "unknown command %s", o.cmd);
		fputs(h->text, stdout);
		return CLI_OK;
	}
	if (o.cmd == NULL) {
		fputs(global_help, stderr);
		return CLI_USAGE;
	}
	c = keyport_client_new(o.state);
	if (c == NULL) {
		fprintf(stderr, "keyport: out of memory\n");
		return CLI_ERROR;
	}
	rc = run(c, &o);
	keyport_client_free(c);
	return rc;
}
