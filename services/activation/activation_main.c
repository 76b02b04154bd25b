/* keyport-activation: the activation service process (see kp_service.h for its life). */
#include "kp_service.h"

extern const kp_migration activation_migrations[];
extern const size_t activation_migrations_count;

static const kp_service_def activation_service = {
	.name = "activation",
	.migrations = activation_migrations,
	.nmigrations = 0,
};

int
main(int argc, char **argv)
{
	kp_service_def def = activation_service;

	def.nmigrations = activation_migrations_count;
	return kp_service_main(&def, argc, argv);
}
