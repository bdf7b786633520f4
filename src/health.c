#include "health.h"

#include <errno.h>
#include <stdint.h>

#include "provider.h"

#define DAY 86400

/* The lifetime assumed for g's access token when its expiry is unknown; 0: none. */
static int64_t assumed_lifetime(const struct spk_profile *p, const struct spk_grant *g)
{
	if (!g->refresh_token && p->grant != SPK_GRANT_CLIENT_CREDENTIALS) {
		return 0; /* nothing can renew it: it is used for as long as it works */
	}
	return p->assume_lifetime > 0 ? p->assume_lifetime : SPK_DEFAULT_ASSUME_LIFETIME;
}

int64_t spk_health_margin(const struct spk_profile *p, const struct spk_grant *g, int64_t min_valid)
{
	if (min_valid >= 0) {
		return min_valid;
	}
	return p->min_valid >= 0
		       ? p->min_valid
		       : spk_grant_margin(g, assumed_lifetime(p, g), SPK_DEFAULT_MIN_VALID);
}

int64_t spk_health_valid_for(const struct spk_profile *p, const struct spk_grant *g, int64_t now)
{
	return spk_grant_valid_for(g, assumed_lifetime(p, g), now);
}

static void access_of(const struct spk_profile *p, const struct spk_grant *g, struct spk_health *h)
{
	h->expires_at = g->expires_at;
	h->renew_due = spk_health_valid_for(p, g, h->now) <= h->margin;
	if (g->expires_at == 0) {
		h->access = SPK_ACCESS_UNKNOWN;
	} else if (g->expires_at <= h->now) {
		h->access = SPK_ACCESS_EXPIRED;
	} else if (g->expires_at - h->now <= h->margin) {
		h->access = SPK_ACCESS_EXPIRING;
	} else {
		h->access = SPK_ACCESS_VALID;
	}
}

static void refresh_of(const struct spk_profile *p, const struct spk_grant *g, struct spk_health *h)
{
	h->has_refresh_token = g->refresh_token != NULL;
	h->refresh_age = -1;
	h->days_left = -1;
	if (!h->has_refresh_token) {
		return;
	}
	h->refresh_obtained_at = g->refresh_obtained_at;
	if (g->refresh_obtained_at > 0) {
		h->refresh_age = h->now - g->refresh_obtained_at;
	}
	h->idle_days = spk_provider_refresh_idle_days(p);
	if (h->idle_days <= 0) {
		h->idle_days = 0;
		return;
	}
	/* Both are bounded (a stored timestamp, a profile key of at most 3650): the sum fits. */
	h->dies_at = g->refresh_obtained_at + h->idle_days * DAY;
	h->dead = h->dies_at <= h->now;
	if (h->refresh_age >= 0) {
		h->days_left = h->dead ? 0 : (h->dies_at - h->now) / DAY;
	}
}

void spk_health_of(const struct spk_profile *p, const struct spk_grant *g, int64_t now,
		   int64_t min_valid, struct spk_health *ret)
{
	*ret = (struct spk_health){ .now = now };
	ret->margin = spk_health_margin(p, g, min_valid);
	access_of(p, g, ret);
	refresh_of(p, g, ret);
	/* Expired with nothing to refresh it (client credentials need nothing), or retired. */
	if (ret->access == SPK_ACCESS_EXPIRED && !ret->has_refresh_token &&
	    p->grant != SPK_GRANT_CLIENT_CREDENTIALS) {
		ret->login_reason = SPK_LOGIN_EXPIRED;
	} else if (ret->dead) {
		ret->login_reason = SPK_LOGIN_IDLE_DEATH;
	}
	ret->needs_login = ret->login_reason != SPK_LOGIN_NOT_NEEDED;
}

void spk_health_cut_off(struct spk_health *h, int cut_off)
{
	h->cut_off = cut_off;
	if (cut_off < 0 && !h->needs_login) {
		h->needs_login = true;
		h->login_reason = SPK_LOGIN_CUT_OFF;
	}
}

bool spk_health_dies_within(const struct spk_health *h, int64_t days)
{
	return h->days_left >= 0 && h->days_left <= days;
}
