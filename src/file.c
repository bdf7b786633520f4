#include "file.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "secret.h"

int spk_file_mkdir_private(const char *dir)
{
	_cleanup_free_ char *path = strdup(dir);
	if (!path) {
		return -ENOMEM;
	}
	for (char *p = path + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST) {
				return -errno;
			}
			*p = c;
			if (c == '\0') {
				break;
			}
		}
	}
	struct stat st;
	if (lstat(dir, &st) < 0) {
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		return -EPERM;
	}
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Temp files of name left by a writer that was killed: they hold whole
 * records (secrets), so they must not pile up. Only old ones go: a young
 * one may belong to a writer at work right now.
 */
static void remove_stale_temps(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = strlen(name);
	time_t now = time(NULL);

	if (!d) {
		return;
	}
	while ((e = readdir(d))) {
		const char *f = e->d_name;
		size_t len = strlen(f);
		struct stat st;
		if (f[0] != '.' || strncmp(f + 1, name, n) != 0 || f[n + 1] != '.' || len < 5 ||
		    strcmp(f + len - 4, ".tmp") != 0) {
			continue;
		}
		if (fstatat(dirfd(d), f, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    now - st.st_mtime > 60) {
			(void)unlinkat(dirfd(d), f, 0);
		}
	}
	closedir(d);
}

enum durability {
	SYNC_THEN_RENAME,
	RENAME_THEN_SYNC,
	NO_SYNC,
};

static int write_private(const char *dir, const char *name, const char *data, size_t len,
			 enum durability durability)
{
	_cleanup_free_ char *tmp = NULL, *final = NULL;
	unsigned char rnd[6];
	int r = spk_file_mkdir_private(dir);

	if (r < 0) {
		return r;
	}
	r = spk_random_bytes(rnd, sizeof(rnd));
	if (r < 0) {
		return r;
	}
	if (asprintf(&tmp, "%s/.%s.%02x%02x%02x%02x%02x%02x.tmp", dir, name, rnd[0], rnd[1], rnd[2],
		     rnd[3], rnd[4], rnd[5]) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	if (asprintf(&final, "%s/%s", dir, name) < 0) {
		final = NULL;
		return -ENOMEM;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		return -errno;
	}
	r = write_all(fd, data, len);
	if (r == 0 && durability == SYNC_THEN_RENAME && fsync(fd) < 0) {
		r = -errno;
	}
	if (r == 0 && rename(tmp, final) < 0) {
		r = -errno;
	}
	if (r == 0 && durability == RENAME_THEN_SYNC && fsync(fd) < 0) {
		r = -errno;
	}
	if (close(fd) < 0 && r == 0) {
		r = -errno;
	}
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	/* After the rename: the record is safe first, the tidying comes second. */
	remove_stale_temps(dir, name);
	return durability == NO_SYNC ? 0 : fsync_dir(dir);
}

int spk_file_write_private(const char *dir, const char *name, const char *data, size_t len)
{
	return write_private(dir, name, data, len, SYNC_THEN_RENAME);
}

int spk_file_publish_private(const char *dir, const char *name, const char *data, size_t len)
{
	return write_private(dir, name, data, len, RENAME_THEN_SYNC);
}

int spk_file_replace_private(const char *dir, const char *name, const char *data, size_t len)
{
	return write_private(dir, name, data, len, NO_SYNC);
}

int spk_file_read_private(const char *path, size_t max, char **ret)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		return errno == ELOOP ? -EACCES : -errno;
	}
	if (fstat(fd, &st) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	/* Another's file first: chmod, the remedy for a bad mode, is not ours to run there. */
	if (st.st_uid != geteuid()) {
		close(fd);
		return -EPERM;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		close(fd);
		return -EACCES;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*ret = buf;
	return 0;
}

int spk_file_owner(const char *path, uid_t *ret_uid)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		return -errno;
	}
	*ret_uid = st.st_uid;
	return 0;
}

int spk_file_remove(const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/%s", dir, name) < 0) {
		return -ENOMEM;
	}
	if (unlink(path) < 0) {
		return errno == ENOENT ? 0 : -errno;
	}
	return fsync_dir(dir);
}
