#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "flow.h"
#include "output.h"
#include "secret.h"

static const char export_help[] =
	"Usage: sparekey export PROFILE [--copy]\n"
	"\n"
	"Write PROFILE's settings, grant and client secret as one JSON document to\n"
	"stdout, for 'sparekey import' on another machine:\n"
	"\n"
	"  sparekey export xero | ssh server sparekey import xero\n"
	"\n"
	"Refresh tokens rotate, so a grant must live in one place: export moves\n"
	"it. Once the document has been written, the local grant and client\n"
	"secret are deleted (the profile's settings stay).\n"
	"\n"
	"Options:\n"
	"      --copy   keep the local grant too; the two copies will break each\n"
	"               other at the next refresh of either\n"
	"  -h, --help   show this help\n"
	"\n"
	"The document holds secrets: pipe it, do not keep it in a file.\n";

enum { OPT_COPY };

static const struct command_option export_options[] = {
	{ "copy", OPTION_FLAG, OPT_COPY },
	{ 0 },
};

static bool export_copy; /* its one option */

/* The profile is read here, not by main.c: the export needs the open config. */
static int run_export(const struct command_call *call)
{
	bool copy = *(const bool *)call->opts;
	const char *name = call->name;
	struct spk_error err = { 0 };
	struct spk_config *cfg = NULL;
	struct spk_profile p = SPK_PROFILE_INIT;
	char *json = NULL;
	int lock = -1, status;

	if (spk_config_open(opt_config, &cfg, &err) < 0 ||
	    spk_config_get(cfg, name, &p, &err) < 0 ||
	    spk_flow_export_begin(cfg, &p, &json, &lock, &err) < 0) {
		status = fail(name, &err);
		goto out;
	}
	/* Only a document that really left may take the grant with it. */
	bool written = fputs(json, stdout) >= 0 && fputc('\n', stdout) != EOF &&
		       fflush(stdout) == 0 && !ferror(stdout);
	if (!written) {
		spk_flow_export_end(&p, lock, false, NULL);
		note("%s: could not write the export to stdout; the grant stays here", name);
		status = EXIT_IOERR;
		goto out;
	}
	if (spk_flow_export_end(&p, lock, !copy, &err) < 0) {
		status = fail(name, &err);
		note("%s: the export was written, but the local grant could not be deleted: "
		     "do not use it here any more",
		     name);
		goto out;
	}
	if (copy) {
		note("%s: exported a copy; the grant is still here too. Use only one of the two: "
		     "the first refresh on either side breaks the other",
		     name);
	} else {
		note("%s: exported; the grant was moved and is no longer stored here", name);
	}
	status = EXIT_OK;
out:
	spk_secret_free(json);
	spk_profile_done(&p);
	spk_config_free(cfg);
	return status;
}

const struct command cmd_export = {
	.name = "export",
	.summary = "move a grant to another machine (to stdout)",
	.help = export_help,
	.takes = TAKES_NAME,
	.options = export_options,
	.opts = &export_copy,
	.set_option = set_flag_option,
	.run = run_export,
};
