/* fuzz: the libFuzzer entry points of Keyport's parsers (issue 19).
 *
 * Each fuzz_<target>.c defines LLVMFuzzerTestOneInput for one parser.
 * `make fuzz` links them with clang's libFuzzer and runs each for
 * FUZZ_SECONDS; `make test` links them with driver.c instead, which runs
 * every file of fuzz/corpus/<target>/ once (no clang needed). A target
 * aborts on a broken promise (an error that is not JSON, a parse that
 * reads past its input); the sanitizers catch the rest. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_cstr copies data into a NUL-terminated malloc'd string (embedded
 * NULs cut it short, as a C caller would see it); the caller frees it. */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
