/* fuzz_envelope: what a service (or the gateway, for a reply) decodes from
 * the bus: the frame head (kp_bus_open: version, identity, MAC), the
 * Envelope and Reply messages, and the payload of the method the Envelope
 * names, with that method's request and reply descriptors from the RPC
 * contract, for every method of every service. */
#include "fuzz.h"
#include "kp_bus.h"
#include "proto/keyport.pb-c.h"
#include "rpc/kp_contract.h"

#include <nng/nng.h>

static const kp_rpc_desc *
fuzz_method(const char *name)
{
	for (size_t s = 0; s < KP_SERVICES_COUNT; s++)
		for (size_t i = 0; i < kp_contract_n[s]; i++)
			if (strcmp(kp_contract[s][i].name, name) == 0)
				return &kp_contract[s][i];
	return NULL;
}

static void
fuzz_payload(const ProtobufCMessageDescriptor *d, size_t len,
             const uint8_t *data)
{
	ProtobufCMessage *m;

	if (d == NULL ||
	    (m = protobuf_c_message_unpack(d, NULL, len, data)) == NULL)
		return;
	/* what was decoded packs again to no more than it came from */
	if (protobuf_c_message_get_packed_size(m) > len + 16 * 1024)
		abort();
	protobuf_c_message_free_unpacked(m, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Keyport__Envelope *env;
	Keyport__Reply *rep;
	nng_msg *msg;
	char from[KP_BUS_ID_MAX];

	/* the frame head, as a service opens it (no peer keys here: every
	 * frame is refused, after its head is parsed) */
	if (nng_msg_alloc(&msg, 0) == 0) {
		if (nng_msg_append(msg, data, size) == 0)
			kp_bus_open(msg, from);
		nng_msg_free(msg);
	}
	env = keyport__envelope__unpack(NULL, size, data);
	if (env != NULL) {
		const kp_rpc_desc *m = fuzz_method(env->method);

		if (m != NULL) {
			fuzz_payload(m->request, env->payload.len,
			             env->payload.data);
			fuzz_payload(m->reply, env->payload.len,
			             env->payload.data);
		}
		keyport__envelope__free_unpacked(env, NULL);
	}
	rep = keyport__reply__unpack(NULL, size, data);
	if (rep != NULL)
		keyport__reply__free_unpacked(rep, NULL);
	return 0;
}
