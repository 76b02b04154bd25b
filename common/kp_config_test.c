/* kp_config: the table's integrity, value checks by type and bounds, start-up
 * validation per process, warnings about unknown variables, defaults. */
#include "kp_config.h"

#include "kp_err.h"
#include "kp_services.h"

#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Test(kp_config, table_is_consistent)
{
	for (int i = 0; i < KP_CFG_COUNT; i++) {
		const kp_cfg_var *v = &kp_config_vars[i];

		cr_assert(strncmp(v->name, "KEYPORT_", 8) == 0, "%s", v->name);
		cr_assert(v->readers != 0, "%s has no reader", v->name);
		cr_assert(v->meaning != NULL && v->meaning[0] != '\0', "%s",
		          v->name);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(v->name, kp_config_vars[j].name);
		/* a default is itself an accepted value */
		cr_assert_eq(kp_config_check((kp_cfg_id)i, v->def), KP_OK,
		             "%s's default is refused", v->name);
		if (v->type == KP_CFG_ENUM)
			cr_assert(v->def != NULL && v->def[0] != '\0', "%s",
			          v->name);
		if (v->type == KP_CFG_INT || v->type == KP_CFG_BOOL)
			cr_assert(v->min <= v->max, "%s", v->name);
	}
	for (int s = 0; s < KP_SERVICES_COUNT; s++) {
		char name[64], url[64];

		snprintf(name, sizeof(name), "KEYPORT_%s_URL",
		         kp_services_name(s));
		for (char *p = name; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		cr_assert_str_eq(kp_config_vars[KP_CFG_AUTH_URL + s].name,
		                 name);
		snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d",
		         kp_services_port(s));
		cr_assert_str_eq(kp_config_vars[KP_CFG_AUTH_URL + s].def, url);
	}
}

static const struct {
	kp_cfg_id id;
	const char *value;
	int rv;
} kp_config_cases[] = {
    {KP_CFG_HTTP_PORT, NULL, KP_OK},
    {KP_CFG_HTTP_PORT, "", KP_OK},
    {KP_CFG_HTTP_PORT, "1", KP_OK},
    {KP_CFG_HTTP_PORT, "65535", KP_OK},
    {KP_CFG_HTTP_PORT, "0", KP_EINVAL},
    {KP_CFG_HTTP_PORT, "65536", KP_EINVAL},
    {KP_CFG_HTTP_PORT, "80x", KP_EINVAL},
    {KP_CFG_HTTP_PORT, " 80", KP_EINVAL},
    {KP_CFG_HTTP_PORT, "99999999999999999999999", KP_EINVAL},
    {KP_CFG_LEASE_SWEEP_MS, "0", KP_OK},
    {KP_CFG_LEASE_SWEEP_MS, "-1", KP_EINVAL},
    {KP_CFG_TEST_CLOCK, "1", KP_OK},
    {KP_CFG_TEST_CLOCK, "2", KP_EINVAL},
    {KP_CFG_TEST_CLOCK, "yes", KP_EINVAL},
    {KP_CFG_LOG_LEVEL, "debug", KP_OK},
    {KP_CFG_LOG_LEVEL, "WARN", KP_OK},
    {KP_CFG_LOG_LEVEL, "verbose", KP_EINVAL},
    {KP_CFG_LOG_LEVEL, "info\n", KP_EINVAL},
    {KP_CFG_ACTIVATION_SIGNING, "rpc", KP_OK},
    {KP_CFG_ACTIVATION_SIGNING, "none", KP_EINVAL},
    {KP_CFG_DATABASE_URL, "anything at all", KP_OK},
    {KP_CFG_COUNT, "1", KP_EINVAL},
};

Test(kp_config, values_by_type_and_bounds)
{
	for (size_t i = 0;
	     i < sizeof(kp_config_cases) / sizeof(kp_config_cases[0]); i++)
		cr_assert_eq(kp_config_check(kp_config_cases[i].id,
		                             kp_config_cases[i].value),
		             kp_config_cases[i].rv, "case %zu (%s)", i,
		             kp_config_cases[i].value ? kp_config_cases[i].value
		                                      : "unset");
}

