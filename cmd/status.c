#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "provider.h"
#include "report.h"
#include "store-probe.h"
#include "tenants.h"

static const char status_help[] =
	"Usage: sparekey status [PROFILE] [--json]\n"
	"\n"
	"Show each profile (or only PROFILE): provider, organisation (tenant), how\n"
	"long the access token stays valid (\"expiry unknown\" when the provider did\n"
	"not say; null in JSON), how old the refresh token is and, where\n"
	"the provider retires unused refresh tokens (refresh_idle_days), when it\n"
	"expires unless used, where the grant is stored, and whether a refresh was\n"
	"cut off after it was sent (by a power loss). Nothing is refreshed.\n"
	"Exits 0 when it could report, even if a profile needs a login (its row\n"
	"says so).\n"
	"\n"
	"Options:\n"
	"      --json   one JSON array for scripts (no tokens in it)\n"
	"  -h, --help   show this help\n";

struct row {
	struct spk_status_row r;
	struct spk_profile p;
	struct spk_grant g;
	struct spk_health h;
	struct spk_error err;
};

static void fill_row(struct spk_config *cfg, const char *name, int64_t now, struct row *row)
{
	struct spk_status_row *r = &row->r;

	row->p = (struct spk_profile)SPK_PROFILE_INIT;
	r->profile = name;
	if (spk_config_get(cfg, name, &row->p, &row->err) < 0) {
		r->problem = row->err.msg;
		r->needs_login = row->err.kind == SPK_ERR_LOGIN;
		return;
	}
	r->provider = row->p.provider;
	r->store = row->p.store ? row->p.store : "secret";
	if (spk_flow_load(&row->p, &row->g, &row->err) < 0) {
		r->problem = row->err.kind == SPK_ERR_LOGIN ? "no grant stored" : row->err.msg;
		r->needs_login = row->err.kind == SPK_ERR_LOGIN;
		return;
	}
	const struct spk_grant *g = &row->g;
	r->store_endpoint = spk_store_endpoint(&row->p);
	r->has_grant = true;
	r->account = g->account;
	r->tenant_id = spk_tenant_of(&row->p, g);
	const struct spk_tenant *t = spk_grant_find_tenant(g, r->tenant_id);
	r->tenant_name = t ? t->name : NULL;
	spk_flow_health(&row->p, g, now, &row->h, &row->err);
	r->expires_at = row->h.expires_at;
	r->has_refresh_token = row->h.has_refresh_token;
	r->refresh_obtained_at = g->refresh_obtained_at;
	r->refresh_expires_at = row->h.dies_at;
	r->needs_login = row->h.needs_login;
	if (row->h.cut_off < 0 || row->h.cut_off == SPK_CUT_OFF_ELSEWHERE) {
		r->problem = row->err.msg;
	} else if (row->h.cut_off != 0) {
		r->problem = "a refresh was cut off; the next one retries it";
	}
}

