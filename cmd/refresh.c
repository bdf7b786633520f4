#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "commands.h"
#include "flow.h"
#include "heartbeat.h"
#include "log.h"
#include "output.h"

static const char refresh_help[] =
	"Usage: sparekey refresh PROFILE...\n"
	"       sparekey refresh --all [--older-than AGE]\n"
	"\n"
	"Refresh grants now and store the results, keeping refresh tokens alive\n"
	"(Xero's die after 60 days unused). A failure never deletes a stored grant.\n"
	"\n"
	"Options:\n"
	"      --all             every profile in the config file whose refresh token\n"
	"                        is older than AGE, many at once; warns about any\n"
	"                        that expires within 14 days unless used\n"
	"      --older-than AGE  with --all: seconds, or N with s, m, h or d (default 1d)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Run it from a timer: sparekey timer install. The exit status is that of the\n"
	"first profile that failed; each profile gets one line on stderr. Stopped by\n"
	"a signal, --all lets the refreshes in flight finish and store first. A\n"
	"refresh once sent is carried through by a detached worker: killed, even by\n"
	"SIGKILL, sparekey still stores the rotated grant.\n"
	"\n"
	"A profile with a heartbeat_url is pinged after its refresh: the URL on\n"
	"success, URL/fail on failure, within 3 s (--all: all profiles' pings at\n"
	"once after the refreshes). A ping never changes the exit status or the\n"
	"output; one that fails shows under -v only.\n";

static void warn_expiry(const struct spk_profile *p, const struct spk_grant *g, int64_t now)
{
	struct spk_health h;

	spk_health_of(p, g, now, -1, &h);
	if (spk_health_dies_within(&h, SPK_HEALTH_WARN_DAYS)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "the refresh token expires in %lld days unless used",
			 (long long)h.days_left);
		note("%s: %s. Run: sparekey refresh %s", p->name, msg, p->name);
		notify_event(p, "expires-soon", msg);
	}
}

/* Refresh p; older_than < 0: unconditionally. Returns an exit status. */
static int refresh_profile(const struct spk_profile *p, long long older_than)
{
	struct spk_error err = { 0 };
	struct spk_grant g = { 0 };
	const char *name = p->name;
	int64_t now = (int64_t)time(NULL);
	char d[32];
	int status = EXIT_OK;
	int r;

	r = spk_flow_refresh(p, older_than, &g, &err);
	if (r < 0) {
		status = fail(name, &err);
		notify_failure(p, &err);
		/* A grant the provider turned down has no time left to warn about. */
		if (g.refresh_token && err.kind != SPK_ERR_LOGIN) {
			warn_expiry(p, &g, now);
		}
		goto out;
	}
	if (r == 1 && !g.refresh_token) {
		note("%s: no refresh token to keep alive; skipped", name);
		goto out;
	}
	if (r == 1) {
		note("%s: refresh token is %s old; skipped", name,
		     format_duration(now - g.refresh_obtained_at, d, sizeof(d)));
		warn_expiry(p, &g, now);
		goto out;
	}
	warning(name, g.warning);
	if (g.expires_at > 0) {
		note("%s: refreshed; access token valid for %s", name,
		     format_duration(g.expires_at - now, d, sizeof(d)));
	} else {
		note("%s: refreshed; access token expiry unknown", name);
	}
out:
	spk_grant_done(&g);
	return status;
}

/*
 * The heartbeat_url of each profile refreshed (done[i]): URL on success,
 * URL/fail on failure, all at once within SPK_HEARTBEAT_TIMEOUT_MS. A
 * ping that fails changes nothing and says so under -v only (a cron job
 * mails whatever it prints); a URL sparekey may not use gets one line,
 * since no ping can ever go out.
 */
static void send_heartbeats(const struct spk_profile *profiles, const bool *done,
			    const int *statuses, size_t n)
{
	struct spk_heartbeat *beats = calloc(n ? n : 1, sizeof(*beats));
	size_t m = 0;

	for (size_t i = 0; beats && i < n; i++) {
		if (done[i] && profiles[i].heartbeat_url) {
			beats[m++] = (struct spk_heartbeat){ .profile = &profiles[i],
							     .failed = statuses[i] != EXIT_OK };
		}
	}
	if (m > 0) {
		spk_heartbeat_send(beats, m);
	}
	for (size_t k = 0; k < m; k++) {
		if (beats[k].status == -EPROTONOSUPPORT) {
			warning(beats[k].profile->name,
				"heartbeat_url must use https (plain http only "
				"to a loopback address); no ping was sent");
		} else if (!beats[k].sent) {
			spk_log("%s: the heartbeat ping failed (%s)", beats[k].profile->name,
				beats[k].status > 0 ? "an HTTP error"
						    : strerror((int)-beats[k].status));
		}
	}
	free(beats);
}

