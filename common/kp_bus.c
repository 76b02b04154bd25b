/* kp_bus: TLS endpoints, authenticated frames and caller proofs. */
#include "kp_bus.h"

#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_rpc.h"
#include "kp_services.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KP_BUS_MAX_PEERS 64
#define KP_BUS_PROOF_TTL 300 /* seconds a caller proof is believed */
#define KP_BUS_VERSION   1
#define KP_BUS_RELOAD_S  2 /* seconds between checks of the files */
#define KP_BUS_MAX_EPS   256

/* A caller's keys towards this service: <from>-<to>.key, and during a
 * rotation .key.next (the coming one) and .key.prev (the one promote-pair
 * replaced, until finish-pair): a frame under any of them is accepted. */
#define KP_BUS_KEY_KINDS 3
static const char *const kp_bus_key_ext[KP_BUS_KEY_KINDS] = {
    ".key", ".key.next", ".key.prev"};

typedef struct kp_bus_peer {
	char name[KP_BUS_ID_MAX];
	uint8_t key[KP_BUS_KEY_KINDS][crypto_auth_KEYBYTES];
	int have[KP_BUS_KEY_KINDS];
} kp_bus_peer;

/* Everything re-read on a reload: the pair keys and the caller keys. */
typedef struct kp_bus_keys {
	/* keys of this identity towards each service (have_to: loaded) */
	uint8_t to[KP_SERVICES_COUNT][crypto_auth_KEYBYTES];
	int have_to[KP_SERVICES_COUNT];
	/* keys of the identities calling this service */
	kp_bus_peer from[KP_BUS_MAX_PEERS];
	int nfrom;
	/* gateway-caller.pub and gateway-caller.pub.next */
	uint8_t caller_pk[2][crypto_sign_PUBLICKEYBYTES];
	uint8_t caller_sk[crypto_sign_SECRETKEYBYTES];
	int npk, have_sk;
} kp_bus_keys;

/* A TLS endpoint made here, given the new files on a reload. */
typedef struct kp_bus_ep {
	int is_dialer;
	nng_listener l;
	nng_dialer d;
	char server[KP_BUS_ID_MAX];
} kp_bus_ep;

static struct {
	char identity[KP_BUS_ID_MAX];
	char dir[1024];
	char pem[1100], ca[1100];
	int plain_ok;
	kp_bus_keys keys; /* under kp_bus_lock */
} kp_bus;

/* Readers (seal, open, proofs) take kp_bus_lock shared; a reload builds
 * the new table apart and copies it in under the exclusive lock. One
 * thread at a time checks the files (kp_bus_check_mu, tried, never
 * waited for on the request path). */
static pthread_rwlock_t kp_bus_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t kp_bus_check_mu = PTHREAD_MUTEX_INITIALIZER;
static long long kp_bus_next_check; /* monotonic seconds, atomic */
static uint8_t kp_bus_key_sig[crypto_generichash_BYTES];
static uint8_t kp_bus_tls_sig[crypto_generichash_BYTES];
static pthread_mutex_t kp_bus_eps_mu = PTHREAD_MUTEX_INITIALIZER;
static kp_bus_ep kp_bus_eps[KP_BUS_MAX_EPS];
static int kp_bus_neps;

const char *
kp_bus_identity(void)
{
	return kp_bus.identity;
}

/* Reads exactly n bytes of dir/name; -1 when absent or of another size. */
static int
kp_bus_read_key(const char *name, uint8_t *out, size_t n)
{
	char path[1200];
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", kp_bus.dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	got = read(fd, out, n);
	if (got == (ssize_t)n) {
		uint8_t extra;
		if (read(fd, &extra, 1) != 0)
			got = -1;
	}
	close(fd);
	return got == (ssize_t)n ? 0 : -1;
}

static int
kp_bus_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= KP_BUS_ID_MAX || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-'))
			return 0;
	return 1;
}

/* The length of the caller's name in a file name "<caller><suffix>", 0
 * when the name does not end so. */
