/* kp_config: the table of kp_config.def, validated once at start-up. */
#include "kp_config.h"

#include "kp_err.h"
#include "kp_log.h"
#include "kp_services.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

#define KP_CFG_NAME(id) "KEYPORT_" #id

const kp_cfg_var kp_config_vars[KP_CFG_COUNT] = {
#define KP_CFG(id, type, def, min, max, readers, shown, meaning)               \
	{KP_CFG_NAME(id), KP_CFG_##type, def,    min, max,                     \
	 readers,         shown,         meaning},
#include "kp_config.def"
#undef KP_CFG
};

/* The URL variables follow kp_services.def's order. */
_Static_assert(KP_CFG_RELEASE_URL - KP_CFG_AUTH_URL ==
                   KP_SERVICES_RELEASE - KP_SERVICES_AUTH,
               "kp_config.def lists one URL per service, in kp_services order");

static const char *const kp_config_processes[] = {
    "gateway", "auth", "org", "license", "activation", "release",
};

/* Values kept by kp_config_load; read-only once it returned. */
static int kp_config_loaded;
static const char *kp_config_values[KP_CFG_COUNT];
static int64_t kp_config_ints[KP_CFG_COUNT];

unsigned
kp_config_reader(const char *process)
{
	for (size_t i = 0;
	     process != NULL &&
	     i < sizeof(kp_config_processes) / sizeof(kp_config_processes[0]);
	     i++)
		if (strcmp(process, kp_config_processes[i]) == 0)
			return 1u << i;
	return 0;
}

/* The environment's text of a variable, NULL when unset or empty. */
static const char *
kp_config_env(kp_cfg_id id)
{
	const char *v = getenv(kp_config_vars[id].name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The table's word of an ENUM that matches v (any case), or NULL. */
static const char *
kp_config_choice(const kp_cfg_var *var, const char *v)
{
	for (const char *w = var->def; *w != '\0'; w += strlen(w) + 1)
		if (strcasecmp(w, v) == 0)
			return w;
	return NULL;
}

static int
kp_config_parse_int(const kp_cfg_var *var, const char *v, int64_t *out)
{
	char *end = NULL;
	long long n;

	/* strtoll would skip leading blanks and take a '+' */
	if (!(v[0] == '-' || (v[0] >= '0' && v[0] <= '9')))
		return KP_EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < var->min ||
	    n > var->max)
		return KP_EINVAL;
	*out = n;
	return KP_OK;
}

int
kp_config_check(kp_cfg_id id, const char *value)
{
	const kp_cfg_var *var;
	int64_t n;

	if (id < 0 || id >= KP_CFG_COUNT)
		return KP_EINVAL;
	var = &kp_config_vars[id];
	if (value == NULL || value[0] == '\0')
		return KP_OK;
	switch (var->type) {
	case KP_CFG_INT:
	case KP_CFG_BOOL:
		return kp_config_parse_int(var, value, &n);
	case KP_CFG_ENUM:
		return kp_config_choice(var, value) ? KP_OK : KP_EINVAL;
	case KP_CFG_STR:
		break;
	}
	return KP_OK;
}

int
kp_config_known(const char *name)
{
	for (int i = 0; name != NULL && i < KP_CFG_COUNT; i++)
		if (strcmp(name, kp_config_vars[i].name) == 0)
			return 1;
	return 0;
}

/* Logs what a variable accepts after a rejected value. */
static void
kp_config_reject(const kp_cfg_var *var)
{
	char words[128] = "";
	size_t used = 0;

	switch (var->type) {
	case KP_CFG_INT:
	case KP_CFG_BOOL:
		kp_log_error("%s must be an integer from %lld to %lld",
		             var->name, (long long)var->min,
		             (long long)var->max);
		break;
	case KP_CFG_ENUM:
		for (const char *w = var->def;
		     *w != '\0' && used < sizeof(words); w += strlen(w) + 1)
			used +=
			    (size_t)snprintf(words + used, sizeof(words) - used,
			                     "%s%s", used ? ", " : "", w);
		kp_log_error("%s must be one of: %s", var->name, words);
		break;
	case KP_CFG_STR:
		break;
	}
}

/* NAME_FILE for a variable of the table: when NAME is unset or empty and
 * NAME_FILE names a readable file, NAME is set to the file's contents (one
 * trailing newline dropped), the way container secrets are handed over
 * (Compose `secrets:`, Kubernetes Secret volumes). Returns KP_EINVAL after
 * logging when the file cannot be read. Runs before any thread starts. */
static int
kp_config_from_file(const kp_cfg_var *var)
{
	char fname[160], buf[4096];
	const char *path;
	size_t n;
	FILE *f;
	int rv = KP_OK;

	snprintf(fname, sizeof(fname), "%s_FILE", var->name);
	path = getenv(fname);
	if (path == NULL || path[0] == '\0')
		return KP_OK;
	if (getenv(var->name) != NULL && getenv(var->name)[0] != '\0') {
		kp_log_warn("%s and %s are both set; %s is used", var->name,
		            fname, var->name);
		return KP_OK;
	}
	if ((f = fopen(path, "r")) == NULL) {
		kp_log_error("%s: cannot read the file it names (%s)", fname,
		             strerror(errno));
		return KP_EINVAL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f) || !feof(f)) {
		kp_log_error("%s: the file it names cannot be read whole (at "
		             "most %zu bytes)",
		             fname, sizeof(buf) - 1);
		rv = KP_EINVAL;
	}
	fclose(f);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (rv == KP_OK && setenv(var->name, buf, 1) != 0)
		rv = KP_EINTERNAL;
	sodium_memzero(buf, sizeof(buf));
	return rv;
}

