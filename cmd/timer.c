#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"

static const char timer_help[] =
	"Usage: sparekey timer install [--every INTERVAL]\n"
	"       sparekey timer remove\n"
	"\n"
	"install writes a systemd user service and timer that run\n"
	"'sparekey refresh --all' every INTERVAL (seconds, or N with s, m, h or d;\n"
	"default 1d) and enables the timer. Where systemd --user is not running,\n"
	"the units are still written, and the crontab line to use instead is\n"
	"printed (exit 69). For the timer to run while you are logged out:\n"
	"loginctl enable-linger $USER.\n"
	"\n"
	"remove disables the timer and deletes both units.\n"
	"\n"
	"Options:\n"
	"      --every INTERVAL  how often (at least 1m; default 1d)\n"
	"  -h, --help            show this help\n";

static const char service_name[] = "sparekey-refresh.service";
static const char timer_name[] = "sparekey-refresh.timer";

static char *unit_dir(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *dir = NULL;

	if (xdg && xdg[0] == '/') {
		return asprintf(&dir, "%s/systemd/user", xdg) < 0 ? NULL : dir;
	}
	if (home && home[0] == '/') {
		return asprintf(&dir, "%s/.config/systemd/user", home) < 0 ? NULL : dir;
	}
	return NULL;
}

static int mkdir_parents(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST) {
				return -errno;
			}
			*p = '/';
		}
	}
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	FILE *f = fopen(tmp, "we");
	if (!f) {
		return -errno;
	}
	/* Units are not secret; systemd wants them readable. */
	(void)fchmod(fileno(f), 0644);
	fputs(text, f);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		int r = -errno;
		fclose(f);
		unlink(tmp);
		return r;
	}
	fclose(f);
	return rename(tmp, path) < 0 ? -errno : 0;
}

/* Run systemctl --user ARGS quietly; its exit status, or -errno. */
static int systemctl_user(const char *a1, const char *a2, const char *a3)
{
	char *argv[] = {
		"systemctl", "--user", "--quiet", (char *)a1, (char *)a2, (char *)a3, NULL
	};

	return run_child("systemctl", argv, NULL, CHILD_SILENT, -1);
}

static const char *crontab_schedule(long long every, char *buf, size_t size)
{
	if (every >= 86400) {
		snprintf(buf, size, "17 3 * * *");
	} else if (every >= 3600) {
		snprintf(buf, size, "17 */%lld * * *", every / 3600);
	} else {
		snprintf(buf, size, "*/%lld * * * *", every < 60 ? 1 : every / 60);
	}
	return buf;
}

/*
 * A calendar schedule where the interval divides a day, so that Persistent=
 * catches up a run missed while the machine was off; otherwise monotonic.
 */
static const char *timer_schedule(long long every, char *buf, size_t size)
{
	if (every == 86400) {
		snprintf(buf, size, "OnCalendar=*-*-* 03:17:00\nPersistent=true");
	} else if (every < 86400 && every % 3600 == 0 && 86400 % every == 0) {
		snprintf(buf, size, "OnCalendar=*-*-* 00/%lld:17:00\nPersistent=true",
			 every / 3600);
	} else if (every < 3600 && every % 60 == 0 && 3600 % every == 0) {
		snprintf(buf, size, "OnCalendar=*:00/%lld:00\nPersistent=true", every / 60);
	} else {
		snprintf(buf, size, "OnStartupSec=5min\nOnUnitActiveSec=%llds", every);
	}
	return buf;
}

