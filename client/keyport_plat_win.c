/* keyport_plat_win: the platform interface (keyport_plat.h) on Windows.
 * Built for x86_64-w64-mingw32 in make test (client/keyport_test.c,
 * keyport.win_platform_parts_cross_compile); it needs only the Win32 API
 * (advapi32 for the registry). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "keyport_plat.h"

int
keyport_plat_machine_id(char *buf, size_t n)
{
	HKEY k;
	DWORD type = 0, len = (DWORD)n;
	LONG r;

	buf[0] = '\0';
	/* the 64-bit view: a 32-bit process would otherwise read the WOW64
	 * copy, which has no MachineGuid */
	r = RegOpenKeyExA(HKEY_LOCAL_MACHINE,
	                  "SOFTWARE\\Microsoft\\Cryptography", 0,
	                  KEY_QUERY_VALUE | KEY_WOW64_64KEY, &k);
	if (r != ERROR_SUCCESS) {
		errno = ENOENT;
		return -1;
	}
	r = RegQueryValueExA(k, "MachineGuid", NULL, &type, (LPBYTE)buf, &len);
	RegCloseKey(k);
	if (r != ERROR_SUCCESS || type != REG_SZ || len == 0) {
		buf[0] = '\0';
		errno = ENOENT;
		return -1;
	}
	buf[len < n ? len : n - 1] = '\0';
	return 0;
}

int
keyport_plat_hostname(char *buf, size_t n)
{
	DWORD len = (DWORD)n;

	if (!GetComputerNameExA(ComputerNameDnsHostname, buf, &len))
		buf[0] = '\0';
	buf[n - 1] = '\0';
	return 0;
}

int
keyport_plat_hw_addr(const char *net_dir, char *buf, size_t n)
{
	(void)net_dir;
	(void)n;
	buf[0] = '\0';
	return 0;
}

int
keyport_plat_os(char *name, size_t nn, char *version, size_t vn)
{
	/* RtlGetVersion tells the truth where GetVersionEx lies to
	 * unmanifested programs */
	typedef LONG(WINAPI * rtl_get_version)(OSVERSIONINFOW *);
	OSVERSIONINFOW v;
	HMODULE nt = GetModuleHandleA("ntdll.dll");
	rtl_get_version f = NULL;

	snprintf(name, nn, "Windows");
	version[0] = '\0';
	if (nt != NULL)
		f = (rtl_get_version)(void (*)(void))GetProcAddress(
		    nt, "RtlGetVersion");
	memset(&v, 0, sizeof(v));
	v.dwOSVersionInfoSize = sizeof(v);
	if (f != NULL && f(&v) == 0)
		snprintf(version, vn, "%lu.%lu.%lu",
		         (unsigned long)v.dwMajorVersion,
		         (unsigned long)v.dwMinorVersion,
		         (unsigned long)v.dwBuildNumber);
	return 0;
}

int
keyport_plat_state_path(char *buf, size_t n)
{
	const char *app = getenv("APPDATA");

	if (app == NULL || app[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	if ((size_t)snprintf(buf, n, "%s\\Keyport\\state.json", app) >= n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
keyport_plat_mkdir_parent(const char *path)
{
	char dir[MAX_PATH];
	char *slash;

	if (strlen(path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(dir, path);
	slash = strrchr(dir, '\\');
	if (slash == NULL || strrchr(dir, '/') > slash)
		slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	if (!CreateDirectoryA(dir, NULL) &&
	    GetLastError() != ERROR_ALREADY_EXISTS) {
		errno = EACCES;
		return -1;
	}
	return 0;
}

int
keyport_plat_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[MAX_PATH + 32];
	HANDLE h;
	DWORD w;
	size_t off = 0;
	int rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%lu", path,
	                     (unsigned long)GetCurrentProcessId()) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* no sharing while it is written; the ACL is the directory's (the
	 * user's own %APPDATA%) */
	h = CreateFileA(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
	                FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		errno = EACCES;
		return -1;
	}
	while (off < len) {
		DWORD chunk =
		    len - off > 1u << 30 ? 1u << 30 : (DWORD)(len - off);

		if (!WriteFile(h, data + off, chunk, &w, NULL) || w == 0)
			goto out;
		off += w;
	}
	if (!FlushFileBuffers(h))
		goto out;
	CloseHandle(h);
	h = INVALID_HANDLE_VALUE;
	if (!MoveFileExA(tmp, path,
	                 MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
		goto out;
	rc = 0;
out:
	if (h != INVALID_HANDLE_VALUE)
		CloseHandle(h);
	if (rc != 0) {
		DeleteFileA(tmp);
		errno = EIO;
	}
	return rc;
}
