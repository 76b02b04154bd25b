/* keyport_fp: the machine fingerprint, one hash over what the platform
 * interface (keyport_plat.h) reports: machine id, host name and, on Linux,
 * the permanent MAC. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "keyport_int.h"
#include "keyport_plat.h"

static int
fp_hash(const char *mid, const char *host, const char *mac, char out[65])
{
	unsigned char h[32];
	crypto_generichash_state st;

	if (sodium_init() < 0)
		return KEYPORT_ENOMEM;
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
keyport_fingerprint_from(const char *machine_id_path, const char *hostname,
                         const char *net_dir, char out[65])
{
	char mid[256] = "", host[256] = "", mac[64] = "";
	FILE *f = fopen(machine_id_path, "r");
	size_t len;

	if (f != NULL) {
		if (fgets(mid, sizeof(mid), f) == NULL)
			mid[0] = '\0';
		fclose(f);
	}
	len = strlen(mid);
	while (len > 0 && strchr("\n\r\t ", mid[len - 1]) != NULL)
		mid[--len] = '\0';
	if (hostname != NULL)
		snprintf(host, sizeof(host), "%s", hostname);
	else
		keyport_plat_hostname(host, sizeof(host));
	keyport_plat_hw_addr(net_dir, mac, sizeof(mac));
	return fp_hash(mid, host, mac, out);
}

int
keyport_fingerprint(char out[65])
{
	char mid[256] = "", host[256] = "", mac[64] = "";

	keyport_plat_machine_id(mid, sizeof(mid));
	keyport_plat_hostname(host, sizeof(host));
	keyport_plat_hw_addr(NULL, mac, sizeof(mac));
	return fp_hash(mid, host, mac, out);
}