static size_t
kp_bus_caller_of(const char *file, const char *suffix)
{
	size_t n = strlen(file), s = strlen(suffix);

	if (n <= s || strcmp(file + n - s, suffix) != 0 ||
	    n - s >= KP_BUS_ID_MAX)
		return 0;
	return n - s;
}

/* Loads "<caller>-<self>.key" (.next, .prev) for every caller found in
 * the directory. */
static int
kp_bus_load_callers(kp_bus_keys *k)
{
	char suffix[KP_BUS_KEY_KINDS][KP_BUS_ID_MAX + 16];
	struct dirent *e;
	DIR *d;

	for (int i = 0; i < KP_BUS_KEY_KINDS; i++)
		snprintf(suffix[i], sizeof(suffix[i]), "-%s%s", kp_bus.identity,
		         kp_bus_key_ext[i]);
	if ((d = opendir(kp_bus.dir)) == NULL)
		return KP_EINTERNAL;
	while ((e = readdir(d)) != NULL) {
		char name[KP_BUS_ID_MAX];
		size_t n = 0;
		int kind, i;
		kp_bus_peer *p = NULL;
		uint8_t key[crypto_auth_KEYBYTES];

		for (kind = 0; kind < KP_BUS_KEY_KINDS; kind++)
			if ((n = kp_bus_caller_of(e->d_name, suffix[kind])) > 0)
				break;
		if (n == 0)
			continue;
		memcpy(name, e->d_name, n);
		name[n] = '\0';
		if (!kp_bus_valid_name(name) ||
		    kp_bus_read_key(e->d_name, key, sizeof(key)) != 0) {
			kp_log_warn("bus: ignoring key file %s", e->d_name);
			continue;
		}
		for (i = 0; i < k->nfrom; i++)
			if (strcmp(k->from[i].name, name) == 0)
				p = &k->from[i];
		if (p == NULL) {
			if (k->nfrom == KP_BUS_MAX_PEERS)
				continue;
			p = &k->from[k->nfrom++];
			memcpy(p->name, name, n + 1);
		}
		memcpy(p->key[kind], key, sizeof(key));
		p->have[kind] = 1;
		sodium_memzero(key, sizeof(key));
	}
	closedir(d);
	return KP_OK;
}

/* Reads every key of this identity from the directory into k. */
static int
kp_bus_load_keys(kp_bus_keys *k)
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	char name[KP_BUS_ID_MAX + 16];
	const char *id = kp_bus.identity;

	sodium_memzero(k, sizeof(*k));
	for (int i = 0; i < KP_SERVICES_COUNT; i++) {
		snprintf(name, sizeof(name), "%s-%s.key", id,
		         kp_services_name(i));
		k->have_to[i] =
		    kp_bus_read_key(name, k->to[i], crypto_auth_KEYBYTES) == 0;
	}
	if (kp_services_find(id) >= 0 && kp_bus_load_callers(k) != KP_OK) {
		kp_log_error("bus: cannot read %s", kp_bus.dir);
		return KP_EINTERNAL;
	}
	if ((strcmp(id, "gateway") == 0 ||
	     strcmp(id, KP_BUS_TEST_IDENTITY) == 0) &&
	    kp_bus_read_key("gateway-caller.seed", seed, sizeof(seed)) == 0) {
		crypto_sign_seed_keypair(k->caller_pk[k->npk++], k->caller_sk,
		                         seed);
		k->have_sk = 1;
		sodium_memzero(seed, sizeof(seed));
	} else if (kp_bus_read_key("gateway-caller.pub", k->caller_pk[k->npk],
	                           crypto_sign_PUBLICKEYBYTES) == 0) {
		k->npk++;
	}
	if (kp_bus_read_key("gateway-caller.pub.next", k->caller_pk[k->npk],
	                    crypto_sign_PUBLICKEYBYTES) == 0)
		k->npk++;
	return KP_OK;
}

