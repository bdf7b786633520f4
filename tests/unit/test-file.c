/* Private files and the refresh lock. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "lock.h"
#include "secret.h"

static void test_write_read(void)
{
	g_autofree char *top = g_dir_make_tmp("spk-file-XXXXXX", NULL);
	g_autofree char *dir = g_build_filename(top, "a", "b", NULL);
	g_autofree char *path = g_build_filename(dir, "f", NULL);
	char *text = NULL;
	struct stat st;

	g_assert_cmpint(spk_file_write_private(dir, "f", "one", 3), ==, 0);
	g_assert_cmpint(spk_file_write_private(dir, "f", "second", 6), ==, 0);
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_cmpint(spk_file_read_private(path, 100, &text), ==, 0);
	g_assert_cmpstr(text, ==, "second");
	spk_secret_free(text);

	/* Too big, readable by others, or a symlink: refused. */
	g_assert_cmpint(spk_file_read_private(path, 3, &text), ==, -EFBIG);
	g_assert_cmpint(chmod(path, 0644), ==, 0);
	g_assert_cmpint(spk_file_read_private(path, 100, &text), ==, -EPERM);
	g_assert_cmpint(chmod(path, 0600), ==, 0);
	g_autofree char *link = g_build_filename(dir, "l", NULL);
	g_assert_cmpint(symlink(path, link), ==, 0);
	g_assert_cmpint(spk_file_read_private(link, 100, &text), ==, -EPERM);
	g_autofree char *missing = g_build_filename(dir, "none", NULL);
	g_assert_cmpint(spk_file_read_private(missing, 100, &text), ==, -ENOENT);

	/* A directory others may enter is not private. */
	g_assert_cmpint(chmod(dir, 0755), ==, 0);
	g_assert_cmpint(spk_file_write_private(dir, "f", "x", 1), ==, -EPERM);
	g_assert_cmpint(chmod(dir, 0700), ==, 0);

	g_assert_cmpint(spk_file_remove(dir, "f"), ==, 0);
	g_assert_cmpint(spk_file_remove(dir, "f"), ==, 0);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	unlink(link);
	rmdir(dir);
	g_autofree char *a = g_build_filename(top, "a", NULL);
	rmdir(a);
	rmdir(top);
}

static void test_lock(void)
{
	g_autofree char *dir = g_dir_make_tmp("spk-lock-XXXXXX", NULL);
	struct spk_error err = { 0 };
	int held = -1, other = -1;

	g_assert_cmpint(spk_lock_take(dir, "p", 1000, &held, &err), ==, 0);
	/* Another open file description waits, then gives up with TEMPFAIL. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	g_assert_cmpint(spk_lock_take(dir, "p", 300, &other, &err), ==, -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	g_assert_cmpint(ms, >=, 300);
	g_assert_cmpint(err.kind, ==, SPK_ERR_TEMPFAIL);
	g_assert_nonnull(strstr(err.msg, "lock"));
	/* Other profiles are independent. */
	g_assert_cmpint(spk_lock_take(dir, "q", 0, &other, NULL), ==, 0);
	spk_lock_release(other);
	spk_lock_release(held);
	g_assert_cmpint(spk_lock_take(dir, "p", 0, &other, NULL), ==, 0);
	spk_lock_release(other);
	g_autofree char *p = g_build_filename(dir, "p.lock", NULL);
	g_autofree char *q = g_build_filename(dir, "q.lock", NULL);
	unlink(p);
	unlink(q);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/file/write-read", test_write_read);
	g_test_add_func("/lock/exclusive-bounded", test_lock);
	return g_test_run();
}
