/* keyport-release: the release service process (see kp_service.h for its life). */
#include "kp_service.h"

extern const kp_migration release_migrations[];
extern const size_t release_migrations_count;

static const kp_service_def release_service = {
	.name = "release",
	.migrations = release_migrations,
	.nmigrations = 0,
};

int
main(int argc, char **argv)
{
	kp_service_def def = release_service;

	def.nmigrations = release_migrations_count;
	return kp_service_main(&def, argc, argv);
}
