/* Unit tests of gw_jw (JSON text straight into a buffer) and of the license
 * list's text form: the same JSON as the jansson path, byte for byte. */
#include "gw_jw.h"
#include "routes_license.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

/* Writes s with gw_jw_str and answers the text (caller frees). */
static char *
jw_of(const char *s)
{
	gw_jw w = GW_JW_INIT;
	char *out;

	gw_jw_str(&w, s);
	cr_assert_not(w.failed);
	out = strndup(w.buf, w.len);
	gw_jw_cleanup(&w);
	return out;
}

/* Asserts that the text of s parses to the string want. */
static void
round_trip(const char *s, const char *want)
{
	char *text = jw_of(s), *doc;
	json_error_t err;
	json_t *v;

	cr_assert_geq(asprintf(&doc, "[%s]", text), 0);
	v = json_loads(doc, 0, &err);
	cr_assert_not_null(v, "%s: %s", text, err.text);
	cr_assert_str_eq(json_string_value(json_array_get(v, 0)), want, "%s",
	                 text);
	json_decref(v);
	free(doc);
	free(text);
}

Test(gw_jw, strings_round_trip_through_a_json_parser)
{
	char ctl[40];
	int n = 0;

	for (int c = 1; c < 0x20; c++)
		ctl[n++] = (char)c;
	strcpy(ctl + n, "\"\\/\x7f");
	round_trip("", "");
	round_trip("plain ASCII 0123", "plain ASCII 0123");
	round_trip(ctl, ctl);
	round_trip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

Test(gw_jw, bytes_that_are_not_utf8_become_replacement_characters)
{
	/* a stray continuation byte, a cut sequence, an overlong '/', a
	 * surrogate, past U+10FFFF */
	round_trip("a\x80z", "a\xef\xbf\xbdz");
	round_trip("a\xc3", "a\xef\xbf\xbd");
	round_trip("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	round_trip("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	round_trip("\xf4\x90\x80\x80x",
	           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx");
}

Test(gw_jw, scalars_nulls_and_a_large_text)
{
	gw_jw w = GW_JW_INIT;
	gw_response r = {0};

	gw_jw_lit(&w, "[");
	gw_jw_int(&w, INT64_MIN);
	gw_jw_lit(&w, ",");
	gw_jw_int(&w, -1);
	gw_jw_lit(&w, ",");
	gw_jw_bool(&w, 1);
	gw_jw_lit(&w, ",");
	gw_jw_bool(&w, 0);
	gw_jw_lit(&w, ",");
	gw_jw_str_or_null(&w, "");
	gw_jw_lit(&w, ",");
	gw_jw_str_or_null(&w, NULL);
	gw_jw_lit(&w, ",");
	gw_jw_str(&w, NULL);
	for (int i = 0; i < 20000; i++) {
		gw_jw_lit(&w, ",");
		gw_jw_str(&w, "0123456789");
	}
	gw_jw_lit(&w, "]");
	gw_jw_answer(&w, &r, 200);
	cr_assert_null(w.buf);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(strncmp(r.body,
	                     "[-9223372036854775808,-1,true,false,"
	                     "null,null,\"\",\"0123456789\",",
	                     62),
	             0, "%.80s", r.body);
	cr_assert_eq(r.len, strlen(r.body));
	cr_assert_eq(r.len, 48 + 20000 * 13 + 1);
	cr_assert_str_eq(r.content_type, "application/json; charset=utf-8");
	free(r.body);
}

/* Asserts that l's text is what jansson dumps of license_json. */
static void
same_as_jansson(const Keyport__License__License *l)
{
	json_t *o = routes_license_json(l);
	char *want = json_dumps(o, JSON_COMPACT);
	gw_jw w = GW_JW_INIT;

	cr_assert_not_null(want);
	routes_license_text(&w, l);
	cr_assert_not(w.failed);
	cr_assert_eq(w.len, strlen(want), "\n%.*s\n%s", (int)w.len, w.buf,
	             want);
	cr_assert_eq(memcmp(w.buf, want, w.len), 0, "\n%.*s\n%s", (int)w.len,
	             w.buf, want);
	gw_jw_cleanup(&w);
	free(want);
	json_decref(o);
}

Test(gw_jw, a_license_as_text_is_the_jansson_answer_byte_for_byte)
{
	Keyport__License__License l = KEYPORT__LICENSE__LICENSE__INIT;
	Keyport__License__License__MetadataEntry e[3],
	    *ep[3] = {&e[0], &e[1], &e[2]};

	l.id = "db56ba46-31b5-4261-970e-175d36c5fa8f";
	l.key = "ZB4Z2-MBHCR-KNZZT-8R3E3-UUFUJ";
	l.product_id = "2a1ebde6-26d9-491e-8077-d10bbfa7ff2e";
	l.product_name = "Caf\xc3\xa9 \"Pro\" \\ edition\n\t\x01";
	l.type = "node-locked";
	l.status = "active";
	l.allowed_activations = -1;
	l.allowed_deactivations = 9223372036854775807LL;
	l.total_activations = 3;
	l.total_deactivations = 1;
	l.validity = 86400;
	l.expiration_strategy = "immediate";
	l.expires_at = "";
	l.user_id = "";
	l.organization_id = "";
	l.created_at = "2026-11-29T07:03:33Z";
	l.updated_at = "2026-11-29T07:03:34Z";
	same_as_jansson(&l); /* nulls, no metadata */

	l.expires_at = "2027-11-29T07:03:33Z";
	l.suspended = 1;
	l.revoked = 1;
	l.user_id = "e967451a-9389-47f9-a1e9-6223f350ec0e";
	l.organization_id = "11111111-1111-4111-8111-111111111111";
	l.lease_seconds = 300;
	for (int i = 0; i < 3; i++)
		keyport__license__license__metadata_entry__init(&e[i]);
	e[0].key = "seat";
	e[0].value = "A \"quoted\" value";
	e[1].key = "\xe2\x82\xac/\x1f";
	e[1].value = "";
	e[2].key = "seat"; /* the first place, the last value */
	e[2].value = "B";
	l.n_metadata = 3;
	l.metadata = ep;
	same_as_jansson(&l);
}
