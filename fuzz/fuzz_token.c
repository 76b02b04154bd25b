/* fuzz_token: license tokens (kp_token: verify and payload parse) and the
 * gateway's access JWTs (kp_access: kid and verify). The first byte picks
 * the parser; the rest is the token text. */
#include "fuzz.h"
#include "kp_access.h"
#include "kp_err.h"
#include "kp_token.h"

#include <sodium.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char pk[KP_TOKEN_PK_BYTES];
	static kp_access_keyset ks;
	static int ready;
	char *text;

	if (!ready) {
		unsigned char sk[64];

		if (sodium_init() < 0)
			abort();
		/* a fixed key: the seeds in fuzz/corpus are signed with it, so
		 * that inputs reach what comes after the signature check */
		static const unsigned char seed[crypto_sign_SEEDBYTES] =
		    "keyport-fuzz-fixed-seed-32-bytes";

		crypto_sign_seed_keypair(pk, sk, seed);
		ks.count = 1;
		strcpy(ks.keys[0].kid, "k1");
		memcpy(ks.keys[0].pk, pk, sizeof(ks.keys[0].pk));
		ready = 1;
	}
	if (size == 0)
		return 0;
	text = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 4) {
	case 0: {
		kp_token_claims c;

		if (kp_token_verify_claims(text, pk, &c) == KP_TOKEN_OK)
			kp_token_claims_cleanup(&c);
		break;
	}
	case 1: {
		kp_token_claims c;

		if (kp_token_payload_parse(text, &c) == KP_TOKEN_OK)
			kp_token_claims_cleanup(&c);
		break;
	}
	case 2: {
		char kid[KP_ACCESS_KID_MAX];

		kp_access_kid(text, kid, sizeof(kid));
		break;
	}
	default: {
		kp_access_claims c;

		kp_access_verify(text, &ks, 1700000000, &c);
		break;
	}
	}
	free(text);
	return 0;
}
