/* activation_seen: lastSeenAt of heartbeats, written in batches.
 *
 * A heartbeat of an activation whose license has no lease records "seen
 * at" here instead of writing the row itself; a thread of the service
 * writes everything recorded in one UPDATE every KEYPORT_SEEN_FLUSH_MS
 * (default 1000), so a stream of heartbeats costs one write transaction a
 * second per process instead of one (with its commit) per heartbeat. The
 * UPDATE only moves last_seen_at forward and never touches a deactivated
 * activation. What was recorded in the last interval before a crash is
 * lost, which costs nothing but a slightly older lastSeenAt: seats of
 * leased licenses, which depend on it, are written by the heartbeat itself.
 *
 * Ownership: the writer belongs to the service (act_app); act_seen_note is
 * thread-safe. act_seen_close writes what is pending, then frees.
 */
#ifndef ACTIVATION_SEEN_H
#define ACTIVATION_SEEN_H

#include <stdint.h>

typedef struct act_seen act_seen;

/* act_seen_open starts the writer on a connection of its own to db_url
 * (schema "activation"); flush_ms is the interval. KP_OK or a kp_status. */
int act_seen_open(act_seen **out, const char *db_url, int64_t flush_ms);

/* act_seen_note records that activation id (a UUID) was seen at unix time
 * at. Never blocks on the database. */
void act_seen_note(act_seen *s, const char *id, int64_t at);

/* act_seen_flush writes what is pending now (tests, shutdown). */
int act_seen_flush(act_seen *s);

void act_seen_close(act_seen *s);

#endif
