/* kp_filename: the rule of a release file's name (see kp_filename.h). */
#include "kp_filename.h"

#include <string.h>

int
kp_filename_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 255 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '/' ||
		    s[i] == '\\')
			return 0;
	return 1;
}
