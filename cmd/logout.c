#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "provider.h"

const char logout_help[] =
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

int cmd_logout(int argc, char **argv)
{
	enum { OPT_KEEP_REMOTE = 256 };
	static const struct option options[] = {
		{ "keep-remote", no_argument, NULL, OPT_KEEP_REMOTE },
		{ 0 },
	};
	bool keep_remote = false;
	int c;
	char optbuf[64];

	opterr = 0;
	while ((c = getopt_exact(argc, argv, "", options)) != -1) {
		switch (c) {
		case OPT_KEEP_REMOTE:
			keep_remote = true;
			break;
		default:
			return usage_error("logout ", "unknown option '%s'", bad_option(argv, optbuf, sizeof(optbuf)));
		}
	}
	if (optind + 1 != argc) {
		return usage_error("logout ", "logout takes exactly one PROFILE name");
	}
	const char *name = argv[optind];
	struct spk_error err = { 0 };
	struct spk_profile p = SPK_PROFILE_INIT;

	int r = read_profile(name, &p, &err);
	if (r < 0) {
		return fail(name, &err);
	}
	r = spk_flow_logout(&p, keep_remote, &err);
	if (r == SPK_LOGOUT_NOT_REVOKED) {
		const char *where = spk_provider_manage_url(&p);
		note("%s: logged out here; the provider has no revocation endpoint, so the grant "
		     "stays valid there until it expires. Revoke sparekey's access in your "
		     "account's settings%s%s", name, where ? " at " : " at the provider",
		     where ? where : "");
		spk_profile_done(&p);
		return EXIT_OK;
	}
	spk_profile_done(&p);
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
