#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"

#include "file.h"
#include "log.h"

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

int spk_lock_open(const char *dir, const char *profile, int *ret_fd, struct spk_error *err)
{
	char path[4096];
	int r = spk_file_mkdir_private(dir);

	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r,
				     "cannot use the lock directory %s (%s)", dir, strerror(-r));
	}
	r = spk_lock_path(dir, profile, path, sizeof(path));
	if (r < 0) {
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "the lock path in %s is too long",
				     dir);
	}
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		return spk_error_set(err, SPK_ERR_INTERNAL, r, "cannot open the lock %s (%s)", path,
				     strerror(-r));
	}
	*ret_fd = fd;
	return 0;
}

int spk_lock_timed_out(const char *dir, const char *profile, int timeout_ms, struct spk_error *err)
{
	char path[4096];
	if (spk_lock_path(dir, profile, path, sizeof(path)) < 0) {
		snprintf(path, sizeof(path), "of %s", profile);
	}
	return spk_error_set(
		err, SPK_ERR_TEMPFAIL, -ETIMEDOUT,
		"another sparekey has held the refresh lock %s for %d s. Try again later", path,
		timeout_ms / 1000);
}

int spk_lock_take(const char *dir, const char *profile, int timeout_ms, int *ret_fd,
		  struct spk_error *err)
{
	int fd;
	int r = spk_lock_open(dir, profile, &fd, err);
	if (r < 0) {
		return r;
	}

	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* Poll rather than block: a bounded wait without signals in a library. */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			char path[4096];
			r = -errno;
			close(fd);
			(void)spk_lock_path(dir, profile, path, sizeof(path));
			return spk_error_set(err, SPK_ERR_INTERNAL, r, "cannot lock %s (%s)", path,
					     strerror(-r));
		}
		if (elapsed_ms(&start) >= timeout_ms) {
			close(fd);
			return spk_lock_timed_out(dir, profile, timeout_ms, err);
		}
		struct timespec nap = { 0, 5 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	spk_log("lock %s: taken after %ld ms", profile, elapsed_ms(&start));
	*ret_fd = fd;
	return 0;
}

int spk_lock_path(const char *dir, const char *profile, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.lock", dir, profile);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int spk_lock_hand_over(int fd)
{
	int r = fcntl(fd, F_SETFD, 0) < 0 ? -errno : spk_env_put_lock_fd(fd);

	if (r < 0) {
		spk_lock_release(fd);
	}
	return r;
}

/* A lock the front handed over: -2 not looked for yet, -1 none. */
static int handed_over = -2;

void spk_lock_receive(void)
{
	if (handed_over == -2) {
		handed_over = spk_env_take_lock_fd();
		if (handed_over >= 0) {
			/* Ours alone: no child (a browser, notify_cmd) may keep it alive. */
			(void)fcntl(handed_over, F_SETFD, FD_CLOEXEC);
		}
	}
}

bool spk_lock_handed_over(void)
{
	spk_lock_receive();
	return handed_over >= 0;
}

int spk_lock_inherited(const char *dir, const char *profile, int *ret_fd)
{
	char path[4096];
	struct stat a, b;

	spk_lock_receive();
	int fd = handed_over;
	if (fd < 0 || spk_lock_path(dir, profile, path, sizeof(path)) < 0 || fstat(fd, &a) < 0 ||
	    stat(path, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino ||
	    flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (fd >= 0) {
			/* Not this profile's: holding it would only block ourselves. */
			close(fd);
			handed_over = -1;
		}
		return -ENOENT;
	}
	handed_over = -1;
	spk_log("lock %s: handed over by the front", profile);
	*ret_fd = fd;
	return 0;
}

void spk_lock_release(int fd)
{
	if (fd >= 0) {
		close(fd);
	}
}
