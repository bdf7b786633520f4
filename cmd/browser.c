#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"

extern char **environ;

/*
 * $BROWSER may hold arguments ("firefox --new-window"), so let sh split it;
 * the URL travels as a positional parameter, never re-parsed by the shell.
 */
static const char *const browser_script =
	"if [ -n \"$BROWSER\" ]; then exec $BROWSER \"$1\"; else exec xdg-open \"$1\"; fi";

int open_browser(const char *url)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	char *argv[] = { "sh", "-c", (char *)browser_script, "sparekey-browser", (char *)url, NULL };

	posix_spawn_file_actions_init(&fa);
	/* Keep our stdout clean: the browser's chatter goes nowhere. */
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	int r = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		return -r;
	}
	/*
	 * xdg-open and well-behaved wrappers return at once; a browser run
	 * directly keeps going. Give it a moment to fail, then let it be.
	 */
	for (int i = 0; i < 20; i++) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENOEXEC;
		}
		struct timespec ts = { 0, 25 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}
