/*
 * What login makes of a profile: flags over profile keys over the preset,
 * the redirect URIs to register, and the preset's tenant header and exec
 * variable names.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "login-flags.h"
#include "provider.h"

static struct spk_profile new_profile(const char *name)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	p.name = strdup(name);
	return p;
}

static void test_new_profile(void)
{
	struct spk_profile p = new_profile("xero");
	struct spk_error err = { 0 };
	struct spk_login_flags f = { .provider = "xero",
				     .client_id = "ID",
				     .scope = "accounting.invoices" };

	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), ==, 0);
	g_assert_cmpstr(p.provider, ==, "xero");
	g_assert_cmpstr(p.client_id, ==, "ID");
	/* The preset's default scopes first, then the user's. */
	g_assert_cmpstr(p.scopes, ==, "openid profile email offline_access accounting.invoices");
	g_assert_false(p.ports_set);
	spk_profile_done(&p);

	/* --issuer alone means provider oidc. */
	p = new_profile("work");
	f = (struct spk_login_flags){ .issuer = "https://id.example.com", .client_id = "c" };
	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), ==, 0);
	g_assert_cmpstr(p.provider, ==, "oidc");
	g_assert_cmpstr(p.endpoints.issuer, ==, "https://id.example.com");
	spk_profile_done(&p);
}

static void test_refusals(void)
{
	struct spk_profile p = new_profile("n");
	struct spk_error err = { 0 };
	struct spk_login_flags f = { .client_id = "ID" };

	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), <, 0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_USAGE);
	g_assert_cmpstr(err.msg, ==,
			"n is a new profile: name its provider with --provider xero "
			"or --issuer URL");
	spk_profile_done(&p);

	p = new_profile("n");
	f = (struct spk_login_flags){ .provider = "xero" };
	spk_error_clear(&err);
	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), <, 0);
	g_assert_cmpstr(err.msg, ==,
			"n has no client id yet: add --client-id ID (from the "
			"provider's developer portal)");
	spk_profile_done(&p);

	p = new_profile("n");
	f = (struct spk_login_flags){ .provider = "oidc", .client_id = "c" };
	spk_error_clear(&err);
	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), <, 0);
	g_assert_cmpstr(err.msg, ==, "provider oidc needs --issuer URL");
	spk_profile_done(&p);

	/* A client-credentials profile is logged in only as one. */
	p = new_profile("m2m");
	p.grant = SPK_GRANT_CLIENT_CREDENTIALS;
	f = (struct spk_login_flags){ .provider = "xero", .client_id = "c" };
	spk_error_clear(&err);
	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), <, 0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_USAGE);
	g_assert_cmpstr(err.msg, ==,
			"m2m gets client-credentials tokens; log it in with "
			"--client-credentials");
	spk_profile_done(&p);
}

static void test_flags_over_profile(void)
{
	static const unsigned ports[] = { 9001, 9002 };
	struct spk_profile p = new_profile("x");
	struct spk_error err = { 0 };

	p.provider = strdup("xero");
	p.client_id = strdup("old");
	p.scopes = strdup("openid accounting.invoices");
	p.tenant = strdup("Old Ltd");
	p.ports[0] = 8749;
	p.n_ports = 1;
	p.ports_set = true;

	/* No flags: the profile's keys stand, its scopes are not re-derived. */
	struct spk_login_flags f = { 0 };
	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), ==, 0);
	g_assert_cmpstr(p.client_id, ==, "old");
	g_assert_cmpstr(p.scopes, ==, "openid accounting.invoices");
	g_assert_cmpuint(p.n_ports, ==, 1);

	/* Flags win; --scope adds to the preset's defaults, not to the old scopes. */
	f = (struct spk_login_flags){ .client_id = "new",
				      .tenant = "New Ltd",
				      .scope = "accounting.contacts",
				      .ports = ports,
				      .n_ports = 2,
				      .client_auth = SPK_CLIENT_AUTH_BASIC };
	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), ==, 0);
	g_assert_cmpstr(p.client_id, ==, "new");
	g_assert_cmpstr(p.tenant, ==, "New Ltd");
	g_assert_cmpstr(p.scopes, ==, "openid profile email offline_access accounting.contacts");
	g_assert_cmpuint(p.n_ports, ==, 2);
	g_assert_cmpuint(p.ports[1], ==, 9002);
	g_assert_cmpint(p.client_auth, ==, SPK_CLIENT_AUTH_BASIC);

	/* Another provider: the old one's scopes and ports go. */
	f = (struct spk_login_flags){ .provider = "google" };
	g_assert_cmpint(spk_login_flags_apply(&p, &f, &err), ==, 0);
	g_assert_cmpstr(p.provider, ==, "google");
	g_assert_cmpstr(p.scopes, ==, "openid email");
	g_assert_false(p.ports_set);
	g_assert_cmpuint(p.n_ports, ==, 0);
	spk_profile_done(&p);
}

