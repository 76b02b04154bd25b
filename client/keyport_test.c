/* keyport_test: libkeyport without a server: fingerprint stability, the
 * state file (atomic, 0600), rollback detection and the offline files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keyport.h"
#include "kp_offline.h"

static char dir[256];

static void
setup(void)
{
	cr_assert_geq(sodium_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/keyport-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "open %s", path);
	fputs(text, f);
	fclose(f);
}

static void
iface(const char *name, const char *type, const char *mac)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/net/%s", dir, name);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/net/%s/addr_assign_type", dir, name);
	put(p, type);
	snprintf(p, sizeof(p), "%s/net/%s/address", dir, name);
	put(p, mac);
}

static void
fp_of(char out[65])
{
	char mid[512], net[512];

	snprintf(mid, sizeof(mid), "%s/machine-id", dir);
	snprintf(net, sizeof(net), "%s/net", dir);
	cr_assert_eq(keyport_fingerprint_from(mid, "host-a", net, out), 0);
}

Test(keyport, fingerprint_is_stable_and_ignores_virtual_ifaces, .init = setup,
     .fini = teardown)
{
	char p[512], a[65], b[65], c[65];

	snprintf(p, sizeof(p), "%s/machine-id", dir);
	put(p, "0123456789abcdef0123456789abcdef\n");
	snprintf(p, sizeof(p), "%s/net", dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	iface("lo", "0", "00:00:00:00:00:00\n");
	iface("eth1", "0", "52:54:00:00:00:02\n");
	fp_of(a);
	cr_assert_eq(strlen(a), 64);
	fp_of(b);
	cr_assert_str_eq(a, b);
	/* virtual interfaces come and go without changing it */
	iface("docker0", "3", "02:42:ac:11:00:01\n");
	iface("veth1", "1", "9a:00:00:00:00:01\n");
	fp_of(b);
	cr_assert_str_eq(a, b);
	/* a second NIC named later does not change it; one named first does
	 * (lowest name wins, whatever the directory order) */
	iface("eth2", "0", "52:54:00:00:00:03\n");
	fp_of(b);
	cr_assert_str_eq(a, b);
	iface("eth0", "0", "52:54:00:00:00:01\n");
	fp_of(c);
	cr_assert_str_neq(a, c);
	/* another machine-id is another machine */
	snprintf(p, sizeof(p), "%s/machine-id", dir);
	put(p, "ffffffffffffffffffffffffffffffff\n");
	fp_of(b);
	cr_assert_str_neq(b, c);
	/* the real machine's fingerprint is stable too */
	cr_assert_eq(keyport_fingerprint(a), 0);
	cr_assert_eq(keyport_fingerprint(b), 0);
	cr_assert_str_eq(a, b);
}

static char *
path(const char *name)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static int
count_files(const char *d)
{
	DIR *x = opendir(d);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(x);
	while ((e = readdir(x)) != NULL)
		n += e->d_name[0] != '.';
	closedir(x);
	return n;
}

Test(keyport, state_file_is_0600_and_written_atomically, .init = setup,
     .fini = teardown)
{
	keyport_client *c = keyport_client_new(path("sub/state.json"));
	struct stat s;
	json_t *st;
	mode_t old = umask(0);

	cr_assert_eq(
	    keyport_offline_request(c, "KEY-1", "prod-1", path("req.json")), 0,
	    "%s", keyport_error(c));
	umask(old);
	cr_assert_eq(stat(path("sub/state.json"), &s), 0);
	cr_assert_eq(s.st_mode & 0777, 0600);
	cr_assert_eq(stat(path("sub"), &s), 0);
	cr_assert_eq(s.st_mode & 0777, 0700);
	/* no temporary file is left beside it */
	cr_assert_eq(count_files(path("sub")), 1);
	st = json_load_file(path("sub/state.json"), 0, NULL);
	cr_assert(json_is_object(json_object_get(st, "pending")));
	cr_assert_eq(json_integer_value(json_object_get(st, "version")), 1);
	json_decref(st);
	/* a second request replaces it in one step (rename) */
	cr_assert_eq(stat(path("sub/state.json"), &s), 0);
	cr_assert_eq(
	    keyport_offline_request(c, "KEY-2", "prod-1", path("req2.json")),
	    0);
	cr_assert_eq(count_files(path("sub")), 1);
	st = json_load_file(path("sub/state.json"), 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(st, "pending"), "key")),
	                 "KEY-2");
	json_decref(st);
	keyport_client_free(c);
}

