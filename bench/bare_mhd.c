/* bare_mhd: the machine's HTTP ceilings for `make bench`. A libmicrohttpd
 * server in the gateway's threading mode (internal polling thread pool with
 * epoll, same pool size and limits as gateway/gw_http.c), in one of three
 * modes:
 *   plain  every request answered with the same small JSON body (`http`);
 *   sign   the request body is read and parsed as JSON (jansson), and the
 *          answer is a token the way a heartbeat's is made: a ~200-byte
 *          JSON payload signed with Ed25519, base64url(payload) "."
 *          base64url(signature) (`http_sign`: the heartbeat's floor);
 *   file   every request answered with FILE, opened per request and handed
 *          to libmicrohttpd as a file descriptor (sendfile), the way the
 *          gateway serves a download (`sendfile`).
 *   bare_mhd PORT [THREADS [plain|sign|file FILE]]   (THREADS: 8) */
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum bare_mode { BARE_PLAIN, BARE_SIGN, BARE_FILE };

static const char bare_body[] = "{\"status\":\"ok\"}";
static enum bare_mode bare_mode = BARE_PLAIN;
static const char *bare_file;
static unsigned char bare_pk[crypto_sign_PUBLICKEYBYTES];
static unsigned char bare_sk[crypto_sign_SECRETKEYBYTES];
static atomic_ulong bare_serial;

/* One request's state: the body read so far (sign mode). */
typedef struct bare_req {
	char body[4096];
	size_t len;
} bare_req;

static struct MHD_Response *
bare_sign_response(const bare_req *q)
{
	char payload[320], *out;
	unsigned char sig[crypto_sign_BYTES];
	size_t plen, b1, b2, n;
	json_t *in;
	json_error_t jerr;
	const char *key;
	unsigned long serial = atomic_fetch_add(&bare_serial, 1);
	time_t now = time(NULL);
	struct MHD_Response *resp;

	in = json_loadb(q->body, q->len, 0, &jerr);
	key = in != NULL ? json_string_value(json_object_get(in, "key")) : NULL;
	/* the fields of an activation token, ~200 bytes */
	plen = (size_t)snprintf(
	    payload, sizeof(payload),
	    "{\"activationId\":\"00000000-0000-4000-8000-%012lu\","
	    "\"licenseId\":\"11111111-1111-4111-8111-111111111111\","
	    "\"productId\":\"22222222-2222-4222-8222-222222222222\","
	    "\"fingerprint\":\"%.40s\",\"status\":\"active\","
	    "\"expiresAt\":null,\"issuedAt\":%lld}",
	    serial % 1000000000000UL, key != NULL ? key : "none",
	    (long long)now);
	json_decref(in);
	crypto_sign_detached(sig, NULL, (unsigned char *)payload, plen,
	                     bare_sk);
	b1 = sodium_base64_ENCODED_LEN(plen,
	                               sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	b2 = sodium_base64_ENCODED_LEN(sizeof(sig),
	                               sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out = malloc(b1 + b2 + 32);
	if (out == NULL)
		return NULL;
	n = (size_t)sprintf(out, "{\"token\":\"");
	sodium_bin2base64(out + n, b1, (unsigned char *)payload, plen,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n += strlen(out + n);
	out[n++] = '.';
	sodium_bin2base64(out + n, b2, sig, sizeof(sig),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n += strlen(out + n);
	n += (size_t)sprintf(out + n, "\"}");
	resp = MHD_create_response_from_buffer(n, out, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		free(out);
	return resp;
}

static struct MHD_Response *
bare_file_response(void)
{
	struct stat st;
	struct MHD_Response *resp;
	int fd = open(bare_file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NULL;
	}
	resp = MHD_create_response_from_fd_at_offset64((uint64_t)st.st_size,
	                                               fd, 0);
	if (resp == NULL)
		close(fd);
	return resp;
}

static enum MHD_Result
bare_access(void *cls, struct MHD_Connection *conn, const char *url,
            const char *method, const char *version, const char *upload,
            size_t *upload_len, void **con_cls)
{
	bare_req *q = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *type = "application/json; charset=utf-8";

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (q == NULL) {
		q = calloc(1, sizeof(*q));
		if (q == NULL)
			return MHD_NO;
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_len != 0) {
		size_t room = sizeof(q->body) - q->len;
		size_t n = *upload_len < room ? *upload_len : room;

		memcpy(q->body + q->len, upload, n);
		q->len += n;
		*upload_len = 0;
		return MHD_YES;
	}
	switch (bare_mode) {
	case BARE_SIGN:
		resp = bare_sign_response(q);
		break;
	case BARE_FILE:
		resp = bare_file_response();
		type = "application/octet-stream";
		break;
	default:
		resp = MHD_create_response_from_buffer(
		    sizeof(bare_body) - 1, (void *)bare_body,
		    MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
bare_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
               enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d = NULL;
	sigset_t sigs;
	int port, threads, sig, status = 1;
	const char *mode = argc > 3 ? argv[3] : "plain";

	if (argc < 2 || argc > 5) {
		fprintf(stderr,
		        "usage: bare_mhd PORT [THREADS [plain|sign|file FILE]]\n");
		return 2;
	}
	port = atoi(argv[1]);
	threads = argc > 2 ? atoi(argv[2]) : 8;
	if (port < 1 || port > 65535 || threads < 1 || threads > 256) {
		fprintf(stderr, "bare_mhd: bad PORT or THREADS\n");
		return 2;
	}
	if (strcmp(mode, "sign") == 0) {
		bare_mode = BARE_SIGN;
	} else if (strcmp(mode, "file") == 0 && argc == 5) {
		bare_mode = BARE_FILE;
		bare_file = argv[4];
	} else if (strcmp(mode, "plain") != 0) {
		fprintf(stderr, "bare_mhd: bad mode %s\n", mode);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(bare_pk, bare_sk);
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
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
	    MHD_OPTION_NOTIFY_COMPLETED, bare_completed, NULL, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "bare_mhd: cannot listen on port %d\n", port);
		goto out;
	}
	fprintf(stderr, "bare_mhd: listening on port %d, %d threads, %s\n",
	        port, threads, mode);
	sigwait(&sigs, &sig);
	status = 0;
out:
	if (d != NULL)
		MHD_stop_daemon(d);
	return status;
}
