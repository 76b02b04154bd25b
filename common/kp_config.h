/* kp_config: reading KEYPORT_* environment variables, validated once.
 *
 * All configuration of Keyport comes from the environment (README lists every
 * variable). The getters never allocate: strings point into the environment
 * or at the default given.
 */
#ifndef KP_CONFIG_H
#define KP_CONFIG_H

#include <stdint.h>

/* kp_config_str returns the variable's value, or def when unset or empty. */
const char *kp_config_str(const char *name, const char *def);

/* kp_config_int reads a decimal integer in [min, max] into *out (def when
 * unset). Returns 0, or KP_EINVAL (and logs which variable) when the value
 * is not a number in range. */
int kp_config_int(const char *name, int64_t def, int64_t min, int64_t max,
		  int64_t *out);

/* kp_config_service_url returns the NNG address list of a service
 * ("auth", "org", "license", "activation", "release"): the value of
 * KEYPORT_<NAME>_URL, or tcp://127.0.0.1:710N by default. NULL for an
 * unknown service name. */
const char *kp_config_service_url(const char *service);

#endif
