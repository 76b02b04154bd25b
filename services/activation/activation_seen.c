/* activation_seen: the batched lastSeenAt writer (see the header). */
#include "activation_seen.h"
#include "activation_store.h"

#include "kp_clock.h"
#include "kp_db.h"
#include "kp_err.h"
#include "kp_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* More than this many pending notes are written at once by the next flush;
 * notes beyond it wait for the one after (memory stays bounded). */
#define ACT_SEEN_MAX 100000

struct act_seen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started, stopping;
	int64_t flush_ms;
	act_seen_mark *notes; /* pending, owned */
	size_t n, cap;
	kp_db *db;                /* the writer thread's */
	pthread_mutex_t write_mu; /* one flush at a time */
};

void
act_seen_note(act_seen *s, const char *id, int64_t at)
{
	if (s == NULL || strlen(id) != 36)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->n == s->cap && s->cap < ACT_SEEN_MAX) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		act_seen_mark *n = realloc(s->notes, cap * sizeof(*n));

		if (n != NULL) {
			s->notes = n;
			s->cap = cap;
		}
	}
	if (s->n < s->cap) {
		memcpy(s->notes[s->n].id, id, 37);
		s->notes[s->n].at = at;
		s->n++;
	}
	pthread_mutex_unlock(&s->mu);
}

int
act_seen_flush(act_seen *s)
{
	act_seen_mark *notes = NULL;
	size_t n = 0;
	int rv = KP_OK;

	if (s == NULL)
		return KP_OK;
	pthread_mutex_lock(&s->write_mu);
	pthread_mutex_lock(&s->mu);
	notes = s->notes;
	n = s->n;
	s->notes = NULL;
	s->n = s->cap = 0;
	pthread_mutex_unlock(&s->mu);
	if (n == 0)
		goto out;
	if ((rv = act_store_seen_write(s->db, notes, n)) != KP_OK)
		kp_log_warn("lastSeenAt of %zu heartbeats not written (%s, "
		            "SQLSTATE %s)",
		            n, kp_strerror(rv), kp_db_sqlstate(s->db));
out:
	pthread_mutex_unlock(&s->write_mu);
	free(notes);
	return rv;
}

static void *
act_seen_main(void *arg)
{
	act_seen *s = arg;
	struct timespec t;

	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		kp_deadline(&t, CLOCK_MONOTONIC, s->flush_ms);
		while (!s->stopping &&
		       pthread_cond_timedwait(&s->cv, &s->mu, &t) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&s->mu);
		(void)act_seen_flush(s);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
act_seen_open(act_seen **out, const char *db_url, int64_t flush_ms)
{
	act_seen *s = NULL;
	int rv = KP_EINTERNAL;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->write_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->flush_ms = flush_ms > 0 ? flush_ms : 1000;
	if ((rv = kp_db_open(&s->db, db_url, "activation", 1)) != KP_OK)
		goto out;
	if (pthread_create(&s->thread, NULL, act_seen_main, s) != 0) {
		rv = KP_EINTERNAL;
		goto out;
	}
	s->started = 1;
	*out = s;
	s = NULL;
	rv = KP_OK;
out:
	act_seen_close(s);
	return rv;
}

void
act_seen_close(act_seen *s)
{
	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stopping = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
		(void)act_seen_flush(s); /* what came in since */
	}
	kp_db_close(s->db);
	free(s->notes);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->write_mu);
	free(s);
}