static void test_redirect_uris(void)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	char *uris;

	/* Xero: the fixed port list, exactly. */
	p.provider = "xero";
	uris = spk_provider_redirect_uris(&p);
	g_assert_cmpstr(uris, ==,
			"http://localhost:8749/callback http://localhost:8750/callback "
			"http://localhost:8751/callback");
	free(uris);

	/* The profile's host, path and ports win. */
	p.redirect_host = "127.0.0.1";
	p.redirect_path = "/cb";
	p.ports[0] = 9000;
	p.n_ports = 1;
	p.ports_set = true;
	uris = spk_provider_redirect_uris(&p);
	g_assert_cmpstr(uris, ==, "http://127.0.0.1:9000/cb");
	free(uris);

	/* An empty list in the profile, or a preset without one: any port, nothing to list. */
	p.n_ports = 0;
	g_assert_null(spk_provider_redirect_uris(&p));
	p = (struct spk_profile)SPK_PROFILE_INIT;
	p.provider = "google";
	g_assert_null(spk_provider_redirect_uris(&p));
	struct spk_redirect r;
	spk_provider_redirect(&p, &r);
	g_assert_cmpstr(r.host, ==, "127.0.0.1");
	g_assert_cmpstr(r.path, ==, "/callback");
	g_assert_cmpuint(r.n_ports, ==, 0);
}

static void test_tenant_names(void)
{
	struct spk_profile p = SPK_PROFILE_INIT;
	struct spk_exec_env env;

	p.provider = "xero";
	g_assert_cmpstr(spk_provider_tenant_header(&p), ==, "Xero-Tenant-Id");
	spk_provider_exec_env(&p, &env);
	g_assert_cmpstr(env.token, ==, "SPAREKEY_ACCESS_TOKEN");
	g_assert_cmpstr(env.tenant, ==, "SPAREKEY_TENANT_ID");
	g_assert_cmpstr(env.tenant_alias, ==, "XERO_TENANT_ID");

	/* The profile renames them. */
	p.exec_token_env = "XERO_TOKEN";
	p.exec_tenant_env = "ORG";
	spk_provider_exec_env(&p, &env);
	g_assert_cmpstr(env.token, ==, "XERO_TOKEN");
	g_assert_cmpstr(env.tenant_alias, ==, "ORG");

	/* Others have no tenant header and no alias, unless the profile names one. */
	p = (struct spk_profile)SPK_PROFILE_INIT;
	p.provider = "google";
	g_assert_null(spk_provider_tenant_header(&p));
	spk_provider_exec_env(&p, &env);
	g_assert_null(env.tenant_alias);
	p.exec_tenant_env = "ORG";
	spk_provider_exec_env(&p, &env);
	g_assert_cmpstr(env.tenant_alias, ==, "ORG");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/login-flags/new-profile", test_new_profile);
	g_test_add_func("/login-flags/refusals", test_refusals);
	g_test_add_func("/login-flags/flags-over-profile", test_flags_over_profile);
	g_test_add_func("/provider/redirect-uris", test_redirect_uris);
	g_test_add_func("/provider/tenant-names", test_tenant_names);
	return g_test_run();
}
