/*
 * A grant's health: the access token's state and margin, the refresh
 * token's age and idle death, and when a person must log in.
 */
#include <errno.h>
#include <glib.h>
#include <stdint.h>

#include "health.h"

#define NOW 1700000000
#define DAY 86400

static char at[] = "AT", rt[] = "RT";

/* A fresh Xero-like grant: 30-minute access token, refresh token from then. */
static struct spk_grant fresh_grant(int64_t refresh_obtained_at)
{
	return (struct spk_grant){ .access_token = at,
				   .refresh_token = rt,
				   .obtained_at = NOW,
				   .expires_at = NOW + 1800,
				   .refresh_obtained_at = refresh_obtained_at };
}

static struct spk_profile profile(const char *provider)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	p.name = "test";
	p.provider = (char *)provider;
	return p;
}

/* A refresh token that cannot die of disuse: nothing to warn about, no login. */
static void assert_no_idle_death(const struct spk_health *h)
{
	g_assert_cmpint(h->idle_days, ==, 0);
	g_assert_cmpint(h->dies_at, ==, 0);
	g_assert_false(h->dead);
	g_assert_cmpint(h->days_left, ==, -1);
	g_assert_false(spk_health_dies_within(h, 14));
	g_assert_false(h->needs_login);
}

static void test_access_margin(void)
{
	struct spk_profile p = profile("oidc");
	struct spk_grant g = { .access_token = at,
			       .refresh_token = rt,
			       .obtained_at = NOW - 3000,
			       .refresh_obtained_at = NOW - 3000 };
	struct spk_health h;

	/* 3600 s lifetime: the default 60 s margin stands. */
	g.expires_at = NOW + 61;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.margin, ==, 60);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_VALID);
	g_assert_false(h.renew_due);

	/* Exactly at the margin: expiring, and token renews it. */
	g.expires_at = NOW + 60;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_EXPIRING);
	g_assert_true(h.renew_due);
	g_assert_false(h.needs_login);

	/* Exactly now: expired, but a refresh token renews it. */
	g.expires_at = NOW;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_EXPIRED);
	g_assert_true(h.renew_due);
	g_assert_false(h.needs_login);
	g_assert_cmpint(h.login_reason, ==, SPK_LOGIN_NOT_NEEDED);

	/* The caller's min_valid wins over the default, and the profile's over the default. */
	g.expires_at = NOW + 300;
	spk_health_of(&p, &g, NOW, 300, &h);
	g_assert_cmpint(h.margin, ==, 300);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_EXPIRING);
	p.min_valid = 10;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.margin, ==, 10);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_VALID);

	/* A 60-second token: the margin is half its lifetime, not all of it. */
	p.min_valid = -1;
	g.obtained_at = NOW - 10;
	g.expires_at = NOW + 50;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.margin, ==, 30);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_VALID);
	g_assert_false(h.renew_due);
}

static void test_access_unknown(void)
{
	struct spk_profile p = profile("oidc");
	struct spk_grant g = { .access_token = at,
			       .refresh_token = rt,
			       .obtained_at = NOW - 100,
			       .refresh_obtained_at = NOW - 100 };
	struct spk_health h;

	/* No expiry, but renewable: it is taken to live assume_lifetime (3600 s). */
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_UNKNOWN);
	g_assert_cmpint(h.expires_at, ==, 0);
	g_assert_false(h.renew_due);
	g_assert_cmpint(spk_health_valid_for(&p, &g, NOW), ==, 3500);
	g.obtained_at = NOW - 3600 + 60;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_UNKNOWN);
	g_assert_true(h.renew_due);

	/* No expiry and nothing to renew it: used for as long as it works. */
	g.refresh_token = NULL;
	g.obtained_at = NOW - 10 * DAY;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(spk_health_valid_for(&p, &g, NOW), ==, INT64_MAX);
	g_assert_false(h.renew_due);
	g_assert_false(h.needs_login);
}

static void test_no_refresh_token(void)
{
	struct spk_profile p = profile("xero");
	struct spk_grant g = { .access_token = at,
			       .obtained_at = NOW - 1800,
			       .expires_at = NOW + 60 };
	struct spk_health h;

	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_false(h.has_refresh_token);
	g_assert_cmpint(h.refresh_age, ==, -1);
	assert_no_idle_death(&h);

	/* Expired with nothing to refresh it: a person must log in. */
	g.expires_at = NOW - 1;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_true(h.needs_login);
	g_assert_cmpint(h.login_reason, ==, SPK_LOGIN_EXPIRED);

	/* Unless the client can get its own: client credentials need no person. */
	p.grant = SPK_GRANT_CLIENT_CREDENTIALS;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_false(h.needs_login);
	g_assert_true(h.renew_due);
}

