/* kp_resolve: expanding bus URLs whose host is a name into addresses. */
#include "kp_resolve.h"

#include "kp_err.h"
#include "kp_log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One lookup at a time in the process. Each client's resolver thread looks
 * its names up every interval, and the clients of one process do it at the
 * same moments. nss_wrapper (the tests' name source) is not safe under
 * concurrent lookups: one thread kept the hosts file it had read before
 * the file was replaced, for good (one run of it-replicas in four, and a
 * two-thread loop of getaddrinfo in 4 of 8 rounds; none in 300 rounds
 * with this lock). A lookup every few seconds per client costs nothing
 * serialised. */
static pthread_mutex_t kp_resolve_mtx = PTHREAD_MUTEX_INITIALIZER;

/* One entry of a list, cut into its parts. */
typedef struct kp_resolve_entry {
	char scheme[32];
	char host[256];
	char port[8];
	int family; /* AF_UNSPEC, or AF_INET / AF_INET6 for tcp4 / tcp6 */
	bool tcp;   /* a TCP scheme (tcp, tls+tcp, tcp4, ...) */
} kp_resolve_entry;

static bool
kp_resolve_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Cuts url into e; KP_EINVAL when it is no address at all. */
static int
kp_resolve_parse(const char *url, kp_resolve_entry *e)
{
	const char *sep = strstr(url, "://"), *host, *colon;
	size_t hl;

	memset(e, 0, sizeof(*e));
	if (sep == NULL || sep == url ||
	    (size_t)(sep - url) >= sizeof(e->scheme))
		return KP_EINVAL;
	memcpy(e->scheme, url, (size_t)(sep - url));
	e->tcp = kp_resolve_suffix(e->scheme, "tcp") ||
	         kp_resolve_suffix(e->scheme, "tcp4") ||
	         kp_resolve_suffix(e->scheme, "tcp6");
	if (!e->tcp)
		return KP_OK; /* ipc://, inproc://: dialled as written */
	e->family = kp_resolve_suffix(e->scheme, "tcp4")   ? AF_INET
	            : kp_resolve_suffix(e->scheme, "tcp6") ? AF_INET6
	                                                   : AF_UNSPEC;
	host = sep + 3;
	if (*host == '[') {
		const char *close = strchr(host, ']');

		if (close == NULL || close[1] != ':')
			return KP_EINVAL;
		hl = (size_t)(close - host - 1);
		host++;
		colon = close + 1;
	} else {
		if ((colon = strrchr(host, ':')) == NULL)
			return KP_EINVAL;
		hl = (size_t)(colon - host);
	}
	if (hl >= sizeof(e->host) || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(e->port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return KP_EINVAL;
	memcpy(e->host, host, hl);
	e->host[hl] = '\0';
	snprintf(e->port, sizeof(e->port), "%s", colon + 1);
	return KP_OK;
}

/* Whether host is written as an address (or is empty / a wildcard): it is
 * then dialled as written, as before names were resolved here. */
static bool
kp_resolve_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return host[0] == '\0' || strcmp(host, "*") == 0 ||
	       inet_pton(AF_INET, host, buf) == 1 ||
	       inet_pton(AF_INET6, host, buf) == 1;
}

static int
kp_resolve_add(kp_resolve_set *s, size_t *cap, const char *url, int entry)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->addrs[i].url, url) == 0)
			return KP_OK;
	if (s->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		kp_resolve_addr *na = realloc(s->addrs, ncap * sizeof(*na));

		if (na == NULL)
			return KP_EINTERNAL;
		s->addrs = na;
		*cap = ncap;
	}
	snprintf(s->addrs[s->n].url, sizeof(s->addrs[s->n].url), "%s", url);
	s->addrs[s->n].entry = entry;
	s->n++;
	return KP_OK;
}

/* Adds every address of the named entry e; a lookup failure other than
 * "no such name" marks the entry failed. */
static int
kp_resolve_name(kp_resolve_set *s, size_t *cap, const kp_resolve_entry *e,
                int entry)
{
	struct addrinfo hints, *res = NULL;
	char ip[INET6_ADDRSTRLEN], url[KP_RESOLVE_URL_MAX];
	int rv = KP_OK, gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = e->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	pthread_mutex_lock(&kp_resolve_mtx);
	gai = getaddrinfo(e->host, e->port, &hints, &res);
	pthread_mutex_unlock(&kp_resolve_mtx);
	if (gai != 0) {
		if (gai != EAI_NONAME && gai != EAI_NODATA) {
			s->failed[entry] = true;
			kp_log_warn("resolve: %s: %s (keeping its replicas)",
			            e->host, gai_strerror(gai));
		}
		return KP_OK;
	}
	for (struct addrinfo *a = res; a != NULL && rv == KP_OK;
	     a = a->ai_next) {
		const void *src;

		if (a->ai_family == AF_INET)
			src = &((struct sockaddr_in *)a->ai_addr)->sin_addr;
		else if (a->ai_family == AF_INET6)
			src = &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(a->ai_family, src, ip, sizeof(ip)) == NULL)
			continue;
		snprintf(url, sizeof(url),
		         a->ai_family == AF_INET6 ? "%s://[%s]:%s"
		                                  : "%s://%s:%s",
		         e->scheme, ip, e->port);
		rv = kp_resolve_add(s, cap, url, entry);
	}
	freeaddrinfo(res);
	return rv;
}

int
kp_resolve_list(const char *urls, kp_resolve_set *out)
{
	char *list = NULL, *save = NULL;
	size_t cap = 0, nentries = 1;
	int rv = KP_EINTERNAL, entry = 0;

	memset(out, 0, sizeof(*out));
	for (const char *p = urls ? urls : ""; *p; p++)
		nentries += *p == ',';
	if ((list = strdup(urls ? urls : "")) == NULL ||
	    (out->named = calloc(nentries, sizeof(bool))) == NULL ||
	    (out->failed = calloc(nentries, sizeof(bool))) == NULL)
		goto out;
	for (char *u = strtok_r(list, ",", &save); u != NULL;
	     u = strtok_r(NULL, ",", &save)) {
		kp_resolve_entry e;
		size_t len;

		while (*u == ' ')
			u++;
		len = strlen(u);
		while (len > 0 && u[len - 1] == ' ')
			u[--len] = '\0';
		if (*u == '\0')
			continue;
		if (kp_resolve_parse(u, &e) != KP_OK) {
			kp_log_error("resolve: bad address '%s' (expected "
			             "scheme://host:port)",
			             u);
			rv = KP_EINVAL;
			goto out;
		}
		if (!e.tcp || kp_resolve_literal(e.host))
			rv = kp_resolve_add(out, &cap, u, entry);
		else {
			out->named[entry] = true;
			rv = kp_resolve_name(out, &cap, &e, entry);
		}
		if (rv != KP_OK)
			goto out;
		entry++;
	}
	out->entries = (size_t)entry;
	rv = KP_OK;
out:
	free(list);
	return rv;
}

void
kp_resolve_set_cleanup(kp_resolve_set *s)
{
	if (s == NULL)
		return;
	free(s->addrs);
	free(s->named);
	free(s->failed);
	memset(s, 0, sizeof(*s));
}

bool
kp_resolve_has_names(const kp_resolve_set *s)
{
	for (size_t i = 0; i < s->entries; i++)
		if (s->named[i])
			return true;
	return false;
}