/* a product key pair and a response to the pending request */
static unsigned char ppk[32], psk[64];

static int
sign_cb(void *arg, const unsigned char *m, size_t n, unsigned char sig[64])
{
	(void)arg;
	crypto_sign_detached(sig, NULL, m, n, psk);
	return 0;
}

static void
answer(const char *req_file, const char *resp_file, int64_t issued,
       int64_t expires)
{
	FILE *f = fopen(req_file, "r");
	char buf[8192], *out = NULL;
	size_t n;
	kp_offline_request r;
	kp_token_claims k = {0};

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	cr_assert_eq(kp_offline_request_parse(buf, n, time(NULL), &r), 0);
	strcpy(k.activation_id, "act-1");
	strcpy(k.license_id, "lic-1");
	strcpy(k.product_id, r.product_id);
	strcpy(k.fingerprint, r.fingerprint);
	strcpy(k.status, "active");
	strcpy(k.nonce, r.nonce);
	strcpy(k.client_public_key, r.client_public_key);
	k.issued_at = issued;
	cr_assert_eq(
	    kp_offline_response_create(&k, expires, sign_cb, NULL, &out), 0);
	put(resp_file, out);
	free(out);
}

static void
pub_b64(char *out, size_t n)
{
	sodium_bin2base64(out, n, ppk, 32, sodium_base64_VARIANT_ORIGINAL);
}

Test(keyport, offline_round_trip_in_the_library, .init = setup,
     .fini = teardown)
{
	keyport_client *c = keyport_client_new(path("state.json"));
	keyport_info info;
	char pk[64], buf[8192];
	int64_t now = time(NULL);
	kp_offline_deactivation d;
	json_t *req;
	FILE *f;
	size_t n;

	crypto_sign_keypair(ppk, psk);
	pub_b64(pk, sizeof(pk));
	cr_assert_eq(keyport_set_product_key(c, pk), 0);
	cr_assert_eq(
	    keyport_offline_request(c, "KEY-1", "prod-1", path("req.json")), 0);
	/* expired and forged answers are refused */
	answer(path("req.json"), path("old.json"), now - 100, now - 1);
	cr_assert_eq(keyport_offline_activate(c, path("old.json")),
	             KEYPORT_EOFFLINE);
	cr_assert(strstr(keyport_error(c), "OFFLINE_EXPIRED") != NULL, "%s",
	          keyport_error(c));
	crypto_sign_keypair(ppk, psk); /* another product key signs */
	answer(path("req.json"), path("resp.json"), now, now + 3600);
	cr_assert_eq(keyport_offline_activate(c, path("resp.json")),
	             KEYPORT_EOFFLINE);
	cr_assert(strstr(keyport_error(c), "OFFLINE_FORGED") != NULL);
	/* the right one */
	pub_b64(pk, sizeof(pk));
	cr_assert_eq(keyport_set_product_key(c, pk), 0);
	answer(path("req.json"), path("resp.json"), now, now + 3600);
	cr_assert_eq(keyport_offline_activate(c, path("resp.json")), 0, "%s",
	             keyport_error(c));
	cr_assert_eq(keyport_status(c, &info), 0, "%s", keyport_error(c));
	cr_assert_eq(info.active, 1);
	cr_assert_eq(info.offline, 1);
	cr_assert_eq(info.verified, 1);
	cr_assert_str_eq(info.activation_id, "act-1");
	/* loading it again: no request is pending any more */
	cr_assert_neq(keyport_offline_activate(c, path("resp.json")), 0);
	cr_assert_eq(keyport_offline_deactivate(c, path("deact.json")), 0, "%s",
	             keyport_error(c));
	cr_assert_eq(keyport_status(c, &info), KEYPORT_ENOTACTIVE);
	/* the proof verifies with the key of the request, as the server does */
	req = json_load_file(path("req.json"), 0, NULL);
	f = fopen(path("deact.json"), "r");
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	cr_assert_eq(kp_offline_deactivation_parse(buf, n, &d), 0);
	cr_assert_eq(
	    kp_offline_deactivation_verify(
	        &d, json_string_value(json_object_get(req, "clientPublicKey")),
	        json_string_value(json_object_get(req, "fingerprint"))),
	    0);
	cr_assert_str_eq(d.activation_id, "act-1");
	kp_offline_deactivation_cleanup(&d);
	json_decref(req);
	keyport_client_free(c);
}

