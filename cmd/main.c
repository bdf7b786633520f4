/*
 * sparekey: OAuth 2.0 access tokens for scripts, from a grant a person
 * gave once. main() hardens the process, reads the global options and
 * runs one subcommand from the table.
 */
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "flow.h"
#include "harden.h"
#include "log.h"
#include "output.h"

/* Sorted by name. Each row is in its command's file. */
static const struct command *const commands[] = {
	&cmd_check,   &cmd_doctor, &cmd_exec,   &cmd_export,  &cmd_git_credential,
	&cmd_import,  &cmd_login,  &cmd_logout, &cmd_refresh, &cmd_status,
	&cmd_tenants, &cmd_timer,  &cmd_token,
};

static const char main_help[] =
	"Usage: sparekey [OPTIONS] COMMAND [ARGS...]\n"
	"\n"
	"OAuth 2.0 access tokens for scripts and cron jobs, from a grant a person\n"
	"gave once in the browser. Grants live in the desktop keyring.\n"
	"\n"
	"Commands:\n"
	"%s"
	"  help CMD        show the help of a command\n"
	"\n"
	"Options:\n"
	"  -v, --verbose      diagnostics on stderr (never a secret)\n"
	"      --config FILE  use FILE instead of $XDG_CONFIG_HOME/sparekey/config\n"
	"  -h, --help         show this help\n"
	"      --version      show the version\n"
	"\n"
	"Examples:\n"
	"  sparekey login xero --provider xero --client-id ID --scope accounting.invoices\n"
	"  sparekey token xero --header | curl -H @- https://api.xero.com/api.xro/2.0/Invoices\n"
	"  sparekey exec xero -- ./raise-invoices   (the token in its environment, not argv)\n"
	"\n"
	"Exit status: 0 ok, 64 usage, 69 provider unreachable, 70 internal error,\n"
	"74 output error, 75 try again later, 77 log in again, 78 configuration error.\n"
	"See sparekey(1) and sparekey.conf(5).\n";

static void print_main_help(FILE *f)
{
	char list[2048] = "";
	size_t o = 0;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		o += (size_t)snprintf(list + o, sizeof(list) - o, "  %-15s %s\n", commands[i]->name,
				      commands[i]->summary);
	}
	fprintf(f, main_help, list);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i]->name, name) == 0) {
			return commands[i];
		}
	}
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		print_main_help(stdout);
		return finish_stdout(EXIT_OK);
	}
	const struct command *c = find_command(argv[1]);
	if (!c) {
		return usage_error(NULL, "no command named '%s'", argv[1]);
	}
	fputs(c->help, stdout);
	return finish_stdout(EXIT_OK);
}

int set_flag_option(void *opts, int id, const char *value)
{
	bool *flag = opts;

	(void)id;
	(void)value;
	*flag = true;
	return 0;
}

/* The most long options a command may have. */
#define MAX_OPTIONS 24
/* getopt_long's val for the row's option i: above every short option. */
#define OPTION_VAL(i) (256 + (int)(i))

/* The row's options as getopt_long wants them. */
static void getopt_options(const struct command *cmd, struct option *out)
{
	size_t n = 0;

	for (const struct command_option *o = cmd->options; o && o->name; o++, n++) {
		assert(n + 1 < MAX_OPTIONS);
		out[n] = (struct option){ o->name,
					  option_has_value(o) ? required_argument : no_argument,
					  NULL, OPTION_VAL(n) };
	}
	out[n] = (struct option){ 0 };
}

/* A bad option is "unknown or incomplete" where an option takes a value. */
static const char *bad_option_words(const struct command *cmd)
{
	for (const struct command_option *o = cmd->options; o && o->name; o++) {
		if (option_has_value(o)) {
			return "unknown or incomplete option";
		}
	}
	return "unknown option";
}

/*
 * Read options with getopt_exact() up to where optstring stops it, each
 * into the row's opts (--all into call->all). *needs_all: the last option
 * given that goes only with --all. 0, or the exit status of a usage error.
 */
