/*
 * What login shows while a person signs in: the three steps, the URL or
 * device code, a countdown on a terminal, the choice of organisation and,
 * at the end, what was stored. Ctrl-C before the code comes back exits
 * saying nothing was stored; after it, it is ignored until the grant is
 * stored. Everything goes to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "login.h"
#include "output.h"
#include "tenants.h"

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
static void step(const struct login_view *st, int n, const char *what)
{
	fprintf(stderr, "%s[%d/3]%s %s: %s\n", style_bold(), n, style_off(), st->profile, what);
}

static void end_countdown(struct login_view *st)
{
	if (st->counting) {
		fputs("\r\033[K", stderr);
		st->counting = false;
	}
}

static void on_tick(void *userdata, int left)
{
	struct login_view *st = userdata;

	if (!st->live) {
		return;
	}
	fprintf(stderr, "\r\033[K      waiting %d:%02d more (Ctrl-C to cancel)", left / 60,
		left % 60);
	fflush(stderr);
	st->counting = true;
}

static void on_exchanging(void *userdata)
{
	struct login_view *st = userdata;

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
	const struct login_view *st = userdata;

	step(st, 1,
	     st->open_browser ? "opening the browser at the provider's sign-in page"
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
		     "yourself",
		     st->profile);
	}
	step(st, 2, "waiting for you to sign in and consent");
	if (st->paste) {
		note("%s: after you sign in, the browser ends on an address that may not load; "
		     "paste that address (or the code) here and press Enter:",
		     st->profile);
	} else if (!st->live) {
		note("%s: waiting up to %d s for the browser to come back...", st->profile,
		     st->timeout_s);
	}
}

static void on_device(void *userdata, const char *user_code, const char *uri,
		      const char *uri_complete, int64_t expires_in)
{
	const struct login_view *st = userdata;

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
	const struct login_view *st = userdata;
	char line[32];

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		note("%s: %zu organisations are connected; using the first, %s. Choose another "
		     "with "
		     "sparekey login %s --tenant NAME",
		     st->profile, n, tenants[0].name ? tenants[0].name : tenants[0].id,
		     st->profile);
		return 0;
	}
	note("%s: %zu organisations are connected; which one should API calls use?", st->profile,
	     n);
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

struct spk_login_ui login_view_ui(struct login_view *v, bool exchanging)
{
	return (struct spk_login_ui){
		.authorize = on_authorize,
		.device = on_device,
		.tick = on_tick,
		.exchanging = exchanging ? on_exchanging : NULL,
		.pick_tenant = on_pick_tenant,
		.userdata = v,
	};
}

void login_view_begin(const struct login_view *v)
{
	snprintf(interrupt_msg, sizeof(interrupt_msg),
		 "\nsparekey: %s: interrupted; nothing was stored\n", v->profile);
	interrupt_safe = 1;
	signal(SIGINT, on_interrupt);
}

void login_view_end(struct login_view *v)
{
	end_countdown(v);
	interrupt_safe = 0;
	signal(SIGINT, SIG_DFL);
}

void login_view_logged_in(const struct spk_profile *p, const struct spk_grant *g,
			  bool client_credentials)
{
	const char *name = p->name;
	char until[32], left[32];
	int64_t now = (int64_t)time(NULL);
	const char *where = !p->store || strcmp(p->store, "secret") == 0 ? "the keyring"
			    : strcmp(p->store, "file") == 0              ? "a 0600 file"
									 : "the etcd cluster";
	fputs(style_good(), stderr);
	if (g->expires_at > 0) {
		note("%s: logged in%s%s; access token valid until %s (%s); grant stored in %s%s",
		     name, g->account ? " as " : "", g->account ? g->account : "",
		     format_time(g->expires_at, until, sizeof(until)),
		     format_duration(g->expires_at - now, left, sizeof(left)), where,
		     g->refresh_token     ? " with a refresh token"
		     : client_credentials ? ""
					  : " (no refresh token was issued)");
	} else {
		note("%s: logged in%s%s; access token expiry unknown (the provider did not say); "
		     "grant stored in %s",
		     name, g->account ? " as " : "", g->account ? g->account : "", where);
	}
	fputs(style_off(), stderr);
	warning(name, g->warning);
	if (g->n_tenants > 0) {
		const char *t = spk_tenant_of(p, g);
		const struct spk_tenant *chosen = spk_grant_find_tenant(g, t);
		note("%s: API calls act on %s (%s); 'sparekey tenants %s' lists all %zu", name,
		     chosen && chosen->name ? chosen->name : "?", t ? t : "?", name, g->n_tenants);
	}
}
