#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"
#include "provider.h"
#include "store.h"

const char status_help[] =
	"Usage: sparekey status [PROFILE]\n"
	"\n"
	"Show each profile (or only PROFILE): its provider, who logged in, how\n"
	"long the access token stays valid, how old the refresh token is and,\n"
	"where the provider retires unused refresh tokens (refresh_idle_days),\n"
	"when it expires unless used.\n"
	"Nothing is refreshed. Exits 0 when it could report, even if a profile\n"
	"needs a login (its row says so).\n";

static void print_row(const struct spk_profile *p, int64_t now)
{
	struct spk_error err = { 0 };
	struct spk_grant g = { 0 };
	char access[48], refresh[96], d[32];

	if (spk_store_load(p, &g, &err) < 0) {
		printf("%-16s %-8s %s\n", p->name, p->provider ? p->provider : "-",
		       err.kind == SPK_ERR_LOGIN ? "no grant: run sparekey login" : err.msg);
		return;
	}
	if (g.expires_at == 0) {
		snprintf(access, sizeof(access), "valid (no expiry given)");
	} else if (g.expires_at > now) {
		snprintf(access, sizeof(access), "valid for %s",
			 format_duration(g.expires_at - now, d, sizeof(d)));
	} else {
		snprintf(access, sizeof(access), "expired %s ago",
			 format_duration(now - g.expires_at, d, sizeof(d)));
	}
	int64_t idle = spk_provider_refresh_idle_days(p);
	if (!g.refresh_token) {
		snprintf(refresh, sizeof(refresh), "none");
	} else if (idle > 0 && g.refresh_obtained_at + idle * 86400 > now) {
		snprintf(refresh, sizeof(refresh), "%s old, expires in %lld days unless used",
			 format_duration(now - g.refresh_obtained_at, d, sizeof(d)),
			 (long long)((g.refresh_obtained_at + idle * 86400 - now) / 86400));
	} else if (idle > 0) {
		snprintf(refresh, sizeof(refresh), "expired (unused for %lld days)",
			 (long long)idle);
	} else {
		snprintf(refresh, sizeof(refresh), "%s old",
			 format_duration(now - g.refresh_obtained_at, d, sizeof(d)));
	}
	printf("%-16s %-8s %-24s %-24s %s\n", p->name, p->provider ? p->provider : "-",
	       g.account ? g.account : "-", access, refresh);
	spk_grant_done(&g);
}

int cmd_status(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", (const struct option[]){ { 0 } }, NULL)) != -1) {
		return usage_error("status ", "unknown option '%s'", argv[optind - 1]);
	}
	if (argc - optind > 1) {
		return usage_error("status ", "status takes at most one PROFILE");
	}
	const char *only = optind < argc ? argv[optind] : NULL;
	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;

	if (spk_config_open(opt_config, &cfg, &err) < 0) {
		return fail(only, &err);
	}
	char **names = spk_config_profiles(cfg);
	int64_t now = (int64_t)time(NULL);
	int status = EXIT_OK;
	bool any = false;

	for (char **n = names; n && *n; n++) {
		struct spk_profile p = SPK_PROFILE_INIT;
		if (only && strcmp(only, *n) != 0) {
			continue;
		}
		if (!any) {
			printf("%-16s %-8s %-24s %-24s %s\n", "PROFILE", "PROVIDER", "ACCOUNT",
			       "ACCESS TOKEN", "REFRESH TOKEN");
			any = true;
		}
		spk_error_clear(&err);
		if (spk_config_get(cfg, *n, &p, &err) < 0) {
			printf("%-16s %s\n", *n, err.msg);
			continue;
		}
		print_row(&p, now);
		spk_profile_done(&p);
	}
	if (only && !any) {
		spk_error_clear(&err);
		struct spk_profile p;
		(void)spk_config_get(cfg, only, &p, &err);
		status = fail(only, &err);
	} else if (!any) {
		note("no profiles in %s yet. Run: sparekey login PROFILE --provider xero "
		     "--client-id ID", spk_config_path(cfg));
	}
	spk_strv_free(names);
	spk_config_free(cfg);
	return status;
}
