/* fuzz_gw_request: the gateway's request parsing before any route runs:
 * the raw target check, the router and its id canonicalisation, the
 * Content-Type check, the JSON body reader, and the error writer, which
 * must answer JSON of the spec's shape whatever text it is given.
 * Input: one byte for the method, the target up to '\n', the body. */
#include "fuzz.h"
#include "gw_http.h"
#include "gw_input.h"
#include "gw_jw.h"
#include "gw_response.h"
#include "gw_router.h"

static const char *const fuzz_methods[] = {"GET",    "POST", "PUT",    "PATCH",
                                           "DELETE", "HEAD", "G\xff T"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *method;
	const uint8_t *nl;
	char *target, *path, *text;
	const char *params[GW_MAX_PARAMS] = {0};
	int mismatch = 0, index = -1;
	gw_request r;
	gw_response w;
	json_t *o, *e;

	if (size == 0)
		return 0;
	method = fuzz_methods[data[0] %
	                      (sizeof(fuzz_methods) / sizeof(fuzz_methods[0]))];
	data++;
	size--;
	nl = memchr(data, '\n', size);
	target = fuzz_cstr(data, nl ? (size_t)(nl - data) : size);
	gw_http_uri_bad(target);
	gw_input_json_type(target);
	path = strdup(target);
	if (path == NULL)
		abort();
	if (gw_router_match(method, path, params, &mismatch, &index) != NULL)
		for (int i = 0; i < GW_MAX_PARAMS; i++)
			if (params[i] != NULL)
				gw_id_canon((char *)params[i]);
	free(path);

	memset(&r, 0, sizeof(r));
	memset(&w, 0, sizeof(w));
	if (nl != NULL) {
		r.body = fuzz_cstr(nl + 1, size - (size_t)(nl + 1 - data));
		r.body_len = size - (size_t)(nl + 1 - data);
	}
	o = gw_input_object(&r, &w);
	json_decref(o);
	gw_response_reset(&w);

	/* any text in an error is still a JSON error (defect 4) */
	gw_error(&w, 400, "INVALID_INPUT", "%s: %s", method, target);
	o = w.body ? json_loadb(w.body, w.len, 0, NULL) : NULL;
	e = json_object_get(o, "error");
	if (w.status != 400 || !json_is_string(json_object_get(e, "message")))
		abort();
	json_decref(o);
	gw_response_reset(&w);

	/* cleaned text is valid UTF-8 */
	text = strdup(target);
	if (text == NULL)
		abort();
	gw_utf8_clean(text);
	e = json_string(text);
	if (e == NULL)
		abort();
	json_decref(e);
	free(text);
	free(r.body);
	free(target);
	return 0;
}
