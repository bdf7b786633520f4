#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "profile.h"
#include "provider.h"

const char login_help[] =
	"Usage: sparekey login PROFILE [OPTIONS]\n"
	"\n"
	"Sign in through the browser (authorization code with PKCE, redirect to a\n"
	"one-shot server on this machine's loopback address) and store the grant\n"
	"in the keyring. The options create or update PROFILE in the config file;\n"
	"later logins need only the profile name.\n"
	"\n"
	"Options:\n"
	"      --provider NAME  a preset: xero, or oidc (the default with --issuer)\n"
	"      --issuer URL     an OpenID Connect issuer; endpoints from its discovery\n"
	"      --client-id ID   the client (application) id registered with the provider\n"
	"      --scope \"S ...\"  scopes to ask for, on top of the preset's defaults\n"
	"      --port N         a redirect port; repeat for a list tried in order\n"
	"                       (default: xero 8749 8750 8751, others any free port)\n"
	"      --timeout SECS   how long to wait for the browser (default 300)\n"
	"  -h, --help           show this help\n"
	"\n"
	"The browser is $BROWSER if set, else xdg-open; the URL is also printed.\n"
	"\n"
	"Examples:\n"
	"  sparekey login xero --provider xero --client-id ID --scope accounting.invoices\n"
	"  sparekey login work --issuer https://id.example.com --client-id sparekey\n";

struct login_ui_state {
	const char *profile;
	int timeout_s;
};

static void on_authorize(void *userdata, const char *redirect_uri, const char *url)
{
	const struct login_ui_state *st = userdata;

	note("%s: redirect URI %s (it must be registered with the provider)", st->profile,
	     redirect_uri);
	note("%s: opening the browser; if it does not open, visit this URL:", st->profile);
	fprintf(stderr, "%s\n", url);
	if (open_browser(url) < 0) {
		note("%s: could not start a browser ($BROWSER or xdg-open); open the URL above "
		     "yourself", st->profile);
	}
	note("%s: waiting up to %d s for the browser to come back...", st->profile, st->timeout_s);
}

static int apply_scopes(struct spk_profile *p, const char *scope_arg)
{
	const struct spk_preset *preset = spk_provider_find(p->provider);
	if (scope_arg || !p->scopes) {
		char *s = spk_provider_scopes(preset, scope_arg ? scope_arg : p->scopes);
		if (!s) {
			return -1;
		}
		free(p->scopes);
		p->scopes = s;
	}
	return 0;
}

static void replace(char **field, const char *value)
{
	if (value) {
		free(*field);
		*field = strdup(value);
	}
}

