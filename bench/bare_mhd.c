/* bare_mhd: the machine's HTTP ceiling for `make bench`. A libmicrohttpd
 * server in the gateway's threading mode (internal polling thread pool with
 * epoll, same pool size and limits as gateway/gw_http.c) answering every
 * request with the same small JSON body, so a scenario's rate can be read
 * as a fraction of what this machine can serve at all.
 *   bare_mhd PORT [THREADS]   (THREADS defaults to 8, the gateway's) */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char bare_body[] = "{\"status\":\"ok\"}";

/* Answers at once; a request body, if any, is read and dropped. */
static enum MHD_Result
bare_access(void *cls, struct MHD_Connection *conn, const char *url,
            const char *method, const char *version, const char *upload,
            size_t *upload_len, void **con_cls)
{
	static int first;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload;
	if (*con_cls == NULL) {
		*con_cls = &first;
		return MHD_YES;
	}
	if (*upload_len != 0) {
		*upload_len = 0;
		return MHD_YES;
	}
	resp = MHD_create_response_from_buffer(
	    sizeof(bare_body) - 1, (void *)bare_body, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
	                        "application/json; charset=utf-8");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d = NULL;
	sigset_t sigs;
	int port, threads, sig, status = 1;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bare_mhd PORT [THREADS]\n");
		return 2;
	}
	port = atoi(argv[1]);
	threads = argc > 2 ? atoi(argv[2]) : 8;
	if (port < 1 || port > 65535 || threads < 1 || threads > 256) {
		fprintf(stderr, "bare_mhd: bad PORT or THREADS\n");
		return 2;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
	    (uint16_t)port, NULL, NULL, bare_access, NULL,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bare_mhd: cannot listen on port %d\n", port);
		goto out;
	}
	fprintf(stderr, "bare_mhd: listening on port %d, %d threads\n", port,
	        threads);
	sigwait(&sigs, &sig);
	status = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	return status;
}
