/*
 * login: the flags over PROFILE's settings (a new profile is made), the
 * profile saved once the grant has a home, then the sign-in, which
 * login-view.c shows.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "flow.h"
#include "login-flags.h"
#include "login.h"
#include "output.h"
#include "profile.h"
#include "provider.h"
#include "secret.h"
#include "store-check.h"

static const char login_help[] =
	"Usage: sparekey login PROFILE [OPTIONS]\n"
	"\n"
	"Sign in and store the grant. By default through the browser\n"
	"(authorization code with PKCE, redirect to a one-shot server on this\n"
	"machine's loopback address). The options create or update PROFILE in the\n"
	"config file; later logins need only the profile name.\n"
	"\n"
	"Options:\n"
	"      --provider NAME         a preset: xero, google, microsoft, github, or oidc\n"
	"                              (the default with --issuer)\n"
	"      --issuer URL            an OpenID Connect issuer; endpoints from discovery\n"
	"      --client-id ID          the client id registered with the provider\n"
	"      --client-secret-file F  read the client secret from file F (- for stdin)\n"
	"                              and keep it in the store; never give it in argv\n"
	"      --client-auth HOW       none, post or basic (default: none without a\n"
	"                              secret, else the preset's)\n"
	"      --scope \"S ...\"         scopes to ask for, on top of the preset's defaults\n"
	"      --port N                a redirect port; repeat for a list tried in order\n"
	"                              (default: xero 8749 8750 8751, others any free port)\n"
	"      --tenant NAME|ID        the organisation to act on (Xero), when several\n"
	"                              are connected; kept in the profile\n"
	"      --cacert FILE           trust this CA bundle (PEM) for the provider, for\n"
	"                              private CAs; kept in the profile\n"
	"      --store secret|file|etcd  keep the grant in the keyring (default), in a\n"
	"                              0600 file under $XDG_STATE_HOME/sparekey, or in\n"
	"                              the etcd cluster of the profile's etcd_endpoints\n"
	"      --no-browser            do not open a browser; print the URL (over SSH,\n"
	"                              also the ssh -L line that forwards the port)\n"
	"      --paste                 also read the address the browser ended on (or\n"
	"                              the code) from stdin: for a browser elsewhere\n"
	"      --device                sign in on another device with a code (RFC 8628)\n"
	"      --client-credentials    no person: the client's own token (needs a secret)\n"
	"      --timeout SECS          how long to wait for the person (default 300)\n"
	"  -h, --help                  show this help\n"
	"\n"
	"The browser is $BROWSER if set, else xdg-open; the URL is also printed.\n"
	"Everything login shows goes to stderr.\n"
	"\n"
	"Examples:\n"
	"  sparekey login xero --provider xero --client-id ID --scope accounting.invoices\n"
	"  sparekey login work --issuer https://id.example.com --client-id sparekey\n"
	"  ssh server sparekey login xero --paste\n"
	"  sparekey login m2m --provider xero --client-id ID --client-credentials \\\n"
	"      --client-secret-file ~/xero-secret --scope accounting.invoices\n";

enum {
	OPT_PROVIDER,
	OPT_ISSUER,
	OPT_CLIENT_ID,
	OPT_SCOPE,
	OPT_PORT,
	OPT_TIMEOUT,
	OPT_SECRET_FILE,
	OPT_CLIENT_AUTH,
	OPT_STORE,
	OPT_NO_BROWSER,
	OPT_PASTE,
	OPT_DEVICE,
	OPT_CLIENT_CREDENTIALS,
	OPT_TENANT,
	OPT_CACERT,
};

static const struct command_option login_options[] = {
	{ "provider", OPTION_VALUE, OPT_PROVIDER },
	{ "issuer", OPTION_VALUE, OPT_ISSUER },
	{ "client-id", OPTION_VALUE, OPT_CLIENT_ID },
	{ "client-secret-file", OPTION_VALUE, OPT_SECRET_FILE },
	{ "client-auth", OPTION_VALUE, OPT_CLIENT_AUTH },
	{ "scope", OPTION_VALUE, OPT_SCOPE },
	{ "port", OPTION_VALUE, OPT_PORT },
	{ "store", OPTION_VALUE, OPT_STORE },
	{ "no-browser", OPTION_FLAG, OPT_NO_BROWSER },
	{ "paste", OPTION_FLAG, OPT_PASTE },
	{ "device", OPTION_FLAG, OPT_DEVICE },
	{ "client-credentials", OPTION_FLAG, OPT_CLIENT_CREDENTIALS },
	{ "tenant", OPTION_VALUE, OPT_TENANT },
	{ "cacert", OPTION_VALUE, OPT_CACERT },
	{ "timeout", OPTION_VALUE, OPT_TIMEOUT },
	{ 0 },
};

struct login_opts {
	const char *provider, *issuer, *client_id, *scope;
	const char *secret_file, *store, *tenant;
	char cacert[PATH_MAX]; /* absolute, or "" */
	enum spk_client_auth client_auth;
	bool no_browser, paste, device, client_credentials;
	unsigned ports[SPK_MAX_PORTS];
	size_t n_ports;
	long long timeout;
};

