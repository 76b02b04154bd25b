/* gw_deadline: the header and body deadlines of every connection. */
#include "gw_deadline.h"

#include "kp_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

typedef struct gw_sock {
	struct gw_sock *prev, *next;
	int fd;
	double deadline; /* monotonic seconds; 0: none */
} gw_sock;

static pthread_mutex_t gw_deadline_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gw_deadline_cv = PTHREAD_COND_INITIALIZER;
static gw_sock *gw_deadline_head;
static int gw_deadline_header_s = 10, gw_deadline_body_s = 60;
static int gw_deadline_running, gw_deadline_stopping;
static unsigned long gw_deadline_kills;
static pthread_t gw_deadline_thread;

static double
gw_deadline_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static gw_sock *
gw_deadline_sock(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void
gw_deadline_set(struct MHD_Connection *conn, int seconds)
{
	gw_sock *s = gw_deadline_sock(conn);

	if (s == NULL)
		return;
	pthread_mutex_lock(&gw_deadline_mu);
	s->deadline = seconds > 0 ? gw_deadline_now() + seconds : 0;
	pthread_mutex_unlock(&gw_deadline_mu);
}

void
gw_deadline_notify(void *cls, struct MHD_Connection *conn,
                   void **socket_context,
                   enum MHD_ConnectionNotificationCode code)
{
	gw_sock *s = *socket_context;
	const union MHD_ConnectionInfo *ci;

	(void)cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(conn,
		                             MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci == NULL || (s = calloc(1, sizeof(*s))) == NULL)
			return; /* untracked: the idle timeout still holds */
		s->fd = ci->connect_fd;
		pthread_mutex_lock(&gw_deadline_mu);
		s->deadline = gw_deadline_now() + gw_deadline_header_s;
		s->next = gw_deadline_head;
		if (gw_deadline_head != NULL)
			gw_deadline_head->prev = s;
		gw_deadline_head = s;
		pthread_mutex_unlock(&gw_deadline_mu);
		*socket_context = s;
		return;
	}
	if (s == NULL)
		return;
	/* CLOSED comes before libmicrohttpd closes the socket: once off the
	 * list, the watchdog can no longer touch the descriptor */
	pthread_mutex_lock(&gw_deadline_mu);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		gw_deadline_head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&gw_deadline_mu);
	free(s);
	*socket_context = NULL;
}

void
gw_deadline_headers_in(struct MHD_Connection *conn, int body)
{
	gw_deadline_set(conn, body ? gw_deadline_body_s : 0);
}

void
gw_deadline_answered(struct MHD_Connection *conn)
{
	gw_deadline_set(conn, 0);
}

void
gw_deadline_request_done(struct MHD_Connection *conn)
{
	gw_deadline_set(conn, gw_deadline_header_s);
}

unsigned long
gw_deadline_closed(void)
{
	unsigned long n;

	pthread_mutex_lock(&gw_deadline_mu);
	n = gw_deadline_kills;
	pthread_mutex_unlock(&gw_deadline_mu);
	return n;
}

static void *
gw_deadline_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gw_deadline_mu);
	while (!gw_deadline_stopping) {
		struct timespec t;
		double now = gw_deadline_now();

		for (gw_sock *s = gw_deadline_head; s != NULL; s = s->next) {
			int unread = 0;

			if (s->deadline == 0 || s->deadline > now)
				continue;
			/* bytes still in the kernel: the gateway is behind (its
			 * threads busy with other requests), not the client;
			 * look again in a second */
			if (ioctl(s->fd, FIONREAD, &unread) == 0 &&
			    unread > 0) {
				s->deadline = now + 1;
				continue;
			}
			/* libmicrohttpd sees the end of the stream and closes
			 * the connection itself */
			shutdown(s->fd, SHUT_RDWR);
			s->deadline = 0;
			gw_deadline_kills++;
		}
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += 1;
		pthread_cond_timedwait(&gw_deadline_cv, &gw_deadline_mu, &t);
	}
	pthread_mutex_unlock(&gw_deadline_mu);
	return NULL;
}

int
gw_deadline_start(int header_s, int body_s)
{
	gw_deadline_header_s = header_s;
	gw_deadline_body_s = body_s;
	gw_deadline_stopping = 0;
	if (pthread_create(&gw_deadline_thread, NULL, gw_deadline_main, NULL) !=
	    0) {
		kp_log_error("cannot start the connection deadline thread");
		return -1;
	}
	gw_deadline_running = 1;
	return 0;
}

void
gw_deadline_stop(void)
{
	if (!gw_deadline_running)
		return;
	pthread_mutex_lock(&gw_deadline_mu);
	gw_deadline_stopping = 1;
	pthread_cond_signal(&gw_deadline_cv);
	pthread_mutex_unlock(&gw_deadline_mu);
	pthread_join(gw_deadline_thread, NULL);
	gw_deadline_running = 0;
}
