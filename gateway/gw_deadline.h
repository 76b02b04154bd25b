/* gw_deadline: deadlines for receiving a request, not only an idle timeout.
 *
 * libmicrohttpd closes a connection that sends nothing for its connection
 * timeout, but a client that trickles a byte every few seconds (slowloris)
 * is never idle. Every connection is tracked here from accept to close: it
 * has KEYPORT_HTTP_HEADER_TIMEOUT seconds for its request line and headers
 * (counted from the accept, or from the previous answer on a kept-alive
 * connection), then KEYPORT_HTTP_BODY_TIMEOUT seconds for its body. A
 * watchdog thread shuts down the socket of a connection past its deadline;
 * libmicrohttpd then closes it as any closed connection. A connection
 * whose bytes wait unread in the kernel is spared (checked again each
 * second): then the gateway's threads are busy, and the client is not
 * the slow one. A streamed upload
 * (an authenticated release file) has no body deadline, only the idle one.
 */
#ifndef GW_DEADLINE_H
#define GW_DEADLINE_H

#include <microhttpd.h>

/* gw_deadline_start starts the watchdog with the two budgets in seconds;
 * returns 0 or -1 (logged). */
int gw_deadline_start(int header_s, int body_s);

/* gw_deadline_stop stops the watchdog (idempotent). */
void gw_deadline_stop(void);

/* The MHD_OPTION_NOTIFY_CONNECTION callback: tracks a connection. */
void gw_deadline_notify(void *cls, struct MHD_Connection *conn,
                        void **socket_context,
                        enum MHD_ConnectionNotificationCode code);

/* gw_deadline_headers_in: the request's headers are in; the body deadline
 * starts now (no deadline when body is 0: an answer is already queued or
 * the body streams to a file). */
void gw_deadline_headers_in(struct MHD_Connection *conn, int body);

/* gw_deadline_answered: the answer is queued; no deadline until it has
 * been sent. */
void gw_deadline_answered(struct MHD_Connection *conn);

/* gw_deadline_request_done: the request is complete; the next one's header
 * deadline starts now. */
void gw_deadline_request_done(struct MHD_Connection *conn);

/* gw_deadline_closed is how many connections the watchdog closed. */
unsigned long gw_deadline_closed(void);

#endif
