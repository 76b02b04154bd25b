/* kp_pgarr: PostgreSQL array literals ("{a,b,c}") sent as ONE text
 * parameter of a parameterised statement ($1::uuid[], $2::bigint[]), so a
 * batch is one statement instead of one per element.
 *
 * Only elements that need no quoting go in: UUIDs, checked here, and
 * integers, printed here. Anything else is refused (kp_pgarr_uuid answers
 * 0), so no input ever shapes the literal; it still travels as a parameter,
 * never inside SQL text.
 *
 * Ownership: a kp_pgarr (zero-initialise it: `kp_pgarr a = {0};`) owns its
 * buffer; kp_pgarr_text lends it until kp_pgarr_free. Not thread-safe.
 */
#ifndef KP_PGARR_H
#define KP_PGARR_H

#include <stddef.h>
#include <stdint.h>

typedef struct kp_pgarr {
	char *buf;
	size_t len, cap;
	size_t n;  /* elements added */
	int nomem; /* an allocation failed: kp_pgarr_text answers NULL */
} kp_pgarr;

/* kp_uuid_valid: 1 when s is a UUID in text form (8-4-4-4-12 hex digits,
 * either case), 0 otherwise (NULL included). */
int kp_uuid_valid(const char *s);

/* kp_pgarr_uuid appends s when it is a UUID: 1 when added, 0 when refused
 * (not a UUID; nothing added). */
int kp_pgarr_uuid(kp_pgarr *a, const char *s);

/* kp_pgarr_int appends v. */
void kp_pgarr_int(kp_pgarr *a, int64_t v);

/* kp_pgarr_text returns the literal ("{}" when empty), or NULL when out of
 * memory. Borrowed from a; more elements may be appended afterwards. */
const char *kp_pgarr_text(kp_pgarr *a);

/* kp_pgarr_free frees the buffer and zeroes a; NULL-safe. */
void kp_pgarr_free(kp_pgarr *a);

#endif