Test(kp_config, defaults_and_canonical_words)
{
	unsetenv("KEYPORT_HTTP_PORT");
	unsetenv("KEYPORT_LOG_LEVEL");
	unsetenv("KEYPORT_AUTH_URL");
	cr_assert_eq(kp_cfg_int(KP_CFG_HTTP_PORT), 8080);
	cr_assert_str_eq(kp_cfg_str(KP_CFG_LOG_LEVEL), "info");
	cr_assert_str_eq(kp_config_service_url("auth"),
	                 "tls+tcp://127.0.0.1:7101");
	cr_assert_str_eq(kp_config_service_url("release"),
	                 "tls+tcp://127.0.0.1:7105");
	cr_assert_null(kp_config_service_url("billing"));
	cr_assert_null(kp_cfg_str(KP_CFG_ADMIN_PASSWORD));
	setenv("KEYPORT_LOG_LEVEL", "WARN", 1);
	cr_assert_str_eq(kp_cfg_str(KP_CFG_LOG_LEVEL), "warn");
	setenv("KEYPORT_HTTP_PORT", "8081", 1);
	setenv("KEYPORT_AUTH_URL", "tcp://10.0.0.1:1,tcp://10.0.0.2:1", 1);
	cr_assert_eq(kp_cfg_int(KP_CFG_HTTP_PORT), 8081);
	cr_assert_str_eq(kp_config_service_url("auth"),
	                 "tcp://10.0.0.1:1,tcp://10.0.0.2:1");
}

Test(kp_config, process_names)
{
	cr_assert_eq(kp_config_reader("gateway"), KP_CFG_R_GATEWAY);
	cr_assert_eq(kp_config_reader("activation"), KP_CFG_R_ACTIVATION);
	cr_assert_eq(kp_config_reader("release"), KP_CFG_R_RELEASE);
	cr_assert_eq(kp_config_reader("billing"), 0);
	cr_assert_eq(kp_config_reader(NULL), 0);
}

/* A bad value stops only a process that reads it; the values are kept from
 * then on. */
Test(kp_config, load_validates_what_the_process_reads,
     .init = cr_redirect_stderr)
{
	setenv("KEYPORT_HTTP_PORT", "70000", 1);
	setenv("KEYPORT_WORKERS", "4", 1);
	cr_assert_eq(kp_config_load(KP_CFG_R_AUTH), KP_OK);
	cr_assert_eq(kp_cfg_int(KP_CFG_WORKERS), 4);
	/* an invalid value the process does not read gives the default */
	cr_assert_eq(kp_cfg_int(KP_CFG_HTTP_PORT), 8080);
	setenv("KEYPORT_WORKERS", "5", 1);
	cr_assert_eq(kp_cfg_int(KP_CFG_WORKERS), 4, "read once, at load");
	cr_assert_eq(kp_config_load(KP_CFG_R_GATEWAY), KP_EINVAL);
}

static char *
kp_config_test_stderr(void)
{
	static char buf[8192];
	FILE *f;
	size_t n;

	fflush(stderr);
	f = cr_get_redirected_stderr();
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	return buf;
}

Test(kp_config, rejections_and_unknown_names_are_logged,
     .init = cr_redirect_stderr)
{
	char *err;

	setenv("KEYPORT_HTTP_PORT", "0", 1);
	setenv("KEYPORT_LOG_LEVEL", "loud", 1);
	setenv("KEYPORT_HTTP_PROT", "8080", 1);
	setenv("KEYPORT_WORKERS", "8", 1);
	cr_assert_eq(kp_config_load(KP_CFG_R_GATEWAY), KP_EINVAL);
	err = kp_config_test_stderr();
	cr_assert(strstr(err, "KEYPORT_HTTP_PORT must be an integer from 1 to "
	                      "65535") != NULL,
	          "%s", err);
	cr_assert(strstr(err, "KEYPORT_LOG_LEVEL must be one of: info, debug, "
	                      "warn, error") != NULL,
	          "%s", err);
	cr_assert(strstr(err, "unknown variable KEYPORT_HTTP_PROT") != NULL,
	          "%s", err);
	cr_assert(strstr(err, "KEYPORT_WORKERS") == NULL, "%s", err);
	cr_assert(kp_config_known("KEYPORT_HTTP_PORT"));
	cr_assert_not(kp_config_known("KEYPORT_HTTP_PROT"));
	cr_assert_not(kp_config_known(NULL));
}