static struct login_opts login_opts = {
	.client_auth = SPK_CLIENT_AUTH_DEFAULT,
	.timeout = SPK_DEFAULT_LOGIN_TIMEOUT,
};

/* An option whose value needs reading: a usage error when it is not one. */
static int login_value_option(struct login_opts *o, int id, const char *value)
{
	switch (id) {
	case OPT_CLIENT_AUTH:
		if (spk_client_auth_from_string(value, &o->client_auth) < 0) {
			return usage_error("login ",
					   "--client-auth is none, post or basic, not '%s'", value);
		}
		break;
	case OPT_STORE:
		if (strcmp(value, "secret") != 0 && strcmp(value, "file") != 0 &&
		    strcmp(value, "etcd") != 0) {
			return usage_error("login ", "--store is secret, file or etcd, not '%s'",
					   value);
		}
		o->store = value;
		break;
	case OPT_CACERT:
		if (!realpath(value, o->cacert)) {
			return usage_error("login ", "--cacert %s: %s", value, strerror(errno));
		}
		break;
	case OPT_PORT: {
		long long v = parse_seconds(value, 65535);
		if (v < 1) {
			return usage_error("login ", "--port needs a port number 1-65535, not '%s'",
					   value);
		}
		if (o->n_ports == SPK_MAX_PORTS) {
			return usage_error("login ", "at most %d --port options", SPK_MAX_PORTS);
		}
		o->ports[o->n_ports++] = (unsigned)v;
		break;
	}
	case OPT_TIMEOUT:
		o->timeout = parse_seconds(value, 86400);
		if (o->timeout < 1) {
			return usage_error("login ", "--timeout needs seconds (1-86400), not '%s'",
					   value);
		}
		break;
	}
	return 0;
}

static int login_option(void *opts, int id, const char *value)
{
	struct login_opts *o = opts;

	switch (id) {
	case OPT_PROVIDER:
		o->provider = value;
		break;
	case OPT_ISSUER:
		o->issuer = value;
		break;
	case OPT_CLIENT_ID:
		o->client_id = value;
		break;
	case OPT_SECRET_FILE:
		o->secret_file = value;
		break;
	case OPT_SCOPE:
		o->scope = value;
		break;
	case OPT_TENANT:
		o->tenant = value;
		break;
	case OPT_NO_BROWSER:
		o->no_browser = true;
		break;
	case OPT_PASTE:
		o->paste = true;
		break;
	case OPT_DEVICE:
		o->device = true;
		break;
	case OPT_CLIENT_CREDENTIALS:
		o->client_credentials = true;
		break;
	default:
		return login_value_option(o, id, value);
	}
	return 0;
}

/* Flags that do not go together, before anything is read. */
static int login_check(const void *opts)
{
	const struct login_opts *o = opts;

	if (o->provider && !spk_provider_find(o->provider)) {
		return usage_error("login ", "unknown provider '%s' (known: %s)", o->provider,
				   spk_provider_names());
	}
	if (o->issuer && o->provider && strcmp(o->provider, "oidc") != 0) {
		return usage_error("login ", "--issuer goes with --provider oidc, not %s",
				   o->provider);
	}
	if (o->device + o->client_credentials + o->paste > 1) {
		return usage_error("login ",
				   "choose one of --paste, --device and --client-credentials");
	}
	if (o->paste && o->secret_file && strcmp(o->secret_file, "-") == 0) {
		return usage_error("login ",
				   "--paste reads stdin, so the secret must come from a file");
	}
	return 0;
}

#define SECRET_FILE_MAX 4096

/* Read a client secret from path ("-": stdin); one line, trailing newline dropped. */
static int read_secret_file(const char *path, char **ret)
{
	char buf[SECRET_FILE_MAX + 1];
	size_t len = 0;
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		return -errno;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
		if (len == sizeof(buf) - 1) {
			break;
		}
	}
	if (fd != STDIN_FILENO) {
		close(fd);
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	int r = 0;
	if (len == SECRET_FILE_MAX || buf[0] == '\0') {
		r = -EINVAL;
	} else {
		*ret = strdup(buf);
		r = *ret ? 0 : -ENOMEM;
	}
	explicit_bzero(buf, sizeof(buf));
	return r;
}

static int out_of_memory(const char *name)
{
	struct spk_error err = { 0 };

	spk_error_set(&err, SPK_ERR_INTERNAL, -ENOMEM, "out of memory");
	return fail(name, &err);
}

/* PROFILE from the config, or a new one with only its name: EXIT_OK or the status. */
static int open_profile(struct spk_config *cfg, const char *name, struct spk_profile *p)
{
	struct spk_error err = { 0 };

	int r = spk_config_get(cfg, name, p, &err);
	if (r == -ENOENT) {
		*p = (struct spk_profile)SPK_PROFILE_INIT;
		p->name = strdup(name);
		p->config_path = strdup(spk_config_path(cfg));
		if (!p->name || !p->config_path) {
			return out_of_memory(name);
		}
	} else if (r < 0) {
		return fail(name, &err);
	}
	return EXIT_OK;
}

