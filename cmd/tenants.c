#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "tenants.h"

const char tenants_help[] =
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

int cmd_tenants(int argc, char **argv)
{
	enum { OPT_REFRESH = 256 };
	static const struct option options[] = {
		{ "refresh", no_argument, NULL, OPT_REFRESH },
		{ 0 },
	};
	bool refresh = false;
	int c;
	char optbuf[64];

	opterr = 0;
	while ((c = getopt_exact(argc, argv, "", options)) != -1) {
		switch (c) {
		case OPT_REFRESH:
			refresh = true;
			break;
		default:
			return usage_error("tenants ", "unknown option '%s'", bad_option(argv, optbuf, sizeof(optbuf)));
		}
	}
	if (optind + 1 != argc) {
		return usage_error("tenants ", "tenants takes exactly one PROFILE name");
	}
	const char *name = argv[optind];
	struct spk_error err = { 0 };
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { 0 };

	int r = read_profile(name, &p, &err);
	if (r == 0) {
		r = refresh ? spk_flow_tenants_refresh(&p, &g, &err) : spk_flow_load(&p, &g, &err);
	}
	if (r < 0) {
		int status = fail(name, &err);
		spk_profile_done(&p);
		return status;
	}
	if (g.n_tenants == 0) {
		note("%s: the grant has no organisations%s", name,
		     refresh ? "" : " (try --refresh after connecting one)");
	}
	const char *def = NULL;
	int status = spk_tenant_for_api(&p, &g, &def, &err) < 0 ? EXIT_CONFIG : EXIT_OK;
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
	spk_profile_done(&p);
	return status;
}
