#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

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

	if (!p || !p->notify_cmd) {
		return;
	}
	if (asprintf(&script, "%s \"$@\"", p->notify_cmd) < 0) {
		return;
	}
	char *argv[] = { "sh",    "-c",          script,          "sparekey-notify",
			 p->name, (char *)event, (char *)message, NULL };
	int r = run_child("/bin/sh", argv, NULL, CHILD_TO_STDERR, NOTIFY_WAIT_MS);
	free(script);
	if (r == -ETIMEDOUT) {
		note("%s: notify_cmd still runs after %d s; not waiting for it", p->name,
		     NOTIFY_WAIT_MS / 1000);
	} else if (r < 0) {
		note("%s: cannot run notify_cmd (%s)", p->name, strerror(-r));
	} else if (r > 0) {
		note("%s: notify_cmd failed for the %s event", p->name, event);
	}
}

void notify_failure(const struct spk_profile *p, const struct spk_error *err)
{
	notify_event(p, err->kind == SPK_ERR_LOGIN ? "needs-login" : "refresh-failed", err->msg);
}
