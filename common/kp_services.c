/* kp_services: the service table of kp_services.def. */
#include "kp_services.h"

#include <string.h>

static const char *const kp_services_names[KP_SERVICES_COUNT] = {
#define KP_SERVICE(id, name, port) name,
#include "kp_services.def"
#undef KP_SERVICE
};

static const int kp_services_ports[KP_SERVICES_COUNT] = {
#define KP_SERVICE(id, name, port) port,
#include "kp_services.def"
#undef KP_SERVICE
};

int
kp_services_port(int id)
{
	return id >= 0 && id < KP_SERVICES_COUNT ? kp_services_ports[id] : 0;
}

const char *
kp_services_name(int id)
{
	return id >= 0 && id < KP_SERVICES_COUNT ? kp_services_names[id] : NULL;
}

int
kp_services_find(const char *name)
{
	for (int i = 0; name != NULL && i < KP_SERVICES_COUNT; i++)
		if (strcmp(name, kp_services_names[i]) == 0)
			return i;
	return -1;
}
