/*
 * The health of one grant at one moment: what `status`, `doctor`,
 * `refresh --all` and `token` decide about it, computed in one place from
 * the profile, the grant and "now". Pure: no I/O, no clock of its own.
 * Whether a refresh was cut off (spk_flow_cut_off) needs the lock and the
 * in-flight record, so flow does that and folds it in (spk_health_cut_off,
 * spk_flow_health).
 *
 * For a monitoring check: the refresh token dying within N days unless used
 * is spk_health_dies_within(h, N); a person having to log in is
 * h->needs_login (h->login_reason says why).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "grant.h"
#include "profile.h"

/* The margin a token must keep unless the caller or the profile says otherwise. */
#define SPK_DEFAULT_MIN_VALID 60

/* refresh --all warns this many days before a refresh token dies of disuse. */
#define SPK_HEALTH_WARN_DAYS 14

enum spk_access_state {
	SPK_ACCESS_VALID,    /* expiry known, more than the margin left */
	SPK_ACCESS_EXPIRING, /* expiry known, still valid, but within the margin */
	SPK_ACCESS_EXPIRED,  /* expiry known and passed (at exactly now: expired) */
	SPK_ACCESS_UNKNOWN,  /* the provider gave no expiry */
};

enum spk_login_reason {
	SPK_LOGIN_NOT_NEEDED,
	SPK_LOGIN_EXPIRED,    /* access token expired, nothing can renew it */
	SPK_LOGIN_IDLE_DEATH, /* the refresh token went unused past the provider's idle lifetime */
	SPK_LOGIN_CUT_OFF,    /* a refresh was cut off and the provider's grace is over */
};

/* health.cut_off: a refresh under way on another machine sharing the store. */
#define SPK_CUT_OFF_ELSEWHERE 2

struct spk_health {
	int64_t now;

	/* The access token. */
	enum spk_access_state access;
	int64_t expires_at; /* 0: unknown */
	int64_t margin;     /* seconds it must stay valid (spk_health_margin) */
	/*
	 * `token` refreshes before it answers: it is valid for no longer than
	 * the margin. Of unknown expiry, it counts the assumed lifetime
	 * (spk_health_valid_for), so this may be set while access is UNKNOWN.
	 */
	bool renew_due;

	/* The refresh token. */
	bool has_refresh_token;
	int64_t refresh_obtained_at; /* 0: no token, or the grant does not say */
	int64_t refresh_age;         /* now - refresh_obtained_at; -1: no token or unknown */
	int64_t idle_days;           /* the provider's idle lifetime in days; 0: none known */
	/*
	 * When the refresh token dies unless used: refresh_obtained_at + idle
	 * lifetime; 0 without a token or an idle lifetime. A grant that does not
	 * say when its token came counts from the epoch, so it is past this.
	 */
	int64_t dies_at;
	bool dead; /* dies_at has come (at exactly now: dead) */
	/* Whole days until dies_at, 0 once it passed; -1 when dies_at is 0 or the age unknown. */
	int64_t days_left;

	/*
	 * A refresh cut off after it was sent: 0 none, 1 the next retries it,
	 * SPK_CUT_OFF_ELSEWHERE another machine sharing the store sent it and
	 * stores its answer when it is back (under way: no login), -ESTALE lost.
	 */
	int cut_off;

	bool needs_login; /* a person must run login (login_reason says why) */
	enum spk_login_reason login_reason;
};

/*
 * How long g must stay valid: min_valid when >= 0, else the profile's
 * min_valid, else SPK_DEFAULT_MIN_VALID capped at half the token's
 * lifetime (so that 60-second tokens are not refreshed on every call).
 */
int64_t spk_health_margin(const struct spk_profile *p, const struct spk_grant *g,
			  int64_t min_valid);

/*
 * Seconds g's access token stays valid after now. Of unknown expiry, it is
 * taken to live the profile's assume_lifetime if something can renew it (a
 * refresh token, client credentials), else as long as it works (INT64_MAX).
 */
int64_t spk_health_valid_for(const struct spk_profile *p, const struct spk_grant *g, int64_t now);

/*
 * g's health at now, with min_valid as for spk_health_margin (-1: the
 * profile's). No cut-off is assumed (cut_off 0); see spk_health_cut_off.
 */
void spk_health_of(const struct spk_profile *p, const struct spk_grant *g, int64_t now,
		   int64_t min_valid, struct spk_health *ret);

/* Fold in spk_flow_cut_off's answer: a lost refresh means a person must log in. */
void spk_health_cut_off(struct spk_health *h, int cut_off);

/*
 * Does the refresh token die unless used within days (0: today)? False when
 * it has no idle death or its age is unknown, true once it is dead.
 */
bool spk_health_dies_within(const struct spk_health *h, int64_t days);
