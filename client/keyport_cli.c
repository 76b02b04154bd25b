/* keyport: the command-line tool on top of libkeyport.
 *
 *   keyport [--state FILE] activate --server URL --key K --product P
 *           [--product-key PUBKEY]
 *   keyport [--state FILE] status [--product-key PUBKEY]
 *   keyport [--state FILE] heartbeat
 *   keyport [--state FILE] deactivate
 *   keyport [--state FILE] offline-request --key K --product P --out FILE
 *   keyport [--state FILE] offline-activate --response FILE
 *           --product-key PUBKEY
 *   keyport [--state FILE] offline-deactivate --out FILE
 *   keyport fingerprint
 *
 * Exit status 0 on success; otherwise the keyport_status value and one line
 * "keyport: <reason>" on stderr. Options may come before or after the
 * command. The product key may also come from $KEYPORT_PRODUCT_KEY.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyport.h"

typedef struct opts {
	const char *cmd, *state, *server, *key, *product, *product_key, *out,
	    *response;
} opts;

static int
usage(void)
{
	fprintf(stderr,
	        "keyport: usage: keyport [--state FILE] <activate|status|"
	        "heartbeat|deactivate|offline-request|offline-activate|"
	        "offline-deactivate|fingerprint> [options]\n");
	return 64;
}

static int
parse(int argc, char **argv, opts *o)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
	    {"--state", offsetof(opts, state)},
	    {"--server", offsetof(opts, server)},
	    {"--key", offsetof(opts, key)},
	    {"--product", offsetof(opts, product)},
	    {"--product-key", offsetof(opts, product_key)},
	    {"--out", offsetof(opts, out)},
	    {"--response", offsetof(opts, response)},
	};
	int i;
	size_t f;

	for (i = 1; i < argc; i++) {
		for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			size_t n = strlen(flags[f].name);

			if (strcmp(argv[i], flags[f].name) == 0) {
				if (i + 1 >= argc) {
					fprintf(stderr,
					        "keyport: %s needs a value\n",
					        argv[i]);
					return -1;
				}
				*(const char **)((char *)o + flags[f].off) =
				    argv[++i];
				break;
			}
			if (strncmp(argv[i], flags[f].name, n) == 0 &&
			    argv[i][n] == '=') {
				*(const char **)((char *)o + flags[f].off) =
				    argv[i] + n + 1;
				break;
			}
		}
		if (f < sizeof(flags) / sizeof(flags[0]))
			continue;
		if (argv[i][0] == '-' || o->cmd != NULL) {
			fprintf(stderr, "keyport: unknown argument %s\n",
			        argv[i]);
			return -1;
		}
		o->cmd = argv[i];
	}
	if (o->product_key == NULL)
		o->product_key = getenv("KEYPORT_PRODUCT_KEY");
	return o->cmd != NULL ? 0 : -1;
}

static int
need(const char *v, const char *flag)
{
	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "keyport: %s is required\n", flag);
		return 0;
	}
	return 1;
}

static void
print_time(const char *label, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		printf("%s: never\n", label);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s: %s\n", label, buf);
}

static int
run(keyport_client *c, const opts *o)
{
	keyport_info info;
	char fp[65];
	int rc;

	if (o->product_key != NULL && o->product_key[0] != '\0') {
		rc = keyport_set_product_key(c, o->product_key);
		if (rc != KEYPORT_OK)
			return rc;
	}
	if (strcmp(o->cmd, "activate") == 0) {
		if (!need(o->server, "--server") || !need(o->key, "--key") ||
		    !need(o->product, "--product"))
			return 64;
		rc = keyport_activate(c, o->server, o->key, o->product);
		if (rc == KEYPORT_OK && keyport_status(c, &info) == KEYPORT_OK)
			printf("activated: %s (license %s, status %s)\n",
			       info.activation_id, info.license_id,
			       info.status);
		return rc;
	}
	if (strcmp(o->cmd, "heartbeat") == 0)
		return keyport_heartbeat(c);
	if (strcmp(o->cmd, "deactivate") == 0) {
		rc = keyport_deactivate(c);
		if (rc == KEYPORT_OK)
			printf("deactivated\n");
		return rc;
	}
	if (strcmp(o->cmd, "status") == 0) {
		rc = keyport_status(c, &info);
		if (rc == KEYPORT_ENOTACTIVE) {
			printf("active: no\n");
			if (info.pending_request)
				printf("pending offline request: yes\n");
		}
		if (rc != KEYPORT_OK)
			return rc;
		printf("active: yes\nmode: %s\nverified: %s\n",
		       info.offline ? "offline" : "online",
		       info.verified ? "yes" : "no");
		printf("activationId: %s\nlicenseId: %s\nproductId: %s\n",
		       info.activation_id, info.license_id, info.product_id);
		printf("status: %s\nfingerprint: %s\n", info.status,
		       info.fingerprint);
		print_time("expiresAt", info.expires_at);
		print_time("issuedAt", info.issued_at);
		return KEYPORT_OK;
	}
	if (strcmp(o->cmd, "offline-request") == 0) {
		if (!need(o->key, "--key") || !need(o->product, "--product") ||
		    !need(o->out, "--out"))
			return 64;
		rc = keyport_offline_request(c, o->key, o->product, o->out);
		if (rc == KEYPORT_OK)
			printf("offline request written to %s\n", o->out);
		return rc;
	}
	if (strcmp(o->cmd, "offline-activate") == 0) {
		if (!need(o->response, "--response") ||
		    !need(o->product_key, "--product-key"))
			return 64;
		rc = keyport_offline_activate(c, o->response);
		if (rc == KEYPORT_OK && keyport_status(c, &info) == KEYPORT_OK)
			printf("activated offline: %s (license %s)\n",
			       info.activation_id, info.license_id);
		return rc;
	}
	if (strcmp(o->cmd, "offline-deactivate") == 0) {
		if (!need(o->out, "--out"))
			return 64;
		rc = keyport_offline_deactivate(c, o->out);
		if (rc == KEYPORT_OK)
			printf("offline deactivation request written to %s\n",
			       o->out);
		return rc;
	}
	if (strcmp(o->cmd, "fingerprint") == 0) {
		rc = keyport_fingerprint(fp);
		if (rc == KEYPORT_OK)
			printf("%s\n", fp);
		return rc;
	}
	fprintf(stderr, "keyport: unknown command %s\n", o->cmd);
	return 64;
}

int
main(int argc, char **argv)
{
	opts o = {0};
	keyport_client *c;
	int rc;

	if (parse(argc, argv, &o) != 0)
		return usage();
	c = keyport_client_new(o.state);
	if (c == NULL) {
		fprintf(stderr, "keyport: out of memory\n");
		return KEYPORT_ENOMEM;
	}
	rc = run(c, &o);
	if (rc != KEYPORT_OK && rc != 64)
		fprintf(stderr, "keyport: %s\n", keyport_error(c));
	keyport_client_free(c);
	return rc;
}
