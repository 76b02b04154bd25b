/* keyport-auth: the auth service process (see kp_service.h for its life). */
#include "kp_service.h"

extern const kp_migration auth_migrations[];
extern const size_t auth_migrations_count;

static const kp_service_def auth_service = {
	.name = "auth",
	.migrations = auth_migrations,
	.nmigrations = 0,
};

int
main(int argc, char **argv)
{
	kp_service_def def = auth_service;

	def.nmigrations = auth_migrations_count;
	return kp_service_main(&def, argc, argv);
}
