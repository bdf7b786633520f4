#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

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
			warning(beats[k].profile->name, "heartbeat_url must use https (plain http only "
				"to a loopback address); no ping was sent");
		} else if (!beats[k].sent) {
			spk_log("%s: the heartbeat ping failed (%s)", beats[k].profile->name,
				beats[k].status > 0 ? "an HTTP error" : strerror((int)-beats[k].status));
		}
	}
	free(beats);
}

/*
 * Profiles refreshed at once by --all: their round trips overlap. Against a
 * provider 200 ms away, 100 profiles took 3.3 x one refresh in 64 threads
 * (two waves) and 2.6 x in 128 (one).
 */
#define REFRESH_PARALLEL 128
/*
 * A profile in flight holds its lock and the socket to its worker, and
 * briefly the other end of it and /dev/null (while the worker starts), the
 * journal, the cache file and a GLib wakeup fd. Out of fds, a thread could spend a refresh token and then fail to
 * store its successor (GLib aborts when it cannot make a wakeup fd): so no
 * more threads than RLIMIT_NOFILE has room for, after what the process
 * itself holds (the D-Bus connection, GLib's and libcurl's own).
 */
#define FDS_PER_PROFILE 7
#define FDS_RESERVED 32

/* How many threads --all may run for n profiles; 0: none, one by one here. */
static size_t threads_for(size_t n)
{
	struct rlimit fds;
	size_t max = REFRESH_PARALLEL;

	if (getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur != RLIM_INFINITY) {
		size_t room = fds.rlim_cur > FDS_RESERVED
				      ? (fds.rlim_cur - FDS_RESERVED) / FDS_PER_PROFILE
				      : 0;
		max = room < max ? room : max;
	}
	return n < max ? n : max;
}

/* The profiles of one --all run, shared by its worker threads. */
struct batch {
	struct spk_profile *profiles; /* read from the config file up front */
	bool *readable;               /* false: its config failed, already reported */
	int *statuses;
	size_t n;
	long long older_than;
	sigset_t stop_signals; /* blocked in every thread; taken by stop_watcher */
	pthread_mutex_t lock;
	size_t next;     /* the next profile to take, under lock */
	int stopped_by;  /* the signal that asked us to stop, under lock */
	bool finished;   /* every refresh is done: the watcher may go, under lock */
};

/*
 * How the watcher is told the refreshes are done: this signal, sent to its
 * thread alone with finished set. Not pthread_cancel: unwinding a thread
 * out of sigwait is what sanitizers (and some libcs) handle worst.
 */
#define WATCHER_WAKE SIGUSR2

static void *refresh_worker(void *arg)
{
	struct batch *b = arg;

	for (;;) {
		pthread_mutex_lock(&b->lock);
		size_t i = b->next < b->n && !b->stopped_by ? b->next++ : b->n;
		pthread_mutex_unlock(&b->lock);
		if (i == b->n) {
			return NULL;
		}
		if (b->readable[i]) {
			b->statuses[i] = refresh_profile(&b->profiles[i], b->older_than);
		}
	}
}

/*
 * SIGINT, SIGTERM or SIGHUP (Ctrl-C, systemd stopping the timer's unit)
 * must not kill refreshes in flight: the provider may have spent a refresh
 * token whose successor is not stored yet. No new profile is started; the
 * ones under way finish (bounded by their timeouts), then the signal is
 * raised again.
 */
static void *stop_watcher(void *arg)
{
	struct batch *b = arg;
	sigset_t wait_for = b->stop_signals;
	int sig;

	sigaddset(&wait_for, WATCHER_WAKE);
	while (sigwait(&wait_for, &sig) == 0) {
		pthread_mutex_lock(&b->lock);
		bool finished = b->finished;
		if (sig != WATCHER_WAKE) {
			b->stopped_by = sig;
		}
		pthread_mutex_unlock(&b->lock);
		if (sig != WATCHER_WAKE) {
			note("stopping: finishing the refreshes in flight first, so that no rotated "
			     "token is lost");
			return NULL;
		}
		if (finished) {
			return NULL;
		}
	}
	return NULL;
}

