/* keyport_plat_posix: the platform interface (keyport_plat.h) on Linux and,
 * under __APPLE__, macOS. The macOS branch is not compiled here (no macOS
 * toolchain exists on the build machines); the Linux branch is. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifdef __APPLE__
#include <CoreFoundation/CoreFoundation.h>
#include <IOKit/IOKitLib.h>
#endif

#include "keyport_plat.h"

/* first line of a small file, trailing whitespace cut; -1 when unreadable */
static int
read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t len;

	buf[0] = '\0';
	if (f == NULL)
		return -1;
	if (fgets(buf, (int)n, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' ||
	                   buf[len - 1] == '\r' || buf[len - 1] == '\t'))
		buf[--len] = '\0';
	return 0;
}

int
keyport_plat_machine_id(char *buf, size_t n)
{
#ifdef __APPLE__
	io_service_t dev;
	CFStringRef uuid;
	int rc = -1;

	buf[0] = '\0';
	dev = IOServiceGetMatchingService(
	    kIOMainPortDefault, IOServiceMatching("IOPlatformExpertDevice"));
	if (dev == 0) {
		errno = ENOENT;
		return -1;
	}
	uuid = IORegistryEntryCreateCFProperty(dev, CFSTR("IOPlatformUUID"),
	                                       kCFAllocatorDefault, 0);
	IOObjectRelease(dev);
	if (uuid == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (CFStringGetCString(uuid, buf, (CFIndex)n, kCFStringEncodingUTF8))
		rc = 0;
	CFRelease(uuid);
	return rc;
#else
	if (read_line("/etc/machine-id", buf, n) == 0 && buf[0] != '\0')
		return 0;
	if (read_line("/var/lib/dbus/machine-id", buf, n) == 0 &&
	    buf[0] != '\0')
		return 0;
	errno = ENOENT;
	return -1;
#endif
}

int
keyport_plat_hostname(char *buf, size_t n)
{
	if (gethostname(buf, n) != 0)
		buf[0] = '\0';
	buf[n - 1] = '\0';
	return 0;
}

int
keyport_plat_hw_addr(const char *net_dir, char *mac, size_t n)
{
	DIR *d;
	struct dirent *e;
	char best[256] = "", path[4096], type[32], addr[64];

	mac[0] = '\0';
#ifdef __APPLE__
	(void)net_dir;
	(void)d, (void)e, (void)best, (void)path, (void)type, (void)addr;
	(void)n;
#else
	/* Virtual interfaces (veth, bridges, docker, tun) get random or
	 * derived addresses (addr_assign_type 1-3), so they drop out. */
	d = opendir(net_dir != NULL ? net_dir : "/sys/class/net");
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "lo") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/addr_assign_type",
		         net_dir != NULL ? net_dir : "/sys/class/net",
		         e->d_name);
		read_line(path, type, sizeof(type));
		if (strcmp(type, "0") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/address",
		         net_dir != NULL ? net_dir : "/sys/class/net",
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
#endif
	return 0;
}

int
keyport_plat_os(char *name, size_t nn, char *version, size_t vn)
{
	struct utsname u;

	if (uname(&u) != 0) {
		snprintf(name, nn, "unknown");
		version[0] = '\0';
		return -1;
	}
	snprintf(name, nn, "%s", u.sysname);
	snprintf(version, vn, "%s", u.release);
	return 0;
}

int
keyport_plat_state_path(char *buf, size_t n)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if ((home == NULL || home[0] == '\0') &&
	    (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if ((size_t)snprintf(buf, n, "%s/.keyport/state.json",
	                     home != NULL ? home : ".") >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
keyport_plat_mkdir_parent(const char *path)
{
	char dir[4096];

	if (strlen(path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(dir, path);
	if (mkdir(dirname(dir), 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
keyport_plat_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4200], dir[4096];
	size_t off = 0;
	ssize_t w;
	int fd = -1, dfd, rc = -1, saved;

	if (strlen(path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	/* O_CREAT honours the umask; make sure of 0600 whatever it is */
	if (fchmod(fd, 0600) != 0)
		goto out;
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	strcpy(dir, path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	errno = saved;
	return rc;
}