/* A digest of the names, sizes, inodes and times of the files a reload
 * reads: the keys (tls = 0) or the certificate and the bundle (tls = 1).
 * Never their contents. */
static void
kp_bus_files_sig(int tls, uint8_t out[crypto_generichash_BYTES])
{
	crypto_generichash_state h;
	struct dirent *e;
	struct stat st;
	char path[1400];
	DIR *d;

	crypto_generichash_init(&h, NULL, 0, crypto_generichash_BYTES);
	if ((d = opendir(kp_bus.dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			const char *n = e->d_name;
			int want =
			    tls ? (strcmp(n, "ca.crt") == 0 ||
			           (strncmp(n, kp_bus.identity,
			                    strlen(kp_bus.identity)) == 0 &&
			            strcmp(n + strlen(kp_bus.identity),
			                   ".pem") == 0))
			        : (strstr(n, ".key") != NULL ||
			           strncmp(n, "gateway-caller.", 15) == 0);
			int64_t f[5];

			snprintf(path, sizeof(path), "%s/%s", kp_bus.dir, n);
			if (!want || stat(path, &st) != 0)
				continue;
			f[0] = (int64_t)st.st_ino;
			f[1] = (int64_t)st.st_size;
			f[2] = (int64_t)st.st_mtim.tv_sec;
			f[3] = (int64_t)st.st_mtim.tv_nsec;
			f[4] = (int64_t)st.st_ctim.tv_nsec;
			crypto_generichash_update(&h, (const uint8_t *)n,
			                          strlen(n) + 1);
			crypto_generichash_update(&h, (const uint8_t *)f,
			                          sizeof(f));
		}
		closedir(d);
	}
	crypto_generichash_final(&h, out, crypto_generichash_BYTES);
}

/* Installs k as the key table; k is wiped. */
static void
kp_bus_install(kp_bus_keys *k)
{
	pthread_rwlock_wrlock(&kp_bus_lock);
	memcpy(&kp_bus.keys, k, sizeof(*k));
	pthread_rwlock_unlock(&kp_bus_lock);
	sodium_memzero(k, sizeof(*k));
}

static long long
kp_bus_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

static int kp_bus_reload_tls(void);

/* The reload itself; the caller holds kp_bus_check_mu. */
static int
kp_bus_reload_locked(void)
{
	uint8_t sig[crypto_generichash_BYTES];
	kp_bus_keys *k;
	int rv = KP_OK;

	kp_bus_files_sig(0, sig);
	if (sodium_memcmp(sig, kp_bus_key_sig, sizeof(sig)) != 0) {
		if ((k = malloc(sizeof(*k))) == NULL)
			return KP_EINTERNAL;
		if ((rv = kp_bus_load_keys(k)) == KP_OK) {
			int nfrom = k->nfrom, nnext = 0, nprev = 0;

			for (int i = 0; i < nfrom; i++) {
				nnext += k->from[i].have[1];
				nprev += k->from[i].have[2];
			}
			kp_bus_install(k);
			memcpy(kp_bus_key_sig, sig, sizeof(sig));
			kp_log_info(
			    "bus: %s reloaded its keys (%d callers, "
			    "%d with a next key, %d with a previous one)",
			    kp_bus.identity, nfrom, nnext, nprev);
		}
		sodium_memzero(k, sizeof(*k));
		free(k);
	}
	kp_bus_files_sig(1, sig);
	if (sodium_memcmp(sig, kp_bus_tls_sig, sizeof(sig)) != 0 &&
	    kp_bus_reload_tls() == 0)
		memcpy(kp_bus_tls_sig, sig, sizeof(sig));
	return rv;
}

int
kp_bus_reload(void)
{
	int rv;

	if (kp_bus.identity[0] == '\0')
		return KP_EINVAL;
	pthread_mutex_lock(&kp_bus_check_mu);
	rv = kp_bus_reload_locked();
	__atomic_store_n(&kp_bus_next_check, kp_bus_now() + KP_BUS_RELOAD_S,
	                 __ATOMIC_RELAXED);
	pthread_mutex_unlock(&kp_bus_check_mu);
	return rv;
}

/* On the request path: every KP_BUS_RELOAD_S seconds, one thread looks
 * at the files' times and reloads what changed; the others go on. */
static void
kp_bus_maybe_reload(void)
{
	long long now = kp_bus_now();

	if (now < __atomic_load_n(&kp_bus_next_check, __ATOMIC_RELAXED) ||
	    pthread_mutex_trylock(&kp_bus_check_mu) != 0)
		return;
	if (now >= kp_bus_next_check && kp_bus.identity[0] != '\0') {
		(void)kp_bus_reload_locked();
		__atomic_store_n(&kp_bus_next_check, now + KP_BUS_RELOAD_S,
		                 __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&kp_bus_check_mu);
}

/* The files are also looked at without requests: a bundle that no
 * longer trusts a client's CA would see no request to trigger it. */
static void *
kp_bus_watch(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = {KP_BUS_RELOAD_S, 0};

		nanosleep(&ts, NULL);
		kp_bus_maybe_reload();
	}
	return NULL;
}

static void
kp_bus_watch_start(void)
{
	pthread_attr_t a;
	pthread_t t;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, kp_bus_watch, NULL) != 0)
		kp_log_warn("bus: no watcher thread: the files are looked at "
		            "on requests only");
	pthread_attr_destroy(&a);
}

