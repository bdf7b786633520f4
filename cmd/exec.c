#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "tenants.h"
#include "provider.h"

static const char exec_help[] =
	"Usage: sparekey exec PROFILE [--min-valid SECS] -- COMMAND [ARG...]\n"
	"\n"
	"Run COMMAND with a valid access token in its environment, so the token\n"
	"never appears in argv or shell history:\n"
	"\n"
	"  SPAREKEY_ACCESS_TOKEN   the access token (exec_token_env renames it)\n"
	"  SPAREKEY_TENANT_ID      the organisation, where the grant has one\n"
	"  XERO_TENANT_ID          the same, for Xero (exec_tenant_env renames it)\n"
	"\n"
	"The refresh token is never exported. COMMAND replaces sparekey, so its\n"
	"exit status is the result; 126 or 127 when it cannot be run.\n"
	"\n"
	"Options:\n"
	"      --min-valid SECS  the token must stay valid this long (default: the\n"
	"                        profile's min_valid, else 60)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Example:\n"
	"  sparekey exec xero -- sh -c 'curl -H \"Authorization: Bearer $SPAREKEY_ACCESS_TOKEN\" \\\n"
	"      -H \"Xero-Tenant-Id: $XERO_TENANT_ID\" https://api.xero.com/api.xro/2.0/Invoices'\n";

enum { OPT_MIN_VALID };

static const struct command_option exec_options[] = {
	{ "min-valid", OPTION_VALUE, OPT_MIN_VALID },
	{ 0 },
};

struct exec_opts {
	long long min_valid;
};

static struct exec_opts exec_opts = { .min_valid = -1 };

static int exec_option(void *opts, int id, const char *value)
{
	struct exec_opts *o = opts;

	(void)id; /* only --min-valid */
	o->min_valid = parse_seconds(value, 86400);
	if (o->min_valid < 0) {
		return usage_error("exec ", "--min-valid needs seconds (0-86400), "
				   "not '%s'", value);
	}
	return 0;
}

static int run_exec(const struct command_call *call)
{
	const struct exec_opts *o = call->opts;
	const struct spk_profile *p = call->profile;
	const char *name = call->name;
	char **argv = call->args;
	struct spk_error err = { 0 };
	struct spk_grant g = { 0 };

	int r = profile_token(p, o->min_valid, &g);
	if (r != EXIT_OK) {
		return r;
	}
	const char *tenant = NULL;
	r = spk_tenant_for_api(p, &g, &tenant, &err);
	if (r < 0) {
		spk_grant_done(&g);
		return fail(name, &err);
	}
	struct spk_exec_env env;
	spk_provider_exec_env(p, &env);
	r = setenv(env.token, g.access_token, 1);
	if (r == 0 && tenant) {
		r = setenv(env.tenant, tenant, 1);
		if (r == 0 && env.tenant_alias) {
			r = setenv(env.tenant_alias, tenant, 1);
		}
	}
	spk_grant_done(&g);
	if (r < 0) {
		note("%s: cannot set up the environment (%s)", name, strerror(errno));
		return EXIT_INTERNAL;
	}
	fflush(stdout);
	execvp(argv[0], argv);
	int e = errno;
	note("%s: cannot run %s (%s)", name, argv[0], strerror(e));
	return e == ENOENT ? 127 : 126;
}

const struct command cmd_exec = {
	.name = "exec",
	.summary = "run a command with the token in its environment",
	.help = exec_help,
	.takes = TAKES_PROFILE_AND_COMMAND,
	.options = exec_options,
	.opts = &exec_opts,
	.set_option = exec_option,
	.run = run_exec,
};
