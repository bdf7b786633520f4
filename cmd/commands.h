/*
 * The subcommands. Each cmd/<name>.c exports one `const struct command`:
 * its row in main.c's table, declaring once what the command takes and
 * which options it has. main.c parses argv by the row, counts the words,
 * checks the PROFILE name and reads the profile, then calls run() with
 * the result. A new command is a row plus its run().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "profile.h"

/* The words a command takes after its options. */
enum command_takes {
	/* Any words; run() reads call->args itself (timer's install|remove). */
	TAKES_WORDS,
	/* Exactly one PROFILE, read from the config before run() (token, logout, tenants). */
	TAKES_PROFILE,
	/* The same, then a COMMAND to run: PROFILE [--] COMMAND [ARG...] (exec). */
	TAKES_PROFILE_AND_COMMAND,
	/* One or more PROFILEs, run() once for each; or --all and none (refresh). */
	TAKES_PROFILES,
	/* Exactly one valid PROFILE name; run() reads the config itself (export, import). */
	TAKES_NAME,
	/* The same for a profile run() may create: a bad name is told the naming rule (login). */
	TAKES_NEW_NAME,
	/* At most one valid PROFILE name (doctor). */
	TAKES_OPTIONAL_NAME,
	/* At most one word, matched against the config's names as it is (status). */
	TAKES_OPTIONAL_WORD,
};

enum command_option_kind {
	OPTION_FLAG,           /* --name */
	OPTION_VALUE,          /* --name VALUE or --name=VALUE */
	OPTION_VALUE_WITH_ALL, /* the same, a usage error without --all (refresh --older-than) */
	OPTION_ALL,            /* --all, main.c's own: call->all, for TAKES_PROFILES */
};

/* One long option; main.c hands its value to the row's set_option() with id. */
struct command_option {
	const char *name; /* without the "--" */
	enum command_option_kind kind;
	int id;
};

static inline bool option_has_value(const struct command_option *o)
{
	return o->kind == OPTION_VALUE || o->kind == OPTION_VALUE_WITH_ALL;
}

/* What main.c hands run(), after parsing and checking. */
struct command_call {
	const char *name;            /* the PROFILE word, or NULL if none was given */
	struct spk_profile *profile; /* TAKES_PROFILE*, TAKES_PROFILES: read from the config */
	char **args;                 /* the words main did not take (exec's COMMAND, timer's) */
	int n_args;
	bool all;      /* --all (TAKES_PROFILES): profile is NULL */
	void *opts;    /* the row's opts, filled by set_option() */
	char **argv;   /* the command's argv as getopt left it: options first, */
	int n_options; /* in argv[1..n_options - 1] (login's --store file hint) */
};

struct command {
	const char *name;
	const char *summary; /* one line in sparekey --help */
	const char *help;    /* sparekey CMD --help and sparekey help CMD */
	enum command_takes takes;
	const struct command_option *options; /* ends with { 0 }; NULL: none */
	void *opts;                           /* the command's own option struct, with defaults */
	/*
	 * Store one option's value in opts: 0, or the exit status after a
	 * usage_error() about the value.
	 */
	int (*set_option)(void *opts, int id, const char *value);
	/* Optional: options that conflict, once the words are counted; as set_option. */
	int (*check)(const void *opts);
	/* The command itself: an exit status, every failure already reported. */
	int (*run)(const struct command_call *call);
};

/* set_option() for a command whose one option is a flag: opts is a bool, set true. */
int set_flag_option(void *opts, int id, const char *value);

/* The table's rows, one per cmd/<name>.c. */
extern const struct command cmd_check;
extern const struct command cmd_doctor;
extern const struct command cmd_exec;
extern const struct command cmd_export;
extern const struct command cmd_git_credential;
extern const struct command cmd_import;
extern const struct command cmd_login;
extern const struct command cmd_logout;
extern const struct command cmd_refresh;
extern const struct command cmd_status;
extern const struct command cmd_tenants;
extern const struct command cmd_timer;
extern const struct command cmd_token;

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

/*
 * p's grant, with a token valid for min_valid seconds (-1: the profile's
 * margin): EXIT_OK, or the failure's exit status after it was reported
 * (and notify_cmd run).
 */
int profile_token(const struct spk_profile *p, long long min_valid, struct spk_grant *ret_g);

/* Read profile name from the config file (--config or the default). */
int read_profile(const char *name, struct spk_profile *ret, struct spk_error *err);

/*
 * exec --keep-fresh: run argv (COMMAND...) as a child with g's token in a
 * file the parent keeps fresh ($SPAREKEY_ACCESS_TOKEN_FILE and
 * $BEARER_TOKEN_FILE) until the child ends; g is replaced as it goes.
 * Returns the child's exit status (128 + N for signal N), or sparekey's
 * own after it was reported.
 */
int exec_keep_fresh(const struct spk_profile *p, struct spk_grant *g, long long min_valid,
		    char **argv);

/* Run the profile's notify_cmd, if any, for an event (never with a secret). */
void notify_event(const struct spk_profile *p, const char *event, const char *message);
/* needs-login or refresh-failed, from err's kind. */
void notify_failure(const struct spk_profile *p, const struct spk_error *err);
