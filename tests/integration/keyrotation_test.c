/* Access-token key rotation while auth runs: with the clock moved past
 * KEYPORT_AUTH_KEY_MAX_AGE_DAYS (30), the next login is signed by a new key,
 * a token of the old key keeps working (gateway and auth.Authenticate) until
 * it expires, the old key stays in auth.PublicKeys until every token it can
 * have signed has expired, and then its file is deleted. Its own stack: the
 * test moves auth's clock by a month. */
#include "kp_access.h"
#include "kp_err.h"
#include "kp_rpc.h"
#include "kpt.h"
#include "kpt_http.h"
#include "proto/auth.pb-c.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

KPT_SUITE(0)

#define DAY 86400LL

/* Logs the admin in; the access token (malloc'd) and its kid. */
static char *
login(char kid[KP_ACCESS_KID_MAX])
{
	char *body = kpt_jsonf("{s:s, s:s}", "email", kpt_admin_email(),
	                       "password", kpt_admin_password());
	kpt_resp r;
	char *tok;

	cr_assert_eq(kpt_http("POST", "/v1/auth/login", NULL, body, NULL, &r),
	             0);
	free(body);
	cr_assert_eq(r.status, 200, "%s", r.body);
	tok = strdup(json_string_value(json_object_get(r.json, "accessToken")));
	kpt_resp_free(&r);
	cr_assert_eq(kp_access_kid(tok, kid, KP_ACCESS_KID_MAX), KP_OK);
	return tok;
}

/* GET /v1/me through the gateway (which verifies tokens locally). */
static long
me(const char *token)
{
	kpt_resp r;
	long st;

	cr_assert_eq(kpt_http("GET", "/v1/me", token, NULL, NULL, &r), 0);
	st = r.status;
	kpt_resp_free(&r);
	return st;
}

/* auth.Authenticate (auth's own clock decides expiry): the status. */
static int
authenticate(kp_rpc_client *c, const char *token)
{
	Keyport__Auth__AuthenticateRequest q =
	    KEYPORT__AUTH__AUTHENTICATE_REQUEST__INIT;
	Keyport__Auth__AuthenticateReply *rep = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	int rv;

	q.token = (char *)token;
	call.method = "auth.Authenticate";
	call.timeout_ms = 5000;
	rv = kp_rpc_invoke(c, &call, &q.base,
	                   &keyport__auth__authenticate_reply__descriptor,
	                   (ProtobufCMessage **)&rep, &res);
	if (rv == KP_OK) {
		cr_assert_not_null(rep->caller);
		cr_assert_eq(strlen(rep->caller->user_id), 36);
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	}
	return rv;
}

/* auth.PublicKeys: whether kid is published; *n the number of keys. */
static int
published(kp_rpc_client *c, const char *kid, size_t *n)
{
	Keyport__Auth__PublicKeysReply *rep = NULL;
	kp_rpc_call call = {0};
	kp_rpc_result res;
	int found = 0;

	call.method = "auth.PublicKeys";
	call.timeout_ms = 5000;
	cr_assert_eq(
	    kp_rpc_invoke(c, &call, NULL,
	                  &keyport__auth__public_keys_reply__descriptor,
	                  (ProtobufCMessage **)&rep, &res),
	    KP_OK, "%s", res.message);
	for (size_t i = 0; i < rep->n_keys; i++) {
		cr_assert_eq(rep->keys[i]->key.len, 32);
		if (strcmp(rep->keys[i]->kid, kid) == 0)
			found = 1;
	}
	/* newest first */
	for (size_t i = 1; i < rep->n_keys; i++)
		cr_assert(strcmp(rep->keys[i - 1]->kid, rep->keys[i]->kid) > 0);
	*n = rep->n_keys;
	protobuf_c_message_free_unpacked(&rep->base, NULL);
	return found;
}

/* Whether KEYPORT_SECRET_DIR/auth-keys/<kid>.key exists. */
static int
key_file(const char *kid)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/secrets/auth-keys/%s.key", kpt_dir(),
	         kid);
	return access(path, F_OK) == 0;
}

