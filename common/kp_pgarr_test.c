/* kp_pgarr: literals as PostgreSQL reads them, refusal of anything that
 * would need quoting, growth. */
#include "kp_pgarr.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

Test(kp_pgarr, uuid_validity)
{
	cr_assert(kp_uuid_valid("0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"));
	cr_assert(kp_uuid_valid("0B1C2D3E-4F50-4A6B-8C7D-9E0F1A2B3C4D"));
	cr_assert_not(kp_uuid_valid(NULL));
	cr_assert_not(kp_uuid_valid(""));
	cr_assert_not(kp_uuid_valid("0b1c2d3e4f504a6b8c7d9e0f1a2b3c4d"));
	cr_assert_not(kp_uuid_valid("0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4g"));
	cr_assert_not(kp_uuid_valid("0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d "));
	cr_assert_not(kp_uuid_valid("0b1c2d3e-4f50-4a6b-8c7d}9e0f1a2b3c4d"));
}

Test(kp_pgarr, empty_is_braces)
{
	kp_pgarr a = {0};

	cr_assert_str_eq(kp_pgarr_text(&a), "{}");
	cr_assert_eq(a.n, 0);
	kp_pgarr_free(&a);
}

Test(kp_pgarr, refuses_what_would_need_quoting)
{
	kp_pgarr a = {0};

	cr_assert_eq(kp_pgarr_uuid(&a, "x},{y"), 0);
	cr_assert_eq(
	    kp_pgarr_uuid(&a, "\"0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c\""), 0);
	cr_assert_eq(kp_pgarr_uuid(&a, "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"),
	             1);
	cr_assert_str_eq(kp_pgarr_text(&a),
	                 "{0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d}");
	cr_assert_eq(a.n, 1);
	kp_pgarr_free(&a);
	cr_assert_null(a.buf);
}

Test(kp_pgarr, integers_and_appending_after_text)
{
	kp_pgarr a = {0};

	kp_pgarr_int(&a, 0);
	kp_pgarr_int(&a, -9223372036854775807LL - 1);
	cr_assert_str_eq(kp_pgarr_text(&a), "{0,-9223372036854775808}");
	kp_pgarr_int(&a, 42);
	cr_assert_str_eq(kp_pgarr_text(&a), "{0,-9223372036854775808,42}");
	kp_pgarr_free(&a);
}

Test(kp_pgarr, grows)
{
	kp_pgarr a = {0};
	char id[37];
	const char *t;

	for (int i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", i);
		cr_assert_eq(kp_pgarr_uuid(&a, id), 1);
	}
	t = kp_pgarr_text(&a);
	cr_assert_not_null(t);
	cr_assert_eq(strlen(t), 1000 * 36 + 999 + 2);
	cr_assert_eq(strncmp(t, "{00000000-0000-4000-8000-000000000000,", 38),
	             0);
	cr_assert_str_eq(t + strlen(t) - 13, "000000000999}");
	kp_pgarr_free(&a);
}
