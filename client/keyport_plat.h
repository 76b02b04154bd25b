/* keyport_plat: the platform parts of libkeyport behind one small
 * interface, so the rest of the library is the same C on every system.
 *
 * Implementations: keyport_plat_posix.c (Linux, and macOS under
 * __APPLE__) and keyport_plat_win.c (Windows; cross-compiled with
 * Debian's gcc-mingw-w64 in make test). Every function returns 0 or -1
 * with errno set (ENOENT when the source does not exist on this machine);
 * buffers are the caller's and always NUL-terminated on success.
 * Nothing here allocates memory the caller must free.
 */
#ifndef KEYPORT_PLAT_H
#define KEYPORT_PLAT_H

#include <stddef.h>

/* keyport_plat_machine_id: the operating system's machine identity.
 * Linux: the first line of /etc/machine-id (or /var/lib/dbus/machine-id);
 * macOS: IOPlatformUUID of the IOPlatformExpertDevice; Windows:
 * HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid (64-bit view). */
int keyport_plat_machine_id(char *buf, size_t n);

/* keyport_plat_hostname: the machine's host name ("" when unknown). */
int keyport_plat_hostname(char *buf, size_t n);

/* keyport_plat_hw_addr: a hardware address that survives reboots and
 * virtual interfaces, "" where the platform has none worth using (macOS
 * and Windows: the machine id alone identifies the machine). Linux: the
 * lowest-named interface of net_dir (NULL: /sys/class/net) whose
 * addr_assign_type is 0 (permanent). */
int keyport_plat_hw_addr(const char *net_dir, char *buf, size_t n);

/* keyport_plat_os: operating system name and version, e.g. "Linux",
 * "6.1.0"; "Windows", "10.0.19045". */
int keyport_plat_os(char *name, size_t nn, char *version, size_t vn);

/* keyport_plat_state_path: the default state file: ~/.keyport/state.json
 * (POSIX), %APPDATA%\Keyport\state.json (Windows). */
int keyport_plat_state_path(char *buf, size_t n);

/* keyport_plat_mkdir_parent creates the parent directory of path (one
 * level, mode 0700 on POSIX) when it is missing. */
int keyport_plat_mkdir_parent(const char *path);

/* keyport_plat_write_atomic replaces path with len bytes of data in one
 * step: a temporary file beside it (mode 0600 on POSIX), flushed to disk,
 * then renamed over path (POSIX rename + fsync of the directory; Windows
 * MoveFileEx with MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH). A
 * crash leaves the old or the new file, never a torn one. */
int keyport_plat_write_atomic(const char *path, const char *data, size_t len);

#endif