/* The profiles of one --all run, read from the config file up front. */
struct all_run {
	struct spk_profile *profiles;
	bool *readable; /* false: its config failed, already reported */
	int *statuses;
	long long older_than;
};

static int refresh_one_of_all(size_t i, void *ctx)
{
	struct all_run *a = ctx;

	if (a->readable[i]) {
		a->statuses[i] = refresh_profile(&a->profiles[i], a->older_than);
	}
	return a->statuses[i];
}

static void stopping(int sig, void *ctx)
{
	(void)sig;
	(void)ctx;
	note("stopping: finishing the refreshes in flight first, so that no rotated token is lost");
}

/*
 * Every profile, many at once (src/batch.h): each still has its own lock,
 * journal and store write. The exit status is that of the first failed
 * profile in config-file order. Stopped by a signal, the refreshes in
 * flight finish and are stored, their heartbeats go, then the signal ends
 * us as it would have.
 */
static int refresh_all(long long older_than)
{
	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;
	int status = EXIT_OK;

	if (spk_config_open(opt_config, &cfg, &err) < 0) {
		return fail(NULL, &err);
	}
	char **names = spk_config_profiles(cfg);
	size_t n = 0;
	while (names && names[n]) {
		n++;
	}
	if (n == 0) {
		note("no profiles in %s; nothing to refresh", spk_config_path(cfg));
		spk_strv_free(names);
		spk_config_free(cfg);
		return EXIT_OK;
	}
	struct all_run a = {
		.profiles = calloc(n, sizeof(*a.profiles)),
		.readable = calloc(n, sizeof(*a.readable)),
		.statuses = calloc(n, sizeof(*a.statuses)),
		.older_than = older_than,
	};
	if (!a.profiles || !a.readable || !a.statuses) {
		spk_error_set(&err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
		status = fail(NULL, &err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct spk_error perr = { 0 };
		a.profiles[i] = (struct spk_profile)SPK_PROFILE_INIT;
		a.readable[i] = spk_config_get(cfg, names[i], &a.profiles[i], &perr) == 0;
		if (!a.readable[i]) {
			a.statuses[i] = fail(names[i], &perr);
		}
	}
	struct spk_batch batch = {
		.n = n,
		.run = refresh_one_of_all,
		.on_stop = stopping,
		.ctx = &a,
	};
	if (spk_batch_run(&batch, &err) < 0) {
		status = fail(NULL, &err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (status == EXIT_OK) {
			status = a.statuses[i];
		}
		/* Those started are done; those a signal kept from starting send nothing. */
		a.readable[i] = a.readable[i] && i < batch.started;
	}
	send_heartbeats(a.profiles, a.readable, a.statuses, n);
	if (batch.stopped_by) {
		note("stopped: %zu of %zu profiles were not started", n - batch.started, n);
		signal(batch.stopped_by, SIG_DFL);
		raise(batch.stopped_by);
	}
out:
	for (size_t i = 0; a.profiles && i < n; i++) {
		spk_profile_done(&a.profiles[i]);
	}
	free(a.profiles);
	free(a.readable);
	free(a.statuses);
	spk_strv_free(names);
	spk_config_free(cfg);
	return status;
}

enum { OPT_OLDER_THAN };

static const struct command_option refresh_options[] = {
	{ "all", OPTION_ALL, 0 },
	{ "older-than", OPTION_VALUE_WITH_ALL, OPT_OLDER_THAN },
	{ 0 },
};

struct refresh_opts {
	long long older_than;
};

static struct refresh_opts refresh_opts = { .older_than = -1 };

static int refresh_option(void *opts, int id, const char *value)
{
	struct refresh_opts *o = opts;

	(void)id; /* only --older-than */
	o->older_than = parse_age(value);
	if (o->older_than < 0) {
		return usage_error("refresh ",
				   "--older-than needs an age like 90, 30m, "
				   "12h or 1d, not '%s'",
				   value);
	}
	return 0;
}

/* Once for each PROFILE named (then its heartbeat), or once for --all. */
static int run_refresh(const struct command_call *call)
{
	const struct refresh_opts *o = call->opts;

	if (call->all) {
		return refresh_all(o->older_than >= 0 ? o->older_than : 86400);
	}
	int status = refresh_profile(call->profile, -1);
	bool done = true;
	send_heartbeats(call->profile, &done, &status, 1);
	return status;
}

const struct command cmd_refresh = {
	.name = "refresh",
	.summary = "refresh a grant now (keeps it alive)",
	.help = refresh_help,
	.takes = TAKES_PROFILES,
	.options = refresh_options,
	.opts = &refresh_opts,
	.set_option = refresh_option,
	.run = run_refresh,
};
