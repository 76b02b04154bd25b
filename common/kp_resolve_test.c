/* kp_resolve: which entries are dialled as written, how a name expands,
 * deduplication, and the refusal of what is no address. */
#include "kp_resolve.h"

#include "kp_err.h"

#include <criterion/criterion.h>
#include <string.h>

static bool
has(const kp_resolve_set *s, const char *url)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->addrs[i].url, url) == 0)
			return true;
	return false;
}

/* Addresses are dialled as written: one replica each, no lookup later. */
Test(kp_resolve, literals_are_kept_as_written)
{
	static const char *const lists[] = {
	    "tls+tcp://127.0.0.1:7101",
	    " tls+tcp://10.0.0.1:7104 , tls+tcp://10.0.0.2:7104 ",
	    "tls+tcp://[::1]:7103",
	    "ipc:///tmp/keyport-license.sock",
	    "tcp://127.0.0.1:1,tcp://127.0.0.1:1",
	};
	static const size_t want[] = {1, 2, 1, 1, 1};

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		kp_resolve_set s;

		cr_assert_eq(kp_resolve_list(lists[i], &s), KP_OK, "%s",
		             lists[i]);
		cr_expect_eq(s.n, want[i], "%s: %zu addresses", lists[i], s.n);
		cr_expect(!kp_resolve_has_names(&s), "%s", lists[i]);
		kp_resolve_set_cleanup(&s);
	}
	{
		kp_resolve_set s;

		cr_assert_eq(kp_resolve_list(lists[1], &s), KP_OK);
		cr_expect(has(&s, "tls+tcp://10.0.0.1:7104"));
		cr_expect(has(&s, "tls+tcp://10.0.0.2:7104"));
		cr_expect_eq(s.addrs[1].entry, 1);
		kp_resolve_set_cleanup(&s);
		kp_resolve_set_cleanup(&s); /* idempotent */
	}
}

/* A name becomes one URL per address, with the scheme and port kept. */
Test(kp_resolve, a_name_expands_into_its_addresses)
{
	kp_resolve_set s;

	cr_assert_eq(kp_resolve_list("tls+tcp4://localhost:7103,"
	                             "tls+tcp://10.0.0.9:7103",
	                             &s),
	             KP_OK);
	cr_expect(kp_resolve_has_names(&s));
	cr_expect(s.named[0]);
	cr_expect(!s.named[1]);
	cr_expect(has(&s, "tls+tcp4://127.0.0.1:7103"));
	cr_expect(has(&s, "tls+tcp://10.0.0.9:7103"));
	for (size_t i = 0; i < s.n; i++)
		cr_expect(strncmp(s.addrs[i].url, "tls+tcp4://", 11) == 0 ||
		              s.addrs[i].entry == 1,
		          "%s", s.addrs[i].url);
	kp_resolve_set_cleanup(&s);
}

/* A name that resolves to nothing is no error: it has no replica yet. */
Test(kp_resolve, an_unknown_name_gives_no_address)
{
	kp_resolve_set s;

	cr_assert_eq(kp_resolve_list("tls+tcp://no-such-host.invalid:7104", &s),
	             KP_OK);
	cr_expect(kp_resolve_has_names(&s));
	cr_expect_eq(s.n, 0);
	kp_resolve_set_cleanup(&s);
}

Test(kp_resolve, what_is_no_address_is_refused)
{
	static const char *const bad[] = {
	    "tls+tcp://license", "tls+tcp://license:",  "tls+tcp://license:70x",
	    "license:7103",      "tls+tcp://[::1:7103", "://127.0.0.1:1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kp_resolve_set s;

		cr_expect_eq(kp_resolve_list(bad[i], &s), KP_EINVAL, "%s",
		             bad[i]);
		kp_resolve_set_cleanup(&s);
	}
}
