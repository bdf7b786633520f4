/*
 * git's credential-helper protocol (gitcredentials(7), git-credential(1)),
 * for `sparekey git-credential [PROFILE] get|store|erase`: reading git's
 * request, deciding which profile answers it, writing the answer.
 *
 * MUST:
 *  - a token goes only to https, or to plain http on a loopback host
 *    (localhost, 127.0.0.0/8, [::1]); never to any other host over http;
 *  - without a PROFILE, only a profile whose git_hosts lists the host
 *    answers, and the first such in the config file's order;
 *  - messages never hold a request's values (a password may be among them):
 *    they name the line by its number only;
 *  - the request text and the answer are secrets: wipe them.
 *
 * Everything here but spk_git_request_read() and spk_git_pick_profile() is
 * pure: no I/O, no clock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "grant.h"
#include "profile.h"

/* The longest line taken (without its newline), and the longest request. */
#define SPK_GIT_LINE_MAX 65536
#define SPK_GIT_REQUEST_MAX (1024 * 1024)

/* The default user name: what forges take beside an OAuth token. */
#define SPK_GIT_DEFAULT_USERNAME "oauth2"

/* What sparekey reads of git's request; every member NULL when absent. */
struct spk_git_request {
	char *protocol; /* "https" */
	char *host;     /* "git.example.com", or "git.example.com:8443" with a port */
	char *path;     /* only with credential.useHttpPath */
	char *username;
	char *password; /* secret: the one git used (store, erase) */
};

void spk_git_request_done(struct spk_git_request *r);

/*
 * Parse a request: key=value lines, each ended by "\n" (or "\r\n"), up to
 * an empty line or the end of buf. A later value of a key replaces the
 * earlier one; keys sparekey does not use (wwwauth[], capability[], ...)
 * are skipped; url= fills protocol, host, path and username when those are
 * not given. A line without '=' or with an empty key, a NUL, or a line over
 * SPK_GIT_LINE_MAX is refused (-EBADMSG, SPK_ERR_USAGE).
 */
int spk_git_request_parse(const char *buf, size_t len, struct spk_git_request *ret,
			  struct spk_error *err);

/*
 * Read fd up to the empty line that ends a request, or its end, and parse
 * it. Reads no further than that line: git may hold the pipe open while it
 * waits for the answer.
 */
int spk_git_request_read(int fd, struct spk_git_request *ret, struct spk_error *err);

/* Is host (as git sends it: "name", "name:port", "[v6]:port") a loopback host? */
bool spk_git_host_loopback(const char *host);

/* May a token be sent where req goes: https, or http to a loopback host. */
bool spk_git_protocol_ok(const struct spk_git_request *req);

/*
 * Does git_hosts (a profile's key: hosts separated by spaces) list host?
 * Each entry is compared with the whole host, ignoring ASCII case: with a
 * port, "name:port" lists that port only.
 */
bool spk_git_host_listed(const char *git_hosts, const char *host);

/*
 * Does a profile with these git_hosts answer req? Named on the command line
 * (named): for any host when git_hosts is unset (git's config chose the
 * URL), else for the hosts it lists. Chosen by host (!named): only when
 * git_hosts lists the host. Never over plain http to another machine.
 */
bool spk_git_serves(const char *git_hosts, bool named, const struct spk_git_request *req);

/*
 * The first profile of cfg, in the file's order, that answers req by its
 * host: 0 with its name in *ret_name (free it), -ENOENT when none does. A
 * profile that cannot be read is passed over (its error is for the
 * commands that name it).
 */
int spk_git_pick_profile(const struct spk_config *cfg, const struct spk_git_request *req,
			 char **ret_name);

/*
 * password_expiry_utc for g's access token at now: its expiry, or, when the
 * provider gave none, when sparekey will renew it (the assumed lifetime);
 * 0 (leave the line out) for a token nothing renews.
 */
int64_t spk_git_expiry(const struct spk_profile *p, const struct spk_grant *g, int64_t now);

/*
 * The answer to get: "username=U\npassword=P\npassword_expiry_utc=E\n",
 * the last line only when expiry_utc > 0. *ret is a secret. A username or
 * password with a newline, CR or NUL would smuggle in more lines: -EINVAL.
 */
int spk_git_answer(const char *username, const char *password, int64_t expiry_utc, char **ret,
		   struct spk_error *err);
