/*
 * `check`: a grant's health and the last refresh's failure as the
 * Monitoring Plugins' OK, WARNING, CRITICAL and UNKNOWN, with one line
 * that says why; and the failure record it reads.
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "failure.h"

#define NOW 1700000000
#define DAY 86400

static char at[] = "AT", rt[] = "RT";

static struct spk_profile profile(const char *provider)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	p.name = "xero";
	p.provider = (char *)provider;
	return p;
}

/* A Xero grant (60 days of idle life) whose refresh token is age seconds old. */
static void xero_check(int64_t age, const struct spk_failure *last, int64_t within,
		       struct spk_check *ret)
{
	struct spk_profile p = profile("xero");
	struct spk_grant g = { .access_token = at,
			       .refresh_token = rt,
			       .obtained_at = NOW - age,
			       .expires_at = NOW - age + 1800,
			       .refresh_obtained_at = NOW - age };
	struct spk_health h;

	spk_health_of(&p, &g, NOW, -1, &h);
	spk_check_grant(&p, &h, g.obtained_at, last, NULL, within, ret);
}

static void test_states(void)
{
	g_assert_cmpstr(spk_check_state_name(SPK_CHECK_OK), ==, "OK");
	g_assert_cmpstr(spk_check_state_name(SPK_CHECK_WARNING), ==, "WARNING");
	g_assert_cmpstr(spk_check_state_name(SPK_CHECK_CRITICAL), ==, "CRITICAL");
	g_assert_cmpstr(spk_check_state_name(SPK_CHECK_UNKNOWN), ==, "UNKNOWN");
	/* The plugin's exit statuses. */
	g_assert_cmpint(SPK_CHECK_OK, ==, 0);
	g_assert_cmpint(SPK_CHECK_WARNING, ==, 1);
	g_assert_cmpint(SPK_CHECK_CRITICAL, ==, 2);
	g_assert_cmpint(SPK_CHECK_UNKNOWN, ==, 3);
	/* CRITICAL > WARNING > UNKNOWN > OK, either way round. */
	g_assert_cmpint(spk_check_worse(SPK_CHECK_OK, SPK_CHECK_WARNING), ==, SPK_CHECK_WARNING);
	g_assert_cmpint(spk_check_worse(SPK_CHECK_UNKNOWN, SPK_CHECK_WARNING), ==,
			SPK_CHECK_WARNING);
	g_assert_cmpint(spk_check_worse(SPK_CHECK_WARNING, SPK_CHECK_UNKNOWN), ==,
			SPK_CHECK_WARNING);
	g_assert_cmpint(spk_check_worse(SPK_CHECK_CRITICAL, SPK_CHECK_UNKNOWN), ==,
			SPK_CHECK_CRITICAL);
	g_assert_cmpint(spk_check_worse(SPK_CHECK_UNKNOWN, SPK_CHECK_CRITICAL), ==,
			SPK_CHECK_CRITICAL);
	g_assert_cmpint(spk_check_worse(SPK_CHECK_OK, SPK_CHECK_UNKNOWN), ==, SPK_CHECK_UNKNOWN);
	g_assert_cmpint(spk_check_worse(SPK_CHECK_OK, SPK_CHECK_OK), ==, SPK_CHECK_OK);
}

