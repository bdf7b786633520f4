#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"

extern char **environ;

#define NOTIFY_WAIT_MS 10000

/*
 * Run the profile's notify_cmd as sh -c 'CMD "$@"' with the profile, the
 * event and a one-line message as arguments. Its output goes to stderr so
 * that stdout stays the result; a command that hangs is left behind after
 * a while rather than holding up the job.
 */
void notify_event(const struct spk_profile *p, const char *event, const char *message)
{
	char *script = NULL;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	if (!p || !p->notify_cmd) {
		return;
	}
	if (asprintf(&script, "%s \"$@\"", p->notify_cmd) < 0) {
		return;
	}
	char *argv[] = { "sh", "-c", script, "sparekey-notify", p->name, (char *)event,
			 (char *)message, NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	/* refresh --all blocks the stop signals in its threads; the command must not inherit that. */
	posix_spawnattr_t attr;
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	int r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	free(script);
	if (r != 0) {
		note("%s: cannot run notify_cmd (%s)", p->name, strerror(r));
		return;
	}
	for (int waited = 0; waited < NOTIFY_WAIT_MS; waited += 10) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				note("%s: notify_cmd failed for the %s event", p->name, event);
			}
			return;
		}
		struct timespec nap = { 0, 10 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	note("%s: notify_cmd still runs after %d s; not waiting for it", p->name,
	     NOTIFY_WAIT_MS / 1000);
}

void notify_failure(const struct spk_profile *p, const struct spk_error *err)
{
	notify_event(p, err->kind == SPK_ERR_LOGIN ? "needs-login" : "refresh-failed", err->msg);
}
