/* keyport-license: the license service process (see kp_service.h for its life). */
#include "kp_service.h"

extern const kp_migration license_migrations[];
extern const size_t license_migrations_count;

static const kp_service_def license_service = {
	.name = "license",
	.migrations = license_migrations,
	.nmigrations = 0,
};

int
main(int argc, char **argv)
{
	kp_service_def def = license_service;

	def.nmigrations = license_migrations_count;
	return kp_service_main(&def, argc, argv);
}
