#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "flow.h"
#include "login-flags.h"
#include "output.h"
#include "profile.h"
#include "provider.h"
#include "secret.h"
#include "store-check.h"
#include "tenants.h"

const char login_help[] =
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
	"      --store secret|file     keep the grant in the keyring (default) or in a\n"
	"                              0600 file under $XDG_STATE_HOME/sparekey\n"
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

struct login_ui_state {
	const char *profile;
	int timeout_s;
	bool open_browser;
	bool paste;
	const char *register_uris; /* every redirect URI the app must allow, or NULL */
	bool live;                 /* stderr is a terminal: a countdown line */
	bool counting;             /* the countdown line is on screen */
};

/* What Ctrl-C can still promise: set before each step. */
static volatile sig_atomic_t interrupt_safe;
static char interrupt_msg[160];

static void on_interrupt(int sig)
{
	(void)sig;
	if (interrupt_safe) {
		ssize_t n = write(STDERR_FILENO, interrupt_msg, strlen(interrupt_msg));
		(void)n;
		_exit(130);
	}
}

/* "[2/3] ..." in bold on a terminal. */
static void step(const struct login_ui_state *st, int n, const char *what)
{
	fprintf(stderr, "%s[%d/3]%s %s: %s\n", style_bold(), n, style_off(), st->profile, what);
}

static void end_countdown(struct login_ui_state *st)
{
	if (st->counting) {
		fputs("\r\033[K", stderr);
		st->counting = false;
	}
}

static void on_tick(void *userdata, int left)
{
	struct login_ui_state *st = userdata;

	if (!st->live) {
		return;
	}
	fprintf(stderr, "\r\033[K      waiting %d:%02d more (Ctrl-C to cancel)", left / 60, left % 60);
	fflush(stderr);
	st->counting = true;
}

static void on_exchanging(void *userdata)
{
	struct login_ui_state *st = userdata;

	/* From here on the grant is being stored: finish rather than leave half. */
	interrupt_safe = 0;
	signal(SIGINT, SIG_IGN);
	end_countdown(st);
	step(st, 3, "the browser came back; fetching and storing the grant");
}

/* Over SSH, the browser is on the laptop: it must reach our port through a tunnel. */
static void ssh_hint(const char *profile, unsigned port)
{
	const char *conn = getenv("SSH_CONNECTION");
	const char *user = getenv("USER");
	char server[64] = "";

	if (!conn || sscanf(conn, "%*s %*s %63s", server) != 1) {
		return;
	}
	if (!user || !*user) {
		user = getenv("LOGNAME");
	}
	note("%s: this is an SSH session; on the machine with the browser, first run:", profile);
	fprintf(stderr, "ssh -N -L %u:127.0.0.1:%u %s%s%s\n", port, port, user ? user : "",
		user ? "@" : "", server);
}

static void on_authorize(void *userdata, const char *redirect_uri, unsigned port, const char *url)
{
	const struct login_ui_state *st = userdata;

	step(st, 1, st->open_browser ? "opening the browser at the provider's sign-in page"
				     : "sign in at the provider with a browser");
	if (st->register_uris) {
		note("%s: redirect URI %s; register all of these with the app, exactly: %s",
		     st->profile, redirect_uri, st->register_uris);
	} else {
		note("%s: redirect URI %s (it must be registered with the provider)", st->profile,
		     redirect_uri);
	}
	ssh_hint(st->profile, port);
	if (st->open_browser) {
		note("%s: opening the browser; if it does not open, visit this URL:", st->profile);
	} else {
		note("%s: open this URL in a browser:", st->profile);
	}
	fprintf(stderr, "%s\n", url);
	if (st->open_browser && open_browser(url) < 0) {
		note("%s: could not start a browser ($BROWSER or xdg-open); open the URL above "
		     "yourself", st->profile);
	}
	step(st, 2, "waiting for you to sign in and consent");
	if (st->paste) {
		note("%s: after you sign in, the browser ends on an address that may not load; "
		     "paste that address (or the code) here and press Enter:", st->profile);
	} else if (!st->live) {
		note("%s: waiting up to %d s for the browser to come back...", st->profile,
		     st->timeout_s);
	}
}

static void on_device(void *userdata, const char *user_code, const char *uri,
		      const char *uri_complete, int64_t expires_in)
{
	const struct login_ui_state *st = userdata;

	step(st, 1, "sign in on any device with a code");
	note("%s: on any device, open this address:", st->profile);
	fprintf(stderr, "%s\n", uri);
	note("%s: and enter the code %s", st->profile, user_code);
	if (uri_complete) {
		note("%s: or open this address, which holds the code:", st->profile);
		fprintf(stderr, "%s\n", uri_complete);
	}
	step(st, 2, "waiting for you to sign in and consent");
	if (!st->live) {
		note("%s: waiting up to %lld s for the sign-in...", st->profile,
		     (long long)(expires_in < st->timeout_s ? expires_in : st->timeout_s));
	}
}

