/* kp_resolve: the addresses behind a service's bus URLs.
 *
 * A service is dialled through KEYPORT_<SVC>_URL, a comma-separated list of
 * NNG URLs. An entry whose host is an IP literal (or an ipc:// / inproc://
 * address) is one replica, dialled as written. An entry whose host is a
 * name (a Kubernetes headless Service, a compose service) stands for every
 * address that name resolves to: kp_resolve_list expands it into one
 * `scheme://address:port` URL per address, and kp_rpc re-resolves it every
 * KEYPORT_RESOLVE_INTERVAL_MS, dialling each address once. The TLS server
 * name of every such dialer stays the service's identity (kp_bus_dialer),
 * never the address: replicas share their service's certificate.
 */
#ifndef KP_RESOLVE_H
#define KP_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#define KP_RESOLVE_URL_MAX 300

/* One address to dial. */
typedef struct kp_resolve_addr {
	char url[KP_RESOLVE_URL_MAX]; /* e.g. tls+tcp://10.1.2.3:7103 */
	int entry;                    /* index of the list entry it came from */
} kp_resolve_addr;

/* What one resolution of a list gave. */
typedef struct kp_resolve_set {
	kp_resolve_addr *addrs; /* malloc'd; kp_resolve_set_cleanup frees */
	size_t n;
	size_t entries; /* entries of the list */
	/* per entry (entries of them): the host is a name, and whether its
	 * last lookup failed in a way that says nothing about the replicas
	 * (a temporary resolver failure: keep what was dialled) */
	bool *named;
	bool *failed;
} kp_resolve_set;

/* kp_resolve_list resolves every entry of the comma-separated urls into
 * out (initialised here; the caller frees it with kp_resolve_set_cleanup,
 * also on failure). Addresses are deduplicated. A name that resolves to
 * nothing (NXDOMAIN) contributes no address; one whose lookup failed
 * otherwise is marked in out->failed. Returns KP_OK, or KP_EINVAL for an
 * entry that is not `scheme://host:port` of a TCP scheme nor an ipc:// or
 * inproc:// address (logged, naming it). */
int kp_resolve_list(const char *urls, kp_resolve_set *out);

/* kp_resolve_set_cleanup frees what a set holds; NULL-safe, idempotent. */
void kp_resolve_set_cleanup(kp_resolve_set *s);

/* kp_resolve_has_names tells whether any entry of a set names a host
 * (so that it must be resolved again later). */
bool kp_resolve_has_names(const kp_resolve_set *s);

#endif
