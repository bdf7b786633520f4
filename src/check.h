/*
 * `check`: will a person be needed? One profile's answer in the states of
 * the Monitoring Plugins (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN),
 * decided from what is stored here only: the grant's health (health.h),
 * the last refresh's failure (failure.h) and whether the config and the
 * store could be read. Pure: no I/O, no clock of its own; the caller loads
 * (without the lock, without the network) and prints.
 *
 * The rules, first match wins:
 *  CRITICAL  the health says a person must log in (no refresh possible,
 *            refresh token dead of disuse, a cut-off refresh past its
 *            grace), no grant is stored or it is unreadable, or the last
 *            refresh was turned down (SPK_ERR_LOGIN: invalid_grant, ...);
 *  WARNING   the last refresh failed otherwise (temporarily: the provider
 *            unreachable, HTTP 5xx, the keyring, a config problem), a
 *            cut-off refresh waits to be retried, the refresh token dies
 *            unless used within `within` days, or a grant with no refresh
 *            token ends within them;
 *  UNKNOWN   the config or the store could not be read (keyring locked,
 *            no Secret Service, no such profile);
 *  OK        otherwise.
 * A failure record older than the grant (a login or a refresh stored
 * since) is ignored.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "failure.h"
#include "health.h"
#include "profile.h"

enum spk_check_state {
	SPK_CHECK_OK = 0,
	SPK_CHECK_WARNING = 1,
	SPK_CHECK_CRITICAL = 2,
	SPK_CHECK_UNKNOWN = 3,
};

struct spk_check {
	const char *profile;        /* borrowed */
	enum spk_check_state state; /* also the plugin's exit status */
	bool needs_login;           /* a person must run `sparekey login` now */
	int64_t days_left;          /* whole days until the refresh token dies unless used;
				     * -1: it does not, or nobody knows */
	char message[384];          /* one line, never a secret; no "PROFILE: " prefix */
};

/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *spk_check_state_name(enum spk_check_state s);

/*
 * The worse of a and b, for the exit status of several profiles:
 * CRITICAL > WARNING > UNKNOWN > OK (as the Monitoring Plugins'
 * max_state_alt: a person is needed before "cannot tell").
 */
enum spk_check_state spk_check_worse(enum spk_check_state a, enum spk_check_state b);

/*
 * The answer for p's stored grant: h its health (spk_flow_health, so with
 * any cut-off folded in; cut_off_msg the story when h->cut_off < 0 or is
 * SPK_CUT_OFF_ELSEWHERE, or NULL), obtained_at the grant's, last the last
 * refresh's failure or NULL, within the days of warning
 * (SPK_HEALTH_WARN_DAYS by default). A refresh under way on another
 * machine is a WARNING, not a login.
 */
void spk_check_grant(const struct spk_profile *p, const struct spk_health *h, int64_t obtained_at,
		     const struct spk_failure *last, const char *cut_off_msg, int64_t within,
		     struct spk_check *ret);

/*
 * The answer when the grant could not be loaded (err from spk_flow_load):
 * none stored or unreadable (SPK_ERR_LOGIN) is CRITICAL, anything else
 * (the keyring locked or unreachable) UNKNOWN.
 */
void spk_check_unloaded(const char *profile, const struct spk_error *err, struct spk_check *ret);

/* The answer when the profile could not be read from the config file: UNKNOWN. */
void spk_check_unconfigured(const char *profile, const struct spk_error *err,
			    struct spk_check *ret);

/*
 * `check --json`: an array of objects {profile, status, code, message,
 * days_left (null: never or unknown), needs_login}; *ret is the caller's.
 */
int spk_check_to_json(const struct spk_check *checks, size_t n, char **ret);
