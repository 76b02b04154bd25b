/* argon2: the machine's password-hashing ceiling for `make bench`. THREADS
 * threads (the auth service's KEYPORT_HASH_CONCURRENCY, default 2) verify a
 * password against an Argon2id hash made with the auth service's
 * parameters (services/auth/auth_pw.c: crypto_pwhash_OPSLIMIT_INTERACTIVE,
 * crypto_pwhash_MEMLIMIT_INTERACTIVE) in a loop for SECONDS; a login costs
 * one such verification, so this bounds logins per second.
 *   argon2 SECONDS THREADS   prints "rps p50_ms p99_ms hashes errors" */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define A2_MAX_SAMPLES 100000

static char a2_hash[crypto_pwhash_STRBYTES];
static const char a2_pw[] = "correct horse battery staple";
static double a2_until;

typedef struct a2_run {
	unsigned long n, errors;
	double lat[A2_MAX_SAMPLES];
} a2_run;

static double
a2_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *
a2_worker(void *arg)
{
	a2_run *r = arg;

	for (double t0 = a2_now(); t0 < a2_until; t0 = a2_now()) {
		if (crypto_pwhash_str_verify(a2_hash, a2_pw, strlen(a2_pw)) != 0)
			r->errors++;
		if (r->n < A2_MAX_SAMPLES)
			r->lat[r->n] = (a2_now() - t0) * 1000.0;
		r->n++;
	}
	return NULL;
}

static int
a2_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	double secs, t0, el;
	int threads;
	a2_run *runs;
	pthread_t *tids;
	double *all;
	size_t nall = 0;
	unsigned long n = 0, errors = 0;

	if (argc != 3 || (secs = atof(argv[1])) <= 0 ||
	    (threads = atoi(argv[2])) < 1 || threads > 64) {
		fprintf(stderr, "usage: argon2 SECONDS THREADS\n");
		return 2;
	}
	if (sodium_init() < 0 ||
	    crypto_pwhash_str(a2_hash, a2_pw, strlen(a2_pw),
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		fprintf(stderr, "argon2: cannot hash\n");
		return 1;
	}
	runs = calloc((size_t)threads, sizeof(*runs));
	tids = calloc((size_t)threads, sizeof(*tids));
	if (runs == NULL || tids == NULL)
		return 1;
	t0 = a2_now();
	a2_until = t0 + secs;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, a2_worker, &runs[i]) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	el = a2_now() - t0;
	all = malloc(sizeof(double) * (size_t)threads * A2_MAX_SAMPLES);
	if (all == NULL)
		return 1;
	for (int i = 0; i < threads; i++) {
		size_t k = runs[i].n < A2_MAX_SAMPLES ? runs[i].n : A2_MAX_SAMPLES;

		memcpy(all + nall, runs[i].lat, k * sizeof(double));
		nall += k;
		n += runs[i].n;
		errors += runs[i].errors;
	}
	qsort(all, nall, sizeof(double), a2_cmp);
	printf("%.1f %.3f %.3f %lu %lu\n", (double)n / el,
	       nall ? all[nall / 2] : 0.0,
	       nall ? all[(size_t)((double)nall * 0.99)] : 0.0, n, errors);
	return 0;
}
