/*
 * What login says when the keyring cannot be reached: no bus or no Secret
 * Service is a matter of set-up; from an SSH session, the user's own login
 * command with --store file, shell-quoted and ready to run.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "login.h"
#include "macro.h"
#include "output.h"

/* In an SSH session the desktop's keyring, if any, is on another machine. */
static bool in_ssh_session(void)
{
	const char *conn = getenv("SSH_CONNECTION"), *tty = getenv("SSH_TTY");

	return (conn && *conn) || (tty && *tty);
}

/* " word", quoted for a POSIX shell when it needs to be. */
static void put_word(FILE *f, const char *w)
{
	static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789@%+=:,./_-";

	fputc(' ', f);
	if (*w && strspn(w, plain) == strlen(w)) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (; *w; w++) {
		if (*w == '\'') {
			fputs("'\\''", f);
		} else {
			fputc(*w, f);
		}
	}
	fputc('\'', f);
}

/*
 * The user's own login command with --store file in place of any --store:
 * what to run where the keyring cannot be reached. argv[1..n_opts - 1] are
 * the options as getopt left them (it moves the profile name after them).
 * No secret can be among them: a client secret is only ever read from a file.
 */
static char *file_store_command(const char *name, int n_opts, char **argv,
				const struct command_option *options)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f) {
		return NULL;
	}
	fputs("sparekey", f);
	if (opt_config) {
		put_word(f, "--config");
		put_word(f, opt_config);
	}
	put_word(f, "login");
	put_word(f, name);
	fputs(" --store file", f);
	for (int i = 1; i < n_opts; i++) {
		const char *w = argv[i];
		bool has_value = false;
		if (strcmp(w, "--") == 0) {
			continue;
		}
		if (strncmp(w, "--", 2) == 0 && !strchr(w, '=')) {
			for (const struct command_option *o = options; o->name; o++) {
				if (strcmp(w + 2, o->name) == 0) {
					has_value = option_has_value(o);
					break;
				}
			}
		}
		if (strcmp(w, "--store") == 0 || strncmp(w, "--store=", 8) == 0) {
			i += has_value;
			continue;
		}
		put_word(f, w);
		if (has_value && i + 1 < n_opts) {
			put_word(f, argv[++i]);
		}
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * The keyring cannot be reached (err from spk_store_check): the way out. No
 * bus or no Secret Service is a matter of set-up, and from an SSH session
 * the file store is the answer, offered as the exact command to run.
 */
int login_store_unreachable(const char *name, const struct spk_error *err, int n_opts, char **argv,
			    const struct command_option *options)
{
	if (err->kind != SPK_ERR_CONFIG || (err->code != -ENOTCONN && err->code != -ENOENT)) {
		return fail(name, err);
	}
	_cleanup_free_ char *cmd =
		in_ssh_session() ? file_store_command(name, n_opts, argv, options) : NULL;
	char *hint = NULL;
	int r = cmd ? asprintf(&hint, ". Over SSH, keep the grant in a file instead. Run: %s", cmd)
		    : asprintf(&hint,
			       ". %s, or keep the grant in a file: sparekey login %s --store file",
			       err->code == -ENOTCONN
				       ? "Run sparekey in your desktop session"
				       : "Start gnome-keyring (or another Secret Service)",
			       name);
	if (r < 0) {
		return fail(name, err);
	}
	int status = fail_hint(name, err, hint);
	free(hint);
	return status;
}
