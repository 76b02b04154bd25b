/* The generated RPC contract (rpc/kp_contract.h): every table is what the
 * service blocks say, in a shape the dispatch and the callers rely on. */
#include "kp_services.h"
#include "rpc/kp_contract.h"

#include <criterion/criterion.h>
#include <string.h>

Test(kp_contract, tables_are_consistent)
{
	size_t total = 0;

	for (int s = 0; s < KP_SERVICES_COUNT; s++) {
		const char *svc = kp_services_name(s);

		cr_assert_eq(kp_contract[s] == NULL, kp_contract_n[s] == 0,
		             "%s", svc);
		for (size_t i = 0; i < kp_contract_n[s]; i++) {
			const kp_rpc_desc *d = &kp_contract[s][i];
			size_t n = strlen(svc);

			cr_assert(strncmp(d->name, svc, n) == 0 &&
			              d->name[n] == '.',
			          "%s is not a method of %s", d->name, svc);
			cr_assert_eq(d->service, s, "%s", d->name);
			cr_assert_eq(d->index, (int)i, "%s", d->name);
			cr_assert_not_null(d->request, "%s", d->name);
			cr_assert_not_null(d->reply, "%s", d->name);
			cr_assert(d->test_only || d->callers != 0,
			          "%s has no callers", d->name);
			/* a service never calls itself over the bus */
			cr_assert_eq(d->callers & KP_RPC_FROM_SERVICE(s), 0,
			             "%s", d->name);
			for (size_t j = 0; j < i; j++)
				cr_assert_str_neq(d->name,
				                  kp_contract[s][j].name);
		}
		total += kp_contract_n[s];
	}
	cr_assert_gt(total, 0);
}

Test(kp_contract, names_and_options_of_known_methods)
{
	cr_assert_str_eq(KP_RPC_AUTH_LOGIN->name, "auth.Login");
	cr_assert_eq(KP_RPC_AUTH_LOGIN->request,
	             &keyport__auth__login_request__descriptor);
	cr_assert_eq(KP_RPC_AUTH_LOGIN->reply,
	             &keyport__auth__token_pair__descriptor);
	cr_assert_not(KP_RPC_AUTH_LOGIN->idempotent);
	cr_assert_eq(KP_RPC_AUTH_LOGIN->callers, KP_RPC_FROM_GATEWAY);
	cr_assert(KP_RPC_ACTIVATION_HEARTBEAT->idempotent);
	cr_assert_not(KP_RPC_ACTIVATION_ACTIVATE->idempotent);
	cr_assert_eq(KP_RPC_ORG_GET_ORGANIZATION->callers,
	             KP_RPC_FROM_GATEWAY |
	                 KP_RPC_FROM_SERVICE(KP_SERVICES_AUTH) |
	                 KP_RPC_FROM_SERVICE(KP_SERVICES_LICENSE));
	cr_assert(KP_RPC_LICENSE_SEED_LICENSES->test_only);
	cr_assert_not(KP_RPC_LICENSE_GET_LICENSE->test_only);
}