/*
 * Every profile, up to REFRESH_PARALLEL at a time (fewer if the fd limit
 * is low), in threads of this one process: a refresher of many profiles
 * costs about one round trip, not one per profile, and it opens the keyring
 * (one D-Bus connection, one encrypted session) once, not once per profile.
 * One shared sparekey-worker sends their requests, each from a thread of
 * its own. Each profile still has its own lock, journal and store write. The exit status is that of the first failed profile in config-file
 * order.
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
	struct batch b = {
		.profiles = calloc(n, sizeof(*b.profiles)),
		.readable = calloc(n, sizeof(*b.readable)),
		.statuses = calloc(n, sizeof(*b.statuses)),
		.n = n,
		.older_than = older_than,
	};
	pthread_t workers[REFRESH_PARALLEL];
	size_t started = 0;
	if (!b.profiles || !b.readable || !b.statuses) {
		spk_error_set(&err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
		status = fail(NULL, &err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct spk_error perr = { 0 };
		b.profiles[i] = (struct spk_profile)SPK_PROFILE_INIT;
		b.readable[i] = spk_config_get(cfg, names[i], &b.profiles[i], &perr) == 0;
		if (!b.readable[i]) {
			b.statuses[i] = fail(names[i], &perr);
		}
	}
	if (spk_flow_open_network(&err) < 0) {
		status = fail(NULL, &err);
		goto out;
	}
	/* One worker for them all; without it, each starts its own (slower, as safe). */
	struct spk_error share_err = { 0 };
	bool shared = n > 1 && spk_flow_refresh_many_begin(&share_err) == 0;
	if (n > 1 && !shared) {
		spk_log("refresh --all: %s; one worker per profile instead", share_err.msg);
	}
	pthread_mutex_init(&b.lock, NULL);
	sigset_t old_mask;
	sigemptyset(&b.stop_signals);
	sigaddset(&b.stop_signals, SIGINT);
	sigaddset(&b.stop_signals, SIGTERM);
	sigaddset(&b.stop_signals, SIGHUP);
	sigset_t blocked = b.stop_signals;
	sigaddset(&blocked, WATCHER_WAKE);
	/* Before any thread exists: they all inherit it. */
	pthread_sigmask(SIG_BLOCK, &blocked, &old_mask);
	pthread_t watcher;
	bool watching = pthread_create(&watcher, NULL, stop_watcher, &b) == 0;
	size_t threads = threads_for(n);
	for (; started < threads; started++) {
		if (pthread_create(&workers[started], NULL, refresh_worker, &b) != 0) {
			break;
		}
	}
	if (started == 0) {
		refresh_worker(&b); /* no threads to be had: one after another, here */
	}
	for (size_t i = 0; i < started; i++) {
		pthread_join(workers[i], NULL);
	}
	if (shared) {
		spk_flow_refresh_many_end();
	}
	if (watching) {
		pthread_mutex_lock(&b.lock);
		b.finished = true;
		pthread_mutex_unlock(&b.lock);
		pthread_kill(watcher, WATCHER_WAKE);
		pthread_join(watcher, NULL);
	}
	pthread_mutex_destroy(&b.lock);
	for (size_t i = 0; i < n; i++) {
		if (status == EXIT_OK) {
			status = b.statuses[i];
		}
		/* Those started are done; those a signal kept from starting send nothing. */
		b.readable[i] = b.readable[i] && i < b.next;
	}
	send_heartbeats(b.profiles, b.readable, b.statuses, n);
	if (b.stopped_by) {
		note("stopped: %zu of %zu profiles were not started", n - b.next, n);
		signal(b.stopped_by, SIG_DFL);
		raise(b.stopped_by); /* pending until the mask goes, then fatal */
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
out:
	for (size_t i = 0; b.profiles && i < n; i++) {
		spk_profile_done(&b.profiles[i]);
	}
	free(b.profiles);
	free(b.readable);
	free(b.statuses);
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
		return usage_error("refresh ", "--older-than needs an age like 90, 30m, "
				   "12h or 1d, not '%s'", value);
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
