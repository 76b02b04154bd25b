/* kp_services: the names of the five services (from kp_services.def).
 *
 * Everything here is static: no allocation, nothing to free.
 */
#ifndef KP_SERVICES_H
#define KP_SERVICES_H

typedef enum kp_services_id {
#define KP_SERVICE(id, name, port) KP_SERVICES_##id,
#include "kp_services.def"
#undef KP_SERVICE
	KP_SERVICES_COUNT
} kp_services_id;

/* kp_services_name returns "auth", "org", ... for an id; NULL when out of
 * range. */
const char *kp_services_name(int id);

/* kp_services_port returns the default port of a service (its
 * KEYPORT_<ID>_URL default), 0 when out of range. */
int kp_services_port(int id);

/* kp_services_find returns the id of a service name, or -1. */
int kp_services_find(const char *name);

#endif
