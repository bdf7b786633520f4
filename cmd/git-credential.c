#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "flow.h"
#include "git-credential.h"
#include "log.h"
#include "output.h"
#include "secret.h"

static const char git_credential_help[] =
	"Usage: sparekey git-credential [PROFILE] get|store|erase\n"
	"\n"
	"Answer git as its credential helper. git runs git-credential-sparekey,\n"
	"installed next to sparekey, for the URLs you give it:\n"
	"  git config --global credential.https://git.example.com.helper sparekey\n"
	"The request (git's key=value lines) comes on stdin.\n"
	"\n"
	"get answers username (the profile's git_username, default oauth2),\n"
	"password (a valid access token, refreshed first if needed; never a\n"
	"browser) and password_expiry_utc. Without PROFILE, the first profile in\n"
	"the config file whose git_hosts lists the host answers (host:port when\n"
	"the URL has a port); when none does, nothing is answered and git asks its\n"
	"next helper. A token goes only over https, or plain http to this machine.\n"
	"erase marks the access token git was refused as spent: the next get\n"
	"refreshes. store is accepted and ignored, as is any other operation.\n"
	"A grant that needs a login: one line on stderr, and no answer.\n"
	"\n"
	"Options:\n"
	"  -h, --help  show this help\n"
	"\n"
	"Examples:\n"
	"  git config --global credential.https://git.example.com.helper sparekey\n"
	"  git config --global credential.https://git.example.com.helper 'sparekey forge'\n"
	"  printf 'protocol=https\\nhost=git.example.com\\n\\n' | sparekey git-credential get\n";

enum git_op { OP_GET, OP_STORE, OP_ERASE, OP_OTHER };

static enum git_op op_of(const char *word)
{
	return strcmp(word, "get") == 0     ? OP_GET
	       : strcmp(word, "store") == 0 ? OP_STORE
	       : strcmp(word, "erase") == 0 ? OP_ERASE
					    : OP_OTHER;
}

/* No profile answers the request: not a failure, git asks its next helper. */
#define NO_ANSWER (-1)

/*
 * The profile that answers req into *p: the one named, or the first whose
 * git_hosts lists the host. NO_ANSWER when none does, else EXIT_OK or the
 * exit status of a failure already reported.
 */
static int choose_profile(const char *name, const struct spk_git_request *req,
			  struct spk_profile *p)
{
	struct spk_error err = { 0 };
	_cleanup_free_ char *picked = NULL;

	if (!name) {
		struct spk_config *cfg = NULL;
		int r = spk_config_open(opt_config, &cfg, &err);
		if (r < 0) {
			return fail(NULL, &err);
		}
		r = spk_git_pick_profile(cfg, req, &picked);
		spk_config_free(cfg);
		if (r == -ENOENT) {
			spk_log("git-credential: no profile's git_hosts lists %s over %s",
				req->host ? req->host : "(no host)",
				req->protocol ? req->protocol : "(no protocol)");
			return NO_ANSWER;
		}
		if (r < 0) {
			err.kind = SPK_ERR_INTERNAL;
			snprintf(err.msg, sizeof(err.msg), "out of memory");
			return fail(NULL, &err);
		}
		name = picked;
	}
	if (read_profile(name, p, &err) < 0) {
		return fail(name, &err);
	}
	if (!spk_git_serves(p->git_hosts, true, req)) {
		spk_log("git-credential: %s does not answer for %s over %s", name,
			req->host ? req->host : "(no host)",
			req->protocol ? req->protocol : "(no protocol)");
		spk_profile_done(p);
		return NO_ANSWER;
	}
	return EXIT_OK;
}

static int answer_get(const struct spk_profile *p)
{
	struct spk_error err = { 0 };
	struct spk_grant g = { 0 };

	int r = profile_token(p, -1, &g);
	if (r != EXIT_OK) {
		return r;
	}
	_cleanup_secret_ char *answer = NULL;
	const char *user = p->git_username ? p->git_username : SPK_GIT_DEFAULT_USERNAME;
	int64_t expiry = spk_git_expiry(p, &g, (int64_t)time(NULL));
	r = spk_git_answer(user, g.access_token, expiry, &answer, &err);
	spk_grant_done(&g);
	if (r < 0) {
		return fail(p->name, &err);
	}
	fputs(answer, stdout);
	return EXIT_OK;
}

static int answer_erase(const struct spk_profile *p, const char *password)
{
	struct spk_error err = { 0 };
	int r = spk_flow_token_spent(p, password, &err);

	if (r == -ENOENT) {
		return EXIT_OK; /* no grant: nothing to erase */
	}
	return r < 0 ? fail(p->name, &err) : EXIT_OK;
}

/* [PROFILE] get|store|erase: the words after the options (main.c takes none). */
static int run_git_credential(const struct command_call *call)
{
	int n = call->n_args;
	if (n < 1 || n > 2) {
		return usage_error("git-credential ", "git-credential takes [PROFILE] and one of "
						      "get, store or erase");
	}
	const char *name = n == 2 ? call->args[0] : NULL;
	if (name && !spk_profile_name_valid(name)) {
		return usage_error("git-credential ", "'%s' is not a valid profile name", name);
	}
	enum git_op op = op_of(call->args[n - 1]);
	if (op == OP_OTHER) {
		return EXIT_OK; /* gitcredentials(7): a helper ignores what it does not do */
	}

	struct spk_git_request req = { 0 };
	struct spk_error err = { 0 };
	if (spk_git_request_read(STDIN_FILENO, &req, &err) < 0) {
		return fail(NULL, &err);
	}
	int status = EXIT_OK;
	struct spk_profile p = SPK_PROFILE_INIT;
	if (op != OP_STORE) {
		status = choose_profile(name, &req, &p);
	}
	if (status == EXIT_OK && op == OP_GET) {
		status = answer_get(&p);
	} else if (status == EXIT_OK && op == OP_ERASE) {
		status = answer_erase(&p, req.password);
	}
	spk_profile_done(&p);
	spk_git_request_done(&req);
	return status == NO_ANSWER ? EXIT_OK : status;
}

const struct command cmd_git_credential = {
	.name = "git-credential",
	.summary = "answer git as its credential helper (git-credential-sparekey)",
	.help = git_credential_help,
	.takes = TAKES_WORDS,
	.run = run_git_credential,
};
