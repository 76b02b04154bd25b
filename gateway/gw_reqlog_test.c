/* gw_reqlog: which peers are trusted proxies (KEYPORT_TRUSTED_PROXIES). */
#include "gw_reqlog.h"

#include <criterion/criterion.h>
#include <stdlib.h>

Test(gw_reqlog, trusted_proxies_by_address_and_cidr)
{
	static const struct {
		const char *addr;
		int trusted;
	} cases[] = {
	    {"10.1.2.3", 1},          {"10.255.255.255", 1},
	    {"11.0.0.1", 0},          {"192.168.7.129", 1},
	    {"192.168.7.127", 0},     {"127.0.0.1", 1},
	    {"127.0.0.2", 0},         {"::1", 1},
	    {"fd00::1", 1},           {"fe80::1", 0},
	    {"::ffff:10.9.9.9", 1},   {"not-an-address", 0},
	    {"10.0.0.0/8", 0},        {"", 0},
	};

	setenv("KEYPORT_TRUSTED_PROXIES",
	       " 10.0.0.0/8, 192.168.7.128/25,127.0.0.1,::1, fd00::/8", 1);
	cr_assert_eq(gw_reqlog_init(), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(gw_reqlog_trusted(cases[i].addr), cases[i].trusted,
		             "%s", cases[i].addr);
}

Test(gw_reqlog, a_bad_entry_stops_the_start)
{
	static const char *const bad[] = {"10.0.0.0/33", "10.0.0.1/", "host",
	                                  "::1/129", "10.0.0.0/8x"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("KEYPORT_TRUSTED_PROXIES", bad[i], 1);
		cr_expect_eq(gw_reqlog_init(), -1, "%s", bad[i]);
	}
	setenv("KEYPORT_TRUSTED_PROXIES", "", 1);
	cr_assert_eq(gw_reqlog_init(), 0);
	cr_assert_eq(gw_reqlog_trusted("127.0.0.1"), 0, "none by default");
}
