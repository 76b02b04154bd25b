/* auth_pw: Argon2id password hashing (libsodium crypto_pwhash_str) on a
 * bounded pool.
 *
 * Each hash or verification takes crypto_pwhash_MEMLIMIT_INTERACTIVE
 * (64 MiB) for a moment. A counting semaphore of KEYPORT_HASH_CONCURRENCY
 * slots (default 2) bounds how many run at once, so memory stays under
 * pool * 64 MiB whatever the number of workers; excess waits up to
 * KEYPORT_HASH_WAIT_MS (default 2000) and is then refused with 429
 * RATE_LIMITED and Retry-After (never queued without bound).
 */
#include "auth_app.h"

#include "kp_config.h"
#include "kp_clock.h"
#include "kp_err.h"
#include "kp_log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define AUTH_PW_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define AUTH_PW_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

int
auth_pw_init(auth_app *app)
{
	int64_t n, wait_ms;
	unsigned char rnd[24];
	char pw[64];

	/* validated at start-up (kp_config.def) */
	n = kp_cfg_int(KP_CFG_HASH_CONCURRENCY);
	wait_ms = kp_cfg_int(KP_CFG_HASH_WAIT_MS);
	if (sem_init(&app->hash_slots, 0, (unsigned)n) != 0)
		return KP_EINTERNAL;
	app->hash_wait_ms = wait_ms;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	if (crypto_pwhash_str(app->dummy_hash, pw, strlen(pw), AUTH_PW_OPS,
	                      AUTH_PW_MEM) != 0)
		return KP_EINTERNAL;
	sodium_memzero(pw, sizeof(pw));
	kp_log_info("password hashing: %d slot(s), wait %d ms", (int)n,
	            (int)wait_ms);
	return KP_OK;
}

void
auth_pw_fini(auth_app *app)
{
	sem_destroy(&app->hash_slots);
}

/* Takes a slot, waiting at most hash_wait_ms. Returns 0 or -1. */
static int
auth_pw_acquire(auth_app *app)
{
	struct timespec ts;

	kp_deadline(&ts, CLOCK_REALTIME, app->hash_wait_ms);
	while (sem_timedwait(&app->hash_slots, &ts) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

int
auth_pw_hash(const char *pw, char *out)
{
	auth_app *app = auth_app_get();
	int rc;

	if (auth_pw_acquire(app) != 0)
		return KP_ERATELIMIT;
	rc = crypto_pwhash_str(out, pw, strlen(pw), AUTH_PW_OPS, AUTH_PW_MEM);
	sem_post(&app->hash_slots);
	return rc == 0 ? KP_OK : KP_EINTERNAL;
}

int
auth_pw_verify(const char *hash, const char *pw, int *ok, int *rehash)
{
	auth_app *app = auth_app_get();
	int real = hash != NULL && hash[0] != '\0';
	int rc;

	*ok = 0;
	*rehash = 0;
	if (auth_pw_acquire(app) != 0)
		return KP_ERATELIMIT;
	rc = crypto_pwhash_str_verify(real ? hash : app->dummy_hash, pw,
	                              strlen(pw));
	sem_post(&app->hash_slots);
	if (rc == 0 && real) {
		*ok = 1;
		*rehash = crypto_pwhash_str_needs_rehash(hash, AUTH_PW_OPS,
		                                         AUTH_PW_MEM) != 0;
	}
	return KP_OK;
}

int
auth_busy(kp_rpc_ctx *ctx)
{
	ctx->retry_after = 1;
	return kp_rpc_fail(ctx, KP_ERATELIMIT, "RATE_LIMITED",
	                   "too many password checks at once; retry shortly");
}

int
auth_pw_check_new(kp_rpc_ctx *ctx, const char *field, const char *pw,
                  const char *email)
{
	size_t n = 0;

	/* length in characters (UTF-8 code points) */
	for (const unsigned char *p = (const unsigned char *)pw; *p; p++)
		if ((*p & 0xC0) != 0x80)
			n++;
	if (n < 8)
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "%s: must be at least 8 characters", field);
	if (n > 256)
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "%s: must be at most 256 characters", field);
	if (email != NULL && strcasecmp(pw, email) == 0)
		return kp_rpc_fail(ctx, KP_EINVAL, "INVALID_INPUT",
		                   "%s: must not be the email address", field);
	return KP_OK;
}
