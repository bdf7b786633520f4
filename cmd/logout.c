#include <errno.h>
#include <stdio.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "provider.h"

static const char logout_help[] =
	"Usage: sparekey logout PROFILE [--keep-remote]\n"
	"\n"
	"Revoke PROFILE's grant at the provider (RFC 7009; at Xero this also\n"
	"removes the app's connections), then delete the grant and the client\n"
	"secret here. The profile's settings stay in the config file.\n"
	"\n"
	"If revocation fails, the local grant is deleted anyway and the failure\n"
	"is reported (with its exit status). A provider without a revocation\n"
	"endpoint (GitHub) gets a warning saying where to revoke the app's access\n"
	"by hand, and the exit status is 0.\n"
	"\n"
	"Options:\n"
	"      --keep-remote  do not revoke; only forget the grant here\n"
	"  -h, --help         show this help\n";

enum { OPT_KEEP_REMOTE };

static const struct command_option logout_options[] = {
	{ "keep-remote", OPTION_FLAG, OPT_KEEP_REMOTE },
	{ 0 },
};

static bool logout_keep_remote; /* its one option */

static int run_logout(const struct command_call *call)
{
	bool keep_remote = *(const bool *)call->opts;
	const struct spk_profile *p = call->profile;
	const char *name = call->name;
	struct spk_error err = { 0 };

	int r = spk_flow_logout(p, keep_remote, &err);
	if (r == SPK_LOGOUT_NOT_REVOKED) {
		const char *where = spk_provider_manage_url(p);
		note("%s: logged out here; the provider has no revocation endpoint, so the grant "
		     "stays valid there until it expires. Revoke sparekey's access in your "
		     "account's settings%s%s",
		     name, where ? " at " : " at the provider", where ? where : "");
		return EXIT_OK;
	}
	if (r == -ENOENT) {
		note("%s: nothing was stored; nothing to do", name);
		return EXIT_OK;
	}
	if (r < 0) {
		return fail(name, &err);
	}
	note(keep_remote ? "%s: logged out here; the grant was not revoked at the provider"
			 : "%s: logged out; the grant was revoked at the provider and deleted here",
	     name);
	return EXIT_OK;
}

const struct command cmd_logout = {
	.name = "logout",
	.summary = "revoke the grant and delete it here",
	.help = logout_help,
	.takes = TAKES_PROFILE,
	.options = logout_options,
	.opts = &logout_keep_remote,
	.set_option = set_flag_option,
	.run = run_logout,
};
