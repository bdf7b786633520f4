#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "flow.h"
#include "output.h"

const char token_help[] =
	"Usage: sparekey token PROFILE [--min-valid SECS]\n"
	"\n"
	"Print a valid access token for PROFILE on stdout, alone on its line.\n"
	"If the stored token expires within the margin, refresh it first (the\n"
	"rotated refresh token is stored before the new token is printed).\n"
	"\n"
	"Options:\n"
	"      --min-valid SECS  the token must stay valid this long (default: the\n"
	"                        profile's min_valid, else 60)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Example:\n"
	"  curl -H \"Authorization: Bearer $(sparekey token xero)\" https://api.xero.com/...\n";

int cmd_token(int argc, char **argv)
{
	enum { OPT_MIN_VALID = 256 };
	static const struct option options[] = {
		{ "min-valid", required_argument, NULL, OPT_MIN_VALID },
		{ 0 },
	};
	long long min_valid = -1;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_MIN_VALID:
			min_valid = parse_seconds(optarg, 86400);
			if (min_valid < 0) {
				return usage_error("token ", "--min-valid needs seconds (0-86400), not '%s'",
						   optarg);
			}
			break;
		default:
			return usage_error("token ", "unknown or incomplete option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind + 1 != argc) {
		return usage_error("token ", "token takes exactly one PROFILE name");
	}
	const char *name = argv[optind];
	struct spk_error err = { 0 };
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { 0 };

	int r = read_profile(name, &p, &err);
	if (r < 0) {
		return fail(name, &err);
	}
	r = spk_flow_token(&p, min_valid >= 0 ? min_valid : spk_flow_min_valid(&p), &g, &err);
	if (r < 0) {
		int status = fail(name, &err);
		notify_failure(&p, &err);
		spk_profile_done(&p);
		return status;
	}
	spk_profile_done(&p);
	printf("%s\n", g.access_token);
	spk_grant_done(&g);
	return EXIT_OK;
}
