/* gw_reqlog: the request log's fields and the trusted proxies' CIDRs. */
#include "gw_reqlog.h"

#include "kp_config.h"
#include "kp_log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define GW_REQLOG_PROXIES 32

typedef struct gw_cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
} gw_cidr;

static gw_cidr gw_reqlog_proxies[GW_REQLOG_PROXIES];
static int gw_reqlog_nproxies;

/* Parses "addr" or "addr/bits" (IPv4 or IPv6) into c. 0 or -1. */
static int
gw_reqlog_parse(const char *s, gw_cidr *c)
{
	char buf[64], *slash;
	int max;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -1;
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->addr) == 1)
		c->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, buf, c->addr) == 1)
		c->family = AF_INET6, max = 128;
	else
		return -1;
	c->bits = max;
	if (slash != NULL) {
		char *end;
		long b = strtol(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || b < 0 || b > max)
			return -1;
		c->bits = (int)b;
	}
	return 0;
}

static int
gw_reqlog_in(const gw_cidr *net, const gw_cidr *a)
{
	int full = net->bits / 8, rest = net->bits % 8;

	if (net->family != a->family)
		return 0;
	if (memcmp(net->addr, a->addr, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((net->addr[full] ^ a->addr[full]) &
	        (unsigned char)(0xff << (8 - rest))) == 0;
}

int
gw_reqlog_init(void)
{
	const char *list = kp_cfg_str(KP_CFG_TRUSTED_PROXIES);
	char item[80];

	gw_reqlog_nproxies = 0;
	for (const char *p = list ? list : ""; *p != '\0';) {
		size_t n = strcspn(p, ",");
		const char *b = p;

		p += n + (p[n] == ',');
		while (n > 0 && (*b == ' ' || *b == '\t'))
			b++, n--;
		while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		snprintf(item, sizeof(item), "%.*s", (int)n, b);
		if (gw_reqlog_nproxies == GW_REQLOG_PROXIES ||
		    gw_reqlog_parse(
		        item, &gw_reqlog_proxies[gw_reqlog_nproxies]) != 0) {
			kp_log_error(
			    "KEYPORT_TRUSTED_PROXIES: \"%s\" is not an "
			    "address or CIDR (at most %d entries)",
			    item, GW_REQLOG_PROXIES);
			return -1;
		}
		gw_reqlog_nproxies++;
	}
	return 0;
}

int
gw_reqlog_trusted(const char *addr)
{
	gw_cidr a;

	if (gw_reqlog_nproxies == 0 || gw_reqlog_parse(addr, &a) != 0 ||
	    strchr(addr, '/') != NULL)
		return 0;
	/* an IPv4 peer on an IPv6 socket (::ffff:a.b.c.d) */
	if (a.family == AF_INET6 &&
	    memcmp(a.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(a.addr, a.addr + 12, 4);
		memset(a.addr + 4, 0, 12);
		a.family = AF_INET;
	}
	for (int i = 0; i < gw_reqlog_nproxies; i++)
		if (gw_reqlog_in(&gw_reqlog_proxies[i], &a))
			return 1;
	return 0;
}

static void
gw_reqlog_peer(struct MHD_Connection *conn, char *out, size_t n)
{
	const union MHD_ConnectionInfo *ci =
	    conn ? MHD_get_connection_info(conn,
	                                   MHD_CONNECTION_INFO_CLIENT_ADDRESS)
	         : NULL;
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, n, "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		          out, (socklen_t)n);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		          &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
		          (socklen_t)n);
}

void
gw_reqlog_client_addr(struct MHD_Connection *conn, char *out, size_t n)
{
	const char *xff;
	char hop[64];
	gw_cidr tmp;

	gw_reqlog_peer(conn, out, n);
	if (!gw_reqlog_trusted(out))
		return;
	xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                  "X-Forwarded-For");
	if (xff == NULL)
		return;
	/* from the right: each proxy appends the address it saw; the first
	 * one that is not a trusted proxy is the client */
	for (size_t end = strlen(xff); end > 0;) {
		size_t start = end;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		const char *b = xff + start;
		size_t len = end - start;

		while (len > 0 && *b == ' ')
			b++, len--;
		while (len > 0 && b[len - 1] == ' ')
			len--;
		end = start > 0 ? start - 1 : 0;
		if (len == 0 || len >= sizeof(hop))
			return; /* malformed: keep the peer */
		snprintf(hop, sizeof(hop), "%.*s", (int)len, b);
		if (gw_reqlog_parse(hop, &tmp) != 0 || strchr(hop, '/'))
			return;
		snprintf(out, n, "%s", hop);
		if (!gw_reqlog_trusted(hop))
			return;
	}
}

void
gw_reqlog_write(const gw_request *r, const gw_response *w, const char *route,
                double seconds, json_t *hops)
{
	char addr[64];
	json_t *f;

	kp_log_level level = w->status >= 500 ? KP_LOG_WARN : KP_LOG_INFO;

	if (!kp_log_enabled(level)) {
		json_decref(hops);
		return;
	}
	gw_reqlog_client_addr(r->conn, addr, sizeof(addr));
	f = json_pack("{s:s, s:s, s:i, s:f, s:I, s:s}", "method",
	              r->method ? r->method : "", "route",
	              route ? route : "unmatched", "status", w->status,
	              "latencyMs", (double)(long long)(seconds * 1e4) / 10.0,
	              "bytes", (json_int_t)w->len, "clientAddr", addr);
	if (f == NULL) {
		json_decref(hops);
		return;
	}
	if (w->code[0] != '\0')
		json_object_set_new(f, "code", json_string(w->code));
	if (r->authenticated && r->caller.user_id && r->caller.user_id[0]) {
		json_object_set_new(f, "userId",
		                    json_string(r->caller.user_id));
		if (r->caller.organization_id && r->caller.organization_id[0])
			json_object_set_new(
			    f, "organizationId",
			    json_string(r->caller.organization_id));
	}
	if (r->license_id[0] != '\0')
		json_object_set_new(f, "licenseId", json_string(r->license_id));
	if (hops != NULL)
		json_object_set_new(f, "hops", hops);
	kp_log_fields(level, f, "%s %s %d", r->method ? r->method : "",
	              route ? route : "unmatched", w->status);
}
