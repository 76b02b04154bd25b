/* keyport-gateway: HTTP in, protobuf over NNG out. */
#include "gw.h"
#include "gw_auth.h"
#include "gw_deadline.h"
#include "gw_http.h"
#include "gw_metrics.h"
#include "gw_reqlog.h"
#include "gw_router.h"
#include "gw_static.h"
#include "kp_bus.h"
#include "kp_config.h"
#include "kp_err.h"
#include "kp_log.h"
#include "kp_services.h"
#include "kp_metrics.h"
#include "kp_stats.h"

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int
main(int argc, char **argv)
{
	gw_state gw;
	struct MHD_Daemon *d = NULL;
	int port, threads;
	sigset_t sigs;
	int sig, status = 1;

	/* Before NNG or libmicrohttpd start threads: signals to sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP); /* reload the TLS certificate */
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
	if (kp_config_load(KP_CFG_R_GATEWAY) != KP_OK ||
	    kp_bus_init("gateway") != KP_OK) {
		status = 2;
		goto out;
	}
	if (kp_stats_serve("gateway") != 0 || gw_reqlog_init() != 0)
		goto out;
	port = (int)kp_cfg_int(KP_CFG_HTTP_PORT);
	threads = (int)kp_cfg_int(KP_CFG_HTTP_THREADS);
	gw.body_limit = (size_t)kp_cfg_int(KP_CFG_BODY_LIMIT);
	gw.started = (int64_t)time(NULL);
	for (int i = 0; i < GW_NSERVICES; i++)
		if (kp_rpc_client_open(
		        &gw.clients[i], kp_services_name(i),
		        kp_config_service_url(kp_services_name(i))) != KP_OK)
			goto out;
	if (gw_static_load(kp_cfg_str(KP_CFG_WEB_DIR)) != 0)
		goto out;
	if (gw_metrics_init(gw_router_count()) != 0 ||
	    gw_auth_init(&gw) != KP_OK)
		goto out;
	if ((d = gw_http_start(&gw, port, threads)) == NULL)
		goto out;
	kp_log_info("listening on http://0.0.0.0:%d with %d threads", port,
	            threads);
	while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
		d = gw_http_reload(&gw, d, port, threads);
	kp_log_info("stopping on signal %d", sig);
	status = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	kp_metrics_stop();
	gw_deadline_stop();
	for (int i = 0; i < GW_NSERVICES; i++)
		kp_rpc_client_close(gw.clients[i]);
	gw_static_free();
	for (int i = 0; i < 2; i++) {
		free(gw.tls_cert[i]);
		if (gw.tls_key[i] != NULL)
			sodium_memzero(gw.tls_key[i], strlen(gw.tls_key[i]));
		free(gw.tls_key[i]);
	}
	return status;
}
