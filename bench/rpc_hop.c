/* rpc_hop: the machine's limit for one internal hop, for `make bench`.
 * A kp_rpc server (the services' NNG req/rep with contexts and a pool of
 * workers) answering a tiny message at once, and in the same process
 * client threads calling it in a loop through kp_rpc_invoke, the way the
 * gateway calls a service. Every gateway route that reaches a service pays
 * at least this hop, so a scenario's rate can also be read against it.
 *   rpc_hop URL SECONDS CLIENTS WORKERS
 * prints "rps p50_ms p99_ms calls errors". */
#include "kp_err.h"
#include "kp_bus.h"
#include "kp_rpc.h"
#include "proto/keyport.pb-c.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HOP_MAX_SAMPLES 4000000

static int
hop_echo(kp_rpc_ctx *ctx)
{
	Keyport__ClockOffset rep = KEYPORT__CLOCK_OFFSET__INIT;

	rep.seconds = 42;
	return kp_rpc_reply(ctx, &rep.base);
}

static int
hop_health(void *worker)
{
	(void)worker;
	return KP_OK;
}

static const kp_rpc_method hop_methods[] = {{"bench.Echo", hop_echo, NULL}};

typedef struct hop_run {
	kp_rpc_client *client;
	double until;
	unsigned long calls, errors;
	float *lat; /* ms, one per call while room lasts */
	size_t nlat, cap;
} hop_run;

static double
hop_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *
hop_client(void *arg)
{
	hop_run *r = arg;
	kp_rpc_call call;
	Keyport__ClockOffset req = KEYPORT__CLOCK_OFFSET__INIT;

	memset(&call, 0, sizeof(call));
	call.method = "bench.Echo";
	call.timeout_ms = 5000;
	req.seconds = 1;
	for (double t0 = hop_now(); t0 < r->until; t0 = hop_now()) {
		ProtobufCMessage *rep = NULL;
		kp_rpc_result res;

		if (kp_rpc_invoke(r->client, &call, &req.base,
		                  &keyport__clock_offset__descriptor, &rep,
		                  &res) != KP_OK) {
			r->errors++;
			continue;
		}
		protobuf_c_message_free_unpacked(rep, NULL);
		r->calls++;
		if (r->nlat < r->cap)
			r->lat[r->nlat++] = (float)((hop_now() - t0) * 1e3);
	}
	return NULL;
}

static int
hop_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	kp_rpc_server_config cfg;
	kp_rpc_server *srv = NULL;
	kp_rpc_client *cli = NULL;
	hop_run *runs = NULL;
	pthread_t *th = NULL;
	float *all = NULL;
	size_t nall = 0;
	unsigned long calls = 0, errors = 0;
	double secs, start;
	int clients, workers, started = 0, rc = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: rpc_hop URL SECONDS CLIENTS WORKERS\n");
		return 2;
	}
	secs = atof(argv[2]);
	clients = atoi(argv[3]);
	workers = atoi(argv[4]);
	if (secs <= 0 || clients < 1 || workers < 1)
		return 2;
	memset(&cfg, 0, sizeof(cfg));
	cfg.service = "bench";
	cfg.listen_url = argv[1];
	cfg.workers = workers;
	cfg.methods = hop_methods;
	cfg.nmethods = 1;
	cfg.health = hop_health;
	/* one process on both ends of the bus, as license calling itself:
	 * the same TLS, frame MAC and checks as a real hop
	 * (KEYPORT_BUS_DIR from the caller, made by scripts/bus-certs.sh) */
	if (kp_bus_init("license") != KP_OK ||
	    kp_rpc_server_start(&srv, &cfg) != KP_OK ||
	    kp_rpc_client_open(&cli, "license", argv[1]) != KP_OK) {
		fprintf(stderr, "rpc_hop: cannot start on %s\n", argv[1]);
		goto out;
	}
	for (int i = 0; i < 250 && kp_rpc_client_pipes(cli) == 0; i++)
		usleep(20000);
	runs = calloc((size_t)clients, sizeof(*runs));
	th = calloc((size_t)clients, sizeof(*th));
	if (runs == NULL || th == NULL)
		goto out;
	start = hop_now();
	for (int i = 0; i < clients; i++) {
		runs[i].client = cli;
		runs[i].until = start + secs;
		runs[i].cap = HOP_MAX_SAMPLES / (size_t)clients;
		if ((runs[i].lat = malloc(runs[i].cap * sizeof(float))) ==
		        NULL ||
		    pthread_create(&th[i], NULL, hop_client, &runs[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	secs = hop_now() - start;
	if ((all = malloc(HOP_MAX_SAMPLES * sizeof(float))) == NULL)
		goto out;
	for (int i = 0; i < started; i++) {
		calls += runs[i].calls;
		errors += runs[i].errors;
		memcpy(all + nall, runs[i].lat, runs[i].nlat * sizeof(float));
		nall += runs[i].nlat;
	}
	qsort(all, nall, sizeof(float), hop_cmp);
	printf("%.1f %.3f %.3f %lu %lu\n", (double)calls / secs,
	       nall ? all[nall / 2] : 0.0, nall ? all[nall * 99 / 100] : 0.0,
	       calls, errors);
	rc = calls > 0 ? 0 : 1;
out:
	if (runs != NULL)
		for (int i = 0; i < clients; i++)
			free(runs[i].lat);
	free(all);
	free(runs);
	free(th);
	kp_rpc_client_close(cli);
	kp_rpc_server_stop(srv);
	return rc;
}
