/* kp_config: every KEYPORT_* environment variable, from one table.
 *
 * The table is common/kp_config.def (name, type, default, bounds, who reads
 * it, meaning), the way redis keeps its static_configs[]. A process calls
 * kp_config_load once at start-up, before it starts threads: every variable
 * it reads is validated then (a bad value stops the start, naming the
 * variable and what it accepts), each KEYPORT_* variable the table does not
 * know is warned about, and the values are kept. The getters afterwards
 * never fail and never allocate: strings point into the environment, at the
 * table's default, or into static storage.
 *
 * The README's configuration table is printed from the same table
 * (common/tools/config_doc.c) and compared in `make test`.
 */
#ifndef KP_CONFIG_H
#define KP_CONFIG_H

#include <stdint.h>

/* Who reads a variable (the readers column). */
enum {
	KP_CFG_R_GATEWAY = 1 << 0,
	KP_CFG_R_AUTH = 1 << 1,
	KP_CFG_R_ORG = 1 << 2,
	KP_CFG_R_LICENSE = 1 << 3,
	KP_CFG_R_ACTIVATION = 1 << 4,
	KP_CFG_R_RELEASE = 1 << 5,
	KP_CFG_R_RUN = 1 << 6,   /* scripts/run.sh (`make run`) */
	KP_CFG_R_TESTS = 1 << 7, /* the test harness and scripts */
	KP_CFG_R_TOOL = 1 << 8, /* the `keyport` tool, on customers' machines */
};
#define KP_CFG_R_SERVICES                                                      \
	(KP_CFG_R_AUTH | KP_CFG_R_ORG | KP_CFG_R_LICENSE |                     \
	 KP_CFG_R_ACTIVATION | KP_CFG_R_RELEASE)
#define KP_CFG_R_ALL (KP_CFG_R_GATEWAY | KP_CFG_R_SERVICES)

typedef enum kp_cfg_type {
	KP_CFG_STR,
	KP_CFG_INT,
	KP_CFG_ENUM,
	KP_CFG_BOOL,
} kp_cfg_type;

typedef enum kp_cfg_id {
#define KP_CFG(id, type, def, min, max, readers, shown, meaning) KP_CFG_##id,
#include "kp_config.def"
#undef KP_CFG
	KP_CFG_COUNT
} kp_cfg_id;

typedef struct kp_cfg_var {
	const char *name; /* "KEYPORT_HTTP_PORT" */
	kp_cfg_type type;
	const char *def; /* NULL: none; ENUM: the choices, default first */
	int64_t min, max;
	unsigned readers; /* KP_CFG_R_* */
	const char *shown;
	const char *meaning;
} kp_cfg_var;

/* kp_config_vars is the table, indexed by kp_cfg_id. */
extern const kp_cfg_var kp_config_vars[KP_CFG_COUNT];

/* kp_config_reader returns the KP_CFG_R_* bit of a process name
 * ("gateway", "auth", ...), 0 for an unknown one. */
unsigned kp_config_reader(const char *process);

/* kp_config_load reads the environment once, for a process that is reader
 * (KP_CFG_R_*). Returns 0, or KP_EINVAL after logging every variable of
 * this reader whose value is not accepted. Warns about each unknown
 * KEYPORT_* variable. Call it before starting threads. A variable of this
 * reader that is unset but whose NAME_FILE is set (KEYPORT_DATABASE_URL_FILE)
 * takes the contents of that file (container secrets); an unreadable file
 * is an error naming NAME_FILE. */
int kp_config_load(unsigned reader);

/* kp_config_check validates one variable's value text (NULL: unset) for
 * its type and bounds; 0 when accepted, KP_EINVAL otherwise. */
int kp_config_check(kp_cfg_id id, const char *value);

/* kp_config_known says whether a variable name ("KEYPORT_FOO") is in the
 * table. */
int kp_config_known(const char *name);

/* The value of a variable: the environment's when set and not empty,
 * otherwise its default (NULL when it has none). Before kp_config_load,
 * the environment is read at each call; an invalid INT, ENUM or BOOL gives
 * the default. */
const char *kp_cfg_str(kp_cfg_id id);
int64_t kp_cfg_int(kp_cfg_id id);

/* kp_config_service_url returns the NNG address list of a service
 * ("auth", "org", "license", "activation", "release"): the value of
 * KEYPORT_<NAME>_URL, or tcp://127.0.0.1:710N by default. NULL for an
 * unknown service name. */
const char *kp_config_service_url(const char *service);

/* Older, name-based getters, used by the call sites not yet moved to
 * kp_cfg_*: kp_config_str returns the variable's value, or def when unset
 * or empty; kp_config_int reads a decimal integer in [min, max] into *out
 * (def when unset), or returns KP_EINVAL after logging which variable. */
const char *kp_config_str(const char *name, const char *def);
int kp_config_int(const char *name, int64_t def, int64_t min, int64_t max,
                  int64_t *out);

#endif
