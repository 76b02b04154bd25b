/* kp_text: text measured as people (and OpenAPI's maxLength) count it. */
#ifndef KP_TEXT_H
#define KP_TEXT_H

#include <stddef.h>

/* kp_utf8_chars is the number of characters (Unicode code points) of the
 * UTF-8 text s: its bytes that do not continue a character. NULL is 0.
 * Text that is not UTF-8 counts each stray byte once. */
size_t kp_utf8_chars(const char *s);

#endif
