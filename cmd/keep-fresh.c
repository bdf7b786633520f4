/*
 * exec --keep-fresh: the parent stays, the command runs as its child and
 * reads the token from a file the parent keeps fresh.
 *
 * MUST:
 * - the token file is 0600 in the runtime directory, replaced whole (temp
 *   file and rename: a reader never sees half a token) and removed on every
 *   way out the parent controls (SIGKILL is the one it cannot);
 * - a failed refresh never ends the child: it is said, notified and tried
 *   again (src/fresh.h says when);
 * - SIGINT, SIGTERM and SIGHUP are forwarded at once, even while a refresh
 *   is under way (the refresh's own hold still protects its stored answer);
 *   the exit status is the child's, 128 + N when signal N ended it.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "file.h"
#include "flow.h"
#include "fresh.h"
#include "output.h"
#include "paths.h"

extern char **environ;

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t child_pid;

static void forward(int sig, siginfo_t *si, void *context)
{
	(void)context;
	/*
	 * From the terminal (^C, a hangup), the kernel signals the whole
	 * foreground process group: the child, in ours, has it already.
	 */
	if (si && si->si_code == SI_KERNEL) {
		return;
	}
	if (child_pid > 0) {
		kill((pid_t)child_pid, sig);
	}
}

struct token_file {
	char *dir;
	char *name;
	char *path;
};

static void token_file_done(struct token_file *f)
{
	if (f->dir && f->name) {
		(void)spk_file_remove(f->dir, f->name);
	}
	free(f->dir);
	free(f->name);
	free(f->path);
}

static int token_file_write(const struct token_file *f, const char *token)
{
	/* No newline: readers of BEARER_TOKEN_FILE trim whitespace, naive ones need none. */
	return spk_file_write_private(f->dir, f->name, token, strlen(token));
}

/* Forward the stop signals from now on, except where our own parent ignores them. */
static void forward_signals(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++) {
		struct sigaction old;
		if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) {
			continue; /* the child inherits the ignoring, as it would from exec */
		}
		struct sigaction sa = { .sa_sigaction = forward };
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(forwarded[i], &sa, NULL);
	}
}

static int spawn(char **argv, const sigset_t *mask, pid_t *ret_pid)
{
	posix_spawnattr_t attr;

	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, mask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	int r = posix_spawnp(ret_pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	return -r;
}

struct keeper {
	const struct spk_profile *p;
	struct spk_grant *g; /* whose token the file holds */
	long long min_valid;
	const struct token_file *file;
	int failures;
	enum spk_error_kind failed_as; /* the kind last notified, while failures > 0 */
	int64_t due;
};

/* Rewrite the file with a token valid for the margin; on failure say so once per kind. */
static void keep(struct keeper *k, int64_t now)
{
	struct spk_error err = { 0 };
	struct spk_grant fresh = { 0 };
	const char *name = k->p->name;
	char d[32];

	int r = spk_flow_token(k->p, k->min_valid, &fresh, &err);
	if (r == 0) {
		warning(name, fresh.warning);
		r = token_file_write(k->file, fresh.access_token);
		if (r < 0) {
			spk_error_set(&err, SPK_ERR_INTERNAL, r,
				      "cannot rewrite the token file %s (%s)", k->file->path,
				      strerror(-r));
		}
	}
	if (r == 0) {
		if (k->failures > 0) {
			note("%s: the token file is fresh again", name);
		}
		spk_grant_done(k->g);
		*k->g = fresh;
		k->failures = 0;
		k->due = spk_fresh_due(k->p, k->g, k->min_valid, now);
		return;
	}
	spk_grant_done(&fresh);
	k->failures++;
	k->due = spk_fresh_retry(k->p, k->g, k->failures, now);
	char hint[160];
	snprintf(hint, sizeof(hint), "%s%s. The command runs on; trying again in %s",
		 err.kind == SPK_ERR_LOGIN ? ". Run: sparekey login " : "",
		 err.kind == SPK_ERR_LOGIN ? name : "",
		 format_duration(k->due - now, d, sizeof(d)));
	(void)fail_hint(name, &err, hint);
	if (k->failures == 1 || err.kind != k->failed_as) {
		notify_failure(k->p, &err);
		k->failed_as = err.kind;
	}
}

/* Wait for the child, keeping the file fresh meanwhile; its exit status. */
static int supervise(struct keeper *k, pid_t pid)
{
	sigset_t chld;
	int status;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			child_pid = 0; /* its pid may be another process's from now on */
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (w < 0 && errno != EINTR) {
			note("%s: lost track of the command (%s)", k->p->name, strerror(errno));
			return EXIT_INTERNAL;
		}
		int64_t now = (int64_t)time(NULL);
		if (now >= k->due) {
			keep(k, now);
			continue;
		}
		/* SIGCHLD stays blocked: it only wakes this wait (a worker's ending too). */
		struct timespec ts = { .tv_sec = (time_t)spk_fresh_wait(k->due, now) };
		(void)sigtimedwait(&chld, NULL, &ts);
	}
}

int exec_keep_fresh(const struct spk_profile *p, struct spk_grant *g, long long min_valid,
		    char **argv)
{
	struct token_file file = { .dir = spk_path_runtime_dir() };
	const char *name = p->name;
	int status = EXIT_INTERNAL;

	if (!file.dir) {
		note("%s: --keep-fresh keeps its token file in $XDG_RUNTIME_DIR, which is not set. "
		     "Run it in a login session, or set XDG_RUNTIME_DIR to a private directory",
		     name);
		return EXIT_CONFIG;
	}
	file.name = spk_path_token_file_name(name, (long)getpid());
	if (!file.name || asprintf(&file.path, "%s/%s", file.dir, file.name) < 0) {
		file.path = NULL;
		note("%s: out of memory", name);
		goto out;
	}
	int r = token_file_write(&file, g->access_token);
	if (r < 0) {
		note("%s: cannot write the token file %s (%s)", name, file.path, strerror(-r));
		goto out;
	}
	if (setenv("SPAREKEY_ACCESS_TOKEN_FILE", file.path, 1) < 0 ||
	    setenv("BEARER_TOKEN_FILE", file.path, 1) < 0) {
		note("%s: cannot set up the environment (%s)", name, strerror(errno));
		goto out;
	}

	/*
	 * The stop signals are blocked until the handlers that forward them
	 * know the child; the child starts with our caller's mask. SIGCHLD
	 * must not be ignored (the status would be lost) and stays blocked.
	 */
	sigset_t stop, old_mask;
	sigemptyset(&stop);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++) {
		sigaddset(&stop, forwarded[i]);
	}
	sigaddset(&stop, SIGCHLD);
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_BLOCK, &stop, &old_mask);
	fflush(stdout);
	pid_t pid;
	r = spawn(argv, &old_mask, &pid);
	if (r < 0) {
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		note("%s: cannot run %s (%s)", name, argv[0], strerror(-r));
		status = r == -ENOENT ? 127 : 126;
		goto out;
	}
	child_pid = pid;
	forward_signals();
	sigset_t waiting = old_mask;
	sigaddset(&waiting, SIGCHLD);
	sigprocmask(SIG_SETMASK, &waiting, NULL);

	struct keeper k = { .p = p, .g = g, .min_valid = min_valid, .file = &file };
	k.due = spk_fresh_due(p, g, min_valid, (int64_t)time(NULL));
	status = supervise(&k, pid);
out:
	token_file_done(&file);
	return status;
}
