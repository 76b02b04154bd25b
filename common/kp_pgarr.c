/* kp_pgarr: array literals for batch statements (see the header). */
#include "kp_pgarr.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
kp_uuid_valid(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

/* kp_pgarr_room makes room for need more bytes plus "," "}" and NUL. */
static int
kp_pgarr_room(kp_pgarr *a, size_t need)
{
	size_t cap;
	char *b;

	if (a->nomem)
		return 0;
	if (a->len + need + 3 <= a->cap)
		return 1;
	cap = a->cap ? a->cap : 64;
	while (cap < a->len + need + 3)
		cap *= 2;
	if ((b = realloc(a->buf, cap)) == NULL) {
		a->nomem = 1;
		return 0;
	}
	if (a->buf == NULL)
		b[a->len++] = '{';
	a->buf = b;
	a->cap = cap;
	return 1;
}

static void
kp_pgarr_put(kp_pgarr *a, const char *s, size_t n)
{
	if (!kp_pgarr_room(a, n + 1))
		return;
	if (a->n > 0)
		a->buf[a->len++] = ',';
	memcpy(a->buf + a->len, s, n);
	a->len += n;
	a->n++;
}

int
kp_pgarr_uuid(kp_pgarr *a, const char *s)
{
	if (!kp_uuid_valid(s))
		return 0;
	kp_pgarr_put(a, s, 36);
	return 1;
}

void
kp_pgarr_int(kp_pgarr *a, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	kp_pgarr_put(a, num, (size_t)n);
}

const char *
kp_pgarr_text(kp_pgarr *a)
{
	if (!kp_pgarr_room(a, 0))
		return NULL;
	/* "}" and NUL after the elements, not counted in len: appending
	 * more overwrites them */
	a->buf[a->len] = '}';
	a->buf[a->len + 1] = '\0';
	return a->buf;
}

void
kp_pgarr_free(kp_pgarr *a)
{
	if (a == NULL)
		return;
	free(a->buf);
	memset(a, 0, sizeof(*a));
}
