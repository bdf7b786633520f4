#include <getopt.h>
#include <stdio.h>
#include <time.h>

#include "commands.h"
#include "flow.h"
#include "output.h"

const char refresh_help[] =
	"Usage: sparekey refresh PROFILE...\n"
	"\n"
	"Refresh the grant of each PROFILE now, whether or not its access token\n"
	"has expired, and store the result. Run it from a timer to keep refresh\n"
	"tokens alive (Xero's expire after 60 days unused). A failure never\n"
	"deletes a stored grant.\n"
	"\n"
	"The exit status is that of the first profile that failed.\n";

int cmd_refresh(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", (const struct option[]){ { 0 } }, NULL)) != -1) {
		return usage_error("refresh ", "unknown option '%s'", argv[optind - 1]);
	}
	if (optind >= argc) {
		return usage_error("refresh ", "name at least one PROFILE");
	}
	int status = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		const char *name = argv[i];
		struct spk_error err = { 0 };
		struct spk_profile p = { .min_valid = -1 };
		struct spk_grant g = { 0 };
		char left[32];

		int r = read_profile(name, &p, &err);
		if (r == 0) {
			r = spk_flow_refresh(&p, &g, &err);
		}
		if (r < 0) {
			int s = fail(name, &err);
			if (status == EXIT_OK) {
				status = s;
			}
		} else if (g.expires_at > 0) {
			note("%s: refreshed; access token valid for %s", name,
			     format_duration(g.expires_at - (int64_t)time(NULL), left, sizeof(left)));
		} else {
			note("%s: refreshed", name);
		}
		spk_grant_done(&g);
		spk_profile_done(&p);
	}
	return status;
}
