/* kp-config-doc: prints the configuration table of common/kp_config.def.
 *
 *   kp-config-doc            the README's Markdown table
 *   kp-config-doc --names    one variable name per line
 *
 * scripts/config-doc.sh compares the README with it in `make test`, and
 * `make config-doc` rewrites the README's table from it.
 */
#include "kp_config.h"

#include <stdio.h>
#include <string.h>

static const struct {
	unsigned mask;
	const char *text;
} doc_readers[] = {
    {KP_CFG_R_ALL, "all"},
    {KP_CFG_R_SERVICES, "services"},
    {KP_CFG_R_GATEWAY, "gateway"},
    {KP_CFG_R_AUTH, "auth"},
    {KP_CFG_R_ORG, "org"},
    {KP_CFG_R_LICENSE, "license"},
    {KP_CFG_R_ACTIVATION, "activation"},
    {KP_CFG_R_RELEASE, "release"},
    {KP_CFG_R_RUN, "`make run`"},
    {KP_CFG_R_TESTS, "tests"},
    {KP_CFG_R_TOOL, "`keyport` tool"},
};

static void
doc_readers_print(unsigned readers)
{
	int first = 1;

	for (size_t i = 0; i < sizeof(doc_readers) / sizeof(doc_readers[0]);
	     i++) {
		if ((readers & doc_readers[i].mask) != doc_readers[i].mask)
			continue;
		printf("%s%s", first ? "" : ", ", doc_readers[i].text);
		readers &= ~doc_readers[i].mask;
		first = 0;
	}
}

static void
doc_default_print(const kp_cfg_var *v)
{
	if (v->shown != NULL)
		printf("%s", v->shown);
	else if (v->def == NULL)
		printf("unset");
	else
		printf("`%s`", v->def);
	if (v->type == KP_CFG_INT)
		printf(" (%lld–%lld)", (long long)v->min, (long long)v->max);
	if (v->type == KP_CFG_ENUM) {
		printf(" (");
		for (const char *w = v->def; *w != '\0'; w += strlen(w) + 1)
			printf("%s`%s`", w == v->def ? "" : ", ", w);
		printf(")");
	}
}

int
main(int argc, char **argv)
{
	int names = argc > 1 && strcmp(argv[1], "--names") == 0;

	if (!names) {
		printf("| variable | default | used by | meaning |\n");
		printf("|---|---|---|---|\n");
	}
	for (int i = 0; i < KP_CFG_COUNT; i++) {
		const kp_cfg_var *v = &kp_config_vars[i];

		if (names) {
			printf("%s\n", v->name);
			continue;
		}
		printf("| `%s` | ", v->name);
		doc_default_print(v);
		printf(" | ");
		doc_readers_print(v->readers);
		printf(" | %s |\n", v->meaning);
	}
	return 0;
}
