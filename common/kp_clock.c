/* kp_clock: wall clock with a test offset (see kp_clock.h). */
#include "kp_clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static _Atomic int64_t kp_clock_off;

int64_t
kp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	       atomic_load(&kp_clock_off) * 1000;
}

int64_t
kp_now(void)
{
	return (int64_t)time(NULL) + atomic_load(&kp_clock_off);
}

void
kp_clock_set_offset(int64_t seconds)
{
	atomic_store(&kp_clock_off, seconds);
}

int64_t
kp_clock_offset(void)
{
	return atomic_load(&kp_clock_off);
}

char *
kp_time_format(int64_t t, char *buf, unsigned long len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && len > 0)
		buf[0] = '\0';
	return buf;
}

void
kp_deadline(struct timespec *ts, clockid_t clk, int64_t ms)
{
	clock_gettime(clk, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

char *
kp_time_param(int64_t t, char *buf)
{
	snprintf(buf, KP_NOW_PARAM_LEN, "%lld", (long long)t);
	return buf;
}

char *
kp_now_param(char *buf)
{
	return kp_time_param(kp_now(), buf);
}
