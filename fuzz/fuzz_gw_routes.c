/* fuzz_gw_routes: the JSON-to-protobuf translation of every route: the
 * route's handler runs on a fuzzed body with valid or hostile path
 * parameters, as an authenticated vendor admin. gw_call is replaced here:
 * it packs the request the handler built (the bytes the service would
 * decode) and answers 503, as if the service were away. Routes that need
 * a live connection or the release storage are left out (the hostile
 * walk, tests/hostile, covers them over HTTP).
 * Input: one byte for the route, one for the parameters, the body. */
#include "fuzz.h"
#include "gw_call.h"
#include "gw_response.h"
#include "gw_router.h"
#include "kp_err.h"

int
gw_call(gw_request *r, gw_response *w, const kp_rpc_desc *m,
        const ProtobufCMessage *req, ProtobufCMessage **reply)
{
	size_t n = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = malloc(n + 1);
	ProtobufCMessage *back;

	(void)r;
	if (buf == NULL)
		abort();
	if (req->descriptor != m->request ||
	    protobuf_c_message_pack(req, buf) != n)
		abort(); /* a handler sent the wrong message */
	/* what the service will decode is what the handler meant */
	back = protobuf_c_message_unpack(m->request, NULL, n, buf);
	if (back == NULL)
		abort();
	protobuf_c_message_free_unpacked(back, NULL);
	free(buf);
	if (reply != NULL)
		*reply = NULL;
	gw_error(w, 503, "SERVICE_UNAVAILABLE", "fuzz: %s", m->name);
	return KP_EUNAVAIL;
}

static int
fuzz_skip(const gw_route *rt)
{
	static const char *const prefixes[] = {"/healthz",       "/readyz",
	                                       "/metrics",       "/v1/auth/",
	                                       "/v1/downloads/", "/v1/portal/"};

	if (rt->body_limit == GW_BODY_STREAM)
		return 1;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(rt->pattern, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ids[] = {
	    "0b6f3a52-7d5e-4c1a-9f3e-2a8b7c6d5e4f", "NOT-A-UUID", "",
	    "0B6F3A52-7D5E-4C1A-9F3E-2A8B7C6D5E4F"};
	static gw_state gw;
	const gw_route *rt;
	gw_request r;
	gw_response w;
	int n = gw_router_count();

	if (size < 2 || n == 0)
		return 0;
	rt = gw_router_at(data[0] % n);
	if (rt == NULL || fuzz_skip(rt))
		return 0;
	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	r.gw = &gw;
	r.method = rt->method;
	r.path = rt->pattern;
	strcpy(r.request_id, "fuzz");
	for (int i = 0; i < GW_MAX_PARAMS; i++)
		r.params[i] = ids[(data[1] >> (2 * i)) & 3];
	keyport__caller__init(&r.caller);
	r.caller.user_id = "7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
	r.caller.role = "admin";
	r.caller.organization_id = "";
	r.authenticated = 1;
	r.body = fuzz_cstr(data + 2, size - 2);
	r.body_len = size - 2;
	rt->handler(&r, &w);
	/* every answer of a failed call or a bad input is a JSON error */
	if (w.status == 0 || (w.status >= 400 && w.body == NULL))
		abort();
	gw_response_reset(&w);
	free(r.body);
	return 0;
}
