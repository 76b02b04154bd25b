/* license_key: generation and normalisation of license keys. */
#include "license_key.h"

#include <ctype.h>
#include <sodium.h>
#include <string.h>

void
license_key_generate(char *out)
{
	static const char alphabet[] = LICENSE_KEY_ALPHABET;
	const uint32_t n = (uint32_t)(sizeof(alphabet) - 1);

	/* randombytes_uniform has no modulo bias */
	for (int i = 0; i < LICENSE_KEY_CHARS; i++)
		out[i] = alphabet[randombytes_uniform(n)];
	out[LICENSE_KEY_CHARS] = '\0';
}

void
license_key_format(const char *norm, char *out)
{
	size_t o = 0, len = strlen(norm);

	for (size_t i = 0; i < len; i++) {
		if (i > 0 && i % LICENSE_KEY_GROUP == 0)
			out[o++] = '-';
		out[o++] = norm[i];
		if (o >= LICENSE_KEY_LEN)
			break;
	}
	out[o] = '\0';
}

int
license_key_normalise(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '-')
			continue;
		if (c < 0x21 || c > 0x7e)
			return -1;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)toupper(c);
	}
	out[o] = '\0';
	return 0;
}
