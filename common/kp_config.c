/* kp_config: environment variables with defaults and range checks. */
#include "kp_config.h"

#include "kp_err.h"
#include "kp_log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *service;
	const char *var;
	const char *def;
} kp_config_services[] = {
	{"auth", "KEYPORT_AUTH_URL", "tcp://127.0.0.1:7101"},
	{"org", "KEYPORT_ORG_URL", "tcp://127.0.0.1:7102"},
	{"license", "KEYPORT_LICENSE_URL", "tcp://127.0.0.1:7103"},
	{"activation", "KEYPORT_ACTIVATION_URL", "tcp://127.0.0.1:7104"},
	{"release", "KEYPORT_RELEASE_URL", "tcp://127.0.0.1:7105"},
};

const char *
kp_config_str(const char *name, const char *def)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : def;
}

int
kp_config_int(const char *name, int64_t def, int64_t min, int64_t max,
	      int64_t *out)
{
	const char *v = kp_config_str(name, NULL);
	char *end = NULL;
	long long n;

	if (v == NULL) {
		*out = def;
		return KP_OK;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
		kp_log_error("%s must be an integer from %lld to %lld", name,
			     (long long)min, (long long)max);
		return KP_EINVAL;
	}
	*out = n;
	return KP_OK;
}

const char *
kp_config_service_url(const char *service)
{
	for (size_t i = 0;
	     i < sizeof(kp_config_services) / sizeof(kp_config_services[0]);
	     i++)
		if (strcmp(service, kp_config_services[i].service) == 0)
			return kp_config_str(kp_config_services[i].var,
					     kp_config_services[i].def);
	return NULL;
}
