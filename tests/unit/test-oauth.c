/* PKCE, authorize URLs, token responses and discovery documents. */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "http.h"
#include "oauth.h"
#include "secret.h"

static void test_pkce_rfc7636_vector(void)
{
	/* RFC 7636 Appendix B. */
	char *challenge = NULL;
	g_assert_cmpint(spk_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", &challenge),
			==, 0);
	g_assert_cmpstr(challenge, ==, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	free(challenge);
}

static void test_pkce_new(void)
{
	struct spk_pkce a = { 0 }, b = { 0 };
	g_assert_cmpint(spk_pkce_new(&a), ==, 0);
	g_assert_cmpint(spk_pkce_new(&b), ==, 0);
	/* RFC 7636 §4.1: 43-128 unreserved characters. */
	g_assert_cmpuint(strlen(a.verifier), ==, 43);
	g_assert_cmpuint(strspn(a.verifier, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789-._~"), ==, 43);
	g_assert_cmpstr(a.verifier, !=, b.verifier);
	char *c = NULL;
	g_assert_cmpint(spk_pkce_challenge(a.verifier, &c), ==, 0);
	g_assert_cmpstr(c, ==, a.challenge);
	free(c);
	spk_pkce_done(&a);
	spk_pkce_done(&b);
	g_assert_null(a.verifier);
}

static void test_authorize_url(void)
{
	const char *const extra[] = { "prompt", "consent", NULL };
	struct spk_authorize_params p = {
		.endpoint = "https://login.example.com/authorize",
		.client_id = "my app",
		.redirect_uri = "http://localhost:8749/callback",
		.scopes = "openid offline_access accounting.invoices",
		.state = "st-1",
		.nonce = "n_2",
		.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		.extra = extra,
	};
	char *url = NULL;
	g_assert_cmpint(spk_oauth_authorize_url(&p, &url), ==, 0);
	g_assert_cmpstr(url, ==,
			"https://login.example.com/authorize?response_type=code&client_id=my%20app"
			"&redirect_uri=http%3A%2F%2Flocalhost%3A8749%2Fcallback"
			"&scope=openid%20offline_access%20accounting.invoices&state=st-1&nonce=n_2"
			"&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
			"&code_challenge_method=S256&prompt=consent");
	free(url);

	/* An endpoint that already has a query keeps it; no nonce without openid. */
	p.endpoint = "https://login.example.com/authorize?tenant=x";
	p.nonce = NULL;
	p.extra = NULL;
	p.scopes = NULL;
	g_assert_cmpint(spk_oauth_authorize_url(&p, &url), ==, 0);
	g_assert_true(g_str_has_prefix(url, "https://login.example.com/authorize?tenant=x&response_type=code&"));
	g_assert_null(strstr(url, "nonce="));
	g_assert_null(strstr(url, "scope="));
	free(url);
}

static void test_scope_has(void)
{
	g_assert_true(spk_scope_has("openid offline_access", "offline_access"));
	g_assert_true(spk_scope_has(" openid  x", "x"));
	g_assert_false(spk_scope_has("openid offline_access_x", "offline_access"));
	g_assert_false(spk_scope_has(NULL, "openid"));
	g_assert_false(spk_scope_has("", "openid"));
}

static int parse(long status, const char *body, struct spk_grant *g, struct spk_error *err)
{
	struct spk_http_response resp = {
		.status = status,
		.body = (char *)body,
		.len = strlen(body),
		.retry_after = -1,
	};
	spk_error_clear(err);
	return spk_oauth_parse_token_response(&resp, "id.example.com", NULL, 1000, g, err);
}

static void test_token_response_ok(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	g_assert_cmpint(parse(200,
			      "{\"access_token\":\"AT\",\"token_type\":\"Bearer\",\"expires_in\":1800,"
			      "\"refresh_token\":\"RT\",\"scope\":\"openid offline_access\"}",
			      &g, &err), ==, 0);
	g_assert_cmpstr(g.access_token, ==, "AT");
	g_assert_cmpstr(g.refresh_token, ==, "RT");
	g_assert_cmpstr(g.token_type, ==, "Bearer");
	g_assert_cmpstr(g.scope, ==, "openid offline_access");
	g_assert_cmpint(g.expires_at, ==, 2800);
	g_assert_cmpint(g.obtained_at, ==, 1000);
	g_assert_cmpint(g.refresh_obtained_at, ==, 1000);
	spk_grant_done(&g);

	/* expires_in as a string, no refresh token, no token_type. */
	g_assert_cmpint(parse(200, "{\"access_token\":\"AT2\",\"expires_in\":\"60\"}", &g, &err), ==, 0);
	g_assert_null(g.refresh_token);
	g_assert_cmpstr(g.token_type, ==, "Bearer");
	g_assert_cmpint(g.expires_at, ==, 1060);
	g_assert_cmpint(g.refresh_obtained_at, ==, 0);
	spk_grant_done(&g);
}

static void test_token_response_id_token(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	/* {"sub":"u1","email":"a@example.com","nonce":"N"} */
	char *payload = spk_base64url("{\"sub\":\"u1\",\"email\":\"a@example.com\",\"nonce\":\"N\"}", 48);
	char *body = g_strdup_printf("{\"access_token\":\"AT\",\"id_token\":\"eyJhbGciOiJub25lIn0.%s.sig\"}",
				     payload);
	struct spk_http_response resp = { .status = 200, .body = body, .len = strlen(body) };

	g_assert_cmpint(spk_oauth_parse_token_response(&resp, "h", "N", 0, &g, &err), ==, 0);
	g_assert_cmpstr(g.account, ==, "a@example.com");
	spk_grant_done(&g);

	/* A nonce that is not ours: refused. */
	spk_error_clear(&err);
	g_assert_cmpint(spk_oauth_parse_token_response(&resp, "h", "other", 0, &g, &err), <, 0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_LOGIN);
	g_assert_null(g.access_token);
	g_free(body);
	free(payload);
}

static void test_token_response_errors(void)
{
	struct spk_grant g = { 0 };
	struct spk_error err = { 0 };
	static const struct {
		long status;
		const char *body;
		enum spk_error_kind kind;
		const char *oauth;
	} cases[] = {
		{ 400, "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is invalid\"}",
		  SPK_ERR_LOGIN, "invalid_grant" },
		{ 401, "{\"error\":\"invalid_client\"}", SPK_ERR_CONFIG, "invalid_client" },
		{ 400, "{\"error\":\"invalid_scope\"}", SPK_ERR_CONFIG, "invalid_scope" },
		{ 400, "{\"error\":\"temporarily_unavailable\"}", SPK_ERR_TEMPFAIL, "temporarily_unavailable" },
		{ 503, "{\"error\":\"invalid_grant\"}", SPK_ERR_TEMPFAIL, "" },
		{ 502, "<html>Bad gateway</html>", SPK_ERR_TEMPFAIL, "" },
		{ 429, "slow down", SPK_ERR_TEMPFAIL, "" },
		{ 400, "<html>oops</html>", SPK_ERR_TEMPFAIL, "" },
		{ 400, "{\"error\":\"bad\\ncode\"}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "<html>login page</html>", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":", SPK_ERR_TEMPFAIL, "" },
		{ 200, "[\"access_token\"]", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"token_type\":\"Bearer\"}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"\"}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":42}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"A\",\"refresh_token\":7}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"A\",\"expires_in\":-5}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"A\",\"expires_in\":\"soon\"}", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"A\"} trailing", SPK_ERR_TEMPFAIL, "" },
		{ 200, "{\"access_token\":\"A\",\"id_token\":\"not-a-jwt\"}", SPK_ERR_TEMPFAIL, "" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("case %zu: %ld %s", i, cases[i].status, cases[i].body);
		g_assert_cmpint(parse(cases[i].status, cases[i].body, &g, &err), <, 0);
		g_assert_cmpint(err.kind, ==, cases[i].kind);
		g_assert_cmpstr(err.oauth, ==, cases[i].oauth);
		g_assert_null(strchr(err.msg, '\n'));
		g_assert_null(g.access_token);
	}
	/* The provider's description is shown; our wording says what to do. */
	parse(400, "{\"error\":\"invalid_grant\",\"error_description\":\"grant request is invalid\"}", &g, &err);
	g_assert_nonnull(strstr(err.msg, "no longer accepts this grant"));
	g_assert_nonnull(strstr(err.msg, "invalid_grant"));
}

static void test_discovery(void)
{
	struct spk_endpoints e = { 0 };
	struct spk_error err = { 0 };
	const char *doc = "{\"issuer\":\"https://id.example.com\","
			  "\"authorization_endpoint\":\"https://id.example.com/auth\","
			  "\"token_endpoint\":\"https://id.example.com/token\","
			  "\"revocation_endpoint\":\"https://id.example.com/revoke\","
			  "\"userinfo_endpoint\":\"https://id.example.com/me\"}";

	g_assert_cmpint(spk_oauth_parse_discovery("https://id.example.com/", doc, strlen(doc), &e, &err), ==, 0);
	g_assert_cmpstr(e.authorization, ==, "https://id.example.com/auth");
	g_assert_cmpstr(e.token, ==, "https://id.example.com/token");
	g_assert_cmpstr(e.revocation, ==, "https://id.example.com/revoke");
	g_assert_cmpstr(e.userinfo, ==, "https://id.example.com/me");
	g_assert_null(e.device_authorization);
	spk_endpoints_done(&e);

	/* Another issuer's document is refused (OpenID Connect Discovery §4.3). */
	g_assert_cmpint(spk_oauth_parse_discovery("https://evil.example.com", doc, strlen(doc), &e, &err), <, 0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	spk_error_clear(&err);
	const char *no_token = "{\"issuer\":\"https://id.example.com\",\"authorization_endpoint\":\"https://x/a\"}";
	g_assert_cmpint(spk_oauth_parse_discovery("https://id.example.com", no_token, strlen(no_token), &e, &err), <, 0);
	spk_error_clear(&err);
	g_assert_cmpint(spk_oauth_parse_discovery("https://id.example.com", "<html>", 6, &e, &err), <, 0);
}

/* Where discovery looks, in order: OpenID Connect Discovery §4, RFC 8414 §3.1 and §5. */
static void test_discovery_urls(void)
{
	static const struct {
		const char *issuer;
		const char *urls[5];
	} cases[] = {
		{ "https://id.example",
		  { "https://id.example/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server" } },
		{ "https://id.example/",
		  { "https://id.example/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server" } },
		{ "http://127.0.0.1:8080",
		  { "http://127.0.0.1:8080/.well-known/openid-configuration",
		    "http://127.0.0.1:8080/.well-known/oauth-authorization-server" } },
		{ "https://id.example/as",
		  { "https://id.example/as/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server/as",
		    "https://id.example/.well-known/openid-configuration/as",
		    "https://id.example/as/.well-known/oauth-authorization-server" } },
		{ "https://id.example/as/",
		  { "https://id.example/as/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server/as",
		    "https://id.example/.well-known/openid-configuration/as",
		    "https://id.example/as/.well-known/oauth-authorization-server" } },
		{ "https://id.example:8443/tenants/t1/realms/main",
		  { "https://id.example:8443/tenants/t1/realms/main/.well-known/openid-configuration",
		    "https://id.example:8443/.well-known/oauth-authorization-server/tenants/t1/realms/main",
		    "https://id.example:8443/.well-known/openid-configuration/tenants/t1/realms/main",
		    "https://id.example:8443/tenants/t1/realms/main/.well-known/oauth-authorization-server" } },
		{ "https://id.example/tenants/t1/realms/main/",
		  { "https://id.example/tenants/t1/realms/main/.well-known/openid-configuration",
		    "https://id.example/.well-known/oauth-authorization-server/tenants/t1/realms/main",
		    "https://id.example/.well-known/openid-configuration/tenants/t1/realms/main",
		    "https://id.example/tenants/t1/realms/main/.well-known/oauth-authorization-server" } },
	};
	char *url = (char *)"untouched";

	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		unsigned i = 0;
		for (; cases[c].urls[i]; i++) {
			g_assert_cmpint(spk_oauth_discovery_url(cases[c].issuer, i, &url), ==, 0);
			g_assert_cmpstr(url, ==, cases[c].urls[i]);
			free(url);
		}
		url = (char *)"untouched";
		g_assert_cmpint(spk_oauth_discovery_url(cases[c].issuer, i, &url), ==, -ENOENT);
		g_assert_cmpstr(url, ==, "untouched");
	}
	/* An issuer has no query or fragment (RFC 8414 §2). */
	g_assert_cmpint(spk_oauth_discovery_url("https://id.example/as?x=1", 0, &url), ==, -EINVAL);
	g_assert_cmpint(spk_oauth_discovery_url("https://id.example/#as", 0, &url), ==, -EINVAL);
	g_assert_cmpint(spk_oauth_discovery_url("id.example", 0, &url), ==, -EINVAL);
	g_assert_cmpstr(url, ==, "untouched");
}

static void test_url_policy(void)
{
	struct spk_error err = { 0 };
	g_assert_cmpint(spk_http_check_url("x", "https://identity.xero.com/connect/token", &err), ==, 0);
	g_assert_cmpint(spk_http_check_url("x", "http://127.0.0.1:3000/token", &err), ==, 0);
	g_assert_cmpint(spk_http_check_url("x", "http://localhost:3000/token", &err), ==, 0);
	g_assert_cmpint(spk_http_check_url("x", "http://[::1]:3000/token", &err), ==, 0);
	g_assert_cmpint(spk_http_check_url("x", "http://identity.xero.com/connect/token", &err), <, 0);
	g_assert_cmpint(err.kind, ==, SPK_ERR_CONFIG);
	spk_error_clear(&err);
	g_assert_cmpint(spk_http_check_url("x", "http://127.0.0.1.evil.com/token", &err), <, 0);
	spk_error_clear(&err);
	g_assert_cmpint(spk_http_check_url("x", "ftp://127.0.0.1/token", &err), <, 0);
	spk_error_clear(&err);
	g_assert_cmpint(spk_http_check_url("x", "not a url", &err), <, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/oauth/pkce/rfc7636-vector", test_pkce_rfc7636_vector);
	g_test_add_func("/oauth/pkce/new", test_pkce_new);
	g_test_add_func("/oauth/authorize-url", test_authorize_url);
	g_test_add_func("/oauth/scope-has", test_scope_has);
	g_test_add_func("/oauth/token-response/ok", test_token_response_ok);
	g_test_add_func("/oauth/token-response/id-token", test_token_response_id_token);
	g_test_add_func("/oauth/token-response/errors", test_token_response_errors);
	g_test_add_func("/oauth/discovery", test_discovery);
	g_test_add_func("/oauth/discovery-urls", test_discovery_urls);
	g_test_add_func("/http/url-policy", test_url_policy);
	return g_test_run();
}
