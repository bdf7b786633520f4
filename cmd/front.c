/*
 * The `sparekey` command as scripts meet it. `sparekey token PROFILE`
 * with a valid token in the runtime cache is answered here, by a program
 * that links libc alone: no keyring, TLS, GLib or HTTP server is loaded.
 * Everything else — a stale or missing cache entry, any other command or
 * option — is handed, argv untouched, to the full program, sparekey-cli.
 * Run as git-credential-sparekey (a link to it, git's name for the helper
 * `sparekey`), it hands over `sparekey git-credential ARGS` instead.
 *
 * MUST: never print a token the full program would not print: the cache
 * entry must be ours and private, made from the config file as it is now,
 * with no rescue journal or refresh in flight waiting, and valid for the profile's margin.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "error.h"
#include "harden.h"
#include "lock.h"
#include "macro.h"
#include "paths.h"
#include "secret.h"

/* The full program: next to this one (a build tree), else in libexec. */
static void exec_full(char **argv)
{
	char path[PATH_MAX];

	execv(spk_path_cli(path, sizeof(path)), argv);
	fprintf(stderr, "sparekey: cannot run %s (%s). Reinstall sparekey\n", path,
		strerror(errno));
	exit(70);
}

/* Called by the name git gives the credential helper `sparekey`? */
static bool is_git_helper(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
	const char *base = slash ? slash + 1 : argv0;
	return base && strcmp(base, "git-credential-sparekey") == 0;
}

/* git-credential-sparekey ARGS: the full program's `sparekey git-credential ARGS`. */
static void exec_git_helper(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	if (!args) {
		fprintf(stderr, "sparekey: out of memory\n");
		exit(70);
	}
	args[0] = (char *)"sparekey";
	args[1] = (char *)"git-credential";
	for (int i = 1; i < argc; i++) {
		args[i + 1] = argv[i];
	}
	exec_full(args);
}

/* "token PROFILE" or "token PROFILE --min-valid N": the one shape served here. */
static int parse(int argc, char **argv, const char **ret_profile, long long *ret_min_valid)
{
	*ret_min_valid = -1;
	if ((argc != 3 && argc != 5) || strcmp(argv[1], "token") != 0 ||
	    !spk_profile_name_valid(argv[2])) {
		return -1;
	}
	if (argc == 5) {
		char *end;
		errno = 0;
		long long v = strtoll(argv[4], &end, 10);
		if (strcmp(argv[3], "--min-valid") != 0 || errno || end == argv[4] || *end ||
		    v < 0 || v > 86400) {
			return -1;
		}
		*ret_min_valid = v;
	}
	*ret_profile = argv[2];
	return 0;
}

/* 0 when the token was printed from the cache. */
static int answer_from_cache(const char *dir, const char *profile, long long min_valid)
{
	_cleanup_free_ char *config = spk_path_config_file();
	struct spk_cache_entry e = { 0 };
	struct spk_config_stamp now_stamp;

	if (!config || spk_path_refresh_pending(profile) || spk_cache_read(dir, profile, &e) < 0) {
		return -1;
	}
	spk_config_stamp_of(config, &now_stamp);
	/* The entry's margin is already capped as the full program caps it. */
	int64_t margin = min_valid >= 0 ? min_valid : e.min_valid;
	int r = -1;
	if (spk_config_stamp_equal(&e.config, &now_stamp) &&
	    e.expires_at - (int64_t)time(NULL) > margin) {
		r = printf("%s\n", e.access_token) < 0 || fflush(stdout) != 0 ? -EIO : 0;
	}
	spk_cache_entry_done(&e);
	return r;
}

static volatile sig_atomic_t alarm_rang;

static void on_alarm(int sig)
{
	(void)sig;
	alarm_rang = 1;
}

/* Block in flock(2) until the lock is ours or the alarm rings (-ETIMEDOUT). */
static int lock_until_alarm(int fd, int operation)
{
	while (flock(fd, operation) < 0) {
		if (errno != EINTR) {
			return -errno;
		}
		if (alarm_rang) {
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/*
 * The cache entry is stale. Of many callers, one refreshes: the first to
 * take the profile's lock exclusively returns 0 with the lock in *ret_fd,
 * to hand it to the full program. The others wait for a shared lock, which
 * they all get at once when the refresher is done, and print the token it
 * cached: 1. They queue for the exclusive lock only if there is none (the
 * refresh failed). Negative: the wait timed out (-ETIMEDOUT), stdout failed
 * (-EIO), or the lock cannot be used (the full program will say why).
 */
static int take_or_wait(const char *dir, const char *profile, long long min_valid, int *ret_fd)
{
	int fd;
	int r = spk_lock_open(dir, profile, &fd, NULL);
	if (r < 0) {
		return r;
	}
	struct sigaction on = { .sa_handler = on_alarm }, old;
	sigemptyset(&on.sa_mask);
	/* No SA_RESTART: the alarm must interrupt flock(2), even if our parent blocked it. */
	sigaction(SIGALRM, &on, &old);
	sigset_t alrm, old_mask;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &alrm, &old_mask);
	alarm(SPK_LOCK_TIMEOUT_MS / 1000);

	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? lock_until_alarm(fd, LOCK_SH) : -errno;
		if (r == 0) {
			r = answer_from_cache(dir, profile, min_valid);
			r = r == 0 ? 1 : r == -EIO ? -EIO : lock_until_alarm(fd, LOCK_EX);
		}
	}
	if (r == 0) {
		r = answer_from_cache(dir, profile, min_valid);
		r = r == 0 ? 1 : r == -EIO ? -EIO : 0;
	}
	/* None of the alarm, its handler or the mask may follow us into the full program. */
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	if (r != 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int main(int argc, char **argv)
{
	const char *profile;
	long long min_valid;

	/* The same hardening as the full program: a token passes through here. */
	spk_harden();
	if (is_git_helper(argv[0])) {
		exec_git_helper(argc, argv);
	}

	_cleanup_free_ char *dir = spk_path_runtime_dir();
	if (dir && parse(argc, argv, &profile, &min_valid) == 0) {
		int r = answer_from_cache(dir, profile, min_valid);
		if (r == 0) {
			return 0;
		}
		int fd = -1;
		if (r != -EIO) {
			r = take_or_wait(dir, profile, min_valid, &fd);
		}
		if (r == 1) {
			return 0;
		}
		if (r == -ETIMEDOUT) {
			/* Waiting again in the full program would only double the wait. */
			struct spk_error err = { 0 };
			spk_lock_timed_out(dir, profile, SPK_LOCK_TIMEOUT_MS, &err);
			fprintf(stderr, "sparekey: %s: %s\n", profile, err.msg);
			return 75;
		}
		if (r == -EIO) {
			fprintf(stderr, "sparekey: cannot write the result to standard output\n");
			return 74;
		}
		if (r == 0) {
			/* Hand the lock over: the full program adopts it (spk_lock_receive). */
			(void)spk_lock_hand_over(fd);
		}
	}
	exec_full(argv);
}
