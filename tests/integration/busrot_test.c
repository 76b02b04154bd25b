/* Rotation of the bus's credentials (common/kp_bus.h, docs/deploy.md
 * "Rotation") on a running stack, every process picking the files up
 * without a restart: a trust bundle of two CAs takes a client of either
 * and, after finish-ca, of the new one alone; a pair key rotated through
 * .next, the sender's .key and the promotion loses no request of a steady
 * stream (each process with its own files, or all of them sharing one
 * directory); a frame under a key that is neither .key nor .next is refused.
 *
 * The tests change the stack's bus directory and run in their order of
 * name (--jobs 1), each leaving a directory every process can work with. */
#include "kp_bus.h"
#include "kp_err.h"
#include "kp_rpc.h"
#include "kpt.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

KPT_SUITE(0)

static const char *const services[] = {"auth", "org", "license", "activation",
                                       "release"};
#define NSERVICES (sizeof(services) / sizeof(services[0]))
/* Bounds of the waits for a reload (checked every 2 s): tries, not time. */
#define MAX_TRIES 60

static const char *
bus_dir(void)
{
	static char dir[600];

	snprintf(dir, sizeof(dir), "%s/secrets/bus", kpt_dir());
	return dir;
}

static void
sh(const char *fmt, const char *a, const char *b, const char *c)
{
	char cmd[2000];

	snprintf(cmd, sizeof(cmd), fmt, a, b ? b : "", c ? c : "");
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static const char *
script(void)
{
	static char path[700];

	snprintf(path, sizeof(path), "%s/scripts/bus-certs.sh",
	         getenv("KEYPORT_ROOT") ? getenv("KEYPORT_ROOT") : ".");
	return path;
}

static void
read_key(const char *file, uint8_t key[crypto_auth_KEYBYTES])
{
	char path[800];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", bus_dir(), file);
	cr_assert_not_null(f = fopen(path, "rb"), "%s", path);
	cr_assert_eq(fread(key, 1, crypto_auth_KEYBYTES, f),
	             crypto_auth_KEYBYTES);
	fclose(f);
}

/* svc.Health in a frame of the bus made here, as identity kpt, under key,
 * over mutual TLS with the client certificate certkey and the bundle
 * ca.crt. 0 when answered; an outsider sees NNG_ETIMEDOUT. */
static int
framed_health(const char *svc, const uint8_t key[crypto_auth_KEYBYTES],
              const char *certkey)
{
	Keyport__Envelope env = KEYPORT__ENVELOPE__INIT;
	const char *id = KP_BUS_TEST_IDENTITY;
	size_t idlen = strlen(id), head = 2 + idlen + crypto_auth_BYTES, n;
	char method[64], ca[700];
	nng_socket s;
	nng_dialer d;
	nng_msg *m;
	uint8_t *b;
	int rv;

	snprintf(method, sizeof(method), "%s.Health", svc);
	snprintf(ca, sizeof(ca), "%s/ca.crt", bus_dir());
	env.method = method;
	env.request_id = "busrot-test";
	cr_assert_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1500);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1500);
	cr_assert_eq(nng_dialer_create(&d, s, kpt_service_url(svc)), 0);
	cr_assert_eq(nng_dialer_set_string(d, NNG_OPT_TLS_CA_FILE, ca), 0);
	cr_assert_eq(nng_dialer_set_string(d, NNG_OPT_TLS_SERVER_NAME, svc), 0);
	cr_assert_eq(
	    nng_dialer_set_string(d, NNG_OPT_TLS_CERT_KEY_FILE, certkey), 0,
	    "%s", certkey);
	cr_assert_eq(nng_dialer_start(d, NNG_FLAG_NONBLOCK), 0);
	n = keyport__envelope__get_packed_size(&env);
	cr_assert_eq(nng_msg_alloc(&m, head + n), 0);
	b = nng_msg_body(m);
	b[0] = 1;
	b[1] = (uint8_t)idlen;
	memcpy(b + 2, id, idlen);
	keyport__envelope__pack(&env, b + head);
	crypto_auth(b + 2 + idlen, b + head, n, key);
	if ((rv = nng_sendmsg(s, m, 0)) != 0)
		nng_msg_free(m);
	else if ((rv = nng_recvmsg(s, &m, 0)) == 0)
		nng_msg_free(m);
	nng_close(s);
	return rv;
}