int cmd_login(int argc, char **argv)
{
	enum { OPT_PROVIDER = 256, OPT_ISSUER, OPT_CLIENT_ID, OPT_SCOPE, OPT_PORT, OPT_TIMEOUT };
	static const struct option options[] = {
		{ "provider", required_argument, NULL, OPT_PROVIDER },
		{ "issuer", required_argument, NULL, OPT_ISSUER },
		{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ 0 },
	};
	const char *provider = NULL, *issuer = NULL, *client_id = NULL, *scope = NULL;
	unsigned ports[SPK_MAX_PORTS];
	size_t n_ports = 0;
	long long timeout = SPK_DEFAULT_LOGIN_TIMEOUT;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_PROVIDER:
			provider = optarg;
			break;
		case OPT_ISSUER:
			issuer = optarg;
			break;
		case OPT_CLIENT_ID:
			client_id = optarg;
			break;
		case OPT_SCOPE:
			scope = optarg;
			break;
		case OPT_PORT: {
			long long v = parse_seconds(optarg, 65535);
			if (v < 1) {
				return usage_error("login ", "--port needs a port number 1-65535, not '%s'",
						   optarg);
			}
			if (n_ports == SPK_MAX_PORTS) {
				return usage_error("login ", "at most %d --port options", SPK_MAX_PORTS);
			}
			ports[n_ports++] = (unsigned)v;
			break;
		}
		case OPT_TIMEOUT:
			timeout = parse_seconds(optarg, 86400);
			if (timeout < 1) {
				return usage_error("login ", "--timeout needs seconds (1-86400), not '%s'",
						   optarg);
			}
			break;
		default:
			return usage_error("login ", "unknown or incomplete option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind + 1 != argc) {
		return usage_error("login ", "login takes exactly one PROFILE name");
	}
	const char *name = argv[optind];
	if (!spk_profile_name_valid(name)) {
		return usage_error("login ", "'%s' is not a valid profile name (letters, digits, "
				   "'.', '_', '-'; at most 64)", name);
	}
	if (provider && !spk_provider_find(provider)) {
		return usage_error("login ", "unknown provider '%s' (known: %s)", provider,
				   spk_provider_names());
	}
	if (issuer && provider && strcmp(provider, "oidc") != 0) {
		return usage_error("login ", "--issuer goes with --provider oidc, not %s", provider);
	}

	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { 0 };
	int status;

	int r = spk_config_open(opt_config, &cfg, &err);
	if (r < 0) {
		return fail(name, &err);
	}
	r = spk_config_get(cfg, name, &p, &err);
	if (r == -ENOENT) {
		spk_error_clear(&err);
		p = (struct spk_profile)SPK_PROFILE_INIT;
		p.name = strdup(name);
	} else if (r < 0) {
		status = fail(name, &err);
		goto out;
	}
	if (issuer && !provider) {
		provider = "oidc";
	}
	if (provider && p.provider && strcmp(provider, p.provider) != 0) {
		/* Another provider: the old one's scopes and ports mean nothing there. */
		free(p.scopes);
		p.scopes = NULL;
		p.ports_set = false;
		p.n_ports = 0;
	}
	replace(&p.provider, provider);
	replace(&p.endpoints.issuer, issuer);
	replace(&p.client_id, client_id);
	if (!p.provider) {
		status = usage_error("login ", "%s is a new profile: name its provider with "
				     "--provider xero or --issuer URL", name);
		goto out;
	}
	if (!p.client_id) {
		status = usage_error("login ", "%s has no client id yet: add --client-id ID "
				     "(from the provider's developer portal)", name);
		goto out;
	}
	if (strcmp(p.provider, "oidc") == 0 && !p.endpoints.issuer) {
		status = usage_error("login ", "provider oidc needs --issuer URL");
		goto out;
	}
	if (apply_scopes(&p, scope) < 0) {
		status = EXIT_INTERNAL;
		goto out;
	}
	if (n_ports > 0) {
		memcpy(p.ports, ports, n_ports * sizeof(ports[0]));
		p.n_ports = n_ports;
		p.ports_set = true;
	}
	r = spk_config_put(cfg, &p, &err);
	if (r == 0) {
		r = spk_config_save(cfg, &err);
	}
	if (r < 0) {
		status = fail(name, &err);
		goto out;
	}

	struct login_ui_state st = { .profile = name, .timeout_s = (int)timeout };
	struct spk_login_ui ui = { .authorize = on_authorize, .userdata = &st };
	r = spk_flow_login(&p, (int)timeout, &ui, &g, &err);
	if (r < 0) {
		status = fail(name, &err);
		goto out;
	}

	char until[32], left[32];
	int64_t now = (int64_t)time(NULL);
	if (g.expires_at > 0) {
		note("%s: logged in%s%s; access token valid until %s (%s); grant stored in the "
		     "keyring%s", name, g.account ? " as " : "", g.account ? g.account : "",
		     format_time(g.expires_at, until, sizeof(until)),
		     format_duration(g.expires_at - now, left, sizeof(left)),
		     g.refresh_token ? " with a refresh token" : " (no refresh token was issued)");
	} else {
		note("%s: logged in%s%s; the provider did not say how long the access token "
		     "lasts; grant stored in the keyring", name, g.account ? " as " : "",
		     g.account ? g.account : "");
	}
	status = EXIT_OK;
out:
	spk_grant_done(&g);
	spk_profile_done(&p);
	spk_config_free(cfg);
	return status;
}
