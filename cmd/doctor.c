#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "probe.h"
#include "provider.h"
#include "store-probe.h"

static const char doctor_help[] =
	"Usage: sparekey doctor [PROFILE] [--cron]\n"
	"\n"
	"Check what sparekey needs, for PROFILE or every profile: the config, the\n"
	"provider's endpoints, the store (keyring or file), the refresh lock, the\n"
	"clock against the provider's, the access token and the refresh token's\n"
	"age. One line per check on stdout; the exit status is that of the first\n"
	"check that failed.\n"
	"\n"
	"Options:\n"
	"      --cron   then run the same checks again in an environment like\n"
	"               cron's (env -i with only HOME, LOGNAME, PATH and SHELL) and\n"
	"               report what would fail there\n"
	"  -h, --help   show this help\n";

struct checks {
	const char *profile;
	int status; /* of the first failure */
};

static void check_line(struct checks *c, const char *what, const struct spk_error *err,
		       const char *fmt, ...) _printf_(4, 5);

static void check_line(struct checks *c, const char *what, const struct spk_error *err,
		       const char *fmt, ...)
{
	char detail[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (err && err->kind != SPK_ERR_NONE) {
		printf("%s: %-14s FAIL  %s\n", c->profile, what, err->msg);
		if (c->status == EXIT_OK) {
			c->status = exit_status_of(err->kind);
		}
	} else {
		printf("%s: %-14s ok    %s\n", c->profile, what, detail);
	}
}

static void doctor_profile(struct spk_config *cfg, const char *name, struct checks *c)
{
	struct spk_error err = { 0 };
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_provider prov = { 0 };
	struct spk_grant g = { 0 };
	int64_t now = (int64_t)time(NULL);
	char d[32];

	c->profile = name;
	if (spk_config_get(cfg, name, &p, &err) < 0) {
		check_line(c, "config", &err, "%s", "");
		return;
	}
	check_line(c, "config", NULL, "%s", spk_config_path(cfg));

	spk_error_clear(&err);
	bool have_provider = spk_provider_resolve(&p, NULL, false, &prov, &err) == 0;
	check_line(c, "provider", &err, "%s, token endpoint %s", p.provider,
		   have_provider ? prov.endpoints.token : "");

	spk_error_clear(&err);
	bool have_grant = spk_flow_load(&p, &g, &err) == 0;
	const bool file = p.store && strcmp(p.store, "file") == 0;
	const bool etcd = p.store && strcmp(p.store, "etcd") == 0;
	check_line(c, "store", &err, "grant found in %s",
		   file   ? "the file store"
		   : etcd ? "the etcd cluster"
			  : "the keyring");
	struct spk_store_probe probes[24];
	size_t n_probes = spk_store_probe(&p, probes, ARRAY_SIZE(probes));
	for (size_t i = 0; i < n_probes; i++) {
		check_line(c, probes[i].what, &probes[i].err, "%s", probes[i].detail);
	}

	spk_error_clear(&err);
	spk_flow_probe_lock(&p, &err);
	check_line(c, "refresh lock", &err, "can be taken");

	if (have_provider) {
		struct spk_probe probe;
		spk_error_clear(&err);
		if (spk_probe_provider(&prov, now, &probe, &err) < 0) {
			check_line(c, "clock", &err, "%s", "");
		} else if (!probe.has_date) {
			check_line(c, "clock", NULL, "%s sent no Date header; not checked",
				   probe.host);
		} else {
			check_line(c, "clock", NULL, "within %lld s of %s", llabs(probe.skew),
				   probe.host);
		}
	}

	if (have_grant) {
		/* doctor does not look for a cut-off refresh: status does. */
		struct spk_health h;
		spk_health_of(&p, &g, now, -1, &h);
		spk_error_clear(&err);
		if (h.access == SPK_ACCESS_UNKNOWN) {
			check_line(c, "access token", NULL,
				   "expiry unknown (the provider gave none)");
		} else if (h.access != SPK_ACCESS_EXPIRED) {
			check_line(c, "access token", NULL, "valid for %s",
				   format_duration(h.expires_at - now, d, sizeof(d)));
		} else {
			check_line(c, "access token", NULL,
				   "expired %s ago; the next token call "
				   "refreshes it",
				   format_duration(now - h.expires_at, d, sizeof(d)));
		}
		if (!h.has_refresh_token) {
			check_line(c, "refresh token", NULL, "none (%s)",
				   p.grant == SPK_GRANT_CLIENT_CREDENTIALS
					   ? "client credentials need none"
					   : "a login is needed when the access token expires");
		} else if (h.dead) {
			spk_error_set(
				&err, SPK_ERR_LOGIN, -ETIMEDOUT,
				"unused for over %lld days: the provider has retired it. Run: "
				"sparekey login %s",
				(long long)h.idle_days, name);
			check_line(c, "refresh token", &err, "%s", "");
		} else if (h.dies_at) {
			check_line(c, "refresh token", NULL,
				   "%s old, expires in %lld days unless used",
				   format_duration(now - g.refresh_obtained_at, d, sizeof(d)),
				   (long long)h.days_left);
		} else {
			check_line(c, "refresh token", NULL, "%s old",
				   format_duration(now - g.refresh_obtained_at, d, sizeof(d)));
		}
	}
	spk_grant_done(&g);
	spk_provider_done(&prov);
	spk_profile_done(&p);
}

/* The same checks in an environment like cron's; returns the child's status. */
static int doctor_as_cron(const char *profile)
{
	char exe[PATH_MAX], home[PATH_MAX + 8], logname[128], abs[PATH_MAX];
	const char *h = getenv("HOME"), *l = getenv("LOGNAME");

	front_path(exe, sizeof(exe));
	snprintf(home, sizeof(home), "HOME=%s", h ? h : "/");
	snprintf(logname, sizeof(logname), "LOGNAME=%s", l ? l : "");
	char *env[] = { home, logname, "PATH=/usr/bin:/bin", "SHELL=/bin/sh", NULL };
	char *argv[8];
	int a = 0;
	argv[a++] = exe;
	if (opt_config) {
		argv[a++] = "--config";
		argv[a++] = realpath(opt_config, abs) ? abs : (char *)opt_config;
	}
	argv[a++] = "doctor";
	if (profile) {
		argv[a++] = (char *)profile;
	}
	argv[a] = NULL;

	printf("-- the same checks as cron would run them (env -i HOME LOGNAME PATH SHELL):\n");
	fflush(stdout);
	int r = run_child(exe, argv, env, CHILD_INHERIT, -1);
	if (r < 0 || r >= 128) {
		note("cannot run the cron-like checks");
		return EXIT_INTERNAL;
	}
	if (r != 0) {
		printf("-- under cron, sparekey would fail as above. Use a systemd user timer "
		       "(sparekey timer install), or keep grants in a file (login --store file)\n");
	}
	return r;
}

enum { OPT_CRON };

static const struct command_option doctor_options[] = {
	{ "cron", OPTION_FLAG, OPT_CRON },
	{ 0 },
};

static bool doctor_cron; /* its one option */

static int run_doctor(const struct command_call *call)
{
	bool cron = *(const bool *)call->opts;
	const char *only = call->name;
	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;
	struct checks checks = { .status = EXIT_OK };

	if (spk_config_open(opt_config, &cfg, &err) < 0) {
		printf("config: FAIL  %s\n", err.msg);
		return exit_status_of(err.kind);
	}
	char **names = spk_config_profiles(cfg);
	if (only) {
		doctor_profile(cfg, only, &checks);
	} else if (!names || !names[0]) {
		printf("config: no profiles in %s yet. Run: sparekey login PROFILE ...\n",
		       spk_config_path(cfg));
	}
	for (char **n = names; !only && n && *n; n++) {
		doctor_profile(cfg, *n, &checks);
	}
	spk_strv_free(names);
	spk_config_free(cfg);
	if (cron) {
		int s = doctor_as_cron(only);
		if (checks.status == EXIT_OK) {
			checks.status = s;
		}
	}
	return checks.status;
}

const struct command cmd_doctor = {
	.name = "doctor",
	.summary = "check config, store, lock, clock and tokens",
	.help = doctor_help,
	.takes = TAKES_OPTIONAL_NAME,
	.options = doctor_options,
	.opts = &doctor_cron,
	.set_option = set_flag_option,
	.run = run_doctor,
};
