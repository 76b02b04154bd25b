/* keyport-gateway: HTTP in, protobuf over NNG out. */
#include "gw.h"
#include "gw_auth.h"
#include "gw_http.h"
#include "gw_metrics.h"
#include "gw_router.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const gw_main_services[GW_NSERVICES] = {
	"auth", "org", "license", "activation", "release"};

int
main(int argc, char **argv)
{
	gw_state gw;
	struct MHD_Daemon *d = NULL;
	int64_t port, threads, limit;
	sigset_t sigs;
	int sig, status = 1;

	/* Before NNG or libmicrohttpd start threads: signals to sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&gw, 0, sizeof(gw));
	kp_log_init("gateway");
	if (argc > 1) {
		fprintf(stderr, "usage: keyport-gateway\nConfiguration comes "
				"from KEYPORT_* environment variables; see "
				"README.md.\n");
		return strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	if (sodium_init() < 0) {
		kp_log_error("libsodium failed to initialise");
		goto out;
	}
	if (kp_config_int("KEYPORT_HTTP_PORT", 8080, 1, 65535, &port) !=
		    KP_OK ||
	    kp_config_int("KEYPORT_HTTP_THREADS", 8, 1, 256, &threads) !=
		    KP_OK ||
	    kp_config_int("KEYPORT_BODY_LIMIT", 1048576, 1024,
			  (int64_t)1 << 30, &limit) != KP_OK)
		goto out;
	gw.body_limit = (size_t)limit;
	gw.started = (int64_t)time(NULL);
	for (int i = 0; i < GW_NSERVICES; i++)
		if (kp_rpc_client_open(&gw.clients[i], gw_main_services[i],
				       kp_config_service_url(
					       gw_main_services[i])) != KP_OK)
			goto out;
	if (gw_metrics_init(gw_router_count()) != 0 ||
	    gw_auth_init(&gw) != KP_OK)
		goto out;
	if ((d = gw_http_start(&gw, (int)port, (int)threads)) == NULL)
		goto out;
	kp_log_info("listening on http://0.0.0.0:%d with %d threads",
		    (int)port, (int)threads);
	sigwait(&sigs, &sig);
	kp_log_info("stopping on signal %d", sig);
	status = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	for (int i = 0; i < GW_NSERVICES; i++)
		kp_rpc_client_close(gw.clients[i]);
	return status;
}