Test(keyrotation, new_key_while_running_old_tokens_valid_until_expiry,
     .timeout = 60)
{
	kp_rpc_client *c = kpt_rpc_open("auth");
	char k0[KP_ACCESS_KID_MAX], k1[KP_ACCESS_KID_MAX];
	char k2[KP_ACCESS_KID_MAX], k3[KP_ACCESS_KID_MAX];
	char *t0, *t1, *t2, *t3;
	size_t n;

	/* the key made at start signs; a check an hour before the key turns
	 * 30 days old finds nothing to do */
	t0 = login(k0);
	cr_assert(published(c, k0, &n));
	cr_assert_eq(n, 1);
	kpt_set_clock("auth", 30 * DAY - 3700);
	free(login(k1));
	cr_assert_str_eq(k1, k0);
	/* the last token of the old key, 5 minutes before it turns 30 days */
	kpt_set_clock("auth", 30 * DAY - 300);
	t1 = login(k1);
	cr_assert_str_eq(k1, k0);

	/* past the age (and the hourly check due): the next login rotates,
	 * without a restart */
	kpt_set_clock("auth", 30 * DAY + 60);
	t2 = login(k2);
	cr_assert_str_neq(k2, k0, "no new signing key after 30 days");
	cr_assert(key_file(k2));
	cr_assert(published(c, k2, &n));
	cr_assert(published(c, k0, &n), "the old key must stay published");
	cr_assert_eq(n, 2);
	cr_assert_eq(kpt_log_grep("signing with"), 2);
	/* the gateway learns the new kid and still takes the old key's token */
	cr_assert_eq(me(t2), 200);
	cr_assert_eq(me(t1), 200);
	cr_assert_eq(me(t0), 200);
	cr_assert_eq(authenticate(c, t1), KP_OK);
	cr_assert_eq(authenticate(c, t2), KP_OK);

	/* once t1 expired (15 minutes after it was issued) auth refuses it,
	 * while the new key's token still works */
	kpt_set_clock("auth", 30 * DAY + 700);
	cr_assert_eq(authenticate(c, t1), KP_EUNAUTH);
	cr_assert_eq(authenticate(c, t2), KP_OK);
	cr_assert(published(c, k0, &n),
	          "retired while a replica may still sign with it");

	/* an hour (check interval) + 15 minutes (token lifetime) after it
	 * was superseded, the old key is retired: unpublished and deleted */
	kpt_set_clock("auth", 30 * DAY + 60 + 3600 + 900 + 60);
	t3 = login(k3);
	cr_assert_str_eq(k3, k2);
	cr_assert_not(published(c, k0, &n), "the old key is still published");
	cr_assert_eq(n, 1);
	cr_assert_not(key_file(k0));
	cr_assert(key_file(k2));
	cr_assert_eq(kpt_log_grep("retired access-token key"), 1);
	cr_assert_eq(authenticate(c, t3), KP_OK);
	cr_assert_eq(me(t3), 200);

	/* more files than a key set holds (16), all long superseded: the
	 * newest key still signs and the rest are retired, over two rereads */
	for (int i = 0; i < 20; i++) {
		char path[1024], sk[64];
		FILE *f;

		snprintf(path, sizeof(path),
		         "%s/secrets/auth-keys/200001%02d000000-0000%04x.key",
		         kpt_dir(), i + 1, i);
		memset(sk, i + 1, sizeof(sk));
		cr_assert_not_null(f = fopen(path, "w"));
		cr_assert_eq(fwrite(sk, 1, sizeof(sk), f), sizeof(sk));
		fclose(f);
	}
	cr_assert(published(c, k2, &n));
	cr_assert(published(c, k2, &n));
	cr_assert_eq(n, 1, "%zu keys published", n);
	{
		char dir[1024];
		struct dirent *e;
		DIR *d;
		int files = 0;

		snprintf(dir, sizeof(dir), "%s/secrets/auth-keys", kpt_dir());
		cr_assert_not_null(d = opendir(dir));
		while ((e = readdir(d)) != NULL)
			if (strstr(e->d_name, ".key") != NULL)
				files++;
		closedir(d);
		cr_assert_eq(files, 1);
	}
	free(t3);
	t3 = login(k3);
	cr_assert_str_eq(k3, k2);

	kpt_set_clock("auth", 0);
	kp_rpc_client_close(c);
	free(t0);
	free(t1);
	free(t2);
	free(t3);
}
