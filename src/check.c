#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "macro.h"

#define DAY 86400

static const char *const state_names[] = {
	[SPK_CHECK_OK] = "OK",
	[SPK_CHECK_WARNING] = "WARNING",
	[SPK_CHECK_CRITICAL] = "CRITICAL",
	[SPK_CHECK_UNKNOWN] = "UNKNOWN",
};

const char *spk_check_state_name(enum spk_check_state s)
{
	return (size_t)s < ARRAY_SIZE(state_names) ? state_names[s] : "UNKNOWN";
}

/* How bad each state is: CRITICAL > WARNING > UNKNOWN > OK. */
static int rank(enum spk_check_state s)
{
	static const int ranks[] = {
		[SPK_CHECK_OK] = 0,
		[SPK_CHECK_UNKNOWN] = 1,
		[SPK_CHECK_WARNING] = 2,
		[SPK_CHECK_CRITICAL] = 3,
	};
	return (size_t)s < ARRAY_SIZE(ranks) ? ranks[s] : 1;
}

enum spk_check_state spk_check_worse(enum spk_check_state a, enum spk_check_state b)
{
	return rank(b) > rank(a) ? b : a;
}

_printf_(3, 4) static void set(struct spk_check *c, enum spk_check_state state, const char *fmt,
			       ...)
{
	va_list ap;

	c->state = state;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
	/* One line, whatever the parts said. */
	c->message[strcspn(c->message, "\r\n")] = '\0';
}

/*
 * The cause in an error's message: without the "PROFILE: " it starts
 * with and the remedy it ends with (". Run: …", ". Try again …"), which
 * the check says its own way.
 */
static const char *cause_of(const char *profile, const char *msg, char *buf, size_t size)
{
	size_t n = strlen(profile);

	if (strncmp(msg, profile, n) == 0 && strncmp(msg + n, ": ", 2) == 0) {
		msg += n + 2;
	}
	snprintf(buf, size, "%s", msg);
	static const char *const remedies[] = { ". Run: ", ". Run ", ". Try again", ". Then run" };
	for (size_t i = 0; i < ARRAY_SIZE(remedies); i++) {
		char *at = strstr(buf, remedies[i]);
		if (at) {
			*at = '\0';
		}
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '.' || buf[n - 1] == ' ')) {
		buf[--n] = '\0';
	}
	return buf;
}

/* epoch as local time, "2026-11-29 08:10" */
static const char *when(int64_t epoch, char buf[32])
{
	time_t t = (time_t)epoch;
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M", &tm) == 0) {
		snprintf(buf, 32, "@%lld", (long long)epoch);
	}
	return buf;
}

static const char *plural(int64_t n)
{
	return n == 1 ? "" : "s";
}

/* A person must log in: why, from the health. */
static void login_needed(const char *profile, const struct spk_health *h, const char *cut_off_msg,
			 struct spk_check *c)
{
	char cause[256];

	c->needs_login = true;
	switch (h->login_reason) {
	case SPK_LOGIN_IDLE_DEATH:
		set(c, SPK_CHECK_CRITICAL,
		    "the refresh token expired unused (after %lld days "
		    "idle). Run: sparekey login %s",
		    (long long)h->idle_days, profile);
		return;
	case SPK_LOGIN_CUT_OFF:
		set(c, SPK_CHECK_CRITICAL, "%s. Run: sparekey login %s",
		    cut_off_msg ? cause_of(profile, cut_off_msg, cause, sizeof(cause))
				: "a refresh was cut off and its refresh token is spent",
		    profile);
		return;
	case SPK_LOGIN_EXPIRED:
	case SPK_LOGIN_NOT_NEEDED:
		break;
	}
	set(c, SPK_CHECK_CRITICAL,
	    "the access token expired and the grant cannot be refreshed "
	    "(no refresh token). Run: sparekey login %s",
	    profile);
}

/* Ends within days, with nothing to renew it: plain "N days" of an access token. */
static void say_days(char *buf, size_t size, int64_t seconds)
{
	int64_t days = seconds / DAY;

	if (days == 0) {
		snprintf(buf, size, "less than a day");
	} else {
		snprintf(buf, size, "%lld day%s", (long long)days, plural(days));
	}
}

void spk_check_grant(const struct spk_profile *p, const struct spk_health *h, int64_t obtained_at,
		     const struct spk_failure *last, const char *cut_off_msg, int64_t within,
		     struct spk_check *ret)
{
	const char *profile = p->name;
	struct spk_check c = { .profile = profile, .days_left = h->days_left };
	char cause[256], at[32], days[32];
	bool renewable = h->has_refresh_token || p->grant == SPK_GRANT_CLIENT_CREDENTIALS;

