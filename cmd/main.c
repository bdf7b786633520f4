/*
 * sparekey: OAuth 2.0 access tokens for scripts, from a grant a person
 * gave once. main() hardens the process, reads the global options and
 * runs one subcommand from the table.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "harden.h"
#include "lock.h"
#include "log.h"
#include "output.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
	const char *summary;
};

/* Sorted by name. */
static const struct command commands[] = {
	{ "doctor", cmd_doctor, doctor_help, "check config, store, lock, clock and tokens" },
	{ "exec", cmd_exec, exec_help, "run a command with the token in its environment" },
	{ "export", cmd_export, export_help, "move a grant to another machine (to stdout)" },
	{ "import", cmd_import, import_help, "store a grant exported on another machine" },
	{ "login", cmd_login, login_help, "sign in through the browser and store the grant" },
	{ "logout", cmd_logout, logout_help, "revoke the grant and delete it here" },
	{ "refresh", cmd_refresh, refresh_help, "refresh a grant now (keeps it alive)" },
	{ "status", cmd_status, status_help, "show profiles and the state of their grants" },
	{ "tenants", cmd_tenants, tenants_help, "list the organisations (Xero tenants) of a grant" },
	{ "timer", cmd_timer, timer_help, "install or remove the systemd timer that runs refresh --all" },
	{ "token", cmd_token, token_help, "print a valid access token" },
};

static const char main_help[] =
	"Usage: sparekey [OPTIONS] COMMAND [ARGS...]\n"
	"\n"
	"OAuth 2.0 access tokens for scripts and cron jobs, from a grant a person\n"
	"gave once in the browser. Grants live in the desktop keyring.\n"
	"\n"
	"Commands:\n"
	"%s"
	"  help CMD   show the help of a command\n"
	"\n"
	"Options:\n"
	"  -v, --verbose      diagnostics on stderr (never a secret)\n"
	"      --config FILE  use FILE instead of $XDG_CONFIG_HOME/sparekey/config\n"
	"  -h, --help         show this help\n"
	"      --version      show the version\n"
	"\n"
	"Examples:\n"
	"  sparekey login xero --provider xero --client-id ID --scope accounting.invoices\n"
	"  curl -H \"Authorization: Bearer $(sparekey token xero)\" https://api.xero.com/...\n"
	"\n"
	"Exit status: 0 ok, 64 usage, 69 provider unreachable, 70 internal error,\n"
	"74 output error, 75 try again later, 77 log in again, 78 configuration error.\n"
	"See sparekey(1) and sparekey.conf(5).\n";

static void print_main_help(FILE *f)
{
	char list[2048] = "";
	size_t o = 0;
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		o += (size_t)snprintf(list + o, sizeof(list) - o, "  %-10s %s\n", commands[i].name,
				      commands[i].summary);
	}
	fprintf(f, main_help, list);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, name) == 0) {
			return &commands[i];
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
	spk_lock_receive();
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
			return usage_error(NULL, "unknown option '%s'", bad_option(argv, optbuf, sizeof(optbuf)));
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
	/* Each command parses its own options with getopt from a fresh start. */
	argc -= optind;
	argv += optind;
	optind = 0;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(cmd->help, stdout);
			return finish_stdout(EXIT_OK);
		}
	}
	return finish_stdout(cmd->run(argc, argv));
}