int
kp_bus_init(const char *identity)
{
	static pthread_once_t watch_once = PTHREAD_ONCE_INIT;
	const char *dir = kp_cfg_str(KP_CFG_BUS_DIR);
	const char *secrets = kp_cfg_str(KP_CFG_SECRET_DIR);
	kp_bus_keys *k;
	int rv;

	pthread_mutex_lock(&kp_bus_check_mu);
	pthread_mutex_lock(&kp_bus_eps_mu);
	kp_bus_neps = 0;
	pthread_mutex_unlock(&kp_bus_eps_mu);
	pthread_rwlock_wrlock(&kp_bus_lock);
	sodium_memzero(&kp_bus, sizeof(kp_bus));
	pthread_rwlock_unlock(&kp_bus_lock);
	rv = KP_EINVAL;
	if (sodium_init() < 0 || !kp_bus_valid_name(identity)) {
		kp_log_error("bus: bad identity '%s'", identity);
		goto out;
	}
	snprintf(kp_bus.identity, sizeof(kp_bus.identity), "%s", identity);
	if (dir != NULL && dir[0] != '\0')
		snprintf(kp_bus.dir, sizeof(kp_bus.dir), "%s", dir);
	else
		snprintf(kp_bus.dir, sizeof(kp_bus.dir), "%s/bus",
		         secrets ? secrets : "var/secrets");
	kp_bus.plain_ok = (int)kp_cfg_int(KP_CFG_BUS_ALLOW_PLAIN);
	snprintf(kp_bus.pem, sizeof(kp_bus.pem), "%s/%s.pem", kp_bus.dir,
	         identity);
	snprintf(kp_bus.ca, sizeof(kp_bus.ca), "%s/ca.crt", kp_bus.dir);
	if (access(kp_bus.pem, R_OK) != 0 || access(kp_bus.ca, R_OK) != 0) {
		kp_log_error("bus: no credentials for '%s' in %s (%s.pem and "
		             "ca.crt; scripts/bus-certs.sh makes them)",
		             identity, kp_bus.dir, identity);
		goto out;
	}
	kp_bus_files_sig(0, kp_bus_key_sig);
	kp_bus_files_sig(1, kp_bus_tls_sig);
	if ((k = malloc(sizeof(*k))) == NULL) {
		rv = KP_EINTERNAL;
		goto out;
	}
	if ((rv = kp_bus_load_keys(k)) == KP_OK)
		kp_bus_install(k);
	free(k);
	__atomic_store_n(&kp_bus_next_check, kp_bus_now() + KP_BUS_RELOAD_S,
	                 __ATOMIC_RELAXED);
	pthread_once(&watch_once, kp_bus_watch_start);
out:
	pthread_mutex_unlock(&kp_bus_check_mu);
	return rv;
}