static void
write_state(const char *file, json_t *st)
{
	cr_assert_eq(json_dump_file(st, file, 0), 0);
	json_decref(st);
}

Test(keyport, rollback_of_clock_or_token_is_refused, .init = setup,
     .fini = teardown)
{
	keyport_client *c = keyport_client_new(path("state.json"));
	keyport_info info;
	unsigned char pk[32], sk[64];
	kp_token_claims k = {0};
	char *payload = NULL, *tok = NULL, pkb[64], saved;
	int64_t now = time(NULL);

	crypto_sign_keypair(pk, sk);
	cr_assert_eq(keyport_fingerprint(k.fingerprint), 0);
	strcpy(k.activation_id, "a");
	strcpy(k.license_id, "l");
	strcpy(k.product_id, "p");
	strcpy(k.status, "active");
	k.issued_at = now - 1000;
	cr_assert_eq(kp_token_payload_build(&k, &payload), 0);
	cr_assert_eq(kp_token_sign(payload, sk, &tok), 0);

	/* fresh state: the token verifies */
	cr_assert_eq(keyport_verify_token(c, tok, pk), 0, "%s",
	             keyport_error(c));
	/* a forged one does not */
	saved = tok[3];
	tok[3] = saved == 'a' ? 'b' : 'a';
	cr_assert_eq(keyport_verify_token(c, tok, pk), KEYPORT_EFORGED);
	tok[3] = saved;
	/* a newer token was seen before: this one is a rollback */
	write_state(path("state.json"),
	            json_pack("{s:I}", "newestIssuedAt", (json_int_t)now - 10));
	cr_assert_eq(keyport_verify_token(c, tok, pk), KEYPORT_EROLLBACK);
	cr_assert(strstr(keyport_error(c), "older") != NULL);
	/* the local clock was seen an hour ahead of now: clock went back */
	write_state(path("state.json"), json_pack("{s:I}", "lastSeenClock",
	                                          (json_int_t)now + 3600));
	cr_assert_eq(keyport_verify_token(c, tok, pk), KEYPORT_EROLLBACK);
	cr_assert(strstr(keyport_error(c), "clock") != NULL);
	/* status of a stored activation sees the same rollback */
	sodium_bin2base64(pkb, sizeof(pkb), pk, 32,
	                  sodium_base64_VARIANT_ORIGINAL);
	write_state(path("state.json"),
	            json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "activationId",
	                      "a", "productId", "p", "fingerprint",
	                      k.fingerprint, "token", tok, "productKey", pkb,
	                      "newestIssuedAt", (json_int_t)now - 1000));
	cr_assert_eq(keyport_status(c, &info), 0, "%s", keyport_error(c));
	cr_assert_eq(info.verified, 1);
	write_state(path("state.json"),
	            json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "activationId",
	                      "a", "productId", "p", "fingerprint",
	                      k.fingerprint, "token", tok, "productKey", pkb,
	                      "lastSeenClock", (json_int_t)now + 86400));
	cr_assert_eq(keyport_status(c, &info), KEYPORT_EROLLBACK);
	/* a token from the future (clock set back below issuedAt) */
	k.issued_at = now + 7200;
	free(payload);
	free(tok);
	cr_assert_eq(kp_token_payload_build(&k, &payload), 0);
	cr_assert_eq(kp_token_sign(payload, sk, &tok), 0);
	unlink(path("state.json"));
	cr_assert_eq(keyport_verify_token(c, tok, pk), KEYPORT_EROLLBACK);
	free(payload);
	free(tok);
	keyport_client_free(c);
}

