/* The internal bus (common/kp_bus.h): who cannot get in, and what each
 * proven identity may do. Outsiders without a certificate, with a
 * self-signed one or with one from another CA get no answer on any
 * service's port; a valid certificate without the frame's MAC gets none
 * either; release may not ask license for a signing key; the gateway may
 * call exactly the methods marked for it; a caller (user, role) from a
 * non-gateway identity is believed only with the gateway's proof. */
#include "kp_bus.h"
#include "kp_err.h"
#include "kp_rpc.h"
#include "kp_services.h"
#include "kpt.h"
#include "proto/auth.pb-c.h"
#include "proto/license.pb-c.h"
#include "rpc/kp_contract.h"

#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

KPT_SUITE(0)

static const char *const services[] = {"auth", "org", "license", "activation",
                                       "release"};

static const char *
bus_dir(void)
{
	static char dir[600];

	snprintf(dir, sizeof(dir), "%s/secrets/bus", kpt_dir());
	return dir;
}

/* The port of a service's first replica. */
static int
port_of(const char *svc)
{
	const char *u = strrchr(kpt_service_url(svc), ':');

	cr_assert_not_null(u);
	return atoi(u + 1);
}

/* A raw request (a packed Envelope for svc.Health, no frame) over a socket
 * dialled to url with the given TLS files (NULL: none). Returns the NNG
 * result of waiting for the answer: an outsider must see a timeout. */
static int
raw_request(const char *svc, const char *url, const char *ca,
            const char *certkey)
{
	Keyport__Envelope env = KEYPORT__ENVELOPE__INIT;
	char method[64];
	nng_socket s;
	nng_dialer d;
	nng_msg *m;
	size_t n;
	int rv;

	snprintf(method, sizeof(method), "%s.Health", svc);
	env.method = method;
	env.request_id = "bus-test";
	cr_assert_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 1500);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1500);
	cr_assert_eq(nng_dialer_create(&d, s, url), 0, "%s", url);
	if (ca != NULL) {
		cr_assert_eq(nng_dialer_set_string(d, NNG_OPT_TLS_CA_FILE, ca),
		             0);
		cr_assert_eq(
		    nng_dialer_set_string(d, NNG_OPT_TLS_SERVER_NAME, svc), 0);
	}
	if (certkey != NULL)
		cr_assert_eq(nng_dialer_set_string(d, NNG_OPT_TLS_CERT_KEY_FILE,
		                                   certkey),
		             0);
	cr_assert_eq(nng_dialer_start(d, NNG_FLAG_NONBLOCK), 0);
	n = keyport__envelope__get_packed_size(&env);
	cr_assert_eq(nng_msg_alloc(&m, n), 0);
	keyport__envelope__pack(&env, nng_msg_body(m));
	if ((rv = nng_sendmsg(s, m, 0)) != 0) {
		nng_msg_free(m);
	} else if ((rv = nng_recvmsg(s, &m, 0)) == 0) {
		nng_msg_free(m);
	}
	nng_close(s);
	return rv;
}

Test(bus, plain_request_without_credentials_gets_no_answer)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		char url[64];

		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d",
		         port_of(services[i]));
		cr_expect_eq(raw_request(services[i], url, NULL, NULL),
		             NNG_ETIMEDOUT, "%s answered a plain request",
		             services[i]);
	}
}

Test(bus, tls_without_client_certificate_gets_no_answer)
{
	char ca[700];

	snprintf(ca, sizeof(ca), "%s/ca.crt", bus_dir());
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		cr_expect_eq(raw_request(services[i],
		                         kpt_service_url(services[i]), ca,
		                         NULL),
		             NNG_ETIMEDOUT, "%s", services[i]);
}