static int timer_install(long long every)
{
	char exe[PATH_MAX], service[2 * PATH_MAX + 1024], timer[512], sched[64];
	_cleanup_free_ char *dir = unit_dir();

	if (!dir) {
		note("cannot find the systemd user directory (set HOME)");
		return EXIT_INTERNAL;
	}
	front_path(exe, sizeof(exe));
	char config_arg[PATH_MAX + 16] = "";
	if (opt_config) {
		char abs[PATH_MAX];
		snprintf(config_arg, sizeof(config_arg), " --config %s",
			 realpath(opt_config, abs) ? abs : opt_config);
	}
	snprintf(service, sizeof(service),
		 "[Unit]\n"
		 "Description=Keep sparekey's OAuth grants alive\n"
		 "Documentation=man:sparekey(1)\n"
		 "\n"
		 "[Service]\n"
		 "Type=oneshot\n"
		 "ExecStart=%s%s refresh --all\n"
		 "# On stop, SIGTERM to sparekey alone: it waits until the refreshes in\n"
		 "# flight (sent by its sparekey-worker processes) are stored, and exits;\n"
		 "# only then is anything left in the unit killed. See sparekey(1).\n"
		 "KillMode=mixed\n"
		 "# Longer than a refresh in flight can take (30 s transfer timeout,\n"
		 "# one retry, keyring).\n"
		 "TimeoutStopSec=90\n",
		 exe, config_arg);
	char when[96];
	snprintf(timer, sizeof(timer),
		 "[Unit]\n"
		 "Description=Run sparekey refresh --all every %llds\n"
		 "Documentation=man:sparekey(1)\n"
		 "\n"
		 "[Timer]\n"
		 "%s\n"
		 "RandomizedDelaySec=5min\n"
		 "\n"
		 "[Install]\n"
		 "WantedBy=timers.target\n",
		 every, timer_schedule(every, when, sizeof(when)));
	int r = mkdir_parents(dir);
	if (r == 0) {
		r = write_text(dir, service_name, service);
	}
	if (r == 0) {
		r = write_text(dir, timer_name, timer);
	}
	if (r < 0) {
		note("cannot write the units in %s (%s)", dir, strerror(-r));
		return EXIT_IOERR;
	}
	note("wrote %s/%s and %s", dir, service_name, timer_name);
	if (systemctl_user("daemon-reload", NULL, NULL) != 0 ||
	    systemctl_user("enable", "--now", timer_name) != 0) {
		note("systemd --user is not running here, so the timer is not enabled. "
		     "Add this line to your crontab (crontab -e) instead:");
		fprintf(stderr, "%s %s%s refresh --all\n",
			crontab_schedule(every, sched, sizeof(sched)), exe, config_arg);
		note("for timers and cron jobs to reach the keyring while you are logged out: "
		     "loginctl enable-linger $USER");
		return EXIT_UNAVAILABLE;
	}
	note("enabled %s: 'sparekey refresh --all' runs every %lld s. For it to run while "
	     "you are logged out: loginctl enable-linger $USER",
	     timer_name, every);
	return EXIT_OK;
}

static int timer_remove(void)
{
	_cleanup_free_ char *dir = unit_dir();
	char path[PATH_MAX];
	int status = EXIT_OK;

	if (!dir) {
		note("cannot find the systemd user directory (set HOME)");
		return EXIT_INTERNAL;
	}
	(void)systemctl_user("disable", "--now", timer_name);
	const char *names[] = { timer_name, service_name };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) == 0) {
			note("removed %s", path);
		} else if (errno != ENOENT) {
			note("cannot remove %s (%s)", path, strerror(errno));
			status = EXIT_IOERR;
		}
	}
	(void)systemctl_user("daemon-reload", NULL, NULL);
	return status;
}

enum { OPT_EVERY };

static const struct command_option timer_options[] = {
	{ "every", OPTION_VALUE, OPT_EVERY },
	{ 0 },
};

struct timer_opts {
	long long every;
};

static struct timer_opts timer_opts = { .every = 86400 };

static int timer_option(void *opts, int id, const char *value)
{
	struct timer_opts *o = opts;

	(void)id; /* only --every */
	o->every = parse_age(value);
	if (o->every < 60) {
		return usage_error("timer ",
				   "--every needs an interval of at least a "
				   "minute, like 30m, 6h or 1d, not '%s'",
				   value);
	}
	return 0;
}

/* The words are install or remove. */
static int run_timer(const struct command_call *call)
{
	const struct timer_opts *o = call->opts;

	if (call->n_args != 1) {
		return usage_error("timer ", "say 'timer install' or 'timer remove'");
	}
	if (strcmp(call->args[0], "install") == 0) {
		return timer_install(o->every);
	}
	if (strcmp(call->args[0], "remove") == 0) {
		return timer_remove();
	}
	return usage_error("timer ", "say 'timer install' or 'timer remove', not '%s'",
			   call->args[0]);
}

const struct command cmd_timer = {
	.name = "timer",
	.summary = "install or remove the systemd timer that runs refresh --all",
	.help = timer_help,
	.takes = TAKES_WORDS,
	.options = timer_options,
	.opts = &timer_opts,
	.set_option = timer_option,
	.run = run_timer,
};
