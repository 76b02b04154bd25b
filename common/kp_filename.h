/* kp_filename: the rule of a release file's name, shared by the gateway
 * (checked before an upload is stored) and the release service (checked
 * again when the file is added). */
#ifndef KP_FILENAME_H
#define KP_FILENAME_H

/* kp_filename_ok: 1 when s is 1 to 255 bytes, with no path separator
 * ('/' or '\\'), no control character and no leading dot; 0 otherwise
 * (NULL included). */
int kp_filename_ok(const char *s);

#endif
