/*
 * login's parts: login.c reads the flags into the profile and signs in;
 * login-view.c shows the sign-in to the person (steps, countdown, Ctrl-C,
 * the result); login-hint.c says what to do when the keyring cannot be
 * reached.
 */
#pragma once

#include <stdbool.h>

#include "commands.h"
#include "flow.h"

/* What the person sees during one login; the caller's storage. */
struct login_view {
	const char *profile;
	int timeout_s;
	bool open_browser;
	bool paste;
	const char *register_uris; /* every redirect URI the app must allow, or NULL */
	bool live;                 /* stderr is a terminal: a countdown line */
	bool counting;             /* the countdown line is on screen */
};

/*
 * spk_flow_login's callbacks, showing on v. exchanging: say so when the
 * code has come back (not for client credentials, where nothing comes back).
 */
struct spk_login_ui login_view_ui(struct login_view *v, bool exchanging);
/*
 * Until login_view_end(), Ctrl-C exits at once saying nothing was stored;
 * once the code is being exchanged, it is ignored: the grant is stored first.
 */
void login_view_begin(const struct login_view *v);
/* The countdown line cleared, Ctrl-C back to its default. */
void login_view_end(struct login_view *v);
/* "logged in ...": where the grant is, how long it lasts, its organisation. */
void login_view_logged_in(const struct spk_profile *p, const struct spk_grant *g,
			  bool client_credentials);

/*
 * The keyring cannot be reached (err from spk_store_check). Prints the
 * way out — from an SSH session, the user's own login command (argv's
 * first n_opts words, as getopt left them; options are login's) with
 * --store file — and returns the exit status.
 */
int login_store_unreachable(const char *name, const struct spk_error *err, int n_opts, char **argv,
			    const struct command_option *options);
