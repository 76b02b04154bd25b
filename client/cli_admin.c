/* cli_admin: `keyport license create|list|suspend|revoke`, the vendor's
 * license commands, authenticated by a personal access token in
 * $KEYPORT_TOKEN (never on the command line, where ps would show it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char cli_license_help[] =
    "usage: keyport license create --product ID [--type node-locked|"
    "hosted-floating]\n"
    "           [--allowed-activations N] [--allowed-deactivations N]\n"
    "           [--validity SECONDS] [--expiration-strategy "
    "immediate|delayed]\n"
    "           [--user ID] [--organization ID] [--metadata JSON-OBJECT]\n"
    "       keyport license list [--product ID] [--status S] [--page N] "
    "[--limit N]\n"
    "       keyport license suspend LICENSE-ID\n"
    "       keyport license revoke LICENSE-ID\n"
    "Vendor admin commands. The server comes from --server or\n"
    "$KEYPORT_SERVER, the personal access token from $KEYPORT_TOKEN.\n"
    "Defaults of create: node-locked, 1 activation, 1 deactivation,\n"
    "perpetual (validity 0), immediate. Prints the license (with its\n"
    "key); --json for the server's JSON. Exit 9 when the server refuses,\n"
    "12 without a token or with a refused one.\n";

/* one request of a vendor command; prints the answer */
static int
vendor_call(keyport_client *c, const cli_opts *o, const char *method,
            const char *path, json_t *body, int list)
{
	const char *server, *token;
	char url[2048];
	json_t *reply = NULL, *it;
	long status;
	size_t i;
	int rc;

	if ((rc = cli_vendor(c, o, &server, &token)) != 0)
		return rc;
	if (keyport_url(url, sizeof(url), server, path) != 0)
		return cli_usage(o, "the server URL is too long");
	rc =
	    keyport_http_ok(c, method, url, token, NULL, body, &status, &reply);
	if (rc != KEYPORT_OK)
		return cli_fail(c, o, rc);
	if (list && !o->json) {
		json_array_foreach(json_object_get(reply, "items"), i, it)
		{
			printf("%s  %s  %s  %s\n",
			       json_string_value(json_object_get(it, "id")),
			       json_string_value(json_object_get(it, "key")),
			       json_string_value(json_object_get(it, "status")),
			       json_string_value(json_object_get(it, "type")));
		}
		printf("total: %lld\n", (long long)json_integer_value(
		                            json_object_get(reply, "total")));
		json_decref(reply);
		return CLI_OK;
	}
	cli_print(o, reply);
	return CLI_OK;
}

static int
license_create(keyport_client *c, const cli_opts *o)
{
	long long act, deact, validity;
	json_t *body, *meta = NULL;
	json_error_t e;
	int rc;

	if (o->product == NULL || o->product[0] == '\0')
		return cli_usage(o, "--product is required");
	if (!cli_num(o, o->allowed_act, "--allowed-activations", 1, &act) ||
	    !cli_num(o, o->allowed_deact, "--allowed-deactivations", 1,
	             &deact) ||
	    !cli_num(o, o->validity, "--validity", 0, &validity))
		return CLI_USAGE;
	if (o->metadata != NULL) {
		meta = json_loads(o->metadata, 0, &e);
		if (!json_is_object(meta)) {
			json_decref(meta);
			return cli_usage(o, "--metadata must be a JSON object");
		}
	}
	body = json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:s}", "productId", o->product, "type",
	    o->type != NULL ? o->type : "node-locked", "allowedActivations",
	    (json_int_t)act, "allowedDeactivations", (json_int_t)deact,
	    "validity", (json_int_t)validity, "expirationStrategy",
	    o->strategy != NULL ? o->strategy : "immediate");
	if (body == NULL) {
		json_decref(meta);
		return CLI_ERROR;
	}
	if (o->user != NULL)
		json_object_set_new(body, "userId", json_string(o->user));
	if (o->org != NULL)
		json_object_set_new(body, "organizationId",
		                    json_string(o->org));
	if (meta != NULL)
		json_object_set_new(body, "metadata", meta);
	rc = vendor_call(c, o, "POST", "/v1/licenses", body, 0);
	json_decref(body);
	return rc;
}

static int
license_list(keyport_client *c, const cli_opts *o)
{
	char path[1024], *p = NULL, *s = NULL;
	long long page, limit;
	int rc;

	if (!cli_num(o, o->page, "--page", 1, &page) ||
	    !cli_num(o, o->limit, "--limit", 50, &limit))
		return CLI_USAGE;
	p = keyport_escape(o->product);
	s = keyport_escape(o->status);
	if (p == NULL || s == NULL) {
		free(p);
		free(s);
		return CLI_ERROR;
	}
	snprintf(path, sizeof(path),
	         "/v1/licenses?page=%lld&limit=%lld%s%s%s%s", page, limit,
	         p[0] ? "&productId=" : "", p, s[0] ? "&status=" : "", s);
	free(p);
	free(s);
	rc = vendor_call(c, o, "GET", path, NULL, 1);
	return rc;
}

static int
license_action(keyport_client *c, const cli_opts *o, const char *action)
{
	char path[256], *id;
	int rc;

	if (o->npos < 2 || o->pos[1][0] == '\0')
		return cli_usage(o, "license %s needs a LICENSE-ID", action);
	id = keyport_escape(o->pos[1]);
	if (id == NULL)
		return CLI_ERROR;
	snprintf(path, sizeof(path), "/v1/licenses/%.64s/%s", id, action);
	free(id);
	rc = vendor_call(c, o, "POST", path, NULL, 0);
	return rc;
}

int
cli_license(keyport_client *c, const cli_opts *o)
{
	const char *sub = o->npos > 0 ? o->pos[0] : "";

	if (strcmp(sub, "create") == 0)
		return license_create(c, o);
	if (strcmp(sub, "list") == 0)
		return license_list(c, o);
	if (strcmp(sub, "suspend") == 0 || strcmp(sub, "revoke") == 0)
		return license_action(c, o, sub);
	return cli_usage(o, "license needs create, list, suspend or revoke");
}
