/* kp_text: character counts of UTF-8 text. */
#include "kp_text.h"

size_t
kp_utf8_chars(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}