Test(bus, self_signed_and_foreign_ca_certificates_get_no_answer)
{
	char tmp[] = "/tmp/kp-bus-XXXXXX", cmd[1400], ca[700], self[700],
	     other[700];

	cr_assert_not_null(mkdtemp(tmp));
	/* a self-signed certificate named like the gateway */
	snprintf(
	    cmd, sizeof(cmd),
	    "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s/k -out %s/c -days 1 "
	    "-subj /CN=gateway -addext subjectAltName=DNS:gateway "
	    "2>/dev/null && cat %s/c %s/k > %s/self.pem",
	    tmp, tmp, tmp, tmp, tmp);
	cr_assert_eq(system(cmd), 0);
	/* a whole other deployment's CA and gateway certificate */
	snprintf(cmd, sizeof(cmd), "'%s/scripts/bus-certs.sh' init %s/other",
	         getenv("KEYPORT_ROOT") ? getenv("KEYPORT_ROOT") : ".", tmp);
	cr_assert_eq(system(cmd), 0);
	snprintf(ca, sizeof(ca), "%s/ca.crt", bus_dir());
	snprintf(self, sizeof(self), "%s/self.pem", tmp);
	snprintf(other, sizeof(other), "%s/other/gateway.pem", tmp);
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		const char *u = kpt_service_url(services[i]);
		cr_expect_eq(raw_request(services[i], u, ca, self),
		             NNG_ETIMEDOUT, "%s took a self-signed certificate",
		             services[i]);
		cr_expect_eq(raw_request(services[i], u, ca, other),
		             NNG_ETIMEDOUT, "%s took another CA's certificate",
		             services[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	cr_expect_eq(system(cmd), 0);
}

Test(bus, valid_certificate_without_the_frame_gets_no_answer)
{
	char ca[700], pem[700];

	snprintf(ca, sizeof(ca), "%s/ca.crt", bus_dir());
	snprintf(pem, sizeof(pem), "%s/gateway.pem", bus_dir());
	/* the control: the same certificate with the frame is answered */
	cr_assert_eq(kp_bus_init("gateway"), KP_OK);
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		kp_rpc_client *c = NULL;
		kp_rpc_result res;

		cr_expect_eq(raw_request(services[i],
		                         kpt_service_url(services[i]), ca, pem),
		             NNG_ETIMEDOUT, "%s answered an unsigned request",
		             services[i]);
		cr_assert_eq(kp_rpc_client_open(&c, services[i],
		                                kpt_service_url(services[i])),
		             KP_OK);
		cr_expect_eq(kp_rpc_health(c, 3000, &res), KP_OK, "%s: %s",
		             services[i], res.message);
		kp_rpc_client_close(c);
	}
}

/* Calls method m (empty request) as identity, with caller (may be NULL);
 * returns the status, the message in res. */
static int
call_as(const char *identity, const kp_rpc_desc *m,
        const Keyport__Caller *caller, const ProtobufCMessage *req,
        kp_rpc_result *res)
{
	const char *svc = kp_services_name(m->service);
	kp_rpc_client *c = NULL;
	kp_rpc_call call = {0};
	ProtobufCMessage *reply = NULL;
	uint8_t buf[64];
	ProtobufCMessage *empty = NULL;
	int rv;

	cr_assert_eq(kp_bus_init(identity), KP_OK, "%s", identity);
	cr_assert_eq(kp_rpc_client_open(&c, svc, kpt_service_url(svc)), KP_OK);
	if (req == NULL) {
		empty = protobuf_c_message_unpack(m->request, NULL, 0, buf);
		cr_assert_not_null(empty);
		req = empty;
	}
	call.method = m->name;
	call.caller = caller;
	call.timeout_ms = 5000;
	rv = kp_rpc_invoke(c, &call, req, m->reply, &reply, res);
	if (reply != NULL)
		protobuf_c_message_free_unpacked(reply, NULL);
	if (empty != NULL)
		protobuf_c_message_free_unpacked(empty, NULL);
	kp_rpc_client_close(c);
	return rv;
}

static int
refused_by_bus(int rv, const kp_rpc_result *res)
{
	return rv == KP_EFORBIDDEN && strstr(res->message, "may not call");
}

Test(bus, release_cannot_get_a_signing_key)
{
	Keyport__License__GetSigningKeyRequest q =
	    KEYPORT__LICENSE__GET_SIGNING_KEY_REQUEST__INIT;
	kp_rpc_result res;
	int rv;

	q.product_id = "00000000-0000-4000-8000-000000000001";
	rv = call_as("release", KP_RPC_LICENSE_GET_SIGNING_KEY, NULL, &q.base,
	             &res);
	cr_expect(refused_by_bus(rv, &res), "%d %s", rv, res.message);
	/* activation, its one caller, gets past the bus (and finds no such
	 * product) */
	rv = call_as("activation", KP_RPC_LICENSE_GET_SIGNING_KEY, NULL,
	             &q.base, &res);
	cr_expect(!refused_by_bus(rv, &res), "%d %s", rv, res.message);
	cr_expect_eq(rv, KP_ENOTFOUND, "%s", res.message);
}

Test(bus, gateway_calls_its_methods_and_no_others, .timeout = 120)
{
	int allowed = 0, refused = 0;

	for (int s = 0; s < KP_SERVICES_COUNT; s++)
		for (size_t i = 0; i < kp_contract_n[s]; i++) {
			const kp_rpc_desc *m = &kp_contract[s][i];
			kp_rpc_result res;
			int rv;

			if (m->test_only)
				continue;
			rv = call_as("gateway", m, NULL, NULL, &res);
			if (m->callers & KP_RPC_FROM_GATEWAY) {
				cr_expect(!refused_by_bus(rv, &res),
				          "gateway refused %s", m->name);
				allowed++;
			} else {
				cr_expect(refused_by_bus(rv, &res),
				          "gateway called %s: %d %s", m->name,
				          rv, res.message);
				refused++;
			}
		}
	cr_log_info("gateway: %d methods allowed, %d refused", allowed,
	            refused);
	cr_expect_gt(allowed, 20);
	cr_expect_gt(refused, 10);
}

Test(bus, forged_caller_from_a_service_is_refused)
{
	Keyport__Auth__GetUserRequest q = KEYPORT__AUTH__GET_USER_REQUEST__INIT;
	Keyport__Caller admin = KEYPORT__CALLER__INIT;
	kp_rpc_result res;
	int rv;

	q.id = "00000000-0000-4000-8000-000000000009";
	admin.user_id = "00000000-0000-4000-8000-000000000001";
	admin.role = "admin";
	/* org may call auth.GetUser, but not in a vendor admin's name */
	rv = call_as("org", KP_RPC_AUTH_GET_USER, &admin, &q.base, &res);
	cr_expect_eq(rv, KP_EFORBIDDEN, "%d %s", rv, res.message);
	cr_expect(strstr(res.message, "not proven") != NULL, "%s", res.message);
	/* the same from the gateway is believed (and finds no such user) */
	rv = call_as("gateway", KP_RPC_AUTH_GET_USER, &admin, &q.base, &res);
	cr_expect_eq(rv, KP_ENOTFOUND, "%d %s", rv, res.message);
	/* and org forwarding it with the gateway's proof is believed too */
	{
		uint8_t proof[KP_BUS_PROOF_LEN];
		kp_rpc_client *c = NULL;
		kp_rpc_call call = {0};

		cr_assert_eq(kp_bus_init("gateway"), KP_OK);
		cr_assert_eq(kp_bus_caller_sign(&admin, "forwarded", proof), 0);
		cr_assert_eq(kp_bus_init("org"), KP_OK);
		cr_assert_eq(kp_bus_caller_sign(&admin, "forwarded", proof), -1,
		             "org must not hold the gateway's signing key");
		cr_assert_eq(kp_bus_init("gateway"), KP_OK);
		cr_assert_eq(kp_bus_caller_sign(&admin, "forwarded", proof), 0);
		cr_assert_eq(kp_bus_init("org"), KP_OK);
		cr_assert_eq(
		    kp_rpc_client_open(&c, "auth", kpt_service_url("auth")),
		    KP_OK);
		call.method = KP_RPC_AUTH_GET_USER->name;
		call.caller = &admin;
		call.caller_proof.data = proof;
		call.caller_proof.len = sizeof(proof);
		call.request_id = "forwarded";
		rv = kp_rpc_invoke(c, &call, &q.base, NULL, NULL, &res);
		cr_expect_eq(rv, KP_ENOTFOUND, "%d %s", rv, res.message);
		/* the proof of another request, or of another role, is not */
		call.request_id = "another-request";
		rv = kp_rpc_invoke(c, &call, &q.base, NULL, NULL, &res);
		cr_expect_eq(rv, KP_EFORBIDDEN, "%d %s", rv, res.message);
		call.request_id = "forwarded";
		admin.role = "organization-admin";
		rv = kp_rpc_invoke(c, &call, &q.base, NULL, NULL, &res);
		cr_expect_eq(rv, KP_EFORBIDDEN, "%d %s", rv, res.message);
		kp_rpc_client_close(c);
	}
}

Test(bus, an_unknown_identity_has_no_rights)
{
	cr_expect_eq(kp_bus_rights("stranger"), 0u);
	cr_expect_eq(kp_bus_rights("gateway"), KP_RPC_FROM_GATEWAY);
	cr_expect_eq(kp_bus_rights("license"),
	             KP_RPC_FROM_SERVICE(kp_services_find("license")));
}
