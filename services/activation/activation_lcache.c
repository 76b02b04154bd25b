/* activation_lcache: the license-key cache of a heartbeat (see the header). */
#include "activation_lcache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ACT_LCACHE_KEYMAX 128 /* the longest key a request may carry */
#define ACT_LCACHE_LOCKS  64  /* lock stripes; slot i uses lock i % 64 */

typedef struct act_lslot {
	unsigned char key[ACT_LCACHE_KEYMAX]; /* zero-padded */
	size_t keylen;                        /* 0: empty slot */
	int64_t version;
	int64_t filled_ms;
	uint8_t *packed; /* the License, packed; owned */
	size_t len;
} act_lslot;

struct act_lcache {
	act_lslot *slots;
	uint32_t mask;
	int64_t ttl_ms;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	pthread_mutex_t locks[ACT_LCACHE_LOCKS];
	uint64_t hits, misses; /* under __atomic builtins */
};

act_lcache *
act_lcache_open(uint32_t slots, int64_t ttl_ms)
{
	act_lcache *c = NULL;
	uint32_t n = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	c->ttl_ms = ttl_ms;
	if (slots == 0 || ttl_ms <= 0)
		goto out; /* a cache that never hits */
	while (n < slots && n < (1u << 24))
		n <<= 1;
	if ((c->slots = calloc(n, sizeof(*c->slots))) == NULL) {
		free(c);
		c = NULL;
		goto out;
	}
	c->mask = n - 1;
	randombytes_buf(c->hkey, sizeof(c->hkey));
	for (int i = 0; i < ACT_LCACHE_LOCKS; i++)
		pthread_mutex_init(&c->locks[i], NULL);
out:
	return c;
}

void
act_lcache_close(act_lcache *c)
{
	if (c == NULL)
		return;
	if (c->slots != NULL) {
		for (uint32_t i = 0; i <= c->mask; i++)
			free(c->slots[i].packed);
		for (int i = 0; i < ACT_LCACHE_LOCKS; i++)
			pthread_mutex_destroy(&c->locks[i]);
	}
	free(c->slots);
	free(c);
}

/* act_lcache_slot: the slot of key and the key zero-padded into buf; -1
 * when key is too long to be cached. */
static int64_t
act_lcache_slot(const act_lcache *c, const char *key,
                unsigned char buf[ACT_LCACHE_KEYMAX], size_t *len)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint32_t v;

	*len = strlen(key);
	if (*len == 0 || *len > ACT_LCACHE_KEYMAX)
		return -1;
	memset(buf, 0, ACT_LCACHE_KEYMAX);
	memcpy(buf, key, *len);
	crypto_shorthash(h, buf, *len, c->hkey);
	memcpy(&v, h, sizeof(v));
	return (int64_t)(v & c->mask);
}

int
act_lcache_get(act_lcache *c, const char *key, int64_t now_ms,
               Keyport__License__License **lic, int64_t *version)
{
	unsigned char buf[ACT_LCACHE_KEYMAX];
	act_lslot *s;
	size_t len;
	int64_t i;
	int hit = 0;

	*lic = NULL;
	if (c == NULL || c->slots == NULL ||
	    (i = act_lcache_slot(c, key, buf, &len)) < 0)
		goto out;
	s = &c->slots[i];
	pthread_mutex_lock(&c->locks[i % ACT_LCACHE_LOCKS]);
	/* the whole padded buffer is compared, in constant time */
	if (s->keylen == len && sodium_memcmp(s->key, buf, sizeof(buf)) == 0 &&
	    now_ms - s->filled_ms < c->ttl_ms && now_ms >= s->filled_ms) {
		*lic =
		    keyport__license__license__unpack(NULL, s->len, s->packed);
		*version = s->version;
		hit = *lic != NULL;
	}
	pthread_mutex_unlock(&c->locks[i % ACT_LCACHE_LOCKS]);
out:
	if (c != NULL)
		__atomic_add_fetch(hit ? &c->hits : &c->misses, 1,
		                   __ATOMIC_RELAXED);
	return hit;
}

void
act_lcache_put(act_lcache *c, const char *key,
               const Keyport__License__License *lic, int64_t version,
               int64_t now_ms)
{
	unsigned char buf[ACT_LCACHE_KEYMAX];
	uint8_t *packed = NULL, *old = NULL;
	act_lslot *s;
	size_t len, plen;
	int64_t i;

	if (c == NULL || c->slots == NULL || lic == NULL ||
	    (i = act_lcache_slot(c, key, buf, &len)) < 0)
		return;
	plen = keyport__license__license__get_packed_size(lic);
	if ((packed = malloc(plen ? plen : 1)) == NULL)
		return;
	keyport__license__license__pack(lic, packed);
	s = &c->slots[i];
	pthread_mutex_lock(&c->locks[i % ACT_LCACHE_LOCKS]);
	old = s->packed;
	memcpy(s->key, buf, sizeof(buf));
	s->keylen = len;
	s->version = version;
	s->filled_ms = now_ms;
	s->packed = packed;
	s->len = plen;
	pthread_mutex_unlock(&c->locks[i % ACT_LCACHE_LOCKS]);
	free(old);
}

uint64_t
act_lcache_hits(const act_lcache *c)
{
	return c ? __atomic_load_n(&c->hits, __ATOMIC_RELAXED) : 0;
}

uint64_t
act_lcache_misses(const act_lcache *c)
{
	return c ? __atomic_load_n(&c->misses, __ATOMIC_RELAXED) : 0;
}
