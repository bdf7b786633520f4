#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "secret.h"
#include "transfer.h"

static const char import_help[] =
	"Usage: sparekey import PROFILE [--store secret|file|etcd]\n"
	"\n"
	"Read a document written by 'sparekey export' from stdin and store it as\n"
	"PROFILE: its settings go to the config file (a new profile is created),\n"
	"its grant and client secret to the store.\n"
	"\n"
	"Options:\n"
	"      --store secret|file|etcd  where to keep the grant here (default: the\n"
	"                           profile's store, else the keyring; etcd: the\n"
	"                           cluster of the profile's etcd_endpoints)\n"
	"  -h, --help               show this help\n"
	"\n"
	"Example:\n"
	"  sparekey export xero | ssh server sparekey import xero --store file\n";

enum { OPT_STORE };

static const struct command_option import_options[] = {
	{ "store", OPTION_VALUE, OPT_STORE },
	{ 0 },
};

struct import_opts {
	const char *store;
};

static struct import_opts import_opts;

static int import_option(void *opts, int id, const char *value)
{
	struct import_opts *o = opts;

	(void)id; /* only --store */
	if (strcmp(value, "secret") != 0 && strcmp(value, "file") != 0 &&
	    strcmp(value, "etcd") != 0) {
		return usage_error("import ", "--store is secret, file or etcd, not '%s'", value);
	}
	o->store = value;
	return 0;
}

/* A new profile: read from stdin, not from the config. */
static int run_import(const struct command_call *call)
{
	const struct import_opts *o = call->opts;
	const char *store = o->store;
	const char *name = call->name;

	if (isatty(STDIN_FILENO)) {
		return usage_error("import ",
				   "import reads the export from stdin; pipe it in "
				   "(sparekey export %s | ssh HOST sparekey import %s)",
				   name, name);
	}

	char *buf = malloc(SPK_TRANSFER_MAX + 1);
	size_t len = 0;
	if (!buf) {
		return EXIT_INTERNAL;
	}
	for (;;) {
		size_t n = fread(buf + len, 1, SPK_TRANSFER_MAX + 1 - len, stdin);
		len += n;
		if (n == 0 || len > SPK_TRANSFER_MAX) {
			break;
		}
	}
	int status;
	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;
	struct spk_grant g = { 0 };
	if (ferror(stdin) || len > SPK_TRANSFER_MAX) {
		note("%s: could not read the export from stdin (%s); nothing was imported", name,
		     len > SPK_TRANSFER_MAX ? "over 1 MiB" : "read error");
		status = EXIT_USAGE;
		goto out;
	}
	if (spk_config_open(opt_config, &cfg, &err) < 0 ||
	    spk_flow_import(cfg, name, store, buf, len, &g, &err) < 0) {
		status = fail(name, &err);
		goto out;
	}
	note("%s: imported%s%s; %s", name, g.account ? " the grant of " : "",
	     g.account ? g.account : "",
	     g.refresh_token ? "it is refreshed here from now on"
			     : "no refresh token came with it");
	status = EXIT_OK;
out:
	spk_wipe(buf, len);
	free(buf);
	spk_grant_done(&g);
	spk_config_free(cfg);
	return status;
}

const struct command cmd_import = {
	.name = "import",
	.summary = "store a grant exported on another machine",
	.help = import_help,
	.takes = TAKES_NAME,
	.options = import_options,
	.opts = &import_opts,
	.set_option = import_option,
	.run = run_import,
};