Test(keyport, online_needs_a_server)
{
	keyport_client *c = keyport_client_new("/tmp/keyport-none/state.json");

	cr_assert_eq(keyport_activate(c, "http://127.0.0.1:1", "K", "P"),
	             KEYPORT_ENET);
	cr_assert_eq(keyport_heartbeat(c), KEYPORT_ENOTACTIVE);
	cr_assert_eq(keyport_activate(c, "", "K", "P"), KEYPORT_EINVAL);
	cr_assert_eq(keyport_set_product_key(c, "nope"), KEYPORT_EINVAL);
	keyport_client_free(c);
}

Test(keyport, version_options_and_check_without_state, .init = setup,
     .fini = teardown)
{
	keyport_client *c = keyport_client_new(path("state.json"));

	cr_assert_str_eq(keyport_version(), KEYPORT_VERSION);
	cr_assert_eq(keyport_set_timeout(c, 0), KEYPORT_EINVAL);
	cr_assert_eq(keyport_set_timeout(c, 3601), KEYPORT_EINVAL);
	cr_assert_eq(keyport_set_timeout(c, 5), KEYPORT_OK);
	cr_assert_eq(keyport_set_grace_period(c, 10), KEYPORT_EINVAL,
	             "the grace must exceed the interval (3600)");
	cr_assert_eq(keyport_set_heartbeat_interval(c, 5), KEYPORT_OK);
	cr_assert_eq(keyport_set_grace_period(c, 10), KEYPORT_OK);
	cr_assert_eq(keyport_set_heartbeat_interval(c, 10), KEYPORT_EINVAL);
	cr_assert_eq(keyport_set_proxy(c, "socks5h://127.0.0.1:1080"), 0);
	cr_assert_eq(keyport_set_ca_file(c, "/etc/ssl/certs/ca.pem"), 0);
	cr_assert_eq(keyport_set_server_key(c, "sha256//AAAA"), 0);
	cr_assert_eq(keyport_set_app_version(c, "1.0.0"), 0);
	{
		char big[100];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		cr_assert_eq(keyport_set_app_version(c, big), KEYPORT_EINVAL);
	}
	cr_assert_eq(keyport_check(c), KEYPORT_CHECK_NOT_ACTIVATED);
	cr_assert_str_eq(keyport_check_str(KEYPORT_CHECK_GRACE), "grace");
	cr_assert_str_eq(keyport_check_str(KEYPORT_CHECK_UNREACHABLE),
	                 "unreachable");
	cr_assert_str_eq(keyport_check_str(99), "error");
	cr_assert_str_eq(keyport_license_id(c), "");
	cr_assert_eq(keyport_license_allowed_activations(c), -2);
	cr_assert_eq(keyport_last_contact(c), 0);
	keyport_client_free(c);
}

/* The Windows platform part (registry MachineGuid, %APPDATA%, MoveFileEx)
 * cross-compiled and linked into a Windows executable with Debian's
 * gcc-mingw-w64, with the same warnings as the rest of the tree. It is
 * built, not run (no Windows here); the rest of libkeyport is not built for
 * Windows (no mingw libcurl, libsodium, jansson in Debian). */
