/* kp_bus: who is calling on the internal bus, proven on every request.
 *
 * Three layers, all read from the bus directory (KEYPORT_BUS_DIR, made by
 * scripts/bus-certs.sh; docs/deploy.md "The bus"):
 *
 *  1. Mutual TLS (NNG's tls+tcp:// transport, mbedTLS): every listener
 *     requires a client certificate from the deployment's CA; every dialer
 *     verifies the server's certificate and its name (the service's name).
 *     This keeps outsiders off the bus and the bytes private. Plain tcp://
 *     is refused unless KEYPORT_BUS_ALLOW_PLAIN=1 (the benchmark's
 *     comparison only); ipc:// is accepted (a local socket whose directory
 *     the operator makes 0700).
 *  2. The frame: NNG 1.5.2 cannot tell a listener which certificate the
 *     peer showed, so each request names its identity and carries a MAC
 *     (crypto_auth, HMAC-SHA-512-256) under the key of the pair
 *     (caller, service): `<from>-<to>.key`. A service holds only the keys
 *     of its callers towards itself, so one service cannot speak as
 *     another. kp_bus_seal / kp_bus_open add and check it.
 *  3. The user a request acts for (Envelope.caller) is believed from the
 *     gateway's identity; a service forwarding it passes on the gateway's
 *     Ed25519 signature over it (Envelope.caller_proof), which the next
 *     service verifies. A caller without a valid proof from anyone else is
 *     refused (FORBIDDEN).
 *
 * Which identity may call which method is the method table's `callers`
 * (kp_rpc_desc.callers, from the proto service blocks); kp_rpc checks it.
 *
 * Rotation (docs/deploy.md "Rotation"): a service also accepts a frame
 * under `<from>-<to>.key.next` and `.key.prev` (a sender always uses
 * `.key`; bus-certs.sh rotate-pair, promote-pair, finish-pair), and proofs
 * under `gateway-caller.pub.next`. Every KP_BUS_RELOAD_S seconds (2), on
 * the request path, one thread compares the names, sizes and times of the
 * key files, the certificate and ca.crt with the last load and re-reads
 * what changed: the keys into a new table copied in under a write lock
 * (seal, open and the proofs read under the read lock), the certificate
 * and the bundle into new TLS configurations given to every listener and
 * dialer made here (new connections use them; open ones keep theirs).
 *
 * State is process-wide: kp_bus_init once before any socket opens (it
 * may be called again to take another identity, as tests do).
 */
#ifndef KP_BUS_H
#define KP_BUS_H

#include "proto/keyport.pb-c.h"

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

#define KP_BUS_ID_MAX    32
#define KP_BUS_PROOF_LEN 72 /* 8 bytes of expiry, 64 of signature */
/* The test harness's identity: every right, only with KEYPORT_TEST_CLOCK=1
 * (never set in production), so direct RPC tests can play any caller. */
#define KP_BUS_TEST_IDENTITY "kpt"

/* kp_bus_init loads the identity's credentials: its certificate, its pair
 * keys to every service, and (for a service) the keys of every identity
 * calling it. A missing bus directory or certificate is an error naming
 * the file. Returns KP_OK or a kp_status. */
int kp_bus_init(const char *identity);

/* kp_bus_reload re-reads what changed in the bus directory now, rather
 * than at the next check (tools and tests). KP_OK or a kp_status. */
int kp_bus_reload(void);

/* kp_bus_identity is the identity of this process ("" before init). */
const char *kp_bus_identity(void);

/* kp_bus_rights returns the KP_RPC_FROM_* bits of an identity: gateway,
 * a service, or a named internal client mapped to one of those by
 * KEYPORT_BUS_CLIENT_ROLES ("name=role,..."), KP_BUS_TEST_IDENTITY under
 * the test flag; 0 for anyone else. */
unsigned kp_bus_rights(const char *identity);

/* kp_bus_listener and kp_bus_dialer create (not start) an NNG endpoint for
 * url with the bus's TLS settings. server is the name the dialed
 * service's certificate must carry. Refuse plain tcp:// unless allowed.
 * Return 0 or an NNG error (logged). */
int kp_bus_listener(nng_socket s, const char *url, nng_listener *l);
int kp_bus_dialer(nng_socket s, const char *url, const char *server,
                  nng_dialer *d);

/* kp_bus_seal fills the first kp_bus_head_len() bytes of msg, reserved by
 * the caller before the packed Envelope for service `to`, with this
 * identity and the Envelope's MAC. kp_bus_open checks and strips that prefix of
 * a request to this service, writing the proven identity into from. Both return
 * KP_OK or a kp_status (open: KP_EAUTH for a bad or unknown MAC, KP_EINVAL for
 * a malformed frame). */
size_t kp_bus_head_len(void);
int kp_bus_seal(nng_msg *msg, const char *to);
int kp_bus_open(nng_msg *msg, char from[KP_BUS_ID_MAX]);

/* kp_bus_caller_sign writes the gateway's proof of caller for request_id
 * into proof (KP_BUS_PROOF_LEN bytes), valid a few minutes. Only the
 * gateway holds the key: -1 elsewhere. */
int kp_bus_caller_sign(const Keyport__Caller *caller, const char *request_id,
                       uint8_t proof[KP_BUS_PROOF_LEN]);

/* kp_bus_caller_verify checks a proof of caller for request_id: KP_OK, or
 * KP_EFORBIDDEN when it is missing, altered or expired. */
int kp_bus_caller_verify(const Keyport__Caller *caller, const char *request_id,
                         const uint8_t *proof, size_t len);

/* kp_bus_caller_empty tells whether a caller names no user at all. */
int kp_bus_caller_empty(const Keyport__Caller *caller);

#endif