static void
kp_config_warn_unknown(void)
{
	char name[128];

	for (char **e = environ; e != NULL && *e != NULL; e++) {
		size_t n = strcspn(*e, "=");

		if (strncmp(*e, "KEYPORT_", 8) != 0 || n >= sizeof(name))
			continue;
		memcpy(name, *e, n);
		name[n] = '\0';
		/* NAME_FILE of a known NAME (kp_config_from_file) */
		if (n > 5 && strcmp(name + n - 5, "_FILE") == 0) {
			name[n - 5] = '\0';
			if (kp_config_known(name))
				continue;
			name[n - 5] = '_';
		}
		if (!kp_config_known(name))
			kp_log_warn("unknown variable %s is ignored (README.md "
			            "lists every KEYPORT_* variable)",
			            name);
	}
}

int
kp_config_load(unsigned reader)
{
	int rv = KP_OK;

	kp_config_loaded = 0; /* a second load reads the environment again */
	for (int i = 0; i < KP_CFG_COUNT; i++) {
		const kp_cfg_var *var = &kp_config_vars[i];
		const char *v;

		if ((var->readers & reader) != 0 &&
		    kp_config_from_file(var) != KP_OK)
			rv = KP_EINVAL;
		v = kp_config_env((kp_cfg_id)i);
		if ((var->readers & reader) != 0 &&
		    kp_config_check((kp_cfg_id)i, v) != KP_OK) {
			kp_config_reject(var);
			rv = KP_EINVAL;
		}
		kp_config_values[i] = kp_cfg_str((kp_cfg_id)i);
		kp_config_ints[i] = kp_cfg_int((kp_cfg_id)i);
	}
	kp_config_warn_unknown();
	kp_config_loaded = 1;
	return rv;
}

const char *
kp_cfg_str(kp_cfg_id id)
{
	const kp_cfg_var *var;
	const char *v;

	if (id < 0 || id >= KP_CFG_COUNT)
		return NULL;
	if (kp_config_loaded)
		return kp_config_values[id];
	var = &kp_config_vars[id];
	v = kp_config_env(id);
	if (var->type == KP_CFG_ENUM) {
		const char *w = v ? kp_config_choice(var, v) : NULL;

		return w ? w : var->def;
	}
	if (v == NULL || kp_config_check(id, v) != KP_OK)
		return var->def;
	return v;
}

int64_t
kp_cfg_int(kp_cfg_id id)
{
	const char *v;
	int64_t n = 0;

	if (id < 0 || id >= KP_CFG_COUNT)
		return 0;
	if (kp_config_loaded)
		return kp_config_ints[id];
	if (kp_config_vars[id].type != KP_CFG_INT &&
	    kp_config_vars[id].type != KP_CFG_BOOL)
		return 0;
	v = kp_cfg_str(id);
	if (v == NULL ||
	    kp_config_parse_int(&kp_config_vars[id], v, &n) != KP_OK)
		return 0;
	return n;
}

const char *
kp_config_service_url(const char *service)
{
	int i = kp_services_find(service);

	return i < 0 ? NULL : kp_cfg_str((kp_cfg_id)(KP_CFG_AUTH_URL + i));
}

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
