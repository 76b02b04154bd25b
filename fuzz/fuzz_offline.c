/* fuzz_offline: the offline file parsers (common/kp_offline.c): activation
 * request, activation response and deactivation request. The first byte
 * picks the parser; the rest is the file. */
#include "fuzz.h"
#include "kp_offline.h"

#include <sodium.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char pk[KP_TOKEN_PK_BYTES];
	static int ready;
	const char *file = (const char *)data + 1;
	size_t len = size > 0 ? size - 1 : 0;

	if (!ready) {
		unsigned char sk[KP_TOKEN_SK_BYTES];

		if (sodium_init() < 0)
			abort();
		/* a fixed key: the seeds in fuzz/corpus are signed with it, so
		 * that inputs reach what comes after the signature check */
		static const unsigned char seed[crypto_sign_SEEDBYTES] =
		    "keyport-fuzz-fixed-seed-32-bytes";

		crypto_sign_seed_keypair(pk, sk, seed);
		ready = 1;
	}
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0: {
		kp_offline_request r;

		kp_offline_request_parse(file, len, 1700000000, &r);
		break;
	}
	case 1: {
		kp_offline_request pending = {0};
		kp_token_claims claims;
		char *token = NULL;

		if (kp_offline_response_load(file, len, pk, &pending,
		                             1700000000, &claims,
		                             &token) == KP_OFFLINE_OK) {
			kp_token_claims_cleanup(&claims);
			free(token);
		}
		break;
	}
	default: {
		kp_offline_deactivation d;

		if (kp_offline_deactivation_parse(file, len, &d) ==
		    KP_OFFLINE_OK)
			kp_offline_deactivation_cleanup(&d);
		break;
	}
	}
	/* the detail names a field in text a client may be shown */
	if (strlen(kp_offline_detail()) >= 200)
		abort();
	return 0;
}