/* Waits (a bounded number of tries) until svc answers (want 0) or stops
 * answering (want NNG_ETIMEDOUT) the frame; returns the last result. */
static int
until(int want, const char *svc, const uint8_t *key, const char *certkey)
{
	int rv = -1;

	for (int i = 0; i < MAX_TRIES; i++) {
		if ((rv = framed_health(svc, key, certkey)) == want)
			break;
		usleep(200 * 1000);
	}
	return rv;
}

static const char *
kpt_pem(void)
{
	static char pem[700];

	snprintf(pem, sizeof(pem), "%s/kpt.pem", bus_dir());
	return pem;
}

Test(busrot, a_frame_under_neither_key_nor_next_is_refused)
{
	uint8_t key[crypto_auth_KEYBYTES], next[crypto_auth_KEYBYTES],
	    other[crypto_auth_KEYBYTES];
	char path[800];

	randombytes_buf(other, sizeof(other));
	read_key("kpt-auth.key", key);
	/* the control: the frame under the pair's key is answered */
	cr_assert_eq(framed_health("auth", key, kpt_pem()), 0);
	cr_expect_eq(framed_health("auth", other, kpt_pem()), NNG_ETIMEDOUT,
	             "auth answered a frame under a stranger's key");
	/* during a rotation: .key and .next are, anything else is not */
	sh("'%s' rotate-pair '%s' kpt auth >/dev/null", script(), bus_dir(),
	   NULL);
	read_key("kpt-auth.key.next", next);
	cr_assert_eq(until(0, "auth", next, kpt_pem()), 0,
	             "auth never took kpt-auth.key.next");
	cr_expect_eq(framed_health("auth", key, kpt_pem()), 0);
	cr_expect_eq(framed_health("auth", other, kpt_pem()), NNG_ETIMEDOUT,
	             "auth answered a frame under neither key nor next");
	/* another service holds neither of auth's keys */
	cr_expect_eq(framed_health("org", next, kpt_pem()), NNG_ETIMEDOUT);
	/* the rotation abandoned: .next removed, refused again */
	snprintf(path, sizeof(path), "%s/kpt-auth.key.next", bus_dir());
	cr_assert_eq(unlink(path), 0);
	cr_expect_eq(until(NNG_ETIMEDOUT, "auth", next, kpt_pem()),
	             NNG_ETIMEDOUT, "auth still takes a removed .next");
	cr_expect_eq(framed_health("auth", key, kpt_pem()), 0);
}

Test(busrot, b_a_bundle_of_two_cas_then_finish_ca, .timeout = 600)
{
	char tmp[] = "/tmp/kp-busrot-XXXXXX", old[700];
	uint8_t key[crypto_auth_KEYBYTES];

	cr_assert_not_null(mkdtemp(tmp));
	/* a client certified by the CA of today, kept aside */
	snprintf(old, sizeof(old), "%s/kpt-old.pem", tmp);
	sh("cp '%s/kpt.pem' '%s'", bus_dir(), old, NULL);
	sh("'%s' rotate-ca '%s' >/dev/null", script(), bus_dir(), NULL);
	sh("grep -c BEGIN '%s/ca.crt' | grep -qx 2", bus_dir(), NULL, NULL);
	for (size_t i = 0; i < NSERVICES; i++) {
		char pair[64];

		snprintf(pair, sizeof(pair), "kpt-%s.key", services[i]);
		read_key(pair, key);
		/* the new CA's client: answered once the service reloaded */
		cr_expect_eq(until(0, services[i], key, kpt_pem()), 0,
		             "%s never took the new CA", services[i]);
		/* and the old CA's too, while the bundle holds both */
		cr_expect_eq(framed_health(services[i], key, old), 0,
		             "%s refused the old CA during the window",
		             services[i]);
	}
	sh("'%s' finish-ca '%s' >/dev/null", script(), bus_dir(), NULL);
	for (size_t i = 0; i < NSERVICES; i++) {
		char pair[64];

		snprintf(pair, sizeof(pair), "kpt-%s.key", services[i]);
		read_key(pair, key);
		cr_expect_eq(
		    until(NNG_ETIMEDOUT, services[i], key, old), NNG_ETIMEDOUT,
		    "%s still takes the old CA after finish-ca", services[i]);
		cr_expect_eq(framed_health(services[i], key, kpt_pem()), 0,
		             "%s refused the new CA", services[i]);
	}
	/* the stack itself still works: the gateway reaches every service
	 * over new connections made with the new files */
	for (size_t i = 0; i < NSERVICES; i++) {
		kp_rpc_client *c = NULL;
		kp_rpc_result res;
		int rv = -1;

		cr_assert_eq(kp_bus_init(KP_BUS_TEST_IDENTITY), KP_OK);
		cr_assert_eq(kp_rpc_client_open(&c, services[i],
		                                kpt_service_url(services[i])),
		             KP_OK);
		/* a fresh client waits only 500 ms for its first connection
		 * (kp_rpc), which a loaded machine's TLS handshake can miss:
		 * a few tries, the last one must be answered */
		for (int t = 0; t < 5; t++)
			if ((rv = kp_rpc_health(c, 3000, &res)) == KP_OK)
				break;
		cr_expect_eq(rv, KP_OK, "%s: %s", services[i], res.message);
		kp_rpc_client_close(c);
	}
	/* and reconnects with them: auth restarted shows only a new-CA
	 * certificate, which the gateway's dialer must now trust */
	kpt_kill("auth", SIGKILL);
	kpt_restart("auth");
	{
		long status = 0;

		for (int i = 0; i < MAX_TRIES && status != 200; i++) {
			kpt_resp r;

			if (i > 0)
				usleep(200 * 1000);
			kpt_http("GET", "/readyz", NULL, NULL, NULL, &r);
			status = r.status;
			kpt_resp_free(&r);
		}
		cr_expect_eq(status, 200, "the gateway lost a service");
	}
	free(kpt_login(kpt_admin_email(), kpt_admin_password()));
	sh("rm -rf '%s'", tmp, NULL, NULL);
}

