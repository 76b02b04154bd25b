/* activation_lcache: what a license key resolves to, remembered by one
 * activation-service process so that a heartbeat costs no call to the
 * license service.
 *
 * Consistency: every entry carries the license's version as the activation
 * schema saw it when the entry was filled (license_counters.version). The
 * license service bumps that version through activation.LicenseChanged
 * after it commits any change to a license and before it answers, and the
 * heartbeat reads the current version in the same statement that reads the
 * activation; an entry whose version is older is refetched. So a heartbeat
 * never answers from a license state older than the last change a caller was
 * told about, on any replica. Entries also expire after a lifetime
 * (KEYPORT_LICENSE_CACHE_MS), a safety net for a change whose notification
 * could not be delivered.
 *
 * The table is direct-mapped (a key has one slot, chosen by a keyed hash,
 * and a newcomer replaces the slot's occupant), so its memory is fixed at
 * start: slots x (entry + the packed license). Keys are compared in
 * constant time. Only keys that resolved are stored.
 *
 * Ownership: the cache belongs to the service (act_app) and is thread-safe;
 * a license returned by act_lcache_get is the caller's, freed with
 * protobuf_c_message_free_unpacked(..., NULL).
 */
#ifndef ACTIVATION_LCACHE_H
#define ACTIVATION_LCACHE_H

#include "proto/license.pb-c.h"

#include <stdint.h>

typedef struct act_lcache act_lcache;

/* act_lcache_open makes a cache of slots entries (rounded up to a power of
 * two) whose entries live ttl_ms; slots == 0 or ttl_ms == 0 gives a cache
 * that never hits. NULL when out of memory. */
act_lcache *act_lcache_open(uint32_t slots, int64_t ttl_ms);
void act_lcache_close(act_lcache *c);

/* act_lcache_get looks key up at now_ms. On a hit returns 1 with *lic (the
 * caller's) and *version set; 0 on a miss or an expired entry. */
int act_lcache_get(act_lcache *c, const char *key, int64_t now_ms,
                   Keyport__License__License **lic, int64_t *version);

/* act_lcache_put remembers that key resolved to lic at version (now_ms is
 * when it was read). Best effort: a key that is too long or a failed
 * allocation just leaves the slot empty. */
void act_lcache_put(act_lcache *c, const char *key,
                    const Keyport__License__License *lic, int64_t version,
                    int64_t now_ms);

/* act_lcache_hits / act_lcache_misses: counters, for tests and logs. */
uint64_t act_lcache_hits(const act_lcache *c);
uint64_t act_lcache_misses(const act_lcache *c);

#endif
