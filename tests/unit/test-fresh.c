/*
 * exec --keep-fresh's clock: when the token file is rewritten, the backoff
 * after a failed refresh, and how long the parent sleeps.
 */
#include <glib.h>
#include <stdint.h>

#include "fresh.h"
#include "health.h"

#define NOW 1700000000

static char at[] = "AT", rt[] = "RT";

static struct spk_profile profile(void)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	p.name = "job";
	p.provider = "oidc";
	return p;
}

/* A token issued at obtained, living lifetime seconds (0: expiry unknown). */
static struct spk_grant grant(int64_t obtained, int64_t lifetime)
{
	return (struct spk_grant){ .access_token = at,
				   .refresh_token = rt,
				   .obtained_at = obtained,
				   .expires_at = lifetime ? obtained + lifetime : 0,
				   .refresh_obtained_at = obtained };
}

static void test_due(void)
{
	struct spk_profile p = profile();
	struct spk_grant g = grant(NOW, 1800);

	/* Xero's 30 minutes, the default 60 s margin: rewritten 60 s before the end. */
	g_assert_cmpint(spk_fresh_due(&p, &g, -1, NOW), ==, NOW + 1800 - 60);
	/* Asked later, the same moment. */
	g_assert_cmpint(spk_fresh_due(&p, &g, -1, NOW + 1000), ==, NOW + 1800 - 60);
	/* --min-valid, then the profile's min_valid. */
	g_assert_cmpint(spk_fresh_due(&p, &g, 300, NOW), ==, NOW + 1500);
	p.min_valid = 120;
	g_assert_cmpint(spk_fresh_due(&p, &g, -1, NOW), ==, NOW + 1680);
	/* At the margin exactly, spk_flow_token() refreshes: that moment is due. */
	struct spk_health h;
	spk_health_of(&p, &g, NOW + 1680, -1, &h);
	g_assert_true(h.renew_due);
	spk_health_of(&p, &g, NOW + 1679, -1, &h);
	g_assert_false(h.renew_due);

	/* Tokens of 5 s with min_valid 2 (the integration test): every 3 s. */
	g = grant(NOW, 5);
	p.min_valid = 2;
	g_assert_cmpint(spk_fresh_due(&p, &g, -1, NOW), ==, NOW + 3);
	/* The default margin is capped at half the lifetime: 60 s tokens at 30 s. */
	p.min_valid = -1;
	g = grant(NOW, 60);
	g_assert_cmpint(spk_fresh_due(&p, &g, -1, NOW), ==, NOW + 30);
}

static void test_due_short_or_unknown(void)
{
	struct spk_profile p = profile();
	struct spk_grant g = grant(NOW, 60);

	/* A token living less than the margin: at half its life left, never in a loop. */
	g_assert_cmpint(spk_fresh_due(&p, &g, 300, NOW), ==, NOW + 30);
	g_assert_cmpint(spk_fresh_due(&p, &g, 300, NOW + 58), ==, NOW + 59);
	g_assert_cmpint(spk_fresh_due(&p, &g, 300, NOW + 59), ==, NOW + 60);
	/* Expired already: try within a second. */
	g_assert_cmpint(spk_fresh_due(&p, &g, 300, NOW + 100), ==, NOW + 101);

	/* Expiry unknown: the assumed lifetime (default 3600 s) counts. */
	g = grant(NOW, 0);
	g_assert_cmpint(spk_fresh_due(&p, &g, -1, NOW), ==, NOW + 3600 - 60);
	p.assume_lifetime = 600;
	g_assert_cmpint(spk_fresh_due(&p, &g, 100, NOW), ==, NOW + 500);

	/* Nothing can renew it and no expiry: never. */
	g.refresh_token = NULL;
	g_assert_cmpint(spk_fresh_due(&p, &g, -1, NOW), ==, INT64_MAX);
	g_assert_cmpint(spk_fresh_wait(INT64_MAX, NOW), ==, SPK_FRESH_RECHECK);
}

static void test_retry(void)
{
	struct spk_profile p = profile();
	/* Expired: the plain backoff, 5 s doubling, capped at 300 s. */
	struct spk_grant g = grant(NOW - 4000, 3600);
	int64_t want[] = { 5, 10, 20, 40, 80, 160, 300, 300 };

	for (int n = 1; n <= 8; n++) {
		g_assert_cmpint(spk_fresh_retry(&p, &g, n, NOW), ==, NOW + want[n - 1]);
	}
	g_assert_cmpint(spk_fresh_retry(&p, &g, 1000, NOW), ==, NOW + 300);
	g_assert_cmpint(spk_fresh_retry(&p, &g, INT32_MAX, NOW), ==, NOW + 300);

	/* Still valid for 50 min: the backoff stands. */
	g = grant(NOW, 3000);
	g_assert_cmpint(spk_fresh_retry(&p, &g, 7, NOW), ==, NOW + 300);
	/* Valid for 40 s: no later than half of that. */
	g = grant(NOW - 20, 60);
	g_assert_cmpint(spk_fresh_retry(&p, &g, 1, NOW), ==, NOW + 5);
	g_assert_cmpint(spk_fresh_retry(&p, &g, 3, NOW), ==, NOW + 20);
	g_assert_cmpint(spk_fresh_retry(&p, &g, 4, NOW), ==, NOW + 20);
	/* Valid for 2 s (5 s tokens, margin 2): 1 s, then 1 s, then the backoff. */
	g = grant(NOW - 3, 5);
	g_assert_cmpint(spk_fresh_retry(&p, &g, 1, NOW), ==, NOW + 1);
	g_assert_cmpint(spk_fresh_retry(&p, &g, 2, NOW + 1), ==, NOW + 2);
	g_assert_cmpint(spk_fresh_retry(&p, &g, 3, NOW + 2), ==, NOW + 2 + 20);
}

static void test_wait(void)
{
	g_assert_cmpint(spk_fresh_wait(NOW, NOW), ==, 0);
	g_assert_cmpint(spk_fresh_wait(NOW - 10, NOW), ==, 0);
	g_assert_cmpint(spk_fresh_wait(NOW + 1, NOW), ==, 1);
	g_assert_cmpint(spk_fresh_wait(NOW + SPK_FRESH_RECHECK, NOW), ==, SPK_FRESH_RECHECK);
	g_assert_cmpint(spk_fresh_wait(NOW + 1800, NOW), ==, SPK_FRESH_RECHECK);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/fresh/due", test_due);
	g_test_add_func("/fresh/due-short-or-unknown", test_due_short_or_unknown);
	g_test_add_func("/fresh/retry", test_retry);
	g_test_add_func("/fresh/wait", test_wait);
	return g_test_run();
}
