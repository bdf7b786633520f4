#include <errno.h>

#include "commands.h"

/*
 * $BROWSER may hold arguments ("firefox --new-window"), so let sh split it;
 * the URL travels as a positional parameter, never re-parsed by the shell.
 */
static const char *const browser_script =
	"if [ -n \"$BROWSER\" ]; then exec $BROWSER \"$1\"; else exec xdg-open \"$1\"; fi";

int open_browser(const char *url)
{
	char *argv[] = {
		"sh", "-c", (char *)browser_script, "sparekey-browser", (char *)url, NULL
	};

	/*
	 * Its chatter goes nowhere: our stdout stays clean. xdg-open and
	 * well-behaved wrappers return at once; a browser run directly keeps
	 * going. Give it a moment to fail, then let it be.
	 */
	int r = run_child("/bin/sh", argv, NULL, CHILD_SILENT, 500);
	if (r == -ETIMEDOUT) {
		return 0;
	}
	return r > 0 ? -ENOEXEC : r;
}