static void print_row(const struct row *row, int64_t now)
{
	const struct spk_status_row *r = &row->r;
	const struct spk_health *h = &row->h;
	char access[48], refresh[80], d[32];
	const char *tenant = r->tenant_name ? r->tenant_name : r->tenant_id ? r->tenant_id : "-";

	if (!r->has_grant) {
		printf("%-14s %-9s %-18s %s%s\n", r->profile, r->provider ? r->provider : "-", "-",
		       r->problem ? r->problem : "", r->needs_login ? ": run sparekey login" : "");
		return;
	}
	if (h->access == SPK_ACCESS_UNKNOWN) {
		snprintf(access, sizeof(access), "expiry unknown");
	} else if (h->access != SPK_ACCESS_EXPIRED) {
		snprintf(access, sizeof(access), "valid for %s",
			 format_duration(r->expires_at - now, d, sizeof(d)));
	} else {
		snprintf(access, sizeof(access), "expired %s ago",
			 format_duration(now - r->expires_at, d, sizeof(d)));
	}
	if (h->cut_off == SPK_CUT_OFF_ELSEWHERE) {
		/* "P: refresh under way on HOST since TIME (pid N). …": up to the pid. */
		const char *words = strstr(r->problem, "refresh under way");
		words = words ? words : "refresh under way on another machine";
		const char *pid = strstr(words, " (pid");
		snprintf(refresh, sizeof(refresh), "%.*s",
			 pid ? (int)(pid - words) : (int)strlen(words), words);
	} else if (r->problem) {
		snprintf(refresh, sizeof(refresh), "%s",
			 r->needs_login ? "refresh cut off: run sparekey login"
					: "refresh cut off: run sparekey refresh");
	} else if (!h->has_refresh_token) {
		snprintf(refresh, sizeof(refresh), "none");
	} else if (h->dies_at && !h->dead) {
		snprintf(refresh, sizeof(refresh), "%s old, expires in %lld days unless used",
			 format_duration(now - r->refresh_obtained_at, d, sizeof(d)),
			 (long long)h->days_left);
	} else if (h->dies_at) {
		snprintf(refresh, sizeof(refresh), "expired unused: run sparekey login");
	} else {
		snprintf(refresh, sizeof(refresh), "%s old",
			 format_duration(now - r->refresh_obtained_at, d, sizeof(d)));
	}
	printf("%-14s %-9s %-18.18s %-22s %-44s %-6s  %s%s%s\n", r->profile, r->provider, tenant,
	       access, refresh, r->store, r->account ? r->account : "-",
	       r->store_endpoint ? "  via " : "", r->store_endpoint ? r->store_endpoint : "");
}

enum { OPT_JSON };

static const struct command_option status_options[] = {
	{ "json", OPTION_FLAG, OPT_JSON },
	{ 0 },
};

static bool status_json; /* its one option */

static int run_status(const struct command_call *call)
{
	bool json = *(const bool *)call->opts;
	const char *only = call->name;
	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;

	if (spk_config_open(opt_config, &cfg, &err) < 0) {
		return fail(only, &err);
	}
	char **names = spk_config_profiles(cfg);
	size_t n = 0;
	while (names && names[n]) {
		n++;
	}
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	struct spk_status_row *flat = calloc(n ? n : 1, sizeof(*flat));
	int64_t now = (int64_t)time(NULL);
	size_t shown = 0;
	int status = EXIT_OK;

	for (size_t i = 0; rows && flat && i < n; i++) {
		if (only && strcmp(only, names[i]) != 0) {
			continue;
		}
		fill_row(cfg, names[i], now, &rows[shown]);
		flat[shown] = rows[shown].r;
		shown++;
	}
	if (only && shown == 0) {
		struct spk_profile p = SPK_PROFILE_INIT;
		(void)spk_config_get(cfg, only, &p, &err);
		status = fail(only, &err);
	} else if (json) {
		char *text = NULL;
		if (spk_status_to_json(flat, shown, now, &text) < 0) {
			status = EXIT_INTERNAL;
		} else {
			printf("%s\n", text);
			free(text);
		}
	} else if (shown == 0) {
		note("no profiles in %s yet. Run: sparekey login PROFILE --provider xero "
		     "--client-id ID",
		     spk_config_path(cfg));
	} else {
		printf("%-14s %-9s %-18s %-22s %-44s %-6s  %s\n", "PROFILE", "PROVIDER", "TENANT",
		       "ACCESS TOKEN", "REFRESH TOKEN", "STORE", "ACCOUNT");
		for (size_t i = 0; i < shown; i++) {
			print_row(&rows[i], now);
		}
	}
	for (size_t i = 0; rows && i < shown; i++) {
		spk_grant_done(&rows[i].g);
		spk_profile_done(&rows[i].p);
	}
	free(rows);
	free(flat);
	spk_strv_free(names);
	spk_config_free(cfg);
	return status;
}

const struct command cmd_status = {
	.name = "status",
	.summary = "show profiles and the state of their grants",
	.help = status_help,
	.takes = TAKES_OPTIONAL_WORD,
	.options = status_options,
	.opts = &status_json,
	.set_option = set_flag_option,
	.run = run_status,
};
