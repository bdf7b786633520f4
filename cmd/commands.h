/* The subcommands: one file each, int cmd_<name>(int argc, char **argv). */
#pragma once

#include <stddef.h>

int cmd_doctor(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_refresh(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_tenants(int argc, char **argv);
int cmd_timer(int argc, char **argv);
int cmd_token(int argc, char **argv);

/* Help texts, printed by "sparekey help CMD" and "sparekey CMD --help". */
extern const char doctor_help[];
extern const char exec_help[];
extern const char export_help[];
extern const char import_help[];
extern const char login_help[];
extern const char logout_help[];
extern const char refresh_help[];
extern const char status_help[];
extern const char tenants_help[];
extern const char timer_help[];
extern const char token_help[];

/*
 * The path of the `sparekey` people run (the front), for units and crontab
 * lines: next to this program in a build tree, else the installed one.
 */
const char *front_path(char *buf, size_t size);

/* Open url in the user's browser ($BROWSER, else xdg-open); 0 if it started. */
int open_browser(const char *url);

enum child_output {
	CHILD_SILENT,    /* stdout and stderr to /dev/null */
	CHILD_TO_STDERR, /* both to our stderr: our stdout is the result */
	CHILD_INHERIT,   /* both to ours */
};
/*
 * Run file (looked up in PATH unless it has a slash) with argv and envp
 * (NULL: ours), stdin from /dev/null and no signal blocked; wait for it up
 * to wait_ms (< 0: until it ends). Returns its exit status (128 + N when
 * signal N killed it), -ETIMEDOUT if it still runs (it is left to run), or
 * -errno if it could not be started.
 */
int run_child(const char *file, char *const argv[], char *const envp[], enum child_output out,
	      int wait_ms);

#include "error.h"
#include "grant.h"
#include "profile.h"

/*
 * name's profile and a grant whose token is valid for min_valid seconds
 * (-1: the profile's margin): EXIT_OK, or the failure's exit status after
 * it was reported (and notify_cmd run).
 */
int profile_token(const char *name, long long min_valid, struct spk_profile *ret_p,
		  struct spk_grant *ret_g);

/* Read profile name from the config file (--config or the default). */
int read_profile(const char *name, struct spk_profile *ret, struct spk_error *err);

/* Run the profile's notify_cmd, if any, for an event (never with a secret). */
void notify_event(const struct spk_profile *p, const char *event, const char *message);
/* needs-login or refresh-failed, from err's kind. */
void notify_failure(const struct spk_profile *p, const struct spk_error *err);

/*
 * login: the keyring cannot be reached (err from spk_store_check). Prints
 * the way out — from an SSH session, the user's own login command (argv's
 * first n_opts words, as getopt left them) with --store file — and returns
 * the exit status.
 */
struct option;
int login_store_unreachable(const char *name, const struct spk_error *err, int n_opts,
			    char **argv, const struct option *options);
