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
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KP_BUS_MAX_PEERS 64
#define KP_BUS_PROOF_TTL 300 /* seconds a caller proof is believed */
#define KP_BUS_VERSION   1

typedef struct kp_bus_peer {
	char name[KP_BUS_ID_MAX];
	uint8_t key[crypto_auth_KEYBYTES];
} kp_bus_peer;

static struct {
	char identity[KP_BUS_ID_MAX];
	char dir[1024];
	char pem[1100], ca[1100];
	int plain_ok;
	/* keys of this identity towards each service (have_to: loaded) */
	uint8_t to[KP_SERVICES_COUNT][crypto_auth_KEYBYTES];
	int have_to[KP_SERVICES_COUNT];
	/* keys of the identities calling this service */
	kp_bus_peer from[KP_BUS_MAX_PEERS];
	int nfrom;
	uint8_t caller_pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t caller_sk[crypto_sign_SECRETKEYBYTES];
	int have_pk, have_sk;
} kp_bus;

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

/* Loads "<caller>-<self>.key" for every caller found in the directory. */
static int
kp_bus_load_callers(void)
{
	char suffix[KP_BUS_ID_MAX + 8];
	struct dirent *e;
	DIR *d;

	snprintf(suffix, sizeof(suffix), "-%s.key", kp_bus.identity);
	if ((d = opendir(kp_bus.dir)) == NULL)
		return KP_EINTERNAL;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name), s = strlen(suffix);
		kp_bus_peer *p;

		if (n <= s || strcmp(e->d_name + n - s, suffix) != 0 ||
		    n - s >= KP_BUS_ID_MAX || kp_bus.nfrom == KP_BUS_MAX_PEERS)
			continue;
		p = &kp_bus.from[kp_bus.nfrom];
		memcpy(p->name, e->d_name, n - s);
		p->name[n - s] = '\0';
		if (!kp_bus_valid_name(p->name) ||
		    kp_bus_read_key(e->d_name, p->key, sizeof(p->key)) != 0) {
			kp_log_warn("bus: ignoring key file %s", e->d_name);
			continue;
		}
		kp_bus.nfrom++;
	}
	closedir(d);
	return KP_OK;
}

int
kp_bus_init(const char *identity)
{
	const char *dir = kp_cfg_str(KP_CFG_BUS_DIR);
	const char *secrets = kp_cfg_str(KP_CFG_SECRET_DIR);
	uint8_t seed[crypto_sign_SEEDBYTES];
	char name[KP_BUS_ID_MAX + 16];
	int self = kp_services_find(identity);

	sodium_memzero(&kp_bus, sizeof(kp_bus));
	if (sodium_init() < 0 || !kp_bus_valid_name(identity)) {
		kp_log_error("bus: bad identity '%s'", identity);
		return KP_EINVAL;
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
		return KP_EINVAL;
	}
	for (int i = 0; i < KP_SERVICES_COUNT; i++) {
		snprintf(name, sizeof(name), "%s-%s.key", identity,
		         kp_services_name(i));
		kp_bus.have_to[i] = kp_bus_read_key(name, kp_bus.to[i],
		                                    crypto_auth_KEYBYTES) == 0;
	}
	if (self >= 0 && kp_bus_load_callers() != KP_OK) {
		kp_log_error("bus: cannot read %s", kp_bus.dir);
		return KP_EINTERNAL;
	}
	kp_bus.have_pk = kp_bus_read_key("gateway-caller.pub", kp_bus.caller_pk,
	                                 sizeof(kp_bus.caller_pk)) == 0;
	if ((strcmp(identity, "gateway") == 0 ||
	     strcmp(identity, KP_BUS_TEST_IDENTITY) == 0) &&
	    kp_bus_read_key("gateway-caller.seed", seed, sizeof(seed)) == 0) {
		crypto_sign_seed_keypair(kp_bus.caller_pk, kp_bus.caller_sk,
		                         seed);
		kp_bus.have_pk = kp_bus.have_sk = 1;
		sodium_memzero(seed, sizeof(seed));
	}
	return KP_OK;
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

	if (svc < 0 || !kp_bus.have_to[svc]) {
		kp_log_error("bus: '%s' has no key for %s (%s/%s-%s.key)",
		             kp_bus.identity, to, kp_bus.dir, kp_bus.identity,
		             to);
		return KP_EUNAUTH;
	}
	if (nng_msg_len(msg) < hl || idlen == 0)
		return KP_EINTERNAL;
	head[0] = KP_BUS_VERSION;
	head[1] = (uint8_t)idlen;
	memcpy(head + 2, kp_bus.identity, idlen);
	crypto_auth(head + 2 + idlen, head + hl, nng_msg_len(msg) - hl,
	            kp_bus.to[svc]);
	return KP_OK;
}

int
kp_bus_open(nng_msg *msg, char from[KP_BUS_ID_MAX])
{
	const uint8_t *b = nng_msg_body(msg);
	size_t len = nng_msg_len(msg), idlen, head;
	const kp_bus_peer *p = NULL;

	from[0] = '\0';
	if (len < 2 || b[0] != KP_BUS_VERSION || b[1] == 0 ||
	    b[1] >= KP_BUS_ID_MAX)
		return KP_EINVAL;
	idlen = b[1];
	head = 2 + idlen + crypto_auth_BYTES;
	if (len < head)
		return KP_EINVAL;
	for (int i = 0; i < kp_bus.nfrom; i++)
		if (strlen(kp_bus.from[i].name) == idlen &&
		    memcmp(kp_bus.from[i].name, b + 2, idlen) == 0)
			p = &kp_bus.from[i];
	if (p == NULL || crypto_auth_verify(b + 2 + idlen, b + head, len - head,
	                                    p->key) != 0)
		return KP_EUNAUTH;
	memcpy(from, p->name, idlen + 1);
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

	if (!kp_bus.have_sk)
		return -1;
	for (int i = 0; i < 8; i++)
		proof[i] = (uint8_t)(exp >> (56 - 8 * i));
	if ((n = kp_bus_caller_text(caller, request_id, proof, text,
	                            sizeof(text))) == 0)
		return -1;
	crypto_sign_detached(proof + 8, NULL, text, n, kp_bus.caller_sk);
	return 0;
}

int
kp_bus_caller_verify(const Keyport__Caller *caller, const char *request_id,
                     const uint8_t *proof, size_t len)
{
	uint8_t text[512];
	uint64_t exp = 0;
	size_t n;

	if (!kp_bus.have_pk || proof == NULL || len != KP_BUS_PROOF_LEN)
		return KP_EFORBIDDEN;
	for (int i = 0; i < 8; i++)
		exp = exp << 8 | proof[i];
	if (exp < (uint64_t)time(NULL) ||
	    (n = kp_bus_caller_text(caller, request_id, proof, text,
	                            sizeof(text))) == 0 ||
	    crypto_sign_verify_detached(proof + 8, text, n, kp_bus.caller_pk) !=
	        0)
		return KP_EFORBIDDEN;
	return KP_OK;
}