/* Several organisations: on a terminal, ask; elsewhere the first is taken. */
static int on_pick_tenant(void *userdata, const struct spk_tenant *tenants, size_t n)
{
	const struct login_ui_state *st = userdata;
	char line[32];

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		note("%s: %zu organisations are connected; using the first, %s. Choose another with "
		     "sparekey login %s --tenant NAME", st->profile, n,
		     tenants[0].name ? tenants[0].name : tenants[0].id, st->profile);
		return 0;
	}
	note("%s: %zu organisations are connected; which one should API calls use?",
	     st->profile, n);
	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "  %zu) %s (%s)\n", i + 1, tenants[i].name ? tenants[i].name : "?",
			tenants[i].id);
	}
	for (;;) {
		fprintf(stderr, "number [1]: ");
		if (!fgets(line, sizeof(line), stdin)) {
			return 0;
		}
		char *end;
		long v = strtol(line, &end, 10);
		if (line[0] == '\n') {
			return 0;
		}
		if (end != line && v >= 1 && (size_t)v <= n) {
			return (int)v - 1;
		}
	}
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

int cmd_login(int argc, char **argv)
{
	enum {
		OPT_PROVIDER = 256, OPT_ISSUER, OPT_CLIENT_ID, OPT_SCOPE, OPT_PORT, OPT_TIMEOUT,
		OPT_SECRET_FILE, OPT_CLIENT_AUTH, OPT_STORE, OPT_NO_BROWSER, OPT_PASTE,
		OPT_DEVICE, OPT_CLIENT_CREDENTIALS, OPT_TENANT, OPT_CACERT,
	};
	static const struct option options[] = {
		{ "provider", required_argument, NULL, OPT_PROVIDER },
		{ "issuer", required_argument, NULL, OPT_ISSUER },
		{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
		{ "client-secret-file", required_argument, NULL, OPT_SECRET_FILE },
		{ "client-auth", required_argument, NULL, OPT_CLIENT_AUTH },
		{ "scope", required_argument, NULL, OPT_SCOPE },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "no-browser", no_argument, NULL, OPT_NO_BROWSER },
		{ "paste", no_argument, NULL, OPT_PASTE },
		{ "device", no_argument, NULL, OPT_DEVICE },
		{ "client-credentials", no_argument, NULL, OPT_CLIENT_CREDENTIALS },
		{ "tenant", required_argument, NULL, OPT_TENANT },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ 0 },
	};
	const char *provider = NULL, *issuer = NULL, *client_id = NULL, *scope = NULL;
	const char *secret_file = NULL, *store = NULL, *tenant = NULL;
	char cacert[PATH_MAX] = "";
	enum spk_client_auth client_auth = SPK_CLIENT_AUTH_DEFAULT;
	bool no_browser = false, paste = false, device = false, client_credentials = false;
	unsigned ports[SPK_MAX_PORTS];
	size_t n_ports = 0;
	long long timeout = SPK_DEFAULT_LOGIN_TIMEOUT;
	int c;
	char optbuf[64];

	opterr = 0;
	while ((c = getopt_exact(argc, argv, "", options)) != -1) {
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
		case OPT_SECRET_FILE:
			secret_file = optarg;
			break;
		case OPT_CLIENT_AUTH:
			if (spk_client_auth_from_string(optarg, &client_auth) < 0) {
				return usage_error("login ", "--client-auth is none, post or basic, not '%s'",
						   optarg);
			}
			break;
		case OPT_SCOPE:
			scope = optarg;
			break;
		case OPT_STORE:
			if (strcmp(optarg, "secret") != 0 && strcmp(optarg, "file") != 0) {
				return usage_error("login ", "--store is secret or file, not '%s'", optarg);
			}
			store = optarg;
			break;
		case OPT_NO_BROWSER:
			no_browser = true;
			break;
		case OPT_PASTE:
			paste = true;
			break;
		case OPT_DEVICE:
			device = true;
			break;
		case OPT_CLIENT_CREDENTIALS:
			client_credentials = true;
			break;
		case OPT_TENANT:
			tenant = optarg;
			break;
		case OPT_CACERT:
			if (!realpath(optarg, cacert)) {
				return usage_error("login ", "--cacert %s: %s", optarg, strerror(errno));
			}
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
					   bad_option(argv, optbuf, sizeof(optbuf)));
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
	if (device + client_credentials + paste > 1) {
		return usage_error("login ", "choose one of --paste, --device and --client-credentials");
	}
	if (paste && secret_file && strcmp(secret_file, "-") == 0) {
		return usage_error("login ", "--paste reads stdin, so the secret must come from a file");
	}

	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_grant g = { 0 };
	char *secret = NULL;
	_cleanup_free_ char *uris = NULL;
	int status;

	if (secret_file) {
		int r = read_secret_file(secret_file, &secret);
		if (r < 0) {
			note("%s: cannot read the client secret from %s (%s)", name,
			     strcmp(secret_file, "-") == 0 ? "stdin" : secret_file,
			     r == -EINVAL ? "empty or too long" : strerror(-r));
			return EXIT_CONFIG;
		}
	}
	int r = spk_config_open(opt_config, &cfg, &err);
	if (r < 0) {
		status = fail(name, &err);
		goto out;
	}
	r = spk_config_get(cfg, name, &p, &err);
	if (r == -ENOENT) {
		spk_error_clear(&err);
		p = (struct spk_profile)SPK_PROFILE_INIT;
		p.name = strdup(name);
		p.config_path = strdup(spk_config_path(cfg));
	} else if (r < 0) {
		status = fail(name, &err);
		goto out;
	}
	struct spk_login_flags flags = {
		.provider = provider,
		.issuer = issuer,
		.client_id = client_id,
		.scope = scope,
		.store = store,
		.tenant = tenant,
		.cacert = cacert[0] ? cacert : NULL,
		.client_auth = client_auth,
		.client_credentials = client_credentials,
		.ports = ports,
		.n_ports = n_ports,
	};
	r = spk_login_flags_apply(&p, &flags, &err);
	if (r < 0) {
		status = err.kind == SPK_ERR_USAGE ? usage_error("login ", "%s", err.msg)
						   : fail(name, &err);
		goto out;
	}
	/* Before anything is written or a browser opened: the grant must have a home. */
	r = spk_store_check(&p, &err);
	if (r < 0) {
		bool file_store = p.store && strcmp(p.store, "file") == 0;
		status = file_store ? fail(name, &err)
				    : login_store_unreachable(name, &err, optind, argv, options);
		goto out;
	}
	r = spk_config_put(cfg, &p, &err);
	if (r == 0) {
		r = spk_config_save(cfg, &err);
	}
	if (r < 0) {
		status = fail(name, &err);
		goto out;
	}

	uris = spk_provider_redirect_uris(&p);
	struct login_ui_state st = {
		.profile = name,
		.timeout_s = (int)timeout,
		.open_browser = !no_browser && !paste,
		.paste = paste,
		.register_uris = uris,
		.live = stderr_is_terminal() && !paste,
	};
	struct spk_login_ui ui = {
		.authorize = on_authorize,
		.device = on_device,
		.tick = on_tick,
		.exchanging = client_credentials ? NULL : on_exchanging,
		.pick_tenant = on_pick_tenant,
		.userdata = &st,
	};
	snprintf(interrupt_msg, sizeof(interrupt_msg),
		 "\nsparekey: %s: interrupted; nothing was stored\n", name);
	interrupt_safe = 1;
	signal(SIGINT, on_interrupt);
	struct spk_login_options o = {
		.mode = device ? SPK_LOGIN_DEVICE
			       : client_credentials ? SPK_LOGIN_CLIENT_CREDENTIALS : SPK_LOGIN_BROWSER,
		.timeout_s = (int)timeout,
		.paste_fd = paste ? STDIN_FILENO : -1,
		.client_secret = secret,
	};
	r = spk_flow_login(&p, &o, &ui, &g, &err);
	end_countdown(&st);
	interrupt_safe = 0;
	signal(SIGINT, SIG_DFL);
	if (r < 0) {
		if (uris && (strcmp(err.oauth, "unauthorized_client") == 0 ||
			     strcmp(err.oauth, "invalid_request") == 0)) {
			/* Xero and others refuse a redirect URI the app has not registered. */
			size_t n = strlen(err.msg);
			snprintf(err.msg + n, sizeof(err.msg) - n,
				 ". Check that the app registers every redirect URI: %s", uris);
		}
		status = fail(name, &err);
		goto out;
	}

	char until[32], left[32];
	int64_t now = (int64_t)time(NULL);
	const char *where = p.store && strcmp(p.store, "file") == 0 ? "a 0600 file" : "the keyring";
	fputs(style_good(), stderr);
	if (g.expires_at > 0) {
		note("%s: logged in%s%s; access token valid until %s (%s); grant stored in %s%s",
		     name, g.account ? " as " : "", g.account ? g.account : "",
		     format_time(g.expires_at, until, sizeof(until)),
		     format_duration(g.expires_at - now, left, sizeof(left)), where,
		     g.refresh_token ? " with a refresh token"
		     : client_credentials ? "" : " (no refresh token was issued)");
	} else {
		note("%s: logged in%s%s; access token expiry unknown (the provider did not say); "
		     "grant stored in %s", name, g.account ? " as " : "",
		     g.account ? g.account : "", where);
	}
	fputs(style_off(), stderr);
	warning(name, g.warning);
	if (g.n_tenants > 0) {
		const char *t = spk_tenant_of(&p, &g);
		const struct spk_tenant *chosen = spk_grant_find_tenant(&g, t);
		note("%s: API calls act on %s (%s); 'sparekey tenants %s' lists all %zu", name,
		     chosen && chosen->name ? chosen->name : "?", t ? t : "?", name, g.n_tenants);
	}
	status = EXIT_OK;
out:
	spk_secret_free(secret);
	spk_grant_done(&g);
	spk_profile_done(&p);
	spk_config_free(cfg);
	return status;
}
