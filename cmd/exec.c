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
	"Usage: sparekey exec PROFILE [--min-valid SECS] [--keep-fresh] -- COMMAND [ARG...]\n"
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
	"With --keep-fresh, for jobs that outlive a token, sparekey stays as COMMAND's\n"
	"parent and also gives it:\n"
	"\n"
	"  SPAREKEY_ACCESS_TOKEN_FILE  a 0600 file in $XDG_RUNTIME_DIR/sparekey holding\n"
	"                              the token (no newline), replaced whole before\n"
	"                              the token comes within the margin of its end\n"
	"  BEARER_TOKEN_FILE           the same file (the WLCG bearer-token convention)\n"
	"\n"
	"Read the token from the file each time it is used. A failed refresh is\n"
	"said on stderr, sent to notify_cmd and tried again; COMMAND runs on.\n"
	"SIGINT, SIGTERM and SIGHUP are passed on to COMMAND; the exit status is\n"
	"COMMAND's (128 + N if signal N ended it), and the file is removed.\n"
	"\n"
	"Options:\n"
	"      --min-valid SECS  the token must stay valid this long (default: the\n"
	"                        profile's min_valid, else 60)\n"
	"      --keep-fresh      stay, and keep the token in the file fresh (above)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Example:\n"
	"  sparekey exec xero -- sh -c 'curl -H \"Authorization: Bearer $SPAREKEY_ACCESS_TOKEN\" "
	"\\\n"
	"      -H \"Xero-Tenant-Id: $XERO_TENANT_ID\" https://api.xero.com/api.xro/2.0/Invoices'\n"
	"  sparekey exec --keep-fresh xero -- ./sync-for-hours.sh\n";

enum { OPT_MIN_VALID, OPT_KEEP_FRESH };

static const struct command_option exec_options[] = {
	{ "min-valid", OPTION_VALUE, OPT_MIN_VALID },
	{ "keep-fresh", OPTION_FLAG, OPT_KEEP_FRESH },
	{ 0 },
};

struct exec_opts {
	long long min_valid;
	bool keep_fresh;
};

static struct exec_opts exec_opts = { .min_valid = -1 };

static int exec_option(void *opts, int id, const char *value)
{
	struct exec_opts *o = opts;

	if (id == OPT_KEEP_FRESH) {
		o->keep_fresh = true;
		return 0;
	}
	o->min_valid = parse_seconds(value, 86400);
	if (o->min_valid < 0) {
		return usage_error("exec ",
				   "--min-valid needs seconds (0-86400), "
				   "not '%s'",
				   value);
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
	if (r < 0) {
		note("%s: cannot set up the environment (%s)", name, strerror(errno));
		spk_grant_done(&g);
		return EXIT_INTERNAL;
	}
	if (o->keep_fresh) {
		int status = exec_keep_fresh(p, &g, o->min_valid, argv);
		spk_grant_done(&g);
		return status;
	}
	spk_grant_done(&g);
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
