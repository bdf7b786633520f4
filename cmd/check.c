#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "commands.h"
#include "failure.h"
#include "flow.h"
#include "output.h"

static const char check_help[] =
	"Usage: sparekey check [PROFILE... | --all] [--within DAYS] [--json]\n"
	"\n"
	"Will a person be needed? A monitoring plugin (Nagios, Icinga, cron,\n"
	"Prometheus): it reads what is stored here, with no network, no refresh\n"
	"and no lock, and prints one line per profile, the worst first:\n"
	"  SPAREKEY WARNING - xero: refresh token expires in 4 days unless used\n"
	"Without PROFILE, or with --all, every profile in the config file.\n"
	"\n"
	"Options:\n"
	"      --all          every profile (the default)\n"
	"      --within DAYS  WARNING when a refresh token dies unless used within\n"
	"                     DAYS (default 14)\n"
	"      --json         one JSON array for scripts: profile, status, code,\n"
	"                     message, days_left, needs_login (no tokens in it)\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status, the worst of the profiles': 0 OK; 1 WARNING (a refresh token\n"
	"dies within DAYS unless used, or the last refresh failed for now); 2 CRITICAL\n"
	"(a person must run sparekey login now); 3 UNKNOWN (cannot tell: the keyring\n"
	"is locked, the config file is wrong). 64 for a usage error.\n";

/* p's answer, loaded without the lock and without the network. */
static void check_profile(const struct spk_config *cfg, const char *name, int64_t now,
			  int64_t within, struct spk_check *ret)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };

	if (spk_config_get(cfg, name, &p, &err) < 0) {
		spk_check_unconfigured(name, &err, ret);
		return;
	}
	if (spk_flow_load(&p, &g, &err) < 0) {
		spk_check_unloaded(name, &err, ret);
		spk_profile_done(&p);
		return;
	}
	struct spk_health h;
	struct spk_error cut_err = { 0 };
	struct spk_failure last;
	bool failed = spk_failure_read(name, &last) == 0;

	spk_flow_health(&p, &g, now, &h, &cut_err);
	spk_check_grant(&p, &h, g.obtained_at, failed ? &last : NULL,
			cut_err.kind != SPK_ERR_NONE ? cut_err.msg : NULL, within, ret);
	ret->profile = name;
	spk_grant_done(&g);
	spk_profile_done(&p);
}

/* Worst first; in the order asked for within a state. */
static void sort_worst_first(struct spk_check *c, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct spk_check x = c[i];
		size_t j = i;
		while (j > 0 && spk_check_worse(c[j - 1].state, x.state) != c[j - 1].state) {
			c[j] = c[j - 1];
			j--;
		}
		c[j] = x;
	}
}

static int report(struct spk_check *checks, size_t n, bool json, const char *none)
{
	enum spk_check_state worst = n ? SPK_CHECK_OK : SPK_CHECK_UNKNOWN;

	for (size_t i = 0; i < n; i++) {
		worst = spk_check_worse(worst, checks[i].state);
	}
	if (json) {
		char *text = NULL;
		if (spk_check_to_json(checks, n, &text) < 0) {
			printf("SPAREKEY UNKNOWN - out of memory\n");
			return SPK_CHECK_UNKNOWN;
		}
		printf("%s\n", text);
		free(text);
		return (int)worst;
	}
	if (n == 0) {
		printf("SPAREKEY UNKNOWN - %s\n", none);
		return (int)worst;
	}
	sort_worst_first(checks, n);
	for (size_t i = 0; i < n; i++) {
		printf("SPAREKEY %s - %s: %s\n", spk_check_state_name(checks[i].state),
		       checks[i].profile, checks[i].message);
	}
	return (int)worst;
}

enum { OPT_ALL, OPT_WITHIN, OPT_JSON };

static const struct command_option check_options[] = {
	{ "all", OPTION_ALL, OPT_ALL },
	{ "within", OPTION_VALUE, OPT_WITHIN },
	{ "json", OPTION_FLAG, OPT_JSON },
	{ 0 },
};

struct check_opts {
	long long within;
	bool json;
};

static struct check_opts check_opts = { .within = SPK_HEALTH_WARN_DAYS };

static int check_option(void *opts, int id, const char *value)
{
	struct check_opts *o = opts;

	if (id == OPT_JSON) {
		o->json = true;
		return 0;
	}
	o->within = parse_seconds(value, 3650);
	if (o->within < 0) {
		return usage_error("check ", "--within needs a number of days 0-3650, not '%s'",
				   value);
	}
	return 0;
}

/*
 * The words are PROFILE names, read here rather than by main: a profile
 * that cannot be read is the plugin's UNKNOWN, not sparekey's failure.
 */
static int run_check(const struct command_call *call)
{
	const struct check_opts *o = call->opts;
	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;

	if (call->all && call->n_args > 0) {
		return usage_error("check ", "--all takes no PROFILE names");
	}
	if (spk_config_open(opt_config, &cfg, &err) < 0) {
		/* The plugin's answer, not sparekey's 78: the monitor shows it. */
		struct spk_check bad = { .state = SPK_CHECK_UNKNOWN, .days_left = -1 };
		snprintf(bad.message, sizeof(bad.message), "%s", err.msg);
		if (o->json) {
			return report(&bad, 1, true, NULL);
		}
		printf("SPAREKEY UNKNOWN - %s\n", err.msg);
		return SPK_CHECK_UNKNOWN;
	}
	char **names = call->n_args > 0 ? NULL : spk_config_profiles(cfg);
	size_t n = 0;
	while (names ? names[n] != NULL : n < (size_t)call->n_args) {
		n++;
	}
	struct spk_check *checks = calloc(n ? n : 1, sizeof(*checks));
	int64_t now = (int64_t)time(NULL);
	int status;

	if (!checks) {
		printf("SPAREKEY UNKNOWN - out of memory\n");
		status = SPK_CHECK_UNKNOWN;
	} else {
		for (size_t i = 0; i < n; i++) {
			check_profile(cfg, names ? names[i] : call->args[i], now, o->within,
				      &checks[i]);
		}
		char none[512];
		snprintf(none, sizeof(none), "no profiles in %s", spk_config_path(cfg));
		status = report(checks, n, o->json, none);
	}
	free(checks);
	spk_strv_free(names);
	spk_config_free(cfg);
	return status;
}

const struct command cmd_check = {
	.name = "check",
	.summary = "will a person be needed? (a monitoring plugin)",
	.help = check_help,
	.takes = TAKES_WORDS,
	.options = check_options,
	.opts = &check_opts,
	.set_option = check_option,
	.run = run_check,
};
