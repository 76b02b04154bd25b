/* keyport_fp: the machine fingerprint (machine-id, hostname, permanent MAC).
 */
#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyport_int.h"

/* first line of a small file, trailing whitespace cut; "" when unreadable */
static void
read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t len;

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)n, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' ||
	                   buf[len - 1] == '\r' || buf[len - 1] == '\t'))
		buf[--len] = '\0';
}

/* The lowest-named interface whose address the hardware assigned
 * (addr_assign_type 0 = permanent), skipping lo and all-zero addresses.
 * Virtual interfaces (veth, bridges, docker, tun) get random or derived
 * addresses (types 1-3), so they drop out by that rule. */
static void
first_permanent_mac(const char *net_dir, char *mac, size_t n)
{
	DIR *d = opendir(net_dir);
	struct dirent *e;
	char best[256] = "", path[4096], type[32], addr[64];

	mac[0] = '\0';
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/addr_assign_type", net_dir,
		         e->d_name);
		read_line(path, type, sizeof(type));
		if (strcmp(type, "0") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/address", net_dir,
		         e->d_name);
		read_line(path, addr, sizeof(addr));
		if (addr[0] == '\0' || strcmp(addr, "00:00:00:00:00:00") == 0)
			continue;
		if (best[0] == '\0' || strcmp(e->d_name, best) < 0) {
			snprintf(best, sizeof(best), "%s", e->d_name);
			snprintf(mac, n, "%s", addr);
		}
	}
	closedir(d);
}

int
keyport_fingerprint_from(const char *machine_id_path, const char *hostname,
                         const char *net_dir, char out[65])
{
	char mid[256], host[256], mac[64];
	unsigned char h[32];
	crypto_generichash_state st;

	if (sodium_init() < 0)
		return KEYPORT_ENOMEM;
	read_line(machine_id_path, mid, sizeof(mid));
	if (hostname != NULL) {
		snprintf(host, sizeof(host), "%s", hostname);
	} else if (gethostname(host, sizeof(host)) != 0) {
		host[0] = '\0';
	}
	host[sizeof(host) - 1] = '\0';
	first_permanent_mac(net_dir, mac, sizeof(mac));
	if (mid[0] == '\0' && mac[0] == '\0')
		return KEYPORT_EIO; /* nothing that identifies the machine */
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)"keyport-fp-v1\n",
	                          14);
	crypto_generichash_update(&st, (const unsigned char *)mid, strlen(mid));
	crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	crypto_generichash_update(&st, (const unsigned char *)host,
	                          strlen(host));
	crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	crypto_generichash_update(&st, (const unsigned char *)mac, strlen(mac));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 65, h, sizeof(h));
	return KEYPORT_OK;
}

int
keyport_fingerprint(char out[65])
{
	const char *mid = access("/etc/machine-id", R_OK) == 0
	                      ? "/etc/machine-id"
	                      : "/var/lib/dbus/machine-id";

	return keyport_fingerprint_from(mid, NULL, "/sys/class/net", out);
}