unsigned
kp_bus_rights(const char *identity)
{
	const char *roles = kp_cfg_str(KP_CFG_BUS_CLIENT_ROLES);
	size_t n = strlen(identity);
	int id;

	if (strcmp(identity, "gateway") == 0)
		return KP_RPC_FROM_GATEWAY;
	/* the test suite's own identity plays every caller, and only under
	 * the test flag, which also serves the test-only methods */
	if (strcmp(identity, KP_BUS_TEST_IDENTITY) == 0)
		return kp_cfg_int(KP_CFG_TEST_CLOCK) == 1 ? ~0u : 0;
	if ((id = kp_services_find(identity)) >= 0)
		return KP_RPC_FROM_SERVICE(id);
	/* "name=role,name=role": a named client with a role's rights */
	for (const char *p = roles; p != NULL && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char role[KP_BUS_ID_MAX];

		if (len > n + 1 && strncmp(p, identity, n) == 0 &&
		    p[n] == '=' && len - n - 1 < sizeof(role)) {
			memcpy(role, p + n + 1, len - n - 1);
			role[len - n - 1] = '\0';
			if (strcmp(role, identity) != 0 &&
			    (strcmp(role, "gateway") == 0 ||
			     kp_services_find(role) >= 0))
				return kp_bus_rights(role);
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* ---- TLS endpoints ------------------------------------------------------ */

static int
kp_bus_url_ok(const char *url)
{
	if (strncmp(url, "tls+tcp://", 10) == 0 ||
	    strncmp(url, "ipc://", 6) == 0 || strncmp(url, "inproc://", 9) == 0)
		return 1;
	if (strncmp(url, "tcp://", 6) == 0 && kp_bus.plain_ok)
		return 1;
	kp_log_error("bus: %s is not allowed: use tls+tcp:// (plain tcp:// "
	             "only with KEYPORT_BUS_ALLOW_PLAIN=1)",
	             url);
	return 0;
}

static int
kp_bus_tls(int rv, int is_tls, const char *url)
{
	if (rv != 0 && is_tls)
		kp_log_error("bus: TLS settings of %s: %s", url,
		             nng_strerror(rv));
	return rv;
}

/* Remembers a TLS endpoint for kp_bus_reload_tls; closed ones are
 * dropped when the table is full. */
static void
kp_bus_track(int is_dialer, nng_listener l, nng_dialer d, const char *server)
{
	kp_bus_ep *e;

	pthread_mutex_lock(&kp_bus_eps_mu);
	if (kp_bus_neps == KP_BUS_MAX_EPS) {
		int n = 0;

		for (int i = 0; i < kp_bus_neps; i++) {
			int ms;
			e = &kp_bus_eps[i];
			if ((e->is_dialer
			         ? nng_dialer_get_ms(e->d, NNG_OPT_RECONNMINT,
			                             &ms)
			         : nng_listener_get_ms(e->l, NNG_OPT_RECONNMINT,
			                               &ms)) != NNG_ENOENT)
				kp_bus_eps[n++] = *e;
		}
		kp_bus_neps = n;
	}
	if (kp_bus_neps < KP_BUS_MAX_EPS) {
		e = &kp_bus_eps[kp_bus_neps++];
		memset(e, 0, sizeof(*e));
		e->is_dialer = is_dialer;
		e->l = l;
		e->d = d;
		snprintf(e->server, sizeof(e->server), "%s",
		         server ? server : "");
	} else {
		kp_log_warn("bus: more than %d TLS endpoints: a new "
		            "certificate reaches this one at its restart only",
		            KP_BUS_MAX_EPS);
	}
	pthread_mutex_unlock(&kp_bus_eps_mu);
}

/* A TLS configuration from the files as they are now (NULL: unreadable,
 * logged; the endpoints keep the one they have). */
static nng_tls_config *
kp_bus_tls_config(int server_mode, const char *server)
{
	nng_tls_config *c;
	int rv;

	if ((rv = nng_tls_config_alloc(&c, server_mode
	                                       ? NNG_TLS_MODE_SERVER
	                                       : NNG_TLS_MODE_CLIENT)) != 0)
		return NULL;
	if ((rv = nng_tls_config_auth_mode(c, NNG_TLS_AUTH_MODE_REQUIRED)) !=
	        0 ||
	    (rv = nng_tls_config_ca_file(c, kp_bus.ca)) != 0 ||
	    (rv = nng_tls_config_cert_key_file(c, kp_bus.pem, NULL)) != 0 ||
	    (!server_mode &&
	     (rv = nng_tls_config_server_name(c, server)) != 0)) {
		kp_log_error("bus: new TLS files not taken (%s): %s",
		             kp_bus.dir, nng_strerror(rv));
		nng_tls_config_free(c);
		return NULL;
	}
	return c;
}

/* Gives every TLS endpoint of this process a configuration read from the
 * files now: new connections use it (NNG 1.5.2 takes NNG_OPT_TLS_CONFIG
 * on a started listener or dialer), open ones keep theirs. */
static int
kp_bus_reload_tls(void)
{
	nng_tls_config *srv = NULL;
	int n = 0, failed = 0;

	pthread_mutex_lock(&kp_bus_eps_mu);
	for (int i = 0; i < kp_bus_neps; i++) {
		kp_bus_ep *e = &kp_bus_eps[i];
		nng_tls_config *c;
		int rv;

		if (e->is_dialer) {
			if ((c = kp_bus_tls_config(0, e->server)) == NULL) {
				failed = 1;
				break;
			}
			rv = nng_dialer_set_ptr(e->d, NNG_OPT_TLS_CONFIG, c);
			nng_tls_config_free(c);
		} else {
			if (srv == NULL &&
			    (srv = kp_bus_tls_config(1, NULL)) == NULL) {
				failed = 1;
				break;
			}
			rv =
			    nng_listener_set_ptr(e->l, NNG_OPT_TLS_CONFIG, srv);
		}
		if (rv == 0)
			kp_bus_eps[n++] = *e;
		else if (rv != NNG_ENOENT && rv != NNG_ECLOSED)
			kp_log_warn("bus: new TLS files not given to an "
			            "endpoint: %s",
			            nng_strerror(rv));
	}
	if (!failed) {
		kp_log_info("bus: %s reloaded its certificate and trust bundle "
		            "(%d endpoints)",
		            kp_bus.identity, n);
		kp_bus_neps = n;
	}
	pthread_mutex_unlock(&kp_bus_eps_mu);
	if (srv != NULL)
		nng_tls_config_free(srv);
	return failed ? -1 : 0;
}

int
kp_bus_listener(nng_socket s, const char *url, nng_listener *l)
{
	int tls = strncmp(url, "tls+tcp://", 10) == 0, rv;

	if (kp_bus.identity[0] == '\0' || !kp_bus_url_ok(url))
		return NNG_EINVAL;
	if ((rv = nng_listener_create(l, s, url)) != 0)
		return rv;
	if (!tls)
		return 0;
	if ((rv = nng_listener_set_int(*l, NNG_OPT_TLS_AUTH_MODE,
	                               NNG_TLS_AUTH_MODE_REQUIRED)) == 0 &&
	    (rv = nng_listener_set_string(*l, NNG_OPT_TLS_CA_FILE,
	                                  kp_bus.ca)) == 0)
		rv = nng_listener_set_string(*l, NNG_OPT_TLS_CERT_KEY_FILE,
		                             kp_bus.pem);
	if (rv != 0)
		nng_listener_close(*l);
	else
		kp_bus_track(0, *l, (nng_dialer)NNG_DIALER_INITIALIZER, NULL);
	return kp_bus_tls(rv, tls, url);
}

int
kp_bus_dialer(nng_socket s, const char *url, const char *server, nng_dialer *d)
{
	int tls = strncmp(url, "tls+tcp://", 10) == 0, rv;

	if (kp_bus.identity[0] == '\0' || !kp_bus_url_ok(url))
		return NNG_EINVAL;
	if ((rv = nng_dialer_create(d, s, url)) != 0)
		return rv;
	if (!tls)
		return 0;
	if ((rv = nng_dialer_set_int(*d, NNG_OPT_TLS_AUTH_MODE,
	                             NNG_TLS_AUTH_MODE_REQUIRED)) == 0 &&
	    (rv = nng_dialer_set_string(*d, NNG_OPT_TLS_CA_FILE, kp_bus.ca)) ==
	        0 &&
	    (rv = nng_dialer_set_string(*d, NNG_OPT_TLS_CERT_KEY_FILE,
	                                kp_bus.pem)) == 0)
		rv = nng_dialer_set_string(*d, NNG_OPT_TLS_SERVER_NAME, server);
	if (rv != 0)
		nng_dialer_close(*d);
	else
		kp_bus_track(1, (nng_listener)NNG_LISTENER_INITIALIZER, *d,
		             server);
	return kp_bus_tls(rv, tls, url);
}

/* ---- frames ------------------------------------------------------------
 * [version 1][identity length][identity][MAC of the envelope, 32 bytes]
 * then the packed Envelope. */

size_t
kp_bus_head_len(void)
{
	return 2 + strlen(kp_bus.identity) + crypto_auth_BYTES;
}

int
kp_bus_seal(nng_msg *msg, const char *to)
{
	uint8_t *head = nng_msg_body(msg);
	size_t idlen = strlen(kp_bus.identity), hl = kp_bus_head_len();
	int svc = kp_services_find(to);

	kp_bus_maybe_reload();
	pthread_rwlock_rdlock(&kp_bus_lock);
	if (svc < 0 || !kp_bus.keys.have_to[svc]) {
		pthread_rwlock_unlock(&kp_bus_lock);
		kp_log_error("bus: '%s' has no key for %s (%s/%s-%s.key)",
		             kp_bus.identity, to, kp_bus.dir, kp_bus.identity,
		             to);
		return KP_EUNAUTH;
	}
	if (nng_msg_len(msg) < hl || idlen == 0) {
		pthread_rwlock_unlock(&kp_bus_lock);
		return KP_EINTERNAL;
	}
	head[0] = KP_BUS_VERSION;
	head[1] = (uint8_t)idlen;
	memcpy(head + 2, kp_bus.identity, idlen);
	/* the sender always uses <from>-<to>.key, never a .next */
	crypto_auth(head + 2 + idlen, head + hl, nng_msg_len(msg) - hl,
	            kp_bus.keys.to[svc]);
	pthread_rwlock_unlock(&kp_bus_lock);
	return KP_OK;
}

int
kp_bus_open(nng_msg *msg, char from[KP_BUS_ID_MAX])
{
	const uint8_t *b = nng_msg_body(msg);
	size_t len = nng_msg_len(msg), idlen, head;
	const kp_bus_peer *p = NULL;
	int ok;

	from[0] = '\0';
	if (len < 2 || b[0] != KP_BUS_VERSION || b[1] == 0 ||
	    b[1] >= KP_BUS_ID_MAX)
		return KP_EINVAL;
	idlen = b[1];
	head = 2 + idlen + crypto_auth_BYTES;
	if (len < head)
		return KP_EINVAL;
	kp_bus_maybe_reload();
	pthread_rwlock_rdlock(&kp_bus_lock);
	for (int i = 0; i < kp_bus.keys.nfrom; i++)
		if (strlen(kp_bus.keys.from[i].name) == idlen &&
		    memcmp(kp_bus.keys.from[i].name, b + 2, idlen) == 0)
			p = &kp_bus.keys.from[i];
	/* the current key or, during a rotation, the next or the previous
	 * one; each check is constant-time (crypto_auth_verify) */
	ok = 0;
	for (int i = 0; p != NULL && i < KP_BUS_KEY_KINDS && !ok; i++)
		ok = p->have[i] &&
		     crypto_auth_verify(b + 2 + idlen, b + head, len - head,
		                        p->key[i]) == 0;
	pthread_rwlock_unlock(&kp_bus_lock);
	if (!ok)
		return KP_EUNAUTH;
	memcpy(from, b + 2, idlen);
	from[idlen] = '\0';
	nng_msg_trim(msg, head);
	return KP_OK;
}

/* ---- caller proofs ------------------------------------------------------ */

int
kp_bus_caller_empty(const Keyport__Caller *c)
{
	return c == NULL ||
	       ((c->user_id == NULL || c->user_id[0] == '\0') &&
	        (c->role == NULL || c->role[0] == '\0') &&
	        (c->organization_id == NULL || c->organization_id[0] == '\0'));
}

/* The signed bytes: a label, the expiry and every caller field, each
 * ended by a NUL so that no field can slide into the next. */
static size_t
kp_bus_caller_text(const Keyport__Caller *c, const char *request_id,
                   const uint8_t expiry[8], uint8_t *out, size_t cap)
{
	const char *parts[] = {"keyport-caller-1", request_id ? request_id : "",
	                       c->user_id ? c->user_id : "",
	                       c->role ? c->role : "",
	                       c->organization_id ? c->organization_id : ""};
	size_t n = 0;

	memcpy(out, expiry, 8);
	n = 8;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t l = strlen(parts[i]);
		if (n + l + 1 > cap)
			return 0;
		memcpy(out + n, parts[i], l + 1);
		n += l + 1;
	}
	return n;
}

int
kp_bus_caller_sign(const Keyport__Caller *caller, const char *request_id,
                   uint8_t proof[KP_BUS_PROOF_LEN])
{
	uint64_t exp = (uint64_t)time(NULL) + KP_BUS_PROOF_TTL;
	uint8_t text[512];
	size_t n;

	for (int i = 0; i < 8; i++)
		proof[i] = (uint8_t)(exp >> (56 - 8 * i));
	if ((n = kp_bus_caller_text(caller, request_id, proof, text,
	                            sizeof(text))) == 0)
		return -1;
	kp_bus_maybe_reload();
	pthread_rwlock_rdlock(&kp_bus_lock);
	if (kp_bus.keys.have_sk)
		crypto_sign_detached(proof + 8, NULL, text, n,
		                     kp_bus.keys.caller_sk);
	n = kp_bus.keys.have_sk ? n : 0;
	pthread_rwlock_unlock(&kp_bus_lock);
	return n > 0 ? 0 : -1;
}

int
kp_bus_caller_verify(const Keyport__Caller *caller, const char *request_id,
                     const uint8_t *proof, size_t len)
{
	uint8_t text[512];
	uint64_t exp = 0;
	size_t n;

	int ok = 0;

	if (proof == NULL || len != KP_BUS_PROOF_LEN)
		return KP_EFORBIDDEN;
	for (int i = 0; i < 8; i++)
		exp = exp << 8 | proof[i];
	if (exp < (uint64_t)time(NULL) ||
	    (n = kp_bus_caller_text(caller, request_id, proof, text,
	                            sizeof(text))) == 0)
		return KP_EFORBIDDEN;
	/* gateway-caller.pub, or gateway-caller.pub.next while it rotates */
	kp_bus_maybe_reload();
	pthread_rwlock_rdlock(&kp_bus_lock);
	for (int i = 0; i < kp_bus.keys.npk && !ok; i++)
		ok = crypto_sign_verify_detached(proof + 8, text, n,
		                                 kp_bus.keys.caller_pk[i]) == 0;
	pthread_rwlock_unlock(&kp_bus_lock);
	return ok ? KP_OK : KP_EFORBIDDEN;
}
