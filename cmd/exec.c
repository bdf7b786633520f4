#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "tenants.h"
#include "provider.h"

const char exec_help[] =
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

int cmd_exec(int argc, char **argv)
{
	enum { OPT_MIN_VALID = 256 };
	static const struct option options[] = {
		{ "min-valid", required_argument, NULL, OPT_MIN_VALID },
		{ 0 },
	};
	long long min_valid = -1;
	int c;
	char optbuf[64];

	const char *name = NULL;
	opterr = 0;
	/*
	 * Options may come before and after PROFILE; '+' stops at "--" or at
	 * COMMAND, whose options are its own.
	 */
	for (int pass = 0; pass < 2; pass++) {
		while ((c = getopt_exact(argc, argv, "+", options)) != -1) {
			switch (c) {
			case OPT_MIN_VALID:
				min_valid = parse_seconds(optarg, 86400);
				if (min_valid < 0) {
					return usage_error("exec ", "--min-valid needs seconds (0-86400), "
							   "not '%s'", optarg);
				}
				break;
			default:
				return usage_error("exec ", "unknown option '%s'", bad_option(argv, optbuf, sizeof(optbuf)));
			}
		}
		if (pass == 0) {
			if (optind >= argc || strcmp(argv[optind - 1], "--") == 0) {
				return usage_error("exec ", "exec needs a PROFILE and, after --, a COMMAND");
			}
			name = argv[optind++];
		}
	}
	if (optind >= argc) {
		return usage_error("exec ", "exec needs a COMMAND after --");
	}

	struct spk_error err = { 0 };
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { 0 };
	int r = profile_token(name, min_valid, &p, &g);
	if (r != EXIT_OK) {
		return r;
	}
	const char *tenant = NULL;
	r = spk_tenant_for_api(&p, &g, &tenant, &err);
	if (r < 0) {
		spk_grant_done(&g);
		int status = fail(name, &err);
		spk_profile_done(&p);
		return status;
	}
	struct spk_exec_env env;
	spk_provider_exec_env(&p, &env);
	r = setenv(env.token, g.access_token, 1);
	if (r == 0 && tenant) {
		r = setenv(env.tenant, tenant, 1);
		if (r == 0 && env.tenant_alias) {
			r = setenv(env.tenant_alias, tenant, 1);
		}
	}
	spk_grant_done(&g);
	spk_profile_done(&p);
	if (r < 0) {
		note("%s: cannot set up the environment (%s)", name, strerror(errno));
		return EXIT_INTERNAL;
	}
	fflush(stdout);
	execvp(argv[optind], argv + optind);
	int e = errno;
	note("%s: cannot run %s (%s)", name, argv[optind], strerror(e));
	return e == ENOENT ? 127 : 126;
}
