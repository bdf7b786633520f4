/* The stored grant: JSON round trip, refusal of bad records, rotation merge. */
#include <glib.h>
#include <string.h>

#include "grant.h"
#include "secret.h"

static void test_roundtrip(void)
{
	struct spk_grant g = {
		.access_token = strdup("AT"),
		.refresh_token = strdup("RT\"\\"),
		.token_type = strdup("Bearer"),
		.scope = strdup("openid offline_access"),
		.account = strdup("alice"),
		.expires_at = 1700001800,
		.obtained_at = 1700000000,
		.refresh_obtained_at = 1699990000,
	};
	char *json = NULL;
	g_assert_cmpint(spk_grant_to_json(&g, &json), ==, 0);
	struct spk_grant back = { 0 };
	struct spk_error err = { 0 };
	g_assert_cmpint(spk_grant_from_json(json, &back, &err), ==, 0);
	g_assert_cmpstr(back.access_token, ==, "AT");
	g_assert_cmpstr(back.refresh_token, ==, "RT\"\\");
	g_assert_cmpstr(back.token_type, ==, "Bearer");
	g_assert_cmpstr(back.scope, ==, "openid offline_access");
	g_assert_cmpstr(back.account, ==, "alice");
	g_assert_cmpint(back.expires_at, ==, 1700001800);
	g_assert_cmpint(back.obtained_at, ==, 1700000000);
	g_assert_cmpint(back.refresh_obtained_at, ==, 1699990000);
	spk_secret_free(json);
	spk_grant_done(&back);
	spk_grant_done(&g);
	g_assert_null(g.access_token);
}

static void test_rejects(void)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"format\":1}",
		"{\"format\":2,\"access_token\":\"A\"}",
		"{\"access_token\":\"A\"}",
		"{\"format\":1,\"access_token\":5}",
		"{\"format\":1,\"access_token\":\"A\",\"expires_at\":\"x\"}",
		"{\"format\":1,\"access_token\":\"A\",\"refresh_token\":[]}",
		/* Timestamps whose differences would overflow (found by fuzz-grant). */
		"{\"format\":1,\"access_token\":\"at\",\"expires_at\":-9223372036854775808}",
		"{\"format\":1,\"access_token\":\"A\",\"obtained_at\":-1}",
		"{\"format\":1,\"access_token\":\"A\",\"refresh_obtained_at\":253402300800}",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct spk_grant g = { 0 };
		struct spk_error err = { 0 };
		g_test_message("case %zu: %s", i, bad[i]);
		g_assert_cmpint(spk_grant_from_json(bad[i], &g, &err), <, 0);
		g_assert_cmpint(err.kind, ==, SPK_ERR_LOGIN);
		g_assert_null(g.access_token);
	}
}

static void test_update_rotation(void)
{
	struct spk_grant g = {
		.access_token = strdup("old-at"),
		.refresh_token = strdup("old-rt"),
		.scope = strdup("a b"),
		.account = strdup("alice"),
		.expires_at = 100,
		.obtained_at = 50,
		.refresh_obtained_at = 10,
	};
	/* A response without a refresh token or scope keeps the old ones. */
	struct spk_grant fresh = { .access_token = strdup("at2"),
				   .expires_at = 300,
				   .obtained_at = 200 };
	spk_grant_update(&g, &fresh);
	g_assert_cmpstr(g.access_token, ==, "at2");
	g_assert_cmpstr(g.refresh_token, ==, "old-rt");
	g_assert_cmpint(g.refresh_obtained_at, ==, 10);
	g_assert_cmpstr(g.scope, ==, "a b");
	g_assert_cmpstr(g.account, ==, "alice");
	g_assert_cmpint(g.expires_at, ==, 300);

	/* A rotated refresh token replaces the old one and restarts its age. */
	struct spk_grant rotated = { .access_token = strdup("at3"),
				     .refresh_token = strdup("rt3"),
				     .expires_at = 500,
				     .obtained_at = 400,
				     .refresh_obtained_at = 400 };
	spk_grant_update(&g, &rotated);
	g_assert_cmpstr(g.refresh_token, ==, "rt3");
	g_assert_cmpint(g.refresh_obtained_at, ==, 400);
	g_assert_null(rotated.refresh_token);

	g_assert_cmpint(spk_grant_valid_for(&g, 3600, 450), ==, 50);
	g_assert_cmpint(spk_grant_valid_for(&g, 3600, 600), ==, -100);
	spk_grant_done(&g);
}

static void test_unknown_expiry(void)
{
	struct spk_grant g = {
		.access_token = strdup("at"),
		.token_type = strdup("bearer"),
		.obtained_at = 1000,
	};
	/* Unknown: the assumed lifetime decides; with none, it lasts as long as it works. */
	g_assert_cmpint(spk_grant_valid_for(&g, 3600, 1600), ==, 3000);
	g_assert_cmpint(spk_grant_valid_for(&g, 3600, 5000), ==, -400);
	g_assert_cmpint(spk_grant_valid_for(&g, 0, 999999), ==, INT64_MAX);
	g_assert_cmpint(spk_grant_margin(&g, 3600, 60), ==, 60);
	g_assert_cmpint(spk_grant_margin(&g, 60, 60), ==, 30);
	g_assert_cmpstr(spk_grant_token_type(&g), ==, "Bearer");

	/* Every JSON form says null for an unknown expiry; --json always has five keys. */
	char *text = NULL;
	g_assert_cmpint(spk_grant_public_json(&g, NULL, &text), ==, 0);
	g_assert_cmpstr(text, ==,
			"{\"access_token\":\"at\",\"expires_at\":null,"
			"\"token_type\":\"Bearer\",\"scope\":null,\"tenant_id\":null}");
	spk_secret_free(text);
	g_assert_cmpint(spk_grant_to_json(&g, &text), ==, 0);
	g_assert_nonnull(strstr(text, "\"expires_at\":null"));
	struct spk_grant back = { 0 };
	g_assert_cmpint(spk_grant_from_json(text, &back, NULL), ==, 0);
	g_assert_cmpint(back.expires_at, ==, 0);
	g_assert_null(back.warning);
	spk_secret_free(text);
	spk_grant_done(&back);

	/* A warning is not stored, and a fresh answer's replaces the last. */
	g.warning = strdup("w");
	g_assert_cmpint(spk_grant_to_json(&g, &text), ==, 0);
	g_assert_null(strstr(text, "\"w\""));
	spk_secret_free(text);
	struct spk_grant fresh = { .access_token = strdup("at2"), .obtained_at = 2000 };
	spk_grant_update(&g, &fresh);
	g_assert_null(g.warning);
	spk_grant_done(&g);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/grant/roundtrip", test_roundtrip);
	g_test_add_func("/grant/rejects", test_rejects);
	g_test_add_func("/grant/update-rotation", test_update_rotation);
	g_test_add_func("/grant/unknown-expiry", test_unknown_expiry);
	return g_test_run();
}
