/* Unit tests of the master key file: created once, 0600, 32 bytes, and
 * the same key for processes starting together. */
#include "kp_err.h"
#include "license_app.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

Test(license_master, created_once_and_shared_by_racing_replicas)
{
	char dir[] = "/tmp/kp-master-XXXXXX", path[256];
	unsigned char first[crypto_secretbox_KEYBYTES];
	unsigned char again[crypto_secretbox_KEYBYTES];
	int fds[8][2];
	pid_t pids[8];
	struct stat st;

	cr_assert(sodium_init() >= 0);
	cr_assert_not_null(mkdtemp(dir));
	/* eight "replicas" start at once; each reports the key it loaded */
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(pipe(fds[i]), 0);
		if ((pids[i] = fork()) == 0) {
			unsigned char k[crypto_secretbox_KEYBYTES];

			if (license_master_load(dir, k) != KP_OK)
				_exit(1);
			if (write(fds[i][1], k, sizeof(k)) !=
			    (ssize_t)sizeof(k))
				_exit(1);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (int i = 0; i < 8; i++) {
		unsigned char k[crypto_secretbox_KEYBYTES];
		int status;

		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		cr_assert_eq(read(fds[i][0], k, sizeof(k)), (ssize_t)sizeof(k));
		close(fds[i][0]);
		if (i == 0)
			memcpy(first, k, sizeof(k));
		else
			cr_assert_eq(memcmp(first, k, sizeof(k)), 0,
			             "replica %d loaded another key", i);
	}
	snprintf(path, sizeof(path), "%s/license-master.key", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(st.st_size, 32);
	/* a later start reads the same key */
	cr_assert_eq(license_master_load(dir, again), KP_OK);
	cr_assert_eq(memcmp(first, again, sizeof(again)), 0);
	/* no temporary files are left behind */
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1",
		         dir);
		cr_assert_eq(system(cmd), 0);
	}
	unlink(path);
	rmdir(dir);
}
