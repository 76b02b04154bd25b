/* kp_clock: the one source of "now" for every service.
 *
 * Production code reads the wall clock through kp_now / kp_now_ms. A test
 * run (KEYPORT_TEST_CLOCK=1) may move a service's clock forward or back with
 * the RPC "<service>.SetClockOffset" (keyport.ClockOffset), so expiry rules
 * are tested without sleeping. The offset is process-wide and atomic.
 */
#ifndef KP_CLOCK_H
#define KP_CLOCK_H

#include <stdint.h>
#include <time.h>

/* kp_now returns unix seconds, offset included. */
int64_t kp_now(void);

/* kp_now_ms returns unix milliseconds, offset included. */
int64_t kp_now_ms(void);

/* KP_NOW_PARAM_LEN is the size of a buffer for kp_now_param. */
#define KP_NOW_PARAM_LEN 24

/* kp_now_param writes kp_now() as decimal unix seconds into buf (at least
 * KP_NOW_PARAM_LEN bytes) and returns buf: the one way "now" reaches a
 * statement, as a text parameter the SQL reads with to_timestamp($n).
 * Times come back out of SQL the same way, as epoch seconds
 * (extract(epoch FROM t)::bigint), and are formatted with kp_time_format. */
char *kp_now_param(char *buf);

/* kp_time_param is kp_now_param for a time t the caller read once (so that
 * the statements and the code of one request agree on "now"). */
char *kp_time_param(int64_t t, char *buf);

/* kp_clock_set_offset sets the offset in seconds (tests only). */
void kp_clock_set_offset(int64_t seconds);

/* kp_clock_offset returns the current offset in seconds. */
int64_t kp_clock_offset(void);

/* kp_time_format writes t (unix seconds) as RFC 3339 UTC
 * ("2026-01-02T03:04:05Z") into buf (at least 21 bytes); "" for t == 0
 * is the caller's choice, this always formats. Returns buf. */
char *kp_time_format(int64_t t, char *buf, unsigned long len);

/* kp_deadline sets *ts to ms milliseconds from now on clock clk, for timed
 * waits: CLOCK_REALTIME for sem_timedwait and default condition variables,
 * CLOCK_MONOTONIC for condition variables set to it. Real time, never the
 * test offset. */
void kp_deadline(struct timespec *ts, clockid_t clk, int64_t ms);

#endif
