/* keyport-org: the org service process (see kp_service.h for its life). */
#include "kp_service.h"

extern const kp_migration org_migrations[];
extern const size_t org_migrations_count;

static const kp_service_def org_service = {
	.name = "org",
	.migrations = org_migrations,
	.nmigrations = 0,
};

int
main(int argc, char **argv)
{
	kp_service_def def = org_service;

	def.nmigrations = org_migrations_count;
	return kp_service_main(&def, argc, argv);
}