static int parse_options(const struct command *cmd, const char *prefix, int argc, char **argv,
			 const char *optstring, const struct option *longopts, const char *bad,
			 struct command_call *call, const char **needs_all)
{
	char optbuf[64];
	int c;

	while ((c = getopt_exact(argc, argv, optstring, longopts)) != -1) {
		if (c < OPTION_VAL(0)) {
			return usage_error(prefix, "%s '%s'", bad,
					   bad_option(argv, optbuf, sizeof(optbuf)));
		}
		const struct command_option *o = &cmd->options[c - OPTION_VAL(0)];
		if (o->kind == OPTION_ALL) {
			call->all = true;
			continue;
		}
		if (o->kind == OPTION_VALUE_WITH_ALL) {
			*needs_all = o->name;
		}
		int r = cmd->set_option(cmd->opts, o->id, optarg);
		if (r != 0) {
			return r;
		}
	}
	return 0;
}

/*
 * exec: options may come before and after PROFILE; '+' stops at "--" or
 * at COMMAND, whose options are its own. exec has always called a bad
 * option "unknown", even one missing its value.
 */
static int parse_profile_and_command(const struct command *cmd, const char *prefix, int argc,
				     char **argv, const struct option *longopts,
				     struct command_call *call)
{
	const char *needs_all = NULL;

	for (int pass = 0; pass < 2; pass++) {
		int r = parse_options(cmd, prefix, argc, argv, "+", longopts, "unknown option",
				      call, &needs_all);
		if (r != 0) {
			return r;
		}
		if (pass == 0) {
			if (optind >= argc || strcmp(argv[optind - 1], "--") == 0) {
				return usage_error(prefix,
						   "%s needs a PROFILE and, after --, a COMMAND",
						   cmd->name);
			}
			call->name = argv[optind++];
		}
	}
	if (optind >= argc) {
		return usage_error(prefix, "%s needs a COMMAND after --", cmd->name);
	}
	call->args = argv + optind;
	call->n_args = argc - optind;
	return 0;
}

/* Count the words after the options against what the row takes; take the PROFILE. */
static int take_words(const struct command *cmd, const char *prefix, char **words, int n,
		      const char *needs_all, struct command_call *call)
{
	call->args = words;
	call->n_args = n;
	switch (cmd->takes) {
	case TAKES_WORDS:
	case TAKES_PROFILE_AND_COMMAND:
		return 0;
	case TAKES_PROFILE:
	case TAKES_NAME:
	case TAKES_NEW_NAME:
		if (n != 1) {
			return usage_error(prefix, "%s takes exactly one PROFILE name", cmd->name);
		}
		break;
	case TAKES_OPTIONAL_NAME:
	case TAKES_OPTIONAL_WORD:
		if (n > 1) {
			return usage_error(prefix, "%s takes at most one PROFILE", cmd->name);
		}
		break;
	case TAKES_PROFILES:
		if (call->all && n > 0) {
			return usage_error(prefix, "--all takes no PROFILE names");
		}
		if (!call->all && needs_all) {
			return usage_error(prefix, "--%s goes with --all", needs_all);
		}
		if (!call->all && n == 0) {
			return usage_error(prefix, "name at least one PROFILE, or use --all");
		}
		return 0;
	}
	if (n == 1) {
		call->name = words[0];
		call->args++;
		call->n_args--;
	}
	return 0;
}

/*
 * A name only the command will use: a usage error when it is not one. A
 * PROFILE main reads is checked by read_profile(), like any profile that
 * cannot be read.
 */
static int check_name(const struct command *cmd, const char *prefix, const char *name)
{
	if (!name || spk_profile_name_valid(name)) {
		return 0;
	}
	switch (cmd->takes) {
	case TAKES_NAME:
	case TAKES_OPTIONAL_NAME:
		return usage_error(prefix, "'%s' is not a valid profile name", name);
	case TAKES_NEW_NAME:
		return usage_error(prefix,
				   "'%s' is not a valid profile name (letters, digits, "
				   "'.', '_', '-'; at most 64)",
				   name);
	default:
		return 0;
	}
}