static void test_idle_expiry(void)
{
	struct spk_check c;

	/* A day old: 59 days left, nothing to say but that. */
	xero_check(DAY, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);
	g_assert_cmpint(c.days_left, ==, 59);
	g_assert_false(c.needs_login);
	g_assert_cmpstr(c.message, ==, "refresh token expires in 59 days unless used");
	g_assert_cmpstr(c.profile, ==, "xero");

	/* 56 days old: 4 left, within 14. */
	xero_check(56 * DAY, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_cmpint(c.days_left, ==, 4);
	g_assert_false(c.needs_login);
	g_assert_cmpstr(c.message, ==, "refresh token expires in 4 days unless used");
	/* ... but not within 3. */
	xero_check(56 * DAY, NULL, 3, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);
	/* Exactly 14 days left warns with --within 14; 15 do not. */
	xero_check(46 * DAY, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	xero_check(45 * DAY, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);
	/* One day and less than one. */
	xero_check(59 * DAY - 10, NULL, 14, &c);
	g_assert_cmpstr(c.message, ==, "refresh token expires in 1 day unless used");
	xero_check(60 * DAY - 10, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_cmpstr(c.message, ==, "refresh token expires in less than a day unless used");
	/* --within 0: only the last day warns. */
	xero_check(60 * DAY - 10, NULL, 0, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	xero_check(58 * DAY, NULL, 0, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);

	/* Dead of disuse: a person must log in. */
	xero_check(60 * DAY, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_CRITICAL);
	g_assert_true(c.needs_login);
	g_assert_cmpint(c.days_left, ==, 0);
	g_assert_cmpstr(c.message, ==,
			"the refresh token expired unused (after 60 days idle). "
			"Run: sparekey login xero");
}

static void test_last_failure(void)
{
	struct spk_failure temp = {
		.kind = SPK_ERR_TEMPFAIL,
		.at = NOW - 60,
		.msg = "xero: token endpoint answered HTTP 503. Try again later"
	};
	struct spk_failure denied = {
		.kind = SPK_ERR_LOGIN,
		.at = NOW - 60,
		.msg = "xero: the provider no longer accepts this grant (invalid_grant). Run: "
		       "sparekey login xero",
	};
	struct spk_check c;

	/* Failed for now: a warning that says what happened, without the remedy's words. */
	xero_check(DAY, &temp, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_false(c.needs_login);
	g_assert_nonnull(strstr(c.message, "the last refresh ("));
	g_assert_true(g_str_has_suffix(c.message, ") failed: token endpoint answered HTTP 503"));

	/* Turned down: a person must log in, and the line says how, once. */
	xero_check(DAY, &denied, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_CRITICAL);
	g_assert_true(c.needs_login);
	g_assert_true(g_str_has_suffix(c.message,
				       "was turned down: the provider no longer accepts "
				       "this grant (invalid_grant). Run: sparekey login xero"));
	g_assert_null(strstr(strstr(c.message, "sparekey login") + 1, "sparekey login"));

	/* A grant stored since (a login, another refresh) makes the record stale. */
	denied.at = NOW - DAY - 1;
	xero_check(DAY, &denied, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);
	g_assert_false(c.needs_login);
	/* ... but one at the very second the grant came still counts. */
	denied.at = NOW - DAY;
	xero_check(DAY, &denied, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_CRITICAL);

	/* A dead refresh token is critical whatever the last refresh said. */
	xero_check(61 * DAY, &temp, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_CRITICAL);
	/* A failure outranks the idle warning: it is what needs looking at. */
	xero_check(56 * DAY, &temp, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_nonnull(strstr(c.message, "failed"));
	g_assert_cmpint(c.days_left, ==, 4);
}

static void test_cut_off(void)
{
	struct spk_profile p = profile("xero");
	struct spk_grant g = { .access_token = at,
			       .refresh_token = rt,
			       .obtained_at = NOW,
			       .expires_at = NOW + 1800,
			       .refresh_obtained_at = NOW };
	struct spk_health h;
	struct spk_check c;

	spk_health_of(&p, &g, NOW, -1, &h);
	spk_health_cut_off(&h, 1);
	spk_check_grant(&p, &h, g.obtained_at, NULL, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_nonnull(strstr(c.message, "Run: sparekey refresh xero"));

	spk_health_of(&p, &g, NOW, -1, &h);
	spk_health_cut_off(&h, -ESTALE);
	spk_check_grant(&p, &h, g.obtained_at, NULL,
			"xero: a refresh sent at 2023-11-14 22:13:20 UTC was cut off before its "
			"answer was stored. Run: sparekey login xero",
			14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_CRITICAL);
	g_assert_true(c.needs_login);
	g_assert_cmpstr(c.message, ==,
			"a refresh sent at 2023-11-14 22:13:20 UTC was cut off "
			"before its answer was stored. Run: sparekey login xero");
}

/* Another machine sharing the store sent a refresh and is cut off: it stores it when back. */
static void test_cut_off_elsewhere(void)
{
	struct spk_profile p = profile("xero");
	struct spk_grant g = { .access_token = at,
			       .refresh_token = rt,
			       .obtained_at = NOW,
			       .expires_at = NOW - 60,
			       .refresh_obtained_at = NOW };
	struct spk_health h;
	struct spk_check c;

	spk_health_of(&p, &g, NOW, -1, &h);
	spk_health_cut_off(&h, SPK_CUT_OFF_ELSEWHERE);
	spk_check_grant(&p, &h, g.obtained_at, NULL,
			"xero: refresh under way on web2 since 2023-11-14 22:13:20 UTC (pid 42). "
			"That machine stores the new grant when it is back; if it is gone for "
			"good, run: sparekey login xero",
			14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_false(c.needs_login);
	g_assert_nonnull(strstr(c.message, "refresh under way on web2 since 2023-11-14"));
	g_assert_null(strstr(c.message, "xero: "));

	/* With no story: still a warning. */
	spk_check_grant(&p, &h, g.obtained_at, NULL, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_false(c.needs_login);

	/* This machine's token that met it (exit 75) failed for now: the story is the other's. */
	struct spk_failure last = { .kind = SPK_ERR_TEMPFAIL, .at = NOW + 5 };
	snprintf(last.msg, sizeof(last.msg), "xero: web2 (pid 42) sent a refresh at ...");
	spk_check_grant(&p, &h, g.obtained_at, &last,
			"xero: refresh under way on web2 since 2023-11-14 22:13:20 UTC (pid 42). "
			"That machine stores the new grant when it is back",
			14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_nonnull(strstr(c.message, "refresh under way on web2"));
}

static void test_no_refresh_token(void)
{
	struct spk_profile p = profile("oidc");
	struct spk_grant g = { .access_token = at,
			       .obtained_at = NOW,
			       .expires_at = NOW + 30 * DAY };
	struct spk_health h;
	struct spk_check c;

	/* It ends with its access token: fine for now, a warning within DAYS, then critical. */
	spk_health_of(&p, &g, NOW, -1, &h);
	spk_check_grant(&p, &h, g.obtained_at, NULL, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);
	g_assert_cmpint(c.days_left, ==, -1);
	g_assert_cmpstr(c.message, ==, "access token valid for 30 days (no refresh token)");
	spk_health_of(&p, &g, NOW + 20 * DAY, -1, &h);
	spk_check_grant(&p, &h, g.obtained_at, NULL, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_WARNING);
	g_assert_nonnull(strstr(c.message, "expires in 10 days"));
	g_assert_nonnull(strstr(c.message, "sparekey login xero"));
	spk_health_of(&p, &g, NOW + 30 * DAY, -1, &h);
	spk_check_grant(&p, &h, g.obtained_at, NULL, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_CRITICAL);
	g_assert_true(c.needs_login);
	g_assert_true(g_str_has_suffix(c.message, "Run: sparekey login xero"));

	/* Client credentials need no person, whenever the token ends. */
	p.grant = SPK_GRANT_CLIENT_CREDENTIALS;
	spk_health_of(&p, &g, NOW + 29 * DAY, -1, &h);
	spk_check_grant(&p, &h, g.obtained_at, NULL, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);
	spk_health_of(&p, &g, NOW + 31 * DAY, -1, &h);
	spk_check_grant(&p, &h, g.obtained_at, NULL, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);
	g_assert_false(c.needs_login);

	/* A refresh token of no known idle life: nothing to count down. */
	p.grant = SPK_GRANT_AUTHORIZATION_CODE;
	g.refresh_token = rt;
	g.refresh_obtained_at = NOW - 400 * DAY;
	spk_health_of(&p, &g, NOW, -1, &h);
	spk_check_grant(&p, &h, g.obtained_at, NULL, NULL, 14, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_OK);
	g_assert_cmpint(c.days_left, ==, -1);
}

static void test_unloaded(void)
{
	struct spk_error none = { .kind = SPK_ERR_LOGIN,
				  .code = -ENOENT,
				  .msg = "never: no grant is stored. Run: sparekey login never" };
	struct spk_error locked = {
		.kind = SPK_ERR_TEMPFAIL,
		.code = -EACCES,
		.msg = "fresh: the keyring collection is locked. Unlock it (log in to the desktop "
		       "once), then try again",
	};
	struct spk_error config = { .kind = SPK_ERR_CONFIG,
				    .code = -EINVAL,
				    .msg = "/c/config: [x] min_valid must be 0-86400 seconds" };
	struct spk_check c;

	spk_check_unloaded("never", &none, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_CRITICAL);
	g_assert_true(c.needs_login);
	g_assert_cmpstr(c.message, ==, "no grant is stored. Run: sparekey login never");
	g_assert_cmpint(c.days_left, ==, -1);

	spk_check_unloaded("fresh", &locked, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_UNKNOWN);
	g_assert_false(c.needs_login);
	g_assert_nonnull(strstr(c.message, "the keyring collection is locked"));

	spk_check_unconfigured("x", &config, &c);
	g_assert_cmpint(c.state, ==, SPK_CHECK_UNKNOWN);
	g_assert_cmpstr(c.message, ==, config.msg);
}

static void test_json(void)
{
	struct spk_check c[2];
	struct spk_error none = { .kind = SPK_ERR_LOGIN, .code = -ENOENT, .msg = "x" };
	char *text = NULL;

	xero_check(56 * DAY, NULL, 14, &c[0]);
	spk_check_unloaded("never", &none, &c[1]);
	g_assert_cmpint(spk_check_to_json(c, 2, &text), ==, 0);
	g_assert_cmpstr(
		text, ==,
		"[{\"profile\":\"xero\",\"status\":\"WARNING\",\"code\":1,"
		"\"message\":\"refresh token expires in 4 days unless used\",\"days_left\":4,"
		"\"needs_login\":false},"
		"{\"profile\":\"never\",\"status\":\"CRITICAL\",\"code\":2,"
		"\"message\":\"no grant is stored. Run: sparekey login never\","
		"\"days_left\":null,\"needs_login\":true}]");
	free(text);
	g_assert_cmpint(spk_check_to_json(c, 0, &text), ==, 0);
	g_assert_cmpstr(text, ==, "[]");
	free(text);
}

/* The record a failed refresh leaves in the state directory, for check. */
static void test_failure_record(void)
{
	g_autofree char *dir = g_dir_make_tmp("sparekey-check-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "sparekey", "p1.failed", NULL);
	struct spk_error e = { .kind = SPK_ERR_TEMPFAIL,
			       .code = -EIO,
			       .msg = "p1: token endpoint: HTTP 503\nsecond line" };
	struct spk_failure f;
	GStatBuf st;

	g_assert_nonnull(dir);
	g_setenv("XDG_STATE_HOME", dir, TRUE);
	g_assert_cmpint(spk_failure_read("p1", &f), ==, -ENOENT);
	g_assert_cmpint(spk_failure_clear("p1"), ==, 0);

	g_assert_cmpint(spk_failure_record("p1", &e, NOW), ==, 0);
	g_assert_cmpint(g_stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_cmpint(spk_failure_read("p1", &f), ==, 0);
	g_assert_cmpint(f.kind, ==, SPK_ERR_TEMPFAIL);
	g_assert_cmpint(f.at, ==, NOW);
	g_assert_cmpstr(f.msg, ==, "p1: token endpoint: HTTP 503");

	/* A later failure replaces it; another profile has its own. */
	e.kind = SPK_ERR_LOGIN;
	snprintf(e.msg, sizeof(e.msg), "p1: invalid_grant");
	g_assert_cmpint(spk_failure_record("p1", &e, NOW + 5), ==, 0);
	g_assert_cmpint(spk_failure_read("p1", &f), ==, 0);
	g_assert_cmpint(f.kind, ==, SPK_ERR_LOGIN);
	g_assert_cmpint(f.at, ==, NOW + 5);
	g_assert_cmpstr(f.msg, ==, "p1: invalid_grant");
	g_assert_cmpint(spk_failure_read("p2", &f), ==, -ENOENT);

	/* A success clears it. */
	g_assert_cmpint(spk_failure_clear("p1"), ==, 0);
	g_assert_cmpint(spk_failure_read("p1", &f), ==, -ENOENT);

	/* What is not a record is refused, not half-read. */
	g_assert_true(
		g_file_set_contents(path, "sparekey-failed 1\nkind 99\nat 5\nmsg x\n", -1, NULL));
	g_assert_cmpint(g_chmod(path, 0600), ==, 0);
	g_assert_cmpint(spk_failure_read("p1", &f), ==, -EBADMSG);
	g_assert_true(g_file_set_contents(path, "hello\n", -1, NULL));
	g_assert_cmpint(g_chmod(path, 0600), ==, 0);
	g_assert_cmpint(spk_failure_read("p1", &f), ==, -EBADMSG);
	/* ... and one others may read is not ours to trust. */
	g_assert_cmpint(g_chmod(path, 0644), ==, 0);
	g_assert_cmpint(spk_failure_read("p1", &f), ==, -EACCES);

	g_assert_cmpint(g_unlink(path), ==, 0);
	g_autofree char *sub = g_build_filename(dir, "sparekey", NULL);
	g_assert_cmpint(g_rmdir(sub), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
	g_setenv("TZ", "UTC", TRUE);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/check/states", test_states);
	g_test_add_func("/check/idle-expiry", test_idle_expiry);
	g_test_add_func("/check/last-failure", test_last_failure);
	g_test_add_func("/check/cut-off", test_cut_off);
	g_test_add_func("/check/cut-off-elsewhere", test_cut_off_elsewhere);
	g_test_add_func("/check/no-refresh-token", test_no_refresh_token);
	g_test_add_func("/check/unloaded", test_unloaded);
	g_test_add_func("/check/json", test_json);
	g_test_add_func("/check/failure-record", test_failure_record);
	return g_test_run();
}