Test(keyport, win_platform_parts_cross_compile, .init = setup, .fini = teardown)
{
	const char *root = getenv("KEYPORT_ROOT");
	char cmd[2048], exe[512], mz[2];
	unsigned char pe[6];
	FILE *f;
	long off;

	snprintf(exe, sizeof(exe), "%s/plat.exe", dir);
	put(path("main.c"),
	    "#include <stdio.h>\n#include \"keyport_plat.h\"\n"
	    "int main(void) { char a[256], b[64]; "
	    "keyport_plat_machine_id(a, sizeof a); "
	    "keyport_plat_hostname(a, sizeof a); "
	    "keyport_plat_hw_addr(NULL, a, sizeof a); "
	    "keyport_plat_os(a, sizeof a, b, sizeof b); "
	    "keyport_plat_state_path(a, sizeof a); "
	    "keyport_plat_mkdir_parent(a); "
	    "return keyport_plat_write_atomic(a, \"{}\", 2) != 0; }\n");
	snprintf(cmd, sizeof(cmd),
	         "x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra -Werror "
	         "-I'%s/client' -o '%s' '%s/client/keyport_plat_win.c' '%s' "
	         "-ladvapi32 >'%s/cc.log' 2>&1",
	         root != NULL ? root : ".", exe, root != NULL ? root : ".",
	         path("main.c"), dir);
	cr_assert_eq(system(cmd), 0, "cross-compile failed: %s", cmd);
	/* a PE image for x86-64: "MZ", then at e_lfanew "PE\0\0" 0x8664 */
	f = fopen(exe, "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fread(mz, 1, 2, f), 2);
	cr_assert_eq(memcmp(mz, "MZ", 2), 0);
	cr_assert_eq(fseek(f, 0x3c, SEEK_SET), 0);
	off = fgetc(f);
	off |= (long)fgetc(f) << 8;
	cr_assert_eq(fseek(f, off, SEEK_SET), 0);
	cr_assert_eq(fread(pe, 1, 6, f), 6);
	fclose(f);
	cr_assert_eq(memcmp(pe, "PE\0\0", 4), 0);
	cr_assert_eq(pe[4] | pe[5] << 8, 0x8664);
}

/* a program linked to the sanitized library (make SAN=1) needs the
 * sanitizer runtimes too */
#if defined(__SANITIZE_ADDRESS__)
static const char san_cc[] = "-fsanitize=address,undefined";
#else
static const char san_cc[] = "";
#endif

/* The shared library as a vendor links it: soname libkeyport.so.1, only
 * the keyport_* API exported, and keyport.pc giving the flags that build
 * and run a program against it (from a prefix made of links to the build's
 * files, as make install-client lays them out). */
Test(keyport, shared_library_soname_exports_and_pkgconfig, .init = setup,
     .fini = teardown)
{
	const char *bin = getenv("KEYPORT_BIN_DIR");
	const char *root = getenv("KEYPORT_ROOT");
	char lib[512], cmd[16384], out[512];
	FILE *p;
	size_t n;

	cr_assert_not_null(bin, "run through make test (KEYPORT_BIN_DIR)");
	cr_assert_not_null(root);
	snprintf(lib, sizeof(lib), "%s/../lib", bin);
	snprintf(cmd, sizeof(cmd),
	         "readelf -d '%s/libkeyport.so.1' | grep -q "
	         "'SONAME.*\\[libkeyport.so.1\\]'",
	         lib);
	cr_assert_eq(system(cmd), 0, "no soname libkeyport.so.1");
	snprintf(cmd, sizeof(cmd),
	         "nm -D --defined-only '%s/libkeyport.so.1' | awk '{print $3}' "
	         "| grep -v '^keyport_' | grep -v '^_' | head -n 5",
	         lib);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	cr_assert_eq(pclose(p), 0);
	cr_assert_str_eq(out, "", "exported beyond the API: %s", out);
	snprintf(cmd, sizeof(cmd),
	         "mkdir -p '%s/p/include' '%s/p/lib' && ln -s "
	         "'%s/client/keyport.h' '%s/p/include/' && ln -s "
	         "'%s/libkeyport.so.1' '%s/p/lib/libkeyport.so' && "
	         "printf '#include <keyport.h>\\n#include <stdio.h>\\nint "
	         "main(void){puts(keyport_version());return 0;}\\n' >'%s/v.c' "
	         "&& cc %s -o '%s/v' '%s/v.c' $(PKG_CONFIG_PATH='%s/pkgconfig' "
	         "pkg-config --define-variable=prefix='%s/p' --cflags --libs "
	         "keyport) && LD_LIBRARY_PATH='%s' '%s/v' >'%s/v.out'",
	         dir, dir, root, dir, lib, dir, dir, san_cc, dir, dir, lib, dir,
	         lib, dir, dir);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	snprintf(cmd, sizeof(cmd), "%s/v.out", dir);
	p = fopen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	fclose(p);
	cr_assert_str_eq(out, KEYPORT_VERSION "\n");
}

/* Every other source of libkeyport and of the keyport tool compiled for
 * Windows too (x86_64-w64-mingw32-gcc -c, -Wall -Wextra -Werror), against
 * the Debian (Linux) headers of libsodium, jansson and libcurl copied
 * aside: what is checked is that the code is Windows C (no POSIX call left
 * outside keyport_plat_*.c); what is not is linking, as Debian has no
 * mingw builds of those three libraries. */
Test(keyport, whole_library_and_tool_compile_for_windows, .init = setup,
     .fini = teardown)
{
	static const char *const srcs[] = {
	    "client/keyport_client.c",   "client/keyport_online.c",
	    "client/keyport_offline.c",  "client/keyport_trust.c",
	    "client/keyport_check.c",    "client/keyport_http.c",
	    "client/keyport_fp.c",       "client/keyport_state.c",
	    "common/kp_token.c",         "common/kp_offline.c",
	    "client/keyport_plat_win.c", "client/keyport_cli.c",
	    "client/cli_admin.c",        "client/cli_release.c",
	};
	const char *root = getenv("KEYPORT_ROOT");
	char cmd[4096];
	size_t i;

	if (root == NULL)
		root = ".";
	snprintf(
	    cmd, sizeof(cmd),
	    "set -e; h='%s/h'; mkdir -p \"$h\"; cp -r /usr/include/sodium.h "
	    "/usr/include/sodium /usr/include/jansson.h "
	    "/usr/include/jansson_config.h \"$h/\"; for d in /usr/include "
	    "/usr/include/$(cc -dumpmachine); do [ -f \"$d/curl/curl.h\" ] "
	    "&& cp -r \"$d/curl\" \"$h/\"; done; [ -f \"$h/curl/curl.h\" ]",
	    dir);
	cr_assert_eq(system(cmd), 0, "headers: %s", cmd);
	for (i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		snprintf(
		    cmd, sizeof(cmd),
		    "x86_64-w64-mingw32-gcc -std=c11 -O2 -Wall -Wextra "
		    "-Werror -DKEYPORT_VERSION='\"0\"' -isystem '%s/h' "
		    "-I'%s/client' -I'%s/common' -c '%s/%s' -o '%s/w%zu.o' "
		    ">'%s/w.log' 2>&1",
		    dir, root, root, root, srcs[i], dir, i, dir);
		if (system(cmd) != 0) {
			char log[2048];
			FILE *f;
			size_t n = 0;

			snprintf(log, sizeof(log), "%s/w.log", dir);
			f = fopen(log, "r");
			if (f != NULL) {
				n = fread(log, 1, sizeof(log) - 1, f);
				fclose(f);
			}
			log[n] = '\0';
			cr_assert_fail("%s does not compile for Windows:\n%s",
			               srcs[i], log);
		}
	}
}
