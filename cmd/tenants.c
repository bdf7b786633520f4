#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "tenants.h"

static const char tenants_help[] =
	"Usage: sparekey tenants PROFILE [--refresh]\n"
	"\n"
	"List the organisations (Xero tenants) PROFILE's grant may act on: id,\n"
	"type and name, with '*' at the default, the one token --header, --json\n"
	"and exec name. 'sparekey login PROFILE --tenant NAME|ID' or the\n"
	"profile key 'tenant' chooses it.\n"
	"\n"
	"Options:\n"
	"      --refresh  ask the provider again (after connecting organisations)\n"
	"  -h, --help     show this help\n";

enum { OPT_REFRESH };

static const struct command_option tenants_options[] = {
	{ "refresh", OPTION_FLAG, OPT_REFRESH },
	{ 0 },
};

static bool tenants_refresh; /* its one option */

static int run_tenants(const struct command_call *call)
{
	bool refresh = *(const bool *)call->opts;
	const struct spk_profile *p = call->profile;
	const char *name = call->name;
	struct spk_error err = { 0 };
	struct spk_grant g = { 0 };

	int r = refresh ? spk_flow_tenants_refresh(p, &g, &err) : spk_flow_load(p, &g, &err);
	if (r < 0) {
		return fail(name, &err);
	}
	if (g.n_tenants == 0) {
		note("%s: the grant has no organisations%s", name,
		     refresh ? "" : " (try --refresh after connecting one)");
	}
	const char *def = NULL;
	int status = spk_tenant_for_api(p, &g, &def, &err) < 0 ? EXIT_CONFIG : EXIT_OK;
	for (size_t i = 0; i < g.n_tenants; i++) {
		const struct spk_tenant *t = &g.tenants[i];
		printf("%s %-36s  %-14s  %s\n", def && strcmp(def, t->id) == 0 ? "*" : " ", t->id,
		       t->type ? t->type : "-", t->name ? t->name : "-");
	}
	if (status != EXIT_OK) {
		fflush(stdout);
		status = fail(name, &err);
	}
	spk_grant_done(&g);
	return status;
}

const struct command cmd_tenants = {
	.name = "tenants",
	.summary = "list the organisations (Xero tenants) of a grant",
	.help = tenants_help,
	.takes = TAKES_PROFILE,
	.options = tenants_options,
	.opts = &tenants_refresh,
	.set_option = set_flag_option,
	.run = run_tenants,
};
