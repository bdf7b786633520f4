/* Private files, the runtime cache and the refresh lock. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
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

	/* Too big, readable by others, or a symlink: refused (-EACCES: chmod may help). */
	g_assert_cmpint(spk_file_read_private(path, 3, &text), ==, -EFBIG);
	g_assert_cmpint(chmod(path, 0644), ==, 0);
	g_assert_cmpint(spk_file_read_private(path, 100, &text), ==, -EACCES);
	g_assert_cmpint(chmod(path, 0600), ==, 0);
	g_autofree char *link = g_build_filename(dir, "l", NULL);
	g_assert_cmpint(symlink(path, link), ==, 0);
	g_assert_cmpint(spk_file_read_private(link, 100, &text), ==, -EACCES);
	uid_t owner = (uid_t)-1;
	g_assert_cmpint(spk_file_owner(path, &owner), ==, 0);
	g_assert_cmpint(owner, ==, geteuid());
	g_assert_cmpint(spk_file_owner(link, &owner), ==, 0);
	g_assert_cmpint(owner, ==, geteuid());
	g_autofree char *missing = g_build_filename(dir, "none", NULL);
	g_assert_cmpint(spk_file_read_private(missing, 100, &text), ==, -ENOENT);
	g_assert_cmpint(spk_file_owner(missing, &owner), ==, -ENOENT);

	/* Another user's file: -EPERM, whatever its mode (chmod is not ours to run). */
	if (geteuid() == 0) {
		g_assert_cmpint(chown(path, 1001, (gid_t)-1), ==, 0);
		g_assert_cmpint(spk_file_read_private(path, 100, &text), ==, -EPERM);
		g_assert_cmpint(chmod(path, 0644), ==, 0);
		g_assert_cmpint(spk_file_read_private(path, 100, &text), ==, -EPERM);
		g_assert_cmpint(spk_file_owner(path, &owner), ==, 0);
		g_assert_cmpint(owner, ==, 1001);
		g_assert_cmpint(chmod(path, 0600), ==, 0);
		g_assert_cmpint(chown(path, 0, (gid_t)-1), ==, 0);
		g_assert_cmpint(spk_file_read_private(path, 100, &text), ==, 0);
		spk_secret_free(text);
	} else {
		g_test_message("not root: another user's file is not tried (needs chown)");
	}

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

/*
 * Cache entries are written without fsync, so after a crash the file may be
 * cut anywhere: no prefix of an entry may read as a (shorter) token.
 */
static void test_cache_cut_short(void)
{
	g_autofree char *dir = g_dir_make_tmp("spk-cache-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "p.token", NULL);
	struct spk_cache_entry e = { .expires_at = 2000000000, .min_valid = 60 };
	struct spk_cache_entry got = { 0 };
	char *text = NULL;
	gsize len = 0;

	spk_config_stamp_of("/nonexistent/sparekey/config", &e.config);
	e.access_token = "at-0123456789";
	g_assert_cmpint(spk_cache_write(dir, "p", &e), ==, 0);
	g_assert_cmpint(spk_cache_read(dir, "p", &got), ==, 0);
	g_assert_cmpstr(got.access_token, ==, "at-0123456789");
	g_assert_cmpint(got.expires_at, ==, 2000000000);
	g_assert_true(spk_config_stamp_equal(&got.config, &e.config));
	spk_cache_entry_done(&got);

	g_assert_true(g_file_get_contents(path, &text, &len, NULL));
	for (gsize cut = len; cut-- > 0;) {
		g_assert_cmpint(truncate(path, (off_t)cut), ==, 0);
		int r = spk_cache_read(dir, "p", &got);
		if (r != -EBADMSG) {
			g_test_message("cut at %zu of %zu: %d", (size_t)cut, (size_t)len, r);
		}
		g_assert_cmpint(r, ==, -EBADMSG);
	}
	g_free(text);
	g_assert_cmpint(spk_cache_remove(dir, "p"), ==, 0);
	g_assert_cmpint(spk_cache_read(dir, "p", &got), ==, -ENOENT);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/file/write-read", test_write_read);
	g_test_add_func("/cache/cut-short", test_cache_cut_short);
	g_test_add_func("/lock/exclusive-bounded", test_lock);
	return g_test_run();
}