/* The steady stream: auth.Health from kpt, one after the other. */
static struct {
	kp_rpc_client *c;
	atomic_int stop;
	atomic_long sent, answered;
} stream;

static void *
stream_run(void *arg)
{
	(void)arg;
	while (!atomic_load(&stream.stop)) {
		kp_rpc_result res;

		atomic_fetch_add(&stream.sent, 1);
		if (kp_rpc_health(stream.c, 3000, &res) == KP_OK)
			atomic_fetch_add(&stream.answered, 1);
		else
			cr_log_error("a request lost: %s", res.message);
	}
	return NULL;
}

/* Lets at least n more requests of the stream through. */
static void
let_through(long n)
{
	long until_n = atomic_load(&stream.sent) + n;

	while (atomic_load(&stream.sent) < until_n)
		usleep(10 * 1000);
}

Test(busrot, c_a_pair_key_rotation_loses_no_request, .timeout = 600)
{
	char tmp[] = "/tmp/kp-busrot-XXXXXX", sender[700];
	uint8_t old[crypto_auth_KEYBYTES], next[crypto_auth_KEYBYTES];
	long phase[4];
	pthread_t t;

	/* the sender (this process) has its own copy of the files, as a
	 * deployment's processes do; auth reads the stack's directory */
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(sender, sizeof(sender), "%s/bus", tmp);
	sh("cp -a '%s' '%s'", bus_dir(), sender, NULL);
	setenv("KEYPORT_BUS_DIR", sender, 1);
	cr_assert_eq(kp_bus_init(KP_BUS_TEST_IDENTITY), KP_OK);
	cr_assert_eq(
	    kp_rpc_client_open(&stream.c, "auth", kpt_service_url("auth")),
	    KP_OK);
	read_key("kpt-auth.key", old);
	cr_assert_eq(pthread_create(&t, NULL, stream_run, NULL), 0);
	let_through(20);
	phase[0] = atomic_load(&stream.sent);

	/* 1. the new key at the receiver as .next; auth takes both */
	sh("'%s' rotate-pair '%s' kpt auth >/dev/null", script(), bus_dir(),
	   NULL);
	read_key("kpt-auth.key.next", next);
	cr_assert_eq(until(0, "auth", next, kpt_pem()), 0,
	             "auth never took kpt-auth.key.next");
	let_through(20);
	phase[1] = atomic_load(&stream.sent);

	/* 2. the new key becomes the sender's .key; its reload switches the
	 * stream's frames to it while requests are in flight */
	sh("cp '%s/kpt-auth.key.next' '%s/kpt-auth.key.tmp'", bus_dir(), sender,
	   NULL);
	sh("mv '%s/kpt-auth.key.tmp' '%s/kpt-auth.key'", sender, sender, NULL);
	cr_assert_eq(kp_bus_reload(), KP_OK);
	let_through(20);
	phase[2] = atomic_load(&stream.sent);

	/* 3. promoted at the receiver (the old key kept as .prev), then
	 * finished: the old key is refused, the new one taken */
	sh("'%s' promote-pair '%s' kpt auth >/dev/null", script(), bus_dir(),
	   NULL);
	let_through(20);
	sh("'%s' finish-pair '%s' kpt auth >/dev/null", script(), bus_dir(),
	   NULL);
	cr_assert_eq(until(NNG_ETIMEDOUT, "auth", old, kpt_pem()),
	             NNG_ETIMEDOUT, "auth still takes the old key");
	cr_expect_eq(framed_health("auth", next, kpt_pem()), 0);
	let_through(20);
	phase[3] = atomic_load(&stream.sent);

	atomic_store(&stream.stop, 1);
	pthread_join(t, NULL);
	kp_rpc_client_close(stream.c);
	cr_log_info("pair key rotation: %ld requests sent, %ld answered "
	            "(before %ld, window %ld, sender switched %ld, promoted "
	            "%ld)",
	            atomic_load(&stream.sent), atomic_load(&stream.answered),
	            phase[0], phase[1] - phase[0], phase[2] - phase[1],
	            phase[3] - phase[2]);
	printf("busrot: pair key rotation: %ld requests sent, %ld answered\n",
	       atomic_load(&stream.sent), atomic_load(&stream.answered));
	cr_expect_gt(atomic_load(&stream.sent), 80);
	cr_expect_eq(atomic_load(&stream.answered), atomic_load(&stream.sent),
	             "%ld of %ld requests lost",
	             atomic_load(&stream.sent) - atomic_load(&stream.answered),
	             atomic_load(&stream.sent));
	sh("rm -rf '%s'", tmp, NULL, NULL);
}