static void test_idle_death_xero(void)
{
	struct spk_profile p = profile("xero");
	struct spk_grant g = fresh_grant(0);
	struct spk_health h;

	/* Xero: 60 days unused. Obtained 10 days and an hour ago: 49 whole days left. */
	g.refresh_obtained_at = NOW - 10 * DAY - 3600;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.idle_days, ==, 60);
	g_assert_cmpint(h.refresh_age, ==, 10 * DAY + 3600);
	g_assert_cmpint(h.dies_at, ==, g.refresh_obtained_at + 60 * DAY);
	g_assert_false(h.dead);
	g_assert_cmpint(h.days_left, ==, 49);
	g_assert_false(spk_health_dies_within(&h, 14));
	g_assert_true(spk_health_dies_within(&h, 49));
	g_assert_false(h.needs_login);

	/* 14 days left, to the second: within 14 days. */
	g.refresh_obtained_at = NOW - 46 * DAY;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.days_left, ==, 14);
	g_assert_true(spk_health_dies_within(&h, 14));
	g_assert_false(spk_health_dies_within(&h, 13));

	/* Dies exactly now: dead, and a person must log in. */
	g.refresh_obtained_at = NOW - 60 * DAY;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_true(h.dead);
	g_assert_cmpint(h.days_left, ==, 0);
	g_assert_true(h.needs_login);
	g_assert_cmpint(h.login_reason, ==, SPK_LOGIN_IDLE_DEATH);
	g_assert_true(spk_health_dies_within(&h, 0));

	/* Died in the past, even with a valid access token. */
	g.refresh_obtained_at = NOW - 90 * DAY;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.access, ==, SPK_ACCESS_VALID);
	g_assert_true(h.dead);
	g_assert_cmpint(h.days_left, ==, 0);
	g_assert_true(h.needs_login);

	/* The profile's refresh_idle_days wins over the preset's. */
	p.refresh_idle_days = 100;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.idle_days, ==, 100);
	g_assert_false(h.dead);
	g_assert_cmpint(h.days_left, ==, 10);
}

static void test_idle_death_none(void)
{
	struct spk_profile p = profile("google");
	struct spk_grant g = { .access_token = at,
			       .refresh_token = rt,
			       .obtained_at = NOW,
			       .expires_at = NOW + 3600,
			       .refresh_obtained_at = NOW - 400 * DAY };
	struct spk_health h;

	/* No idle lifetime known: the age is told, no death. */
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_true(h.has_refresh_token);
	g_assert_cmpint(h.refresh_age, ==, 400 * DAY);
	assert_no_idle_death(&h);

	/* refresh_idle_days = 0 in the profile turns Xero's off too. */
	p = profile("xero");
	p.refresh_idle_days = 0;
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.dies_at, ==, 0);
	g_assert_false(h.needs_login);
}

static void test_age_unknown(void)
{
	struct spk_profile p = profile("xero");
	struct spk_grant g = fresh_grant(0);
	struct spk_health h;

	/* A grant that does not say when its refresh token came counts from the epoch. */
	spk_health_of(&p, &g, NOW, -1, &h);
	g_assert_cmpint(h.refresh_obtained_at, ==, 0);
	g_assert_cmpint(h.refresh_age, ==, -1);
	g_assert_cmpint(h.dies_at, ==, 60 * DAY);
	g_assert_true(h.dead);
	g_assert_true(h.needs_login);
	/* No count of days means anything then: no "dies within" warning. */
	g_assert_cmpint(h.days_left, ==, -1);
	g_assert_false(spk_health_dies_within(&h, 14));
}

static void test_cut_off(void)
{
	struct spk_profile p = profile("xero");
	struct spk_grant g = fresh_grant(NOW);
	struct spk_health h;

	spk_health_of(&p, &g, NOW, -1, &h);
	spk_health_cut_off(&h, 0);
	g_assert_cmpint(h.cut_off, ==, 0);
	g_assert_false(h.needs_login);

	/* Within the provider's grace: the next refresh retries it. */
	spk_health_cut_off(&h, 1);
	g_assert_cmpint(h.cut_off, ==, 1);
	g_assert_false(h.needs_login);

	/* Under way on another machine, which stores its answer when back: no login. */
	spk_health_cut_off(&h, SPK_CUT_OFF_ELSEWHERE);
	g_assert_cmpint(h.cut_off, ==, SPK_CUT_OFF_ELSEWHERE);
	g_assert_false(h.needs_login);
	g_assert_cmpint(h.login_reason, ==, SPK_LOGIN_NOT_NEEDED);

	/* Lost: a person must log in. */
	spk_health_cut_off(&h, -ESTALE);
	g_assert_cmpint(h.cut_off, ==, -ESTALE);
	g_assert_true(h.needs_login);
	g_assert_cmpint(h.login_reason, ==, SPK_LOGIN_CUT_OFF);

	/* A reason found first is kept. */
	g.refresh_obtained_at = NOW - 61 * DAY;
	spk_health_of(&p, &g, NOW, -1, &h);
	spk_health_cut_off(&h, -ESTALE);
	g_assert_cmpint(h.login_reason, ==, SPK_LOGIN_IDLE_DEATH);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/health/access-margin", test_access_margin);
	g_test_add_func("/health/access-unknown", test_access_unknown);
	g_test_add_func("/health/no-refresh-token", test_no_refresh_token);
	g_test_add_func("/health/idle-death-xero", test_idle_death_xero);
	g_test_add_func("/health/idle-death-none", test_idle_death_none);
	g_test_add_func("/health/age-unknown", test_age_unknown);
	g_test_add_func("/health/cut-off", test_cut_off);
	return g_test_run();
}