	/* A login or a refresh stored since the failure answered it. */
	if (last && last->at < obtained_at) {
		last = NULL;
	}
	if (h->needs_login) {
		login_needed(profile, h, cut_off_msg, &c);
	} else if (last && last->kind == SPK_ERR_LOGIN) {
		c.needs_login = true;
		set(&c, SPK_CHECK_CRITICAL,
		    "the last refresh (%s) was turned down: %s. "
		    "Run: sparekey login %s",
		    when(last->at, at), cause_of(profile, last->msg, cause, sizeof(cause)),
		    profile);
	} else if (h->cut_off == SPK_CUT_OFF_ELSEWHERE) {
		set(&c, SPK_CHECK_WARNING, "%s",
		    cut_off_msg ? cause_of(profile, cut_off_msg, cause, sizeof(cause))
				: "a refresh is under way on another machine sharing the store");
	} else if (last) {
		set(&c, SPK_CHECK_WARNING, "the last refresh (%s) failed: %s", when(last->at, at),
		    cause_of(profile, last->msg, cause, sizeof(cause)));
	} else if (h->cut_off > 0) {
		set(&c, SPK_CHECK_WARNING,
		    "a refresh was cut off; the next one sends it again. "
		    "Run: sparekey refresh %s",
		    profile);
	} else if (spk_health_dies_within(h, within)) {
		say_days(days, sizeof(days), h->dies_at - h->now);
		set(&c, SPK_CHECK_WARNING, "refresh token expires in %s unless used", days);
	} else if (!renewable && h->expires_at > 0 && h->expires_at - h->now < (within + 1) * DAY) {
		say_days(days, sizeof(days), h->expires_at - h->now);
		set(&c, SPK_CHECK_WARNING,
		    "the access token expires in %s and the grant cannot be "
		    "refreshed (no refresh token); then run: sparekey login %s",
		    days, profile);
	} else if (h->dies_at > 0) {
		say_days(days, sizeof(days), h->dies_at - h->now);
		set(&c, SPK_CHECK_OK, "refresh token expires in %s unless used", days);
	} else if (h->has_refresh_token) {
		set(&c, SPK_CHECK_OK, "refresh token present, with no idle expiry");
	} else if (p->grant == SPK_GRANT_CLIENT_CREDENTIALS) {
		set(&c, SPK_CHECK_OK, "client credentials: renewed with no person");
	} else if (h->expires_at > 0) {
		say_days(days, sizeof(days), h->expires_at - h->now);
		set(&c, SPK_CHECK_OK, "access token valid for %s (no refresh token)", days);
	} else {
		set(&c, SPK_CHECK_OK, "access token of unknown expiry (no refresh token)");
	}
	*ret = c;
}

void spk_check_unloaded(const char *profile, const struct spk_error *err, struct spk_check *ret)
{
	struct spk_check c = { .profile = profile, .days_left = -1 };
	char cause[256];

	if (err->kind == SPK_ERR_LOGIN) {
		c.needs_login = true;
		set(&c, SPK_CHECK_CRITICAL, "%s. Run: sparekey login %s",
		    err->code == -ENOENT ? "no grant is stored"
					 : cause_of(profile, err->msg, cause, sizeof(cause)),
		    profile);
	} else {
		set(&c, SPK_CHECK_UNKNOWN, "cannot read the grant: %s",
		    cause_of(profile, err->msg, cause, sizeof(cause)));
	}
	*ret = c;
}

void spk_check_unconfigured(const char *profile, const struct spk_error *err, struct spk_check *ret)
{
	struct spk_check c = { .profile = profile, .days_left = -1 };

	set(&c, SPK_CHECK_UNKNOWN, "%s", err->msg);
	*ret = c;
}

/* One check as a JSON object; NULL on out-of-memory. */
static struct spk_json *check_object(const struct spk_check *c)
{
	struct spk_json *o = spk_json_new_object();

	if (!o) {
		return NULL;
	}
	int e = spk_json_add_nullable(o, "profile", c->profile);
	e |= spk_json_add_string(o, "status", spk_check_state_name(c->state));
	e |= spk_json_add_int64(o, "code", (int64_t)c->state);
	e |= spk_json_add_string(o, "message", c->message);
	e |= c->days_left >= 0 ? spk_json_add_int64(o, "days_left", c->days_left)
			       : spk_json_add_null(o, "days_left");
	e |= spk_json_add_bool(o, "needs_login", c->needs_login);
	if (e != 0) {
		spk_json_free(o);
		return NULL;
	}
	return o;
}

int spk_check_to_json(const struct spk_check *checks, size_t n, char **ret)
{
	_cleanup_json_ struct spk_json *list = spk_json_new_array();

	for (size_t i = 0; list && i < n; i++) {
		struct spk_json *o = check_object(&checks[i]);
		if (!o || spk_json_append(list, o) < 0) {
			return -ENOMEM;
		}
	}
	char *text = list ? spk_json_dump(list) : NULL;
	if (!text) {
		return -ENOMEM;
	}
	*ret = text;
	return 0;
}