Test(busrot, d_a_shared_directory_rotates_without_loss, .timeout = 600)
{
	uint8_t old[crypto_auth_KEYBYTES], next[crypto_auth_KEYBYTES];
	pthread_t t;

	/* sender and receiver read the same files, as under `make run`:
	 * whichever reloads first, the receiver takes the sender's key */
	memset(&stream, 0, sizeof(stream));
	cr_assert_eq(kp_bus_init(KP_BUS_TEST_IDENTITY), KP_OK);
	cr_assert_eq(
	    kp_rpc_client_open(&stream.c, "auth", kpt_service_url("auth")),
	    KP_OK);
	read_key("kpt-auth.key", old);
	cr_assert_eq(pthread_create(&t, NULL, stream_run, NULL), 0);
	let_through(20);
	sh("'%s' rotate-pair '%s' kpt auth >/dev/null", script(), bus_dir(),
	   NULL);
	read_key("kpt-auth.key.next", next);
	cr_assert_eq(until(0, "auth", next, kpt_pem()), 0);
	let_through(20);
	sh("'%s' promote-pair '%s' kpt auth >/dev/null", script(), bus_dir(),
	   NULL);
	cr_assert_eq(kp_bus_reload(), KP_OK); /* the sender first, here */
	let_through(20);
	sh("'%s' finish-pair '%s' kpt auth >/dev/null", script(), bus_dir(),
	   NULL);
	cr_assert_eq(until(NNG_ETIMEDOUT, "auth", old, kpt_pem()),
	             NNG_ETIMEDOUT, "auth still takes the old key");
	cr_expect_eq(framed_health("auth", next, kpt_pem()), 0);
	let_through(20);
	atomic_store(&stream.stop, 1);
	pthread_join(t, NULL);
	kp_rpc_client_close(stream.c);
	printf("busrot: shared directory: %ld requests sent, %ld answered\n",
	       atomic_load(&stream.sent), atomic_load(&stream.answered));
	cr_expect_gt(atomic_load(&stream.sent), 80);
	cr_expect_eq(atomic_load(&stream.answered), atomic_load(&stream.sent),
	             "%ld of %ld requests lost",
	             atomic_load(&stream.sent) - atomic_load(&stream.answered),
	             atomic_load(&stream.sent));
}