/* Read the profile name, run the command with it. */
static int run_with_profile(const struct command *cmd, struct command_call *call, const char *name)
{
	struct spk_error err = { 0 };
	struct spk_profile p = SPK_PROFILE_INIT;
	int status;

	if (read_profile(name, &p, &err) < 0) {
		status = fail(name, &err);
	} else {
		call->name = name;
		call->profile = &p;
		status = cmd->run(call);
		call->profile = NULL;
	}
	spk_profile_done(&p);
	return status;
}

/* Parse argv by the row, check the words, read the profile(s) and run. */
static int run_command(const struct command *cmd, int argc, char **argv)
{
	struct command_call call = { .opts = cmd->opts, .argv = argv };
	struct option longopts[MAX_OPTIONS];
	const char *needs_all = NULL;
	char prefix[32];
	int r;

	snprintf(prefix, sizeof(prefix), "%s ", cmd->name);
	getopt_options(cmd, longopts);
	opterr = 0;
	if (cmd->takes == TAKES_PROFILE_AND_COMMAND) {
		r = parse_profile_and_command(cmd, prefix, argc, argv, longopts, &call);
	} else {
		r = parse_options(cmd, prefix, argc, argv, "", longopts, bad_option_words(cmd),
				  &call, &needs_all);
	}
	call.n_options = optind;
	if (r == 0) {
		r = take_words(cmd, prefix, argv + optind, argc - optind, needs_all, &call);
	}
	if (r == 0) {
		r = check_name(cmd, prefix, call.name);
	}
	if (r == 0 && cmd->check) {
		r = cmd->check(cmd->opts);
	}
	if (r != 0) {
		return r;
	}
	switch (cmd->takes) {
	case TAKES_PROFILE:
	case TAKES_PROFILE_AND_COMMAND:
		return run_with_profile(cmd, &call, call.name);
	case TAKES_PROFILES: {
		if (call.all) {
			return cmd->run(&call);
		}
		/* Each one, even after a failure; the status is the first failure's. */
		int status = EXIT_OK;
		char **names = call.args;
		for (int i = 0; i < call.n_args; i++) {
			int s = run_with_profile(cmd, &call, names[i]);
			if (status == EXIT_OK) {
				status = s;
			}
		}
		return status;
	}
	default:
		return cmd->run(&call);
	}
}

int main(int argc, char **argv)
{
	enum { OPT_CONFIG = 256, OPT_VERSION };
	static const struct option options[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	int c;
	char optbuf[64];

	spk_harden();
	spk_flow_receive_handover();
	opterr = 0;
	while ((c = getopt_exact(argc, argv, "+vh", options)) != -1) {
		switch (c) {
		case 'v':
			opt_verbose = true;
			break;
		case OPT_CONFIG:
			opt_config = optarg;
			break;
		case 'h':
			print_main_help(stdout);
			return finish_stdout(EXIT_OK);
		case OPT_VERSION:
			printf("sparekey %s\n", SPK_VERSION);
			return finish_stdout(EXIT_OK);
		default:
			return usage_error(NULL, "unknown option '%s'",
					   bad_option(argv, optbuf, sizeof(optbuf)));
		}
	}
	if (opt_verbose) {
		spk_log_set_handler(log_to_stderr);
	}
	if (optind >= argc) {
		print_main_help(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	if (strcmp(name, "help") == 0) {
		return cmd_help(argc - optind, argv + optind);
	}
	const struct command *cmd = find_command(name);
	if (!cmd) {
		return usage_error(NULL, "no command named '%s'", name);
	}
	/* The command's options are parsed with getopt from a fresh start. */
	argc -= optind;
	argv += optind;
	optind = 0;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(cmd->help, stdout);
			return finish_stdout(EXIT_OK);
		}
	}
	return finish_stdout(run_command(cmd, argc, argv));
}
