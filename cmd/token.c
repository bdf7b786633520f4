#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "flow.h"
#include "kube.h"
#include "output.h"
#include "paths.h"
#include "provider.h"
#include "secret.h"
#include "tenants.h"

static const char token_help[] =
	"Usage: sparekey token PROFILE [--min-valid SECS] [--header | --json | --exec-credential]\n"
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
	"      --exec-credential print a Kubernetes ExecCredential (kubectl's exec plugin):\n"
	"                        the token and its expiry, in the apiVersion\n"
	"                        KUBERNETES_EXEC_INFO asks for (v1 when unset)\n"
	"  -h, --help            show this help\n"
	"\n"
	"Examples:\n"
	"  sparekey token xero --header | curl -H @- https://api.xero.com/api.xro/2.0/Invoices\n"
	"  msmtp's passwordeval \"sparekey token gmail\" (the token on a pipe, never in argv)\n"
	"  kubeconfig user: exec: {command: sparekey, args: [token, kube, --exec-credential],\n"
	"      apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}\n";

enum { OPT_MIN_VALID, OPT_HEADER, OPT_JSON, OPT_EXEC_CREDENTIAL };

static const struct command_option token_options[] = {
	{ "min-valid", OPTION_VALUE, OPT_MIN_VALID },
	{ "header", OPTION_FLAG, OPT_HEADER },
	{ "json", OPTION_FLAG, OPT_JSON },
	{ "exec-credential", OPTION_FLAG, OPT_EXEC_CREDENTIAL },
	{ 0 },
};

struct token_opts {
	long long min_valid;
	bool header, json, exec_credential;
};

static struct token_opts token_opts = { .min_valid = -1 };

static int token_option(void *opts, int id, const char *value)
{
	struct token_opts *o = opts;

	switch (id) {
	case OPT_MIN_VALID:
		o->min_valid = parse_seconds(value, 86400);
		if (o->min_valid < 0) {
			return usage_error("token ",
					   "--min-valid needs seconds (0-86400), not '%s'", value);
		}
		break;
	case OPT_HEADER:
		o->header = true;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_EXEC_CREDENTIAL:
		o->exec_credential = true;
		break;
	}
	return 0;
}

static int token_check(const void *opts)
{
	const struct token_opts *o = opts;

	if (o->header + o->json + o->exec_credential > 1) {
		return usage_error("token ",
				   "choose one of --header, --json and --exec-credential");
	}
	return 0;
}

static int run_token(const struct command_call *call)
{
	const struct token_opts *o = call->opts;
	const struct spk_profile *p = call->profile;
	const char *name = call->name;
	struct spk_error err = { 0 };
	struct spk_grant g = { 0 };

	/* Before any refresh: a version we cannot answer in must not spend a token. */
	const char *kube_version = NULL;
	if (o->exec_credential &&
	    spk_kube_api_version(spk_env_kube_exec_info(), &kube_version, &err) < 0) {
		return fail(name, &err);
	}
	int r = profile_token(p, o->min_valid, &g);
	if (r != EXIT_OK) {
		return r;
	}
	const char *tenant = NULL;
	if ((o->header || o->json) && spk_tenant_for_api(p, &g, &tenant, &err) < 0) {
		spk_grant_done(&g);
		return fail(name, &err);
	}
	int status = EXIT_OK;
	if (o->exec_credential) {
		char *text = NULL;
		r = spk_kube_exec_credential(kube_version, g.access_token, g.expires_at, &text);
		if (r < 0) {
			note("%s: out of memory", name);
			status = EXIT_INTERNAL;
		} else {
			printf("%s\n", text);
			spk_secret_free(text);
		}
	} else if (o->json) {
		char *text = NULL;
		if (spk_grant_public_json(&g, tenant, &text) < 0) {
			status = EXIT_INTERNAL;
		} else {
			printf("%s\n", text);
			spk_secret_free(text);
		}
	} else if (o->header) {
		printf("Authorization: %s %s\n", spk_grant_token_type(&g), g.access_token);
		const char *tenant_header = spk_provider_tenant_header(p);
		if (tenant_header && tenant) {
			printf("%s: %s\n", tenant_header, tenant);
		}
	} else {
		printf("%s\n", g.access_token);
	}
	spk_grant_done(&g);
	return status;
}

const struct command cmd_token = {
	.name = "token",
	.summary = "print a valid access token",
	.help = token_help,
	.takes = TAKES_PROFILE,
	.options = token_options,
	.opts = &token_opts,
	.set_option = token_option,
	.check = token_check,
	.run = run_token,
};
