/* The router against the gateway's real route tables, and the input
 * readers: tables of cases (nng style), each with what must come out. */
#include "gw_input.h"
#include "gw_response.h"
#include "gw_router.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *method, *path;
	const char *pattern; /* NULL: no route */
	int mismatch;        /* 405: the path exists with another method */
	const char *param0, *param1;
} gw_router_cases[] = {
    {"GET", "/healthz", "/healthz", 0, NULL, NULL},
    {"POST", "/v1/licenses", "/v1/licenses", 0, NULL, NULL},
    {"GET", "/v1/licenses/abc", "/v1/licenses/{id}", 0, "abc", NULL},
    {"DELETE", "/v1/licenses/l1/activations/a2",
     "/v1/licenses/{id}/activations/{activationId}", 0, "l1", "a2"},
    {"POST", "/v1/activations/x/heartbeat", "/v1/activations/{id}/heartbeat", 0,
     "x", NULL},
    {"PUT", "/v1/licenses/abc", NULL, 1, NULL, NULL},
    {"GET", "/v1/activations/x/heartbeat", NULL, 1, NULL, NULL},
    {"GET", "/v1/nothing", NULL, 0, NULL, NULL},
    /* a route matches its exact path: no trailing slash (issue 19) */
    {"GET", "/v1/licenses/abc/", NULL, 0, NULL, NULL},
    {"GET", "/v1/licenses/", NULL, 0, NULL, NULL},
    {"GET", "/v1/licenses//activations", NULL, 0, NULL, NULL},
    {"GET", "", NULL, 0, NULL, NULL},
    {"GET", "/v1/licenses/a/activations/b/c", NULL, 0, NULL, NULL},
};

Test(gw_router, matches_patterns_and_parameters)
{
	for (size_t i = 0;
	     i < sizeof(gw_router_cases) / sizeof(gw_router_cases[0]); i++) {
		const char *params[GW_MAX_PARAMS] = {0};
		char *path = strdup(gw_router_cases[i].path);
		int mismatch = 0, index = -1;
		const gw_route *r = gw_router_match(
		    gw_router_cases[i].method, path, params, &mismatch, &index);

		if (gw_router_cases[i].pattern == NULL) {
			cr_assert_null(r, "case %zu: %s %s matched", i,
			               gw_router_cases[i].method,
			               gw_router_cases[i].path);
			cr_assert_eq(mismatch, gw_router_cases[i].mismatch,
			             "case %zu", i);
		} else {
			cr_assert_not_null(r, "case %zu: %s %s", i,
			                   gw_router_cases[i].method,
			                   gw_router_cases[i].path);
			cr_assert_str_eq(r->pattern,
			                 gw_router_cases[i].pattern);
			cr_assert_eq(gw_router_at(index), r, "case %zu", i);
			if (gw_router_cases[i].param0)
				cr_assert_str_eq(params[0],
				                 gw_router_cases[i].param0);
			if (gw_router_cases[i].param1)
				cr_assert_str_eq(params[1],
				                 gw_router_cases[i].param1);
		}
		free(path);
	}
}

Test(gw_router, every_route_is_found_by_its_own_pattern)
{
	for (int i = 0; i < gw_router_count(); i++) {
		const gw_route *want = gw_router_at(i);
		const char *params[GW_MAX_PARAMS] = {0};
		char *path = strdup(want->pattern);
		int mismatch = 0, index = -1;

		cr_assert_not_null(gw_router_match(want->method, path, params,
		                                   &mismatch, &index),
		                   "%s %s", want->method, want->pattern);
		free(path);
	}
}

/* What a reader answered: the status and the error message (or ""). */
static void
gw_input_answer(gw_response *w, int *status, char *msg, size_t len)
{
	json_t *doc = w->body ? json_loadb(w->body, w->len, 0, NULL) : NULL;
	const char *m = NULL;

	*status = w->status;
	json_unpack(doc, "{s:{s:s}}", "error", "message", &m);
	snprintf(msg, len, "%s", m ? m : "");
	json_decref(doc);
	free(w->body);
	memset(w, 0, sizeof(*w));
}

static const struct {
	const char *body;
	int required;
	int rv;
	const char *message; /* substring of the 400's message */
} gw_input_string_cases[] = {
    {"{\"name\":\"x\"}", 1, 0, ""},
    {"{}", 0, 0, ""},
    {"{\"name\":null}", 0, 0, ""},
    {"{}", 1, -1, "name is required"},
    {"{\"name\":3}", 1, -1, "name must be a string"},
    {"{\"name\":\"\"}", 1, -1, "name must not be empty"},
    {"{\"name\":\"12345678901\"}", 1, -1, "name must be at most 10 characters"},
    {"{\"name\":\"a\\u0000b\"}", 1, -1, "name must not contain NUL"},
};

Test(gw_input, strings)
{
	for (size_t i = 0; i < sizeof(gw_input_string_cases) /
	                           sizeof(gw_input_string_cases[0]);
	     i++) {
		json_t *obj = json_loads(gw_input_string_cases[i].body,
		                         JSON_ALLOW_NUL, NULL);
		gw_response w = {0};
		const char *out = NULL;
		char msg[256];
		int status;
		int rv = gw_input_string(&w, obj, "name",
		                         gw_input_string_cases[i].required, 10,
		                         &out);

		cr_assert_eq(rv, gw_input_string_cases[i].rv, "case %zu", i);
		gw_input_answer(&w, &status, msg, sizeof(msg));
		if (rv == 0) {
			cr_assert_eq(status, 0, "case %zu answered", i);
		} else {
			cr_assert_eq(status, 400, "case %zu", i);
			cr_assert(strstr(msg, gw_input_string_cases[i].message),
			          "case %zu: %s", i, msg);
		}
		json_decref(obj);
	}
}

static const struct {
	const char *body;
	int rv, present;
	int64_t value;
} gw_input_int_cases[] = {
    {"{\"n\":0}", 0, 1, 0},
    {"{\"n\":100}", 0, 1, 100},
    {"{}", 0, 0, -7},
    {"{\"n\":101}", -1, 0, -7},
    {"{\"n\":-1}", -1, 0, -7},
    {"{\"n\":1.5}", -1, 0, -7},
    {"{\"n\":\"5\"}", -1, 0, -7},
    {"{\"n\":true}", -1, 0, -7},
};

Test(gw_input, integers_in_bounds)
{
	for (size_t i = 0;
	     i < sizeof(gw_input_int_cases) / sizeof(gw_input_int_cases[0]);
	     i++) {
		json_t *obj = json_loads(gw_input_int_cases[i].body, 0, NULL);
		gw_response w = {0};
		int64_t out = -7;
		int present = -1, status;
		char msg[256];
		int rv = gw_input_int(&w, obj, "n", 0, 0, 100, &out, &present);

		cr_assert_eq(rv, gw_input_int_cases[i].rv, "case %zu", i);
		cr_assert_eq(present, gw_input_int_cases[i].present, "case %zu",
		             i);
		cr_assert_eq(out, gw_input_int_cases[i].value, "case %zu", i);
		gw_input_answer(&w, &status, msg, sizeof(msg));
		if (rv != 0)
			cr_assert(strstr(msg, "n must be an integer from 0 to "
			                      "100") != NULL,
			          "case %zu: %s", i, msg);
		json_decref(obj);
	}
}