/* The flags over the profile's settings: EXIT_OK, or the status of what is missing. */
static int apply_flags(struct spk_profile *p, const struct login_opts *o, const char *name)
{
	struct spk_error err = { 0 };
	struct spk_login_flags flags = {
		.provider = o->provider,
		.issuer = o->issuer,
		.client_id = o->client_id,
		.scope = o->scope,
		.store = o->store,
		.tenant = o->tenant,
		.cacert = o->cacert[0] ? o->cacert : NULL,
		.client_auth = o->client_auth,
		.client_credentials = o->client_credentials,
		.ports = o->ports,
		.n_ports = o->n_ports,
	};

	if (spk_login_flags_apply(p, &flags, &err) < 0) {
		return err.kind == SPK_ERR_USAGE ? usage_error("login ", "%s", err.msg)
						 : fail(name, &err);
	}
	return EXIT_OK;
}

/*
 * Before anything is written or a browser opened: the grant must have a
 * home. Then the profile is saved. EXIT_OK or the status.
 */
static int save_profile(struct spk_config *cfg, const struct spk_profile *p,
			const struct command_call *call)
{
	const char *name = call->name;
	struct spk_error err = { 0 };

	int r = spk_store_check(p, &err);
	if (r < 0) {
		bool file_store = p->store &&
				  (strcmp(p->store, "file") == 0 || strcmp(p->store, "etcd") == 0);
		return file_store ? fail(name, &err)
				  : login_store_unreachable(name, &err, call->n_options, call->argv,
							    login_options);
	}
	r = spk_config_put(cfg, p, &err);
	if (r == 0) {
		r = spk_config_save(cfg, &err);
	}
	return r < 0 ? fail(name, &err) : EXIT_OK;
}

/* The sign-in, shown to the person; the grant stored in *g. EXIT_OK or the status. */
static int sign_in(const struct spk_profile *p, const struct login_opts *o, const char *secret,
		   struct spk_grant *g)
{
	const char *name = p->name;
	struct spk_error err = { 0 };
	_cleanup_free_ char *uris = spk_provider_redirect_uris(p);
	struct login_view view = {
		.profile = name,
		.timeout_s = (int)o->timeout,
		.open_browser = !o->no_browser && !o->paste,
		.paste = o->paste,
		.register_uris = uris,
		.live = stderr_is_terminal() && !o->paste,
	};
	struct spk_login_ui ui = login_view_ui(&view, !o->client_credentials);
	struct spk_login_options lo = {
		.mode = o->device               ? SPK_LOGIN_DEVICE
			: o->client_credentials ? SPK_LOGIN_CLIENT_CREDENTIALS
						: SPK_LOGIN_BROWSER,
		.timeout_s = (int)o->timeout,
		.paste_fd = o->paste ? STDIN_FILENO : -1,
		.client_secret = secret,
	};

	login_view_begin(&view);
	int r = spk_flow_login(p, &lo, &ui, g, &err);
	login_view_end(&view);
	if (r < 0) {
		if (uris && (strcmp(err.oauth, "unauthorized_client") == 0 ||
			     strcmp(err.oauth, "invalid_request") == 0)) {
			/* Xero and others refuse a redirect URI the app has not registered. */
			size_t n = strlen(err.msg);
			snprintf(err.msg + n, sizeof(err.msg) - n,
				 ". Check that the app registers every redirect URI: %s", uris);
		}
		return fail(name, &err);
	}
	return EXIT_OK;
}

static int run_login(const struct command_call *call)
{
	const struct login_opts *o = call->opts;
	const char *name = call->name;
	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { 0 };
	char *secret = NULL;
	int status;

	if (o->secret_file) {
		int r = read_secret_file(o->secret_file, &secret);
		if (r < 0) {
			note("%s: cannot read the client secret from %s (%s)", name,
			     strcmp(o->secret_file, "-") == 0 ? "stdin" : o->secret_file,
			     r == -EINVAL ? "empty or too long" : strerror(-r));
			return EXIT_CONFIG;
		}
	}
	if (spk_config_open(opt_config, &cfg, &err) < 0) {
		status = fail(name, &err);
		goto out;
	}
	status = open_profile(cfg, name, &p);
	if (status == EXIT_OK) {
		status = apply_flags(&p, o, name);
	}
	if (status == EXIT_OK) {
		status = save_profile(cfg, &p, call);
	}
	if (status == EXIT_OK) {
		status = sign_in(&p, o, secret, &g);
	}
	if (status == EXIT_OK) {
		login_view_logged_in(&p, &g, o->client_credentials);
	}
out:
	spk_secret_free(secret);
	spk_grant_done(&g);
	spk_profile_done(&p);
	spk_config_free(cfg);
	return status;
}

const struct command cmd_login = {
	.name = "login",
	.summary = "sign in through the browser and store the grant",
	.help = login_help,
	.takes = TAKES_NEW_NAME,
	.options = login_options,
	.opts = &login_opts,
	.set_option = login_option,
	.check = login_check,
	.run = run_login,
};
