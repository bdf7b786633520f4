#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "provider.h"
#include "secret.h"
#include "tenants.h"

const char token_help[] =
	"Usage: sparekey token PROFILE [--min-valid SECS] [--header | --json]\n"
	"\n"
	"Print a valid access token for PROFILE on stdout, alone on its line.\n"
	"If the stored token expires within the margin, refresh it first (the\n"
	"rotated refresh token is stored before the new token is printed, and is\n"
	"stored even if sparekey is killed while the refresh is on its way).\n"
	"A token whose expiry the provider did not give is refreshed after the\n"
	"profile's assume_lifetime (default 3600 s).\n"
	"\n"
	"Options:\n"
	"      --min-valid SECS  the token must stay valid this long (default: the\n"
	"                        profile's min_valid, else 60)\n"
	"      --header          print HTTP headers instead, one per line, for curl -H @-:\n"
	"                        Authorization: Bearer …, and Xero-Tenant-Id: … for Xero\n"
	"      --json            print access_token, expires_at, token_type, scope and\n"
	"                        tenant_id as JSON, null where unknown (never the\n"
	"                        refresh token)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Examples:\n"
	"  curl -H \"Authorization: Bearer $(sparekey token xero)\" https://api.xero.com/...\n"
	"  sparekey token xero --header | curl -H @- https://api.xero.com/api.xro/2.0/Invoices\n";

int cmd_token(int argc, char **argv)
{
	enum { OPT_MIN_VALID = 256, OPT_HEADER, OPT_JSON };
	static const struct option options[] = {
		{ "min-valid", required_argument, NULL, OPT_MIN_VALID },
		{ "header", no_argument, NULL, OPT_HEADER },
		{ "json", no_argument, NULL, OPT_JSON },
		{ 0 },
	};
	long long min_valid = -1;
	bool header = false, json = false;
	int c;
	char optbuf[64];

	opterr = 0;
	while ((c = getopt_exact(argc, argv, "", options)) != -1) {
		switch (c) {
		case OPT_MIN_VALID:
			min_valid = parse_seconds(optarg, 86400);
			if (min_valid < 0) {
				return usage_error("token ", "--min-valid needs seconds (0-86400), not '%s'",
						   optarg);
			}
			break;
		case OPT_HEADER:
			header = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		default:
			return usage_error("token ", "unknown or incomplete option '%s'",
					   bad_option(argv, optbuf, sizeof(optbuf)));
		}
	}
	if (optind + 1 != argc) {
		return usage_error("token ", "token takes exactly one PROFILE name");
	}
	if (header && json) {
		return usage_error("token ", "choose --header or --json");
	}
	const char *name = argv[optind];
	struct spk_error err = { 0 };
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { 0 };

	int r = profile_token(name, min_valid, &p, &g);
	if (r != EXIT_OK) {
		return r;
	}
	const char *tenant = NULL;
	if ((header || json) && spk_tenant_for_api(&p, &g, &tenant, &err) < 0) {
		spk_grant_done(&g);
		int status = fail(name, &err);
		spk_profile_done(&p);
		return status;
	}
	int status = EXIT_OK;
	if (json) {
		char *text = NULL;
		if (spk_grant_public_json(&g, tenant, &text) < 0) {
			status = EXIT_INTERNAL;
		} else {
			printf("%s\n", text);
			spk_secret_free(text);
		}
	} else if (header) {
		printf("Authorization: %s %s\n", spk_grant_token_type(&g), g.access_token);
		const char *tenant_header = spk_provider_tenant_header(&p);
		if (tenant_header && tenant) {
			printf("%s: %s\n", tenant_header, tenant);
		}
	} else {
		printf("%s\n", g.access_token);
	}
	spk_grant_done(&g);
	spk_profile_done(&p);
	return status;
}
